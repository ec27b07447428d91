"""Losses of nn.functional: every option against PyTorch (where installed, on the CPU) or a
NumPy formula, float64 gradchecks, large logits, float32 preservation and error messages, on
every device; value checks on the GPU (only under detect_anomaly) and no host syncs."""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
import tinygrad_edu.nn as nn
import tinygrad_edu.nn.functional as F
from tinygrad_edu.autograd import gradcheck, gradgradcheck

REDUCTIONS = ["none", "mean", "sum"]


def _t(array: object, requires_grad: bool = False, device: str = "cpu") -> tg.Tensor:
    return tg.tensor(array, dtype=tg.float64, requires_grad=requires_grad, device=device)


def _np(t: tg.Tensor) -> np.ndarray:
    """A tensor's values as a host NumPy array, from any device."""
    return tg.backend.to_numpy(t.detach().array)


def _reduce_np(loss: np.ndarray, reduction: str) -> np.ndarray:
    return {"none": loss, "mean": loss.mean(), "sum": loss.sum()}[reduction]


# ---------------------------------------------------------------------------------------------
# regression losses
# ---------------------------------------------------------------------------------------------
def _regression_reference(name: str, d: np.ndarray, param: float) -> np.ndarray:
    z = np.abs(d)
    if name == "mse_loss":
        return d * d
    if name == "l1_loss":
        return z
    if name == "smooth_l1_loss":
        return np.where(z < param, 0.5 * d * d / param, z - 0.5 * param) if param else z
    return np.where(z < param, 0.5 * d * d, param * (z - 0.5 * param))  # huber


REGRESSION = [("mse_loss", None), ("l1_loss", None), ("smooth_l1_loss", 1.0),
              ("smooth_l1_loss", 0.3), ("smooth_l1_loss", 0.0), ("huber_loss", 1.0),
              ("huber_loss", 0.4)]


def _regression_kwargs(name: str, param: float | None, reduction: str) -> dict:
    kw = {"reduction": reduction}
    if name == "smooth_l1_loss":
        kw["beta"] = param
    if name == "huber_loss":
        kw["delta"] = param
    return kw


@settings(max_examples=20, deadline=None)
@given(case=st.sampled_from(REGRESSION), reduction=st.sampled_from(REDUCTIONS),
       shape=st.lists(st.integers(1, 4), min_size=1, max_size=3), seed=st.integers(0, 999))
def test_regression_losses_forward_and_gradcheck(case: tuple, reduction: str, shape: list,
                                                 seed: int, device: str) -> None:
    name, param = case
    rng = np.random.default_rng(seed)
    x, y = rng.standard_normal(shape), rng.standard_normal(shape)
    kw = _regression_kwargs(name, param, reduction)
    fn = getattr(F, name)
    out = fn(_t(x, device=device), _t(y, device=device), **kw)
    assert out.device == tg.Device(device)
    np.testing.assert_allclose(_np(out), _reduce_np(_regression_reference(name, x - y,
                                                                             param or 0.0),
                                                       reduction), atol=1e-12)
    # keep finite differences away from the kinks at |d| = 0 and |d| = beta / delta
    d = x - y
    for kink in (0.0, param or 0.0):
        d = np.where(np.abs(np.abs(d) - kink) < 1e-3, d + 0.01, d)
    assert gradcheck(lambda a, b: fn(a, b, **kw),
                     (_t(y + d, True, device), _t(y, True, device)))


@pytest.mark.parametrize("case,weighted", [  # smooth_l1_loss has no weight argument
    (case, weighted) for case in REGRESSION for weighted in (False, True)
    if not (weighted and case[0] == "smooth_l1_loss")])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_regression_losses_match_torch(case: tuple, reduction: str, weighted: bool,
                                       device: str) -> None:
    torch = pytest.importorskip("torch")
    name, param = case
    rng = np.random.default_rng(1)
    x, y, w = rng.standard_normal((3, 4)), rng.standard_normal((3, 4)), rng.random((3, 4))
    kw = _regression_kwargs(name, param, reduction)
    if weighted:
        kw_mine = dict(kw, weight=_t(w, device=device))
        kw_torch = dict(kw, weight=torch.tensor(w))
    else:
        kw_mine, kw_torch = kw, kw
    tx = torch.tensor(x, requires_grad=True)
    ref = getattr(torch.nn.functional, name)(tx, torch.tensor(y), **kw_torch)
    ref.sum().backward()
    X = _t(x, True, device)
    out = getattr(F, name)(X, _t(y, device=device), **kw_mine)
    out.sum().backward()
    np.testing.assert_allclose(_np(out), ref.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(_np(X.grad), tx.grad.numpy(), atol=1e-12)


def test_weighted_regression_mean_follows_torch(device: str) -> None:
    """PyTorch divides by sum(weight) for mse/l1 but by numel for huber."""
    x, y, w = (_t(a, device=device) for a in ([[1.0, 3.0]], [[0.0, 0.0]], [[1.0, 3.0]]))
    assert F.mse_loss(x, y, weight=w).item() == pytest.approx((1 + 27) / 4)
    assert F.l1_loss(x, y, weight=w).item() == pytest.approx((1 + 9) / 4)
    assert F.huber_loss(x, y, weight=w).item() == pytest.approx((0.5 + 3 * 2.5) / 2)
    with pytest.raises(ValueError, match="weight of shape"):
        F.mse_loss(x, y, weight=_t([1.0, 2.0, 3.0], device=device))


def test_regression_shape_mismatch_warns_or_raises(device: str) -> None:
    with pytest.warns(UserWarning, match=r"target size \(3,\) .* input size \(3, 1\)"):
        out = F.mse_loss(tg.zeros(3, 1, device=device), tg.ones(3, device=device))
    assert out.item() == 1.0  # broadcast to (3, 3), as PyTorch
    with pytest.raises(ValueError, match=r"target of shape \(4,\) does not match input of "
                                         r"shape \(3,\)"):
        F.l1_loss(tg.zeros(3, device=device), tg.zeros(4, device=device))
    with pytest.raises(ValueError, match="reduction='avg' is not valid"):
        F.mse_loss(tg.zeros(3, device=device), tg.zeros(3, device=device), reduction="avg")
    with pytest.raises(TypeError, match="target must be a Tensor"):
        F.mse_loss(tg.zeros(3, device=device), [0.0, 0.0, 0.0])


def test_legacy_size_average_and_reduce() -> None:
    x, y = _t([1.0, 2.0]), _t([0.0, 0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert F.mse_loss(x, y, size_average=False).item() == 5.0
        assert F.mse_loss(x, y, reduce=False).tolist() == [1.0, 4.0]
        assert F.mse_loss(x, y, size_average=True).item() == 2.5


def test_regression_losses_keep_float32_with_other_target_dtypes(device: str) -> None:
    x = tg.randn(4, requires_grad=True, device=device)
    for target in (tg.tensor([1, 2, 3, 4], device=device),
                   tg.zeros(4, dtype=tg.float64, device=device)):
        for name, param in REGRESSION:
            x.grad = None
            out = getattr(F, name)(x, target, **_regression_kwargs(name, param, "mean"))
            out.backward()
            assert out.dtype == x.grad.dtype == tg.float32, name
            assert x.grad.device == tg.Device(device), name


# ---------------------------------------------------------------------------------------------
# cross_entropy and nll_loss with class indices
# ---------------------------------------------------------------------------------------------
CE_SHAPES = [(5, 4), (2, 3, 2, 2), (4,)]


def _class_case(shape: tuple, ignore_index: int, seed: int = 0) -> tuple:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * 2
    c = shape[0] if len(shape) == 1 else shape[1]
    target_shape = () if len(shape) == 1 else (shape[0],) + shape[2:]
    t = rng.integers(0, c, target_shape)
    if t.ndim:
        t.flat[0] = ignore_index if ignore_index >= 0 or ignore_index == -100 else t.flat[0]
    w = rng.random(c) + 0.5
    return x, t, w


CE_OPTIONS = list(itertools.product(REDUCTIONS, [False, True], [-100, 1], [0.0, 0.2]))


@pytest.mark.parametrize("shape", CE_SHAPES)
@pytest.mark.parametrize("reduction,weighted,ignore_index,smoothing", CE_OPTIONS)
def test_cross_entropy_matches_torch(shape: tuple, reduction: str, weighted: bool,
                                     ignore_index: int, smoothing: float, device: str) -> None:
    torch = pytest.importorskip("torch")
    x, t, w = _class_case(shape, ignore_index)
    kw = {"reduction": reduction, "ignore_index": ignore_index, "label_smoothing": smoothing}
    tx = torch.tensor(x, requires_grad=True)
    ref = torch.nn.functional.cross_entropy(tx, torch.tensor(t),
                                            torch.tensor(w) if weighted else None, **kw)
    g = np.random.default_rng(1).standard_normal(ref.shape)
    ref.backward(torch.tensor(g))
    X = _t(x, True, device)
    out = F.cross_entropy(X, tg.tensor(t, device=device),
                          _t(w, device=device) if weighted else None, **kw)
    out.backward(_t(g, device=device))
    assert out.shape == tuple(ref.shape) and X.grad.device == tg.Device(device)
    np.testing.assert_allclose(_np(out), ref.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(_np(X.grad), tx.grad.numpy(), atol=1e-12)


@pytest.mark.parametrize("shape", CE_SHAPES)
@pytest.mark.parametrize("reduction,weighted,ignore_index", [
    (r, wt, ii) for r, wt, ii, _ in CE_OPTIONS if _ == 0.0])
def test_nll_loss_matches_torch(shape: tuple, reduction: str, weighted: bool,
                                ignore_index: int, device: str) -> None:
    torch = pytest.importorskip("torch")
    x, t, w = _class_case(shape, ignore_index, seed=2)
    kw = {"reduction": reduction, "ignore_index": ignore_index}
    tx = torch.tensor(x, requires_grad=True)
    ref = torch.nn.functional.nll_loss(tx, torch.tensor(t),
                                       torch.tensor(w) if weighted else None, **kw)
    ref.sum().backward()
    X = _t(x, True, device)
    out = F.nll_loss(X, tg.tensor(t, device=device), _t(w, device=device) if weighted else None,
                     **kw)
    out.sum().backward()
    np.testing.assert_allclose(_np(out), ref.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(_np(X.grad), tx.grad.numpy(), atol=1e-12)


def _cross_entropy_reference(x: np.ndarray, t: np.ndarray, w: np.ndarray | None,
                             ignore_index: int, smoothing: float, reduction: str) -> np.ndarray:
    """PyTorch's definition written out for (N, C) inputs."""
    c = x.shape[1]
    logp = x - x.max(axis=1, keepdims=True)
    logp = logp - np.log(np.exp(logp).sum(axis=1, keepdims=True))
    w = np.ones(c) if w is None else w
    valid = t != ignore_index
    safe = np.where(valid, t, 0)
    nll = -w[safe] * logp[np.arange(len(t)), safe] * valid
    smooth = -(logp * w).sum(axis=1) * valid
    loss = (1 - smoothing) * nll + smoothing / c * smooth
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    with np.errstate(invalid="ignore"):  # every target ignored: nan, as PyTorch
        return loss.sum() / (w[safe] * valid).sum()


@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 5), c=st.integers(2, 5), options=st.sampled_from(CE_OPTIONS),
       seed=st.integers(0, 999))
def test_cross_entropy_reference_and_gradcheck(n: int, c: int, options: tuple,
                                               seed: int, device: str) -> None:
    reduction, weighted, ignore_index, smoothing = options
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c))
    t = rng.integers(0, c, n)
    if ignore_index == 1 and n > 1:
        t[0] = 1  # the class-1 targets are ignored
    w = rng.random(c) + 0.5 if weighted else None
    kw = {"reduction": reduction, "ignore_index": ignore_index, "label_smoothing": smoothing}
    labels, weight = tg.tensor(t, device=device), None if w is None else _t(w, device=device)
    out = F.cross_entropy(_t(x, device=device), labels, weight, **kw)
    ref = _cross_entropy_reference(x, t, w, ignore_index, smoothing, reduction)
    np.testing.assert_allclose(_np(out), ref, atol=1e-12, equal_nan=True)
    if np.isfinite(ref).all():
        assert gradcheck(lambda a: F.cross_entropy(a, labels, weight, **kw),
                         (_t(x, True, device),))


@pytest.mark.parametrize("weighted,ignore_index,smoothing", [
    (False, -100, 0.0), (True, 1, 0.2), (False, 1, 0.3)])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_gradgradcheck(weighted: bool, ignore_index: int, smoothing: float,
                                     reduction: str, device: str) -> None:
    x, t, w = _class_case((4, 3), ignore_index, seed=3)
    kw = {"reduction": reduction, "ignore_index": ignore_index, "label_smoothing": smoothing}
    labels, weight = tg.tensor(t, device=device), _t(w, device=device) if weighted else None
    assert gradgradcheck(lambda a: F.cross_entropy(a, labels, weight, **kw),
                         (_t(x, True, device),))
    assert gradgradcheck(lambda a: F.nll_loss(a, labels, weight, ignore_index=ignore_index,
                                              reduction=reduction), (_t(x, True, device),))


def test_cross_entropy_huge_logits_are_finite(device: str) -> None:
    x = tg.tensor([[1e4, 0.0, -1e4], [0.0, 1e4, 2.0], [3.0, 3.0, 3.0]], requires_grad=True,
                  device=device)
    loss = F.cross_entropy(x, tg.tensor([1, 1, 0], device=device))
    loss.backward()
    assert loss.dtype == x.grad.dtype == tg.float32
    assert np.isfinite(loss.item()) and np.isfinite(_np(x.grad)).all()
    expected_loss = (1e4 + 0.0 + np.log(3.0)) / 3
    assert loss.item() == pytest.approx(expected_loss, rel=1e-6)
    expected_grad = [[1 / 3, -1 / 3, 0], [0, 0, 0], [1 / 9 - 1 / 3, 1 / 9, 1 / 9]]
    np.testing.assert_allclose(_np(x.grad), expected_grad, atol=1e-6)
    # the same through every option (weights, ignore_index, smoothing, reduction='none')
    x.grad = None
    w = tg.tensor([1.0, 2.0, 0.5], device=device)
    loss = F.cross_entropy(x, tg.tensor([1, -100, 0], device=device), weight=w,
                           label_smoothing=0.1, reduction="none")
    loss.sum().backward()
    assert np.isfinite(_np(loss)).all() and np.isfinite(_np(x.grad)).all()
    nll = F.nll_loss(x.log_softmax(1), tg.tensor([1, 1, 0], device=device))
    assert nll.item() == pytest.approx(expected_loss, rel=1e-6)


def test_cross_entropy_float32_with_int64_labels_and_float64_weight(device: str) -> None:
    x = tg.randn(6, 4, requires_grad=True, device=device)
    y = tg.tensor([0, 1, 2, 3, 0, -100], device=device)
    w = tg.tensor([1.0, 2.0, 3.0, 4.0], dtype=tg.float64, device=device)
    for kw in ({}, {"weight": w}, {"label_smoothing": 0.1, "reduction": "sum"},
               {"reduction": "none"}):
        x.grad = None
        loss = F.cross_entropy(x, y, **kw)
        loss.sum().backward()
        assert loss.dtype == x.grad.dtype == tg.float32, kw
        nll = F.nll_loss(x.log_softmax(1), y, **{k: v for k, v in kw.items() if k == "weight"})
        assert nll.dtype == tg.float32


def test_cross_entropy_all_targets_ignored_is_nan_like_torch(device: str) -> None:
    x = _t([[1.0, 2.0]], True, device)
    ignored = tg.tensor([-100], device=device)
    loss = F.cross_entropy(x, ignored)
    assert np.isnan(loss.item())
    loss.backward()  # no row has a gradient: zeros, not nan
    np.testing.assert_array_equal(_np(x.grad), [[0.0, 0.0]])
    assert F.cross_entropy(x, ignored, reduction="sum").item() == 0.0
    assert np.isnan(F.nll_loss(x, ignored).item())


# ---------------------------------------------------------------------------------------------
# cross_entropy with class probabilities
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", CE_SHAPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted,smoothing", [(False, 0.0), (True, 0.0), (True, 0.25)])
def test_cross_entropy_probability_targets(shape: tuple, reduction: str, weighted: bool,
                                           smoothing: float, device: str) -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    x = rng.standard_normal(shape)
    class_dim = 0 if len(shape) == 1 else 1
    p = rng.random(shape)
    p /= p.sum(axis=class_dim, keepdims=True)
    w = rng.random(shape[class_dim]) + 0.5
    kw = {"reduction": reduction, "label_smoothing": smoothing}
    tx, tp = torch.tensor(x, requires_grad=True), torch.tensor(p, requires_grad=True)
    ref = torch.nn.functional.cross_entropy(tx, tp, torch.tensor(w) if weighted else None, **kw)
    ref.sum().backward()
    X, P = _t(x, True, device), _t(p, True, device)
    weight = _t(w, device=device) if weighted else None
    out = F.cross_entropy(X, P, weight, **kw)
    out.sum().backward()
    np.testing.assert_allclose(_np(out), ref.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(_np(X.grad), tx.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(_np(P.grad), tp.grad.numpy(), atol=1e-12)
    assert gradcheck(lambda a, b: F.cross_entropy(a, b, weight, **kw),
                     (_t(x, True, device), _t(p, True, device)))


# ---------------------------------------------------------------------------------------------
# classification errors
# ---------------------------------------------------------------------------------------------
def test_class_loss_errors(device: str) -> None:
    x = tg.zeros(3, 10, device=device)

    def labels(values: list) -> tg.Tensor:
        return tg.tensor(values, device=device)

    with tg.autograd.detect_anomaly():  # where the GPU checks values too
        with pytest.raises(ValueError, match="cross_entropy: target 12 is out of range for 10 "
                                             "classes"):
            F.cross_entropy(x, labels([1, 12, 3]))
        with pytest.raises(ValueError, match="nll_loss: target -3 is out of range"):
            F.nll_loss(x, labels([1, -3, 3]))
    with pytest.raises(TypeError, match="class-index targets must be an integer tensor"):
        F.cross_entropy(x, tg.tensor([1.0, 2.0, 3.0], device=device))
    with pytest.raises(ValueError, match=r"expected target of shape \(3,\) for input of shape "
                                         r"\(3, 10\), got target of shape \(4,\)"):
        F.cross_entropy(x, labels([1, 2, 3, 4]))
    with pytest.raises(TypeError, match="class probabilities and must be floating point"):
        F.cross_entropy(tg.zeros(2, 2, device=device), labels([[0, 1], [1, 0]]))
    with pytest.raises(ValueError, match="ignore_index is not supported for probability"):
        F.cross_entropy(tg.zeros(2, 2, device=device), tg.zeros(2, 2, device=device),
                        ignore_index=0)
    with pytest.raises(ValueError, match=r"weight must have shape \(10,\)"):
        F.cross_entropy(x, labels([1, 2, 3]), weight=tg.ones(3, device=device))
    with pytest.raises(ValueError, match="label_smoothing must be between"):
        F.cross_entropy(x, labels([1, 2, 3]), label_smoothing=1.5)
    with pytest.raises(TypeError, match="input must be a floating point tensor"):
        F.cross_entropy(tg.zeros(3, 10, dtype=tg.int64, device=device), labels([1, 2, 3]))
    # the failed calls left the input untouched
    assert not x.requires_grad and x.grad is None


def test_class_losses_name_both_devices() -> None:
    if not tg.cuda.is_available():
        pytest.skip("needs a CUDA device (or the emulator) besides the CPU")
    x = tg.zeros(3, 4, device="cuda")
    with pytest.raises(RuntimeError, match="cross_entropy: input is on cuda:0 but target is "
                                           "on cpu"):
        F.cross_entropy(x, tg.tensor([0, 1, 2]))
    with pytest.raises(RuntimeError, match="nll_loss: input is on cuda:0 but weight is on cpu"):
        F.nll_loss(x, tg.tensor([0, 1, 2], device="cuda"), weight=tg.ones(4))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_out_of_range_targets(device: str, reduction: str, weighted: bool) -> None:
    """The CPU raises; the GPU reads nothing back and gives NaN for the bad row (so for any
    reduction of it), and raises the CPU's error inside detect_anomaly."""
    x = _t([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0], [2.0, 2.0, 2.0], [0.3, 0.1, 0.2]], True, device)
    target = tg.tensor([2, 7, 0, -100], device=device)  # row 1 is out of range, 3 ignored
    weight = _t([1.0, 2.0, 0.5], device=device) if weighted else None
    for fn in (F.cross_entropy, F.nll_loss):
        x.grad = None
        with tg.autograd.detect_anomaly():
            with pytest.raises(ValueError, match=f"{fn.__name__}: target 7 is out of range "
                                                 "for 3 classes"):
                fn(x, target, weight, reduction=reduction)
        if device == "cpu":
            with pytest.raises(ValueError, match="target 7 is out of range"):
                fn(x, target, weight, reduction=reduction)
            continue
        loss = fn(x, target, weight, reduction=reduction)
        loss.sum().backward()
        values = _np(loss)
        if reduction == "none":  # only the bad row is nan; the others are the right values
            good = fn(x[[0, 2, 3]], tg.tensor([2, 0, -100], device=device), weight,
                      reduction="none")
            assert np.isnan(values[1])
            np.testing.assert_allclose(values[[0, 2, 3]], _np(good), atol=1e-12)
        else:
            assert np.isnan(values)


def test_out_of_range_targets_read_nothing_back_on_the_gpu(device: str, no_host_sync) -> None:
    x = _t([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]], True, device)
    target = tg.tensor([3, -1], device=device)
    if device == "cpu":
        with pytest.raises(ValueError, match="out of range"):
            F.cross_entropy(x, target)
        return
    with no_host_sync():
        losses = F.cross_entropy(x, target, reduction="none", label_smoothing=0.1)
        losses.sum().backward()
    assert np.isnan(_np(losses)).all() and np.isnan(_np(x.grad)).all()


# ---------------------------------------------------------------------------------------------
# binary cross entropy
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_binary_cross_entropy(reduction: str, weighted: bool, device: str) -> None:
    rng = np.random.default_rng(5)
    p, y, w = rng.uniform(0.05, 0.95, (3, 4)), rng.random((3, 4)), rng.random(4) + 0.5
    ref = -(y * np.log(p) + (1 - y) * np.log(1 - p)) * (w if weighted else 1)
    kw = {"weight": _t(w, device=device) if weighted else None, "reduction": reduction}
    out = F.binary_cross_entropy(_t(p, device=device), _t(y, device=device), **kw)
    np.testing.assert_allclose(_np(out), _reduce_np(ref, reduction), atol=1e-12)
    assert gradcheck(lambda a, b: F.binary_cross_entropy(a, b, **kw),
                     (_t(p, True, device), _t(y, True, device)))
    assert gradgradcheck(lambda a, b: F.binary_cross_entropy(a, b, **kw),
                         (_t(p[:1], True, device), _t(y[:1], True, device)))
    torch = pytest.importorskip("torch")
    tp, ty = torch.tensor(p, requires_grad=True), torch.tensor(y, requires_grad=True)
    tref = torch.nn.functional.binary_cross_entropy(
        tp, ty, torch.tensor(w) if weighted else None, reduction=reduction)
    tref.sum().backward()
    P, Y = _t(p, True, device), _t(y, True, device)
    F.binary_cross_entropy(P, Y, **kw).sum().backward()
    np.testing.assert_allclose(_np(P.grad), tp.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(_np(Y.grad), ty.grad.numpy(), atol=1e-12)


def test_binary_cross_entropy_clamps_log_like_torch(device: str) -> None:
    torch = pytest.importorskip("torch")
    p = np.array([0.0, 1.0, 0.0, 1.0, 1e-50])
    y = np.array([1.0, 0.0, 0.0, 1.0, 1.0])
    tp = torch.tensor(p, requires_grad=True)
    ref = torch.nn.functional.binary_cross_entropy(tp, torch.tensor(y), reduction="none")
    ref.sum().backward()
    P = _t(p, True, device)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no divide-by-zero RuntimeWarning either
        out = F.binary_cross_entropy(P, _t(y, device=device), reduction="none")
        out.sum().backward()
    np.testing.assert_allclose(_np(out), ref.detach().numpy())
    assert _np(out)[0] == 100.0
    # (PyTorch's 1e-12 floor is a float32 constant: agreement to ~4e-9 relative)
    np.testing.assert_allclose(_np(P.grad), tp.grad.numpy(), rtol=1e-8)
    with pytest.raises(ValueError, match=r"target size \(2,\) .* input size \(2, 1\)"):
        F.binary_cross_entropy(_t([[0.5], [0.5]], device=device), _t([1.0, 0.0], device=device))


@pytest.mark.parametrize("bad", [1.5, -0.25])
def test_binary_cross_entropy_input_outside_0_1(device: str, bad: float, no_host_sync) -> None:
    """The CPU raises; the GPU reads nothing back and gives NaN, and raises the CPU's error
    inside detect_anomaly."""
    p, y = _t([0.5, bad, 0.25], True, device), _t([1.0, 1.0, 0.0], device=device)
    with tg.autograd.detect_anomaly():
        with pytest.raises(ValueError, match="binary_cross_entropy: all elements of input "
                                             "should be between 0 and 1"):
            F.binary_cross_entropy(p, y)
    if device == "cpu":
        with pytest.raises(ValueError, match="between 0 and 1"):
            F.binary_cross_entropy(p, y)
        return
    with no_host_sync():
        losses = F.binary_cross_entropy(p, y, reduction="none")
        loss = F.binary_cross_entropy(p, y)
    values = _np(losses)
    assert np.isnan(values[1]) and np.isfinite(values[[0, 2]]).all() and np.isnan(loss.item())


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted,pos_weighted", [(False, False), (True, False), (False, True),
                                                   (True, True)])
def test_bce_with_logits(reduction: str, weighted: bool, pos_weighted: bool,
                         device: str) -> None:
    rng = np.random.default_rng(6)
    x, y = rng.standard_normal((3, 4)) * 3, rng.random((3, 4))
    w, pw = rng.random((3, 1)) + 0.5, rng.random(4) + 0.5
    sig = 1 / (1 + np.exp(-x))
    ref = -((pw if pos_weighted else 1) * y * np.log(sig) + (1 - y) * np.log(1 - sig))
    ref = ref * (w if weighted else 1)
    kw = {"weight": _t(w, device=device) if weighted else None, "reduction": reduction,
          "pos_weight": _t(pw, device=device) if pos_weighted else None}
    out = F.binary_cross_entropy_with_logits(_t(x, device=device), _t(y, device=device), **kw)
    np.testing.assert_allclose(_np(out), _reduce_np(ref, reduction), atol=1e-12)
    assert gradcheck(lambda a, b: F.binary_cross_entropy_with_logits(a, b, **kw),
                     (_t(x, True, device), _t(y, True, device)))
    torch = pytest.importorskip("torch")
    tx, ty = torch.tensor(x, requires_grad=True), torch.tensor(y, requires_grad=True)
    tref = torch.nn.functional.binary_cross_entropy_with_logits(
        tx, ty, torch.tensor(w) if weighted else None, reduction=reduction,
        pos_weight=torch.tensor(pw) if pos_weighted else None)
    tref.sum().backward()
    X, Y = _t(x, True, device), _t(y, True, device)
    out = F.binary_cross_entropy_with_logits(X, Y, **kw)
    out.sum().backward()
    np.testing.assert_allclose(_np(out), tref.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(_np(X.grad), tx.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(_np(Y.grad), ty.grad.numpy(), atol=1e-12)


def test_bce_with_logits_is_stable_for_huge_logits(device: str) -> None:
    x = tg.tensor([1e4, -1e4, 0.0, 50.0], requires_grad=True, device=device)
    y = tg.tensor([0.0, 1.0, 1.0, 1.0], device=device)
    loss = F.binary_cross_entropy_with_logits(x, y, reduction="none")
    loss.sum().backward()
    assert loss.dtype == x.grad.dtype == tg.float32
    np.testing.assert_allclose(_np(loss), [1e4, 1e4, np.log(2), 0.0], atol=1e-6)
    np.testing.assert_allclose(_np(x.grad), [1.0, -1.0, -0.5, 0.0], atol=1e-6)
    x.grad = None
    pos_weight = tg.tensor([2.0, 2.0, 2.0, 2.0], device=device)
    loss = F.binary_cross_entropy_with_logits(x, y, pos_weight=pos_weight, reduction="none")
    loss.sum().backward()
    np.testing.assert_allclose(_np(loss), [1e4, 2e4, 2 * np.log(2), 0.0], atol=1e-6)
    np.testing.assert_allclose(_np(x.grad), [1.0, -2.0, -1.0, 0.0], atol=1e-6)
    assert gradgradcheck(lambda a: F.binary_cross_entropy_with_logits(
        a, _t([0.3, 0.9], device=device)), (_t([0.0, -2.0], True, device),))


# ---------------------------------------------------------------------------------------------
# a training step's loss reads nothing back from the GPU
# ---------------------------------------------------------------------------------------------
def _loss_case(name: str, device: str) -> tuple:
    """(loss function of the input, the float64 input) for one loss with its options."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((6, 3))
    y = _t(rng.standard_normal((6, 3)), device=device)
    w_elem = _t(rng.random((6, 3)), device=device)
    prob = _t(rng.uniform(0.1, 0.9, (6, 3)), device=device)
    labels = tg.tensor([0, 2, 1, -100, 2, 1], device=device)
    plain = tg.tensor([0, 2, 1, 0, 2, 1], device=device)
    w = _t([0.5, 2.0, 1.0], device=device)
    soft = _t(np.full((6, 3), 1 / 3), device=device)
    cases = {
        "mse": lambda a: F.mse_loss(a, y),
        "mse_weight_sum": lambda a: F.mse_loss(a, y, reduction="sum", weight=w_elem),
        "l1_weight": lambda a: F.l1_loss(a, y, weight=w_elem),
        "smooth_l1": lambda a: F.smooth_l1_loss(a, y, beta=0.5),
        "smooth_l1_beta0_none": lambda a: F.smooth_l1_loss(a, y, beta=0.0, reduction="none"),
        "huber_weight": lambda a: F.huber_loss(a, y, delta=0.7, weight=w_elem),
        "cross_entropy": lambda a: F.cross_entropy(a, plain),
        "cross_entropy_options": lambda a: F.cross_entropy(a, labels, w, label_smoothing=0.1),
        "cross_entropy_none": lambda a: F.cross_entropy(a, labels, reduction="none"),
        "cross_entropy_sum_ignore_1": lambda a: F.cross_entropy(a, plain, reduction="sum",
                                                                ignore_index=1),
        "cross_entropy_spatial": lambda a: F.cross_entropy(a.reshape(2, 3, 3),
                                                           plain.reshape(2, 3)),
        "cross_entropy_probabilities": lambda a: F.cross_entropy(a, soft, w,
                                                                 label_smoothing=0.2),
        "nll": lambda a: F.nll_loss(a.log_softmax(1), plain),
        "nll_options": lambda a: F.nll_loss(a, labels, w, reduction="sum"),
        "bce": lambda a: F.binary_cross_entropy(a.sigmoid(), prob),
        "bce_weight_none": lambda a: F.binary_cross_entropy(a.sigmoid(), prob, w,
                                                            reduction="none"),
        "bce_with_logits": lambda a: F.binary_cross_entropy_with_logits(a, prob),
        "bce_with_logits_options": lambda a: F.binary_cross_entropy_with_logits(
            a, prob, w_elem, pos_weight=w),
    }
    return cases[name], x


LOSS_CASES = ["mse", "mse_weight_sum", "l1_weight", "smooth_l1", "smooth_l1_beta0_none",
              "huber_weight", "cross_entropy", "cross_entropy_options", "cross_entropy_none",
              "cross_entropy_sum_ignore_1", "cross_entropy_spatial",
              "cross_entropy_probabilities", "nll", "nll_options", "bce", "bce_weight_none",
              "bce_with_logits", "bce_with_logits_options"]


@pytest.mark.parametrize("name", LOSS_CASES)
def test_loss_forward_backward_without_host_sync(name: str, device: str, no_host_sync) -> None:
    fn, x = _loss_case(name, device)
    ref_fn, _ = _loss_case(name, "cpu")
    X, ref_x = _t(x, True, device), _t(x, True)
    with no_host_sync():
        loss = fn(X)
        loss.sum().backward()
    ref = ref_fn(ref_x)
    ref.sum().backward()
    assert loss.device == X.grad.device == tg.Device(device)
    assert np.isfinite(_np(loss)).all()
    np.testing.assert_allclose(_np(loss), _np(ref), atol=1e-12)
    np.testing.assert_allclose(_np(X.grad), _np(ref_x.grad), atol=1e-12)


@pytest.mark.parametrize("module,args", [
    ("CrossEntropyLoss", {"weight": [0.5, 2.0, 1.0], "label_smoothing": 0.1}),
    ("NLLLoss", {"weight": [0.5, 2.0, 1.0], "ignore_index": 1}),
    ("BCELoss", {"weight": [0.5, 2.0, 1.0]}),
    ("BCEWithLogitsLoss", {"weight": [0.5, 2.0, 1.0], "pos_weight": [3.0, 1.0, 0.5]}),
    ("MSELoss", {}), ("L1Loss", {"reduction": "sum"}), ("SmoothL1Loss", {"beta": 0.5}),
    ("HuberLoss", {"delta": 0.5})])
def test_loss_modules_move_their_weights(module: str, args: dict, device: str,
                                         no_host_sync) -> None:
    """Class weights are buffers: criterion.to(device) moves them, and the module gives the
    functional's result."""
    kwargs = {k: _t(v) if isinstance(v, list) else v for k, v in args.items()}
    criterion = getattr(nn, module)(**kwargs).to(device)
    assert all(b.device == tg.Device(device) for b in criterion.buffers())
    rng = np.random.default_rng(8)
    x = _t(rng.uniform(0.1, 0.9, (4, 3)), True, device)
    if module in ("CrossEntropyLoss", "NLLLoss"):
        target = tg.tensor([0, 2, 1, 1], device=device)
    else:
        target = _t(rng.random((4, 3)), device=device)
    with no_host_sync():
        loss = criterion(x, target)
        loss.backward()
    name = {"CrossEntropyLoss": "cross_entropy", "NLLLoss": "nll_loss", "BCELoss":
            "binary_cross_entropy", "BCEWithLogitsLoss": "binary_cross_entropy_with_logits",
            "MSELoss": "mse_loss", "L1Loss": "l1_loss", "SmoothL1Loss": "smooth_l1_loss",
            "HuberLoss": "huber_loss"}[module]
    cpu_kwargs = {k: _t(v) for k, v in args.items() if isinstance(v, list)}
    cpu_kwargs.update({k: v for k, v in args.items() if not isinstance(v, list)})
    expected = getattr(F, name)(_t(_np(x)), _t(_np(target)) if target.dtype == tg.float64
                                else tg.tensor(_np(target)), **cpu_kwargs)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-12)
    assert x.grad.device == tg.Device(device)


# ---------------------------------------------------------------------------------------------
# empty batches: 'mean' of nothing is NaN (PyTorch's), 'sum' 0, 'none' empty; backward works
# ---------------------------------------------------------------------------------------------
def _empty_loss_cases(device: str) -> dict:
    z = lambda *s: tg.zeros(s, device=device)  # noqa: E731
    labels = tg.zeros(0, dtype=tg.int64, device=device)
    return {
        "mse_loss": (lambda x, r: F.mse_loss(x, z(0), reduction=r), (0,)),
        "l1_loss": (lambda x, r: F.l1_loss(x, z(0), reduction=r), (0,)),
        "smooth_l1_loss": (lambda x, r: F.smooth_l1_loss(x, z(0), reduction=r), (0,)),
        "huber_loss": (lambda x, r: F.huber_loss(x, z(0), reduction=r), (0,)),
        "mse_loss_weight": (lambda x, r: F.mse_loss(x, z(0), reduction=r, weight=z(0)), (0,)),
        "cross_entropy": (lambda x, r: F.cross_entropy(x, labels, reduction=r), (0, 3)),
        "cross_entropy_smoothing": (lambda x, r: F.cross_entropy(
            x, labels, reduction=r, label_smoothing=0.1), (0, 3)),
        "cross_entropy_weight": (lambda x, r: F.cross_entropy(
            x, labels, weight=tg.ones(3, device=device), reduction=r), (0, 3)),
        "cross_entropy_probabilities": (lambda x, r: F.cross_entropy(x, z(0, 3), reduction=r),
                                        (0, 3)),
        "cross_entropy_2d": (lambda x, r: F.cross_entropy(
            x, tg.zeros(0, 2, 2, dtype=tg.int64, device=device), reduction=r), (0, 3, 2, 2)),
        "nll_loss": (lambda x, r: F.nll_loss(x, labels, reduction=r), (0, 3)),
        "binary_cross_entropy": (lambda x, r: F.binary_cross_entropy(
            x.sigmoid(), z(0), reduction=r), (0,)),
        "binary_cross_entropy_with_logits": (lambda x, r: F.binary_cross_entropy_with_logits(
            x, z(0, 3), reduction=r, pos_weight=tg.ones(3, device=device)), (0, 3)),
    }


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", list(_empty_loss_cases("cpu")))
def test_losses_of_an_empty_batch(device: str, name: str, reduction: str) -> None:
    fn, shape = _empty_loss_cases(device)[name]
    x = tg.zeros(shape, device=device, requires_grad=True)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's "mean of empty slice"
        loss = fn(x, reduction)
        if reduction == "none":
            assert loss.numel() == 0
            loss = loss.sum()
        else:
            assert loss.shape == ()
            value = loss.item()
            assert math.isnan(value) if reduction == "mean" else value == 0.0
        loss.backward()
    assert x.grad.shape == shape


def test_bce_of_a_saturated_sigmoid(device: str) -> None:
    """sigmoid(-20) = 2.06e-9 in float32 (it was 0: loss 100, gradient 0); PyTorch gives loss
    20 and gradient -1."""
    x = tg.tensor(-20.0, requires_grad=True, device=device)
    loss = F.binary_cross_entropy(x.sigmoid(), tg.tensor(1.0, device=device))
    loss.backward()
    assert loss.item() == pytest.approx(20.0, rel=1e-6)
    assert x.grad.item() == pytest.approx(-1.0, rel=1e-5)
    loss = F.binary_cross_entropy_with_logits(x, tg.tensor(1.0, device=device))
    assert loss.item() == pytest.approx(20.0, rel=1e-6)
