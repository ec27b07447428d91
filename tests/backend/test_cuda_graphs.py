"""CUDA graphs (tinygrad_edu/backends/cuda_graphs.py): a captured step replays exactly what the
eager step computes. The cases run on every CUDA device of the `device` fixture (in CI: the
emulated CuPy, tests/cupy_emulator.py, which records and replays captures); on the CPU only
the errors without CuPy are checked."""

from __future__ import annotations

import gc

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import backend, nn


def _cuda_only(device: str) -> None:
    if device == "cpu":
        pytest.skip("CUDA graphs capture GPU work")


def _capture_stream(device: str) -> tg.cuda.Stream:
    return tg.cuda.Stream(device)


def _warm_up(device: str) -> None:
    """As PyTorch's notes say: run the code once before capturing it. (Here: the Python
    numbers of the captured ops become device constants, copied from the host once.)"""
    x = tg.ones(4, device=device)
    (x * 2 + 1).exp()
    x * 3 + x + 10.0


def test_without_cupy_graphs_raise_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backend, "_import_cupy", lambda: (None, "CuPy is not installed"))
    for make in (tg.cuda.CUDAGraph().capture_begin, tg.cuda.graph_pool_handle, tg.cuda.Stream):
        with pytest.raises(RuntimeError, match="needs CUDA.*CuPy is not installed"):
            make()
    with pytest.raises(RuntimeError, match="nothing has been captured"):
        tg.cuda.CUDAGraph().replay()


def test_captured_elementwise_function_replays_on_new_input(device: str) -> None:
    _cuda_only(device)
    _warm_up(device)
    static_x = tg.zeros(4, device=device)
    g = tg.cuda.CUDAGraph()
    with tg.cuda.graph(g, stream=_capture_stream(device)):
        static_y = (static_x * 2 + 1).exp()
    for values in ([0.0, 1.0, 2.0, 3.0], [-1.0, 0.5, 0.25, 4.0]):
        static_x.copy_(tg.tensor(values, device=device))
        g.replay()
        np.testing.assert_allclose(static_y.cpu().numpy(),
                                   np.exp(2 * np.array(values, dtype=np.float32) + 1),
                                   rtol=1e-6)
    assert repr(g) == "<tg.cuda.CUDAGraph (captured)>"
    g.reset()
    with pytest.raises(RuntimeError, match="nothing has been captured"):
        g.replay()


_SHAPES = {"mlp": (8, 5), "cnn": (8, 1, 6, 6)}


def _batches(steps: int, net: str = "mlp") -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(0)
    return [(rng.standard_normal(_SHAPES[net]).astype(np.float32), rng.integers(0, 3, 8))
            for _ in range(steps)]


def _model_and_optimizer(device: str, optimizer: str) -> tuple[nn.Module, tg.optim.Optimizer]:
    tg.manual_seed(0)
    if optimizer == "sgd, cnn":  # convolution, batch norm (running statistics), dropout
        model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                              nn.MaxPool2d(2), nn.Dropout(0.25), nn.Flatten(),
                              nn.Linear(36, 3)).to(device)
        return model, tg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model = nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Linear(16, 3)).to(device)
    if optimizer == "sgd":
        return model, tg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    return model, tg.optim.Adam(model.parameters(), lr=0.01)


def _eager(device: str, optimizer: str, batches: list) -> tuple[list[float], list[np.ndarray]]:
    model, opt = _model_and_optimizer(device, optimizer)
    loss_fn, losses = nn.CrossEntropyLoss(), []
    for x, y in batches:
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(tg.tensor(x, device=device)), tg.tensor(y, device=device))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses, [p.detach().cpu().numpy() for p in model.state_dict().values()]


def _captured(device: str, optimizer: str, batches: list,
              warmup: int = 3) -> tuple[list[float], list[np.ndarray]]:
    """PyTorch's "whole network capture" recipe (CUDA graphs notes), step for step."""
    model, opt = _model_and_optimizer(device, optimizer)
    loss_fn, losses = nn.CrossEntropyLoss(), []
    static_input = tg.zeros(batches[0][0].shape, device=device)
    static_target = tg.zeros(8, dtype=tg.int64, device=device)
    side = tg.cuda.Stream(device)
    side.wait_stream(tg.cuda.current_stream(device))
    with tg.cuda.stream(side):  # warm-up iterations: real training steps
        for x, y in batches[:warmup]:
            static_input.copy_(tg.tensor(x, device=device))
            static_target.copy_(tg.tensor(y, device=device))
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(static_input), static_target)
            loss.backward()
            opt.step()
            losses.append(loss.item())
    tg.cuda.current_stream(device).wait_stream(side)

    g = tg.cuda.CUDAGraph()
    opt.zero_grad(set_to_none=True)
    with tg.cuda.graph(g, stream=side):
        static_loss = loss_fn(model(static_input), static_target)
        static_loss.backward()
        opt.step()
    for x, y in batches[warmup:]:
        static_input.copy_(tg.tensor(x, device=device))
        static_target.copy_(tg.tensor(y, device=device))
        g.replay()
        losses.append(static_loss.item())
    return losses, [p.detach().cpu().numpy() for p in model.state_dict().values()]


@pytest.mark.parametrize("net", ["mlp", "cnn"])
def test_captured_sgd_momentum_step_equals_the_eager_loop(device: str, net: str) -> None:
    """Parameters and buffers (batch norm's statistics) too; dropout's random numbers are
    drawn by the replays as by the eager steps."""
    _cuda_only(device)
    batches = _batches(20 if net == "mlp" else 8, net)
    optimizer = "sgd" if net == "mlp" else "sgd, cnn"
    eager_losses, eager_params = _eager(device, optimizer, batches)
    losses, params = _captured(device, optimizer, batches)
    assert losses == eager_losses  # exactly: the same kernels on the same data
    for p, q in zip(params, eager_params):
        np.testing.assert_array_equal(p, q)


def test_capturing_a_step_of_adam_needs_capturable(device: str) -> None:
    """Adam's step count (and so its bias corrections) is a CPU number unless capturable=True:
    a capture would bake the captured step's into the graph, so stepping while a graph
    captures raises PyTorch's error (tests/backend/test_cuda_graphs_optim.py replays
    capturable optimizers and Tensor learning rates)."""
    _cuda_only(device)
    with pytest.raises(RuntimeError, match=r"^Attempting CUDA graph capture of step\(\) for an "
                       r"instance of Adam but param_groups' capturable is False\.$"):
        _captured(device, "adam", _batches(4))


def test_host_read_or_host_data_inside_capture_raise_a_clear_error(device: str) -> None:
    _cuda_only(device)
    _warm_up(device)
    x = tg.ones(3, device=device)
    stream = _capture_stream(device)
    with pytest.raises(RuntimeError, match=r"capture was broken by .*item.*called from "
                       r"test_cuda_graphs.py") as info:
        with tg.cuda.graph(tg.cuda.CUDAGraph(), stream=stream):
            (x * 2).sum().item()
    assert "StreamCapture" in str(info.value)
    with pytest.raises(RuntimeError, match="capture was broken by"):
        with tg.cuda.graph(tg.cuda.CUDAGraph(), stream=stream):
            x + tg.tensor(np.ones(3, dtype=np.float32), device=device)
    g = tg.cuda.CUDAGraph()  # the stream and the allocator are as before: capture again
    with tg.cuda.graph(g, stream=stream):
        y = x * 3
    g.replay()
    np.testing.assert_array_equal(y.cpu().numpy(), [3.0, 3.0, 3.0])


def test_capture_needs_a_side_stream_and_one_capture_per_graph(device: str) -> None:
    _cuda_only(device)
    _warm_up(device)
    g = tg.cuda.CUDAGraph()
    with pytest.raises(RuntimeError, match="non-default stream"):
        g.capture_begin()
    with pytest.raises(ValueError, match="capture_error_mode"):
        tg.cuda.graph(g, stream=_capture_stream(device), capture_error_mode="loose").__enter__()
    with pytest.raises(RuntimeError, match="no capture in progress"):
        g.capture_end()
    with tg.cuda.graph(g, stream=_capture_stream(device)):
        tg.ones(2, device=device) + 10.0
    with pytest.raises(RuntimeError, match="already been captured"):
        with tg.cuda.graph(g, stream=_capture_stream(device)):
            pass


def test_graphs_share_a_pool(device: str) -> None:
    _cuda_only(device)
    _warm_up(device)
    pool = tg.cuda.graph_pool_handle()
    first, second = tg.cuda.CUDAGraph(), tg.cuda.CUDAGraph()
    x = tg.arange(4, dtype=tg.float32, device=device)
    with tg.cuda.graph(first, pool=pool, stream=_capture_stream(device)):
        y = x + 10.0
    with tg.cuda.graph(second, pool=first.pool(), stream=_capture_stream(device)):
        z = y * 3
    assert first.pool() is pool and second.pool() is pool
    x.copy_(tg.full((4,), 10.0, device=device))
    first.replay()
    second.replay()
    np.testing.assert_array_equal(z.cpu().numpy(), [60.0] * 4)


def test_replay_after_a_buffer_it_uses_was_freed_raises() -> None:
    """Built directly on the emulated CuPy: a GPU would read freed memory."""
    cp = pytest.importorskip("cupy")
    if not getattr(cp, "emulated", False):
        pytest.skip("the emulated CuPy checks freed buffers; a GPU reads garbage")
    x = cp.arange(4, dtype=np.float32)
    pool, stream = cp.cuda.MemoryPool(), cp.cuda.Stream(non_blocking=True)
    with stream:
        cp.cuda.set_allocator(pool.malloc)
        stream.begin_capture()
        y = cp.exp(x * 2)
        graph = stream.end_capture()
        cp.cuda.set_allocator(None)
    graph.launch()
    np.testing.assert_allclose(y.get(), np.exp(2 * np.arange(4)), rtol=1e-6)
    del x  # the input, made before the capture: nothing keeps it
    gc.collect()
    with pytest.raises(cp.cuda.runtime.CUDARuntimeError, match="cudaErrorIllegalAddress.*freed"):
        graph.launch()


def test_signatures_follow_pytorch() -> None:
    torch = pytest.importorskip("torch")
    import inspect  # noqa: PLC0415

    def names(function: object) -> list[str]:
        return [p for p in inspect.signature(function).parameters if p not in ("self", "cls")]

    pairs = [(torch.cuda.graph.__init__, tg.cuda.graph.__init__),
             (torch.cuda.CUDAGraph.capture_begin, tg.cuda.CUDAGraph.capture_begin),
             (torch.cuda.CUDAGraph.__new__, tg.cuda.CUDAGraph.__init__),
             (torch.cuda.graph_pool_handle, tg.cuda.graph_pool_handle),
             (torch.cuda.current_stream, tg.cuda.current_stream),
             (torch.cuda.stream, tg.cuda.stream)]
    for theirs, ours in pairs:
        assert names(ours) == names(theirs), ours
    assert names(tg.cuda.Stream)[:2] == names(torch.cuda.Stream.__new__)[:2]
    for method in ("capture_begin", "capture_end", "replay", "reset", "pool", "instantiate"):
        assert hasattr(tg.cuda.CUDAGraph, method)


def test_a_caught_capture_error_still_fails_the_capture_and_other_errors_pass(
        device: str) -> None:
    _cuda_only(device)
    _warm_up(device)
    x = tg.ones(3, device=device)
    with pytest.raises(RuntimeError, match="capture was broken during the capture"):
        with tg.cuda.graph(tg.cuda.CUDAGraph(), stream=_capture_stream(device)):
            try:
                x.sum().item()
            except RuntimeError:
                pass  # (the capture is invalid all the same)
    with pytest.raises(KeyError, match="not about capture"):
        with tg.cuda.graph(tg.cuda.CUDAGraph(), stream=_capture_stream(device)):
            raise KeyError("not about capture")
    g = tg.cuda.CUDAGraph()
    with tg.cuda.graph(g, stream=_capture_stream(device)):
        y = x * 3
    g.replay()
    assert y.sum().item() == 9.0

