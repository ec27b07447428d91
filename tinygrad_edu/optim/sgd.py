"""Stochastic gradient descent, with momentum, dampening, Nesterov and weight decay."""

from __future__ import annotations

from typing import Any, Callable, Iterable

from ..tensor import Tensor
from .optimizer import Optimizer

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

    State per parameter: "momentum_buffer" (only when momentum != 0).
    """

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], lr: float = 1e-3,
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

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient; returns `closure()` if given."""
        loss = self._run_closure(closure)
        self._check_grads()
        for group in self.param_groups:
            lr, momentum, dampening, weight_decay = self._floats(
                group, "lr", "momentum", "dampening", "weight_decay")
            nesterov = bool(group["nesterov"])
            maximize = bool(group["maximize"])
            for p, data, grad, xp, state in self._params_with_grads(
                    group, with_state=momentum != 0):  # no state at all without momentum
                # d_p: the gradient after maximize / weight decay (never p.grad itself changed)
                d_p = self._penalized_grad(data, grad, xp, weight_decay, maximize, slot=0)

                update, scratch = d_p, d_p is not grad
                if momentum != 0:
                    buf_t = state.get("momentum_buffer")
                    if buf_t is None:
                        buf = xp.array(d_p, dtype=data.dtype, copy=True)
                        state["momentum_buffer"] = Tensor._make(buf)
                    else:
                        buf = buf_t.data
                        buf *= momentum
                        if dampening != 0:
                            damped = self._scratch(data, 1)
                            xp.multiply(d_p, 1.0 - dampening, out=damped)
                            buf += damped
                        else:
                            buf += d_p
                    if nesterov:
                        update = self._scratch(data, 1)
                        xp.multiply(buf, momentum, out=update)
                        update += d_p
                        scratch = True
                    else:
                        update, scratch = buf, False

                # p -= lr * update, without touching the momentum buffer or p.grad
                if scratch:
                    update *= lr
                else:
                    update = xp.multiply(update, lr, out=self._scratch(data, 0))
                data -= update
        return loss
