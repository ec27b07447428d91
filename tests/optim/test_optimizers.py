"""Optimizers: updates against the textbook formulas (NumPy, written here) and against
torch.optim where it is installed; param groups, zero_grad, state_dict, dtypes, in-place.

The tests that compute take the `device` fixture: the same updates run on "cpu" and "cuda"
(the reference stays NumPy / torch on the CPU), the state lives on the parameter's device, a
state_dict moves between devices, and a step reads nothing back from the GPU."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu import optim
from tinygrad_edu.optim import SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop

SHAPES = [(5,), (3, 4), (2,)]  # a small one first: the work buffers have to grow
STEPS = 5


# ---------------------------------------------------------------------------------------------
# textbook formulas (PyTorch's documented pseudo-code), one parameter at a time
# ---------------------------------------------------------------------------------------------
def ref_sgd(p, g, s, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False,
            maximize=False):
    g = -g if maximize else g
    if weight_decay:
        g = g + weight_decay * p
    if momentum:
        if "momentum_buffer" not in s:
            s["momentum_buffer"] = g.copy()
        else:
            s["momentum_buffer"] = momentum * s["momentum_buffer"] + (1 - dampening) * g
        b = s["momentum_buffer"]
        g = g + momentum * b if nesterov else b
    return p - lr * g


def ref_adam(p, g, s, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
             maximize=False, decoupled=False):
    b1, b2 = betas
    if not s:
        s.update(step=0.0, exp_avg=np.zeros_like(p), exp_avg_sq=np.zeros_like(p))
        if amsgrad:
            s["max_exp_avg_sq"] = np.zeros_like(p)
    s["step"] += 1
    t = s["step"]
    g = -g if maximize else g
    if weight_decay and decoupled:
        p = p * (1 - lr * weight_decay)
    elif weight_decay:
        g = g + weight_decay * p
    s["exp_avg"] = b1 * s["exp_avg"] + (1 - b1) * g
    s["exp_avg_sq"] = b2 * s["exp_avg_sq"] + (1 - b2) * g ** 2
    m_hat = s["exp_avg"] / (1 - b1 ** t)
    if amsgrad:
        s["max_exp_avg_sq"] = np.maximum(s["max_exp_avg_sq"], s["exp_avg_sq"])
        v_hat = s["max_exp_avg_sq"] / (1 - b2 ** t)
    else:
        v_hat = s["exp_avg_sq"] / (1 - b2 ** t)
    return p - lr * m_hat / (np.sqrt(v_hat) + eps)


def ref_adamw(p, g, s, weight_decay=1e-2, **kw):
    return ref_adam(p, g, s, weight_decay=weight_decay, decoupled=True, **kw)


def ref_rmsprop(p, g, s, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                centered=False, maximize=False):
    if not s:
        s.update(step=0.0, square_avg=np.zeros_like(p))
        if momentum > 0:
            s["momentum_buffer"] = np.zeros_like(p)
        if centered:
            s["grad_avg"] = np.zeros_like(p)
    s["step"] += 1
    g = -g if maximize else g
    if weight_decay:
        g = g + weight_decay * p
    s["square_avg"] = alpha * s["square_avg"] + (1 - alpha) * g ** 2
    v = s["square_avg"]
    if centered:
        s["grad_avg"] = alpha * s["grad_avg"] + (1 - alpha) * g
        v = v - s["grad_avg"] ** 2
    if momentum > 0:
        s["momentum_buffer"] = momentum * s["momentum_buffer"] + g / (np.sqrt(v) + eps)
        return p - lr * s["momentum_buffer"]
    return p - lr * g / (np.sqrt(v) + eps)


def ref_adagrad(p, g, s, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0,
                eps=1e-10, maximize=False):
    if not s:
        s.update(step=0.0, sum=np.full_like(p, initial_accumulator_value))
    s["step"] += 1
    g = -g if maximize else g
    if weight_decay:
        g = g + weight_decay * p
    clr = lr / (1 + (s["step"] - 1) * lr_decay)
    s["sum"] = s["sum"] + g * g
    return p - clr * g / (np.sqrt(s["sum"]) + eps)


REFERENCES = {SGD: ref_sgd, Adam: ref_adam, AdamW: ref_adamw, RMSprop: ref_rmsprop,
              Adagrad: ref_adagrad}

from optimizer_configs import CONFIG_IDS, CONFIGS  # noqa: E402 - tests/


def make_problem(seed: int = 0, dtype=np.float64):
    """Initial values and a gradient sequence; parameter 1 has no gradient at step 2."""
    rng = np.random.default_rng(seed)
    inits = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    grads = [[rng.standard_normal(s).astype(dtype) for s in SHAPES] for _ in range(STEPS)]
    grads[2][1] = None
    return inits, grads


def run_tg(cls, kwargs, inits, grads, device="cpu"):
    params = [tg.tensor(x, device=device, requires_grad=True) for x in inits]
    opt = cls(params, **kwargs)
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = None if g is None else tg.tensor(g, device=device)
        opt.step()
    return params, opt


def run_reference(cls, kwargs, inits, grads):
    ref = REFERENCES[cls]
    params = [x.copy() for x in inits]
    states = [{} for _ in params]
    for step_grads in grads:
        for i, g in enumerate(step_grads):
            if g is not None:
                params[i] = ref(params[i], g, states[i], **kwargs)
    return params, states


def numpy_of(t):
    return tg.backend.to_numpy(t.array)


# ---------------------------------------------------------------------------------------------
# the update formulas
# ---------------------------------------------------------------------------------------------
def assert_state_on_device(opt, p):
    """Every state Tensor of `p` is on p's device, except the step counter: a CPU scalar (as
    in PyTorch), so that reading it never waits for the GPU."""
    for key, value in opt.state.get(p, {}).items():
        assert isinstance(value, tg.Tensor), key
        if key == "step":
            assert value.device == "cpu" and value.shape == (), key
        else:
            assert value.device == p.device and value.shape == p.shape, key
            assert value.dtype == p.dtype, key


@pytest.mark.parametrize("cls,kwargs", CONFIGS, ids=CONFIG_IDS)
def test_updates_match_textbook_formula(cls, kwargs, device):
    inits, grads = make_problem()
    params, opt = run_tg(cls, kwargs, inits, grads, device)
    expected, states = run_reference(cls, kwargs, inits, grads)
    for p, e, s in zip(params, expected, states):
        assert p.device == device
        np.testing.assert_allclose(numpy_of(p), e, rtol=1e-10, atol=1e-12)
        got = opt.state.get(p, {})
        assert set(got) == set(s)
        for key, value in s.items():
            np.testing.assert_allclose(numpy_of(got[key]), value, rtol=1e-10, atol=1e-12,
                                       err_msg=key)
        assert_state_on_device(opt, p)
    assert not np.allclose(numpy_of(params[0]), inits[0])  # something did move


@pytest.mark.parametrize("cls,kwargs", CONFIGS, ids=CONFIG_IDS)
def test_updates_match_torch(cls, kwargs, device):
    torch = pytest.importorskip("torch")  # the reference, always on the CPU
    inits, grads = make_problem(seed=1)
    params, opt = run_tg(cls, kwargs, inits, grads, device)
    t_params = [torch.tensor(x, requires_grad=True) for x in inits]
    t_opt = getattr(torch.optim, cls.__name__)(t_params, **kwargs)
    for step_grads in grads:
        for p, g in zip(t_params, step_grads):
            p.grad = None if g is None else torch.tensor(g)
        t_opt.step()
    for p, tp in zip(params, t_params):
        np.testing.assert_allclose(numpy_of(p), tp.detach().numpy(), rtol=1e-9, atol=1e-12)
        ours, theirs = opt.state.get(p, {}), t_opt.state[tp]
        for key in ours:
            np.testing.assert_allclose(numpy_of(ours[key]), theirs[key].numpy(), rtol=1e-9,
                                       atol=1e-12, err_msg=key)
        if ours:
            assert set(ours) == set(theirs)


@given(lr=st.floats(1e-4, 1.0), momentum=st.sampled_from([0.0, 0.5, 0.9]),
       dampening=st.sampled_from([0.0, 0.2]), weight_decay=st.sampled_from([0.0, 1e-2]),
       nesterov=st.booleans(), maximize=st.booleans(), seed=st.integers(0, 2 ** 16))
def test_sgd_any_hyperparameters_match_formula(device, lr, momentum, dampening, weight_decay,
                                               nesterov, maximize, seed):
    if nesterov and (momentum == 0 or dampening != 0):
        with pytest.raises(ValueError, match="Nesterov"):
            SGD([tg.zeros(1, device=device, requires_grad=True)], lr=lr, momentum=momentum,
                dampening=dampening, nesterov=nesterov)
        return
    kwargs = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                  nesterov=nesterov, maximize=maximize)
    inits, grads = make_problem(seed)
    params, _ = run_tg(SGD, kwargs, inits, grads, device)
    expected, _ = run_reference(SGD, kwargs, inits, grads)
    for p, e in zip(params, expected):
        np.testing.assert_allclose(numpy_of(p), e, rtol=1e-10, atol=1e-12)


@given(lr=st.floats(1e-4, 0.1), b1=st.floats(0.0, 0.99), b2=st.floats(0.5, 0.9999),
       amsgrad=st.booleans(), decoupled=st.booleans(), seed=st.integers(0, 2 ** 16))
def test_adam_any_hyperparameters_match_formula(device, lr, b1, b2, amsgrad, decoupled, seed):
    cls = AdamW if decoupled else Adam
    kwargs = dict(lr=lr, betas=(b1, b2), weight_decay=0.05, amsgrad=amsgrad)
    inits, grads = make_problem(seed)
    params, _ = run_tg(cls, kwargs, inits, grads, device)
    expected, _ = run_reference(cls, kwargs, inits, grads)
    for p, e in zip(params, expected):
        np.testing.assert_allclose(numpy_of(p), e, rtol=1e-9, atol=1e-12)


def test_training_with_autograd_converges(device):
    """A least-squares fit through the real backward pass: every optimizer brings it down."""
    rng = np.random.default_rng(0)
    x = tg.tensor(rng.standard_normal((32, 3)), dtype=tg.float32, device=device)
    true_w = np.array([[1.0], [-2.0], [0.5]])
    y = x @ tg.tensor(true_w, dtype=tg.float32, device=device)  # (matmul does not promote)
    for cls, kwargs in [(SGD, dict(lr=0.05, momentum=0.9)), (Adam, dict(lr=0.1)),
                        (AdamW, dict(lr=0.1, weight_decay=0.0)), (RMSprop, dict(lr=0.01)),
                        (Adagrad, dict(lr=0.5))]:
        w = tg.zeros(3, 1, device=device, requires_grad=True)
        opt = cls([w], **kwargs)
        for _ in range(200):
            opt.zero_grad()
            loss = ((x @ w - y) ** 2).mean()
            loss.backward()
            opt.step()
        assert loss.item() < 1e-2, cls.__name__  # from about 5
        assert w.device == device and w.grad.device == device
        np.testing.assert_allclose(numpy_of(w), true_w, atol=0.1, err_msg=cls.__name__)


# ---------------------------------------------------------------------------------------------
# dtype, device, in place
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls,kwargs", CONFIGS, ids=CONFIG_IDS)
def test_float32_stays_float32_in_place_on_device(cls, kwargs, device):
    inits, grads = make_problem(seed=3, dtype=np.float32)
    params = [tg.tensor(x, device=device, requires_grad=True) for x in inits]
    arrays = [p.array for p in params]
    opt = cls(params, **kwargs)
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = None if g is None else tg.tensor(g, device=device)
        grad_copies = [None if p.grad is None else numpy_of(p.grad).copy() for p in params]
        grad_arrays = [None if p.grad is None else p.grad.array for p in params]
        opt.step()
        for p, g_copy, g_array in zip(params, grad_copies, grad_arrays):
            if g_copy is not None:  # the optimizer never writes into p.grad
                assert p.grad.array is g_array
                np.testing.assert_array_equal(numpy_of(p.grad), g_copy)
    expected, _ = run_reference(cls, kwargs, [x.astype(np.float64) for x in inits],
                                [[None if g is None else g.astype(np.float64) for g in gs]
                                 for gs in grads])
    for p, array, e in zip(params, arrays, expected):
        assert p.array is array  # updated in place, never replaced
        assert p.dtype == tg.float32
        assert p.device == device
        np.testing.assert_allclose(numpy_of(p), e, rtol=1e-4, atol=1e-5)
        assert_state_on_device(opt, p)
        for key, value in opt.state.get(p, {}).items():
            assert value.dtype == tg.float32, key  # the step counter too


FULL_STATE = [  # one configuration of each optimizer that keeps every kind of state
    (SGD, dict(momentum=0.9), {"momentum_buffer"}),
    (Adam, dict(amsgrad=True), {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}),
    (AdamW, dict(amsgrad=True), {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}),
    (RMSprop, dict(momentum=0.9, centered=True),
     {"step", "square_avg", "momentum_buffer", "grad_avg"}),
    (Adagrad, dict(), {"step", "sum"}),
]


@pytest.mark.parametrize("cls,kwargs,keys", FULL_STATE, ids=[c.__name__ for c, _, _ in FULL_STATE])
def test_float64_params_keep_float64_state(cls, kwargs, keys, device):
    p = tg.randn(4, dtype=tg.float64, device=device, requires_grad=True)
    opt = cls([p], lr=0.1, **kwargs)
    p.grad = tg.ones(4, dtype=tg.float64, device=device)
    opt.step()
    assert p.dtype == tg.float64 and p.device == device
    assert set(opt.state[p]) == keys
    for key, value in opt.state[p].items():
        assert value.dtype == (tg.float32 if key == "step" else tg.float64), key
    assert_state_on_device(opt, p)


def test_params_without_grad_are_skipped_and_get_no_state(device):
    a = tg.randn(3, device=device, requires_grad=True)
    b = tg.randn(3, device=device, requires_grad=True)
    before = numpy_of(b).copy()
    for cls in (SGD, Adam, AdamW, RMSprop, Adagrad):
        opt = cls([a, b], lr=0.1, **({"momentum": 0.9} if cls is SGD else {}))
        a.grad, b.grad = tg.ones(3, device=device), None
        opt.step()
        np.testing.assert_array_equal(numpy_of(b), before)
        assert b not in opt.state
        assert a in opt.state


@pytest.mark.parametrize("cls", [SGD, Adam, RMSprop, Adagrad])
def test_a_gradient_of_the_wrong_shape_is_a_clear_error(cls, device):
    a, b = leaf(2, device), leaf(3, device)
    opt = cls([a, b], lr=0.1)
    a.grad, b.grad = tg.ones(2, device=device), tg.ones(2, 3, device=device)
    before = numpy_of(a).copy(), numpy_of(b).copy()
    with pytest.raises(ValueError, match=rf"{cls.__name__}.step: parameter 1 has shape "
                                         r"(\(3,\)|tg\.Size\(\[3\]\)) but its .grad has shape "
                                         r"(\(2, 3\)|tg\.Size\(\[2, 3\]\))"):
        opt.step()
    np.testing.assert_array_equal(numpy_of(a), before[0])  # nothing was updated
    np.testing.assert_array_equal(numpy_of(b), before[1])
    assert len(opt.state) == 0


@pytest.mark.skipif(not tg.cuda.is_available(), reason="needs a second device: CUDA")
@pytest.mark.parametrize("cls", [SGD, Adam, RMSprop, Adagrad])
def test_a_gradient_on_another_device_is_a_clear_error(cls):
    """A .grad assigned from another device is refused before anything is updated, with an
    error naming both devices (not CuPy's complaint about a NumPy operand, half-way through)."""
    device = "cuda"
    a, b = leaf(2, device), leaf(3, device)
    opt = cls([a, b], lr=0.1, **({"momentum": 0.9} if cls is SGD else {}))
    a.grad, b.grad = tg.ones(2, device=device), tg.ones(3)  # b.grad on the CPU
    before = numpy_of(a).copy(), numpy_of(b).copy()
    with pytest.raises(RuntimeError, match=rf"{cls.__name__}.step: parameter 1 is on cuda:0 "
                                           r"but its .grad is on cpu"):
        opt.step()
    np.testing.assert_array_equal(numpy_of(a), before[0])
    np.testing.assert_array_equal(numpy_of(b), before[1])
    assert len(opt.state) == 0
    c = leaf(2)  # and the other way round: a CPU parameter with a device gradient
    c.grad = tg.ones(2, device=device)
    with pytest.raises(RuntimeError, match=r"parameter 0 is on cpu but its .grad is on cuda:0"):
        cls([c], lr=0.1).step()


def test_sgd_without_momentum_keeps_no_state(device):
    p = tg.randn(3, device=device, requires_grad=True)
    opt = SGD([p], lr=0.1)
    p.grad = tg.ones(3, device=device)
    opt.step()
    assert len(opt.state) == 0
    assert opt.state_dict()["state"] == {}


# ---------------------------------------------------------------------------------------------
# param groups, zero_grad, step(closure)
# ---------------------------------------------------------------------------------------------
def test_param_groups_with_different_options(device):
    a = tg.zeros(2, device=device, requires_grad=True)
    b = tg.zeros(3, device=device, requires_grad=True)
    opt = SGD([{"params": [a]}, {"params": b, "lr": 0.01, "momentum": 0.5}], lr=0.1)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.01]
    assert [g["momentum"] for g in opt.param_groups] == [0, 0.5]
    assert opt.param_groups[1]["params"][0] is b  # a single tensor becomes a list
    for _ in range(2):
        a.grad, b.grad = tg.ones(2, device=device), tg.ones(3, device=device)
        opt.step()
    np.testing.assert_allclose(numpy_of(a), [-0.2, -0.2])
    np.testing.assert_allclose(numpy_of(b), [-0.01 - 0.015] * 3)  # buffers 1, then 1.5


def test_add_param_group_takes_defaults_and_is_stepped(device):
    a = tg.zeros(2, device=device, requires_grad=True)
    b = tg.zeros(2, device=device, requires_grad=True)
    opt = Adam([a], lr=0.1)
    opt.add_param_group({"params": [b], "lr": 0.2})
    assert opt.param_groups[1]["betas"] == (0.9, 0.999)
    a.grad, b.grad = tg.ones(2, device=device), tg.ones(2, device=device)
    opt.step()
    np.testing.assert_allclose(numpy_of(a), [-0.1, -0.1], rtol=1e-6)  # Adam's first step: lr
    np.testing.assert_allclose(numpy_of(b), [-0.2, -0.2], rtol=1e-6)
    assert_state_on_device(opt, b)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})


def test_params_on_two_devices_in_one_optimizer(device):
    """Each parameter is updated on its own device, with its state there."""
    a = tg.zeros(2, requires_grad=True)
    b = tg.zeros(2, device=device, requires_grad=True)
    opt = Adam([a, b], lr=0.1)
    a.grad, b.grad = tg.ones(2), tg.ones(2, device=device)
    opt.step()
    for p in (a, b):
        np.testing.assert_allclose(numpy_of(p), [-0.1, -0.1], rtol=1e-6)
        assert_state_on_device(opt, p)
    assert b.device == device


def test_the_callers_group_dict_is_not_modified():
    group = {"params": [tg.zeros(2, requires_grad=True)]}
    SGD([group], lr=0.1)
    assert set(group) == {"params"}


@pytest.mark.parametrize("set_to_none", [True, False])
def test_zero_grad(set_to_none, device):
    a = tg.randn(3, device=device, requires_grad=True)
    b = tg.randn(2, device=device, requires_grad=True)
    opt = SGD([a, b], lr=0.1)
    (a.sum() * 2).backward()
    grad_array = a.grad.array
    opt.zero_grad(set_to_none=set_to_none)
    if set_to_none:
        assert a.grad is None
    else:
        assert a.grad.array is grad_array and a.grad.device == device
        np.testing.assert_array_equal(numpy_of(a.grad), np.zeros(3))
    assert b.grad is None  # had none: stays none
    (a.sum() * 3).backward()
    np.testing.assert_array_equal(numpy_of(a.grad), [3.0, 3.0, 3.0])  # no stale gradient


def test_zero_grad_of_a_create_graph_gradient_gives_fresh_zeros(device):
    """A gradient built with create_graph=True may share its array with the graph: it is
    replaced by zeros on its device, never overwritten."""
    p = tg.tensor([1.0, 2.0], device=device, requires_grad=True)
    opt = SGD([p], lr=0.1)
    (p * p).sum().backward(create_graph=True)
    grad = p.grad
    assert grad.grad_fn is not None
    opt.zero_grad(set_to_none=False)
    assert p.grad is not grad and p.grad.device == device
    np.testing.assert_array_equal(numpy_of(p.grad), [0.0, 0.0])
    np.testing.assert_array_equal(numpy_of(grad.detach()), [2.0, 4.0])


def test_zero_grad_default_sets_none(device):
    p = tg.randn(2, device=device, requires_grad=True)
    opt = Adam([p])
    p.sum().backward()
    opt.zero_grad()
    assert p.grad is None


def test_step_with_closure_returns_loss_and_records_graph(device):
    w = tg.tensor([1.0, 2.0], device=device, requires_grad=True)
    opt = SGD([w], lr=0.1)
    calls = []

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        calls.append(loss.item())
        return loss

    with tg.no_grad():  # the closure still records a graph
        loss = opt.step(closure)
    assert loss.item() == pytest.approx(5.0)
    assert calls == [pytest.approx(5.0)]
    np.testing.assert_allclose(numpy_of(w), [0.8, 1.6])
    assert opt.step() is None


def test_repr_lists_the_groups():
    opt = SGD([tg.zeros(1, requires_grad=True)], lr=0.5, momentum=0.9)
    text = repr(opt)
    assert text.startswith("SGD (") and "Parameter Group 0" in text
    assert "lr: 0.5" in text and "momentum: 0.9" in text and "params" not in text


# ---------------------------------------------------------------------------------------------
# constructor errors
# ---------------------------------------------------------------------------------------------
def leaf(n: int = 2, device: str = "cpu") -> tg.Tensor:
    return tg.randn(n, device=device, requires_grad=True)


@pytest.mark.parametrize("make,error,match", [
    (lambda: SGD([], lr=0.1), ValueError, "empty parameter list"),
    (lambda: Adam(iter([])), ValueError, "empty parameter list"),
    (lambda: SGD(leaf(), lr=0.1), TypeError, "single Tensor"),
    (lambda: SGD({"params": [leaf()]}, lr=0.1), TypeError, "wrap a single parameter group"),
    (lambda: SGD([leaf() * 2], lr=0.1), ValueError, "non-leaf"),
    (lambda: SGD([leaf(), np.zeros(2)], lr=0.1), TypeError, "only optimize Tensors"),
    (lambda: SGD({leaf()}, lr=0.1), TypeError, "ordered collections"),
    (lambda: SGD([{"params": {leaf()}}], lr=0.1), TypeError, "ordered collections"),
    (lambda: SGD([leaf()], lr=-0.1), ValueError, "Invalid learning rate: -0.1"),
    (lambda: SGD([leaf()], lr="0.1"), TypeError, "lr must be a real number"),
    (lambda: SGD([leaf()], lr=0.1, momentum=-0.5), ValueError, "Invalid momentum"),
    (lambda: SGD([leaf()], lr=0.1, weight_decay=-1), ValueError, "Invalid weight_decay"),
    (lambda: SGD([leaf()], lr=0.1, nesterov=True), ValueError, "Nesterov"),
    (lambda: SGD([leaf()], lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), ValueError,
     "Nesterov"),
    (lambda: Adam([leaf()], lr=-1e-3), ValueError, "Invalid learning rate"),
    (lambda: Adam([leaf()], betas=(1.0, 0.999)), ValueError, "beta parameter at index 0"),
    (lambda: Adam([leaf()], betas=(0.9, -0.1)), ValueError, "beta parameter at index 1"),
    (lambda: Adam([leaf()], betas=(0.9,)), ValueError, "pair"),
    (lambda: AdamW([leaf()], betas=(0.9, 1.5)), ValueError, "beta parameter at index 1"),
    (lambda: Adam([leaf()], eps=-1e-8), ValueError, "Invalid epsilon"),
    (lambda: RMSprop([leaf()], alpha=-0.1), ValueError, "Invalid alpha"),
    (lambda: Adagrad([leaf()], lr_decay=-0.1), ValueError, "Invalid lr_decay"),
    (lambda: Adagrad([leaf()], initial_accumulator_value=-1), ValueError,
     "initial_accumulator_value"),
    (lambda: SGD([{"params": [leaf()], "lr": -1}], lr=0.1), ValueError, "Invalid learning rate"),
    (lambda: SGD([{"lr": 0.1}]), ValueError, "'params' entry"),
    (lambda: SGD([leaf(), {"params": [leaf()]}]), TypeError, "only optimize Tensors"),
])
def test_constructor_errors(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_duplicate_parameters_are_refused():
    p = leaf()
    with pytest.raises(ValueError, match="more than once"):
        SGD([p, p], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        SGD([{"params": [p]}, {"params": [p]}], lr=0.1)


def test_required_hyperparameter_must_be_given():
    with pytest.raises(ValueError, match="required optimization parameter lr"):
        Optimizer([leaf()], {"lr": optim.required})
    p = leaf()
    opt = Optimizer([{"params": [p], "lr": 0.3}], {"lr": optim.required})
    assert opt.param_groups[0]["lr"] == 0.3
    p.grad = tg.ones(2)
    with pytest.raises(NotImplementedError, match="Optimizer implements neither step"):
        opt.step()


# ---------------------------------------------------------------------------------------------
# state_dict / load_state_dict
# ---------------------------------------------------------------------------------------------
def test_state_dict_layout_follows_pytorch(device):
    a, b, c = leaf(2, device), leaf(3, device), leaf(4, device)
    opt = Adam([{"params": [a, b]}, {"params": [c], "lr": 0.5}], lr=0.1)
    a.grad, c.grad = tg.ones(2, device=device), tg.ones(4, device=device)
    opt.step()
    sd = opt.state_dict()
    assert set(sd) == {"state", "param_groups"}
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1], [2]]
    assert sd["param_groups"][1]["lr"] == 0.5
    assert sd["param_groups"][0]["betas"] == (0.9, 0.999)
    assert set(sd["state"]) == {0, 2}  # int keys; b had no gradient, so no state
    assert set(sd["state"][0]) == {"step", "exp_avg", "exp_avg_sq"}
    assert sd["state"][2]["step"].item() == 1.0
    assert sd["state"][0]["exp_avg"] is opt.state[a]["exp_avg"]  # live tensors, as PyTorch
    assert sd["state"][0]["exp_avg"].device == device
    sd["param_groups"][0]["lr"] = 99.0  # ...but the groups are copies
    assert opt.param_groups[0]["lr"] == 0.1


def continue_both(opt, params, restored, clones, grads):
    """Step two optimizers with the same gradients (each on its own parameters' device)."""
    for step_grads in grads:
        for ps in (params, clones):
            for p, g in zip(ps, step_grads):
                p.grad = None if g is None else tg.tensor(g, device=p.device)
        opt.step()
        restored.step()


def assert_same_run(opt, params, restored, clones, rtol=0.0):
    """The same parameters and state (bit for bit with rtol=0); the restored state is its
    own copy, on its parameters' device."""
    for p, c in zip(params, clones):
        np.testing.assert_allclose(numpy_of(c), numpy_of(p), rtol=rtol, atol=rtol / 10)
        assert set(opt.state.get(p, {})) == set(restored.state.get(c, {}))
        for key, value in opt.state.get(p, {}).items():
            np.testing.assert_allclose(numpy_of(restored.state[c][key]), numpy_of(value),
                                       rtol=rtol, atol=rtol / 10, err_msg=key)
            assert value.array is not restored.state[c][key].array  # loaded state is a copy
        assert_state_on_device(restored, c)


@pytest.mark.parametrize("cls,kwargs", CONFIGS, ids=CONFIG_IDS)
def test_state_dict_round_trip_continues_identically(cls, kwargs, device):
    inits, grads = make_problem(seed=5, dtype=np.float32)
    params, opt = run_tg(cls, kwargs, inits, grads[:3], device)
    clones = [tg.tensor(p.array, device=device, requires_grad=True) for p in params]
    restored = cls(clones, lr=0.123)  # other options: they must come from the state dict
    restored.load_state_dict(opt.state_dict())
    assert restored.param_groups[0]["lr"] == opt.param_groups[0]["lr"]
    continue_both(opt, params, restored, clones, grads[3:] + grads[:2])
    assert_same_run(opt, params, restored, clones)


@pytest.mark.parametrize("cls,kwargs,keys", FULL_STATE, ids=[c.__name__ for c, _, _ in FULL_STATE])
@pytest.mark.parametrize("direction", ["to_cpu", "from_cpu"])
def test_state_dict_moves_between_devices(cls, kwargs, keys, direction, device):
    """A state saved on one device loads into an optimizer whose parameters are on another:
    the state follows the parameters, and training goes on as it would have."""
    source, target = (device, "cpu") if direction == "to_cpu" else ("cpu", device)
    inits, grads = make_problem(seed=6, dtype=np.float32)
    params, opt = run_tg(cls, dict(lr=0.05, **kwargs), inits, grads[:3], source)
    assert set(opt.state[params[0]]) == keys
    clones = [tg.tensor(numpy_of(p), device=target, requires_grad=True) for p in params]
    restored = cls(clones, lr=0.5)
    restored.load_state_dict(opt.state_dict())
    for c in clones:
        assert_state_on_device(restored, c)
    continue_both(opt, params, restored, clones, grads[3:])
    assert all(c.device == target for c in clones)
    # the same run, up to float32 rounding (two devices need not round alike)
    assert_same_run(opt, params, restored, clones, rtol=0.0 if source == target else 1e-5)


def test_load_state_dict_copies_and_casts_state(device):
    p32 = tg.zeros(3, device=device, requires_grad=True)
    opt = SGD([p32], lr=0.1, momentum=0.9)
    saved_buffer = tg.tensor([1.0, 2.0, 3.0], dtype=tg.float64)  # on the CPU, float64
    opt.load_state_dict({"state": {0: {"momentum_buffer": saved_buffer}},
                         "param_groups": [{"lr": 0.2, "momentum": 0.9, "dampening": 0,
                                           "weight_decay": 0, "nesterov": False,
                                           "maximize": False, "params": [0]}]})
    buf = opt.state[p32]["momentum_buffer"]
    assert buf.dtype == tg.float32 and buf.device == device
    p32.grad = tg.zeros(3, device=device)
    opt.step()
    np.testing.assert_allclose(numpy_of(buf), [0.9, 1.8, 2.7], rtol=1e-6)
    np.testing.assert_array_equal(saved_buffer.array, [1.0, 2.0, 3.0])  # the dict is untouched
    np.testing.assert_allclose(numpy_of(p32), [-0.18, -0.36, -0.54], rtol=1e-6)  # lr 0.2


def test_load_state_dict_accepts_string_indices_and_numpy_state(device):
    p = tg.zeros(2, device=device, requires_grad=True)
    opt = Adam([p])
    sd = {"state": {"0": {"step": np.float32(2.0), "exp_avg": np.ones(2),
                          "exp_avg_sq": np.ones(2)}},
          "param_groups": [dict(opt.state_dict()["param_groups"][0])]}
    opt.load_state_dict(sd)
    assert opt.state[p]["step"].item() == 2.0
    assert opt.state[p]["exp_avg"].dtype == tg.float32
    assert_state_on_device(opt, p)


def test_load_state_dict_takes_a_step_counter_from_the_device(device):
    """A step counter saved as a device scalar (another library's layout) comes back as the
    CPU scalar that a step reads without waiting for the GPU."""
    p = tg.zeros(2, device=device, requires_grad=True)
    opt = Adam([p])
    sd = {"state": {0: {"step": tg.tensor(3.0, device=device),
                        "exp_avg": tg.ones(2, device=device),
                        "exp_avg_sq": tg.ones(2, device=device)}},
          "param_groups": [dict(opt.state_dict()["param_groups"][0])]}
    opt.load_state_dict(sd)
    assert_state_on_device(opt, p)
    assert opt.state[p]["step"].item() == 3.0


def test_load_state_dict_errors_leave_the_optimizer_unchanged(device):
    a, b = leaf(2, device), leaf(3, device)
    opt = SGD([a, b], lr=0.1, momentum=0.9)
    a.grad, b.grad = tg.ones(2, device=device), tg.ones(3, device=device)
    opt.step()
    good = opt.state_dict()
    before_groups = copy.deepcopy([{k: v for k, v in g.items() if k != "params"}
                                   for g in opt.param_groups])
    before_state = {id(p): s for p, s in opt.state.items()}

    def with_groups(groups):
        return {"state": good["state"], "param_groups": groups}

    group = good["param_groups"][0]
    bad = [
        ({"state": {}}, "'state' and 'param_groups'"),
        ([1, 2], "'state' and 'param_groups'"),
        (with_groups([group, group]), "2 parameter group"),
        (with_groups([{**group, "params": [0]}]), "has 1 parameters"),
        ({"state": {0: {"momentum_buffer": tg.ones(5, device=device)}},
          "param_groups": [group]}, r"shape \(5,\)"),
        ({"state": {7: {"momentum_buffer": tg.ones(2)}}, "param_groups": [group]},
         "no parameter group lists"),
        ({"state": {0: 3}, "param_groups": [group]}, "must be a dict"),
        (with_groups([{**group, "lr": -1.0}]), "Invalid learning rate"),
        ({"state": [], "param_groups": [group]}, "'state' must be a dict"),
    ]
    for state_dict, match in bad:
        with pytest.raises(ValueError, match=match):
            opt.load_state_dict(state_dict)
        assert [{k: v for k, v in g.items() if k != "params"}
                for g in opt.param_groups] == before_groups
        assert {id(p): s for p, s in opt.state.items()} == before_state


def test_load_state_dict_keeps_the_optimizers_own_params():
    a = leaf(2)
    opt = SGD([a], lr=0.1)
    other = SGD([leaf(2)], lr=0.7)
    opt.load_state_dict(other.state_dict())
    assert opt.param_groups[0]["params"][0] is a
    assert opt.param_groups[0]["lr"] == 0.7


def stepped(cls, kwargs, device):
    """An optimizer over two parameters (shapes (2,) and (3,)) after one step of each."""
    a, b = leaf(2, device), leaf(3, device)
    opt = cls([a, b], **kwargs)
    a.grad, b.grad = tg.ones(2, device=device), tg.ones(3, device=device)
    opt.step()
    return opt


DROP = object()  # in with_state_of_b: delete the entry


def with_state_of_b(opt, **changes):
    """`opt.state_dict()`, with the state of parameter 1 changed (a value of DROP deletes)."""
    sd = opt.state_dict()
    entries = {k: v for k, v in sd["state"][1].items() if k not in changes}
    entries.update({k: v for k, v in changes.items() if v is not DROP})
    return {"state": {0: sd["state"][0], 1: entries}, "param_groups": sd["param_groups"]}


def snapshot(opt):
    return ([{k: copy.deepcopy(v) for k, v in g.items() if k != "params"}
             for g in opt.param_groups],
            [list(map(id, g["params"])) for g in opt.param_groups],
            {id(p): (s, dict(s), {k: numpy_of(v).copy() for k, v in s.items()})
             for p, s in opt.state.items()})


def assert_unchanged(opt, before):
    groups, params, state = snapshot(opt)
    assert groups == before[0] and params == before[1]
    assert state.keys() == before[2].keys()
    for key, (live, entries, values) in before[2].items():
        now_live, now_entries, now_values = state[key]
        assert now_live is live and now_entries.keys() == entries.keys()
        assert all(now_entries[k] is v for k, v in entries.items())  # the same Tensors
        for k, v in values.items():
            np.testing.assert_array_equal(now_values[k], v)


ADAM_AMSGRAD = dict(lr=0.1, amsgrad=True)
SGD_MOMENTUM = dict(lr=0.1, momentum=0.9)
RMSPROP_FULL = dict(lr=0.1, momentum=0.9, centered=True)
BAD_STATES = [  # (optimizer, options, changes to the state of parameter 1, error)
    (Adam, ADAM_AMSGRAD, dict(exp_avg=DROP), r"Adam.load_state_dict: .*parameter 1 lacks "
     r"'exp_avg': Adam needs 'step', 'exp_avg', 'exp_avg_sq' \(got 'step', 'exp_avg_sq'"),
    (Adam, ADAM_AMSGRAD, dict(step=DROP), "parameter 1 lacks 'step'"),
    (Adam, ADAM_AMSGRAD, dict(exp_avg="zeros"),
     r"Adam.load_state_dict: state 'exp_avg' of parameter 1 must be a Tensor of shape "
     r"\(3,\), got str"),
    (Adam, ADAM_AMSGRAD, dict(exp_avg_sq=[0.0, 0.0, 0.0]), "must be a Tensor.*got list"),
    (Adam, ADAM_AMSGRAD, dict(max_exp_avg_sq=np.zeros(2)),
     r"'max_exp_avg_sq' of parameter 1 has shape \(2,\), but the parameter has shape \(3,\)"),
    (Adam, ADAM_AMSGRAD, dict(exp_avg=np.array(["a", "b", "c"])),
     "'exp_avg' of parameter 1 must hold real numbers .*got dtype <U1"),
    (Adam, ADAM_AMSGRAD, dict(exp_avg=np.zeros(3, dtype=complex)), "got dtype complex128"),
    (Adam, ADAM_AMSGRAD, dict(step="3"), "'step' of parameter 1 must be a number .*got str"),
    (Adam, ADAM_AMSGRAD, dict(step=True), "must be a number .*got bool"),
    (Adam, ADAM_AMSGRAD, dict(step=np.array("3")), "must be a real number .*dtype <U1"),
    (Adam, ADAM_AMSGRAD, dict(step=np.ones(2)), r"must be a scalar, got shape \(2,\)"),
    (Adam, ADAM_AMSGRAD, dict(step=-1.0), "must be a step count >= 0, got -1.0"),
    (Adam, ADAM_AMSGRAD, dict(step=float("nan")), "step count >= 0, got nan"),
    (Adam, ADAM_AMSGRAD, dict(momentum_buffer=np.zeros(3)),
     "parameter 1 has the unexpected key 'momentum_buffer'; Adam keeps 'step', 'exp_avg', "
     "'exp_avg_sq', 'max_exp_avg_sq' .*another optimizer"),
    (AdamW, dict(lr=0.1), dict(exp_avg_sq=DROP), "AdamW.load_state_dict: .*lacks 'exp_avg_sq'"),
    (SGD, SGD_MOMENTUM, dict(momentum_buffer="buffer"),
     "SGD.load_state_dict: state 'momentum_buffer' of parameter 1 must be a Tensor"),
    (SGD, SGD_MOMENTUM, dict(exp_avg=np.zeros(3)), "unexpected key 'exp_avg'; SGD keeps "
     "'momentum_buffer'"),
    (RMSprop, RMSPROP_FULL, dict(square_avg=DROP), "RMSprop.load_state_dict: .*lacks "
     "'square_avg'"),
    (RMSprop, RMSPROP_FULL, dict(grad_avg="g"), "'grad_avg' of parameter 1 must be a Tensor"),
    (RMSprop, RMSPROP_FULL, dict(momentum_buffer=DROP, grad_avg=np.ones((3, 1))),
     r"'grad_avg' of parameter 1 has shape \(3, 1\)"),
    (Adagrad, dict(lr=0.1), dict(sum=DROP), "Adagrad.load_state_dict: .*lacks 'sum'"),
    (Adagrad, dict(lr=0.1), dict(sum=np.array([None, None, None])), "dtype object"),
    (Adagrad, dict(lr=0.1), dict(step=tg.ones(2)), "must be a scalar"),
]


@pytest.mark.parametrize("cls,kwargs,changes,match", BAD_STATES,
                         ids=[f"{c.__name__}-{i}" for i, (c, *_) in enumerate(BAD_STATES)])
def test_load_state_dict_refuses_state_that_step_cannot_use(cls, kwargs, changes, match,
                                                             device):
    """Every optimizer checks the saved state against the state its step() reads: refused at
    load time (ValueError naming the optimizer, parameter, key, expected and got), with the
    optimizer exactly as before, instead of a KeyError or AttributeError at the next step."""
    opt = stepped(cls, kwargs, device)
    before = snapshot(opt)
    bad = with_state_of_b(opt, **changes)
    with pytest.raises(ValueError, match=match):
        opt.load_state_dict(bad)
    assert_unchanged(opt, before)
    opt.step()  # still usable


@pytest.mark.parametrize("cls,kwargs,changes", [
    (SGD, SGD_MOMENTUM, dict(momentum_buffer=None)),  # PyTorch writes None before momentum
    (Adam, ADAM_AMSGRAD, dict(max_exp_avg_sq=DROP)),  # amsgrad switched on after the save
    (RMSprop, RMSPROP_FULL, dict(momentum_buffer=DROP, grad_avg=DROP)),
    (Adam, ADAM_AMSGRAD, dict(step=3, exp_avg=np.ones(3, dtype=np.int64))),  # cast to float32
    (Adagrad, dict(lr=0.1), dict(step=np.int64(2), sum=tg.ones(3, dtype=tg.float64))),
    (AdamW, dict(lr=0.1), dict(exp_avg=np.zeros(3, dtype=bool))),  # PyTorch casts it too
], ids=["SGD-none-buffer", "Adam-no-max", "RMSprop-optional", "Adam-int", "Adagrad-int-step",
        "AdamW-bool"])
def test_load_state_dict_accepts_state_that_step_can_use(cls, kwargs, changes, device):
    """Optional entries may be missing (step() creates them), SGD's buffer may be None, numbers
    of any real dtype become the parameter's dtype on its device, a step count any real
    scalar; an empty state is a parameter not stepped yet."""
    opt = stepped(cls, kwargs, device)
    sd = with_state_of_b(opt, **changes)
    sd["state"][0] = {}
    opt.load_state_dict(sd)
    a, b = opt.param_groups[0]["params"]
    assert opt.state[a] == {}
    assert set(opt.state[b]) == set(sd["state"][1])
    for key, value in opt.state[b].items():
        if value is not None and key != "step":
            assert value.dtype == tg.float32 and value.device == device, key
    a.grad, b.grad = tg.ones(2, device=device), tg.ones(3, device=device)
    opt.step()
    for p in (a, b):
        assert_state_on_device(opt, p)
        assert np.isfinite(numpy_of(p)).all()


def test_an_optimizer_that_declares_no_state_keys_loads_any_state():
    """A user's Optimizer subclass without `_state_keys` keeps the lenient loading: any keys,
    Tensors of the parameter's shape cast like it, other values as they are."""

    class Custom(Optimizer):
        def __init__(self, params):
            super().__init__(params, dict(lr=0.1))

    p = leaf(2)
    opt = Custom([p])
    sd = opt.state_dict()
    sd["state"] = {0: {"anything": np.ones(2), "note": "text", "step": 4}}
    opt.load_state_dict(sd)
    assert opt.state[p]["note"] == "text" and opt.state[p]["step"].item() == 4.0
    assert opt.state[p]["anything"].dtype == tg.float32


# ---------------------------------------------------------------------------------------------
# large parameters (on the CPU the fast step updates them in threads, tests/fast/test_optim.py)
# ---------------------------------------------------------------------------------------------
LARGE_CONFIGS = [
    (SGD, dict(lr=0.1, momentum=0.5, dampening=0.1, weight_decay=0.1, maximize=True)),
    (SGD, dict(lr=0.1, momentum=0.9, weight_decay=0.1, nesterov=True)),
    (Adam, dict(lr=0.01, amsgrad=True, weight_decay=0.05, maximize=True)),
]


@pytest.mark.parametrize("cls,kwargs", LARGE_CONFIGS,
                         ids=[f"{cls.__name__}-{i}" for i, (cls, _) in enumerate(LARGE_CONFIGS)])
def test_a_large_parameter_on_any_device_matches_the_formula(cls, kwargs, device):
    """A parameter of 1M elements: the update is the textbook one, in place, in float32,
    with its state on the parameter's device."""
    rng = np.random.default_rng(8)
    shape = (1024, 1025)
    init = rng.standard_normal(shape).astype(np.float32)
    grads = [rng.standard_normal(shape).astype(np.float32) for _ in range(2)]
    p = tg.tensor(init, device=device, requires_grad=True)
    array = p.array
    opt = cls([p], **kwargs)
    for g in grads:
        p.grad = tg.tensor(g, device=device)
        opt.step()
    expected, _ = run_reference(cls, kwargs, [init.astype(np.float64)],
                                [[g.astype(np.float64)] for g in grads])
    assert p.array is array and p.dtype == tg.float32 and p.device == device
    np.testing.assert_allclose(numpy_of(p), expected[0], rtol=1e-4, atol=1e-5)
    assert_state_on_device(opt, p)


# ---------------------------------------------------------------------------------------------
# the GPU: a step reads nothing back from the device and makes no parameter-sized temporaries
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls,kwargs", CONFIGS, ids=CONFIG_IDS)
def test_step_and_zero_grad_read_nothing_back_from_the_device(cls, kwargs, device,
                                                              no_host_sync):
    """The first step (which creates the state), later ones and zero_grad, for every
    configuration: the step counter lives on the CPU and the options are Python floats."""
    inits, grads = make_problem(seed=2, dtype=np.float32)
    params = [tg.tensor(x, device=device, requires_grad=True) for x in inits]
    opt = cls(params, **kwargs)
    for i, step_grads in enumerate(grads[:3]):
        for p, g in zip(params, step_grads):
            p.grad = None if g is None else tg.tensor(g, device=device)
        with no_host_sync():
            opt.step()
            opt.zero_grad(set_to_none=i % 2 == 0)
    expected, _ = run_reference(cls, kwargs, [x.astype(np.float64) for x in inits],
                                [[None if g is None else g.astype(np.float64) for g in gs]
                                 for gs in grads[:3]])
    for p, e in zip(params, expected):
        np.testing.assert_allclose(numpy_of(p), e, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("cls,kwargs", [(cls, kwargs) for cls, kwargs, _ in FULL_STATE],
                         ids=[c.__name__ for c, _, _ in FULL_STATE])
def test_a_training_step_with_backward_reads_nothing_back(cls, kwargs, device, no_host_sync):
    """zero_grad, forward, backward and step of a least-squares fit, with a closure."""
    rng = np.random.default_rng(0)
    x = tg.tensor(rng.standard_normal((8, 3)).astype(np.float32), device=device)
    y = tg.tensor(rng.standard_normal((8, 1)).astype(np.float32), device=device)
    w = tg.zeros(3, 1, device=device, requires_grad=True)
    opt = cls([w], lr=0.01, **kwargs)

    def closure():
        opt.zero_grad()
        loss = ((x @ w - y) ** 2).mean()
        loss.backward()
        return loss

    with no_host_sync():
        losses = [opt.step(closure).detach() for _ in range(3)]
    values = [loss.item() for loss in losses]  # asking for the values: allowed, afterwards
    assert values[-1] < values[0]


# ---------------------------------------------------------------------------------------------
# the reference update works on the arrays: 0-d parameters, NumPy scalars as options
# ---------------------------------------------------------------------------------------------
EVERY_OPTIMIZER = [SGD, Adam, AdamW, RMSprop, Adagrad, optim.NAdam, optim.RAdam, optim.Adamax,
                   optim.Adadelta, optim.Rprop, optim.ASGD]


@pytest.mark.parametrize("mode", ["fast", "reference"])
@pytest.mark.parametrize("cls", EVERY_OPTIMIZER, ids=lambda c: c.__name__)
def test_a_scalar_float32_parameter_with_numpy_scalar_options(cls, mode, device):
    """A 0-d parameter (NumPy's arithmetic on 0-d arrays gives scalars) stays a float32 0-d
    array, updated in place, and NumPy float64 options (which NumPy 2 lets promote float32
    arithmetic) leave the parameter and its state float32, as Python floats do."""
    extra = dict(momentum=np.float64(0.9)) if cls in (SGD, RMSprop) else {}
    p = tg.tensor(1.5, device=device, requires_grad=True)
    q = tg.tensor(1.5, device=device, requires_grad=True)
    array = p.array
    opt = cls([p], lr=np.float64(0.01), **extra)
    plain = cls([q], lr=0.01, **{k: float(v) for k, v in extra.items()})
    with (tg.fast.on() if mode == "fast" else tg.fast.off()):
        for g in (2.0, -1.0, 3.0):
            p.grad, q.grad = tg.tensor(g, device=device), tg.tensor(g, device=device)
            opt.step()
            plain.step()
    assert p.array is array and p.shape == () and p.dtype == tg.float32
    np.testing.assert_allclose(numpy_of(p), numpy_of(q), rtol=1e-6)
    assert numpy_of(p) != 1.5
    for key, value in opt.state[p].items():
        assert value.dtype == tg.float32 and value.shape == (), key
