"""The NCCL path of tg.distributed with world size 1 (issue 20), on the "cuda" device: CuPy's
own NCCL on a GPU machine, tests/nccl_emulator.py attached to the emulated CuPy otherwise
(TINYGRAD_EDU_EMULATE_CUDA=1). What several GPUs would add (the actual exchange between
ranks) cannot be tested here."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.distributed as dist
from tinygrad_edu import nn


@pytest.fixture
def nccl(device):
    """The NCCL binding for this run: None on the CPU (the test is skipped)."""
    if device == "cpu":
        pytest.skip("the NCCL path is for GPU tensors")
    import cupy  # noqa: PLC0415 - the emulator, or CuPy on a GPU machine

    if getattr(cupy, "emulated", False):
        import cupy_emulator
        import nccl_emulator

        nccl_emulator.install(cupy_emulator)
        yield nccl_emulator
        nccl_emulator.uninstall()
        return
    from tinygrad_edu.distributed.nccl import nccl_module

    if nccl_module() is None:
        pytest.skip("CuPy has no NCCL here")
    yield None  # (the real one: no call log)


@pytest.fixture
def file_world(nccl, tmp_path):
    dist.init_process_group("nccl", init_method=f"file://{tmp_path / 'rendezvous'}", rank=0,
                            world_size=1)
    yield nccl
    dist.destroy_process_group()


def called(nccl, *names):
    """Whether the emulated NCCL saw these calls (always true on a real GPU: no log)."""
    return nccl is None or all(name in nccl.calls for name in names)


def test_collectives_through_nccl(file_world, device):
    assert dist.get_backend() == "nccl" and dist.get_world_size() == 1
    x = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    t = tg.tensor(x, device=device)
    before = t.array
    dist.all_reduce(t, op=dist.ReduceOp.AVG)
    assert t.array is before
    dist.broadcast(t, src=0)
    out = [tg.zeros(2, 3, device=device)]
    dist.all_gather(out, t)
    flat = tg.zeros(6, device=device)
    dist.all_gather_into_tensor(flat, t)
    o = tg.zeros(2, 3, device=device)
    dist.reduce_scatter(o, [t * 2])
    r = tg.tensor(x, device=device)
    dist.reduce(r, dst=0, op=dist.ReduceOp.MAX)
    g = [tg.zeros(2, 3, device=device)]
    dist.gather(t + 1, g, dst=0)
    s = tg.zeros(2, 3, device=device)
    dist.scatter(s, [t + 2], src=0)
    dist.barrier()
    for got, want in [(t, x), (out[0], x), (flat, x.reshape(-1)), (o, 2 * x), (r, x),
                      (g[0], x + 1), (s, x + 2)]:
        assert got.device == tg.device(device)
        np.testing.assert_array_equal(got.cpu().numpy(), want)
    assert called(file_world, "NcclCommunicator", "allReduce", "bcast", "allGather",
                  "reduceScatter", "reduce", "groupStart", "groupEnd")


def test_staging_dtypes_and_work(file_world, device):
    base = tg.arange(12.0, device=device).reshape(3, 4)
    dist.all_reduce(base.t())  # not contiguous: a contiguous copy on the GPU, copied back
    np.testing.assert_array_equal(base.cpu().numpy(), np.arange(12.0).reshape(3, 4))
    b = tg.tensor([True, False], device=device)
    dist.all_reduce(b)
    assert b.cpu().tolist() == [True, False]
    h = tg.tensor([1.5, 2.0], dtype=tg.float16, device=device)
    dist.all_reduce(h, op=dist.ReduceOp.SUM)
    assert h.cpu().tolist() == [1.5, 2.0]
    with pytest.raises(RuntimeError, match="AVG needs a floating-point tensor"):
        dist.all_reduce(tg.tensor([1, 2], device=device), op=dist.ReduceOp.AVG)
    work = dist.all_reduce(base, async_op=True)
    assert work.wait() and work.is_completed()
    with pytest.raises(RuntimeError, match="No backend type associated with device type cpu"):
        dist.all_reduce(tg.ones(2))  # (no MPI in a file-store world: GPU tensors only)


@pytest.mark.skipif(not dist.is_mpi_available(), reason="mpi4py is not installed")
def test_nccl_over_mpi_sends_cpu_tensors_through_mpi(nccl, device):
    dist.init_process_group("nccl", device_id=tg.device(device))
    try:
        assert called(nccl, "NcclCommunicator")  # (device_id: made at once)
        cpu, gpu = tg.ones(3), tg.ones(3, device=device)
        dist.all_reduce(cpu)
        dist.all_reduce(gpu)
        assert cpu.tolist() == gpu.cpu().tolist() == [1.0, 1.0, 1.0]
    finally:
        dist.destroy_process_group()
    assert called(nccl, "destroy")


def test_ddp_on_the_gpu(file_world, device):
    """One DDP step on NCCL: the gradients (averaged over one rank) are the local ones."""
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)).to(device)
    reference = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)).to(device)
    reference.load_state_dict(model.state_dict())
    ddp = nn.parallel.DistributedDataParallel(model, device_ids=[tg.device(device).index])
    x = tg.arange(6.0).reshape(2, 3)  # (moved to the GPU by device_ids)
    ddp(x).sum().backward()
    reference(x.to(device)).sum().backward()
    for p, q in zip(model.parameters(), reference.parameters()):
        np.testing.assert_allclose(p.grad.cpu().numpy(), q.grad.cpu().numpy(), rtol=1e-6)


def test_the_emulated_nccl_checks_what_it_is_given(nccl, device):
    if nccl is None:
        pytest.skip("checks of the emulator")
    import cupy

    with cupy.cuda.Device(tg.device(device).index):
        comm = nccl.NcclCommunicator(1, nccl.get_unique_id(), 0)
        a = cupy.arange(6, dtype=cupy.float32).reshape(2, 3)
    stream = cupy.cuda.get_current_stream().ptr
    with pytest.raises(nccl.NcclError, match="not contiguous"):
        comm.allReduce(a.T.data.ptr, a.T.data.ptr, 6, nccl.NCCL_FLOAT32, nccl.NCCL_SUM, stream)
    with pytest.raises(nccl.NcclError, match="do not fit"):
        comm.allReduce(a.data.ptr, a.data.ptr, 7, nccl.NCCL_FLOAT32, nccl.NCCL_SUM, stream)
    with pytest.raises(nccl.NcclError, match="not the address of a live device array"):
        comm.allReduce(12345, 12345, 1, nccl.NCCL_FLOAT32, nccl.NCCL_SUM, stream)
    with pytest.raises(nccl.NcclError, match="only inside groupStart"):
        comm.send(a.data.ptr, 6, nccl.NCCL_FLOAT32, 0, stream)
