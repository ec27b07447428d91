"""tg.cuda.make_graphed_callables (tinygrad_edu/cuda_capture.py): graphed callables give what
the eager ones give, outputs and gradients, call after call with new inputs; and what a
capture must keep alive or must not do (device constants evicted from their cache, zeros
copied from the host). The cases run on every CUDA device of the `device` fixture (in CI:
the emulated CuPy, tests/cupy_emulator.py); on the CPU only the errors are checked."""

from __future__ import annotations

import gc

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import backend, nn


def _cuda_only(device: str) -> None:
    if device == "cpu":
        pytest.skip("CUDA graphs capture GPU work")


def _mlp(device: str, dropout: float = 0.0) -> nn.Module:
    tg.manual_seed(0)
    return nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Dropout(dropout),
                         nn.Linear(16, 3)).to(device)


def _data(steps: int, shape: tuple = (8, 5)) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(0)
    return [(rng.standard_normal(shape).astype(np.float32), rng.integers(0, 3, shape[0]))
            for _ in range(steps)]


def _train(model: nn.Module, device: str, data: list, graphed: bool
           ) -> tuple[list[float], list[np.ndarray]]:
    """A training loop (SGD with momentum) on `model`, made graphed first if asked."""
    opt = tg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    if graphed:
        model = tg.cuda.make_graphed_callables(model, (tg.zeros(8, 5, device=device),))
    losses = []
    for x, y in data:
        opt.zero_grad()
        out = model(tg.tensor(x, device=device))
        loss = nn.functional.cross_entropy(out, tg.tensor(y, device=device))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses, [p.detach().cpu().numpy() for p in model.parameters()]


def test_graphed_mlp_trains_exactly_as_the_eager_one(device: str) -> None:
    _cuda_only(device)
    data = _data(8)
    eager_losses, eager_params = _train(_mlp(device), device, data, graphed=False)
    model = _mlp(device)
    losses, params = _train(model, device, data, graphed=True)
    assert losses == eager_losses
    for p, q in zip(params, eager_params):
        np.testing.assert_array_equal(p, q)
    out = model(tg.ones(8, 5, device=device))
    assert out.grad_fn.name() == "GraphedBackward"


def test_graphed_function_gives_the_eager_outputs_and_gradients(device: str) -> None:
    """A function of three tensors (two require grad) returning a tuple: new inputs at every
    call, outputs and input gradients as eager. (As in PyTorch, the graphs differentiate
    with respect to the arguments only: a function's weights come in as arguments.)"""
    _cuda_only(device)
    w = tg.randn(4, 3, device=device, requires_grad=True)

    def f(x: tg.Tensor, scale: tg.Tensor, w: tg.Tensor) -> tuple[tg.Tensor, tg.Tensor]:
        h = (x @ w).tanh()
        return h * scale, (h.exp() * 0.5).sum(1)

    sample = (tg.zeros(2, 4, device=device, requires_grad=True), tg.ones(2, 3, device=device),
              tg.zeros(4, 3, device=device, requires_grad=True))
    graphed = tg.cuda.make_graphed_callables(f, sample)
    assert graphed.__name__ == "f"
    rng = np.random.default_rng(1)
    for _ in range(3):
        x_values = rng.standard_normal((2, 4)).astype(np.float32)
        scale = tg.tensor(rng.standard_normal((2, 3)).astype(np.float32), device=device)
        results = []
        for fn in (f, graphed):
            x = tg.tensor(x_values, device=device, requires_grad=True)
            w.grad = None
            a, b = fn(x, scale, w)
            (a.sum() + (b * b).sum()).backward()
            results.append([t.detach().cpu().numpy() for t in (a, b, x.grad, w.grad)])
        for got, want in zip(results[1], results[0]):
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    assert sample[0].grad is None  # (the static inputs get no .grad: the callers' tensors do)


def test_the_graphs_run_only_in_the_training_mode_they_were_captured_in(device: str) -> None:
    """PyTorch's rule: a Module's graphed forward runs while module.training is as at capture
    (here: training, with dropout), the original forward otherwise."""
    _cuda_only(device)
    model = _mlp(device, dropout=0.5)
    reference = _mlp(device, dropout=0.5).eval()
    tg.cuda.make_graphed_callables(model, (tg.zeros(8, 5, device=device),))
    x = tg.randn(8, 5, device=device)
    assert model(x).grad_fn.name() == "GraphedBackward"
    model.eval()
    out = model(x)
    assert out.grad_fn.name() != "GraphedBackward"
    np.testing.assert_array_equal(out.detach().cpu().numpy(),
                                  reference(x).detach().cpu().numpy())
    model.train()
    assert model(x).grad_fn.name() == "GraphedBackward"


def test_a_tuple_of_callables_shares_one_pool_and_chains(device: str) -> None:
    _cuda_only(device)
    tg.manual_seed(0)
    first, second = nn.Linear(5, 6).to(device), nn.Linear(6, 2).to(device)
    tg.manual_seed(0)
    first_eager, second_eager = nn.Linear(5, 6).to(device), nn.Linear(6, 2).to(device)
    pool = tg.cuda.graph_pool_handle()
    h = tg.zeros(3, 6, device=device, requires_grad=True)
    first, second = tg.cuda.graphs.make_graphed_callables(
        (first, second), ((tg.zeros(3, 5, device=device),), (h,)), pool=pool)
    for seed in range(3):
        x = tg.tensor(np.random.default_rng(seed).standard_normal((3, 5)).astype(np.float32),
                      device=device)
        grads = []
        for a, b in ((first, second), (first_eager, second_eager)):
            a.zero_grad()
            b.zero_grad()
            b(a(x).relu()).square().sum().backward()
            grads.append([p.grad.cpu().numpy() for p in (*a.parameters(), *b.parameters())])
        for got, want in zip(*grads):
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


def test_grad_is_never_the_memory_a_replay_writes(device: str) -> None:
    """The backward graph writes its gradients into static tensors; .grad gets copies (as
    DESIGN.md asks), so a .grad kept from one step is not changed by the next."""
    _cuda_only(device)
    model = _mlp(device)
    tg.cuda.make_graphed_callables(model, (tg.zeros(8, 5, device=device),))
    model(tg.randn(8, 5, device=device)).sum().backward()
    kept = model[0].weight.grad
    before = kept.cpu().numpy()
    model.zero_grad()
    model(tg.randn(8, 5, device=device)).square().sum().backward()
    np.testing.assert_array_equal(kept.cpu().numpy(), before)
    assert not np.array_equal(model[0].weight.grad.cpu().numpy(), before)


def test_backward_of_an_overwritten_call_and_double_backward_raise(device: str) -> None:
    _cuda_only(device)
    model = _mlp(device)
    tg.cuda.make_graphed_callables(model, (tg.zeros(8, 5, device=device),))
    first = model(tg.randn(8, 5, device=device)).sum()
    model(tg.randn(8, 5, device=device))  # replays the forward: the first call's values go
    with pytest.raises(RuntimeError, match="after a later call"):
        first.backward()
    out = model(tg.randn(8, 5, device=device)).sum()
    with pytest.raises(RuntimeError, match="once_differentiable"):
        out.backward(create_graph=True)


def test_errors_as_pytorch(device: str) -> None:
    model = _mlp(device)
    sample = (tg.zeros(8, 5, device=device),)
    with pytest.raises(AssertionError, match="only Tensors"):
        tg.cuda.make_graphed_callables(model, (tg.zeros(8, 5, device=device), 3))
    with pytest.raises(TypeError, match="tuple of tensors"):
        tg.cuda.make_graphed_callables(model, sample[0])
    handle = model.register_forward_hook(lambda module, args, output: None)
    with pytest.raises(AssertionError, match="must not have hooks"):
        tg.cuda.make_graphed_callables(model, sample)
    handle.remove()
    norm = nn.BatchNorm1d(5).to(device)
    norm.running_mean.requires_grad_()
    with pytest.raises(AssertionError, match="only parameters may be trainable"):
        tg.cuda.make_graphed_callables(norm, sample)
    if device == "cpu":
        with pytest.raises(RuntimeError, match="must be CUDA tensors"):
            tg.cuda.make_graphed_callables(model, sample)


def test_signature_and_namespace_follow_pytorch() -> None:
    torch = pytest.importorskip("torch")
    import inspect  # noqa: PLC0415

    ours = inspect.signature(tg.cuda.make_graphed_callables).parameters
    theirs = inspect.signature(torch.cuda.make_graphed_callables).parameters
    assert [(p.name, p.default) for p in ours.values()] == [
        (p.name, p.default) for p in theirs.values()]
    for name in torch.cuda.graphs.__all__:
        assert hasattr(tg.cuda.graphs, name), name
    assert tg.cuda.graphs.make_graphed_callables is tg.cuda.make_graphed_callables
    assert tg.cuda.graphs.CUDAGraph is tg.cuda.CUDAGraph


# ---------------------------------------------------------------------------------------------
# What a capture needs from the rest of the library
# ---------------------------------------------------------------------------------------------
def test_a_graph_keeps_the_device_constants_it_reads(device: str) -> None:
    """backend.device_constant caches 512 constants: more constants used after a capture
    evict (and free) those the graph reads, unless the graph holds them."""
    _cuda_only(device)
    x = tg.ones(3, device=device)
    x * 2.5 + 1.5, x * 3.5 + 4.5  # (warm: the constants are made before the capture)
    kept, lost = tg.cuda.CUDAGraph(), tg.cuda.CUDAGraph()
    with tg.cuda.graph(kept, stream=tg.cuda.Stream(device)):
        y = x * 2.5 + 1.5
    with tg.cuda.graph(lost, stream=tg.cuda.Stream(device)):
        x * 3.5 + 4.5
    lost._constants.clear()  # a graph that would not hold them (the code before this fix)
    for i in range(600):  # 600 other constants: those above leave the cache
        x + float(1000 + i)
    assert backend.device_constant.cache_info().currsize == 512
    gc.collect()
    x.copy_(tg.full((3,), 2.0, device=device))
    kept.replay()
    np.testing.assert_array_equal(y.cpu().numpy(), [6.5, 6.5, 6.5])
    cupy = pytest.importorskip("cupy")
    if getattr(cupy, "emulated", False):  # (a GPU would read freed memory, unchecked)
        with pytest.raises(cupy.cuda.runtime.CUDARuntimeError, match="IllegalAddress"):
            lost.replay()


class _TwoOutputs(tg.autograd.Function):
    """(2x, x^2): a custom Function with two outputs, of which the loss below uses one."""

    @staticmethod
    def forward(ctx: object, x: tg.Tensor) -> tuple[tg.Tensor, tg.Tensor]:
        ctx.save_for_backward(x)
        return x * 2, x * x

    @staticmethod
    def backward(ctx: object, grad_double: tg.Tensor, grad_square: tg.Tensor) -> tg.Tensor:
        (x,) = ctx.saved_tensors
        return grad_double * 2 + grad_square * 2 * x


def test_backward_of_an_unused_output_captures(device: str) -> None:
    """The gradient of an output that got none is made as zeros on the device (autograd's
    _zeros), not copied from the host, which would break the capture."""
    _cuda_only(device)
    x = tg.tensor([1.0, -2.0, 3.0], device=device, requires_grad=True)

    def loss() -> None:
        x.grad = None
        doubled, _ = _TwoOutputs.apply(x)
        (doubled * 3.0).sum().backward()

    loss()  # (warm up)
    g = tg.cuda.CUDAGraph()
    with tg.cuda.graph(g, stream=tg.cuda.Stream(device)):
        loss()
    g.replay()
    np.testing.assert_array_equal(x.grad.cpu().numpy(), [6.0, 6.0, 6.0])
