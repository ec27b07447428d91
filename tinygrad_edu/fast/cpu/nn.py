"""Backward passes of nn.functional's Functions straight on the arrays (any device).

The reference backward (tinygrad_edu/nn/functional.py) builds its gradient with Tensor ops,
so that it can itself be differentiated; while no graph of the backward is recorded these
compute the same formulas on the arrays, reusing what the forward saved (the softmax, xhat)
instead of recomputing it. A GPU forward override (fast/cuda/nn.py) may leave a fused
kernel on the node (`fn.dx_kernel` for batch norm's dL/dx, `fn.array_backward` for
cross-entropy's whole gradient): then that runs instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...backend import get_array_module
from ...nn.functional import (
    _SQRT_2_OVER_PI,
    Attention,
    BatchNorm,
    CrossEntropy,
    GeluTanh,
    LayerNorm,
    Linear,
)
from ...tensor import Tensor
from .. import register_backward, register_forward


def _tensor(like: Tensor, array: Any) -> Tensor:
    return type(like)._make(array)


def _linear_sample(rng: np.random.Generator) -> tuple:
    return [rng.standard_normal((2, 3, 5)), rng.standard_normal((4, 5)),
            rng.standard_normal(4)], {}


@register_forward(Linear, devices=("cpu",), sample=_linear_sample,
                  why="batch dims as the rows of one GEMM: NumPy's matmul of a 3-D by a 2-D "
                      "array runs one small GEMM per matrix (W5: 12 of 64 rows)")
def linear_forward(fn: Linear, x: Any, w: Any, b: Any = None) -> Any:
    fn.has_bias = b is not None
    if x.ndim <= 2:
        return NotImplemented
    y = x.reshape(-1, x.shape[-1]) @ w.T
    if b is not None:
        y += b
    return y.reshape(x.shape[:-1] + (w.shape[0],))


@register_backward(Linear, sample=_linear_sample,
                   why="array matmuls, no Tensor wrappers; batch dims as rows of one GEMM")
def linear_backward(fn: Linear, g: Tensor) -> tuple:
    x, w = fn.inputs[0], fn.inputs[1]
    need = fn.needs_input_grad
    gd = g.array.reshape(-1, w.shape[0])
    gx = _tensor(g, (gd @ w.array).reshape(x.shape)) if need[0] else None
    gw = _tensor(g, gd.T @ x.array.reshape(-1, w.shape[1])) if need[1] else None
    gb = _tensor(g, gd.sum(0)) if fn.has_bias and need[2] else None
    return (gx, gw, gb) if fn.has_bias else (gx, gw)


def _gelu_sample(rng: np.random.Generator) -> tuple:
    return [3 * rng.standard_normal((4, 6))], {}


@register_forward(GeluTanh, sample=_gelu_sample,
                  why="in-place passes, and keeps tanh(u) for the backward (W5: 12 x 64 x 512 "
                      "numbers per block)")
def gelu_tanh_forward(fn: GeluTanh, x: Any) -> Any:
    xp = get_array_module(x)
    t = x * x
    t *= 0.044715
    t += 1.0
    t *= x
    t *= _SQRT_2_OVER_PI
    xp.tanh(t, out=t)
    fn.tanh_u = t  # (the backward's t; y itself is a new array)
    y = t + 1.0
    y *= x
    y *= 0.5
    return y


@register_backward(GeluTanh, sample=_gelu_sample,
                   why="GeluTanh.backward's formula in 10 array passes instead of 14 "
                       "Tensor ops (W5's MLP: 12 x 64 x 512 numbers per block)")
def gelu_tanh_backward(fn: GeluTanh, g: Tensor) -> Tensor:
    x = fn.inputs[0].array
    xp = get_array_module(x)
    x2 = x * x
    t = getattr(fn, "tanh_u", None)  # (left unchanged: a second backward may read it)
    if t is None:  # the reference forward ran
        t = xp.tanh(_SQRT_2_OVER_PI * x * (1.0 + 0.044715 * x2))
    du = x2
    du *= 3 * 0.044715 * 0.5 * _SQRT_2_OVER_PI
    du += 0.5 * _SQRT_2_OVER_PI  # du = (1 + 3 c x^2) sqrt(2/pi) / 2
    du *= x
    grad = 1.0 - t * t
    grad *= du
    half = t + 1.0
    half *= 0.5
    grad += half
    grad *= g.array
    return _tensor(g, grad)


def _batch_norm_sample(rng: np.random.Generator) -> tuple:
    # eval mode: in training dL/dx is a difference of nearly equal terms, which only agree
    # to an absolute tolerance (tests/fast/test_nn.py checks training)
    return [rng.standard_normal((4, 3, 2, 2)), rng.standard_normal(3),
            rng.standard_normal(3)], dict(mean=rng.standard_normal(3),
                                          var=rng.uniform(0.5, 2.0, 3), eps=1e-5,
                                          training=False, has_weight=True, has_bias=True)


@register_backward(BatchNorm, sample=_batch_norm_sample,
                   why="reuses the forward's xhat; 2 sums per channel, in-place dx")
def batch_norm_backward(fn: BatchNorm, g: Tensor) -> tuple:
    """BatchNorm.backward's formulas from the two sums per channel sum(g), sum(g * xhat)."""
    need = fn.needs_input_grad
    gd, xhat, invstd = g.array, fn.xhat, fn.invstd
    w = fn.inputs[1].array.reshape(fn.shape) if fn.has_weight else None
    sum_g = gd.sum(axis=fn.axes, keepdims=True)
    sum_gx = (gd * xhat).sum(axis=fn.axes, keepdims=True) if (
        fn.training or fn.has_weight) else None
    grads: list = [None]
    if need[0]:
        scale = invstd if w is None else invstd * w
        if not fn.training:
            grads[0] = _tensor(g, gd * scale)
        else:
            inverse_count = 1.0 / (gd.size // gd.shape[1])
            if getattr(fn, "dx_kernel", None) is not None and gd.dtype == xhat.dtype:
                dx = fn.dx_kernel(gd, xhat, sum_g, sum_gx, scale, inverse_count)
            else:
                dx = gd - sum_g * inverse_count
                dx -= xhat * (sum_gx * inverse_count)
                dx *= scale
            grads[0] = _tensor(g, dx)
    if fn.has_weight:
        grads.append(_tensor(g, sum_gx.reshape(-1)) if need[1] else None)
    if fn.has_bias:
        grads.append(_tensor(g, sum_g.reshape(-1)) if need[-1] else None)
    return tuple(grads)


def _layer_norm_sample(rng: np.random.Generator) -> tuple:
    return [rng.standard_normal((2, 3, 4, 5)), rng.standard_normal((4, 5)),
            rng.standard_normal((4, 5))], dict(k=2, eps=1e-5, has_weight=True, has_bias=True)


@register_backward(LayerNorm, sample=_layer_norm_sample,
                   why="reuses the forward's xhat and 1/std: 2 row means, in-place dx, instead "
                       "of recomputing the statistics in ~20 Tensor ops (W5: 9 per step)")
def layer_norm_backward(fn: LayerNorm, g: Tensor) -> tuple:
    """LayerNorm.backward's formulas from the forward's xhat and 1/std."""
    need = fn.needs_input_grad
    gd, xhat = g.array, fn.xhat
    grads: list = [None]
    if need[0]:
        g_hat = gd * fn.inputs[1].array if fn.has_weight else gd.copy()
        mean_gx = (g_hat * xhat).mean(axis=fn.axes, keepdims=True)
        g_hat -= g_hat.mean(axis=fn.axes, keepdims=True)
        g_hat -= xhat * mean_gx
        g_hat *= fn.invstd
        grads[0] = _tensor(g, g_hat)
    if fn.has_weight:
        grads.append(_tensor(g, (gd * xhat).sum(axis=fn.lead)) if need[1] else None)
    if fn.has_bias:
        grads.append(_tensor(g, gd.sum(axis=fn.lead)) if need[-1] else None)
    return tuple(grads)


def _cross_entropy_sample(rng: np.random.Generator) -> tuple:
    return [rng.standard_normal((6, 4))], dict(
        target=np.array([0, 3, -100, 1, 2, 3]), weight=rng.uniform(0.5, 2.0, 4),
        ignore_index=-100, reduction="mean", label_smoothing=0.1)


@register_backward(CrossEntropy, sample=_cross_entropy_sample,
                   why="softmax - onehot from the forward's softmax, in place")
def cross_entropy_backward(fn: CrossEntropy, g: Tensor) -> Tensor:
    t = fn.targets
    # d(reduced loss)/d(row loss): g per row, or g times the scale the forward kept
    coef = g.array.reshape(-1, 1) if fn.reduction == "none" else g.array * t.scale
    if fn.eps == 0:  # w[t] (softmax - onehot) * coef
        row = coef * t.row_weight[:, None]
        grad = fn.probs * row
        grad[t.rows, t.index] -= row[:, 0]
        return _tensor(g, grad)
    a, b = fn.gradient_terms()
    return _tensor(g, (fn.probs * a - b) * coef)


def _attention_sample(rng: np.random.Generator) -> tuple:
    return [rng.standard_normal((2, 3, 4, 5)), rng.standard_normal((2, 3, 6, 5)),
            rng.standard_normal((2, 3, 6, 2)), rng.standard_normal((4, 6))], dict(
        scale=0.4, causal=True)


@register_backward(Attention, sample=_attention_sample,
                   why="from the forward's weights on the arrays, in place: no second softmax "
                       "and no graph nodes (W5: 4 attention layers of 12 x 4 x 64 x 64)")
def attention_backward(fn: Attention, g: Tensor) -> tuple:
    q, k, v = (t.array for t in fn.inputs[:3])
    w, ga = fn.weights, g.array
    xp = get_array_module(ga)
    dv = xp.swapaxes(w, -1, -2) @ ga
    ds = ga @ xp.swapaxes(v, -1, -2)
    ds -= (ds * w).sum(axis=-1, keepdims=True)
    ds *= w  # dS = W * (dW - sum_j W dW)
    dq, dk = ds @ k, xp.swapaxes(ds, -1, -2) @ q
    dq *= fn.scale
    dk *= fn.scale
    return _tensor(g, dq), _tensor(g, dk), _tensor(g, dv), _tensor(g, ds)
