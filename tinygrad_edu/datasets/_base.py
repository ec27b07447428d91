"""What the tabular datasets of `tinygrad_edu.datasets` share: the labelled-array base class and
a fixed stratified split. The errors and the download / extract helpers are the image
datasets' (`tinygrad_edu.vision.datasets.utils`), re-exported here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..tensor import Tensor
from ..vision.datasets.utils import (  # noqa: F401 (re-exported for the old import paths)
    CorruptDatasetError,
    DatasetNotFoundError,
    PathLike,
    check_labels,
    download_file,
    md5sum,
    safe_extract_tar,
)
from ..vision.datasets.vision import VisionDataset, sample_index


class LabelledArrayDataset(VisionDataset):
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
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.train = bool(train)

    def _sample(self, index: int) -> Any:
        return self.data[index].copy()  # a copy: a transform may change it in place

    def _convert(self, rows: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        index = sample_index(self, index)
        target = int(self.targets[index])
        if self.transform is None:  # no transform: the dataset's own conversion to a Tensor
            x = Tensor._make(self._convert(self.data[[index]])[0])
            return self._transformed(x, target)
        return self._transformed(self._sample(index), target)

    def get_batch(self, indices: np.ndarray) -> Any:
        if self.transform is not None or self.target_transform is not None:
            return NotImplemented  # transforms work sample by sample
        return Tensor._make(self._convert(self.data[indices])), Tensor._make(self.targets[indices])

    def extra_repr(self) -> str:
        return f"Split: {'Train' if self.train else 'Test'}"


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
