"""NAdam: Adam with Nesterov momentum (Dozat), PyTorch's formulation."""

from __future__ import annotations

from typing import Any, Iterable

from ..backend import get_array_module
from ..tensor import Tensor
from .optimizer import CapturableOptimizer, StateKey

__all__ = ["NAdam"]


class NAdam(CapturableOptimizer):
    r"""NAdam (Dozat), PyTorch's formulation.

    For each parameter p with gradient g, at step t = 1, 2, ...::

        g = -g if maximize
        g = g + weight_decay * p                       (L2 penalty in the gradient)
        p = p * (1 - lr * weight_decay)                (decoupled_weight_decay, instead)
        mu_t = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
        mu_next = beta1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
        prod = prod * mu_t                             "mu_product" (mu_1 * ... * mu_t)
        m = beta1 * m + (1 - beta1) * g                "exp_avg"
        v = beta2 * v + (1 - beta2) * g * g            "exp_avg_sq"
        denom = sqrt(v / (1 - beta2**t)) + eps
        p = p - lr * (1 - mu_t) / (1 - prod) * g / denom
              - lr * mu_next / (1 - prod * mu_next) * m / denom

    State per parameter: "step", "mu_product" (float32 CPU scalars, as PyTorch), "exp_avg",
    "exp_avg_sq". capturable: the two scalars on the parameter's device, and mu, mu_next
    computed there (see Adam).
    """

    _state_keys = {"step": StateKey("step"), "mu_product": StateKey("step"),
                   "exp_avg": StateKey(), "exp_avg_sq": StateKey()}

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]],
                 lr: float | Tensor = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, maximize: bool = False,
                 capturable: bool = False) -> None:
        defaults = dict(lr=lr, betas=tuple(betas) if isinstance(betas, list) else betas, eps=eps,
                        weight_decay=weight_decay, momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize,
                        capturable=capturable)
        super().__init__(params, defaults)

    def _validate_group(self, group: dict[str, Any]) -> None:
        super()._validate_group(group)
        if not group["momentum_decay"] >= 0.0:
            raise ValueError(f"NAdam: Invalid momentum_decay value: {group['momentum_decay']} "
                             "(must be >= 0)")

    def _init_state(self, p: Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        device = p.device if group["capturable"] else None
        state["step"] = self._step_state(device)
        state["mu_product"] = self._step_state(device).fill_(1.0)
        state["exp_avg"] = self._zeros_state(p)
        state["exp_avg_sq"] = self._zeros_state(p)

    def update(self, p: Any, grad: Any, state: dict[str, Any],
               group: dict[str, Any]) -> None:
        """The formula of the class docstring, on the arrays of one parameter."""
        xp = get_array_module(p)
        lr, weight_decay, psi = group["lr"], group["weight_decay"], group["momentum_decay"]
        beta1, beta2 = group["betas"]
        g = -grad if group["maximize"] else grad
        t = self._count_step(p, state, group)  # a number, or (capturable) a device scalar
        if weight_decay != 0 and group["decoupled_weight_decay"]:
            p *= 1 - lr * weight_decay
        elif weight_decay != 0:
            g = g + weight_decay * p
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * psi))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
        if group["capturable"]:  # the product stays on the device too
            product = self._on_device(p, state, "mu_product")
            product *= mu
            prod = product.astype(p.dtype, copy=False)
        else:
            state["mu_product"].array *= mu
            prod = float(state["mu_product"].array)
        m, v = state["exp_avg"].array, state["exp_avg_sq"].array
        m *= beta1
        m += (1 - beta1) * g
        v *= beta2
        v += (1 - beta2) * (g * g)
        denom = xp.sqrt(v / (1 - beta2 ** t)) + group["eps"]
        p -= g / denom * (lr * (1 - mu) / (1 - prod))
        p -= m / denom * (lr * mu_next / (1 - prod * mu_next))
