"""Stochastic gradient descent, with momentum, dampening, Nesterov and weight decay."""

from __future__ import annotations

from typing import Any, Iterable

from ..tensor import Tensor
from .optimizer import Optimizer, StateKey

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""Stochastic gradient descent (PyTorch's formulation).

    For each parameter p with gradient g, at step t::

        g = -g if maximize
        g = g + weight_decay * p                      if weight_decay != 0
        if momentum != 0:
            b = g                                     at the first step
            b = momentum * b + (1 - dampening) * g    afterwards
            g = g + momentum * b   if nesterov else   g = b
        p = p - lr * g

    State per parameter: "momentum_buffer" (only when momentum != 0). `lr` may be a Tensor,
    also on the GPU, which a scheduler changes in place (see `Optimizer`): a step captured in
    a CUDA graph then uses its latest value at every replay.
    """

    # None (PyTorch's value without momentum) or missing: the first step fills it
    _state_keys = {"momentum_buffer": StateKey(required=False, nullable=True)}

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]],
                 lr: float | Tensor = 1e-3,
                 momentum: float = 0, dampening: float = 0, weight_decay: float = 0,
                 nesterov: bool = False, maximize: bool = False) -> None:
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov, maximize=maximize)
        super().__init__(params, defaults)

    def _validate_group(self, group: dict[str, Any]) -> None:
        super()._validate_group(group)
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(f"SGD: Nesterov momentum requires a momentum and zero dampening "
                             f"(got momentum={group['momentum']}, "
                             f"dampening={group['dampening']})")

    def _new_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        """Without momentum SGD keeps no state (as PyTorch): a throwaway dict."""
        return super()._new_state(p, group) if group["momentum"] != 0 else {}

    def update(self, p: Any, grad: Any, state: dict[str, Any],
               group: dict[str, Any]) -> None:
        """p -= lr * d_p on the arrays, d_p the gradient after maximize, weight decay and
        momentum (the buffer b is a state Tensor: its array changes in place)."""
        d_p = -grad if group["maximize"] else grad
        if group["weight_decay"] != 0:
            d_p = d_p + group["weight_decay"] * p
        if group["momentum"] != 0:
            buf = state.get("momentum_buffer")
            if buf is None:  # the first step: b = d_p (a copy, in p's dtype)
                buf = state["momentum_buffer"] = self._state_tensor(d_p.astype(p.dtype))
            else:
                buf.array *= group["momentum"]
                buf.array += (1 - group["dampening"]) * d_p
            d_p = d_p + group["momentum"] * buf.array if group["nesterov"] else buf.array
        p -= group["lr"] * d_p
