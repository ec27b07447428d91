"""Adagrad: per-coordinate learning rates from the sum of squared gradients."""

from __future__ import annotations

from typing import Any, Callable, Iterable

from .. import backend
from ..tensor import Tensor
from .optimizer import Optimizer, StateKey

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""Adagrad (Duchi et al.), PyTorch's formulation.

    For each parameter p with gradient g, at step t = 1, 2, ...::

        g = -g if maximize
        g = g + weight_decay * p                        if weight_decay != 0
        clr = lr / (1 + (t - 1) * lr_decay)
        s = s + g * g                                   "sum", starts at initial_accumulator_value
        p = p - clr * g / (sqrt(s) + eps)

    State per parameter: "step", "sum".
    """

    _state_keys = {"step": StateKey("step"), "sum": StateKey()}

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], lr: float = 1e-2,
                 lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, *,
                 maximize: bool = False) -> None:
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, maximize=maximize)
        super().__init__(params, defaults)

    def _init_state(self, p: Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        state["step"] = self._step_state()
        state["sum"] = self._zeros_state(p, float(group["initial_accumulator_value"]))

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient; returns `closure()` if given."""
        loss = self._run_closure(closure)
        self._check_grads()
        for group in self.param_groups:
            lr, lr_decay, eps, weight_decay = self._floats(
                group, "lr", "lr_decay", "eps", "weight_decay")
            maximize = bool(group["maximize"])
            for p, data, grad, xp, state in self._params_with_grads(group):
                step = self._increment(state["step"])
                clr = lr / (1.0 + (step - 1.0) * lr_decay)
                if backend.use_kernels(data, grad):  # the GPU: one fused kernel
                    _ADAGRAD(grad, -1.0 if maximize else 1.0, weight_decay, eps, clr, data,
                             state["sum"].array)
                    continue
                grad = self._penalized_grad(data, grad, xp, weight_decay, maximize, slot=1)

                tmp = self._scratch(data, 0)
                state_sum = state["sum"].array
                state_sum += xp.multiply(grad, grad, out=tmp)
                std = xp.sqrt(state_sum, out=tmp)
                std += eps
                update = xp.divide(grad, std, out=tmp)
                update *= clr
                data -= update
        return loss


# The same update on the GPU as one fused kernel per parameter (see backend.ElementwiseKernel),
# in the CPU code's order of operations. d is the penalised gradient.
_ADAGRAD = backend.ElementwiseKernel(
    "T g, T sign, T weight_decay, T eps, T clr", "T p, T state_sum",
    Optimizer.PENALIZED_GRAD_C
    + "state_sum += d * d;"
      "p -= d / (sqrt(state_sum) + eps) * clr",
    "tinygrad_edu_adagrad")
