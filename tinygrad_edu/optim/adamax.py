"""Adamax: Adam with the infinity norm in place of the second moment."""

from __future__ import annotations

from typing import Any, Iterable

from ..backend import get_array_module
from ..tensor import Tensor
from .optimizer import CapturableOptimizer, StateKey

__all__ = ["Adamax"]


class Adamax(CapturableOptimizer):
    r"""Adamax (Kingma & Ba), PyTorch's formulation.

    For each parameter p with gradient g, at step t = 1, 2, ...::

        g = -g if maximize
        g = g + weight_decay * p                       if weight_decay != 0
        m = beta1 * m + (1 - beta1) * g                "exp_avg"
        u = max(beta2 * u, |g| + eps)                  "exp_inf"
        p = p - lr / (1 - beta1**t) * m / u

    State per parameter: "step", "exp_avg", "exp_inf". capturable: t on the parameter's
    device (see Adam).
    """

    _state_keys = {"step": StateKey("step"), "exp_avg": StateKey(), "exp_inf": StateKey()}

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]],
                 lr: float | Tensor = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, *, maximize: bool = False,
                 capturable: bool = False) -> None:
        defaults = dict(lr=lr, betas=tuple(betas) if isinstance(betas, list) else betas, eps=eps,
                        weight_decay=weight_decay, maximize=maximize, capturable=capturable)
        super().__init__(params, defaults)

    def _init_state(self, p: Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        state["step"] = self._step_state_for(p, group)
        state["exp_avg"] = self._zeros_state(p)
        state["exp_inf"] = self._zeros_state(p)

    def update(self, p: Any, grad: Any, state: dict[str, Any],
               group: dict[str, Any]) -> None:
        """The formula of the class docstring, on the arrays of one parameter."""
        xp = get_array_module(p)
        beta1, beta2 = group["betas"]
        g = -grad if group["maximize"] else grad
        if group["weight_decay"] != 0:
            g = g + group["weight_decay"] * p
        t = self._count_step(p, state, group)  # a number, or (capturable) a device scalar
        m, u = state["exp_avg"].array, state["exp_inf"].array
        m *= beta1
        m += (1 - beta1) * g
        xp.maximum(u * beta2, xp.abs(g) + group["eps"], out=u)
        p -= m / u * (group["lr"] / (1 - beta1 ** t))
