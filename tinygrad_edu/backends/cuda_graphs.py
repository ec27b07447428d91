"""CUDA graphs: capture a step's GPU work once, replay it with one launch (as torch.cuda.graphs).

A training step of a small model is bound by Python issuing kernels one by one. A CUDA graph
records the kernels of one step while a stream *captures*, and replays all of them with one
call. The recipe of PyTorch's "whole network capture" runs unchanged::

    s = tg.cuda.Stream()
    s.wait_stream(tg.cuda.current_stream())
    with tg.cuda.stream(s):                       # warm up on a side stream
        for _ in range(3):
            optimizer.zero_grad(set_to_none=True)
            loss_fn(model(static_input), static_target).backward()
            optimizer.step()
    tg.cuda.current_stream().wait_stream(s)

    g = tg.cuda.CUDAGraph()
    optimizer.zero_grad(set_to_none=True)
    with tg.cuda.graph(g):                        # record (on a GPU nothing runs here)
        static_loss = loss_fn(model(static_input), static_target)
        static_loss.backward()
        optimizer.step()

    for x, y in batches:
        static_input.copy_(x)                     # new data into the captured input buffers
        static_target.copy_(y)
        g.replay()                                # the whole step: forward, backward, update

A replay reads the *same* buffers and writes the *same* buffers as the capture did: inputs must
be copied into the tensors used during capture, results read from the tensors made there.
Everything allocated during the capture comes from a memory pool that the graph keeps
(CuPy: a `cupy.cuda.MemoryPool` set as CuPy's allocator for the capture), so those buffers stay
the graph's; tensors made before the capture (the parameters, the static inputs) must stay
alive, with the same memory (changed in place only), as long as the graph is replayed. The
graph itself holds the shared device constants its work reads (a Python number in `x * 2.0`
becomes one, `backend.device_constant`), which their cache may let go after the capture.

What cannot be captured: anything that reads a value back from the GPU (`.item()`, `float()`,
printing, `bool()` of a tensor, boolean masks, anomaly detection's checks) or copies host data
to it (`tg.tensor(...)`, a NumPy array or a Python number made into a GPU tensor, a device
constant used for the first time: run the code once before capturing it) while the capture
runs. Such code raises a RuntimeError saying that the capture was broken, and by what. An
optimizer that has a `capturable` option refuses to step in a capture without it. Nor does
a replay repeat what the captured code did on the host (a Python counter, a tensor given new
memory, `p.data = ...`): only its GPU work. `tg.compile` (tinygrad_edu/cuda_capture.py)
checks all of this for a whole step and runs it eagerly, with a warning, where it finds
one.

Python numbers are baked into the graph: a learning rate given as a float is the captured
step's at every replay. To change it between replays, give the optimizer a learning rate that
is a Tensor on the GPU (`lr=tg.tensor(0.01, device="cuda")`): the update reads it on the
device, and the schedulers fill it in place, as PyTorch's do. The optimizers with PyTorch's
`capturable` option (Adam, AdamW, NAdam, RAdam, Adamax, RMSprop, Adadelta, Rprop, ASGD) count
their steps on the CPU unless `capturable=True`; stepping one that is not capturable while a
graph captures raises PyTorch's error. With `capturable=True` the step count and what is
computed from it (Adam's bias corrections, ASGD's eta and mu) live on the device, so every
replay counts on.

Differences from PyTorch: the pool handle is an opaque object (PyTorch's is a tuple of two
ints); `capture_error_mode` is checked but the capture always runs in CUDA's "relaxed" mode,
CuPy's default, because CuPy's memory pool may call cudaMalloc during the capture.
"""

from __future__ import annotations

import traceback
from pathlib import Path
from types import TracebackType
from typing import Any

from .. import backend

__all__ = ["CUDAGraph", "graph", "graph_pool_handle", "Stream", "StreamContext", "stream",
           "current_stream", "is_current_stream_capturing"]

_PACKAGE = Path(__file__).resolve().parent.parent  # tinygrad_edu/
_CAPTURING_MODULES = ("cuda_graphs.py", "cuda_capture.py")  # (not where a capture breaks)
_ERROR_MODES = ("global", "thread_local", "relaxed")


def _cupy(what: str) -> Any:
    """CuPy, or a RuntimeError naming `what` needs it and why it is missing."""
    cupy, reason = backend._import_cupy()
    if cupy is None:
        raise RuntimeError(f"{what} needs CUDA, which is not available: {reason}")
    return backend.cupy_or_raise()


# ---------------------------------------------------------------------------------------------
# Streams
# ---------------------------------------------------------------------------------------------
class Stream:
    """torch.cuda.Stream: a queue of GPU work (a non-blocking CuPy stream on `device`)."""

    def __init__(self, device: backend.Device | str | int | None = None, priority: int = 0,
                 *, _raw: Any = None) -> None:
        cupy = _cupy("tg.cuda.Stream")
        self.device = _cuda_device(device)
        self.priority = priority
        if _raw is None:
            with cupy.cuda.Device(self.device.index):
                _raw = cupy.cuda.Stream(non_blocking=True)
        self.cupy_stream = _raw

    def wait_stream(self, stream: Stream) -> None:
        """Make the work queued on this stream from now on wait for the work queued so far
        on `stream`."""
        self.cupy_stream.wait_event(stream.cupy_stream.record())

    def synchronize(self) -> None:
        """Wait (on the host) for the work queued on this stream."""
        self.cupy_stream.synchronize()

    def query(self) -> bool:
        """Whether all work queued on this stream is done."""
        return bool(self.cupy_stream.done)

    @property
    def cuda_stream(self) -> int:
        """The CUDA stream's handle (cudaStream_t) as an int."""
        return int(self.cupy_stream.ptr)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Stream) and other.cupy_stream is self.cupy_stream

    def __hash__(self) -> int:
        return id(self.cupy_stream)

    def __repr__(self) -> str:
        return f"<tg.cuda.Stream device={self.device} cuda_stream={self.cupy_stream.ptr:#x}>"


def _cuda_device(device: backend.Device | str | int | None) -> backend.Device:
    if device is None:
        return backend.Device("cuda", int(_cupy("tg.cuda").cuda.runtime.getDevice()))
    if isinstance(device, int):
        return backend.Device("cuda", device)
    device = backend.Device(device)
    if device.type != "cuda":
        raise ValueError(f"tg.cuda.Stream: expected a CUDA device, got {device}")
    return device


class StreamContext:
    """torch.cuda.StreamContext: `with` it, `stream` is the current stream (None: no change)."""

    def __init__(self, stream: Stream | None) -> None:
        self.stream = stream

    def __enter__(self) -> Stream | None:
        if self.stream is not None:
            self.stream.cupy_stream.__enter__()
        return self.stream

    def __exit__(self, *exc: Any) -> None:
        if self.stream is not None:
            self.stream.cupy_stream.__exit__(*exc)


def stream(stream: Stream | None) -> StreamContext:
    """torch.cuda.stream: a context manager that makes `stream` the current stream."""
    return StreamContext(stream)


def current_stream(device: backend.Device | str | int | None = None) -> Stream:
    """torch.cuda.current_stream: the stream that GPU work goes to now."""
    cupy = _cupy("tg.cuda.current_stream")
    return Stream(device, _raw=cupy.cuda.get_current_stream())


def is_current_stream_capturing() -> bool:
    """torch.cuda.is_current_stream_capturing: whether the current stream is capturing a graph
    (False where CUDA is not available)."""
    cupy, _ = backend._import_cupy()
    return cupy is not None and bool(cupy.cuda.get_current_stream().is_capturing())


# ---------------------------------------------------------------------------------------------
# Graphs
# ---------------------------------------------------------------------------------------------
class _PoolHandle:
    """The memory pool of one or more graphs (what graph_pool_handle() and CUDAGraph.pool()
    give): a CuPy MemoryPool, set as CuPy's allocator while a graph that uses it captures."""

    def __init__(self, cupy: Any) -> None:
        self.memory_pool = cupy.cuda.MemoryPool()

    def __repr__(self) -> str:
        return f"<tg.cuda graph memory pool {id(self):#x}>"


def graph_pool_handle() -> _PoolHandle:
    """torch.cuda.graph_pool_handle: a new memory pool that several graphs may share (pass it
    as `pool=` to each capture)."""
    return _PoolHandle(_cupy("tg.cuda.graph_pool_handle"))


def _breaks_capture(error: BaseException, cupy: Any) -> bool:
    """Whether `error` is CUDA's refusal of an operation during a stream capture."""
    error_class = getattr(cupy.cuda.runtime, "CUDARuntimeError", None)
    return (isinstance(error, error_class) if isinstance(error_class, type)
            else type(error).__name__ == "CUDARuntimeError") and "StreamCapture" in str(error)


def _culprit(tb: TracebackType | None) -> str:
    """Where in the library (and from where in the caller's code) an error came from."""
    frames = traceback.extract_tb(tb)
    inside = [f for f in frames if Path(f.filename).resolve().is_relative_to(_PACKAGE)
              and Path(f.filename).name not in _CAPTURING_MODULES]
    outside = [f for f in frames if not Path(f.filename).resolve().is_relative_to(_PACKAGE)]
    parts = []
    if inside:  # where the library was entered and the innermost place, where it broke
        parts.append(" -> ".join(
            f"{f.name} ({Path(f.filename).relative_to(_PACKAGE.parent)}:{f.lineno}"
            f"{': ' + f.line if f.line else ''})"
            for f in (inside[:1] if len(inside) == 1 else (inside[0], inside[-1]))))
    if outside:
        f = outside[0]
        parts.append(f"called from {Path(f.filename).name}:{f.lineno}"
                     f"{': ' + f.line if f.line else ''}")
    return ", ".join(parts) or "unknown code"


def _broken(error: BaseException, tb: TracebackType | None) -> RuntimeError:
    return RuntimeError(
        f"CUDA graph capture was broken by {_culprit(tb)}: {error}. While a graph captures, "
        "nothing may read a value back from the GPU (.item(), float(), print, bool() of a "
        "tensor, boolean masks) or copy host data to it (a tensor made from Python or NumPy "
        "data); do that before or after the capture")


class CUDAGraph:
    """torch.cuda.CUDAGraph: GPU work captured once, replayed with `replay()`.

    `capture_begin()` ... `capture_end()` (or `with tg.cuda.graph(g):`) record the work that
    the current stream, which must not be the default stream, receives in between.
    `keep_graph` and `check_input_liveness` are accepted for PyTorch's signature: the graph
    is ready to replay after capture_end, and the liveness of inputs is not tracked (the
    emulated CuPy of the tests raises on a replay that uses freed memory).
    """

    def __init__(self, keep_graph: bool = False) -> None:
        self.keep_graph = keep_graph
        self._graph: Any = None
        self._pool: _PoolHandle | None = None
        self._capturing: Any = None  # (CuPy stream, allocator before) during a capture
        # the device constants (backend.device_constant) that the captured work reads: held
        # here, since the constants' cache may let them go while the graph still replays
        self._constants: dict[int, Any] = {}

    def capture_begin(self, pool: _PoolHandle | None = None, capture_error_mode: str = "global",
                      check_input_liveness: bool = False) -> None:
        """Start capturing the work of the current stream; memory allocated until
        capture_end comes from `pool` (a graph_pool_handle(), another graph's pool()), else
        from a new pool of this graph."""
        cupy = _cupy("CUDAGraph.capture_begin")
        if capture_error_mode not in _ERROR_MODES:
            raise ValueError(f"CUDAGraph.capture_begin: capture_error_mode must be one of "
                             f"{_ERROR_MODES}, got {capture_error_mode!r}")
        if pool is not None and not isinstance(pool, _PoolHandle):
            raise TypeError("CUDAGraph.capture_begin: pool must come from "
                            f"tg.cuda.graph_pool_handle() or CUDAGraph.pool(), got {pool!r}")
        if self._graph is not None or self._capturing is not None:
            raise RuntimeError("CUDAGraph.capture_begin: this graph has already been captured; "
                               "call reset() before capturing again")
        raw = cupy.cuda.get_current_stream()
        if raw.ptr == 0 or raw is cupy.cuda.Stream.null:
            raise RuntimeError("CUDA graphs must be captured on a non-default stream. (However, "
                               "after capture, it's ok to replay them on the default stream.)")
        self._pool = pool if pool is not None else _PoolHandle(cupy)
        previous = cupy.cuda.get_allocator()
        cupy.cuda.set_allocator(self._pool.memory_pool.malloc)
        try:
            raw.begin_capture()
        except BaseException:
            cupy.cuda.set_allocator(previous)
            raise
        self._capturing = (raw, previous)
        self._constants = {}
        backend.constants_of_captures.append(self._constants)

    def capture_end(self) -> None:
        """End the capture begun by capture_begin (on the same stream)."""
        cupy = _cupy("CUDAGraph.capture_end")
        if self._capturing is None:
            raise RuntimeError("CUDAGraph.capture_end: no capture in progress "
                               "(call capture_begin first)")
        raw, previous = self._capturing
        self._capturing = None
        backend.constants_of_captures[:] = [  # (this capture's, found by identity)
            kept for kept in backend.constants_of_captures if kept is not self._constants]
        try:
            self._graph = raw.end_capture()
        except Exception as error:
            if _breaks_capture(error, cupy):
                raise RuntimeError(f"CUDA graph capture was broken during the capture: {error}"
                                   ) from error
            raise
        finally:
            cupy.cuda.set_allocator(previous)

    def replay(self) -> None:
        """Run the captured work again, on the current stream."""
        if self._graph is None:
            raise RuntimeError("CUDAGraph.replay: nothing has been captured (capture with "
                               "tg.cuda.graph(g) or capture_begin / capture_end first)")
        cupy = _cupy("CUDAGraph.replay")
        self._graph.launch(stream=cupy.cuda.get_current_stream())

    def instantiate(self) -> None:
        """Make the captured graph ready to replay (done by capture_end here)."""
        if self._graph is None:
            raise RuntimeError("CUDAGraph.instantiate: nothing has been captured")

    def reset(self) -> None:
        """Forget the captured work and this graph's hold on its memory pool."""
        if self._capturing is not None:
            raise RuntimeError("CUDAGraph.reset: cannot reset during a capture")
        self._graph = None
        self._pool = None
        self._constants = {}

    def pool(self) -> _PoolHandle:
        """The memory pool of this graph (after capture_begin), to share with other graphs."""
        if self._pool is None:
            raise RuntimeError("CUDAGraph.pool: the graph has no pool before capture_begin")
        return self._pool

    def __repr__(self) -> str:
        state = "capturing" if self._capturing else "captured" if self._graph else "empty"
        return f"<tg.cuda.CUDAGraph ({state})>"


class graph:  # noqa: N801 - PyTorch's name
    """torch.cuda.graph: `with tg.cuda.graph(g):` captures the block's GPU work into `g`.

    The block runs with `stream` (else a side stream shared by all captures) as the current
    stream; memory allocated in it comes from `pool` (else a new pool of `g`). An error that
    breaks the capture (a host read, a host-to-device copy) comes out as a RuntimeError that
    says so and where it happened.
    """

    default_capture_stream: Stream | None = None

    def __init__(self, cuda_graph: CUDAGraph, pool: _PoolHandle | None = None,
                 stream: Stream | None = None, capture_error_mode: str = "global",
                 enable_annotations: bool = False, check_input_liveness: bool = False) -> None:
        if enable_annotations:
            raise NotImplementedError("tg.cuda.graph: enable_annotations (kernel annotations "
                                      "through cuda.bindings) is not supported")
        if not isinstance(cuda_graph, CUDAGraph):
            raise TypeError(f"tg.cuda.graph: expected a tg.cuda.CUDAGraph, got "
                            f"{type(cuda_graph).__name__}")
        if stream is None and graph.default_capture_stream is None:
            graph.default_capture_stream = Stream()
        self.cuda_graph = cuda_graph
        self.pool = pool
        self.capture_stream = stream if stream is not None else graph.default_capture_stream
        self.stream_ctx = StreamContext(self.capture_stream)
        self.capture_error_mode = capture_error_mode

    def __enter__(self) -> None:
        backend.cuda.synchronize(self.capture_stream.device)
        self.stream_ctx.__enter__()
        try:
            self.cuda_graph.capture_begin(self.pool, capture_error_mode=self.capture_error_mode)
        except BaseException:
            self.stream_ctx.__exit__(None, None, None)
            raise

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            try:
                self.cuda_graph.capture_end()
            except RuntimeError:
                if exc is None:
                    raise
                # else the capture was invalidated by `exc`, reported below
        finally:
            self.stream_ctx.__exit__(exc_type, exc, tb)
        if exc is not None and _breaks_capture(exc, _cupy("tg.cuda.graph")):
            raise _broken(exc, tb) from exc

