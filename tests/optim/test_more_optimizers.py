"""NAdam, RAdam, Adamax, Adadelta, Rprop, ASGD and LBFGS against torch.optim (the reference, on
the CPU, float64): the same parameters and state after the same gradients, on every device;
state_dict round trips; PyTorch's ValueErrors for bad hyperparameters.

LBFGS is compared on whole `step(closure)` calls (its iterates and evaluation counts). PyTorch
adds with fused multiply-adds (`add_(x, alpha=a)`), so on an ill-conditioned problem such as
Rosenbrock's the last bits drift apart over many iterations: there the long run is compared at
a looser tolerance, the first iterations at 1e-10."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import optim
from tinygrad_edu.optim import ASGD, LBFGS, Adadelta, Adamax, NAdam, RAdam, Rprop

SHAPES = [(5,), (3, 4), (2,)]
STEPS = 8  # RAdam's rectified update starts once rho_t > 5 (step 6 with beta2 = 0.95)

CONFIGS = [
    (NAdam, {}),
    (NAdam, dict(lr=0.05, weight_decay=0.1, momentum_decay=0.01)),
    (NAdam, dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    (RAdam, {}),
    (RAdam, dict(lr=0.05, betas=(0.8, 0.95), weight_decay=0.1)),
    (RAdam, dict(lr=0.05, betas=(0.8, 0.95), weight_decay=0.1, decoupled_weight_decay=True,
                 maximize=True)),
    (Adamax, {}),
    (Adamax, dict(lr=0.05, betas=(0.5, 0.9), eps=1e-3, weight_decay=0.1, maximize=True)),
    (Adadelta, {}),
    (Adadelta, dict(lr=0.5, rho=0.5, eps=1e-4, weight_decay=0.1, maximize=True)),
    (Rprop, {}),
    (Rprop, dict(lr=0.1, etas=(0.3, 1.5), step_sizes=(1e-3, 0.2), maximize=True)),
    (ASGD, {}),
    (ASGD, dict(lr=0.1, lambd=0.1, alpha=0.5, t0=2, weight_decay=0.1)),
    (ASGD, dict(lr=0.05, t0=0, maximize=True)),
]
CONFIG_IDS = [f"{cls.__name__}-{i}" for i, (cls, _) in enumerate(CONFIGS)]
ONE_EACH = [(cls, kwargs) for cls, kwargs in CONFIGS if not kwargs]


def make_problem(seed: int = 0, steps: int = STEPS):
    """Initial values and a gradient sequence; parameter 1 has no gradient at step 2. (Random
    signs: Rprop's step sizes grow, shrink and stay.)"""
    rng = np.random.default_rng(seed)
    inits = [rng.standard_normal(s) for s in SHAPES]
    grads = [[rng.standard_normal(s) for s in SHAPES] for _ in range(steps)]
    if steps > 2:
        grads[2][1] = None
    return inits, grads


def numpy_of(t: tg.Tensor) -> np.ndarray:
    return tg.backend.to_numpy(t.detach().array)


def set_grads(params, step_grads, make):
    for p, g in zip(params, step_grads):
        p.grad = None if g is None else make(g)


def run_ours(cls, kwargs, inits, grads, device="cpu"):
    params = [tg.tensor(x, device=device, requires_grad=True) for x in inits]
    opt = cls(params, **kwargs)
    for step_grads in grads:
        set_grads(params, step_grads, lambda g: tg.tensor(g, device=device))
        opt.step()
    return params, opt


def run_torch(torch, cls, kwargs, inits, grads):
    params = [torch.tensor(x, requires_grad=True) for x in inits]
    opt = getattr(torch.optim, cls.__name__)(params, **kwargs)
    for step_grads in grads:
        set_grads(params, step_grads, torch.tensor)
        opt.step()
    return params, opt


def assert_same_state(ours, theirs, rtol=1e-10):
    assert set(ours) == set(theirs)
    for key, value in ours.items():
        np.testing.assert_allclose(numpy_of(value), theirs[key].detach().numpy(), rtol=rtol,
                                   atol=1e-14, err_msg=key)


# ---------------------------------------------------------------------------------------------
# the updates
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls,kwargs", CONFIGS, ids=CONFIG_IDS)
def test_updates_match_torch(cls, kwargs, device):
    torch = pytest.importorskip("torch")
    inits, grads = make_problem()
    params, opt = run_ours(cls, kwargs, inits, grads, device)
    t_params, t_opt = run_torch(torch, cls, kwargs, inits, grads)
    for p, tp in zip(params, t_params):
        assert p.device == device and p.dtype == tg.float64
        np.testing.assert_allclose(numpy_of(p), tp.detach().numpy(), rtol=1e-10, atol=1e-14)
        assert_same_state(opt.state[p], t_opt.state[tp])
    assert not np.allclose(numpy_of(params[0]), inits[0])


@pytest.mark.parametrize("cls,kwargs", ONE_EACH, ids=[c.__name__ for c, _ in ONE_EACH])
def test_param_groups_have_their_own_options(cls, kwargs, device):
    torch = pytest.importorskip("torch")
    inits, grads = make_problem(seed=1, steps=3)
    params = [tg.tensor(x, device=device, requires_grad=True) for x in inits]
    t_params = [torch.tensor(x, requires_grad=True) for x in inits]

    def groups(ps):
        return [{"params": ps[:2]}, {"params": ps[2:], "lr": 0.3, "maximize": True}]

    opt = cls(groups(params), lr=0.02)
    t_opt = getattr(torch.optim, cls.__name__)(groups(t_params), lr=0.02)
    assert opt.param_groups[1]["lr"] == 0.3 and opt.param_groups[0]["maximize"] is False
    for step_grads in grads:
        set_grads(params, step_grads, lambda g: tg.tensor(g, device=device))
        set_grads(t_params, step_grads, torch.tensor)
        opt.step()
        t_opt.step()
    for p, tp in zip(params, t_params):
        np.testing.assert_allclose(numpy_of(p), tp.detach().numpy(), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("cls,kwargs", ONE_EACH, ids=[c.__name__ for c, _ in ONE_EACH])
def test_float32_in_place_on_device_without_reading_back(cls, kwargs, device, no_host_sync):
    """A float32 parameter stays float32, is updated in place, its gradient is left alone;
    the per-parameter state lives on its device, the scalars ("step", ASGD's "eta" and "mu",
    NAdam's "mu_product") on the CPU; a step reads nothing back from the GPU."""
    inits, grads = make_problem(seed=2, steps=3)
    params = [tg.tensor(x, dtype=tg.float32, device=device, requires_grad=True) for x in inits]
    arrays = [p.array for p in params]
    opt = cls(params, **kwargs)
    for step_grads in grads:
        set_grads(params, step_grads, lambda g: tg.tensor(g, dtype=tg.float32, device=device))
        before = [None if p.grad is None else numpy_of(p.grad).copy() for p in params]
        with no_host_sync():
            opt.step()
        for p, g in zip(params, before):
            if g is not None:
                np.testing.assert_array_equal(numpy_of(p.grad), g)
    for p, array in zip(params, arrays):
        assert p.array is array and p.dtype == tg.float32 and p.device == device
        for key, value in opt.state[p].items():
            assert value.dtype == tg.float32, key
            if value.shape == ():
                assert value.device == "cpu", key
            else:
                assert value.device == device and value.shape == p.shape, key


# ---------------------------------------------------------------------------------------------
# state_dict
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls,kwargs", CONFIGS, ids=CONFIG_IDS)
def test_state_dict_round_trip(cls, kwargs, device):
    inits, grads = make_problem(seed=3)
    params, opt = run_ours(cls, kwargs, inits, grads[:5], device)
    saved = opt.state_dict()
    assert sorted(saved["state"]) == [0, 1, 2]
    assert saved["param_groups"][0]["params"] == [0, 1, 2]
    params2 = [tg.tensor(numpy_of(p), device=device, requires_grad=True) for p in params]
    opt2 = cls(params2, lr=123.0)  # the loaded options win
    opt2.load_state_dict(saved)
    assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"]
    for p, p2 in zip(params, params2):
        assert opt2.state[p2] is not opt.state[p]
        for key, value in opt2.state[p2].items():
            assert value is not opt.state[p][key]  # copies
            assert value.device == (opt.state[p][key].device), key
    for step_grads in grads[5:]:
        set_grads(params, step_grads, lambda g: tg.tensor(g, device=device))
        set_grads(params2, step_grads, lambda g: tg.tensor(g, device=device))
        opt.step()
        opt2.step()
    for p, p2 in zip(params, params2):
        np.testing.assert_array_equal(numpy_of(p2), numpy_of(p))


# PyTorch's options that these optimizers do not have (all but LBFGS take capturable)
NOT_OURS = {cls: ("foreach", "differentiable") + (("capturable",) if cls is LBFGS else ())
            for cls in (NAdam, RAdam, Adamax, Adadelta, Rprop, ASGD, LBFGS)}


def test_state_dict_keys_follow_pytorch():
    torch = pytest.importorskip("torch")
    inits, grads = make_problem(steps=1)
    for cls, kwargs in ONE_EACH:
        _, opt = run_ours(cls, kwargs, inits, grads)
        _, t_opt = run_torch(torch, cls, kwargs, inits, grads)
        ours, theirs = opt.state_dict(), t_opt.state_dict()
        assert set(ours["state"][0]) == set(theirs["state"][0]), cls.__name__
        options = {k for k in theirs["param_groups"][0] if k not in NOT_OURS[cls]}
        assert set(ours["param_groups"][0]) == options, cls.__name__


def test_another_optimizers_state_is_refused():
    inits, grads = make_problem(steps=1)
    _, nadam = run_ours(NAdam, {}, inits, grads)
    p = [tg.tensor(x, requires_grad=True) for x in inits]
    with pytest.raises(ValueError, match="unexpected key 'mu_product'"):
        RAdam(p).load_state_dict(nadam.state_dict())
    with pytest.raises(ValueError, match="unexpected key 'exp_avg_sq'"):
        Adamax(p).load_state_dict(run_ours(RAdam, {}, inits, grads)[1].state_dict())
    saved = run_ours(Adadelta, {}, inits, grads)[1].state_dict()
    del saved["state"][0]["acc_delta"]
    with pytest.raises(ValueError, match="lacks 'acc_delta'"):
        Adadelta(p).load_state_dict(saved)


# ---------------------------------------------------------------------------------------------
# hyperparameters
# ---------------------------------------------------------------------------------------------
BAD = [
    (NAdam, dict(lr=-1e-3), "Invalid learning rate"),
    (NAdam, dict(eps=-1.0), "Invalid epsilon value"),
    (NAdam, dict(betas=(1.0, 0.9)), "Invalid beta parameter at index 0"),
    (NAdam, dict(betas=(0.9, -0.1)), "Invalid beta parameter at index 1"),
    (NAdam, dict(weight_decay=-0.1), "Invalid weight_decay value"),
    (NAdam, dict(momentum_decay=-0.1), "Invalid momentum_decay value"),
    (RAdam, dict(lr=-1.0), "Invalid learning rate"),
    (RAdam, dict(betas=(0.9, 1.0)), "Invalid beta parameter at index 1"),
    (RAdam, dict(weight_decay=-1.0), "Invalid weight_decay value"),
    (Adamax, dict(eps=-1e-8), "Invalid epsilon value"),
    (Adamax, dict(betas=(-0.5, 0.9)), "Invalid beta parameter at index 0"),
    (Adamax, dict(weight_decay=-1.0), "Invalid weight_decay value"),
    (Adadelta, dict(lr=-1.0), "Invalid learning rate"),
    (Adadelta, dict(rho=1.5), "Invalid rho value"),
    (Adadelta, dict(rho=-0.5), "Invalid rho value"),
    (Adadelta, dict(eps=-1.0), "Invalid epsilon value"),
    (Adadelta, dict(weight_decay=-1.0), "Invalid weight_decay value"),
    (Rprop, dict(lr=-1.0), "Invalid learning rate"),
    (Rprop, dict(etas=(1.5, 1.2)), "Invalid eta values"),
    (Rprop, dict(etas=(0.5, 0.9)), "Invalid eta values"),
    (Rprop, dict(etas=(0.0, 1.2)), "Invalid eta values"),
    (ASGD, dict(lr=-1.0), "Invalid learning rate"),
    (ASGD, dict(weight_decay=-1.0), "Invalid weight_decay value"),
    (LBFGS, dict(lr=-1.0), "Invalid learning rate"),
]


@pytest.mark.parametrize("cls,kwargs,match", BAD,
                         ids=[f"{c.__name__}-{i}" for i, (c, _, _) in enumerate(BAD)])
def test_bad_hyperparameters_raise_value_error(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls([tg.zeros(2, requires_grad=True)], **kwargs)


def test_bad_hyperparameters_are_torchs_value_errors_too():
    torch = pytest.importorskip("torch")
    for cls, kwargs, match in BAD:
        with pytest.raises(ValueError, match=match):
            getattr(torch.optim, cls.__name__)([torch.zeros(2, requires_grad=True)], **kwargs)


def test_what_pytorch_accepts_is_accepted():
    p = [tg.zeros(2, requires_grad=True)]
    ASGD(p, alpha=-0.5, lambd=-1.0)  # PyTorch checks neither
    Adadelta(p, rho=1.0)
    Rprop(p, step_sizes=(0.0, 1e9))
    NAdam(p, betas=[0.5, 0.5])  # a list is a pair too


def test_defaults_follow_pytorch():
    torch = pytest.importorskip("torch")
    for cls in (NAdam, RAdam, Adamax, Adadelta, Rprop, ASGD, LBFGS):
        ours = cls([tg.zeros(2, requires_grad=True)]).defaults
        theirs = getattr(torch.optim, cls.__name__)([torch.zeros(2, requires_grad=True)]).defaults
        theirs = {k: v for k, v in theirs.items() if k not in NOT_OURS[cls]}
        assert ours == theirs, cls.__name__


def test_exported():
    for name in ("NAdam", "RAdam", "Adamax", "Adadelta", "Rprop", "ASGD", "LBFGS"):
        assert name in optim.__all__ and getattr(optim, name).__name__ == name


# ---------------------------------------------------------------------------------------------
# LBFGS
# ---------------------------------------------------------------------------------------------
def rosenbrock(x, y):
    return ((1 - x) ** 2 + 100 * (y - x ** 2) ** 2).sum()


def quadratic(x, y):
    return 3 * ((x - 1) ** 2).sum() + ((y + 2) ** 2).sum() + (x * y).sum()


def lbfgs_run(lib, fn, kwargs, steps, device=None):
    """`steps` calls of LBFGS.step(closure) from (-1.2, 0.5), (1, 0.3): the iterates after each,
    the closure's losses returned, and the state's evaluation and iteration counts."""
    where = {} if device is None else {"device": device}
    x = lib.tensor([-1.2, 0.5], dtype=lib.float64, requires_grad=True, **where)
    y = lib.tensor([1.0, 0.3], dtype=lib.float64, requires_grad=True, **where)
    opt = (lib.optim.LBFGS if lib is not tg else LBFGS)([x, y], **kwargs)

    def closure():
        opt.zero_grad()
        loss = fn(x, y)
        loss.backward()
        return loss

    iterates, losses = [], []
    for _ in range(steps):
        losses.append(float(opt.step(closure).detach()))
        iterates.append(np.concatenate([x.detach().cpu().numpy(), y.detach().cpu().numpy()]))
    state = opt.state[x]
    return np.array(iterates), losses, (state["func_evals"], state["n_iter"]), opt


LBFGS_CASES = [
    (quadratic, dict(), 3, 1e-10),
    (quadratic, dict(line_search_fn="strong_wolfe"), 3, 1e-10),
    (quadratic, dict(lr=0.5, max_iter=7, history_size=2), 3, 1e-10),
    (rosenbrock, dict(max_iter=5), 3, 1e-10),
    (rosenbrock, dict(max_iter=8, line_search_fn="strong_wolfe"), 1, 1e-10),
    (rosenbrock, dict(lr=0.5, max_iter=7, history_size=3), 3, 1e-10),
    (rosenbrock, dict(), 3, 1e-7),
    (rosenbrock, dict(line_search_fn="strong_wolfe"), 3, 1e-7),
    (rosenbrock, dict(history_size=2, max_iter=10, line_search_fn="strong_wolfe"), 3, 1e-10),
]


@pytest.mark.parametrize("fn,kwargs,steps,rtol", LBFGS_CASES,
                         ids=[f"{f.__name__}-{i}" for i, (f, _, _, _) in enumerate(LBFGS_CASES)])
def test_lbfgs_iterates_match_torch(fn, kwargs, steps, rtol, device):
    torch = pytest.importorskip("torch")
    ours, our_losses, our_counts, _ = lbfgs_run(tg, fn, kwargs, steps, device)
    theirs, their_losses, their_counts, _ = lbfgs_run(torch, fn, kwargs, steps)
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=1e-12)
    np.testing.assert_allclose(our_losses, their_losses, rtol=rtol)
    assert our_counts == their_counts


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_lbfgs_minimises(line_search_fn, device):
    iterates, losses, _, _ = lbfgs_run(tg, rosenbrock, dict(line_search_fn=line_search_fn,
                                                            max_iter=50), 6, device)
    np.testing.assert_allclose(iterates[-1], np.ones(4), atol=1e-4)
    assert losses[-1] < 1e-9 < losses[0]
    q_iterates, _, _, _ = lbfgs_run(tg, quadratic, dict(line_search_fn=line_search_fn), 2,
                                    device)
    # the minimum of the quadratic: 6(x - 1) + y = 0, 2(y + 2) + x = 0
    np.testing.assert_allclose(q_iterates[-1], [16 / 11] * 2 + [-30 / 11] * 2, atol=1e-4)


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_lbfgs_state_dict_round_trip(line_search_fn, device):
    kwargs = dict(line_search_fn=line_search_fn, max_iter=4, history_size=3)
    _, _, _, opt = lbfgs_run(tg, rosenbrock, kwargs, 2, device)
    x, y = opt.param_groups[0]["params"]
    saved = opt.state_dict()
    assert set(saved["state"]) == {0}  # LBFGS's state is kept on the first parameter
    assert {"func_evals", "n_iter", "d", "t", "old_dirs", "old_stps", "ro", "H_diag",
            "prev_flat_grad", "prev_loss"} <= set(saved["state"][0])
    x2, y2 = (tg.tensor(numpy_of(t), device=device, requires_grad=True) for t in (x, y))
    opt2 = LBFGS([x2, y2], **kwargs)
    opt2.load_state_dict(saved)
    state2 = opt2.state[x2]
    assert state2["d"].device == device and state2["d"] is not opt.state[x]["d"]
    assert all(s.device == device for s in state2["old_dirs"])

    def closure_of(o, a, b):
        def closure():
            o.zero_grad()
            loss = rosenbrock(a, b)
            loss.backward()
            return loss
        return closure

    for _ in range(2):
        opt.step(closure_of(opt, x, y))
        opt2.step(closure_of(opt2, x2, y2))
    np.testing.assert_array_equal(numpy_of(x2), numpy_of(x))
    np.testing.assert_array_equal(numpy_of(y2), numpy_of(y))
    assert opt2.state[x2]["func_evals"] == opt.state[x]["func_evals"]
    with pytest.raises(ValueError, match="unexpected key 'exp_avg'"):
        opt2.load_state_dict({"state": {0: {"exp_avg": x.detach()}},
                              "param_groups": saved["param_groups"]})


def test_lbfgs_errors():
    x = tg.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="doesn't support per-parameter options"):
        LBFGS([{"params": [x]}, {"params": [tg.zeros(1, requires_grad=True)]}])
    opt = LBFGS([x], line_search_fn="backtracking")

    def closure():
        opt.zero_grad()
        loss = ((x - 1) ** 2).sum()
        loss.backward()
        return loss

    with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
        opt.step(closure)
    with pytest.raises(TypeError, match="needs a closure"):
        LBFGS([x]).step(None)
    with pytest.raises(TypeError):
        LBFGS([x]).step()  # the closure is not optional


def test_lbfgs_stops_at_once_when_optimal_and_checks_gradients():
    x = tg.ones(2, requires_grad=True)
    opt = LBFGS([x])

    def closure():
        opt.zero_grad()
        loss = ((x - 1) ** 2).sum()
        loss.backward()
        return loss

    assert float(opt.step(closure)) == 0.0
    assert opt.state[x] == {"func_evals": 1, "n_iter": 0}

    def bad_closure():
        x.grad = tg.ones(3)
        return tg.tensor(1.0)

    with pytest.raises(ValueError, match=r"LBFGS.step: parameter 0 has shape"):
        opt.step(bad_closure)
