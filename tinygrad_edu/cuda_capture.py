"""Whole steps in CUDA graphs: `tg.cuda.make_graphed_callables` and `tg.compile`.

`tinygrad_edu/backends/cuda_graphs.py` gives PyTorch's building blocks (`tg.cuda.CUDAGraph`,
`tg.cuda.graph`): capture GPU work once, replay it with one launch. This module builds on them
what PyTorch builds on its own:

* `make_graphed_callables(callables, sample_args)` (torch.cuda.make_graphed_callables): the
  forward and the backward of a function or Module, each captured in a graph, behind one
  autograd node (`GraphedBackward`), so that the graphed version drops into an ordinary
  training loop.
* `compile(fn)` (torch.compile, reduced to what it does here): the first calls run eagerly,
  then one call is captured into a CUDA graph and later calls replay it. A whole training step
  (zero_grad, forward, backward, optimizer.step) becomes one graph launch.

Both rest on one rule of CUDA graphs: a replay reads and writes the *same* memory as the
capture did. Inputs are copied into "static" tensors made for the capture, outputs are the
tensors the capture made, and what the captured work reads (parameters, optimizer state,
constants) must stay the same tensors, changed in place only.
"""

from __future__ import annotations

import functools
import types
import warnings
from typing import Any, Callable, Iterator

import numpy as np

from . import autograd, backend, nn, optim
from .backends.cuda_graphs import (
    CUDAGraph,
    Stream,
    current_stream,
    graph,
    graph_pool_handle,
    is_current_stream_capturing,
    stream,
)
from .tensor import Tensor, zeros_like

__all__ = ["make_graphed_callables", "compile", "OptimizedModule", "graphs"]


# ---------------------------------------------------------------------------------------------
# Small helpers: nested arguments, copies, the side stream
# ---------------------------------------------------------------------------------------------
def _flatten(value: Any) -> tuple[list[Any], Any]:
    """The leaves of `value` (nested tuples, lists and dicts) and its structure, which
    `_unflatten` fills again: `([x, 3, y], spec)` for `(x, {"k": 3}, [y])`."""
    if isinstance(value, (tuple, list)):
        parts = [_flatten(v) for v in value]
        kind: Any = type(value)
        keys = None
    elif isinstance(value, dict):
        parts = [_flatten(v) for v in value.values()]
        kind, keys = dict, tuple(value)
    else:
        return [value], None
    leaves = [leaf for part_leaves, _ in parts for leaf in part_leaves]
    return leaves, (kind, keys, tuple(spec for _, spec in parts))


def _unflatten(leaves: Iterator[Any], spec: Any) -> Any:
    """The inverse of `_flatten`: the structure `spec` with its leaves taken from `leaves`."""
    if spec is None:
        return next(leaves)
    kind, keys, children = spec
    items = [_unflatten(leaves, child) for child in children]
    if kind is dict:
        return dict(zip(keys, items))
    return kind(*items) if hasattr(kind, "_fields") else kind(items)  # (a namedtuple)


def _copy_into(static: Tensor, value: Tensor) -> None:
    """`static` takes `value`'s contents in its own memory (a device-to-device copy, outside
    autograd): how new data reaches the tensors a graph reads."""
    xp = backend.get_array_module(static.array)
    autograd.update_in_place(static, xp.copyto, static.array, value.array)


def _static_copy(t: Tensor) -> Tensor:
    """A copy of `t` in new memory, made before a capture: the tensor the graph reads."""
    xp = backend.get_array_module(t.array)
    with backend.device_scope(t.array):
        copy = Tensor._make(xp.array(t.array, copy=True))
    return copy.requires_grad_(t.requires_grad)


def _cuda_device_of(tensors: list[Any]) -> backend.Device | None:
    """The device of the first CUDA tensor among `tensors` (None if there is none)."""
    for t in tensors:
        if isinstance(t, Tensor) and t.device.type == "cuda":
            return t.device
    return None


class _SideStream:
    """`with _SideStream(device):` runs the block on a new stream of `device` that first waits
    for the current stream's work, and makes the current stream wait for the block's work
    afterwards (the warm-up of PyTorch's recipe)."""

    def __init__(self, device: backend.Device) -> None:
        self.device = device
        self.stream = Stream(device)

    def __enter__(self) -> Stream:
        self.stream.wait_stream(current_stream(self.device))
        self.context = stream(self.stream)
        self.context.__enter__()
        return self.stream

    def __exit__(self, *exc: Any) -> None:
        self.context.__exit__(*exc)
        current_stream(self.device).wait_stream(self.stream)


def _breaks_capture(error: BaseException) -> bool:
    """Whether `error` says that the work cannot be captured in a CUDA graph (a host read or
    a host-to-device copy during the capture, or a library refusing to be captured, as a
    non-capturable optimizer's step) rather than that the code itself is wrong."""
    return isinstance(error, RuntimeError) and "CUDA graph capture" in str(error)


# ---------------------------------------------------------------------------------------------
# One callable captured: its forward graph, its backward graph, their static tensors
# ---------------------------------------------------------------------------------------------
class _Captured:
    """The forward and backward graphs of one callable and the tensors they read and write.

    `surface`: the inputs the graphs read, the callable's tensor arguments first (`n_args` of
    them: new values are copied into these) and then the leaves it uses (parameters).
    `static_outputs`: what the forward graph writes; `static_grad_outputs`: where the
    gradients of those outputs are copied before the backward graph runs (None for an output
    that does not require grad); `static_grad_inputs`: where it writes the gradients of the
    surface (None for an input that does not require grad)."""

    def __init__(self, forward_graph: CUDAGraph, backward_graph: CUDAGraph | None,
                 surface: tuple[Tensor, ...], n_args: int, static_outputs: tuple[Tensor, ...],
                 static_grad_outputs: tuple[Tensor | None, ...],
                 static_grad_inputs: tuple[Tensor | None, ...], name: str) -> None:
        self.forward_graph, self.backward_graph = forward_graph, backward_graph
        self.surface, self.n_args = surface, n_args
        self.static_outputs = static_outputs
        self.static_grad_outputs, self.static_grad_inputs = static_grad_outputs, static_grad_inputs
        self.name = name
        self.generation = 0  # forward replays so far: a backward must follow its own forward

    def run_forward(self, inputs: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
        for i, (static, value) in enumerate(zip(self.surface[:self.n_args], inputs)):
            if not isinstance(value, Tensor) or (value.shape, value.dtype, value.device) != (
                    static.shape, static.dtype, static.device):
                got = (f"{tuple(value.shape)}, {value.dtype}, {value.device}"
                       if isinstance(value, Tensor) else type(value).__name__)
                raise RuntimeError(f"{self.name}: argument {i} must be like its sample "
                                   f"({tuple(static.shape)}, {static.dtype}, {static.device}), "
                                   f"got {got}")
            if value.array is not static.array:
                _copy_into(static, value)
        self.forward_graph.replay()
        self.generation += 1
        return tuple(o.detach() for o in self.static_outputs)

    def run_backward(self, grads: tuple[Tensor, ...], generation: int
                     ) -> tuple[Tensor | None, ...]:
        if generation != self.generation:
            raise RuntimeError(
                f"{self.name}: backward through a graphed call after a later call of the "
                "same graphed callable: that call replaced the values the backward graph "
                "reads (its static outputs and saved tensors). Run backward before calling "
                "it again")
        if autograd.is_grad_enabled():
            raise RuntimeError(f"{self.name}: trying to differentiate twice a function that "
                               "was marked with @once_differentiable (a graphed callable's "
                               "backward is a replayed graph: create_graph=True is not "
                               "supported)")
        for static, grad in zip(self.static_grad_outputs, grads):
            if static is not None and grad is not None and grad.array is not static.array:
                _copy_into(static, grad)
        if self.backward_graph is not None:
            self.backward_graph.replay()
        # The static gradients themselves (not detached views of them): the engine then sees
        # that something else holds them and copies them into .grad, so that no .grad is
        # memory that the next replay overwrites.
        return self.static_grad_inputs


class Graphed(autograd.Function):
    """The autograd node of a graphed call (its grad_fn is a `GraphedBackward`, as in
    PyTorch): forward copies the arguments into the static inputs and replays the forward
    graph; backward copies the output gradients in and replays the backward graph."""

    @staticmethod
    def forward(ctx: Any, captured: _Captured, *inputs: Tensor) -> tuple[Tensor, ...]:
        outputs = captured.run_forward(inputs)
        ctx.captured, ctx.generation = captured, captured.generation
        ctx.mark_non_differentiable(*[o for o, g in zip(outputs, captured.static_grad_outputs)
                                      if g is None])
        return outputs

    @staticmethod
    def backward(ctx: Any, *grads: Tensor) -> tuple[Tensor | None, ...]:
        return (None, *ctx.captured.run_backward(grads, ctx.generation))


def _capture_backward(captured_outputs: list[Any], surface: tuple[Tensor, ...], pool: Any,
                      side: Stream, allow_unused: bool
                      ) -> tuple[CUDAGraph | None, tuple, tuple]:
    """Capture the backward of a captured forward's outputs with respect to `surface`: the
    graph (None when nothing needs a gradient), the static gradients of the outputs (copied
    in at each backward) and those of the surface (written by the graph)."""
    static_grad_outputs = tuple(zeros_like(o) if isinstance(o, Tensor) and o.requires_grad
                                else None for o in captured_outputs)
    needing = [o for o, g in zip(captured_outputs, static_grad_outputs) if g is not None]
    wanted = [t for t in surface if t.requires_grad]
    grads: list[Tensor | None] = []
    backward_graph = None
    if needing and wanted:
        backward_graph = CUDAGraph()
        with graph(backward_graph, pool=pool, stream=side):
            grads = list(autograd.grad(needing, wanted,
                                       grad_outputs=[g for g in static_grad_outputs
                                                     if g is not None],
                                       allow_unused=allow_unused))
    found = iter(grads)
    static_grad_inputs = tuple(next(found, None) if t.requires_grad else None for t in surface)
    return backward_graph, static_grad_outputs, static_grad_inputs


# ---------------------------------------------------------------------------------------------
# make_graphed_callables
# ---------------------------------------------------------------------------------------------
def make_graphed_callables(callables: Any, sample_args: tuple, num_warmup_iters: int = 3,
                           allow_unused_input: bool = False, pool: Any = None) -> Any:
    """torch.cuda.make_graphed_callables: graphed versions of `callables` (a function or a
    Module, or a tuple of them, in the order they run), captured with `sample_args` (a tuple
    of tensors, or one such tuple per callable).

    Each callable runs `num_warmup_iters` times on a side stream (forward and
    `autograd.grad` of its outputs), then its forward is captured in one CUDA graph, and the
    backward of its outputs with respect to its tensor arguments that require grad and (for a
    Module) its parameters in another, in reverse order, all from one memory pool (`pool`, or
    a new one). A call of the graphed version copies its arguments into the sample tensors,
    replays the forward graph and returns the graph's outputs as the outputs of one autograd
    node; that node's backward copies the output gradients in and replays the backward graph.

    A Module is returned itself, its `forward` replaced: the graphs run while
    `module.training` is what it was at capture, the original forward otherwise (as PyTorch).
    As in PyTorch: the arguments must come in the order and form of `sample_args`, with the
    same `requires_grad`; a Module may have no hooks when it is passed and no buffer that
    requires grad; parameters and buffers must not be replaced afterwards; no double
    backward. The outputs of a call are overwritten by the next call of the same callable,
    and backward through a call after a later call raises (PyTorch does not check)."""
    just_one = not isinstance(callables, tuple)
    if just_one:
        callables, sample_args = (callables,), (sample_args,)
    if len(callables) != len(sample_args):
        raise ValueError(f"make_graphed_callables: {len(callables)} callables but "
                         f"{len(sample_args)} tuples of sample arguments")
    flat_args = []
    for c, args in zip(callables, sample_args):
        if isinstance(c, nn.Module):
            _check_module(c)
        if not isinstance(args, (tuple, list)):
            raise TypeError(f"make_graphed_callables: the sample arguments of {_name(c)} must "
                            f"be a tuple of tensors, got {type(args).__name__}")
        leaves = _flatten(tuple(args))[0]
        if not all(isinstance(a, Tensor) for a in leaves):
            raise AssertionError("In the beta API, sample_args for each callable must contain "
                                 "only Tensors. Other types are not allowed.")
        flat_args.append(tuple(leaves))
    module_params = [tuple(c.parameters()) if isinstance(c, nn.Module) else ()
                     for c in callables]
    surfaces = [args + params for args, params in zip(flat_args, module_params)]
    device = _cuda_device_of([t for s in surfaces for t in s])
    if device is None:
        raise RuntimeError("make_graphed_callables: the sample arguments (or the modules' "
                           "parameters) must be CUDA tensors: CUDA graphs capture GPU work")
    pool = graph_pool_handle() if pool is None else pool

    backend.cuda.synchronize(device)
    with _SideStream(device) as side:  # warm up: the first calls of an op may differ
        for func, args, surface in zip(callables, sample_args, surfaces):
            for _ in range(num_warmup_iters):
                outputs = [o for o in _flatten(func(*args))[0] if isinstance(o, Tensor)]
                needing = [o for o in outputs if o.requires_grad]
                if needing:
                    autograd.grad(needing, [t for t in surface if t.requires_grad],
                                  grad_outputs=[zeros_like(o) for o in needing],
                                  allow_unused=allow_unused_input)
    backend.cuda.synchronize(device)

    # Capture in the order the work runs, so that memory of the shared pool is reused as it
    # will be at replay: the forwards first to last, then the backwards last to first.
    forwards = []
    for func, args in zip(callables, sample_args):
        forward_graph = CUDAGraph()
        with graph(forward_graph, pool=pool, stream=side):
            result = func(*args)
        outputs, spec = _flatten(result)
        if not all(isinstance(o, Tensor) for o in outputs):
            raise TypeError(f"make_graphed_callables: {_name(func)} must return tensors (or "
                            "tuples, lists and dicts of them)")
        forwards.append((forward_graph, tuple(outputs), spec))
    captured: list[_Captured] = [None] * len(callables)  # type: ignore[list-item]
    for i in reversed(range(len(callables))):
        forward_graph, outputs, _ = forwards[i]
        backward_graph, grad_outputs, grad_inputs = _capture_backward(
            list(outputs), surfaces[i], pool, side, allow_unused_input)
        captured[i] = _Captured(forward_graph, backward_graph, surfaces[i], len(flat_args[i]),
                                outputs, grad_outputs, grad_inputs,
                                f"graphed {_name(callables[i])}")

    graphed = []
    for func, one, params, (_, _, spec) in zip(callables, captured, module_params, forwards):
        run = _graphed_function(one, params, spec)
        if isinstance(func, nn.Module):
            func.forward = _training_switch(func, run, func.forward)
            graphed.append(func)
        else:
            graphed.append(functools.wraps(func)(run))
    return graphed[0] if just_one else tuple(graphed)


def _check_module(module: nn.Module) -> None:
    if module._forward_hooks or module._forward_pre_hooks:
        raise AssertionError("Modules must not have hooks registered at the time they are "
                             "passed. However, registering hooks on modules after passing "
                             "them through make_graphed_callables is allowed.")
    if any(b.requires_grad for b in module.buffers()):
        raise AssertionError("In any :class:`~torch.nn.Module` passed to "
                             ":func:`~make_graphed_callables`, only parameters may be "
                             "trainable. All buffers must have ``requires_grad=False``.")


def _name(func: Any) -> str:
    """A callable's name for messages: a Module's class, a function's qualified name."""
    func = getattr(func, "__self__", func)  # (a Module's bound __call__: the Module)
    if isinstance(func, nn.Module):
        return type(func).__name__
    return getattr(func, "__qualname__", type(func).__name__)


def _graphed_function(captured: _Captured, extra_inputs: tuple[Tensor, ...], spec: Any
                      ) -> Callable[..., Any]:
    """The graphed version of one callable: its tensor arguments (flattened) and
    `extra_inputs` (the parameters) go into one `Graphed` node."""
    def graphed(*args: Any) -> Any:
        leaves = _flatten(args)[0]
        if len(leaves) != captured.n_args:
            raise TypeError(f"{captured.name}: expected {captured.n_args} tensor arguments "
                            f"(as in sample_args), got {len(leaves)}")
        outputs = Graphed.apply(captured, *leaves, *extra_inputs)
        return _unflatten(iter(outputs), spec)
    return graphed


def _training_switch(module: nn.Module, graphed: Callable[..., Any],
                     original: Callable[..., Any]) -> Callable[..., Any]:
    """A Module's new forward: the graphs while `module.training` is as at capture, else
    the original forward (a graph captured in training mode is no use in eval mode)."""
    captured_in_training = module.training

    def forward(*args: Any, **kwargs: Any) -> Any:
        if module.training == captured_in_training:
            return graphed(*args, **kwargs)
        return original(*args, **kwargs)
    return forward


# ---------------------------------------------------------------------------------------------
# tg.compile: what the compiled function may change, to undo it when a capture fails
# ---------------------------------------------------------------------------------------------
def _reachable(fn: Callable[..., Any], args: list[Any]
               ) -> tuple[list[nn.Module], list[optim.Optimizer], list[Tensor]]:
    """The modules (with their submodules), optimizers and other tensors that `fn` may use:
    among its arguments (modules and optimizers only: the tensor arguments are copied), its
    closure variables and defaults, the globals its code names, and, for a bound method, its
    object and that object's attributes."""
    found = [a for a in args if not isinstance(a, Tensor)]
    owner = getattr(fn, "__self__", None)
    if owner is not None:
        found += [owner, *getattr(owner, "__dict__", {}).values()]
    target = getattr(fn, "__func__", fn)
    code = getattr(target, "__code__", None)
    if code is not None:
        for cell in target.__closure__ or ():
            try:
                found.append(cell.cell_contents)
            except ValueError:  # (a closure variable not assigned yet)
                pass
        found += [target.__globals__[n] for n in code.co_names if n in target.__globals__]
        found += list(target.__defaults__ or ())
    modules: dict[int, nn.Module] = {}
    optimizers: dict[int, optim.Optimizer] = {}
    tensors: dict[int, Tensor] = {}
    for obj in found:
        if isinstance(obj, nn.Module):
            modules.update((id(m), m) for m in obj.modules())
        elif isinstance(obj, optim.Optimizer):
            optimizers[id(obj)] = obj
        elif isinstance(obj, Tensor):
            tensors[id(obj)] = obj
    return list(modules.values()), list(optimizers.values()), list(tensors.values())


def _state_tensors(modules: list[nn.Module], optimizers: list[optim.Optimizer],
                   tensors: list[Tensor]) -> list[Tensor]:
    """`tensors`, the parameters and buffers of `modules`, and the parameters, Tensor lrs
    and state tensors of `optimizers`: what a step reads and writes (each once)."""
    found: dict[int, Tensor] = {id(t): t for t in tensors}
    for m in modules:
        found.update((id(t), t) for t in (*m._parameters.values(), *m._buffers.values())
                     if t is not None)
    for o in optimizers:
        for group in o.param_groups:
            found.update((id(t), t) for t in group["params"])
            found.update((id(v), v) for v in group.values() if isinstance(v, Tensor))
        for state in o.state.values():
            found.update((id(v), v) for v in state.values() if isinstance(v, Tensor))
    return list(found.values())


class _HostState:
    """What a capture may change on the host, and a failed capture must give back: the
    attributes of the modules, the optimizers' state and groups, the array and `.grad` of
    every tensor of `_state_tensors`, and the values of the CPU tensors among them (a step
    counter). The GPU memory needs nothing: a capture runs none of its work."""

    def __init__(self, modules: list[nn.Module], optimizers: list[optim.Optimizer],
                 tensors: list[Tensor]) -> None:
        self.modules = [(m, dict(m.__dict__), dict(m._parameters), dict(m._buffers),
                         dict(m._modules)) for m in modules]
        self.optimizers = [(o, {p: dict(s) for p, s in o.state.items()},
                            [dict(g) for g in o.param_groups]) for o in optimizers]
        self.tensors = [(t, t.array, t.grad, t.array.copy() if t.device.type == "cpu" else None)
                        for t in _state_tensors(modules, optimizers, tensors)]

    def restore(self) -> None:
        for m, attributes, parameters, buffers, children in self.modules:
            for registry, saved in ((m._parameters, parameters), (m._buffers, buffers),
                                    (m._modules, children)):
                registry.clear()
                registry.update(saved)
            m.__dict__.clear()
            m.__dict__.update(attributes)
        for o, state, groups in self.optimizers:
            for p in [p for p in o.state if p not in state]:  # (a state made by the capture)
                del o.state[p]
            for p, saved in state.items():
                o.state[p].clear()
                o.state[p].update(saved)
            for group, saved in zip(o.param_groups, groups):
                group.clear()
                group.update(saved)
        for t, array, grad, values in self.tensors:
            t.array, t.grad = array, grad
            if values is not None:
                array[...] = values

    def changed(self) -> str | None:
        """What a successful capture changed on the host, other than a `.grad` (None if
        nothing): a replay repeats the GPU work only, so such a change would happen once, at
        capture, where the eager step makes it at every call."""
        for m, attributes, parameters, buffers, children in self.modules:
            for kind, saved, now in (("attribute", attributes, m.__dict__),
                                     ("parameter", parameters, m._parameters),
                                     ("buffer", buffers, m._buffers),
                                     ("submodule", children, m._modules)):
                for name in saved.keys() | now.keys():
                    if not _same(saved.get(name, _MISSING), now.get(name, _MISSING)):
                        return (f"it sets the {kind} {name!r} of a {type(m).__name__} (a "
                                "replay would not): change tensors in place instead")
        for o, state, groups in self.optimizers:
            name = type(o).__name__
            if state.keys() != o.state.keys() or any(
                    state[p].keys() != o.state[p].keys()
                    or not all(_same(v, o.state[p][k]) for k, v in state[p].items())
                    for p in state):
                return (f"the state of {name} was made or replaced during the capture (a "
                        "first step, or a host value such as a step count on the CPU): a "
                        "replay would repeat the captured step")
            if any(not all(_same(v, group.get(k, _MISSING)) for k, v in saved.items())
                   for saved, group in zip(groups, o.param_groups)):
                return (f"it changes the param_groups of {name} (a scheduler stepped inside "
                        "the function?): a replay would not")
        for t, array, _, values in self.tensors:
            if t.array is not array:
                return (f"it gives a tensor of shape {tuple(t.shape)} new memory (p.data = "
                        "..., a parameter or state replaced): a replay would read the old "
                        "one; change it in place instead")
            if values is not None and not np.array_equal(values, array, equal_nan=True):
                return (f"it changes a CPU tensor of shape {tuple(t.shape)} (a replay runs "
                        "only GPU work)")
        return None


_MISSING = object()


def _same(a: Any, b: Any) -> bool:
    """Whether a host value is unchanged: the same object, or an equal plain value."""
    if a is b:
        return True
    if isinstance(a, Tensor) or isinstance(b, Tensor) or a is _MISSING or b is _MISSING:
        return False
    try:
        return bool(a == b)
    except Exception:  # (a value without a plain ==, e.g. an array)
        return False


# ---------------------------------------------------------------------------------------------
# tg.compile: one captured call per signature
# ---------------------------------------------------------------------------------------------
_WARMUP_CALLS = 3  # eager calls (on a side stream) before a signature is captured
_RECOMPILE_LIMIT = 8  # graphs per compiled function, as torch._dynamo.config.recompile_limit
_RECAPTURES = 2  # captures of one signature again (its tensors replaced) before it runs eagerly
_MODES = ("default", "lite", "reduce-overhead", "max-autotune-no-cudagraphs", "max-autotune")
_CAPTURING_BACKENDS = (None, "inductor", "cudagraphs")
_EAGER_BACKENDS = ("eager", "aot_eager")


class _CannotCapture(Exception):
    """Why a call cannot be captured (the text of the one-time warning)."""


class _Step:
    """The calls of a compiled function with one signature: counted warm-up calls, then one
    captured call, then replays of its graph."""

    def __init__(self) -> None:
        self.calls = 0  # warm-up calls so far
        self.captures = 0
        self.graph: CUDAGraph | None = None
        self.eager_reason: str | None = None  # set when this signature cannot be captured
        self.statics: list[Any] = []  # the argument leaves the graph reads (tensors copied)
        self.mutated: list[int] = []  # positions of tensor arguments the graph changes
        self.outputs: list[Any] = []  # the output leaves (an argument: its position)
        self.spec: Any = None
        self.autograd_call: Callable[..., Any] | None = None  # outputs that need backward
        # What a call must find for the graph to be right: the memory of the tensors it
        # reads, as at capture, and the .grad they had then where the graph reads it or
        # makes it from nothing (backward into a .grad that is None; see `_grads_of`).
        self.arrays: list[tuple[Tensor, Any]] = []
        self.grads_found: list[tuple[Tensor, Any]] = []
        self.grads_made: list[tuple[Tensor, Tensor]] = []  # the .grad each replay sets

    def unchanged(self) -> bool:
        """Whether the tensors the graph reads are still the same memory (no parameter's
        array replaced, no .grad set to None or to a new tensor where it matters)."""
        return (all(t.array is array for t, array in self.arrays)
                and all(t.grad is grad for t, grad in self.grads_found))

    def replay(self, leaves: list[Any]) -> Any:
        if self.autograd_call is not None:
            return self.autograd_call(*[x for x in leaves if isinstance(x, Tensor)])
        for static, value in zip(self.statics, leaves):
            if isinstance(value, Tensor) and value.array is not static.array:
                _copy_into(static, value)
        self.graph.replay()
        for t, grad in self.grads_made:  # (as the capture set them: the graph writes there)
            t.grad = grad
        for i in self.mutated:  # in-place changes of an argument reach the caller's tensor
            _copy_into(leaves[i], self.statics[i])
        return _unflatten(iter([leaves[o.index] if isinstance(o, _Argument) else o
                                for o in self.outputs]), self.spec)


class _Argument:
    """An output that is one of the function's tensor arguments (`index`: its position among
    the leaves): the caller gets its own tensor back, not the graph's copy."""

    def __init__(self, index: int) -> None:
        self.index = index


class _Compiled:
    """What `compile(fn)` returns: calls `fn` eagerly, captured or replayed (see compile)."""

    def __init__(self, fn: Callable[..., Any], capture: bool, fullgraph: bool,
                 recompile_limit: int) -> None:
        self.fn, self.capture, self.fullgraph = fn, capture, fullgraph
        self.recompile_limit = recompile_limit
        self.steps: dict[Any, _Step] = {}
        self.warned: set[str] = set()
        functools.update_wrapper(self, fn)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not self.capture:
            return self.fn(*args, **kwargs)
        leaves, spec = _flatten((args, kwargs))
        modules, optimizers, others = _reachable(self.fn, leaves)
        device = _cuda_device_of(leaves) or _cuda_device_of(  # (no tensor arguments: the
            _state_tensors(modules, optimizers, others))      # model's device)
        if device is None or is_current_stream_capturing():  # CPU tensors: nothing to do;
            return self.fn(*args, **kwargs)  # inside a capture: the work goes into that graph
        try:
            step = self._step(leaves, spec, modules)
            if step.eager_reason is not None:
                raise _CannotCapture(step.eager_reason)
            if autograd._state.anomaly:
                raise _CannotCapture("anomaly detection is on (tg.autograd.detect_anomaly): "
                                     "its checks read every result back from the GPU")
            if autograd._state.observers:
                raise _CannotCapture("the profiler times every op (tg.profiler.profile), "
                                     "which a graph replay does not run one by one")
        except _CannotCapture as why:
            return self._eager(str(why), args, kwargs)
        if step.calls < _WARMUP_CALLS:
            step.calls += 1
            with _SideStream(device):
                return self.fn(*args, **kwargs)
        if step.graph is not None and step.unchanged():
            return step.replay(leaves)
        try:
            if step.captures > _RECAPTURES:
                raise _CannotCapture(
                    "the tensors its graph reads are replaced between calls (a parameter's "
                    "array, or a .grad that it adds to, or makes from None, set otherwise "
                    "outside the function): it would be captured again at every call")
            return self._capture(step, leaves, spec, device, modules, optimizers, others)
        except _CannotCapture as why:
            step.eager_reason, step.graph = str(why), None
            return self._eager(str(why), args, kwargs)

    def _step(self, leaves: list[Any], spec: Any, modules: list[nn.Module]) -> _Step:
        """The `_Step` of this call's signature: the shapes, dtypes, devices and requires_grad
        of the tensor arguments, the other arguments' values, grad mode and the modules'
        training flags (a new one for each new signature, up to the recompile limit)."""
        key_of_leaves = tuple(("tensor", x.shape, x.dtype, x.device, x.requires_grad)
                              if isinstance(x, Tensor) else ("value", type(x), x)
                              for x in leaves)
        key = (key_of_leaves, spec, autograd.is_grad_enabled(),
               tuple(m.training for m in modules))
        try:
            step = self.steps.get(key)
        except TypeError:
            kinds = sorted({type(x).__name__ for x in leaves if not isinstance(x, Tensor)})
            raise _CannotCapture(f"an argument cannot be hashed (types {', '.join(kinds)}); "
                                 "the arguments that are not tensors are part of a graph's "
                                 "signature") from None
        if step is None:
            if len(self.steps) >= self.recompile_limit:
                raise _CannotCapture(
                    f"recompile_limit reached: {self.recompile_limit} graphs were captured for "
                    "other signatures (shapes, dtypes, devices, other arguments, grad mode, "
                    "training modes)")
            step = self.steps[key] = _Step()
        return step

    def _eager(self, reason: str, args: tuple, kwargs: dict) -> Any:
        if self.fullgraph:
            raise RuntimeError(f"tg.compile(fullgraph=True): {_name(self.fn)} cannot be "
                               f"captured in a CUDA graph: {reason}")
        if reason not in self.warned:
            self.warned.add(reason)
            warnings.warn(f"tg.compile: {_name(self.fn)} runs eagerly (not in a CUDA graph): "
                          f"{reason}", UserWarning, stacklevel=3)
        return self.fn(*args, **kwargs)

    def _capture(self, step: _Step, leaves: list[Any], spec: Any, device: backend.Device,
                 modules: list[nn.Module], optimizers: list[optim.Optimizer],
                 others: list[Tensor]) -> Any:
        """Capture one call on copies of the tensor arguments, then replay it for this call.
        If it cannot be captured, everything the attempt changed on the host is put back (the
        GPU ran nothing of it) and _CannotCapture says why."""
        step.captures += 1
        statics = [_static_copy(x) if isinstance(x, Tensor) else x for x in leaves]
        tensors = [x for x in statics if isinstance(x, Tensor)]
        versions = [x._version_counter[0] if isinstance(x, Tensor) else 0 for x in statics]
        saved = _HostState(modules, optimizers, tensors + others)
        args, kwargs = _unflatten(iter(statics), spec)
        side = Stream(device)
        pool = graph_pool_handle()
        captured_graph = CUDAGraph()
        try:
            with graph(captured_graph, pool=pool, stream=side):
                result = self.fn(*args, **kwargs)
            outputs, out_spec = _flatten(result)
            mutated = [i for i, x in enumerate(statics)
                       if isinstance(x, Tensor) and x._version_counter[0] != versions[i]]
            live = [o for o in outputs if isinstance(o, Tensor) and o.grad_fn is not None
                    and o.grad_fn.inputs is not None]  # (a graph that backward has not freed)
            step.autograd_call = None
            changed = saved.changed()
            if changed is not None:
                raise _CannotCapture(changed)
            if live:
                if mutated:
                    raise _CannotCapture("it changes a tensor argument in place and returns "
                                         "outputs that require grad")
                step.autograd_call = self._graphed(captured_graph, pool, side, statics,
                                                   outputs, out_spec)
            elif any(t.requires_grad and t.grad is not None for t in tensors):
                raise _CannotCapture("a tensor argument that requires grad gets a gradient "
                                     "inside the function (it would go to the graph's copy)")
        except Exception as error:
            saved.restore()
            if isinstance(error, _CannotCapture):
                raise
            if _breaks_capture(error):
                raise _CannotCapture(str(error)) from error
            raise
        position = {id(x): i for i, x in enumerate(statics) if isinstance(x, Tensor)}
        step.graph, step.statics, step.mutated = captured_graph, statics, mutated
        step.spec = out_spec
        step.outputs = [_Argument(position[id(o)]) if id(o) in position else o for o in outputs]
        step.arrays = [(t, t.array) for t, *_ in saved.tensors]
        step.grads_found, step.grads_made = ([], []) if step.autograd_call else _grads_of(saved)
        return step.replay(leaves)

    def _graphed(self, forward_graph: CUDAGraph, pool: Any, side: Stream, statics: list[Any],
                 outputs: list[Any], out_spec: Any) -> Callable[..., Any]:
        """For a function whose outputs need a backward outside it (a model's forward): the
        backward captured too, both behind one `Graphed` node, as make_graphed_callables."""
        args = [x for x in statics if isinstance(x, Tensor)]
        arg_ids = {id(x) for x in args}
        others = [t for t in _leaves_used(outputs) if id(t) not in arg_ids]
        surface = tuple(args + others)
        tensor_outputs = [o for o in outputs if isinstance(o, Tensor)]
        backward_graph, grad_outputs, grad_inputs = _capture_backward(
            tensor_outputs, surface, pool, side, allow_unused=True)
        captured = _Captured(forward_graph, backward_graph, surface, len(args),
                             tuple(tensor_outputs), grad_outputs, grad_inputs,
                             f"tg.compile({_name(self.fn)})")

        def call(*tensor_args: Tensor) -> Any:
            replayed = iter(Graphed.apply(captured, *tensor_args, *others))
            return _unflatten(iter([next(replayed) if isinstance(o, Tensor) else o
                                    for o in outputs]), out_spec)
        return call


def _grads_of(saved: _HostState) -> tuple[list[tuple[Tensor, Any]], list[tuple[Tensor, Any]]]:
    """How a captured whole step treats each `.grad`, from what it was before the capture
    and after: the same tensor (accumulated into in place, or untouched): a call must find
    that tensor there; None before, a new one after (made by backward from nothing): a call
    must find None, and each replay sets the new one; another tensor before, a new one after
    (set to None by zero_grad, then made by backward): each replay sets the new one, whatever
    a call finds."""
    found, made = [], []
    for t, _, before, _ in saved.tensors:
        if t.grad is before:
            found.append((t, before))
        else:
            made.append((t, t.grad))
            if before is None:
                found.append((t, None))
    return found, made


def _leaves_used(outputs: list[Any]) -> list[Tensor]:
    """The leaf tensors that require grad in the graphs of `outputs` (what backward reaches:
    the parameters), in the order a walk from the outputs meets them."""
    stack = [o.grad_fn for o in reversed(outputs) if isinstance(o, Tensor) and o.grad_fn]
    seen: set[int] = set()
    leaves: dict[int, Tensor] = {}
    while stack:
        fn = stack.pop()
        if id(fn) in seen:
            continue
        seen.add(id(fn))
        for t, parent in zip(fn.inputs, fn._parents):
            if parent is not None:
                stack.append(parent)
            elif isinstance(t, Tensor) and t.requires_grad:
                leaves.setdefault(id(t), t)
    return list(leaves.values())


class OptimizedModule(nn.Module):
    """What `tg.compile(module)` returns (as torch's): a Module around the original one
    (`_orig_mod`, so its state_dict keys start with "_orig_mod."), whose calls go through the
    compiled `module.__call__`; other attributes are the original module's."""

    def __init__(self, mod: nn.Module, compiled: _Compiled) -> None:
        super().__init__()
        self._orig_mod = mod
        object.__setattr__(self, "_compiled", compiled)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self._compiled(*args, **kwargs)

    def _inner(self) -> nn.Module | None:
        return self.__dict__.get("_modules", {}).get("_orig_mod")

    @property
    def training(self) -> bool:  # type: ignore[override]
        """The original module's training flag (train() and eval() set both)."""
        inner = self._inner()
        return True if inner is None else inner.training

    @training.setter
    def training(self, mode: bool) -> None:
        inner = self._inner()
        if inner is not None:
            inner.training = mode

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            inner = self._inner()
            if inner is None:
                raise
            return getattr(inner, name)


def compile(model: Callable[..., Any] | None = None, *, fullgraph: bool = False,  # noqa: A001
            dynamic: bool | None = None, backend: str | Callable[..., Any] | None = None,
            mode: str | None = None, options: dict[str, Any] | None = None,
            name: str | None = None, disable: bool = False, recompile_limit: int | None = None,
            isolate_recompiles: bool = False, shapes_spec: Any = None) -> Any:
    """torch.compile's signature, and one thing done: replaying CUDA graphs.

    For a function (or a Module) called with tensors on a CUDA device, e.g. a whole training
    step (zero_grad, forward, backward, optimizer.step, return loss): each new signature
    (shapes, dtypes, devices and requires_grad of the tensor arguments, the other arguments'
    values, grad mode, the training flags of the modules it uses) runs eagerly 3 times, on a
    side stream, then one call is captured into a CUDA graph, with the tensor arguments
    copied into static tensors, and replayed; later calls copy their tensor arguments into the
    static tensors, replay the graph and return the tensors it wrote. Those outputs are the
    same tensors at every call: the next call overwrites them (clone one to keep it, as
    PyTorch's CUDA graph trees say). A tensor argument that the function changes in place is
    copied back after each replay. Outputs that still need a backward (a model's forward,
    with backward run outside) get their backward captured too, as make_graphed_callables.
    After `recompile_limit` (8) signatures, new ones run eagerly. The graph is captured
    again (twice at most, then the signature runs eagerly) if a tensor it reads has been
    replaced since (a parameter's array, a .grad it adds to set to None outside).

    What cannot be captured runs eagerly, with a one-time warning that says why (with
    `fullgraph=True`, a RuntimeError instead): a host read inside the function (`.item()`,
    `print`, `float()`, a boolean mask: the capture error of tg.cuda.graph), a host-to-device
    copy (a tensor made from Python data), an optimizer step that cannot be captured (Adam
    without `capturable=True`), anomaly detection on, the profiler on, a tensor argument
    that requires grad and gets a gradient inside, and what the captured call changes on the
    host, which a replay would not change again (a Python attribute of a module, a tensor
    given new memory as by `p.data = ...`, an optimizer's state made or a host value in it,
    its param_groups). A failed capture leaves everything as it
    was (the GPU ran none of its work; what it changed on the host, e.g. a `.grad` or a
    `p.data` rebound, a step counter, is put back for the modules and optimizers the function
    reaches: its arguments, closure, the globals it names, a bound method's object), then the
    call runs eagerly, so the result is the eager one. CPU tensors (or no tensor arguments)
    simply run eagerly, without a warning; so do `disable=True`, `backend="eager"` and
    `mode="max-autotune-no-cudagraphs"`, and calls made while a graph is being captured.

    Differences from torch.compile: no code is generated or traced (no TorchDynamo, no
    Inductor kernels, no graph breaks: the whole call is one CUDA graph or runs eagerly);
    `dynamic`, `options`, `name`, `isolate_recompiles` and `shapes_spec` are accepted and
    ignored; a custom backend (a callable) is refused. The Python code of the function runs
    only in the warm-up calls and the capture: a replay runs its GPU work only, with the host
    values (Python numbers, an optimizer's float lr) of the captured call; a scheduler's
    changes reach the graph through a Tensor lr (see tinygrad_edu/optim/optimizer.py).
    """
    if model is None:
        return lambda m: compile(
            m, fullgraph=fullgraph, dynamic=dynamic, backend=backend, mode=mode,
            options=options, name=name, disable=disable, recompile_limit=recompile_limit,
            isolate_recompiles=isolate_recompiles, shapes_spec=shapes_spec)
    if mode is not None and options is not None:
        raise RuntimeError("Either mode or options can be specified, but both can't be "
                           "specified at the same time.")
    if mode is not None and mode not in _MODES:
        raise RuntimeError(f"Unrecognized mode={mode}, should be one of: {', '.join(_MODES)}")
    if callable(backend):
        raise NotImplementedError("tg.compile: a custom backend (a callable) is not supported: "
                                  "no graph of ops is traced to hand to it")
    if backend not in _CAPTURING_BACKENDS + _EAGER_BACKENDS:
        raise RuntimeError(f"Invalid backend: {backend!r}, see tg.compile's docstring for the "
                           f"available backends ({', '.join(map(repr, _CAPTURING_BACKENDS))} "
                           "capture CUDA graphs; 'eager', 'aot_eager' run eagerly)")
    if not callable(model):
        raise TypeError(f"tg.compile: expected a function or a Module, got "
                        f"{type(model).__name__}")
    capture = (not disable and backend in _CAPTURING_BACKENDS
               and mode != "max-autotune-no-cudagraphs")
    limit = _RECOMPILE_LIMIT if recompile_limit is None else recompile_limit
    if isinstance(model, nn.Module):
        return OptimizedModule(model, _Compiled(model.__call__, capture, fullgraph, limit))
    return _Compiled(model, capture, fullgraph, limit)


# tg.cuda.graphs, as torch.cuda.graphs: the graph API in one namespace
graphs = types.ModuleType("tinygrad_edu.cuda.graphs", "CUDA graphs (torch.cuda.graphs): "
                          "CUDAGraph, graph, graph_pool_handle, is_current_stream_capturing, "
                          "make_graphed_callables.")
graphs.CUDAGraph = CUDAGraph
graphs.graph = graph
graphs.graph_pool_handle = graph_pool_handle
graphs.is_current_stream_capturing = is_current_stream_capturing
graphs.make_graphed_callables = make_graphed_callables
graphs.__all__ = ["is_current_stream_capturing", "graph_pool_handle", "CUDAGraph", "graph",
                  "make_graphed_callables"]
