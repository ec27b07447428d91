"""RMSprop: divide the gradient by a running root-mean-square of recent gradients."""

from __future__ import annotations

from typing import Any, Callable, Iterable

from .. import backend
from ..tensor import Tensor
from .optimizer import Optimizer, StateKey

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
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
    """

    _state_keys = {"step": StateKey("step"), "square_avg": StateKey(),
                   # made by the first step with momentum / centered (they may be switched on)
                   "momentum_buffer": StateKey(required=False),
                   "grad_avg": StateKey(required=False)}

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], lr: float = 1e-2,
                 alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0,
                 momentum: float = 0, centered: bool = False, *,
                 maximize: bool = False) -> None:
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                        momentum=momentum, centered=centered, maximize=maximize)
        super().__init__(params, defaults)

    def _init_state(self, p: Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        state["step"] = self._step_state()
        state["square_avg"] = self._zeros_state(p)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient; returns `closure()` if given."""
        loss = self._run_closure(closure)
        self._check_grads()
        for group in self.param_groups:
            lr, alpha, eps, weight_decay, momentum = self._floats(
                group, "lr", "alpha", "eps", "weight_decay", "momentum")
            centered = bool(group["centered"])
            maximize = bool(group["maximize"])
            for p, data, grad, xp, state in self._params_with_grads(group):
                # (momentum and centered may be switched on after some steps)
                if momentum > 0 and "momentum_buffer" not in state:
                    state["momentum_buffer"] = self._zeros_state(p)
                if centered and "grad_avg" not in state:
                    state["grad_avg"] = self._zeros_state(p)
                self._increment(state["step"])
                if backend.use_kernels(data, grad):  # the GPU: one fused kernel
                    extra = ([state["grad_avg"].array] if centered else []) + (
                        [state["momentum_buffer"].array] if momentum > 0 else [])
                    _RMSPROP[centered, momentum > 0](
                        grad, -1.0 if maximize else 1.0, weight_decay, alpha, 1.0 - alpha, eps,
                        momentum, lr, data, state["square_avg"].array, *extra)
                    continue
                grad = self._penalized_grad(data, grad, xp, weight_decay, maximize, slot=1)

                tmp = self._scratch(data, 0)
                square_avg = state["square_avg"].array
                square_avg *= alpha
                xp.multiply(grad, grad, out=tmp)
                tmp *= 1.0 - alpha
                square_avg += tmp
                if centered:
                    grad_avg = state["grad_avg"].array
                    grad_avg *= alpha
                    grad_avg += xp.multiply(grad, 1.0 - alpha, out=tmp)
                    xp.multiply(grad_avg, grad_avg, out=tmp)
                    avg = xp.subtract(square_avg, tmp, out=tmp)
                    xp.sqrt(avg, out=avg)
                else:
                    avg = xp.sqrt(square_avg, out=tmp)
                avg += eps
                update = xp.divide(grad, avg, out=tmp)
                if momentum > 0:
                    buf = state["momentum_buffer"].array
                    buf *= momentum
                    buf += update
                    update = xp.multiply(buf, lr, out=tmp)
                else:
                    update *= lr
                data -= update
        return loss


# The same update on the GPU as one fused kernel per parameter (see backend.ElementwiseKernel),
# in the CPU code's order of operations: one kernel for each of centered / momentum.
def _rmsprop_kernel(centered: bool, with_momentum: bool) -> backend.ElementwiseKernel:
    outputs = "T p, T square_avg" + (", T grad_avg" if centered else "") + (
        ", T buf" if with_momentum else "")
    body = (Optimizer.PENALIZED_GRAD_C
            + "square_avg = square_avg * alpha + d * d * keep;"
            + ("grad_avg = grad_avg * alpha + d * keep;"
               "T avg = sqrt(square_avg - grad_avg * grad_avg) + eps;" if centered
               else "T avg = sqrt(square_avg) + eps;")
            + ("buf = buf * momentum + d / avg; p -= buf * lr" if with_momentum
               else "p -= d / avg * lr"))
    return backend.ElementwiseKernel(
        "T g, T sign, T weight_decay, T alpha, T keep, T eps, T momentum, T lr", outputs, body,
        f"tinygrad_edu_rmsprop{'_centered' if centered else ''}"
        f"{'_momentum' if with_momentum else ''}")


_RMSPROP = {(c, m): _rmsprop_kernel(c, m) for c in (False, True) for m in (False, True)}
