"""Forward values of every op against a NumPy reference, and the dtype rules
(PyTorch's: float32 by default, int64 for Python ints, Python scalars never widen a tensor)."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import tinygrad_edu as tg

MAX_SIDE = 4
MAX_DIMS = 3

shapes = hnp.array_shapes(min_dims=0, max_dims=MAX_DIMS, min_side=1, max_side=MAX_SIDE)
nonscalar_shapes = hnp.array_shapes(min_dims=1, max_dims=MAX_DIMS, min_side=1, max_side=MAX_SIDE)
broadcast_pairs = hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=MAX_DIMS, min_side=0,
                                                    max_side=MAX_SIDE)


def floats(lo: float = -3.0, hi: float = 3.0) -> st.SearchStrategy[float]:
    # no subnormals: CuPy compiles its kernels with -ftz=true, so on a GPU a float32 below
    # 1.2e-38 counts as 0 (3.5e-40 > 0 is False there), where NumPy keeps it
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False, allow_subnormal=False,
                     width=32)


def arrays(shape: tuple, elements: st.SearchStrategy[float] | None = None) -> Any:
    return hnp.arrays(np.float32, shape, elements=floats() if elements is None else elements)


def away_from_zero(lo: float = 0.25, hi: float = 3.0) -> st.SearchStrategy[float]:
    return st.builds(operator.mul, floats(lo, hi), st.sampled_from([-1.0, 1.0]))


@st.composite
def shape_and_dim(draw: st.DrawFn, min_dims: int = 0, allow_none: bool = True,
                  allow_tuple: bool = True) -> tuple[tuple, Any]:
    shape = draw(hnp.array_shapes(min_dims=min_dims, max_dims=MAX_DIMS, max_side=MAX_SIDE))
    ndim = len(shape)
    kinds = ["int"] + (["none"] if allow_none else []) + (["tuple"] if allow_tuple else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "none":
        return shape, None
    if kind == "int" or ndim == 0:
        return shape, draw(st.integers(-ndim, ndim - 1) if ndim else st.sampled_from([0, -1]))
    axes = draw(hnp.valid_tuple_axes(ndim, min_size=1))
    return shape, tuple(a % ndim - ndim if draw(st.booleans()) else a % ndim for a in axes)


def np_axis(dim: Any, ndim: int) -> Any:
    """The NumPy `axis` for a tinygrad_edu `dim` (a 0-d tensor's dim 0/-1 means no axis)."""
    if ndim == 0:
        return None
    return dim


def t32(array: np.ndarray, device: str) -> tg.Tensor:
    return tg.tensor(array, device=device)


def assert_matches(actual: tg.Tensor, expected: Any, rtol: float = 1e-5, atol: float = 1e-6,
                   dtype: Any = None) -> None:
    """Values, shape and dtype (float32 unless given) of `actual` against NumPy's `expected`."""
    expected = np.asarray(expected)
    assert isinstance(actual, tg.Tensor)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    assert actual.dtype == (tg.float32 if dtype is None else dtype)
    np.testing.assert_allclose(np.asarray(actual), expected, rtol=rtol, atol=atol)


# ---------------------------------------------------------------------------------------------
# arithmetic
# ---------------------------------------------------------------------------------------------
BINARY: dict[str, tuple[Callable, Callable]] = {
    "add": (operator.add, np.add),
    "sub": (operator.sub, np.subtract),
    "mul": (operator.mul, np.multiply),
    "div": (operator.truediv, np.divide),
    "pow": (operator.pow, np.power),
    "maximum": (tg.maximum, np.maximum),
    "minimum": (tg.minimum, np.minimum),
}


@pytest.mark.parametrize("name", list(BINARY))
@given(shapes=broadcast_pairs, data=st.data())
def test_binary_broadcast(device: str, name: str, shapes: Any, data: st.DataObject) -> None:
    (sa, sb), out_shape = shapes
    a = data.draw(arrays(sa, floats(0.25, 3.0) if name == "pow" else None))
    b = data.draw(arrays(sb, away_from_zero() if name == "div" else None))
    ours, ref = BINARY[name]
    out = ours(t32(a, device), t32(b, device))
    assert out.shape == out_shape
    assert_matches(out, ref(a.astype(np.float64), b.astype(np.float64)), rtol=1e-5)


SCALAR_FORMS = {
    "x + c": lambda x, c: x + c, "c + x": lambda x, c: c + x,
    "x - c": lambda x, c: x - c, "c - x": lambda x, c: c - x,
    "x * c": lambda x, c: x * c, "c * x": lambda x, c: c * x,
    "x / c": lambda x, c: x / c, "c / x": lambda x, c: c / x,
    "x ** c": lambda x, c: abs(x) ** c, "c ** x": lambda x, c: abs(c) ** x,
}


@pytest.mark.parametrize("form", list(SCALAR_FORMS))
@given(shape=shapes, c=away_from_zero(0.5, 2.5), data=st.data())
def test_scalar_forms_keep_float32(device: str, form: str, shape: tuple, c: float,
                                   data: st.DataObject) -> None:
    x = data.draw(arrays(shape, away_from_zero()))
    fn = SCALAR_FORMS[form]
    out = fn(t32(x, device), c)
    # a Python float never promotes a float32 tensor to float64
    assert_matches(out, fn(x.astype(np.float64), c), rtol=1e-5)


@given(shape=shapes, data=st.data())
def test_neg(device: str, shape: tuple, data: st.DataObject) -> None:
    x = data.draw(arrays(shape))
    assert_matches(-t32(x, device), -x)


def test_floordiv_mod(device: str) -> None:
    a = np.array([7, -7, 5, 0])
    b = np.array([2, 2, -3, 4])
    assert_matches(tg.tensor(a, device=device) // tg.tensor(b, device=device), a // b,
                   dtype=tg.int64)
    assert_matches(tg.tensor(a, device=device) % 3, a % 3, dtype=tg.int64)
    x = np.array([7.5, -7.5], dtype=np.float32)
    assert_matches(tg.tensor(x, device=device) % 2, x % 2)


# ---------------------------------------------------------------------------------------------
# matmul
# ---------------------------------------------------------------------------------------------
sides = st.integers(1, MAX_SIDE)


@pytest.mark.parametrize("kind", ["1d@1d", "1d@2d", "2d@1d", "2d@2d", "batched", "1d@nd",
                                  "nd@1d"])
@given(n=sides, k=sides, m=sides,
       batch=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=3),
       data=st.data())
def test_matmul(device: str, kind: str, n: int, k: int, m: int, batch: Any,
                data: st.DataObject) -> None:
    (ba, bb), _ = batch
    sa, sb = {
        "1d@1d": ((k,), (k,)), "1d@2d": ((k,), (k, m)), "2d@1d": ((n, k), (k,)),
        "2d@2d": ((n, k), (k, m)), "batched": (ba + (n, k), bb + (k, m)),
        "1d@nd": ((k,), bb + (k, m)), "nd@1d": (ba + (n, k), (k,)),
    }[kind]
    a, b = data.draw(arrays(sa)), data.draw(arrays(sb))
    expected = np.matmul(a.astype(np.float64), b.astype(np.float64))
    ta, tb = t32(a, device), t32(b, device)
    assert_matches(ta @ tb, expected, rtol=1e-4, atol=1e-5)
    assert_matches(tg.matmul(ta, tb), expected, rtol=1e-4, atol=1e-5)
    assert_matches(ta.matmul(tb), expected, rtol=1e-4, atol=1e-5)


def test_matmul_integer_and_mixed(device: str) -> None:
    a, b = np.arange(6).reshape(2, 3), np.arange(3)
    assert_matches(tg.tensor(a, device=device) @ tg.tensor(b, device=device), a @ b,
                   dtype=tg.int64)
    with pytest.raises(RuntimeError, match=r"matmul.*same dtype.*long int != float"):
        tg.tensor(a, device=device) @ tg.tensor(b, device=device).float()  # as PyTorch


# ---------------------------------------------------------------------------------------------
# elementwise functions
# ---------------------------------------------------------------------------------------------
def _np_sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


UNARY: dict[str, tuple[Callable, Callable, st.SearchStrategy[float]]] = {
    "exp": (tg.exp, np.exp, floats()),
    "log": (tg.log, np.log, floats(0.125, 10)),
    "sqrt": (tg.sqrt, np.sqrt, floats(0, 10)),
    "rsqrt": (tg.rsqrt, lambda x: 1 / np.sqrt(x), floats(0.125, 10)),
    "abs": (tg.abs, np.abs, floats()),
    "sin": (tg.sin, np.sin, floats(-6, 6)),
    "cos": (tg.cos, np.cos, floats(-6, 6)),
    "tanh": (tg.tanh, np.tanh, floats(-20, 20)),
    "sigmoid": (tg.sigmoid, _np_sigmoid, floats(-30, 30)),
    "relu": (tg.relu, lambda x: np.maximum(x, 0), floats()),
    "leaky_relu": (lambda t: t.leaky_relu(), lambda x: np.where(x > 0, x, 0.01 * x), floats()),
    "leaky_relu_0.3": (lambda t: t.leaky_relu(0.3), lambda x: np.where(x > 0, x, 0.3 * x),
                       floats()),
    "square": (tg.square, np.square, floats()),
    "sign": (tg.sign, np.sign, floats()),
    "clamp": (lambda t: t.clamp(-0.5, 1.0), lambda x: np.clip(x, -0.5, 1.0), floats()),
    "clamp_min": (lambda t: t.clamp(min=0.25), lambda x: np.maximum(x, 0.25), floats()),
    "clip_max": (lambda t: tg.clip(t, max=-0.25), lambda x: np.minimum(x, -0.25), floats()),
}


@pytest.mark.parametrize("name", list(UNARY))
@given(shape=shapes, data=st.data())
def test_unary(device: str, name: str, shape: tuple, data: st.DataObject) -> None:
    ours, ref, elements = UNARY[name]
    x = data.draw(arrays(shape, elements))
    assert_matches(ours(t32(x, device)), ref(x.astype(np.float64)), rtol=2e-5, atol=1e-6)
    # float64 in, float64 out
    assert_matches(ours(tg.tensor(x, dtype=tg.float64, device=device)),
                   ref(x.astype(np.float64)), rtol=1e-12, atol=1e-12, dtype=tg.float64)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sigmoid_is_accurate_over_the_whole_range(device: str, dtype: str) -> None:
    """Relative error of a few units in the last place wherever sigmoid is a normal float,
    against float64 (for float64: extended-precision) truth: 1 / (1 + exp(-x)) for x >= 0,
    exp(x) / (1 + exp(x)) for x < 0. In float32 the tanh form gave 0 from x = -17.5 on."""
    limit = 100.0 if dtype == "float32" else 700.0
    x = np.linspace(-limit, limit, 20001).astype(dtype)
    wide = x.astype(np.longdouble)
    truth = np.where(wide >= 0, 1 / (1 + np.exp(-wide)), np.exp(wide) / (1 + np.exp(wide)))
    got = np.asarray(tg.tensor(x, device=device).sigmoid()).astype(np.longdouble)
    info = np.finfo(dtype)
    normal = truth >= info.tiny  # (the GPU flushes subnormal results to 0)
    relative = np.abs(got[normal] - truth[normal]) / truth[normal]
    assert relative.max() < 4 * info.eps, float(x[normal][relative.argmax()])
    assert np.all(np.abs(got[~normal] - truth[~normal]) <= info.tiny)
    assert float(tg.tensor(-20.0, device=device).sigmoid()) == pytest.approx(2.0611536e-9,
                                                                            rel=1e-6)


def test_sigmoid_and_tanh_saturate_without_overflow(device: str) -> None:
    x = tg.tensor([-1e4, -100.0, 0.0, 100.0, 1e4], device=device)
    # no overflow (or invalid) warning is allowed either; underflow is what exp(-1e4) does
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        s = x.sigmoid()
        t = x.tanh()
    np.testing.assert_allclose(np.asarray(s), [0, 0, 0.5, 1, 1], atol=1e-30)
    np.testing.assert_allclose(np.asarray(t), [-1, -1, 0, 1, 1])


@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=MAX_DIMS, min_side=0,
                                                max_side=MAX_SIDE), data=st.data())
def test_where(device: str, shapes: Any, data: st.DataObject) -> None:
    (sc, sa, sb), out_shape = shapes
    cond = data.draw(hnp.arrays(np.bool_, sc))
    a, b = data.draw(arrays(sa)), data.draw(arrays(sb))
    tc = tg.tensor(cond, device=device)
    assert_matches(tg.where(tc, t32(a, device), t32(b, device)), np.where(cond, a, b))
    assert_matches(t32(a, device).where(tc, t32(b, device)), np.where(cond, a, b))
    assert_matches(tg.where(tc, t32(a, device), 2.5), np.where(cond, a, np.float32(2.5)))
    assert_matches(t32(a, device).masked_fill(tc, -1.0), np.where(cond, np.float32(-1.0), a))
    assert tg.where(tc, t32(a, device), t32(b, device)).shape == out_shape


def test_where_nonbool_condition_and_dtypes(device: str) -> None:
    cond = tg.tensor([1, 0, 2], dtype=tg.uint8, device=device)  # (deprecated) nonzero is True
    out = tg.where(cond, tg.tensor([1, 2, 3], device=device), 0)
    assert_matches(out, [1, 0, 3], dtype=tg.int64)
    out = tg.where(cond, 1, 2.5)
    assert_matches(out, [1.0, 2.5, 1.0])
    with pytest.raises(RuntimeError, match="where expected condition to be a boolean tensor"):
        tg.where(tg.tensor([1, 0, 2], device=device), 1, 2.5)  # int64 or float: as PyTorch


# ---------------------------------------------------------------------------------------------
# reductions
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["sum", "mean", "amax", "amin", "prod"])
@given(sd=shape_and_dim(), keepdim=st.booleans(), data=st.data())
def test_reductions(device: str, name: str, sd: tuple, keepdim: bool,
                    data: st.DataObject) -> None:
    shape, dim = sd
    x = data.draw(arrays(shape))
    ref = {"amax": np.max, "amin": np.min}.get(name, getattr(np, name))
    expected = ref(x.astype(np.float64), axis=np_axis(dim, x.ndim), keepdims=keepdim)
    t = t32(x, device)
    assert_matches(getattr(t, name)(dim, keepdim=keepdim), expected, rtol=1e-5, atol=1e-5)
    assert_matches(getattr(tg, name)(t, dim=dim, keepdim=keepdim), expected, rtol=1e-5,
                   atol=1e-5)


@given(shape=hnp.array_shapes(min_dims=1, max_dims=MAX_DIMS, min_side=0, max_side=MAX_SIDE),
       data=st.data())
def test_sum_over_empty_axes(device: str, shape: tuple, data: st.DataObject) -> None:
    x = data.draw(arrays(shape))
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    assert_matches(t32(x, device).sum(dim), x.sum(axis=dim))
    assert_matches(t32(x, device).sum(), x.sum())
    assert_matches(t32(x, device).prod(), x.prod())


@pytest.mark.parametrize("name", ["var", "std"])
@given(sd=shape_and_dim(min_dims=1), keepdim=st.booleans(),
       how=st.sampled_from(["default", "unbiased", "biased", "correction0", "correction2"]),
       data=st.data())
def test_var_std(device: str, name: str, sd: tuple, keepdim: bool, how: str,
                 data: st.DataObject) -> None:
    shape, dim = sd
    kwargs: dict[str, Any] = {
        "default": {}, "unbiased": {"unbiased": True}, "biased": {"unbiased": False},
        "correction0": {"correction": 0}, "correction2": {"correction": 2}}[how]
    ddof = kwargs.get("correction", 0 if kwargs.get("unbiased") is False else 1)
    count = math.prod(shape) if dim is None else math.prod(
        shape[d] for d in ((dim,) if isinstance(dim, int) else dim))
    assume(count > ddof)
    x = data.draw(arrays(shape))
    expected = getattr(np, name)(x.astype(np.float64), axis=dim, ddof=ddof, keepdims=keepdim)
    out = getattr(t32(x, device), name)(dim, keepdim=keepdim, **kwargs)
    assert_matches(out, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["max", "min"])
@given(sd=shape_and_dim(allow_none=False, allow_tuple=False), keepdim=st.booleans(),
       data=st.data())
def test_max_min_with_dim_returns_values_and_indices(device: str, name: str, sd: tuple,
                                                     keepdim: bool, data: st.DataObject) -> None:
    shape, dim = sd
    # few distinct values: ties happen, and the first index wins as in NumPy
    x = data.draw(arrays(shape, st.sampled_from([-1.0, 0.0, 2.0, 3.5])))
    axis = np_axis(dim, x.ndim)
    result = getattr(t32(x, device), name)(dim, keepdim=keepdim)
    values, indices = result
    assert result.values is values and result.indices is indices
    ref_values = getattr(np, name)(x, axis=axis, keepdims=keepdim) if x.ndim else x
    ref_indices = getattr(np, "arg" + name)(x, axis=axis, keepdims=keepdim) if x.ndim \
        else np.array(0)
    assert_matches(values, ref_values)
    assert_matches(indices, ref_indices, dtype=tg.int64)
    # max() with no dim is the whole-tensor value; max(other) is the elementwise maximum
    assert_matches(getattr(t32(x, device), name)(), getattr(np, name)(x))
    other = np.full(shape, 1.0, dtype=np.float32)
    assert_matches(getattr(t32(x, device), name)(t32(other, device)),
                   getattr(np, name + "imum")(x, other))


@pytest.mark.parametrize("name", ["argmax", "argmin"])
@given(shape=shapes, keepdim=st.booleans(), data=st.data())
def test_argmax_argmin(device: str, name: str, shape: tuple, keepdim: bool,
                       data: st.DataObject) -> None:
    x = data.draw(arrays(shape, st.sampled_from([-1.0, 0.0, 2.0, 3.5])))
    t = t32(x, device)
    ref = getattr(np, name)
    whole = getattr(t, name)()
    assert_matches(whole, ref(x), dtype=tg.int64)
    assert whole.shape == ()
    assert getattr(t, name)(keepdim=keepdim).shape == ((1,) * x.ndim if keepdim else ())
    if x.ndim:
        dim = data.draw(st.integers(-x.ndim, x.ndim - 1))
        assert_matches(getattr(t, name)(dim, keepdim=keepdim),
                       ref(x, axis=dim, keepdims=keepdim), dtype=tg.int64)
        assert_matches(getattr(tg, name)(t, dim=dim), ref(x, axis=dim), dtype=tg.int64)


@given(sd=shape_and_dim(allow_none=False), keepdim=st.booleans(), data=st.data())
def test_logsumexp(device: str, sd: tuple, keepdim: bool, data: st.DataObject) -> None:
    shape, dim = sd
    x = data.draw(arrays(shape, floats(-20, 20))).astype(np.float64)
    axis = np_axis(dim, x.ndim)
    expected = np.log(np.exp(x).sum(axis=axis, keepdims=keepdim))
    assert_matches(t32(x.astype(np.float32), device).logsumexp(dim, keepdim=keepdim),
                   expected, rtol=1e-5, atol=1e-5)


def test_logsumexp_of_huge_values_is_finite(device: str) -> None:
    x = tg.tensor([[1e4, 1e4 - 1.0, -1e4], [-1e4, -1e4, -1e4]], device=device)
    out = x.logsumexp(1)
    np.testing.assert_allclose(np.asarray(out), [1e4 + np.log1p(np.exp(-1.0)),
                                                 -1e4 + np.log(3.0)], rtol=1e-6)
    inf = tg.tensor([-float("inf"), -float("inf")], device=device)
    with np.errstate(divide="ignore"):  # log(0) = -inf is the right answer here
        assert np.asarray(inf.logsumexp(0)) == -np.inf  # not NaN


@pytest.mark.parametrize("p", [2, 1, 3, float("inf"), "fro", float("-inf"), 0, 0.5, -1])
@given(sd=shape_and_dim(), keepdim=st.booleans(), data=st.data())
def test_norm(device: str, p: Any, sd: tuple, keepdim: bool, data: st.DataObject) -> None:
    shape, dim = sd
    # zeros are likely: p = 0 counts the others, p < 0 gives 0 where one is in the group
    x = data.draw(arrays(shape, st.sampled_from([0.0, -1.5]) | floats())).astype(np.float64)
    axis = np_axis(dim, x.ndim)
    if p == float("inf"):
        expected = np.abs(x).max(axis=axis, keepdims=keepdim)
    elif p == float("-inf"):
        expected = np.abs(x).min(axis=axis, keepdims=keepdim)
    elif p == 0:
        expected = (x != 0).sum(axis=axis, keepdims=keepdim).astype(np.float64)
    else:
        q = 2 if p == "fro" else p
        with np.errstate(divide="ignore"):
            expected = (np.abs(x) ** q).sum(axis=axis, keepdims=keepdim) ** (1 / q)
    assert_matches(t32(x.astype(np.float32), device).norm(p, dim, keepdim=keepdim), expected,
                   rtol=1e-5, atol=1e-5)


def test_integer_operands_that_do_not_fit_wrap_around_as_in_pytorch(device: str) -> None:
    """A Python int that does not fit an integer tensor's dtype wraps around in arithmetic,
    comparisons and bitwise ops, as in PyTorch (300 is 44 for uint8), instead of NumPy's
    OverflowError; the dtype stays. (where and pow refuse it: see test_errors.py.)"""
    u = tg.tensor([1, 2, 250], dtype=tg.uint8, device=device)
    for result, expected in (
            (u + 300, [45, 46, 38]), (300 + u, [45, 46, 38]), (u - 300, [213, 214, 206]),
            (u * 300, [44, 88, 248]), (u + -1, [0, 1, 249]), (u & 300, [0, 0, 40]),
            (u // 300, [0, 0, 5])):
        assert result.dtype == tg.uint8 and result.tolist() == expected
    assert (u < 300).tolist() == [True, True, False]
    assert (tg.tensor([44], dtype=tg.uint8, device=device) == 300).tolist() == [True]
    i = tg.tensor([1, -2], dtype=tg.int32, device=device)
    assert (i + 2**31).tolist() == [-2147483647, 2147483646] and (i + 2**31).dtype == tg.int32
    assert (i * (2**33 + 3)).tolist() == [3, -6]
    v = tg.tensor([1, 2], dtype=tg.uint8, device=device)
    v += 300
    assert v.tolist() == [45, 46]


def test_integer_powers(device: str) -> None:
    a = tg.tensor([-3, -2, -1, 0, 1, 2, 3, -1], device=device)
    b = tg.tensor([-1, -2, -3, 2, -1, -1, 3, -2], device=device)
    # PyTorch's integer results for negative exponents (NumPy raises): 1 / a ** -b, truncated
    assert_matches(a ** b, [0, 0, -1, 0, 1, 0, 27, 1], dtype=tg.int64)
    assert_matches(a ** 2, [9, 4, 1, 0, 1, 4, 9, 1], dtype=tg.int64)
    assert_matches(a ** 2.0, [9, 4, 1, 0, 1, 4, 9, 1])  # a float power makes float32


def test_integer_and_bool_reductions(device: str) -> None:
    i = tg.tensor([[1, 2], [3, 4]], device=device)
    assert_matches(i.sum(), 10, dtype=tg.int64)
    assert_matches(i.sum(0), [4, 6], dtype=tg.int64)
    assert_matches(i.prod(), 24, dtype=tg.int64)
    assert_matches(i.amax(), 4, dtype=tg.int64)
    b = tg.tensor([True, False, True], device=device)
    assert_matches(b.sum(), 2, dtype=tg.int64)
    assert_matches(b.all(), False, dtype=tg.bool)
    assert_matches(b.any(), True, dtype=tg.bool)
    assert_matches(tg.tensor([[1, 0], [1, 1]], device=device).all(1), [False, True],
                   dtype=tg.bool)
    assert_matches(i.sum(dtype=tg.float64), 10.0, dtype=tg.float64)


# ---------------------------------------------------------------------------------------------
# softmax
# ---------------------------------------------------------------------------------------------
def _np_softmax(x: np.ndarray, axis: Any) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@given(sd=shape_and_dim(allow_none=False, allow_tuple=False), data=st.data())
def test_softmax(device: str, name: str, sd: tuple, data: st.DataObject) -> None:
    shape, dim = sd
    x = data.draw(arrays(shape, floats(-10, 10))).astype(np.float64)
    axis = np_axis(dim, x.ndim)
    expected = _np_softmax(x, axis)
    if name == "log_softmax":
        expected = np.log(expected)
    t = t32(x.astype(np.float32), device)
    assert_matches(getattr(t, name)(dim), expected, rtol=1e-5, atol=1e-6)
    assert_matches(getattr(tg, name)(t, dim=dim), expected, rtol=1e-5, atol=1e-6)
    if name == "softmax":
        np.testing.assert_allclose(np.asarray(getattr(t, name)(dim).sum(dim)), 1.0, rtol=1e-6)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape, dim", [((2, 0), -1), ((0, 3), 0), ((0, 3), 1), ((4, 0, 2), 1)])
def test_softmax_over_or_beside_an_empty_dim_is_empty(device: str, name: str, shape: tuple,
                                                      dim: int) -> None:
    """As PyTorch: an empty result of the input's shape, and an empty gradient."""
    x = tg.zeros(*shape, device=device, requires_grad=True)
    y = getattr(x, name)(dim)
    assert tuple(y.shape) == shape and y.dtype == x.dtype
    y.sum().backward()
    assert tuple(x.grad.shape) == shape


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_softmax_of_huge_logits_is_finite(device: str, dtype: str) -> None:
    x = tg.tensor([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [1e4, 1e4, -1e4]], dtype=dtype,
                  device=device)
    s, ls = x.softmax(1), x.log_softmax(1)
    assert s.dtype == ls.dtype == tg.float64 if dtype == "float64" else tg.float32
    assert bool(s.isfinite().all()) and bool(ls.isfinite().all())
    np.testing.assert_allclose(np.asarray(s), [[1, 0, 0], [1 / 3] * 3, [0.5, 0.5, 0]],
                               atol=1e-7)
    np.testing.assert_allclose(np.asarray(ls)[:, 0], [0, -np.log(3), -np.log(2)], rtol=1e-6)
    np.testing.assert_allclose(np.asarray(ls)[0, 1], -2e4, rtol=1e-6)
    # and their gradients are finite too
    leaf = x.detach().requires_grad_()
    (leaf.log_softmax(1)[:, 0].sum() + (leaf.softmax(0) ** 2).sum()).backward()
    assert bool(leaf.grad.isfinite().all())


# ---------------------------------------------------------------------------------------------
# shapes and indexing
# ---------------------------------------------------------------------------------------------
@given(shape=shapes, data=st.data())
def test_shape_ops(device: str, shape: tuple, data: st.DataObject) -> None:
    x = data.draw(arrays(shape))
    t = t32(x, device)
    ndim = x.ndim
    assert_matches(t.reshape(-1), x.reshape(-1))
    assert_matches(t.view(1, -1), x.reshape(1, -1))
    assert_matches(t.flatten(), x.reshape(-1))
    assert_matches(t.squeeze(), np.squeeze(x))
    new = data.draw(st.integers(-ndim - 1, ndim))
    assert_matches(t.unsqueeze(new), np.expand_dims(x, new))
    assert_matches(t.T, x.T)
    if ndim:
        d0, d1 = data.draw(st.integers(-ndim, ndim - 1)), data.draw(st.integers(-ndim, ndim - 1))
        assert_matches(t.transpose(d0, d1), np.swapaxes(x, d0, d1))
        perm = data.draw(st.permutations(range(ndim)))
        assert_matches(t.permute(*perm), np.transpose(x, perm))
        assert_matches(t.flatten(0, -1), x.reshape(-1))
        start = data.draw(st.integers(0, ndim - 1))
        assert_matches(t.flatten(start), x.reshape(x.shape[:start] + (-1,)))
        size1 = [i for i, n in enumerate(shape) if n == 1]
        if size1:
            assert_matches(t.squeeze(size1[0]), np.squeeze(x, size1[0]))
        # squeezing a dim that is not 1 leaves the tensor alone (as PyTorch)
        assert t.squeeze(data.draw(st.integers(0, ndim - 1))).numel() == x.size
    if ndim >= 2:
        assert_matches(t.mT, np.swapaxes(x, -1, -2))


@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=1, max_dims=MAX_DIMS, min_side=0,
                                                max_side=MAX_SIDE), data=st.data())
def test_expand_broadcast_to(device: str, shapes: Any, data: st.DataObject) -> None:
    (shape,), target = shapes
    x = data.draw(arrays(shape))
    t = t32(x, device)
    assert_matches(t.broadcast_to(target), np.broadcast_to(x, target))
    assert_matches(t.expand(*target), np.broadcast_to(x, target))
    lead = len(target) - len(shape)
    assert_matches(t.expand(*target[:lead], *([-1] * len(shape))),
                   np.broadcast_to(x, target[:lead] + shape))


@given(shape=hnp.array_shapes(min_dims=1, max_dims=MAX_DIMS, min_side=0, max_side=MAX_SIDE),
       data=st.data())
def test_getitem_basic(device: str, shape: tuple, data: st.DataObject) -> None:
    x = data.draw(arrays(shape))
    index = data.draw(hnp.basic_indices(shape, min_dims=0, allow_newaxis=True,
                                        allow_ellipsis=True))
    parts = index if isinstance(index, tuple) else (index,)
    if any(isinstance(i, slice) and i.step is not None and i.step < 0 for i in parts):
        with pytest.raises(ValueError, match="step must be greater than zero"):  # as PyTorch
            t32(x, device)[index]
        return
    assert_matches(t32(x, device)[index], x[index])


@given(shape=nonscalar_shapes, kind=st.sampled_from(["list", "array", "tensor"]),
       data=st.data())
def test_getitem_advanced(device: str, shape: tuple, kind: str, data: st.DataObject) -> None:
    x = data.draw(arrays(shape))
    t = t32(x, device)
    index = data.draw(hnp.integer_array_indices(shape))

    def wrap(i: np.ndarray) -> Any:
        return {"list": i.tolist(), "array": i, "tensor": tg.tensor(i, device=device)}[kind]

    assert_matches(t[tuple(wrap(np.asarray(i)) for i in index)], x[index])
    picks = np.array(data.draw(st.lists(st.integers(-shape[0], shape[0] - 1), min_size=1,
                                        max_size=5)))
    assert_matches(t[wrap(picks)], x[picks])
    mask = data.draw(hnp.arrays(np.bool_, shape[:data.draw(st.integers(1, len(shape)))]))
    assert_matches(t[wrap(mask)] if kind != "list" else t[mask], x[mask])
    assert_matches(t[t > 0], x[x > 0])
    if len(shape) >= 2:
        assert_matches(t[wrap(picks), 1:], x[picks, 1:])
        last = picks % shape[-1]
        assert_matches(t[..., wrap(last)], x[..., last])
        assert_matches(t[None, wrap(picks)], x[None, picks])


@given(shape=nonscalar_shapes, data=st.data())
def test_cat_stack_split_chunk_pad(device: str, shape: tuple, data: st.DataObject) -> None:
    ndim = len(shape)
    dim = data.draw(st.integers(-ndim, ndim - 1))
    sizes = data.draw(st.lists(st.integers(0, 3), min_size=1, max_size=3))
    d = dim % ndim
    parts = [data.draw(arrays(shape[:d] + (s,) + shape[d + 1:])) for s in sizes]
    assert_matches(tg.cat([t32(p, device) for p in parts], dim), np.concatenate(parts, dim))
    same = [data.draw(arrays(shape)) for _ in sizes]
    sdim = data.draw(st.integers(-ndim - 1, ndim))
    assert_matches(tg.stack([t32(p, device) for p in same], sdim), np.stack(same, sdim))

    x = data.draw(arrays(shape))
    t = t32(x, device)
    n = shape[d]
    size = data.draw(st.integers(1, n + 1))
    pieces = t.split(size, dim)
    bounds = list(range(size, n, size))
    assert isinstance(pieces, tuple)
    assert len(pieces) == len(bounds) + 1
    for piece, ref in zip(pieces, np.split(x, bounds, axis=dim)):
        assert_matches(piece, ref)
    chunks = data.draw(st.integers(1, 4))
    per = -(-n // chunks)
    bounds = list(range(per, n, per))
    got = t.chunk(chunks, dim)
    assert len(got) == len(bounds) + 1
    for piece, ref in zip(got, np.split(x, bounds, axis=dim)):
        assert_matches(piece, ref)
    widths = data.draw(st.lists(st.integers(0, 2), min_size=2, max_size=2 * ndim)
                       .filter(lambda w: len(w) % 2 == 0))
    np_widths = [(0, 0)] * ndim
    for i in range(len(widths) // 2):
        np_widths[ndim - 1 - i] = (widths[2 * i], widths[2 * i + 1])
    assert_matches(tg.pad(t, widths, value=1.5), np.pad(x, np_widths, constant_values=1.5))


def test_split_with_sections_and_unbind(device: str) -> None:
    x = np.arange(12, dtype=np.float32).reshape(2, 6)
    t = tg.tensor(x, device=device)
    a, b, c = t.split([1, 2, 3], dim=1)
    assert_matches(a, x[:, :1])
    assert_matches(b, x[:, 1:3])
    assert_matches(c, x[:, 3:])
    rows = t.unbind(0)
    assert len(rows) == 2
    assert_matches(rows[1], x[1])
    assert_matches(t.gather(1, tg.tensor([[0, 0], [5, 1]], device=device)),
                   [[0, 0], [11, 7]])


# ---------------------------------------------------------------------------------------------
# comparisons and predicates
# ---------------------------------------------------------------------------------------------
COMPARISONS = {
    "==": (operator.eq, np.equal), "!=": (operator.ne, np.not_equal),
    "<": (operator.lt, np.less), "<=": (operator.le, np.less_equal),
    ">": (operator.gt, np.greater), ">=": (operator.ge, np.greater_equal),
}


@pytest.mark.parametrize("name", list(COMPARISONS))
@given(shapes=broadcast_pairs, data=st.data())
def test_comparisons(device: str, name: str, shapes: Any, data: st.DataObject) -> None:
    (sa, sb), _ = shapes
    values = st.sampled_from([-1.0, 0.0, 0.5, 2.0])  # equal values happen often
    a, b = data.draw(arrays(sa, values)), data.draw(arrays(sb, values))
    ours, ref = COMPARISONS[name]
    ta = tg.tensor(a, device=device, requires_grad=True)
    out = ours(ta, t32(b, device))
    assert_matches(out, ref(a, b), dtype=tg.bool)
    assert not out.requires_grad and out.grad_fn is None
    assert_matches(ours(ta, 0.5), ref(a, 0.5), dtype=tg.bool)
    assert_matches(ours(0.5, ta), ref(0.5, a), dtype=tg.bool)  # reflected
    assert_matches(ours(tg.tensor(a.astype(np.int64), device=device), 0),
                   ref(a.astype(np.int64), 0), dtype=tg.bool)


def test_predicates(device: str) -> None:
    x = tg.tensor([1.0, float("nan"), float("inf"), -2.0], device=device)
    assert_matches(x.isnan(), [False, True, False, False], dtype=tg.bool)
    assert_matches(x.isfinite(), [True, False, False, True], dtype=tg.bool)
    y = tg.tensor([1.0, 2.0], device=device)
    assert y.allclose(tg.tensor([1.0, 2.0 + 1e-7], device=device))
    assert not y.allclose(tg.tensor([1.0, 2.1], device=device))
    assert y.equal(tg.tensor([1.0, 2.0], device=device))
    assert not y.equal(tg.tensor([1.0, 2.0, 3.0], device=device))
    assert_matches(~tg.tensor([True, False], device=device), [False, True], dtype=tg.bool)
    m = (y > 1) & (y < 3)
    assert_matches(m | (y == 1), [True, True], dtype=tg.bool)


# ---------------------------------------------------------------------------------------------
# dtype rules
# ---------------------------------------------------------------------------------------------
def test_float32_in_float32_out(device: str) -> None:
    x = tg.tensor([[0.5, 1.5], [2.0, 3.0]], device=device)
    assert x.dtype == tg.float32
    results = [x + x, x - 1, 2 * x, x / 3, x ** 2, x ** 0.5, 2 ** x, -x, x @ x, x.exp(), x.log(),
               x.sqrt(), x.sin(), x.cos(), x.tanh(), x.sigmoid(), x.relu(), x.abs(),
               x.clamp(0, 1), x.maximum(x), x.sum(), x.mean(0), x.var(), x.std(1), x.amax(),
               x.max(0)[0], x.logsumexp(1), x.prod(), x.norm(), x.softmax(1), x.log_softmax(0),
               x.reshape(4), x[0], x[[0, 0]], x.T, tg.cat([x, x]), tg.stack([x, x]),
               tg.pad(x, (1, 1)), tg.where(x > 1, x, 0.0), x.leaky_relu(), x.square(), x.rsqrt()]
    for r in results:
        assert r.dtype == tg.float32, r


def test_python_scalars_do_not_promote(device: str) -> None:
    f32 = tg.tensor([1.0, 2.0], device=device)
    assert (f32 + 2.5).dtype == tg.float32
    assert (f32 * 3).dtype == tg.float32
    assert (0.1 * f32).dtype == tg.float32
    f64 = tg.tensor([1.0], dtype=tg.float64, device=device)
    assert (f64 + 2.5).dtype == tg.float64
    i64 = tg.tensor([1, 2], device=device)
    assert i64.dtype == tg.int64
    assert (i64 + 1).dtype == tg.int64
    assert (i64 * True).dtype == tg.int64
    assert (i64 + 1.5).dtype == tg.float32  # int tensor + Python float -> float32
    assert_matches(i64 + 1.5, [2.5, 3.5])
    assert (i64 / 2).dtype == tg.float32  # true division is float
    assert_matches(i64 / 2, [0.5, 1.0])
    assert (1.5 - i64).dtype == tg.float32
    assert (tg.tensor([True, False], device=device) + 1).dtype == tg.int64
    i32 = tg.tensor([1, 2], dtype=tg.int32, device=device)
    assert (i32 + 1).dtype == tg.int32


def test_tensor_tensor_promotion(device: str) -> None:
    f32 = tg.tensor([1.0, 2.0], device=device)
    f64 = tg.tensor([1.0, 2.0], dtype=tg.float64, device=device)
    f16 = tg.tensor([1.0, 2.0], dtype=tg.float16, device=device)
    i64 = tg.tensor([1, 2], device=device)
    i32 = tg.tensor([1, 2], dtype=tg.int32, device=device)
    assert (f32 + f64).dtype == tg.float64
    assert (f64 * f32).dtype == tg.float64
    assert (f16 + f32).dtype == tg.float32
    assert (i64 + f32).dtype == tg.float32  # floats win over ints, whatever their width
    assert (i64 * f16).dtype == tg.float16
    assert (i32 + i64).dtype == tg.int64
    assert (i64 / i64).dtype == tg.float32
    assert tg.cat([i64, f32]).dtype == tg.float32
    with pytest.raises(RuntimeError, match="matmul.*same dtype"):  # matmul does not promote
        i64 @ f32
    assert tg.tensor([1, 2], device=device).float().exp().dtype == tg.float32
    assert i64.exp().dtype == tg.float32  # float functions make ints float32
    assert i64.softmax(0).dtype == tg.float32


# ---------------------------------------------------------------------------------------------
# matrices, sorting and selecting, running sums (issue 14 follow-ups)
# ---------------------------------------------------------------------------------------------
def _np_stable_order(x: np.ndarray, axis: int, descending: bool) -> np.ndarray:
    """NumPy's stable argsort; descending keeps equal elements in order and NaNs first."""
    if not descending:
        return np.argsort(x, axis=axis, kind="stable")
    n = x.shape[axis]
    return n - 1 - np.flip(np.argsort(np.flip(x, axis), axis=axis, kind="stable"), axis)


@pytest.mark.parametrize("descending", [False, True])
@given(sd=shape_and_dim(min_dims=1, allow_none=False, allow_tuple=False), data=st.data())
def test_sort_argsort(device: str, descending: bool, sd: tuple, data: st.DataObject) -> None:
    shape, dim = sd
    # few distinct values (and a NaN): ties keep their order, as PyTorch's stable sort
    x = data.draw(arrays(shape, st.sampled_from([-1.0, 0.0, 2.0, 3.5, float("nan")])))
    order = _np_stable_order(x, dim, descending)
    values, indices = t32(x, device).sort(dim, descending=descending)
    assert_matches(values, np.take_along_axis(x, order, axis=dim))
    assert_matches(indices, order, dtype=tg.int64)
    assert_matches(tg.argsort(t32(x, device), dim, descending=descending), order,
                   dtype=tg.int64)


@given(sd=shape_and_dim(min_dims=1, allow_none=False, allow_tuple=False), keepdim=st.booleans(),
       data=st.data())
def test_topk_kthvalue_median(device: str, sd: tuple, keepdim: bool, data: st.DataObject) -> None:
    shape, dim = sd
    x = data.draw(arrays(shape))
    n = shape[dim]
    k = data.draw(st.integers(1, n))
    ordered = np.sort(x, axis=dim)
    t = t32(x, device)
    top = t.topk(k, dim)
    assert_matches(top.values, np.flip(ordered, dim).take(range(k), axis=dim))
    np.testing.assert_array_equal(np.take_along_axis(x, np.asarray(top.indices), axis=dim),
                                  np.asarray(top.values))
    kth = t.kthvalue(k, dim, keepdim=keepdim)
    assert_matches(kth.values, np.take(ordered, [k - 1], axis=dim) if keepdim
                   else np.take(ordered, k - 1, axis=dim))
    median = t.median(dim, keepdim=keepdim)  # the lower median, as PyTorch
    assert_matches(median.values, np.take(ordered, [(n - 1) // 2], axis=dim) if keepdim
                   else np.take(ordered, (n - 1) // 2, axis=dim))
    assert_matches(t.median(), np.sort(x, axis=None)[(x.size - 1) // 2])


def test_median_and_mode_as_pytorch(device: str) -> None:
    """PyTorch's documented results: NaN wins the median; mode is the smallest of the most
    frequent values, with the last index where it occurs."""
    x = tg.tensor([[1.0, float("nan"), 2.0], [3.0, 1.0, 2.0]], device=device)
    values, indices = x.median(1)
    assert np.isnan(values[0].item()) and indices.tolist() == [1, 2]
    assert values[1].item() == 2.0
    assert np.isnan(x.median().item())
    values, indices = tg.tensor([[3.0, 1, 3, 1, 2], [5, 5, 4, 4, 4]], device=device).mode(1)
    assert values.tolist() == [1.0, 4.0] and indices.tolist() == [3, 4]


@given(sd=shape_and_dim(allow_none=False, allow_tuple=False), data=st.data())
def test_cumsum_and_flip(device: str, sd: tuple, data: st.DataObject) -> None:
    shape, dim = sd
    x = data.draw(arrays(shape))
    axis = 0 if not shape else dim
    assert_matches(t32(x, device).cumsum(dim), np.cumsum(x.reshape(x.shape or (1,)),
                                                         axis=axis).reshape(shape), rtol=1e-4)
    ints = t32(x, device).long()
    assert ints.cumsum(dim).dtype == tg.int64 and ints.int().cumsum(dim).dtype == tg.int64
    dims = [d % len(shape) for d in range(len(shape)) if data.draw(st.booleans())]
    assert_matches(t32(x, device).flip(dims), np.flip(x, tuple(dims)))


@given(shape=hnp.array_shapes(min_dims=2, max_dims=MAX_DIMS, min_side=1, max_side=MAX_SIDE),
       offset=st.integers(-3, 3), data=st.data())
def test_diagonal_diag_trace_mm(device: str, shape: tuple, offset: int,
                                data: st.DataObject) -> None:
    x = data.draw(arrays(shape))
    assert_matches(t32(x, device).diagonal(offset, -2, -1),
                   np.diagonal(x, offset, -2, -1))
    matrix = x.reshape(-1, shape[-1])
    assert_matches(tg.diag(t32(matrix, device), offset), np.diag(matrix, offset))
    assert_matches(tg.diag(t32(matrix[0], device), offset), np.diag(matrix[0], offset))
    assert_matches(t32(matrix, device).trace(), np.trace(matrix), rtol=1e-4, atol=1e-5)
    assert_matches(t32(matrix, device).mm(t32(matrix.T.copy(), device)), matrix @ matrix.T,
                   rtol=1e-4, atol=1e-5)


def test_new_ops_against_pytorch() -> None:
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).standard_normal((3, 5)).astype(np.float32)
    ours, theirs = tg.tensor(x), torch.tensor(x)
    for fn in [lambda L, t: t.sort(1, descending=True)[0], lambda L, t: t.argsort(0),
               lambda L, t: t.topk(2)[0], lambda L, t: t.kthvalue(2, 0)[0],
               lambda L, t: t.median(1)[0], lambda L, t: t.median(),
               lambda L, t: t.cumsum(1), lambda L, t: t.flip(0, 1), lambda L, t: t.diag(1),
               lambda L, t: L.diagonal(t, -1), lambda L, t: t[:3, :3].trace(),
               lambda L, t: t.mm(t.t()), lambda L, t: (t > 0).long().mode(1)[0]]:
        np.testing.assert_allclose(fn(tg, ours).numpy(), fn(torch, theirs).numpy(), rtol=1e-5)
    with pytest.raises(RuntimeError, match="mm"):
        ours.mm(ours[0])
    with pytest.raises(RuntimeError, match="topk"):
        ours.topk(6)
