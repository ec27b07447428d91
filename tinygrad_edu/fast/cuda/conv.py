"""GPU-only variants of the convolution and pooling ops of ops/conv.py: fewer launches.

On a GPU a small convolution costs what its launches cost, not its arithmetic:

* conv2d with groups 1 as ONE plain matrix product over the whole batch,
  (C_out, C_in kH kW) @ (C_in kH kW, N H_out W_out), instead of CuPy's batched product (a
  product per sample, two to three times as dear to launch); its weight gradient likewise.
  (The CPU keeps the batched product: it needs no transposed copies of g and y.)
* the input gradient with stride 1 as a convolution too: of g padded by (k - 1) d - p, with
  the kernel flipped and, in each group, its input and output channels swapped: one gather
  and one product where col2im adds one slice per kernel offset. (Not on the CPU: where
  channels grow, as they do, it gathers a larger matrix than col2im scatters, and a CPU pays
  for the bytes, not the launches.)
* the average-pooling divisor and the adaptive-pooling matrices made once per geometry,
  dtype and GPU (`backend.device_constant`): a host-to-device copy in every step would wait
  for the GPU's queue.

Each returns NotImplemented where it does not apply (the reference runs).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ... import backend
from ...backend import get_array_module
from ...ops.conv import (
    AdaptiveAvgPool2d,
    AvgPool2d,
    Conv2d,
    Conv2dInputGrad,
    Conv2dWeightGrad,
    ConvGeometry,
    PoolGeometry,
    _adaptive_matrix,
    _avg_counts,
    _conv_arrays,
    _pad_array,
    _windows,
    avg_divisor,
)
from ...tensor import Tensor
from .. import register_backward, register_forward


# ---------------------------------------------------------------------------------------------
# conv2d as one matrix product (groups 1)
# ---------------------------------------------------------------------------------------------
def _im2col_matrix(x: Any, geo: ConvGeometry) -> Any:
    """im2col as one (C_in kH kW, N H_out W_out) matrix: rows (C, kH, kW), columns
    (N, H_out, W_out); still one copy of the strided windows."""
    ph, pw = geo.padding
    win = _windows(_pad_array(x, ph, ph, pw, pw), geo.kernel, geo.stride, geo.dilation,
                   geo.out_hw)
    rows = x.shape[1] * geo.kernel[0] * geo.kernel[1]
    return get_array_module(x).ascontiguousarray(win.transpose(1, 2, 3, 0, 4, 5)).reshape(rows,
                                                                                         -1)


def _one_gemm_conv(x: Any, w: Any, geo: ConvGeometry, b: Any = None) -> tuple[Any, Any]:
    """(conv2d of x, w and b for groups 1, the im2col matrix of x): y = W @ cols, moved to
    (N, C_out, L) in the one pass that adds the bias."""
    xp = get_array_module(x)
    n, c_out = x.shape[0], w.shape[0]
    positions = geo.out_hw[0] * geo.out_hw[1]  # (spelled out: n may be 0, an empty batch)
    cols = _im2col_matrix(x, geo)
    out = (w.reshape(c_out, -1) @ cols).reshape(c_out, n, positions).transpose(1, 0, 2)
    out = xp.ascontiguousarray(out) if b is None else xp.add(out, b.reshape(1, -1, 1))
    return out.reshape(n, c_out, geo.out_hw[0], geo.out_hw[1]), cols


def _geometry(x_shape: tuple, w_shape: tuple, stride: int, padding: int,
              groups: int = 1) -> ConvGeometry:
    kernel = (w_shape[2], w_shape[3])
    out_hw = tuple((size + 2 * padding - k) // stride + 1 for size, k in zip(x_shape[2:], kernel))
    return ConvGeometry(kernel, (stride, stride), (padding, padding), (1, 1), groups,
                        tuple(x_shape[2:]), out_hw)


def conv_sample(rng: np.random.Generator) -> tuple:
    """x (2, 3, 6, 5), W (4, 3, 3, 3), b (4,); stride 2, padding 1."""
    x, w = rng.standard_normal((2, 3, 6, 5)), rng.standard_normal((4, 3, 3, 3))
    return [x, w, rng.standard_normal(4)], dict(geo=_geometry(x.shape, w.shape, 2, 1))


def weight_grad_sample(rng: np.random.Generator) -> tuple:
    """x (2, 3, 6, 5) and g (2, 4, 3, 3) of a 3x3 convolution with stride 2, padding 1."""
    geo = _geometry((2, 3, 6, 5), (4, 3, 3, 3), 2, 1)
    return [rng.standard_normal((2, 3, 6, 5)), rng.standard_normal((2, 4) + geo.out_hw)], dict(
        geo=geo, kernel_shape=(4, 3, 3, 3))


def input_grad_sample(rng: np.random.Generator) -> tuple:
    """g (2, 6, 5, 4) and W (6, 2, 3, 3) of a 3x3 convolution in 2 groups, stride 1,
    padding 1, of a (2, 4, 5, 4) input."""
    geo = _geometry((2, 4, 5, 4), (6, 2, 3, 3), 1, 1, groups=2)
    return [rng.standard_normal((2, 6) + geo.out_hw), rng.standard_normal((6, 2, 3, 3))], dict(
        geo=geo)


@register_forward(Conv2d, devices=("cuda",), sample=conv_sample,
                  why="groups 1: one plain matrix product for the batch, not a batched one")
def conv2d_forward(fn: Conv2d, x: Any, w: Any, b: Any = None, *, geo: ConvGeometry) -> Any:
    if geo.groups != 1:
        return NotImplemented
    out, fn.gemm_cols = _one_gemm_conv(x, w, geo, b)
    fn.geo, fn.has_bias = geo, b is not None
    fn.cols = None  # (the reference backward, when a graph of it is recorded, gathers again)
    return out


@register_backward(Conv2d, devices=("cuda",), sample=conv_sample,
                   why="hands the forward's im2col matrix to the weight gradient")
def conv2d_backward(fn: Conv2d, g: Tensor) -> Any:
    cols = getattr(fn, "gemm_cols", None)
    if cols is None:
        return NotImplemented
    x, w = fn.inputs[0], fn.inputs[1]
    need = fn.needs_input_grad
    gx = Conv2dInputGrad.apply(g, w, geo=fn.geo) if need[0] else None
    gw = Conv2dWeightGrad.apply(x, g, geo=fn.geo, kernel_shape=w.shape,
                                cols=cols) if need[1] else None
    if not fn.has_bias:
        return gx, gw
    return gx, gw, (g.sum((0, 2, 3)) if need[2] else None)


@register_forward(Conv2dWeightGrad, devices=("cuda",), sample=weight_grad_sample,
                  why="groups 1: (C_out, N L) @ (N L, K), the batch summed by the product")
def conv2d_weight_grad_forward(fn: Conv2dWeightGrad, x: Any, g: Any, *, geo: ConvGeometry,
                               kernel_shape: tuple, cols: Any = None) -> Any:
    if geo.groups != 1 or (cols is not None and cols.ndim != 2):  # (the reference's layout)
        return NotImplemented
    xp = get_array_module(x)
    fn.geo = geo
    n, c_out = g.shape[:2]
    if cols is None:
        cols = _im2col_matrix(x, geo)
    positions = geo.out_hw[0] * geo.out_hw[1]  # (spelled out: n may be 0, an empty batch)
    g_rows = xp.ascontiguousarray(g.reshape(n, c_out, positions).transpose(1, 0, 2))
    return (g_rows.reshape(c_out, -1) @ cols.T).reshape(kernel_shape)


@register_forward(Conv2dInputGrad, devices=("cuda",), sample=input_grad_sample,
                  why="stride 1: the transposed convolution as a convolution, one gather and "
                      "one product instead of a slice-add per kernel offset")
def conv2d_input_grad_forward(fn: Conv2dInputGrad, g: Any, w: Any, *,
                              geo: ConvGeometry) -> Any:
    padding = tuple((k - 1) * d - p for k, d, p in zip(geo.kernel, geo.dilation, geo.padding))
    # the convolution's output must be exactly the input's size (not so when the geometry
    # came from a transposed convolution with output_padding)
    size = tuple(o + 2 * q - d * (k - 1) for o, q, d, k in zip(geo.out_hw, padding,
                                                               geo.dilation, geo.kernel))
    if geo.stride != (1, 1) or min(padding) < 0 or size != tuple(geo.in_hw):
        return NotImplemented
    fn.geo, fn.kernel_shape = geo, w.shape
    groups, (k_h, k_w) = geo.groups, geo.kernel
    c_out, c_in = w.shape[0], w.shape[1] * groups
    flipped = w.reshape(groups, c_out // groups, c_in // groups, k_h, k_w)[..., ::-1, ::-1]
    flipped = flipped.transpose(0, 2, 1, 3, 4).reshape(c_in, c_out // groups, k_h, k_w)
    transposed = ConvGeometry(geo.kernel, (1, 1), padding, geo.dilation, groups, geo.out_hw,
                              geo.in_hw)
    conv = _one_gemm_conv if groups == 1 else _conv_arrays
    return conv(g, flipped, transposed)[0]


# ---------------------------------------------------------------------------------------------
# pooling constants, made once per geometry, dtype and GPU
# ---------------------------------------------------------------------------------------------
def avg_pool_sample(rng: np.random.Generator) -> tuple:
    """A (2, 2, 7, 5) input, 3x3 windows with stride 2 and padding 1, the padding not
    counted: a divisor that varies."""
    geo = PoolGeometry((3, 3), (2, 2), (1, 1), (1, 1), (7, 5), (4, 3), (0, 0))
    return [rng.standard_normal((2, 2, 7, 5))], dict(geo=geo, count_include_pad=False)


@register_forward(AvgPool2d, devices=("cuda",), sample=avg_pool_sample,
                  why="the divisor array copied to the GPU once per geometry, not every step")
def avg_pool2d_forward(fn: AvgPool2d, x: Any, *, geo: PoolGeometry,
                       count_include_pad: bool = True, divisor_override: int | None = None,
                       divisor: Any = None) -> Any:
    if divisor is not None:
        return NotImplemented
    divisor = avg_divisor(geo, count_include_pad, divisor_override)
    if isinstance(divisor, np.ndarray):
        divisor = backend.device_constant(_avg_counts, (geo, count_include_pad), x.dtype,
                                          backend.device_of(x))
    return fn.forward(x, geo=geo, divisor=divisor)


def adaptive_pool_sample(rng: np.random.Generator) -> tuple:
    """A (2, 2, 7, 5) input pooled to (3, 2): bins that overlap."""
    return [rng.standard_normal((2, 2, 7, 5))], dict(out_hw=(3, 2))


@register_forward(AdaptiveAvgPool2d, devices=("cuda",), sample=adaptive_pool_sample,
                  why="the averaging matrices copied to the GPU once per size, not every step")
def adaptive_avg_pool2d_forward(fn: AdaptiveAvgPool2d, x: Any, *,
                                out_hw: tuple[int, int]) -> Any:
    device = backend.device_of(x)
    (h, w), (out_h, out_w) = x.shape[2:], out_hw
    fn.a_h = backend.device_constant(_adaptive_matrix, (h, out_h), x.dtype, device)
    fn.a_w = backend.device_constant(_adaptive_matrix, (w, out_w), x.dtype, device)
    return fn.a_h @ x @ fn.a_w.T
