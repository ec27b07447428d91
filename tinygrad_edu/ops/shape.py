"""Shape and indexing ops: they move elements around without changing them, so each
backward moves the gradient back (reshape back, permute back, scatter back, slice back)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from ..autograd import Function
from ..backend import get_array_module


class Reshape(Function):
    """y = x with shape `shape` (same elements in row-major order).  dL/dx = reshape(g, x.shape)."""

    saves_inputs = False

    def forward(self, x: Any, shape: tuple) -> Any:
        self.in_shape = x.shape
        y = x.reshape(shape)
        if get_array_module(x).may_share_memory(x, y):  # a view (a reshape may have to copy)
            self.view_step = ("reshape", shape)
        return y

    def backward(self, g: Any) -> Any:
        return Reshape.apply(g, shape=self.in_shape)


class Permute(Function):
    """y = x with its axes reordered: y.shape[i] = x.shape[axes[i]].
    dL/dx = g permuted by the inverse permutation."""

    saves_inputs = False

    def forward(self, x: Any, axes: tuple) -> Any:
        self.axes = axes
        self.view_step = ("transpose", axes)
        return x.transpose(axes)

    def backward(self, g: Any) -> Any:
        return Permute.apply(g, axes=tuple(np.argsort(self.axes).tolist()))


def broadcasts_to(shape: tuple, target: tuple) -> bool:
    """Whether an array of `shape` can be broadcast to exactly `target`."""
    try:
        return np.broadcast_shapes(shape, target) == tuple(target)
    except ValueError:
        return False


def _is_basic(index: tuple) -> bool:
    """True when the index holds only ints, slices, None and Ellipsis (no element repeats)."""
    return all(i is None or i is Ellipsis or isinstance(i, (int, slice)) for i in index)


class GetItem(Function):
    """y = x[index].  dL/dx = zeros like x with g added at `index` (repeated indices add up)."""

    saves_inputs = False

    def forward(self, x: Any, index: tuple) -> Any:
        self.in_shape, self.index = x.shape, index
        y = x[index]
        if _is_basic(index) and get_array_module(x).may_share_memory(x, y):  # a view (advanced
            self.view_step = ("getitem", index)  # indexing copies, and so may a 0-d NumPy result)
        return y

    def backward(self, g: Any) -> Any:
        return IndexAdd.apply(g, shape=self.in_shape, index=self.index)


class IndexAdd(Function):
    """y = zeros(shape) with x added at `index` (the backward of getitem).  dL/dx = g[index]."""

    saves_inputs = False

    def forward(self, x: Any, shape: tuple, index: tuple) -> Any:
        self.index = index
        xp = get_array_module(x)
        out = xp.zeros(shape, dtype=x.dtype)
        if _is_basic(index):
            out[index] = x
        else:
            backend.scatter_add(out, index, x)
        return out

    def backward(self, g: Any) -> Any:
        return GetItem.apply(g, index=self.index)


class SetItem(Function):
    """y = x with y[index] = v: the op behind `t[index] = v` and the other in-place ops
    (PyTorch's CopySlices). It writes v into x's memory, so y is x's array, changed.
    dL/dx = g with g[index] = 0 (those elements were overwritten); dL/dv = g[index] (summed
    back to v's shape by the engine)."""

    saves_inputs = False

    def forward(self, x: Any, v: Any, index: tuple) -> Any:
        self.index = index
        target = x[index].shape
        if not broadcasts_to(v.shape, target):
            raise RuntimeError(f"setitem: shape mismatch: value tensor of shape {v.shape} cannot "
                               f"be broadcast to indexing result of shape {target}")
        x[index] = v
        return x

    def backward(self, g: Any) -> tuple:
        gx = gv = None
        if self.needs_input_grad[0]:
            gx = SetItem.apply(g.clone(), g.new_zeros(()), index=self.index)
        if self.needs_input_grad[1]:
            gv = GetItem.apply(g, index=self.index)
        return gx, gv


class Cat(Function):
    """y = the inputs joined along `dim`.  dL/dx_k = the slice of g that x_k occupies."""

    saves_inputs = False

    def forward(self, *xs: Any, dim: int) -> Any:
        self.dim = dim
        self.bounds = np.cumsum([0] + [x.shape[dim] for x in xs]).tolist()
        return get_array_module(xs[0]).concatenate(xs, axis=dim)

    def backward(self, g: Any) -> tuple:
        lead = (slice(None),) * self.dim
        return tuple(GetItem.apply(g, index=lead + (slice(lo, hi),)) if need else None
                     for lo, hi, need in zip(self.bounds[:-1], self.bounds[1:],
                                             self.needs_input_grad))


class Pad(Function):
    """y = x surrounded by `value` (widths per axis as ((before, after), ...)).
    dL/dx = g with the padding sliced off."""

    saves_inputs = False

    def forward(self, x: Any, widths: tuple, value: float = 0.0) -> Any:
        self.index = tuple(slice(lo, lo + n) for (lo, _), n in zip(widths, x.shape))
        return get_array_module(x).pad(x, widths, mode="constant", constant_values=value)

    def backward(self, g: Any) -> Any:
        return GetItem.apply(g, index=self.index)


class Flip(Function):
    """y = x with the order of its elements reversed along `dims`.
    dL/dx = g flipped back along the same dims (flipping twice is the identity)."""

    saves_inputs = False

    def forward(self, x: Any, dims: tuple) -> Any:
        self.dims = dims
        xp = get_array_module(x)
        return xp.flip(x, axis=dims).copy()  # (a copy of its own, as PyTorch's flip)

    def backward(self, g: Any) -> Any:
        return Flip.apply(g, dims=self.dims)
