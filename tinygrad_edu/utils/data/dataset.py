"""Datasets: the "what is sample i?" half of the data pipeline, as in `torch.utils.data`.

A map-style dataset (`Dataset`) has `__len__` and `__getitem__(i)`; an iterable-style one
(`IterableDataset`) has `__iter__` and yields samples. The `DataLoader` (see `dataloader.py`)
asks a dataset for samples and stacks them into batches.

The fast batch protocol (tinygrad_edu's addition)
-------------------------------------------------
Asking for 64 samples one at a time and stacking them costs 64 Python calls per batch. A
dataset whose samples are rows of arrays can do better: it defines

    get_batch(indices: np.ndarray) -> batch

which returns the whole, already stacked batch for an int64 index array with one fancy-indexing
operation (`data[indices]`). It returns `NotImplemented` when it cannot (for example when a
per-sample transform has to run), and the loader then falls back to `dataset[i]` one by one.
`TensorDataset`, `Subset` (when the dataset below it can) and the datasets in
`tinygrad_edu.datasets` (when they have no transform) implement it.

Devices
-------
Indices are host (NumPy) arrays: the samplers draw the epoch order on the CPU, as PyTorch's
do, so a seed gives the same batches whichever device holds the data. A `TensorDataset` of GPU
tensors copies each batch's small index array to the GPU once (shared by all its tensors on
that device; an asynchronous host-to-device copy, never a read back) and gathers the batch
there, so its batches are GPU tensors.
"""

from __future__ import annotations

import bisect
import math
import numbers
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from ... import autograd, backend
from ...backend import Device
from ...tensor import Generator, Tensor, from_numpy


class Dataset:
    """Base class of map-style datasets: subclasses define `__getitem__(index)` and `__len__()`.

    `dataset_a + dataset_b` is their `ConcatDataset`.
    """

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"Subclasses of Dataset should implement __getitem__ "
                                  f"({type(self).__name__} does not).")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])

    def get_batch(self, indices: np.ndarray) -> Any:
        """The stacked batch for `indices`, or `NotImplemented` (see the module docstring)."""
        return NotImplemented


class IterableDataset(Dataset):
    """Base class of iterable-style datasets: subclasses define `__iter__()` yielding samples.

    With `num_workers > 0` every worker process iterates its own copy of the dataset; use
    `get_worker_info()` inside `__iter__` to give each worker its own share of the data.
    `a + b` chains two iterable datasets (`ChainDataset`).
    """

    def __iter__(self) -> Iterator[Any]:
        raise NotImplementedError(f"Subclasses of IterableDataset should implement __iter__ "
                                  f"({type(self).__name__} does not).")

    def __add__(self, other: IterableDataset) -> ChainDataset:
        return ChainDataset([self, other])


def _host_array(values: Any) -> np.ndarray:
    """`values` (a Tensor, a NumPy or device array, a sequence) as a NumPy array; device data is
    read back explicitly with `backend.to_numpy`."""
    if isinstance(values, Tensor):
        values = values.array
    return np.asarray(backend.to_numpy(values))


@backend.on_device_of_args
def check_batch_indices(indices: Any, n: int, where: str) -> Any:
    """`indices` for `get_batch`: a 1-D integer array (host, or on a device) of positions in
    [-n, n). Host indices are bounds-checked for free; device ones only where
    `autograd.checks_values` allows the read (CuPy wraps out-of-range indices around)."""
    if isinstance(indices, Tensor):
        indices = indices.array
    if not hasattr(indices, "dtype") or not hasattr(indices, "shape"):
        indices = np.asarray(indices)  # a sequence of ints
    if indices.ndim != 1 or (indices.dtype.kind not in "iu" and indices.size):
        raise TypeError(f"{where}: indices must be a 1-D integer array, got {indices.dtype} "
                        f"array of shape {tuple(indices.shape)}")
    if indices.size and autograd.checks_values(indices):
        lo, hi = int(indices.min()), int(indices.max())
        if lo < -n or hi >= n:
            raise IndexError(f"{where}: index {hi if hi >= n else lo} is out of range for a "
                             f"dataset of {n} samples")
    return indices.astype(np.int64, copy=False) if indices.dtype.kind != "i" else indices


def take(tensors: Sequence[Tensor], indices: Any) -> tuple[Tensor, ...]:
    """Rows `indices` of each tensor, each one fancy-indexing op on that tensor's device. The
    index array is moved to each device once, not once per tensor."""
    on_device: dict[Device, Any] = {}
    out = []
    for tensor in tensors:
        device = tensor.device
        if device not in on_device:
            on_device[device] = (indices if backend.device_of(indices) == device
                                 else backend.to_device(indices, device))
        with backend.device_scope(tensor.array):
            out.append(Tensor._make(tensor.array[on_device[device]]))
    return tuple(out)


class TensorDataset(Dataset):
    """Samples are the rows of the given tensors: `ds[i] == (t1[i], t2[i], ...)`.

    All tensors must have the same length (first dimension). NumPy arrays are accepted too and
    wrapped without a copy (`tg.from_numpy`).
    """

    def __init__(self, *tensors: Tensor | np.ndarray) -> None:
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        wrapped = []
        for position, t in enumerate(tensors):
            if isinstance(t, np.ndarray):
                t = from_numpy(t)
            if not isinstance(t, Tensor):
                raise TypeError(f"TensorDataset: argument {position} must be a Tensor or a NumPy "
                                f"array, got {type(t).__name__}")
            if len(t.shape) == 0:
                raise ValueError(f"TensorDataset: tensor {position} is a scalar (shape ()); "
                                 "every tensor needs a first dimension to index samples along")
            wrapped.append(t)
        sizes = [t.shape[0] for t in wrapped]
        if len(set(sizes)) != 1:
            shapes = ", ".join(str(tuple(t.shape)) for t in wrapped)
            raise ValueError(f"TensorDataset: all tensors must have the same first dimension "
                             f"(number of samples), got shapes {shapes}")
        self.tensors: tuple[Tensor, ...] = tuple(wrapped)

    def __getitem__(self, index: int) -> tuple[Tensor, ...]:
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def get_batch(self, indices: np.ndarray) -> list[Tensor]:
        """The rows `indices` of every tensor, on that tensor's device: a list, as
        `default_collate` makes of tuple samples."""
        return list(take(self.tensors, check_batch_indices(indices, len(self),
                                                           "TensorDataset.get_batch")))


class ConcatDataset(Dataset):
    """The samples of several map-style datasets one after the other (`a + b` makes one).

    `cumulative_sizes[k]` is the number of samples in the first k + 1 datasets.
    """

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets: list[Any] = list(datasets)
        if not self.datasets:
            raise AssertionError("ConcatDataset: datasets should not be an empty iterable")
        for position, dataset in enumerate(self.datasets):
            if isinstance(dataset, IterableDataset):
                raise AssertionError(f"ConcatDataset does not support IterableDataset "
                                     f"(dataset {position} is {type(dataset).__name__})")
        self.cumulative_sizes: list[int] = []
        total = 0
        for dataset in self.datasets:
            total += len(dataset)
            self.cumulative_sizes.append(total)

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index: int) -> Any:
        if index < 0:
            if -index > len(self):
                raise ValueError(f"ConcatDataset: absolute value of index {index} should not "
                                 f"exceed dataset length {len(self)}")
            index = len(self) + index
        which = bisect.bisect_right(self.cumulative_sizes, index)
        if which == len(self.datasets):
            raise IndexError(f"ConcatDataset: index {index} is out of range for a dataset of "
                             f"{len(self)} samples")
        start = self.cumulative_sizes[which - 1] if which > 0 else 0
        return self.datasets[which][index - start]


class ChainDataset(IterableDataset):
    """Several iterable datasets one after the other (`a + b` for IterableDatasets)."""

    def __init__(self, datasets: Iterable[IterableDataset]) -> None:
        self.datasets = list(datasets)

    def __iter__(self) -> Iterator[Any]:
        for dataset in self.datasets:
            if not isinstance(dataset, IterableDataset):
                raise AssertionError(f"ChainDataset only supports IterableDataset, got "
                                     f"{type(dataset).__name__}")
            yield from dataset

    def __len__(self) -> int:
        return sum(len(dataset) for dataset in self.datasets)


class Subset(Dataset):
    """The samples of `dataset` at positions `indices`, in that order."""

    def __init__(self, dataset: Any, indices: Sequence[int]) -> None:
        index_array = _host_array(indices)
        if index_array.size == 0:
            index_array = index_array.astype(np.int64)
        if index_array.ndim != 1 or index_array.dtype.kind not in "iu":
            raise TypeError(f"Subset: indices must be a 1-D sequence of integers, got "
                            f"{index_array.dtype} array of shape {index_array.shape}")
        n = len(dataset)
        if index_array.size and (index_array.min() < -n or index_array.max() >= n):
            raise IndexError(f"Subset: indices must lie in [-{n}, {n}) for a dataset of "
                             f"{n} samples, got values from {index_array.min()} to "
                             f"{index_array.max()}")
        self.dataset = dataset
        self.indices: np.ndarray = index_array.astype(np.int64) % max(n, 1)

    def __getitem__(self, index: int) -> Any:
        return self.dataset[int(self.indices[index])]

    def __len__(self) -> int:
        return len(self.indices)

    def get_batch(self, indices: np.ndarray) -> Any:
        """The batch of the dataset below at the positions `self.indices[indices]` (host
        indices; device ones are read back explicitly)."""
        get_batch = getattr(self.dataset, "get_batch", None)
        if get_batch is None:
            return NotImplemented
        indices = check_batch_indices(_host_array(indices), len(self), "Subset.get_batch")
        return get_batch(self.indices[indices])


def as_generator(generator: Any) -> np.random.Generator:
    """The NumPy Generator the data utilities draw from: a `tg.Generator`'s own stream (as
    PyTorch's `generator=torch.Generator().manual_seed(42)`), a `numpy.random.Generator`
    itself, a fresh one for an int seed, or tg's global seeded CPU one for None.
    """
    if generator is None:
        return backend.generator(backend.Device("cpu"))
    if isinstance(generator, np.random.Generator):
        return generator
    if isinstance(generator, Generator):
        if generator.device.type != "cpu":  # (PyTorch's RuntimeError)
            raise RuntimeError(f"Expected a 'cpu' device type for generator but found "
                               f"'{generator.device.type}'")
        return generator.rng
    if isinstance(generator, numbers.Integral) and not isinstance(generator, bool):
        return np.random.default_rng(int(generator))
    raise TypeError(f"generator must be None, a tg.Generator, an int seed or a "
                    f"numpy.random.Generator, "
                    f"got {type(generator).__name__}")


def _split_lengths(lengths: Sequence[int | float], n: int) -> list[int]:
    """Turn `lengths` (counts summing to n, or fractions summing to 1) into counts."""
    values = list(lengths)
    if not values:
        raise ValueError("random_split: lengths must not be empty")
    for value in values:
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or value < 0:
            raise ValueError(f"random_split: lengths must be non-negative numbers, got {lengths!r}")
    if all(isinstance(value, numbers.Integral) for value in values):
        if sum(values) != n:
            raise ValueError(f"random_split: sum of input lengths {values} is {sum(values)}, "
                             f"which does not equal the length of the input dataset ({n})")
        return [int(value) for value in values]
    if not (math.isclose(sum(values), 1.0, abs_tol=1e-6) and all(v <= 1 for v in values)):
        raise ValueError(f"random_split: fractional lengths must each be in [0, 1] and sum to 1, "
                         f"got {values} (sum {sum(values)})")
    counts = [math.floor(n * fraction) for fraction in values]
    for i in range(n - sum(counts)):  # hand out the remainder one by one, as PyTorch does
        counts[i % len(counts)] += 1
    return counts


def random_split(dataset: Any, lengths: Sequence[int | float],
                 generator: Generator | int | np.random.Generator | None = None) -> list[Subset]:
    """Split `dataset` into non-overlapping random `Subset`s of the given lengths.

    `lengths` are sample counts that add up to `len(dataset)`, or fractions that add up to 1
    (`[0.8, 0.2]`; leftover samples go to the first subsets one each, as in PyTorch).
    `generator` is a `tg.Generator`, an int seed or a `numpy.random.Generator`; with None the
    split draws from the global generator, so `tg.manual_seed(s)` makes it reproducible.
    """
    n = len(dataset)
    counts = _split_lengths(lengths, n)
    permutation = as_generator(generator).permutation(n)
    subsets, start = [], 0
    for count in counts:
        subsets.append(Subset(dataset, permutation[start:start + count]))
        start += count
    return subsets
