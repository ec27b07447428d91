"""RMSprop: divide the gradient by a running root-mean-square of recent gradients."""

from __future__ import annotations

from typing import Any, Iterable

from ..backend import get_array_module
from ..tensor import Tensor
from .optimizer import CapturableOptimizer, StateKey

__all__ = ["RMSprop"]


class RMSprop(CapturableOptimizer):
    r"""RMSprop (Hinton), PyTorch's formulation.

    For each parameter p with gradient g::

        g = -g if maximize
        g = g + weight_decay * p                       if weight_decay != 0
        v = alpha * v + (1 - alpha) * g * g            "square_avg"
        if centered:
            a = alpha * a + (1 - alpha) * g            "grad_avg"
            avg = sqrt(v - a * a) + eps
        else:
            avg = sqrt(v) + eps
        if momentum > 0:
            b = momentum * b + g / avg                 "momentum_buffer"
            p = p - lr * b
        else:
            p = p - lr * g / avg

    State per parameter: "step", "square_avg" (and "momentum_buffer", "grad_avg").
    capturable: the step count on the parameter's device (the formula does not use it), so
    that a step captured in a CUDA graph counts on at every replay.
    """

    _state_keys = {"step": StateKey("step"), "square_avg": StateKey(),
                   # made by the first step with momentum / centered (they may be switched on)
                   "momentum_buffer": StateKey(required=False),
                   "grad_avg": StateKey(required=False)}

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]],
                 lr: float | Tensor = 1e-2,
                 alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0,
                 momentum: float = 0, centered: bool = False, capturable: bool = False, *,
                 maximize: bool = False) -> None:
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                        momentum=momentum, centered=centered, capturable=capturable,
                        maximize=maximize)
        super().__init__(params, defaults)

    def _init_state(self, p: Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        state["step"] = self._step_state_for(p, group)
        state["square_avg"] = self._zeros_state(p)

    def update(self, p: Any, grad: Any, state: dict[str, Any],
               group: dict[str, Any]) -> None:
        """The formula of the class docstring, on the arrays of one parameter."""
        xp = get_array_module(p)
        alpha, momentum = group["alpha"], group["momentum"]
        g = -grad if group["maximize"] else grad
        if group["weight_decay"] != 0:
            g = g + group["weight_decay"] * p
        self._count_step(p, state, group)
        v = state["square_avg"].array
        v *= alpha
        v += (1 - alpha) * (g * g)
        if group["centered"]:
            if "grad_avg" not in state:  # centered switched on after some steps
                state["grad_avg"] = self._state_tensor(xp.zeros_like(p))
            a = state["grad_avg"].array
            a *= alpha
            a += (1 - alpha) * g
            avg = xp.sqrt(v - a * a) + group["eps"]
        else:
            avg = xp.sqrt(v) + group["eps"]
        if momentum > 0:
            if "momentum_buffer" not in state:  # momentum switched on after some steps
                state["momentum_buffer"] = self._state_tensor(xp.zeros_like(p))
            b = state["momentum_buffer"].array
            b *= momentum
            b += g / avg
            p -= group["lr"] * b
        else:
            p -= group["lr"] * (g / avg)
