"""Adam and AdamW (Adam with decoupled weight decay)."""

from __future__ import annotations

from typing import Any, Iterable

from ..backend import get_array_module
from ..tensor import Tensor
from .optimizer import CapturableOptimizer, StateKey

__all__ = ["Adam", "AdamW"]


class Adam(CapturableOptimizer):
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

    capturable: keep the step count t on the parameter's device (a float32 Tensor) and compute
    the bias corrections there, so that a step captured in a CUDA graph counts on at every
    replay (without it, t is a CPU number, and a capture would bake in the captured step's
    corrections: stepping while a graph captures raises PyTorch's error). `lr` may be a
    Tensor on the GPU too (a scheduler changes it in place; a replay reads its latest value).
    """

    _state_keys = {"step": StateKey("step"), "exp_avg": StateKey(), "exp_avg_sq": StateKey(),
                   # made by the first step with amsgrad (amsgrad may be switched on later)
                   "max_exp_avg_sq": StateKey(required=False)}

    _decoupled_weight_decay = False

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]],
                 lr: float | Tensor = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *,
                 maximize: bool = False, capturable: bool = False) -> None:
        defaults = dict(lr=lr, betas=tuple(betas) if isinstance(betas, list) else betas, eps=eps,
                        weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize,
                        capturable=capturable)
        super().__init__(params, defaults)

    def _init_state(self, p: Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        state["step"] = self._step_state_for(p, group)
        state["exp_avg"] = self._zeros_state(p)
        state["exp_avg_sq"] = self._zeros_state(p)
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = self._zeros_state(p)

    def update(self, p: Any, grad: Any, state: dict[str, Any],
               group: dict[str, Any]) -> None:
        """The formula of the class docstring, on the arrays of one parameter."""
        xp = get_array_module(p)
        lr, weight_decay = group["lr"], group["weight_decay"]
        beta1, beta2 = group["betas"]
        g = -grad if group["maximize"] else grad
        if weight_decay != 0 and self._decoupled_weight_decay:
            p *= 1 - lr * weight_decay
        elif weight_decay != 0:
            g = g + weight_decay * p
        t = self._count_step(p, state, group)  # a number, or (capturable) a device scalar
        m, v = state["exp_avg"].array, state["exp_avg_sq"].array
        m *= beta1
        m += (1 - beta1) * g
        v *= beta2
        v += (1 - beta2) * (g * g)
        if group["amsgrad"]:
            if "max_exp_avg_sq" not in state:  # amsgrad switched on after some steps
                state["max_exp_avg_sq"] = self._state_tensor(xp.zeros_like(p))
            v = xp.maximum(state["max_exp_avg_sq"].array, v, out=state["max_exp_avg_sq"].array)
        denom = xp.sqrt(v) / (1 - beta2 ** t) ** 0.5 + group["eps"]
        p -= m / denom * (lr / (1 - beta1 ** t))


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter), PyTorch's formulation:
    before the Adam update, p = p * (1 - lr * weight_decay); the gradient is not penalised.
    """

    _decoupled_weight_decay = True

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]],
                 lr: float | Tensor = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False, capturable: bool = False) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize, capturable=capturable)
