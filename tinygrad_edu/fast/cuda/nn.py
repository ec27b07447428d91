"""Fused CuPy kernels for nn.functional's batch norm and cross-entropy (see
backend.ElementwiseKernel): fewer launches per step, which is what bounds a small model on
the GPU. Each forward returns NotImplemented (the reference runs) unless its arrays are
CuPy arrays of a float type the kernels take. It leaves on the node what the reference
forward leaves there. The cross-entropy backward kernel is registered for "cuda" alone, so
it is tried before the array-level backward of fast/cpu/nn.py.
"""

from __future__ import annotations

import functools
import math
from typing import Any

from ... import backend
from ...backend import ElementwiseKernel, get_array_module
from ...nn.functional import (
    BatchNorm,
    CrossEntropy,
    _ClassTargets,
    _reduce_rows,
    update_running_stats,
)
from ...tensor import Tensor
from .. import register_backward, register_forward, runtime
from ..cpu.nn import _batch_norm_sample

# batch norm, in the order of the reference's operations; T is the input's float type
_INVERSE_STD = ElementwiseKernel("T var, T eps", "T invstd", "invstd = 1 / sqrt(var + eps)",
                                 "tinygrad_edu_inverse_std")
_BATCH_NORM = ElementwiseKernel(
    "T x, T mean, T invstd, T w, T b", "T xhat, T y",
    "xhat = (x - mean) * invstd; y = xhat * w + b", "tinygrad_edu_batch_norm")
_RUNNING_STATS = ElementwiseKernel(  # update_running_stats in one kernel
    "T mean, T var, U momentum, U unbiased", "U running_mean, U running_var",
    "running_mean = running_mean * (1 - momentum) + momentum * mean;"
    "running_var = running_var * (1 - momentum) + momentum * unbiased * var",
    "tinygrad_edu_running_stats")
_BATCH_NORM_GRAD = ElementwiseKernel(
    "T g, T xhat, T sum_g, T sum_gx, T scale, T inverse_count", "T dx",
    "dx = (g - sum_g * inverse_count - xhat * (sum_gx * inverse_count)) * scale",
    "tinygrad_edu_batch_norm_grad")


@register_forward(BatchNorm, devices=("cuda",), sample=_batch_norm_sample,
                  why="the running statistics, 1/std, xhat and y in 3 kernels; dL/dx in 1 in "
                      "the backward")
def batch_norm_forward(fn: BatchNorm, x: Any, *affine: Any, mean: Any, var: Any, eps: float,
                       training: bool, has_weight: bool, has_bias: bool,
                       running: tuple | None = None) -> Any:
    if not runtime.use_kernels(x, *affine):
        return NotImplemented
    if mean is None:  # training: the batch's statistics, as the reference computes them
        axes = (0,) + tuple(range(2, x.ndim))
        mean, var = x.mean(axis=axes), x.var(axis=axes)
    if running is not None:
        running_mean, running_var = running[:2]
        if (running_mean is not None and running_var is not None
                and runtime.use_kernels(mean, var) and runtime.use_kernels(running_mean,
                                                                           running_var)):
            _RUNNING_STATS(mean, var, *running[2:], running_mean, running_var)
        else:
            update_running_stats(mean, var, *running)
    xp = get_array_module(x)
    shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    fn.axes = (0,) + tuple(range(2, x.ndim))
    fn.shape, fn.eps, fn.training = shape, eps, training
    fn.has_weight, fn.has_bias = has_weight, has_bias
    fn.mean = xp.asarray(mean).astype(x.dtype, copy=False).reshape(shape)
    fn.invstd = _INVERSE_STD(xp.asarray(var).astype(x.dtype, copy=False), eps).reshape(shape)
    w = affine[0].reshape(shape) if has_weight else 1
    b = affine[1 if has_weight else 0].reshape(shape) if has_bias else 0
    fn.xhat, y = _BATCH_NORM(x, fn.mean, fn.invstd, w, b)
    fn.dx_kernel = _BATCH_NORM_GRAD
    return y


# cross-entropy with class-index targets, without label smoothing
_CLASS_TARGETS = ElementwiseKernel(
    "int64 t, int64 ignore_index, int64 num_classes, T nan_value", "int64 index, T weight",
    "bool counted = t != ignore_index;"
    "bool in_range = t >= 0 && t < num_classes;"
    "index = counted && in_range ? t : 0;"
    "weight = counted ? (in_range ? 1 : nan_value) : 0",  # out of range: NaN, ignored: 0
    "tinygrad_edu_class_targets")
_EXP_SHIFTED = ElementwiseKernel("T x, T row_max", "T e", "e = exp(x - row_max)",
                                 "tinygrad_edu_exp_shifted")
_ROW_LOSS = ElementwiseKernel(  # -log p[t] = log(sum e) - (x[t] - max), times w[t]
    "T sums, T picked, T row_max, T w", "T loss", "loss = (log(sums) - (picked - row_max)) * w",
    "tinygrad_edu_cross_entropy_rows")
_CROSS_ENTROPY_GRAD = ElementwiseKernel(  # i: the element's flat index
    "T e, T sums, int64 target, T g, T divisor, T w, int64 classes", "T grad",
    "T p = e / sums;"
    "grad = (i % classes == target ? p - 1 : p) * (g / (divisor == 0 ? 1 : divisor)) * w",
    "tinygrad_edu_cross_entropy_grad")  # divisor 0: every target ignored, every w[t] 0


class _KernelTargets(_ClassTargets):
    """_ClassTargets whose index and row weights one kernel made; what the fused forward and
    backward do not use (`valid`, `rows`) is computed only if something asks for it, and the
    mean's divisor once (forward and backward both divide by it)."""

    @functools.cached_property
    def valid(self) -> Any:
        return self.counted != 0  # NaN != 0: an out-of-range row counts, as NaN

    @functools.cached_property
    def rows(self) -> Any:
        return get_array_module(self.index).arange(self.index.shape[0])

    @functools.cached_property
    def class_weight(self) -> Any:
        return self.weight if self.weight is not None else get_array_module(self.index).ones(
            self.num_classes, dtype=self.counted.dtype)

    @functools.cached_property
    def scale(self) -> Any:  # (only the reference backward reads it: with create_graph)
        if self.reduction == "sum":
            return get_array_module(self.index).ones((), dtype=self.counted.dtype)
        divisor = self.mean_divisor()
        return 1 / (divisor + (divisor == 0))

    def mean_divisor(self) -> Any:
        if self.divisor is None:
            self.divisor = self.row_weight.sum()
        return self.divisor


def _class_targets(target: Any, num_classes: int, weight: Any, ignore_index: int,
                   dtype: Any) -> _ClassTargets:
    """_ClassTargets from one kernel (index and 1 / 0 / NaN per row) instead of five."""
    xp = get_array_module(target)
    targets = _KernelTargets.__new__(_KernelTargets)
    targets.weight, targets.divisor, targets.num_classes = weight, None, num_classes
    targets.index, counted = xp.empty_like(target), xp.empty(target.shape, dtype=dtype)
    _CLASS_TARGETS(target, ignore_index, num_classes, dtype.type(math.nan), targets.index,
                   counted)
    targets.counted = counted
    targets.row_weight = counted if weight is None else weight[targets.index] * counted
    return targets


def _cross_entropy_sample(rng: Any) -> tuple:
    import numpy as np  # noqa: PLC0415

    return [rng.standard_normal((6, 4))], dict(
        target=np.array([0, 3, -100, 1, 2, 3]), weight=rng.uniform(0.5, 2.0, 4),
        ignore_index=-100, reduction="mean", label_smoothing=0.0)


@register_forward(CrossEntropy, devices=("cuda",), sample=_cross_entropy_sample,
                  why="GPU: 5 launches before the reduction instead of 9; gradient in 1")
def cross_entropy_forward(fn: CrossEntropy, x: Any, *, target: Any, weight: Any,
                          ignore_index: int, reduction: str, label_smoothing: float) -> Any:
    if label_smoothing != 0 or not runtime.use_kernels(x) or (
            weight is not None and weight.dtype != x.dtype):
        return NotImplemented
    xp = get_array_module(x)
    target = xp.asarray(target).astype(backend.int64, copy=False)
    t = _class_targets(target, x.shape[1], None if weight is None else xp.asarray(weight),
                       ignore_index, x.dtype)
    fn.targets, fn.reduction, fn.eps, fn.num_classes = t, reduction, label_smoothing, x.shape[1]
    t.reduction = reduction
    row_max = x.max(axis=1, keepdims=True)
    fn.exps = _EXP_SHIFTED(x, row_max)
    fn.sums = fn.exps.sum(axis=1, keepdims=True)
    fn.probs = None  # softmax(x) = exps / sums, computed by the backward kernel
    picked = xp.take_along_axis(x, t.index[:, None], axis=1)
    loss = _ROW_LOSS(fn.sums, picked, row_max, t.row_weight[:, None])
    return _reduce_rows(loss[:, 0], reduction, t, keep_scale=False)


@register_backward(CrossEntropy, devices=("cuda",), sample=_cross_entropy_sample,
                   why="the gradient in 1 launch, from the fused forward's exps and sums")
def cross_entropy_backward(fn: CrossEntropy, g: Tensor) -> Any:
    """w[t] (p - onehot) * g / divisor in one kernel, p = exps / sums."""
    if getattr(fn, "exps", None) is None:  # the fused forward did not run
        return NotImplemented
    if not runtime.use_kernels(fn.exps, g.array):
        fn.probs = fn.exps / fn.sums  # for the backward on arrays
        return NotImplemented
    t = fn.targets
    divisor = t.mean_divisor() if fn.reduction == "mean" else 1
    row_g = g.array.reshape(-1, 1) if fn.reduction == "none" else g.array
    return type(g)._make(_CROSS_ENTROPY_GRAD(fn.exps, fn.sums, t.index[:, None], row_g,
                                             divisor, t.row_weight[:, None], fn.exps.shape[1]))
