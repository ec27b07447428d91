"""capturable=True (the step count on the parameter's device) and a learning rate that is a
Tensor (PyTorch's "lr (float, Tensor)"), which the schedulers fill in place: what they compute,
where their state lives, how it is saved and loaded, and that nothing is read back from the
GPU. (tests/backend/test_cuda_graphs_optim.py replays them in captured CUDA graphs;
tests/fast/test_optim.py checks the fast steps against the reference.)"""

from __future__ import annotations

import contextlib
import warnings

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import fast
from tinygrad_edu.optim import (
    ASGD,
    SGD,
    Adadelta,
    Adagrad,
    Adam,
    Adamax,
    AdamW,
    NAdam,
    RAdam,
    RMSprop,
    Rprop,
)
from tinygrad_edu.optim import lr_scheduler as sched
from tinygrad_edu.serialization import load, save

pytestmark = pytest.mark.filterwarnings(  # PyTorch's warning for the uncaptured steps
    "ignore:This instance was constructed with capturable=True:UserWarning")

STEPS = 8
SHAPES = [(3, 4), (5,)]

CAPTURABLE = [
    (Adam, dict(lr=0.01)),
    (Adam, dict(lr=0.01, amsgrad=True, weight_decay=0.05, maximize=True)),
    (AdamW, dict(lr=0.01, weight_decay=0.1)),
    (NAdam, dict(lr=0.01, weight_decay=0.01)),
    (NAdam, dict(lr=0.01, weight_decay=0.01, decoupled_weight_decay=True)),
    (RAdam, dict(lr=0.01)),  # the rectified update from step 6 on
    (RAdam, dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    (Adamax, dict(lr=0.01, weight_decay=0.01)),
    # the step count only moves (their formulas do not use it); ASGD's eta and mu too
    (RMSprop, dict(lr=0.01, momentum=0.5, centered=True, weight_decay=0.1, maximize=True)),
    (Adadelta, dict(lr=0.5, weight_decay=0.1)),
    (Rprop, dict(lr=0.01, maximize=True)),
    (ASGD, dict(lr=0.1, lambd=0.1, alpha=0.5, t0=2, weight_decay=0.1)),  # mu < 1 from step 4
]
CAPTURABLE_IDS = [f"{c.__name__}-{i}" for i, (c, _) in enumerate(CAPTURABLE)]

# every optimizer that takes a Tensor lr (LBFGS is not stepped by Optimizer.step)
ALL = [(SGD, dict(lr=0.1)), (SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1)),
       (Adam, dict(lr=0.01)), (Adam, dict(lr=0.01, capturable=True, amsgrad=True)),
       (AdamW, dict(lr=0.01)), (AdamW, dict(lr=0.01, capturable=True)),
       (RMSprop, dict(lr=0.01, momentum=0.5, centered=True)), (Adagrad, dict(lr=0.1, lr_decay=0.1)),
       (NAdam, dict(lr=0.01)), (NAdam, dict(lr=0.01, capturable=True)), (RAdam, dict(lr=0.01)),
       (RAdam, dict(lr=0.01, capturable=True)), (Adamax, dict(lr=0.01)),
       (Adamax, dict(lr=0.01, capturable=True)), (Adadelta, dict(lr=0.5)), (Rprop, dict(lr=0.01)),
       (ASGD, dict(lr=0.01)), (RMSprop, dict(lr=0.01, momentum=0.5, capturable=True)),
       (Adadelta, dict(lr=0.5, capturable=True)), (Rprop, dict(lr=0.01, capturable=True)),
       (ASGD, dict(lr=0.01, lambd=0.1, t0=1, capturable=True))]
ALL_IDS = [f"{c.__name__}-{i}" for i, (c, _) in enumerate(ALL)]


TORCH_STEPS = 10  # the comparisons with torch.optim


def problem(dtype=np.float64, seed: int = 0):
    rng = np.random.default_rng(seed)
    inits = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    grads = [[rng.standard_normal(s).astype(dtype) for s in SHAPES] for _ in range(TORCH_STEPS)]
    grads[2][1] = None  # parameter 1 skips step 3 (its count stays behind)
    return inits, grads


def train(cls, kwargs, device, dtype=np.float64, steps=STEPS, opt=None, params=None):
    inits, grads = problem(dtype)
    if params is None:
        params = [tg.tensor(x, device=device, requires_grad=True) for x in inits]
    opt = opt if opt is not None else cls(params, **kwargs)
    for step_grads in grads[:steps]:
        for p, g in zip(params, step_grads):
            p.grad = None if g is None else tg.tensor(g, device=device)
        opt.step()
    return params, opt


def numpy_of(t: tg.Tensor) -> np.ndarray:
    return tg.backend.to_numpy(t.array)


SCALARS = ("step", "mu_product", "eta", "mu")  # the scalar states that capturable moves


# ---------------------------------------------------------------------------------------------
# capturable
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["fast", "reference"])
@pytest.mark.parametrize("cls,kwargs", CAPTURABLE, ids=CAPTURABLE_IDS)
def test_capturable_computes_what_the_host_step_count_gives(cls, kwargs, mode, device):
    """The same update, its bias corrections computed on the device (in the parameter's
    dtype) from a float32 count kept there, fast on and off."""
    with (fast.on() if mode == "fast" else fast.off()):
        params, opt = train(cls, dict(kwargs, capturable=True), device)
        expected, host_opt = train(cls, kwargs, device)
    # (NAdam's float32 product of the mus is rounded once on the device, twice on the host)
    rtol = 1e-7 if cls is NAdam else 1e-12
    for p, e in zip(params, expected):
        np.testing.assert_allclose(numpy_of(p), numpy_of(e), rtol=rtol, atol=1e-14)
    for p, e in zip(params, expected):
        state, host_state = opt.state[p], host_opt.state[e]
        assert state.keys() == host_state.keys()
        for key, value in state.items():
            if key in SCALARS:  # float32 scalars: on the device, not the CPU
                assert value.device == device and value.dtype == tg.float32 and value.shape == ()
                assert host_state[key].device == "cpu"
                assert value.item() == pytest.approx(host_state[key].item(), rel=1e-7), key
            else:
                np.testing.assert_allclose(numpy_of(value), numpy_of(host_state[key]),
                                           rtol=rtol, atol=1e-14, err_msg=key)
    assert opt.state[params[0]]["step"].item() == STEPS
    assert opt.state[params[1]]["step"].item() == STEPS - 1


@pytest.mark.parametrize("cls,kwargs", CAPTURABLE[:4] + CAPTURABLE[8:],
                         ids=CAPTURABLE_IDS[:4] + CAPTURABLE_IDS[8:])
def test_capturable_step_reads_nothing_back_from_the_device(cls, kwargs, device, no_host_sync):
    params, opt = train(cls, dict(kwargs, capturable=True), device, steps=1)
    for p in params:
        p.grad = tg.ones_like(p)
    with no_host_sync():
        opt.step()
        opt.step()


def test_capturable_follows_pytorchs_signature_and_defaults():
    torch = pytest.importorskip("torch")
    import inspect  # noqa: PLC0415

    for cls in (Adam, AdamW, NAdam, RAdam, Adamax, Adadelta, Rprop, RMSprop, ASGD):
        their_signature = inspect.signature(getattr(torch.optim, cls.__name__)).parameters
        our_signature = inspect.signature(cls).parameters
        theirs, ours = their_signature["capturable"], our_signature["capturable"]
        if cls is RMSprop:  # positional, right after centered, as PyTorch's
            assert ours.kind == theirs.kind == inspect.Parameter.POSITIONAL_OR_KEYWORD
            assert list(our_signature).index("capturable") == list(their_signature).index(
                "capturable") == 7
        elif cls is ASGD:  # PyTorch's comes after foreach and differentiable, which ASGD
            assert ours.kind == inspect.Parameter.KEYWORD_ONLY  # lacks here: keyword only
        else:
            assert ours.kind == theirs.kind == inspect.Parameter.KEYWORD_ONLY, cls.__name__
        assert ours.default is theirs.default is False
        assert cls([tg.zeros(2, requires_grad=True)]).defaults["capturable"] is False


@pytest.mark.parametrize("cls,kwargs", [CAPTURABLE[1], CAPTURABLE[3], CAPTURABLE[11]],
                         ids=["Adam", "NAdam", "ASGD"])
def test_capturable_state_dict_round_trip_keeps_the_counters_on_the_device(cls, kwargs, device,
                                                                            tmp_path):
    """As PyTorch: the saved step is the device Tensor; a capturable group's counters are
    loaded onto the parameter's device (wherever they were saved from), other groups' onto
    the CPU; training goes on identically."""
    params, opt = train(cls, dict(kwargs, capturable=True), device, steps=4)
    sd = opt.state_dict()
    assert sd["param_groups"][0]["capturable"] is True
    assert sd["state"][0]["step"] is opt.state[params[0]]["step"]  # live, as PyTorch
    assert sd["state"][0]["step"].device == device
    save({"optimizer": sd, "params": params}, tmp_path / "ckpt")
    ckpt = load(tmp_path / "ckpt", map_location="cpu")  # everything comes back on the CPU
    restored = [tg.tensor(numpy_of(p), device=device, requires_grad=True)
                for p in ckpt["params"]]
    opt2 = cls(restored, **kwargs)  # capturable=False: the checkpoint's option wins
    opt2.load_state_dict(ckpt["optimizer"])
    assert opt2.param_groups[0]["capturable"] is True
    for p in restored:
        for key in SCALARS:
            if key in opt2.state[p]:
                assert opt2.state[p][key].device == device, key
    train(cls, kwargs, device, opt=opt, params=params)
    train(cls, kwargs, device, opt=opt2, params=restored)
    for p, q in zip(params, restored):
        np.testing.assert_array_equal(numpy_of(p), numpy_of(q))

    host_params, host_opt = train(cls, kwargs, device, steps=4)  # capturable=False
    opt3 = cls([tg.tensor(numpy_of(p), device=device, requires_grad=True) for p in host_params],
               **kwargs, capturable=True)
    opt3.load_state_dict(host_opt.state_dict())  # the saved group is not capturable
    assert opt3.param_groups[0]["capturable"] is False
    assert all(s[key].device == "cpu" for s in opt3.state.values() for key in SCALARS
               if key in s)


@pytest.mark.parametrize("cls,kwargs", [(Adam, dict(lr=0.01)), CAPTURABLE[11]],
                         ids=["Adam", "ASGD"])
def test_capturable_switched_on_later_moves_the_count_to_the_device(cls, kwargs, device):
    params, opt = train(cls, kwargs, device, steps=3)
    expected, host_opt = train(cls, kwargs, device, steps=3)
    assert all(s["step"].device == "cpu" for s in opt.state.values())
    opt.param_groups[0]["capturable"] = True
    train(cls, {}, device, opt=opt, params=params)
    train(cls, {}, device, opt=host_opt, params=expected)
    scalars = [s[key] for s in opt.state.values() for key in SCALARS if key in s]
    assert len(scalars) == (6 if cls is ASGD else 2)
    assert all(scalar.device == device for scalar in scalars)
    for p, e in zip(params, expected):
        np.testing.assert_allclose(numpy_of(p), numpy_of(e), rtol=1e-12)


AGAINST_TORCH = [
    (RMSprop, dict(lr=0.01)),
    (RMSprop, dict(lr=0.01, alpha=0.9, momentum=0.5, centered=True, weight_decay=0.1,
                   maximize=True)),
    (RMSprop, dict(lr=0.02, momentum=0.9, lr_tensor=True)),
    (Adadelta, dict(lr=0.5, rho=0.5, eps=1e-4, weight_decay=0.1, maximize=True)),
    (Adadelta, dict(lr=0.5, lr_tensor=True)),
    (Rprop, dict(lr=0.1, etas=(0.3, 1.5), step_sizes=(1e-3, 0.2), maximize=True)),
    (Rprop, dict(lr=0.05, lr_tensor=True)),
    (ASGD, dict(lr=0.1, lambd=0.1, alpha=0.5, t0=2, weight_decay=0.1)),
    (ASGD, dict(lr=0.05, t0=0, maximize=True)),
    (ASGD, dict(lr=0.1, lambd=0.5, alpha=1.5, t0=3, lr_tensor=True)),
]


@pytest.mark.parametrize("mode", ["fast", "reference"])
@pytest.mark.parametrize("cls,kwargs", AGAINST_TORCH,
                         ids=[f"{c.__name__}-{i}" for i, (c, _) in enumerate(AGAINST_TORCH)])
def test_capturable_gives_what_torchs_non_capturable_step_gives(cls, kwargs, mode, device):
    """10 steps, float64: our capturable=True (counters on the device, a Tensor lr on the
    parameters' device) against torch.optim's capturable=False on the CPU: the same
    parameters and state."""
    torch = pytest.importorskip("torch")
    options = {k: v for k, v in kwargs.items() if k != "lr_tensor"}
    ours, theirs = dict(options, capturable=True), dict(options)
    if kwargs.get("lr_tensor"):
        ours["lr"] = tg.tensor(options["lr"], dtype=tg.float64, device=device)
        theirs["lr"] = torch.tensor(options["lr"], dtype=torch.float64)
    with (fast.on() if mode == "fast" else fast.off()):
        params, opt = train(cls, ours, device, steps=TORCH_STEPS)
    inits, grads = problem()
    t_params = [torch.tensor(x, requires_grad=True) for x in inits]
    t_opt = getattr(torch.optim, cls.__name__)(t_params, **theirs)
    for step_grads in grads:
        for tp, g in zip(t_params, step_grads):
            tp.grad = None if g is None else torch.tensor(g)
        t_opt.step()
    for p, tp in zip(params, t_params):
        np.testing.assert_allclose(numpy_of(p), tp.detach().numpy(), rtol=1e-10, atol=1e-14)
        state, their_state = opt.state[p], t_opt.state[tp]
        assert state.keys() == their_state.keys()
        for key, value in state.items():
            expected = their_state[key].detach().numpy()
            if key in SCALARS:
                assert value.device == device and value.dtype == tg.float32, key
                assert value.item() == pytest.approx(expected.item(), rel=1e-7), key
            else:
                np.testing.assert_allclose(numpy_of(value), expected, rtol=1e-10, atol=1e-14,
                                           err_msg=key)
    assert opt.state[params[1]]["step"].item() == TORCH_STEPS - 1  # (it skipped step 3)
    if cls is ASGD:  # the averaging started (mu < 1) and eta decayed
        assert opt.state[params[0]]["mu"].item() < 1
        assert opt.state[params[0]]["eta"].item() < options["lr"]


# ---------------------------------------------------------------------------------------------
# lr as a Tensor
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["fast", "reference"])
@pytest.mark.parametrize("cls,kwargs", ALL, ids=ALL_IDS)
def test_a_cpu_tensor_lr_gives_what_the_float_gives(cls, kwargs, mode, device):
    """Exactly: a CPU Tensor lr is read as the Python float of its value (no wait for
    anything), for parameters on any device."""
    value = float(np.float32(kwargs["lr"]))  # what the float32 Tensor holds
    with (fast.on() if mode == "fast" else fast.off()):
        params, opt = train(cls, dict(kwargs, lr=tg.tensor(kwargs["lr"])), device, np.float32)
        expected, _ = train(cls, dict(kwargs, lr=value), device, np.float32)
    for p, e in zip(params, expected):
        np.testing.assert_array_equal(numpy_of(p), numpy_of(e))
    assert isinstance(opt.param_groups[0]["lr"], tg.Tensor)  # the group keeps the Tensor


@pytest.mark.parametrize("mode", ["fast", "reference"])
@pytest.mark.parametrize("cls,kwargs", ALL, ids=ALL_IDS)
def test_a_tensor_lr_on_the_parameters_gpu_is_used_there(cls, kwargs, mode, device,
                                                         no_host_sync):
    """A float64 Tensor lr on the parameters' device: read there as a device scalar, no
    transfer (but by ASGD without capturable, whose eta is a CPU number, and Rprop's first
    step, whose step sizes start from it), the same updates as the float."""
    if device == "cpu":
        pytest.skip("a GPU Tensor lr")
    with (fast.on() if mode == "fast" else fast.off()):
        params, opt = train(cls, dict(kwargs, lr=tg.tensor(kwargs["lr"], dtype=tg.float64,
                                                           device=device)), device, steps=2)
        for p in params:
            p.grad = tg.ones_like(p)
        host_eta = cls is ASGD and not kwargs.get("capturable")
        with (no_host_sync() if not host_eta else contextlib.nullcontext()):
            opt.step()
        expected, expected_opt = train(cls, kwargs, device, steps=2)
        for p in expected:
            p.grad = tg.ones_like(p)
        expected_opt.step()
    for p, e in zip(params, expected):
        np.testing.assert_allclose(numpy_of(p), numpy_of(e), rtol=1e-12, atol=1e-14)


def test_a_gpu_tensor_lr_with_parameters_elsewhere_is_read_as_a_number():
    if tg.cuda.device_count() < 1:
        pytest.skip("needs a GPU")
    params, _ = train(SGD, dict(lr=tg.tensor(0.5, device="cuda"), momentum=0.9), "cpu")
    expected, _ = train(SGD, dict(lr=0.5, momentum=0.9), "cpu")
    for p, e in zip(params, expected):
        np.testing.assert_array_equal(numpy_of(p), numpy_of(e))


def test_tensor_lr_checks_follow_pytorch():
    p = [tg.zeros(2, requires_grad=True)]
    with pytest.raises(ValueError, match="Tensor lr must be 1-element"):
        SGD(p, lr=tg.tensor([0.1, 0.2]))
    with pytest.raises(ValueError, match="Invalid learning rate"):
        Adam(p, lr=tg.tensor(-0.1))
    with pytest.raises(ValueError, match="Tensor lr must be 1-element and floating.*int64"):
        SGD(p, lr=tg.tensor(1))
    SGD(p, lr=tg.tensor([[0.1]]))  # one element, any shape (PyTorch accepts it too)
    torch = pytest.importorskip("torch")
    tp = [torch.zeros(2, requires_grad=True)]
    with pytest.raises(ValueError, match="Tensor lr must be 1-element"):
        torch.optim.SGD(tp, lr=torch.tensor([0.1, 0.2]))
    with pytest.raises(ValueError, match="Invalid learning rate"):
        torch.optim.Adam(tp, lr=torch.tensor(-0.1))


def test_a_tensor_lr_in_state_dict_is_the_live_tensor_and_loading_copies_it(device, tmp_path):
    params, opt = train(Adam, dict(lr=tg.tensor(0.01, device=device), capturable=True), device,
                        steps=2)
    sd = opt.state_dict()
    assert sd["param_groups"][0]["lr"] is opt.param_groups[0]["lr"]  # as PyTorch
    save(sd, tmp_path / "opt")
    for loaded in (sd, load(tmp_path / "opt", map_location=device)):
        opt2 = Adam([tg.zeros_like(p, requires_grad=True) for p in params], lr=0.5)
        opt2.load_state_dict(loaded)
        lr = opt2.param_groups[0]["lr"]
        assert isinstance(lr, tg.Tensor) and lr is not opt.param_groups[0]["lr"]
        assert lr.device == device and lr.item() == np.float32(0.01)
        opt.param_groups[0]["lr"].fill_(0.02)
        assert lr.item() == np.float32(0.01)  # a copy (PyTorch deep-copies the groups)
        opt.param_groups[0]["lr"].fill_(0.01)


# ---------------------------------------------------------------------------------------------
# schedulers with a Tensor lr
# ---------------------------------------------------------------------------------------------
SCHEDULERS = [
    ("StepLR", dict(step_size=3, gamma=0.5)), ("MultiStepLR", dict(milestones=[2, 5], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.9)), ("CosineAnnealingLR", dict(T_max=6, eta_min=0.001)),
    ("LambdaLR", dict(lr_lambda=lambda e: 0.95 ** e)),
    ("MultiplicativeLR", dict(lr_lambda=lambda e: 0.9)),
    ("ConstantLR", dict(factor=0.5, total_iters=3)),
    ("LinearLR", dict(start_factor=0.25, total_iters=4)),
    ("PolynomialLR", dict(total_iters=6, power=2.0)),
    ("CosineAnnealingWarmRestarts", dict(T_0=3, T_mult=2)),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=3)),
    ("OneCycleLR", dict(max_lr=0.5, total_steps=15)),
    ("ReduceLROnPlateau", dict(patience=1, factor=0.5)),
    ("SequentialLR", None), ("ChainedScheduler", None),
]


def _scheduler(lib, name, kwargs, optimizer):
    schedulers = lib.optim.lr_scheduler
    if kwargs is not None:
        return getattr(schedulers, name)(optimizer, **kwargs)
    parts = [schedulers.LinearLR(optimizer, start_factor=0.1, total_iters=3),
             schedulers.ExponentialLR(optimizer, gamma=0.9)]
    if name == "SequentialLR":
        return schedulers.SequentialLR(optimizer, parts, milestones=[3])
    return schedulers.ChainedScheduler(parts)


@pytest.mark.parametrize("name,kwargs", SCHEDULERS, ids=[n for n, _ in SCHEDULERS])
def test_schedulers_fill_a_tensor_lr_in_place_as_pytorch(name, kwargs, device):
    """The group keeps its Tensor (filled in place); get_last_lr() gives copies, Tensors as
    PyTorch's; the rates are PyTorch's (computed on float32 Tensors like its)."""
    torch = pytest.importorskip("torch")
    p = tg.zeros(2, device=device, requires_grad=True)
    opt = SGD([p], lr=tg.tensor(0.1, device=device), momentum=0.9)
    tp = torch.zeros(2, requires_grad=True)
    t_opt = torch.optim.SGD([tp], lr=torch.tensor(0.1), momentum=0.9)
    ours, theirs = _scheduler(tg, name, kwargs, opt), _scheduler(torch, name, kwargs, t_opt)
    lr = opt.param_groups[0]["lr"]
    for i in range(14):
        got, expected = ours.get_last_lr(), theirs.get_last_lr()
        assert isinstance(got[0], tg.Tensor) and got[0] is not lr
        assert got[0].device == device
        assert got[0].item() == pytest.approx(expected[0].item(), rel=1e-6), i
        assert opt.param_groups[0]["lr"] is lr
        assert lr.item() == pytest.approx(t_opt.param_groups[0]["lr"].item(), rel=1e-6), i
        p.grad, tp.grad = tg.ones(2, device=device), torch.ones(2)
        opt.step()
        t_opt.step()
        if name == "ReduceLROnPlateau":
            ours.step(1.0)
            theirs.step(1.0)
        else:
            ours.step()
            theirs.step()
    assert numpy_of(p) == pytest.approx(tp.detach().numpy(), rel=1e-5)
    if name not in ("SequentialLR", "ChainedScheduler", "ReduceLROnPlateau", "CyclicLR",
                    "OneCycleLR"):  # (those two start from the numbers they are given)
        assert ours.base_lrs[0] is not lr and isinstance(ours.base_lrs[0], tg.Tensor)
    initial = opt.param_groups[0].get("initial_lr")
    assert initial is not lr


@pytest.mark.parametrize("name", ["StepLR", "CosineAnnealingLR", "LambdaLR", "OneCycleLR",
                                  "ChainedScheduler"])
def test_a_scheduler_step_on_a_gpu_tensor_lr_reads_nothing_back(name, device, no_host_sync):
    """The recursive schedules compute with the lr Tensors on the device: between the replays
    of a captured step, no step of the training loop waits for the GPU."""
    kwargs = dict(SCHEDULERS)[name]
    p = tg.zeros(2, device=device, requires_grad=True)
    p.grad = tg.ones(2, device=device)
    opt = SGD([p], lr=tg.tensor(0.1, device=device), momentum=0.9)
    with no_host_sync():
        scheduler = _scheduler(tg, name, kwargs, opt)
        for _ in range(5):
            opt.step()
            scheduler.step()
        last = scheduler.get_last_lr()
    expected_opt = SGD([tg.zeros(2, requires_grad=True)], lr=tg.tensor(0.1), momentum=0.9)
    expected = _scheduler(tg, name, kwargs, expected_opt)
    for _ in range(5):
        expected_opt.step()
        expected.step()
    assert last[0].item() == pytest.approx(expected.get_last_lr()[0].item(), rel=1e-6)


def test_a_scheduler_state_dict_with_tensor_rates_round_trips(device, tmp_path):
    opt = SGD([tg.zeros(2, device=device, requires_grad=True)], lr=tg.tensor(0.1, device=device))
    scheduler = sched.StepLR(opt, step_size=2, gamma=0.5)
    for _ in range(3):
        opt.step()
        scheduler.step()
    save(scheduler.state_dict(), tmp_path / "sched")
    opt2 = SGD([tg.zeros(2, device=device, requires_grad=True)], lr=tg.tensor(0.1, device=device))
    scheduler2 = sched.StepLR(opt2, step_size=2, gamma=0.5)
    scheduler2.load_state_dict(load(tmp_path / "sched", map_location=device))
    opt2.param_groups[0]["lr"].fill_(opt.param_groups[0]["lr"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(3):
            opt.step()
            opt2.step()
            scheduler.step()
            scheduler2.step()
    assert scheduler2.get_last_lr()[0].item() == scheduler.get_last_lr()[0].item()
    assert scheduler.get_last_lr()[0].item() == pytest.approx(0.1 * 0.5 ** 3)
