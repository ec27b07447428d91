"""ASGD: averaged stochastic gradient descent."""

from __future__ import annotations

from typing import Any, Iterable

from ..backend import get_array_module
from ..tensor import Tensor
from .optimizer import CapturableOptimizer, StateKey

__all__ = ["ASGD"]


class ASGD(CapturableOptimizer):
    r"""Averaged SGD (Polyak & Juditsky), PyTorch's formulation.

    For each parameter p with gradient g, at step t = 1, 2, ...::

        g = -g if maximize
        g = g + weight_decay * p                       if weight_decay != 0
        p = p * (1 - lambd * eta) - eta * g            eta: "eta", starts at lr
        ax = ax + mu * (p - ax)     (ax = p if mu == 1)   "ax", the running average of p
        eta = lr / (1 + lambd * lr * t) ** alpha
        mu = 1 / max(1, t - t0)                        "mu": averaging starts after t0 steps

    State per parameter: "step", "eta", "mu" (float32 CPU scalars, as PyTorch's values), "ax".

    capturable: "step", "eta" and "mu" live on the parameter's device and the new eta and mu
    are computed there from the count (nothing is read back), so that a step captured in a
    CUDA graph uses and updates them at every replay. (The running average then always adds
    mu * (p - ax), as PyTorch's capturable ASGD: with mu = 1 that is p up to rounding.)
    """

    _state_keys = {"step": StateKey("step"), "eta": StateKey("step"), "mu": StateKey("step"),
                   "ax": StateKey()}

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]],
                 lr: float | Tensor = 1e-2,
                 lambd: float = 1e-4, alpha: float = 0.75, t0: float = 1e6,
                 weight_decay: float = 0, maximize: bool = False, *,
                 capturable: bool = False) -> None:
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                        maximize=maximize, capturable=capturable)
        super().__init__(params, defaults)

    def _validate_group(self, group: dict[str, Any]) -> None:
        # PyTorch checks only lr and weight_decay here; ASGD's alpha is an exponent, any sign
        super()._validate_group({k: v for k, v in group.items() if k != "alpha"})

    def _init_state(self, p: Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        device = p.device if group["capturable"] else None
        lr = group["lr"]  # a number, or a device scalar on p's GPU (`_lr_for_step`)
        state["step"] = self._step_state(device)
        # eta starts at lr: copied on the device when capturable, else read as a number
        state["eta"] = self._step_state(device).fill_(lr if device is not None else float(lr))
        state["mu"] = self._step_state(device).fill_(1.0)
        state["ax"] = self._zeros_state(p)

    def update(self, p: Any, grad: Any, state: dict[str, Any],
               group: dict[str, Any]) -> None:
        """The formula of the class docstring, on the arrays of one parameter."""
        if group["capturable"]:
            self._update_on_device(p, grad, state, group)
            return
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

    def _update_on_device(self, p: Any, grad: Any, state: dict[str, Any],
                          group: dict[str, Any]) -> None:
        """The same formula with t, eta and mu as 0-d arrays on p's device (capturable):
        computed in p's dtype, stored as float32 scalars, never read back."""
        xp = get_array_module(p)
        lr, lambd = group["lr"], group["lambd"]  # lr: a number or a device scalar
        g = -grad if group["maximize"] else grad
        t = self._count_step(p, state, group)
        if group["weight_decay"] != 0:
            g = g + group["weight_decay"] * p
        eta_state, mu_state = self._on_device(p, state, "eta"), self._on_device(p, state, "mu")
        eta, mu = eta_state.astype(p.dtype, copy=False), mu_state.astype(p.dtype, copy=False)
        p *= 1 - lambd * eta
        p -= eta * g
        ax = state["ax"].array
        ax += (p - ax) * mu
        eta_state[...] = lr / (1 + lambd * lr * t) ** group["alpha"]
        mu_state[...] = 1 / xp.maximum(t - group["t0"], 1)
