"""quantile / nanquantile (every interpolation, q a float or a 1-D tensor, dim, keepdim) and
unique / unique_consecutive (issue 16): against NumPy (no torch needed) and torch where
installed, float64 gradchecks through the sort on every device, PyTorch's errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.autograd import gradcheck

RNG = np.random.default_rng(0)
X = RNG.standard_normal((3, 5, 4))
WITH_NAN = X.copy()
WITH_NAN[0, 1, 2] = np.nan
WITH_NAN[2, :, 1] = np.nan  # a row of NaNs along dim 1
MODES = ["linear", "lower", "higher", "midpoint", "nearest"]
INTS = np.array([[1, 2, 1], [1, 2, 1], [0, 5, 0], [1, 2, 1]])


def t64(values, device, grad=False):
    return tg.tensor(values, dtype=tg.float64, device=device, requires_grad=grad)


@pytest.mark.parametrize("interpolation", MODES)
def test_quantile_matches_numpy(device, interpolation):
    x = t64(X, device)
    qs = np.array([0.0, 0.1, 0.5, 0.95, 1.0])
    q = t64(qs, device)
    for dim in (None, 0, 1, -1):
        for keepdim in (False, True):
            got = tg.quantile(x, q, dim, keepdim, interpolation=interpolation).cpu().numpy()
            want = np.quantile(X, qs, axis=dim, keepdims=keepdim, method=interpolation)
            if keepdim and dim is None:
                want = want.reshape(len(qs), 1, 1, 1)
            np.testing.assert_allclose(got, want, err_msg=f"{dim} {keepdim}")
        got = x.quantile(0.3, dim, interpolation=interpolation).cpu().numpy()
        np.testing.assert_allclose(got, np.quantile(X, 0.3, axis=dim, method=interpolation))
        got = tg.nanquantile(t64(WITH_NAN, device), q, dim, interpolation=interpolation)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # (NumPy's: a row of NaNs)
            want = np.nanquantile(WITH_NAN, qs, axis=dim, method=interpolation)
        np.testing.assert_allclose(got.cpu().numpy(), want)
    got = t64(WITH_NAN, device).quantile(0.5, dim=1).cpu().numpy()
    np.testing.assert_allclose(got, np.quantile(WITH_NAN, 0.5, axis=1))  # NaN rows are NaN


def test_quantile_gradients(device):
    x = t64(RNG.permutation(24).reshape(4, 6) / 7.0, device, True)  # distinct values
    q = t64([0.2, 0.5, 0.9], device)
    for mode in MODES:
        gradcheck(lambda a: a.quantile(q, dim=1, interpolation=mode), (x,))
        gradcheck(lambda a: a.nanquantile(0.3, dim=0, keepdim=True, interpolation=mode), (x,))
    gradcheck(lambda a: tg.quantile(a, 0.75), (x,))


def test_unique_matches_numpy(device):
    flat = INTS.reshape(-1)
    x = tg.tensor(INTS, device=device)
    values, inverse, counts = tg.unique(x, return_inverse=True, return_counts=True)
    want = np.unique(flat, return_inverse=True, return_counts=True)
    np.testing.assert_array_equal(values.cpu().numpy(), want[0])
    np.testing.assert_array_equal(inverse.cpu().numpy(), want[1].reshape(INTS.shape))
    np.testing.assert_array_equal(counts.cpu().numpy(), want[2])
    assert inverse.dtype == counts.dtype == tg.int64 and values.dtype == x.dtype
    np.testing.assert_array_equal(x.unique().cpu().numpy(), want[0])
    for dim in (0, 1):
        values, inverse, counts = x.unique(dim=dim, return_inverse=True, return_counts=True)
        want = np.unique(INTS, axis=dim, return_inverse=True, return_counts=True)
        np.testing.assert_array_equal(values.cpu().numpy(), want[0])
        np.testing.assert_array_equal(inverse.cpu().numpy(), want[1].reshape(-1))
        np.testing.assert_array_equal(counts.cpu().numpy(), want[2])
    u, c = tg.unique(tg.tensor([0.5, -1.0, 0.5], device=device), return_counts=True)
    np.testing.assert_array_equal(u.cpu().numpy(), [-1.0, 0.5])
    np.testing.assert_array_equal(c.cpu().numpy(), [1, 2])


def test_unique_consecutive(device):
    x = tg.tensor([1, 1, 2, 2, 3, 1, 1, 2], device=device)
    values, inverse, counts = tg.unique_consecutive(x, return_inverse=True, return_counts=True)
    np.testing.assert_array_equal(values.cpu().numpy(), [1, 2, 3, 1, 2])
    np.testing.assert_array_equal(inverse.cpu().numpy(), [0, 0, 1, 1, 2, 3, 3, 4])
    np.testing.assert_array_equal(counts.cpu().numpy(), [2, 2, 1, 2, 1])
    rows = tg.tensor(INTS, device=device)
    values, counts = rows.unique_consecutive(dim=0, return_counts=True)
    np.testing.assert_array_equal(values.cpu().numpy(), INTS[[0, 2, 3]])
    np.testing.assert_array_equal(counts.cpu().numpy(), [2, 1, 1])


def test_not_differentiable_and_errors():
    x = tg.tensor([1.0, 2.0, 1.0], requires_grad=True)
    assert not x.unique().requires_grad
    with pytest.raises(RuntimeError, match=r"q must be in the range \[0, 1\] but got 1.3"):
        tg.quantile(x, 1.3)
    with pytest.raises(RuntimeError, match="interpolation must be one of linear, lower"):
        tg.quantile(x, 0.3, interpolation="foo")
    with pytest.raises(RuntimeError, match="must be either float or double dtype"):
        tg.quantile(tg.tensor([1, 2]), 0.3)
    with pytest.raises(RuntimeError, match="q must be a scalar or 1D tensor"):
        tg.quantile(x, tg.tensor([[0.3]]))
    with pytest.raises(RuntimeError, match="input tensor must be non-empty"):
        tg.quantile(tg.zeros(0), 0.3)
    with pytest.raises(RuntimeError, match="q tensor must be same dtype as the input"):
        tg.quantile(x, tg.tensor([0.3], dtype=tg.float64))


def test_against_torch():
    torch = pytest.importorskip("torch")
    for fn in ("quantile", "nanquantile"):
        for q in (0.3, [0.1, 0.5, 0.95]):
            for dim in (None, 1):
                for mode in MODES:
                    a = getattr(tg, fn)(tg.tensor(WITH_NAN), tg.tensor(q, dtype=tg.float64)
                                        if isinstance(q, list) else q, dim, True,
                                        interpolation=mode)
                    b = getattr(torch, fn)(torch.tensor(WITH_NAN), torch.tensor(
                        q, dtype=torch.float64) if isinstance(q, list) else q, dim, True,
                        interpolation=mode)
                    np.testing.assert_allclose(a.numpy(), b.numpy())
    cases = [INTS, INTS.reshape(-1), np.array([[[1, 2], [1, 2]], [[0, 5], [1, 2]]]),
             np.array(5.0)]
    for x in cases:
        for dim in [None] + list(range(x.ndim)):
            for fn in ("unique", "unique_consecutive"):
                a = getattr(tg, fn)(tg.tensor(x), return_inverse=True, return_counts=True,
                                    dim=dim)
                b = getattr(torch, fn)(torch.tensor(x), return_inverse=True,
                                       return_counts=True, dim=dim)
                for u, v in zip(a, b):
                    np.testing.assert_array_equal(u.numpy(), v.numpy())
                    assert u.shape == v.shape
