"""Reductions over one or more dims (and softmax, which normalises along one).

`dim` is None (all dims), an int or a tuple of ints, negative dims counting from the end.
Backward passes broadcast the output gradient back over the reduced dims.
"""

from __future__ import annotations

from typing import Any

from ..autograd import BroadcastTo, Function
from ..backend import get_array_module


def normalize_dims(dim: Any, ndim: int, op: str) -> tuple[int, ...]:
    """Return the reduced axes as a sorted tuple of non-negative ints (all axes for None)."""
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
        xp = get_array_module(x)
        return xp.asarray(x.sum(axis=axes, keepdims=keepdim))

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
    """y = max of x over `axes`.  dy/dx = 1/k at the k elements equal to the max, else 0."""

    largest = True

    def forward(self, x: Any, axes: tuple, keepdim: bool = False) -> Any:
        self.in_shape, self.axes, self.keepdim = x.shape, axes, keepdim
        xp = get_array_module(x)
        y = x.max(axis=axes, keepdims=True) if self.largest else x.min(axis=axes, keepdims=True)
        hits = x == y
        self.share = (hits / hits.sum(axis=axes, keepdims=True)).astype(x.dtype)
        return xp.asarray(y if keepdim else y.reshape([n for i, n in enumerate(x.shape)
                                                      if i not in axes]))

    def backward(self, g: Any) -> Any:
        g = expand_reduced(g, self.in_shape, self.axes, self.keepdim)
        return g * type(g)._make(self.share)


class Amin(Amax):
    """y = min of x over `axes`.  dy/dx = 1/k at the k elements equal to the min, else 0."""

    largest = False


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
        xp = get_array_module(g.data)
        onehot = xp.zeros(self.in_shape, dtype=g.dtype)
        xp.put_along_axis(onehot, self.indices, 1, axis=self.dim)
        g = expand_reduced(g, self.in_shape, (self.dim,), self.keepdim)
        return g * type(g)._make(onehot)


class MinDim(MaxDim):
    """values = min of x along `dim`.  dy/dx = 1 at the index that was picked, else 0."""

    largest = False


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
        if not (x.data == 0).any():
            return g * y / x
        return g * type(g)._make(self._others_product(x.data))

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
        self.dim = dim
        xp = get_array_module(x)
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
        xp = get_array_module(x)
        shifted = x - x.max(axis=dim, keepdims=True)
        return shifted - xp.log(xp.exp(shifted).sum(axis=dim, keepdims=True))

    def backward(self, g: Any) -> Any:
        return g - self.output().exp() * g.sum(self.dim, keepdim=True)
