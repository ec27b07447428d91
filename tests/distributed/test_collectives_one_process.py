"""tg.distributed with world size 1, in this process (issue 20): MPI's singleton (mpi4py started
without a launcher) is a world of one rank. Every collective against NumPy, the arguments and
errors against torch.distributed's, Work, staging of non-contiguous tensors, dtypes MPI lacks.
The 2-process checks are in test_mpirun.py."""

from __future__ import annotations

import datetime

import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.distributed as dist

needs_mpi = pytest.mark.skipif(not dist.is_mpi_available(), reason="mpi4py is not installed")


@pytest.fixture
def world():
    dist.init_process_group("mpi")
    yield
    dist.destroy_process_group()


def arange(*shape, dtype=tg.float32):
    return tg.arange(int(np.prod(shape)), dtype=dtype).reshape(*shape)


def test_nothing_starts_at_import_and_calls_need_a_group():
    import subprocess
    import sys

    code = ("import sys, tinygrad_edu as tg; print('mpi4py.MPI' in sys.modules, "
            "'cupy' in sys.modules, tg.distributed.is_initialized())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False", "False"]
    for call in (dist.get_rank, dist.get_world_size, dist.barrier, dist.get_backend,
                 lambda: dist.all_reduce(tg.ones(2))):
        with pytest.raises(ValueError, match="Default process group has not been initialized"):
            call()
    with pytest.raises(AssertionError, match="Process group cannot be None"):
        dist.destroy_process_group()
    assert dist.is_available()


def test_names_and_values_as_torch():
    assert [op.value for op in (dist.ReduceOp.SUM, dist.ReduceOp.AVG, dist.ReduceOp.PRODUCT,
                                dist.ReduceOp.MIN, dist.ReduceOp.MAX)] == [0, 1, 2, 3, 4]
    assert dist.Backend("MPI") == dist.Backend.MPI == "mpi" and dist.Backend.NCCL == "nccl"
    torch = pytest.importorskip("torch")
    import inspect

    import torch.distributed as tdist

    for name in ("init_process_group", "all_reduce", "broadcast", "all_gather", "reduce",
                 "all_gather_into_tensor", "reduce_scatter", "reduce_scatter_tensor", "gather",
                 "scatter", "send", "recv", "isend", "irecv", "barrier", "get_rank"):
        ours = list(inspect.signature(getattr(dist, name)).parameters)
        theirs = [p for p in inspect.signature(getattr(tdist, name)).parameters
                  if not p.startswith("_")]
        assert ours == theirs, name
    assert torch  # (torch's own ReduceOp numbering is the one checked above)


@needs_mpi
def test_init_queries_and_reinit(world):
    assert dist.is_initialized() and dist.get_rank() == 0 and dist.get_world_size() == 1
    assert dist.get_backend() == "mpi" and isinstance(dist.get_backend(), dist.Backend)
    with pytest.raises(ValueError, match="twice"):
        dist.init_process_group("mpi")
    dist.destroy_process_group()
    assert not dist.is_initialized()
    dist.init_process_group("mpi", world_size=1, rank=0, timeout=datetime.timedelta(seconds=5))
    assert dist.get_world_size() == 1


@needs_mpi
def test_init_errors():
    with pytest.raises(ValueError, match="backend 'gloo' is not available"):
        dist.init_process_group("gloo")
    with pytest.raises(ValueError, match="mpirun -n N"):
        dist.init_process_group("mpi", world_size=2)
    with pytest.raises(ValueError, match="init_method 'env://' is not supported"):
        dist.init_process_group("nccl", init_method="env://")
    assert not dist.is_initialized()


@needs_mpi
@pytest.mark.parametrize("op, reference", [
    (dist.ReduceOp.SUM, lambda a: a), (dist.ReduceOp.AVG, lambda a: a),
    (dist.ReduceOp.PRODUCT, lambda a: a), (dist.ReduceOp.MIN, lambda a: a),
    (dist.ReduceOp.MAX, lambda a: a)], ids=lambda v: getattr(v, "name", ""))
def test_all_reduce_of_one_rank_is_the_tensor(world, op, reference):
    t = arange(2, 3)
    before = t.array
    assert dist.all_reduce(t, op=op) is None
    assert t.array is before  # in place, in the tensor's own memory
    np.testing.assert_array_equal(t.numpy(), reference(np.arange(6.0).reshape(2, 3)))


@needs_mpi
def test_collectives_of_one_rank_against_numpy(world):
    x = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    t = tg.tensor(x)
    dist.broadcast(t, src=0)
    np.testing.assert_array_equal(t.numpy(), x)
    out = [tg.zeros(2, 3)]
    dist.all_gather(out, t)
    np.testing.assert_array_equal(out[0].numpy(), x)
    flat = tg.zeros(6)
    dist.all_gather_into_tensor(flat, t)
    np.testing.assert_array_equal(flat.numpy(), x.reshape(-1))
    o = tg.zeros(2, 3)
    dist.reduce_scatter(o, [tg.tensor(x * 2)])
    np.testing.assert_array_equal(o.numpy(), x * 2)
    o = tg.zeros(3)
    dist.reduce_scatter_tensor(o, tg.tensor(x[0] * 3))
    np.testing.assert_array_equal(o.numpy(), x[0] * 3)
    r = tg.tensor(x)
    dist.reduce(r, dst=0, op=dist.ReduceOp.MAX)
    np.testing.assert_array_equal(r.numpy(), x)
    g = [tg.zeros(2, 3)]
    dist.gather(tg.tensor(x + 1), g, dst=0)
    np.testing.assert_array_equal(g[0].numpy(), x + 1)
    s = tg.zeros(2, 3)
    dist.scatter(s, [tg.tensor(x + 2)], src=0)
    np.testing.assert_array_equal(s.numpy(), x + 2)
    dist.barrier()


@needs_mpi
def test_not_recorded_by_autograd(world):
    a = tg.ones(2, requires_grad=True)
    b = a * 2
    version = b._version
    dist.all_reduce(b)
    assert b.grad_fn is not None and b._version == version  # (as PyTorch: outside autograd)
    dist.all_reduce(a)  # a leaf that requires grad: allowed, as in PyTorch
    b.sum().backward()
    assert a.grad.tolist() == [2.0, 2.0]


@needs_mpi
def test_non_contiguous_tensors_are_staged_and_written_back(world):
    base = arange(3, 4)
    t = base.t()  # a view: not contiguous
    assert not t.is_contiguous()
    dist.all_reduce(t, op=dist.ReduceOp.AVG)
    np.testing.assert_array_equal(base.numpy(), np.arange(12.0).reshape(3, 4))
    out = [tg.zeros(4, 3).t()]  # the output of a list form, not contiguous either
    dist.all_gather(out, arange(3, 4))
    np.testing.assert_array_equal(out[0].numpy(), np.arange(12.0).reshape(3, 4))


@needs_mpi
def test_dtypes_that_mpi_lacks(world):
    h = tg.tensor([1.5, -2.0], dtype=tg.float16)
    dist.all_reduce(h, op=dist.ReduceOp.AVG)  # (reduced in a float32 copy)
    assert h.dtype == tg.float16 and h.tolist() == [1.5, -2.0]
    b = tg.tensor([True, False])
    dist.all_reduce(b)  # SUM of bools: a logical or
    assert b.tolist() == [True, False]
    dist.all_reduce(b, op=dist.ReduceOp.PRODUCT)
    assert b.tolist() == [True, False]
    i = tg.tensor([3, 4])
    dist.all_reduce(i, op=dist.ReduceOp.MAX)
    assert i.tolist() == [3, 4]
    with pytest.raises(RuntimeError, match="AVG needs a floating-point tensor"):
        dist.all_reduce(i, op=dist.ReduceOp.AVG)
    u = tg.tensor([1, 2], dtype=tg.uint8)
    dist.broadcast(u, src=0)
    assert u.tolist() == [1, 2]


@needs_mpi
def test_async_work(world):
    t = arange(4)
    work = dist.all_reduce(t, async_op=True)
    assert isinstance(work, dist.Work)
    assert work.wait() is True and work.is_completed() and work.is_success()
    assert work.exception() is None
    staged = arange(2, 2).t()  # written back when the work completes
    work = dist.broadcast(staged, src=0, async_op=True)
    work.wait()
    np.testing.assert_array_equal(staged.numpy(), np.arange(4.0).reshape(2, 2).T)
    assert dist.barrier(async_op=True).wait()


@needs_mpi
def test_argument_errors_as_torch(world):
    t = tg.ones(3)
    with pytest.raises(TypeError, match="Expected parameter `tensor` of type Tensor"):
        dist.all_reduce([t])
    with pytest.raises(TypeError, match="ReduceOp"):
        dist.all_reduce(t, op="sum")
    with pytest.raises(RuntimeError, match="expected one per rank"):
        dist.all_gather([tg.zeros(3), tg.zeros(3)], t)
    with pytest.raises(RuntimeError, match=r"invalid tensor size at index 0 \(expected \(3,\)"):
        dist.all_gather([tg.zeros(2)], t)
    with pytest.raises(ValueError, match="different dtypes"):
        dist.all_gather([tg.zeros(3, dtype=tg.int64)], t)
    with pytest.raises(ValueError, match="Must specify global_rank or group_rank"):
        dist.broadcast(t)
    with pytest.raises(RuntimeError, match="invalid root rank: 1"):
        dist.broadcast(t, src=1)
    with pytest.raises(ValueError, match="Invalid destination rank"):
        dist.send(t, 0)
    with pytest.raises(ValueError, match="Invalid source rank"):
        dist.recv(t, 0)
    with pytest.raises(ValueError, match="``gather_list`` must be specified on destination"):
        dist.gather(t, None, dst=0)
    with pytest.raises(ValueError, match="``scatter_list`` must be specified on source"):
        dist.scatter(t, None, src=0)
    with pytest.raises(ValueError, match="world_size times input tensor size"):
        dist.all_gather_into_tensor(tg.zeros(4), t)
    with pytest.raises(ValueError, match="output size times world size"):
        dist.reduce_scatter_tensor(tg.zeros(2), t)
    with pytest.raises(ValueError, match="only the default group"):
        dist.all_reduce(t, group=object())


@needs_mpi
def test_gpu_tensors_need_a_gpu_or_fall_back_with_a_warning(world, device):
    """On a GPU (or the emulator) the "mpi" backend sends CUDA tensors through host memory,
    saying so once; on the CPU this is the plain path."""
    t = tg.arange(4.0, device=device)
    if device == "cpu":
        dist.all_reduce(t)
    else:
        from tinygrad_edu.distributed import process_group

        process_group._world.warned = False
        with pytest.warns(UserWarning, match="CUDA tensors go through MPI with a copy"):
            dist.all_reduce(t, op=dist.ReduceOp.AVG)
        mixed = [tg.zeros(4)]
        with pytest.raises(RuntimeError, match="must all be on one device"):
            dist.all_gather(mixed, t)
        out = [tg.zeros(4, device=device)]
        dist.all_gather(out, t)
        np.testing.assert_array_equal(out[0].cpu().numpy(), np.arange(4.0))
    assert t.device == tg.device(device)
    np.testing.assert_array_equal(t.cpu().numpy(), np.arange(4.0))


def test_file_store(tmp_path):
    store = dist.FileStore(str(tmp_path / "store"), 2)
    store.set("a", "1")
    store.set("b", b"\x00\xff")
    store.set("a", "2")
    assert store.get("a") == b"2" and store.get("b") == b"\x00\xff"
    with pytest.raises(RuntimeError, match="timed out"):
        store.wait(["c"], timeout=datetime.timedelta(seconds=0.05))
