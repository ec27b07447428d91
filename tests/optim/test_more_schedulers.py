"""LinearLR, ConstantLR, MultiplicativeLR, PolynomialLR, CosineAnnealingWarmRestarts, CyclicLR,
SequentialLR and ChainedScheduler: their lr sequences (and CyclicLR's momenta) against
torch.optim.lr_scheduler over 30 epochs, get_last_lr, the closed forms of step(epoch),
state_dict / load_state_dict, and PyTorch's errors for bad arguments."""

from __future__ import annotations

import warnings

import pytest

import tinygrad_edu as tg
from tinygrad_edu.optim import SGD, Adagrad, Adam
from tinygrad_edu.optim import lr_scheduler as sched
from tinygrad_edu.serialization import load, save

LRS = (0.1, 0.02)  # two param groups with their own rates
EPOCHS = 30


def make_optimizer(cls=SGD, device="cpu", **kwargs):
    """One param group per rate in LRS, each with one parameter (with a gradient) on `device`."""
    groups = []
    for lr in LRS:
        p = tg.zeros(2, device=device, requires_grad=True)
        p.grad = tg.ones(2, device=device)
        groups.append({"params": [p], "lr": lr})
    return cls(groups, **kwargs)


def make_torch_optimizer(torch, name="SGD", **kwargs):
    return getattr(torch.optim, name)(
        [{"params": [torch.zeros(2, requires_grad=True)], "lr": lr} for lr in LRS], **kwargs)


# each case: build(module, optimizer) with module our lr_scheduler or torch's
CASES = {
    "MultiplicativeLR": lambda m, o: m.MultiplicativeLR(o, lambda e: 0.9),
    "MultiplicativeLR-per-group": lambda m, o: m.MultiplicativeLR(
        o, [lambda e: 0.95, lambda e: 1.0 if e % 3 else 0.5]),
    "ConstantLR": lambda m, o: m.ConstantLR(o),
    "ConstantLR-factor": lambda m, o: m.ConstantLR(o, factor=0.5, total_iters=4),
    "LinearLR": lambda m, o: m.LinearLR(o),
    "LinearLR-down": lambda m, o: m.LinearLR(o, start_factor=1.0, end_factor=0.1,
                                             total_iters=12),
    "LinearLR-partial": lambda m, o: m.LinearLR(o, start_factor=0.2, end_factor=0.9,
                                                total_iters=7),
    "PolynomialLR": lambda m, o: m.PolynomialLR(o),
    "PolynomialLR-power": lambda m, o: m.PolynomialLR(o, total_iters=20, power=2.0),
    "CosineAnnealingWarmRestarts": lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=4),
    "CosineAnnealingWarmRestarts-mult": lambda m, o: m.CosineAnnealingWarmRestarts(
        o, T_0=3, T_mult=2, eta_min=0.001),
    "CyclicLR": lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=4),
    "CyclicLR-triangular2": lambda m, o: m.CyclicLR(
        o, base_lr=0.01, max_lr=[0.1, 0.2], step_size_up=4, step_size_down=3,
        mode="triangular2", base_momentum=0.7),
    "CyclicLR-exp_range": lambda m, o: m.CyclicLR(
        o, base_lr=[0.01, 0.02], max_lr=0.1, step_size_up=5, mode="exp_range", gamma=0.9),
    "CyclicLR-scale_fn": lambda m, o: m.CyclicLR(
        o, base_lr=0.01, max_lr=0.1, step_size_up=3, scale_fn=lambda x: 1 / (x + 1),
        scale_mode="iterations", max_momentum=0.95),
    "SequentialLR": lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, start_factor=0.1, total_iters=5), m.ExponentialLR(o, gamma=0.9),
            m.CosineAnnealingLR(o, T_max=6)], milestones=[5, 12]),
    "SequentialLR-step": lambda m, o: m.SequentialLR(
        o, [m.ConstantLR(o, factor=0.3, total_iters=3), m.StepLR(o, 4, 0.5)], milestones=[6]),
    "SequentialLR-one": lambda m, o: m.SequentialLR(o, [m.PolynomialLR(o, 10)], milestones=[]),
    "ChainedScheduler": lambda m, o: m.ChainedScheduler(
        [m.ConstantLR(o, factor=0.1, total_iters=4), m.ExponentialLR(o, gamma=0.9)]),
    "ChainedScheduler-three": lambda m, o: m.ChainedScheduler(
        [m.LinearLR(o, 0.5, total_iters=6), m.MultiStepLR(o, [3, 8], 0.5),
         m.CosineAnnealingWarmRestarts(o, T_0=5)], optimizer=o),
}


def sequence(scheduler, optimizer, epochs=EPOCHS, momentum_key=None):
    """get_last_lr() (and the groups' momenta) after construction and after each epoch."""
    lrs, momenta = [list(scheduler.get_last_lr())], []
    for _ in range(epochs):
        optimizer.step()
        scheduler.step()
        lrs.append(list(scheduler.get_last_lr()))
        if momentum_key is not None:
            momenta.append([g[momentum_key] for g in optimizer.param_groups])
    return lrs, momenta


def assert_close(got, expected, rtol=1e-13):
    assert len(got) == len(expected)
    for i, (g, e) in enumerate(zip(got, expected)):
        assert g == pytest.approx(e, rel=rtol, abs=1e-15), f"epoch {i}: {g} != {e}"


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
def test_sequence_matches_torch(name, optimizer, device):
    torch = pytest.importorskip("torch")  # the reference, on the CPU
    kwargs = {"momentum": 0.9} if optimizer == "SGD" else {}
    key = "momentum" if optimizer == "SGD" else "betas"
    ours_opt = make_optimizer(getattr(tg.optim, optimizer), device=device, **kwargs)
    theirs_opt = make_torch_optimizer(torch, optimizer, **kwargs)
    ours = CASES[name](sched, ours_opt)
    theirs = CASES[name](torch.optim.lr_scheduler, theirs_opt)
    ours_lrs, ours_momenta = sequence(ours, ours_opt, momentum_key=key)
    theirs_lrs, theirs_momenta = sequence(theirs, theirs_opt, momentum_key=key)
    assert_close(ours_lrs, theirs_lrs)
    assert_close(ours_momenta, theirs_momenta)
    assert [g["lr"] for g in ours_opt.param_groups] == ours.get_last_lr()
    assert all(type(lr) is float for lr in ours.get_last_lr())
    assert getattr(ours, "last_epoch", None) == getattr(theirs, "last_epoch", None)
    assert len(set(map(tuple, ours_lrs))) >= 2  # the schedule does change the rate


CLOSED_FORMS = ["ConstantLR-factor", "LinearLR-partial", "PolynomialLR-power",
                "CosineAnnealingWarmRestarts", "CosineAnnealingWarmRestarts-mult"]


@pytest.mark.parametrize("name", CLOSED_FORMS)
def test_step_with_an_epoch_matches_torch(name):
    """step(epoch) (deprecated, as in PyTorch, except for CosineAnnealingWarmRestarts, whose
    fractional epochs are its way of stepping per batch) jumps to the closed form."""
    torch = pytest.importorskip("torch")
    ours_opt, theirs_opt = make_optimizer(), make_torch_optimizer(torch)
    ours = CASES[name](sched, ours_opt)
    theirs = CASES[name](torch.optim.lr_scheduler, theirs_opt)
    epochs = [3, 1, 4, 10, 0, 25, 7, 7, 2.5, 13.25, 6]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for epoch in epochs:
            if "Warm" not in name:
                epoch = int(epoch)
            ours.step(epoch)
            theirs.step(epoch)
            assert ours.get_last_lr() == pytest.approx(theirs.get_last_lr(), rel=1e-13), epoch
            assert ours.last_epoch == theirs.last_epoch


def test_epoch_argument_is_deprecated_but_warm_restarts_take_it_silently():
    opt = make_optimizer()
    linear = sched.LinearLR(opt)
    opt.step()
    with pytest.warns(UserWarning, match="deprecated"):
        linear.step(3)
    scheduler = sched.CosineAnnealingWarmRestarts(make_optimizer(), T_0=10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scheduler.step(2.5)
    assert scheduler.T_cur == 2.5 and scheduler.last_epoch == 2
    with pytest.raises(ValueError, match="Expected non-negative epoch"):
        scheduler.step(-1)


def test_get_last_lr_after_construction():
    opt = make_optimizer()
    assert sched.LinearLR(opt, start_factor=0.5).get_last_lr() == [0.05, 0.01]
    assert [g["initial_lr"] for g in opt.param_groups] == list(LRS)
    opt = make_optimizer()
    assert sched.ConstantLR(opt, factor=0.5).get_last_lr() == [0.05, 0.01]
    opt = make_optimizer(momentum=0.5)
    cyclic = sched.CyclicLR(opt, base_lr=0.001, max_lr=0.01)
    assert cyclic.get_last_lr() == [0.001, 0.001] and cyclic.base_lrs == [0.001, 0.001]
    assert [g["momentum"] for g in opt.param_groups] == [0.9, 0.9]
    opt = make_optimizer()
    seq = sched.SequentialLR(opt, [sched.ConstantLR(opt, factor=0.5),
                                   sched.ExponentialLR(opt, gamma=0.5)], milestones=[2])
    assert seq.get_last_lr() == [0.05, 0.01] and seq.last_epoch == 0
    assert [s.last_epoch for s in seq._schedulers] == [0, -1]


# ---------------------------------------------------------------------------------------------
# state_dict
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", [n for n in CASES if "per-group" not in n])
def test_state_dict_round_trip_through_a_checkpoint(name, tmp_path, device):
    """Ten epochs, a checkpoint (tg.save), a new optimizer and scheduler that load it: the next
    twenty epochs give the same rates as the uninterrupted run."""
    opt = make_optimizer(device=device, momentum=0.9)
    scheduler = CASES[name](sched, opt)
    sequence(scheduler, opt, epochs=10)
    save({"scheduler": scheduler.state_dict(), "optimizer": opt.state_dict()},
         tmp_path / "ckpt")
    ckpt = load(tmp_path / "ckpt", map_location=device)
    opt2 = make_optimizer(device=device, momentum=0.9)
    scheduler2 = CASES[name](sched, opt2)
    opt2.load_state_dict(ckpt["optimizer"])
    scheduler2.load_state_dict(ckpt["scheduler"])
    assert scheduler2.get_last_lr() == scheduler.get_last_lr()
    expected, expected_momenta = sequence(scheduler, opt, epochs=20, momentum_key="momentum")
    got, got_momenta = sequence(scheduler2, opt2, epochs=20, momentum_key="momentum")
    assert got == expected
    assert got_momenta == expected_momenta


def test_state_dict_holds_the_parts_and_plain_values():
    opt = make_optimizer()
    seq = CASES["SequentialLR"](sched, opt)
    state = seq.state_dict()
    assert "optimizer" not in state and len(state["_schedulers"]) == 3
    assert state["_milestones"] == [5, 12]
    assert state["_schedulers"][1]["gamma"] == 0.9
    chained = CASES["ChainedScheduler"](sched, make_optimizer())
    assert [s["factor"] for s in chained.state_dict()["_schedulers"][:1]] == [0.1]
    loaded = chained.state_dict()
    chained.load_state_dict(loaded)
    assert "_schedulers" in loaded  # the caller's dict is not consumed

    class Halve:  # a callable object: its attributes are saved, a function is not
        def __init__(self) -> None:
            self.factor = 0.5

        def __call__(self, epoch: int) -> float:
            return self.factor

    fn = Halve()
    mult = sched.MultiplicativeLR(make_optimizer(), [fn, lambda e: 1.0])
    assert mult.state_dict()["lr_lambdas"] == [{"factor": 0.5}, None]
    fn.factor = 0.9
    mult.load_state_dict({**mult.state_dict(), "lr_lambdas": [{"factor": 0.25}, None]})
    assert fn.factor == 0.25
    cyclic = sched.CyclicLR(make_optimizer(momentum=0.9), 0.01, 0.1, scale_fn=fn)
    state = cyclic.state_dict()
    assert state["_scale_fn_custom"] == {"factor": 0.25} and "_scale_fn_ref" not in state
    cyclic = sched.CyclicLR(make_optimizer(momentum=0.9), 0.01, 0.1, mode="exp_range",
                            gamma=0.5)
    state = cyclic.state_dict()
    assert state["_scale_fn_custom"] is None and "_scale_fn_ref" not in state
    cyclic.load_state_dict(state)
    assert cyclic.scale_fn(2) == 0.25


# ---------------------------------------------------------------------------------------------
# bad arguments
# ---------------------------------------------------------------------------------------------
BAD = [
    (ValueError, "Constant multiplicative factor", lambda m, o: m.ConstantLR(o, factor=1.5)),
    (ValueError, "Constant multiplicative factor", lambda m, o: m.ConstantLR(o, factor=-0.1)),
    (ValueError, "Starting multiplicative factor", lambda m, o: m.LinearLR(o, start_factor=0)),
    (ValueError, "Starting multiplicative factor", lambda m, o: m.LinearLR(o, start_factor=2)),
    (ValueError, "Ending multiplicative factor", lambda m, o: m.LinearLR(o, end_factor=1.5)),
    (ValueError, "Expected positive integer T_0",
     lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=0)),
    (ValueError, "Expected positive integer T_0",
     lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=2.5)),
    (ValueError, "Expected integer T_mult >= 1",
     lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=0)),
    (ValueError, "Expected float or int eta_min",
     lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=2, eta_min="0")),
    (ValueError, "mode is invalid and scale_fn is None",
     lambda m, o: m.CyclicLR(o, 0.01, 0.1, mode="square")),
    (ValueError, "max_lr must have", lambda m, o: m.CyclicLR(o, 0.01, [0.1, 0.2, 0.3])),
    (ValueError, "lr_lambdas", lambda m, o: m.MultiplicativeLR(o, [lambda e: 1.0])),
    (TypeError, "lr_lambda", lambda m, o: m.MultiplicativeLR(o, [lambda e: 1.0, 3])),
    (ValueError, "one more than the number of milestone points",
     lambda m, o: m.SequentialLR(o, [m.ConstantLR(o), m.LinearLR(o)], milestones=[])),
    (ValueError, "at least one scheduler", lambda m, o: m.SequentialLR(o, [], milestones=[])),
    (ValueError, "at least one scheduler", lambda m, o: m.ChainedScheduler([])),
    (ValueError, "does not support `ReduceLROnPlateau`",
     lambda m, o: m.ChainedScheduler([m.ConstantLR(o), m.ReduceLROnPlateau(o)])),
    (ValueError, "does not support `ReduceLROnPlateau`",
     lambda m, o: m.SequentialLR(o, [m.ConstantLR(o), m.ReduceLROnPlateau(o)], [2])),
    (TypeError, "should have `optimizer` as its attribute",
     lambda m, o: m.ChainedScheduler([m.ConstantLR(o), object()])),
]


@pytest.mark.parametrize("error,match,build", BAD, ids=[str(i) for i in range(len(BAD))])
def test_bad_arguments_raise_pytorchs_errors(error, match, build):
    with pytest.raises(error, match=match):
        build(sched, make_optimizer())


def test_bad_arguments_are_torchs_errors_too():
    torch = pytest.importorskip("torch")
    for error, match, build in BAD:
        if match == "max_lr must have":
            match = "max_lr must have the same length"
        with pytest.raises(error, match=match):
            build(torch.optim.lr_scheduler, make_torch_optimizer(torch))


def test_schedulers_of_another_optimizer_are_refused():
    opt, other = make_optimizer(), make_optimizer()
    with pytest.raises(ValueError, match="same optimizer"):
        sched.SequentialLR(opt, [sched.ConstantLR(opt), sched.LinearLR(other)], milestones=[2])
    with pytest.raises(ValueError, match="same optimizer"):
        sched.ChainedScheduler([sched.ConstantLR(opt), sched.LinearLR(other)])
    with pytest.raises(ValueError, match="same optimizer"):
        sched.ChainedScheduler([sched.ConstantLR(opt)], optimizer=other)


def test_cycle_momentum_needs_momentum():
    with pytest.raises(ValueError, match="must support momentum or beta1"):
        sched.CyclicLR(make_optimizer(Adagrad), 0.01, 0.1)
    cyclic = sched.CyclicLR(make_optimizer(Adagrad), 0.01, 0.1, cycle_momentum=False)
    assert cyclic.get_last_lr() == [0.01, 0.01]
    opt = make_optimizer(Adam)
    sched.CyclicLR(opt, 0.01, 0.1, base_momentum=0.8, max_momentum=0.95)
    assert [g["betas"] for g in opt.param_groups] == [(0.95, 0.999)] * 2


def test_exported():
    for name in ("LinearLR", "SequentialLR", "ChainedScheduler", "CosineAnnealingWarmRestarts",
                 "CyclicLR", "PolynomialLR", "ConstantLR", "MultiplicativeLR"):
        assert name in sched.__all__
        assert issubclass(getattr(sched, name), sched.LRScheduler)
