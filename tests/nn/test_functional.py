"""nn.functional (everything but the losses and convolution): linear, activations, erf/gelu,
softmax, dropout, batch_norm, layer_norm, one_hot, pad."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu.autograd import gradcheck, gradgradcheck


def _t(array: object, requires_grad: bool = False, device: str = "cpu") -> tg.Tensor:
    return tg.tensor(array, dtype=tg.float64, requires_grad=requires_grad, device=device)


# ---------------------------------------------------------------------------------------------
# linear
# ---------------------------------------------------------------------------------------------
@settings(max_examples=15, deadline=None)
@given(lead=st.lists(st.integers(1, 3), min_size=0, max_size=2), n_in=st.integers(1, 4),
       n_out=st.integers(1, 4), bias=st.booleans(), seed=st.integers(0, 999))
def test_linear_forward_and_gradcheck(lead: list, n_in: int, n_out: int, bias: bool,
                                      seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(tuple(lead) + (n_in,))
    w = rng.standard_normal((n_out, n_in))
    b = rng.standard_normal(n_out) if bias else None
    out = F.linear(_t(x), _t(w), None if b is None else _t(b))
    np.testing.assert_allclose(out.numpy(), x @ w.T + (0 if b is None else b), atol=1e-12)
    inputs = [_t(x, True), _t(w, True)] + ([_t(b, True)] if bias else [])
    assert gradcheck(lambda *a: F.linear(*a), inputs)


def test_linear_gradgradcheck_and_float32() -> None:
    rng = np.random.default_rng(0)
    args = (_t(rng.standard_normal((3, 4)), True), _t(rng.standard_normal((2, 4)), True),
            _t(rng.standard_normal(2), True))
    assert gradgradcheck(F.linear, args)
    x = tg.randn(5, 4)
    w = tg.randn(3, 4, requires_grad=True)
    b = tg.zeros(3, requires_grad=True)
    out = F.linear(x, w, b)
    out.sum().backward()
    assert out.dtype == w.grad.dtype == b.grad.dtype == tg.float32


def test_linear_errors() -> None:
    with pytest.raises(ValueError, match=r"linear: input of shape \(2, 3\) has 3 features but "
                                         r"weight of shape \(5, 4\) expects 4"):
        F.linear(tg.zeros(2, 3), tg.zeros(5, 4))
    with pytest.raises(TypeError, match="input is float64 but weight is float32"):
        F.linear(tg.zeros(2, 4, dtype=tg.float64), tg.zeros(5, 4))
    with pytest.raises(ValueError, match="bias of shape"):
        F.linear(tg.zeros(2, 4), tg.zeros(5, 4), tg.zeros(4))


# ---------------------------------------------------------------------------------------------
# activations
# ---------------------------------------------------------------------------------------------
ACTIVATIONS = {
    "relu": (F.relu, {}),
    "relu6": (F.relu6, {}),
    "leaky_relu": (F.leaky_relu, {"negative_slope": 0.2}),
    "elu": (F.elu, {"alpha": 0.7}),
    "celu": (F.celu, {"alpha": 1.3}),
    "selu": (F.selu, {}),
    "gelu": (F.gelu, {}),
    "gelu_tanh": (F.gelu, {"approximate": "tanh"}),
    "silu": (F.silu, {}),
    "mish": (F.mish, {}),
    "softplus": (F.softplus, {}),
    "softplus_beta": (F.softplus, {"beta": 2.0, "threshold": 3.0}),
    "softsign": (F.softsign, {}),
    "hardtanh": (F.hardtanh, {"min_val": -0.5, "max_val": 0.7}),
    "hardsigmoid": (F.hardsigmoid, {}),
    "hardswish": (F.hardswish, {}),
    "logsigmoid": (F.logsigmoid, {}),
    "sigmoid": (F.sigmoid, {}),
    "tanh": (F.tanh, {}),
}


def _activation_input(seed: int = 0) -> np.ndarray:
    # values away from kinks (0, +-1, +-3, 6) so that finite differences are clean
    x = np.random.default_rng(seed).uniform(-4, 4, size=(3, 7))
    for kink in (0.0, 1.0, -1.0, 3.0, -3.0, 0.5, -0.5, 0.7, 1.5):
        x = np.where(np.abs(x - kink) < 1e-3, x + 0.01, x)
    return x


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_gradcheck(name: str) -> None:
    fn, kw = ACTIVATIONS[name]
    assert gradcheck(lambda a: fn(a, **kw), (_t(_activation_input(), True),))


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_matches_torch(name: str) -> None:
    torch = pytest.importorskip("torch")
    fn, kw = ACTIVATIONS[name]
    torch_fn = getattr(torch.nn.functional, name.replace("_tanh", "").replace("_beta", ""))
    x = np.concatenate([_activation_input(1).ravel(), [-60.0, -25.0, 25.0, 60.0]])
    tx = torch.tensor(x, requires_grad=True)
    ref = torch_fn(tx, **kw)
    ref.sum().backward()
    X = _t(x, True)
    out = fn(X, **kw)
    out.sum().backward()
    # (PyTorch rounds some float parameters, such as celu's 1 / alpha, to float32)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-7,
                               atol=1e-12)
    np.testing.assert_allclose(X.grad.numpy(), tx.grad.numpy(), rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("name", ["gelu", "logsigmoid", "softplus", "elu", "silu"])
def test_activation_gradgradcheck(name: str) -> None:
    fn, kw = ACTIVATIONS[name]
    assert gradgradcheck(lambda a: fn(a, **kw), (_t(_activation_input(2)[:1], True),))


def test_activations_keep_float32_and_are_finite_for_huge_inputs() -> None:
    x = tg.tensor([-1e4, -50.0, 0.0, 50.0, 1e4], requires_grad=True)
    for name, (fn, kw) in ACTIVATIONS.items():
        x.grad = None
        out = fn(x, **kw)
        out.sum().backward()
        assert out.dtype == tg.float32, name
        assert np.isfinite(out.detach().numpy()).all(), name
        assert np.isfinite(x.grad.numpy()).all(), name


def test_erf_matches_math_erf_to_double_precision() -> None:
    xs = np.concatenate([np.linspace(-7, 7, 20001), [0.0, 1e-300, -1e-8, 0.5, 4.0, 30.0]])
    got = F.erf_array(xs)
    ref = np.array([math.erf(v) for v in xs])
    np.testing.assert_allclose(got, ref, rtol=1e-15, atol=1e-16)
    got32 = F.erf_array(xs.astype(np.float32))
    assert got32.dtype == np.float32
    np.testing.assert_allclose(got32, ref, atol=3e-7)
    edge = F.erf_array(np.array([np.inf, -np.inf, np.nan]))
    assert edge[0] == 1.0 and edge[1] == -1.0 and np.isnan(edge[2])


def test_erf_function_gradcheck() -> None:
    x = _t(np.linspace(-3, 3, 13), True)
    assert gradcheck(F.Erf.apply, (x,))
    assert gradgradcheck(F.Erf.apply, (x,))


def test_gelu_matches_torch_float32() -> None:
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(3).standard_normal(1000).astype(np.float32) * 4
    np.testing.assert_allclose(F.gelu(tg.tensor(x)).numpy(),
                               torch.nn.functional.gelu(torch.tensor(x)).numpy(), atol=2e-6)


def test_hardtanh_family_gradient_is_zero_at_the_limits() -> None:
    x = _t([-1.0, 0.0, 1.0, 6.0, 3.0], True)
    F.hardtanh(x).sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 0.0, 0.0, 0.0]
    x.grad = None
    F.relu6(x).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 1.0, 0.0, 1.0]


def test_activation_errors() -> None:
    with pytest.raises(ValueError, match="approximate must be 'none' or 'tanh'"):
        F.gelu(tg.zeros(2), approximate="fast")
    with pytest.raises(ValueError, match="min_val"):
        F.hardtanh(tg.zeros(2), 1.0, -1.0)


# ---------------------------------------------------------------------------------------------
# softmax family
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_family(dim: int) -> None:
    x = np.random.default_rng(4).standard_normal((3, 4))
    e = np.exp(x - x.max(axis=dim, keepdims=True))
    ref = e / e.sum(axis=dim, keepdims=True)
    np.testing.assert_allclose(F.softmax(_t(x), dim).numpy(), ref, atol=1e-12)
    np.testing.assert_allclose(F.log_softmax(_t(x), dim=dim).numpy(), np.log(ref), atol=1e-12)
    neg = np.exp(-x - (-x).max(axis=dim, keepdims=True))
    np.testing.assert_allclose(F.softmin(_t(x), dim).numpy(),
                               neg / neg.sum(axis=dim, keepdims=True), atol=1e-12)
    assert gradcheck(lambda a: F.log_softmax(a, dim), (_t(x, True),))


def test_softmax_implicit_dim_warns_like_torch() -> None:
    x = _t(np.random.default_rng(5).standard_normal((2, 3)))
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        out = F.softmax(x)
    np.testing.assert_allclose(out.numpy().sum(axis=1), 1.0)  # 2-D: dim 1
    with pytest.warns(UserWarning):
        out = F.log_softmax(_t([1.0, 2.0]))
    assert abs(np.exp(out.numpy()).sum() - 1) < 1e-12


def test_softmax_dtype_argument() -> None:
    out = F.softmax(tg.tensor([1.0, 2.0]), dim=0, dtype=tg.float64)
    assert out.dtype == tg.float64


# ---------------------------------------------------------------------------------------------
# dropout
# ---------------------------------------------------------------------------------------------
def test_dropout_same_seed_same_mask_and_scaling(device: str) -> None:
    x = tg.ones(50, 40, device=device)
    tg.manual_seed(123)
    a = F.dropout(x, 0.3)
    tg.manual_seed(123)
    b = F.dropout(x, 0.3)
    c = F.dropout(x, 0.3)
    a_np, b_np, c_np = (t.cpu().numpy() for t in (a, b, c))
    np.testing.assert_array_equal(a_np, b_np)
    assert not np.array_equal(a_np, c_np)
    values = np.unique(a_np)
    assert len(values) == 2 and values[0] == 0.0
    assert abs(values[1] - 1 / 0.7) < 1e-6
    assert a.dtype == tg.float32


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_fraction_and_expectation(p: float) -> None:
    tg.manual_seed(0)
    out = F.dropout(tg.ones(200, 200), p).numpy()
    n = out.size
    dropped = (out == 0).mean()
    assert abs(dropped - p) < 5 * math.sqrt(p * (1 - p) / n)
    assert abs(out.mean() - 1.0) < 0.05


def test_dropout_gradient_is_the_mask() -> None:
    tg.manual_seed(1)
    x = tg.randn(30, 20, dtype=tg.float64, requires_grad=True)
    out = F.dropout(x, 0.4)
    out.sum().backward()
    keep = out.detach().numpy() != 0
    np.testing.assert_allclose(x.grad.numpy(), keep / 0.6)
    np.testing.assert_allclose(out.detach().numpy(), x.detach().numpy() * keep / 0.6)


def test_dropout_eval_p0_p1_and_errors() -> None:
    x = tg.randn(4, 5, requires_grad=True)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    zeros = F.dropout(x, 1.0)
    assert (zeros.detach().numpy() == 0).all()
    zeros.sum().backward()
    assert (x.grad.numpy() == 0).all()
    for p in (-0.1, 1.5):
        with pytest.raises(ValueError, match="between 0 and 1"):
            F.dropout(x, p)


# ---------------------------------------------------------------------------------------------
# batch_norm and layer_norm
# ---------------------------------------------------------------------------------------------
BN_SHAPES = [(4, 3), (3, 2, 5), (2, 3, 3, 2)]


def _bn_reference(x: np.ndarray, mean: np.ndarray, var: np.ndarray, w: np.ndarray | None,
                  b: np.ndarray | None, eps: float) -> np.ndarray:
    shape = (1, -1) + (1,) * (x.ndim - 2)
    y = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)
    if w is not None:
        y = y * w.reshape(shape)
    if b is not None:
        y = y + b.reshape(shape)
    return y


@pytest.mark.parametrize("shape", BN_SHAPES)
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_training_forward_and_running_stats(shape: tuple, affine: bool) -> None:
    rng = np.random.default_rng(6)
    x = rng.standard_normal(shape) * 2 + 1
    c = shape[1]
    w, b = (rng.standard_normal(c), rng.standard_normal(c)) if affine else (None, None)
    rm0, rv0 = rng.standard_normal(c), rng.random(c) + 0.5
    rm, rv = _t(rm0), _t(rv0)
    out = F.batch_norm(_t(x), rm, rv, None if w is None else _t(w), None if b is None else _t(b),
                       training=True, momentum=0.2, eps=1e-3)
    axes = (0,) + tuple(range(2, x.ndim))
    m = x.size // c
    mean, var = x.mean(axis=axes), x.var(axis=axes)
    np.testing.assert_allclose(out.numpy(), _bn_reference(x, mean, var, w, b, 1e-3), atol=1e-12)
    np.testing.assert_allclose(rm.numpy(), 0.8 * rm0 + 0.2 * mean, atol=1e-12)
    np.testing.assert_allclose(rv.numpy(), 0.8 * rv0 + 0.2 * var * m / (m - 1), atol=1e-12)


@pytest.mark.parametrize("shape", BN_SHAPES)
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_gradcheck(shape: tuple, training: bool) -> None:
    rng = np.random.default_rng(7)
    c = shape[1]
    x, w, b = (_t(a, True) for a in (rng.standard_normal(shape), rng.standard_normal(c),
                                     rng.standard_normal(c)))
    rm, rv = _t(rng.standard_normal(c)), _t(rng.random(c) + 0.5)

    def fn(a: tg.Tensor, weight: tg.Tensor, bias: tg.Tensor) -> tg.Tensor:
        return F.batch_norm(a, rm, rv, weight, bias, training=training, momentum=0.0)

    assert gradcheck(fn, (x, w, b))
    assert gradcheck(lambda a: F.batch_norm(a, rm, rv, training=training, momentum=0.0), (x,))


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_gradgradcheck(training: bool) -> None:
    rng = np.random.default_rng(8)
    x, w, b = (_t(a, True) for a in (rng.standard_normal((3, 2, 2)), rng.standard_normal(2),
                                     rng.standard_normal(2)))
    rm, rv = _t(np.zeros(2)), _t(np.ones(2))
    assert gradgradcheck(lambda a, c, d: F.batch_norm(a, rm, rv, c, d, training=training,
                                                      momentum=0.0), (x, w, b))


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_matches_torch(training: bool, device: str) -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(9)
    x = rng.standard_normal((4, 3, 5, 2)).astype(np.float32)
    w, b = rng.standard_normal(3).astype(np.float32), rng.standard_normal(3).astype(np.float32)
    rm0, rv0 = rng.standard_normal(3).astype(np.float32), (rng.random(3) + 0.5).astype(np.float32)
    g = rng.standard_normal(x.shape).astype(np.float32)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    trm, trv = torch.tensor(rm0), torch.tensor(rv0)
    ref = torch.nn.functional.batch_norm(tx, trm, trv, tw, tb, training, 0.1, 1e-5)
    ref.backward(torch.tensor(g))
    X, W, B = (tg.tensor(a, requires_grad=True, device=device) for a in (x, w, b))
    rm, rv = tg.tensor(rm0, device=device), tg.tensor(rv0, device=device)
    out = F.batch_norm(X, rm, rv, W, B, training, 0.1, 1e-5)
    out.backward(tg.tensor(g, device=device))
    assert out.dtype == X.grad.dtype == rm.dtype == tg.float32
    np.testing.assert_allclose(out.cpu().detach().numpy(), ref.detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(rm.cpu().numpy(), trm.numpy(), atol=1e-6)
    np.testing.assert_allclose(rv.cpu().numpy(), trv.numpy(), atol=1e-6)
    for mine, theirs in ((X, tx), (W, tw), (B, tb)):
        np.testing.assert_allclose(mine.grad.cpu().numpy(), theirs.grad.numpy(), atol=1e-4)


def test_batch_norm_without_running_stats_and_errors() -> None:
    x = _t(np.random.default_rng(10).standard_normal((5, 2)))
    out = F.batch_norm(x, None, None, training=True)
    np.testing.assert_allclose(out.numpy().mean(axis=0), 0, atol=1e-12)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        F.batch_norm(tg.zeros(1, 3), None, None, training=True)
    with pytest.raises(ValueError, match="running_mean and running_var are needed"):
        F.batch_norm(tg.zeros(4, 3), None, None, training=False)
    with pytest.raises(ValueError, match=r"weight must have shape \(3,\)"):
        F.batch_norm(tg.zeros(4, 3), tg.zeros(3), tg.ones(3), weight=tg.ones(2))
    with pytest.raises(ValueError, match="at least 2 dims"):
        F.batch_norm(tg.zeros(4), tg.zeros(4), tg.ones(4))
    running_mean = tg.zeros(3)
    with pytest.raises(TypeError, match="input is float32 but weight is float64"):
        F.batch_norm(tg.randn(4, 3), running_mean, tg.ones(3),
                     weight=tg.ones(3, dtype=tg.float64), training=True)
    assert running_mean.tolist() == [0.0, 0.0, 0.0]  # a failed call changes nothing


def test_layer_norm_matches_torch_and_gradcheck() -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    x, w, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((3, 4)), rng.standard_normal(
        (3, 4))
    ref = torch.nn.functional.layer_norm(torch.tensor(x), (3, 4), torch.tensor(w),
                                         torch.tensor(b))
    np.testing.assert_allclose(F.layer_norm(_t(x), (3, 4), _t(w), _t(b)).numpy(), ref.numpy(),
                               atol=1e-12)
    assert gradcheck(lambda a, c, d: F.layer_norm(a, [4], c, d),
                     (_t(x, True), _t(w[0], True), _t(b[0], True)))
    with pytest.raises(ValueError, match="normalized_shape"):
        F.layer_norm(_t(x), (5,))


# ---------------------------------------------------------------------------------------------
# one_hot, pad, normalize
# ---------------------------------------------------------------------------------------------
def test_one_hot() -> None:
    out = F.one_hot(tg.tensor([[0, 2], [1, 0]]))
    assert out.dtype == tg.int64 and out.shape == (2, 2, 3)
    np.testing.assert_array_equal(out.numpy(), np.eye(3, dtype=np.int64)[[[0, 2], [1, 0]]])
    assert F.one_hot(tg.tensor([1]), num_classes=4).tolist() == [[0, 1, 0, 0]]
    with pytest.raises(ValueError, match="class value 5 is out of range for num_classes=3"):
        F.one_hot(tg.tensor([5]), 3)
    with pytest.raises(ValueError, match="non-negative"):
        F.one_hot(tg.tensor([-1, 0]))
    with pytest.raises(TypeError, match="integer"):
        F.one_hot(tg.tensor([1.0]))


def test_pad_and_normalize() -> None:
    x = _t([[1.0, 2.0]], True)
    out = F.pad(x, (1, 2), value=-1.0)
    assert out.tolist() == [[-1.0, 1.0, 2.0, -1.0, -1.0]]
    assert F.pad(x, (0, 1)).tolist() == [[1.0, 2.0, 0.0]]
    y = np.random.default_rng(12).standard_normal((3, 4))
    np.testing.assert_allclose(F.normalize(_t(y)).numpy(),
                               y / np.linalg.norm(y, axis=1, keepdims=True), atol=1e-12)
    assert gradcheck(lambda a: F.normalize(a, dim=0), (_t(y, True),))


def test_functional_signatures_match_torch() -> None:
    """Positional order and defaults are PyTorch's, so nn layers can call them positionally."""
    torch = pytest.importorskip("torch")
    import inspect

    for name in ("dropout", "batch_norm", "leaky_relu", "softmax", "log_softmax", "mse_loss",
                 "l1_loss", "smooth_l1_loss", "huber_loss", "cross_entropy", "nll_loss",
                 "binary_cross_entropy", "binary_cross_entropy_with_logits", "layer_norm",
                 "adaptive_avg_pool2d", "elu", "hardtanh", "pad", "normalize"):
        theirs = inspect.signature(getattr(torch.nn.functional, name)).parameters
        mine = inspect.signature(getattr(F, name)).parameters
        assert list(mine) == list(theirs), name
        for key, param in theirs.items():
            if param.default is not inspect.Parameter.empty:
                assert mine[key].default == param.default, (name, key)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert set(F.__all__) <= set(dir(F))
