"""Stochastic gradient descent, with momentum, dampening, Nesterov and weight decay."""

from __future__ import annotations

from typing import Any, Callable, Iterable

from .. import backend
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

    State per parameter: "momentum_buffer" (only when momentum != 0).
    """

    # None (PyTorch's value without momentum) or missing: the first step fills it
    _state_keys = {"momentum_buffer": StateKey(required=False, nullable=True)}

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
                buf = first = None
                if momentum != 0:
                    first = state.get("momentum_buffer") is None
                    if first:  # filled with the first gradient by update()
                        state["momentum_buffer"] = Tensor._make(xp.empty_like(data))
                    buf = state["momentum_buffer"].array
                if backend.use_kernels(data, grad):  # the GPU: one fused kernel
                    sign = -1.0 if maximize else 1.0
                    if buf is None:
                        _SGD(grad, lr, weight_decay, sign, data)
                    else:
                        _SGD_MOMENTUM(grad, lr, momentum, 1.0 - dampening, weight_decay, sign,
                                      int(first), int(nesterov), data, buf)
                    continue
                # scratch 0 holds d_p (or lr * the update), scratch 1 the damped gradient or
                # the Nesterov update
                tmp0 = self._scratch(data, 0)
                tmp1 = self._scratch(data, 1) if momentum != 0 and (
                    dampening != 0 or nesterov) else None

                # the in-place update, on whole arrays or matching chunks (see _chunked);
                # called right here, so it may read this iteration's variables
                def update(data, grad, buf, tmp0, tmp1):
                    # d_p: the gradient after maximize / weight decay (p.grad never changes)
                    d_p = self._penalize(data, grad, tmp0, xp, weight_decay, maximize)
                    step, scratch = d_p, d_p is not grad
                    if buf is not None:
                        if first:
                            buf[...] = d_p
                        else:
                            buf *= momentum
                            if dampening != 0:
                                buf += xp.multiply(d_p, 1.0 - dampening, out=tmp1)
                            else:
                                buf += d_p
                        if nesterov:
                            step = xp.multiply(buf, momentum, out=tmp1)
                            step += d_p
                            scratch = True
                        else:
                            step, scratch = buf, False
                    # p -= lr * step, without touching the momentum buffer or p.grad
                    if scratch:
                        step *= lr
                    else:
                        step = xp.multiply(step, lr, out=tmp0)
                    data -= step

                self._chunked(update, data, grad, buf, tmp0, tmp1)
        return loss


# The same update on the GPU as one fused kernel per parameter (see backend.ElementwiseKernel),
# in the CPU code's order of operations. d is the penalised gradient.
_SGD = backend.ElementwiseKernel(
    "T g, T lr, T weight_decay, T sign", "T p",
    Optimizer.PENALIZED_GRAD_C + "p -= d * lr", "tinygrad_edu_sgd")
_SGD_MOMENTUM = backend.ElementwiseKernel(
    "T g, T lr, T momentum, T undamped, T weight_decay, T sign, int32 first, int32 nesterov",
    "T p, T buf",  # undamped = 1 - dampening
    Optimizer.PENALIZED_GRAD_C
    + "buf = first ? d : (undamped != 1 ? buf * momentum + d * undamped : buf * momentum + d);"
      "p -= nesterov ? (buf * momentum + d) * lr : buf * lr",
    "tinygrad_edu_sgd_momentum")
