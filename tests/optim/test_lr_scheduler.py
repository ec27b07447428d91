"""Learning-rate schedulers: sequences against closed forms and against PyTorch's.

The tests that step an optimizer take the `device` fixture: its parameters (with gradients)
live on "cpu" or "cuda", and a scheduler step reads nothing back from the GPU (the rates are
Python floats)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.optim import SGD, Adagrad, Adam
from tinygrad_edu.optim import lr_scheduler as sched
from tinygrad_edu.serialization import load, save

LRS = (0.1, 0.02)  # two param groups with their own rates


def make_optimizer(cls=SGD, lrs=LRS, device="cpu", **kwargs):
    """One param group per rate in `lrs`, each with one parameter on `device` that has a
    gradient, so that every `optimizer.step()` really updates on that device."""
    groups = []
    for lr in lrs:
        p = tg.zeros(2, device=device, requires_grad=True)
        p.grad = tg.ones(2, device=device)
        groups.append({"params": [p], "lr": lr})
    return cls(groups, **kwargs)


def params_of(opt):
    return [p for group in opt.param_groups for p in group["params"]]


def lr_sequence(scheduler, steps, metrics=None):
    """get_last_lr() after construction and after each of `steps` epochs."""
    seq = [list(scheduler.get_last_lr())]
    for i in range(steps):
        scheduler.optimizer.step()
        if metrics is None:
            scheduler.step()
        else:
            scheduler.step(metrics[i])
        seq.append(list(scheduler.get_last_lr()))
    return seq


def assert_sequences_close(got, expected, rtol=1e-12):
    assert len(got) == len(expected)
    for i, (g, e) in enumerate(zip(got, expected)):
        assert g == pytest.approx(e, rel=rtol, abs=1e-15), f"epoch {i}: {g} != {e}"


# ---------------------------------------------------------------------------------------------
# against closed forms
# ---------------------------------------------------------------------------------------------
CLOSED_FORMS = [
    ("StepLR", dict(step_size=3, gamma=0.5), lambda b, e: b * 0.5 ** (e // 3)),
    ("StepLR", dict(step_size=1), lambda b, e: b * 0.1 ** e),
    ("MultiStepLR", dict(milestones=[2, 5, 5, 9], gamma=0.3),
     lambda b, e: b * 0.3 ** sum(m <= e for m in [2, 5, 5, 9])),
    ("ExponentialLR", dict(gamma=0.9), lambda b, e: b * 0.9 ** e),
    ("CosineAnnealingLR", dict(T_max=10),
     lambda b, e: b * (1 + math.cos(math.pi * e / 10)) / 2),
    ("CosineAnnealingLR", dict(T_max=4, eta_min=0.001),  # past T_max it comes back up
     lambda b, e: 0.001 + (b - 0.001) * (1 + math.cos(math.pi * e / 4)) / 2),
    ("LambdaLR", dict(lr_lambda=lambda e: 1.0 / (e + 1)), lambda b, e: b / (e + 1)),
]


@pytest.mark.parametrize("name,kwargs,formula", CLOSED_FORMS,
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(CLOSED_FORMS)])
def test_sequence_matches_closed_form(name, kwargs, formula, device):
    opt = make_optimizer(device=device)
    scheduler = getattr(sched, name)(opt, **kwargs)
    got = lr_sequence(scheduler, 15)
    expected = [[formula(b, e) for b in LRS] for e in range(16)]
    assert_sequences_close(got, expected, rtol=1e-9)
    assert [g["lr"] for g in opt.param_groups] == got[-1]  # the optimizer uses them
    assert [g["initial_lr"] for g in opt.param_groups] == list(LRS)
    assert all(type(lr) is float for lrs in got for lr in lrs)  # never a device value
    assert scheduler.last_epoch == 15
    # SGD without momentum: each parameter moved by the sum of the rates it was given
    for i, p in enumerate(params_of(opt)):
        assert p.device == device
        moved = -sum(lrs[i] for lrs in got[:-1])
        np.testing.assert_allclose(p.detach().cpu().numpy(), [moved, moved], rtol=1e-5)


@pytest.mark.parametrize("name,kwargs,formula", CLOSED_FORMS[:-1],
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(CLOSED_FORMS[:-1])])
def test_step_with_epoch_uses_the_closed_form(name, kwargs, formula):
    opt = make_optimizer()
    scheduler = getattr(sched, name)(opt, **kwargs)
    for epoch in (7, 2, 11):
        opt.step()
        with pytest.warns(UserWarning, match="deprecated"):
            scheduler.step(epoch)
        assert scheduler.get_last_lr() == pytest.approx([formula(b, epoch) for b in LRS],
                                                        rel=1e-12)
        assert scheduler.last_epoch == epoch


def test_lambda_lr_with_one_function_per_group():
    opt = make_optimizer()
    scheduler = sched.LambdaLR(opt, [lambda e: 0.5 ** e, lambda e: e + 1])
    assert lr_sequence(scheduler, 3) == [[0.1 * 0.5 ** e, 0.02 * (e + 1)] for e in range(4)]
    with pytest.raises(ValueError, match="expected 2 lr_lambdas"):
        sched.LambdaLR(opt, [lambda e: 1.0])


def test_lambda_lr_state_dict_keeps_callable_objects_state_only():
    class Warmup:
        def __init__(self):
            self.factor = 2.0

        def __call__(self, epoch):
            return self.factor * epoch

    warm = Warmup()
    scheduler = sched.LambdaLR(make_optimizer(), [warm, lambda e: 1.0])
    state = scheduler.state_dict()
    assert state["lr_lambdas"] == [{"factor": 2.0}, None]
    warm.factor = 5.0
    scheduler.load_state_dict(state)
    assert warm.factor == 2.0
    assert "lr_lambdas" in state  # the caller's dict is not consumed


def test_cosine_follows_changes_made_from_outside_like_pytorch():
    """The recursive form rescales whatever lr the group has now."""
    opt = make_optimizer(lrs=(1.0,))
    scheduler = sched.CosineAnnealingLR(opt, T_max=10)
    opt.step()
    scheduler.step()
    opt.param_groups[0]["lr"] *= 0.5
    opt.step()
    scheduler.step()
    expected = 0.5 * (1 + math.cos(math.pi * 1 / 10)) / 2
    expected *= (1 + math.cos(math.pi * 2 / 10)) / (1 + math.cos(math.pi * 1 / 10))
    assert scheduler.get_last_lr() == [pytest.approx(expected, rel=1e-12)]


# ---------------------------------------------------------------------------------------------
# OneCycleLR
# ---------------------------------------------------------------------------------------------
def test_one_cycle_shape(device):
    opt = make_optimizer(lrs=(0.5,), device=device, momentum=0.9)
    scheduler = sched.OneCycleLR(opt, max_lr=1.0, total_steps=100)
    lrs, momenta = [], []
    for _ in range(100):
        lrs.append(scheduler.get_last_lr()[0])
        momenta.append(opt.param_groups[0]["momentum"])
        opt.step()
        if len(lrs) < 100:
            scheduler.step()
    assert lrs[0] == pytest.approx(1.0 / 25)
    assert max(lrs) == pytest.approx(1.0) and lrs.index(max(lrs)) == 29  # pct_start 0.3
    assert lrs[-1] == pytest.approx(1.0 / 25 / 1e4)
    assert momenta[0] == pytest.approx(0.95) and momenta[29] == pytest.approx(0.85)
    assert momenta[-1] == pytest.approx(0.95)
    assert all(a < b for a, b in zip(lrs[:29], lrs[1:30]))  # warm up, then anneal
    assert all(a > b for a, b in zip(lrs[29:-1], lrs[30:]))
    scheduler.step()  # step 100 == total_steps is still allowed, as in PyTorch
    with pytest.raises(ValueError, match="total steps is 100"):
        scheduler.step()


def test_one_cycle_linear_midpoint_and_adam_beta1(device):
    opt = make_optimizer(Adam, lrs=(0.1,), device=device)
    scheduler = sched.OneCycleLR(opt, max_lr=0.4, epochs=2, steps_per_epoch=5, pct_start=0.5,
                                 anneal_strategy="linear", div_factor=4.0)
    assert opt.param_groups[0]["betas"] == (0.95, 0.999)
    for _ in range(2):
        opt.step()
        scheduler.step()
    # phase 1 runs from step 0 (lr 0.1) to step 4 (lr 0.4): step 2 is half way
    assert scheduler.get_last_lr() == [pytest.approx(0.25)]
    assert opt.param_groups[0]["betas"] == (pytest.approx(0.9), 0.999)
    assert type(opt.param_groups[0]["betas"][0]) is float
    state = opt.state[params_of(opt)[0]]
    assert state["exp_avg"].device == device and state["step"].item() == 2.0


@pytest.mark.parametrize("kwargs,match", [
    (dict(max_lr=0.1), "total_steps OR"),
    (dict(max_lr=0.1, total_steps=0), "positive integer total_steps"),
    (dict(max_lr=0.1, epochs=2, steps_per_epoch=0), "steps_per_epoch"),
    (dict(max_lr=0.1, total_steps=10, pct_start=1.5), "pct_start"),
    (dict(max_lr=0.1, total_steps=10, anneal_strategy="exp"), "anneal_strategy"),
    (dict(max_lr=[0.1, 0.2, 0.3], total_steps=10), "one value per param group"),
])
def test_one_cycle_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        sched.OneCycleLR(make_optimizer(momentum=0.9), **kwargs)


def test_one_cycle_needs_momentum_or_betas_to_cycle():
    with pytest.raises(ValueError, match="momentum or beta1"):
        sched.OneCycleLR(make_optimizer(Adagrad), max_lr=0.1, total_steps=10)
    scheduler = sched.OneCycleLR(make_optimizer(Adagrad), max_lr=0.1, total_steps=10,
                                 cycle_momentum=False)
    assert scheduler.get_last_lr() == [pytest.approx(0.004)] * 2


# ---------------------------------------------------------------------------------------------
# ReduceLROnPlateau
# ---------------------------------------------------------------------------------------------
def test_reduce_on_plateau_waits_patience_then_reduces():
    opt = make_optimizer(lrs=(1.0,))
    scheduler = sched.ReduceLROnPlateau(opt, patience=2, factor=0.5)
    metrics = [10, 9, 9, 9, 9, 8, 8, 8, 8]
    got = [lr[0] for lr in lr_sequence(scheduler, len(metrics), metrics)][1:]
    # 3 epochs without improvement (> patience 2) after the 9: reduce at the 5th metric
    assert got == [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25]
    assert scheduler.best == 8


def test_reduce_on_plateau_min_lr_eps_cooldown_and_max_mode(device):
    opt = make_optimizer(lrs=(1.0, 0.5), device=device)
    scheduler = sched.ReduceLROnPlateau(opt, mode="max", patience=0, factor=0.1, cooldown=1,
                                        min_lr=[0.05, 0.0], threshold=0.1,
                                        threshold_mode="abs")
    for metric in [1.0, 1.05, 1.05, 1.05, 1.05]:  # +0.05 is not an improvement (threshold)
        opt.step()
        scheduler.step(tg.tensor(metric, device=device))  # a one-element Tensor: its value
    # epoch 2: reduce; 3: cooldown; 4: reduce again (0.01 floors at 0.05)
    assert scheduler.get_last_lr() == [pytest.approx(0.05), pytest.approx(0.005)]
    assert type(scheduler.best) is float and scheduler.best == 1.0
    scheduler = sched.ReduceLROnPlateau(make_optimizer(lrs=(1e-8,)), patience=0, eps=1e-8)
    for metric in [1.0, 2.0]:
        scheduler.step(metric)
    assert scheduler.get_last_lr() == [1e-8]  # a reduction smaller than eps is skipped


@pytest.mark.parametrize("kwargs,match", [
    (dict(factor=1.0), "factor should be < 1.0"),
    (dict(mode="avg"), "mode 'avg' is unknown"),
    (dict(threshold_mode="pct"), "threshold mode"),
    (dict(min_lr=[0.1]), "expected 2 min_lrs"),
])
def test_reduce_on_plateau_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        sched.ReduceLROnPlateau(make_optimizer(), **kwargs)


# ---------------------------------------------------------------------------------------------
# against PyTorch
# ---------------------------------------------------------------------------------------------
TORCH_CASES = [
    ("StepLR", dict(step_size=3, gamma=0.5), None),
    ("MultiStepLR", dict(milestones=[2, 5, 5, 9], gamma=0.3), None),
    ("ExponentialLR", dict(gamma=0.9), None),
    ("CosineAnnealingLR", dict(T_max=10), None),
    ("CosineAnnealingLR", dict(T_max=4, eta_min=0.001), None),
    ("LambdaLR", dict(lr_lambda=lambda e: 0.95 ** e), None),
    ("OneCycleLR", dict(max_lr=0.5, total_steps=20), None),
    ("OneCycleLR", dict(max_lr=[0.5, 0.1], total_steps=20, three_phase=True,
                        anneal_strategy="linear", pct_start=0.25), None),
    ("OneCycleLR", dict(max_lr=0.3, epochs=4, steps_per_epoch=5, div_factor=10.0,
                        final_div_factor=100.0, base_momentum=0.8), None),
    ("ReduceLROnPlateau", dict(patience=1, factor=0.5),
     [5, 4, 4, 4, 4, 3, 3.5, 3.2, 3.1, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1]),
    ("ReduceLROnPlateau", dict(mode="max", patience=0, threshold=0.1, cooldown=2,
                               min_lr=0.01), [1, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3]),
    ("ReduceLROnPlateau", dict(threshold_mode="abs", threshold=0.5, patience=2),
     [5, 4.8, 4.6, 4.4, 4.2, 3.0, 2.9, 2.8, 2.7, 2.6, 2.5, 1.0]),
]


@pytest.mark.parametrize("name,kwargs,metrics", TORCH_CASES,
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(TORCH_CASES)])
@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
def test_sequence_matches_torch(name, kwargs, metrics, optimizer, device):
    torch = pytest.importorskip("torch")  # the reference, on the CPU
    steps = len(metrics) if metrics is not None else 20
    opt_kwargs = {"momentum": 0.9} if optimizer == "SGD" else {}
    ours_opt = make_optimizer(getattr(tg.optim, optimizer), device=device, **opt_kwargs)
    theirs_opt = getattr(torch.optim, optimizer)(
        [{"params": [torch.zeros(2, requires_grad=True)], "lr": lr} for lr in LRS],
        **opt_kwargs)
    ours = getattr(sched, name)(ours_opt, **kwargs)
    theirs = getattr(torch.optim.lr_scheduler, name)(theirs_opt, **kwargs)
    momentum_key = "momentum" if optimizer == "SGD" else "betas"
    for i in range(steps):
        assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-13), i
        for g, tg_ in zip(ours_opt.param_groups, theirs_opt.param_groups):
            assert g[momentum_key] == pytest.approx(tg_[momentum_key], rel=1e-13), i
        ours_opt.step()
        theirs_opt.step()
        if metrics is None:
            ours.step()
            theirs.step()
        else:  # the metric as a 0-d loss tensor on the device, as a training loop has it
            ours.step(tg.tensor(metrics[i], dtype=tg.float64, device=device))
            theirs.step(metrics[i])
    assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-13)
    assert ours.last_epoch == theirs.last_epoch


# ---------------------------------------------------------------------------------------------
# the LRScheduler protocol
# ---------------------------------------------------------------------------------------------
def test_construction_sets_initial_lr_and_takes_the_first_step():
    opt = make_optimizer()
    scheduler = sched.StepLR(opt, step_size=2)
    assert scheduler.last_epoch == 0
    assert scheduler.base_lrs == list(LRS)
    assert [g["initial_lr"] for g in opt.param_groups] == list(LRS)
    assert scheduler.get_last_lr() == list(LRS)


def test_resuming_needs_initial_lr():
    with pytest.raises(KeyError, match="initial_lr"):
        sched.StepLR(make_optimizer(), step_size=2, last_epoch=4)
    opt = make_optimizer()
    for g in opt.param_groups:
        g["initial_lr"] = g["lr"]
    scheduler = sched.StepLR(opt, step_size=2, last_epoch=4)
    assert scheduler.last_epoch == 5


def test_not_an_optimizer_is_refused():
    for make in (lambda o: sched.StepLR(o, 2), lambda o: sched.ReduceLROnPlateau(o),
                 lambda o: sched.OneCycleLR(o, 0.1, total_steps=3),
                 lambda o: sched.LambdaLR(o, lambda e: 1.0)):
        with pytest.raises(TypeError, match="not an Optimizer"):
            make([tg.zeros(1)])


def test_warns_when_the_scheduler_steps_before_the_optimizer():
    opt = make_optimizer()
    scheduler = sched.ExponentialLR(opt, gamma=0.5)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        scheduler.step()
    opt2 = make_optimizer()
    scheduler2 = sched.ExponentialLR(opt2, gamma=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt2.step()
        scheduler2.step()
    assert scheduler2.get_last_lr() == [0.05, 0.01]


def test_wrapped_optimizer_step_still_updates_and_returns_the_loss():
    p = tg.ones(2, requires_grad=True)
    opt = SGD([p], lr=0.5)
    sched.StepLR(opt, step_size=1)
    sched.ExponentialLR(opt, gamma=0.5)  # a second scheduler does not wrap twice
    p.grad = tg.ones(2)
    assert opt.step(lambda: 42) == 42
    assert p.array.tolist() == [0.5, 0.5]


@pytest.mark.parametrize("make", [
    lambda o: sched.StepLR(o, step_size=3, gamma=0.5),
    lambda o: sched.MultiStepLR(o, milestones=[2, 4, 4]),
    lambda o: sched.CosineAnnealingLR(o, T_max=7, eta_min=0.001),
    lambda o: sched.OneCycleLR(o, max_lr=0.5, total_steps=12),
    lambda o: sched.ReduceLROnPlateau(o, patience=1),
], ids=["StepLR", "MultiStepLR", "CosineAnnealingLR", "OneCycleLR", "ReduceLROnPlateau"])
def test_state_dict_round_trip_through_a_checkpoint(make, tmp_path, device):
    metrics = [3, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1]
    opt = make_optimizer(device=device, momentum=0.9)
    scheduler = make(opt)
    plateau = isinstance(scheduler, sched.ReduceLROnPlateau)

    def advance(s, o, i):
        o.step()
        s.step(metrics[i]) if plateau else s.step()

    for i in range(5):
        advance(scheduler, opt, i)
    save({"scheduler": scheduler.state_dict(), "optimizer": opt.state_dict(),
          "params": params_of(opt)}, tmp_path / "ckpt")
    ckpt = load(tmp_path / "ckpt", map_location=device)
    opt2 = make_optimizer(device=device, momentum=0.9)
    scheduler2 = make(opt2)
    opt2.load_state_dict(ckpt["optimizer"])
    scheduler2.load_state_dict(ckpt["scheduler"])
    with tg.no_grad():
        for p2, saved in zip(params_of(opt2), ckpt["params"]):
            p2.copy_(saved)
    for i in range(5, 11):
        advance(scheduler, opt, i)
        advance(scheduler2, opt2, i)
        assert scheduler2.get_last_lr() == scheduler.get_last_lr()
        assert [g["momentum"] for g in opt2.param_groups] == \
            [g["momentum"] for g in opt.param_groups]
    assert scheduler2.last_epoch == scheduler.last_epoch
    for p, p2 in zip(params_of(opt), params_of(opt2)):
        assert opt2.state[p2]["momentum_buffer"].device == device
        assert p.tolist() == p2.tolist()  # the same updates with the same rates


SCHEDULERS = [
    ("StepLR", lambda o: sched.StepLR(o, step_size=2, gamma=0.5)),
    ("MultiStepLR", lambda o: sched.MultiStepLR(o, milestones=[1, 3])),
    ("ExponentialLR", lambda o: sched.ExponentialLR(o, gamma=0.9)),
    ("CosineAnnealingLR", lambda o: sched.CosineAnnealingLR(o, T_max=4, eta_min=0.001)),
    ("LambdaLR", lambda o: sched.LambdaLR(o, lambda e: 1.0 / (e + 1))),
    ("OneCycleLR", lambda o: sched.OneCycleLR(o, max_lr=0.5, total_steps=10)),
    ("OneCycleLR-three_phase", lambda o: sched.OneCycleLR(o, max_lr=0.5, total_steps=10,
                                                          three_phase=True)),
]


@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
@pytest.mark.parametrize("name,make", SCHEDULERS, ids=[n for n, _ in SCHEDULERS])
def test_scheduler_step_reads_nothing_back_from_the_device(name, make, optimizer, device,
                                                           no_host_sync):
    """optimizer.step() then scheduler.step(), with the parameters on the device: the rates
    (and OneCycleLR's momenta) are Python floats, computed without touching device data."""
    opt = make_optimizer(getattr(tg.optim, optimizer), device=device,
                         **({"momentum": 0.9} if optimizer == "SGD" else {}))
    with no_host_sync():
        scheduler = make(opt)
        for _ in range(4):
            opt.step()
            scheduler.step()
    assert all(type(lr) is float for lr in scheduler.get_last_lr())
    assert all(type(g["lr"]) is float for g in opt.param_groups)
    assert all(p.device == device for p in params_of(opt))


def test_reduce_on_plateau_reads_the_loss_it_is_given(device, no_host_sync):
    """ReduceLROnPlateau.step(loss) with a 0-d loss on the device reads that one value (the
    user asks for it); the optimizer step and everything else read nothing."""
    opt = make_optimizer(lrs=(1.0,), device=device)
    scheduler = sched.ReduceLROnPlateau(opt, patience=0, factor=0.5)
    p = params_of(opt)[0]
    for expected_lr in (1.0, 0.5, 0.25):
        with no_host_sync():
            opt.step()
            loss = (p * p).sum() * 0 + 1.0  # a constant loss on the device: no improvement
        scheduler.step(loss)
        assert scheduler.get_last_lr() == [expected_lr]
    assert scheduler.best == 1.0 and scheduler.num_bad_epochs == 0
    with no_host_sync():  # a metric already on the host: nothing to read
        opt.step()
        scheduler.step(0.5)
    assert scheduler.best == 0.5 and scheduler.get_last_lr() == [0.25]
