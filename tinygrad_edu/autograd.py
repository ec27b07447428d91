"""Reverse-mode automatic differentiation.

* `Function`: one differentiable op. `forward` works on raw backend arrays; `backward`
  receives the gradient of the output (a Tensor) and returns the gradients of the inputs,
  written with the library's own differentiable ops, so that `create_graph=True` records
  the backward pass too and gives higher-order gradients.
* grad mode: `no_grad`, `enable_grad`, `set_grad_enabled`.
* the backward engine: an iterative topological walk (no recursion limit), gradient
  accumulation, and the ONE place where broadcast gradients are summed back to the shape
  of the input (`sum_to`). Without `retain_graph` each node lets go of its inputs as soon as
  it has been used, so the intermediate arrays are freed.
* `grad`, `gradcheck`, `gradgradcheck`, `detect_anomaly`.
"""

from __future__ import annotations

import functools
import sys
import threading
import traceback
import weakref
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

import numpy as np

from . import backend

if TYPE_CHECKING:
    from .tensor import Tensor
else:
    Tensor = None  # the Tensor class; tensor.py (which imports this module) fills it in


# ---------------------------------------------------------------------------------------------
# Grad mode and global switches read by Function.apply
# ---------------------------------------------------------------------------------------------
class _State(threading.local):
    """The switches Function.apply reads. Each thread has its own (as in PyTorch): a thread
    inside `no_grad`, or running a backward pass, changes nothing for the others. A new thread
    starts with the class values below."""

    grad_enabled = True
    anomaly = False  # detect_anomaly() is active
    in_backward = 0  # > 0 while a Function.backward runs: ops inside count as its work
    # The profiler's callables (fn, phase, start, end, out_data): one list for the whole
    # process (it is never assigned per thread, only appended to and removed from).
    observers: list = []


_state = _State()


def is_grad_enabled() -> bool:
    return _state.grad_enabled


class set_grad_enabled:
    """Turn graph recording on or off: a function call, a context manager and a decorator."""

    def __init__(self, mode: bool) -> None:
        self.prev = _state.grad_enabled
        self.mode = bool(mode)
        _state.grad_enabled = self.mode

    def __enter__(self) -> None:
        _state.grad_enabled = self.mode

    def __exit__(self, *exc: object) -> None:
        _state.grad_enabled = self.prev

    def __call__(self, func: Callable) -> Callable:
        mode = self.mode
        _state.grad_enabled = self.prev  # used as a decorator: do not change the mode now

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with set_grad_enabled(mode):
                return func(*args, **kwargs)

        return wrapper


class _GradModeContext:
    mode = True

    def __enter__(self) -> None:
        self.prev = _state.grad_enabled
        _state.grad_enabled = self.mode

    def __exit__(self, *exc: object) -> None:
        _state.grad_enabled = self.prev

    def __call__(self, func: Callable) -> Callable:
        mode = self.mode

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with set_grad_enabled(mode):
                return func(*args, **kwargs)

        return wrapper


class no_grad(_GradModeContext):
    """Record no graph inside: `with tg.no_grad(): ...` or `@tg.no_grad()`."""

    mode = False


class enable_grad(_GradModeContext):
    """Record the graph again inside a `no_grad` block."""

    mode = True


# ---------------------------------------------------------------------------------------------
# Function
# ---------------------------------------------------------------------------------------------
class Function:
    """Base class of every differentiable op.

    Subclasses implement::

        def forward(self, *arrays, **options) -> array      # on NumPy/CuPy arrays
        def backward(self, grad_output: Tensor) -> Tensor | tuple[Tensor | None, ...]

    and are called as `MyOp.apply(*tensors, **options)`. In `forward`, keep on `self` what
    `backward` needs. `self.inputs` (the input Tensors) and `self.needs_input_grad` are
    available in `backward`; `self.output()` gives the output Tensor. Returning a gradient
    whose shape was broadcast is fine: the engine sums it back to the input's shape.
    """

    inputs: tuple | None
    needs_input_grad: tuple
    # Whether backward reads the inputs' values. If one of them is then changed in place
    # before backward runs, backward raises instead of using the new values (PyTorch's
    # version-counter check). Ops that only move the gradient (add, reshape, ...) say False.
    saves_inputs = True
    _ran_at: int | None = None  # the in-place clock when the op ran (if saves_inputs)
    _output_version = 0  # the output's version when the op ran (not 0 after an in-place op)
    # A view op (its output shares the input's memory) sets this in forward to how the view
    # is taken again from an array: ("getitem", index), ("reshape", shape), ("transpose", axes).
    view_step: tuple | None = None

    def forward(self, *arrays: Any, **options: Any) -> Any:
        raise NotImplementedError

    def backward(self, grad_output: Tensor) -> Any:
        raise NotImplementedError(f"{type(self).__name__} is not differentiable")

    @classmethod
    def apply(cls, *inputs: Tensor, **options: Any) -> Tensor:
        if len(inputs) > 1:
            _check_same_device(cls.__name__, inputs)
        fn = cls()
        try:
            if _state.observers:
                data = _observed_forward(fn, inputs, options)
            else:
                data = fn.forward(*[t.array for t in inputs], **options)
        except ValueError as exc:  # name the op and the shapes instead of NumPy's wording
            if len(inputs) < 2 or "broadcast" not in str(exc) or str(exc).startswith(
                    cls.__name__.lower()):
                raise
            shapes = [tuple(t.shape) for t in inputs]
            listed = ", ".join(str(s) for s in shapes[:-1]) + f" and {shapes[-1]}"
            raise ValueError(f"{cls.__name__.lower()}: shapes {listed} cannot be broadcast "
                             "together") from None
        needs = [t._requires_grad for t in inputs] if _state.grad_enabled else ()
        if True not in needs:  # no graph to record
            out = Tensor._make(data)
        else:
            fn.inputs = inputs
            # the inputs' nodes now: an in-place op may later give an input a new grad_fn
            fn.next_functions = tuple([t.grad_fn for t in inputs])
            fn.needs_input_grad = tuple(needs)
            if fn.saves_inputs:
                fn._ran_at = _inplace_clock[0]
            out = Tensor._make(data, fn)
            fn._output_ref = weakref.ref(out)
            if _state.anomaly:
                fn._trace = traceback.extract_stack()[:-2]
        if fn.view_step is not None:
            _mark_view(out, inputs[0], fn.view_step)
        if _state.anomaly and not _state.in_backward:
            _check_finite(cls.__name__, "forward", data, getattr(fn, "_trace", None))
        return out

    def output(self) -> Tensor:
        """The Tensor this node produced (alive while the graph is being walked). Raises if it
        was changed in place since the op made it: backward would read the wrong values."""
        out = self._output_ref()
        if out is None:
            raise RuntimeError(f"the output of {type(self).__name__} was freed before backward")
        if out._version_counter[0] != self._output_version:
            raise _modified_error(out, f"output 0 of {type(self).__name__}",
                                  f"expected version {self._output_version} instead")
        return out

    def reads_input(self, i: int) -> bool:
        """Whether backward reads input i's values (when `saves_inputs`). Ops such as y = a * b,
        which read a only for b's gradient, say so: then a may change in place meanwhile."""
        return True

    def check_saved_versions(self) -> None:
        """Raise if an input that backward reads was changed in place after the op ran (the
        engine calls this only when the in-place clock has moved since then)."""
        name = type(self).__name__
        for i, t in enumerate(self.inputs):
            if t._version_counter[1] > self._ran_at and self.reads_input(i):
                raise _modified_error(t, f"input {i} of {name}", f"changed after {name} used it")

    def __repr__(self) -> str:
        return f"<{type(self).__name__}Backward>"


# In-place changes are counted per tensor (its version, shared with its views) and stamped
# with the tick of one clock for the whole process. An op whose backward reads its inputs
# notes the clock when it runs; an input stamped later was changed after the op used it.
_inplace_clock = [0]


def bump_version(t: Tensor) -> None:
    """Record an in-place change of `t`'s memory (every in-place op calls this)."""
    _inplace_clock[0] += 1
    counter = t._version_counter
    counter[0] += 1
    counter[1] = _inplace_clock[0]


def _modified_error(t: Tensor, what: str, detail: str) -> RuntimeError:
    """PyTorch's error for a value backward needs that was changed in place after use."""
    return RuntimeError(
        "one of the variables needed for gradient computation has been modified by an "
        f"inplace operation: [{t.dtype} tensor of shape {tuple(t.shape)}], which is {what}, "
        f"is at version {t._version_counter[0]}; {detail}. Hint: change it out of place "
        "(y = y + 1 instead of y += 1), or clone() it before.")


def _mark_view(view: Tensor, source: Tensor, step: tuple) -> None:
    """Record that `view` shares the memory of `source`: both count their in-place changes in
    one version counter, and `view` knows its root tensor and how to take it again from the
    root (so an in-place op on the view can update the root's graph too)."""
    xp = backend.get_array_module(view.array)
    if not xp.may_share_memory(view.array, source.array):  # e.g. a reshape that had to copy
        return
    view._version_counter = source._version_counter
    if source._view_of is None:
        view._view_of = (source, (step,))
    else:
        root, steps = source._view_of
        view._view_of = (root, steps + (step,))


def _apply_on_the_inputs_gpu() -> None:
    """Once a second GPU holds data, run every op with its inputs' GPU as CuPy's current
    device (see backend.device_scope). Until then Function.apply is left as it is, so that
    the CPU and one GPU pay nothing for it."""
    unscoped = Function.apply.__func__

    def apply(cls: type[Function], *inputs: Tensor, **options: Any) -> Tensor:
        with backend.device_scope(inputs[0].array if inputs else None):
            return unscoped(cls, *inputs, **options)

    Function.apply = classmethod(apply)  # type: ignore[method-assign, assignment]


backend.when_several_gpus(_apply_on_the_inputs_gpu)


def _check_same_device(op: str, inputs: Sequence[Tensor]) -> None:
    for t in inputs:  # all NumPy arrays: all on the CPU (the common case, checked cheaply)
        if type(t.array) is not np.ndarray:
            break
    else:
        return
    devices = [t.device for t in inputs]
    if any(d != devices[0] for d in devices):
        names = " and ".join(sorted({str(d) for d in devices}))
        raise RuntimeError(f"{op}: expected all tensors to be on the same device, "
                           f"but found at least two devices, {names}")


def _observed_forward(fn: Function, inputs: Sequence[Tensor], options: dict) -> Any:
    import time

    start = time.perf_counter()
    data = fn.forward(*[t.array for t in inputs], **options)
    end = time.perf_counter()
    if not _state.in_backward:  # ops run by a backward are part of that backward's time
        for observer in _state.observers:
            observer(type(fn).__name__, "forward", start, end, data)
    return data


# ---------------------------------------------------------------------------------------------
# Un-broadcasting: the one place where gradients are summed back to an input's shape
# ---------------------------------------------------------------------------------------------
def _sum_to_axes(shape: tuple, target: tuple) -> tuple[int, ...]:
    lead = len(shape) - len(target)
    axes = list(range(lead))
    axes += [lead + i for i, n in enumerate(target) if n == 1 and shape[lead + i] != 1]
    return tuple(axes)


class SumTo(Function):
    """y = sum of x over the axes that broadcasting added or stretched, so y.shape == shape.
    dy/dx: the gradient is broadcast back, dL/dx = broadcast_to(dL/dy, x.shape)."""

    saves_inputs = False

    def forward(self, x: Any, shape: tuple) -> Any:
        self.in_shape = x.shape
        axes = _sum_to_axes(x.shape, shape)
        y = x.sum(axis=axes, keepdims=True) if axes else x
        return y.reshape(shape)

    def backward(self, grad: Tensor) -> Tensor:
        return BroadcastTo.apply(grad, shape=self.in_shape)


class BroadcastTo(Function):
    """y = x repeated along broadcast axes to `shape`.  dL/dx = sum_to(dL/dy, x.shape)."""

    saves_inputs = False

    def forward(self, x: Any, shape: tuple) -> Any:
        self.in_shape = x.shape
        self.view_step = ("expand", shape)  # a read-only view: in-place ops refuse it
        xp = backend.get_array_module(x)
        return xp.broadcast_to(x, shape)

    def backward(self, grad: Tensor) -> Tensor:
        return SumTo.apply(grad, shape=self.in_shape)


def sum_to(grad: Tensor, shape: tuple) -> Tensor:
    if grad.shape == shape:
        return grad
    try:
        np.broadcast_shapes(shape, grad.shape)
    except ValueError:
        raise RuntimeError(f"gradient of shape {grad.shape} cannot be summed to shape {shape}")
    return SumTo.apply(grad, shape=shape)


# ---------------------------------------------------------------------------------------------
# The backward engine
# ---------------------------------------------------------------------------------------------
_FREED = ("Trying to backward through the graph a second time (or to use its results after "
          "they have been freed). Pass retain_graph=True to the first backward() or "
          "autograd.grad() call if you need to go through the graph again.")


def _topological_order(roots: Iterable[Function]) -> tuple[list[Function], dict]:
    """Functions reachable from `roots`, each after every function that consumes its output.
    Also returns {id(fn): output tensor}: the engine holds each output until its node has run,
    because releasing a consumer drops the consumer's reference to it, and backward passes such
    as exp's or tanh's read their own output (`Function.output()`)."""
    order: list[Function] = []
    seen: set[int] = set()
    outputs: dict[int, Tensor] = {}
    stack = [(fn, False) for fn in roots]
    while stack:
        fn, expanded = stack.pop()
        if expanded:
            order.append(fn)
            continue
        if id(fn) in seen:
            continue
        seen.add(id(fn))
        if getattr(fn, "inputs", None) is None:
            raise RuntimeError(_FREED)
        stack.append((fn, True))
        for t, parent in zip(fn.inputs, fn.next_functions):
            if parent is not None:
                outputs[id(parent)] = t
                if id(parent) not in seen:
                    stack.append((parent, False))
    order.reverse()
    return order, outputs


def _run_hooks(t: Tensor, grad: Tensor) -> Tensor:
    for hook in list(t._hooks.values()):
        new = hook(grad)
        if new is not None:
            if new.shape != grad.shape:
                raise RuntimeError(f"hook returned a gradient of shape {new.shape}, "
                                   f"expected {grad.shape}")
            grad = new
    return grad


def _owned(grad: Tensor) -> bool:
    """Whether nothing but the engine refers to `grad` or its array, so that a leaf may keep
    the array as its `.grad` without a copy: it is no view, and its only references are the
    caller's one variable (`sys.getrefcount` counts its own argument too). Anything else
    holding it (another gradient, the user's `gradient=`, a retained grad, a hook's list, a
    cache) makes the count higher, and the caller copies."""
    data = grad.array
    return (sys.getrefcount(grad) <= 3 and sys.getrefcount(data) <= 3
            and getattr(data, "base", None) is None and data.flags.c_contiguous)


@backend.on_device_of_args  # (on the leaf's GPU)
def _accumulate_leaf(leaf: Tensor, pending: list, create_graph: bool) -> None:
    """Add the gradient summed for `leaf` (the one item of `pending`) into `leaf.grad`.

    The first gradient a leaf gets becomes its `.grad`: the array itself where the engine
    made it and nothing else refers to it (`_owned`), else a copy, so that no gradient handed
    out is an array that something else writes into. Later gradients are added in place (as
    PyTorch does: `x.grad` stays the same tensor), or out of place with create_graph."""
    grad = pending.pop()
    if grad.dtype != leaf.dtype:
        grad = grad.to(leaf.dtype)
    if leaf._hooks:
        grad = _run_hooks(leaf, grad)
    if create_graph:  # keep the gradient's graph: a differentiable copy or sum
        leaf.grad = grad.clone() if leaf.grad is None else leaf.grad + grad
        return
    if leaf.grad is None:
        if _owned(grad):
            leaf.grad = grad
        else:
            xp = backend.get_array_module(grad.array)
            leaf.grad = Tensor._make(xp.array(grad.array, copy=True, order="C"))
        return
    if leaf.grad.shape != grad.shape:
        raise RuntimeError(f"cannot accumulate a gradient of shape {grad.shape} into "
                           f".grad of shape {leaf.grad.shape}")
    leaf.grad.array += grad.array


def _retain(t: Tensor, grad: Tensor, create_graph: bool) -> None:
    """Keep a non-leaf's gradient in its `.grad` (after `retain_grad()`): a copy, summed with
    what an earlier backward kept there, as PyTorch does."""
    if not create_graph:
        grad = grad.detach()
    t.grad = grad.clone() if t.grad is None else t.grad + grad


def run_backward(roots: Sequence[Tensor], root_grads: Sequence[Tensor], retain_graph: bool,
                 create_graph: bool, capture: dict[int, Tensor] | None = None) -> dict:
    """Propagate `root_grads` from `roots` back through the graph.

    Without `capture`, gradients accumulate into the `.grad` of leaf tensors. With `capture`
    ({id(tensor): tensor}), nothing's `.grad` changes; the gradients of those tensors are
    returned as {id(tensor): grad}.

    Every gradient reaching a node or a leaf from several places is summed out of place
    first: a node then runs once on the sum, and at the end each leaf gets its sum in one
    step (its hooks run once).
    """
    if not backend.long_lived_objects_frozen:  # once: see the function's docstring
        backend.freeze_long_lived_objects()
    grads: dict[int, Tensor] = {}  # id(fn) -> gradient of that fn's output
    leaf_grads: dict[int, tuple[Tensor, list]] = {}  # id(leaf) -> (leaf, [gradient so far])
    captured: dict[int, Tensor] = {}

    def send(t: Tensor, fn: Function | None, g: Tensor) -> None:
        """Add `g` to the gradient of `t`, the output of node `fn` (None for a leaf)."""
        if capture is not None and id(t) in capture:
            key = id(t)
            captured[key] = g if key not in captured else captured[key] + g
        if fn is None:
            if capture is None and t._requires_grad:
                entry = leaf_grads.get(id(t))
                if entry is None:
                    leaf_grads[id(t)] = (t, [g])
                else:
                    entry[1][0] = entry[1][0] + g
        else:
            k = id(fn)
            prev = grads.get(k)
            grads[k] = g if prev is None else prev + g

    with set_grad_enabled(create_graph):
        root_fns = []
        for t, g in zip(roots, root_grads):
            if t.grad_fn is not None:
                root_fns.append(t.grad_fn)
            send(t, t.grad_fn, g)
        order, outputs = _topological_order(root_fns)
        for t in roots:
            if t.grad_fn is not None:
                outputs[id(t.grad_fn)] = t
        for fn in order:
            out = outputs.pop(id(fn), None)  # held only while this node runs
            grad = grads.pop(id(fn), None)
            if grad is not None:  # (None: nothing flows into this node)
                _backward_node(fn, out, grad, create_graph, send)
            if not retain_graph:
                _release(fn)
        while leaf_grads:  # the leaves' summed gradients, one at a time (popped: see _owned)
            _, (leaf, pending) = leaf_grads.popitem()
            _accumulate_leaf(leaf, pending, create_graph)
    return captured


def _backward_node(fn: Function, out: Tensor | None, grad: Tensor, create_graph: bool,
                   send: Callable[[Tensor, Function | None, Tensor], None]) -> None:
    """Run one node's backward on the gradient of its output and send each input its part."""
    if out is not None and out.grad_fn is fn:  # (not an older node of a tensor changed in place)
        if out._hooks:
            grad = _run_hooks(out, grad)
        if out._retains_grad:
            _retain(out, grad, create_graph)
    if fn._ran_at is not None and fn._ran_at != _inplace_clock[0]:
        fn.check_saved_versions()
    _state.in_backward += 1
    try:
        if backend.several_gpus_in_use:  # run the node on its gradient's GPU
            with backend.device_scope(grad.array):
                in_grads = _node_backward(fn, grad)
        elif _state.observers:
            in_grads = _observed_backward(fn, grad)
        else:
            in_grads = fn.backward(grad)
    finally:
        _state.in_backward -= 1
    if type(in_grads) is not tuple:
        in_grads = (in_grads,)
    if _state.anomaly:
        for g in in_grads:
            if g is not None:
                _check_finite(type(fn).__name__, "backward", g.array,
                              getattr(fn, "_trace", None))
    for t, parent, g, needed in zip(fn.inputs, fn.next_functions, in_grads, fn.needs_input_grad):
        if g is None or not needed:
            continue
        if g.array.shape != t.array.shape:
            g = sum_to(g, t.shape)
        send(t, parent, g)


def _node_backward(fn: Function, grad: Tensor) -> Any:
    return _observed_backward(fn, grad) if _state.observers else fn.backward(grad)


def _observed_backward(fn: Function, grad: Tensor) -> Any:
    import time

    start = time.perf_counter()
    in_grads = fn.backward(grad)
    end = time.perf_counter()
    grads = in_grads if isinstance(in_grads, tuple) else (in_grads,)
    first = next((g for g in grads if g is not None), None)  # what the profiler measures
    for observer in _state.observers:
        observer(type(fn).__name__, "backward", start, end, None if first is None else first.array)
    return in_grads


def _release(fn: Function) -> None:
    """Drop everything a node holds (its inputs and saved arrays); mark it as used."""
    fn.__dict__.clear()
    fn.inputs = None


def grad(outputs: Tensor | Sequence[Tensor], inputs: Tensor | Sequence[Tensor],
         grad_outputs: Tensor | Sequence[Tensor | None] | None = None,
         retain_graph: bool | None = None, create_graph: bool = False,
         allow_unused: bool = False) -> tuple[Tensor | None, ...]:
    """Gradients of `outputs` with respect to `inputs`, returned (not accumulated in .grad)."""
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs] * len(outputs) if grad_outputs is None else [grad_outputs]
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"autograd.grad: got {len(outputs)} outputs but "
                         f"{len(grad_outputs)} grad_outputs")
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(f"autograd.grad: input {i} does not require grad")
    root_grads = [_root_grad(o, g, "autograd.grad") for o, g in zip(outputs, grad_outputs)]
    for i, o in enumerate(outputs):
        if not o.requires_grad:
            raise RuntimeError(f"autograd.grad: output {i} does not require grad and has no "
                               "grad_fn")
    if retain_graph is None:
        retain_graph = create_graph
    captured = run_backward(outputs, root_grads, retain_graph, create_graph,
                            capture={id(t): t for t in inputs})
    result = []
    for i, t in enumerate(inputs):
        g = captured.get(id(t))
        if g is None and not allow_unused:
            raise RuntimeError(f"autograd.grad: input {i} (shape {t.shape}) was not used to "
                               "compute the outputs; pass allow_unused=True to get None")
        if g is not None and not create_graph:
            g = g.detach()
        result.append(g)
    return tuple(result)


def _root_grad(out: Tensor, gradient: Tensor | None, where: str) -> Tensor:
    if gradient is None:
        if out.numel() != 1:
            raise RuntimeError(f"{where}: grad can be implicitly created only for scalar "
                               f"outputs; this output has shape {out.shape}, pass a `gradient` "
                               "of that shape")
        xp = backend.get_array_module(out.array)
        with backend.device_scope(out.array):
            return Tensor._make(xp.ones(out.shape, dtype=out.dtype))
    if not isinstance(gradient, Tensor):
        gradient = Tensor(gradient, dtype=out.dtype, device=out.device)
    if gradient.shape != out.shape:
        raise RuntimeError(f"{where}: gradient has shape {gradient.shape} but the output has "
                           f"shape {out.shape}")
    if gradient.device != out.device:
        raise RuntimeError(f"{where}: gradient is on {gradient.device} but the output is on "
                           f"{out.device}")
    return gradient


def backward(tensor: Tensor, gradient: Tensor | None = None, retain_graph: bool | None = None,
             create_graph: bool = False) -> None:
    """Accumulate d(tensor)/d(leaf) into every leaf's .grad (what `Tensor.backward` calls)."""
    if not tensor.requires_grad:
        raise RuntimeError("backward: this tensor does not require grad and has no grad_fn "
                           "(did you compute it under no_grad, or forget requires_grad=True?)")
    root = _root_grad(tensor, gradient, "backward")
    if gradient is not None and not create_graph:
        root = root.detach()
    if retain_graph is None:
        retain_graph = create_graph
    run_backward([tensor], [root], retain_graph, create_graph)


# ---------------------------------------------------------------------------------------------
# Anomaly detection
# ---------------------------------------------------------------------------------------------
class AnomalyError(RuntimeError):
    """Raised by detect_anomaly() when an op produces NaN or Inf."""


def _check_finite(op: str, phase: str, data: Any, trace: list | None) -> None:
    if data is None or not backend.is_floating(data.dtype):
        return
    xp = backend.get_array_module(data)
    if bool(xp.isfinite(data).all()):
        return
    where = ""
    if trace:
        user = [f for f in trace if "tinygrad_edu" not in f.filename.replace("\\", "/")]
        frame = (user or trace)[-1]
        where = f"; created at {frame.filename}:{frame.lineno}: {frame.line}"
    kind = "NaN" if bool(xp.isnan(data).any()) else "Inf"
    raise AnomalyError(f"{op} produced {kind} in its {phase} pass{where}")


def checks_values(array: Any) -> bool:
    """Whether to run an input check that must read `array`'s values (class indices in range,
    probabilities in [0, 1], indices in bounds). Always on the CPU. On the GPU only inside
    detect_anomaly(): reading values back stalls the GPU (a device-to-host synchronisation)
    in every training step. Unchecked on the GPU, a bad value gives NaN, never an error."""
    return type(array) is np.ndarray or _state.anomaly


class detect_anomaly:
    """Inside, the first op whose forward or backward produces NaN/Inf raises AnomalyError
    naming the op, the phase, and the line of user code that created it. On the GPU it also
    turns on the input checks that must read values (see `checks_values`)."""

    def __enter__(self) -> detect_anomaly:
        self.prev = _state.anomaly
        _state.anomaly = True
        return self

    def __exit__(self, *exc: object) -> None:
        _state.anomaly = self.prev


# ---------------------------------------------------------------------------------------------
# Gradient checking
# ---------------------------------------------------------------------------------------------
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
