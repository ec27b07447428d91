"""MNIST and Fashion-MNIST, read from the standard IDX files (plain or gzipped).

IDX format (all integers big-endian):
  images: magic 2051, count N, rows R, cols C, then N*R*C pixel bytes (row by row)
  labels: magic 2049, count N, then N label bytes
"""

from __future__ import annotations

import gzip
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ._base import (
    CorruptDatasetError,
    DatasetNotFoundError,
    LabelledArrayDataset,
    PathLike,
    check_labels,
    download_file,
)

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049


def _read_bytes(path: Path) -> bytes:
    if path.suffix != ".gz":
        return path.read_bytes()
    try:
        with gzip.open(path, "rb") as f:
            return f.read()
    except (OSError, EOFError, zlib.error) as exc:
        raise CorruptDatasetError(f"{path}: not a valid gzip file ({exc}); delete it and get "
                                  "it again") from exc


def _header(raw: bytes, path: Path, expected_magic: int, fields: int) -> tuple[int, ...]:
    size = 4 * (1 + fields)
    if len(raw) < size:
        raise CorruptDatasetError(f"{path}: {len(raw)} bytes is too short for an IDX header "
                                  "(the file is truncated)")
    magic, *values = struct.unpack(f">{1 + fields}I", raw[:size])
    if magic != expected_magic:
        kind = "image" if expected_magic == IMAGES_MAGIC else "label"
        raise CorruptDatasetError(f"{path}: not an IDX {kind} file (magic number {magic}, "
                                  f"expected {expected_magic})")
    return tuple(values)


def _check_size(raw: bytes, path: Path, expected: int, what: str) -> None:
    if len(raw) != expected:
        problem = "truncated" if len(raw) < expected else "has extra bytes"
        raise CorruptDatasetError(f"{path}: the header announces {what}, i.e. {expected} bytes, "
                                  f"but the file has {len(raw)} ({problem}); delete it and get "
                                  "it again")


def read_idx_images(path: PathLike) -> np.ndarray:
    """Read an IDX image file into a uint8 array (N, rows, cols), checking header and size."""
    path = Path(path)
    raw = _read_bytes(path)
    n, rows, cols = _header(raw, path, IMAGES_MAGIC, 3)
    _check_size(raw, path, 16 + n * rows * cols, f"{n} images of {rows}x{cols}")
    return np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(n, rows, cols).copy()


def read_idx_labels(path: PathLike) -> np.ndarray:
    """Read an IDX label file into an int64 array (N,), checking header and size."""
    path = Path(path)
    raw = _read_bytes(path)
    (n,) = _header(raw, path, LABELS_MAGIC, 1)
    _check_size(raw, path, 8 + n, f"{n} labels")
    return np.frombuffer(raw, dtype=np.uint8, offset=8).astype(np.int64)


class MNIST(LabelledArrayDataset):
    """Handwritten digits: 60000 train / 10000 test grey images of 28 x 28, classes '0 - zero'...

    Looks for the IDX files (`train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
    `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`, each plain or `.gz`) in `root`, then
    in `root/<name>/raw` (torchvision's layout), then in `system_dirs`; with `download=True`
    missing files are fetched into `root/<name>/raw` from `mirrors` (MD5-checked).
    Raises `DatasetNotFoundError` (saying where it looked and how to get the files) when they
    are not found, and `CorruptDatasetError` when a file is damaged.

    Attributes: `data` uint8 (N, 28, 28); `targets` int64 (N,); `classes`; `class_to_idx`.
    `ds[i]` is `(image, target)`: without a transform the image is a float32 Tensor (1, 28, 28)
    in [0, 1]; a transform receives the uint8 (28, 28) NumPy image (use `ToTensor()` first).
    `target` is an int.
    """

    mirrors = ["https://ossci-datasets.s3.amazonaws.com/mnist/",
               "http://yann.lecun.com/exdb/mnist/"]
    resources = {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    }
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six",
               "7 - seven", "8 - eight", "9 - nine"]
    system_dirs: tuple[str, ...] = ()
    apt_package: str | None = None

    def __init__(self, root: PathLike | None, train: bool = True,
                 transform: Callable[[Any], Any] | None = None,
                 target_transform: Callable[[int], Any] | None = None,
                 download: bool = False) -> None:
        super().__init__(root, train, transform, target_transform)
        prefix = "train" if self.train else "t10k"
        self._names = (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte")
        found = self._find()
        if found is None and download:
            self._download()
            found = self._find()
        if found is None:
            raise DatasetNotFoundError(self._not_found_message())
        images_path, labels_path = found
        self.data = read_idx_images(images_path)
        self.targets = read_idx_labels(labels_path)
        if len(self.data) != len(self.targets):
            raise CorruptDatasetError(f"{images_path} has {len(self.data)} images but "
                                      f"{labels_path} has {len(self.targets)} labels")
        check_labels(self.targets, len(self.classes), labels_path)

    @property
    def raw_folder(self) -> Path | None:
        return None if self.root is None else self.root / type(self).__name__ / "raw"

    def search_dirs(self) -> list[Path]:
        """Where the files are looked for, in order."""
        dirs = [] if self.root is None else [self.root, self.raw_folder]
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

    def _download(self) -> None:
        if self.raw_folder is None:
            raise ValueError(f"{type(self).__name__}: download=True needs a root folder to "
                             "download into")
        for filename, md5 in self.resources.items():
            destination = self.raw_folder / filename
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
        urls = "\n".join(f"    {self.mirrors[0]}{f}" for f in self.resources)
        lines = [
            f"{name} {'train' if self.train else 'test'} files not found: looked for "
            f"{self._names[0]}[.gz] and {self._names[1]}[.gz] in",
            folders,
            "How to get them:",
            f"  - pass download=True to fetch them into {self.raw_folder or '<root>/' + name}",
            f"  - or download these files and put them in {self.root or 'root'}:",
            urls,
        ]
        if self.apt_package:
            lines.append(f"  - or on Debian / Ubuntu: sudo apt install {self.apt_package} (it "
                         f"puts them in {', '.join(self.system_dirs)})")
        return "\n".join(lines)

    def _convert(self, rows: np.ndarray) -> np.ndarray:
        out = rows[:, None].astype(np.float32)
        np.divide(out, 255, out=out)
        return out


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: 60000 train / 10000 test grey 28 x 28 images of 10 clothing kinds.

    Everything as in `MNIST`; besides `root` it also looks in `/usr/share/datasets/fashion-mnist`,
    where Debian's package `dataset-fashion-mnist` installs the files.
    """

    mirrors = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
               "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/"
               "fashion/"]
    resources = {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    }
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot"]
    system_dirs = ("/usr/share/datasets/fashion-mnist",)
    apt_package = "dataset-fashion-mnist"
