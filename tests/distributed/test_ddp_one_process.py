"""tg.nn.parallel.DistributedDataParallel with world size 1, in this process (issue 20): the
module's interface, buckets, overlap, no_sync, unused parameters and their errors, as
PyTorch's DDP. Two processes: test_mpirun.py."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.distributed as dist
from tinygrad_edu import nn
from tinygrad_edu.nn.parallel import DistributedDataParallel as DDP

pytestmark = pytest.mark.skipif(not dist.is_mpi_available(), reason="mpi4py is not installed")


@pytest.fixture(autouse=True)
def world():
    dist.init_process_group("mpi")
    yield
    dist.destroy_process_group()


def mlp(seed=0):
    tg.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 2))


class TwoHeads(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(3, 2), nn.Linear(3, 2)
        self.bn = nn.BatchNorm1d(2)

    def forward(self, x):
        return self.bn(self.a(x))  # b is not used


X = tg.tensor(np.linspace(-1, 1, 12).reshape(4, 3), dtype=tg.float32)


def test_module_interface_as_torch():
    model = TwoHeads()
    ddp = DDP(model)
    assert ddp.module is model
    assert list(ddp.state_dict()) == ["module." + k for k in model.state_dict()]
    assert repr(ddp).startswith("DistributedDataParallel(\n  (module): TwoHeads(")
    with pytest.raises(AttributeError, match="'DistributedDataParallel' object has no attribute"):
        ddp.a
    ddp.eval()
    assert not model.training and not model.bn.training
    with pytest.raises(RuntimeError, match="doesn't have any parameter that requires a gradient"):
        DDP(nn.Linear(2, 2).requires_grad_(False))
    with pytest.raises(ValueError, match="device_ids and output_device arguments only work"):
        DDP(nn.Linear(2, 2), device_ids=[0])


@pytest.mark.parametrize("cap_mb, as_view", [(None, False), (1e-6, False), (1e-6, True)],
                         ids=["one-bucket", "buckets", "bucket-views"])
def test_training_on_one_rank_is_plain_training(cap_mb, as_view):
    ddp_model, plain = mlp(), mlp()
    ddp = DDP(ddp_model, bucket_cap_mb=cap_mb, gradient_as_bucket_view=as_view)
    assert len(ddp.reducer.buckets) == (1 if cap_mb is None else 4)
    opt_a = tg.optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
    opt_b = tg.optim.SGD(plain.parameters(), lr=0.1, momentum=0.9)
    y = tg.tensor([0, 1, 1, 0])
    for step in range(5):
        for model, opt in ((ddp, opt_a), (plain, opt_b)):
            opt.zero_grad(set_to_none=step % 2 == 0)
            nn.functional.cross_entropy(model(X), y).backward()
            opt.step()
    for p, q in zip(ddp_model.parameters(), plain.parameters()):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-6, atol=1e-7)
    if as_view:  # the gradients live in the buckets
        flats = [b.flat.numpy() for b in ddp.reducer.buckets]
        assert all(any(np.shares_memory(p.grad.numpy(), f) for f in flats)
                   for p in ddp_model.parameters())


def test_buckets_start_during_backward(monkeypatch):
    """The last layer's bucket starts its all_reduce before the first layer's backward runs
    (communication overlaps the rest of backward); buckets start in order."""
    model = mlp()
    ddp = DDP(model, bucket_cap_mb=1e-6)  # one parameter per bucket: b2, W2, b1, W1
    log = []
    started = dist.all_reduce

    def logged(tensor, *args, **kwargs):
        log.append(next(i for i, b in enumerate(ddp.reducer.buckets) if b.flat is tensor))
        return started(tensor, *args, **kwargs)

    monkeypatch.setattr(dist, "all_reduce", logged)
    def on_output(module, inputs, out):  # its gradient hook runs just before its backward
        out.register_hook(lambda g: log.append("first layer"))

    model[0].register_forward_hook(on_output)
    ddp(X).sum().backward()
    assert log == [0, 1, "first layer", 2, 3]
    assert ddp.reducer.buckets[0].indices == [3]  # (the last parameter first)


def test_no_sync_accumulates_and_the_next_backward_averages():
    ddp_model, plain = mlp(), mlp()
    ddp = DDP(ddp_model)
    with ddp.no_sync():
        ddp(X).sum().backward()
        assert not ddp.reducer.expecting
    ddp((X * 2)).sum().backward()
    plain(X).sum().backward()
    plain(X * 2).sum().backward()
    for p, q in zip(ddp_model.parameters(), plain.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-6)


def test_an_unused_parameter_fails_the_next_iteration_as_torch():
    ddp = DDP(TwoHeads())
    ddp(X).sum().backward()
    assert ddp.module.b.weight.grad is None
    with pytest.raises(RuntimeError, match=r"(?s)Expected to have finished reduction in the "
                       r"prior iteration.*find_unused_parameters=True.*"
                       r"did not receive grad for rank 0: 2 3"):
        ddp(X)
    with tg.no_grad():
        ddp(X)  # (a forward without backward is fine: nothing to average)


@pytest.mark.parametrize("flag", ["find_unused_parameters", "static_graph"])
def test_find_unused_parameters(flag):
    model = TwoHeads()
    ddp = DDP(model, **{flag: True})
    for _ in range(3):
        ddp(X).sum().backward()
    assert model.b.weight.grad is None and model.b.bias.grad is None  # (used by no rank)
    assert model.a.weight.grad is not None


def test_a_parameter_used_outside_forward_is_marked_ready_twice():
    model = TwoHeads()
    ddp = DDP(model, find_unused_parameters=True)
    loss = ddp(X).sum() + (model.b.weight ** 2).sum()  # b counted as unused by the forward
    with pytest.raises(RuntimeError, match="Expected to mark a variable ready only once"):
        loss.backward()


def test_buffers_are_sent_only_with_several_ranks():
    ddp = DDP(TwoHeads())
    assert not ddp.will_sync_module_buffers()  # (one rank: nothing to send)
    assert ddp.broadcast_buffers and DDP(TwoHeads(), broadcast_buffers=False).broadcast_buffers \
        is False


def test_signature_as_torch():
    torch = pytest.importorskip("torch")
    import inspect

    ours = list(inspect.signature(DDP.__init__).parameters)
    theirs = list(inspect.signature(torch.nn.parallel.DistributedDataParallel.__init__).parameters)
    assert ours == theirs[:len(ours)]  # (torch's later ones, from delay_all_reduce_named_params
    #                                    on, are not provided)
    assert theirs[len(ours)] == "delay_all_reduce_named_params"
