"""nn.functional (everything but the losses and convolution): linear, activations, erf/gelu,
softmax, dropout, batch_norm, layer_norm, one_hot, pad, on every device (torch, when it is the
reference, stays on the CPU); the forward and backward of each read nothing back from the GPU."""

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


def _np(t: tg.Tensor) -> np.ndarray:
    """A tensor's values as a host NumPy array, from any device."""
    return tg.backend.to_numpy(t.detach().array)


# ---------------------------------------------------------------------------------------------
# linear
# ---------------------------------------------------------------------------------------------
@settings(max_examples=15, deadline=None)
@given(lead=st.lists(st.integers(1, 3), min_size=0, max_size=2), n_in=st.integers(1, 4),
       n_out=st.integers(1, 4), bias=st.booleans(), seed=st.integers(0, 999))
def test_linear_forward_and_gradcheck(lead: list, n_in: int, n_out: int, bias: bool,
                                      seed: int, device: str) -> None:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(tuple(lead) + (n_in,))
    w = rng.standard_normal((n_out, n_in))
    b = rng.standard_normal(n_out) if bias else None
    out = F.linear(_t(x, device=device), _t(w, device=device),
                   None if b is None else _t(b, device=device))
    np.testing.assert_allclose(_np(out), x @ w.T + (0 if b is None else b), atol=1e-12)
    inputs = [_t(x, True, device), _t(w, True, device)] + ([_t(b, True, device)] if bias else [])
    assert gradcheck(lambda *a: F.linear(*a), inputs)


def test_linear_gradgradcheck_and_float32(device: str) -> None:
    rng = np.random.default_rng(0)
    args = (_t(rng.standard_normal((3, 4)), True, device),
            _t(rng.standard_normal((2, 4)), True, device), _t(rng.standard_normal(2), True, device))
    assert gradgradcheck(F.linear, args)
    x = tg.randn(5, 4, device=device)
    w = tg.randn(3, 4, requires_grad=True, device=device)
    b = tg.zeros(3, requires_grad=True, device=device)
    out = F.linear(x, w, b)
    out.sum().backward()
    assert out.dtype == w.grad.dtype == b.grad.dtype == tg.float32


def test_linear_errors(device: str) -> None:
    def zeros(*shape: int, dtype: object = tg.float32) -> tg.Tensor:
        return tg.zeros(*shape, dtype=dtype, device=device)

    with pytest.raises(ValueError, match=r"linear: input of shape \(2, 3\) has 3 features but "
                                         r"weight of shape \(5, 4\) expects 4"):
        F.linear(zeros(2, 3), zeros(5, 4))
    with pytest.raises(TypeError, match="input is tg.float64 but weight is tg.float32"):
        F.linear(zeros(2, 4, dtype=tg.float64), zeros(5, 4))
    with pytest.raises(ValueError, match="bias of shape"):
        F.linear(zeros(2, 4), zeros(5, 4), zeros(4))


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
def test_activation_gradcheck(name: str, device: str) -> None:
    fn, kw = ACTIVATIONS[name]
    assert gradcheck(lambda a: fn(a, **kw), (_t(_activation_input(), True, device),))


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_matches_torch(name: str, device: str) -> None:
    torch = pytest.importorskip("torch")
    fn, kw = ACTIVATIONS[name]
    torch_fn = getattr(torch.nn.functional, name.replace("_tanh", "").replace("_beta", ""))
    x = np.concatenate([_activation_input(1).ravel(), [-60.0, -25.0, 25.0, 60.0]])
    tx = torch.tensor(x, requires_grad=True)
    ref = torch_fn(tx, **kw)
    ref.sum().backward()
    X = _t(x, True, device)
    out = fn(X, **kw)
    out.sum().backward()
    assert out.device == X.grad.device == tg.Device(device)
    # (PyTorch rounds some float parameters, such as celu's 1 / alpha, to float32)
    np.testing.assert_allclose(_np(out), ref.detach().numpy(), rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(_np(X.grad), tx.grad.numpy(), rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("name", ["gelu", "logsigmoid", "softplus", "elu", "silu"])
def test_activation_gradgradcheck(name: str, device: str) -> None:
    fn, kw = ACTIVATIONS[name]
    assert gradgradcheck(lambda a: fn(a, **kw), (_t(_activation_input(2)[:1], True, device),))


def test_activations_keep_float32_and_are_finite_for_huge_inputs(device: str) -> None:
    x = tg.tensor([-1e4, -50.0, 0.0, 50.0, 1e4], requires_grad=True, device=device)
    for name, (fn, kw) in ACTIVATIONS.items():
        x.grad = None
        out = fn(x, **kw)
        out.sum().backward()
        assert out.dtype == tg.float32, name
        assert np.isfinite(_np(out)).all(), name
        assert np.isfinite(_np(x.grad)).all(), name


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


def test_erf_on_device_arrays(device: str) -> None:
    xs = np.concatenate([np.linspace(-7, 7, 401), [0.0, 1e-300, 0.5, 4.0, 30.0, np.inf]])
    for dtype, atol in ((np.float64, 1e-16), (np.float32, 3e-7)):
        data = tg.tensor(xs.astype(dtype), device=device).array
        with tg.backend.device_scope(data):  # (as an op's forward runs: on its inputs' GPU)
            got = F.erf_array(data)
        assert type(got) is type(data) and got.dtype == dtype
        np.testing.assert_allclose(tg.backend.to_numpy(got), [math.erf(v) for v in xs],
                                   rtol=1e-15, atol=atol)


def test_erf_function_gradcheck(device: str) -> None:
    x = _t(np.linspace(-3, 3, 13), True, device)
    assert gradcheck(F.Erf.apply, (x,))
    assert gradgradcheck(F.Erf.apply, (x,))


def test_gelu_matches_torch_float32(device: str) -> None:
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(3).standard_normal(1000).astype(np.float32) * 4
    np.testing.assert_allclose(_np(F.gelu(tg.tensor(x, device=device))),
                               torch.nn.functional.gelu(torch.tensor(x)).numpy(), atol=2e-6)


def test_hardtanh_family_gradient_is_zero_at_the_limits(device: str) -> None:
    x = _t([-1.0, 0.0, 1.0, 6.0, 3.0], True, device)
    F.hardtanh(x).sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 0.0, 0.0, 0.0]
    x.grad = None
    F.relu6(x).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 1.0, 0.0, 1.0]


def test_activation_errors(device: str) -> None:
    with pytest.raises(ValueError, match="approximate must be 'none' or 'tanh'"):
        F.gelu(tg.zeros(2, device=device), approximate="fast")
    with pytest.raises(ValueError, match="min_val"):
        F.hardtanh(tg.zeros(2, device=device), 1.0, -1.0)
    with pytest.raises(TypeError, match="gelu: input must be a floating point tensor"):
        F.gelu(tg.zeros(2, dtype=tg.int64, device=device))


# ---------------------------------------------------------------------------------------------
# softmax family
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_family(dim: int, device: str) -> None:
    x = np.random.default_rng(4).standard_normal((3, 4))
    e = np.exp(x - x.max(axis=dim, keepdims=True))
    ref = e / e.sum(axis=dim, keepdims=True)
    X = _t(x, device=device)
    np.testing.assert_allclose(_np(F.softmax(X, dim)), ref, atol=1e-12)
    np.testing.assert_allclose(_np(F.log_softmax(X, dim=dim)), np.log(ref), atol=1e-12)
    neg = np.exp(-x - (-x).max(axis=dim, keepdims=True))
    np.testing.assert_allclose(_np(F.softmin(X, dim)), neg / neg.sum(axis=dim, keepdims=True),
                               atol=1e-12)
    assert gradcheck(lambda a: F.log_softmax(a, dim), (_t(x, True, device),))
    assert gradcheck(lambda a: F.softmax(a, dim), (_t(x, True, device),))


def test_softmax_implicit_dim_warns_like_torch() -> None:
    x = _t(np.random.default_rng(5).standard_normal((2, 3)))
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        out = F.softmax(x)
    np.testing.assert_allclose(out.numpy().sum(axis=1), 1.0)  # 2-D: dim 1
    with pytest.warns(UserWarning):
        out = F.log_softmax(_t([1.0, 2.0]))
    assert abs(np.exp(out.numpy()).sum() - 1) < 1e-12


def test_softmax_dtype_argument(device: str) -> None:
    out = F.softmax(tg.tensor([1.0, 2.0], device=device), dim=0, dtype=tg.float64)
    assert out.dtype == tg.float64 and out.device == tg.Device(device)


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
def test_dropout_fraction_and_expectation(p: float, device: str) -> None:
    tg.manual_seed(0)
    out = _np(F.dropout(tg.ones(200, 200, device=device), p))
    n = out.size
    dropped = (out == 0).mean()
    assert abs(dropped - p) < 5 * math.sqrt(p * (1 - p) / n)
    assert abs(out.mean() - 1.0) < 0.05


def test_dropout_gradient_is_the_mask(device: str) -> None:
    tg.manual_seed(1)
    x = tg.randn(30, 20, dtype=tg.float64, requires_grad=True, device=device)
    out = F.dropout(x, 0.4)
    out.sum().backward()
    keep = _np(out) != 0
    np.testing.assert_allclose(_np(x.grad), keep / 0.6)
    np.testing.assert_allclose(_np(out), _np(x) * keep / 0.6)


def test_dropout_eval_p0_p1_and_errors(device: str) -> None:
    x = tg.randn(4, 5, requires_grad=True, device=device)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    zeros = F.dropout(x, 1.0)
    assert (_np(zeros) == 0).all()
    zeros.sum().backward()
    assert (_np(x.grad) == 0).all()
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
def test_batch_norm_training_forward_and_running_stats(shape: tuple, affine: bool,
                                                       device: str) -> None:
    rng = np.random.default_rng(6)
    x = rng.standard_normal(shape) * 2 + 1
    c = shape[1]
    w, b = (rng.standard_normal(c), rng.standard_normal(c)) if affine else (None, None)
    rm0, rv0 = rng.standard_normal(c), rng.random(c) + 0.5
    rm, rv = _t(rm0, device=device), _t(rv0, device=device)
    out = F.batch_norm(_t(x, device=device), rm, rv, None if w is None else _t(w, device=device),
                       None if b is None else _t(b, device=device), training=True, momentum=0.2,
                       eps=1e-3)
    axes = (0,) + tuple(range(2, x.ndim))
    m = x.size // c
    mean, var = x.mean(axis=axes), x.var(axis=axes)
    np.testing.assert_allclose(_np(out), _bn_reference(x, mean, var, w, b, 1e-3), atol=1e-12)
    np.testing.assert_allclose(_np(rm), 0.8 * rm0 + 0.2 * mean, atol=1e-12)
    np.testing.assert_allclose(_np(rv), 0.8 * rv0 + 0.2 * var * m / (m - 1), atol=1e-12)
    assert rm.device == rv.device == tg.Device(device)


@pytest.mark.parametrize("shape", BN_SHAPES)
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_gradcheck(shape: tuple, training: bool, device: str) -> None:
    rng = np.random.default_rng(7)
    c = shape[1]
    x, w, b = (_t(a, True, device) for a in (rng.standard_normal(shape), rng.standard_normal(c),
                                             rng.standard_normal(c)))
    rm, rv = _t(rng.standard_normal(c), device=device), _t(rng.random(c) + 0.5, device=device)

    def fn(a: tg.Tensor, weight: tg.Tensor, bias: tg.Tensor) -> tg.Tensor:
        return F.batch_norm(a, rm, rv, weight, bias, training=training, momentum=0.0)

    assert gradcheck(fn, (x, w, b))
    assert gradcheck(lambda a: F.batch_norm(a, rm, rv, training=training, momentum=0.0), (x,))


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_gradgradcheck(training: bool, device: str) -> None:
    rng = np.random.default_rng(8)
    x, w, b = (_t(a, True, device) for a in (rng.standard_normal((3, 2, 2)),
                                             rng.standard_normal(2), rng.standard_normal(2)))
    rm, rv = _t(np.zeros(2), device=device), _t(np.ones(2), device=device)
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


def test_batch_norm_without_running_stats_and_errors(device: str) -> None:
    x = _t(np.random.default_rng(10).standard_normal((5, 2)), device=device)
    out = F.batch_norm(x, None, None, training=True)
    np.testing.assert_allclose(_np(out).mean(axis=0), 0, atol=1e-12)

    def zeros(*shape: int) -> tg.Tensor:
        return tg.zeros(*shape, device=device)

    def ones(*shape: int, dtype: object = tg.float32) -> tg.Tensor:
        return tg.ones(*shape, dtype=dtype, device=device)

    with pytest.raises(ValueError, match="more than 1 value per channel"):
        F.batch_norm(zeros(1, 3), None, None, training=True)
    with pytest.raises(ValueError, match="running_mean and running_var are needed"):
        F.batch_norm(zeros(4, 3), None, None, training=False)
    with pytest.raises(ValueError, match=r"weight must have shape \(3,\)"):
        F.batch_norm(zeros(4, 3), zeros(3), ones(3), weight=ones(2))
    with pytest.raises(ValueError, match="at least 2 dims"):
        F.batch_norm(zeros(4), zeros(4), ones(4))
    running_mean = zeros(3)
    with pytest.raises(TypeError, match="input is tg.float32 but weight is tg.float64"):
        F.batch_norm(tg.randn(4, 3, device=device), running_mean, ones(3),
                     weight=ones(3, dtype=tg.float64), training=True)
    assert running_mean.tolist() == [0.0, 0.0, 0.0]  # a failed call changes nothing


def test_layer_norm_matches_torch_and_gradcheck(device: str) -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    x, w, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((3, 4)), rng.standard_normal(
        (3, 4))
    ref = torch.nn.functional.layer_norm(torch.tensor(x), (3, 4), torch.tensor(w),
                                         torch.tensor(b))
    X, W, B = (_t(a, device=device) for a in (x, w, b))
    np.testing.assert_allclose(_np(F.layer_norm(X, (3, 4), W, B)), ref.numpy(), atol=1e-12)
    assert gradcheck(lambda a, c, d: F.layer_norm(a, [4], c, d),
                     (_t(x, True, device), _t(w[0], True, device), _t(b[0], True, device)))
    with pytest.raises(ValueError, match="normalized_shape"):
        F.layer_norm(X, (5,))


# ---------------------------------------------------------------------------------------------
# one_hot, pad, normalize
# ---------------------------------------------------------------------------------------------
def test_one_hot(device: str, no_host_sync) -> None:
    out = F.one_hot(tg.tensor([[0, 2], [1, 0]], device=device))
    assert out.dtype == tg.int64 and out.shape == (2, 2, 3) and out.device == tg.Device(device)
    np.testing.assert_array_equal(_np(out), np.eye(3, dtype=np.int64)[[[0, 2], [1, 0]]])
    labels = tg.tensor([1, 3], device=device)
    with no_host_sync():  # with num_classes given, nothing is read back
        out = F.one_hot(labels, num_classes=4)
    assert out.tolist() == [[0, 1, 0, 0], [0, 0, 0, 1]]
    with tg.autograd.detect_anomaly():  # where the GPU checks the values too
        with pytest.raises(ValueError, match="class value 5 is out of range for num_classes=3"):
            F.one_hot(tg.tensor([5], device=device), 3)
        with pytest.raises(ValueError, match="non-negative"):
            F.one_hot(tg.tensor([-1, 0], device=device))
    if device != "cpu":  # unchecked on the GPU: an out-of-range class gives a row of zeros
        assert F.one_hot(tg.tensor([5, 1], device=device), 3).tolist() == [[0, 0, 0],
                                                                            [0, 1, 0]]
    with pytest.raises(TypeError, match="integer"):
        F.one_hot(tg.tensor([1.0], device=device))


def test_pad_and_normalize(device: str) -> None:
    x = _t([[1.0, 2.0]], True, device)
    out = F.pad(x, (1, 2), value=-1.0)
    assert out.tolist() == [[-1.0, 1.0, 2.0, -1.0, -1.0]] and out.device == tg.Device(device)
    assert F.pad(x, (0, 1)).tolist() == [[1.0, 2.0, 0.0]]
    assert gradcheck(lambda a: F.pad(a, (1, 2), value=3.0), (x,))
    y = np.random.default_rng(12).standard_normal((3, 4))
    np.testing.assert_allclose(_np(F.normalize(_t(y, device=device))),
                               y / np.linalg.norm(y, axis=1, keepdims=True), atol=1e-12)
    assert gradcheck(lambda a: F.normalize(a, dim=0), (_t(y, True, device),))


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


# ---------------------------------------------------------------------------------------------
# the hot paths read nothing back from the GPU
# ---------------------------------------------------------------------------------------------
def _hot_path(name: str, x: tg.Tensor, w: tg.Tensor, b: tg.Tensor, rm: tg.Tensor,
              rv: tg.Tensor) -> tg.Tensor:
    if name == "linear":
        return F.linear(x, w, b)
    if name == "batch_norm_train":
        return F.batch_norm(x, rm, rv, b, b, training=True)
    if name == "batch_norm_eval":
        return F.batch_norm(x, rm, rv, b, b, training=False)
    if name == "layer_norm":
        return F.layer_norm(x, [4], b, b)
    if name == "dropout":
        return F.dropout(x, 0.3)
    if name == "softmax":
        return F.softmax(x, 1) * F.log_softmax(x, dim=0)
    if name == "normalize":
        return F.normalize(x)
    fn, kw = ACTIVATIONS[name]
    return fn(x, **kw)


@pytest.mark.parametrize("name", ["linear", "batch_norm_train", "batch_norm_eval",
                                  "layer_norm", "dropout", "softmax", "normalize"]
                         + sorted(ACTIVATIONS))
def test_forward_backward_without_host_sync(name: str, device: str, no_host_sync) -> None:
    rng = np.random.default_rng(13)
    x, w, b = (tg.tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=True,
                         device=device) for shape in ((3, 4), (4, 4), (4,)))
    rm, rv = tg.zeros(4, device=device), tg.ones(4, device=device)
    with no_host_sync():
        out = _hot_path(name, x, w, b, rm, rv)
        out.sum().backward()
    assert out.device == x.grad.device == tg.Device(device)
    assert out.dtype == x.grad.dtype == tg.float32
    assert np.isfinite(_np(out)).all() and np.isfinite(_np(x.grad)).all()


# ---------------------------------------------------------------------------------------------
# accuracy of the sigmoid family in float32, and PyTorch's gradients at NaN and at zero
# ---------------------------------------------------------------------------------------------
def _sigmoid64(x: np.ndarray) -> np.ndarray:
    return np.where(x >= 0, 1 / (1 + np.exp(-x)), np.exp(x) / (1 + np.exp(x)))


def _softplus64(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


# name: (function, its float64 truth, the truth of its derivative, the size its derivative's
# error is measured against: the derivative itself, or where it is a sum of terms that cancel,
# the largest term). BCE with logits with target 1 is softplus(-x), whose derivative
# -sigmoid(-x) has no cancellation to excuse.
SIGMOID_FAMILY = {
    # (for x > 0, y (1 - y) from the output y loses 1 - y below float32's eps, as PyTorch's
    # does: there an absolute error of 2.5e-7 = 2e-6 * 0.125, two float32 eps, is allowed)
    "sigmoid": (F.sigmoid, _sigmoid64, lambda x: _sigmoid64(x) * _sigmoid64(-x),
                lambda x: np.where(x > 0, 0.125, _sigmoid64(x) * _sigmoid64(-x))),
    "logsigmoid": (F.logsigmoid, lambda x: -_softplus64(-x), lambda x: _sigmoid64(-x), None),
    "softplus": (F.softplus, _softplus64, _sigmoid64, None),
    "silu": (F.silu, lambda x: x * _sigmoid64(x),  # s + x s (1 - s): 0 at x = -1.28
             lambda x: _sigmoid64(x) * (1 + x * _sigmoid64(-x)),
             lambda x: _sigmoid64(x) * (1 + np.abs(x))),
    "bce_with_logits_target_1": (
        lambda x: F.binary_cross_entropy_with_logits(x, tg.ones_like(x), reduction="none"),
        lambda x: _softplus64(-x), lambda x: -_sigmoid64(-x), None),
}


@pytest.mark.parametrize("name", list(SIGMOID_FAMILY))
def test_sigmoid_family_is_accurate_in_float32(name: str, device: str) -> None:
    """Values and gradients to float32 precision (relative) over [-80, 80], where every result
    is a normal float32 (sigmoid(-80) = 1.8e-35): the tanh form of sigmoid gave 0 from -17.5
    on, so gradients through it (logsigmoid's, softplus', silu's) were 0 there."""
    fn, value, derivative, scale = SIGMOID_FAMILY[name]
    x32 = np.linspace(-80, 80, 3201).astype(np.float32)
    x64 = x32.astype(np.float64)
    x = tg.tensor(x32, requires_grad=True, device=device)
    y = fn(x)
    y.sum().backward()
    grad_truth = derivative(x64)
    for got, truth, size in ((_np(y), value(x64), np.abs(value(x64))),
                             (_np(x.grad), grad_truth,
                              np.abs(grad_truth) if scale is None else scale(x64))):
        assert got.dtype == np.float32
        keep = size != 0
        relative = np.abs(got[keep] - truth[keep]) / size[keep]
        assert relative.max() < 2e-6, float(x32[keep][relative.argmax()])


NAN = float("nan")
# name: (function, input values, PyTorch 2.13's gradient of its sum)
AT_NAN = {
    "relu": (F.relu, [NAN, 0.0, 1.0], [1.0, 0.0, 1.0]),
    "relu6": (F.relu6, [NAN, 0.0, 6.0, 3.0], [1.0, 0.0, 0.0, 1.0]),
    "hardtanh": (F.hardtanh, [NAN, -1.0, 1.0, 0.5], [1.0, 0.0, 0.0, 1.0]),
    "hardsigmoid": (F.hardsigmoid, [NAN, -3.0, 3.0, 0.5], [0.0, 0.0, 0.0, 1 / 6]),
    "elu": (F.elu, [NAN, 0.0, -1.0], [1.0, 1.0, math.exp(-1.0)]),
    "celu": (lambda x: F.celu(x, 2.0), [NAN, 0.0, -1.0], [1.0, 1.0, math.exp(-0.5)]),
    "selu": (F.selu, [NAN, 1.0], [1.0507009873554805, 1.0507009873554805]),
    "leaky_relu": (F.leaky_relu, [NAN, -1.0], [0.01, 0.01]),
}


@pytest.mark.parametrize("name", list(AT_NAN))
def test_activation_gradients_at_nan_are_pytorchs(name: str, device: str) -> None:
    fn, values, expected = AT_NAN[name]
    x = _t(values, True, device)
    with np.errstate(invalid="ignore"):
        y = fn(x)
        y.sum().backward()
    assert math.isnan(_np(y)[0])  # NaN in, NaN out
    np.testing.assert_allclose(_np(x.grad), expected, rtol=1e-12)


def test_elu_of_large_inputs_stays_finite(device: str) -> None:
    x = _t([-1e4, 1e4, 800.0], True, device)
    with np.errstate(over="raise"):
        y = F.elu(x)
        y.sum().backward()
    np.testing.assert_allclose(_np(y), [-1.0, 1e4, 800.0])
    np.testing.assert_allclose(_np(x.grad), [0.0, 1.0, 1.0])


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0])
def test_normalize_of_a_zero_vector(p: float, device: str) -> None:
    """x / max(||x||, eps): the gradient of a zero vector is 1 / eps, as PyTorch (the norm's
    own gradient at 0 is 0, not NaN)."""
    x = _t([[0.0, 0.0], [3.0, 4.0]], True, device)
    F.normalize(x, p=p, dim=1).sum().backward()
    grad = _np(x.grad)
    np.testing.assert_allclose(grad[0], [1e12, 1e12])
    assert np.isfinite(grad).all()
