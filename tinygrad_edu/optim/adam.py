"""Adam and AdamW (Adam with decoupled weight decay)."""

from __future__ import annotations

import math
from typing import Any, Callable, Iterable

from .. import backend
from ..tensor import Tensor
from .optimizer import Optimizer, StateKey

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    r"""Adam (Kingma & Ba), PyTorch's formulation.

    For each parameter p with gradient g, at step t = 1, 2, ...::

        g = -g if maximize
        g = g + weight_decay * p                       (Adam: L2 penalty in the gradient)
        p = p * (1 - lr * weight_decay)                (AdamW: decoupled, instead)
        m = beta1 * m + (1 - beta1) * g                "exp_avg"
        v = beta2 * v + (1 - beta2) * g * g            "exp_avg_sq"
        v_max = max(v_max, v)                          "max_exp_avg_sq" (amsgrad only)
        denom = sqrt(v or v_max) / sqrt(1 - beta2**t) + eps
        p = p - lr / (1 - beta1**t) * m / denom

    State per parameter: "step", "exp_avg", "exp_avg_sq" (and "max_exp_avg_sq").
    """

    _state_keys = {"step": StateKey("step"), "exp_avg": StateKey(), "exp_avg_sq": StateKey(),
                   # made by the first step with amsgrad (amsgrad may be switched on later)
                   "max_exp_avg_sq": StateKey(required=False)}

    _decoupled_weight_decay = False

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        defaults = dict(lr=lr, betas=tuple(betas) if isinstance(betas, list) else betas, eps=eps,
                        weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize)
        super().__init__(params, defaults)

    def _init_state(self, p: Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        state["step"] = self._step_state()
        state["exp_avg"] = self._zeros_state(p)
        state["exp_avg_sq"] = self._zeros_state(p)
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = self._zeros_state(p)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient; returns `closure()` if given."""
        loss = self._run_closure(closure)
        self._check_grads()
        decoupled = self._decoupled_weight_decay
        for group in self.param_groups:
            lr, eps, weight_decay = self._floats(group, "lr", "eps", "weight_decay")
            beta1, beta2 = (float(b) for b in group["betas"])
            amsgrad = bool(group["amsgrad"])
            maximize = bool(group["maximize"])
            l2 = 0.0 if decoupled else weight_decay  # the penalty added to the gradient
            for p, data, grad, xp, state in self._params_with_grads(group):
                step = self._increment(state["step"])
                bias_correction1 = 1.0 - beta1 ** step
                bias_correction2_sqrt = math.sqrt(1.0 - beta2 ** step)
                if amsgrad and "max_exp_avg_sq" not in state:  # amsgrad switched on later
                    state["max_exp_avg_sq"] = self._zeros_state(p)
                max_exp_avg_sq = state["max_exp_avg_sq"].array if amsgrad else None
                if backend.use_kernels(data, grad):  # the GPU: one fused kernel
                    decay = 1.0 - lr * weight_decay if decoupled and weight_decay != 0 else 1.0
                    scalars = (-1.0 if maximize else 1.0, l2, decay, beta1, 1.0 - beta1, beta2,
                               1.0 - beta2, bias_correction2_sqrt, eps, lr / bias_correction1)
                    moments = (data, state["exp_avg"].array, state["exp_avg_sq"].array)
                    if amsgrad:
                        _ADAM_AMSGRAD(grad, *scalars, *moments, max_exp_avg_sq)
                    else:
                        _ADAM(grad, *scalars, *moments)
                    continue

                # the in-place update, on whole arrays or matching chunks (see _chunked);
                # called right here, so it may read this iteration's variables
                def update(data, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, tmp, g_tmp):
                    grad = self._penalize(data, grad, g_tmp, xp, l2, maximize)
                    if decoupled and weight_decay != 0:
                        data *= 1.0 - lr * weight_decay
                    exp_avg *= beta1
                    exp_avg += xp.multiply(grad, 1.0 - beta1, out=tmp)
                    exp_avg_sq *= beta2
                    xp.multiply(grad, grad, out=tmp)
                    tmp *= 1.0 - beta2
                    exp_avg_sq += tmp

                    second = exp_avg_sq
                    if max_exp_avg_sq is not None:
                        second = xp.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
                    denom = xp.sqrt(second, out=tmp)
                    denom /= bias_correction2_sqrt
                    denom += eps
                    step = xp.divide(exp_avg, denom, out=tmp)
                    step *= lr / bias_correction1
                    data -= step

                self._chunked(update, data, grad, state["exp_avg"].array,
                              state["exp_avg_sq"].array, max_exp_avg_sq,
                              self._scratch(data, 0),
                              self._penalty_scratch(data, l2, maximize, slot=1))
        return loss


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter), PyTorch's formulation:
    before the Adam update, p = p * (1 - lr * weight_decay); the gradient is not penalised.
    """

    _decoupled_weight_decay = True

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize)


# The same update on the GPU as one fused kernel per parameter (see backend.ElementwiseKernel),
# in the CPU code's order of operations. d is the penalised gradient; "second" the second
# moment that divides (the running maximum of exp_avg_sq with amsgrad).
def _adam_kernel(amsgrad: bool) -> backend.ElementwiseKernel:
    keep_max = ("max_exp_avg_sq = (isnan(max_exp_avg_sq) || max_exp_avg_sq > exp_avg_sq)"
                " ? max_exp_avg_sq : exp_avg_sq;")
    second = "max_exp_avg_sq" if amsgrad else "exp_avg_sq"
    return backend.ElementwiseKernel(
        "T g, T sign, T weight_decay, T decay, T beta1, T keep1, T beta2, T keep2, "
        "T bias_correction2_sqrt, T eps, T step_size",
        "T p, T exp_avg, T exp_avg_sq" + (", T max_exp_avg_sq" if amsgrad else ""),
        Optimizer.PENALIZED_GRAD_C
        + "p *= decay;"
          "exp_avg = exp_avg * beta1 + d * keep1;"
          "exp_avg_sq = exp_avg_sq * beta2 + d * d * keep2;"
        + (keep_max if amsgrad else "")
        + f"p -= exp_avg / (sqrt({second}) / bias_correction2_sqrt + eps) * step_size",
        "tinygrad_edu_adam" + ("_amsgrad" if amsgrad else ""))


_ADAM, _ADAM_AMSGRAD = _adam_kernel(False), _adam_kernel(True)
