"""RAdam: Adam with a rectified (variance-corrected) adaptive learning rate."""

from __future__ import annotations

import math
from typing import Any, Iterable

from ..backend import get_array_module
from ..tensor import Tensor
from .optimizer import CapturableOptimizer, StateKey

__all__ = ["RAdam"]


class RAdam(CapturableOptimizer):
    r"""RAdam (Liu et al.), PyTorch's formulation.

    For each parameter p with gradient g, at step t = 1, 2, ...::

        g = -g if maximize
        g = g + weight_decay * p                       (L2 penalty in the gradient)
        p = p * (1 - lr * weight_decay)                (decoupled_weight_decay, instead)
        m = beta1 * m + (1 - beta1) * g                "exp_avg"
        v = beta2 * v + (1 - beta2) * g * g            "exp_avg_sq"
        m_hat = m / (1 - beta1**t)
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 t beta2**t / (1 - beta2**t)
        if rho_t > 5:                                  (the variance is tractable)
            r = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
            p = p - lr * m_hat * r * sqrt(1 - beta2**t) / (sqrt(v) + eps)
        else:                                          (early steps: momentum SGD)
            p = p - lr * m_hat

    State per parameter: "step", "exp_avg", "exp_avg_sq". capturable: t on the parameter's
    device (see Adam), and the choice between the two updates made there, elementwise (both
    are computed, as PyTorch's capturable RAdam does).
    """

    _state_keys = {"step": StateKey("step"), "exp_avg": StateKey(), "exp_avg_sq": StateKey()}

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]],
                 lr: float | Tensor = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, decoupled_weight_decay: bool = False, *,
                 maximize: bool = False, capturable: bool = False) -> None:
        defaults = dict(lr=lr, betas=tuple(betas) if isinstance(betas, list) else betas, eps=eps,
                        weight_decay=weight_decay, maximize=maximize,
                        decoupled_weight_decay=decoupled_weight_decay, capturable=capturable)
        super().__init__(params, defaults)

    def _init_state(self, p: Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        state["step"] = self._step_state_for(p, group)
        state["exp_avg"] = self._zeros_state(p)
        state["exp_avg_sq"] = self._zeros_state(p)

    def update(self, p: Any, grad: Any, state: dict[str, Any],
               group: dict[str, Any]) -> None:
        """The formula of the class docstring, on the arrays of one parameter."""
        xp = get_array_module(p)
        lr, weight_decay = group["lr"], group["weight_decay"]
        beta1, beta2 = group["betas"]
        g = -grad if group["maximize"] else grad
        t = self._count_step(p, state, group)  # a number, or (capturable) a device scalar
        if weight_decay != 0 and group["decoupled_weight_decay"]:
            p *= 1 - lr * weight_decay
        elif weight_decay != 0:
            g = g + weight_decay * p
        m, v = state["exp_avg"].array, state["exp_avg_sq"].array
        m *= beta1
        m += (1 - beta1) * g
        v *= beta2
        v += (1 - beta2) * (g * g)
        m_hat = m / (1 - beta1 ** t)
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * t * beta2 ** t / (1 - beta2 ** t)
        if group["capturable"]:  # rho_t is on the device: choose there, without reading it
            ratio = (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
            rect = xp.sqrt(xp.maximum(ratio, 0) * (1 - beta2 ** t))  # (ratio < 0: not used)
            p -= m_hat * lr * xp.where(rho_t > 5.0, rect / (xp.sqrt(v) + group["eps"]), 1.0)
        elif rho_t > 5.0:
            rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                             / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            p -= m_hat * (lr * rect * math.sqrt(1 - beta2 ** t)) / (xp.sqrt(v) + group["eps"])
        else:
            p -= m_hat * lr
