"""Reductions over one or more dims (and softmax, which normalises along one).

`dim` is None (all dims), an int or a tuple of ints, negative dims counting from the end.
Backward passes broadcast the output gradient back over the reduced dims.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..autograd import BroadcastTo, Function
from ..backend import get_array_module
from .elementwise import Where, sign_or_zero
from .shape import Flip


def normalize_dims(dim: Any, ndim: int, op: str) -> tuple[int, ...]:
    """Return the reduced axes as a sorted tuple of non-negative ints (all axes for None)."""
    if type(dim) is int and -ndim <= dim < ndim:  # the common case: one dim, in range
        return (dim % ndim,)
    if dim is None:
        return tuple(range(ndim))
    try:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
    except TypeError:
        raise TypeError(f"{op}: dim must be an int or a tuple of ints, got {dim!r}") from None
    result = []
    for d in dims:
        if not isinstance(d, int) or isinstance(d, bool):
            raise TypeError(f"{op}: dim must be an int or a tuple of ints, got {dim!r}")
        lo, hi = (-1, 0) if ndim == 0 else (-ndim, ndim - 1)
        if not lo <= d <= hi:
            raise IndexError(f"{op}: dim {d} is out of range for a tensor with {ndim} "
                             f"dimension(s) (expected to be in [{lo}, {hi}])")
        result.append(d % ndim if ndim else 0)
    if len(set(result)) != len(result):
        raise ValueError(f"{op}: dim {dim!r} names the same dimension twice")
    return tuple(sorted(result)) if ndim else ()


def expand_reduced(g: Any, in_shape: tuple, axes: tuple, keepdim: bool) -> Any:
    """Broadcast the gradient of a reduction back to the input's shape."""
    if not keepdim:
        kept = list(in_shape)
        for a in axes:
            kept[a] = 1
        g = g.reshape(tuple(kept))
    return BroadcastTo.apply(g, shape=in_shape)


def _keepdim_shape(shape: tuple, axes: tuple) -> tuple:
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


class Sum(Function):
    """y = sum of x over `axes`.  dy/dx = 1 for every summed element."""

    saves_inputs = False

    def forward(self, x: Any, axes: tuple, keepdim: bool = False) -> Any:
        self.in_shape, self.axes, self.keepdim = x.shape, axes, keepdim
        return get_array_module(x).asarray(x.sum(axis=axes, keepdims=keepdim))

    def backward(self, g: Any) -> Any:
        return expand_reduced(g, self.in_shape, self.axes, self.keepdim)


class Mean(Function):
    """y = (1/n) sum of x over `axes` (n elements each).  dy/dx = 1/n."""

    saves_inputs = False

    def forward(self, x: Any, axes: tuple, keepdim: bool = False) -> Any:
        self.in_shape, self.axes, self.keepdim = x.shape, axes, keepdim
        self.count = 1
        for a in axes:
            self.count *= x.shape[a]
        xp = get_array_module(x)
        return xp.asarray(x.mean(axis=axes, keepdims=keepdim))

    def backward(self, g: Any) -> Any:
        return expand_reduced(g / float(self.count), self.in_shape, self.axes, self.keepdim)


class Amax(Function):
    """y = max of x over `axes`.  dy/dx = 1/k at the k elements equal to the max, else 0.
    Where the max is NaN no element equals it, and the gradient is NaN (as PyTorch's amax;
    `max()` routes it to the NaNs instead, see Max)."""

    largest = True
    nans_take_gradient = False

    def forward(self, x: Any, axes: tuple, keepdim: bool = False) -> Any:
        self.in_shape, self.axes, self.keepdim = x.shape, axes, keepdim
        xp = get_array_module(x)
        y = x.max(axis=axes, keepdims=True) if self.largest else x.min(axis=axes, keepdims=True)
        hits = x == y
        if self.nans_take_gradient and x.dtype.kind == "f":
            hits |= xp.isnan(x) & xp.isnan(y)
        with np.errstate(invalid="ignore"):  # 0 / 0 where nothing equals a NaN max (amax)
            self.share = (hits / hits.sum(axis=axes, keepdims=True)).astype(x.dtype)
        return xp.asarray(y if keepdim else y.reshape([n for i, n in enumerate(x.shape)
                                                      if i not in axes]))

    def backward(self, g: Any) -> Any:
        g = expand_reduced(g, self.in_shape, self.axes, self.keepdim)
        return g * type(g)._make(self.share)


class Amin(Amax):
    """y = min of x over `axes`.  dy/dx = 1/k at the k elements equal to the min, else 0
    (NaN where the min is NaN, as PyTorch's amin)."""

    largest = False


class Max(Amax):
    """y = max of all of x, as `max()`.  dy/dx = 1/k at the k elements equal to the max, a NaN
    counting as equal to a NaN max: the gradient goes to the NaNs (as PyTorch's max())."""

    nans_take_gradient = True


class Min(Amin):
    """y = min of all of x, as `min()`.  dy/dx = 1/k at the k elements equal to the min (the NaNs
    where the min is NaN, as PyTorch's min())."""

    nans_take_gradient = True


class MaxDim(Function):
    """values = max of x along `dim` (as returned with indices by `max(dim)`).
    dy/dx = 1 at the index that was picked, else 0."""

    largest = True

    def forward(self, x: Any, dim: int, keepdim: bool = False) -> Any:
        xp = get_array_module(x)
        self.in_shape, self.dim, self.keepdim = x.shape, dim, keepdim
        pick = x.argmax(axis=dim) if self.largest else x.argmin(axis=dim)
        self.indices = xp.expand_dims(pick, dim)
        values = xp.take_along_axis(x, self.indices, axis=dim)
        return values if keepdim else values.squeeze(dim)

    def backward(self, g: Any) -> Any:
        xp = get_array_module(g.array)
        onehot = xp.zeros(self.in_shape, dtype=g.dtype)
        xp.put_along_axis(onehot, self.indices, 1, axis=self.dim)
        g = expand_reduced(g, self.in_shape, (self.dim,), self.keepdim)
        return g * type(g)._make(onehot)


class MinDim(MaxDim):
    """values = min of x along `dim`.  dy/dx = 1 at the index that was picked, else 0."""

    largest = False


class Var(Function):
    """y = sum((x - mean)^2) / max(n - correction, 0) over `axes` (n elements each; inf or NaN
    where n - correction <= 0, as PyTorch).  dy/dx = 2 (x - mean) / (n - correction)."""

    def forward(self, x: Any, axes: tuple, correction: float, keepdim: bool = False) -> Any:
        op = type(self).__name__.lower()
        if x.dtype.kind != "f":
            raise RuntimeError(f"{op}: only floating point tensors are supported, got {x.dtype} "
                               "(use .float() first)")
        self.in_shape, self.axes, self.keepdim = x.shape, axes, keepdim
        n = math.prod(x.shape[a] for a in axes)
        self.dof = max(n - correction, 0)
        xp = get_array_module(x)
        with np.errstate(divide="ignore", invalid="ignore"):  # no elements, or dof 0
            centered = x - x.sum(axis=axes, keepdims=True) / n
            return xp.asarray((centered * centered).sum(axis=axes, keepdims=keepdim) / self.dof)

    def backward(self, g: Any) -> Any:
        return self._var_grad(g)

    def _var_grad(self, g: Any) -> Any:
        """dL/dx for dL/dvar = g: g * 2 (x - mean) / (n - correction)."""
        x = self.inputs[0]
        centered = x - x.mean(self.axes, keepdim=True)
        scale = 2.0 / self.dof if self.dof else math.inf
        return expand_reduced(g, self.in_shape, self.axes, self.keepdim) * centered * scale


class Std(Var):
    """y = sqrt(var(x)) over `axes`.  dy/dx = (x - mean) / ((n - correction) y), and 0 where
    y == 0 (a constant group: every x - mean is 0 there; as PyTorch, not 0 / 0 = NaN)."""

    def forward(self, x: Any, axes: tuple, correction: float, keepdim: bool = False) -> Any:
        return get_array_module(x).sqrt(super().forward(x, axes, correction, keepdim))

    def backward(self, g: Any) -> Any:
        y = self.output()
        zero = type(g)._make(y.array == 0)
        safe_y = Where.apply(zero, g.new_ones(()), y)  # no 1 / 0 in the branch not taken
        return self._var_grad(Where.apply(zero, g.new_zeros(()), g / (safe_y * 2.0)))


class Norm(Function):
    """y = (sum |x|^p)^(1/p) over `axes` (a vector norm); p = inf: max |x|; p = -inf: min |x|;
    p = 0: the number of non-zero elements.
    dy/dx = sign(x) |x|^(p-1) y^(1-p): sign(x) for p = 1, x / y for p = 2; for p = +-inf,
    sign(x) / k at the k elements where |x| = y (or NaN); 0 for p = 0. As PyTorch, it is 0
    where the formula gives 0 * inf: at y = 0 for p > 1 (all x are 0), at x = 0 for p < 1."""

    def forward(self, x: Any, p: float, axes: tuple, keepdim: bool = False) -> Any:
        self.in_shape, self.axes, self.keepdim, self.p = x.shape, axes, keepdim, p
        xp = get_array_module(x)
        if (p < 0 or math.isinf(p)) and any(x.shape[a] == 0 for a in axes):
            raise RuntimeError(f"norm: cannot compute the {p:g} norm of a tensor of shape "
                               f"{tuple(x.shape)} over an empty dim: the operation has no "
                               "identity")
        size = xp.abs(x)
        if p == 0:
            y = (x != 0).sum(axis=axes, keepdims=keepdim).astype(x.dtype)
        elif p == 1:
            y = size.sum(axis=axes, keepdims=keepdim)
        elif p == 2:
            y = xp.sqrt((x * x).sum(axis=axes, keepdims=keepdim))
        elif math.isinf(p):
            y = size.max(axis=axes, keepdims=keepdim) if p > 0 else \
                size.min(axis=axes, keepdims=keepdim)
        else:
            with np.errstate(divide="ignore"):  # p < 0 and x = 0: |x|^p = inf, so y = 0
                y = (size ** p).sum(axis=axes, keepdims=keepdim) ** (1.0 / p)
        return xp.asarray(y)

    def backward(self, g: Any) -> Any:
        x, p = self.inputs[0], self.p
        xp = get_array_module(x.array)
        g = expand_reduced(g, self.in_shape, self.axes, self.keepdim)
        if p == 0:  # a count: piecewise constant
            return type(g)._make(xp.zeros(self.in_shape, dtype=g.dtype))
        sign = type(g)._make(sign_or_zero(x.array, g.dtype))
        if p == 1:
            return g * sign
        y = expand_reduced(self.output(), self.in_shape, self.axes, self.keepdim)
        if math.isinf(p):  # like amax / amin of |x|, NaNs counting as the extreme value
            size = xp.abs(x.array)
            hits = (size == y.array) | xp.isnan(size)
            share = (hits / hits.sum(axis=self.axes, keepdims=True)).astype(g.dtype)
            return g * sign * type(g)._make(share)
        one = g.new_ones(())
        if p > 1:  # y^(1 - p) is inf at y = 0, where every x is 0
            y = Where.apply(type(g)._make(y.array == 0), one, y)
            if p == 2:
                return g * x / y
            return g * sign * x.abs() ** (p - 1) * y ** (1 - p)
        # p < 1: |x|^(p - 1) is inf at x = 0, where sign(x) = 0
        size = Where.apply(type(g)._make(x.array == 0), one, x.abs())
        return g * sign * size ** (p - 1) * y ** (1 - p)


class Prod(Function):
    """y = product of x over `axes`.  dy/dx_i = product of the other elements
    (= y / x_i where x_i != 0; computed directly where x_i == 0)."""

    def forward(self, x: Any, axes: tuple, keepdim: bool = False) -> Any:
        self.in_shape, self.axes, self.keepdim = x.shape, axes, keepdim
        xp = get_array_module(x)
        return xp.asarray(x.prod(axis=axes, keepdims=keepdim))

    def backward(self, g: Any) -> Any:
        (x,) = self.inputs
        y = expand_reduced(self.output(), self.in_shape, self.axes, self.keepdim)
        g = expand_reduced(g, self.in_shape, self.axes, self.keepdim)
        if not (x.array == 0).any():
            return g * y / x
        return g * type(g)._make(self._others_product(x.array))

    def _others_product(self, x: Any) -> Any:
        """Product of all other elements of each reduced group, without dividing (zeros-safe)."""
        xp = get_array_module(x)
        moved = xp.moveaxis(x, self.axes, tuple(range(-len(self.axes), 0)))
        flat = moved.reshape(moved.shape[:moved.ndim - len(self.axes)] + (-1,))
        ones = xp.ones(flat.shape[:-1] + (1,), dtype=x.dtype)
        left = xp.cumprod(xp.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
        right = xp.cumprod(xp.concatenate([ones, flat[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
        others = (left * right).reshape(moved.shape)
        return xp.moveaxis(others, tuple(range(-len(self.axes), 0)), self.axes)


class Softmax(Function):
    """y = exp(x - max) / sum(exp(x - max)) along `dim`.  dL/dx = y * (g - sum(g * y))."""

    def forward(self, x: Any, dim: int) -> Any:
        self.dim, xp = dim, get_array_module(x)
        if x.shape[dim] == 0:  # nothing to normalise (max has no identity): an empty result
            return x.copy()
        e = xp.exp(x - x.max(axis=dim, keepdims=True))
        e /= e.sum(axis=dim, keepdims=True)
        return e

    def backward(self, g: Any) -> Any:
        y = self.output()
        return y * (g - (g * y).sum(self.dim, keepdim=True))


class LogSoftmax(Function):
    """y = x - max - log(sum(exp(x - max))) along `dim` (finite for huge logits).
    dL/dx = g - softmax(x) * sum(g)."""

    def forward(self, x: Any, dim: int) -> Any:
        self.dim = dim
        if x.shape[dim] == 0:  # (as Softmax)
            return x.copy()
        xp = get_array_module(x)
        shifted = x - x.max(axis=dim, keepdims=True)
        return shifted - xp.log(xp.exp(shifted).sum(axis=dim, keepdims=True))

    def backward(self, g: Any) -> Any:
        return g - self.output().exp() * g.sum(self.dim, keepdim=True)


class Cumsum(Function):
    """y_i = x_0 + x_1 + ... + x_i along `dim`.
    dL/dx_j = sum over i >= j of g_i: the cumulative sum of g taken from the end, i.e.
    flip(cumsum(flip(g)))."""

    saves_inputs = False

    def forward(self, x: Any, dim: int) -> Any:
        self.dim = dim
        xp = get_array_module(x)
        return xp.cumsum(x, axis=dim, dtype=x.dtype)

    def backward(self, g: Any) -> Any:
        flipped = Flip.apply(g, dims=(self.dim,))
        return Flip.apply(Cumsum.apply(flipped, dim=self.dim), dims=(self.dim,))
