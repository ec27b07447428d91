"""Reverse-mode automatic differentiation.

* `Function`: one differentiable op. `forward` works on raw backend arrays; `backward`
  receives the gradient of the output (a Tensor) and returns the gradients of the inputs,
  written with the library's own differentiable ops, so that `create_graph=True` records
  the backward pass too and gives higher-order gradients. PyTorch's own style
  (`@staticmethod forward(ctx, ...)` on Tensors, `ctx.save_for_backward`) works too.
* the graph as PyTorch shows it: `grad_fn.name()` ("MulBackward0"), `grad_fn.next_functions`
  ((node, output index) pairs, `AccumulateGrad` for a leaf).
* grad mode: `no_grad`, `enable_grad`, `set_grad_enabled`.
* the backward engine: an iterative topological walk (no recursion limit), gradient
  accumulation, and the ONE place where broadcast gradients are summed back to the shape
  of the input (`sum_to`). Without `retain_graph` each node lets go of its inputs as soon as
  it has been used, so the intermediate arrays are freed.
* `grad`, `gradcheck`, `gradgradcheck`, `detect_anomaly`.
"""

from __future__ import annotations

import functools
import heapq
import inspect
import itertools
import sys
import threading
import traceback
import weakref
from typing import Any, Callable, Sequence

import numpy as np

from .. import backend


# ---------------------------------------------------------------------------------------------
# Grad mode and global switches read by Function.apply
# ---------------------------------------------------------------------------------------------
class _State(threading.local):
    """The switches Function.apply reads. Each thread has its own (as in PyTorch): a thread
    inside `no_grad`, or running a backward pass, changes nothing for the others. A new thread
    starts with the class values below."""

    grad_enabled = True
    anomaly = False  # detect_anomaly() is active
    inference = False  # inside inference_mode()
    in_backward = 0  # > 0 while a Function.backward runs: ops inside count as its work
    # The profiler's callables (fn, phase, start, end, out_data): one list for the whole
    # process (it is never assigned per thread, only appended to and removed from).
    observers: list = []


_state = _State()


class Overrides:
    """The one seam between the reference code and `tinygrad_edu/fast/` (see its README).

    `fast` registers array-level versions of some ops and optimizers here; the reference
    code (ops/, nn/, optim/) knows nothing of them. `Function.apply` looks up `forward`, the
    backward engine `backward` (only while no graph of the backward pass is recorded) and
    `Optimizer.step` `step`, each by the class it replaces; the op tables then give, per
    device kind ("cpu", "cuda"), the list of overrides to try in order. With `on` False
    (`tg.fast.off()`) everything runs the reference. An override may return
    NotImplemented for a case it does not handle: then the reference runs."""

    def __init__(self) -> None:
        self.on = True
        self.forward: dict[type, dict[str, list[Callable[..., Any]]]] = {}
        self.backward: dict[type, dict[str, list[Callable[..., Any]]]] = {}
        self.step: dict[type, Callable[..., Any]] = {}


overrides = Overrides()


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


class inference_mode(_GradModeContext):
    """`with tg.inference_mode():` (or `@tg.inference_mode()`): as `no_grad`, for code that only
    evaluates a model; inside, `inference_mode(False)` records a graph again (even inside
    `no_grad`, as in PyTorch). (PyTorch also marks the
    tensors made inside as inference tensors, which then never enter a graph; here they are
    plain tensors that do not require grad.)"""

    def __init__(self, mode: bool = True) -> None:
        self.inference = bool(mode)

    def __enter__(self) -> None:
        self.prev, self.prev_inference = _state.grad_enabled, _state.inference
        # inference_mode(False) leaves inference mode and records again, as PyTorch
        _state.grad_enabled, _state.inference = not self.inference, self.inference

    def __exit__(self, *exc: object) -> None:
        _state.grad_enabled, _state.inference = self.prev, self.prev_inference

    def __call__(self, func: Callable) -> Callable:
        inference = self.inference

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with inference_mode(inference):
                return func(*args, **kwargs)

        return wrapper


def is_inference_mode_enabled() -> bool:
    return _state.inference


# ---------------------------------------------------------------------------------------------
# Function
# ---------------------------------------------------------------------------------------------
# The `apply` of PyTorch-style Functions (set by Function.__init_subclass__)
_CTX_APPLY = classmethod(lambda cls, *args, **kwargs: _apply_ctx_style(cls, args, kwargs))


# What a node keeps once backward freed it (the rest goes; inputs is None again: the default)
_KEPT_AFTER_FREE = ("_name", "_shown_next")


class Function:
    """Base class of every differentiable op.

    Subclasses implement::

        def forward(self, *arrays, **options) -> array      # on NumPy/CuPy arrays
        def backward(self, grad_output: Tensor) -> Tensor | tuple[Tensor | None, ...]

    and are called as `MyOp.apply(*tensors, **options)`. In `forward`, keep on `self` what
    `backward` needs. `self.inputs` (the input Tensors) and `self.needs_input_grad` are
    available in `backward`; `self.output()` gives the output Tensor. Returning a gradient
    whose shape was broadcast is fine: the engine sums it back to the input's shape.

    PyTorch's style works as well (see `BackwardCFunction`): `@staticmethod forward(ctx,
    *args)` and `@staticmethod backward(ctx, *grad_outputs)`, both on Tensors.

    The Function object is the node of the graph that the output's `grad_fn` points to.
    """

    inputs: tuple | None = None  # (None also once backward has freed the node)
    needs_input_grad: tuple
    # Whether backward reads the inputs' values. If one of them is then changed in place
    # before backward runs, backward raises instead of using the new values (PyTorch's
    # version-counter check). Ops that only move the gradient (add, reshape, ...) say False.
    saves_inputs = True
    _ran_at: int | None = None  # the in-place clock when the op ran (if saves_inputs)
    _number = 0  # when the node was made (see _node_numbers); 0 once backward freed it
    _output_version = 0  # the output's version when the op ran (not 0 after an in-place op)
    # A view op (its output shares the input's memory) sets this in forward to how the view
    # is taken again from an array: ("getitem", index), ("reshape", shape), ("transpose", axes).
    view_step: tuple | None = None
    # Set by __init_subclass__: whether the class is written in PyTorch's style (a staticmethod
    # forward(ctx, ...) on Tensors), and then the class of its graph nodes.
    _ctx_style = False
    _split_style = False  # PyTorch-style, with forward(*args) and setup_context(ctx, ...)
    _backward_cls: type | None = None
    _several_outputs = False  # only a PyTorch-style Function returns several outputs
    _ctx_node = False  # True for the nodes of PyTorch-style Functions (BackwardCFunction)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """The one place that tells the two styles apart: PyTorch's declares forward as a
        staticmethod (`forward(ctx, *args)`, or `forward(*args)` with a `setup_context`)."""
        super().__init_subclass__(**kwargs)
        cls._ctx_style = isinstance(inspect.getattr_static(cls, "forward"), staticmethod)
        if not cls._ctx_style and inspect.getattr_static(cls, "apply") is _CTX_APPLY:
            cls.apply = Function.__dict__["apply"]  # (our style, below a PyTorch-style class)
        cls._split_style = cls._ctx_style and (inspect.getattr_static(cls, "setup_context")
                                               is not Function.__dict__["setup_context"])
        if cls._ctx_style:  # as PyTorch: the nodes of `MyFn` are `MyFnBackward` objects
            if "apply" not in cls.__dict__:
                cls.apply = _CTX_APPLY
            cls._backward_cls = type(f"{cls.__name__}Backward", (BackwardCFunction,),
                                     {"_forward_cls": cls, "__module__": __name__})

    def forward(self, *arrays: Any, **options: Any) -> Any:
        raise NotImplementedError

    def backward(self, grad_output: Tensor) -> Any:
        raise NotImplementedError(f"{type(self).__name__} is not differentiable")

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: Any) -> None:
        """PyTorch 2's split style: forward(*args) without ctx, then this fills ctx."""
        raise NotImplementedError("setup_context is not defined for this Function")

    @classmethod
    def apply(cls, *inputs: Any, **options: Any) -> Any:
        """Run the op on Tensors: forward on their arrays, and, where a graph is recorded, make
        this Function object the node of the output (its `grad_fn`). (A PyTorch-style
        Function has its own `apply`, see `__init_subclass__`.)"""
        fn = cls()
        data = _forward(fn, inputs, options)
        if _state.grad_enabled and any([t._requires_grad for t in inputs]):
            out = _record(fn, inputs, data)
        else:
            out = Tensor._make(data)
        if fn.view_step is not None:
            _mark_view(out, inputs[0], fn.view_step)
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

    def _free(self) -> None:
        """After backward (without retain_graph): drop everything the node holds (its inputs
        and saved arrays). Its name stays (worked out now if it depends on what the op did and
        its output is alive), and its `next_functions` if they were looked at."""
        if type(self).__name__ in _NAMED_BY_WHAT_IT_DID and self._output_ref() is not None:
            self.name()  # (worked out while what the op kept is there: its grad_fn is alive)
        self.__dict__ = {k: v for k, v in self.__dict__.items() if k in _KEPT_AFTER_FREE}

    def name(self) -> str:
        """The node's name as PyTorch gives it ("MulBackward0"; see `_PYTORCH_NAMES`)."""
        name = self.__dict__.get("_name")
        if name is None:
            name = self._name = _node_name(self)
        return name

    @property
    def next_functions(self) -> tuple:
        """PyTorch's view of the node's edges: one `(node, output_index)` pair per tensor
        input: the input's `grad_fn`, an `AccumulateGrad` for a leaf that requires grad, or
        None for a tensor that does not. Built when first asked for (the engine walks
        `_parents`, the plain tuple of the inputs' nodes)."""
        shown = self.__dict__.get("_shown_next")
        if shown is None:
            if self.inputs is None:
                raise RuntimeError(
                    f"next_functions: the graph of {self.name()} was freed by backward(); look "
                    "at it before calling backward(), or pass retain_graph=True")
            shown = self._shown_next = _pytorch_edges(self)
        return shown

    def __repr__(self) -> str:
        return f"<{self.name().rsplit('::', 1)[-1]} object at {id(self):#x}>"


# In-place changes are counted per tensor (its version, shared with its views) and stamped
# with the tick of one clock for the whole process. An op whose backward reads its inputs
# notes the clock when it runs; an input stamped later was changed after the op used it.
_inplace_clock = [0]


def bump_version(t: Tensor) -> None:
    """Record an in-place change of `t`'s memory (every in-place op calls this)."""
    _inplace_clock[0] += 1
    t._version_counter[:] = t._version_counter[0] + 1, _inplace_clock[0]  # (shared by views)


def update_in_place(p: Tensor, update: Callable[..., None], *args: Any) -> None:
    """Run `update(*args)`, which changes p's array in place outside any graph (an optimizer's
    step): on p's GPU, and counted as an in-place change of p, so that a graph that saved p
    refuses backward afterwards, as PyTorch's does."""
    if backend.several_gpus_in_use:  # (CuPy computes on its current GPU: make it p's)
        with backend.device_scope(p.array):
            update(*args)
    else:
        update(*args)
    bump_version(p)


def _modified_error(t: Tensor, what: str, detail: str) -> RuntimeError:
    """PyTorch's error for a value backward needs that was changed in place after use."""
    return RuntimeError(
        "one of the variables needed for gradient computation has been modified by an "
        f"inplace operation: [{t.dtype} tensor of shape {tuple(t.shape)}], which is {what}, "
        f"is at version {t._version_counter[0]}; {detail}. Hint: change it out of place "
        "(y = y + 1 instead of y += 1), or clone() it before.")


def _mark_view(view: Tensor, source: Tensor, step: tuple) -> None:
    """Record that `view` shares the memory of `source` (the op said so by setting its
    `view_step`): both count their in-place changes in one version counter, and `view` knows
    its root tensor and how to take it again from the root (so an in-place op on the view can
    update the root's graph too)."""
    root, steps = source._view_of or (source, ())
    view._version_counter, view._view_of = source._version_counter, (root, steps + (step,))


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


def _forward(fn: Function, inputs: Sequence[Tensor], options: dict) -> Any:
    """fn.forward (or its fast override) on the inputs' arrays. While a GPU, the profiler or
    anomaly mode is in use, `_watched_forward` also checks the devices, times the op, or
    looks for NaN."""
    if _state.anomaly or _state.observers or backend.gpu_in_use:
        return _watched_forward(fn, inputs, options)
    try:
        return _run_forward(fn, [t.array for t in inputs], options)
    except ValueError as exc:
        raise _shapes_error(type(fn), inputs, exc) from None


def _shapes_error(cls: type, inputs: Sequence[Tensor], exc: ValueError) -> ValueError:
    """NumPy's broadcasting error, reworded to name the op and the shapes."""
    if len(inputs) < 2 or "broadcast" not in str(exc) or str(exc).startswith(cls.__name__.lower()):
        return exc
    shapes = [tuple(t.shape) for t in inputs]
    listed = ", ".join(str(s) for s in shapes[:-1]) + f" and {shapes[-1]}"
    return ValueError(f"{cls.__name__.lower()}: shapes {listed} cannot be broadcast together")


def _watched_forward(fn: Function, inputs: Sequence[Tensor], options: dict) -> Any:
    """The forward with what a GPU, the profiler or anomaly mode need around it."""
    name = type(fn).__name__
    if len(inputs) > 1:
        _check_same_device(name, inputs)
    try:
        if backend.several_gpus_in_use:  # (CuPy computes on its current GPU)
            data = _forward_on_the_inputs_gpu(fn, inputs, options)
        elif _state.observers:
            data = _observed_forward(fn, inputs, options)
        else:
            data = _run_forward(fn, [t.array for t in inputs], options)
    except ValueError as exc:
        raise _shapes_error(type(fn), inputs, exc) from None
    if _state.anomaly and not _state.in_backward:
        _check_finite(name, "forward", data, traceback.extract_stack())
    return data


# Every node gets the next number of this counter when it is made. A node's inputs were made
# before it, so running the nodes from the highest number down is an order in which each node
# runs after every node that consumes its output (what the backward engine needs).
_node_numbers = itertools.count(1)


def _record(fn: Function, inputs: Sequence[Tensor], data: Any) -> Tensor:
    """Make `fn` the node of a new output Tensor holding `data`: its edges to the inputs and
    what the engine needs to run it later."""
    fn.inputs = inputs
    fn._parents = tuple([t.grad_fn for t in inputs])  # (an in-place op may change t.grad_fn)
    fn.needs_input_grad = tuple([t._requires_grad for t in inputs])
    fn._number = next(_node_numbers)
    if fn.saves_inputs:
        fn._ran_at = _inplace_clock[0]
    out = Tensor._make(data, fn)
    fn._output_ref = weakref.ref(out)
    if _state.anomaly:
        fn._trace = traceback.extract_stack()[:-3]
    return out


def _run_forward(fn: Function, arrays: list, options: dict) -> Any:
    """fn.forward, or the first override tinygrad_edu.fast registered for its class and the
    kind of device its arrays are on that handles them (see `Overrides`)."""
    if overrides.on and type(fn) in overrides.forward:
        for fast in overrides.forward[type(fn)][_device_kind(arrays[0] if arrays else None)]:
            data = fast(fn, *arrays, **options)
            if data is not NotImplemented:
                return data
    return fn.forward(*arrays, **options)


def _run_backward(fn: Function, grad: Any) -> Any:
    """fn.backward, or (while no graph of the backward is recorded) its fast override."""
    if overrides.on and not _state.grad_enabled and type(fn) in overrides.backward:
        array = grad.array if type(grad) is not list else None
        for fast in overrides.backward[type(fn)][_device_kind(array)]:
            in_grads = fast(fn, grad)
            if in_grads is not NotImplemented:
                return in_grads
    return fn.backward(grad)


def _device_kind(array: Any) -> str:
    """ "cpu" for a NumPy array (or nothing), else "cuda": the key of the override tables."""
    return "cpu" if array is None or isinstance(array, np.ndarray) else "cuda"


def _forward_on_the_inputs_gpu(fn: Function, inputs: Sequence[Tensor], options: dict) -> Any:
    """The forward with the inputs' GPU as CuPy's current device, so that it computes there
    and makes its arrays there (used once a GPU other than cuda:0 holds data)."""
    with backend.device_scope(inputs[0].array if inputs else None):
        if _state.observers:
            return _observed_forward(fn, inputs, options)
        return _run_forward(fn, [t.array for t in inputs], options)


def _observed_forward(fn: Function, inputs: Sequence[Tensor], options: dict) -> Any:
    import time

    start = time.perf_counter()
    data = _run_forward(fn, [t.array for t in inputs], options)
    end = time.perf_counter()
    if not _state.in_backward:  # ops run by a backward are part of that backward's time
        for observer in _state.observers:
            observer(type(fn).__name__, "forward", start, end, data)
    return data


# ---------------------------------------------------------------------------------------------
# The graph as PyTorch shows it: node names, next_functions, AccumulateGrad
# ---------------------------------------------------------------------------------------------
def _reduced_all(fn: Function) -> bool:  # x.sum() (SumBackward0), not x.sum(dim) (SumBackward1)
    return len(fn.axes) == len(fn.in_shape) and not fn.keepdim


def _index_name(fn: Function) -> str:
    index = fn.index
    if not all(i is None or i is Ellipsis or isinstance(i, (int, slice)) for i in index):
        return "IndexBackward0"  # x[tensor], x[mask]: a gather
    return "SelectBackward0" if any(isinstance(i, int) for i in index) else "SliceBackward0"


def _permute_name(fn: Function) -> str:
    axes = fn.axes
    if len(axes) == 2:
        return "TBackward0"  # w.t() (PyTorch says PermuteBackward0 for w.T)
    swapped = [i for i, a in enumerate(axes) if a != i]
    return "TransposeBackward0" if len(swapped) == 2 else "PermuteBackward0"


def _matmul_name(fn: Function) -> str:
    dims = (fn.inputs[0].ndim, fn.inputs[1].ndim)
    names = {(2, 2): "MmBackward0", (2, 1): "MvBackward0", (1, 1): "DotBackward0",
             (1, 2): "SqueezeBackward4"}
    return names.get(dims, "UnsafeViewBackward0" if dims[0] > 2 else "CloneBackward0")


def _linear_name(fn: Function) -> str:  # addmm(b, x, W.t()) / mm(x, W.t()) on 2-D input
    if fn.inputs[0].ndim != 2:  # the same on the input viewed as 2-D, then a view back
        return "ViewBackward0" if fn.has_bias else "UnsafeViewBackward0"
    return "AddmmBackward0" if fn.has_bias else "MmBackward0"


def _reshape_name(fn: Function) -> str:  # a view, or (not contiguous) a copy, then a view
    return "ViewBackward0" if _is_contiguous(fn.inputs[0]) else "UnsafeViewBackward0"


def _is_contiguous(t: Tensor) -> bool:
    return bool(t.array.flags.c_contiguous)


# The names PyTorch 2.13 gives the nodes of the same ops, where they are not the class name
# followed by "Backward0" (Mul -> MulBackward0). A function gives the name where it depends on
# how the op was called (x.sum() -> SumBackward0, x.sum(1) -> SumBackward1).
_PYTORCH_NAMES: dict[str, str | Callable[[Function], str]] = {
    "Sum": lambda fn: "SumBackward0" if _reduced_all(fn) else "SumBackward1",
    "Mean": lambda fn: "MeanBackward0" if _reduced_all(fn) else "MeanBackward1",
    "PowScalar": "PowBackward0",  # x ** 2
    "Pow": "PowBackward1",  # x ** y
    "RPowScalar": "PowBackward2",  # 2 ** x
    "Max": "MaxBackward1",  # x.max()
    "Min": "MinBackward1",
    "MaxDim": "MaxBackward0",  # x.max(dim)
    "MinDim": "MinBackward0",
    "Clamp": "ClampBackward1",
    "Norm": "LinalgVectorNormBackward0",
    "Reshape": _reshape_name,
    "Permute": _permute_name,
    "GetItem": _index_name,
    "BroadcastTo": "ExpandBackward0",
    "Pad": "ConstantPadNdBackward0",
    "SetItem": "torch::autograd::CopySlices",  # x[i] = v, copy_
    "_Clone": "CloneBackward0",
    "Cast": "ToCopyBackward0",  # .double(), .to(dtype)
    "_ToDevice": "ToCopyBackward0",
    "Matmul": _matmul_name,
    "Linear": _linear_name,
    "Conv2d": "ConvolutionBackward0",
    "MaxPool2d": "MaxPool2DWithIndicesBackward0",
    "MaxPool2dBackward": "MaxPool2DWithIndicesBackwardBackward0",
    "AvgPool2d": "AvgPool2DBackward0",
    "AvgPool2dBackward": "AvgPool2DBackwardBackward0",
    "AdaptiveAvgPool2d": "AdaptiveAvgPool2DBackward0",
    "BatchNorm": "NativeBatchNormBackward0",
    "CrossEntropy": "NllLossBackward0",  # nll_loss(log_softmax(x)), fused here
    "NllLoss": "NllLossBackward0",
}
# the names that need what the op kept (worked out before backward frees it: see Function._free)
_NAMED_BY_WHAT_IT_DID = {op for op, name in _PYTORCH_NAMES.items() if callable(name)}


def _node_name(fn: Function) -> str:
    cls = type(fn)
    if isinstance(fn, BackwardCFunction):
        return cls.__name__  # "LegendrePolynomial3Backward", as PyTorch
    if not cls.__module__.startswith("tinygrad_edu."):  # your own Function: "CubeBackward"
        return f"{cls.__name__}Backward"
    name = _PYTORCH_NAMES.get(cls.__name__, f"{cls.__name__}Backward0")
    if isinstance(name, str):
        return name
    # named by what the op did: unknown once backward freed the node without naming it
    return name(fn) if fn.inputs is not None else f"{cls.__name__}Backward0"


class AccumulateGrad:
    """The node PyTorch shows for a leaf that requires grad (`variable`): where the leaf's
    gradient is added into `variable.grad`. It is there to look at the graph with
    (`next_functions`); the engine adds into the leaves itself (`_accumulate_leaf`). As in
    PyTorch, a leaf has one such node for as long as anything holds it."""

    next_functions: tuple = ()
    _of_leaf: weakref.WeakValueDictionary = weakref.WeakValueDictionary()  # id(leaf) -> node

    def __init__(self, variable: Tensor) -> None:
        self.variable = variable

    @classmethod
    def of(cls, leaf: Tensor) -> AccumulateGrad:
        node = cls._of_leaf.get(id(leaf))
        if node is None or node.variable is not leaf:
            node = cls._of_leaf[id(leaf)] = cls(leaf)
        return node

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"

    def __repr__(self) -> str:
        return f"<AccumulateGrad object at {id(self):#x}>"


class _ShownNode:
    """A node of PyTorch's graph for an op that this library does in one fused Function:
    `TBackward0` for nn.Linear's `weight.t()` (and, on a batch of sequences, the views of the
    input and output), `LogSoftmaxBackward0` inside cross_entropy,
    `CloneBackward0` before a reshape that copies. Shown in `next_functions` so that walking
    the graph prints what PyTorch prints; the engine never runs it."""

    def __init__(self, name: str, next_functions: tuple) -> None:
        self._name = name
        self.next_functions = next_functions

    def name(self) -> str:
        return self._name

    def __repr__(self) -> str:
        return f"<{self._name} object at {id(self):#x}>"


def _edge(t: Tensor, parent: Function | None) -> tuple:
    if parent is not None:
        return (parent, parent._output_index(t) if parent._several_outputs else 0)
    if t._requires_grad:
        return (AccumulateGrad.of(t), 0)
    return (None, 0)


def _pytorch_edges(fn: Function) -> tuple:
    """`fn.next_functions`: the pairs of the tensor inputs, arranged as PyTorch's graph of the
    same op has them where the library fuses what PyTorch does in several nodes."""
    pairs = [_edge(t, parent) for t, parent in zip(fn.inputs, fn._parents)
             if isinstance(t, Tensor)]
    op = type(fn).__name__ if type(fn).__module__.startswith("tinygrad_edu.") else None
    if op == "Linear":  # addmm(b, x, W.t()) or mm(x, W.t()), on x viewed as 2-D
        x, w = pairs[0], pairs[1]
        w = w if w[0] is None else (_ShownNode("TBackward0", (w,)), 0)
        if fn.inputs[0].ndim == 2:
            return (pairs[2], x, w) if len(pairs) == 3 else (x, w)
        x = x if x[0] is None else (_ShownNode("ViewBackward0", (x,)), 0)
        if len(pairs) == 3:
            return ((_ShownNode("AddmmBackward0", (pairs[2], x, w)), 0),)
        return ((_ShownNode("MmBackward0", (x, w)), 0),)
    if op == "Where":  # the condition is not differentiable: PyTorch shows no edge for it
        return tuple(pairs[1:])
    if op == "CrossEntropy":
        return ((_ShownNode("LogSoftmaxBackward0", tuple(pairs)), 0),)
    if op == "Reshape" and not _is_contiguous(fn.inputs[0]):
        return ((_ShownNode("CloneBackward0", tuple(pairs)), 0),)
    if op in ("Conv2d", "BatchNorm"):  # (input, weight, bias), (None, 0) where there is none
        return tuple(pairs + [(None, 0)] * (3 - len(pairs)))
    return tuple(pairs)


# ---------------------------------------------------------------------------------------------
# Functions in PyTorch's style: @staticmethod forward(ctx, ...) / backward(ctx, ...)
# ---------------------------------------------------------------------------------------------
class BackwardCFunction(Function):
    """The node (and `ctx`) of a Function written in PyTorch's style::

        class Exp(tg.autograd.Function):
            @staticmethod
            def forward(ctx, x):             # x is a Tensor; runs with grad mode off
                y = x.exp()
                ctx.save_for_backward(y)
                return y

            @staticmethod
            def backward(ctx, grad):         # one gradient per output of forward
                (y,) = ctx.saved_tensors
                return grad * y              # one gradient per input of forward

        y = Exp.apply(x)                     # y.grad_fn is an ExpBackward: the ctx above

    `forward` may take any Python objects besides Tensors (their gradient is None) and return
    a Tensor or a tuple of Tensors. Each such Function gets its own subclass of this one,
    named after it ("ExpBackward")."""

    _forward_cls: type[Function]
    saves_inputs = False  # what backward reads is checked by saved_tensors instead
    _ctx_node = True
    # what the library keeps on ctx (backward frees it; your own attributes stay, as PyTorch)
    _ENGINE_STATE = ("_saved", "_saved_versions", "_output_of_raw", "_output_meta",
                     "_output_refs", "_output_ref", "_parents", "_trace")

    def __init__(self) -> None:
        self._saved: tuple = ()
        self._saved_versions: tuple = ()
        self._non_differentiable: set[int] = set()
        self._materialize_grads = True

    # --- what forward / setup_context call on ctx ------------------------------------------
    def save_for_backward(self, *tensors: Tensor | None) -> None:
        """Keep tensors for backward (read them back with `ctx.saved_tensors`)."""
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward can only save variables, but argument {i} "
                                f"is of type {type(t).__name__}")
        self._saved = tensors
        self._saved_versions = tuple(None if t is None else t._version_counter[0]
                                     for t in tensors)

    def mark_non_differentiable(self, *tensors: Tensor) -> None:
        """These outputs get no gradient (requires_grad=False); backward receives zeros."""
        self._non_differentiable.update(id(t) for t in tensors)

    def set_materialize_grads(self, value: bool) -> None:
        """With False, backward receives None (not zeros) for an output that got no gradient."""
        self._materialize_grads = bool(value)

    def mark_dirty(self, *tensors: Tensor) -> None:
        raise NotImplementedError("mark_dirty: in-place custom Functions are not supported; "
                                  "return a new tensor from forward instead")

    # --- what backward reads ------------------------------------------------------------------
    @property
    def saved_tensors(self) -> tuple:
        """The tensors given to save_for_backward. Raises PyTorch's error if one of them was
        changed in place since, or if backward has already freed them."""
        if "_saved" not in self.__dict__:
            raise RuntimeError(
                "Trying to backward through the graph a second time (or directly access saved "
                "tensors after they have already been freed). Saved intermediate values of the "
                "graph are freed when you call .backward() or autograd.grad(). Specify "
                "retain_graph=True if you need to backward through the graph a second time or "
                "if you need to access saved tensors after calling backward.")
        saved = []
        for i, (t, version) in enumerate(zip(self._saved, self._saved_versions)):
            if t is not None and t._version_counter[0] != version:
                raise _modified_error(t, f"saved tensor {i} of {self.name()}",
                                      f"expected version {version} instead")
            saved.append(self._as_output(t))
        return tuple(saved)

    def _as_output(self, t: Tensor | None) -> Tensor | None:
        """A saved output of forward is given back as the output itself (with its grad_fn,
        so that a backward that uses it can be differentiated again)."""
        i = self.__dict__.get("_output_of_raw", {}).get(id(t))
        out = None if i is None else self._output_refs[i]()
        return t if out is None else out

    def _output_index(self, t: Tensor) -> int:
        for i, ref in enumerate(self._output_refs):
            if ref is not None and ref() is t:
                return i
        raise RuntimeError(f"{self.name()}: this tensor is not one of its outputs any more "
                           "(in-place ops on the outputs of a Function with several outputs "
                           "are not supported)")

    # --- what the engine calls -----------------------------------------------------------------
    def _free(self) -> None:
        """After backward (without retain_graph): drop the inputs and the saved tensors."""
        for key in self._ENGINE_STATE:
            self.__dict__.pop(key, None)
        self.inputs = None
        self._several_outputs = False

    def backward(self, grad_output: Tensor | list) -> tuple:
        grads = grad_output if type(grad_output) is list else [grad_output]
        if self._materialize_grads:
            grads = [_zeros(meta) if g is None and meta is not None else g
                     for g, meta in zip(grads, self._output_meta)]
        result = self._forward_cls.backward(self, *grads)
        return self._checked_gradients(result)

    def _checked_gradients(self, result: Any) -> tuple:
        """One gradient per input of forward (None for the non-tensors), as PyTorch checks."""
        if not isinstance(result, tuple):
            result = (result,)
        n = len(self.inputs)
        if len(result) > n and all(g is None for g in result[n:]):
            result = result[:n]  # extra Nones are allowed
        if len(result) != n:
            raise RuntimeError(f"function {self.name()} returned an incorrect number of "
                               f"gradients (expected {n}, got {len(result)})")
        for i, (arg, g) in enumerate(zip(self.inputs, result)):
            if g is None:
                continue
            if not isinstance(arg, Tensor):
                raise RuntimeError(f"function {self.name()} returned a gradient different than "
                                   f"None at position {i + 1}, but the corresponding forward "
                                   "input was not a Variable")
            if not isinstance(g, Tensor):
                raise TypeError(f"function {self.name()} returned a gradient of type "
                                f"{type(g).__name__} at position {i + 1}; expected a Tensor "
                                "or None")
        return result

    def __repr__(self) -> str:
        return f"<{type(self).__module__}.{self.name()} object at {id(self):#x}>"


def _zeros(meta: tuple) -> Tensor:
    """Zeros of an output's (shape, dtype, device), made on that device: a copy from the host
    would wait for the GPU, and would break a CUDA graph capture."""
    shape, dtype, device = meta
    with backend.device_scope(device):
        return Tensor._make(device.xp.zeros(shape, dtype=dtype))


@backend.on_device_of_args  # (on the GPU of the first Tensor in `args`)
def _apply_ctx_style(cls: type[Function], args: tuple, kwargs: dict) -> Any:
    """`MyFn.apply(*args)` for a Function in PyTorch's style: run forward on the Tensors with
    grad mode off, then make its differentiable outputs the outputs of one `MyFnBackward`
    node (which is the `ctx` that forward filled in)."""
    tensors = [a for a in args if isinstance(a, Tensor)]
    if len(tensors) > 1:
        _check_same_device(cls.__name__, tensors)
    ctx = cls._backward_cls()
    record = _state.grad_enabled
    ctx.needs_input_grad = tuple(record and isinstance(a, Tensor) and a._requires_grad
                                 for a in args)
    with set_grad_enabled(False):
        if cls._split_style:
            output = cls.forward(*args, **kwargs)
            cls.setup_context(ctx, args, output)
        else:
            output = cls.forward(ctx, *args, **kwargs)
    raw_outputs = output if isinstance(output, tuple) else (output,)
    if not any(isinstance(t, Tensor) for t in raw_outputs):
        raise TypeError(f"{cls.__name__}.forward must return a Tensor or a tuple of Tensors, "
                        f"got {type(output).__name__}")
    if True not in ctx.needs_input_grad:  # no graph to record
        return output
    ctx.inputs = args
    ctx._parents = tuple(a.grad_fn if isinstance(a, Tensor) else None for a in args)
    ctx._number = next(_node_numbers)
    if _state.anomaly:
        ctx._trace = traceback.extract_stack()[:-2]
    outputs, refs, metas, output_of_raw = [], [], [], {}
    for i, raw in enumerate(raw_outputs):
        if not isinstance(raw, Tensor):  # passed through as it is
            outputs.append(raw)
            refs.append(None)
            metas.append(None)
            continue
        differentiable = (id(raw) not in ctx._non_differentiable
                          and backend.is_floating(raw.dtype))
        out = Tensor._make(raw.array, ctx if differentiable else None)
        out._version_counter = raw._version_counter  # the same memory
        if _state.anomaly:
            _check_finite(cls.__name__, "forward", raw.array, ctx._trace)
        outputs.append(out)
        refs.append(weakref.ref(out))
        metas.append((raw.shape, raw.dtype, raw.device))
        output_of_raw[id(raw)] = i
    ctx._output_refs = refs
    ctx._output_meta = metas
    ctx._output_ref = next(r for r in refs if r is not None)  # (what viz draws)
    ctx._output_of_raw = {k: i for k, i in output_of_raw.items()
                          if any(t is raw_outputs[i] for t in ctx._saved)}
    if len(raw_outputs) > 1:
        ctx._several_outputs = True
    return tuple(outputs) if isinstance(output, tuple) else outputs[0]


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
        raise RuntimeError(f"gradient of shape {tuple(grad.shape)} cannot be summed to shape "
                           f"{tuple(shape)}")
    return SumTo.apply(grad, shape=shape)


# ---------------------------------------------------------------------------------------------
# The backward engine
# ---------------------------------------------------------------------------------------------
_FREED = ("Trying to backward through the graph a second time (or to use its results after "
          "they have been freed). Pass retain_graph=True to the first backward() or "
          "autograd.grad() call if you need to go through the graph again.")


def _run_hooks(t: Tensor, grad: Tensor) -> Tensor:
    for hook in list(t._hooks.values()):
        if type(hook) is PostAccumulateGradHook:
            continue  # (it runs after the gradient is in .grad: _run_post_accumulate_hooks)
        new = hook(grad)
        if new is not None:
            if new.shape != grad.shape:
                raise RuntimeError(f"hook returned a gradient of shape {tuple(new.shape)}, "
                                   f"expected {tuple(grad.shape)}")
            grad = new
    return grad


def _owned(grad: Tensor, leaf: Tensor) -> bool:
    """Whether `leaf` may keep `grad`'s array as its `.grad` without a copy: it has the leaf's
    dtype, is no view, and nothing but the engine refers to it or its array (the caller's one
    variable: `sys.getrefcount` counts its own argument too). Anything else holding it
    (another gradient, the user's `gradient=`, a retained grad, a hook's list, a cache) makes
    the count higher, and the caller copies."""
    return (sys.getrefcount(grad) <= 3 and sys.getrefcount(grad.array) <= 3 and grad.array.dtype
            == leaf.array.dtype and grad.array.base is None and grad.array.flags.c_contiguous)


def _accumulate_leaf(entry: list, create_graph: bool) -> None:
    """Put the gradient summed for a leaf into its `.grad` (`entry` is [leaf, gradient]).

    The first gradient a leaf gets becomes its `.grad`: the array itself where the engine
    made it and nothing else refers to it (`_owned`), else a copy, so that no gradient handed
    out is an array that something else writes into. The rest (a cast, hooks, create_graph,
    a `.grad` to add to) is `_accumulate_more`'s."""
    leaf = entry[0]
    if leaf.grad is not None or leaf._hooks or create_graph or not leaf._requires_grad:
        return _accumulate_more(entry, create_graph)
    grad = entry.pop()  # (then only `grad` refers to it: see _owned)
    leaf.grad = grad if _owned(grad, leaf) else _copy_of(grad, leaf)


def _copy_of(grad: Tensor, leaf: Tensor) -> Tensor:
    """A C-contiguous copy of a gradient in its leaf's dtype (on its GPU)."""
    xp = backend.get_array_module(grad.array)
    with backend.device_scope(grad.array):
        return Tensor._make(xp.array(grad.array, dtype=leaf.array.dtype, copy=True, order="C"))


def _accumulate_more(entry: list, create_graph: bool) -> None:
    """`_accumulate_leaf` for the other cases: the gradient cast to the leaf's dtype, the
    leaf's hooks run; then with create_graph a differentiable copy or sum, else the first
    gradient kept as above or later ones added in place (as PyTorch: `x.grad` stays the same
    tensor). (`entry` is passed whole, so that after the pop only `grad` refers to the
    gradient and a hook that returns it unchanged still lets `_owned` keep it uncopied.)"""
    leaf, grad = entry[0], entry.pop()
    if not leaf._requires_grad:  # (switched off since the graph was recorded)
        return
    if grad.array.dtype != leaf.array.dtype:
        grad = grad.to(leaf.dtype)
    if leaf._hooks:
        grad = _run_hooks(leaf, grad)
    if create_graph:  # keep the gradient's graph: a differentiable copy or sum
        leaf.grad = grad.clone() if leaf.grad is None else leaf.grad + grad
    elif leaf.grad is None:
        leaf.grad = grad if _owned(grad, leaf) else _copy_of(grad, leaf)
    elif leaf.grad.shape != grad.shape:
        raise RuntimeError(f"cannot accumulate a gradient of shape {tuple(grad.shape)} into "
                           f".grad of shape {tuple(leaf.grad.shape)}")
    else:
        with backend.device_scope(grad.array):
            leaf.grad.array += grad.array
    if leaf._hooks:
        _run_post_accumulate_hooks(leaf)


# ---------------------------------------------------------------------------------------------
# Post-accumulate-grad hooks (Tensor.register_post_accumulate_grad_hook)
# ---------------------------------------------------------------------------------------------
class PostAccumulateGradHook:
    """A hook kept among a leaf's `_hooks` that runs as `fn(leaf)` once backward has put the
    leaf's gradient into `leaf.grad` (after the leaf's gradient hooks, which run before)."""

    def __init__(self, fn: Callable[[Tensor], None]) -> None:
        self.fn = fn


# The tensors that have a post-accumulate-grad hook (or had one until the last backward), as
# {id(tensor): tensor}, held weakly (a WeakSet would compare tensors with ==, elementwise).
# While there are any, backward works out when each such leaf's gradient is complete
# (`_leaf_turns`); otherwise it does not.
leaves_with_post_hooks: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
_NO_TURNS: dict = {}  # (the turns of a backward without such leaves: never written)


def register_post_accumulate_grad_hook(leaf: Tensor, fn: Callable[[Tensor], None]
                                       ) -> PostAccumulateGradHook:
    """The hook object for `Tensor.register_post_accumulate_grad_hook` (which checks that
    `leaf` is a leaf that requires grad and keeps it among its `_hooks`)."""
    leaves_with_post_hooks[id(leaf)] = leaf
    return PostAccumulateGradHook(fn)


def _has_post_hooks(t: Tensor) -> bool:
    return any(type(hook) is PostAccumulateGradHook for hook in t._hooks.values())


def _run_post_accumulate_hooks(leaf: Tensor) -> None:
    for hook in list(leaf._hooks.values()):
        if type(hook) is PostAccumulateGradHook and hook.fn(leaf) is not None:
            raise RuntimeError("Tensor post accumulate grad hooks should return None.")


def graph_edges(roots: Sequence[Tensor]) -> Any:
    """Every edge of the graph that leads to `roots`, each node visited once: yields (node,
    one of its input tensors, that input's node, or None for a leaf). Nodes that a backward
    has freed are not entered."""
    to_visit = [t.grad_fn for t in roots if t.grad_fn is not None]
    seen: set[int] = set()
    while to_visit:
        fn = to_visit.pop()
        if id(fn) in seen or fn.inputs is None:
            continue
        seen.add(id(fn))
        for t, parent in zip(fn.inputs, fn._parents):
            yield fn, t, parent
            if parent is not None:
                to_visit.append(parent)


def _leaf_turns(roots: Sequence[Tensor]) -> dict[int, float]:
    """When backward gives each leaf that has a post-accumulate-grad hook its gradient: just
    after the oldest node that uses it has run, when nothing more can be added to it. Nodes
    are queued as -number (newest first), so that turn is 0.5 - number of that node. The
    other leaves keep turn 0: after every node."""
    for key, leaf in list(leaves_with_post_hooks.items()):
        if not _has_post_hooks(leaf):  # (its hooks were removed: no more walks for it)
            del leaves_with_post_hooks[key]
    oldest: dict[int, int] = {}  # id(leaf) -> the number of the oldest node that uses it
    for fn, t, parent in graph_edges(roots):
        if parent is None and t._hooks and _has_post_hooks(t):
            oldest[id(t)] = min(fn._number, oldest.get(id(t), fn._number))
    return {key: 0.5 - number for key, number in oldest.items()}


def _retain(t: Tensor, grad: Tensor, create_graph: bool) -> None:
    """Keep a non-leaf's gradient in its `.grad` (after `retain_grad()`): a copy, summed with
    what an earlier backward kept there, as PyTorch does."""
    if not create_graph:
        grad = grad.detach()
    t.grad = grad.clone() if t.grad is None else t.grad + grad


# What a training process sets up once, at its first backward while fast is on (glibc's malloc,
# the garbage collector): tinygrad_edu.fast.runtime puts it here. Nothing runs at import.
before_first_backward: Callable[[], None] | None = None


def _prepare_the_process() -> None:
    global before_first_backward
    prepare, before_first_backward = before_first_backward, None
    prepare()


def run_backward(roots: Sequence[Tensor], root_grads: Sequence[Tensor], retain_graph: bool,
                 create_graph: bool, capture: dict[int, Tensor | None] | None = None) -> None:
    """Propagate `root_grads` from `roots` back through the graph.

    Without `capture`, gradients accumulate into the `.grad` of leaf tensors. With `capture`
    ({id(tensor): None}), nothing's `.grad` changes; the gradients of those tensors are
    put there ({id(tensor): grad}, None for a tensor that got none).

    A node runs once, on the sum of every gradient sent to its output: nodes run from the
    newest down (see `_node_numbers`), so all its consumers have run before it. Each leaf
    gets its summed gradient in one step (its hooks run once): at the end, or, for a leaf
    with a post-accumulate-grad hook, as soon as the last node that uses it has run
    (`_leaf_turns`), as in PyTorch, so that DistributedDataParallel can send a layer's
    gradients while the backward of the layers before it runs.
    """
    if before_first_backward is not None and overrides.on:
        _prepare_the_process()
    # pending: id(node) or id(leaf) -> [its tensor, gradient so far]; queue: (-number, key,
    # node) for nodes, (turn, key, None) for leaves (turn 0: at the end), smallest first
    pending, queue = {}, []
    turns = _leaf_turns(roots) if leaves_with_post_hooks and capture is None else _NO_TURNS

    def send(t: Tensor, fn: Function | None, g: Tensor) -> None:
        """Add `g` to the gradient of `t`, the output of node `fn` (None for a leaf)."""
        if fn is not None and fn._several_outputs:
            return _send_to_one_output(pending, queue, t, fn, g)
        key = id(t) if fn is None else id(fn)
        entry = pending.get(key)
        if entry is None:
            pending[key] = [t, g]
            heapq.heappush(queue, (-fn._number, key, fn) if fn else (turns.get(key, 0), key, None))
        else:
            entry[1] = entry[1] + g

    if capture is not None:  # autograd.grad: keep the gradients of `capture`, change no .grad
        send = _capturing(send, capture)
    grad_mode, _state.grad_enabled = _state.grad_enabled, create_graph  # (a graph of the
    try:                                                                # backward, if asked)
        for t, g in zip(roots, root_grads):
            send(t, t.grad_fn, g)
        while queue:
            _, key, fn = heapq.heappop(queue)
            if fn is None:
                _accumulate_leaf(pending.pop(key), create_graph)
            else:  # (the output and its gradient are held only while the node runs)
                _backward_node(fn, *pending.pop(key), create_graph, send)
                if not retain_graph:
                    fn._free()
    finally:
        _state.grad_enabled = grad_mode


def _capturing(send: Callable[[Tensor, Function | None, Tensor], None], capture: dict
               ) -> Callable[[Tensor, Function | None, Tensor], None]:
    """`send` for autograd.grad: the gradients sent to the tensors of `capture`
    ({id(tensor): None} at first) are summed there ({id(tensor): gradient}); leaves get
    nothing (no `.grad` changes)."""
    def capturing_send(t: Tensor, fn: Function | None, g: Tensor) -> None:
        if id(t) in capture:
            capture[id(t)] = g if capture[id(t)] is None else capture[id(t)] + g
        if fn is not None:
            send(t, fn, g)
    return capturing_send


def _send_to_one_output(pending: dict, queue: list, t: Tensor, fn: Function, g: Tensor) -> None:
    """`send` for a node with several outputs: one gradient slot per output."""
    entry = pending.get(id(fn))
    if entry is None:
        entry = pending[id(fn)] = [t, [None] * len(fn._output_refs)]
        heapq.heappush(queue, (-fn._number, id(fn), fn))
    slots, i = entry[1], fn._output_index(t)
    slots[i] = g if slots[i] is None else slots[i] + g


def _backward_node(fn: Function, out: Tensor, grad: Tensor, create_graph: bool,
                   send: Callable[[Tensor, Function | None, Tensor], None]) -> None:
    """Run one node's backward on the gradient of its output and send each input its part."""
    if fn.inputs is None:
        raise RuntimeError(_FREED)
    if out._hooks or out._retains_grad or type(grad) is list:  # (a list: several outputs)
        grad = _output_grads(fn, out, grad, create_graph)
    if fn._ran_at is not None and fn._ran_at != _inplace_clock[0]:
        fn.check_saved_versions()  # (something changed in place since the op ran)
    if _state.anomaly or _state.observers or backend.several_gpus_in_use:
        in_grads = _watched_backward(fn, grad)
    else:
        in_grads = _run_backward(fn, grad)
    in_grads = in_grads if type(in_grads) is tuple else (in_grads,)  # (one input's gradient)
    for t, parent, g, needed in zip(fn.inputs, fn._parents, in_grads, fn.needs_input_grad):
        if g is not None and needed:
            send(t, parent, g if g.array.shape == t.array.shape else sum_to(g, t.shape))


def _output_grads(fn: Function, out: Tensor, grad: Tensor | list, create_graph: bool
                  ) -> Tensor | list:
    """The gradient of a node's output after its hooks and retain_grad (a list of them, one
    per output, for a node with several outputs)."""
    if type(grad) is list:
        return [g if g is None else _output_grad(ref(), fn, g, create_graph)
                for ref, g in zip(fn._output_refs, grad)]
    return _output_grad(out, fn, grad, create_graph)


def _output_grad(out: Tensor | None, fn: Function, grad: Tensor, create_graph: bool) -> Tensor:
    """Run the hooks of one of a node's outputs and keep its retained grad (unless the output
    was changed in place since: then they belong to its newer node)."""
    if out is not None and out.grad_fn is fn:
        if out._hooks:
            grad = _run_hooks(out, grad)
        if out._retains_grad:
            _retain(out, grad, create_graph)
    return grad


def _watched_backward(fn: Function, grad: Tensor | list) -> Any:
    """The node's backward with what several GPUs, the profiler or anomaly mode need around
    it: its gradient's GPU as the current one, timing, a check for NaN."""
    _state.in_backward += 1
    try:
        on = grad if type(grad) is not list else next(g for g in grad if g is not None)
        with backend.device_scope(on.array):
            if _state.observers:
                in_grads = _observed_backward(fn, grad)
            else:
                in_grads = _run_backward(fn, grad)
    finally:
        _state.in_backward -= 1
    if _state.anomaly:
        for g in in_grads if type(in_grads) is tuple else (in_grads,):
            if g is not None:
                _check_finite(type(fn).__name__, "backward", g.array,
                              getattr(fn, "_trace", None))
    return in_grads


def _observed_backward(fn: Function, grad: Tensor) -> Any:
    import time

    start = time.perf_counter()
    in_grads = _run_backward(fn, grad)
    end = time.perf_counter()
    grads = in_grads if isinstance(in_grads, tuple) else (in_grads,)
    first = next((g for g in grads if g is not None), None)  # what the profiler measures
    for observer in _state.observers:
        observer(type(fn).__name__, "backward", start, end, None if first is None else first.array)
    return in_grads


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
    captured: dict[int, Tensor | None] = {id(t): None for t in inputs}
    run_backward(outputs, root_grads, retain_graph, create_graph, capture=captured)
    result = []
    for i, t in enumerate(inputs):
        g = captured.get(id(t))
        if g is None and not allow_unused:
            raise RuntimeError(f"autograd.grad: input {i} (shape {tuple(t.shape)}) was not used "
                               "to compute the outputs; pass allow_unused=True to get None")
        if g is not None and not create_graph:
            g = g.detach()
        result.append(g)
    return tuple(result)


def _root_grad(out: Tensor, gradient: Any, where: str, create_graph: bool = True) -> Tensor:
    """The gradient backward starts from: ones for a scalar output, else `gradient` (checked;
    detached unless create_graph)."""
    if gradient is None and out.array.size == 1:  # d(out)/d(out) = 1
        with backend.device_scope(out.array):
            return Tensor._make(backend.get_array_module(out.array).ones_like(out.array))
    if gradient is None:
        raise RuntimeError(f"{where}: grad can be implicitly created only for scalar "
                           f"outputs; this output has shape {tuple(out.shape)}, pass a "
                           "`gradient` of that shape")
    if not isinstance(gradient, Tensor):
        gradient = Tensor(gradient, dtype=out.dtype, device=out.device)
    if gradient.shape != out.shape:
        raise RuntimeError(f"{where}: gradient has shape {tuple(gradient.shape)} but the output "
                           f"has shape {tuple(out.shape)}")
    if gradient.device != out.device:
        raise RuntimeError(f"{where}: gradient is on {gradient.device} but the output is on "
                           f"{out.device}")
    return gradient if create_graph else gradient.detach()


def backward(tensor: Tensor, gradient: Tensor | None = None, retain_graph: bool | None = None,
             create_graph: bool = False) -> None:
    """Accumulate d(tensor)/d(leaf) into every leaf's .grad (what `Tensor.backward` calls)."""
    if not tensor._requires_grad:
        raise RuntimeError("backward: this tensor does not require grad and has no grad_fn "
                           "(did you compute it under no_grad, or forget requires_grad=True?)")
    root = _root_grad(tensor, gradient, "backward", create_graph)
    keep = create_graph if retain_graph is None else retain_graph  # (PyTorch's default)
    run_backward([tensor], [root], keep, create_graph)


# ---------------------------------------------------------------------------------------------
# Anomaly detection
# ---------------------------------------------------------------------------------------------
class AnomalyError(RuntimeError):
    """Raised by detect_anomaly() when an op produces NaN or Inf."""


@backend.on_device_of_args  # (on the GPU of `data`)
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


def Variable(data: Tensor, requires_grad: bool = False, volatile: bool = False) -> Tensor:  # noqa: N802
    """Deprecated, as in PyTorch: Variables and Tensors are one thing now, so `Variable(t,
    requires_grad=True)` is a new tensor sharing t's memory (`t.detach().requires_grad_()`).
    Write `t.requires_grad_()` or `tg.tensor(..., requires_grad=True)` in new code."""
    if not isinstance(data, Tensor):
        raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
    return data.detach().requires_grad_(requires_grad)


# The one import of the library that runs upward (DESIGN.md, "Layers"): the engine makes
# Tensors, and tensor.py, which builds on this package, defines them. tinygrad_edu/__init__.py
# imports this package before anything else that needs tensor.py, so when this line runs every
# name above exists, and tensor.py (with the ops it imports) can import them from here.
from ..tensor import Tensor, stack  # noqa: E402

# built on the engine and Tensor (the same layer: they import only from here)
from . import functional  # noqa: E402
from .gradcheck import GradcheckError, gradcheck, gradgradcheck  # noqa: E402
