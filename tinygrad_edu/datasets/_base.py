"""What every dataset in `tinygrad_edu.datasets` shares: errors, the labelled-array base class,
and careful downloading / extracting (no pickle, nothing written outside `root`)."""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tarfile
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from ..data.dataset import Dataset
from ..tensor import Tensor

PathLike = str | os.PathLike


class DatasetNotFoundError(FileNotFoundError):
    """The dataset's files are not where we looked (or could not be downloaded).
    The message says where we looked and how to get them."""


class CorruptDatasetError(ValueError):
    """A dataset file exists but is not what it should be (bad header, wrong size, ...)."""


class LabelledArrayDataset(Dataset):
    """Samples are rows of `self.data` (NumPy) with labels `self.targets` (int64 NumPy).

    Subclasses fill `data`, `targets` and `classes` and define
    `_sample(index)` (what a transform receives) and `_convert(rows)` (the default conversion of
    a batch of rows to the float32 array a model takes).

    - `ds[i]` is `(x, target)`. Without a transform `x` is a Tensor made by `_convert`; with one,
      `x = transform(_sample(i))`. `target` is a Python int, or `target_transform(int)`.
    - Without transforms, `get_batch(indices)` builds a whole batch with one fancy-indexing
      operation: `(Tensor (B, ...), int64 Tensor (B,))`, exactly what default_collate would give.
    """

    data: np.ndarray
    targets: np.ndarray
    classes: list[str]

    def __init__(self, root: PathLike | None, train: bool,
                 transform: Callable[[Any], Any] | None,
                 target_transform: Callable[[int], Any] | None) -> None:
        self.root = None if root is None else Path(os.path.expanduser(os.fspath(root)))
        self.train = bool(train)
        self.transform = transform
        self.target_transform = target_transform

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.classes)}

    def _sample(self, index: int) -> Any:
        return self.data[index].copy()  # a copy: a transform may change it in place

    def _convert(self, rows: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        if isinstance(index, (bool, float)) or not hasattr(index, "__index__"):
            raise TypeError(f"{type(self).__name__} indices must be integers, got "
                            f"{type(index).__name__}")
        index = int(index)
        if not -len(self) <= index < len(self):
            raise IndexError(f"index {index} is out of range for {type(self).__name__} "
                             f"with {len(self)} samples")
        if self.transform is None:
            x = Tensor._make(self._convert(self.data[[index]])[0])
        else:
            x = self.transform(self._sample(index))
        target = int(self.targets[index])
        if self.target_transform is not None:
            target = self.target_transform(target)
        return x, target

    def get_batch(self, indices: np.ndarray) -> Any:
        if self.transform is not None or self.target_transform is not None:
            return NotImplemented  # transforms work sample by sample
        return Tensor._make(self._convert(self.data[indices])), Tensor._make(self.targets[indices])

    def _split_name(self) -> str:
        return "Train" if self.train else "Test"

    def __repr__(self) -> str:
        lines = [f"Dataset {type(self).__name__}", f"    Number of datapoints: {len(self)}"]
        if self.root is not None:
            lines.append(f"    Root location: {self.root}")
        lines.append(f"    Split: {self._split_name()}")
        if self.transform is not None:
            lines.append(f"    Transform: {self.transform!r}")
        if self.target_transform is not None:
            lines.append(f"    Target transform: {self.target_transform!r}")
        return "\n".join(lines)


def check_labels(targets: np.ndarray, num_classes: int, source: Any) -> None:
    if targets.size and (targets.min() < 0 or targets.max() >= num_classes):
        raise CorruptDatasetError(f"{source}: labels must be in 0..{num_classes - 1}, found "
                                  f"values from {targets.min()} to {targets.max()}")


def stratified_split(targets: np.ndarray, train: bool, test_fraction: float = 0.2,
                     seed: int = 0) -> np.ndarray:
    """Sorted indices of the train (or test) part of a fixed, stratified split.

    Each class gives `round(test_fraction * its size)` randomly chosen samples to the test part.
    The permutation comes from NumPy's legacy `RandomState`, whose stream never changes between
    NumPy versions, so everyone gets the same split.
    """
    rng = np.random.RandomState(seed)
    in_test = np.zeros(len(targets), dtype=bool)
    for label in np.unique(targets):
        members = np.flatnonzero(targets == label)
        in_test[rng.permutation(members)[:int(round(test_fraction * len(members)))]] = True
    return np.flatnonzero(in_test != train)


# ---------------------------------------------------------------------------------------------
# Downloading and extracting
# ---------------------------------------------------------------------------------------------
def md5sum(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download_file(urls: Sequence[str], destination: Path, md5: str | None) -> None:
    """Fetch the first of `urls` that works into `destination`, checking its MD5.

    The file is written to `destination.part` and renamed only once complete and verified, so
    an interrupted download never leaves a half file under the real name. Raises
    `DatasetNotFoundError` listing every URL tried and why it failed.
    """
    import urllib.request  # only when downloading: it pulls in http and ssl (~50 ms)

    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".part")
    failures = []
    for url in urls:
        print(f"Downloading {url} -> {destination}", file=sys.stderr)
        try:
            with urllib.request.urlopen(url, timeout=60) as response, open(partial, "wb") as out:
                shutil.copyfileobj(response, out, 1 << 20)
        except (OSError, ValueError) as exc:  # URLError and HTTPError are OSErrors
            failures.append(f"{url}: {exc}")
            partial.unlink(missing_ok=True)
            continue
        if md5 is not None and (actual := md5sum(partial)) != md5:
            failures.append(f"{url}: checksum mismatch (MD5 {actual}, expected {md5})")
            partial.unlink(missing_ok=True)
            continue
        os.replace(partial, destination)
        return
    raise DatasetNotFoundError(f"could not download {destination.name}:\n  "
                               + "\n  ".join(failures))


def _unsafe_member_name(name: str) -> bool:
    """Whether a tar member's name could write outside the destination on some system: an
    absolute path, a `..` component, or anything Windows reads as a path (a backslash, which
    Windows takes as a separator as in `..\\..\\evil`, or a colon: a drive letter as in
    `C:evil` or an NTFS stream)."""
    path = PurePosixPath(name)
    return (not name or path.is_absolute() or ".." in path.parts or "\\" in name
            or ":" in name)


def safe_extract_tar(archive: Path, destination: Path) -> None:
    """Extract a tar archive into `destination`, refusing the whole archive if any member has an
    unsafe name (see `_unsafe_member_name`) or is a link or a device (only plain files and
    folders)."""
    destination = destination.resolve()
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            for member in members:
                if _unsafe_member_name(member.name):
                    raise CorruptDatasetError(f"refusing to extract {archive}: member "
                                              f"{member.name!r} has an unsafe path")
                if not (member.isfile() or member.isdir()):
                    raise CorruptDatasetError(f"refusing to extract {archive}: member "
                                              f"{member.name!r} is not a plain file or folder")
            for member in members:
                target = destination.joinpath(*PurePosixPath(member.name).parts)
                if member.isdir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                source = tar.extractfile(member)
                assert source is not None  # a plain file always has contents
                with source, open(target, "wb") as out:
                    shutil.copyfileobj(source, out, 1 << 20)
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        if isinstance(exc, FileNotFoundError) and not archive.exists():
            raise
        raise CorruptDatasetError(f"{archive} is not a readable tar archive ({exc}); delete it "
                                  "and download it again") from exc
