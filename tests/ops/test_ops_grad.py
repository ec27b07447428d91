"""Float64 gradient checks (autograd against central finite differences) for every
differentiable op, over shapes and arguments that Hypothesis generates, plus second-order
checks (gradgradcheck) for a selection of ops.

Inputs are kept away from kinks where an op is not differentiable: relu/abs/leaky_relu
away from 0, clamp away from its bounds, max/min/maximum/minimum with distinct values,
divisors and log/sqrt arguments away from 0.
"""

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
from tinygrad_edu.autograd import gradcheck, gradgradcheck

# ---------------------------------------------------------------------------------------------
# strategies
# ---------------------------------------------------------------------------------------------
MAX_SIDE = 4
MAX_DIMS = 3

shapes = hnp.array_shapes(min_dims=0, max_dims=MAX_DIMS, min_side=1, max_side=MAX_SIDE)
nonscalar_shapes = hnp.array_shapes(min_dims=1, max_dims=MAX_DIMS, min_side=1, max_side=MAX_SIDE)
# two shapes that broadcast together, with size-1 axes and (sometimes) empty axes
broadcast_pairs = hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=MAX_DIMS, min_side=0,
                                                    max_side=MAX_SIDE)


def floats(lo: float = -2.0, hi: float = 2.0) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def away_from_zero(lo: float = 0.2, hi: float = 2.0) -> st.SearchStrategy[float]:
    """Values in [-hi, -lo] or [lo, hi]."""
    return st.builds(operator.mul, floats(lo, hi), st.sampled_from([-1.0, 1.0]))


def arrays(shape: tuple, elements: st.SearchStrategy[float] | None = None) -> Any:
    return hnp.arrays(np.float64, shape, elements=floats() if elements is None else elements)


@st.composite
def distinct_arrays(draw: st.DrawFn, *shapes_: tuple, spacing: float = 0.25) -> list:
    """Arrays whose values are all different from each other (across all of them) by at least
    `spacing`: max/min and their gradients are then smooth at the point."""
    sizes = [math.prod(s) for s in shapes_]
    perm = np.array(draw(st.permutations(range(sum(sizes)))), dtype=np.float64)
    values = (perm - sum(sizes) / 2) * spacing
    out, start = [], 0
    for shape, n in zip(shapes_, sizes):
        out.append(values[start:start + n].reshape(shape))
        start += n
    return out


@st.composite
def shape_and_dim(draw: st.DrawFn, min_dims: int = 0, allow_none: bool = True,
                  allow_tuple: bool = True) -> tuple[tuple, Any]:
    """A shape and a `dim` for it: None, an int or a tuple of ints, possibly negative."""
    shape = draw(hnp.array_shapes(min_dims=min_dims, max_dims=MAX_DIMS, max_side=MAX_SIDE))
    ndim = len(shape)
    kinds = ["int"] + (["none"] if allow_none else []) + (["tuple"] if allow_tuple else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "none":
        return shape, None
    if kind == "int":
        return shape, draw(st.integers(-ndim, ndim - 1) if ndim else st.sampled_from([0, -1]))
    if ndim == 0:
        return shape, draw(st.sampled_from([(0,), (-1,)]))
    axes = draw(hnp.valid_tuple_axes(ndim, min_size=1))
    return shape, tuple(a % ndim - ndim if draw(st.booleans()) else a % ndim for a in axes)


def leaf(array: np.ndarray, device: str) -> tg.Tensor:
    return tg.tensor(array, dtype=tg.float64, device=device, requires_grad=True)


def check(fn: Callable[..., Any], *arrays_: np.ndarray, device: str) -> None:
    """gradcheck `fn` at float64 leaves made from `arrays_`."""
    assert gradcheck(fn, [leaf(a, device) for a in arrays_])


def reduced_count(shape: tuple, dim: Any) -> int:
    if dim is None:
        return math.prod(shape)
    dims = (dim,) if isinstance(dim, int) else dim
    return math.prod(shape[d] for d in dims) if shape else 1


# ---------------------------------------------------------------------------------------------
# arithmetic
# ---------------------------------------------------------------------------------------------
BINARY = {
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "div": operator.truediv,
    "add_method": lambda a, b: a.add(b),
    "mul_method": lambda a, b: a.mul(b),
}


@pytest.mark.parametrize("name", list(BINARY))
@given(shapes=broadcast_pairs, data=st.data())
def test_binary_broadcast(device: str, name: str, shapes: Any, data: st.DataObject) -> None:
    (sa, sb), _ = shapes
    a = data.draw(arrays(sa))
    b = data.draw(arrays(sb, away_from_zero() if "div" in name else None))
    check(BINARY[name], a, b, device=device)


@given(shape=shapes, data=st.data())
def test_neg(device: str, shape: tuple, data: st.DataObject) -> None:
    check(operator.neg, data.draw(arrays(shape)), device=device)


SCALAR_FORMS = {
    "x + c": lambda x, c: x + c,
    "c + x": lambda x, c: c + x,
    "x - c": lambda x, c: x - c,
    "c - x": lambda x, c: c - x,
    "x * c": lambda x, c: x * c,
    "c * x": lambda x, c: c * x,
    "x / c": lambda x, c: x / c,
    "c / x": lambda x, c: c / x,
}


@pytest.mark.parametrize("form", list(SCALAR_FORMS))
@given(shape=shapes, c=away_from_zero(0.5, 3.0), data=st.data())
def test_scalar_and_reflected(device: str, form: str, shape: tuple, c: float,
                              data: st.DataObject) -> None:
    x = data.draw(arrays(shape, away_from_zero()))
    check(lambda t: SCALAR_FORMS[form](t, c), x, device=device)


@given(shape=shapes, p=st.sampled_from([0, 1, 2, 3, -1, 0.5, 2.5, -1.5]), data=st.data())
def test_pow_scalar_exponent(device: str, shape: tuple, p: float, data: st.DataObject) -> None:
    integer = float(p).is_integer()
    # integer exponents work for any sign (away from 0 for negative ones); others need x > 0
    x = data.draw(arrays(shape, away_from_zero() if integer else floats(0.2, 2.0)))
    check(lambda t: t ** p, x, device=device)
    check(lambda t: t.pow(p), x, device=device)
    check(lambda t: tg.pow(t, p), x, device=device)


@given(shape=shapes, base=floats(0.3, 3.0), data=st.data())
def test_rpow_scalar_base(device: str, shape: tuple, base: float, data: st.DataObject) -> None:
    check(lambda t: base ** t, data.draw(arrays(shape)), device=device)


@given(shapes=broadcast_pairs, data=st.data())
def test_pow_tensor_exponent(device: str, shapes: Any, data: st.DataObject) -> None:
    (sa, sb), _ = shapes
    base = data.draw(arrays(sa, floats(0.2, 2.0)))
    exponent = data.draw(arrays(sb))
    check(lambda a, b: a ** b, base, exponent, device=device)
    check(lambda a, b: a.pow(b), base, exponent, device=device)


# ---------------------------------------------------------------------------------------------
# matmul
# ---------------------------------------------------------------------------------------------
sides = st.integers(1, MAX_SIDE)
batch_pairs = hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=3)


@pytest.mark.parametrize("kind", ["1d@1d", "1d@2d", "2d@1d", "2d@2d", "batched", "1d@nd",
                                  "nd@1d"])
@given(n=sides, k=sides, m=sides, batch=batch_pairs, data=st.data())
def test_matmul(device: str, kind: str, n: int, k: int, m: int, batch: Any,
                data: st.DataObject) -> None:
    (ba, bb), _ = batch
    sa, sb = {
        "1d@1d": ((k,), (k,)),
        "1d@2d": ((k,), (k, m)),
        "2d@1d": ((n, k), (k,)),
        "2d@2d": ((n, k), (k, m)),
        "batched": (ba + (n, k), bb + (k, m)),  # batch dims broadcast against each other
        "1d@nd": ((k,), bb + (k, m)),
        "nd@1d": (ba + (n, k), (k,)),
    }[kind]
    a, b = data.draw(arrays(sa)), data.draw(arrays(sb))
    op = data.draw(st.sampled_from([operator.matmul, tg.matmul, lambda x, y: x.matmul(y)]))
    check(op, a, b, device=device)


# ---------------------------------------------------------------------------------------------
# elementwise functions
# ---------------------------------------------------------------------------------------------
UNARY: dict[str, tuple[Callable, st.SearchStrategy[float]]] = {
    "exp": (tg.exp, floats()),
    "log": (tg.log, floats(0.2, 3.0)),
    "sqrt": (tg.sqrt, floats(0.2, 3.0)),
    "rsqrt": (tg.rsqrt, floats(0.2, 3.0)),
    "abs": (tg.abs, away_from_zero()),
    "abs_builtin": (abs, away_from_zero()),
    "sin": (tg.sin, floats(-4, 4)),
    "cos": (tg.cos, floats(-4, 4)),
    "tanh": (tg.tanh, floats(-3, 3)),
    "sigmoid": (tg.sigmoid, floats(-4, 4)),
    "relu": (tg.relu, away_from_zero()),
    "leaky_relu": (lambda x: x.leaky_relu(), away_from_zero()),
    "leaky_relu_0.2": (lambda x: x.leaky_relu(0.2), away_from_zero()),
    "square": (tg.square, floats()),
}


@pytest.mark.parametrize("name", list(UNARY))
@given(shape=shapes, data=st.data())
def test_unary(device: str, name: str, shape: tuple, data: st.DataObject) -> None:
    fn, elements = UNARY[name]
    check(fn, data.draw(arrays(shape, elements)), device=device)


def away_from_bounds(low: float, high: float, margin: float = 0.05) -> Any:
    return floats(-2, 2).filter(lambda v: abs(v - low) > margin and abs(v - high) > margin)


@pytest.mark.parametrize("bounds", [(-0.5, 0.7), (-0.5, None), (None, 0.3)])
@pytest.mark.parametrize("name", ["clamp", "clip"])
@given(shape=shapes, data=st.data())
def test_clamp(device: str, bounds: tuple, name: str, shape: tuple, data: st.DataObject) -> None:
    low, high = bounds
    x = data.draw(arrays(shape, away_from_bounds(-9 if low is None else low,
                                                 9 if high is None else high)))
    check(lambda t: getattr(t, name)(low, high), x, device=device)
    check(lambda t: getattr(t, name)(min=low, max=high), x, device=device)


@pytest.mark.parametrize("name", ["maximum", "minimum", "max", "min"])
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=MAX_DIMS,
                                                max_side=MAX_SIDE), data=st.data())
def test_maximum_minimum(device: str, name: str, shapes: Any, data: st.DataObject) -> None:
    (sa, sb), _ = shapes
    a, b = data.draw(distinct_arrays(sa, sb))
    check(lambda x, y: getattr(x, name)(y), a, b, device=device)
    if name in ("maximum", "minimum"):
        check(getattr(tg, name), a, b, device=device)


@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=MAX_DIMS, min_side=0,
                                                max_side=MAX_SIDE), data=st.data())
def test_where(device: str, shapes: Any, data: st.DataObject) -> None:
    (sc, sa, sb), _ = shapes
    cond = tg.tensor(data.draw(hnp.arrays(np.bool_, sc)), device=device)
    a, b = data.draw(arrays(sa)), data.draw(arrays(sb))
    check(lambda x, y: tg.where(cond, x, y), a, b, device=device)
    check(lambda x, y: x.where(cond, y), a, b, device=device)
    check(lambda x: tg.where(cond, x, 0.5), a, device=device)
    check(lambda y: tg.where(cond, -1.0, y), b, device=device)


@given(shape=shapes, data=st.data())
def test_masked_fill(device: str, shape: tuple, data: st.DataObject) -> None:
    mask = tg.tensor(data.draw(hnp.arrays(np.bool_, shape)), device=device)
    check(lambda x: x.masked_fill(mask, 3.0), data.draw(arrays(shape)), device=device)


# ---------------------------------------------------------------------------------------------
# reductions
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["sum", "mean"])
@given(sd=shape_and_dim(), keepdim=st.booleans(), data=st.data())
def test_sum_mean(device: str, name: str, sd: tuple, keepdim: bool, data: st.DataObject) -> None:
    shape, dim = sd
    x = data.draw(arrays(shape))
    check(lambda t: getattr(t, name)(dim, keepdim=keepdim), x, device=device)
    check(lambda t: getattr(t, name)(dim=dim, keepdim=keepdim), x, device=device)


@given(shape=hnp.array_shapes(min_dims=1, max_dims=MAX_DIMS, min_side=0, max_side=MAX_SIDE),
       data=st.data())
def test_sum_with_empty_axes(device: str, shape: tuple, data: st.DataObject) -> None:
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    check(lambda t: t.sum(dim), data.draw(arrays(shape)), device=device)
    check(lambda t: t.sum(), data.draw(arrays(shape)), device=device)


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
    correction = kwargs.get("correction", 0 if kwargs.get("unbiased") is False else 1)
    count = reduced_count(shape, dim)
    assume(count > correction)
    assume(name == "var" or count >= 2)  # the std of one value is 0, where sqrt has no slope
    (x,) = data.draw(distinct_arrays(shape, spacing=0.3))
    check(lambda t: getattr(t, name)(dim, keepdim=keepdim, **kwargs), x, device=device)


@pytest.mark.parametrize("name", ["amax", "amin"])
@given(sd=shape_and_dim(), keepdim=st.booleans(), data=st.data())
def test_amax_amin(device: str, name: str, sd: tuple, keepdim: bool, data: st.DataObject) -> None:
    shape, dim = sd
    (x,) = data.draw(distinct_arrays(shape))
    check(lambda t: getattr(t, name)(dim, keepdim=keepdim), x, device=device)


@pytest.mark.parametrize("name", ["max", "min"])
@given(shape=shapes, data=st.data())
def test_max_min_whole(device: str, name: str, shape: tuple, data: st.DataObject) -> None:
    (x,) = data.draw(distinct_arrays(shape))
    check(lambda t: getattr(t, name)(), x, device=device)
    check(lambda t: getattr(tg, name)(t), x, device=device)


@pytest.mark.parametrize("name", ["max", "min"])
@given(sd=shape_and_dim(allow_none=False, allow_tuple=False), keepdim=st.booleans(),
       data=st.data())
def test_max_min_dim(device: str, name: str, sd: tuple, keepdim: bool,
                     data: st.DataObject) -> None:
    shape, dim = sd
    (x,) = data.draw(distinct_arrays(shape))
    check(lambda t: getattr(t, name)(dim, keepdim=keepdim)[0], x, device=device)
    check(lambda t: getattr(t, name)(dim=dim, keepdim=keepdim).values, x, device=device)


@given(sd=shape_and_dim(), keepdim=st.booleans(), data=st.data())
def test_logsumexp(device: str, sd: tuple, keepdim: bool, data: st.DataObject) -> None:
    shape, dim = sd
    dim = tuple(range(len(shape))) if dim is None else dim  # dim is required, as in PyTorch
    check(lambda t: t.logsumexp(dim, keepdim=keepdim), data.draw(arrays(shape, floats(-5, 5))),
          device=device)


@given(sd=shape_and_dim(), keepdim=st.booleans(), data=st.data())
def test_prod(device: str, sd: tuple, keepdim: bool, data: st.DataObject) -> None:
    shape, dim = sd
    # prod is linear in each element, so it is smooth even where an element is 0 (which
    # exercises the zero-safe branch of the backward)
    x = data.draw(arrays(shape, st.sampled_from([0.0, 0.5, -1.5, 2.0]) | floats()))
    check(lambda t: t.prod(dim, keepdim=keepdim), x, device=device)


@pytest.mark.parametrize("p", [2, 1, 3, float("inf"), "fro", 0.5, -1, float("-inf"), 0])
@given(sd=shape_and_dim(), keepdim=st.booleans(), data=st.data())
def test_norm(device: str, p: Any, sd: tuple, keepdim: bool, data: st.DataObject) -> None:
    shape, dim = sd
    (x,) = data.draw(distinct_arrays(shape))
    x = x + 0.1  # distinct |x| (values are multiples of 0.125) and no zeros: norms are smooth
    check(lambda t: t.norm(p, dim, keepdim=keepdim), x, device=device)


# ---------------------------------------------------------------------------------------------
# softmax
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@given(sd=shape_and_dim(allow_none=False, allow_tuple=False), data=st.data())
def test_softmax(device: str, name: str, sd: tuple, data: st.DataObject) -> None:
    shape, dim = sd
    x = data.draw(arrays(shape, floats(-5, 5)))
    check(lambda t: getattr(t, name)(dim), x, device=device)
    check(lambda t: getattr(tg, name)(t, dim=dim), x, device=device)


# ---------------------------------------------------------------------------------------------
# shapes
# ---------------------------------------------------------------------------------------------
@st.composite
def reshape_targets(draw: st.DrawFn, shape: tuple) -> tuple:
    """A shape with as many elements as `shape`, maybe with one -1."""
    n = math.prod(shape)
    factors = [f for f in range(1, n + 1) if n % f == 0]
    first = draw(st.sampled_from(factors))
    target = [first, n // first]
    if draw(st.booleans()):
        target.insert(draw(st.integers(0, 2)), 1)
    if draw(st.booleans()):
        target[draw(st.integers(0, len(target) - 1))] = -1
    return tuple(target)


@pytest.mark.parametrize("name", ["reshape", "view"])
@given(shape=hnp.array_shapes(min_dims=0, max_dims=MAX_DIMS, min_side=0, max_side=MAX_SIDE),
       data=st.data())
def test_reshape_view(device: str, name: str, shape: tuple, data: st.DataObject) -> None:
    # (for no elements a -1 would be ambiguous, as PyTorch says)
    target = data.draw(reshape_targets(shape)) if math.prod(shape) else (3, 0)
    x = data.draw(arrays(shape))
    check(lambda t: getattr(t, name)(*target), x, device=device)
    check(lambda t: getattr(t, name)(target), x, device=device)


@given(shape=shapes, data=st.data())
def test_flatten(device: str, shape: tuple, data: st.DataObject) -> None:
    ndim = max(len(shape), 1)
    start = data.draw(st.integers(-ndim, ndim - 1))
    end = data.draw(st.integers(-ndim, ndim - 1))
    assume(start % ndim <= end % ndim)
    check(lambda t: t.flatten(start, end), data.draw(arrays(shape)), device=device)


@given(shape=hnp.array_shapes(min_dims=0, max_dims=MAX_DIMS, min_side=1, max_side=2),
       data=st.data())
def test_squeeze_unsqueeze(device: str, shape: tuple, data: st.DataObject) -> None:
    x = data.draw(arrays(shape))
    ndim = len(shape)
    check(lambda t: t.squeeze(), x, device=device)
    if ndim:
        dim = data.draw(st.integers(-ndim, ndim - 1))
        check(lambda t: t.squeeze(dim), x, device=device)
    new = data.draw(st.integers(-ndim - 1, ndim))
    check(lambda t: t.unsqueeze(new), x, device=device)
    check(lambda t: tg.unsqueeze(t, new), x, device=device)


@given(shape=nonscalar_shapes, data=st.data())
def test_transpose_permute_T(device: str, shape: tuple, data: st.DataObject) -> None:
    ndim = len(shape)
    x = data.draw(arrays(shape))
    d0, d1 = data.draw(st.integers(-ndim, ndim - 1)), data.draw(st.integers(-ndim, ndim - 1))
    perm = data.draw(st.permutations(range(ndim)))
    perm = [p - ndim if data.draw(st.booleans()) else p for p in perm]
    check(lambda t: t.transpose(d0, d1), x, device=device)
    check(lambda t: t.permute(*perm), x, device=device)
    check(lambda t: t.permute(perm), x, device=device)
    check(lambda t: t.T, x, device=device)
    if ndim >= 2:
        check(lambda t: t.mT, x, device=device)
    if ndim <= 2:
        check(lambda t: t.t(), x, device=device)


@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=1, max_dims=MAX_DIMS, min_side=0,
                                                max_side=MAX_SIDE), data=st.data())
def test_expand_broadcast_to(device: str, shapes: Any, data: st.DataObject) -> None:
    (shape,), target = shapes
    x = data.draw(arrays(shape))
    check(lambda t: t.broadcast_to(target), x, device=device)
    check(lambda t: tg.broadcast_to(t, target), x, device=device)
    # expand: -1 keeps a size (only for the dims the input already has)
    lead = len(target) - len(shape)
    sizes = [n if i < lead or data.draw(st.booleans()) else -1 for i, n in enumerate(target)]
    check(lambda t: t.expand(*sizes), x, device=device)
    check(lambda t: t.expand_as(tg.zeros(target)), x, device=device)


# ---------------------------------------------------------------------------------------------
# indexing
# ---------------------------------------------------------------------------------------------
@given(shape=hnp.array_shapes(min_dims=1, max_dims=MAX_DIMS, min_side=0, max_side=MAX_SIDE),
       data=st.data())
def test_getitem_basic(device: str, shape: tuple, data: st.DataObject) -> None:
    """ints, slices with steps (positive: PyTorch refuses negative ones), None and Ellipsis."""
    index = data.draw(hnp.basic_indices(shape, min_dims=0, allow_newaxis=True,
                                        allow_ellipsis=True))
    parts = index if isinstance(index, tuple) else (index,)
    index = tuple(slice(None, None, -i.step) if isinstance(i, slice) and i.step is not None
                  and i.step < 0 else i for i in parts)
    check(lambda t: t[index], data.draw(arrays(shape)), device=device)


def _as_index(array: np.ndarray, kind: str, device: str) -> Any:
    if kind == "list":
        return array.tolist()
    if kind == "tensor":
        return tg.tensor(array, device=device)
    return array


@given(shape=nonscalar_shapes, kind=st.sampled_from(["list", "array", "tensor"]),
       data=st.data())
def test_getitem_integer_arrays(device: str, shape: tuple, kind: str,
                                data: st.DataObject) -> None:
    """Integer arrays index every dim; repeated indices add their gradients up."""
    index = data.draw(hnp.integer_array_indices(
        shape, result_shape=hnp.array_shapes(min_dims=1, max_dims=2, max_side=5)))
    index = tuple(_as_index(np.asarray(i), kind, device) for i in index)
    check(lambda t: t[index], data.draw(arrays(shape)), device=device)


@given(shape=nonscalar_shapes, kind=st.sampled_from(["list", "array", "tensor"]),
       data=st.data())
def test_getitem_repeated_indices_on_one_dim(device: str, shape: tuple, kind: str,
                                             data: st.DataObject) -> None:
    n = shape[0]
    picks = data.draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=6))
    picks = picks + [picks[0]]  # at least one repeat
    index = _as_index(np.array(picks), kind, device)
    x = data.draw(arrays(shape))
    check(lambda t: t[index], x, device=device)
    if len(shape) >= 2:  # mixed with a slice, and after an Ellipsis
        last = _as_index(np.array(picks) % shape[-1], kind, device)
        check(lambda t: t[index, 1:], x, device=device)
        check(lambda t: t[..., last], x, device=device)


@given(shape=nonscalar_shapes, data=st.data())
def test_getitem_boolean_mask(device: str, shape: tuple, data: st.DataObject) -> None:
    k = data.draw(st.integers(1, len(shape)))
    mask = data.draw(hnp.arrays(np.bool_, shape[:k]))
    x = data.draw(arrays(shape, away_from_zero()))  # so that `t > 0` is stable under eps
    check(lambda t: t[tg.tensor(mask, device=device)], x, device=device)
    check(lambda t: t[mask], x, device=device)
    check(lambda t: t[t.detach() > 0], x, device=device)


@given(shape=nonscalar_shapes, data=st.data())
def test_gather_unbind(device: str, shape: tuple, data: st.DataObject) -> None:
    ndim = len(shape)
    dim = data.draw(st.integers(-ndim, ndim - 1))
    idx = data.draw(hnp.arrays(np.int64, shape, elements=st.integers(0, shape[dim] - 1)))
    x = data.draw(arrays(shape))
    check(lambda t: t.gather(dim, tg.tensor(idx, device=device)), x, device=device)
    check(lambda t: tg.stack(t.unbind(dim), dim), x, device=device)


# ---------------------------------------------------------------------------------------------
# joining and splitting
# ---------------------------------------------------------------------------------------------
@given(shape=nonscalar_shapes, count=st.integers(1, 3), data=st.data())
def test_cat(device: str, shape: tuple, count: int, data: st.DataObject) -> None:
    ndim = len(shape)
    dim = data.draw(st.integers(-ndim, ndim - 1))
    sizes = data.draw(st.lists(st.integers(0, 3), min_size=count, max_size=count))
    parts = [data.draw(arrays(shape[:dim % ndim] + (s,) + shape[dim % ndim + 1:]))
             for s in sizes]
    check(lambda *ts: tg.cat(ts, dim), *parts, device=device)
    check(lambda *ts: tg.cat(list(ts), dim=dim), *parts, device=device)


@given(shape=shapes, count=st.integers(1, 3), data=st.data())
def test_stack(device: str, shape: tuple, count: int, data: st.DataObject) -> None:
    dim = data.draw(st.integers(-len(shape) - 1, len(shape)))
    parts = [data.draw(arrays(shape)) for _ in range(count)]
    check(lambda *ts: tg.stack(ts, dim), *parts, device=device)


@given(shape=hnp.array_shapes(min_dims=1, max_dims=MAX_DIMS, min_side=1, max_side=5),
       data=st.data())
def test_split_chunk(device: str, shape: tuple, data: st.DataObject) -> None:
    ndim = len(shape)
    dim = data.draw(st.integers(-ndim, ndim - 1))
    n = shape[dim]
    size = data.draw(st.integers(1, n + 1))
    sections = data.draw(st.lists(st.integers(0, n), min_size=1, max_size=3))
    sections = sections[:-1] + [n - sum(sections[:-1])] if sum(sections[:-1]) <= n else [n]
    chunks = data.draw(st.integers(1, 4))
    x = data.draw(arrays(shape))
    check(lambda t: t.split(size, dim), x, device=device)
    check(lambda t: t.split(sections, dim=dim), x, device=device)
    check(lambda t: tg.split(t, size, dim), x, device=device)
    check(lambda t: t.chunk(chunks, dim), x, device=device)
    check(lambda t: tg.chunk(t, chunks, dim=dim), x, device=device)


@given(shape=nonscalar_shapes, data=st.data())
def test_pad(device: str, shape: tuple, data: st.DataObject) -> None:
    k = data.draw(st.integers(1, len(shape)))
    widths = data.draw(st.lists(st.integers(0, 2), min_size=2 * k, max_size=2 * k))
    value = data.draw(floats())
    check(lambda t: tg.pad(t, widths, value=value), data.draw(arrays(shape)), device=device)


# ---------------------------------------------------------------------------------------------
# odds and ends: copies and compositions
# ---------------------------------------------------------------------------------------------
@given(shape=shapes, data=st.data())
def test_clone_and_composition(device: str, shape: tuple, data: st.DataObject) -> None:
    x = data.draw(arrays(shape))
    check(lambda t: t.clone() * 2, x, device=device)
    check(tg.clone, x, device=device)
    # an input used several times: gradients from every use add up
    check(lambda t: (t * t).exp() + t.sin() * t - t.tanh().sum(), x, device=device)


# ---------------------------------------------------------------------------------------------
# second order: gradgradcheck
# ---------------------------------------------------------------------------------------------
def _rng_array(shape: tuple, seed: int, lo: float = -1.5, hi: float = 1.5) -> np.ndarray:
    return np.random.default_rng(seed).uniform(lo, hi, shape)


def _positive(shape: tuple, seed: int) -> np.ndarray:
    return _rng_array(shape, seed, 0.5, 2.0)


def _distinct(shape: tuple, seed: int) -> np.ndarray:
    n = math.prod(shape)
    return (np.random.default_rng(seed).permutation(n) - n / 2).reshape(shape) * 0.3 + 0.05


GRADGRAD: dict[str, tuple[Callable, list[np.ndarray]]] = {
    "mul": (operator.mul, [_rng_array((2, 3), 0), _rng_array((3,), 1)]),
    "div": (operator.truediv, [_rng_array((2, 3), 2), _positive((2, 1), 3)]),
    "div_scalar_numerator": (lambda x: 2.0 / x, [_positive((3,), 4)]),
    "add_sub": (lambda a, b: a + b - a * 0.5, [_rng_array((2, 3), 5), _rng_array((3,), 6)]),
    "exp": (tg.exp, [_rng_array((2, 3), 7)]),
    "log": (tg.log, [_positive((2, 3), 8)]),
    "sqrt": (tg.sqrt, [_positive((2, 3), 9)]),
    "tanh": (tg.tanh, [_rng_array((2, 3), 10)]),
    "sigmoid": (tg.sigmoid, [_rng_array((2, 3), 11)]),
    "sin_cos": (lambda x: x.sin() * x.cos(), [_rng_array((2, 3), 12)]),
    "pow_scalar": (lambda x: x ** 3, [_rng_array((2, 3), 13)]),
    "pow_fractional": (lambda x: x ** 1.5, [_positive((2, 3), 14)]),
    "rpow": (lambda x: 2.0 ** x, [_rng_array((2, 3), 15)]),
    "pow_tensor": (lambda a, b: a ** b, [_positive((2, 3), 16), _rng_array((3,), 17)]),
    "matmul": (operator.matmul, [_rng_array((2, 3), 18), _rng_array((3, 2), 19)]),
    "matmul_batched": (operator.matmul, [_rng_array((2, 1, 2, 3), 20), _rng_array((3, 3, 2), 21)]),
    "matmul_vec": (operator.matmul, [_rng_array((3,), 22), _rng_array((2, 3, 2), 23)]),
    "matmul_mat_vec": (operator.matmul, [_rng_array((2, 3), 24), _rng_array((3,), 25)]),
    "softmax": (lambda x: x.softmax(-1), [_rng_array((2, 3), 26)]),
    "log_softmax": (lambda x: x.log_softmax(0), [_rng_array((2, 3), 27)]),
    "logsumexp": (lambda x: x.logsumexp(1), [_rng_array((2, 3), 28)]),
    "getitem_basic": (lambda x: x[1:, ::2, None], [_rng_array((3, 4), 29)]),
    "getitem_repeated": (lambda x: x[[0, 2, 0, 0]] * x[[1, 1, 2, 0]], [_rng_array((3, 2), 30)]),
    "getitem_mask": (lambda x: x[x.detach() > 0] ** 2, [_rng_array((3, 2), 31)]),
    "sum": (lambda x: (x * x).sum((0, -1), keepdim=True), [_rng_array((2, 3, 2), 32)]),
    "mean": (lambda x: (x * x).mean(1), [_rng_array((2, 3), 33)]),
    "var_std": (lambda x: x.var(1) + x.std(0), [_distinct((3, 3), 34)]),
    "amax": (lambda x: x.amax(1) * x.amin(0).sum(), [_distinct((3, 3), 35)]),
    "max_dim": (lambda x: x.max(1)[0] ** 2, [_distinct((3, 3), 36)]),
    "prod": (lambda x: x.prod(1), [_rng_array((2, 3), 37)]),
    "norm": (lambda x: x.norm(dim=1), [_rng_array((2, 3), 38)]),
    "norm_p": (lambda x: x.norm(3, dim=0) + x.norm(0.5) + x.norm(float("-inf"), 1).sum(),
               [_distinct((2, 3), 48)]),
    "std_dim": (lambda x: x.std(1, keepdim=True) * x, [_distinct((2, 3), 49)]),
    "where": (lambda a, b: tg.where(a.detach() > 0, a * b, b * b),
              [_rng_array((2, 3), 39), _rng_array((3,), 40)]),
    "maximum": (lambda a, b: a.maximum(b) ** 2, [_distinct((2, 3), 41), _distinct((3,), 42) + 0.1]),
    "clamp_relu_abs": (lambda x: x.clamp(-0.9, 0.9) * x.relu() + x.abs() ** 3,
                       [_distinct((2, 3), 43)]),
    "shape_ops": (lambda x: (x.reshape(3, 2).T.unsqueeze(0).expand(2, 2, 3) ** 2).flatten(),
                  [_rng_array((2, 3), 44)]),
    "cat_stack_pad": (lambda a, b: tg.pad(tg.cat([a, b * b], 1), (1, 0))[:, :3]
                      * tg.stack([a, a]),
                      [_rng_array((2, 3), 45), _rng_array((2, 3), 46)]),
    "split": (lambda x: x.split(1, 1)[0] * x.chunk(3, 1)[2], [_rng_array((2, 3), 47)]),
}


@pytest.mark.parametrize("name", list(GRADGRAD))
def test_gradgradcheck(device: str, name: str) -> None:
    fn, arrays_ = GRADGRAD[name]
    inputs = [leaf(a, device) for a in arrays_]
    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)


# ---------------------------------------------------------------------------------------------
# points where a formula gives 0 * inf or 0 / 0, and NaN inputs: PyTorch's (finite) gradients
# ---------------------------------------------------------------------------------------------
NAN, INF = math.nan, math.inf
# name: (function of the leaves, the leaves' values, the gradients of fn(...).sum() that
# PyTorch 2.13 gives)
SPECIAL_POINTS: dict[str, tuple[Callable, list, list]] = {
    # a constant input: std = 0, where d sqrt = inf meets d var = 0
    "std_of_constant": (lambda x: x.std(), [[1.0, 1.0, 1.0]], [[0.0, 0.0, 0.0]]),
    "std_dim_one_constant_group": (lambda x: x.std(0), [[[1.0, 2.0], [1.0, 3.0]]],
                                   [[[0.0, -0.5 ** 0.5], [0.0, 0.5 ** 0.5]]]),
    "std_biased_one_value": (lambda x: x.std(correction=0), [[1.0]], [[0.0]]),
    "var_of_constant": (lambda x: x.var(), [[2.0, 2.0]], [[0.0, 0.0]]),
    # the norm of a zero vector (y = 0), and zeros inside a vector with p < 1
    "norm2_of_zero": (lambda x: x.norm(), [[0.0, 0.0]], [[0.0, 0.0]]),
    "norm3_of_zero": (lambda x: x.norm(3), [[0.0, 0.0]], [[0.0, 0.0]]),
    "norm2_dim_zero_row": (lambda x: x.norm(dim=1), [[[0.0, 0.0], [3.0, 4.0]]],
                           [[[0.0, 0.0], [0.6, 0.8]]]),
    "norm_half_with_a_zero": (lambda x: x.norm(0.5), [[0.0, 1.0]], [[0.0, 1.0]]),
    "norm_minus1_with_a_zero": (lambda x: x.norm(-1), [[0.0, 2.0]], [[0.0, 0.0]]),
    "norm_minus_inf": (lambda x: x.norm(-INF), [[1.0, -3.0, 0.5, -0.5]],
                       [[0.0, 0.0, 0.5, -0.5]]),
    "norm_inf_ties": (lambda x: x.norm(INF), [[0.0, -3.0, 3.0]], [[0.0, -0.5, 0.5]]),
    "norm0_counts": (lambda x: x.norm(0), [[1.0, -3.0, 0.0, 0.5]], [[0.0, 0.0, 0.0, 0.0]]),
    "norm1_with_nan": (lambda x: x.norm(1), [[NAN, 1.0]], [[0.0, 1.0]]),
    # |0| ** 0 = 1 (and x ** x at 0): 0 * 0 ** -1 would be NaN
    "abs_pow_0": (lambda x: x.abs() ** 0, [[0.0, 1.0, -2.0]], [[0.0, 0.0, 0.0]]),
    "pow_0": (lambda x: x ** 0, [[0.0, 1.0, -2.0]], [[0.0, 0.0, 0.0]]),
    "pow_tensor_exponent_0": (lambda a, b: a ** b, [[0.0, 1.0, -2.0], [0.0, 0.0, 0.0]],
                              [[0.0, 0.0, 0.0], [0.0, 0.0, NAN]]),
    "pow_both": (lambda a, b: a ** b, [[0.0, 0.0, 0.0, 2.0, -2.0], [0.0, 1.0, 2.0, 0.0, 2.0]],
                 [[0.0, 1.0, 0.0, 0.0, -4.0], [0.0, 0.0, 0.0, math.log(2.0), NAN]]),
    "x_pow_x": (lambda x: x ** x, [[0.0, 1.0, 2.0]], [[0.0, 1.0, 4.0 * (1.0 + math.log(2.0))]]),
    "zero_pow_x": (lambda x: 0.0 ** x, [[0.0, 1.0, -1.0]], [[0.0, 0.0, -INF]]),
    # NaN inputs: max / min route the gradient to the NaNs; amax gives NaN (PyTorch's amax)
    "max_nan": (lambda x: x.max(), [[1.0, NAN, 3.0]], [[0.0, 1.0, 0.0]]),
    "max_two_nans": (lambda x: x.max(), [[NAN, NAN, 3.0]], [[0.5, 0.5, 0.0]]),
    "min_nan": (lambda x: x.min(), [[1.0, NAN, 3.0]], [[0.0, 1.0, 0.0]]),
    "amax_nan": (lambda x: x.amax(), [[1.0, NAN, 3.0]], [[NAN, NAN, NAN]]),
    "max_dim_nan": (lambda x: x.max(0).values, [[1.0, NAN, 3.0]], [[0.0, 1.0, 0.0]]),
    "min_dim_nan": (lambda x: x.min(1).values, [[[NAN, 1.0, NAN], [1.0, 0.0, 2.0]]],
                    [[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]]),
    "relu_nan": (lambda x: x.relu(), [[NAN, 0.0, 1.0]], [[1.0, 0.0, 1.0]]),
    "leaky_relu_nan": (lambda x: x.leaky_relu(), [[NAN]], [[0.01]]),
    "abs_nan": (lambda x: x.abs(), [[NAN, 0.0]], [[0.0, 0.0]]),
    "clamp_nan": (lambda x: x.clamp(0.0, 1.0), [[NAN]], [[0.0]]),
    "maximum_nan": (lambda a, b: a.maximum(b), [[NAN, 1.0, NAN, 2.0], [0.0, NAN, NAN, 2.0]],
                    [[1.0, 1.0, 1.0, 0.5], [1.0, 1.0, 1.0, 0.5]]),
    "minimum_nan": (lambda a, b: a.minimum(b), [[NAN, 1.0, NAN, 2.0], [0.0, NAN, NAN, 2.0]],
                    [[1.0, 1.0, 1.0, 0.5], [1.0, 1.0, 1.0, 0.5]]),
}


@pytest.mark.parametrize("create_graph", [False, True], ids=["backward", "create_graph"])
@pytest.mark.parametrize("name", list(SPECIAL_POINTS))
def test_gradients_at_special_points_are_pytorchs(device: str, name: str,
                                                  create_graph: bool) -> None:
    fn, values, expected = SPECIAL_POINTS[name]
    leaves = [leaf(np.array(v, dtype=np.float64), device) for v in values]
    with np.errstate(all="ignore"):  # NaN and inf inputs warn in NumPy, not in PyTorch
        grads = tg.autograd.grad(fn(*leaves).sum(), leaves, create_graph=create_graph)
    for g, e in zip(grads, expected):
        np.testing.assert_allclose(np.asarray(g.detach()), np.array(e), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", ["std", "norm"])
def test_gradients_at_zero_agree_with_one_sided_differences(device: str, name: str) -> None:
    """Beyond matching PyTorch: near a constant input, std(x + t v) = |t| std(v) and
    ||t v|| = |t| ||v||, so the central difference at t = 0 is 0, as the gradient."""
    fn = {"std": lambda t: t.std(), "norm": lambda t: t.norm()}[name]
    base = np.full(4, 0.0 if name == "norm" else 1.5)
    v = np.array([0.3, -1.0, 0.2, 0.5])
    x = leaf(base, device)
    (grad,) = tg.autograd.grad(fn(x), [x])
    h = 1e-6
    plus = fn(tg.tensor(base + h * v, dtype=tg.float64, device=device)).item()
    minus = fn(tg.tensor(base - h * v, dtype=tg.float64, device=device)).item()
    assert float(np.asarray(grad) @ v) == pytest.approx((plus - minus) / (2 * h), abs=1e-9)


# ---------------------------------------------------------------------------------------------
# matrices, sorting and selecting, running sums (issue 14 follow-ups)
# ---------------------------------------------------------------------------------------------
@given(n=sides, k=sides, m=sides, data=st.data())
def test_mm(device: str, n: int, k: int, m: int, data: st.DataObject) -> None:
    a, b = data.draw(arrays((n, k))), data.draw(arrays((k, m)))
    check(lambda x, y: x.mm(y), a, b, device=device)
    check(tg.mm, a, b, device=device)


@given(shape=hnp.array_shapes(min_dims=2, max_dims=MAX_DIMS, min_side=1, max_side=MAX_SIDE),
       offset=st.integers(-3, 3), data=st.data())
def test_diagonal(device: str, shape: tuple, offset: int, data: st.DataObject) -> None:
    dims = data.draw(st.permutations(range(-len(shape), 0)))[:2]
    check(lambda t: t.diagonal(offset, dims[0], dims[1]), data.draw(arrays(shape)),
          device=device)


@given(n=sides, m=sides, offset=st.integers(-2, 2), data=st.data())
def test_diag_and_trace(device: str, n: int, m: int, offset: int, data: st.DataObject) -> None:
    check(lambda t: tg.diag(t, offset), data.draw(arrays((n,))), device=device)  # 1-D -> matrix
    matrix = data.draw(arrays((n, m)))
    check(lambda t: t.diag(offset), matrix, device=device)  # matrix -> its diagonal
    check(lambda t: t.trace(), matrix, device=device)


@pytest.mark.parametrize("name", ["sort", "sort_descending", "topk", "topk_smallest",
                                  "kthvalue", "median", "median_all", "mode"])
@given(sd=shape_and_dim(allow_none=False, allow_tuple=False), keepdim=st.booleans(),
       data=st.data())
def test_sort_and_selections(device: str, name: str, sd: tuple, keepdim: bool,
                             data: st.DataObject) -> None:
    shape, dim = sd
    (x,) = data.draw(distinct_arrays(shape))  # distinct values: the order is smooth there
    size = shape[dim] if shape else 1
    k = data.draw(st.integers(1, size))
    fn = {
        "sort": lambda t: t.sort(dim).values,
        "sort_descending": lambda t: tg.sort(t, dim, descending=True)[0],
        "topk": lambda t: t.topk(k, dim).values,
        "topk_smallest": lambda t: t.topk(k, dim, largest=False)[0],
        "kthvalue": lambda t: t.kthvalue(k, dim, keepdim=keepdim).values,
        "median": lambda t: t.median(dim, keepdim=keepdim).values,
        "median_all": lambda t: t.median(),
        "mode": lambda t: t.mode(dim, keepdim=keepdim).values,
    }[name]
    check(fn, x, device=device)


@given(sd=shape_and_dim(allow_none=False, allow_tuple=False), data=st.data())
def test_cumsum(device: str, sd: tuple, data: st.DataObject) -> None:
    shape, dim = sd
    check(lambda t: t.cumsum(dim), data.draw(arrays(shape)), device=device)
    check(lambda t: tg.cumsum(t, dim=dim), data.draw(arrays(shape)), device=device)


@given(shape=shapes, data=st.data())
def test_flip(device: str, shape: tuple, data: st.DataObject) -> None:
    dims = data.draw(st.lists(st.integers(0, len(shape) - 1), unique=True)) if shape else []
    check(lambda t: t.flip(dims), data.draw(arrays(shape)), device=device)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@given(shape=shapes, data=st.data())
def test_mse_and_binary_cross_entropy_reduce_inside_their_node(
        device: str, reduction: str, shape: tuple, data: st.DataObject) -> None:
    F = tg.nn.functional
    x, y = data.draw(arrays(shape)), data.draw(arrays(shape))
    check(lambda a, b: F.mse_loss(a, b, reduction=reduction), x, y, device=device)
    p = data.draw(arrays(shape, floats(0.1, 0.9)))
    q = data.draw(arrays(shape, floats(0.0, 1.0)))
    check(lambda a, b: F.binary_cross_entropy(a, b, reduction=reduction), p, q, device=device)
