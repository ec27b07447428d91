"""gradcheck and gradgradcheck: analytical derivatives (the engine's) against central finite
differences, element by element, as torch.autograd.gradcheck."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .. import backend
from . import Tensor, grad, no_grad


class GradcheckError(RuntimeError):
    """Raised by gradcheck when analytical and numerical derivatives disagree."""


def _as_tuple(x: Any) -> tuple:
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _set_element(t: Tensor, index: tuple, value: float) -> None:
    with backend.device_scope(t.array):
        t.array[index] = value


def _numerical_jacobians(fn: Callable, inputs: tuple, eps: float) -> list[list[np.ndarray]]:
    """jac[i][o] has shape (inputs[i].numel(), outputs[o].numel())."""
    # fn runs with grad mode as the caller has it: gradgradcheck's fn needs a graph inside
    outs = _as_tuple(fn(*inputs))
    jac = []
    for t in inputs:
        if not (isinstance(t, Tensor) and t.requires_grad):
            jac.append(None)
            continue
        cols = [np.zeros((t.numel(), o.numel())) for o in outs]
        flat_index = list(np.ndindex(*t.shape))
        for k, idx in enumerate(flat_index):
            orig = float(t.array[idx])
            _set_element(t, idx, orig + eps)
            plus = [backend.to_numpy(o.array).astype(np.float64).ravel()
                    for o in _as_tuple(fn(*inputs))]
            _set_element(t, idx, orig - eps)
            minus = [backend.to_numpy(o.array).astype(np.float64).ravel()
                     for o in _as_tuple(fn(*inputs))]
            _set_element(t, idx, orig)
            for o in range(len(outs)):
                cols[o][k] = (plus[o] - minus[o]) / (2 * eps)
        jac.append(cols)
    return jac


def _analytical_jacobians(fn: Callable, inputs: tuple) -> list[list[np.ndarray]]:
    outs = _as_tuple(fn(*inputs))
    diff = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    jac = {id(t): [np.zeros((t.numel(), o.numel())) for o in outs] for t in diff}
    for o_index, out in enumerate(outs):
        if not out.requires_grad:
            continue  # a constant output: zero derivative
        xp = backend.get_array_module(out.array)
        for j in range(out.numel()):
            with backend.device_scope(out.array):
                seed = xp.zeros(out.numel(), dtype=out.dtype)
                seed[j] = 1
            grads = grad(out, diff, Tensor._make(seed.reshape(out.shape)), retain_graph=True,
                         allow_unused=True)
            for t, g in zip(diff, grads):
                if g is not None:
                    jac[id(t)][o_index][:, j] = backend.to_numpy(g.array).ravel()
    return [jac.get(id(t)) if isinstance(t, Tensor) and t.requires_grad else None
            for t in inputs]


def gradcheck(fn: Callable[..., Any], inputs: Any, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, raise_exception: bool = True) -> bool:
    """Compare the autograd Jacobian of `fn` at `inputs` with central finite differences,
    (f(x + eps) - f(x - eps)) / 2 eps, for every input that requires grad. Inputs that require
    grad must be float64. Returns True, or raises GradcheckError naming the input, the output
    element and both values (or returns False with raise_exception=False)."""
    inputs = _as_tuple(inputs)
    for i, t in enumerate(inputs):
        if isinstance(t, Tensor) and t.requires_grad and t.dtype != backend.float64:
            raise ValueError(f"gradcheck: input {i} is {t.dtype}; finite differences need "
                             "float64 inputs (use .double())")
    analytical = _analytical_jacobians(fn, inputs)
    numerical = _numerical_jacobians(fn, inputs, eps)
    for i, (a_in, n_in) in enumerate(zip(analytical, numerical)):
        if a_in is None:
            continue
        for o, (a, n) in enumerate(zip(a_in, n_in)):
            bad = ~np.isclose(a, n, rtol=rtol, atol=atol)
            if bad.any():
                k, j = np.argwhere(bad)[0]
                shape = inputs[i].shape
                where = np.unravel_index(k, shape) if shape else ()
                msg = (f"gradcheck: Jacobian mismatch for output {o} with respect to input {i} "
                       f"(shape {tuple(shape)}), input element {tuple(int(v) for v in where)}, "
                       f"output element {j}: numerical {n[k, j]!r} vs analytical {a[k, j]!r}")
                if raise_exception:
                    raise GradcheckError(msg)
                return False
    return True


def gradgradcheck(fn: Callable[..., Any], inputs: Any, grad_outputs: Any = None,
                  eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
                  raise_exception: bool = True) -> bool:
    """gradcheck of the gradient itself: checks second derivatives made with create_graph=True."""
    inputs = _as_tuple(inputs)
    with no_grad():
        outs = _as_tuple(fn(*inputs))
    if grad_outputs is None:
        rng = np.random.default_rng(0)
        grad_outputs = tuple(
            Tensor(rng.standard_normal(o.shape), dtype=backend.float64, device=o.device,
                   requires_grad=True) for o in outs)
    grad_outputs = _as_tuple(grad_outputs)
    diff_index = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    n = len(inputs)

    def first_derivative(*args: Tensor) -> tuple:
        xs, vs = args[:n], args[n:]
        pairs = [(o, v) for o, v in zip(_as_tuple(fn(*xs)), vs) if o.requires_grad]
        diff = [xs[i] for i in diff_index]
        gs = grad([o for o, _ in pairs], diff, [v for _, v in pairs], create_graph=True,
                  allow_unused=True)
        return tuple(g if g is not None else diff[k] * 0 for k, g in enumerate(gs))

    return gradcheck(first_derivative, inputs + grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception)
