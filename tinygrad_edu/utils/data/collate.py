"""Collating: turning a list of samples into one batch, as PyTorch's `default_collate` does.

    default_collate([(x0, 0), (x1, 1), (x2, 2)])   # -> [stack([x0, x1, x2]), tensor([0, 1, 2])]

The batch has the structure of one sample, with a new first dimension of size B in every
Tensor: tensors and NumPy arrays are stacked, Python ints become an int64 tensor, floats a
float64 one (as in PyTorch: call `.float()` for float32), bools a bool tensor, strings stay as
they are, and dicts, tuples, lists and namedtuples are collated field by field (a tuple sample
gives a list batch, as in PyTorch).
"""

from __future__ import annotations

import copy
import numbers
from collections.abc import Mapping, MutableMapping, MutableSequence, Sequence
from typing import Any

import numpy as np

from ... import backend
from ...tensor import Tensor

_UNKNOWN_TYPE = ("default_collate: batch must contain tensors, numpy arrays, numbers, dicts or "
                 "lists; found {}")


def _stack(arrays: list, what: str) -> Any:
    shapes = [tuple(a.shape) for a in arrays]
    for position, shape in enumerate(shapes):
        if shape != shapes[0]:
            raise RuntimeError(f"default_collate: stack expects each {what} to be equal size, "
                               f"but got {list(shapes[0])} at entry 0 and {list(shape)} at "
                               f"entry {position}; make the samples the same shape (e.g. with "
                               "a transform) or pass your own collate_fn")
    return backend.get_array_module(arrays[0]).stack(arrays)


def _checked_dtype(array: np.ndarray) -> np.ndarray:
    if array.dtype not in backend.SUPPORTED_DTYPES:
        if array.dtype.kind in "USO":  # strings and Python objects, as PyTorch says
            raise TypeError(_UNKNOWN_TYPE.format(array.dtype))
        names = ", ".join(str(d) for d in backend.SUPPORTED_DTYPES)
        raise TypeError(f"default_collate: samples of dtype {array.dtype} are not supported; "
                        f"convert them to one of {names}")
    return array


def _collate_tensors(batch: Sequence[Any]) -> Tensor:
    for position, sample in enumerate(batch):
        if not isinstance(sample, Tensor):
            raise TypeError(f"default_collate: expected Tensor as element {position} of the "
                            f"batch, but got {type(sample).__name__}")
    devices = {str(sample.device) for sample in batch}
    if len(devices) > 1:
        raise RuntimeError(f"default_collate: samples are on different devices "
                           f"{sorted(devices)}")
    with backend.device_scope(batch[0].array):
        return Tensor._make(_stack([sample.array for sample in batch], "tensor"))


def _collate_numbers(batch: Sequence[Any]) -> Tensor:
    """Python numbers: the dtype `torch.tensor(batch)` would give for ints and bools, float64
    for floats (PyTorch's collate_float_fn)."""
    first = batch[0]
    if isinstance(first, float):
        dtype = backend.float64
    elif all(isinstance(b, bool) for b in batch):
        dtype = backend.bool_
    elif all(isinstance(b, numbers.Integral) for b in batch):
        dtype = backend.int64
    elif all(isinstance(b, numbers.Real) for b in batch):
        dtype = backend.float32  # ints mixed with floats: torch.tensor's default float dtype
    else:
        raise TypeError("default_collate: a batch of numbers mixes incompatible types "
                        f"{sorted({type(b).__name__ for b in batch})}")
    return Tensor._make(np.array(batch, dtype=dtype))


def default_collate(batch: Sequence[Any]) -> Any:
    """Stack a list of samples into a batch, following the structure of the samples.

    - Tensors and NumPy arrays of equal shape -> one Tensor with a new first dimension (B, ...),
      keeping their dtype (and, for Tensors, their device);
    - Python ints -> int64 Tensor (B,); floats -> float64 (B,); bools -> bool (B,);
      NumPy scalars keep their dtype;
    - strings -> the strings as they are (a list; a tuple, where they are fields of tuples);
    - dicts, namedtuples and lists -> the same container, collated field by field;
      tuples -> a list: `[(x0, y0), (x1, y1)]` -> `[stack([x0, x1]), stack([y0, y1])]`.
    """
    if len(batch) == 0:
        raise IndexError("default_collate: cannot collate an empty batch (no samples)")
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _collate_tensors(batch)
    if isinstance(elem, np.ndarray):
        arrays = [np.asarray(sample) for sample in batch]
        return Tensor._make(_checked_dtype(_stack(arrays, "array")))
    if isinstance(elem, np.generic) and not isinstance(elem, (np.str_, np.bytes_)):
        return Tensor._make(_checked_dtype(np.array(batch)))
    if isinstance(elem, numbers.Number):
        return _collate_numbers(batch)
    if isinstance(elem, (str, bytes)):
        return batch  # the strings as they came (a list, or a tuple inside a tuple sample)
    if isinstance(elem, Mapping):
        collated = {key: default_collate([sample[key] for sample in batch]) for key in elem}
        if isinstance(elem, MutableMapping):
            clone = copy.copy(elem)  # keeps the mapping's type (an OrderedDict, ...)
            clone.update(collated)
            return clone
        return collated
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(group) for group in zip(*batch)))
    if isinstance(elem, Sequence):
        size = len(elem)
        if any(len(sample) != size for sample in batch):
            raise RuntimeError(f"default_collate: each element in list of batch should be of "
                               f"equal size, got sizes {sorted({len(s) for s in batch})}")
        return [default_collate(group) for group in zip(*batch)]
    raise TypeError(_UNKNOWN_TYPE.format(type(elem)))


def default_convert(data: Any) -> Any:
    """What the DataLoader does to each sample when batching is off (`batch_size=None`): NumPy
    arrays and scalars become Tensors (inside dicts, lists and tuples too); the rest is left as
    it is."""
    if isinstance(data, Tensor):
        return data
    if isinstance(data, np.ndarray):
        return data if data.dtype.kind in "USO" else Tensor._make(_checked_dtype(data))
    if isinstance(data, np.generic) and not isinstance(data, (np.str_, np.bytes_)):
        return Tensor._make(_checked_dtype(np.asarray(data)))
    if isinstance(data, Mapping):
        converted = {key: default_convert(value) for key, value in data.items()}
        if isinstance(data, MutableMapping):
            clone = copy.copy(data)
            clone.update(converted)
            return clone
        return converted
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, MutableSequence):
        return [default_convert(d) for d in data]
    return data
