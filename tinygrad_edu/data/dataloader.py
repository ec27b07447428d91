"""DataLoader: turns a dataset into an iterable of (shuffled) mini-batches.

    loader = DataLoader(train_set, batch_size=64, shuffle=True)
    for epoch in range(10):
        for images, labels in loader:   # a fresh permutation every epoch
            ...

One epoch works like this:
1. the order: `arange(n)`, or a random permutation of it when `shuffle=True`;
2. the order is cut into slices of `batch_size` indices (the last one shorter, or dropped with
   `drop_last=True`);
3. each slice becomes a batch: with one fancy-indexing operation when the dataset supports the
   fast batch protocol (`dataset.get_batch(indices)`, see `dataset.py`), otherwise by fetching
   the samples one by one and stacking them with `collate_fn` (`default_collate`).

Devices: batches are on the device the dataset's data is on. A dataset of NumPy arrays or CPU
tensors gives CPU batches, which the training loop moves with `x.to(device)` (one copy per
tensor per batch, as in PyTorch); a `TensorDataset` of GPU tensors gives GPU batches, gathered
on the GPU. The order is always drawn on the CPU (from the loader's own generator, or from tg's
seeded CPU generator): it is a small host array, so the same seed gives the same batches on
every device, and a CPU dataset never touches the GPU.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from .. import backend
from ..tensor import Tensor
from .dataset import as_generator


def _stack_arrays(arrays: list, what: str) -> Any:
    shapes = {tuple(a.shape) for a in arrays}
    if len(shapes) > 1:
        raise ValueError(f"default_collate: cannot stack {what} of different shapes "
                         f"{sorted(shapes)} into one batch; make the samples the same shape "
                         "(e.g. with a transform) or pass your own collate_fn")
    return backend.get_array_module(arrays[0]).stack(arrays)


def _checked_dtype(array: np.ndarray) -> np.ndarray:
    if array.dtype not in backend.SUPPORTED_DTYPES:
        names = ", ".join(str(d) for d in backend.SUPPORTED_DTYPES)
        raise TypeError(f"default_collate: samples of dtype {array.dtype} are not supported; "
                        f"convert them to one of {names}")
    return array


@backend.on_device_of_args
def default_collate(batch: Sequence[Any]) -> Any:
    """Stack a list of samples into a batch, following the structure of the samples.

    - Tensors and NumPy arrays of equal shape -> one Tensor with a new first dimension (B, ...),
      keeping their dtype (and, for Tensors, their device);
    - Python ints -> int64 Tensor (B,); floats -> float32 (B,); bools -> bool (B,);
      NumPy scalars keep their dtype;
    - strings -> a list of strings;
    - tuples / lists / namedtuples / dicts -> the same container, collated field by field:
      `[(x0, y0), (x1, y1)]` -> `(stack([x0, x1]), stack([y0, y1]))`.
    """
    if len(batch) == 0:
        raise ValueError("default_collate: cannot collate an empty batch")
    elem = batch[0]
    if isinstance(elem, Tensor):
        if not all(isinstance(b, Tensor) for b in batch):
            raise TypeError("default_collate: a batch mixes Tensors with other types")
        devices = {str(b.device) for b in batch}
        if len(devices) > 1:
            raise RuntimeError(f"default_collate: samples are on different devices "
                               f"{sorted(devices)}")
        return Tensor._make(_stack_arrays([b.array for b in batch], "tensors"))
    if isinstance(elem, np.ndarray):
        return Tensor._make(_checked_dtype(_stack_arrays([np.asarray(b) for b in batch], "arrays")))
    if isinstance(elem, np.generic) and not isinstance(elem, (np.str_, np.bytes_)):
        return Tensor._make(_checked_dtype(np.array(batch)))
    if isinstance(elem, (bool, numbers.Number)) and not isinstance(elem, (str, bytes)):
        return _collate_numbers(batch)
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, Mapping):
        return {key: default_collate([sample[key] for sample in batch]) for key in elem}
    if isinstance(elem, (tuple, list)):
        sizes = {len(sample) for sample in batch}
        if len(sizes) > 1:
            raise ValueError(f"default_collate: samples have different numbers of fields {sizes}")
        fields = [default_collate(list(group)) for group in zip(*batch)]
        if hasattr(elem, "_fields"):  # namedtuple
            return type(elem)(*fields)
        return tuple(fields) if isinstance(elem, tuple) else fields
    raise TypeError(f"default_collate: don't know how to batch samples of type "
                    f"{type(elem).__name__}; expected Tensors, NumPy arrays, numbers, strings, "
                    "or tuples/lists/dicts of those (or pass a collate_fn)")


def _collate_numbers(batch: Sequence[Any]) -> Tensor:
    if all(isinstance(b, bool) for b in batch):
        dtype = backend.bool_
    elif all(isinstance(b, numbers.Integral) and not isinstance(b, bool) for b in batch):
        dtype = backend.int64
    elif all(isinstance(b, numbers.Real) for b in batch):
        dtype = backend.float32
    else:
        raise TypeError("default_collate: a batch of numbers mixes incompatible types "
                        f"{sorted({type(b).__name__ for b in batch})}")
    return Tensor._make(np.array(batch, dtype=dtype))


def _check_positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"DataLoader: {name} must be a positive int, got {value!r}")
    if value <= 0:
        raise ValueError(f"DataLoader: {name} must be a positive int, got {value}")
    return int(value)


class DataLoader:
    """Iterate over `dataset` in mini-batches.

    Args:
        dataset: a map-style dataset (`len(dataset)` and `dataset[i]`).
        batch_size: samples per batch (> 0).
        shuffle: draw a new random order at the start of every epoch (every `iter(loader)`).
        drop_last: drop the last batch when it is smaller than `batch_size`.
        collate_fn: turns a list of samples into a batch (default: `default_collate`). Giving
            one disables the fast batch path, since the function must see the samples.
        seed: seed of this loader's own generator; the sequence of epoch orders is then the same
            on every run. With None the orders come from tg's global generator, which
            `tg.manual_seed` makes reproducible.
        num_workers, pin_memory: accepted so PyTorch code runs unchanged; they have no effect
            (batches are built in this process with array indexing).
    """

    def __init__(self, dataset: Any, batch_size: int = 1, shuffle: bool = False,
                 drop_last: bool = False, collate_fn: Callable[[list], Any] | None = None,
                 seed: int | None = None, *, num_workers: int = 0,
                 pin_memory: bool = False) -> None:
        if not hasattr(dataset, "__len__") or not hasattr(dataset, "__getitem__"):
            raise TypeError(f"DataLoader: dataset must define __len__ and __getitem__, got "
                            f"{type(dataset).__name__}")
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"DataLoader: collate_fn must be callable, got {collate_fn!r}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
            raise TypeError(f"DataLoader: seed must be an int or None, got {seed!r}")
        if isinstance(num_workers, bool) or not isinstance(num_workers, numbers.Integral) \
                or num_workers < 0:
            raise ValueError(f"DataLoader: num_workers must be an int >= 0, got {num_workers!r}")
        self.dataset = dataset
        self.batch_size = _check_positive_int("batch_size", batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.collate_fn = collate_fn
        self.seed = seed
        self.num_workers = int(num_workers)
        self.pin_memory = bool(pin_memory)
        self._generator = None if seed is None else np.random.default_rng(int(seed))

    def __len__(self) -> int:
        """Number of batches in one epoch."""
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _epoch_order(self) -> np.ndarray:
        """This epoch's order of sample indices: a host int64 array (see the module docstring)."""
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n, dtype=np.int64)
        return as_generator(self._generator).permutation(n).astype(np.int64)

    def __iter__(self) -> Iterator[Any]:
        """Start an epoch: the order is drawn now, then batches are built as they are asked for."""
        return self._batches(self._epoch_order())

    def _batches(self, order: np.ndarray) -> Iterator[Any]:
        size = self.batch_size
        stop = len(order) - len(order) % size if self.drop_last else len(order)
        get_batch = getattr(self.dataset, "get_batch", None) if self.collate_fn is None else None
        collate = self.collate_fn or default_collate
        for start in range(0, stop, size):
            indices = order[start:start + size]
            batch = NotImplemented if get_batch is None else get_batch(indices)
            if batch is NotImplemented:
                get_batch = None  # the dataset said no: fetch sample by sample from now on
                batch = collate([self.dataset[int(i)] for i in indices])
            yield batch

    def __repr__(self) -> str:
        return (f"DataLoader(dataset={type(self.dataset).__name__} of {len(self.dataset)}, "
                f"batch_size={self.batch_size}, shuffle={self.shuffle}, "
                f"drop_last={self.drop_last})")
