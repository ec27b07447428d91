"""tg.compile (tinygrad_edu/cuda_capture.py): a compiled training step, warmed up, captured in
a CUDA graph and replayed, gives exactly the eager losses and parameters; what cannot be
captured runs eagerly with one warning and eager results; new signatures capture new graphs.
The GPU cases run on every CUDA device of the `device` fixture (in CI: the emulated CuPy);
on the CPU a compiled function simply runs eagerly."""

from __future__ import annotations

import inspect
import sys
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn


def _cuda_only(device: str) -> None:
    if device == "cpu":
        pytest.skip("CUDA graphs capture GPU work")


@pytest.fixture
def replays(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many graph replays and captures happen (counted as [replays, captures])."""
    counts = [0, 0]
    replay, begin = tg.cuda.CUDAGraph.replay, tg.cuda.CUDAGraph.capture_begin

    def counted_replay(self: tg.cuda.CUDAGraph) -> None:
        counts[0] += 1
        replay(self)

    def counted_begin(self: tg.cuda.CUDAGraph, *args: Any, **kwargs: Any) -> None:
        counts[1] += 1
        begin(self, *args, **kwargs)

    monkeypatch.setattr(tg.cuda.CUDAGraph, "replay", counted_replay)
    monkeypatch.setattr(tg.cuda.CUDAGraph, "capture_begin", counted_begin)
    return counts


def _model(device: str, net: str) -> nn.Module:
    tg.manual_seed(0)
    if net == "cnn":  # convolution, batch norm (running statistics), dropout
        return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                             nn.MaxPool2d(2), nn.Dropout(0.25), nn.Flatten(),
                             nn.Linear(36, 3)).to(device)
    return nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Linear(16, 3)).to(device)


_SHAPES = {"mlp": (8, 5), "cnn": (8, 1, 6, 6)}


def _data(steps: int, net: str = "mlp", batch: int = 8) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(0)
    shape = (batch, *_SHAPES[net][1:])
    return [(rng.standard_normal(shape).astype(np.float32), rng.integers(0, 3, batch))
            for _ in range(steps)]


def _run(device: str, data: list, compiled: bool, net: str = "mlp",
         make_step: Callable[..., Callable] | None = None, optimizer: str = "sgd",
         **compile_options: Any) -> tuple[list[float], list[np.ndarray]]:
    """Train on `data` with `make_step(model, opt)` (a whole step returning the loss),
    compiled or not; the losses and the state_dict (parameters and buffers) at the end."""
    model = _model(device, net)
    if optimizer == "sgd":
        opt = tg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    else:
        opt = tg.optim.Adam(model.parameters(), lr=0.01, capturable=optimizer == "capturable")
    step = (make_step or _whole_step)(model, opt)
    if compiled:
        step = tg.compile(step, **compile_options)
    losses = []
    for x, y in data:
        loss = step(tg.tensor(x, device=device), tg.tensor(y, device=device))
        losses.append(loss if isinstance(loss, float) else loss.item())
    return losses, [t.detach().cpu().numpy() for t in model.state_dict().values()]


def _whole_step(model: nn.Module, opt: tg.optim.Optimizer) -> Callable:
    loss_fn = nn.CrossEntropyLoss()

    def step(x: tg.Tensor, y: tg.Tensor) -> tg.Tensor:
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss
    return step


def _assert_same(run: tuple, expected: tuple) -> None:
    assert run[0] == expected[0]  # exactly: the same kernels on the same data
    assert len(run[1]) == len(expected[1])
    for p, q in zip(run[1], expected[1]):
        np.testing.assert_array_equal(p, q)


@pytest.mark.parametrize("net", ["mlp", "cnn"])
def test_compiled_training_step_equals_the_eager_one(device: str, net: str,
                                                     replays: list[int]) -> None:
    """20 steps: 3 eager warm-up calls, one captured, 16 replays; the parameters and batch
    norm's statistics too, and dropout's random numbers drawn by the replays."""
    data = _data(20, net)
    eager = _run(device, data, compiled=False, net=net)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing falls back
        _assert_same(_run(device, data, compiled=True, net=net), eager)
    assert replays == ([0, 0] if device == "cpu" else [17, 1])


def test_capturable_adam_step_equals_the_eager_one(device: str) -> None:
    _cuda_only(device)
    data = _data(20)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (capturable=True without a capture warns)
        eager = _run(device, data, compiled=False, optimizer="capturable")
    _assert_same(_run(device, data, compiled=True, optimizer="capturable"), eager)


def test_non_capturable_adam_falls_back_to_the_eager_step(device: str) -> None:
    _cuda_only(device)
    data = _data(8)
    eager = _run(device, data, compiled=False, optimizer="adam")
    with pytest.warns(UserWarning, match="runs eagerly.*capturable is False") as caught:
        _assert_same(_run(device, data, compiled=True, optimizer="adam"), eager)
    assert len([w for w in caught if "tg.compile" in str(w.message)]) == 1


def _reading_step(model: nn.Module, opt: tg.optim.Optimizer) -> Callable:
    """A step that reads the loss back (.item()) after the update: cannot be captured."""
    step = _whole_step(model, opt)
    return lambda x, y: step(x, y).item()


def _rebinding_step(model: nn.Module, opt: tg.optim.Optimizer) -> Callable:
    """Plain SGD that gives each parameter a new array (p.data = ...), then a host read: by
    then the broken capture has rebound the parameters to memory of its own. The fallback
    must put them back before it runs the eager step, or that step would start from there."""
    loss_fn = nn.CrossEntropyLoss()

    def step(x: tg.Tensor, y: tg.Tensor) -> float:
        model.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        for p in model.parameters():
            p.data = p.data - 0.1 * p.grad
        return float(loss)
    return step


def _host_effect_step(model: nn.Module, opt: tg.optim.Optimizer) -> Callable:
    """A whole step that also counts its calls in a Python attribute of the model: a replay
    would not count."""
    step = _whole_step(model, opt)

    def counting(x: tg.Tensor, y: tg.Tensor) -> tg.Tensor:
        model.steps = getattr(model, "steps", 0) + 1
        return step(x, y)
    return counting


@pytest.mark.parametrize("make_step", [_reading_step, _rebinding_step])
def test_a_host_read_falls_back_to_eager_with_one_warning(device: str, replays: list[int],
                                                          make_step: Callable) -> None:
    data = _data(10)
    eager = _run(device, data, compiled=False, make_step=make_step)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _assert_same(_run(device, data, compiled=True, make_step=make_step), eager)
    messages = [str(w.message) for w in caught if "tg.compile" in str(w.message)]
    if device == "cpu":
        assert messages == [] and replays == [0, 0]  # (the CPU: nothing to capture)
        return
    assert len(messages) == 1
    assert "runs eagerly" in messages[0] and "capture was broken by" in messages[0]
    assert "test_compile.py" in messages[0]  # where: the line of the step that read back
    assert replays == [0, 1]  # one attempt, then eager


def test_a_change_that_a_replay_would_not_make_falls_back(device: str) -> None:
    _cuda_only(device)
    data = _data(8)
    eager = _run(device, data, compiled=False, make_step=_host_effect_step)
    with pytest.warns(UserWarning, match="sets the attribute 'steps' of a Sequential"):
        _assert_same(_run(device, data, compiled=True, make_step=_host_effect_step), eager)

    def quiet_rebinding(model: nn.Module, opt: tg.optim.Optimizer) -> Callable:
        """Plain SGD by p.data = ... without a host read: the capture succeeds, but each
        replay would read the parameters' memory of before the capture and write new."""
        loss_fn = nn.CrossEntropyLoss()

        def step(x: tg.Tensor, y: tg.Tensor) -> tg.Tensor:
            model.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            for p in model.parameters():
                p.data = p.data - 0.1 * p.grad
            return loss
        return step

    eager = _run(device, data, compiled=False, make_step=quiet_rebinding)
    with pytest.warns(UserWarning, match="new memory"):
        _assert_same(_run(device, data, compiled=True, make_step=quiet_rebinding), eager)


def test_anomaly_detection_and_the_profiler_run_eagerly_with_one_warning(
        device: str, replays: list[int]) -> None:
    _cuda_only(device)
    data = _data(6)
    eager = _run(device, data, compiled=False)
    for context, reason in ((tg.autograd.detect_anomaly, "anomaly detection"),
                            (tg.profiler.profile, "profiler")):
        with context(), pytest.warns(UserWarning, match=reason) as caught:
            _assert_same(_run(device, data, compiled=True), eager)
        assert len([w for w in caught if "tg.compile" in str(w.message)]) == 1
    assert replays == [0, 0]


def test_disabled_or_eager_backends_run_eagerly_without_warning(device: str,
                                                                replays: list[int]) -> None:
    data = _data(6)
    eager = _run(device, data, compiled=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for options in ({"disable": True}, {"backend": "eager"},
                        {"mode": "max-autotune-no-cudagraphs"}):
            _assert_same(_run(device, data, compiled=True, **options), eager)
    assert replays == [0, 0]


def test_a_new_signature_captures_a_new_graph_up_to_the_limit(device: str,
                                                              replays: list[int]) -> None:
    _cuda_only(device)
    data = _data(6) + _data(6, batch=4) + _data(6)  # batch 8, then 4, then 8 again
    eager = _run(device, data, compiled=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _assert_same(_run(device, data, compiled=True), eager)
    assert replays == [3 + 3 + 6, 2]  # two graphs; the third run of 6 all replays
    replays[:] = [0, 0]
    with pytest.warns(UserWarning, match="recompile_limit") as caught:
        _assert_same(_run(device, data, compiled=True, recompile_limit=1), eager)
    assert len([w for w in caught if "tg.compile" in str(w.message)]) == 1
    assert replays == [3 + 6, 1]


def test_fullgraph_raises_what_broke_the_capture(device: str) -> None:
    _cuda_only(device)
    with pytest.raises(RuntimeError, match=r"fullgraph=True.*capture was broken by .*item"):
        _run(device, _data(4), compiled=True, make_step=_reading_step, fullgraph=True)


def test_outputs_are_the_graphs_tensors_and_arguments_changed_in_place_are_copied_back(
        device: str) -> None:
    _cuda_only(device)

    @tg.compile(mode="reduce-overhead")
    def double_into(x: tg.Tensor, out: tg.Tensor) -> tuple[tg.Tensor, tg.Tensor]:
        out.copy_(x * 2)
        return (x + 1).exp(), out

    results = []
    for i in range(6):
        x = tg.full((3,), float(i), device=device)
        out = tg.zeros(3, device=device)
        y, same = double_into(x, out)
        assert same is out  # an argument returned: the caller's own tensor
        np.testing.assert_array_equal(out.cpu().numpy(), [2.0 * i] * 3)
        np.testing.assert_allclose(y.cpu().numpy(), [np.exp(i + 1.0)] * 3, rtol=1e-6)
        results.append(y)
    assert results[4] is results[5]  # replays return the same tensors: clone to keep one


def test_compiled_module_with_backward_outside_equals_eager(device: str,
                                                            replays: list[int]) -> None:
    """tg.compile(model): the forward's outputs need a backward, run by the caller: the
    backward is captured too (one GraphedBackward node), as make_graphed_callables does;
    eval mode is another signature."""
    data = _data(8)
    results = []
    for compiled in (False, True):
        model = _model(device, "mlp")
        opt = tg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        forward = tg.compile(model) if compiled else model
        losses = []
        for x, y in data:
            opt.zero_grad()
            loss = nn.functional.cross_entropy(forward(tg.tensor(x, device=device)),
                                               tg.tensor(y, device=device))
            loss.backward()
            opt.step()
            losses.append(loss.item())
        forward.eval()
        assert not model.training
        with tg.no_grad():
            evaluated = [forward(tg.tensor(x, device=device)).cpu().numpy() for x, _ in data]
        results.append((losses, [p.detach().cpu().numpy() for p in model.parameters()],
                        evaluated))
    assert results[1][0] == results[0][0]
    for got, want in zip(results[1][1] + results[1][2], results[0][1] + results[0][2]):
        np.testing.assert_array_equal(got, want)
    assert list(forward.state_dict()) == ["_orig_mod." + k for k in model.state_dict()]
    model.note = "mine"
    assert forward._orig_mod is model and forward.note == "mine"  # (the module's attributes)
    if device != "cpu":  # training: a forward and a backward graph; eval: one graph
        assert replays[1] == 3


def test_grads_reset_outside_the_step_are_seen(device: str, replays: list[int]) -> None:
    """A step without zero_grad, the caller setting .grad to None before each call: the
    graph makes the gradients from nothing, as the eager backward does, and each replay
    gives them back as .grad; a call that finds a .grad the graph would not add to (no
    zero_grad before it) is captured again, and after a few times runs eagerly."""
    _cuda_only(device)
    data = _data(20)
    results = []
    for compiled in (False, True):
        model = _model(device, "mlp")
        opt = tg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

        def step(x: tg.Tensor, y: tg.Tensor) -> tg.Tensor:
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            return loss

        step = tg.compile(step) if compiled else step
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            losses = []
            for i, (x, y) in enumerate(data):
                if i < 10 or i % 2:  # (from step 10 on: two backwards into each .grad)
                    opt.zero_grad(set_to_none=True)
                losses.append(step(tg.tensor(x, device=device),
                                   tg.tensor(y, device=device)).item())
        results.append((losses, [p.detach().cpu().numpy() for p in model.parameters()]))
    _assert_same(results[1], results[0])
    messages = [str(w.message) for w in caught if "tg.compile" in str(w.message)]
    assert len(messages) == 1 and "replaced between calls" in messages[0]
    assert replays == [1 + 6 + 1 + 1, 3]  # replays until step 10, then captures again


def test_api_follows_torch_compile() -> None:
    torch = pytest.importorskip("torch")
    ours = inspect.signature(tg.compile).parameters
    theirs = inspect.signature(torch.compile).parameters
    assert [(p.name, p.kind, p.default) for p in ours.values()] == [
        (p.name, p.kind, p.default) for p in theirs.values()]
    messages: list[str] = []
    for options in ({"mode": "reduce-overhead", "options": {}}, {"mode": "fast"},
                    {"backend": "nope"}):
        for compile_ in (tg.compile, torch.compile):
            with pytest.raises(RuntimeError) as info:
                compile_(lambda x: x, **options)
            messages.append(str(info.value).split(",")[0])
        assert messages[-1] == messages[-2]

    @tg.compile
    def f(x: tg.Tensor) -> tg.Tensor:
        """Doubles."""
        return x * 2

    assert f.__name__ == "f" and f.__doc__ == "Doubles."
    np.testing.assert_array_equal(f(tg.ones(2)).numpy(), [2.0, 2.0])  # (CPU: eager)


def _benchmark_steps() -> dict[str, Callable[..., Any]]:
    """The benchmark workloads (benchmarks/run.py), small: steps without arguments, whose
    tensors (the batch, the model) are the step's own, as in PyTorch's recipe."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    import run as bench  # noqa: PLC0415

    return {
        "W1 mlp": lambda device: bench.mlp(tg, device, batch=8),
        "W2 cnn": lambda device: bench.cnn(tg, device, batch=4),
        "W3 overhead": lambda device: bench.overhead(tg, device, length=10),
        "W5 gpt": lambda device: bench.gpt(tg, device, batch=2, block=8, n_embd=16, n_head=2,
                                           n_layer=1, capturable=True),
    }


@pytest.mark.parametrize("name", ["W1 mlp", "W2 cnn", "W3 overhead", "W5 gpt"])
def test_compiled_benchmark_steps_equal_the_eager_ones(device: str, name: str,
                                                       replays: list[int]) -> None:
    """A step without tensor arguments is captured too (its device is its model's); nothing
    in these models (batch norm, attention, a bare leaf tensor) makes it fall back."""
    _cuda_only(device)
    make = _benchmark_steps()[name]
    eager, compiled = make(device), make(device)
    if not hasattr(compiled, "watched"):
        pytest.skip("benchmarks/run.py has no `watched` on its steps")
    step = tg.compile(compiled)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", message="This instance was constructed with "
                                "capturable=True")  # (the eager steps of a capturable Adam)
        for _ in range(6):
            eager()
            step()
    for got, want in zip(compiled.watched(), eager.watched()):
        np.testing.assert_array_equal(got.detach().cpu().numpy(), want.detach().cpu().numpy())
    assert replays == [3, 1]
