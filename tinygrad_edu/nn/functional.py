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
from ..ops.conv import adaptive_avg_pool2d, avg_pool2d, conv2d, max_pool2d
from ..tensor import Tensor, arange, rand, where
from ..tensor import pad as _tensor_pad

__all__ = [
    "linear", "conv2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "relu", "relu6",
    "leaky_relu", "elu", "selu", "celu", "gelu", "silu", "mish", "softplus", "softsign",
    "hardtanh", "hardsigmoid", "hardswish", "logsigmoid", "sigmoid", "tanh", "softmax",
    "softmin", "log_softmax", "dropout", "batch_norm", "layer_norm", "normalize", "one_hot",
    "pad", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "cross_entropy", "nll_loss",
    "binary_cross_entropy", "binary_cross_entropy_with_logits",
]


def _const(like: Tensor, array: Any) -> Tensor:
    """A raw array as a constant Tensor (no gradient)."""
    return type(like)._make(array)


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
        need = self.needs_input_grad
        gx = g @ w if need[0] else None
        if x.ndim != 2:  # one vector, or batch dims: the same on the rows of 2-D views
            g, x = g.reshape(-1, w.shape[0]), x.reshape(-1, w.shape[1])
        gw = g.mT @ x if need[1] else None
        gb = g.sum(0) if self.has_bias and need[2] else None
        return (gx, gw, gb) if self.has_bias else (gx, gw)


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
        inner = (input + input * input * input * 0.044715) * math.sqrt(2.0 / math.pi)
        return input * (inner.tanh() + 1.0) * 0.5
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
    axes = tuple(range(input.ndim - k, input.ndim))
    centered = input - input.mean(axes, keepdim=True)
    out = centered * ((centered * centered).mean(axes, keepdim=True) + eps) ** -0.5
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


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
    """Constant padding, (left, right) widths starting from the last dim (as tg.pad)."""
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
    (target != ignore_index), `weight` the class weights (C,) or None, and `row_weight` (M,)
    each row's w[target] (1 without weights): 0 for an ignored row, NaN for a target outside
    [0, C), so that its loss is NaN (see `_check_class_range` for where that is an error)."""

    def __init__(self, target: Any, num_classes: int, weight: Any, ignore_index: int,
                 dtype: Any) -> None:
        xp = get_array_module(target)
        self.weight = weight
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


def _reduce_rows(loss: Any, reduction: str, targets: _ClassTargets) -> Any:
    """The (M,) row losses summed, averaged over the counted rows' weights, or as they are."""
    xp = get_array_module(loss)
    if reduction == "none":
        return loss
    total = loss.sum()
    if reduction == "sum":
        return xp.asarray(total)
    with np.errstate(invalid="ignore", divide="ignore"):  # every target ignored: nan
        return xp.asarray(total / targets.mean_divisor())


def _row_coefficient(g: Tensor, reduction: str, targets: _ClassTargets) -> Tensor:
    """d(reduced loss)/d(row loss), broadcastable to (M, 1): g per row ('none'), g ('sum'),
    g / sum_i w[t_i] ('mean'; when every target is ignored the sum is 0 and no row has a
    gradient: 1 is used instead)."""
    if reduction == "none":
        return g.reshape(-1, 1)
    divisor = targets.mean_divisor() if reduction == "mean" else None
    return g if divisor is None else g / _const(g, divisor + (divisor == 0))


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
        self.targets, self.reduction, self.eps = t, reduction, label_smoothing
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
        a, b = self.gradient_terms()
        coef = _row_coefficient(g, self.reduction, self.targets)
        return (self.inputs[0].softmax(1) * _const(g, a) - _const(g, b)) * coef

    def gradient_terms(self) -> tuple[Any, Any]:
        """dloss_i/dx_ic = p_ic * a_i - b_ic:  a_i = (1 - eps) w[t_i] + eps W / C,
        b_ic = (1 - eps) w[t_i] [c == t_i] + eps w_c / C  (rows of ignored targets are 0).
        Returns a as an (M, 1) column and b (M, C)."""
        t, eps, c = self.targets, self.eps, self.inputs[0].shape[1]
        xp = get_array_module(t.row_weight)
        valid = t.valid.astype(t.row_weight.dtype)
        w = xp.ones(c, dtype=valid.dtype) if t.weight is None else t.weight
        a = (1.0 - eps) * t.row_weight + (eps / c) * w.sum() * valid
        b = (eps / c) * (valid[:, None] * w)
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
        return _const(g, picks) * _row_coefficient(g, self.reduction, t)


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
