"""Samplers: the order in which a DataLoader visits a map-style dataset, as in PyTorch.

A sampler is an iterable of dataset indices (Python ints); a `BatchSampler` groups another
sampler's indices into lists, one list per batch. The DataLoader builds them from its
arguments: `shuffle=True` is a `RandomSampler`, `shuffle=False` a `SequentialSampler`, and
`batch_size`/`drop_last` a `BatchSampler` over it.

The random ones draw on the CPU from `generator` (a `tg.Generator`, a `numpy.random.Generator`
or an int seed),
or, without one, from tg's global seeded CPU generator, so `tg.manual_seed(s)` makes them
reproducible. They draw a new order every time they are iterated (every epoch).
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Iterator, Sized
from typing import Any

import numpy as np

from ... import backend
from ...tensor import Generator, Tensor
from .dataset import as_generator


class Sampler:
    """Base class of samplers: subclasses define `__iter__` (and usually `__len__`)."""

    def __init__(self, data_source: Sized | None = None) -> None:
        pass

    def __iter__(self) -> Iterator[Any]:
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")


def _check_positive_int(owner: str, name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{owner}: {name} should be a positive integer value, "
                         f"but got {name}={value!r}")
    return int(value)


def _check_bool(owner: str, name: str, value: Any, error: type[Exception]) -> bool:
    if not isinstance(value, bool):
        raise error(f"{owner}: {name} should be a boolean value, but got {name}={value!r}")
    return value


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """Random indices of `data_source`: a new permutation every epoch.

    With `replacement=True`, `num_samples` indices drawn independently (repeats possible).
    Without it, `num_samples` (default: all) indices of a permutation; more than
    `len(data_source)` continues with further permutations, as in PyTorch.
    """

    def __init__(self, data_source: Sized, replacement: bool = False,
                 num_samples: int | None = None,
                 generator: Generator | int | np.random.Generator | None = None) -> None:
        self.data_source = data_source
        self.replacement = _check_bool("RandomSampler", "replacement", replacement, TypeError)
        self._num_samples = num_samples
        self.generator = generator
        if num_samples is not None:
            _check_positive_int("RandomSampler", "num_samples", num_samples)
        if isinstance(generator, numbers.Integral) and not isinstance(generator, bool):
            self.generator = np.random.default_rng(int(generator))  # one stream for all epochs
        as_generator(self.generator)  # a bad generator fails now, not in the first epoch

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        n, rng = len(self.data_source), as_generator(self.generator)
        if self.replacement:
            yield from rng.integers(0, n, size=self.num_samples).tolist()
            return
        for _ in range(self.num_samples // n if n else 0):
            yield from rng.permutation(n).tolist()
        if n:
            yield from rng.permutation(n)[:self.num_samples % n].tolist()

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given `indices`, in a new random order every epoch (no replacement)."""

    def __init__(self, indices: Iterable[int],
                 generator: Generator | int | np.random.Generator | None = None) -> None:
        self.indices = indices
        self.generator = generator
        if isinstance(generator, numbers.Integral) and not isinstance(generator, bool):
            self.generator = np.random.default_rng(int(generator))
        as_generator(self.generator)

    def __iter__(self) -> Iterator[Any]:
        indices = list(self.indices)
        for position in as_generator(self.generator).permutation(len(indices)).tolist():
            yield indices[position]

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """`num_samples` indices in [0, len(weights)), index i drawn with probability proportional
    to `weights[i]` (the weights need not sum to 1), with or without replacement.

    The usual cure for an imbalanced data set: weight each sample by 1 / (its class's count).
    """

    def __init__(self, weights: Any, num_samples: int, replacement: bool = True,
                 generator: Generator | int | np.random.Generator | None = None) -> None:
        self.num_samples = _check_positive_int("WeightedRandomSampler", "num_samples",
                                               num_samples)
        self.replacement = _check_bool("WeightedRandomSampler", "replacement", replacement,
                                       ValueError)
        if isinstance(weights, Tensor):
            weights = backend.to_numpy(weights.array)
        array = np.asarray(weights, dtype=np.float64)
        if array.ndim != 1:
            raise ValueError(f"WeightedRandomSampler: weights should be a 1d sequence but given "
                             f"weights have shape {tuple(array.shape)}")
        if array.size == 0 or not np.all(np.isfinite(array)) or np.any(array < 0) \
                or array.sum() <= 0:
            raise RuntimeError("WeightedRandomSampler: invalid multinomial distribution: the "
                               "weights must be finite, >= 0 and not all zero")
        if not replacement and np.count_nonzero(array) < self.num_samples:
            raise RuntimeError(f"WeightedRandomSampler: cannot draw {self.num_samples} samples "
                               f"without replacement from {np.count_nonzero(array)} non-zero "
                               "weights")
        self.weights = array
        self.generator = generator
        if isinstance(generator, numbers.Integral) and not isinstance(generator, bool):
            self.generator = np.random.default_rng(int(generator))
        as_generator(self.generator)

    def __iter__(self) -> Iterator[int]:
        probabilities = self.weights / self.weights.sum()
        draws = as_generator(self.generator).choice(len(self.weights), size=self.num_samples,
                                                    replace=self.replacement, p=probabilities)
        yield from draws.tolist()

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Group the indices of `sampler` into lists of `batch_size` (the last one shorter, or
    dropped with `drop_last=True`).

        list(BatchSampler(SequentialSampler(range(10)), batch_size=3, drop_last=False))
        # [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    """

    def __init__(self, sampler: Iterable[int], batch_size: int, drop_last: bool) -> None:
        self.sampler = sampler
        self.batch_size = _check_positive_int("BatchSampler", "batch_size", batch_size)
        self.drop_last = _check_bool("BatchSampler", "drop_last", drop_last, ValueError)

    def __iter__(self) -> Iterator[list[int]]:
        batch: list[int] = []
        for index in self.sampler:
            batch.append(index)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)  # type: ignore[arg-type]
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
