"""Every collective of tg.distributed against NumPy, on the processes of
`mpirun -n 2 python mpi_collectives_check.py OUT_DIR` (run by test_mpirun.py). Each rank
writes OUT_DIR/collectives_RANK.json: {check: "ok" or what went wrong}.

Rank r's input is a known function of r (`values(r)`), so each rank computes the expected
result of every call with NumPy from all the ranks' inputs. The CuPy emulator
(tests/cupy_emulator.py) stands in for CuPy: the "cuda" checks are the MPI backend's path for
GPU tensors (through host memory, with one warning), and the "nccl" backend without NCCL
(the emulator has none) falling back to it.
"""

from __future__ import annotations

import json
import sys
import traceback
import warnings
from pathlib import Path
from typing import Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the CuPy emulator
import cupy_emulator  # noqa: E402

cupy_emulator.install()

import tinygrad_edu as tg  # noqa: E402
import tinygrad_edu.distributed as dist  # noqa: E402

OP = dist.ReduceOp
NUMPY_OF = {OP.SUM: np.sum, OP.AVG: np.mean, OP.PRODUCT: np.prod, OP.MIN: np.min,
            OP.MAX: np.max}


def values(rank: int, shape: tuple = (2, 3), dtype=np.float32) -> np.ndarray:
    return (np.arange(int(np.prod(shape))).reshape(shape) * (rank + 1) + 10 * rank).astype(dtype)


def run_checks(rank: int, size: int, device: str) -> dict[str, str]:
    report: dict[str, str] = {}

    def check(name: str, body: Callable[[], None]) -> None:
        try:
            body()
            report[name] = "ok"
        except Exception:  # noqa: BLE001 - the report says what failed, on which rank
            report[name] = traceback.format_exc(limit=3)

    every = np.stack([values(r) for r in range(size)])  # all the ranks' inputs
    t = lambda a: tg.tensor(a, device=device)  # noqa: E731
    same = lambda got, want: np.testing.assert_allclose(  # noqa: E731
        got.cpu().numpy(), want, rtol=1e-6)

    def all_reduce(op: OP) -> Callable[[], None]:
        def body() -> None:
            x = t(values(rank))
            assert dist.all_reduce(x, op=op) is None
            same(x, NUMPY_OF[op](every, axis=0))
        return body

    for op in OP:
        check(f"{device} all_reduce {op.name}", all_reduce(op))

    def all_reduce_non_contiguous() -> None:
        base = t(values(rank, (3, 2)))
        dist.all_reduce(base.t())
        same(base, sum(values(r, (3, 2)) for r in range(size)))
    check(f"{device} all_reduce of a non-contiguous view", all_reduce_non_contiguous)

    def all_reduce_dtypes() -> None:
        h = tg.tensor(values(rank).astype(np.float16), device=device)
        dist.all_reduce(h, op=OP.AVG)
        assert h.dtype == tg.float16
        same(h, every.mean(axis=0).astype(np.float16))
        flags = [[True, False, False], [True, True, False]]
        b = tg.tensor(flags[rank % 2], device=device)
        dist.all_reduce(b)  # or
        assert b.cpu().tolist() == [True, True, False]
        b = tg.tensor(flags[rank % 2], device=device)
        dist.all_reduce(b, op=OP.PRODUCT)  # and
        assert b.cpu().tolist() == [True, False, False]
        i = tg.tensor(values(rank).astype(np.int64), device=device)
        dist.all_reduce(i)
        same(i, every.astype(np.int64).sum(axis=0))
    check(f"{device} all_reduce of float16, bool, int64", all_reduce_dtypes)

    def all_reduce_async() -> None:
        x = t(values(rank))
        work = dist.all_reduce(x, async_op=True)
        work.wait()
        assert work.is_completed()
        same(x, every.sum(axis=0))
    check(f"{device} all_reduce async_op", all_reduce_async)

    def broadcast() -> None:
        x = t(values(rank))
        dist.broadcast(x, src=size - 1)
        same(x, values(size - 1))
    check(f"{device} broadcast", broadcast)

    def all_gather() -> None:
        out = [t(np.zeros((2, 3), np.float32)) for _ in range(size)]
        dist.all_gather(out, t(values(rank)))
        for r in range(size):
            same(out[r], values(r))
        flat = t(np.zeros((2 * size, 3), np.float32))
        dist.all_gather_into_tensor(flat, t(values(rank)))
        same(flat, every.reshape(2 * size, 3))
    check(f"{device} all_gather, all_gather_into_tensor", all_gather)

    def reduce_scatter() -> None:
        blocks = [values(rank) + 100 * j for j in range(size)]  # block j goes to rank j
        out = t(np.zeros((2, 3), np.float32))
        dist.reduce_scatter(out, [t(b) for b in blocks])
        same(out, sum(values(r) + 100 * rank for r in range(size)))
        out = t(np.zeros(3, np.float32))
        dist.reduce_scatter_tensor(out, t(values(rank, (size, 3))), op=OP.MAX)
        same(out, np.max([values(r, (size, 3))[rank] for r in range(size)], axis=0))
    check(f"{device} reduce_scatter, reduce_scatter_tensor", reduce_scatter)

    def reduce() -> None:
        x = t(values(rank))
        dist.reduce(x, dst=1, op=OP.MAX)
        same(x, every.max(axis=0) if rank == 1 else values(rank))  # (others: unchanged)
    check(f"{device} reduce", reduce)

    def gather_scatter() -> None:
        out = [t(np.zeros((2, 3), np.float32)) for _ in range(size)] if rank == 0 else None
        dist.gather(t(values(rank)), out, dst=0)
        if rank == 0:
            for r in range(size):
                same(out[r], values(r))
        x = t(np.zeros((2, 3), np.float32))
        source = [t(values(r) * 7) for r in range(size)] if rank == 1 else None
        dist.scatter(x, source, src=1)
        same(x, values(rank) * 7)
    check(f"{device} gather, scatter", gather_scatter)

    def point_to_point() -> None:
        x = t(values(rank))
        if rank == 0:
            dist.send(x, 1)
        elif rank == 1:
            got = t(np.zeros((2, 3), np.float32))
            assert dist.recv(got, 0) == 0
            same(got, values(0))
        # a ring with isend / irecv, then a receive from any source
        right, left = (rank + 1) % size, (rank - 1) % size
        got = t(np.zeros((2, 3), np.float32))
        sending = dist.isend(t(values(rank)), right, tag=5)
        receiving = dist.irecv(got, left, tag=5)
        sending.wait()
        receiving.wait()
        same(got, values(left))
        if rank == 1:
            dist.send(t(values(1)), 0, tag=9)
        elif rank == 0:
            got = t(np.zeros((2, 3), np.float32))
            assert dist.recv(got, tag=9) == 1
            same(got, values(1))
        dist.barrier()
    check(f"{device} send, recv, isend, irecv", point_to_point)
    return report


def main(out_dir: str) -> None:
    report = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dist.init_process_group("mpi")
        rank, size = dist.get_rank(), dist.get_world_size()
        report["world"] = "ok" if size == 2 and dist.get_backend() == "mpi" else f"size {size}"
        report.update(run_checks(rank, size, "cpu"))
        report.update(run_checks(rank, size, "cuda"))  # the emulated GPU, through host memory
        dist.destroy_process_group()
        # "nccl" where CuPy has no NCCL: MPI with host copies, for CPU and GPU tensors alike
        dist.init_process_group("nccl")
        x, y = tg.ones(3, device="cuda") * (rank + 1), tg.ones(3) * (rank + 1)
        dist.all_reduce(x)
        dist.all_reduce(y)
        report["nccl without NCCL falls back to MPI"] = (
            "ok" if dist.get_backend() == "nccl" and x.cpu().tolist() == y.tolist() == [3.0] * 3
            else f"{dist.get_backend()} {x} {y}")
        dist.destroy_process_group()
    messages = [str(w.message) for w in caught if "host memory" in str(w.message)]
    report["one warning per group for GPU tensors through MPI"] = (
        "ok" if len(messages) == 2 and "'mpi' backend" in messages[0]
        and "no NCCL" in messages[1] else repr(messages))
    Path(out_dir, f"collectives_{rank}.json").write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main(sys.argv[1])
