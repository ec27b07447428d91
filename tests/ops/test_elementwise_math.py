"""Issue 16, elementwise math: log1p ... bitwise ops, their in-place forms, `%` and `//`.

For each function: forward values against NumPy (scipy.special for the special functions, a
test-only reference) over Hypothesis-drawn shapes and values, and against PyTorch where it is
importable (values and dtypes); float64 gradient checks of the differentiable ones (inputs kept
inside their domains and away from kinks and poles); in-place variants (values, version
counter, the leaf error, the dtype error); dtypes for integer and bool inputs. Every test runs
on the `device` fixture.
"""

from __future__ import annotations

import math
import operator
import warnings
from typing import Any, Callable

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu.autograd import gradcheck, gradgradcheck

FEW = settings(max_examples=8)  # (CI has 2 cores and a few minutes for the whole suite)
shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)
broadcast_pairs = hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, min_side=1,
                                                     max_side=3)


def floats(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def away_from_integers(lo: int = -4, hi: int = 4) -> st.SearchStrategy[float]:
    """k + f with k in [lo, hi] and f in [0.2, 0.8]: away from the poles of lgamma/digamma."""
    return st.builds(operator.add, st.integers(lo, hi).map(float), floats(0.2, 0.8))


def away_from_zero(lo: float = 0.3, hi: float = 3.0) -> st.SearchStrategy[float]:
    return st.builds(operator.mul, floats(lo, hi), st.sampled_from([-1.0, 1.0]))


def values(t: tg.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


def quiet(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """fn with NumPy's floating-point warnings silenced (log(0) and the like)."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        return fn(*args, **kwargs)


def _special(name: str) -> Callable[[np.ndarray], np.ndarray]:
    def reference(x: np.ndarray) -> np.ndarray:
        special = pytest.importorskip("scipy.special")
        return getattr(special, name)(x)
    return reference


# name: (NumPy reference, values where it is smooth, dtype-preserving for integers)
UNARY: dict[str, tuple[Callable[[np.ndarray], np.ndarray], st.SearchStrategy[float]]] = {
    "log1p": (np.log1p, floats(-0.8, 3.0)),
    "expm1": (np.expm1, floats(-3.0, 3.0)),
    "log2": (np.log2, floats(0.2, 5.0)),
    "log10": (np.log10, floats(0.2, 5.0)),
    "exp2": (np.exp2, floats(-3.0, 3.0)),
    "sinh": (np.sinh, floats(-3.0, 3.0)),
    "cosh": (np.cosh, floats(-3.0, 3.0)),
    "tan": (np.tan, floats(-1.2, 1.2)),
    "asin": (np.arcsin, floats(-0.9, 0.9)),
    "acos": (np.arccos, floats(-0.9, 0.9)),
    "atan": (np.arctan, floats(-3.0, 3.0)),
    "asinh": (np.arcsinh, floats(-3.0, 3.0)),
    "acosh": (np.arccosh, floats(1.2, 5.0)),
    "atanh": (np.arctanh, floats(-0.9, 0.9)),
    "erf": (_special("erf"), floats(-3.0, 3.0)),
    "erfc": (_special("erfc"), floats(-3.0, 3.0)),
    "erfinv": (_special("erfinv"), floats(-0.95, 0.95)),
    "lgamma": (_special("gammaln"), away_from_integers()),
    "digamma": (_special("digamma"), away_from_integers()),
    "reciprocal": (np.reciprocal, away_from_zero()),
    "frac": (lambda x: x - np.trunc(x), away_from_integers()),
}
ALIASES = {"arcsin": "asin", "arccos": "acos", "arctan": "atan", "arcsinh": "asinh",
           "arccosh": "acosh", "arctanh": "atanh"}
ROUNDING = {"floor": np.floor, "ceil": np.ceil, "trunc": np.trunc, "fix": np.trunc,
            "round": np.round}


# ---------------------------------------------------------------------------------------------
# one tensor: forward, torch, dtypes, gradients
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(UNARY))
@FEW
@given(shape=shapes, data=st.data())
def test_unary_forward(device: str, name: str, shape: tuple, data: st.DataObject) -> None:
    reference, elements = UNARY[name]
    x = data.draw(hnp.arrays(np.float64, shape, elements=elements))
    for dtype, rtol in ((tg.float64, 1e-12), (tg.float32, 1e-5)):
        t = tg.tensor(x, dtype=dtype, device=device)
        for result in (getattr(t, name)(), getattr(tg, name)(t)):
            assert result.dtype == dtype and result.shape == t.shape
            expected = reference(x.astype(np.dtype(str(dtype).split(".")[-1])))
            np.testing.assert_allclose(values(result), expected, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("alias", list(ALIASES))
def test_aliases(device: str, alias: str) -> None:
    t = tg.tensor([0.25, 0.5], device=device) + (1.0 if alias == "arccosh" else 0.0)
    assert np.array_equal(values(getattr(t, alias)()), values(getattr(t, ALIASES[alias])()))
    assert np.array_equal(values(getattr(tg, alias)(t)), values(getattr(tg, ALIASES[alias])(t)))


@pytest.mark.parametrize("name", list(UNARY) + list(ALIASES) + list(ROUNDING))
def test_unary_against_torch(device: str, name: str) -> None:
    torch = pytest.importorskip("torch")
    specials = [0.0, -0.0, 1.0, -1.0, 2.0, -2.5, 0.5, 1e-8, 7.25, float("nan"), float("inf"),
                -float("inf")]
    inputs = [(specials, "float32"), (specials, "float64"), ([0, 1, -2, 3, 7], "int64"),
              ([True, False], "bool")]
    for data, dtype in inputs:
        expected_error = None
        try:
            expected = getattr(torch, name)(torch.tensor(data, dtype=getattr(torch, dtype)))
        except (RuntimeError, NotImplementedError) as exc:
            expected_error = type(exc)
        t = tg.tensor(data, dtype=getattr(tg, dtype), device=device)
        if expected_error is not None:
            with pytest.raises(expected_error):
                getattr(tg, name)(t)
            continue
        result = quiet(getattr(tg, name), t)
        assert str(result.dtype).split(".")[-1] == str(expected.dtype).split(".")[-1], dtype
        got, want = values(result), expected.numpy()
        tol = 1e-6 if dtype != "float64" else 1e-13
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol, equal_nan=True)
        if want.dtype.kind == "f":  # the signs of zeros and infinities too
            assert np.array_equal(np.signbit(got[~np.isnan(want)]),
                                  np.signbit(want[~np.isnan(want)])), (name, dtype)


@pytest.mark.parametrize("name", list(UNARY))
def test_integer_and_bool_inputs_give_the_default_float(device: str, name: str) -> None:
    if name == "frac":
        for data in ([1, 2], [True]):
            with pytest.raises(NotImplementedError, match="frac"):
                tg.tensor(data, device=device).frac()
        return
    for data in ([1, 2], [True, False]):
        assert quiet(getattr(tg.tensor(data, device=device), name)).dtype == tg.float32
    tg.set_default_dtype(tg.float64)
    try:
        assert quiet(getattr(tg.tensor([1, 2], device=device), name)).dtype == tg.float64
    finally:
        tg.set_default_dtype(tg.float32)


@pytest.mark.parametrize("name", list(UNARY))
@FEW
@given(shape=shapes, data=st.data())
def test_unary_gradcheck(device: str, name: str, shape: tuple, data: st.DataObject) -> None:
    _, elements = UNARY[name]
    x = data.draw(hnp.arrays(np.float64, shape, elements=elements))
    leaf = tg.tensor(x, dtype=tg.float64, device=device, requires_grad=True)
    assert gradcheck(lambda t: getattr(t, name)(), [leaf])


@pytest.mark.parametrize("name", ["erf", "erfc", "erfinv", "lgamma", "digamma", "tan",
                                  "log1p", "asin", "atanh", "reciprocal", "expm1"])
def test_unary_gradgradcheck(device: str, name: str) -> None:
    x = {"lgamma": [2.5, -1.5, 0.7], "digamma": [2.5, -1.5, 0.7]}.get(name, [0.3, -0.4, 0.6])
    leaf = tg.tensor(x, dtype=tg.float64, device=device, requires_grad=True)
    assert gradgradcheck(lambda t: getattr(t, name)(), [leaf])


def test_graph_node_names(device: str) -> None:
    x = tg.tensor([0.5], device=device, requires_grad=True)
    assert x.log1p().grad_fn.name() == "Log1PBackward0"
    assert x.erfinv().grad_fn.name() == "ErfinvBackward0"
    assert x.logaddexp(x).grad_fn.name() == "LogaddexpBackward0"
    assert (x % 2).grad_fn.name() == "RemainderBackward0"
    assert x.nan_to_num().grad_fn.name() == "NanToNumBackward0"


# ---------------------------------------------------------------------------------------------
# accuracy of the special functions (float64, against scipy.special and math)
# ---------------------------------------------------------------------------------------------
def _grid() -> np.ndarray:
    rng = np.random.default_rng(16)
    return np.concatenate([rng.uniform(-6, 6, 2000), rng.uniform(-30, 30, 200),
                           np.logspace(-300, 1, 60), -np.logspace(-300, 1, 60)])


def test_erf_erfc_accuracy(device: str) -> None:
    special = pytest.importorskip("scipy.special")
    x = _grid()
    t = tg.tensor(x, dtype=tg.float64, device=device)
    np.testing.assert_allclose(values(t.erf()), special.erf(x), rtol=2e-15, atol=0)
    tiny = special.erfc(x) > 1e-300  # erfc: relative accuracy down to the underflow
    np.testing.assert_allclose(values(t.erfc())[tiny], special.erfc(x)[tiny], rtol=1e-13)
    some = x[::23]
    assert np.allclose(values(tg.tensor(some, dtype=tg.float64, device=device).erf()),
                       [math.erf(v) for v in some], rtol=2e-15, atol=0)
    assert np.allclose(values(tg.tensor(some, dtype=tg.float64, device=device).erfc()),
                       [math.erfc(v) for v in some], rtol=1e-13, atol=0)
    ends = tg.tensor([math.inf, -math.inf, math.nan, 0.0, -0.0], dtype=tg.float64, device=device)
    np.testing.assert_array_equal(values(ends.erf()), [1.0, -1.0, math.nan, 0.0, -0.0])
    np.testing.assert_array_equal(values(ends.erfc()), [0.0, 2.0, math.nan, 1.0, 1.0])


def test_erfinv_accuracy(device: str) -> None:
    special = pytest.importorskip("scipy.special")
    rng = np.random.default_rng(3)
    y = np.concatenate([rng.uniform(-1, 1, 2000), 1 - np.logspace(-16, -1, 50),
                        -1 + np.logspace(-16, -1, 50), np.logspace(-300, -1, 50)])
    t = tg.tensor(y, dtype=tg.float64, device=device)
    np.testing.assert_allclose(values(t.erfinv()), special.erfinv(y), rtol=1e-14, atol=0)
    np.testing.assert_allclose(values(t.erfinv().erf()), y, rtol=1e-14, atol=0)  # round trip
    ends = tg.tensor([1.0, -1.0, 1.5, math.nan, -0.0], dtype=tg.float64, device=device)
    np.testing.assert_array_equal(values(ends.erfinv()),
                                  [math.inf, -math.inf, math.nan, math.nan, -0.0])


def test_lgamma_accuracy(device: str) -> None:
    special = pytest.importorskip("scipy.special")
    x = _grid()
    x = np.concatenate([x[x != np.round(x)], np.logspace(-10, 300, 60)])
    got = values(tg.tensor(x, dtype=tg.float64, device=device).lgamma())
    want = special.gammaln(x)
    # relative to max(1, |lgamma|): near its zeros (x = 1, 2, and between the negative poles)
    # no approximation of ln|Gamma| keeps a relative accuracy
    np.testing.assert_array_less(np.abs(got - want) / np.maximum(1.0, np.abs(want)), 1e-14)
    some = x[::17]
    assert np.allclose(got[::17], [math.lgamma(v) for v in some], rtol=1e-13, atol=1e-14)
    ends = tg.tensor([0.0, -0.0, -1.0, -7.0, 1.0, 2.0, math.inf, -math.inf, math.nan],
                     dtype=tg.float64, device=device)
    np.testing.assert_array_equal(values(ends.lgamma()), [math.inf] * 4 + [0.0, 0.0] +
                                  [math.inf, math.inf, math.nan])


def test_digamma_accuracy(device: str) -> None:
    special = pytest.importorskip("scipy.special")
    x = _grid()
    # (scipy's digamma loses digits right next to the negative poles: kept 0.01 away)
    x = x[(x > 0) | (np.abs(x - np.round(x)) > 0.01)]
    x = np.concatenate([x, np.logspace(-10, 300, 60)])
    got = values(tg.tensor(x, dtype=tg.float64, device=device).digamma())
    want = special.digamma(x)
    np.testing.assert_array_less(np.abs(got - want) / np.maximum(1.0, np.abs(want)), 1e-13)
    ends = tg.tensor([0.0, -0.0, -1.0, 1.0, math.inf, -math.inf, math.nan], dtype=tg.float64,
                     device=device)  # PyTorch's values at the poles and the infinities
    np.testing.assert_allclose(values(ends.digamma()), [-math.inf, math.inf, math.nan,
                               -0.5772156649015329, math.inf, math.nan, math.nan], rtol=1e-15)


def test_digamma_gradient_is_trigamma(device: str) -> None:
    special = pytest.importorskip("scipy.special")
    x = np.array([0.3, 1.0, 2.5, 11.0, -0.5, -3.7, 40.0])
    t = tg.tensor(x, dtype=tg.float64, device=device, requires_grad=True)
    (g,) = tg.autograd.grad(t.digamma().sum(), [t], create_graph=True)
    np.testing.assert_allclose(values(g), special.polygamma(1, x), rtol=1e-13)
    (gg,) = tg.autograd.grad(g.sum(), [t])
    np.testing.assert_allclose(values(gg), special.polygamma(2, x), rtol=1e-12)


def test_float32_special_functions_are_computed_in_float64(device: str) -> None:
    special = pytest.importorskip("scipy.special")
    x = np.linspace(0.1, 5, 50).astype(np.float32)
    t = tg.tensor(x, device=device)
    for name, ref in (("erf", special.erf), ("lgamma", special.gammaln),
                      ("digamma", special.digamma)):
        want = ref(x.astype(np.float64)).astype(np.float32)
        np.testing.assert_allclose(values(getattr(t, name)()), want, rtol=2e-7, atol=1e-7)


# ---------------------------------------------------------------------------------------------
# rounding, frac, nan_to_num, the tests of values
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(ROUNDING))
@FEW
@given(shape=shapes, data=st.data())
def test_rounding(device: str, name: str, shape: tuple, data: st.DataObject) -> None:
    x = data.draw(hnp.arrays(np.float64, shape, elements=floats(-10, 10)))
    t = tg.tensor(x, dtype=tg.float64, device=device, requires_grad=True)
    result = getattr(t, name)()
    np.testing.assert_array_equal(values(result), ROUNDING[name](x))
    assert result.grad_fn is None and not result.requires_grad  # no graph
    ints = tg.tensor([3, -4], device=device)
    assert getattr(tg, name)(ints).dtype == tg.int64
    with pytest.raises(NotImplementedError):
        getattr(tg, name)(tg.tensor([True], device=device))


def test_round_decimals(device: str) -> None:
    x = np.array([2.5, 0.125, 1234.5, -1.005, 3.14159, -0.5])
    t = tg.tensor(x, dtype=tg.float64, device=device)
    assert np.array_equal(values(t.round()), [2.0, 0.0, 1234.0, -1.0, 3.0, -0.0])
    assert np.allclose(values(tg.round(t, decimals=2)), np.round(x * 100) / 100)
    assert np.allclose(values(t.round(decimals=-2)), [0.0, 0.0, 1200.0, -0.0, 0.0, -0.0])
    with pytest.raises(TypeError):
        t.round(2)  # decimals is keyword-only, as PyTorch
    with pytest.raises(NotImplementedError):
        tg.tensor([1, 2], device=device).round(decimals=1)
    torch = pytest.importorskip("torch")
    for d in (-2, -1, 0, 1, 2, 3):
        for dtype in ("float32", "float64"):
            want = torch.round(torch.tensor(x, dtype=getattr(torch, dtype)), decimals=d)
            got = tg.tensor(x, dtype=getattr(tg, dtype), device=device).round(decimals=d)
            np.testing.assert_array_equal(values(got), want.numpy())


def test_nan_to_num(device: str) -> None:
    x = [math.nan, math.inf, -math.inf, 1.5]
    for dtype in (tg.float16, tg.float32, tg.float64):
        info = np.finfo(np.dtype(str(dtype).split(".")[-1]))
        t = tg.tensor(x, dtype=dtype, device=device)
        assert values(t.nan_to_num()).tolist() == [0.0, info.max, info.min, 1.5]
        assert values(tg.nan_to_num(t, nan=2.0, posinf=3.0, neginf=-4.0)).tolist() == [
            2.0, 3.0, -4.0, 1.5]
    ints = tg.tensor([1, 2], device=device)
    assert tg.nan_to_num(ints, nan=5.0).tolist() == [1, 2] and ints.nan_to_num().dtype == tg.int64
    leaf = tg.tensor(x, dtype=tg.float64, device=device, requires_grad=True)
    leaf.nan_to_num().sum().backward()
    assert values(leaf.grad).tolist() == [0.0, 0.0, 0.0, 1.0]  # 1 only where x is finite
    finite = tg.tensor([0.5, -2.0], dtype=tg.float64, device=device, requires_grad=True)
    assert gradcheck(lambda t: t.nan_to_num(), [finite])


def test_is_inf_posinf_neginf(device: str) -> None:
    x = [math.inf, -math.inf, math.nan, 0.0]
    t = tg.tensor(x, device=device)
    assert t.isinf().tolist() == [True, True, False, False]
    assert tg.isposinf(t).tolist() == [True, False, False, False]
    assert tg.isneginf(t).tolist() == [False, True, False, False]
    assert tg.isinf(tg.tensor([1, 2], device=device)).tolist() == [False, False]
    assert tg.isinf(t).dtype == tg.bool_
    with pytest.raises(TypeError, match="isinf"):
        tg.isinf(3.0)


def test_isclose(device: str) -> None:
    a = tg.tensor([1.0, math.nan, math.inf, -math.inf, 1.0], dtype=tg.float64, device=device)
    b = tg.tensor([1.0 + 1e-9, math.nan, math.inf, math.inf, 1.1], dtype=tg.float64,
                  device=device)
    assert tg.isclose(a, b).tolist() == [True, False, True, False, False]
    assert a.isclose(b, equal_nan=True).tolist() == [True, True, True, False, False]
    assert a.isclose(b, rtol=0.2).tolist()[-1] is True
    ints = tg.tensor([1, 2], device=device)
    assert tg.isclose(ints, ints).tolist() == [True, True]
    flags = tg.tensor([True, False], device=device)
    assert tg.isclose(flags, flags).tolist() == [True, True]
    with pytest.raises(RuntimeError, match="did not match"):
        tg.isclose(ints, ints.double())
    with pytest.raises(RuntimeError, match="rtol"):
        tg.isclose(a, b, rtol=-1.0)
    with pytest.raises(TypeError):
        tg.isclose(a, 1.0)


# ---------------------------------------------------------------------------------------------
# two tensors: forward with broadcasting, gradients
# ---------------------------------------------------------------------------------------------
BINARY: dict[str, tuple[Callable[..., np.ndarray], st.SearchStrategy, st.SearchStrategy]] = {
    "atan2": (np.arctan2, away_from_zero(), away_from_zero()),
    "hypot": (np.hypot, away_from_zero(), away_from_zero()),
    "logaddexp": (np.logaddexp, floats(-3, 3), floats(-3, 3)),
    "xlogy": (lambda a, b: a * np.log(b), floats(-3, 3), floats(0.2, 3)),
    "fmod": (np.fmod, floats(-3, 3), st.sampled_from([0.77, -1.31, 2.93, -3.17])),
    "remainder": (np.mod, floats(-3, 3), st.sampled_from([0.77, -1.31, 2.93, -3.17])),
}


@pytest.mark.parametrize("name", list(BINARY))
@FEW
@given(shapes_=broadcast_pairs, data=st.data())
def test_binary_forward_and_gradcheck(device: str, name: str, shapes_: Any,
                                      data: st.DataObject) -> None:
    (sa, sb), _ = shapes_
    reference, left, right = BINARY[name]
    a = data.draw(hnp.arrays(np.float64, sa, elements=left))
    b = data.draw(hnp.arrays(np.float64, sb, elements=right))
    if name in ("fmod", "remainder"):  # away from whole quotients, where they jump
        fraction = np.abs(a / b) % 1.0
        assume(bool(np.all((fraction > 0.01) & (fraction < 0.99))))
    ta = tg.tensor(a, dtype=tg.float64, device=device, requires_grad=True)
    tb = tg.tensor(b, dtype=tg.float64, device=device, requires_grad=True)
    for result in (getattr(ta, name)(tb), getattr(tg, name)(ta, tb)):
        np.testing.assert_allclose(values(result), reference(a, b), rtol=1e-12, atol=1e-12)
    assert gradcheck(lambda x, y: getattr(x, name)(y), [ta, tb])


def test_xlogy_gradient_at_zero(device: str) -> None:
    a = tg.tensor([0.0, 0.0, 0.0, 1.0], dtype=tg.float64, device=device, requires_grad=True)
    b = tg.tensor([0.5, 0.0, -1.0, 0.0], dtype=tg.float64, device=device, requires_grad=True)
    quiet(lambda: tg.xlogy(a, b).sum().backward())
    assert values(a.grad).tolist() == [math.log(0.5), 0.0, 0.0, -math.inf]  # as PyTorch
    got = values(b.grad).tolist()
    assert got[0] == 0.0 and math.isnan(got[1]) and got[2:] == [0.0, math.inf]


@pytest.mark.parametrize("name", ["atan2", "hypot", "logaddexp", "xlogy", "remainder",
                                  "fmod"])
def test_binary_gradgradcheck(device: str, name: str) -> None:
    a = tg.tensor([0.3, -1.4, 2.2], dtype=tg.float64, device=device, requires_grad=True)
    b = tg.tensor([1.3, 0.6, -0.9], dtype=tg.float64, device=device, requires_grad=True)
    if name == "xlogy":
        b = b.detach().abs().requires_grad_()
    assert gradgradcheck(lambda x, y: getattr(x, name)(y), [a, b])


def test_binary_against_torch(device: str) -> None:
    torch = pytest.importorskip("torch")
    left = [1.5, -2.5, 0.0, -0.0, 7.5, -7.5, math.inf, math.nan, 3.0, -3.0]
    right = [2.0, 2.5, -1.0, 3.0, -2.5, 2.5, 2.0, 1.0, math.inf, math.inf]
    ints_l, ints_r = [7, -7, 7, -7, 0, 5, 3, 9, -1, 2], [2, 2, -2, -2, 3, -3, 5, 4, 7, 1]
    for name in ("atan2", "hypot", "logaddexp", "xlogy", "fmod", "remainder", "arctan2",
                 "logical_and", "logical_or", "logical_xor", "bitwise_and", "bitwise_or",
                 "bitwise_xor", "clamp_min", "clamp_max", "isclose"):
        for (ld, rd, dtype) in ((left, right, "float32"), (left, right, "float64"),
                                (ints_l, ints_r, "int64"), (ints_l, right, "mixed"),
                                ([True, False] * 5, [True] * 5 + [False] * 5, "bool")):
            def make(lib: Any, data: list, kind: str) -> Any:
                if dtype == "mixed":
                    return lib.tensor(data, dtype=lib.int64 if kind == "l" else lib.float32,
                                      **({"device": device} if lib is tg else {}))
                return lib.tensor(data, dtype=getattr(lib, dtype),
                                  **({"device": device} if lib is tg else {}))
            try:
                want = getattr(torch, name)(make(torch, ld, "l"), make(torch, rd, "r"))
            except (RuntimeError, NotImplementedError) as exc:
                with pytest.raises(type(exc)):
                    getattr(tg, name)(make(tg, ld, "l"), make(tg, rd, "r"))
                continue
            got = quiet(getattr(tg, name), make(tg, ld, "l"), make(tg, rd, "r"))
            assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1], (name, dtype)
            np.testing.assert_allclose(values(got).astype(float), want.numpy().astype(float),
                                       rtol=1e-6, equal_nan=True, err_msg=f"{name} {dtype}")
            if want.dtype.is_floating_point and name not in ("clamp_min", "clamp_max"):
                w = want.numpy()
                assert np.array_equal(np.signbit(values(got)[~np.isnan(w)]),
                                      np.signbit(w[~np.isnan(w)])), (name, dtype)


def test_binary_dtypes_and_errors(device: str) -> None:
    ints = tg.tensor([1, 2, 3], device=device)
    floats32 = tg.tensor([1.0, 2.0, 3.0], device=device)
    assert tg.atan2(ints, ints).dtype == tg.float32
    assert tg.xlogy(ints, ints).dtype == tg.float32
    assert tg.xlogy(2, ints).dtype == tg.float32 and tg.xlogy(ints, 2.0).dtype == tg.float32
    assert tg.atan2(floats32, floats32.double()).dtype == tg.float64
    assert tg.fmod(ints, 2).dtype == tg.int64 and tg.fmod(ints, 2.5).dtype == tg.float32
    assert tg.remainder(5, ints).tolist() == [0, 1, 2]
    for name in ("hypot", "logaddexp"):
        with pytest.raises(NotImplementedError, match=name):
            getattr(tg, name)(ints, ints)
    for name in ("atan2", "hypot", "logaddexp", "logical_and", "logical_or", "logical_xor"):
        with pytest.raises(TypeError, match="must be Tensor"):
            getattr(floats32, name)(2)
    for name in ("fmod", "remainder"):
        with pytest.raises(NotImplementedError):
            getattr(tg, name)(tg.tensor([True], device=device), tg.tensor([True], device=device))
    with pytest.raises(ValueError, match="broadcast"):
        tg.atan2(floats32, tg.ones(2, device=device))


def test_xlogy_zero_and_nan(device: str) -> None:
    x = tg.tensor([0.0, 0.0, 1.0, 2.0], dtype=tg.float64, device=device)
    y = tg.tensor([0.0, math.nan, 0.0, math.e], dtype=tg.float64, device=device)
    got = quiet(tg.xlogy, x, y)
    assert got.tolist()[0] == 0.0 and math.isnan(got.tolist()[1])
    assert got.tolist()[2:] == [-math.inf, 2.0]


def test_lerp(device: str) -> None:
    start = tg.tensor([0.0, 1.0, -2.0], dtype=tg.float64, device=device, requires_grad=True)
    end = tg.tensor([[1.0, 3.0, 2.0]], dtype=tg.float64, device=device, requires_grad=True)
    weight = tg.tensor([0.25, 0.5, 0.9], dtype=tg.float64, device=device, requires_grad=True)
    expected = values(start) + values(weight) * (values(end) - values(start))
    np.testing.assert_allclose(values(tg.lerp(start, end, weight)), expected)
    np.testing.assert_allclose(values(start.lerp(end, 0.3)),
                               values(start) + 0.3 * (values(end) - values(start)))
    assert start.lerp(end, 1.0).tolist() == end.tolist()  # exact at weight 1
    assert gradcheck(lambda s, e, w: s.lerp(e, w), [start, end, weight])
    assert gradcheck(lambda s, e: tg.lerp(s, e, 0.7), [start, end])
    with pytest.raises(RuntimeError, match="expected dtype"):
        start.lerp(end.float(), 0.5)
    with pytest.raises(NotImplementedError):
        tg.tensor([1, 2], device=device).lerp(tg.tensor([1, 2], device=device), 0.5)
    half = tg.tensor(0.5, dtype=tg.float64, device=device)  # a 0-d weight of another dtype
    assert start.float().lerp(end.float(), half).dtype == tg.float32


def test_clamp_min_max(device: str) -> None:
    x = tg.tensor([-1.0, 0.5, 2.0], device=device)
    assert tg.clamp_min(x, 0.0).tolist() == [0.0, 0.5, 2.0]
    assert x.clamp_max(1.0).tolist() == [-1.0, 0.5, 1.0]
    assert x.clamp_min(tg.tensor([0.0, 1.0, 3.0], device=device)).tolist() == [0.0, 1.0, 3.0]
    assert tg.clamp_min(tg.tensor([1, 2], device=device), 1.5).dtype == tg.float32
    leaf = tg.tensor([-1.0, 0.5, 2.0], dtype=tg.float64, device=device, requires_grad=True)
    assert gradcheck(lambda t: t.clamp_min(0.0).clamp_max(1.0), [leaf])


# ---------------------------------------------------------------------------------------------
# logical and bitwise ops
# ---------------------------------------------------------------------------------------------
@FEW
@given(shapes_=broadcast_pairs, data=st.data())
def test_logical_and_bitwise(device: str, shapes_: Any, data: st.DataObject) -> None:
    (sa, sb), _ = shapes_
    a = data.draw(hnp.arrays(np.int64, sa, elements=st.integers(-50, 50)))
    b = data.draw(hnp.arrays(np.int64, sb, elements=st.integers(-50, 50)))
    ta, tb = tg.tensor(a, device=device), tg.tensor(b, device=device)
    for name, ref in (("logical_and", np.logical_and), ("logical_or", np.logical_or),
                      ("logical_xor", np.logical_xor), ("bitwise_and", np.bitwise_and),
                      ("bitwise_or", np.bitwise_or), ("bitwise_xor", np.bitwise_xor)):
        got = getattr(tg, name)(ta, tb)
        assert got.dtype == (tg.bool_ if name.startswith("logical") else tg.int64)
        np.testing.assert_array_equal(values(got), ref(a, b))
    np.testing.assert_array_equal(values(tg.bitwise_not(ta)), np.invert(a))
    np.testing.assert_array_equal(values(ta ^ tb), a ^ b)
    np.testing.assert_array_equal(values(ta.float().logical_and(tb)), np.logical_and(a, b))


def test_bitwise_bools_scalars_and_errors(device: str) -> None:
    flags = tg.tensor([True, False, True], device=device)
    ints = tg.tensor([6, 5, -1], device=device)
    assert tg.bitwise_xor(flags, True).tolist() == [False, True, False]
    assert tg.bitwise_not(flags).tolist() == [False, True, False]
    assert (True ^ flags).tolist() == [False, True, False]
    assert (3 & ints).tolist() == [2, 1, 3] and (ints | 1).tolist() == [7, 5, -1]
    assert (1 | ints).tolist() == [7, 5, -1]
    assert tg.bitwise_and(ints, flags).dtype == tg.int64  # bool promotes to int
    for name in ("bitwise_and", "bitwise_or", "bitwise_xor"):
        with pytest.raises(NotImplementedError, match=name):
            getattr(tg, name)(ints.float(), ints.float())
        with pytest.raises(NotImplementedError):
            getattr(tg, name)(ints, 2.5)
    with pytest.raises(NotImplementedError, match="bitwise_not"):
        tg.bitwise_not(ints.float())
    assert tg.logical_not(ints).tolist() == [False, False, False]


# ---------------------------------------------------------------------------------------------
# // and % (floor semantics for any sign), division by zero
# ---------------------------------------------------------------------------------------------
@FEW
@given(data=st.data())
def test_floordiv_and_mod_follow_python(device: str, data: st.DataObject) -> None:
    n = data.draw(st.integers(1, 6))
    a = data.draw(st.lists(st.integers(-20, 20), min_size=n, max_size=n))
    b = data.draw(st.lists(st.integers(-7, 7).filter(bool), min_size=n, max_size=n))
    c = data.draw(st.integers(-9, 9))
    ta, tb = tg.tensor(a, device=device), tg.tensor(b, device=device)
    assert (ta // tb).tolist() == [x // y for x, y in zip(a, b)]
    assert (ta % tb).tolist() == [x % y for x, y in zip(a, b)]
    assert (c // tb).tolist() == [c // y for y in b] and (c % tb).tolist() == [c % y for y in b]
    assert tg.remainder(ta, tb).tolist() == [x % y for x, y in zip(a, b)]
    assert tg.fmod(ta, tb).tolist() == [int(math.fmod(x, y)) for x, y in zip(a, b)]
    fa, fb = ta.double() + 0.5, tb.double()
    assert (fa % fb).tolist() == [(x + 0.5) % y for x, y in zip(a, b)]
    assert (fa // fb).tolist() == [(x + 0.5) // y for x, y in zip(a, b)]
    assert (7.5 % fb).tolist() == [7.5 % y for y in b]
    assert tg.div(ta, tb, rounding_mode="floor").tolist() == [x // y for x, y in zip(a, b)]
    assert tg.div(ta, tb, rounding_mode="trunc").tolist() == [int(x / y) for x, y in zip(a, b)]


def test_mod_signed_zeros_and_infinities(device: str) -> None:
    a = tg.tensor([-7.5, 7.5, -0.0, 3.0, -3.0], device=device)
    b = tg.tensor([2.5, -2.5, 1.0, math.inf, math.inf], device=device)
    got = (a % b).tolist()
    assert got == [-0.0, 0.0, -0.0, 3.0, math.inf]
    assert [math.copysign(1, v) for v in got[:3]] == [-1, 1, -1]  # as PyTorch (not NumPy's)
    assert tg.fmod(a, b).tolist() == [-0.0, 0.0, -0.0, 3.0, -3.0]


FMOD = tg.fmod


@pytest.mark.parametrize("op", [
    operator.floordiv, operator.mod, FMOD, lambda a, b: tg.remainder(a, b),
    lambda a, b: tg.div(a, b, rounding_mode="floor"),
    lambda a, b: tg.div(a, b, rounding_mode="trunc")])
def test_integer_division_by_zero_raises(device: str, op: Callable) -> None:
    ints = tg.tensor([3, 4], device=device)
    with tg.autograd.detect_anomaly():  # (on a GPU the divisor is read only here)
        with pytest.raises(RuntimeError, match="ZeroDivisionError"):
            op(ints, tg.tensor([1, 0], device=device))
        with pytest.raises(RuntimeError, match="ZeroDivisionError"):
            op(ints, 0)
        if op is not FMOD:  # (fmod takes no number as its first argument, as PyTorch)
            with pytest.raises(RuntimeError, match="ZeroDivisionError"):
                op(7, tg.tensor([0, 1], device=device))
    floats_ = quiet(op, ints.float(), tg.tensor([1.0, 0.0], device=device))
    assert floats_.dtype == tg.float32  # a float division by zero gives inf or NaN instead


def test_mod_gradient(device: str) -> None:
    a = tg.tensor([5.3, -2.2, 0.4], dtype=tg.float64, device=device, requires_grad=True)
    b = tg.tensor([2.0, 1.5, -0.7], dtype=tg.float64, device=device, requires_grad=True)
    assert gradcheck(lambda x, y: x % y, [a, b])
    assert gradcheck(lambda x: 7.1 % x, [b])
    (a % b).sum().backward()
    assert values(a.grad).tolist() == [1.0, 1.0, 1.0]
    assert values(b.grad).tolist() == [-2.0, 2.0, 1.0]  # -floor(a / b)


# ---------------------------------------------------------------------------------------------
# in-place forms
# ---------------------------------------------------------------------------------------------
INPLACE = {  # name: (arguments, values where it is defined)
    "exp_": ((), [0.5, -1.0]), "log_": ((), [0.5, 2.0]), "sqrt_": ((), [0.5, 2.0]),
    "abs_": ((), [0.5, -2.0]), "neg_": ((), [0.5, -2.0]), "sigmoid_": ((), [0.5, -2.0]),
    "tanh_": ((), [0.5, -2.0]), "floor_": ((), [0.5, -2.5]), "ceil_": ((), [0.5, -2.5]),
    "round_": ((), [0.5, -2.5]), "trunc_": ((), [0.5, -2.5]), "fix_": ((), [0.5, -2.5]),
    "reciprocal_": ((), [0.5, -2.0]), "frac_": ((), [1.5, -2.25]),
    "log1p_": ((), [0.5, 2.0]), "expm1_": ((), [0.5, -1.0]), "log2_": ((), [0.5, 2.0]),
    "log10_": ((), [0.5, 2.0]), "exp2_": ((), [0.5, -1.0]), "sinh_": ((), [0.5, -1.0]),
    "cosh_": ((), [0.5, -1.0]), "tan_": ((), [0.5, -1.0]), "asin_": ((), [0.5, -0.3]),
    "acos_": ((), [0.5, -0.3]), "atan_": ((), [0.5, -1.0]), "asinh_": ((), [0.5, -1.0]),
    "acosh_": ((), [1.5, 2.0]), "atanh_": ((), [0.5, -0.3]), "arcsin_": ((), [0.5, -0.3]),
    "erf_": ((), [0.5, -1.0]), "erfc_": ((), [0.5, -1.0]), "erfinv_": ((), [0.5, -0.3]),
    "lgamma_": ((), [0.5, 2.5]), "digamma_": ((), [0.5, 2.5]), "sin_": ((), [0.5, 2.0]),
    "cos_": ((), [0.5, 2.0]), "nan_to_num_": ((), [math.nan, 2.0]),
    "clamp_min_": ((0.0,), [0.5, -2.0]), "clamp_max_": ((0.0,), [0.5, -2.0]),
    "atan2_": (("other",), [0.5, -2.0]), "arctan2_": (("other",), [0.5, -2.0]),
    "hypot_": (("other",), [0.5, -2.0]), "xlogy_": (("other",), [0.5, 2.0]),
    "fmod_": ((1.5,), [2.5, -2.0]), "remainder_": ((1.5,), [2.5, -2.0]),
    "lerp_": (("other", 0.25), [0.5, -2.0]),
}


def _args(args: tuple, device: str, dtype: Any) -> list:
    other = tg.tensor([1.5, 0.75], dtype=dtype, device=device)
    return [other if a == "other" else a for a in args]


@pytest.mark.parametrize("name", list(INPLACE))
def test_inplace_values_version_and_leaf_error(device: str, name: str) -> None:
    args, data = INPLACE[name]
    x = tg.tensor(data, dtype=tg.float64, device=device)
    expected = quiet(getattr(x, name[:-1]), *_args(args, device, tg.float64))
    version, view = x._version, x[:]
    assert quiet(getattr(x, name), *_args(args, device, tg.float64)) is x
    np.testing.assert_array_equal(values(x), values(expected))
    np.testing.assert_array_equal(values(view), values(expected))  # the same memory
    assert x._version == version + 1
    leaf = tg.tensor(data, dtype=tg.float64, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        getattr(leaf, name)(*_args(args, device, tg.float64))
    with tg.no_grad():  # allowed without a graph
        quiet(getattr(leaf, name), *_args(args, device, tg.float64))


@pytest.mark.parametrize("name", ["exp_", "log1p_", "erf_", "atan2_", "lerp_", "tanh_",
                                  "reciprocal_", "sigmoid_", "digamma_", "hypot_"])
def test_inplace_gradient_matches_out_of_place(device: str, name: str) -> None:
    args, data = INPLACE[name]
    leaf = tg.tensor(data, dtype=tg.float64, device=device, requires_grad=True)

    def inplace(t: tg.Tensor) -> tg.Tensor:
        return getattr(t * 1.0, name)(*_args(args, device, tg.float64))

    assert gradcheck(inplace, [leaf])


def test_inplace_without_graph_drops_history(device: str) -> None:
    leaf = tg.tensor([0.5, -1.5], device=device, requires_grad=True)
    y = leaf * 2.0
    y.floor_()
    assert y.tolist() == [1.0, -3.0] and y.grad_fn is None and not y.requires_grad


def test_inplace_dtype_errors(device: str) -> None:
    ints = tg.tensor([1, 2], device=device)
    for name in ("exp_", "log1p_", "erf_", "reciprocal_", "sigmoid_"):
        with pytest.raises(RuntimeError, match="can't be cast"):
            getattr(ints, name)()
        assert ints.tolist() == [1, 2]  # left as it was
    with pytest.raises(RuntimeError, match="can't be cast"):
        ints.clamp_min_(1.5)
    assert ints.clone().floor_().tolist() == [1, 2]
    assert ints.clone().fmod_(2).tolist() == [1, 0]
    flags = tg.tensor([True, False], device=device)
    with pytest.raises(RuntimeError, match="can't be cast"):
        flags.bitwise_and_(ints)
    assert ints.clone().bitwise_and_(flags).tolist() == [1, 0]
    f = tg.tensor([1.5, 0.0], device=device)
    assert f.logical_and_(f).tolist() == [1.0, 0.0]
    with pytest.raises(RuntimeError):  # the result does not fit x's shape
        tg.tensor([1.0, 2.0], device=device).atan2_(tg.ones(3, 2, device=device))


def test_inplace_logical_bitwise_and_masked_fill(device: str) -> None:
    ints = tg.tensor([6, 5, 0], device=device)
    v = ints._version
    ints ^= 3
    assert ints.tolist() == [5, 6, 3] and ints._version == v + 1
    ints &= 6
    ints |= 8
    assert ints.tolist() == [12, 14, 10]
    ints.bitwise_not_()
    assert ints.tolist() == [-13, -15, -11]
    flags = tg.tensor([True, False], device=device)
    flags.logical_xor_(tg.tensor([True, True], device=device))
    assert flags.tolist() == [False, True]
    flags.logical_not_()
    assert flags.tolist() == [True, False]
    x = tg.tensor([1.0, 2.0, 3.0], device=device)
    assert x.masked_fill_(x > 1.5, -1.0).tolist() == [1.0, -1.0, -1.0]
    i = tg.tensor([1, 2], device=device)
    assert i.masked_fill_(tg.tensor([True, False], device=device), 1.5).tolist() == [1, 2]
    mod = tg.tensor([5.0, -5.0], device=device)
    mod %= 3
    assert mod.tolist() == [2.0, 1.0]
    leaf = tg.tensor([1.0, 2.0], dtype=tg.float64, device=device, requires_grad=True)
    value = tg.tensor(5.0, dtype=tg.float64, device=device, requires_grad=True)
    y = leaf * 1.0
    y.masked_fill_(tg.tensor([True, False], device=device), value)
    y.sum().backward()
    assert values(leaf.grad).tolist() == [0.0, 1.0] and value.grad.item() == 1.0


# ---------------------------------------------------------------------------------------------
# out=
# ---------------------------------------------------------------------------------------------
def test_out(device: str) -> None:
    x = tg.tensor([0.5, 1.0], device=device)
    out = tg.empty(2, device=device)
    assert tg.log1p(x, out=out) is out
    np.testing.assert_allclose(values(out), np.log1p([0.5, 1.0]), rtol=1e-6)
    tg.atan2(x, x, out=out)
    np.testing.assert_allclose(values(out), [math.pi / 4] * 2, rtol=1e-6)
    tg.round(tg.tensor([1.25, 2.5], device=device), decimals=1, out=out)
    assert out.tolist() == [1.2000000476837158, 2.5]
    as_float = tg.empty(2, device=device)
    tg.logical_and(x, x, out=as_float)
    assert as_float.tolist() == [1.0, 1.0]
    flags = tg.empty(2, dtype=tg.bool_, device=device)
    tg.isposinf(tg.tensor([math.inf, 1.0], device=device), out=flags)
    assert flags.tolist() == [True, False]
    ints = tg.empty(2, dtype=tg.int64, device=device)
    with pytest.raises(RuntimeError, match="can't be cast"):
        tg.erf(x, out=ints)
    with pytest.raises(RuntimeError, match="out="):
        tg.exp2(x.requires_grad_(), out=out)
    with pytest.raises(TypeError, match="input"):
        tg.log1p([0.5])
