"""A stand-in for CuPy's NCCL binding (`cupy.cuda.nccl`) on the emulated CuPy, world size 1.

tests/cupy_emulator.py has no NCCL. `install(cupy_emulator)` attaches this module as
`cupy.cuda.nccl` and gives the emulated arrays CuPy's `data.ptr` (the address of their first
element), so that tinygrad_edu.distributed's NCCL path runs here as it would on one GPU:

* the calls and their arguments are CuPy's (`NcclCommunicator(ndev, commId, rank)`,
  `allReduce(sendbuf, recvbuf, count, datatype, op, stream)` with integer pointers and
  stream, `groupStart` / `groupEnd`, `send` / `recv` ...), the constants NCCL's;
* a pointer must be one that `data.ptr` gave for a live, contiguous array on the
  communicator's device, and `count` elements of `datatype` must fit in it; anything else
  raises NcclError (on a GPU it would read or write the wrong memory);
* with one rank every reduction is a copy from the send buffer to the receive buffer;
  a send to oneself is matched, in order, with a receive from oneself in the same group.
`calls` records each call's name (tests check that the GPU path used NCCL, not MPI).
`uninstall()` puts the emulator back as it was.
"""

from __future__ import annotations

import os
import sys
import types
import weakref
from typing import Any

import numpy as np

available = True
NCCL_SUM, NCCL_PROD, NCCL_MAX, NCCL_MIN, NCCL_AVG = 0, 1, 2, 3, 4
NCCL_INT8 = NCCL_CHAR = 0
NCCL_UINT8 = 1
NCCL_INT32 = NCCL_INT = 2
NCCL_UINT32 = 3
NCCL_INT64 = 4
NCCL_UINT64 = 5
NCCL_FLOAT16 = NCCL_HALF = 6
NCCL_FLOAT32 = NCCL_FLOAT = 7
NCCL_FLOAT64 = NCCL_DOUBLE = 8
_ITEMSIZE = {NCCL_INT8: 1, NCCL_UINT8: 1, NCCL_INT32: 4, NCCL_UINT32: 4, NCCL_INT64: 8,
             NCCL_UINT64: 8, NCCL_FLOAT16: 2, NCCL_FLOAT32: 4, NCCL_FLOAT64: 8}
_OPS = {NCCL_SUM, NCCL_PROD, NCCL_MAX, NCCL_MIN, NCCL_AVG}

calls: list[str] = []
_emulator: Any = None  # tests/cupy_emulator.py, once installed
# ptr -> (the array that owns the memory, offset, bytes, contiguous, device)
_buffers: dict[int, tuple[weakref.ref, int, int, bool, int]] = {}
_group: list[list[tuple]] | None = None  # the sends and receives of an open group


class NcclError(RuntimeError):
    pass


class _MemoryPointer:
    """What `array.data` gives: CuPy's MemoryPointer has the device address as `ptr`."""

    def __init__(self, ptr: int) -> None:
        self.ptr = ptr


def _address(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


def _data(array: Any) -> _MemoryPointer:
    """The emulated `ndarray.data`: the address of the NumPy buffer behind it, noted (with the
    array that owns the memory, which a view keeps alive, as CuPy's memory) so that a call
    can check it."""
    a = owner = array._a
    while isinstance(owner.base, np.ndarray):
        owner = owner.base
    ptr = _address(a)
    _buffers[ptr] = (weakref.ref(owner), ptr - _address(owner), a.nbytes, a.flags.c_contiguous,
                     array._dev)
    return _MemoryPointer(ptr)


def _memory(ptr: int, count: int, datatype: int, device: int, what: str) -> np.ndarray:
    """The bytes at `ptr` that a call with `count` elements of `datatype` reads or writes."""
    if datatype not in _ITEMSIZE:
        raise NcclError(f"{what}: NCCL_ERROR_INVALID_ARGUMENT: unknown datatype {datatype}")
    entry = _buffers.get(ptr)
    owner = None if entry is None else entry[0]()
    if owner is None:
        raise NcclError(f"{what}: NCCL_ERROR_INVALID_ARGUMENT: {ptr:#x} is not the address of a "
                        "live device array")
    _, offset, nbytes, contiguous, on = entry
    size = count * _ITEMSIZE[datatype]
    if not contiguous:
        raise NcclError(f"{what}: the array at {ptr:#x} is not contiguous: NCCL reads "
                        "contiguous memory")
    if size > nbytes:
        raise NcclError(f"{what}: {count} elements of type {datatype} ({size} bytes) do not fit "
                        f"in the {nbytes} bytes at {ptr:#x}")
    if on != device:
        raise NcclError(f"{what}: the array at {ptr:#x} is on device {on}, the communicator on "
                        f"device {device}")
    return owner.reshape(-1).view(np.uint8)[offset:offset + size]


def get_unique_id() -> tuple:
    calls.append("get_unique_id")
    return tuple(int(b) - 128 for b in os.urandom(128))


def get_version() -> int:
    return 22000


def groupStart() -> None:  # noqa: N802 - CuPy's name
    global _group
    calls.append("groupStart")
    _group = []


def groupEnd() -> None:  # noqa: N802 - CuPy's name
    global _group
    calls.append("groupEnd")
    sends = [op for op in _group if op[0] == "send"]
    receives = [op for op in _group if op[0] == "recv"]
    _group = None
    if len(sends) != len(receives):
        raise NcclError(f"groupEnd: {len(sends)} sends but {len(receives)} receives with "
                        "oneself (one rank): they would wait forever")
    for (_, source), (_, target) in zip(sends, receives):
        if source.size != target.size:
            raise NcclError(f"groupEnd: a send of {source.size} bytes met a receive of "
                            f"{target.size}")
        target[...] = source


class NcclCommunicator:
    """One rank's communicator (the only rank: ndev must be 1)."""

    def __init__(self, ndev: int, commId: tuple, rank: int) -> None:  # noqa: N803
        calls.append("NcclCommunicator")
        if len(commId) != 128:
            raise AssertionError("commId must be the 128 values of get_unique_id()")
        if ndev != 1 or rank != 0:
            raise NcclError(f"NcclCommunicator: the emulator has one rank (ndev={ndev}, "
                            f"rank={rank})")
        self._device = _emulator.cuda.runtime.getDevice()
        self._alive = True

    def _check(self, what: str, stream: int, op: int | None = None, root: int | None = None
               ) -> None:
        calls.append(what)
        if not self._alive:
            raise NcclError(f"{what}: the communicator was destroyed")
        if not isinstance(stream, int):
            raise TypeError(f"{what}: stream must be an integer (a stream's ptr), got "
                            f"{type(stream).__name__}")
        if op is not None and op not in _OPS:
            raise NcclError(f"{what}: NCCL_ERROR_INVALID_ARGUMENT: unknown op {op}")
        if root is not None and root != 0:
            raise NcclError(f"{what}: NCCL_ERROR_INVALID_ARGUMENT: root {root} with one rank")

    def _copy(self, what: str, sendbuf: int, recvbuf: int, count: int, datatype: int) -> None:
        source = _memory(sendbuf, count, datatype, self._device, what)
        target = _memory(recvbuf, count, datatype, self._device, what)
        target[...] = source.copy()

    def allReduce(self, sendbuf: int, recvbuf: int, count: int, datatype: int,  # noqa: N802
                  op: int, stream: int) -> None:
        self._check("allReduce", stream, op)
        self._copy("allReduce", sendbuf, recvbuf, count, datatype)

    def reduce(self, sendbuf: int, recvbuf: int, count: int, datatype: int, op: int, root: int,
               stream: int) -> None:
        self._check("reduce", stream, op, root)
        self._copy("reduce", sendbuf, recvbuf, count, datatype)

    def broadcast(self, sendbuff: int, recvbuff: int, count: int, datatype: int, root: int,
                  stream: int) -> None:
        self._check("broadcast", stream, None, root)
        self._copy("broadcast", sendbuff, recvbuff, count, datatype)

    def bcast(self, buff: int, count: int, datatype: int, root: int, stream: int) -> None:
        self._check("bcast", stream, None, root)
        _memory(buff, count, datatype, self._device, "bcast")

    def allGather(self, sendbuf: int, recvbuf: int, count: int, datatype: int,  # noqa: N802
                  stream: int) -> None:
        self._check("allGather", stream)
        self._copy("allGather", sendbuf, recvbuf, count, datatype)

    def reduceScatter(self, sendbuf: int, recvbuf: int, recvcount: int,  # noqa: N802
                      datatype: int, op: int, stream: int) -> None:
        self._check("reduceScatter", stream, op)
        self._copy("reduceScatter", sendbuf, recvbuf, recvcount, datatype)

    def send(self, sendbuf: int, count: int, datatype: int, peer: int, stream: int) -> None:
        self._check("send", stream, None, peer)
        if _group is None:
            raise NcclError("send: to oneself only inside groupStart() / groupEnd() (it would "
                            "wait forever for the receive)")
        _group.append(("send", _memory(sendbuf, count, datatype, self._device, "send").copy()))

    def recv(self, recvbuf: int, count: int, datatype: int, peer: int, stream: int) -> None:
        self._check("recv", stream, None, peer)
        if _group is None:
            raise NcclError("recv: from oneself only inside groupStart() / groupEnd()")
        _group.append(("recv", _memory(recvbuf, count, datatype, self._device, "recv")))

    def destroy(self) -> None:
        calls.append("destroy")
        self._alive = False

    def abort(self) -> None:
        self.destroy()

    def device_id(self) -> int:
        return self._device

    def rank_id(self) -> int:
        return 0

    def size(self) -> int:
        return 1


_saved: dict[str, Any] = {}


def install(emulator: types.ModuleType) -> None:
    """Attach this module to the emulated CuPy `emulator` (tests/cupy_emulator.py) as
    `cupy.cuda.nccl`, and give its arrays `data.ptr`."""
    global _emulator
    _emulator = emulator
    module = sys.modules[__name__]
    _saved.update(data=emulator.ndarray.__dict__.get("data"),
                  module=sys.modules.get("cupy.cuda.nccl"))
    emulator.cuda.nccl = module
    sys.modules["cupy.cuda.nccl"] = module
    emulator.ndarray.data = property(_data)
    calls.clear()


def uninstall() -> None:
    emulator = _emulator
    if emulator is None:
        return
    if _saved.get("data") is None:
        del emulator.ndarray.data
    else:
        emulator.ndarray.data = _saved["data"]
    emulator.cuda.__dict__.pop("nccl", None)
    sys.modules.pop("cupy.cuda.nccl", None)
    if _saved.get("module") is not None:
        sys.modules["cupy.cuda.nccl"] = _saved["module"]
    _buffers.clear()
