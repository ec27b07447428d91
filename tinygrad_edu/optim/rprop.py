"""Rprop: resilient backpropagation, per-coordinate step sizes driven by the gradient's sign."""

from __future__ import annotations

from typing import Any, Iterable

from ..backend import get_array_module
from ..tensor import Tensor
from .optimizer import CapturableOptimizer, StateKey

__all__ = ["Rprop"]


class Rprop(CapturableOptimizer):
    r"""Rprop (Riedmiller & Braun), PyTorch's formulation.

    For each parameter p with gradient g, elementwise::

        g = -g if maximize
        s = sign(g * g_prev)                           g_prev: "prev", the last g used
        factor = etaplus if s > 0, etaminus if s < 0, 1 if s == 0
        step_size = clamp(step_size * factor, step_size_min, step_size_max)   "step_size"
        g = 0 where s < 0                              (the sign flipped: skip this step)
        p = p - sign(g) * step_size
        g_prev = g

    "step_size" starts at lr. State per parameter: "step", "prev", "step_size". capturable:
    the step count on the parameter's device (the formula does not use it), so that a step
    captured in a CUDA graph counts on at every replay.
    """

    _state_keys = {"step": StateKey("step"), "prev": StateKey(), "step_size": StateKey()}

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]],
                 lr: float | Tensor = 1e-2,
                 etas: tuple[float, float] = (0.5, 1.2),
                 step_sizes: tuple[float, float] = (1e-6, 50), *,
                 capturable: bool = False, maximize: bool = False) -> None:
        defaults = dict(lr=lr, etas=tuple(etas), step_sizes=tuple(step_sizes),
                        capturable=capturable, maximize=maximize)
        super().__init__(params, defaults)

    def _validate_group(self, group: dict[str, Any]) -> None:
        super()._validate_group(group)
        etaminus, etaplus = group["etas"]
        if not 0.0 < etaminus < 1.0 < etaplus:
            raise ValueError(f"Rprop: Invalid eta values: {etaminus}, {etaplus} (need "
                             "0 < etaminus < 1 < etaplus)")

    def _init_state(self, p: Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        state["step"] = self._step_state_for(p, group)
        state["prev"] = self._zeros_state(p)
        state["step_size"] = self._zeros_state(p, float(group["lr"]))

    def update(self, p: Any, grad: Any, state: dict[str, Any],
               group: dict[str, Any]) -> None:
        """The formula of the class docstring, on the arrays of one parameter."""
        xp = get_array_module(p)
        etaminus, etaplus = group["etas"]
        step_size_min, step_size_max = group["step_sizes"]
        g = -grad if group["maximize"] else grad
        self._count_step(p, state, group)
        prev, step_size = state["prev"].array, state["step_size"].array
        s = xp.sign(g * prev)
        step_size *= xp.where(s > 0, etaplus, xp.where(s < 0, etaminus, 1.0)).astype(p.dtype)
        xp.clip(step_size, step_size_min, step_size_max, out=step_size)
        g = xp.where(s < 0, 0, g)
        p -= xp.sign(g) * step_size
        prev[...] = g
