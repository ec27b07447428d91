"""DataLoader: turns a dataset into an iterable of (shuffled) mini-batches, as PyTorch's.

    loader = DataLoader(train_set, batch_size=64, shuffle=True)
    for epoch in range(10):
        for images, labels in loader:   # a fresh order every epoch
            ...

One epoch works like this:
1. the sampler gives the order of the sample indices: `SequentialSampler` (0, 1, 2, ...), or
   `RandomSampler` (a new permutation every epoch) when `shuffle=True`, or your `sampler=`;
2. a `BatchSampler` cuts that order into lists of `batch_size` indices (the last one shorter,
   or dropped with `drop_last=True`), unless you give your own `batch_sampler=`;
3. each list becomes a batch (`fetch.py`): with one fancy-indexing operation when the dataset
   supports the fast batch protocol (`dataset.get_batch(indices)`, see `dataset.py`) and no
   `collate_fn` is given, otherwise by fetching the samples one by one and stacking them with
   `collate_fn` (`default_collate`).
With `num_workers=0` step 3 runs right here, in `_single_process_batches`; with
`num_workers > 0` it runs in worker processes (`worker.py`), with the same batches in the same
order.

An `IterableDataset` has no indices: its samples are taken in the order it yields them, and
steps 1-2 only count them into batches.

Devices: batches are on the device the dataset's data is on. A dataset of NumPy arrays or CPU
tensors gives CPU batches, which the training loop moves with `x.to(device)` (one copy per
tensor per batch, as in PyTorch); a `TensorDataset` of GPU tensors gives GPU batches, gathered
on the GPU (with `num_workers=0`). The order is always drawn on the CPU: it is a small host
array, so the same seed gives the same batches on every device.
"""

from __future__ import annotations

import itertools
import numbers
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .collate import default_collate, default_convert
from .dataset import IterableDataset, as_generator
from .fetch import make_fetcher
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler
from .worker import MultiProcessingIterator, start_method_context


class _InfiniteConstantSampler(Sampler):
    """The 'sampler' of an IterableDataset: None forever (the dataset decides when to stop)."""

    def __iter__(self) -> Iterator[None]:
        return itertools.repeat(None)


class DataLoader:
    """Iterate over `dataset` in mini-batches.

    Args (PyTorch's):
        dataset: a map-style `Dataset` (`len` and `dataset[i]`) or an `IterableDataset`.
        batch_size: samples per batch; None turns batching off (each sample is one item).
        shuffle: a new random order every epoch (every `iter(loader)`).
        sampler: the order of the indices, instead of `shuffle` (a `Sampler` or any iterable).
        batch_sampler: gives whole lists of indices, instead of `batch_size`, `shuffle`,
            `sampler` and `drop_last`.
        num_workers: 0 builds the batches in this process; N > 0 in N worker processes.
        collate_fn: turns a list of samples into a batch (default: `default_collate`). Giving
            one turns the fast batch path off, since the function must see the samples.
        pin_memory: accepted so that PyTorch code runs; it changes nothing (a CPU array is
            copied to the GPU the same way either way).
        drop_last: drop the last batch when it is smaller than `batch_size`.
        timeout: seconds to wait for a worker's batch before raising (0: wait as long as it
            takes; a worker that dies is reported either way).
        worker_init_fn: called as `worker_init_fn(worker_id)` in each worker, after seeding.
        multiprocessing_context: 'fork', 'spawn', 'forkserver' or a context (default: fork
            where available).
        generator: where the random order and the workers' base seed come from: a
            `tg.Generator` (`tg.Generator().manual_seed(42)`), a `numpy.random.Generator` or
            an int seed (default: tg's global generator, which `tg.manual_seed` makes
            reproducible).
        prefetch_factor: batches each worker prepares ahead (default 2 with workers).
        persistent_workers: keep the worker processes from one epoch to the next.
        pin_memory_device, in_order: accepted; batches always come in order.
        seed (tinygrad_edu's shorthand): `seed=s` is `generator=numpy.random.default_rng(s)`.
    """

    def __init__(self, dataset: Any, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler: Any = None, batch_sampler: Any = None, num_workers: int = 0,
                 collate_fn: Callable[[list], Any] | None = None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0,
                 worker_init_fn: Callable[[int], None] | None = None,
                 multiprocessing_context: Any = None,
                 generator: Any = None, *,
                 prefetch_factor: int | None = None, persistent_workers: bool = False,
                 pin_memory_device: str = "", in_order: bool = True,
                 seed: int | None = None) -> None:
        self._iterable = isinstance(dataset, IterableDataset)
        if not self._iterable and not hasattr(dataset, "__getitem__"):
            raise TypeError(f"DataLoader: dataset must be a map-style dataset (with __getitem__ "
                            f"and __len__) or an IterableDataset, got {type(dataset).__name__}")
        _check_workers(num_workers, timeout, prefetch_factor, persistent_workers,
                       multiprocessing_context)
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"DataLoader: collate_fn must be callable, got {collate_fn!r}")
        if worker_init_fn is not None and not callable(worker_init_fn):
            raise TypeError(f"DataLoader: worker_init_fn must be callable, got {worker_init_fn!r}")
        generator = _loader_generator(generator, seed)

        if self._iterable:
            if shuffle not in (None, False):
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle "
                                 f"option, but got shuffle={shuffle}")
            if sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified sampler "
                                 f"option, but got sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                 f"batch_sampler option, but got batch_sampler={batch_sampler}")
        shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("DataLoader: batch_sampler option is mutually exclusive with "
                                 "batch_size, shuffle, sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("DataLoader: batch_size=None option disables auto-batching and is "
                             "mutually exclusive with drop_last")

        if sampler is None:
            if self._iterable:
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)  # checks batch_size

        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = bool(drop_last)
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = int(num_workers)
        self._auto_collation = batch_sampler is not None
        self._use_get_batch = collate_fn is None and self._auto_collation
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self.pin_memory = bool(pin_memory)
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.generator = generator
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2  # PyTorch's default with workers
        self.prefetch_factor = prefetch_factor
        self.persistent_workers = bool(persistent_workers)
        self.in_order = bool(in_order)
        self._workers: MultiProcessingIterator | None = None  # kept with persistent_workers

    @property
    def _index_sampler(self) -> Any:
        """What each step of an epoch takes: a list of indices (batching on) or one index."""
        return self.batch_sampler if self._auto_collation else self.sampler

    def __len__(self) -> int:
        """Number of batches in one epoch (for an IterableDataset: from `len(dataset)`)."""
        if self._iterable:
            n = len(self.dataset)  # a TypeError where the dataset has no __len__, as in PyTorch
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        return len(self._index_sampler)

    def __iter__(self) -> Iterator[Any]:
        """Start an epoch. The base seed of the workers is drawn now (also without workers, as
        in PyTorch, so the order of the batches does not depend on `num_workers`)."""
        base_seed = int(as_generator(self.generator).integers(2**62))
        if self.num_workers == 0:
            return self._single_process_batches()
        if self.persistent_workers and self._workers is not None and self._workers.alive:
            self._workers._reset()
            return self._workers
        workers = MultiProcessingIterator(self, base_seed)
        if self.persistent_workers:
            self._workers = workers
        return workers

    def _single_process_batches(self) -> Iterator[Any]:
        """One epoch with num_workers=0: for each list of indices, fetch and collate."""
        fetcher = make_fetcher(self.dataset, self._auto_collation, self.collate_fn,
                               self.drop_last, self._use_get_batch)
        for indices in self._index_sampler:
            try:
                batch = fetcher.fetch(indices)
            except StopIteration:  # an IterableDataset ran out
                return
            yield batch


def _loader_generator(generator: Any, seed: Any) -> np.random.Generator | None:
    """The loader's own generator (made once, so that every epoch draws a new order)."""
    if seed is not None:
        if generator is not None:
            raise ValueError("DataLoader: give generator or seed, not both")
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
            raise TypeError(f"DataLoader: seed must be an int or None, got {seed!r}")
        return np.random.default_rng(int(seed))
    if generator is None:
        return None
    if isinstance(generator, numbers.Integral) and not isinstance(generator, bool):
        return np.random.default_rng(int(generator))
    return as_generator(generator)  # a TypeError for anything else


def _check_workers(num_workers: Any, timeout: Any, prefetch_factor: Any,
                   persistent_workers: Any, multiprocessing_context: Any) -> None:
    """PyTorch's checks of the multiprocessing options."""
    if isinstance(num_workers, bool) or not isinstance(num_workers, numbers.Integral) \
            or num_workers < 0:
        raise ValueError(f"DataLoader: num_workers option should be non-negative; use "
                         f"num_workers=0 to disable multiprocessing (got {num_workers!r})")
    if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real) or timeout < 0:
        raise ValueError(f"DataLoader: timeout option should be non-negative, got {timeout!r}")
    if num_workers == 0 and prefetch_factor is not None:
        raise ValueError("DataLoader: prefetch_factor option could only be specified in "
                         "multiprocessing. let num_workers > 0 to enable multiprocessing, "
                         "otherwise set prefetch_factor to None.")
    if prefetch_factor is not None and (isinstance(prefetch_factor, bool) or not isinstance(
            prefetch_factor, numbers.Integral) or prefetch_factor <= 0):
        raise ValueError(f"DataLoader: prefetch_factor should be a positive int, got "
                         f"{prefetch_factor!r}")
    if persistent_workers and num_workers == 0:
        raise ValueError("DataLoader: persistent_workers option needs num_workers > 0")
    if multiprocessing_context is not None:
        if num_workers == 0:
            raise ValueError(f"DataLoader: multiprocessing_context can only be used with "
                             f"multi-process loading (num_workers > 0), but got "
                             f"num_workers={num_workers}")
        start_method_context(multiprocessing_context)  # a bad name fails now
