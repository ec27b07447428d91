"""Array-level backward passes of the activations every training step runs (ops/elementwise.py).

While no graph of the backward pass is recorded (the usual `loss.backward()`), the derivative
need not be differentiable: each of these computes its op's formula straight on the arrays,
one expression instead of several Tensor ops (and no graph nodes). They work on any `xp`
array, so they are registered for "cpu" and "cuda" (on a GPU, after the fused kernels of
fast/cuda/ops.py, where none applies); the max-pooling forward is NumPy's alone."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...backend import get_array_module
from ...ops.conv import MaxPool2d, _col2im_slices, _pool_geometry
from ...ops.elementwise import Exp, Relu, Sigmoid, Tanh
from .. import register_backward, register_forward


def _const(like: Any, array: Any) -> Any:
    """Wrap a raw array as a constant Tensor (no grad)."""
    return type(like)._make(array)


def activation_sample(rng: np.random.Generator) -> tuple:
    """A (4, 5) float64 input with a zero and values of both signs."""
    x = rng.standard_normal((4, 5)) * 3
    x[0, 0] = 0.0
    return [x], {}


@register_backward(Exp, sample=activation_sample,
                   why="dL/dx = g * y on the arrays: no graph nodes")
def exp_backward(fn: Exp, g: Any) -> Any:
    return _const(g, g.array * fn.output().array)


@register_backward(Tanh, sample=activation_sample,
                   why="dL/dx = g (1 - y^2) on the arrays: no graph nodes")
def tanh_backward(fn: Any, g: Any) -> Any:
    """dL/dx = g (1 - y^2) on the arrays."""
    y = fn.output().array
    return _const(g, g.array * (1 - y * y))


@register_backward(Sigmoid, sample=activation_sample,
                   why="dL/dx = g y (1 - y) on the arrays: no graph nodes")
def sigmoid_backward(fn: Any, g: Any) -> Any:
    """dL/dx = g y (1 - y) on the arrays."""
    y = fn.output().array
    return _const(g, g.array * y * (1 - y))


@register_backward(Relu, sample=activation_sample,
                   why="g masked on the arrays: no graph nodes, no float mask")
def relu_backward(fn: Any, g: Any) -> Any:
    """dL/dx = g where x > 0 (or NaN), else 0, on the arrays."""
    x = fn.inputs[0].array
    return _const(g, g.array * ~(x <= 0))


# ---------------------------------------------------------------------------------------------
# max pooling (ops/conv.py)
# ---------------------------------------------------------------------------------------------
def max_pool_sample(rng: np.random.Generator) -> tuple:
    """A (2, 3, 6, 6) float64 input with a tie and a NaN-free range, pooled 3x3, stride 2,
    padding 1 (overlapping windows)."""
    from ...tensor import Tensor  # noqa: PLC0415 - fast is imported by tensor's package

    x = rng.standard_normal((2, 3, 6, 6))
    x[0, 0, 0, 1] = x[0, 0, 0, 0]
    geo = _pool_geometry(Tensor._make(x), 3, 2, 1, 1, False, "max_pool2d")
    return [x], {"geo": geo}


@register_forward(MaxPool2d, devices=("cpu",), sample=max_pool_sample,
                  why="an arithmetic select per offset (much faster than where()) and an "
                      "int8 index")
def max_pool2d_forward(fn: Any, x: Any, *, geo: Any) -> Any:
    """MaxPool2d.forward with NumPy: an arithmetic select per offset (much faster than
    where()) and an int8 index; the NaN-aware reference only where the output holds a NaN."""
    win = geo.padded_windows(x, -np.inf)
    offsets = geo.kernel[0] * geo.kernel[1]
    out = win[:, :, 0, 0].copy()
    index = np.zeros(out.shape, dtype=np.int8 if offsets < 128 else np.int64)
    for k in range(1, offsets):
        candidate = win[:, :, k // geo.kernel[1], k % geo.kernel[1]]
        better = candidate > out  # strictly greater: ties keep the first maximum
        np.maximum(out, candidate, out=out)  # (propagates NaN)
        index += better * (k - index)
    if offsets > 1 and bool(np.isnan(out).any()):
        return NotImplemented  # the reference picks NaNs as PyTorch does
    fn.geo, fn.in_shape, fn.index = geo, x.shape, index
    return out


def windows_tile(geo: Any, in_shape: tuple) -> bool:
    """Whether every input pixel lies in exactly one pooling window."""
    return (geo.kernel == geo.stride and geo.padding == (0, 0) and geo.dilation == (1, 1)
            and all(o * k == size for o, k, size in zip(geo.out_hw, geo.kernel, in_shape[2:])))


def windows_overlap(geo: Any) -> bool:
    return any(s < (k - 1) * d + 1 for s, k, d in zip(geo.stride, geo.kernel, geo.dilation))


@register_backward(MaxPool2d, sample=max_pool_sample,
                   why="no node, no zeroing where windows tile")
def max_pool2d_backward(fn: Any, g: Any) -> Any:
    """dL/dx of MaxPool2d on the arrays (MaxPool2dBackward's scatter without its node), not
    zeroing what the windows write and, where windows do not overlap, writing each offset's
    share in place instead of adding it."""
    geo, index, in_shape = fn.geo, fn.index, fn.in_shape
    g_array = g.array
    xp = get_array_module(g_array)
    overlap = windows_overlap(geo)
    tiles = windows_tile(geo, in_shape)
    out = xp.empty(in_shape, dtype=g.dtype) if tiles else xp.zeros(in_shape, dtype=g.dtype)
    for kh, kw, target, source in _col2im_slices(in_shape[2:], g_array.shape[2:], geo.kernel,
                                                 geo.stride, geo.padding, geo.dilation):
        view = out[target]
        picked = index[source] == kh * geo.kernel[1] + kw
        if overlap:
            view += picked * g_array[source]
        else:
            xp.multiply(picked, g_array[source], out=view)
    return _const(g, out)
