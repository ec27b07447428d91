"""Optimizers in a captured CUDA graph (issue 19): with capturable=True (the step count on the
device) and with a learning rate that is a Tensor on the GPU, which a scheduler changes in
place between replays, a training step captured once and replayed gives exactly what the
eager steps give (the same losses and parameters). PyTorch's "whole network capture" recipe,
run on every CUDA device of the `device` fixture (in CI: the emulated CuPy, which records and
replays captures)."""

from __future__ import annotations

import warnings
from typing import Callable

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn
from tinygrad_edu.optim import lr_scheduler

pytestmark = pytest.mark.filterwarnings(  # PyTorch's warning for the uncaptured steps
    "ignore:This instance was constructed with capturable=True:UserWarning")

STEPS, WARMUP = 20, 3


def _cuda_only(device: str) -> None:
    if device == "cpu":
        pytest.skip("CUDA graphs capture GPU work")


def _batches(steps: int = STEPS) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(0)
    return [(rng.standard_normal((8, 5)).astype(np.float32), rng.integers(0, 3, 8))
            for _ in range(steps)]


# (name, optimizer of the parameters and the device, scheduler of the optimizer or None)
Case = tuple[str, Callable, Callable | None]


def _lr(device: str, value: float) -> tg.Tensor:
    return tg.tensor(value, device=device)


CAPTURABLE: list[Case] = [
    ("Adam", lambda p, d: tg.optim.Adam(p, lr=0.01, capturable=True), None),
    ("Adam-amsgrad", lambda p, d: tg.optim.Adam(p, lr=0.01, amsgrad=True, weight_decay=0.01,
                                                 capturable=True), None),
    ("AdamW", lambda p, d: tg.optim.AdamW(p, lr=0.01, weight_decay=0.1, capturable=True), None),
    ("NAdam", lambda p, d: tg.optim.NAdam(p, lr=0.01, capturable=True), None),
    # (RAdam's rectified update starts at step 6, within the replays)
    ("RAdam", lambda p, d: tg.optim.RAdam(p, lr=0.01, capturable=True), None),
    ("Adamax", lambda p, d: tg.optim.Adamax(p, lr=0.01, capturable=True), None),
    # (their formulas do not use the step count; it counts on the device)
    ("RMSprop", lambda p, d: tg.optim.RMSprop(p, lr=0.01, capturable=True), None),
    ("RMSprop-centered-momentum", lambda p, d: tg.optim.RMSprop(
        p, lr=0.01, alpha=0.9, momentum=0.5, centered=True, weight_decay=0.01,
        capturable=True), None),
    ("Adadelta", lambda p, d: tg.optim.Adadelta(p, lr=0.5, weight_decay=0.01, capturable=True),
     None),
    ("Rprop", lambda p, d: tg.optim.Rprop(p, lr=0.01, maximize=False, capturable=True), None),
    # (eta decays at every step, mu < 1 from step 7: both computed on the device by the replays)
    ("ASGD", lambda p, d: tg.optim.ASGD(p, lr=0.05, lambd=0.1, t0=5, weight_decay=0.01,
                                        capturable=True), None),
]

SCHEDULED: list[Case] = [
    ("SGD-momentum-StepLR", lambda p, d: tg.optim.SGD(p, lr=_lr(d, 0.1), momentum=0.9),
     lambda o: lr_scheduler.StepLR(o, step_size=4, gamma=0.5)),
    ("Adam-CosineAnnealingLR", lambda p, d: tg.optim.Adam(p, lr=_lr(d, 0.02), capturable=True),
     lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=STEPS, eta_min=0.001)),
    ("AdamW-amsgrad-StepLR", lambda p, d: tg.optim.AdamW(p, lr=_lr(d, 0.02), amsgrad=True,
                                                         capturable=True),
     lambda o: lr_scheduler.StepLR(o, step_size=3, gamma=0.7)),
    ("RMSprop-momentum-StepLR", lambda p, d: tg.optim.RMSprop(p, lr=_lr(d, 0.01), momentum=0.9,
                                                               capturable=True),
     lambda o: lr_scheduler.StepLR(o, step_size=4, gamma=0.5)),
    ("ASGD-ExponentialLR", lambda p, d: tg.optim.ASGD(p, lr=_lr(d, 0.05), lambd=0.1, t0=5,
                                                      capturable=True),
     lambda o: lr_scheduler.ExponentialLR(o, gamma=0.9)),
]


def _setup(device: str, case: Case) -> tuple[nn.Module, tg.optim.Optimizer, object]:
    _, make_optimizer, make_scheduler = case
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Linear(16, 3)).to(device)
    optimizer = make_optimizer(model.parameters(), device)
    return model, optimizer, make_scheduler(optimizer) if make_scheduler else None


def _results(model: nn.Module, optimizer: tg.optim.Optimizer, losses: list[float],
             lrs: list[float]) -> dict:
    return {"losses": losses, "lrs": lrs,
            "params": [p.detach().cpu().numpy() for p in model.parameters()],
            "state": [{k: v.cpu().numpy() for k, v in s.items()}
                      for s in optimizer.state.values()]}


def _eager(device: str, case: Case, batches: list) -> dict:
    model, optimizer, scheduler = _setup(device, case)
    loss_fn, losses, lrs = nn.CrossEntropyLoss(), [], []
    for x, y in batches:
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(tg.tensor(x, device=device)), tg.tensor(y, device=device))
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        losses.append(loss.item())
        lrs.append(float(optimizer.param_groups[0]["lr"]))
    return _results(model, optimizer, losses, lrs)


def _captured(device: str, case: Case, batches: list) -> dict:
    """PyTorch's recipe: warm-up steps on a side stream, one captured step, replays with new
    data copied into the static inputs; the scheduler steps after every step, outside the
    graph (filling the Tensor lr in place)."""
    model, optimizer, scheduler = _setup(device, case)
    loss_fn, losses, lrs = nn.CrossEntropyLoss(), [], []
    static_input = tg.zeros(8, 5, device=device)
    static_target = tg.zeros(8, dtype=tg.int64, device=device)
    lr_tensor = optimizer.param_groups[0]["lr"]

    def after_the_step(loss: tg.Tensor) -> None:
        if scheduler is not None:
            scheduler.step()
        losses.append(loss.item())
        lrs.append(float(optimizer.param_groups[0]["lr"]))

    side = tg.cuda.Stream(device)
    side.wait_stream(tg.cuda.current_stream(device))
    with tg.cuda.stream(side):
        for x, y in batches[:WARMUP]:
            static_input.copy_(tg.tensor(x, device=device))
            static_target.copy_(tg.tensor(y, device=device))
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(static_input), static_target)
            loss.backward()
            optimizer.step()
            after_the_step(loss)
    tg.cuda.current_stream(device).wait_stream(side)

    graph = tg.cuda.CUDAGraph()
    optimizer.zero_grad(set_to_none=True)
    with tg.cuda.graph(graph, stream=side):
        static_loss = loss_fn(model(static_input), static_target)
        static_loss.backward()
        optimizer.step()
    for x, y in batches[WARMUP:]:
        static_input.copy_(tg.tensor(x, device=device))
        static_target.copy_(tg.tensor(y, device=device))
        graph.replay()
        after_the_step(static_loss)
    if isinstance(lr_tensor, tg.Tensor):  # filled in place: the graph's lr, not a new one
        assert optimizer.param_groups[0]["lr"] is lr_tensor
    return _results(model, optimizer, losses, lrs)


def _assert_equal(captured: dict, eager: dict) -> None:
    assert captured["losses"] == eager["losses"]  # exactly: the same kernels on the same data
    assert captured["lrs"] == eager["lrs"]
    for p, q in zip(captured["params"], eager["params"]):
        np.testing.assert_array_equal(p, q)
    for state, eager_state in zip(captured["state"], eager["state"]):
        assert state.keys() == eager_state.keys()
        for key in state:
            np.testing.assert_array_equal(state[key], eager_state[key], err_msg=key)


@pytest.mark.parametrize("case", CAPTURABLE, ids=[c[0] for c in CAPTURABLE])
def test_captured_capturable_step_equals_the_eager_loop(device: str, case: Case) -> None:
    """20 steps, 17 of them replays: the step count goes on on the device (state["step"] is
    20 at the end) and every replay computes that step's bias corrections (a graph that had
    baked in those of step 4 would differ from the eager steps)."""
    _cuda_only(device)
    batches = _batches()
    eager = _eager(device, case, batches)
    captured = _captured(device, case, batches)
    _assert_equal(captured, eager)
    assert all(s["step"] == STEPS for s in captured["state"])
    if case[0] == "ASGD":  # eta and mu as the eager steps left them (the replays set them)
        assert all(s["mu"] == np.float32(1 / (STEPS - 5)) for s in captured["state"])
        assert all(s["eta"] < 0.05 for s in captured["state"])


@pytest.mark.parametrize("case", SCHEDULED, ids=[c[0] for c in SCHEDULED])
def test_a_tensor_lr_changed_by_a_scheduler_is_read_by_every_replay(device: str,
                                                                    case: Case) -> None:
    """lr is a 0-d Tensor on the GPU; the scheduler fills it in place after every step (as
    PyTorch's schedulers do with a Tensor lr); each replay reads its current value."""
    _cuda_only(device)
    batches = _batches()
    eager = _eager(device, case, batches)
    captured = _captured(device, case, batches)
    _assert_equal(captured, eager)
    assert len(set(captured["lrs"][WARMUP:])) > 3  # the schedule did change the lr meanwhile
    _, make_optimizer, _ = case  # the same steps without the schedule end elsewhere
    constant = _eager(device, (case[0], make_optimizer, None), batches)
    assert constant["losses"][WARMUP + 2:] != eager["losses"][WARMUP + 2:]


NOT_CAPTURABLE = [tg.optim.Adam, tg.optim.AdamW, tg.optim.NAdam, tg.optim.RAdam,
                  tg.optim.Adamax, tg.optim.RMSprop, tg.optim.Adadelta, tg.optim.Rprop,
                  tg.optim.ASGD]


@pytest.mark.parametrize("cls", NOT_CAPTURABLE, ids=lambda c: c.__name__)
def test_stepping_a_capturable_false_optimizer_in_a_capture_raises(device: str, cls) -> None:
    """PyTorch's error, before anything is updated; another group's capturable=True is not
    enough."""
    _cuda_only(device)
    p = tg.ones(3, device=device, requires_grad=True)
    q = tg.ones(2, device=device, requires_grad=True)
    optimizer = cls([{"params": [p], "capturable": True}, {"params": [q]}])
    p.grad, q.grad = tg.ones(3, device=device), tg.ones(2, device=device)
    x = tg.ones(2, device=device)
    x * 2  # (the captured op's constant is on the device before the capture)
    with pytest.raises(RuntimeError, match=rf"^Attempting CUDA graph capture of step\(\) for an "
                       rf"instance of {cls.__name__} but param_groups' capturable is False\.$"):
        with tg.cuda.graph(tg.cuda.CUDAGraph(), stream=tg.cuda.Stream(device)):
            x * 2
            optimizer.step()
    assert not optimizer.state
    np.testing.assert_array_equal(p.detach().cpu().numpy(), [1.0, 1.0, 1.0])


@pytest.mark.parametrize("cls", NOT_CAPTURABLE, ids=lambda c: c.__name__)
def test_a_capturable_step_outside_a_capture_warns_once(device: str, cls) -> None:
    """As PyTorch (where CUDA is available): capturable=True costs device work that only a
    capture needs."""
    _cuda_only(device)
    p = tg.ones(3, device=device, requires_grad=True)
    p.grad = tg.ones(3, device=device)
    optimizer = cls([p], capturable=True)
    with pytest.warns(UserWarning, match="capturable=True can impair performance"):
        optimizer.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        optimizer.step()


# ---------------------------------------------------------------------------------------------
# tg.compile of a whole step with these optimizers
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def replays(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many graph replays happen (a list of one count)."""
    counts = [0]
    replay = tg.cuda.CUDAGraph.replay

    def counted(self: tg.cuda.CUDAGraph) -> None:
        counts[0] += 1
        replay(self)

    monkeypatch.setattr(tg.cuda.CUDAGraph, "replay", counted)
    return counts


def _compiled_run(device: str, make_optimizer: Callable, compiled: bool,
                  steps: int = STEPS) -> dict:
    """`steps` calls of a whole training step (zero_grad, forward, backward, step), through
    tg.compile or not."""
    model, optimizer, _ = _setup(device, ("", make_optimizer, None))
    loss_fn = nn.CrossEntropyLoss()

    def train_step(x: tg.Tensor, y: tg.Tensor) -> tg.Tensor:
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss

    step = tg.compile(train_step) if compiled else train_step
    losses = [step(tg.tensor(x, device=device), tg.tensor(y, device=device)).item()
              for x, y in _batches(steps)]
    return _results(model, optimizer, losses, [])


COMPILED = [
    ("RMSprop", lambda p, c: tg.optim.RMSprop(p, lr=0.01, momentum=0.5, centered=True,
                                              capturable=c)),
    ("Adadelta", lambda p, c: tg.optim.Adadelta(p, lr=0.5, capturable=c)),
    ("Rprop", lambda p, c: tg.optim.Rprop(p, lr=0.01, capturable=c)),
    ("ASGD", lambda p, c: tg.optim.ASGD(p, lr=0.05, lambd=0.1, t0=5, capturable=c)),
]


@pytest.mark.parametrize("name,make", COMPILED, ids=[c[0] for c in COMPILED])
def test_a_compiled_step_with_capturable_true_replays_the_eager_steps(device: str, name: str,
                                                                      make: Callable,
                                                                      replays: list[int]
                                                                      ) -> None:
    """3 eager warm-up calls, then 17 replays (the first of the graph captured at call 4):
    exactly the eager losses, parameters and state (the step counts, ASGD's eta and mu,
    carried on by the replays)."""
    _cuda_only(device)
    eager = _compiled_run(device, lambda p, d: make(p, True), compiled=False)
    replays[0] = 0
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="tg.compile")  # nothing falls back
        compiled = _compiled_run(device, lambda p, d: make(p, True), compiled=True)
    assert replays[0] == STEPS - WARMUP
    _assert_equal(compiled, eager)
    assert all(s["step"] == STEPS for s in compiled["state"])


@pytest.mark.parametrize("name,make", COMPILED, ids=[c[0] for c in COMPILED])
def test_a_compiled_step_with_capturable_false_runs_eagerly(device: str, name: str,
                                                            make: Callable,
                                                            replays: list[int]) -> None:
    """The optimizer refuses the capture (torch's error): tg.compile warns once and runs
    every call eagerly, with the eager results."""
    _cuda_only(device)
    steps = 8
    eager = _compiled_run(device, lambda p, d: make(p, False), compiled=False, steps=steps)
    with pytest.warns(UserWarning, match=rf"tg.compile: .* runs eagerly .*Attempting CUDA "
                      rf"graph capture of step\(\) for an instance of {name} but "
                      "param_groups' capturable is False") as caught:
        compiled = _compiled_run(device, lambda p, d: make(p, False), compiled=True,
                                 steps=steps)
    assert len([w for w in caught if "tg.compile" in str(w.message)]) == 1
    assert replays[0] == 0
    _assert_equal(compiled, eager)


def test_a_compiled_adagrad_step_runs_eagerly(device: str, replays: list[int]) -> None:
    """Adagrad has no capturable option (nor in PyTorch): its step count is a CPU number,
    and its lr_decay rate lr / (1 + (t - 1) * lr_decay) is computed from it on the host, so a
    graph would bake in the captured step's. tg.compile sees the CPU counter change during
    the capture, warns once and runs every call eagerly, with the eager results."""
    _cuda_only(device)
    steps = 8

    def make(p: object, d: str) -> tg.optim.Optimizer:
        return tg.optim.Adagrad(p, lr=0.1, lr_decay=0.1)

    eager = _compiled_run(device, make, compiled=False, steps=steps)
    with pytest.warns(UserWarning, match=r"tg.compile: .* runs eagerly .*changes a CPU "
                      r"tensor of shape \(\)") as caught:
        compiled = _compiled_run(device, make, compiled=True, steps=steps)
    assert len([w for w in caught if "tg.compile" in str(w.message)]) == 1
    assert replays[0] == 0
    _assert_equal(compiled, eager)
    assert all(s["step"] == steps for s in compiled["state"])
