"""Stateless neural-network functions, named and called as `torch.nn.functional`.

    import tinygrad_edu.nn.functional as F
    y = F.relu(F.conv2d(x, w, b, padding=1))
    loss = F.cross_entropy(logits, labels)

Most functions are compositions of Tensor ops (so autograd differentiates them, to any
order). A few are Functions with a hand-written backward where that is numerically safer or
shows the famous formula: `linear`, `gelu` (through `Erf`), `logsigmoid`, `batch_norm`,
`cross_entropy` / `nll_loss` with class-index targets, and `binary_cross_entropy`. Their
backward passes are written with Tensor ops, so second derivatives stay exact. (Faster
versions of some of them live in `tinygrad_edu/fast/`; `tg.fast.off()` runs this code.)

Convolution and pooling live in `tinygrad_edu.ops.conv` and are re-exported here.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Callable, Sequence

import numpy as np

from .. import autograd, backend
from ..autograd import Function
from ..backend import get_array_module
from ..ops.conv import (
    Conv2dInputGrad,
    ConvGeometry,
    adaptive_avg_pool2d,
    avg_pool2d,
    conv2d,
    max_pool2d,
)
from ..ops.conv import _pair as _conv_pair
from ..ops.elementwise import _const
from ..ops.reduce import Softmax
from ..ops.shape import IndexAdd
from ..tensor import Tensor, arange, rand, stack, where
from ..tensor import pad as _tensor_pad

__all__ = [
    "linear", "conv2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "relu", "relu6",
    "leaky_relu", "elu", "selu", "celu", "gelu", "silu", "mish", "softplus", "softsign",
    "hardtanh", "hardsigmoid", "hardswish", "logsigmoid", "sigmoid", "tanh", "softmax",
    "softmin", "log_softmax", "dropout", "batch_norm", "layer_norm", "normalize", "one_hot",
    "pad", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "cross_entropy", "nll_loss",
    "binary_cross_entropy", "binary_cross_entropy_with_logits",
]


def _check_tensor(value: Any, name: str, op: str) -> None:
    if not isinstance(value, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(value).__name__}")


def _check_float(x: Tensor, name: str, op: str) -> None:
    _check_tensor(x, name, op)
    if not backend.is_floating(x.dtype):
        raise TypeError(f"{op}: {name} must be a floating point tensor, got {x.dtype} "
                        "(convert it with .float())")


# ---------------------------------------------------------------------------------------------
# linear
# ---------------------------------------------------------------------------------------------
class Linear(Function):
    """y = x @ W^T + b  (x (..., in), W (out, in), b (out,)).
    dL/dx = g @ W,  dL/dW = g^T @ x (summed over all leading dims),  dL/db = sum of g."""

    def reads_input(self, i: int) -> bool:  # x for W's gradient, W for x's; never b
        return i < 2 and self.needs_input_grad[1 - i]

    def forward(self, x: Any, w: Any, b: Any = None) -> Any:
        xp = get_array_module(x)
        y = xp.matmul(x, w.T)
        if b is not None:
            y += b
        self.has_bias = b is not None
        return y

    def backward(self, g: Tensor) -> tuple:
        x, w = self.inputs[0], self.inputs[1]
        gx = g @ w if self.needs_input_grad[0] else None  # (not for a batch of data)
        if x.ndim != 2:  # one vector, or batch dims: the same on the rows of 2-D views
            g, x = g.reshape(-1, w.shape[0]), x.reshape(-1, w.shape[1])
        gw = g.mT @ x if self.needs_input_grad[1] else None
        return gx, gw, (g.sum(0) if self.has_bias else None)  # (no bias: None, unused)


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = input @ weight^T + bias, for input (*, in_features) and weight
    (out_features, in_features)."""
    _check_float(input, "input", "linear")
    _check_tensor(weight, "weight", "linear")
    if weight.ndim not in (1, 2) or input.ndim == 0 or input.shape[-1] != weight.shape[-1]:
        raise ValueError(f"linear: input of shape {tuple(input.shape)} has "
                         f"{input.shape[-1] if input.ndim else 0} features but weight of "
                         f"shape {tuple(weight.shape)} expects "
                         f"{weight.shape[-1] if weight.ndim else 0}")
    if weight.dtype != input.dtype or (bias is not None and bias.dtype != input.dtype):
        extra = "" if bias is None else f" and bias is {bias.dtype}"
        raise TypeError(f"linear: input is {input.dtype} but weight is {weight.dtype}{extra}; "
                        "they must have the same dtype")
    if weight.ndim == 1:  # a single output feature without its own dim
        out = input @ weight
        return out if bias is None else out + bias
    if bias is not None and tuple(bias.shape) not in ((weight.shape[0],), ()):
        raise ValueError(f"linear: bias of shape {tuple(bias.shape)} does not match "
                         f"{weight.shape[0]} output features (weight shape "
                         f"{tuple(weight.shape)})")
    if bias is None:
        return Linear.apply(input, weight)
    return Linear.apply(input, weight, bias)


# ---------------------------------------------------------------------------------------------
# activations
# ---------------------------------------------------------------------------------------------
# W. J. Cody's rational approximations (netlib specfun CALERF): relative error ~1e-16 in
# float64 on three ranges of |x|: [0, 0.5], (0.5, 4], (4, inf).
_ERF_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
          3.20937758913846947e03, 1.85777706184603153e-1)
_ERF_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
          2.84423683343917062e03)
_ERF_C = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
          2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03,
          2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8)
_ERF_D = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
          1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
          3.43936767414372164e03, 1.23033935480374942e03)
_ERF_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
          1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2)
_ERF_Q = (2.56852019228982242e00, 1.87295284992346725e00, 5.27905102951428412e-1,
          6.05183413124413191e-2, 2.33520497626869185e-3)
_INV_SQRT_PI = 1.0 / math.sqrt(math.pi)
_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def _rational(y: Any, num: Sequence[float], den: Sequence[float], lead: float) -> Any:
    """Cody's nested evaluation of num(y) / den(y); `lead` is the top numerator coefficient."""
    top, bottom = lead * y, y
    for a, b in zip(num[:-1], den[:-1]):
        top = (top + a) * y
        bottom = (bottom + b) * y
    return (top + num[-1]) / (bottom + den[-1])


def erf_array(x: Any) -> Any:
    """erf(x) on a NumPy/CuPy array (same dtype), vectorised Cody approximation."""
    xp = get_array_module(x)
    y = xp.minimum(xp.abs(x), 10.0)  # erf(10) == 1 to double precision
    small_y = xp.minimum(y, 0.5)
    z = small_y * small_y
    small = x * _rational(z, _ERF_A[:4], _ERF_B, _ERF_A[4])
    mid_y = xp.clip(y, 0.5, 4.0)
    mid = _rational(mid_y, _ERF_C[:8], _ERF_D, _ERF_C[8])
    large_y = xp.maximum(y, 4.0)
    z = 1.0 / (large_y * large_y)
    large = (_INV_SQRT_PI - z * _rational(z, _ERF_P[:5], _ERF_Q, _ERF_P[5])) / large_y
    ratio = xp.where(y <= 4.0, mid, large)
    y16 = xp.trunc(y * 16.0) / 16.0  # exp(-y^2) split in two for accuracy, as Cody does
    erfc = xp.exp(-y16 * y16) * xp.exp(-(y - y16) * (y + y16)) * ratio
    return xp.where(y <= 0.5, small, xp.copysign(1.0 - erfc, x)).astype(x.dtype, copy=False)


class Erf(Function):
    """y = erf(x) = 2/sqrt(pi) * integral_0^x exp(-t^2) dt.  dy/dx = 2/sqrt(pi) exp(-x^2)."""

    def forward(self, x: Any) -> Any:
        return erf_array(x)

    def backward(self, g: Tensor) -> Tensor:
        x = self.inputs[0]
        return g * (-(x * x)).exp() * (2.0 * _INV_SQRT_PI)


class Gelu(Function):
    """y = x * Phi(x) with Phi(x) = (1 + erf(x / sqrt 2)) / 2, the normal CDF.
    dy/dx = Phi(x) + x * phi(x), phi(x) = exp(-x^2 / 2) / sqrt(2 pi)."""

    def forward(self, x: Any) -> Any:
        return x * (0.5 * (1.0 + erf_array(x * _INV_SQRT2)))

    def backward(self, g: Tensor) -> Tensor:
        x = self.inputs[0]
        cdf = (Erf.apply(x * _INV_SQRT2) + 1.0) * 0.5
        pdf = (x * x * -0.5).exp() * _INV_SQRT_2PI
        return g * (cdf + x * pdf)


class GeluTanh(Function):
    """GPT-2's GELU: y = x (1 + t) / 2 with t = tanh(u), u = sqrt(2/pi) (x + 0.044715 x^3).
    dy/dx = (1 + t) / 2 + x (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2) / 2."""

    def forward(self, x: Any) -> Any:
        xp = get_array_module(x)
        return 0.5 * x * (1.0 + xp.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)))

    def backward(self, g: Tensor) -> Tensor:
        x = self.inputs[0]
        t = ((x + x * x * x * 0.044715) * _SQRT_2_OVER_PI).tanh()
        du = (x * x * (3 * 0.044715) + 1.0) * _SQRT_2_OVER_PI
        return g * ((t + 1.0) * 0.5 + x * (1.0 - t * t) * du * 0.5)


_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


class LogSigmoid(Function):
    """y = log(sigmoid(x)) = min(x, 0) - log(1 + exp(-|x|)) (finite for any x).
    dy/dx = sigmoid(-x)."""

    def forward(self, x: Any) -> Any:
        xp = get_array_module(x)
        return xp.minimum(x, 0) - xp.log1p(xp.exp(-xp.abs(x)))

    def backward(self, g: Tensor) -> Tensor:
        return g * (-self.inputs[0]).sigmoid()


def _maybe_inplace(input: Tensor, inplace: bool, name: str,
                   compute: Callable[[Tensor], Tensor]) -> Tensor:
    """compute(input); with inplace=True written into input's memory and returned as input
    (recorded in the graph as PyTorch's in-place activations are)."""
    return input._update_(name, compute) if inplace else compute(input)


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0)."""
    return input.relu_() if inplace else input.relu()


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6)."""
    return hardtanh(input, 0.0, 6.0, inplace)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x if x > 0 else negative_slope * x."""
    return _maybe_inplace(input, inplace, "leaky_relu_", lambda x: x.leaky_relu(negative_slope))


def _exp_linear(x: Tensor, alpha: float, inner: float) -> Tensor:
    """alpha * (exp(inner * x) - 1) where x <= 0, else x (so NaN, with gradient 1, at NaN, as
    PyTorch). exp sees only the x <= 0 (0 elsewhere): no overflow, and no NaN in its gradient."""
    negative = x <= 0
    return where(negative, ((where(negative, x, 0.0) * inner).exp() - 1.0) * alpha, x)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x if x > 0 else alpha * (exp(x) - 1)."""
    return _maybe_inplace(input, inplace, "elu_", lambda x: _exp_linear(x, alpha, 1.0))


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1))."""
    return _maybe_inplace(input, inplace, "celu_", lambda x: _exp_linear(x, alpha, 1.0 / alpha))


_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale * elu(x, alpha) with the self-normalising constants of Klambauer et al."""
    return _maybe_inplace(input, inplace, "selu_",
                          lambda x: elu(x, _SELU_ALPHA) * _SELU_SCALE)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x * Phi(x) (approximate='none', exact, through erf) or the tanh approximation
    0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) (approximate='tanh')."""
    _check_float(input, "input", "gelu")
    if approximate == "none":
        return Gelu.apply(input)
    if approximate == "tanh":
        return GeluTanh.apply(input)
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x * sigmoid(x) (also called swish)."""
    return _maybe_inplace(input, inplace, "silu_", lambda x: x * x.sigmoid())


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta x)) / beta, and x itself where beta x > threshold."""
    soft = -LogSigmoid.apply(input * -beta) / beta if beta != 1 else -LogSigmoid.apply(-input)
    return where(input * beta > threshold, input, soft)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * tanh(softplus(x))."""
    return _maybe_inplace(input, inplace, "mish_", lambda x: x * softplus(x).tanh())


def softsign(input: Tensor) -> Tensor:
    """x / (1 + |x|)."""
    return input / (input.abs() + 1.0)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0,
             inplace: bool = False) -> Tensor:
    """x clipped to [min_val, max_val]."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) cannot be greater than max_val "
                         f"({max_val})")

    return _maybe_inplace(input, inplace, "hardtanh_",
                          lambda x: _clip(x, min_val, max_val, nan_passes=True))


def _clip(x: Tensor, low: float, high: float, nan_passes: bool) -> Tensor:
    """x clipped to [low, high]: gradient 1 strictly inside, 0 at and beyond the limits; at NaN
    (which stays NaN) 1 if `nan_passes` (hardtanh, relu6), else 0 (hardsigmoid), as PyTorch."""
    inside = ~((x <= low) | (x >= high)) if nan_passes else (x > low) & (x < high)
    return where(inside, x, x.detach().clamp(low, high))


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """relu6(x + 3) / 6."""
    return _maybe_inplace(input, inplace, "hardsigmoid_",
                          lambda x: _clip(x + 3.0, 0.0, 6.0, nan_passes=False) / 6.0)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * relu6(x + 3) / 6."""
    return input * hardsigmoid(input)


def logsigmoid(input: Tensor) -> Tensor:
    """log(sigmoid(x)), finite for any x."""
    _check_float(input, "input", "logsigmoid")
    return LogSigmoid.apply(input)


def sigmoid(input: Tensor) -> Tensor:
    """1 / (1 + exp(-x))."""
    return input.sigmoid()


def tanh(input: Tensor) -> Tensor:
    """tanh(x)."""
    return input.tanh()


def _softmax_dim(input: Tensor, dim: int | None, op: str) -> int:
    if dim is not None:
        return dim
    warnings.warn(f"Implicit dimension choice for {op} has been deprecated. Change the call "
                  "to include dim=X as an argument.", UserWarning, stacklevel=3)
    return 0 if input.ndim in (0, 1, 3) else 1


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
            dtype: Any = None) -> Tensor:
    """exp(x) / sum(exp(x)) along `dim` (computed stably)."""
    x = input if dtype is None else input.to(dtype)
    return x.softmax(_softmax_dim(input, dim, "softmax"))


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
            dtype: Any = None) -> Tensor:
    """softmax(-x) along `dim`."""
    x = input if dtype is None else input.to(dtype)
    return (-x).softmax(_softmax_dim(input, dim, "softmin"))


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
                dtype: Any = None) -> Tensor:
    """x - logsumexp(x) along `dim` (finite for huge logits)."""
    x = input if dtype is None else input.to(dtype)
    return x.log_softmax(_softmax_dim(input, dim, "log_softmax"))


# ---------------------------------------------------------------------------------------------
# dropout and normalisation
# ---------------------------------------------------------------------------------------------
def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Inverted dropout: in training, zero each element with probability p and scale the
    rest by 1 / (1 - p), so the expected value is unchanged; the identity otherwise.
    The mask comes from the device's seeded generator (`tg.manual_seed`)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    _check_float(input, "input", "dropout")
    if p == 1.0:
        return _maybe_inplace(input, inplace, "dropout_", lambda x: x * 0.0)
    rand_dtype = input.dtype if input.dtype in (backend.float32, backend.float64) \
        else backend.float32
    keep = rand(input.shape, dtype=rand_dtype, device=input.device) >= p
    mask = keep.to(input.dtype) * (1.0 / (1.0 - p))
    return _maybe_inplace(input, inplace, "dropout_", lambda x: x * mask)


def update_running_stats(mean: Any, var: Any, running_mean: Any, running_var: Any,
                         momentum: float, unbiased: float) -> None:
    """running = (1 - momentum) * running + momentum * statistic, in place, the variance made
    unbiased (times n / (n - 1)) as PyTorch does; either running array may be None."""
    if running_mean is not None:
        running_mean *= 1.0 - momentum
        running_mean += momentum * mean
    if running_var is not None:
        running_var *= 1.0 - momentum
        running_var += (momentum * unbiased) * var


class BatchNorm(Function):
    """y = xhat * w + b per channel (dim 1), xhat = (x - mean) / sqrt(var + eps), with the
    running statistics passed in as `mean` and `var` (eval), or with None for them the
    batch's mean and biased variance (training; `running` = (running_mean, running_var,
    momentum, n / (n - 1)) are then updated here). With g_hat = g * w and the means over all
    dims but 1:
      training:  dL/dx = (g_hat - mean(g_hat) - xhat * mean(g_hat * xhat)) / sqrt(var + eps)
      eval:      dL/dx = g_hat / sqrt(var + eps)
      dL/dw = sum(g * xhat),  dL/db = sum(g)   (sums over all dims but 1)."""

    def forward(self, x: Any, *affine: Any, mean: Any, var: Any, eps: float, training: bool,
                has_weight: bool, has_bias: bool, running: tuple | None = None) -> Any:
        self.axes = (0,) + tuple(range(2, x.ndim))
        if mean is None:  # training: the batch's statistics
            mean, var = x.mean(axis=self.axes), x.var(axis=self.axes)
        if running is not None:
            update_running_stats(mean, var, *running)
        xp = get_array_module(x)
        shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
        self.shape, self.eps, self.training = shape, eps, training
        self.has_weight, self.has_bias = has_weight, has_bias
        self.mean = xp.asarray(mean).astype(x.dtype, copy=False).reshape(shape)
        self.invstd = (1.0 / xp.sqrt(xp.asarray(var) + eps)).astype(x.dtype, copy=False
                                                                   ).reshape(shape)
        self.xhat = (x - self.mean) * self.invstd
        y = self.xhat
        if has_weight:
            y = y * affine[0].reshape(shape)
        if has_bias:
            y = y + affine[1 if has_weight else 0].reshape(shape)
        return y.copy() if y is self.xhat else y  # (the output may be changed in place later)

    def backward(self, g: Tensor) -> tuple:
        x = self.inputs[0]
        need = self.needs_input_grad
        if self.training:  # xhat and 1/std as functions of x, so that this backward is exact
            centered = x - x.mean(self.axes, keepdim=True)
            invstd = ((centered * centered).mean(self.axes, keepdim=True) + self.eps) ** -0.5
        else:
            centered = x - _const(x, self.mean)
            invstd = _const(x, self.invstd)
        xhat = centered * invstd
        grads: list = [None]
        if need[0]:
            g_hat = g * self.inputs[1].reshape(self.shape) if self.has_weight else g
            if self.training:
                g_hat = (g_hat - g_hat.mean(self.axes, keepdim=True)
                         - xhat * (g_hat * xhat).mean(self.axes, keepdim=True))
            grads[0] = g_hat * invstd
        if self.has_weight:
            grads.append((g * xhat).sum(self.axes) if need[1] else None)
        if self.has_bias:
            grads.append(g.sum(self.axes) if need[-1] else None)
        return tuple(grads)


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise each channel (dim 1) of (N, C), (N, C, L) or (N, C, H, W) input.

    training: use the batch mean and biased variance, and update the running statistics in
    place with running = (1 - momentum) * running + momentum * stat, using the UNBIASED
    batch variance (as PyTorch). eval: use running_mean / running_var."""
    op = "batch_norm"
    _check_float(input, "input", op)
    if input.ndim < 2:
        raise ValueError(f"{op}: expected an input with at least 2 dims (N, C, ...), got shape "
                         f"{tuple(input.shape)}")
    c = input.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None:
            _check_tensor(t, name, op)
            if tuple(t.shape) != (c,):
                raise ValueError(f"{op}: {name} must have shape ({c},) for input of shape "
                                 f"{tuple(input.shape)}, got {tuple(t.shape)}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and t.dtype != input.dtype:
            raise TypeError(f"{op}: input is {input.dtype} but {name} is {t.dtype}; they must "
                            "have the same dtype")
    if training and input.numel() == 0:  # an empty batch: nothing to normalise or to learn
        return _empty_batch_norm(input, weight, bias)  # from (as PyTorch); running stats kept
    if training:
        count = input.numel() // c if c else 0
        if count == 1:
            raise ValueError(f"{op}: expected more than 1 value per channel when training, got "
                             f"input of shape {tuple(input.shape)}")
        mean = var = None  # (the batch's: BatchNorm.forward computes them)
        running = (None if running_mean is None else running_mean.array,
                   None if running_var is None else running_var.array, momentum,
                   count / (count - 1))  # (updated by BatchNorm.forward)
    else:
        if running_mean is None or running_var is None:
            raise ValueError(f"{op}: running_mean and running_var are needed when "
                             "training=False")
        mean, var, running = running_mean.array, running_var.array, None
    affine = [t for t in (weight, bias) if t is not None]
    return BatchNorm.apply(input, *affine, mean=mean, var=var, eps=eps, training=training,
                           has_weight=weight is not None, has_bias=bias is not None,
                           running=running)


def _empty_batch_norm(input: Tensor, weight: Tensor | None, bias: Tensor | None) -> Tensor:
    """batch_norm of an input with no elements: an empty output, still connected to the input,
    weight and bias (whose gradients are then 0)."""
    shape = (1, input.shape[1]) + (1,) * (input.ndim - 2)
    out = input.clone()
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


class LayerNorm(Function):
    """y = xhat * w + b, xhat = (x - mean) / sqrt(var + eps), the mean and the biased
    variance over the last k dims (each row of them normalised on its own). With
    g_hat = g * w and the means over those k dims:
      dL/dx = (g_hat - mean(g_hat) - xhat * mean(g_hat * xhat)) / sqrt(var + eps)
      dL/dw = sum(g * xhat),  dL/db = sum(g)   (sums over the leading dims)."""

    def forward(self, x: Any, *affine: Any, k: int, eps: float, has_weight: bool,
                has_bias: bool) -> Any:
        self.axes, self.lead = tuple(range(x.ndim - k, x.ndim)), tuple(range(x.ndim - k))
        self.eps, self.has_weight, self.has_bias = eps, has_weight, has_bias
        xp = get_array_module(x)
        centered = x - x.mean(axis=self.axes, keepdims=True)
        var = (centered * centered).mean(axis=self.axes, keepdims=True)
        self.invstd = (1.0 / xp.sqrt(var + eps)).astype(x.dtype, copy=False)
        self.xhat = centered * self.invstd
        y = self.xhat
        if has_weight:
            y = y * affine[0]
        if has_bias:
            y = y + affine[1 if has_weight else 0]
        return y.copy() if y is self.xhat else y  # (the output may be changed in place later)

    def backward(self, g: Tensor) -> tuple:
        x = self.inputs[0]
        need = self.needs_input_grad
        centered = x - x.mean(self.axes, keepdim=True)  # xhat and 1/std as functions of x
        invstd = ((centered * centered).mean(self.axes, keepdim=True) + self.eps) ** -0.5
        xhat = centered * invstd
        grads: list = [None]
        if need[0]:
            g_hat = g * self.inputs[1] if self.has_weight else g
            g_hat = (g_hat - g_hat.mean(self.axes, keepdim=True)
                     - xhat * (g_hat * xhat).mean(self.axes, keepdim=True))
            grads[0] = g_hat * invstd
        if self.has_weight:
            grads.append((g * xhat).sum(self.lead) if need[1] else None)
        if self.has_bias:
            grads.append(g.sum(self.lead) if need[-1] else None)
        return tuple(grads)


def layer_norm(input: Tensor, normalized_shape: Sequence[int] | int,
               weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Normalise over the last len(normalized_shape) dims: (x - mean) / sqrt(var + eps)
    * weight + bias (biased variance)."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if k == 0 or tuple(input.shape[input.ndim - k:]) != shape or input.ndim < k:
        raise ValueError(f"layer_norm: normalized_shape {shape} does not match the last dims "
                         f"of input of shape {tuple(input.shape)}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != shape:
            raise RuntimeError(f"layer_norm: {name} of shape {tuple(t.shape)} does not match "
                               f"normalized_shape {shape}")
    affine = [t for t in (weight, bias) if t is not None]
    return LayerNorm.apply(input, *affine, k=k, eps=eps, has_weight=weight is not None,
                           has_bias=bias is not None)


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12,
              out: Tensor | None = None) -> Tensor:
    """x / max(||x||_p, eps) along `dim`."""
    if out is not None:
        raise ValueError("normalize: the `out` argument is not supported")
    return input / input.norm(p, dim, keepdim=True).clamp(min=eps)


# ---------------------------------------------------------------------------------------------
# utilities
# ---------------------------------------------------------------------------------------------
def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """(*) integer class indices -> (*, num_classes) int64 tensor with a 1 at each index.
    num_classes=-1 takes the largest index + 1, which reads it back from the GPU (as PyTorch);
    pass num_classes in a training loop on the GPU."""
    _check_tensor(tensor, "tensor", "one_hot")
    if tensor.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expects an integer (index) tensor, got {tensor.dtype}")
    size = tensor.numel()
    if num_classes == -1:
        if size == 0:
            raise ValueError("one_hot: can not infer the number of classes from an empty tensor")
        num_classes = int(tensor.max()) + 1
    if num_classes < 1 and size:
        raise ValueError(f"one_hot: num_classes must be positive, got {num_classes}")
    # the range check reads the values: on the GPU only under detect_anomaly (unchecked, an
    # out-of-range class gives a row of zeros)
    if size and autograd.checks_values(tensor.array):
        low, high = int(tensor.min()), int(tensor.max())
        if low < 0:
            raise ValueError(f"one_hot: class values must be non-negative, got {low}")
        if high >= num_classes:
            raise ValueError(f"one_hot: class value {high} is out of range for "
                             f"num_classes={num_classes}")
    classes = arange(num_classes, dtype=tensor.dtype, device=tensor.device)
    return (tensor.unsqueeze(-1) == classes).long()


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant",
        value: float | None = None) -> Tensor:
    """Constant padding, (left, right) widths starting from the last dim (as tg.pad); modes
    'reflect', 'replicate' and 'circular' copy the input's own values (see _pad_boundary)."""
    if mode != "constant":
        return _pad_boundary(input, pad, mode, value)
    return _tensor_pad(input, pad, mode, 0.0 if value is None else value)


# ---------------------------------------------------------------------------------------------
# losses: shared helpers
# ---------------------------------------------------------------------------------------------
_REDUCTIONS = ("none", "mean", "sum")


def _reduction(size_average: bool | None, reduce: bool | None, reduction: str, op: str) -> str:
    """The reduction to use, translating PyTorch's deprecated size_average / reduce."""
    if size_average is not None or reduce is not None:
        warnings.warn("size_average and reduce args will be deprecated, please use "
                      "reduction='...' instead.", UserWarning, stacklevel=3)
        if reduce is False:
            return "none"
        return "sum" if size_average is False else "mean"
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction={reduction!r} is not valid; use 'none', 'mean' or "
                         "'sum'")
    return reduction


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.mean()


def _regression_pair(input: Tensor, target: Tensor, op: str) -> tuple[Tensor, Tensor]:
    """Check input / target of an elementwise loss; warn like PyTorch when they broadcast."""
    _check_float(input, "input", op)
    _check_tensor(target, "target", op)
    if target.shape != input.shape:
        try:
            np.broadcast_shapes(input.shape, target.shape)
        except ValueError:
            raise ValueError(f"{op}: target of shape {tuple(target.shape)} does not match input "
                             f"of shape {tuple(input.shape)}") from None
        warnings.warn(f"{op}: using a target size {tuple(target.shape)} that is different to "
                      f"the input size {tuple(input.shape)}. This will likely lead to "
                      "incorrect results due to broadcasting. Please ensure they have the "
                      "same size.", UserWarning, stacklevel=3)
    if target.dtype != input.dtype:
        target = target.to(input.dtype)
    return input, target


def _weighted(loss: Tensor, weight: Tensor | None, input: Tensor, reduction: str, op: str,
              mean_over_weights: bool) -> Tensor:
    """Apply the elementwise `weight` of mse/l1/huber (PyTorch 2.x) and reduce."""
    if weight is None:
        return _reduce(loss, reduction)
    _check_tensor(weight, "weight", op)
    if weight.shape != input.shape:
        raise ValueError(f"{op}: weight of shape {tuple(weight.shape)} must have the same size "
                         f"as input of shape {tuple(input.shape)}")
    loss = loss * weight
    if reduction == "mean" and mean_over_weights:
        return loss.sum() / weight.sum()
    return _reduce(loss, reduction)


# ---------------------------------------------------------------------------------------------
# regression losses
# ---------------------------------------------------------------------------------------------
def _reduce_array(loss: Any, reduction: str) -> Any:
    """An elementwise loss array summed, averaged or left as it is."""
    if reduction == "none":
        return loss
    xp = get_array_module(loss)
    return xp.asarray(loss.sum() if reduction == "sum" else loss.mean(), dtype=loss.dtype)


def _expand_reduced_grad(g: Tensor, shape: tuple, reduction: str) -> Tensor:
    """The gradient of a reduced loss as one for each element of a loss of `shape`."""
    if reduction == "none":
        return g
    if reduction == "mean":
        g = g / float(max(math.prod(shape), 1))
    return g.expand(*shape)


class MseLoss(Function):
    """loss = reduction of (x - y)^2 (mean: divided by the element count n).
    dloss/dx = 2 (x - y) g (/ n for 'mean'),  dloss/dy = -dloss/dx."""

    def forward(self, x: Any, y: Any, *, reduction: str) -> Any:
        diff = x - y
        self.reduction, self.shape = reduction, diff.shape
        return _reduce_array(diff * diff, reduction)

    def backward(self, g: Tensor) -> tuple:
        x, y = self.inputs
        gx = 2.0 * (x - y) * _expand_reduced_grad(g, self.shape, self.reduction)
        return (gx if self.needs_input_grad[0] else None,
                -gx if self.needs_input_grad[1] else None)


def mse_loss(input: Tensor, target: Tensor, size_average: bool | None = None,
             reduce: bool | None = None, reduction: str = "mean",
             weight: Tensor | None = None) -> Tensor:
    """(input - target)^2, reduced. With `weight`, 'mean' is sum(w * loss) / sum(w)."""
    reduction = _reduction(size_average, reduce, reduction, "mse_loss")
    input, target = _regression_pair(input, target, "mse_loss")
    if weight is None:  # one node, MseLossBackward0, as PyTorch's graph shows
        return MseLoss.apply(input, target, reduction=reduction)
    diff = input - target
    return _weighted(diff * diff, weight, input, reduction, "mse_loss", True)


def l1_loss(input: Tensor, target: Tensor, size_average: bool | None = None,
            reduce: bool | None = None, reduction: str = "mean",
            weight: Tensor | None = None) -> Tensor:
    """|input - target|, reduced. With `weight`, 'mean' is sum(w * loss) / sum(w)."""
    reduction = _reduction(size_average, reduce, reduction, "l1_loss")
    input, target = _regression_pair(input, target, "l1_loss")
    return _weighted((input - target).abs(), weight, input, reduction, "l1_loss", True)


def smooth_l1_loss(input: Tensor, target: Tensor, size_average: bool | None = None,
                   reduce: bool | None = None, reduction: str = "mean",
                   beta: float = 1.0) -> Tensor:
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta  (d = input - target);
    beta = 0 is the L1 loss."""
    reduction = _reduction(size_average, reduce, reduction, "smooth_l1_loss")
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    input, target = _regression_pair(input, target, "smooth_l1_loss")
    diff = input - target
    if beta == 0:
        return _reduce(diff.abs(), reduction)
    size = diff.abs()
    loss = where(size < beta, diff * diff * (0.5 / beta), size - 0.5 * beta)
    return _reduce(loss, reduction)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight: Tensor | None = None) -> Tensor:
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta)  (d = input - target).
    With `weight`, 'mean' is the plain mean of w * loss (as PyTorch)."""
    reduction = _reduction(None, None, reduction, "huber_loss")
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    input, target = _regression_pair(input, target, "huber_loss")
    diff = input - target
    size = diff.abs()
    loss = where(size < delta, diff * diff * 0.5, (size - 0.5 * delta) * delta)
    return _weighted(loss, weight, input, reduction, "huber_loss", False)


# ---------------------------------------------------------------------------------------------
# classification losses with class-index targets
# ---------------------------------------------------------------------------------------------
class _ClassTargets:
    """Class-index targets of M rows for C classes, as the losses use them:
    `index` (M,) each row's target (0 for an ignored row), `rows` 0, 1, ..., M - 1 (with
    `index`, the (row, target) pairs of fancy indexing), `valid` (M,) whether the row counts
    (target != ignore_index), `weight` the class weights (C,) or None, `class_weight` the
    same or ones (C,), and `row_weight` (M,)
    each row's w[target] (1 without weights): 0 for an ignored row, NaN for a target outside
    [0, C), so that its loss is NaN (see `_check_class_range` for where that is an error)."""

    def __init__(self, target: Any, num_classes: int, weight: Any, ignore_index: int,
                 dtype: Any) -> None:
        xp = get_array_module(target)
        self.weight = weight
        self.class_weight = xp.ones(num_classes, dtype=dtype) if weight is None else weight
        self.valid = target != ignore_index
        in_range = (target >= 0) & (target < num_classes)
        self.index = xp.where(self.valid & in_range, target, 0)
        self.rows = xp.arange(target.shape[0])
        counted = xp.where(self.valid & ~in_range, math.nan, self.valid.astype(dtype))
        self.row_weight = counted if weight is None else weight[self.index] * counted

    def mean_divisor(self) -> Any:
        """The divisor of reduction='mean': the summed weights of the counted rows."""
        return self.row_weight.sum()


def _check_class_range(target: Tensor, ignore_index: int, num_classes: int, op: str) -> None:
    """Raise ValueError naming the first counted target outside [0, C), where
    `autograd.checks_values` allows reading the values (always on the CPU; on the GPU only
    inside detect_anomaly, elsewhere such a target gives a NaN loss)."""
    if not target.numel() or not autograd.checks_values(target.array):
        return
    bad = (target != ignore_index) & ((target < 0) | (target >= num_classes))
    if bool(bad.any()):
        raise ValueError(f"{op}: target {int(target[bad][0])} is out of range for "
                         f"{num_classes} classes")


def _reduce_rows(loss: Any, reduction: str, targets: _ClassTargets, keep_scale: bool = True
                 ) -> Any:
    """The (M,) row losses summed, averaged over the counted rows' weights, or as they are.
    Sets `targets.scale` (unless told not to), d(reduced loss)/d(row loss) for 'sum' and
    'mean': 1, or 1 / the summed weights (1 when that is 0: every target ignored, no row has
    a gradient)."""
    xp = get_array_module(loss)
    if reduction == "none":
        return loss
    total = loss.sum()
    if reduction == "sum":
        if keep_scale:
            targets.scale = xp.ones((), dtype=loss.dtype)
        return xp.asarray(total)
    divisor = targets.mean_divisor()
    if keep_scale:
        targets.scale = 1 / (divisor + (divisor == 0))
    with np.errstate(invalid="ignore", divide="ignore"):  # every target ignored: nan
        return xp.asarray(total / divisor)


def _row_coefficient(g: Tensor, loss: Function) -> Tensor:
    """d(reduced loss)/d(row loss) of a class-index loss, broadcastable to (M, 1): g per row
    ('none'), else g times the forward's `targets.scale` (see `_reduce_rows`)."""
    if loss.reduction == "none":
        return g.reshape(-1, 1)
    return g * _const(g, loss.targets.scale)


class CrossEntropy(Function):
    """Cross entropy of logits x (M, C) against class indices t: log_softmax, then the
    negative log likelihood of the target class,
      p_i = softmax(x_i),  log p_i = x_i - max_i - log(sum(exp(x_i - max_i))) (finite for
      any logits),  loss_i = -w[t_i] log p_i[t_i]
    (w the class weights, 1 if none; 0 for ignored rows). With label smoothing eps:
      loss_i = (1 - eps) (-w[t_i] log p_i[t_i]) + eps / C (-sum_c w_c log p_i[c]).
    The gradient is the famous softmax - onehot, weighted:
      dloss_i/dx_ic = w[t_i] (p_ic - [c == t_i])      (eps = 0)
      dloss_i/dx_ic = (1 - eps) w[t_i] (p_ic - [c == t_i]) + eps / C (W p_ic - w_c),
    W = sum_c w_c; times the output gradient, divided by sum_i w[t_i] for 'mean'."""

    def forward(self, x: Any, *, target: Any, weight: Any, ignore_index: int, reduction: str,
                label_smoothing: float) -> Any:
        xp = get_array_module(x)
        c = x.shape[1]
        t = _ClassTargets(xp.asarray(target), c, None if weight is None else xp.asarray(weight),
                          ignore_index, x.dtype)
        self.targets, self.reduction, self.eps, self.num_classes = t, reduction, label_smoothing, c
        shifted = x - x.max(axis=1, keepdims=True)
        exps = xp.exp(shifted)
        sums = exps.sum(axis=1, keepdims=True)
        log_sums = xp.log(sums)[:, 0]
        self.probs = exps / sums  # p = softmax(x)
        picked = xp.take_along_axis(shifted, t.index[:, None], axis=1)[:, 0]
        loss = (log_sums - picked) * t.row_weight  # -w[t] log p[t]
        eps = label_smoothing
        if eps > 0:
            if t.weight is None:  # -sum_c w_c log p[c]
                smooth = c * log_sums - shifted.sum(axis=1)
            else:
                smooth = t.weight.sum() * log_sums - shifted @ t.weight
            loss = (1.0 - eps) * loss + (eps / c) * (smooth * t.valid)
        return _reduce_rows(loss.astype(x.dtype, copy=False), reduction, t)

    def backward(self, g: Tensor) -> Tensor:
        a, b = self.gradient_terms()  # (constants: they depend on the targets only)
        p = Softmax.apply(self.inputs[0], dim=1)  # softmax(x) again, in differentiable ops
        return (p * _const(g, a) - _const(g, b)) * _row_coefficient(g, self)

    def gradient_terms(self) -> tuple[Any, Any]:
        """dloss_i/dx_ic = p_ic * a_i - b_ic:  a_i = (1 - eps) w[t_i] + eps W / C,
        b_ic = (1 - eps) w[t_i] [c == t_i] + eps w_c / C  (rows of ignored targets are 0).
        Returns a as an (M, 1) column and b (M, C)."""
        t, eps, c = self.targets, self.eps, self.num_classes
        valid = t.valid.astype(t.row_weight.dtype)
        a = (1.0 - eps) * t.row_weight + (eps / c) * t.class_weight.sum() * valid
        b = (eps / c) * (valid[:, None] * t.class_weight)
        b[t.rows, t.index] += (1.0 - eps) * t.row_weight
        return a[:, None], b


class NllLoss(Function):
    """loss_i = -w[t_i] * x_i[t_i] for log-probabilities x (M, C) (0 for ignored rows).
    dloss_i/dx_ic = -w[t_i] [c == t_i]: a constant matrix times the output gradient."""

    def forward(self, x: Any, *, target: Any, weight: Any, ignore_index: int,
                reduction: str) -> Any:
        xp = get_array_module(x)
        t = _ClassTargets(xp.asarray(target), x.shape[1],
                          None if weight is None else xp.asarray(weight), ignore_index, x.dtype)
        self.targets, self.reduction, self.shape = t, reduction, x.shape
        loss = -x[t.rows, t.index] * t.row_weight
        return _reduce_rows(loss, reduction, t)

    def backward(self, g: Tensor) -> Tensor:
        t = self.targets
        xp = get_array_module(g.array)
        picks = xp.zeros(self.shape, dtype=g.dtype)
        picks[t.rows, t.index] = -t.row_weight
        return _const(g, picks) * _row_coefficient(g, self)


def _class_inputs(input: Tensor, target: Tensor, weight: Tensor | None, op: str
                  ) -> tuple[Tensor, Tensor, Any, tuple]:
    """Flatten input (N, C, d1, ...) to (M, C) and integer targets (N, d1, ...) to (M,).
    Returns (input2d, int64 targets, weight array or None, shape of reduction='none')."""
    _check_float(input, "input", op)
    _check_tensor(target, "target", op)
    if input.ndim == 0:
        raise ValueError(f"{op}: input must have a class dim, got a 0-d tensor")
    if input.ndim == 1:  # unbatched (C,) with a 0-d target
        expected = ()
    else:
        expected = (input.shape[0],) + tuple(input.shape[2:])
    if tuple(target.shape) != expected:
        raise ValueError(f"{op}: expected target of shape {expected} for input of shape "
                         f"{tuple(input.shape)}, got target of shape {tuple(target.shape)}")
    if target.dtype.kind not in "iu":
        raise TypeError(f"{op}: class-index targets must be an integer tensor (int64), got "
                        f"{target.dtype} for input of shape {tuple(input.shape)}; use "
                        "target.long(), or pass probabilities of the same shape as the input")
    if target.device != input.device:
        raise RuntimeError(f"{op}: input is on {input.device} but target is on "
                           f"{target.device}")
    c = input.shape[0] if input.ndim == 1 else input.shape[1]
    w = None
    if weight is not None:
        _check_tensor(weight, "weight", op)
        if tuple(weight.shape) != (c,):
            raise ValueError(f"{op}: weight must have shape ({c},) (one per class), got "
                             f"{tuple(weight.shape)}")
        if weight.device != input.device:
            raise RuntimeError(f"{op}: input is on {input.device} but weight is on "
                               f"{weight.device}")
        w = weight.to(input.dtype).array
    if input.ndim == 1:
        flat = input.reshape(1, c)
    elif input.ndim == 2:
        flat = input
    else:
        axes = (0,) + tuple(range(2, input.ndim)) + (1,)
        flat = input.permute(*axes).reshape(-1, c)
    return flat, target.reshape(-1).long(), w, expected


def _probability_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None,
                               reduction: str, label_smoothing: float, op: str) -> Tensor:
    """cross_entropy with class probabilities as targets (same shape as the input)."""
    if not backend.is_floating(target.dtype):
        raise TypeError(f"{op}: targets of the same shape as the input {tuple(input.shape)} "
                        f"are class probabilities and must be floating point, got "
                        f"{target.dtype}")
    if target.dtype != input.dtype:
        target = target.to(input.dtype)
    class_dim = 0 if input.ndim == 1 else 1
    c = input.shape[class_dim]
    if label_smoothing > 0:
        target = target * (1.0 - label_smoothing) + label_smoothing / c
    terms = input.log_softmax(class_dim) * target
    if weight is not None:
        if tuple(weight.shape) != (c,):
            raise ValueError(f"{op}: weight must have shape ({c},) (one per class), got "
                             f"{tuple(weight.shape)}")
        shape = [1] * input.ndim
        shape[class_dim] = c
        terms = terms * weight.to(input.dtype).reshape(shape)
    if reduction == "none":
        return -terms.sum(class_dim)
    if reduction == "sum":
        return -terms.sum()
    rows = input.numel() // c if c else 0
    return -terms.sum() / (rows if rows else float("nan"))


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                  size_average: bool | None = None, ignore_index: int = -100,
                  reduce: bool | None = None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Cross entropy of logits `input` (N, C) or (N, C, d1, ...) against class indices
    `target` (N,) / (N, d1, ...) (int64), or class probabilities of the input's shape.

    = nll_loss(log_softmax(input, 1), target), fused: finite for any logits, and the backward
    is softmax - onehot. Options as PyTorch: class `weight` (mean divides by the summed
    weights of the counted targets), `ignore_index`, `label_smoothing` (mixes in the uniform
    distribution with weight label_smoothing)."""
    op = "cross_entropy"
    reduction = _reduction(size_average, reduce, reduction, op)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be between 0.0 and 1.0, got "
                         f"{label_smoothing}")
    _check_float(input, "input", op)
    _check_tensor(target, "target", op)
    if target.shape == input.shape and input.ndim >= 1:
        if ignore_index >= 0:
            raise ValueError(f"{op}: ignore_index is not supported for probability targets")
        return _probability_cross_entropy(input, target, weight, reduction, label_smoothing, op)
    flat, labels, w, out_shape = _class_inputs(input, target, weight, op)
    _check_class_range(labels, ignore_index, flat.shape[1], op)
    loss = CrossEntropy.apply(flat, target=labels.array, weight=w, ignore_index=ignore_index,
                              reduction=reduction, label_smoothing=float(label_smoothing))
    return loss.reshape(out_shape) if reduction == "none" else loss


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
             size_average: bool | None = None, ignore_index: int = -100,
             reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """Negative log likelihood: -input[n, target[n]] (input holds log-probabilities, e.g. from
    log_softmax), with class `weight` and `ignore_index` as PyTorch ('mean' divides by the
    summed weights of the counted targets)."""
    op = "nll_loss"
    reduction = _reduction(size_average, reduce, reduction, op)
    flat, labels, w, out_shape = _class_inputs(input, target, weight, op)
    _check_class_range(labels, ignore_index, flat.shape[1], op)
    loss = NllLoss.apply(flat, target=labels.array, weight=w, ignore_index=ignore_index,
                         reduction=reduction)
    return loss.reshape(out_shape) if reduction == "none" else loss


# ---------------------------------------------------------------------------------------------
# binary classification losses
# ---------------------------------------------------------------------------------------------
def _binary_pair(input: Tensor, target: Tensor, op: str) -> Tensor:
    _check_float(input, "input", op)
    _check_tensor(target, "target", op)
    if target.shape != input.shape:
        raise ValueError(f"{op}: using a target size {tuple(target.shape)} that is different "
                         f"to the input size {tuple(input.shape)} is not supported; please "
                         "ensure they have the same size")
    return target if target.dtype == input.dtype else target.to(input.dtype)


class BinaryCrossEntropy(Function):
    """loss = reduction of -(y log x + (1 - y) log(1 - x)), each log clamped at -100 (as
    PyTorch), the mean dividing by the element count n.
    dloss/dx = (x - y) / max(x (1 - x), 1e-12),  dloss/dy = log(1 - x) - log(x) (clamped),
    times the output gradient (/ n for 'mean')."""

    def forward(self, x: Any, y: Any, *, reduction: str = "none") -> Any:
        xp = get_array_module(x)
        with np.errstate(divide="ignore", invalid="ignore"):  # x outside [0, 1]: nan
            log_x = xp.maximum(xp.log(x), -100.0)
            log_1mx = xp.maximum(xp.log(1.0 - x), -100.0)
        self.reduction, self.shape = reduction, x.shape
        return _reduce_array(-(y * (log_x - log_1mx) + log_1mx), reduction)

    def backward(self, g: Tensor) -> tuple:
        x, y = self.inputs
        g = _expand_reduced_grad(g, self.shape, self.reduction)
        gx = gy = None
        if self.needs_input_grad[0]:
            gx = g * (x - y) / (x * (1.0 - x)).clamp(min=1e-12)
        if self.needs_input_grad[1]:
            with np.errstate(divide="ignore"):
                gy = g * ((1.0 - x).log().clamp(min=-100.0) - x.log().clamp(min=-100.0))
        return gx, gy


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         size_average: bool | None = None, reduce: bool | None = None,
                         reduction: str = "mean") -> Tensor:
    """-w (y log x + (1 - y) log(1 - x)) for probabilities x in [0, 1] (logs clamped at -100).
    Prefer binary_cross_entropy_with_logits, which is stable for any logits."""
    op = "binary_cross_entropy"
    reduction = _reduction(size_average, reduce, reduction, op)
    target = _binary_pair(input, target, op)
    # reading the values stalls the GPU: checked there only under detect_anomaly; unchecked,
    # an input outside [0, 1] gives NaN (the log of a negative number)
    if input.numel() and autograd.checks_values(input.array) and not bool(
            ((input >= 0) & (input <= 1)).all()):
        raise ValueError(f"{op}: all elements of input should be between 0 and 1 (apply "
                         "sigmoid first, or use binary_cross_entropy_with_logits)")
    if weight is None:  # the reduction inside the one node, as PyTorch's graph shows
        return BinaryCrossEntropy.apply(input, target, reduction=reduction)
    loss = BinaryCrossEntropy.apply(input, target) * weight.to(input.dtype)
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor,
                                     weight: Tensor | None = None,
                                     size_average: bool | None = None,
                                     reduce: bool | None = None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """Binary cross entropy of sigmoid(x) against y, computed stably from the logits x:
    (1 - y) x + l * log(1 + exp(-x)) = (1 - y) x - l * logsigmoid(x), with
    l = 1 + (pos_weight - 1) y (pos_weight broadcasts over the last dim, the classes)."""
    op = "binary_cross_entropy_with_logits"
    reduction = _reduction(size_average, reduce, reduction, op)
    target = _binary_pair(input, target, op)
    log_sig = LogSigmoid.apply(input)
    if pos_weight is None:
        loss = (1.0 - target) * input - log_sig
    else:
        _check_tensor(pos_weight, "pos_weight", op)
        pw = pos_weight.to(input.dtype)
        loss = (1.0 - target) * input - ((pw - 1.0) * target + 1.0) * log_sig
    if weight is not None:
        loss = loss * weight.to(input.dtype)
    return _reduce(loss, reduction)


# --- issue 16: nn part A ---
# More activations, distances, embedding / gumbel_softmax and the rest of PyTorch's losses,
# each a composition of Tensor ops (autograd gives every gradient, to any order).
__all__ += [
    "threshold", "glu", "tanhshrink", "prelu", "embedding", "cosine_similarity",
    "pairwise_distance", "gumbel_softmax", "kl_div", "poisson_nll_loss", "gaussian_nll_loss",
    "margin_ranking_loss", "hinge_embedding_loss", "cosine_embedding_loss",
    "triplet_margin_loss", "multi_margin_loss", "multilabel_soft_margin_loss",
    "soft_margin_loss", "ctc_loss",
]
from ..tensor import cat as _cat  # noqa: E402
from ..tensor import full as _full  # noqa: E402
from ..tensor import full_like as _full_like  # noqa: E402
from ..tensor import stack as _stack  # noqa: E402
from ..tensor import tensor as _tensor  # noqa: E402


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x if x > threshold else value."""
    return _maybe_inplace(input, inplace, "threshold_",
                          lambda x: where(x <= threshold, value, x))


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """a * sigmoid(b), where a and b are the two halves of `input` along `dim`."""
    _check_tensor(input, "input", "glu")
    if input.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    size = input.shape[dim]
    if size % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension "
                           f"{dim % input.ndim} is size {size}")
    a, b = input.chunk(2, dim)
    return a * b.sigmoid()


def tanhshrink(input: Tensor) -> Tensor:
    """x - tanh(x)."""
    return input - input.tanh()


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """x if x > 0 else a * x, with a learnable slope `weight`: one value, or one per channel
    (dim 1 of the input; an input of fewer dims has one channel)."""
    _check_tensor(input, "input", "prelu")
    _check_tensor(weight, "weight", "prelu")
    n = weight.numel()
    if n != 1:
        channels = input.shape[1] if input.ndim >= 2 else 1
        if weight.ndim != 1 or n != channels:
            raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found "
                               f"parameter numbers = {n} and channel size = {channels}.")
        if input.ndim >= 2:  # (C,) -> (C, 1, ..., 1) so that it broadcasts along dim 1
            weight = weight.reshape(n, *([1] * (input.ndim - 2)))
    elif weight.ndim:
        weight = weight.reshape(())
    return where(input > 0, input, input * weight)


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """weight[input]: the rows of the (num_embeddings, embedding_dim) table at the indices;
    the rows looked up at `padding_idx` pass no gradient back to the table."""
    _check_tensor(weight, "weight", "embedding")
    if not isinstance(input, Tensor) or input.dtype.kind not in "iu":
        kind = input.dtype if isinstance(input, Tensor) else type(input).__name__
        raise TypeError(f"embedding: expected indices as an integer tensor (int64/int32), got "
                        f"{kind}")
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise NotImplementedError("embedding: max_norm, scale_grad_by_freq and sparse are not "
                                  "supported")
    rows = weight.shape[0]
    if padding_idx is not None:
        if not -rows <= padding_idx < rows:
            raise AssertionError("Padding_idx must be within num_embeddings")
        padding_idx %= rows
    checked = autograd.checks_values(input.array)
    if checked and input.numel():  # reads the values back: on the GPU only when asked
        low, high = int(input.min()), int(input.max())
        if low < 0 or high >= rows:
            raise IndexError(f"embedding: index {low if low < 0 else high} is out of range "
                             f"for a table of {rows} rows")
    if checked:
        out = weight[input]
    else:  # unchecked (GPU): an out-of-range index gives a row of NaN, as nn.Embedding
        valid = (input >= 0) & (input < rows)
        out = where(valid.unsqueeze(-1), weight[where(valid, input, 0)], math.nan)
    if padding_idx is not None and out.requires_grad:
        out = where((input != padding_idx).unsqueeze(-1), out, out.detach())
    return out


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """sum(x1 * x2) / (max(||x1||, eps) * max(||x2||, eps)) along `dim` (they broadcast)."""
    _check_float(x1, "x1", "cosine_similarity")
    _check_float(x2, "x2", "cosine_similarity")
    n1 = x1.norm(2, dim, keepdim=True).clamp(min=eps)
    n2 = x2.norm(2, dim, keepdim=True).clamp(min=eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
    """||x1 - x2 + eps||_p along the last dim (eps keeps the gradient finite at x1 == x2)."""
    _check_float(x1, "x1", "pairwise_distance")
    _check_float(x2, "x2", "pairwise_distance")
    return (x1 - x2 + eps).norm(p, max(x1.ndim, x2.ndim) - 1, keepdim=keepdim)


def gumbel_softmax(logits: Tensor, tau: float = 1, hard: bool = False, eps: float = 1e-10,
                   dim: int = -1) -> Tensor:
    """softmax((logits + g) / tau) along `dim`, g = -log(-log(u)) Gumbel(0, 1) noise drawn
    with the library's RNG. hard=True returns the one-hot of its argmax, differentiated as the
    soft sample (the straight-through estimator: y_hard - y_soft.detach() + y_soft)."""
    _check_float(logits, "logits", "gumbel_softmax")
    u = rand(*logits.shape, dtype=logits.dtype, device=logits.device)
    gumbels = -(-(u.clamp(min=float(np.finfo(u.dtype).tiny)).log())).log()
    y_soft = ((logits + gumbels) / tau).softmax(dim)
    if not hard:
        return y_soft
    index = y_soft.argmax(dim, keepdim=True)
    positions = arange(logits.shape[dim], device=logits.device)
    positions = positions.reshape(-1, *([1] * (logits.ndim - 1 - dim % logits.ndim)))
    y_hard = (positions == index).to(logits.dtype)
    return y_hard - y_soft.detach() + y_soft


# losses ---------------------------------------------------------------------------------------
def _safe_log(t: Tensor) -> Tensor:
    """log(t) where t != 0 and 0 at t == 0 (so t * _safe_log(t) is xlogy(t, t), with a finite
    gradient at 0)."""
    return where(t == 0, 1.0, t).log()


def kl_div(input: Tensor, target: Tensor, size_average: bool | None = None,
           reduce: bool | None = None, reduction: str = "mean",
           log_target: bool = False) -> Tensor:
    """KL(target || exp(input)) elementwise for log-probabilities `input`:
    target * (log target - input) (0 where target == 0), or with log_target
    exp(target) * (target - input). 'batchmean' divides the sum by input.size(0), the true
    KL divergence per sample; 'mean' divides by the element count (and warns, as PyTorch)."""
    op = "kl_div"
    if size_average is not None or reduce is not None:
        reduction = _reduction(size_average, reduce, reduction, op)
    elif reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the "
                      "support size.'batchmean' divides only by the batch size, and aligns with "
                      "the KL div math definition.'mean' will be changed to behave the same as "
                      "'batchmean' in the next major release.", UserWarning, stacklevel=2)
    elif reduction != "batchmean":
        reduction = _reduction(None, None, reduction, op)
    _check_float(input, "input", op)
    _check_tensor(target, "target", op)
    target = target.to(input.dtype)
    if log_target:
        loss = target.exp() * (target - input)
    else:
        loss = target * _safe_log(target) - target * input
    if reduction == "batchmean":
        total = loss.sum()
        return total / input.shape[0] if input.ndim else total
    return _reduce(loss, reduction)


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True, full: bool = False,
                     size_average: bool | None = None, eps: float = 1e-8,
                     reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of target ~ Poisson(rate): exp(input) - target * input for a
    log-rate (log_input=True), else input - target * log(input + eps); `full` adds Stirling's
    term target log target - target + 0.5 log(2 pi target) where target > 1."""
    op = "poisson_nll_loss"
    reduction = _reduction(size_average, reduce, reduction, op)
    _check_float(input, "input", op)
    _check_tensor(target, "target", op)
    target = target.to(input.dtype)
    loss = input.exp() - target * input if log_input else input - target * (input + eps).log()
    if full:
        big = target > 1
        safe = where(big, target, 1.0)
        stirling = safe * safe.log() - safe + 0.5 * (safe * (2 * math.pi)).log()
        loss = loss + where(big, stirling, 0.0)
    return _reduce(loss, reduction)


def gaussian_nll_loss(input: Tensor, target: Tensor, var: Tensor | float, full: bool = False,
                      eps: float = 1e-6, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of target ~ N(input, var): 0.5 (log var + (input - target)^2 /
    var) (+ 0.5 log(2 pi) with `full`). `var` has input's shape, or one fewer trailing dim, or
    a size-1 dim (one variance shared), or is a float. var is clamped to >= eps for the value
    only (the gradient passes as if unclamped, as PyTorch)."""
    op = "gaussian_nll_loss"
    _check_float(input, "input", op)
    _check_tensor(target, "target", op)
    if isinstance(var, float):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = _full_like(input, var)
    else:
        _check_tensor(var, "var", op)
        if var.numel() and autograd.checks_values(var.array) and bool((var < 0).any()):
            raise ValueError("var has negative entry/entries")
    if var.shape != input.shape:
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)
        elif input.ndim == var.ndim and sum(
                b for a, b in zip(input.shape, var.shape) if a != b) == 1:
            pass
        else:
            raise ValueError("var is of incorrect size")
    if reduction not in _REDUCTIONS:
        raise ValueError(reduction + " is not valid")
    var = var + (var.detach().clamp(min=eps) - var.detach())
    loss = ((input - target) ** 2 / var + var.log()) * 0.5
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0,
                        size_average: bool | None = None, reduce: bool | None = None,
                        reduction: str = "mean") -> Tensor:
    """max(0, -target * (input1 - input2) + margin), target 1 (input1 should rank higher) or
    -1."""
    op = "margin_ranking_loss"
    reduction = _reduction(size_average, reduce, reduction, op)
    for name, t in (("input1", input1), ("input2", input2), ("target", target)):
        _check_tensor(t, name, op)
    if input1.ndim != input2.ndim or input1.ndim != target.ndim:
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same dimension "
                           f"but got sizes: input1: {input1.shape}, input2: {input2.shape}, "
                           f"target: {target.shape} ")
    loss = (-target * (input1 - input2) + margin).clamp(min=0)
    return _reduce(loss, reduction)


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0,
                         size_average: bool | None = None, reduce: bool | None = None,
                         reduction: str = "mean") -> Tensor:
    """input where target == 1, max(0, margin - input) where target == -1 (input is usually a
    distance between two embeddings)."""
    op = "hinge_embedding_loss"
    reduction = _reduction(size_average, reduce, reduction, op)
    _check_float(input, "input", op)
    _check_tensor(target, "target", op)
    loss = (where(target != 1, (margin - input).clamp(min=0), 0.0)
            + where(target != -1, input, 0.0))
    return _reduce(loss, reduction)


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0,
                          size_average: bool | None = None, reduce: bool | None = None,
                          reduction: str = "mean") -> Tensor:
    """1 - cos(input1, input2) where target == 1, max(0, cos - margin) where target == -1
    (cos over the last dim, with 1e-12 added to each squared norm, as PyTorch)."""
    op = "cosine_embedding_loss"
    reduction = _reduction(size_average, reduce, reduction, op)
    for name, t in (("input1", input1), ("input2", input2), ("target", target)):
        _check_tensor(t, name, op)
    if target.ndim > 1:
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if input1.ndim != target.ndim + 1 or input2.ndim != target.ndim + 1:
        raise RuntimeError(f"{target.ndim}D target tensor expects {target.ndim + 1}D input "
                           f"tensors, but found inputs with sizes {list(input1.shape)} and "
                           f"{list(input2.shape)}.")
    dim = target.ndim
    dot = (input1 * input2).sum(dim)
    sq1 = (input1 * input1).sum(dim) + 1e-12
    sq2 = (input2 * input2).sum(dim) + 1e-12
    cos = dot / (sq1 * sq2).sqrt()
    loss = where(target == 1, 1.0 - cos, 0.0) + where(target == -1, (cos - margin).clamp(min=0),
                                                        0.0)
    return _reduce(loss, reduction)


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor,
                        margin: float = 1.0, p: float = 2, eps: float = 1e-6,
                        swap: bool = False, size_average: bool | None = None,
                        reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """max(0, margin + d(anchor, positive) - d(anchor, negative)), d = pairwise_distance;
    with `swap`, d(anchor, negative) is replaced by min(it, d(positive, negative))."""
    op = "triplet_margin_loss"
    reduction = _reduction(size_average, reduce, reduction, op)
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    for name, t in (("anchor", anchor), ("positive", positive), ("negative", negative)):
        _check_float(t, name, op)
    if not anchor.ndim == positive.ndim == negative.ndim:
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have the "
                           f"same number of dimensions, but got: anchor {anchor.ndim}D, "
                           f"positive {positive.ndim}D, and negative {negative.ndim}D inputs")
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = d_neg.minimum(pairwise_distance(positive, negative, p, eps))
    return _reduce((d_pos - d_neg + margin).clamp(min=0), reduction)


def multi_margin_loss(input: Tensor, target: Tensor, p: int = 1, margin: float = 1.0,
                      weight: Tensor | None = None, size_average: bool | None = None,
                      reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """Multi-class hinge loss of scores x (N, C) (or (C,)) and class indices y:
    sum over i != y of w[y] max(0, margin - x[y] + x[i])^p, divided by C."""
    op = "multi_margin_loss"
    reduction = _reduction(size_average, reduce, reduction, op)
    if p not in (1, 2):
        raise ValueError("only p == 1 and p == 2 supported")
    if weight is not None and weight.ndim != 1:
        raise ValueError("weight must be one-dimensional")
    _check_float(input, "input", op)
    _check_tensor(target, "target", op)
    if input.ndim > 2 or target.ndim > 1:
        raise RuntimeError(f"{op}: expected input of 1 or 2 dims and target of 0 or 1, got "
                           f"{tuple(input.shape)} and {tuple(target.shape)}")
    x = input.reshape(1, -1) if input.ndim < 2 else input
    y = target.reshape(-1)
    n, classes = x.shape
    if y.shape[0] != n:
        raise RuntimeError(f"inconsistent target size, expected {n} but got "
                           f"{list(target.shape)}")
    if y.numel() and autograd.checks_values(y.array):
        if int(y.min()) < 0 or int(y.max()) >= classes:
            raise RuntimeError("target out of range")
    own = x.gather(1, y.unsqueeze(1))
    z = (x - own + margin).clamp(min=0)
    z = z * z if p == 2 else z
    if weight is not None:
        z = z * weight.to(x.dtype)[y].unsqueeze(1)
    is_target = arange(classes, device=x.device) == y.unsqueeze(1)
    loss = where(is_target, 0.0, z).sum(1) / classes
    if input.ndim < 2:
        loss = loss.reshape(target.shape) if target.ndim == 0 else loss
    return _reduce(loss, reduction)


def multilabel_soft_margin_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                size_average: bool | None = None, reduce: bool | None = None,
                                reduction: str = "mean") -> Tensor:
    """Binary cross entropy of sigmoid(x) per class, averaged over the classes (last dim):
    -mean_c (y log sigmoid(x) + (1 - y) log sigmoid(-x)), optionally weighted per class."""
    op = "multilabel_soft_margin_loss"
    if size_average is not None or reduce is not None:
        reduction = _reduction(size_average, reduce, reduction, op)
    _check_float(input, "input", op)
    _check_tensor(target, "target", op)
    loss = -(target * LogSigmoid.apply(input) + (1 - target) * LogSigmoid.apply(-input))
    if weight is not None:
        loss = loss * weight
    loss = loss.sum(input.ndim - 1) / input.shape[-1]
    if reduction not in _REDUCTIONS:
        raise ValueError(reduction + " is not valid")
    return _reduce(loss, reduction)


def soft_margin_loss(input: Tensor, target: Tensor, size_average: bool | None = None,
                     reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    """log(1 + exp(-target * input)) (a smooth hinge for targets 1 / -1), computed stably as
    -logsigmoid(target * input)."""
    op = "soft_margin_loss"
    reduction = _reduction(size_average, reduce, reduction, op)
    _check_float(input, "input", op)
    _check_tensor(target, "target", op)
    return _reduce(-LogSigmoid.apply(input * target.to(input.dtype)), reduction)

_CTC_NEG = -1e30  # log(0) for the CTC recursion: finite, so that no gradient becomes NaN


def _lengths(value: Any, name: str) -> list[int]:
    """input_lengths / target_lengths (a tensor, list or tuple of ints) as Python ints."""
    if isinstance(value, Tensor):
        return [int(v) for v in value.reshape(-1).tolist()]
    if isinstance(value, (list, tuple)):
        return [int(v) for v in value]
    raise TypeError(f"ctc_loss: {name} must be a tensor or a tuple of ints, got "
                    f"{type(value).__name__}")


def ctc_loss(log_probs: Tensor, targets: Tensor, input_lengths: Any, target_lengths: Any,
             blank: int = 0, reduction: str = "mean", zero_infinity: bool = False) -> Tensor:
    """Connectionist Temporal Classification loss: -log of the total probability of every
    alignment of the (T, N, C) log-probabilities (or (T, C)) that reads as the target once
    repeats are merged and blanks removed. Computed by the forward (alpha) recursion over the
    target with a blank between and around its labels (length 2S + 1), in log space:
        alpha_t(s) = logsumexp(alpha_{t-1}(s), alpha_{t-1}(s-1), [alpha_{t-1}(s-2)]) + lp_t(l_s)
    (the s-2 term only from a label to a different label); autograd gives the gradient.
    targets: (N, S) padded, or 1-D with the targets one after the other. 'mean' divides each
    loss by its target length, then averages over the batch. An impossible alignment (target
    too long for the input) gives inf, or 0 with `zero_infinity`.
    The gradient is the exact derivative of this formula. PyTorch's own CTC backward assumes
    that log_probs come from log_softmax; the two agree on the gradient of the logits before
    the log_softmax (the usual case), not on that of log_probs themselves."""
    op = "ctc_loss"
    reduction = _reduction(None, None, reduction, op)
    _check_float(log_probs, "log_probs", op)
    _check_tensor(targets, "targets", op)
    unbatched = log_probs.ndim == 2
    if unbatched:
        log_probs = log_probs.unsqueeze(1)
        targets = targets.unsqueeze(0) if targets.ndim == 1 else targets
    if log_probs.ndim != 3:
        raise RuntimeError(f"ctc_loss: log_probs must be (T, N, C) or (T, C), got shape "
                           f"{tuple(log_probs.shape)}")
    steps, batch, _ = log_probs.shape
    in_lens, tg_lens = _lengths(input_lengths, "input_lengths"), _lengths(target_lengths,
                                                                          "target_lengths")
    if len(in_lens) != batch:
        raise RuntimeError("input_lengths must be of size batch_size")
    if len(tg_lens) != batch:
        raise RuntimeError("target_lengths must be of size batch_size")
    if max(in_lens) > steps:
        raise RuntimeError(f"Expected input_lengths to have value at most {steps}, but got "
                           f"value {max(in_lens)}")
    longest = max(tg_lens)
    if targets.ndim == 1:  # concatenated: cut into rows, padded with the blank
        rows, start = [], 0
        for n in tg_lens:
            rows.append([int(v) for v in targets[start:start + n].tolist()]
                        + [blank] * (longest - n))
            start += n
        targets = _tensor(rows, dtype=backend.int64, device=log_probs.device).reshape(
            batch, longest)
    elif targets.shape[1] < longest:
        raise RuntimeError(f"Expected tensor to have size at least {longest} at dimension 1, "
                           f"but got size {targets.shape[1]} for argument #2 'targets'")
    device, dtype = log_probs.device, log_probs.dtype
    lengths = _tensor(tg_lens, dtype=backend.int64, device=device)
    labels = where(arange(longest, device=device) < lengths.unsqueeze(1),
                   targets[:, :longest].long(), blank)  # the padding -> blank
    # extended labels: blank, l1, blank, l2, ..., blank, lS, blank: (N, L = 2S + 1)
    blanks = _full((batch, longest), blank, dtype=backend.int64, device=device)
    blank_col = _full((batch, 1), blank, dtype=backend.int64, device=device)
    ext = _cat([_stack([blanks, labels], 2).reshape(batch, 2 * longest), blank_col], 1)
    size = 2 * longest + 1
    lp = log_probs.gather(2, ext.unsqueeze(0).expand(steps, batch, size))  # (T, N, L)
    # the jump s-2 -> s is allowed onto a label that differs from the label two back
    two_back = _cat([_full((batch, 2), -1, dtype=backend.int64, device=device), ext[:, :-2]], 1)
    skip = (ext != blank) & (ext != two_back)
    neg = _full((batch, 1), _CTC_NEG, dtype=dtype, device=device)
    alpha = where(arange(size, device=device) < 2, lp[0], _CTC_NEG)  # start: blank or l1
    in_lens_t = _tensor(in_lens, dtype=backend.int64, device=device)
    for t in range(1, steps):
        stay = alpha
        step = _cat([neg, alpha[:, :-1]], 1)
        jump = where(skip, _cat([neg, neg, alpha[:, :-2]], 1), _CTC_NEG)
        new = _stack([stay, step, jump], 0).logsumexp(0) + lp[t]
        alpha = where((in_lens_t > t).unsqueeze(1), new, alpha)  # finished sequences stay
    # end on the last label or the blank after it
    end = alpha.gather(1, (2 * lengths).unsqueeze(1)).squeeze(1)
    before = alpha.gather(1, (2 * lengths - 1).clamp(min=0).unsqueeze(1)).squeeze(1)
    before = where(lengths > 0, before, _CTC_NEG)
    loss = -_stack([end, before], 0).logsumexp(0)
    loss = where(loss > -_CTC_NEG / 2, 0.0 if zero_infinity else math.inf, loss)  # impossible
    if reduction == "mean":
        return (loss / lengths.clamp(min=1).to(dtype)).mean()
    if reduction == "sum":
        return loss.sum()
    return loss.squeeze(0) if unbatched else loss



# ---------------------------------------------------------------------------------------------
# --- issue 16: nn part B ---
# padding modes, 1-d convolution and pooling, transposed convolution, adaptive max pooling,
# group and instance norm, channel and alpha dropout, pixel shuffle, interpolation, bilinear,
# embedding with max_norm, embedding bags
# ---------------------------------------------------------------------------------------------
__all__ += [
    "conv1d", "conv_transpose1d", "conv_transpose2d", "max_pool1d", "avg_pool1d",
    "adaptive_avg_pool1d", "adaptive_max_pool1d", "adaptive_max_pool2d", "group_norm",
    "instance_norm", "dropout1d", "dropout2d", "alpha_dropout", "pixel_shuffle",
    "pixel_unshuffle", "interpolate", "bilinear", "embedding_bag",
]


def _source_index(size: int, before: int, after: int, mode: str) -> np.ndarray:
    """Host int64 array: for each position of a padded axis, the input position it copies.
    reflect mirrors without repeating the edge (3 2 | 1 2 3 | 2 1), replicate repeats the
    edge (1 1 | 1 2 3 | 3 3), circular wraps around (2 3 | 1 2 3 | 1 2)."""
    i = np.arange(-before, size + after)
    if mode == "reflect":
        i = np.abs(i)
        return np.where(i >= size, 2 * (size - 1) - i, i)
    if mode == "replicate":
        return np.clip(i, 0, size - 1)
    return i % size


def _pad_boundary(input: Tensor, pad: Sequence[int], mode: str,
                  value: float | None = None) -> Tensor:
    """F.pad with mode reflect / replicate / circular: one gather along each padded axis,
    out = x[..., index] (so the gradient adds each padded copy back onto its source)."""
    op = f"pad(mode={mode!r})"
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"pad: unrecognised padding mode {mode!r}; use 'constant', "
                                  "'reflect', 'replicate' or 'circular'")
    if value is not None:
        raise RuntimeError(f'Padding mode "{mode}" doesn\'t take in value argument')
    _check_tensor(input, "input", op)
    k = len(pad) // 2
    if len(pad) % 2 or not 1 <= k <= 3 or input.ndim not in (k + 1, k + 2):
        raise NotImplementedError(f"{op}: padding {tuple(pad)} pads the last {k} dims, which "
                                  f"needs a {k + 1}-D or {k + 2}-D input, got shape "
                                  f"{tuple(input.shape)}")
    out = input
    for j in range(k):
        axis = input.ndim - 1 - j
        before, after, size = int(pad[2 * j]), int(pad[2 * j + 1]), input.shape[axis]
        limit = size if mode == "circular" else size - 1 if mode == "reflect" else math.inf
        if min(before, after) < 0 or max(before, after) > limit or size == 0:
            raise RuntimeError(f"{op}: padding ({before}, {after}) of dim {axis} must be "
                               f"non-negative and at most {limit} for input of shape "
                               f"{tuple(input.shape)}")
        out = out[(slice(None),) * axis + (_source_index(size, before, after, mode),)]
    return out


def _single(value: Any, name: str, op: str, minimum: int = 0) -> int:
    """An int or a 1-tuple of ints as an int: 3 -> 3, (3,) -> 3."""
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = value[0]
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
        raise TypeError(f"{op}: {name} must be an int or a tuple of one int, got {value!r}")
    if value < minimum:
        raise ValueError(f"{op}: {name} must be >= {minimum}, got {value!r}")
    return int(value)


def _check_1d_input(input: Tensor, op: str) -> None:
    _check_float(input, "input", op)
    if input.ndim not in (2, 3):
        raise RuntimeError(f"{op}: expected a 2-D (C, L) or 3-D (N, C, L) input, got shape "
                           f"{tuple(input.shape)}")


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,
           padding: Any = 0, dilation: Any = 1, groups: int = 1) -> Tensor:
    """1-D convolution of input (N, C_in, L) or (C_in, L) with weight (C_out, C_in/groups, K):
    conv2d on the (N, C_in, 1, L) view with a (1, K) kernel."""
    op = "conv1d"
    _check_1d_input(input, op)
    _check_tensor(weight, "weight", op)
    if weight.ndim != 3:
        raise RuntimeError(f"{op}: expected a 3-D weight (C_out, C_in/groups, K), got shape "
                           f"{tuple(weight.shape)}")
    if input.ndim == 2:
        return conv1d(input.unsqueeze(0), weight, bias, stride, padding, dilation,
                      groups).squeeze(0)
    pad2 = padding if isinstance(padding, str) else (0, _single(padding, "padding", op))
    out = conv2d(input.unsqueeze(2), weight.unsqueeze(2), bias,
                 (1, _single(stride, "stride", op, 1)), pad2,
                 (1, _single(dilation, "dilation", op, 1)), groups)
    return out.squeeze(2)


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None,
                     stride: Any = 1, padding: Any = 0, output_padding: Any = 0,
                     groups: int = 1, dilation: Any = 1) -> Tensor:
    """Transposed convolution of input (N, C_in, H, W) or (C_in, H, W) with weight
    (C_in, C_out/groups, kH, kW): the gradient of conv2d with respect to its input, used as an
    op of its own (Conv2dInputGrad = col2im(W^T @ x)): each input pixel adds a kernel-sized
    patch, weighted by W, into an output of size
    (H - 1) * stride - 2 * padding + dilation * (kH - 1) + output_padding + 1."""
    op = "conv_transpose2d"
    _check_float(input, "input", op)
    _check_tensor(weight, "weight", op)
    if input.ndim == 3:
        return conv_transpose2d(input.unsqueeze(0), weight, bias, stride, padding,
                                output_padding, groups, dilation).squeeze(0)
    if input.ndim != 4 or weight.ndim != 4:
        raise RuntimeError(f"{op}: expected a 3-D or 4-D input and a 4-D weight, got shapes "
                           f"{tuple(input.shape)} and {tuple(weight.shape)}")
    if weight.dtype != input.dtype:
        raise TypeError(f"{op}: input is {input.dtype} but weight is {weight.dtype}; they "
                        "must have the same dtype")
    if groups < 1 or input.shape[1] != weight.shape[0] or weight.shape[0] % groups:
        raise RuntimeError(f"{op}: input of shape {tuple(input.shape)} needs weight.shape[0] "
                           f"== {input.shape[1]} channels divisible by groups={groups}, got "
                           f"weight of shape {tuple(weight.shape)}")
    kernel = (weight.shape[2], weight.shape[3])
    stride = _conv_pair(stride, "stride", op, minimum=1)
    padding = _conv_pair(padding, "padding", op)
    output_padding = _conv_pair(output_padding, "output_padding", op)
    dilation = _conv_pair(dilation, "dilation", op, minimum=1)
    if any(o >= s and o >= d for o, s, d in zip(output_padding, stride, dilation)):
        raise RuntimeError(f"{op}: output padding must be smaller than either stride or "
                           f"dilation, but got output_padding={output_padding}, "
                           f"stride={stride}, dilation={dilation}")
    out_hw = tuple((n - 1) * s - 2 * p + d * (k - 1) + o + 1 for n, s, p, d, k, o in
                   zip(input.shape[2:], stride, padding, dilation, kernel, output_padding))
    if min(out_hw) <= 0:
        raise RuntimeError(f"{op}: output size {out_hw} is too small for input of shape "
                           f"{tuple(input.shape)} with padding {padding}")
    if any(o >= s for o, s in zip(output_padding, stride)):  # (possible with dilation > 1)
        # a convolution with stride s has no input size that leaves >= s positions over: make
        # the uncropped output (padding 0) and cut it to size (past its end: zeros)
        full = conv_transpose2d(input, weight, None, stride, 0, 0, groups, dilation)
        extra = [max(0, o + p - f) for o, p, f in zip(out_hw, padding, full.shape[2:])]
        full = _tensor_pad(full, (0, extra[1], 0, extra[0]))
        out = full[:, :, padding[0]:padding[0] + out_hw[0], padding[1]:padding[1] + out_hw[1]]
        return out if bias is None else out + bias.reshape(1, -1, 1, 1)
    # the convolution whose input gradient this is: conv input out_hw, conv output H x W
    geo = ConvGeometry(kernel, stride, padding, dilation, int(groups), out_hw,
                       (input.shape[2], input.shape[3]))
    out = Conv2dInputGrad.apply(input, weight, geo=geo)
    return out if bias is None else out + bias.reshape(1, -1, 1, 1)


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None,
                     stride: Any = 1, padding: Any = 0, output_padding: Any = 0,
                     groups: int = 1, dilation: Any = 1) -> Tensor:
    """1-D transposed convolution, input (N, C_in, L) or (C_in, L), weight
    (C_in, C_out/groups, K): conv_transpose2d on the (N, C_in, 1, L) view."""
    op = "conv_transpose1d"
    _check_1d_input(input, op)
    _check_tensor(weight, "weight", op)
    if weight.ndim != 3:
        raise RuntimeError(f"{op}: expected a 3-D weight (C_in, C_out/groups, K), got shape "
                           f"{tuple(weight.shape)}")
    out = conv_transpose2d(input.unsqueeze(-2), weight.unsqueeze(2), bias,
                           (1, _single(stride, "stride", op, 1)),
                           (0, _single(padding, "padding", op)),
                           (0, _single(output_padding, "output_padding", op)), groups,
                           (1, _single(dilation, "dilation", op, 1)))
    return out.squeeze(-2)


def max_pool1d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               dilation: Any = 1, ceil_mode: bool = False, return_indices: bool = False) -> Any:
    """Max over windows of length kernel_size of input (N, C, L) or (C, L): max_pool2d on the
    (N, C, 1, L) view (the indices are then positions along L)."""
    op = "max_pool1d"
    _check_1d_input(input, op)
    if stride is not None and not (isinstance(stride, (list, tuple)) and not stride):
        stride = (1, _single(stride, "stride", op, 1))
    out = max_pool2d(input.unsqueeze(-2), (1, _single(kernel_size, "kernel_size", op, 1)),
                     stride, (0, _single(padding, "padding", op)),
                     (1, _single(dilation, "dilation", op, 1)), ceil_mode, return_indices)
    if return_indices:
        return out[0].squeeze(-2), out[1].squeeze(-2)
    return out.squeeze(-2)


def avg_pool1d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
               ceil_mode: bool = False, count_include_pad: bool = True) -> Tensor:
    """Mean over windows of length kernel_size of input (N, C, L) or (C, L): avg_pool2d on the
    (N, C, 1, L) view."""
    op = "avg_pool1d"
    _check_1d_input(input, op)
    if stride is not None and not (isinstance(stride, (list, tuple)) and not stride):
        stride = (1, _single(stride, "stride", op, 1))
    out = avg_pool2d(input.unsqueeze(-2), (1, _single(kernel_size, "kernel_size", op, 1)),
                     stride, (0, _single(padding, "padding", op)), ceil_mode,
                     count_include_pad)
    return out.squeeze(-2)


def adaptive_avg_pool1d(input: Tensor, output_size: Any) -> Tensor:
    """Average pooling of (N, C, L) or (C, L) to a fixed length: adaptive_avg_pool2d on the
    (N, C, 1, L) view."""
    op = "adaptive_avg_pool1d"
    _check_1d_input(input, op)
    size = _single(output_size, "output_size", op, 1)
    return adaptive_avg_pool2d(input.unsqueeze(-2), (1, size)).squeeze(-2)


def _adaptive_sizes(input: Tensor, output_size: Any, op: str) -> tuple[int, int]:
    """(H_out, W_out) from an int, a pair, or a pair with None meaning 'keep that size'."""
    if isinstance(output_size, (tuple, list)):
        if len(output_size) != 2:
            raise ValueError(f"{op}: output_size must be an int or a pair, got {output_size!r}")
        sizes = [input.shape[-2 + i] if s is None else s for i, s in enumerate(output_size)]
    else:
        sizes = [output_size, output_size]
    return _conv_pair(sizes, "output_size", op, minimum=1)


def adaptive_max_pool2d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    """Max pooling of (N, C, H, W) or (C, H, W) to a fixed size (H_out, W_out), with PyTorch's
    bins rows [floor(i H / H_out), ceil((i + 1) H / H_out)) (columns alike): the max of each
    bin (its gradient goes to the bin's first maximum). With return_indices, also the flat
    index h * W + w of each maximum (int64)."""
    op = "adaptive_max_pool2d"
    _check_float(input, "input", op)
    if input.ndim not in (3, 4):
        raise RuntimeError(f"{op}: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got "
                           f"shape {tuple(input.shape)}")
    out_h, out_w = _adaptive_sizes(input, output_size, op)
    h, w = input.shape[-2:]
    values, indices = [], []
    for i in range(out_h):
        h0, h1 = (i * h) // out_h, -(-((i + 1) * h) // out_h)
        for j in range(out_w):
            w0, w1 = (j * w) // out_w, -(-((j + 1) * w) // out_w)
            best, at = input[..., h0:h1, w0:w1].flatten(-2).max(-1)
            values.append(best)
            indices.append((at // (w1 - w0) + h0) * w + at % (w1 - w0) + w0)
    out = stack(values, -1).unflatten(-1, (out_h, out_w))
    if not return_indices:
        return out
    return out, stack(indices, -1).unflatten(-1, (out_h, out_w))


def adaptive_max_pool1d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    """Max pooling of (N, C, L) or (C, L) to a fixed length: adaptive_max_pool2d on the
    (N, C, 1, L) view."""
    op = "adaptive_max_pool1d"
    _check_1d_input(input, op)
    size = _single(output_size, "output_size", op, 1)
    out = adaptive_max_pool2d(input.unsqueeze(-2), (1, size), return_indices)
    if return_indices:
        return out[0].squeeze(-2), out[1].squeeze(-2)
    return out.squeeze(-2)


def _channel_shape(input: Tensor) -> tuple[int, ...]:
    """(1, C, 1, ...): a per-channel vector's shape for broadcasting against input."""
    return (1, input.shape[1]) + (1,) * (input.ndim - 2)


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Split the C channels into num_groups groups and normalise each group of each sample over
    its channels and positions: x (N, C, *) viewed as (N, G, C/G * prod(*)),
    (x - mean) / sqrt(var + eps) (biased variance), then * weight[c] + bias[c] per channel."""
    op = "group_norm"
    _check_float(input, "input", op)
    if input.ndim < 2:
        raise RuntimeError(f"{op}: expected at least 2 dims (N, C, *), got shape "
                           f"{tuple(input.shape)}")
    n, c = input.shape[:2]
    if num_groups <= 0 or c % num_groups:
        raise RuntimeError(f"{op}: expected number of channels in input to be divisible by "
                           f"num_groups, but got input of shape {tuple(input.shape)} and "
                           f"num_groups={num_groups}")
    groups = input.reshape(n, num_groups, input.numel() // max(n * num_groups, 1))
    centered = groups - groups.mean(2, keepdim=True)
    normed = centered * ((centered * centered).mean(2, keepdim=True) + eps) ** -0.5
    out = normed.reshape(input.shape)
    if weight is not None:
        out = out * weight.reshape(_channel_shape(input))
    if bias is not None:
        out = out + bias.reshape(_channel_shape(input))
    return out


def instance_norm(input: Tensor, running_mean: Tensor | None = None,
                  running_var: Tensor | None = None, weight: Tensor | None = None,
                  bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise each channel of each sample over its positions (dims 2, ...):
    (x - mean) / sqrt(var + eps) (biased variance), then * weight[c] + bias[c]. With
    use_input_stats the running estimates (if given) are updated in place with the statistics
    averaged over the batch (the variance unbiased), as PyTorch; without, they are used."""
    op = "instance_norm"
    _check_float(input, "input", op)
    if input.ndim < 3:
        raise ValueError(f"{op}: expected an input (N, C, *) with at least 3 dims, got shape "
                         f"{tuple(input.shape)}")
    axes = tuple(range(2, input.ndim))
    shape = _channel_shape(input)
    if use_input_stats:
        count = math.prod(input.shape[2:])
        if count <= 1:
            raise ValueError(f"Expected more than 1 spatial element when training, got input "
                             f"size {list(input.shape)}")
        mean = input.mean(axes, keepdim=True)
        var = ((input - mean) ** 2).mean(axes, keepdim=True)
        with autograd.no_grad():  # running = (1 - m) running + m * (batch-averaged statistic)
            if running_mean is not None:
                running_mean.mul_(1.0 - momentum).add_(mean.mean(0).reshape(-1) * momentum)
            if running_var is not None:  # the variance unbiased: times n / (n - 1)
                running_var.mul_(1.0 - momentum).add_(
                    var.mean(0).reshape(-1) * (momentum * count / (count - 1)))
    else:
        if running_mean is None or running_var is None:
            raise ValueError(f"{op}: running_mean and running_var are needed when "
                             "use_input_stats=False")
        mean, var = running_mean.reshape(shape), running_var.reshape(shape)
    out = (input - mean) * (var + eps) ** -0.5
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


def _channel_dropout(input: Tensor, p: float, training: bool, inplace: bool,
                     mask_shape: tuple[int, ...], op: str) -> Tensor:
    """Zero whole slices (one draw per entry of mask_shape, broadcast over the rest) with
    probability p, and scale the kept ones by 1 / (1 - p)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    _check_float(input, "input", op)
    if p == 1.0:
        return _maybe_inplace(input, inplace, f"{op}_", lambda x: x * 0.0)
    keep = rand(mask_shape, dtype=input.dtype, device=input.device) >= p
    mask = keep.to(input.dtype) * (1.0 / (1.0 - p))
    return _maybe_inplace(input, inplace, f"{op}_", lambda x: x * mask)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Channel dropout for (N, C, L) or (C, L): each channel is zeroed with probability p."""
    if input.ndim not in (2, 3):
        raise RuntimeError(f"dropout1d: Expected 2D or 3D input, but received a "
                           f"{input.ndim}D input")
    mask_shape = tuple(input.shape[:-1]) + (1,)
    return _channel_dropout(input, p, training, inplace, mask_shape, "dropout1d")


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True,
              inplace: bool = False) -> Tensor:
    """Channel dropout for (N, C, H, W): in training each (H, W) plane is zeroed with
    probability p and the others scaled by 1 / (1 - p). A 3-D input is taken as (N, C, L),
    with PyTorch's warning."""
    if input.ndim not in (3, 4):
        warnings.warn(f"dropout2d: Received a {input.ndim}-D input to dropout2d, which is "
                      "deprecated and will result in an error in a future release. To retain "
                      "the behavior and silence this warning, please use dropout instead.",
                      UserWarning, stacklevel=2)
    if input.ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that "
                      "channel-wise 1D dropout behavior is desired - input is interpreted as "
                      "shape (N, C, L), where C is the channel dim. This behavior will change "
                      "in a future release to interpret the input as one without a batch "
                      "dimension, i.e. shape (C, H, W). To maintain the 1D channel-wise "
                      "dropout behavior, please switch to using dropout1d instead.",
                      UserWarning, stacklevel=2)
    mask_shape = tuple(input.shape[:2]) + (1,) * (input.ndim - 2)
    return _channel_dropout(input, p, training, inplace, mask_shape, "dropout2d")


_SELU_SATURATION = _SELU_ALPHA * _SELU_SCALE  # selu(x) -> -1.7581 as x -> -inf


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                  inplace: bool = False) -> Tensor:
    """Dropout that keeps SELU activations at mean 0 and variance 1: in training each element
    is set, with probability p, to selu's saturation value -a' (a' = scale * alpha), and then
    y = a * x' + a * a' * p with a = 1 / sqrt((a'^2 p + 1)(1 - p)). The identity otherwise."""
    op = "alpha_dropout"
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    _check_float(input, "input", op)
    if p == 1.0:
        return _maybe_inplace(input, inplace, f"{op}_", lambda x: x * 0.0)
    sat = _SELU_SATURATION
    a = 1.0 / math.sqrt((sat * sat * p + 1.0) * (1.0 - p))
    keep = (rand(input.shape, dtype=input.dtype, device=input.device) >= p).to(input.dtype)
    shift = (keep - 1.0) * (sat * a) + sat * a * p  # a * (-a') where dropped, plus a a' p
    return _maybe_inplace(input, inplace, f"{op}_", lambda x: x * (keep * a) + shift)


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C r^2, H, W) -> (*, C, H r, W r) with r = upscale_factor:
    out[..., c, h r + i, w r + j] = input[..., c r^2 + i r + j, h, w] (a reshape and a
    permute)."""
    r = upscale_factor
    if input.ndim < 3:
        raise RuntimeError(f"pixel_shuffle expects input to have at least 3 dimensions, but "
                           f"got input with {input.ndim} dimension(s)")
    *lead, c, h, w = input.shape
    if r <= 0 or c % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be "
                           f"divisible by the square of upscale_factor, but input.size(-3)={c} "
                           f"is not divisible by {r * r}")
    k = len(lead)
    x = input.reshape(*lead, c // (r * r), r, r, h, w)
    x = x.permute(*range(k), k, k + 3, k + 1, k + 4, k + 2)  # (*, C, H, r, W, r)
    return x.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """The inverse of pixel_shuffle: (*, C, H r, W r) -> (*, C r^2, H, W)."""
    r = downscale_factor
    if input.ndim < 3:
        raise RuntimeError(f"pixel_unshuffle expects input to have at least 3 dimensions, but "
                           f"got input with {input.ndim} dimension(s)")
    *lead, c, h, w = input.shape
    if r <= 0 or h % r or w % r:
        raise RuntimeError(f"pixel_unshuffle expects height and width to be divisible by "
                           f"downscale_factor, but got input of shape {tuple(input.shape)} "
                           f"and downscale_factor={r}")
    k = len(lead)
    x = input.reshape(*lead, c, h // r, r, w // r, r)
    x = x.permute(*range(k), k, k + 2, k + 4, k + 1, k + 3)  # (*, C, r, r, H, W)
    return x.reshape(*lead, c * r * r, h // r, w // r)


def _nearest_index(size: int, out: int, scale: float | None) -> np.ndarray:
    """Host index of the input position each output position copies: floor(i * s) with
    s = 1 / scale_factor (or size / out), in float32 arithmetic as PyTorch's kernel."""
    s = np.float32(size) / np.float32(out) if scale is None else np.float32(1.0 / scale)
    index = np.floor(np.arange(out, dtype=np.float32) * s).astype(np.int64)
    return np.minimum(index, size - 1)


def _linear_matrix(size: int, out: int, scale: float | None,
                   align_corners: bool) -> np.ndarray:
    """(out, size) host matrix of linear interpolation weights. Output i samples input
    position src = i * (size - 1) / (out - 1) (align_corners) or (i + 0.5) * s - 0.5 clamped
    at 0 (s = 1 / scale_factor, or size / out), and mixes its two neighbours
    floor(src) and floor(src) + 1 (clipped to the edge) with weights 1 - frac, frac."""
    dst = np.arange(out, dtype=np.float64)
    if align_corners:
        src = dst * ((size - 1) / (out - 1) if out > 1 else 0.0)
    else:
        s = size / out if scale is None else 1.0 / scale
        src = np.maximum((dst + 0.5) * s - 0.5, 0.0)
    low = np.minimum(np.floor(src).astype(np.int64), size - 1)
    high = np.minimum(low + 1, size - 1)
    frac = np.clip(src - low, 0.0, 1.0)
    m = np.zeros((out, size))
    np.add.at(m, (np.arange(out), low), 1.0 - frac)
    np.add.at(m, (np.arange(out), high), frac)
    return m


_INTERPOLATE_DIMS = {"nearest": (1, 2, 3), "linear": (1,), "bilinear": (2,)}


def interpolate(input: Tensor, size: Any = None, scale_factor: Any = None,
                mode: str = "nearest", align_corners: bool | None = None,
                recompute_scale_factor: bool | None = None, antialias: bool = False) -> Tensor:
    """Resize the spatial dims of (N, C, *) to `size`, or by `scale_factor` (output size
    floor(in * scale_factor)). mode='nearest' copies input[floor(i * in / out)] (one gather
    per axis); 'linear' (3-D input) and 'bilinear' (4-D) mix the two nearest inputs linearly,
    a product with an interpolation matrix per axis: y = A_h @ x @ A_w^T."""
    op = "interpolate"
    _check_tensor(input, "input", op)
    if mode not in _INTERPOLATE_DIMS:
        raise NotImplementedError(f"{op}: mode {mode!r} is not supported; use 'nearest', "
                                  "'linear' or 'bilinear'")
    if antialias:
        raise NotImplementedError(f"{op}: antialias=True is not supported")
    dims = input.ndim - 2
    if dims not in _INTERPOLATE_DIMS[mode]:
        wanted = " or ".join(f"{d + 2}D" for d in _INTERPOLATE_DIMS[mode])
        raise NotImplementedError(f"Got {input.ndim}D input, but {mode} mode needs {wanted} "
                                  "input")
    if mode == "nearest" and align_corners is not None:
        raise ValueError("align_corners option can only be set with the interpolating modes: "
                         "linear | bilinear | bicubic | trilinear")
    if (size is None) == (scale_factor is None):
        raise ValueError("only one of size or scale_factor should be defined" if size is not None
                         else "either size or scale_factor should be defined")
    in_sizes = list(input.shape[2:])
    scales: list[float | None] = [None] * dims
    if size is not None:
        sizes = list(size) if isinstance(size, (list, tuple)) else [size] * dims
        if len(sizes) != dims:
            raise ValueError(f"Input and output must have the same number of spatial "
                             f"dimensions, but got input with spatial dimensions of "
                             f"{in_sizes} and output size of {size}.")
    else:
        factors = list(scale_factor) if isinstance(scale_factor, (list, tuple)) \
            else [scale_factor] * dims
        if len(factors) != dims:
            raise ValueError(f"Input and scale_factor must have the same number of spatial "
                             f"dimensions, but got input with spatial dimensions of "
                             f"{in_sizes} and scale_factor of shape {scale_factor}.")
        sizes = [math.floor(n * float(f)) for n, f in zip(in_sizes, factors)]
        if not recompute_scale_factor:
            scales = [float(f) for f in factors]
    if min(sizes) <= 0 or min(in_sizes) <= 0:
        raise RuntimeError(f"{op}: input and output sizes should be greater than 0, but got "
                           f"input {in_sizes} and output {sizes}")
    out = input
    if mode == "nearest":
        for d in range(dims):
            index = _nearest_index(in_sizes[d], sizes[d], scales[d])
            out = out[(slice(None),) * (2 + d) + (index,)]
        return out
    matrices = [input.new_tensor(_linear_matrix(n, o, s, bool(align_corners)),
                                 dtype=input.dtype)
                for n, o, s in zip(in_sizes, sizes, scales)]
    if dims == 2:
        out = matrices[0] @ out
    return out @ matrices[-1].mT


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor,
             bias: Tensor | None = None) -> Tensor:
    """y[..., o] = sum_ij x1[..., i] W[o, i, j] x2[..., j] + b[o] for x1 (*, in1), x2 (*, in2),
    W (out, in1, in2): one matrix product x1 @ W (as (in1, out * in2)), then the sum over j
    of the product with x2."""
    op = "bilinear"
    _check_float(input1, "input1", op)
    _check_float(input2, "input2", op)
    _check_tensor(weight, "weight", op)
    if (weight.ndim != 3 or input1.ndim == 0 or input1.shape[:-1] != input2.shape[:-1]
            or input1.shape[-1] != weight.shape[1] or input2.shape[-1] != weight.shape[2]):
        raise RuntimeError(f"{op}: inputs of shape {tuple(input1.shape)} and "
                           f"{tuple(input2.shape)} do not match weight (out, in1, in2) of "
                           f"shape {tuple(weight.shape)}")
    out_f, in1, in2 = weight.shape
    mixed = input1 @ weight.permute(1, 0, 2).reshape(in1, out_f * in2)  # (*, out * in2)
    y = (mixed.unflatten(-1, (out_f, in2)) * input2.unsqueeze(-2)).sum(-1)
    return y if bias is None else y + bias


def _embedding_renorm_(weight: Tensor, input: Tensor, max_norm: float,
                       norm_type: float) -> None:
    """In place, as torch.embedding_renorm_ (not recorded by autograd): every row of weight
    that input looks up whose norm_type-norm exceeds max_norm is scaled by
    max_norm / (norm + 1e-7). (A row looked up twice is written twice with the same value.)"""
    with autograd.no_grad():
        rows = input.reshape(-1)
        picked = weight[rows]
        norms = picked.norm(norm_type, 1, keepdim=True)
        scale = where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
        weight[rows] = picked * scale


def _check_indices(input: Any, weight: Tensor, op: str) -> None:
    if not isinstance(input, Tensor) or input.dtype.kind not in "iu":
        kind = input.dtype if isinstance(input, Tensor) else type(input).__name__
        raise TypeError(f"{op}: expected indices as an integer tensor (int64/int32), got "
                        f"{kind}")
    if input.device != weight.device:
        raise RuntimeError(f"{op}: indices are on {input.device} but weight is on "
                           f"{weight.device}")
    if input.numel() and autograd.checks_values(input.array):  # reads values back: GPU only
        low, high = int(input.min()), int(input.max())  # when asked (detect_anomaly)
        if low < 0 or high >= weight.shape[0]:
            raise IndexError(f"{op}: index {low if low < 0 else high} is out of range for "
                             f"weight with {weight.shape[0]} rows")


_BAG_MODES = ("sum", "mean", "max")


def embedding_bag(input: Tensor, weight: Tensor, offsets: Tensor | None = None,
                  max_norm: float | None = None, norm_type: float = 2,
                  scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                  per_sample_weights: Tensor | None = None, include_last_offset: bool = False,
                  padding_idx: int | None = None) -> Tensor:
    """Sum, mean or max of bags of embedding rows. Bag b holds input[offsets[b]:offsets[b+1]]
    (1-D input; the last bag runs to the end, or to offsets[-1] with include_last_offset),
    or row b of a 2-D input. Entries equal to padding_idx are left out; an empty bag gives
    zeros; per_sample_weights (mode 'sum') scale each row. Sums are one scatter-add of the
    looked-up rows into their bags; max places them in a (bags, longest bag, D) grid."""
    op = "embedding_bag"
    if mode not in _BAG_MODES:
        raise ValueError("mode has to be one of sum, mean or max")
    if scale_grad_by_freq or sparse:
        raise NotImplementedError(f"{op}: scale_grad_by_freq and sparse are not supported")
    _check_indices(input, weight, op)
    if input.ndim == 2:
        if offsets is not None:
            raise ValueError("if input is 2D, then offsets has to be None, as input is treated "
                             "is a mini-batch of fixed length sequences. However, found offsets "
                             f"of type {type(offsets).__name__}")
        rows = input.shape[0] + (1 if include_last_offset else 0)  # one bag per row
        starts = arange(rows, device=weight.device) * input.shape[1]
        input = input.reshape(-1)
    elif input.ndim == 1:
        if offsets is None or not isinstance(offsets, Tensor) or offsets.ndim != 1:
            raise ValueError(f"offsets has to be a 1D Tensor but got "
                             f"{'None' if offsets is None else type(offsets).__name__}")
        starts = offsets.long()
    else:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension "
                         f"{input.ndim}")
    if per_sample_weights is not None:
        if mode != "sum":
            raise NotImplementedError(f"embedding_bag: per_sample_weights was not None. "
                                      f"per_sample_weights is only supported for mode='sum' "
                                      f"(got mode='{mode}'). Please open a feature request "
                                      "on GitHub.")
        if tuple(per_sample_weights.shape) != tuple(input.shape):
            raise ValueError(f"embedding_bag: per_sample_weights of shape "
                             f"{tuple(per_sample_weights.shape)} must match the input's "
                             f"{tuple(input.shape)}")
    if max_norm is not None:
        _embedding_renorm_(weight, input, max_norm, norm_type)
    n, bags = input.shape[0], starts.shape[0] - (1 if include_last_offset else 0)
    entry = arange(n, device=weight.device)
    # the bag of each entry: how many bag starts after the first lie at or before it
    bag = (entry.unsqueeze(1) >= starts[1:].unsqueeze(0)).long().sum(1)
    position = entry - starts[bag]  # the entry's place in its bag
    kept = bag < bags
    if padding_idx is not None:
        kept = kept & (input != padding_idx % weight.shape[0])
    bag = where(kept, bag, bags)  # left-out entries go to an extra bag, dropped at the end
    rows = weight[input]
    ones = weight.new_ones(n)
    count = IndexAdd.apply(ones, shape=(bags + 1,), index=(bag.array,))[:bags].unsqueeze(1)
    if mode == "max":
        longest = max(int(position.max()) + 1 if n else 0, 1)  # (reads one number back)
        index = (bag.array, position.array)
        filled = IndexAdd.apply(ones, shape=(bags + 1, longest), index=index) > 0
        grid = IndexAdd.apply(rows, shape=(bags + 1, longest, weight.shape[1]), index=index)
        grid = where(filled.unsqueeze(-1), grid, -math.inf)  # empty slots never win
        return where(count > 0, grid.max(1)[0][:bags], 0.0)
    if per_sample_weights is not None:
        rows = rows * per_sample_weights.unsqueeze(-1)
    sums = IndexAdd.apply(rows, shape=(bags + 1, weight.shape[1]), index=(bag.array,))[:bags]
    return sums if mode == "sum" else sums / count.clamp(min=1.0)


# ---------------------------------------------------------------------------------------------
# --- issue 16: im2col / col2im (F.unfold, F.fold) ---
# ---------------------------------------------------------------------------------------------
__all__ += ["unfold", "fold"]


def _block_geometry(op: str, spatial: tuple, kernel_size: Any, dilation: Any, padding: Any,
                    stride: Any) -> tuple:
    """The sliding blocks of unfold / fold over a (H, W) plane: the checked pairs (k, d, p, s),
    the count of blocks per axis, and the index (rows, cols) into the padded plane of each
    kernel element (axis 0) in each block (axis 1), as host int64 arrays."""
    k, d, p, s = (_conv_pair(v, name, op, minimum=-2**62) for v, name in (
        (kernel_size, "kernel_size"), (dilation, "dilation"), (padding, "padding"),
        (stride, "stride")))
    for pair, name in ((k, "kernel"), (d, "dilation"), (s, "stride")):
        if min(pair) <= 0:
            raise RuntimeError(f"{name} should be greater than zero, but got {name}_height: "
                               f"{pair[0]} {name}_width: {pair[1]}")
    if min(p) < 0:
        raise RuntimeError(f"padding should be non-negative, but got pad_height: {p[0]} "
                           f"pad_width: {p[1]}")
    blocks = tuple((n + 2 * pad - dil * (ker - 1) - 1) // st + 1
                   for n, ker, dil, pad, st in zip(spatial, k, d, p, s))
    rows = (np.arange(k[0]) * d[0])[:, None, None, None] + (np.arange(blocks[0]) * s[0])[
        None, None, :, None]
    cols = (np.arange(k[1]) * d[1])[None, :, None, None] + (np.arange(blocks[1]) * s[1])[
        None, None, None, :]
    shape = (k[0] * k[1], max(blocks[0], 0) * max(blocks[1], 0))
    rows, cols = np.broadcast_arrays(rows, cols) if min(blocks) > 0 else (rows, cols)
    index = (rows.reshape(shape), cols.reshape(shape)) if min(blocks) > 0 else None
    return k, d, p, s, blocks, index


def unfold(input: Tensor, kernel_size: Any, dilation: Any = 1, padding: Any = 0,
           stride: Any = 1) -> Tensor:
    """im2col: every kernel_size block of the zero-padded input (N, C, H, W), as a column:
    out[n, c * kh * kw + i * kw + j, l] = x_pad[n, c, r_l + i * dh, c_l + j * dw] for the
    block l at (r_l, c_l) (stride apart). Output (N, C * kh * kw, L), L the number of blocks;
    an unbatched (C, H, W) input gives (C * kh * kw, L). One indexing of the padded input, so
    the gradient is fold(g): each column added back where it was taken (fold is unfold's
    adjoint)."""
    _check_tensor(input, "input", "unfold")
    if input.ndim not in (3, 4):
        raise NotImplementedError(f"Input Error: Only 3D or 4D input Tensors are supported "
                                  f"(got {input.ndim}D)")
    x = input if input.ndim == 4 else input.unsqueeze(0)
    k, d, p, s, blocks, index = _block_geometry("unfold", tuple(x.shape[2:]), kernel_size,
                                                dilation, padding, stride)
    if min(blocks) < 1:
        raise RuntimeError(f"Given input with spatial size {tuple(x.shape[2:])}, kernel_size="
                           f"{k}, dilation={d}, padding={p}, calculated shape of the array of "
                           f"sliding blocks as {blocks}, but its components must be at least "
                           f"one.")
    padded = _tensor_pad(x, (p[1], p[1], p[0], p[0])) if max(p) else x
    rows, cols = (Tensor(i, device=x.device) for i in index)
    columns = padded[:, :, rows, cols]  # (N, C, kh * kw, L)
    out = columns.reshape(x.shape[0], -1, columns.shape[-1])
    return out if input.ndim == 4 else out.squeeze(0)


def fold(input: Tensor, output_size: Any, kernel_size: Any, dilation: Any = 1,
         padding: Any = 0, stride: Any = 1) -> Tensor:
    """col2im, the adjoint of unfold: the columns of input (N, C * kh * kw, L) added back into
    an (N, C, H, W) output of size `output_size` at the places unfold takes them from
    (overlapping blocks add up; the padding is cut off). Unbatched (C * kh * kw, L) gives
    (C, H, W). Gradient: unfold(g) with the same arguments."""
    _check_tensor(input, "input", "fold")
    if input.ndim not in (2, 3):
        raise NotImplementedError(f"Input Error: Only unbatched (2D) or batched (3D) input "
                                  f"Tensors are supported (got {input.ndim}D)")
    y = input if input.ndim == 3 else input.unsqueeze(0)
    size = _conv_pair(output_size, "output_size", "fold")
    k, d, p, s, blocks, index = _block_geometry("fold", size, kernel_size, dilation, padding,
                                                stride)
    if y.shape[1] % (k[0] * k[1]):
        raise RuntimeError(f"Expected size of input's dimension 1 to be divisible by the "
                           f"product of kernel_size, but got input.size(1)={y.shape[1]} and "
                           f"kernel_size={k}.")
    if min(blocks) < 1 or y.shape[2] != blocks[0] * blocks[1]:
        raise RuntimeError(f"Given output_size={size}, kernel_size={k}, dilation={d}, padding="
                           f"{p}, stride={s}, expected size of input's dimension 2 to match the "
                           f"calculated number of sliding blocks {blocks[0]} * {blocks[1]} = "
                           f"{blocks[0] * blocks[1]}, but got input.size(2)={y.shape[2]}.")
    n, c = y.shape[0], y.shape[1] // (k[0] * k[1])
    at = (slice(None), slice(None)) + tuple(Tensor(i, device=y.device).array for i in index)
    padded = IndexAdd.apply(y.reshape(n, c, k[0] * k[1], y.shape[2]),
                            shape=(n, c, size[0] + 2 * p[0], size[1] + 2 * p[1]), index=at)
    out = padded[:, :, p[0]:p[0] + size[0], p[1]:p[1] + size[1]]
    return out if input.ndim == 3 else out.squeeze(0)


# ---------------------------------------------------------------------------------------------
# issue 18: attention
# ---------------------------------------------------------------------------------------------
__all__ += ["scaled_dot_product_attention", "multi_head_attention_forward"]  # issue 18


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor,
                                 attn_mask: Tensor | None = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    """Attention: softmax(Q K^T * scale + bias) V, over the last two dims of
    query (..., L, E), key (..., S, E) and value (..., S, Ev) -> (..., L, Ev).

    scale defaults to 1/sqrt(E). bias: a bool `attn_mask` (True = the key takes part) puts
    -inf where it is False; a float `attn_mask` is added; `is_causal` keeps key j <= query i
    (the top-left triangle, as PyTorch). A row where every key is masked gives 0, not NaN.
    Dropout (probability dropout_p) acts on the weights. `enable_gqa`: key and value with
    fewer heads (dim -3) are shared by groups of query heads.
    Derivative: see `Attention` (without dropout); with dropout, composed of matmul, softmax,
    where and dropout, each differentiated by autograd.
    """
    op = "scaled_dot_product_attention"
    for name, t in (("query", query), ("key", key), ("value", value)):
        _check_tensor(t, name, op)
    if min(query.ndim, key.ndim, value.ndim) < 2:
        raise RuntimeError(f"{op}: expected query, key and value to be at least 2 dimensional, "
                           f"got shapes {tuple(query.shape)}, {tuple(key.shape)} and "
                           f"{tuple(value.shape)}")
    if not query.dtype == key.dtype == value.dtype:
        raise RuntimeError(f"{op}: expected query, key and value to have the same dtype, but "
                           f"got query.dtype: {query.dtype}, key.dtype: {key.dtype} and "
                           f"value.dtype: {value.dtype}")
    _check_float(query, "query", op)
    if is_causal and attn_mask is not None:
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set "
                           "when is_causal=True")
    if key.shape[-1] != query.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise RuntimeError(f"{op}: query (..., L, E) {tuple(query.shape)}, key (..., S, E) "
                           f"{tuple(key.shape)} and value (..., S, Ev) {tuple(value.shape)} do "
                           "not fit together")
    if enable_gqa and min(query.ndim, key.ndim, value.ndim) >= 3 \
            and key.shape[-3] != query.shape[-3]:
        heads, kv_heads = query.shape[-3], key.shape[-3]
        if heads % kv_heads or value.shape[-3] != kv_heads:
            raise RuntimeError(f"{op}: Number of heads in key and value must divide the number "
                               f"of heads in query, got {heads} query heads, {kv_heads} key "
                               f"heads and {value.shape[-3]} value heads")
        key = key.repeat_interleave(heads // kv_heads, dim=-3)
        value = value.repeat_interleave(heads // kv_heads, dim=-3)
    scale_factor = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    bias = None
    if attn_mask is not None:
        _check_tensor(attn_mask, "attn_mask", op)
        if attn_mask.dtype == backend.bool_:  # (True = the key takes part)
            bias = where(attn_mask, 0.0, -math.inf).to(query.dtype)
        elif backend.is_floating(attn_mask.dtype):
            bias = attn_mask.to(query.dtype)
        else:
            raise RuntimeError(f"{op}: Expected attn_mask dtype to be bool or float or to match "
                               f"query dtype, but got attn_mask.dtype: {attn_mask.dtype} and "
                               f"query.dtype: {query.dtype}")
    if dropout_p > 0.0 or key.shape[-2] == 0:  # (no keys: the output is 0)
        weights = _attention_weights(query, key, bias, scale_factor, is_causal)
        return dropout(weights, dropout_p) @ value
    return Attention.apply(query, key, value, *([] if bias is None else [bias]),
                           scale=scale_factor, causal=is_causal)


def _attention_weights(q: Tensor, k: Tensor, bias: Tensor | None, scale: float,
                       causal: bool) -> Tensor:
    """W = softmax(Q K^T * scale + bias) in Tensor ops, key j > query i masked if `causal`,
    and weights 0 in a row where every key is masked (PyTorch's safe softmax: neither the
    output nor the gradient is NaN)."""
    L, S = q.shape[-2], k.shape[-2]
    scores = (q @ k.mT) * scale
    if causal:  # (row i keeps key 0 at least: no row is fully masked)
        keep = _full((L, S), True, dtype=backend.bool_, device=q.device).tril()
        scores = where(keep, scores, -math.inf)
    if bias is None or not S:
        return scores.softmax(-1) if S else scores
    scores = scores + bias
    dead = (scores == -math.inf).all(-1, keepdim=True)
    return where(dead, 0.0, where(dead, 0.0, scores).softmax(-1))


class Attention(Function):
    """Scaled dot-product attention O = W V, W = softmax(S) over the keys,
    S = Q K^T * scale + bias (bias: an additive mask, -inf where a key is masked; with
    `causal`, key j > query i is masked too). A row where every key is masked has W = 0.
    dV = W^T g,  dW = g V^T,  dS = W * (dW - sum_j W dW)  (softmax's derivative; 0 where
    masked),  dQ = dS K * scale,  dK = dS^T Q * scale,  dbias = dS."""

    def forward(self, q: Any, k: Any, v: Any, bias: Any = None, *, scale: float,
                causal: bool) -> Any:
        xp = get_array_module(q)
        s = q @ xp.swapaxes(k, -1, -2)
        s *= scale
        if causal:  # + 0 on and below the diagonal, -inf above (in place: s is new)
            s += xp.where(xp.tri(s.shape[-2], s.shape[-1], dtype=bool), 0, -xp.inf).astype(s.dtype)
        if bias is not None:
            s = s + bias
        top = s.max(axis=-1, keepdims=True)
        s -= xp.where(top == -xp.inf, 0, top)  # (a row of -inf stays -inf: exp gives 0)
        w = xp.exp(s, out=s)
        total = w.sum(axis=-1, keepdims=True)
        w /= xp.where(total == 0, 1, total)
        self.weights, self.scale, self.causal = w, scale, causal  # (W: for the fast backward)
        return w @ v

    def backward(self, g: Tensor) -> tuple:
        q, k, v = self.inputs[0], self.inputs[1], self.inputs[2]
        bias = self.inputs[3] if len(self.inputs) > 3 else None
        w = _attention_weights(q, k, bias, self.scale, self.causal)  # again, differentiable
        dw = g @ v.mT
        ds = w * (dw - (dw * w).sum(-1, keepdim=True))
        return ds @ k * self.scale, ds.mT @ q * self.scale, w.mT @ g, ds


def _canonical_mask(mask: Tensor | None, mask_name: str, other_type: Any, other_name: str,
                    target_type: Any, check_other: bool = True) -> Tensor | None:
    """An attention mask as an additive float mask: bool True (= masked out) -> -inf, else 0;
    a float mask is returned as it is (PyTorch's F._canonical_mask)."""
    if mask is None:
        return None
    _check_tensor(mask, mask_name, "multi_head_attention_forward")
    is_float = backend.is_floating(mask.dtype)
    if mask.dtype != backend.bool_ and not is_float:
        raise AssertionError(f"only bool and floating types of {mask_name} are supported")
    if check_other and other_type is not None and mask.dtype != other_type:
        warnings.warn(f"Support for mismatched {mask_name} and {other_name} is deprecated. Use "
                      "same type for both instead.", UserWarning, stacklevel=3)
    if not is_float:
        mask = where(mask, -math.inf, _full(tuple(mask.shape), 0.0, dtype=target_type,
                                            device=mask.device))
    return mask


def _none_or_dtype(input: Tensor | None) -> Any:
    return None if input is None else input.dtype


def _mha_shape_check(query: Tensor, key: Tensor, value: Tensor, key_padding_mask: Tensor | None,
                     attn_mask: Tensor | None, num_heads: int) -> bool:
    """Whether the input is batched ((L, N, E) rather than (L, E)); shape errors as PyTorch."""
    if query.ndim not in (2, 3):
        raise AssertionError(f"query should be unbatched 2D or batched 3D tensor but received "
                             f"{query.ndim}-D query tensor")
    batched = query.ndim == 3
    what = "batched (3-D)" if batched else "unbatched (2-D)"
    if key.ndim != query.ndim or value.ndim != query.ndim:
        raise AssertionError(f"For {what} `query`, expected `key` and `value` to be "
                             f"{query.ndim}-D but found {key.ndim}-D and {value.ndim}-D tensors "
                             "respectively")
    if key_padding_mask is not None and key_padding_mask.ndim != query.ndim - 1:
        raise AssertionError(f"For {what} `query`, expected `key_padding_mask` to be `None` or "
                             f"{query.ndim - 1}-D but found {key_padding_mask.ndim}-D tensor "
                             "instead")
    if attn_mask is not None:
        if attn_mask.ndim not in (2, 3):
            raise AssertionError(f"For {what} `query`, expected `attn_mask` to be `None`, 2-D or "
                                 f"3-D but found {attn_mask.ndim}-D tensor instead")
        expected = (num_heads, query.shape[0], key.shape[0])
        if not batched and attn_mask.ndim == 3 and tuple(attn_mask.shape) != expected:
            raise AssertionError(f"Expected `attn_mask` shape to be {expected} but got "
                                 f"{tuple(attn_mask.shape)}")
    return batched


def multi_head_attention_forward(
        query: Tensor, key: Tensor, value: Tensor, embed_dim_to_check: int, num_heads: int,
        in_proj_weight: Tensor | None, in_proj_bias: Tensor | None, bias_k: Tensor | None,
        bias_v: Tensor | None, add_zero_attn: bool, dropout_p: float, out_proj_weight: Tensor,
        out_proj_bias: Tensor | None, training: bool = True,
        key_padding_mask: Tensor | None = None, need_weights: bool = True,
        attn_mask: Tensor | None = None, use_separate_proj_weight: bool = False,
        q_proj_weight: Tensor | None = None, k_proj_weight: Tensor | None = None,
        v_proj_weight: Tensor | None = None, static_k: Tensor | None = None,
        static_v: Tensor | None = None, average_attn_weights: bool = True,
        is_causal: bool = False) -> tuple[Tensor, Tensor | None]:
    """Multi-head attention on sequence-first input: query (L, N, E), key (S, N, Ek) and value
    (S, N, Ev) (or unbatched (L, E), ...) -> output (L, N, E) and, with need_weights, the
    attention weights (N, L, S) averaged over the heads (or (N, H, L, S)).

    q, k, v = the inputs projected (in_proj_weight, or q/k/v_proj_weight), split into
    num_heads heads of E / num_heads; head_i = softmax(q_i k_i^T / sqrt(E / H) + mask) v_i;
    output = concat(heads) @ out_proj_weight^T + out_proj_bias. Masks: bool True = masked
    out (the opposite of scaled_dot_product_attention's), float masks added;
    key_padding_mask (N, S) masks keys per batch element. Gradients come from the composed
    ops (linear, matmul, softmax, dropout).
    """
    op = "multi_head_attention_forward"
    for name, t in (("query", query), ("key", key), ("value", value)):
        _check_tensor(t, name, op)
    batched = _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape
    src_len = key.shape[0]
    key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask",
                                       _none_or_dtype(attn_mask), "attn_mask", query.dtype)
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the "
                           "Transformer module method `generate_square_subsequent_mask` to "
                           "create this mask.")
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None  # scaled_dot_product_attention's is_causal does it
    else:
        attn_mask = _canonical_mask(attn_mask, "attn_mask", None, "", query.dtype,
                                    check_other=False)
        if key_padding_mask is not None:
            is_causal = False  # the merged mask is no longer causal
    if embed_dim != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but "
                             f"got {embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight:
        if tuple(key.shape[:2]) != tuple(value.shape[:2]):
            raise AssertionError(f"key's sequence and batch dims {tuple(key.shape[:2])} do not "
                                 f"match value's {tuple(value.shape[:2])}")
        if q_proj_weight is None or k_proj_weight is None or v_proj_weight is None:
            raise AssertionError("use_separate_proj_weight is True but q_proj_weight, "
                                 "k_proj_weight or v_proj_weight is None")
        b_q, b_k, b_v = (None,) * 3 if in_proj_bias is None else in_proj_bias.chunk(3)
        q = linear(query, q_proj_weight, b_q)
        k = linear(key, k_proj_weight, b_k)
        v = linear(value, v_proj_weight, b_v)
    else:
        if tuple(key.shape) != tuple(value.shape):
            raise AssertionError(f"key shape {tuple(key.shape)} does not match value shape "
                                 f"{tuple(value.shape)}")
        if in_proj_weight is None:
            raise AssertionError("use_separate_proj_weight is False but in_proj_weight is None")
        # three products with the rows of in_proj_weight, also for self-attention: one
        # product split in three would cost a zero-filled (L, N, 3E) gradient per part
        w_q, w_k, w_v = in_proj_weight.chunk(3)
        b_q, b_k, b_v = (None,) * 3 if in_proj_bias is None else in_proj_bias.chunk(3)
        q, k, v = linear(query, w_q, b_q), linear(key, w_k, b_k), linear(value, w_v, b_v)
    if attn_mask is not None:
        if attn_mask.ndim == 2:
            if tuple(attn_mask.shape) != (tgt_len, src_len):
                raise RuntimeError(f"The shape of the 2D attn_mask is {tuple(attn_mask.shape)}, "
                                   f"but should be {(tgt_len, src_len)}.")
            attn_mask = attn_mask.unsqueeze(0)
        elif attn_mask.ndim == 3:
            if tuple(attn_mask.shape) != (bsz * num_heads, tgt_len, src_len):
                raise RuntimeError(f"The shape of the 3D attn_mask is {tuple(attn_mask.shape)}, "
                                   f"but should be {(bsz * num_heads, tgt_len, src_len)}.")
        else:
            raise RuntimeError(f"attn_mask's dimension {attn_mask.ndim} is not supported")
    if bias_k is not None and bias_v is not None:
        if static_k is not None or static_v is not None:
            raise AssertionError("bias cannot be added to static key or value.")
        k = _cat([k, bias_k.repeat(1, bsz, 1)])
        v = _cat([v, bias_v.repeat(1, bsz, 1)])
        if attn_mask is not None:
            attn_mask = pad(attn_mask, (0, 1))
        if key_padding_mask is not None:
            key_padding_mask = pad(key_padding_mask, (0, 1))
    elif bias_k is not None or bias_v is not None:
        raise AssertionError("bias_k and bias_v must both be given or both be None")
    # (L, N, E) -> (N * H, L, head_dim)
    q = q.reshape(tgt_len, bsz * num_heads, head_dim).transpose(0, 1)
    k = k.reshape(k.shape[0], bsz * num_heads, head_dim).transpose(0, 1) if static_k is None \
        else static_k
    v = v.reshape(v.shape[0], bsz * num_heads, head_dim).transpose(0, 1) if static_v is None \
        else static_v
    for name, static in (("static_k", static_k), ("static_v", static_v)):
        if static is not None and (static.shape[0] != bsz * num_heads
                                   or static.shape[2] != head_dim):
            raise AssertionError(f"expecting {name} of shape ({bsz * num_heads}, S, {head_dim}), "
                                 f"but got {tuple(static.shape)}")
    if add_zero_attn:
        zeros = _full((bsz * num_heads, 1, head_dim), 0.0, dtype=k.dtype, device=k.device)
        k, v = _cat([k, zeros], 1), _cat([v, zeros.to(v.dtype)], 1)
        if attn_mask is not None:
            attn_mask = pad(attn_mask, (0, 1))
        if key_padding_mask is not None:
            key_padding_mask = pad(key_padding_mask, (0, 1))
    src_len = k.shape[1]
    if key_padding_mask is not None:
        if tuple(key_padding_mask.shape) != (bsz, src_len):
            raise AssertionError(f"Expected key_padding_mask of shape {(bsz, src_len)}, but got "
                                 f"{tuple(key_padding_mask.shape)}")
        key_padding_mask = key_padding_mask.reshape(bsz, 1, 1, src_len).expand(
            -1, num_heads, -1, -1).reshape(bsz * num_heads, 1, src_len)
        attn_mask = key_padding_mask if attn_mask is None else attn_mask + key_padding_mask
    if not training:
        dropout_p = 0.0
    if need_weights:
        if is_causal and attn_mask is None:
            raise AssertionError("FIXME: is_causal not implemented for need_weights")
        scores = (q * math.sqrt(1.0 / head_dim)) @ k.transpose(-2, -1)
        if attn_mask is not None:
            scores = scores + attn_mask
        weights = scores.softmax(-1)
        if dropout_p > 0.0:
            weights = dropout(weights, p=dropout_p)
        out = (weights @ v).transpose(0, 1).reshape(tgt_len * bsz, embed_dim)
        out = linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, -1)
        weights = weights.reshape(bsz, num_heads, tgt_len, src_len)
        if average_attn_weights:
            weights = weights.mean(1)
        if not batched:
            out, weights = out.squeeze(1), weights.squeeze(0)
        return out, weights
    if attn_mask is not None:
        attn_mask = attn_mask.unsqueeze(0) if attn_mask.shape[0] == 1 and attn_mask.ndim == 3 \
            else attn_mask.reshape(bsz, num_heads, -1, src_len)
    q = q.reshape(bsz, num_heads, tgt_len, head_dim)
    k = k.reshape(bsz, num_heads, src_len, head_dim)
    v = v.reshape(bsz, num_heads, src_len, head_dim)
    out = scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal)
    out = out.permute(2, 0, 1, 3).reshape(bsz * tgt_len, embed_dim)
    out = linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, -1)
    return (out if batched else out.squeeze(1)), None


# ---------------------------------------------------------------------------------------------
# issue 16: spatial transformers, affine_grid and grid_sample (compositions of Tensor ops:
# the gradients w.r.t. the input and the grid are those of the indexing and arithmetic)
# ---------------------------------------------------------------------------------------------
_ALIGN_CORNERS_WARNING = (
    "Default grid_sample and affine_grid behavior has changed to align_corners=False since "
    "1.3.0. Please specify align_corners=True if the old behavior is desired. See the "
    "documentation of grid_sample for details.")


_TORCH_DTYPE_NAMES = {"float16": "Half", "float32": "Float", "float64": "Double",
                      "int64": "Long", "int32": "Int", "uint8": "Byte", "bool": "Bool"}


def _grid_align_corners(align_corners: bool | None) -> bool:
    """PyTorch's default: False, with a warning when it was not given."""
    if align_corners is None:
        warnings.warn(_ALIGN_CORNERS_WARNING, stacklevel=3)
        return False
    return bool(align_corners)


def _pixel_centres(n: int, align_corners: bool) -> np.ndarray:
    """Normalized coordinates of n pixels: their centres in [-1, 1] (-1 and 1 the centres of
    the corner pixels with align_corners, their outer edges without); 0 for a single pixel."""
    if n <= 1:
        return np.zeros(n)
    steps = np.linspace(-1.0, 1.0, n)
    return steps if align_corners else steps * (n - 1) / n


def affine_grid(theta: Tensor, size: Sequence[int], align_corners: bool | None = None) -> Tensor:
    """The sampling grid of a batch of affine maps, for grid_sample: theta (N, 2, 3) and size
    (N, C, H, W) give (N, H, W, 2) with grid[n, i, j] = theta[n] @ (x_j, y_i, 1), the output
    pixel centres (x_j, y_i) in normalized [-1, 1] coordinates; theta (N, 3, 4) and size
    (N, C, D, H, W) give (N, D, H, W, 3) in the same way.
    d grid / d theta = (x_j, y_i, 1) (a matrix product: its gradient)."""
    align_corners = _grid_align_corners(align_corners)
    _check_tensor(theta, "theta", "affine_grid")
    if not theta.is_floating_point():
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    size = [int(n) for n in size]
    if len(size) not in (4, 5):
        raise NotImplementedError(f"affine_grid only supports 4D and 5D sizes, for 2D and 3D "
                                  f"affine transforms, respectively. Got size {size}.")
    k = len(size) - 2  # 2-D or 3-D
    if theta.ndim != 3 or tuple(theta.shape[-2:]) != (k, k + 1):
        raise ValueError(f"Expected a batch of {k}D affine matrices of shape Nx{k}x{k + 1} for "
                         f"size {size}. Got {theta.shape}.")
    spatial = size[2:]
    if align_corners and min(spatial) == 1:
        warnings.warn("Since version 1.3.0, affine_grid behavior has changed for unit-size "
                      "grids when align_corners=True. This is not an intended use case of "
                      "affine_grid. See the documentation of affine_grid for details.",
                      stacklevel=2)
    elif min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {size}")
    if theta.shape[0] != size[0]:
        raise RuntimeError(f"affine_grid: theta holds {theta.shape[0]} affine matrices, but "
                           f"size {size} asks for a batch of {size[0]}")
    axes = np.meshgrid(*[_pixel_centres(n, align_corners) for n in spatial], indexing="ij")
    base = np.stack([*reversed(axes), np.ones(spatial)], axis=-1).reshape(-1, k + 1)  # x first
    points = _tensor(base, dtype=theta.dtype, device=theta.device)
    return (points @ theta.mT).reshape(size[0], *spatial, k)


def _clip_coordinates(x: Tensor, size: int) -> Tensor:
    """x clamped to [0, size - 1], with PyTorch's gradient: 1 strictly inside, else 0."""
    inside = ((x > 0) & (x < size - 1)).detach()
    return where(inside, x, x.detach().clamp(0, size - 1))


def _reflect_coordinates(x: Tensor, twice_low: int, twice_high: int) -> Tensor:
    """x reflected at low and high until it lies in [low, high] (PyTorch's reflection
    padding). d/dx = +-1: -1 for each reflection made."""
    if twice_low == twice_high:
        return x * 0.0
    low, span = twice_low / 2, (twice_high - twice_low) / 2
    side = where((x >= low).detach(), 1.0, -1.0)
    distance = (x - low) * side  # |x - low|
    extra = distance.fmod(span)
    even = ((distance.detach() / span).floor().fmod(2) == 0).detach()
    return where(even, extra + low, span - extra + low)


def _grid_source_index(coord: Tensor, size: int, padding_mode: str,
                       align_corners: bool) -> Tensor:
    """A normalized coordinate in [-1, 1] as a position in pixels, 0..size - 1, with the
    padding mode's rule for positions outside."""
    if align_corners:
        x = (coord + 1) / 2 * (size - 1)
    else:
        x = ((coord + 1) * size - 1) / 2
    if padding_mode == "border":
        return _clip_coordinates(x, size)
    if padding_mode == "reflection":
        x = _reflect_coordinates(x, 0, 2 * (size - 1)) if align_corners else \
            _reflect_coordinates(x, -1, 2 * size - 1)
        return _clip_coordinates(x, size)
    return x


def grid_sample(input: Tensor, grid: Tensor, mode: str = "bilinear",  # noqa: A002
                padding_mode: str = "zeros", align_corners: bool | None = None) -> Tensor:
    """Sample input (N, C, H, W) at the points of grid (N, Ho, Wo, 2), given as (x, y) in
    normalized coordinates (-1 the left / top, 1 the right / bottom; see align_corners):
    out (N, C, Ho, Wo). mode 'bilinear' mixes the 4 pixels around each point,
        out = sum over the corners of (1 - |x - x_c|)(1 - |y - y_c|) input[.., y_c, x_c],
    'nearest' takes the closest pixel. padding_mode says what lies outside: 'zeros', the
    'border' pixels, or the image 'reflection'-ed at its borders. Gradients w.r.t. input
    (the weights, scattered back) and grid (bilinear: the weights' slopes) come from the ops
    used. Only 4-D input (5-D volumes and 'bicubic' are refused)."""
    if mode not in ("bilinear", "nearest", "bicubic"):
        raise ValueError(f"nn.functional.grid_sample(): expected mode to be 'bilinear', "
                         f"'nearest' or 'bicubic', but got: '{mode}'")
    if padding_mode not in ("zeros", "border", "reflection"):
        raise ValueError(f"nn.functional.grid_sample(): expected padding_mode to be 'zeros', "
                         f"'border', or 'reflection', but got: '{padding_mode}'")
    align_corners = _grid_align_corners(align_corners)
    _check_tensor(input, "input", "grid_sample")
    _check_tensor(grid, "grid", "grid_sample")
    if mode == "bicubic":
        raise NotImplementedError("grid_sample: mode='bicubic' is not supported; use "
                                  "'bilinear' or 'nearest'")
    if input.ndim == 5 and grid.ndim == 5:
        raise NotImplementedError("grid_sample: 5-D (volumetric) input is not supported; only "
                                  "4-D input (N, C, H, W)")
    if input.ndim != 4 or grid.ndim != 4:
        raise RuntimeError(f"grid_sampler(): expected 4D input and grid with same number of "
                           f"dimensions, but got input with sizes {list(input.shape)} and grid "
                           f"with sizes {list(grid.shape)}")
    if not input.is_floating_point():
        raise NotImplementedError(f"\"grid_sampler_2d_cpu_kernel_impl\" not implemented for "
                                  f"'{_TORCH_DTYPE_NAMES.get(input.dtype.name, input.dtype)}'")
    if input.dtype != grid.dtype:
        raise RuntimeError(f"grid_sampler(): expected grid and input to have same dtype, but "
                           f"input has {input.dtype} and grid has {grid.dtype}")
    n, c, h, w = input.shape
    if grid.shape[0] != n:
        raise RuntimeError(f"grid_sampler(): expected grid and input to have same batch size, "
                           f"but got input with sizes {list(input.shape)} and grid with sizes "
                           f"{list(grid.shape)}")
    if grid.shape[-1] != 2:
        raise RuntimeError(f"grid_sampler(): expected grid to have size 2 in last dimension, "
                           f"but got grid with sizes {list(grid.shape)}")
    for d in (2, 3):
        if input.shape[d] == 0:
            raise RuntimeError(f"grid_sampler(): expected input to have non-empty spatial "
                               f"dimensions, but input has sizes {list(input.shape)} with "
                               f"dimension {d} being empty")
    x = _grid_source_index(grid[..., 0], w, padding_mode, align_corners)
    y = _grid_source_index(grid[..., 1], h, padding_mode, align_corners)
    pixels = input.permute(0, 2, 3, 1).reshape(n * h * w, c)  # one row per pixel
    first_row = arange(n, device=input.device).reshape(n, 1, 1) * (h * w)

    def pick(yi: Tensor, xi: Tensor) -> Tensor:
        """input at the whole-number positions (yi, xi) (N, Ho, Wo), 0 outside: (N, Ho, Wo, C)."""
        inside = (xi >= 0) & (xi <= w - 1) & (yi >= 0) & (yi <= h - 1)
        rows = first_row + yi.clamp(0, h - 1).long() * w + xi.clamp(0, w - 1).long()
        return where(inside.unsqueeze(-1), pixels[rows], 0.0)

    if mode == "nearest":  # (round half to even, as PyTorch's nearbyint)
        out = pick(y.detach().round(), x.detach().round())
        never = (x.detach() > math.inf).unsqueeze(-1)  # adds 0, so that grid's gradient is 0
        out = out + where(never, (x + y).unsqueeze(-1), 0.0)  # (and not None), as PyTorch
    else:
        x0, y0 = x.detach().floor(), y.detach().floor()
        wx1, wy1 = x - x0, y - y0  # the weights of the corners at x0 + 1, y0 + 1
        wx0, wy0 = 1 - wx1, 1 - wy1
        out = (pick(y0, x0) * (wy0 * wx0).unsqueeze(-1)
               + pick(y0, x0 + 1) * (wy0 * wx1).unsqueeze(-1)
               + pick(y0 + 1, x0) * (wy1 * wx0).unsqueeze(-1)
               + pick(y0 + 1, x0 + 1) * (wy1 * wx1).unsqueeze(-1))
    return out.permute(0, 3, 1, 2)
