"""Adadelta: step sizes from running averages of squared gradients and squared updates."""

from __future__ import annotations

from typing import Any, Iterable

from ..backend import get_array_module
from ..tensor import Tensor
from .optimizer import CapturableOptimizer, StateKey

__all__ = ["Adadelta"]


class Adadelta(CapturableOptimizer):
    r"""Adadelta (Zeiler), PyTorch's formulation.

    For each parameter p with gradient g::

        g = -g if maximize
        g = g + weight_decay * p                       if weight_decay != 0
        v = rho * v + (1 - rho) * g * g                "square_avg"
        delta = sqrt(u + eps) / sqrt(v + eps) * g
        u = rho * u + (1 - rho) * delta * delta        "acc_delta"
        p = p - lr * delta

    State per parameter: "step", "square_avg", "acc_delta". capturable: the step count on the
    parameter's device (the formula does not use it), so that a step captured in a CUDA graph
    counts on at every replay.
    """

    _state_keys = {"step": StateKey("step"), "square_avg": StateKey(), "acc_delta": StateKey()}

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]],
                 lr: float | Tensor = 1.0,
                 rho: float = 0.9, eps: float = 1e-6, weight_decay: float = 0, *,
                 capturable: bool = False, maximize: bool = False) -> None:
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay,
                        capturable=capturable, maximize=maximize)
        super().__init__(params, defaults)

    def _validate_group(self, group: dict[str, Any]) -> None:
        super()._validate_group(group)
        if not 0.0 <= group["rho"] <= 1.0:
            raise ValueError(f"Adadelta: Invalid rho value: {group['rho']} (must be in [0, 1])")

    def _init_state(self, p: Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        state["step"] = self._step_state_for(p, group)
        state["square_avg"] = self._zeros_state(p)
        state["acc_delta"] = self._zeros_state(p)

    def update(self, p: Any, grad: Any, state: dict[str, Any],
               group: dict[str, Any]) -> None:
        """The formula of the class docstring, on the arrays of one parameter."""
        xp = get_array_module(p)
        rho, eps = group["rho"], group["eps"]
        g = -grad if group["maximize"] else grad
        if group["weight_decay"] != 0:
            g = g + group["weight_decay"] * p
        self._count_step(p, state, group)
        v, u = state["square_avg"].array, state["acc_delta"].array
        v *= rho
        v += (1 - rho) * (g * g)
        delta = xp.sqrt(u + eps) / xp.sqrt(v + eps) * g
        u *= rho
        u += (1 - rho) * (delta * delta)
        p -= group["lr"] * delta
