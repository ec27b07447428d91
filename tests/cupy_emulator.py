"""An emulated CuPy on NumPy: runs the "cuda" half of the test suite on a machine without a GPU.

It is not a GPU and proves nothing about speed. It checks the rules that real CuPy enforces
and that code written with NumPy in mind breaks most often:

* device arrays are their own type, `cupy.ndarray`, not NumPy arrays;
* converting one to NumPy implicitly raises CuPy's TypeError (`np.asarray(x)`, `np.array(x)`,
  indexing a NumPy array with it, `np.lib.stride_tricks`, `np.add.at` ...), and so does any
  NumPy function called on it: code must ask the backend for `xp` instead;
* a NumPy array is refused as an operand of a device op, as CuPy refuses it; it is accepted
  only where CuPy accepts host data (`asarray`, `array`, indices, `x[:] = host`);
* out-of-bounds integer-array indices wrap around, as CuPy's do, instead of raising (in
  indexing, assignment and the scatter functions);
* only the names that CuPy 14.2 has exist (`cupy_api.json`, recorded from the real package),
  and they take only the arguments that CuPy's take (its "signatures", recorded by
  record_cupy_signatures.py: no `initial=` for `ndarray.max`, no `where=` for ufuncs...);
  reductions and scalar indexing give 0-d device arrays, not NumPy scalars; CuPy's random
  `Generator` has only CuPy's methods;
* device work is counted by name in `launches` (a proxy for GPU kernel launches, which bound
  the speed of small models on a GPU);
* every device-to-host transfer (`get`, `asnumpy`, `item`, `float`, `bool`, printing, boolean
  masks, `nonzero`) is counted in `transfers()`, and raises `cupyx.DeviceSynchronized` inside
  `with cupyx.allow_synchronize(False)`, as real CuPy does;
* several GPUs (CUPY_EMULATOR_DEVICES, 2 unless set): an array lives on the device that was
  current when it was made (`with cupy.cuda.Device(n):`), and a kernel given an array from
  another device raises CuPy's ValueError, as CuPy does between GPUs without peer access.
  Views keep their array's device; `ndarray.copy` / `cupy.copy` copy across devices.

* CUDA streams and graph capture (`cupy.cuda.Stream`, `begin_capture` / `end_capture`,
  `cupy.cuda.graph.Graph.launch`), see "Streams, graphs and memory pools" below: while a
  stream captures, every piece of device work is recorded (what it computes, on which
  buffers) and ALSO executed at once, so that Python code running during the capture sees
  plausible values, as after a warm-up; `end_capture` then puts back the contents of every
  buffer that existed before the capture and was written during it (and the state of the
  random generators drawn from), so that afterwards the device memory is as a real capture
  (which executes nothing) leaves it, except that the memory allocated during the capture
  holds the values computed (a GPU's holds garbage until the first replay). Work on another
  stream than the capturing one runs, uncaptured, as in CUDA's relaxed mode. `Graph.launch()`
  re-runs the recorded work in order, each piece reading the CURRENT contents of its inputs
  and writing into the SAME buffers as during the capture. A host read (anything that
  synchronizes) or a host-to-device copy during a capture raises CUDA's
  cudaErrorStreamCaptureUnsupported and invalidates the capture; a replay that would touch a
  buffer freed since the capture raises cudaErrorIllegalAddress (on a GPU it would read or
  write memory that is no longer the graph's); `cupy.cuda.MemoryPool` set as the allocator
  (`cupy.cuda.set_allocator(pool.malloc)`) keeps what is allocated meanwhile until its
  `free_all_blocks()`, as a graph's private pool.

`ElementwiseKernel` runs bodies written in a small subset of C (see _statements) on whole
NumPy arrays; other CUDA C kernels (RawKernel, ReductionKernel) cannot run here and raise
NotImplementedError. `cupy.fuse` runs the Python function unfused.

Use: `TINYGRAD_EDU_EMULATE_CUDA=1 python -m pytest` (see tests/conftest.py), or `install()`
before tinygrad_edu first asks for CuPy.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import json
import math
import operator
import os
import re
import sys
import types
import warnings
import weakref
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
from numpy.lib import stride_tricks as _np_stride_tricks

API: dict[str, list[str]] = json.loads(Path(__file__).with_name("cupy_api.json").read_text())
_CUPY_NAMES = set(API["cupy"])
_NDARRAY_NAMES = set(API["ndarray"])

SIGNATURES: dict[str, str] = API["signatures"]


@functools.lru_cache(maxsize=None)
def _parameters(key: str) -> tuple[int, frozenset[str], bool, bool] | None:
    """From CuPy's recorded signature of `key` ("cupy.clip"): how many arguments it takes by
    position, the names it takes as keywords, and whether it has *args and **kwargs."""
    if key not in SIGNATURES:
        return None
    words = SIGNATURES[key].split(", ") if SIGNATURES[key] else []
    slash = words.index("/") if "/" in words else -1  # the names before it: by position only
    positional, keywords, var_positional, var_keyword = 0, set(), False, False
    keyword_only = False  # after * or *args
    for index, word in enumerate(words):
        if word == "/":
            continue
        if word.startswith("**"):
            var_keyword = True
        elif word.startswith("*"):
            var_positional = var_positional or word != "*"
            keyword_only = True
        else:
            positional += not keyword_only
            if index > slash:
                keywords.add(word)
    return positional, frozenset(keywords), var_positional, var_keyword


def _check_arguments(key: str, args: tuple, kwargs: dict) -> None:
    """Raise CuPy's TypeError for arguments that CuPy's `key` does not take (NumPy may)."""
    params = _parameters(key)
    if params is None:
        return
    positional, keywords, var_positional, var_keyword = params
    if len(args) > positional and not var_positional:
        raise TypeError(f"{key}() takes at most {positional} positional arguments "
                        f"({len(args)} given)")
    for name in kwargs:
        if name not in keywords and not var_keyword:
            raise TypeError(f"{key}() got an unexpected keyword argument {name!r}")


IMPLICIT_CONVERSION = ("Implicit conversion to a NumPy array is not allowed. "
                       "Please use `.get()` to construct a NumPy array explicitly.")


# ---------------------------------------------------------------------------------------------
# Transfers (device -> host synchronisations)
# ---------------------------------------------------------------------------------------------
class DeviceSynchronized(RuntimeError):
    """Raised on a device synchronisation inside `cupyx.allow_synchronize(False)`."""


_sync = {"count": 0, "allowed": True}
# device work by name: a proxy for the GPU kernels a program launches. Views (reshape,
# transpose, basic slicing ...) launch nothing and are not counted.
launches: collections.Counter[str] = collections.Counter()
_VIEWS = frozenset({"reshape", "transpose", "view", "squeeze", "expand_dims", "broadcast_to",
                    "as_strided", "swapaxes", "moveaxis", "atleast_1d", "atleast_2d",
                    "result_type", "shape", "ndim", "size", "can_cast", "dtype", "empty",
                    "empty_like"})  # (allocation launches no kernel either)


# a copy from host memory (cupy.asarray of a number, list or NumPy array): not a kernel, but a
# memcpy that costs more than a launch, and from pageable memory may wait for the GPU
HOST_TO_DEVICE = "host-to-device copy"


def _launch(name: str) -> None:
    if name not in _VIEWS:
        launches[name] += 1


def transfers() -> int:
    """How many device-to-host transfers (synchronisations) have happened so far."""
    return _sync["count"]


def _synchronize(what: str) -> None:
    if _capturing:
        _capture_error(what)
    if not _sync["allowed"]:
        raise DeviceSynchronized(f"synchronization ({what}) inside cupyx.allow_synchronize(False)")
    _sync["count"] += 1


@contextlib.contextmanager
def allow_synchronize(allow: bool) -> Iterator[None]:
    warnings.warn("cupyx.allow_synchronize will be removed in future releases as it is not "
                  "possible to reliably detect synchronizations.")  # (CuPy 14 says so too)
    previous = _sync["allowed"]
    _sync["allowed"] = allow
    try:
        yield
    finally:
        _sync["allowed"] = previous


# ---------------------------------------------------------------------------------------------
# Streams, graphs and memory pools
# ---------------------------------------------------------------------------------------------
# A capture records each piece of device work as a _Launch: a NumPy function and its
# arguments, where every buffer is a _Buffer (the place in memory, held weakly: the graph
# does not keep its buffers alive, as a CUDA graph does not). The work also runs at once (see
# the module docstring); `end_capture` undoes its writes to the buffers that existed before.
class CUDARuntimeError(RuntimeError):
    """cupy_backends.cuda.api.runtime.CUDARuntimeError: a CUDA call failed (the message
    starts with the CUDA error's name)."""


CAPTURE_UNSUPPORTED = ("cudaErrorStreamCaptureUnsupported: operation not permitted when "
                       "stream is capturing")
CAPTURE_INVALIDATED = ("cudaErrorStreamCaptureInvalidated: operation failed due to a previous "
                       "error during capture")
ILLEGAL_ADDRESS = "cudaErrorIllegalAddress: an illegal memory access was encountered"

_capturing: list[_Capture] = []  # the captures in progress (CUDA allows one per stream)
_watch_allocations = False  # whether _wrap must tell _allocated about new buffers
_pools: list[MemoryPool] = []  # the pool set as allocator, if any (last)


def _capture_error(what: str) -> None:
    """Raise CUDA's error for `what` (a synchronization, a host-to-device copy) during a
    capture, which invalidates the capture (its end_capture raises)."""
    for capture in _capturing:
        capture.invalid = capture.invalid or what
    raise CUDARuntimeError(f"{CAPTURE_UNSUPPORTED} ({what})")


def _current_capture() -> _Capture | None:
    """The capture that the work launched now goes into: the current stream's (None when the
    work runs on a stream that does not capture)."""
    stream = _streams[-1]
    for capture in _capturing:
        if capture.stream is stream:
            return capture
    if stream is Stream.null and any(not c.stream.non_blocking for c in _capturing):
        # the legacy default stream waits for every blocking stream, the capturing one too
        _capture_error("work on the legacy default stream")
    return None


def _root(a: np.ndarray) -> Any:
    """The array that owns the memory of `a` (a view's base, followed down, also through
    the objects that as_strided and _Interface make views of)."""
    while True:
        base = a.base
        if not isinstance(base, np.ndarray):
            base = getattr(base, "base", None)
            if not isinstance(base, np.ndarray):
                return a
        a = base


class _Alive:
    """Holds a buffer of foreign memory (a NumPy base that is not an array): never freed."""

    def __init__(self, root: Any) -> None:
        self.root = root

    def __call__(self) -> Any:
        return self.root


class _Interface:
    """An object exposing a recorded __array_interface__: NumPy rebuilds the view from it."""

    def __init__(self, interface: dict, root: Any) -> None:
        self.__array_interface__ = interface
        self.base = root  # (the rebuilt view keeps its memory alive while it is used)


class _Buffer:
    """Where a captured launch reads or writes: a view's geometry in the memory of `root`,
    which is held weakly (freed memory is found at replay)."""

    __slots__ = ("root", "interface", "what")

    def __init__(self, a: np.ndarray) -> None:
        root = _root(a)
        self.root = _Alive(root) if root.base is not None else weakref.ref(root)
        self.interface = dict(a.__array_interface__)
        self.what = f"{a.dtype}{list(a.shape)}"

    def array(self) -> np.ndarray | None:
        """The view, on the current contents of its memory; None when that was freed."""
        root = self.root()
        return None if root is None else np.asarray(_Interface(self.interface, root))


def _template(value: Any, buffers: list[_Buffer]) -> Any:
    """`value` (arguments of a NumPy function) with each array replaced by its _Buffer's
    number in `buffers`."""
    if isinstance(value, np.ndarray):
        buffers.append(_Buffer(value))
        return _Slot(len(buffers) - 1)
    if isinstance(value, (tuple, list)):
        return type(value)(_template(v, buffers) for v in value)
    if isinstance(value, dict):
        return {k: _template(v, buffers) for k, v in value.items()}
    if isinstance(value, slice):
        return slice(*(_template(v, buffers) for v in (value.start, value.stop, value.step)))
    return value


class _Slot(int):
    """A buffer's number in a _Launch's template."""


def _fill(value: Any, arrays: list[np.ndarray]) -> Any:
    if type(value) is _Slot:
        return arrays[value]
    if isinstance(value, (tuple, list)):
        return type(value)(_fill(v, arrays) for v in value)
    if isinstance(value, dict):
        return {k: _fill(v, arrays) for k, v in value.items()}
    if isinstance(value, slice):
        return slice(*(_fill(v, arrays) for v in (value.start, value.stop, value.step)))
    return value


def _arrays_in(value: Any) -> list[np.ndarray]:
    """The arrays a function returned (one, or a tuple or list of them)."""
    if isinstance(value, np.ndarray):
        return [value]
    if isinstance(value, (tuple, list)):
        return [v for v in value if isinstance(v, np.ndarray)]
    return []


class _Launch:
    """One recorded piece of device work: `function(*args, **kwargs)` on the buffers, its
    results copied into the buffers that it returned during the capture (`outputs`: their
    positions among the returned arrays)."""

    __slots__ = ("name", "function", "args", "kwargs", "buffers", "outputs")

    def __init__(self, name: str, function: Callable, args: tuple, kwargs: dict,
                 result: Any, writes: tuple) -> None:
        self.name, self.function, self.buffers = name, function, []
        self.args = _template(args, self.buffers)
        self.kwargs = _template(kwargs, self.buffers)
        written = {id(w) for w in writes}
        self.outputs = [(i, _template(a, self.buffers))
                        for i, a in enumerate(_arrays_in(result)) if id(a) not in written]

    def run(self, arrays: list[np.ndarray]) -> None:
        result = self.function(*_fill(self.args, arrays), **_fill(self.kwargs, arrays))
        if self.outputs:
            if isinstance(result, np.generic):
                result = np.asarray(result)
            results = _arrays_in(result)
            for index, slot in self.outputs:
                arrays[slot][...] = results[index]


class _Capture:
    """A capture in progress on `stream`."""

    def __init__(self, stream: Stream) -> None:
        self.stream = stream
        self.launches: list[_Launch] = []
        self.invalid = ""  # what invalidated it
        self.saved: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # contents before it
        self.new: dict[int, weakref.ref] = {}  # the memory allocated during it
        self.saved_states: dict[int, tuple[Any, dict]] = {}  # random generators' before it

    def before_writing(self, arrays: Any) -> None:
        """Keep the contents of memory that existed before the capture, before the first
        write to it (end_capture puts them back)."""
        for a in arrays:
            if not isinstance(a, np.ndarray):
                continue
            root = _root(a)
            key = id(root)
            if key in self.saved or (key in self.new and self.new[key]() is root):
                continue
            self.saved[key] = (root, root.copy(order="K"))

    def end(self) -> None:
        for root, contents in self.saved.values():
            np.copyto(root, contents)
        for bit_generator, state in self.saved_states.values():
            bit_generator.state = state
        self.saved.clear()
        self.saved_states.clear()


def _run(name: str, function: Callable, args: tuple, kwargs: dict | None = None,
         writes: tuple = (), view: bool = False) -> Any:
    """`function(*args, **kwargs)`: device work on NumPy buffers (`writes`: those it writes
    in place, besides the arrays it returns; `view`: it may return views of its inputs),
    recorded when the current stream captures."""
    kwargs = kwargs or {}
    capture = _current_capture() if _capturing else None
    if capture is None:
        return function(*args, **kwargs)
    capture.before_writing(writes)
    result = function(*args, **kwargs)
    if isinstance(result, np.generic):  # (kept as the 0-d array that _wrap then holds)
        result = np.asarray(result)
    inputs = {id(_root(a)) for a in _arrays_in(list(args) + list(kwargs.values()))}
    fresh = [root for root in map(_root, _arrays_in(result)) if id(root) not in inputs]
    for root in fresh:  # new memory (also behind a view: a reshape that copies)
        _allocated(root)
    if (view or name in _VIEWS or not _arrays_in(result)) and not writes and not fresh:
        return result  # a view computes nothing (nor does a query: may_share_memory...)
    capture.launches.append(_Launch(name, function, args, kwargs, result, writes))
    return result


def _allocated(a: np.ndarray) -> None:
    """New device memory: the pool set as allocator keeps it, a capture notes it."""
    if _pools:
        _pools[-1]._held[id(a)] = a
    for capture in _capturing:
        capture.new[id(a)] = weakref.ref(a)


def _update_watch() -> None:
    global _watch_allocations
    _watch_allocations = bool(_capturing or _pools)


class Stream:
    """cupy.cuda.Stream: a queue of device work. `with stream:` makes it the current one;
    `begin_capture()` ... `end_capture()` records its work into a `Graph`."""

    null: Stream

    def __init__(self, null: bool = False, non_blocking: bool = False,
                 ptds: bool = False) -> None:
        self.is_null = null or ptds
        self.non_blocking = non_blocking
        self.device_id = -1 if self.is_null else _current[-1]
        self.ptr = 0 if null else id(self)

    def __enter__(self) -> Stream:
        _streams.append(self)
        return self

    def __exit__(self, *exc: Any) -> None:
        _streams.pop()

    def use(self) -> Stream:
        _streams[-1] = self
        return self

    def synchronize(self) -> None:
        _synchronize("Stream.synchronize")

    @property
    def done(self) -> bool:
        if _capturing:
            _capture_error("Stream.done")
        return True

    def record(self, event: Event | None = None) -> Event:
        event = Event() if event is None else event
        return event

    def wait_event(self, event: Event) -> None:
        pass

    def begin_capture(self, mode: int | None = None) -> None:
        if self.is_null:
            raise RuntimeError("cannot capture on the default (legacy) stream")
        if any(c.stream is self for c in _capturing):
            raise CUDARuntimeError("cudaErrorIllegalState: the stream is already capturing")
        _capturing.append(_Capture(self))
        _update_watch()

    def is_capturing(self) -> bool:
        return any(c.stream is self for c in _capturing)

    def end_capture(self) -> Graph:
        capture = next((c for c in _capturing if c.stream is self), None)
        if capture is None:
            raise CUDARuntimeError("cudaErrorIllegalState: the stream is not capturing")
        _capturing.remove(capture)
        _update_watch()
        capture.end()
        if capture.invalid:
            raise CUDARuntimeError(f"{CAPTURE_INVALIDATED} ({capture.invalid})")
        return Graph(capture.launches)

    def __repr__(self) -> str:
        return f"<Stream {self.ptr} (device {self.device_id})>"


Stream.null = Stream(null=True)
Stream.ptds = Stream(ptds=True)  # type: ignore[attr-defined]
_streams: list[Stream] = [Stream.null]  # the current stream, innermost `with stream:` last


def get_current_stream(device_id: int = -1) -> Stream:
    return _streams[-1]


class Event:
    """cupy.cuda.Event (work here is done as soon as it is launched)."""

    def __init__(self, block: bool = False, disable_timing: bool = False,
                 interprocess: bool = False) -> None:
        pass

    def record(self, stream: Stream | None = None) -> None:
        pass

    def synchronize(self) -> None:
        _synchronize("Event.synchronize")

    @property
    def done(self) -> bool:
        return True


class Graph:
    """cupy.cuda.graph.Graph: the work of a capture, run again by `launch()`."""

    def __init__(self, launches: list[_Launch]) -> None:
        self._launches = launches

    def launch(self, stream: Stream | None = None) -> None:
        """Re-run the captured work in order: inputs as they are now, results into the
        buffers of the capture. A buffer freed since the capture raises (a GPU would read
        or write memory that is no longer there: CUDA's illegal address)."""
        if _capturing:
            raise NotImplementedError("the CuPy emulator cannot launch a graph into a capture")
        _launch("cudaGraphLaunch")
        arrays = []
        for number, launch in enumerate(self._launches):
            views = [b.array() for b in launch.buffers]
            for view, buffer in zip(views, launch.buffers):
                if view is None:
                    raise CUDARuntimeError(
                        f"{ILLEGAL_ADDRESS} (graph launch: its work #{number}, "
                        f"{launch.name!r}, uses a buffer ({buffer.what}) freed since the "
                        "capture)")
            arrays.append(views)
        for launch, views in zip(self._launches, arrays):
            launch.run(views)

    def upload(self, stream: Stream | None = None) -> None:
        pass

    def __len__(self) -> int:
        """How many pieces of work it holds (the emulator's; CuPy's Graph has no len)."""
        return len(self._launches)


class MemoryPool:
    """cupy.cuda.MemoryPool: set as allocator (`cupy.cuda.set_allocator(pool.malloc)`) it
    keeps every buffer allocated meanwhile until `free_all_blocks()` releases those that no
    array uses any more, as CuPy's pool keeps freed blocks for reuse (here never reused)."""

    def __init__(self, allocator: Any = None) -> None:
        self._held: dict[int, np.ndarray] = {}  # by id: the memory it holds

    def malloc(self, size: int) -> Any:
        raise NotImplementedError("the CuPy emulator allocates with NumPy; set the pool as "
                                  "allocator with cupy.cuda.set_allocator(pool.malloc)")

    def _in_use(self, a: np.ndarray) -> bool:
        """Whether anything but the pool refers to `a` (an array or a view uses it)."""
        return sys.getrefcount(a) > _POOL_REFS

    def _free_ones(self) -> list[np.ndarray]:
        return [a for a in self._held.values() if not self._in_use(a)]

    def used_bytes(self) -> int:
        return self.total_bytes() - self.free_bytes()

    def total_bytes(self) -> int:
        return sum(a.nbytes for a in self._held.values())

    def free_bytes(self) -> int:
        return sum(a.nbytes for a in self._free_ones())

    def n_free_blocks(self) -> int:
        return len(self._free_ones())

    def free_all_blocks(self, stream: Stream | None = None) -> None:
        for a in self._free_ones():
            del self._held[id(a)]


def _pool_refs() -> int:
    """The references to a buffer that only a pool holds, as _in_use counts them."""
    pool = MemoryPool()
    pool._held[0] = np.empty(0)
    return max(sys.getrefcount(a) for a in pool._held.values() for _ in [pool._in_use(a)]) + 1


_POOL_REFS = 0
_POOL_REFS = _pool_refs()


_allocator: list[Any] = [None]  # the current allocator (None: CuPy's default pool)


def set_allocator(allocator: Any = None) -> None:
    """cupy.cuda.set_allocator: `pool.malloc` of a MemoryPool, or None for the default."""
    owner = getattr(allocator, "__self__", None)
    _allocator[0] = None if owner is _DEFAULT_POOL else allocator
    _pools.clear()
    if isinstance(owner, MemoryPool) and owner is not _DEFAULT_POOL:
        _pools.append(owner)
    _update_watch()


def get_allocator() -> Any:
    return _allocator[0] if _allocator[0] is not None else _DEFAULT_POOL.malloc


@contextlib.contextmanager
def using_allocator(allocator: Any = None) -> Iterator[None]:
    previous = _allocator[0]
    set_allocator(allocator)
    try:
        yield
    finally:
        set_allocator(previous)


_DEFAULT_POOL = MemoryPool()


# ---------------------------------------------------------------------------------------------
# Moving values across the boundary
# ---------------------------------------------------------------------------------------------
def _wrap(value: Any, device: int | None = None) -> Any:
    """NumPy results -> device arrays on `device` (else the current device); NumPy scalars
    become 0-d arrays, as CuPy returns."""
    if isinstance(value, np.ndarray):
        out = object.__new__(ndarray)
        out._a = value
        out._dev = _current[-1] if device is None else device
        if _watch_allocations and value.base is None:
            _allocated(value)
        return out
    if isinstance(value, np.generic):
        return _wrap(np.asarray(value), device)
    if isinstance(value, list):
        return [_wrap(v, device) for v in value]
    if isinstance(value, tuple):  # NumPy's named results (QRResult, ...) become plain tuples
        return tuple(_wrap(v, device) for v in value)
    return value


def _check_device(device: int) -> None:
    """CuPy refuses, in a kernel on the current device, an array that lives on another GPU
    (its _check_peer_access, between GPUs without peer access)."""
    if device != _current[-1]:
        raise ValueError(f"The device where the array resides ({device}) is different from "
                         f"the current device ({_current[-1]}). Peer access is unavailable "
                         "between these devices.")


def _on_current_device(array: ndarray) -> np.ndarray:
    """The buffer of `array`, for a kernel on the current device."""
    _check_device(array._dev)
    return array._a


def _unwrap(value: Any, host_ok: bool = False) -> Any:
    """Device arrays -> their NumPy buffer; a NumPy array is refused unless `host_ok`."""
    if isinstance(value, ndarray):
        return _on_current_device(value)
    if isinstance(value, np.ndarray):
        if host_ok:
            if _capturing:
                _capture_error(HOST_TO_DEVICE)
            return value
        raise TypeError(f"Unsupported type {type(value)}: a NumPy array cannot be an operand "
                        "of a CuPy function (move it to the device with cupy.asarray)")
    if isinstance(value, (tuple, list)):
        return type(value)(_unwrap(v, host_ok) for v in value)
    if isinstance(value, slice):
        return slice(_unwrap(value.start), _unwrap(value.stop), _unwrap(value.step))
    return value


def _key_operands(key: Any) -> Any:
    """The key of an indexing, for a kernel: device index arrays -> their buffers, host index
    arrays and lists -> NumPy arrays (copied to the device by CuPy: refused during a
    capture); None when the key holds no array (basic indexing)."""
    keys = key if isinstance(key, tuple) else (key,)
    if not any(isinstance(k, (ndarray, np.ndarray, list)) for k in keys):
        return None
    out = []
    for k in keys:
        if k is not None and k is not Ellipsis:
            k = _unwrap(k, host_ok=True)
            if isinstance(k, list):
                if _capturing:
                    _capture_error(HOST_TO_DEVICE)
                k = np.asarray(k)
        out.append(k)
    return tuple(out) if isinstance(key, tuple) else out[0]


def _wrap_around(key: Any, shape: tuple[int, ...]) -> Any:
    """CuPy wraps out-of-bounds integer-array indices around instead of raising (see
    "Differences between CuPy and NumPy"); Python int indices are still checked. `key` as
    `_key_operands` gives it (run again at each replay of a captured indexing)."""
    keys = key if isinstance(key, tuple) else (key,)
    out, axis = [], 0
    for position, k in enumerate(keys):
        if k is None:
            out.append(k)
            continue
        if k is Ellipsis:
            axis = len(shape) - sum(1 for rest in keys[position + 1:]
                                    if rest is not None and rest is not Ellipsis)
            out.append(k)
            continue
        if isinstance(k, np.ndarray) and k.dtype == np.bool_:
            axis += k.ndim
        else:
            if isinstance(k, np.ndarray) and k.dtype.kind in "iu" and axis < len(shape):
                k = np.mod(k, shape[axis]) if shape[axis] else k
            axis += 1
        out.append(k)
    return tuple(out) if isinstance(key, tuple) else out[0]


def _wrapped_key(key: Any, shape: tuple[int, ...]) -> Any:
    """`key` ready for NumPy, with CuPy's wrap-around of integer-array indices."""
    operands = _key_operands(key)
    return key if operands is None else _wrap_around(operands, shape)


def _take(a: np.ndarray, key: Any) -> np.ndarray:
    """a[key] for an advanced index (key from _key_operands)."""
    return a[_wrap_around(key, a.shape)]


def _put(a: np.ndarray, key: Any, value: Any, advanced: bool) -> None:
    """a[key] = value (key from _key_operands where `advanced`)."""
    a[_wrap_around(key, a.shape) if advanced else key] = value


def _ufunc_at(np_ufunc: np.ufunc, a: np.ndarray, key: Any, *b: Any) -> None:
    np_ufunc.at(a, _wrap_around(key, a.shape), *b)


def _has_bool_mask(key: Any) -> bool:
    keys = key if isinstance(key, tuple) else (key,)
    return any(isinstance(k, ndarray) and k.dtype == np.bool_ for k in keys)


# GPU rounding: with CUPY_EMULATOR_NOISE=1, the results that a GPU computes differently from
# NumPy (transcendental functions, products and sums in another order, fused multiply-adds
# in kernels) are nudged by one unit in the last place. A test that passes with the noise
# does not depend on the GPU rounding exactly as NumPy does. (Not for CI: the nudges also
# allocate, which tests of memory use would see.)
NOISE = os.environ.get("CUPY_EMULATOR_NOISE") == "1"
_NOISY = frozenset({"exp", "expm1", "log", "log1p", "log2", "log10", "tanh", "sinh", "cosh",
                    "sin", "cos", "tan", "arctan", "power", "sqrt", "matmul", "dot", "tensordot",
                    "einsum", "sum", "mean", "var", "std", "prod", "cumsum", "norm"})


def _nudge(array: Any) -> None:
    """Move each float element of `array` one ulp up or down (in place), except 0, +-1, +-inf
    and NaN, which a GPU's functions give exactly (exp(0), saturated tanh...). Which way
    depends on the value's bits only, so the same computation still gives the same result,
    as on a GPU."""
    if not (isinstance(array, np.ndarray) and array.dtype.kind == "f" and array.size):
        return
    with np.errstate(all="ignore"):  # (a subnormal's neighbour underflows)
        bits = array.view(f"u{array.dtype.itemsize}").astype(np.uint64)
        up = ((bits * np.uint64(2654435761)) >> np.uint64(11)) & np.uint64(1) == 1
        nudged = np.where(up, np.nextafter(array, np.inf), np.nextafter(array, -np.inf))
        exact = (array == 0) | (np.abs(array) == 1) | ~np.isfinite(array)
        array[...] = np.where(exact, array, nudged)


# NumPy functions (and array methods) that write into their first argument
_WRITES_FIRST = frozenset({"copyto", "put", "put_along_axis", "place", "putmask", "fill_diagonal",
                           "shuffle", "sort", "partition", "fill"})


def _noisy(function: Callable) -> Callable:
    """`function` with its results nudged (CUPY_EMULATOR_NOISE), the same way at each replay."""
    def noisy(*args: Any, **kwargs: Any) -> Any:
        result = function(*args, **kwargs)
        if isinstance(result, np.generic):
            result = np.asarray(result)
        _nudge(result)
        return result
    return noisy


def _call(np_func: Callable, args: tuple, kwargs: dict, host_ok: bool = False) -> Any:
    name = getattr(np_func, "__name__", "function")
    _launch(name)
    out = kwargs.get("out")
    args, kwargs = _unwrap(args, host_ok), {k: _unwrap(v, host_ok) for k, v in kwargs.items()}
    if _capturing and name not in ("empty", "empty_like"):  # (new memory, nothing written)
        owner = getattr(np_func, "__self__", None)
        if isinstance(owner, np.ndarray):  # a method of a device array: record it unbound
            np_func, args = getattr(np.ndarray, name), (owner, *args)
        writes = tuple(a for a in (kwargs.get("out"), args[0] if args and name in _WRITES_FIRST
                                   else None) if isinstance(a, np.ndarray))
        result = _run(name, _noisy(np_func) if NOISE and name in _NOISY else np_func, args,
                      kwargs, writes)
    elif NOISE and name in _NOISY:
        result = _noisy(np_func)(*args, **kwargs)
    else:
        result = np_func(*args, **kwargs)
    if isinstance(out, ndarray) and result is out._a:
        return out
    return _wrap(result)


# ---------------------------------------------------------------------------------------------
# cupy.ndarray
# ---------------------------------------------------------------------------------------------
class _DeviceHandle:
    """`cupy.cuda.Device(n)` and what `array.device` gives: a CUDA device with an `id`; as a
    context manager it makes that device the current one."""

    def __init__(self, index: Any = None) -> None:
        self.id = _current[-1] if index is None else int(getattr(index, "id", index))

    def _check(self) -> None:
        if not 0 <= self.id < DEVICE_COUNT:
            raise RuntimeError(f"cudaErrorInvalidDevice: invalid device ordinal {self.id}")

    def synchronize(self) -> None:
        _synchronize("Device.synchronize")

    def use(self) -> None:
        self._check()
        _current[-1] = self.id

    def __enter__(self) -> _DeviceHandle:
        self._check()
        _current.append(self.id)
        return self

    def __exit__(self, *exc: Any) -> None:
        _current.pop()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _DeviceHandle) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def __repr__(self) -> str:
        return f"<CUDA Device {self.id}>"


_VIEW_METHODS = {"reshape", "view", "transpose", "swapaxes", "squeeze", "ravel", "diagonal"}
_ANY_DEVICE_METHODS = {"copy", "item", "tolist", "get"}  # copy: onto the current device
DEVICE_COUNT = int(os.environ.get("CUPY_EMULATOR_DEVICES", "2"))
_current = [0]  # the current device, innermost `with cupy.cuda.Device(n)` last
_SYNCING_METHODS = {"item": "ndarray.item", "tolist": "ndarray.tolist", "nonzero": "nonzero"}


class ndarray:  # noqa: N801 - CuPy's name
    """A device array: a NumPy buffer that refuses to be used as a NumPy array."""

    __slots__ = ("_a", "_dev", "__weakref__")
    __array_priority__ = 100
    __hash__ = None  # type: ignore[assignment]

    def __new__(cls, shape: Any, dtype: Any = float, order: str = "C") -> ndarray:
        return _wrap(np.empty(shape, dtype=dtype, order=order))

    # -- what NumPy must not do with it --------------------------------------------------------
    def __array__(self, *args: Any, **kwargs: Any) -> np.ndarray:
        raise TypeError(IMPLICIT_CONVERSION)

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        # CuPy runs np.<ufunc>(device, scalar) as cupy.<ufunc>: this is how `np.float32(2) * x`
        # works. NumPy arrays among the inputs are refused by _unwrap, as CuPy refuses them.
        if method == "__call__" and ufunc.__name__ in _CUPY_NAMES:
            return _call(ufunc, inputs, kwargs)
        raise TypeError(f"numpy.{ufunc.__name__}.{method} was called on a CuPy array; "
                        f"use cupy's (the backend's xp) instead")

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        raise TypeError(f"numpy.{func.__name__} was called on a CuPy array; use the array "
                        f"module of the data (xp.{func.__name__}) instead")

    # -- attributes and methods ----------------------------------------------------------------
    @property
    def device(self) -> _DeviceHandle:
        return _DeviceHandle(self._dev)

    @property
    def T(self) -> ndarray:  # noqa: N802
        return _wrap(self._a.T, self._dev)

    @property
    def shape(self) -> tuple[int, ...]:
        return self._a.shape

    @shape.setter
    def shape(self, value: Any) -> None:
        self._a.shape = value

    @property
    def dtype(self) -> np.dtype:
        return self._a.dtype

    @property
    def flags(self) -> types.SimpleNamespace:
        """CuPy's flags have these three attributes only (no `writeable`, no `aligned`)."""
        flags = self._a.flags
        return types.SimpleNamespace(c_contiguous=flags.c_contiguous,
                                     f_contiguous=flags.f_contiguous, owndata=flags.owndata)

    @property
    def ndim(self) -> int:
        return self._a.ndim

    @property
    def size(self) -> int:
        return self._a.size

    def get(self, stream: Any = None, order: str = "C", out: Any = None) -> np.ndarray:
        _synchronize("ndarray.get")
        return np.array(self._a, order=order, copy=True)

    def fill(self, value: Any) -> None:
        _launch("fill")  # a zero is written with memset: -0.0 becomes +0.0, as in CuPy
        value = 0 if value == 0 else _unwrap(value, host_ok=True)
        _run("fill", np.ndarray.fill, (self._a, value), writes=(self._a,))

    def set(self, arr: np.ndarray, stream: Any = None) -> None:
        if _capturing:
            _capture_error(HOST_TO_DEVICE)
        _launch(HOST_TO_DEVICE)
        self._a[...] = arr

    def __getattr__(self, name: str) -> Any:
        if name not in _NDARRAY_NAMES or name.startswith("__"):
            raise AttributeError(f"'cupy.ndarray' object has no attribute {name!r}")
        value = getattr(self._a, name)
        if not callable(value):
            return _wrap(value, self._dev) if isinstance(value, np.ndarray) else value
        what = _SYNCING_METHODS.get(name)

        def method(*args: Any, **kwargs: Any) -> Any:
            _check_arguments(f"ndarray.{name}", args, kwargs)
            if what:
                _synchronize(what)
            if name == "astype" and not kwargs.get("copy", True) and (
                    np.dtype(args[0] if args else kwargs["dtype"]) == self._a.dtype):
                return self  # as CuPy: no copy, no kernel
            if name in _VIEW_METHODS:  # no kernel: the view stays on the array's device
                if _capturing:  # (unless it copies: reshape, ravel of a non-contiguous array)
                    return _wrap(_run(name, getattr(np.ndarray, name), (self._a, *args),
                                      kwargs, view=True), self._dev)
                return _wrap(value(*args, **kwargs), self._dev)
            if name not in _ANY_DEVICE_METHODS:
                _on_current_device(self)
            result = _call(value, args, kwargs)
            if name in ("item", "tolist"):
                return result.tolist() if isinstance(result, ndarray) else result
            return result

        return method

    # -- Python protocol -----------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._a)

    def __iter__(self) -> Iterator[ndarray]:
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(len(self)))

    def __getitem__(self, key: Any) -> ndarray:
        if _has_bool_mask(key):
            _synchronize("boolean-mask indexing")
        operands = _key_operands(key)
        if operands is not None:
            _launch("getitem")
            return _wrap(_run("getitem", _take, (_on_current_device(self), operands)))
        return _wrap(self._a[key], self._dev)  # a view (basic indexing): no kernel

    def __setitem__(self, key: Any, value: Any) -> None:
        if _has_bool_mask(key):
            _synchronize("boolean-mask assignment")
        _launch("setitem")
        _on_current_device(self)
        if isinstance(value, np.ndarray) and value.ndim and key != slice(None):
            # CuPy copies a host array in only for `x[:] = host` (cupy/cupy#2079)
            raise ValueError("non-scalar numpy.ndarray cannot be used for fill")
        operands = _key_operands(key)
        _run("setitem", _put, (self._a, key if operands is None else operands,
                               _unwrap(value, host_ok=True), operands is not None),
             writes=(self._a,))

    def __format__(self, spec: str) -> str:
        _synchronize("format(array)")
        return format(self._a[()] if self.ndim == 0 else self._a, spec)

    def __copy__(self) -> ndarray:
        return _wrap(_run("copy", np.copy, (self._a,)), self._dev)

    def __deepcopy__(self, memo: dict) -> ndarray:
        return _wrap(_run("copy", np.copy, (self._a,)), self._dev)

    def __reduce__(self) -> tuple:
        _synchronize("pickle")
        return (_from_host, (np.array(self._a),))

    def __neg__(self) -> ndarray:
        _launch("neg")
        return _wrap(_run("neg", operator.neg, (_on_current_device(self),)))

    def __pos__(self) -> ndarray:
        return _wrap(_run("pos", operator.pos, (_on_current_device(self),)))

    def __abs__(self) -> ndarray:
        _launch("abs")
        return _wrap(_run("abs", operator.abs, (_on_current_device(self),)))

    def __invert__(self) -> ndarray:
        _launch("invert")
        return _wrap(_run("invert", operator.invert, (_on_current_device(self),)))


def _from_host(array: np.ndarray) -> ndarray:
    return _wrap(np.array(array, copy=True))


def _operand(value: Any) -> Any:
    if isinstance(value, ndarray):
        return _on_current_device(value)
    if isinstance(value, (np.generic, int, float, complex, bool)):
        return value
    raise TypeError(f"Unsupported type {type(value)}")


def _binary(fn: Callable) -> Callable:
    def op(self: ndarray, other: Any) -> Any:
        try:
            other = _operand(other)
        except TypeError:
            if isinstance(other, np.ndarray):
                raise
            return NotImplemented
        _launch(fn.__name__)
        return _wrap(_run(fn.__name__, fn, (_on_current_device(self), other)))
    return op


def _reflected(fn: Callable) -> Callable:
    def op(self: ndarray, other: Any) -> Any:
        _launch(fn.__name__)
        return _wrap(_run(fn.__name__, fn, (_operand(other), _on_current_device(self))))
    return op


def _inplace(fn: Callable) -> Callable:
    def op(self: ndarray, other: Any) -> ndarray:
        _launch(fn.__name__)
        a = _on_current_device(self)
        _run(fn.__name__, fn, (a, _operand(other)), writes=(a,))
        return self
    return op


for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or",
              "xor", "lshift", "rshift"):
    _fn = getattr(operator, _name + "_" if _name in ("and", "or") else _name)
    setattr(ndarray, f"__{_name}__", _binary(_fn))
    setattr(ndarray, f"__r{_name}__", _reflected(_fn))
    setattr(ndarray, f"__i{_name}__", _inplace(getattr(operator, f"i{_name}")))
def _read_back(convert: Callable) -> Callable:
    """A conversion to a Python value: it reads the array back from the device (a sync)."""
    def method(self: ndarray) -> Any:
        _synchronize(f"{convert.__name__}(array)")
        return convert(self._a)
    return method


for _convert in (bool, float, int, complex, repr, str):
    setattr(ndarray, f"__{_convert.__name__}__", _read_back(_convert))
for _name in ("lt", "le", "gt", "ge", "eq", "ne"):
    setattr(ndarray, f"__{_name}__", _binary(getattr(operator, _name)))
setattr(ndarray, "__divmod__", _binary(divmod))
ndarray.__module__ = "cupy"


# ---------------------------------------------------------------------------------------------
# ufuncs and module functions
# ---------------------------------------------------------------------------------------------
class ufunc:  # noqa: N801 - CuPy's name
    def __init__(self, np_ufunc: np.ufunc) -> None:
        self._u = np_ufunc
        self.name, self.nin, self.nout, self.nargs = (
            np_ufunc.__name__, np_ufunc.nin, np_ufunc.nout, np_ufunc.nargs)
        self.__name__ = self.name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        for arg in args:
            if isinstance(arg, (list, tuple)):  # CuPy's ufuncs take arrays and scalars only
                raise TypeError(f"Unsupported type {type(arg)}")
        _check_arguments(f"cupy.{self.name}", args, kwargs)
        return _call(self._u, args, kwargs)

    def reduce(self, *args: Any, **kwargs: Any) -> Any:
        return _call(self._u.reduce, args, kwargs)

    def accumulate(self, *args: Any, **kwargs: Any) -> Any:
        return _call(self._u.accumulate, args, kwargs)

    def outer(self, *args: Any, **kwargs: Any) -> Any:
        return _call(self._u.outer, args, kwargs)

    def at(self, a: ndarray, indices: Any, b: Any = None) -> None:
        operands = _key_operands(indices)
        key = indices if operands is None else operands
        _run(f"{self.name}.at", _ufunc_at, (self._u, _unwrap(a), key)
             + (() if b is None else (_unwrap(b),)), writes=(a._a,))


def _function(np_func: Callable, host_ok: bool = False, syncs: str = "", key: str = "") -> Callable:
    def function(*args: Any, **kwargs: Any) -> Any:
        _check_arguments(key, args, kwargs)
        if syncs:
            _synchronize(syncs)
        return _call(np_func, args, kwargs, host_ok)
    function.__name__ = getattr(np_func, "__name__", "function")
    return function


def _module(name: str, names: set[str], source: Any, overrides: dict[str, Any]) -> types.ModuleType:
    """A module whose attributes are `overrides`, else NumPy's `source` ones wrapped, limited
    to the `names` that real CuPy has."""
    module = types.ModuleType(name, f"Emulated {name} (tests/cupy_emulator.py)")
    module.__dict__.update(overrides)

    def __getattr__(attr: str) -> Any:  # noqa: N807 - PEP 562 module attribute hook
        if attr not in names or not hasattr(source, attr):
            raise AttributeError(f"module {name!r} has no attribute {attr!r}"
                                 + ("" if attr not in names else " in the CuPy emulator"))
        value = getattr(source, attr)
        if isinstance(value, np.ufunc):
            value = ufunc(value)
        elif callable(value) and not isinstance(value, type):
            value = _function(value, syncs=_SYNCING_FUNCTIONS.get(attr, ""),
                              key=f"{name.replace('cupy.', '')}.{attr}")
        setattr(module, attr, value)
        return value

    module.__getattr__ = __getattr__  # type: ignore[method-assign]
    return module


_SYNCING_FUNCTIONS = {"nonzero": "nonzero", "argwhere": "argwhere", "flatnonzero": "flatnonzero",
                      "unique": "unique", "extract": "extract", "compress": "compress"}


def asarray(a: Any, dtype: Any = None, order: Any = None, **kwargs: Any) -> ndarray:
    if isinstance(a, ndarray):  # as CuPy: returned as it is, even from another device
        return a if dtype is None or np.dtype(dtype) == a.dtype else a.astype(dtype)
    return _from_host(a, dtype=dtype, order=order or "K")


def array(obj: Any, dtype: Any = None, copy: bool = True, order: str = "K", subok: bool = False,
          ndmin: int = 0, **kwargs: Any) -> ndarray:
    if isinstance(obj, ndarray) and not copy:
        return asarray(obj, dtype)
    if isinstance(obj, ndarray):
        return _wrap(_run("array", np.array, (_unwrap(obj),),
                          {"dtype": dtype, "order": order, "copy": True, "ndmin": ndmin}))
    return _from_host(obj, dtype=dtype, order=order, ndmin=ndmin)


def _from_host(obj: Any, **kwargs: Any) -> ndarray:
    """A copy of a host value on the device. CuPy sets a 0-d array with `fill`, which writes a
    zero with memset: -0.0 arrives as +0.0."""
    if _capturing:
        _capture_error(HOST_TO_DEVICE)
    _launch(HOST_TO_DEVICE)
    a = np.array(_unwrap(obj, host_ok=True), copy=True, **kwargs)
    if a.ndim == 0 and a.dtype.kind in "fc" and a == 0:
        a = np.zeros_like(a)
    return _wrap(a)


def copy(a: ndarray, order: str = "K") -> ndarray:
    """A copy on the current device, from any device (as CuPy copies between GPUs)."""
    _launch("copy")
    return _wrap(_run("copy", np.array, (a._a,), {"order": order, "copy": True}))


def asnumpy(a: Any, stream: Any = None, order: str = "C", out: Any = None, **kwargs: Any) -> Any:
    if isinstance(a, ndarray):
        return a.get(order=order)
    return np.asarray(a, order=order)


def get_array_module(*args: Any) -> types.ModuleType:
    return cupy if any(isinstance(a, ndarray) for a in args) else np


def fuse(*args: Any, **kwargs: Any) -> Any:
    """`@cupy.fuse` or `@cupy.fuse(...)`: here the function runs as it is, unfused."""
    if len(args) == 1 and callable(args[0]) and not kwargs:
        return args[0]
    return lambda fn: fn


class _Kernel:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.name = kwargs.get("name", "kernel")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"the CuPy emulator cannot run the CUDA kernel {self.name!r}")


# ---------------------------------------------------------------------------------------------
# ElementwiseKernel: C statements run on whole NumPy arrays
# ---------------------------------------------------------------------------------------------
# The body is a list of `;`-separated statements, each a declaration (`T d = expr`, also with
# const / float / double / bool / int), or an assignment (`name = expr`, `+=`, `-=`, `*=`,
# `/=`). Expressions: numbers, names, + - * / %, comparisons, && || !, c ? a : b, parentheses
# and the calls in _C_FUNCTIONS; `i` is the element's flat index (integer / and % follow
# NumPy, so use them on non-negative integers only). Anything else (if, loops, casts,
# indexing raw arrays) raises: such a kernel cannot be checked here. Elementwise statements
# run on whole arrays give what the kernel gives element by element, with scalars cast to
# their parameter's type as CUDA casts them.
_C_FUNCTIONS = {"sqrt": np.sqrt, "exp": np.exp, "log": np.log, "tanh": np.tanh,
                "fabs": np.abs, "abs": np.abs, "isnan": np.isnan, "isinf": np.isinf,
                "max": np.maximum, "min": np.minimum, "fmax": np.fmax, "fmin": np.fmin,
                "pow": np.power}
_C_TYPES = {"T", "float", "double", "bool", "int", "long", "const", "float32", "float64",
            "int32", "int64"}
_TOKEN = re.compile(r"\s*(?:(\d+\.\d*(?:[eE][-+]?\d+)?f?|\.\d+(?:[eE][-+]?\d+)?f?"
                    r"|\d+(?:[eE][-+]?\d+)?f?)|([A-Za-z_]\w*)|(\|\||&&|==|!=|<=|>=|[-+*/%<>!?:(),=]))")
_BINARY = {"||": (2, "_or"), "&&": (3, "_and"), "==": (4, "=="), "!=": (4, "!="),
           "<": (5, "<"), "<=": (5, "<="), ">": (5, ">"), ">=": (5, ">="),
           "+": (6, "+"), "-": (6, "-"), "*": (7, "*"), "/": (7, "/"), "%": (7, "%")}


def _tokens(text: str) -> list[str]:
    out, pos, text = [], 0, text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise NotImplementedError(f"kernel body: cannot read {text[pos:]!r}")
        out.append(next(g for g in match.groups() if g is not None))
        pos = match.end()
    return out


class _Expression:
    """A Pratt parser from a C expression to a Python one on NumPy arrays."""

    def __init__(self, tokens: list[str]) -> None:
        self.tokens, self.pos = tokens, 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            raise NotImplementedError(f"kernel body: expected {expected!r}, got {token!r}")
        self.pos += 1
        return token

    def parse(self, min_precedence: int = 0) -> str:
        left = self.unary()
        while True:
            token = self.peek()
            if token == "?" and min_precedence <= 1:
                self.take()
                yes = self.parse(1)
                self.take(":")
                no = self.parse(1)
                left = f"_where({left}, {yes}, {no})"
                continue
            if token not in _BINARY or _BINARY[token][0] < min_precedence:
                return left
            precedence, op = _BINARY[self.take()]
            right = self.parse(precedence + 1)
            left = f"{op}({left}, {right})" if op.startswith("_") else f"({left} {op} {right})"

    def unary(self) -> str:
        token = self.take()
        if token in ("-", "+", "!"):
            operand = self.parse(8)
            return f"_not({operand})" if token == "!" else f"({token}{operand})"
        if token == "(":
            inner = self.parse()
            self.take(")")
            return f"({inner})"
        if token[0].isdigit() or token[0] == ".":
            return token.rstrip("f")
        if self.peek() == "(":
            if token not in _C_FUNCTIONS:
                raise NotImplementedError(f"kernel body: unknown function {token}()")
            self.take("(")
            args = [self.parse()]
            while self.peek() == ",":
                self.take()
                args.append(self.parse())
            self.take(")")
            return f"_f_{token}({', '.join(args)})"
        return token


def _params(spec: str) -> list[tuple[str, str]]:
    """'T g, raw T x, int64 n' -> [(type, name), ...] ('raw' parameters are refused)."""
    out = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        words = part.split()
        if words[0] == "raw" or len(words) != 2:
            raise NotImplementedError(f"kernel parameter {part!r}: only 'TYPE name'")
        out.append((words[0], words[1]))
    return out


def _statements(body: str, outputs: set[str]) -> list[str]:
    code = []
    for statement in filter(None, (s.strip() for s in body.split(";"))):
        tokens = _tokens(statement)
        while tokens and tokens[0] in _C_TYPES and len(tokens) > 2 and tokens[1] != "=":
            tokens = tokens[1:]  # a declaration: drop the type words
        if len(tokens) < 3 or not re.fullmatch(r"[A-Za-z_]\w*", tokens[0]):
            raise NotImplementedError(f"kernel statement {statement!r}")
        name, rest = tokens[0], tokens[1:]
        op = rest[0] + rest[1] if rest[0] in "+-*/" and rest[1] == "=" else rest[0]
        if op not in ("=", "+=", "-=", "*=", "/="):
            raise NotImplementedError(f"kernel statement {statement!r}")
        parser = _Expression(rest[len(op):] if op != "=" else rest[1:])
        value = parser.parse()
        if parser.peek() is not None:
            raise NotImplementedError(f"kernel statement {statement!r}: trailing tokens")
        if op != "=":
            value = f"({name} {op[0]} ({value}))"
        code.append(f"{name}[...] = {value}" if name in outputs else f"{name} = {value}")
        if name in outputs and ("*" in value or "_f_" in value) and NOISE:
            code.append(f"_nudge({name})")  # a multiply-add may be fused, a function differ
    return code


class ElementwiseKernel:
    """cupy.ElementwiseKernel for the C subset above, run with NumPy on whole arrays."""

    def __init__(self, in_params: str, out_params: str, operation: str,
                 name: str = "kernel", **kwargs: Any) -> None:
        self.inputs, self.outputs = _params(in_params), _params(out_params)
        self.name = name
        self.code = compile("\n".join(_statements(operation, {n for _, n in self.outputs})),
                            f"<kernel {name}>", "exec")

    def _decide_types(self, args: tuple) -> dict[str, np.dtype]:
        """CuPy's rules for the types of the parameters: an array (or NumPy scalar) given for a
        typed parameter must have exactly that dtype; all those given for one placeholder (T)
        the same dtype, which Python scalars then take (outputs first, then inputs). A
        placeholder that only Python scalars use is an error (cupy/cupy#2091)."""
        types: dict[str, np.dtype] = {}
        given = list(zip(self.outputs, args[len(self.inputs):])) + list(zip(self.inputs, args))
        for (kind, name), arg in given:
            if not isinstance(arg, (ndarray, np.generic)):
                continue
            if kind[0].islower():
                if arg.dtype != np.dtype(kind):
                    raise TypeError(f"Type is mismatched. {name} {arg.dtype} {kind}")
            elif types.setdefault(kind, arg.dtype) != arg.dtype:
                raise TypeError(f"Type is mismatched. {name} {arg.dtype} {types[kind]} {kind}")
        for kind, _ in self.inputs + self.outputs:
            if not kind[0].islower() and kind not in types:
                raise KeyError(kind)
        return types

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        params = self.inputs + self.outputs
        if not len(self.inputs) <= len(args) <= len(params):
            raise TypeError(f"{self.name}: wrong number of arguments: {len(args)}")
        _launch(self.name)
        types = self._decide_types(args)
        env: dict[str, Any] = {}  # the parameters' values
        arrays = []
        for (kind, name), arg in zip(params, args):
            dtype = np.dtype(kind) if kind[0].islower() else types.get(kind)
            if isinstance(arg, ndarray):
                env[name] = _on_current_device(arg)
                arrays.append(arg._a)
            elif isinstance(arg, np.ndarray):
                raise TypeError(f"{self.name}: Unsupported type {type(arg)}")
            else:
                env[name] = dtype.type(arg) if dtype is not None else arg
        shape = np.broadcast_shapes(*(a.shape for a in arrays)) if arrays else ()
        results = []
        for index, (kind, name) in enumerate(self.outputs, len(self.inputs)):
            if index < len(args):
                results.append(args[index])
            else:
                dtype = np.dtype(kind) if kind[0].islower() else types[kind]
                env[name] = np.empty(shape, dtype=dtype)
                results.append(_wrap(env[name]))
            if not isinstance(results[-1], ndarray):
                raise TypeError("Output arguments must be cupy.ndarray")
        _run(self.name, _run_kernel, (self.code, env, shape),
             writes=tuple(env[name] for _, name in self.outputs))
        return results[0] if len(results) == 1 else tuple(results)


_KERNEL_NAMES = {"_where": np.where, "_or": np.logical_or, "_and": np.logical_and,
                 "_not": np.logical_not, "_nudge": _nudge,
                 **{f"_f_{k}": v for k, v in _C_FUNCTIONS.items()}}


def _run_kernel(code: Any, values: dict[str, Any], shape: tuple[int, ...]) -> None:
    """Run a compiled kernel body on its parameters' `values` (outputs written in place)."""
    env = dict(_KERNEL_NAMES, **values)
    env["i"] = np.arange(math.prod(shape)).reshape(shape)  # CuPy's flat element index
    with np.errstate(all="ignore"):
        exec(code, env)


class _Generator:
    """cupy.random.Generator: NumPy's generator, limited to the methods CuPy's has."""

    def __init__(self, seed: Any = None) -> None:
        self._rng = np.random.default_rng(seed)
        self._dev = _current[-1]  # its state lives on this device: draw there

    def __getattr__(self, name: str) -> Any:
        if name not in API["Generator"]:
            raise AttributeError(f"'cupy.random.Generator' object has no attribute {name!r}")
        draw = getattr(self._rng, name)
        if name == "uniform":  # CuPy's takes a dtype, NumPy's does not
            def draw(low: float = 0.0, high: float = 1.0, size: Any = None,  # noqa: F811
                     dtype: Any = np.float64) -> np.ndarray:
                return self._rng.uniform(low, high, size).astype(dtype)
        function = _function(draw, key=f"Generator.{name}")

        def on_its_device(*args: Any, **kwargs: Any) -> Any:
            _check_device(self._dev)
            capture = _current_capture() if _capturing else None
            if capture is not None:  # its state is device memory: put back by end_capture
                capture.saved_states.setdefault(id(self._rng), (
                    self._rng.bit_generator, self._rng.bit_generator.state))
            return function(*args, **kwargs)
        return on_its_device


def _default_rng(seed: Any = None) -> _Generator:
    return seed if isinstance(seed, _Generator) else _Generator(seed)


class _MemoryPool:
    def used_bytes(self) -> int:
        return 0

    def total_bytes(self) -> int:
        return 0

    def free_all_blocks(self) -> None:
        pass


_runtime = types.SimpleNamespace(
    getDeviceCount=lambda: DEVICE_COUNT, getDevice=lambda: _current[-1],
    getDeviceProperties=lambda i: {"name": b"CuPy emulator on NumPy", "totalGlobalMem": 0},
)
cuda = types.ModuleType("cupy.cuda", "Emulated cupy.cuda")
_runtime.CUDARuntimeError = CUDARuntimeError
_runtime.streamCaptureModeGlobal, _runtime.streamCaptureModeThreadLocal = 0, 1
_runtime.streamCaptureModeRelaxed = 2
graph = types.ModuleType("cupy.cuda.graph", "Emulated cupy.cuda.graph")
graph.Graph = Graph  # type: ignore[attr-defined]
cuda.__dict__.update(runtime=_runtime, Device=_DeviceHandle, is_available=lambda: True,
                     get_device_id=lambda: _current[-1], Stream=Stream, Event=Event,
                     get_current_stream=get_current_stream, graph=graph, Graph=Graph,
                     MemoryPool=MemoryPool, set_allocator=set_allocator,
                     get_allocator=get_allocator, using_allocator=using_allocator)
stride_tricks = _module("cupy.lib.stride_tricks", set(API["lib.stride_tricks"]),
                        _np_stride_tricks, {})
lib = types.ModuleType("cupy.lib")
lib.stride_tricks = stride_tricks  # type: ignore[attr-defined]
random = _module("cupy.random", set(API["random"]), np.random,
                 {"default_rng": _default_rng, "Generator": _Generator})
linalg = _module("cupy.linalg", set(API["linalg"]), np.linalg, {})

cupy = _module("cupy", _CUPY_NAMES, np, {
    "__version__": "14.2.0+emulated", "ndarray": ndarray, "ufunc": ufunc, "asarray": asarray,
    "array": array, "copy": copy, "asnumpy": asnumpy, "get_array_module": get_array_module,
    "fuse": fuse,
    "ElementwiseKernel": ElementwiseKernel, "RawKernel": _Kernel, "ReductionKernel": _Kernel,
    "get_default_memory_pool": _MemoryPool, "get_default_pinned_memory_pool": _MemoryPool,
    "cuda": cuda, "random": random, "lib": lib, "linalg": linalg, "emulated": True,
})


def _scatter(np_ufunc: np.ufunc) -> Callable:
    def scatter(a: ndarray, slices: Any, value: Any) -> None:
        operands = _key_operands(slices)
        _run(f"scatter_{np_ufunc.__name__}", _ufunc_at,
             (np_ufunc, _unwrap(a), slices if operands is None else operands, _unwrap(value)),
             writes=(a._a,))
    return scatter


cupyx = types.ModuleType("cupyx", "Emulated cupyx")
cupyx.__dict__.update(scatter_add=_scatter(np.add), scatter_max=_scatter(np.maximum),
                      scatter_min=_scatter(np.minimum), allow_synchronize=allow_synchronize,
                      DeviceSynchronized=DeviceSynchronized, errstate=np.errstate)

MODULES = {"cupy": cupy, "cupy.cuda": cuda, "cupy.cuda.graph": graph, "cupy.random": random,
           "cupy.lib": lib, "cupy.lib.stride_tricks": stride_tricks, "cupy.linalg": linalg,
           "cupyx": cupyx}


def install() -> None:
    """Make `import cupy` and `import cupyx` give this emulator (call before tinygrad_edu
    first asks for CuPy)."""
    sys.modules.update(MODULES)


def main(argv: list[str]) -> None:
    """`python tests/cupy_emulator.py -m MODULE ARGS...`, `... -c CODE` or `... SCRIPT.py
    ARGS...`: run a program (the training command, an example) with the emulator standing in
    for CuPy."""
    import runpy  # noqa: PLC0415

    if not argv or (argv[0] in ("-m", "-c") and len(argv) < 2):
        raise SystemExit("usage: python tests/cupy_emulator.py (-m MODULE | -c CODE | SCRIPT) "
                         "[ARGS...]")
    install()
    if argv[0] == "-c":
        sys.argv = ["-c", *argv[2:]]
        exec(compile(argv[1], "<string>", "exec"), {"__name__": "__main__"})
    elif argv[0] == "-m":
        sys.argv = [argv[1], *argv[2:]]
        runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
    else:
        sys.argv = list(argv)
        sys.path.insert(0, str(Path(argv[0]).resolve().parent))
        runpy.run_path(argv[0], run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])
