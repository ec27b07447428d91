"""The NCCL part of a process group: collectives on contiguous CuPy arrays, GPU to GPU.

Through CuPy's binding of NVIDIA's NCCL (`cupy.cuda.nccl`): each call hands NCCL the arrays'
device pointers and queues the work on the current CUDA stream, so that what runs after it on
that stream sees the result; the host does not wait (a Work's `wait()` returns at once, as
PyTorch's NCCL work does for the current stream). One communicator per GPU, made at the first
collective on it (every rank makes it together: rank 0 makes NCCL's unique id, `share` gives
it to the others, over MPI or a file store). NCCL has no gather and scatter: they are sends
and receives in one NCCL group, as PyTorch does them.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .. import backend
from ..backend import Device
from .process_group import ReduceOp, Work

nccl_module = backend.cupy_nccl  # CuPy's NCCL binding, or None (CuPy is backend.py's import)


class NCCLPart:
    """NCCL communicators of this rank, one per GPU used. `on(index)` gives the collectives
    for the arrays of GPU `index`."""

    def __init__(self, rank: int, size: int, share: Callable[[str, Callable[[], tuple]], tuple]
                 ) -> None:
        self.rank, self.size, self.share = rank, size, share
        self.nccl = nccl_module()
        self.comms: dict[int, _OnGPU] = {}

    def on(self, index: int) -> _OnGPU:
        if index not in self.comms:
            unique_id = self.share(f"nccl_unique_id/cuda:{index}", self.nccl.get_unique_id)
            with backend.device_scope(Device("cuda", index)):
                comm = self.nccl.NcclCommunicator(self.size, unique_id, self.rank)
            self.comms[index] = _OnGPU(self, comm, index)
        return self.comms[index]

    def destroy(self) -> None:
        for on_gpu in self.comms.values():
            on_gpu.comm.destroy()
        self.comms = {}


class _OnGPU:
    """The collectives on one GPU's arrays (contiguous CuPy arrays of that GPU; `on_host`
    False: the arrays stay on their GPU)."""

    on_host = False

    def __init__(self, part: NCCLPart, comm: Any, index: int) -> None:
        self.comm, self.index, self.nccl = comm, index, part.nccl
        self.rank, self.size = part.rank, part.size
        nccl = self.nccl
        self.types = {np.dtype(np.float16): nccl.NCCL_FLOAT16,
                      np.dtype(np.float32): nccl.NCCL_FLOAT32,
                      np.dtype(np.float64): nccl.NCCL_FLOAT64,
                      np.dtype(np.int32): nccl.NCCL_INT32, np.dtype(np.int64): nccl.NCCL_INT64,
                      np.dtype(np.uint8): nccl.NCCL_UINT8}
        self.ops = {ReduceOp.SUM: nccl.NCCL_SUM, ReduceOp.PRODUCT: nccl.NCCL_PROD,
                    ReduceOp.MIN: nccl.NCCL_MIN, ReduceOp.MAX: nccl.NCCL_MAX,
                    ReduceOp.AVG: getattr(nccl, "NCCL_AVG", None)}  # (NCCL 2.10 and later)

    # -- what NCCL is given ------------------------------------------------------------------
    @staticmethod
    def _stream() -> Any:
        return backend.cupy_or_raise().cuda.get_current_stream()

    def _buffer(self, a: Any) -> tuple[int, int, int]:
        """(device pointer, element count, NCCL type) of a contiguous array (bool as bytes)."""
        if a.dtype == np.bool_:
            a = a.view(np.uint8)
        return a.data.ptr, a.size, self.types[a.dtype]

    def _op(self, a: Any, op: ReduceOp) -> tuple[int, Callable[[], None] | None]:
        """NCCL's op for `a`, and what to run after it (AVG without NCCL's: divide)."""
        if op is ReduceOp.AVG and a.dtype.kind != "f":
            raise RuntimeError(f"ReduceOp.AVG needs a floating-point tensor, got {a.dtype} "
                               "(its average cannot be stored in it)")
        if a.dtype == np.bool_:  # (0/1 bytes: a logical or is MAX, a logical and is MIN)
            op = {ReduceOp.SUM: ReduceOp.MAX, ReduceOp.PRODUCT: ReduceOp.MIN}.get(op, op)
        if op is ReduceOp.AVG and self.ops[op] is None:
            xp = backend.get_array_module(a)
            return self.ops[ReduceOp.SUM], lambda: xp.divide(a, self.size, out=a)
        return self.ops[op], None

    def _work(self, after: Callable[[], None] | None = None, source: int | None = None
              ) -> Work:
        if after is not None:
            after()  # (queued on the same stream, after NCCL's work)
        return Work(status=source, event=self._stream().record())

    def _scope(self) -> Any:
        return backend.device_scope(Device("cuda", self.index))

    # -- the collectives ---------------------------------------------------------------------
    def all_reduce(self, a: Any, op: ReduceOp, blocking: bool = False) -> Work:
        """(`blocking` is MPI's concern: NCCL queues on the stream either way.)"""
        nccl_op, after = self._op(a, op)
        ptr, count, dtype = self._buffer(a)
        with self._scope():
            self.comm.allReduce(ptr, ptr, count, dtype, nccl_op, self._stream().ptr)
            return self._work(after)

    def broadcast(self, a: Any, src: int, blocking: bool = False) -> Work:
        ptr, count, dtype = self._buffer(a)
        with self._scope():
            self.comm.bcast(ptr, count, dtype, src, self._stream().ptr)
            return self._work()

    def all_gather(self, out: Any, a: Any) -> Work:
        ptr, count, dtype = self._buffer(a)
        with self._scope():
            self.comm.allGather(ptr, self._buffer(out)[0], count, dtype, self._stream().ptr)
            return self._work()

    def reduce_scatter(self, out: Any, a: Any, op: ReduceOp) -> Work:
        nccl_op, after = self._op(out, op)
        ptr, count, dtype = self._buffer(out)
        with self._scope():
            self.comm.reduceScatter(self._buffer(a)[0], ptr, count, dtype, nccl_op,
                                    self._stream().ptr)
            return self._work(after)

    def reduce(self, a: Any, dst: int, op: ReduceOp) -> Work:
        nccl_op, after = self._op(a, op)
        ptr, count, dtype = self._buffer(a)
        with self._scope():
            self.comm.reduce(ptr, ptr, count, dtype, nccl_op, dst, self._stream().ptr)
            return self._work(after if self.rank == dst else None)

    def _exchange(self, sends: list[tuple[Any, int]], receives: list[tuple[Any, int]],
                  source: int | None = None) -> Work:
        """Point-to-point sends (array, to rank) and receives (array, from rank) in one NCCL
        group; with oneself, a copy on the GPU."""
        stream = self._stream().ptr
        with self._scope():
            self.nccl.groupStart()
            for a, peer in sends:
                if peer != self.rank:
                    ptr, count, dtype = self._buffer(a)
                    self.comm.send(ptr, count, dtype, peer, stream)
            for a, peer in receives:
                if peer != self.rank:
                    ptr, count, dtype = self._buffer(a)
                    self.comm.recv(ptr, count, dtype, peer, stream)
            self.nccl.groupEnd()
            own = [a for a, peer in sends if peer == self.rank]
            for a, peer in receives:
                if peer == self.rank:
                    a[...] = own.pop(0)
            return self._work(source=source)

    def gather(self, out: Any | None, a: Any, dst: int) -> Work:
        if self.rank != dst:
            return self._exchange([(a, dst)], [])
        n = a.size
        blocks = [(out[r * n:(r + 1) * n], r) for r in range(self.size)]
        return self._exchange([(a.reshape(-1), dst)], blocks)

    def scatter(self, a: Any, source: Any | None, src: int) -> Work:
        if self.rank != src:
            return self._exchange([], [(a, src)])
        n = a.size
        blocks = [(source[r * n:(r + 1) * n], r) for r in range(self.size)]
        return self._exchange(blocks, [(a.reshape(-1), src)])

    def send(self, a: Any, dst: int, tag: int) -> Work:
        return self._exchange([(a, dst)], [])

    def recv(self, a: Any, src: int | None, tag: int) -> Work:
        if src is None:
            raise RuntimeError("recv: NCCL cannot receive from any source: give src")
        return self._exchange([], [(a, src)], source=src)

    def barrier(self) -> Work:
        """Every rank reaches it: a one-element all_reduce, waited for on the host."""
        with self._scope():
            one = backend.cupy_or_raise().ones(1, dtype=np.int32)
        self.all_reduce(one, ReduceOp.SUM)
        self._stream().synchronize()
        return Work()
