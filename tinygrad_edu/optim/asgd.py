"""ASGD: averaged stochastic gradient descent."""

from __future__ import annotations

from typing import Any, Iterable

from ..tensor import Tensor
from .optimizer import Optimizer, StateKey

__all__ = ["ASGD"]


class ASGD(Optimizer):
    r"""Averaged SGD (Polyak & Juditsky), PyTorch's formulation.

    For each parameter p with gradient g, at step t = 1, 2, ...::

        g = -g if maximize
        g = g + weight_decay * p                       if weight_decay != 0
        p = p * (1 - lambd * eta) - eta * g            eta: "eta", starts at lr
        ax = ax + mu * (p - ax)     (ax = p if mu == 1)   "ax", the running average of p
        eta = lr / (1 + lambd * lr * t) ** alpha
        mu = 1 / max(1, t - t0)                        "mu": averaging starts after t0 steps

    State per parameter: "step", "eta", "mu" (float32 CPU scalars, as PyTorch's values), "ax".
    """

    _state_keys = {"step": StateKey("step"), "eta": StateKey("step"), "mu": StateKey("step"),
                   "ax": StateKey()}

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]],
                 lr: float | Tensor = 1e-2,
                 lambd: float = 1e-4, alpha: float = 0.75, t0: float = 1e6,
                 weight_decay: float = 0, maximize: bool = False) -> None:
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                        maximize=maximize)
        super().__init__(params, defaults)

    def _validate_group(self, group: dict[str, Any]) -> None:
        # PyTorch checks only lr and weight_decay here; ASGD's alpha is an exponent, any sign
        super()._validate_group({k: v for k, v in group.items() if k != "alpha"})

    def _init_state(self, p: Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        state["step"] = self._step_state()
        state["eta"] = self._step_state().fill_(float(group["lr"]))  # (eta is a CPU scalar)
        state["mu"] = self._step_state().fill_(1.0)
        state["ax"] = self._zeros_state(p)

    def update(self, p: Any, grad: Any, state: dict[str, Any],
               group: dict[str, Any]) -> None:
        """The formula of the class docstring, on the arrays of one parameter."""
        lr, lambd = float(group["lr"]), group["lambd"]  # (eta is a CPU scalar: a GPU lr is read)
        g = -grad if group["maximize"] else grad
        state["step"].array += 1
        if group["weight_decay"] != 0:
            g = g + group["weight_decay"] * p
        eta, mu = float(state["eta"].array), float(state["mu"].array)
        p *= 1 - lambd * eta
        p -= eta * g
        ax = state["ax"].array
        if mu != 1:
            ax += (p - ax) * mu
        else:
            ax[...] = p
        t = float(state["step"].array)
        state["eta"].array[...] = lr / (1 + lambd * lr * t) ** group["alpha"]
        state["mu"].array[...] = 1 / max(1, t - group["t0"])
