"""MNIST and Fashion-MNIST, read from the standard IDX files (plain or gzipped).

IDX format (all integers big-endian):
  images: magic 2051, count N, rows R, cols C, then N*R*C pixel bytes (row by row)
  labels: magic 2049, count N, then N label bytes
"""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from ...tensor import Tensor
from .utils import (
    CorruptDatasetError,
    DatasetNotFoundError,
    PathLike,
    check_labels,
    download_file,
)
from .vision import VisionDataset, batch_of_images, image_of, sample_index

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049


# Deflate never expands data by more than 1032 : 1 (a run of zeros), so a .gz file of S bytes
# inflates to at most about 1032 * S bytes: a header that announces more is a lie.
MAX_GZIP_RATIO = 1032
_CHUNK = 1 << 20  # how much is decompressed at a time


def _open(path: Path) -> tuple[BinaryIO, int]:
    """The file as a stream of its IDX bytes (decompressed on the fly for `.gz`), and the most
    bytes it can hold: its size, or `MAX_GZIP_RATIO` times that for a gzip file."""
    size = path.stat().st_size
    if path.suffix == ".gz":
        return gzip.open(path, "rb"), MAX_GZIP_RATIO * size + 64  # (+ a little slack)
    return open(path, "rb"), size


def _read_exactly(f: BinaryIO, view: memoryview) -> int:
    """Fill `view` from `f` (at most `_CHUNK` bytes at a time); returns how many were read."""
    filled = 0
    while filled < len(view):
        n = f.readinto(view[filled:filled + _CHUNK])
        if not n:
            break
        filled += n
    return filled


def _read_idx(path: Path, expected_magic: int, fields: int, what: Callable[..., str]
              ) -> tuple[tuple[int, ...], np.ndarray]:
    """Read an IDX file's header, then exactly the payload it announces, as uint8.

    The header is checked before anything else is read, and the payload is read straight
    into its array, so memory is bounded by what the header announces, which must fit in the
    file (for `.gz`, at most `MAX_GZIP_RATIO` times its size): a gzip bomb is refused without
    being inflated. Raises `CorruptDatasetError` naming `path` for a bad header, a payload too
    large for the file, too little data or trailing data."""
    header_size = 4 * (1 + fields)
    try:
        f, capacity = _open(path)
        with f:
            head = f.read(header_size)
            if len(head) < header_size:
                raise CorruptDatasetError(f"{path}: {len(head)} bytes is too short for an IDX "
                                          "header (the file is truncated)")
            magic, *values = struct.unpack(f">{1 + fields}I", head)
            if magic != expected_magic:
                kind = "image" if expected_magic == IMAGES_MAGIC else "label"
                raise CorruptDatasetError(f"{path}: not an IDX {kind} file (magic number "
                                          f"{magic}, expected {expected_magic})")
            expected = math.prod(values)
            announced = f"the header announces {what(*values)}, i.e. {expected} bytes"
            if header_size + expected > capacity:
                limit = (f"a gzip file of {path.stat().st_size} bytes inflates to at most "
                         f"{capacity}" if path.suffix == ".gz"
                         else f"the file has only {capacity - header_size} after the header")
                raise CorruptDatasetError(f"{path}: {announced}, but {limit} (the file is "
                                          "truncated or corrupt); delete it and get it again")
            payload = np.empty(expected, dtype=np.uint8)
            got = _read_exactly(f, memoryview(payload))
            if got < expected:
                raise CorruptDatasetError(f"{path}: {announced}, but the file has only {got} "
                                          "after the header (truncated); delete it and get it "
                                          "again")
            if f.read(1):
                raise CorruptDatasetError(f"{path}: {announced}, but the file goes on after "
                                          "them (has extra bytes); delete it and get it again")
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:  # bad magic or CRC, cut short
        raise CorruptDatasetError(f"{path}: not a valid gzip file ({exc}); delete it and get "
                                  "it again") from exc
    return tuple(values), payload


def read_idx_images(path: PathLike) -> np.ndarray:
    """Read an IDX image file into a uint8 array (N, rows, cols), checking header and size."""
    path = Path(path)
    (n, rows, cols), payload = _read_idx(path, IMAGES_MAGIC, 3,
                                         lambda n, r, c: f"{n} images of {r}x{c}")
    return payload.reshape(n, rows, cols)


def read_idx_labels(path: PathLike) -> np.ndarray:
    """Read an IDX label file into an int64 array (N,), checking header and size."""
    (_,), payload = _read_idx(Path(path), LABELS_MAGIC, 1, lambda n: f"{n} labels")
    return payload.astype(np.int64)


class MNIST(VisionDataset):
    """Handwritten digits: 60000 train / 10000 test grey images of 28 x 28, classes '0 - zero'...

    Reads the IDX files (`train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
    `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`, each plain or `.gz`) from
    `root/MNIST/raw` (torchvision's layout), or `root` itself, or `system_dirs`; with
    `download=True` missing files are fetched into `root/MNIST/raw` from `mirrors` (MD5-checked).
    Raises `DatasetNotFoundError` (saying where it looked and how to get the files) when they
    are not found, and `CorruptDatasetError` when a file is damaged.

    Attributes, as torchvision's: `data` uint8 Tensor (N, 28, 28); `targets` int64 Tensor (N,);
    `classes`; `class_to_idx`. `ds[i]` is `(image, target)`: the image is a PIL image (mode 'L')
    where Pillow is installed, else a uint8 NumPy array (28, 28), passed through `transform`
    (`transforms.ToTensor()` makes it a float32 Tensor (1, 28, 28) in [0, 1]); `target` an int.
    With `transform=ToTensor()` (optionally followed by `Normalize`) a DataLoader builds whole
    batches at once.
    """

    mirrors = ["https://ossci-datasets.s3.amazonaws.com/mnist/",
               "http://yann.lecun.com/exdb/mnist/"]
    resources = [
        ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
        ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
        ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
    ]
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six",
               "7 - seven", "8 - eight", "9 - nine"]
    system_dirs: tuple[str, ...] = ()
    apt_package: str | None = None

    def __init__(self, root: PathLike | None, train: bool = True,
                 transform: Callable[[Any], Any] | None = None,
                 target_transform: Callable[[int], Any] | None = None,
                 download: bool = False) -> None:
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.train = train
        prefix = "train" if self.train else "t10k"
        self._names = (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte")
        found = self._find()
        if found is None and download:
            self.download()
            found = self._find()
        if found is None:
            raise DatasetNotFoundError(self._not_found_message())
        images_path, labels_path = found
        images = read_idx_images(images_path)
        labels = read_idx_labels(labels_path)
        if len(images) != len(labels):
            raise CorruptDatasetError(f"{images_path} has {len(images)} images but "
                                      f"{labels_path} has {len(labels)} labels")
        check_labels(labels, len(self.classes), labels_path)
        self.data = Tensor._make(images)
        self.targets = Tensor._make(labels)

    @property
    def raw_folder(self) -> str | None:
        """`root/<class name>/raw`, where torchvision keeps (and downloads) the files."""
        return None if self.root is None else str(Path(self.root) / type(self).__name__ / "raw")

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        index = sample_index(self, index)
        return self._transformed(image_of(self.data.array[index]),
                                 int(self.targets.array[index]))

    def get_batch(self, indices: np.ndarray) -> Any:
        return batch_of_images(self, self.data.array[indices], self.targets.array[indices])

    def extra_repr(self) -> str:
        return f"Split: {'Train' if self.train is True else 'Test'}"

    def search_dirs(self) -> list[Path]:
        """Where the files are looked for, in order."""
        dirs = [] if self.root is None else [Path(self.raw_folder), Path(self.root)]
        return dirs + [Path(d) for d in self.system_dirs]

    def _find(self) -> tuple[Path, Path] | None:
        for folder in self.search_dirs():
            paths = []
            for name in self._names:
                candidates = [folder / name, folder / f"{name}.gz"]
                paths.append(next((p for p in candidates if p.is_file()), None))
            if all(paths):
                return paths[0], paths[1]
        return None

    def download(self) -> None:
        """Fetch the files that are not in `raw_folder` yet (MD5-checked)."""
        if self.raw_folder is None:
            raise ValueError(f"{type(self).__name__}: download=True needs a root folder to "
                             "download into")
        for filename, md5 in self.resources:
            destination = Path(self.raw_folder) / filename
            if destination.is_file():
                continue
            try:
                download_file([m + filename for m in self.mirrors], destination, md5)
            except DatasetNotFoundError as exc:
                raise DatasetNotFoundError(f"downloading {type(self).__name__} failed: {exc}\n\n"
                                           + self._not_found_message()) from None

    def _not_found_message(self) -> str:
        name = type(self).__name__
        folders = "\n".join(f"    {d}" for d in self.search_dirs()) or "    (none: root is None)"
        urls = "\n".join(f"    {self.mirrors[0]}{f}" for f, _ in self.resources)
        lines = [
            f"{name} {'train' if self.train else 'test'} files not found: looked for "
            f"{self._names[0]}[.gz] and {self._names[1]}[.gz] in",
            folders,
            "How to get them:",
            f"  - pass download=True to fetch them into {self.raw_folder or '<root>/' + name}",
            f"  - or download these files and put them in {self.raw_folder or 'root'}:",
            urls,
        ]
        if self.apt_package:
            lines.append(f"  - or on Debian / Ubuntu: sudo apt install {self.apt_package} (it "
                         f"puts them in {', '.join(self.system_dirs)})")
        return "\n".join(lines)


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: 60000 train / 10000 test grey 28 x 28 images of 10 clothing kinds.

    Everything as in `MNIST` (files in `root/FashionMNIST/raw`); it also looks in
    `/usr/share/datasets/fashion-mnist`, where Debian's package `dataset-fashion-mnist` installs
    the files.
    """

    mirrors = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
               "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/"
               "fashion/"]
    resources = [
        ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
        ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
        ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
    ]
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot"]
    system_dirs = ("/usr/share/datasets/fashion-mnist",)
    apt_package = "dataset-fashion-mnist"
