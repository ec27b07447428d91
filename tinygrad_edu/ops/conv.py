"""2-D convolution and pooling on NCHW tensors, built on im2col / col2im.

im2col
    For every output pixel (i, j), the kH x kW patch of the (zero-padded) input that the
    kernel sees is one column. A strided *view* of the padded input,

        windows[n, c, kh, kw, i, j] = x_pad[n, c, i*sH + kh*dH, j*sW + kw*dW],

    lists them all without copying (`as_strided`); one copy turns it into the matrix
    `cols` of shape (N, groups, C_in/groups * kH * kW, H_out * W_out), and the whole
    convolution is ONE (batched) matrix product:  y = W @ cols  (+ bias).

col2im
    The adjoint of im2col: every column entry is added back to the input pixel it came
    from. Patches overlap, so the sum is done with one vectorised slice-add per kernel
    offset (kH * kW iterations), never a loop over pixels or batch items.

Derivatives of y = conv(x, W) (which is linear in x and in W):
    dL/dx = col2im(W^T @ g)          "the transposed convolution"   (Conv2dInputGrad)
    dL/dW = sum_n g[n] @ cols[n]^T                                   (Conv2dWeightGrad)
    dL/db = sum of g over N, H_out, W_out
The three Functions Conv2d, Conv2dInputGrad and Conv2dWeightGrad are each other's
derivatives (all are bilinear), so gradients of any order are exact.

Pooling uses the same strided windows: max pooling keeps the index of the first maximum
of each window (as PyTorch) and routes the gradient there; average pooling spreads
g / divisor over the window with col2im.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np

from .. import backend
from ..autograd import Function
from ..backend import get_array_module
from .shape import Pad

if TYPE_CHECKING:
    from ..tensor import Tensor


# ---------------------------------------------------------------------------------------------
# argument handling
# ---------------------------------------------------------------------------------------------
def _pair(value: Any, name: str, op: str, minimum: int = 0) -> tuple[int, int]:
    """An int or a pair of ints as a pair: 3 -> (3, 3); (1, 2) -> (1, 2)."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        pair = (int(value), int(value))
    elif isinstance(value, (tuple, list)) and len(value) == 1:
        return _pair(value[0], name, op, minimum)
    elif (isinstance(value, (tuple, list)) and len(value) == 2
          and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value)):
        pair = (int(value[0]), int(value[1]))
    else:
        raise TypeError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")
    if min(pair) < minimum:
        raise ValueError(f"{op}: {name} must be >= {minimum}, got {value!r}")
    return pair


def conv_output_size(size: int, kernel: int, stride: int, padding: int, dilation: int = 1,
                     ceil_mode: bool = False) -> int:
    """Output length along one axis: floor((size + 2p - d(k - 1) - 1) / s) + 1 (PyTorch's
    formula; with ceil_mode the last window may overhang, but must start inside the input)."""
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    if ceil_mode:
        out = -(-span // stride) + 1
        if (out - 1) * stride >= size + padding:
            out -= 1
        return out
    return span // stride + 1


def _check_input(x: Tensor, op: str) -> None:
    if x.ndim != 4:
        raise ValueError(f"{op}: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got "
                         f"shape {tuple(x.shape)}")
    if not backend.is_floating(x.dtype):
        raise TypeError(f"{op}: expected a floating point input, got {x.dtype} "
                        "(convert it with .float())")


@dataclass(frozen=True)
class ConvGeometry:
    """Everything about one convolution's shapes: kernel, stride, padding, dilation, groups,
    input size (H, W) and output size (H_out, W_out)."""

    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int]
    groups: int
    in_hw: tuple[int, int]
    out_hw: tuple[int, int]


# ---------------------------------------------------------------------------------------------
# array helpers: padding, strided windows, im2col, col2im
# ---------------------------------------------------------------------------------------------
def _pad_array(x: Any, top: int, bottom: int, left: int, right: int, value: float = 0.0) -> Any:
    """x (N, C, H, W) surrounded by `value`; x itself when there is nothing to pad."""
    if top == bottom == left == right == 0:
        return x
    xp = get_array_module(x)
    n, c, h, w = x.shape
    out = xp.full((n, c, h + top + bottom, w + left + right), value, dtype=x.dtype)
    out[:, :, top:top + h, left:left + w] = x
    return out


def _windows(x_pad: Any, kernel: tuple[int, int], stride: tuple[int, int],
             dilation: tuple[int, int], out_hw: tuple[int, int]) -> Any:
    """A read-only strided view (N, C, kH, kW, H_out, W_out) of every kernel window."""
    xp = get_array_module(x_pad)
    n, c = x_pad.shape[:2]
    s_n, s_c, s_h, s_w = x_pad.strides
    shape = (n, c, kernel[0], kernel[1], out_hw[0], out_hw[1])
    strides = (s_n, s_c, s_h * dilation[0], s_w * dilation[1], s_h * stride[0], s_w * stride[1])
    return xp.lib.stride_tricks.as_strided(x_pad, shape=shape, strides=strides)


def im2col(x: Any, geo: ConvGeometry) -> Any:
    """cols (N, groups, C_in/groups * kH * kW, H_out * W_out) of the zero-padded input."""
    n, c = x.shape[:2]
    ph, pw = geo.padding
    win = _windows(_pad_array(x, ph, ph, pw, pw), geo.kernel, geo.stride, geo.dilation,
                   geo.out_hw)
    k = (c // geo.groups) * geo.kernel[0] * geo.kernel[1]
    cols = get_array_module(x).ascontiguousarray(win)  # the one copy of im2col
    return cols.reshape(n, geo.groups, k, geo.out_hw[0] * geo.out_hw[1])


def _offset_range(offset: int, stride: int, padding: int, size: int,
                  out_size: int) -> tuple[int, int, int] | None:
    """For one kernel offset: the outputs o in [o_lo, o_hi) whose input index
    o * stride + offset - padding lies inside [0, size), and the first input index."""
    o_lo = max(0, -(-(padding - offset) // stride))
    o_hi = min(out_size, (size - 1 + padding - offset) // stride + 1)
    if o_lo >= o_hi:
        return None
    return o_lo, o_hi, o_lo * stride + offset - padding


def _col2im_slices(in_hw: tuple[int, int], out_hw: tuple[int, int], kernel: tuple[int, int],
                   stride: tuple[int, int], padding: tuple[int, int],
                   dilation: tuple[int, int]) -> Iterator[tuple[int, int, tuple, tuple]]:
    """For each kernel offset (kh, kw): the index of the input pixels it touches and the index
    of the matching outputs (both (..., rows, columns) slices; pixels in the padding left out)."""
    for kh in range(kernel[0]):
        rows = _offset_range(kh * dilation[0], stride[0], padding[0], in_hw[0], out_hw[0])
        if rows is None:
            continue
        for kw in range(kernel[1]):
            columns = _offset_range(kw * dilation[1], stride[1], padding[1], in_hw[1], out_hw[1])
            if columns is None:
                continue
            (i_lo, i_hi, r0), (j_lo, j_hi, c0) = rows, columns
            target = (Ellipsis, slice(r0, r0 + (i_hi - i_lo - 1) * stride[0] + 1, stride[0]),
                      slice(c0, c0 + (j_hi - j_lo - 1) * stride[1] + 1, stride[1]))
            source = (Ellipsis, slice(i_lo, i_hi), slice(j_lo, j_hi))
            yield kh, kw, target, source


def col2im(cols: Any, in_shape: tuple, kernel: tuple[int, int], stride: tuple[int, int],
           padding: tuple[int, int], dilation: tuple[int, int]) -> Any:
    """The adjoint of im2col: cols (N, C, kH, kW, H_out, W_out) summed back into an array of
    shape `in_shape` (N, C, H, W); entries that fell on the padding are dropped.
    One slice-add per kernel offset."""
    xp = get_array_module(cols)
    out = xp.zeros(in_shape, dtype=cols.dtype)
    for kh, kw, target, source in _col2im_slices(in_shape[2:], cols.shape[4:], kernel, stride,
                                                 padding, dilation):
        view = out[target]
        view += cols[:, :, kh, kw][source]  # in place through the view: one pass
    return out


# ---------------------------------------------------------------------------------------------
# convolution
# ---------------------------------------------------------------------------------------------
class Conv2d(Function):
    """y[n, o] = sum_{c in group(o), kh, kw} W[o, c, kh, kw] x_pad[n, c, i*s + kh*d, j*s + kw*d]
    + b[o], computed as y = W @ im2col(x): one matrix product, batched over the samples and
    the groups.

    dL/dx = Conv2dInputGrad(g, W) = col2im(W^T @ g);  dL/dW = Conv2dWeightGrad(x, g) =
    sum_n g[n] @ cols[n]^T;  dL/db = sum of g over (N, H_out, W_out).
    """

    def forward(self, x: Any, w: Any, b: Any = None, *, geo: ConvGeometry) -> Any:
        out, cols = _conv_arrays(x, w, geo, b)
        self.geo, self.cols, self.has_bias = geo, cols, b is not None
        return out

    def backward(self, g: Tensor) -> tuple:
        x, w = self.inputs[0], self.inputs[1]
        need = self.needs_input_grad
        gx = Conv2dInputGrad.apply(g, w, geo=self.geo) if need[0] else None
        gw = Conv2dWeightGrad.apply(x, g, geo=self.geo, kernel_shape=w.shape,
                                    cols=self.cols) if need[1] else None
        if not self.has_bias:
            return gx, gw
        gb = g.sum((0, 2, 3)) if need[2] else None
        return gx, gw, gb


def _conv_arrays(x: Any, w: Any, geo: ConvGeometry, b: Any = None) -> tuple[Any, Any]:
    """(conv2d of the arrays x, w and b, x's im2col): one gather, one product."""
    xp = get_array_module(x)
    n, c_out = x.shape[0], w.shape[0]
    cols = im2col(x, geo)
    out = xp.matmul(w.reshape(geo.groups, c_out // geo.groups, -1), cols)
    out = out.reshape(n, c_out, geo.out_hw[0] * geo.out_hw[1])  # (n may be 0: sizes spelled out)
    if b is not None:
        out += b.reshape(1, -1, 1)
    return out.reshape(n, c_out, geo.out_hw[0], geo.out_hw[1]), cols


class Conv2dInputGrad(Function):
    """dx = col2im(W^T @ g): the gradient of conv2d with respect to its input (a transposed
    convolution of g). Bilinear in (g, W), so with upstream gradient u (shaped like x):
    dL/dg = Conv2d(u, W),  dL/dW = Conv2dWeightGrad(u, g)."""

    def forward(self, g: Any, w: Any, *, geo: ConvGeometry) -> Any:
        self.geo, self.kernel_shape = geo, w.shape
        xp = get_array_module(g)
        n, c_out = g.shape[:2]
        groups = geo.groups
        c_in = w.shape[1] * groups
        wm = w.reshape(groups, c_out // groups, -1)
        gm = g.reshape(n, groups, c_out // groups, geo.out_hw[0] * geo.out_hw[1])
        cols = xp.matmul(wm.transpose(0, 2, 1), gm)  # (N, groups, C_in/groups*kH*kW, L)
        cols = cols.reshape(n, c_in, geo.kernel[0], geo.kernel[1], geo.out_hw[0], geo.out_hw[1])
        return col2im(cols, (n, c_in) + geo.in_hw, geo.kernel, geo.stride, geo.padding,
                      geo.dilation)

    def backward(self, u: Tensor) -> tuple:
        g, w = self.inputs
        need = self.needs_input_grad
        dg = Conv2d.apply(u, w, geo=self.geo) if need[0] else None
        dw = Conv2dWeightGrad.apply(u, g, geo=self.geo,
                                    kernel_shape=self.kernel_shape) if need[1] else None
        return dg, dw


class Conv2dWeightGrad(Function):
    """dW = sum_n g[n] @ im2col(x)[n]^T: the gradient of conv2d with respect to its weight.
    Bilinear in (x, g), so with upstream gradient u (shaped like W):
    dL/dx = Conv2dInputGrad(g, u),  dL/dg = Conv2d(x, u)."""

    def forward(self, x: Any, g: Any, *, geo: ConvGeometry, kernel_shape: tuple,
                cols: Any = None) -> Any:
        xp = get_array_module(x)
        self.geo = geo
        n, c_out = g.shape[:2]
        positions = geo.out_hw[0] * geo.out_hw[1]
        if cols is None:
            cols = im2col(x, geo)
        groups = geo.groups
        gm = g.reshape(n, groups, c_out // groups, positions)
        gw = xp.matmul(gm, cols.transpose(0, 1, 3, 2)).sum(axis=0)
        return gw.reshape(kernel_shape)

    def backward(self, u: Tensor) -> tuple:
        x, g = self.inputs
        need = self.needs_input_grad
        dx = Conv2dInputGrad.apply(g, u, geo=self.geo) if need[0] else None
        dg = Conv2d.apply(x, u, geo=self.geo) if need[1] else None
        return dx, dg


def _same_padding(kernel: tuple[int, int], dilation: tuple[int, int]) -> list[tuple[int, int]]:
    """(before, after) padding per axis that keeps the size for stride 1 (extra goes after)."""
    pads = []
    for k, d in zip(kernel, dilation):
        total = d * (k - 1)
        pads.append((total // 2, total - total // 2))
    return pads


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,
           padding: Any = 0, dilation: Any = 1, groups: int = 1) -> Tensor:
    """2-D convolution (cross-correlation, as PyTorch) of `input` (N, C_in, H, W) or
    (C_in, H, W) with `weight` (C_out, C_in/groups, kH, kW), plus optional `bias` (C_out,).
    `padding` may be an int, a pair, 'valid' (0) or 'same' (stride 1 only)."""
    op = "conv2d"
    if input.ndim == 3:
        return conv2d(input.unsqueeze(0), weight, bias, stride, padding, dilation,
                      groups).squeeze(0)
    _check_input(input, op)
    if weight.ndim != 4:
        raise ValueError(f"{op}: weight must be 4-D (C_out, C_in/groups, kH, kW), got shape "
                         f"{tuple(weight.shape)}")
    if weight.dtype != input.dtype or (bias is not None and bias.dtype != input.dtype):
        extra = "" if bias is None else f", bias is {bias.dtype}"
        raise TypeError(f"{op}: input is {input.dtype} but weight is {weight.dtype}{extra}; "
                        "they must have the same dtype")
    if not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive int, got {groups!r}")
    stride = _pair(stride, "stride", op, minimum=1)
    dilation = _pair(dilation, "dilation", op, minimum=1)
    kernel = (int(weight.shape[2]), int(weight.shape[3]))
    n, c_in, h, w = input.shape
    c_out = weight.shape[0]
    if c_in != weight.shape[1] * groups:
        raise ValueError(f"{op}: input has {c_in} channels but weight expects "
                         f"{weight.shape[1] * groups} (weight shape {tuple(weight.shape)}"
                         + (f", groups={groups})" if groups != 1 else ")"))
    if c_out % groups:
        raise ValueError(f"{op}: groups={groups} must divide the {c_out} output channels "
                         f"(weight shape {tuple(weight.shape)})")
    if bias is not None and tuple(bias.shape) != (c_out,):
        raise ValueError(f"{op}: bias must have shape ({c_out},) for weight shape "
                         f"{tuple(weight.shape)}, got {tuple(bias.shape)}")
    if isinstance(padding, str):
        if padding == "valid":
            padding = (0, 0)
        elif padding == "same":
            if stride != (1, 1):
                raise ValueError(f"{op}: padding='same' is not supported for strided "
                                 f"convolutions (stride={stride})")
            (top, bottom), (left, right) = _same_padding(kernel, dilation)
            if (top, left) != (bottom, right):  # even kernel: the extra row/column goes after
                widths = ((0, 0), (0, 0), (0, bottom - top), (0, right - left))
                input = Pad.apply(input, widths=widths)
                h, w = input.shape[2:]
            padding = (top, left)
        else:
            raise ValueError(f"{op}: padding must be an int, a pair, 'valid' or 'same', "
                             f"got {padding!r}")
    padding = _pair(padding, "padding", op, minimum=0)
    out_hw = (conv_output_size(h, kernel[0], stride[0], padding[0], dilation[0]),
              conv_output_size(w, kernel[1], stride[1], padding[1], dilation[1]))
    if min(out_hw) <= 0:
        raise ValueError(f"{op}: output size {out_hw} is too small: input of shape "
                         f"{tuple(input.shape)} (padded by {padding}) is smaller than the "
                         f"kernel {kernel} with dilation {dilation}")
    geo = ConvGeometry(kernel, stride, padding, dilation, int(groups), (h, w), out_hw)
    if bias is None:
        return Conv2d.apply(input, weight, geo=geo)
    return Conv2d.apply(input, weight, bias, geo=geo)


# ---------------------------------------------------------------------------------------------
# pooling
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PoolGeometry:
    """Kernel, stride, padding, dilation, input and output size of one pooling op, plus the
    extra bottom/right padding that ceil_mode needs for its overhanging last window."""

    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int]
    in_hw: tuple[int, int]
    out_hw: tuple[int, int]
    extra: tuple[int, int]

    def padded_windows(self, x: Any, value: float) -> Any:
        """(N, C, kH, kW, H_out, W_out) windows of x padded with `value`."""
        (ph, pw), (eh, ew) = self.padding, self.extra
        x_pad = _pad_array(x, ph, ph + eh, pw, pw + ew, value)
        return _windows(x_pad, self.kernel, self.stride, self.dilation, self.out_hw)


def _pool_geometry(x: Tensor, kernel_size: Any, stride: Any, padding: Any, dilation: Any,
                   ceil_mode: bool, op: str) -> PoolGeometry:
    _check_input(x, op)
    kernel = _pair(kernel_size, "kernel_size", op, minimum=1)
    stride = kernel if stride is None or (isinstance(stride, (list, tuple)) and not stride) \
        else _pair(stride, "stride", op, minimum=1)
    padding = _pair(padding, "padding", op, minimum=0)
    dilation = _pair(dilation, "dilation", op, minimum=1)
    for p, k, d in zip(padding, kernel, dilation):
        if p > ((k - 1) * d + 1) // 2:
            raise ValueError(f"{op}: padding should be at most half of the (effective) kernel "
                             f"size, but got padding={padding}, kernel_size={kernel}"
                             + (f" and dilation={dilation}" if dilation != (1, 1) else ""))
    h, w = x.shape[2:]
    out_hw = tuple(conv_output_size(size, k, s, p, d, ceil_mode)
                   for size, k, s, p, d in zip((h, w), kernel, stride, padding, dilation))
    if min(out_hw) <= 0:
        raise ValueError(f"{op}: output size {out_hw} is too small: input of shape "
                         f"{tuple(x.shape)} with padding {padding} is smaller than the kernel "
                         f"{kernel}" + (f" with dilation {dilation}" if dilation != (1, 1) else ""))
    extra = tuple(max(0, (o - 1) * s + d * (k - 1) + 1 - (size + 2 * p))
                  for o, s, d, k, size, p in zip(out_hw, stride, dilation, kernel, (h, w),
                                                 padding))
    return PoolGeometry(kernel, stride, padding, dilation, (h, w), out_hw, extra)


class MaxPool2d(Function):
    """y[n, c, i, j] = max over the window of (i, j) of x padded with -inf.
    dL/dx: g goes to the position of the first maximum of each window (a NaN counts as the
    maximum, as in PyTorch); overlapping windows add up (MaxPool2dBackward)."""

    def forward(self, x: Any, *, geo: PoolGeometry) -> Any:
        xp = get_array_module(x)
        win = geo.padded_windows(x, -math.inf)
        k_w = geo.kernel[1]
        self.geo, self.in_shape = geo, x.shape
        best = win[:, :, 0, 0].copy()
        # index: which kernel offset (kh * kW + kw) holds the maximum of each window
        index = xp.zeros(best.shape, dtype=np.int64)
        for k in range(1, geo.kernel[0] * k_w):
            candidate = win[:, :, k // k_w, k % k_w]
            better = (candidate > best) | xp.isnan(candidate)  # ties keep the first maximum
            best = xp.where(better, candidate, best)
            index = xp.where(better, k, index)
        self.index = index
        return best

    def backward(self, g: Tensor) -> Tensor:
        return MaxPool2dBackward.apply(g, geo=self.geo, index=self.index, in_shape=self.in_shape)


class MaxPool2dIndices(Function):
    """PyTorch's return_indices: the position h * W + w, in its plane, of each window's first
    maximum (int64), from `index`, the kernel offset kh * kW + kw of each maximum that a
    MaxPool2d node kept (found again when none was kept). Not differentiable."""

    def forward(self, x: Any, *, geo: PoolGeometry, index: Any = None) -> Any:
        if index is None:  # no graph was recorded: find the maxima again
            pool = MaxPool2d()
            pool.forward(x, geo=geo)
            index = pool.index
        xp = get_array_module(x)
        index = index.astype(np.int64)
        kh, kw = index // geo.kernel[1], index % geo.kernel[1]
        i = xp.arange(geo.out_hw[0]).reshape(-1, 1)
        j = xp.arange(geo.out_hw[1]).reshape(1, -1)
        rows = i * geo.stride[0] - geo.padding[0] + kh * geo.dilation[0]
        cols = j * geo.stride[1] - geo.padding[1] + kw * geo.dilation[1]
        return rows * geo.in_hw[1] + cols


class MaxPool2dBackward(Function):
    """dx = g scattered to the argmax position of each window (adds where windows overlap).
    Linear in g; its derivative gathers u at the same positions (MaxPool2dGather)."""

    def forward(self, g: Any, *, geo: PoolGeometry, index: Any, in_shape: tuple) -> Any:
        xp = get_array_module(g)
        self.geo, self.index = geo, index
        out = xp.zeros(in_shape, dtype=g.dtype)
        for kh, kw, target, source in _col2im_slices(in_shape[2:], g.shape[2:], geo.kernel,
                                                     geo.stride, geo.padding, geo.dilation):
            picked = index[source] == kh * geo.kernel[1] + kw
            view = out[target]
            view += picked * g[source]  # in place through the view
        return out

    def backward(self, u: Tensor) -> Tensor:
        return MaxPool2dGather.apply(u, geo=self.geo, index=self.index)


class MaxPool2dGather(Function):
    """y[n, c, i, j] = u at the argmax position of window (i, j) (the adjoint of
    MaxPool2dBackward). dL/du = MaxPool2dBackward(g)."""

    def forward(self, u: Any, *, geo: PoolGeometry, index: Any) -> Any:
        xp = get_array_module(u)
        self.geo, self.index, self.in_shape = geo, index, u.shape
        win = geo.padded_windows(u, 0.0)
        out = xp.zeros(index.shape, dtype=u.dtype)
        for k in range(geo.kernel[0] * geo.kernel[1]):
            out = xp.where(index == k, win[:, :, k // geo.kernel[1], k % geo.kernel[1]], out)
        return out

    def backward(self, g: Tensor) -> Tensor:
        return MaxPool2dBackward.apply(g, geo=self.geo, index=self.index, in_shape=self.in_shape)


def _avg_counts(geo: PoolGeometry, count_include_pad: bool) -> np.ndarray:
    """(H_out, W_out) host array: how many pixels of each window the mean divides by."""
    counts = []
    for size, k, s, p, o in zip(geo.in_hw, geo.kernel, geo.stride, geo.padding, geo.out_hw):
        start = np.arange(o) * s - p
        end = np.minimum(start + k, size + p)
        if not count_include_pad:
            start, end = np.maximum(start, 0), np.minimum(end, size)
        counts.append(end - start)
    return np.outer(counts[0], counts[1])


def avg_divisor(geo: PoolGeometry, count_include_pad: bool,
                divisor_override: int | None) -> int | np.ndarray:
    """The number each window sum is divided by: divisor_override, else kH*kW, or (PyTorch's
    rules) the window's size clipped to the padded input (count_include_pad) or to the input
    itself: a (H_out, W_out) host array where that varies."""
    if divisor_override is not None:
        return divisor_override
    counts = _avg_counts(geo, count_include_pad)
    if (counts == geo.kernel[0] * geo.kernel[1]).all():
        return geo.kernel[0] * geo.kernel[1]
    return counts


class AvgPool2d(Function):
    """y[n, c, i, j] = (sum over the window of (i, j) of x padded with 0) / divisor (see
    `avg_divisor`; given as `divisor`, a number or an (H_out, W_out) array, it is used as is).
    dL/dx = col2im(g / divisor) spread over each window (AvgPool2dBackward)."""

    def forward(self, x: Any, *, geo: PoolGeometry, count_include_pad: bool = True,
                divisor_override: int | None = None, divisor: Any = None) -> Any:
        if divisor is None:
            divisor = avg_divisor(geo, count_include_pad, divisor_override)
            if isinstance(divisor, np.ndarray):  # onto x's device, in x's dtype
                divisor = get_array_module(x).asarray(divisor, dtype=x.dtype)
        win = geo.padded_windows(x, 0.0)
        out = win[:, :, 0, 0].copy()
        for kh in range(geo.kernel[0]):
            for kw in range(geo.kernel[1]):
                if kh or kw:
                    out += win[:, :, kh, kw]
        out /= divisor
        self.geo, self.divisor, self.in_shape = geo, divisor, x.shape
        return out

    def backward(self, g: Tensor) -> Tensor:
        return AvgPool2dBackward.apply(g, geo=self.geo, divisor=self.divisor,
                                       in_shape=self.in_shape)


class AvgPool2dBackward(Function):
    """dx = col2im(g / divisor): every input pixel collects g / divisor from each window it
    lies in. Linear in g and the adjoint of AvgPool2d, so dL/dg = AvgPool2d(u)."""

    def forward(self, g: Any, *, geo: PoolGeometry, divisor: Any, in_shape: tuple) -> Any:
        xp = get_array_module(g)
        self.geo, self.divisor = geo, divisor
        share = g / divisor
        cols = xp.broadcast_to(share[:, :, None, None], g.shape[:2] + geo.kernel + g.shape[2:])
        return col2im(cols, in_shape, geo.kernel, geo.stride, geo.padding, geo.dilation)

    def backward(self, u: Tensor) -> Tensor:
        return AvgPool2d.apply(u, geo=self.geo, divisor=self.divisor)


def _unbatched(fn: Any, x: Tensor, *args: Any, **kwargs: Any) -> Any:
    """Run a 4-D op on a 3-D (C, H, W) input by adding and removing a batch dim."""
    out = fn(x.unsqueeze(0), *args, **kwargs)
    if isinstance(out, tuple):
        return tuple(o.squeeze(0) for o in out)
    return out.squeeze(0)


def max_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               dilation: Any = 1, ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """Max over kH x kW windows (stride defaults to kernel_size; padding counts as -inf).
    With return_indices, also the flat index h * W + w of each maximum (int64)."""
    if input.ndim == 3:
        return _unbatched(max_pool2d, input, kernel_size, stride, padding, dilation, ceil_mode,
                          return_indices)
    geo = _pool_geometry(input, kernel_size, stride, padding, dilation, ceil_mode, "max_pool2d")
    out = MaxPool2d.apply(input, geo=geo)
    if not return_indices:
        return out
    kept = None if out.grad_fn is None else out.grad_fn.index
    return out, MaxPool2dIndices.apply(input.detach(), geo=geo, index=kept)


def avg_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Tensor:
    """Mean over kH x kW windows (stride defaults to kernel_size). Zero padding is counted in
    the divisor when count_include_pad (PyTorch's default); divisor_override replaces it."""
    if input.ndim == 3:
        return _unbatched(avg_pool2d, input, kernel_size, stride, padding, ceil_mode,
                          count_include_pad, divisor_override)
    geo = _pool_geometry(input, kernel_size, stride, padding, 1, ceil_mode, "avg_pool2d")
    if divisor_override is not None and (not isinstance(divisor_override, (int, np.integer))
                                         or divisor_override == 0):
        raise ValueError(f"avg_pool2d: divisor_override must be a non-zero int, got "
                         f"{divisor_override!r}")
    return AvgPool2d.apply(input, geo=geo, count_include_pad=count_include_pad,
                           divisor_override=divisor_override)


def _adaptive_matrix(size: int, out: int) -> np.ndarray:
    """(out, size) host averaging matrix: row i has 1/(end - start) on [start, end) with
    start = floor(i * size / out), end = ceil((i + 1) * size / out) (PyTorch's bins)."""
    m = np.zeros((out, size))
    for i in range(out):
        start, end = (i * size) // out, -(-((i + 1) * size) // out)
        m[i, start:end] = 1.0 / (end - start)
    return m


class AdaptiveAvgPool2d(Function):
    """y = A_h @ x @ A_w^T: each output is the mean of its bin, with A_h (H_out, H) and
    A_w (W_out, W) the averaging matrices of `_adaptive_matrix`. Linear in x:
    dL/dx = A_h^T @ g @ A_w."""

    def forward(self, x: Any, *, out_hw: tuple[int, int]) -> Any:
        xp = get_array_module(x)
        (h, w), (out_h, out_w) = x.shape[2:], out_hw
        self.a_h = xp.asarray(_adaptive_matrix(h, out_h), dtype=x.dtype)
        self.a_w = xp.asarray(_adaptive_matrix(w, out_w), dtype=x.dtype)
        return self.a_h @ x @ self.a_w.T

    def backward(self, g: Tensor) -> Tensor:
        a_h, a_w = type(g)._make(self.a_h), type(g)._make(self.a_w)
        return a_h.mT @ g @ a_w


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:
    """Average pooling to a fixed output size (H_out, W_out) (an int, a pair, or None entries
    meaning 'keep that size'), with PyTorch's bins start = floor(i*H/H_out),
    end = ceil((i+1)*H/H_out). Divisible sizes use avg_pool2d; other sizes are a product of
    two averaging matrices, y = A_h @ x @ A_w^T (AdaptiveAvgPool2d)."""
    op = "adaptive_avg_pool2d"
    if input.ndim == 3:
        return _unbatched(adaptive_avg_pool2d, input, output_size)
    _check_input(input, op)
    if isinstance(output_size, (tuple, list)):
        if len(output_size) != 2:
            raise ValueError(f"{op}: output_size must be an int or a pair, got {output_size!r}")
        sizes = [input.shape[2 + i] if s is None else s for i, s in enumerate(output_size)]
    else:
        sizes = [output_size, output_size]
    out_h, out_w = _pair(sizes, "output_size", op, minimum=1)
    h, w = input.shape[2:]
    if (out_h, out_w) == (1, 1):
        return input.mean((2, 3), keepdim=True)
    if h % out_h == 0 and w % out_w == 0:
        kernel = (h // out_h, w // out_w)
        return avg_pool2d(input, kernel, kernel)
    return AdaptiveAvgPool2d.apply(input, out_hw=(out_h, out_w))


__all__ = [
    "Conv2d", "Conv2dInputGrad", "Conv2dWeightGrad", "MaxPool2d", "MaxPool2dIndices",
    "MaxPool2dBackward", "MaxPool2dGather", "AvgPool2d", "AvgPool2dBackward",
    "AdaptiveAvgPool2d", "conv2d", "max_pool2d", "avg_pool2d",
    "adaptive_avg_pool2d", "im2col", "col2im", "conv_output_size",
]
