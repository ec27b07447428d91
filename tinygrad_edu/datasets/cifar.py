"""CIFAR-10 from its official *binary* version (no pickle is ever loaded).

`cifar-10-binary.tar.gz` unpacks to `cifar-10-batches-bin/` with `data_batch_1.bin` ..
`data_batch_5.bin` (train), `test_batch.bin` (test) and `batches.meta.txt` (class names, one a
line). Each batch file is a run of 3073-byte records: 1 label byte, then 3072 pixel bytes laid
out channel by channel (1024 red, 1024 green, 1024 blue, each 32 x 32 row by row).
"""

from __future__ import annotations

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
    safe_extract_tar,
)

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


class CIFAR10(LabelledArrayDataset):
    """CIFAR-10: 50000 train / 10000 test colour images of 32 x 32 in 10 classes.

    Looks for `cifar-10-batches-bin/` in `root` (or for the batch files in `root` itself);
    if only the archive `root/cifar-10-binary.tar.gz` is there it is unpacked; with
    `download=True` the archive is fetched from `url` (MD5-checked) and unpacked safely
    (members with absolute paths, `..`, backslashes, drive letters or links are refused).
    Raises `DatasetNotFoundError` (saying where it looked and how to get the files) or
    `CorruptDatasetError`.

    Attributes: `data` uint8 (N, 32, 32, 3) in HWC order (as torchvision); `targets` int64 (N,);
    `classes` (from `batches.meta.txt`); `class_to_idx`.
    `ds[i]` is `(image, target)`: without a transform the image is a float32 Tensor
    (3, 32, 32) in [0, 1]; a transform receives the uint8 (32, 32, 3) NumPy image (use
    `ToTensor()` after any NumPy-side transforms). `target` is an int.
    """

    url = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
    md5 = "c32a1d4ab5d03f1284b67883e8d87530"
    archive_name = "cifar-10-binary.tar.gz"
    folder_name = "cifar-10-batches-bin"
    train_files = [f"data_batch_{i}.bin" for i in range(1, 6)]
    test_files = ["test_batch.bin"]
    meta_file = "batches.meta.txt"
    classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
               "truck"]

    def __init__(self, root: PathLike, train: bool = True,
                 transform: Callable[[Any], Any] | None = None,
                 target_transform: Callable[[int], Any] | None = None,
                 download: bool = False) -> None:
        if root is None:
            raise ValueError("CIFAR10: root must be the folder that holds (or will hold) "
                             "cifar-10-batches-bin")
        super().__init__(root, train, transform, target_transform)
        self._files = self.train_files if self.train else self.test_files
        folder = self._find()
        archive = self.root / self.archive_name
        if folder is None and not archive.is_file() and download:
            try:
                download_file([self.url], archive, self.md5)
            except DatasetNotFoundError as exc:
                raise DatasetNotFoundError(f"downloading CIFAR10 failed: {exc}\n\n"
                                           + self._not_found_message()) from None
        if folder is None and archive.is_file():
            safe_extract_tar(archive, self.root)
            folder = self._find()
        if folder is None:
            raise DatasetNotFoundError(self._not_found_message())
        parts = [read_cifar_batch(folder / name) for name in self._files]
        self.data = np.concatenate([images for images, _ in parts])
        self.targets = np.concatenate([labels for _, labels in parts])
        meta = folder / self.meta_file
        self.classes = read_cifar_meta(meta) if meta.is_file() else list(type(self).classes)

    def search_dirs(self) -> list[Path]:
        return [self.root / self.folder_name, self.root]

    def _find(self) -> Path | None:
        for folder in self.search_dirs():
            if all((folder / name).is_file() for name in self._files):
                return folder
        return None

    def _not_found_message(self) -> str:
        folders = "\n".join(f"    {d}" for d in self.search_dirs())
        return "\n".join([
            f"CIFAR10 {'train' if self.train else 'test'} files not found: looked for "
            f"{', '.join(self._files)} in",
            folders,
            f"and for the archive {self.root / self.archive_name}.",
            "How to get them:",
            f"  - pass download=True to fetch {self.url} into {self.root} and unpack it",
            f"  - or download that file yourself (the binary version, ~162 MB) and put it in "
            f"{self.root}: it is unpacked on first use",
        ])

    def _convert(self, rows: np.ndarray) -> np.ndarray:
        out = rows.transpose(0, 3, 1, 2).astype(np.float32, order="C")
        np.divide(out, 255, out=out)
        return out
