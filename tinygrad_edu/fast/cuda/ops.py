"""Fused CuPy kernels for the ops of ops/ (see backend.ElementwiseKernel): one launch where
the reference makes several. On a small model a GPU step is bound by how many kernels Python
launches, not by arithmetic.

Each override applies to CuPy arrays of float32 or float64 (the kernels' type T, all inputs
of the same dtype, as CuPy demands) while TINYGRAD_EDU_CUDA_KERNELS is not 0 (read once, at
import). Elsewhere a backward falls back to the array-level version of fast/cpu/ops.py (the
registry holds one override per op) and a forward returns NotImplemented (the reference)."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from ... import backend
from ...backend import ElementwiseKernel, get_array_module
from ...ops.conv import MaxPool2d, _col2im_slices
from ...ops.elementwise import Relu, Sigmoid, Tanh
from .. import register_backward, register_forward, runtime
from ..cpu import ops as cpu_ops


def fused(array: Any, *same_type: Any) -> bool:
    """Whether a kernel applies: CuPy arrays, all float32 or all float64, kernels enabled."""
    return (runtime.CUDA_KERNELS and type(array) is not np.ndarray
            and array.dtype in (np.float32, np.float64)
            and get_array_module(array) is not np
            and all(other.dtype == array.dtype for other in same_type))


def _const(like: Any, array: Any) -> Any:
    return type(like)._make(array)


# ---------------------------------------------------------------------------------------------
# activations (ops/elementwise.py)
# ---------------------------------------------------------------------------------------------
_TANH = ElementwiseKernel("T x", "T y", "y = tanh(x)", "tinygrad_edu_tanh")
_TANH_GRAD = ElementwiseKernel("T g, T y", "T grad", "grad = g * (1 - y * y)",
                               "tinygrad_edu_tanh_grad")
_SIGMOID = ElementwiseKernel(  # Sigmoid.forward's formula, see there
    "T x", "T y", "T z = exp(-fabs(x)); y = (x < 0 ? z : 1) / (1 + z)",
    "tinygrad_edu_sigmoid")
_SIGMOID_GRAD = ElementwiseKernel("T g, T y", "T grad", "grad = g * y * (1 - y)",
                                  "tinygrad_edu_sigmoid_grad")
_RELU_GRAD = ElementwiseKernel("T g, T x", "T grad", "grad = x <= 0 ? 0 : g",
                               "tinygrad_edu_relu_grad")  # (NaN passes g, as PyTorch)


@register_forward(Tanh, devices=("cuda",), sample=cpu_ops.activation_sample,
                  why="one kernel, cheaper to launch than cupy.tanh (W3 on an H100: 52 -> 42 "
                      "us per op)")
def tanh_forward(fn: Tanh, x: Any) -> Any:
    return _TANH(x) if fused(x) else NotImplemented


@register_forward(Sigmoid, devices=("cuda",), sample=cpu_ops.activation_sample,
                  why="one kernel instead of five array ops")
def sigmoid_forward(fn: Sigmoid, x: Any) -> Any:
    return _SIGMOID(x) if fused(x) else NotImplemented


@register_backward(Tanh, devices=("cuda",), sample=cpu_ops.activation_sample,
                   why="g (1 - y^2) in one kernel")
def tanh_backward(fn: Tanh, g: Any) -> Any:
    y = fn.output().array
    if fused(y, g.array):
        return _const(g, _TANH_GRAD(g.array, y))
    return NotImplemented


@register_backward(Sigmoid, devices=("cuda",), sample=cpu_ops.activation_sample,
                   why="g y (1 - y) in one kernel")
def sigmoid_backward(fn: Sigmoid, g: Any) -> Any:
    y = fn.output().array
    if fused(y, g.array):
        return _const(g, _SIGMOID_GRAD(g.array, y))
    return NotImplemented


@register_backward(Relu, devices=("cuda",), sample=cpu_ops.activation_sample,
                   why="g masked in one kernel: no float mask")
def relu_backward(fn: Relu, g: Any) -> Any:
    x = fn.inputs[0].array
    if fused(x, g.array):
        return _const(g, _RELU_GRAD(g.array, x))
    return NotImplemented


# ---------------------------------------------------------------------------------------------
# max pooling (ops/conv.py): a NaN counts as the maximum and ties keep the first offset, as in
# PyTorch
# ---------------------------------------------------------------------------------------------
_MAX_POOL_STEP = ElementwiseKernel(
    "T candidate, int64 k", "T best, int64 index",
    "bool better = candidate > best || isnan(candidate);"
    "index = better ? k : index;"
    "best = better ? candidate : best",
    "tinygrad_edu_max_pool_step")
_MAX_WINDOW_INPUTS = 16  # windows up to 4x4 in one kernel, each offset a strided input


@functools.lru_cache(maxsize=None)
def _max_pool_window(offsets: int) -> ElementwiseKernel:
    """One kernel for whole windows of `offsets` positions (inputs x0, x1, ...: one strided
    view of the input per offset): each window's maximum and the offset that holds it."""
    steps = [f"{'bool ' if k == 1 else ''}better = x{k} > best || isnan(x{k});"
             f"index = better ? {k} : index;"
             f"best = better ? x{k} : best" for k in range(1, offsets)]
    return ElementwiseKernel(", ".join(f"T x{k}" for k in range(offsets)),
                             "T best, int64 index",
                             ";".join(["best = x0", "index = 0"] + steps),
                             f"tinygrad_edu_max_pool_{offsets}")


for _offsets in (4, 9):  # 2x2 and 3x3 made at import, so that the kernel tests compile them
    _max_pool_window(_offsets)
_MAX_POOL_PUT_BACK = ElementwiseKernel(
    "int64 index, T g, int64 k", "T out", "out = index == k ? g : 0",
    "tinygrad_edu_max_pool_put_back")
_MAX_POOL_ADD_BACK = ElementwiseKernel(
    "int64 index, T g, int64 k", "T out", "out = index == k ? out + g : out",
    "tinygrad_edu_max_pool_add_back")


@register_forward(MaxPool2d, devices=("cuda",), sample=cpu_ops.max_pool_sample,
                  why="one kernel for the whole window (up to 4x4) instead of 4 ops per "
                      "offset")
def max_pool2d_forward(fn: MaxPool2d, x: Any, *, geo: Any) -> Any:
    if not fused(x):
        return NotImplemented
    xp = get_array_module(x)
    win = geo.padded_windows(x, -np.inf)
    k_w = geo.kernel[1]
    offsets = geo.kernel[0] * k_w
    if offsets <= _MAX_WINDOW_INPUTS:
        best = xp.empty(win.shape[:2] + win.shape[4:], dtype=win.dtype)
        index = xp.empty(best.shape, dtype=np.int64)
        _max_pool_window(offsets)(*(win[:, :, k // k_w, k % k_w] for k in range(offsets)),
                                  best, index)
    else:
        best = win[:, :, 0, 0].copy()
        index = xp.zeros(best.shape, dtype=np.int64)
        for k in range(1, offsets):
            _MAX_POOL_STEP(win[:, :, k // k_w, k % k_w], k, best, index)
    fn.geo, fn.in_shape, fn.index = geo, x.shape, index
    return best


def _window_offsets(k_h: int, k_w: int) -> np.ndarray:
    """kh * kW + kw at (1, 1, 1, kh, 1, kw): the offset of each pixel in its window."""
    return np.arange(k_h * k_w).reshape(1, 1, 1, k_h, 1, k_w)


@register_backward(MaxPool2d, devices=("cuda",), sample=cpu_ops.max_pool_sample,
                   why="one kernel for windows that tile the input, else one per offset")
def max_pool2d_backward(fn: MaxPool2d, g: Any) -> Any:
    geo, index, in_shape = fn.geo, fn.index, fn.in_shape
    g_array = g.array
    if not fused(g_array) or index.dtype != np.int64:
        return NotImplemented
    xp = get_array_module(g_array)
    overlap = cpu_ops.windows_overlap(geo)
    if cpu_ops.windows_tile(geo, in_shape):  # each input pixel in one window: one kernel
        out = xp.empty(in_shape, dtype=g.dtype)
        (n, c), (o_h, o_w), (k_h, k_w) = in_shape[:2], geo.out_hw, geo.kernel
        tiled = out.reshape(n, c, o_h, k_h, o_w, k_w)  # a view: (window, offset in it)
        offsets = backend.device_constant(_window_offsets, geo.kernel, index.dtype,
                                          backend.device_of(g_array))
        _MAX_POOL_PUT_BACK(index.reshape(n, c, o_h, 1, o_w, 1),
                           g_array.reshape(n, c, o_h, 1, o_w, 1), offsets, tiled)
        return _const(g, out)
    out = xp.zeros(in_shape, dtype=g.dtype)
    for kh, kw, target, source in _col2im_slices(in_shape[2:], g_array.shape[2:], geo.kernel,
                                                 geo.stride, geo.padding, geo.dilation):
        kernel = _MAX_POOL_ADD_BACK if overlap else _MAX_POOL_PUT_BACK
        kernel(index[source], g_array[source], kh * geo.kernel[1] + kw, out[target])
    return _const(g, out)
