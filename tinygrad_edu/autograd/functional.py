"""Derivatives of whole functions, as torch.autograd.functional: `vjp`, `jvp`, `jacobian`,
`hessian`, `hvp`, all built on `autograd.grad` (reverse mode).

For f: inputs -> outputs (Tensors, or tuples of them):
  vjp(f, x, v)   = v^T J             (one backward pass)
  jvp(f, x, v)   = J v               (two backward passes: J v = d/du (u^T J v) ... the
                                      "double-vjp trick": g(u) = u^T J is linear in u, and the
                                      vjp of g with v gives J v)
  jacobian(f, x) = J, shape out.shape + x.shape (one backward pass per output element)
  hessian(f, x)  = the jacobian of the gradient of a scalar f
  hvp(f, x, v)   = H v
Without create_graph the results are detached; with it they can be differentiated again.
"""

from __future__ import annotations

from typing import Any, Callable

from .. import backend
from . import Tensor, enable_grad, grad, stack

__all__ = ["vjp", "jvp", "jacobian", "hessian", "hvp"]


def _as_tuple(value: Any, what: str, fn_name: str) -> tuple[bool, tuple]:
    """(was it a tuple, the Tensors as a tuple); TypeError as PyTorch for anything else."""
    is_tuple = isinstance(value, (tuple, list))
    items = tuple(value) if is_tuple else (value,)
    for i, t in enumerate(items):
        if not isinstance(t, Tensor):
            where = f"{what} given to {fn_name}" + (f" at index {i}" if is_tuple else "")
            raise TypeError(f"The {where} must be either a Tensor or a tuple of Tensors but "
                            f"the value {'at index ' + str(i) + ' ' if is_tuple else ''}has "
                            f"type {type(t)}.")
    return is_tuple, items


def _prepare(inputs: tuple, create_graph: bool) -> tuple:
    """Inputs as leaves of a new graph (or, with create_graph, views that keep theirs)."""
    return tuple(x.view_as(x) if create_graph and x.requires_grad
                 else x.detach().requires_grad_() for x in inputs)


def _finish(values: tuple, create_graph: bool) -> tuple:
    return tuple(v if v is None or create_graph else v.detach() for v in values)


def _grads(outputs: tuple, inputs: tuple, grad_outputs: tuple, create_graph: bool,
           strict: bool, fn_name: str) -> tuple:
    """autograd.grad that gives zeros for inputs the outputs do not depend on (or raises with
    strict=True, as PyTorch)."""
    used = [(o, g) for o, g in zip(outputs, grad_outputs) if o.requires_grad]
    if not used:
        gs = (None,) * len(inputs)
    else:
        gs = grad([o for o, _ in used], list(inputs), [g for _, g in used], retain_graph=True,
                  create_graph=create_graph, allow_unused=True)
    result = []
    for i, (x, g) in enumerate(zip(inputs, gs)):
        if g is None:
            if strict:
                raise RuntimeError(f"The output of the user-provided function is independent "
                                   f"of input {i}. This is not allowed in strict mode.")
            g = x.detach() * 0
        result.append(g)
    return tuple(result)


def _ones_like_scalar(outputs: tuple, fn_name: str) -> tuple:
    for o in outputs:
        if o.numel() != 1:
            raise RuntimeError(f"The vector v can only be None if the user-provided function "
                               f"returns a single Tensor with a single element ({fn_name}).")
    return tuple(o.detach() * 0 + 1 for o in outputs)


def vjp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """(func(inputs), v^T J): v has the outputs' shapes (None for one scalar output)."""
    is_tuple, xs = _as_tuple(inputs, "inputs", "vjp")
    with enable_grad():
        xs = _prepare(xs, create_graph)
        out_tuple, outs = _as_tuple(func(*xs), "outputs of the user-provided function", "vjp")
        vs = _ones_like_scalar(outs, "vjp") if v is None else _as_tuple(v, "v", "vjp")[1]
        _check_shapes(outs, vs, "vjp")
        result = _grads(outs, xs, vs, create_graph, strict, "vjp")
    outs, result = _finish(outs, create_graph), _finish(result, create_graph)
    return (outs if out_tuple else outs[0]), (result if is_tuple else result[0])


def jvp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """(func(inputs), J v): v has the inputs' shapes (None for one scalar input)."""
    is_tuple, xs = _as_tuple(inputs, "inputs", "jvp")
    with enable_grad():
        xs = _prepare(xs, create_graph)
        vs = _ones_like_scalar(xs, "jvp") if v is None else _as_tuple(v, "v", "jvp")[1]
        _check_shapes(xs, vs, "jvp")
        out_tuple, outs = _as_tuple(func(*xs), "outputs of the user-provided function", "jvp")
        # g(u) = u^T J is linear in u; its vjp with v is J v (u's value does not matter)
        us = tuple((o.detach() * 0).requires_grad_() for o in outs)
        g = _grads(outs, xs, us, True, strict, "jvp")
        result = _grads(g, us, vs, create_graph, strict, "jvp")
    outs, result = _finish(outs, create_graph), _finish(result, create_graph)
    return (outs if out_tuple else outs[0]), (result if out_tuple else result[0])


def _check_shapes(tensors: tuple, vs: tuple, fn_name: str) -> None:
    if len(tensors) != len(vs):
        raise RuntimeError(f"{fn_name}: v has {len(vs)} tensors but there are {len(tensors)}")
    for t, v in zip(tensors, vs):
        if tuple(t.shape) != tuple(v.shape):
            raise RuntimeError(f"{fn_name}: mismatch in shape: v has shape {tuple(v.shape)} "
                               f"where {tuple(t.shape)} is expected")


def _unit(out: Tensor, k: int) -> Tensor:
    """A constant tensor of out's shape, dtype and device: 1 at flat index k, 0 elsewhere."""
    xp = backend.get_array_module(out.array)
    with backend.device_scope(out.array):
        e = xp.zeros(out.array.size, dtype=out.array.dtype)
        e[k] = 1
        return Tensor._make(e.reshape(out.array.shape))


def jacobian(func: Callable, inputs: Any, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode") -> Any:
    """J[o][i] of shape outputs[o].shape + inputs[i].shape: one backward pass per output
    element (row k of J_o is the vjp of the unit vector e_k). `vectorize` is accepted and
    changes nothing; only strategy="reverse-mode" exists here."""
    if strategy != "reverse-mode":
        raise NotImplementedError("jacobian: only strategy='reverse-mode' is implemented")
    is_tuple, xs = _as_tuple(inputs, "inputs", "jacobian")
    with enable_grad():
        xs = _prepare(xs, create_graph)
        out_tuple, outs = _as_tuple(func(*xs), "outputs of the user-provided function",
                                    "jacobian")
        blocks = []
        for o, out in enumerate(outs):
            rows = [_grads((out,), xs, (_unit(out, k),), create_graph, strict, "jacobian")
                    for k in range(out.numel())]
            per_input = []
            for i, x in enumerate(xs):
                if rows:
                    block = stack([r[i] for r in rows]).reshape(*out.shape, *x.shape)
                else:  # an empty output
                    block = x.detach().reshape(-1)[:0].reshape(*out.shape, *x.shape)
                per_input.append(block if create_graph else block.detach())
            blocks.append(tuple(per_input) if is_tuple else per_input[0])
    return tuple(blocks) if out_tuple else blocks[0]


def hessian(func: Callable, inputs: Any, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode") -> Any:
    """H[i][j] = d^2 f / dx_i dx_j of a function with one scalar output, shape
    inputs[i].shape + inputs[j].shape: the jacobian of the gradient."""
    is_tuple, xs = _as_tuple(inputs, "inputs", "hessian")

    def gradient(*args: Tensor) -> Any:
        out_tuple, outs = _as_tuple(func(*args), "outputs of the user-provided function",
                                    "hessian")
        if out_tuple or outs[0].numel() != 1:
            raise RuntimeError("The function given to hessian should return a single Tensor "
                               "with a single element")
        g = _grads(outs, args, (outs[0].detach() * 0 + 1,), True, strict, "hessian")
        return g if is_tuple else g[0]

    return jacobian(gradient, xs if is_tuple else xs[0], create_graph=create_graph,
                    strict=strict, strategy=outer_jacobian_strategy)


def hvp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False,
        strict: bool = False) -> tuple[Any, Any]:
    """(func(inputs), H v) for a function with one scalar output: the vjp of the gradient
    with v (H is symmetric)."""
    is_tuple, xs = _as_tuple(inputs, "inputs", "hvp")
    with enable_grad():
        xs = _prepare(xs, create_graph)
        out_tuple, outs = _as_tuple(func(*xs), "outputs of the user-provided function", "hvp")
        if out_tuple or outs[0].numel() != 1:
            raise RuntimeError("The function given to hvp should return a single Tensor with "
                               "a single element")
        vs = _ones_like_scalar(xs, "hvp") if v is None else _as_tuple(v, "v", "hvp")[1]
        _check_shapes(xs, vs, "hvp")
        g = _grads(outs, xs, (outs[0].detach() * 0 + 1,), True, strict, "hvp")
        result = _grads(g, xs, vs, create_graph, strict, "hvp")
    outs, result = _finish(outs, create_graph), _finish(result, create_graph)
    return outs[0], (result if is_tuple else result[0])
