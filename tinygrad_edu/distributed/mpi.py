"""The MPI part of a process group: collectives on contiguous NumPy arrays through mpi4py.

MPI reads and writes the arrays' own memory (mpi4py hands it their buffers): no copy, except
where MPI lacks the type: float16 is reduced in a float32 copy (MPI has no half precision),
bool is reduced as bytes (SUM, a logical or, is then MAX; PRODUCT, a logical and, MIN). Moving
data without reducing it (broadcast, gather, send ...) sends the raw bytes of any dtype.

Every call here is MPI's non-blocking one (Iallreduce, Ibcast, ...) and returns a Work; a
blocking collective waits for it at once, except all_reduce and broadcast, which call MPI's
blocking Allreduce and Bcast when asked to block: Open MPI's tuned blocking collectives are
several times faster than its non-blocking ones (about 2x on 84 MB, 10x on 1 MB, measured
with 2 ranks on one machine). Open MPI moves a non-blocking collective forward
only while the process is inside an MPI call (it has no progress thread by default): DDP asks
after each gradient whether earlier buckets are done, which is such a call.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .process_group import ReduceOp, Work


def _bytes(a: np.ndarray) -> np.ndarray:
    """A contiguous array's memory as bytes (a view)."""
    return a.reshape(-1).view(np.uint8)


class MPIPart:
    """Collectives over one MPI communicator. `on_host`: the arrays must be NumPy arrays."""

    on_host = True

    def __init__(self, comm: Any) -> None:
        from mpi4py import MPI  # noqa: PLC0415 - (already started by whoever made comm)

        self.MPI, self.comm = MPI, comm
        self.rank, self.size = comm.Get_rank(), comm.Get_size()
        self.ops = {ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.PRODUCT: MPI.PROD,
                    ReduceOp.MIN: MPI.MIN, ReduceOp.MAX: MPI.MAX}

    def destroy(self) -> None:
        self.comm.Free()

    def _reducible(self, a: np.ndarray, op: ReduceOp, receives: bool
                   ) -> tuple[np.ndarray, Any, list[Callable[[], None]]]:
        """What MPI reduces for `a`: (the array it works on, MPI's op, what to do once it is
        done when this rank `receives` the result: AVG's division, the float16 cast back)."""
        if op is ReduceOp.AVG and a.dtype.kind != "f":
            raise RuntimeError(f"ReduceOp.AVG needs a floating-point tensor, got {a.dtype} "
                               "(its average cannot be stored in it)")
        on, then = a, []
        if a.dtype == np.float16:  # (no MPI type: in float32)
            on = a.astype(np.float32)
        elif a.dtype == np.bool_:  # (MPI has no or/and on C bools in Open MPI: bytes)
            on = a.view(np.uint8)
            op = {ReduceOp.SUM: ReduceOp.MAX, ReduceOp.PRODUCT: ReduceOp.MIN}.get(op, op)
        if receives and op is ReduceOp.AVG:
            then.append(lambda: np.divide(on, self.size, out=on))
        if receives and on.dtype != a.dtype and a.dtype == np.float16:
            then.append(lambda: np.copyto(a, on, casting="same_kind"))
        return on, self.ops[op], then

    @staticmethod
    def _work(request: Any, then: list[Callable[[], None]], keep: tuple, status: Any = None
              ) -> Work:
        work = Work(request, status=status, keep=keep)
        for fn in then:
            work.then(fn)
        return work

    def all_reduce(self, a: np.ndarray, op: ReduceOp, blocking: bool = False) -> Work:
        on, mpi_op, then = self._reducible(a, op, True)
        if blocking:  # (done when it returns: a Work without a request is complete)
            self.comm.Allreduce(self.MPI.IN_PLACE, on, mpi_op)
            return self._work(None, then, ())
        return self._work(self.comm.Iallreduce(self.MPI.IN_PLACE, on, mpi_op), then, (on,))

    def broadcast(self, a: np.ndarray, src: int, blocking: bool = False) -> Work:
        if blocking:
            self.comm.Bcast(_bytes(a), root=src)
            return self._work(None, [], ())
        return self._work(self.comm.Ibcast(_bytes(a), root=src), [], (a,))

    def all_gather(self, out: np.ndarray, a: np.ndarray) -> Work:
        """out (world size * a.size elements) <- every rank's `a`, in rank order."""
        return self._work(self.comm.Iallgather(_bytes(a), _bytes(out)), [], (out, a))

    def reduce_scatter(self, out: np.ndarray, a: np.ndarray, op: ReduceOp) -> Work:
        """out <- block `rank` of op over the ranks' `a` (world size blocks of out.size)."""
        send, mpi_op, _ = self._reducible(a, op, False)
        on, _, then = self._reducible(out, op, True)
        request = self.comm.Ireduce_scatter_block(send, on, mpi_op)
        return self._work(request, then, (send, on))

    def reduce(self, a: np.ndarray, dst: int, op: ReduceOp) -> Work:
        """a on rank `dst` <- op over the ranks' `a` (the others' stay as they were)."""
        on, mpi_op, then = self._reducible(a, op, self.rank == dst)
        if self.rank == dst:
            request = self.comm.Ireduce(self.MPI.IN_PLACE, on, mpi_op, root=dst)
        else:
            request = self.comm.Ireduce(on, None, mpi_op, root=dst)
        return self._work(request, then, (on,))

    def gather(self, out: np.ndarray | None, a: np.ndarray, dst: int) -> Work:
        """out on rank `dst` (world size * a.size elements) <- every rank's `a`."""
        request = self.comm.Igather(_bytes(a), None if out is None else _bytes(out), root=dst)
        return self._work(request, [], (out, a))

    def scatter(self, a: np.ndarray, source: np.ndarray | None, src: int) -> Work:
        """a <- block `rank` of `source` on rank `src` (world size blocks of a.size)."""
        request = self.comm.Iscatter(None if source is None else _bytes(source), _bytes(a),
                                     root=src)
        return self._work(request, [], (a, source))

    def send(self, a: np.ndarray, dst: int, tag: int) -> Work:
        return self._work(self.comm.Isend(_bytes(a), dest=dst, tag=tag), [], (a,))

    def recv(self, a: np.ndarray, src: int | None, tag: int) -> Work:
        source = self.MPI.ANY_SOURCE if src is None else src
        status = self.MPI.Status()
        return self._work(self.comm.Irecv(_bytes(a), source=source, tag=tag), [], (a,), status)

    def barrier(self) -> Work:
        return self._work(self.comm.Ibarrier(), [], ())
