"""CIFAR-10, from either of its official versions.

- The Python version (what torchvision downloads): `cifar-10-python.tar.gz` unpacks to
  `cifar-10-batches-py/` with `data_batch_1` .. `data_batch_5` (train), `test_batch` (test)
  and `batches.meta`. Each is a pickled dict: `data` a uint8 array (N, 3072), `labels` a list
  of N ints, and `label_names` in the meta file. Pickle can run any code, so these files are
  read by `read_cifar_pickle`, which builds only NumPy arrays and plain containers.
- The binary version: `cifar-10-binary.tar.gz` unpacks to `cifar-10-batches-bin/` with
  `data_batch_1.bin` .. `data_batch_5.bin`, `test_batch.bin` and `batches.meta.txt` (class
  names, one a line). Each batch file is a run of 3073-byte records: 1 label byte, then 3072
  pixel bytes laid out channel by channel (1024 red, 1024 green, 1024 blue, each 32 x 32 row
  by row).
"""

from __future__ import annotations

import io
import math
import pickle
import pickletools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .utils import (
    CorruptDatasetError,
    DatasetNotFoundError,
    PathLike,
    check_labels,
    download_file,
    safe_extract_tar,
)
from .vision import VisionDataset, batch_of_images, image_of, sample_index

RECORD_BYTES = 1 + 3 * 32 * 32


def read_cifar_batch(path: PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read one binary batch file: uint8 images (N, 32, 32, 3) HWC and int64 labels (N,)."""
    path = Path(path)
    raw = path.read_bytes()
    if len(raw) == 0 or len(raw) % RECORD_BYTES:
        raise CorruptDatasetError(f"{path}: {len(raw)} bytes is not a whole number of "
                                  f"{RECORD_BYTES}-byte CIFAR-10 records (the file is truncated "
                                  "or not a CIFAR-10 binary batch); delete it and get it again")
    records = np.frombuffer(raw, dtype=np.uint8).reshape(-1, RECORD_BYTES)
    labels = records[:, 0].astype(np.int64)
    check_labels(labels, 10, path)
    images = records[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels


def read_cifar_meta(path: Path) -> list[str]:
    """Read the class names of `batches.meta.txt` (UTF-8, one a line, blank lines ignored)."""
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CorruptDatasetError(f"{path}: not a UTF-8 text file of class names ({exc}); "
                                  "delete it and get it again") from exc
    names = [line.strip() for line in text.splitlines() if line.strip()]
    if len(names) != 10:
        raise CorruptDatasetError(f"{path}: expected 10 class names (one a line), "
                                  f"found {len(names)}")
    return names


# ---------------------------------------------------------------------------------------------
# The Python version: a restricted unpickler
# ---------------------------------------------------------------------------------------------
def _numeric_dtype(spec: Any, *args: Any) -> np.dtype:
    """`numpy.dtype(...)` as a pickle calls it, for plain numbers only (no objects, no records)."""
    dtype = np.dtype(spec)
    if dtype.kind not in "biuf":
        raise CorruptDatasetError(f"refusing to build a NumPy array of dtype {dtype} "
                                  "(only numbers are expected)")
    return dtype


def _empty_array(cls: Any, shape: Any, typecode: Any) -> np.ndarray:
    """NumPy's `_reconstruct(ndarray, (0,), b'b')`: the empty array that pickle then fills with
    the stored shape, dtype and bytes (which must match, so memory is bounded by the file)."""
    if cls is not np.ndarray or not isinstance(shape, tuple) or math.prod(shape) != 0:
        raise CorruptDatasetError("refusing an array reconstruction that is not NumPy's own "
                                  f"({cls!r}, {shape!r})")
    return np.empty(0, dtype=np.int8)


def _array_from_buffer(buffer: Any, dtype: np.dtype, shape: tuple, order: str) -> np.ndarray:
    """NumPy's `_frombuffer` (pickle protocol 5): an array over the stored bytes."""
    return np.frombuffer(buffer, dtype=_numeric_dtype(dtype)).reshape(shape, order=order).copy()


def _latin1_bytes(text: str, encoding: str) -> bytes:
    """`_codecs.encode(text, 'latin1')`: how pickle protocol 2 stores bytes."""
    if encoding not in ("latin1", "latin-1") or not isinstance(text, str):
        raise CorruptDatasetError(f"refusing _codecs.encode with encoding {encoding!r}")
    return text.encode("latin1")


# The only globals a CIFAR pickle may name: what NumPy writes for an array (module paths of
# NumPy 1 and 2), and what Python writes for bytes under protocol 2.
ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _empty_array,
    ("numpy._core.multiarray", "_reconstruct"): _empty_array,
    ("numpy.core.numeric", "_frombuffer"): _array_from_buffer,
    ("numpy._core.numeric", "_frombuffer"): _array_from_buffer,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): _numeric_dtype,
    ("_codecs", "encode"): _latin1_bytes,
}


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        allowed = ALLOWED_GLOBALS.get((module, name))
        if allowed is None:
            raise CorruptDatasetError(f"refusing to load the global {module}.{name}: a CIFAR "
                                      "file holds only NumPy arrays, lists, dicts and strings")
        return allowed

    def persistent_load(self, pid: Any) -> Any:
        raise CorruptDatasetError("refusing a persistent id: not a CIFAR file")


def read_cifar_pickle(path: PathLike) -> dict[str, Any]:
    """Load one pickled file of the Python version as a dict with str keys, safely.

    Only NumPy's array globals are admitted (`ALLOWED_GLOBALS`), arrays only of numbers; every
    other global refuses the file with `CorruptDatasetError`. The opcodes are scanned first, so
    every length the file declares must fit in it: memory stays in proportion to its size.
    Bytes keys and strings (a file re-saved with encoding='bytes') are decoded as Latin-1."""
    path = Path(path)
    raw = path.read_bytes()
    try:
        for _ in pickletools.genops(io.BytesIO(raw)):
            pass  # raises ValueError for a length that runs past the end of the file
        content = _RestrictedUnpickler(io.BytesIO(raw), encoding="latin1").load()
    except CorruptDatasetError as exc:
        raise CorruptDatasetError(f"{path}: {exc}") from None
    except Exception as exc:  # a broken pickle raises almost anything; none of it is ours
        raise CorruptDatasetError(f"{path}: not a readable CIFAR pickle ({type(exc).__name__}: "
                                  f"{exc}); delete it and get it again") from exc
    if not isinstance(content, dict):
        raise CorruptDatasetError(f"{path}: expected a pickled dict, found "
                                  f"{type(content).__name__}")
    return {_text(key): value for key, value in content.items()}


def _text(value: Any) -> Any:
    return value.decode("latin1") if isinstance(value, bytes) else value


def read_cifar_pickle_batch(path: PathLike) -> tuple[np.ndarray, list[int]]:
    """One batch of the Python version: uint8 images (N, 32, 32, 3) HWC and N int labels."""
    entry = read_cifar_pickle(path)
    data = entry.get("data")
    labels = entry.get("labels", entry.get("fine_labels"))
    if not (isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.ndim == 2
            and data.shape[1] == 3072):
        described = (f"{data.dtype} array of shape {data.shape}" if isinstance(data, np.ndarray)
                     else type(data).__name__)
        raise CorruptDatasetError(f"{path}: 'data' must be a uint8 array (N, 3072), found "
                                  f"{described}")
    if not (isinstance(labels, list) and len(labels) == len(data)
            and all(type(label) is int for label in labels)):
        raise CorruptDatasetError(f"{path}: 'labels' must be a list of {len(data)} ints")
    check_labels(np.asarray(labels, dtype=np.int64), 10, path)
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels


def read_cifar_pickle_meta(path: PathLike) -> list[str]:
    """The 10 class names (`label_names`) of `batches.meta`."""
    names = read_cifar_pickle(path).get("label_names")
    if not (isinstance(names, list) and len(names) == 10
            and all(isinstance(n, (str, bytes)) for n in names)):
        raise CorruptDatasetError(f"{path}: 'label_names' must be a list of 10 names")
    return [_text(name) for name in names]


# ---------------------------------------------------------------------------------------------
# The dataset
# ---------------------------------------------------------------------------------------------
class CIFAR10(VisionDataset):
    """CIFAR-10: 50000 train / 10000 test colour images of 32 x 32 in 10 classes.

    Reads `root/cifar-10-batches-py/` (the Python version, torchvision's layout), else
    `root/cifar-10-batches-bin/` (the binary version; its batch files may also be in `root`
    itself). If only an archive (`cifar-10-python.tar.gz` or `cifar-10-binary.tar.gz`) is in
    `root`, it is unpacked; with `download=True` the Python version is fetched from `url`
    (MD5-checked) and unpacked safely (members with absolute paths, `..`, backslashes, drive
    letters or links are refused). Raises `DatasetNotFoundError` (saying where it looked and how
    to get the files) or `CorruptDatasetError`.

    Attributes, as torchvision's: `data` a uint8 NumPy array (N, 32, 32, 3) (HWC); `targets` a
    list of N ints; `classes`; `class_to_idx`. `ds[i]` is `(image, target)`: the image is a PIL
    RGB image where Pillow is installed, else a uint8 NumPy array (32, 32, 3), passed through
    `transform` (`transforms.ToTensor()` makes it a float32 Tensor (3, 32, 32) in [0, 1]).
    With `transform=ToTensor()` (optionally followed by `Normalize`) a DataLoader builds whole
    batches at once.
    """

    base_folder = "cifar-10-batches-py"
    url = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    filename = "cifar-10-python.tar.gz"
    tgz_md5 = "c58f30108f718f92721af3b95e74349a"
    train_list = [
        ["data_batch_1", "c99cafc152244af753f735de768cd75f"],
        ["data_batch_2", "d4bba439e000b95fd0a9bffe97cbabec"],
        ["data_batch_3", "54ebc095f3ab1f0389bbae665268c751"],
        ["data_batch_4", "634d18415352ddfa80567beed471001a"],
        ["data_batch_5", "482c414d41f54cd18b22e5b47cb7c3cb"],
    ]
    test_list = [["test_batch", "40351d587109b95175f43aff81a1287e"]]
    meta = {"filename": "batches.meta", "key": "label_names",
            "md5": "5ff9c542aee3614f3951f8cda6e48888"}
    # the binary version
    binary_url = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
    binary_filename = "cifar-10-binary.tar.gz"
    binary_folder = "cifar-10-batches-bin"
    binary_meta = "batches.meta.txt"
    classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
               "truck"]

    def __init__(self, root: PathLike, train: bool = True,
                 transform: Callable[[Any], Any] | None = None,
                 target_transform: Callable[[int], Any] | None = None,
                 download: bool = False) -> None:
        if root is None:
            raise ValueError("CIFAR10: root must be the folder that holds (or will hold) "
                             f"{self.base_folder}")
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.train = train
        names = [name for name, _ in (self.train_list if self.train else self.test_list)]
        found = self._find(names)
        if found is None:
            self._unpack_or_download(download)
            found = self._find(names)
        if found is None:
            raise DatasetNotFoundError(self._not_found_message(names))
        folder, is_python_version = found
        if is_python_version:
            parts = [read_cifar_pickle_batch(folder / name) for name in names]
            meta = folder / self.meta["filename"]
            read_meta = read_cifar_pickle_meta
        else:
            parts = [read_cifar_batch(folder / f"{name}.bin") for name in names]
            parts = [(images, labels.tolist()) for images, labels in parts]
            meta = folder / self.binary_meta
            read_meta = read_cifar_meta
        self.data = np.concatenate([images for images, _ in parts])
        self.targets = [label for _, labels in parts for label in labels]
        self.classes = read_meta(meta) if meta.is_file() else list(type(self).classes)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        index = sample_index(self, index)
        return self._transformed(image_of(self.data[index]), int(self.targets[index]))

    def get_batch(self, indices: np.ndarray) -> Any:
        targets = np.fromiter((self.targets[i] for i in indices), np.int64, len(indices))
        return batch_of_images(self, self.data[indices], targets)

    def extra_repr(self) -> str:
        return f"Split: {'Train' if self.train is True else 'Test'}"

    def search_dirs(self) -> list[tuple[Path, bool]]:
        """Where the batch files are looked for, in order: (folder, is the Python version)."""
        root = Path(self.root)
        return [(root / self.base_folder, True), (root / self.binary_folder, False),
                (root, False)]

    def _find(self, names: list[str]) -> tuple[Path, bool] | None:
        for folder, is_python_version in self.search_dirs():
            suffix = "" if is_python_version else ".bin"
            if all((folder / f"{name}{suffix}").is_file() for name in names):
                return folder, is_python_version
        return None

    def _unpack_or_download(self, download: bool) -> None:
        """Unpack an archive already in root, else (with `download`) fetch the Python version."""
        root = Path(self.root)
        for archive in (root / self.filename, root / self.binary_filename):
            if archive.is_file():
                safe_extract_tar(archive, root)
                return
        if download:
            try:
                download_file([self.url], root / self.filename, self.tgz_md5)
            except DatasetNotFoundError as exc:
                raise DatasetNotFoundError(f"downloading CIFAR10 failed: {exc}\n\n"
                                           + self._not_found_message(
                                               [n for n, _ in self.train_list])) from None
            safe_extract_tar(root / self.filename, root)

    def _not_found_message(self, names: list[str]) -> str:
        folders = "\n".join(f"    {folder}" for folder, _ in self.search_dirs())
        root = Path(self.root)
        return "\n".join([
            f"CIFAR10 {'train' if self.train else 'test'} files not found: looked for "
            f"{', '.join(names)} (or {names[0]}.bin ...) in",
            folders,
            f"and for the archives {root / self.filename} and {root / self.binary_filename}.",
            "How to get them:",
            f"  - pass download=True to fetch {self.url} into {root} and unpack it",
            f"  - or download that file (the Python version, ~163 MB) or the binary version "
            f"{self.binary_url} yourself and put it in {root}: it is unpacked on first use",
        ])
