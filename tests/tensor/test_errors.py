"""Bad input gets a clear exception that names the op and the shapes, dtypes or devices
involved (never a bare NumPy error from deep inside), and leaves every tensor as it was."""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

import numpy as np
import pytest

import tinygrad_edu as tg

CUDA = tg.cuda.is_available()


@contextmanager
def unchanged(*tensors: tg.Tensor) -> Iterator[None]:
    """Assert that the tensors' values, shape, dtype, device and autograd state survive."""
    before = [(np.array(np.asarray(t), copy=True), t.shape, t.dtype, t.device, t.requires_grad,
               t.grad, t.grad_fn) for t in tensors]
    yield
    for t, (values, shape, dtype, device, requires_grad, grad, grad_fn) in zip(tensors, before):
        assert (t.shape, t.dtype, t.device) == (shape, dtype, device)
        assert t.requires_grad == requires_grad and t.grad is grad and t.grad_fn is grad_fn
        np.testing.assert_array_equal(np.asarray(t), values)


def names(*parts: Any) -> str:
    """A regex that matches a message containing every part, in this order."""
    return ".*".join(re.escape(str(p)) for p in parts)


# ---------------------------------------------------------------------------------------------
# shapes
# ---------------------------------------------------------------------------------------------
def test_matmul_shape_mismatch_names_both_shapes(device: str) -> None:
    a = tg.randn(64, 784, device=device, requires_grad=True)
    b = tg.randn(100, 10, device=device, requires_grad=True)
    with unchanged(a, b), pytest.raises(ValueError, match=names("matmul", "(64, 784)",
                                                                 "(100, 10)")):
        a @ b
    with unchanged(a, b), pytest.raises(ValueError, match=names("(64, 784)", "(100, 10)")):
        a.matmul(b)


@pytest.mark.parametrize(("sa", "sb", "what"), [
    ((3,), (4,), "cannot be multiplied"),
    ((2, 3), (2,), "cannot be multiplied"),
    ((2, 2, 3), (3, 3, 2), "batch dimensions"),
    ((), (2, 3), "at least 1 dimension"),
])
def test_matmul_other_mismatches(device: str, sa: tuple, sb: tuple, what: str) -> None:
    a, b = tg.ones(sa, device=device), tg.ones(sb, device=device)
    with unchanged(a, b), pytest.raises(ValueError, match=names("matmul", sa, sb)) as info:
        a @ b
    assert what in str(info.value)


BINARY_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "add": operator.add, "sub": operator.sub, "mul": operator.mul, "div": operator.truediv,
    "pow": operator.pow, "maximum": tg.maximum, "minimum": tg.minimum,
    "equal": operator.eq, "less": operator.lt, "greater_equal": operator.ge,
    "floor_divide": operator.floordiv, "remainder": operator.mod,
}


@pytest.mark.parametrize("op", list(BINARY_OPS))
def test_broadcast_mismatch_names_op_and_both_shapes(device: str, op: str) -> None:
    a = tg.ones(2, 3, device=device, requires_grad=op not in ("floor_divide", "remainder"))
    b = tg.ones(4, 3, device=device)
    with unchanged(a, b), pytest.raises(ValueError,
                                        match=names(op, "(2, 3)", "(4, 3)", "broadcast")):
        BINARY_OPS[op](a, b)
    with unchanged(a, b), pytest.raises(ValueError, match=names(op, "(4, 3)", "(2, 3)")):
        BINARY_OPS[op](b, a)  # and the other way round


def test_broadcast_mismatch_with_arrays_lists_and_where(device: str) -> None:
    a = tg.ones(2, 3, device=device)
    with unchanged(a), pytest.raises(ValueError, match=names("add", "(2, 3)", "(1, 2)")):
        a + [[1.0, 2.0]]
    # array * tensor is tensor.__rmul__(array): the tensor comes first, as in PyTorch
    with unchanged(a), pytest.raises(ValueError, match=names("mul", "(2, 3)", "(4, 3)")):
        np.ones((4, 3)) * a
    cond = tg.ones(3, 2, dtype=tg.bool, device=device)
    with unchanged(a, cond), pytest.raises(ValueError, match=names("where", "(3, 2)", "(2, 3)")):
        tg.where(cond, a, 0.0)
    with unchanged(a, cond), pytest.raises(ValueError, match=names("(3, 2)", "(2, 3)")):
        a.masked_fill(cond, 1.0)


def test_inplace_op_whose_result_does_not_fit(device: str) -> None:
    a = tg.zeros(3, device=device)
    b = tg.ones(2, 3, device=device)
    with unchanged(a, b), pytest.raises(RuntimeError, match=names("add_", "(2, 3)", "[3]")):
        a.add_(b)
    with unchanged(a, b), pytest.raises(RuntimeError, match=names("copy_", "[2, 3]", "[3]")):
        a.copy_(b)


@pytest.mark.parametrize(("shape", "target"), [((2, 3), (4, 2)), ((2, 3), (-1, 4)),
                                               ((2, 3), (-1, -1)), ((6,), (7,))])
def test_reshape_to_a_wrong_size(device: str, shape: tuple, target: tuple) -> None:
    x = tg.ones(shape, device=device, requires_grad=True)
    pattern = names("reshape", list(target), list(shape), np.prod(shape))
    with unchanged(x), pytest.raises(RuntimeError, match=pattern):
        x.reshape(*target)
    with unchanged(x), pytest.raises(RuntimeError, match=pattern):
        x.view(target)


def test_other_shape_errors(device: str) -> None:
    x = tg.ones(2, 3, device=device, requires_grad=True)
    with unchanged(x), pytest.raises(ValueError, match=names("cat", "[2, 3]", "[2, 4]")):
        tg.cat([x, tg.ones(2, 4, device=device)], 0)
    with unchanged(x), pytest.raises(ValueError, match=names("stack", "[2, 3]", "[3, 2]")):
        tg.stack([x, tg.ones(3, 2, device=device)])
    with unchanged(x), pytest.raises(ValueError, match=names("split", "[1, 1]", "3")):
        x.split([1, 1], 1)
    with unchanged(x), pytest.raises(RuntimeError, match=names("broadcast_to", "[2, 3]",
                                                                "(3, 3)")):
        x.expand(3, 3)
    with unchanged(x), pytest.raises(ValueError, match=names("permute", "[0, 0]", "[2, 3]")):
        x.permute(0, 0)
    with unchanged(x), pytest.raises(ValueError, match=names("pad", "(1,)", "[2, 3]")):
        tg.pad(x, (1,))
    with unchanged(x), pytest.raises(ValueError, match=names("t", "[2, 3, 1]")):
        x.unsqueeze(-1).t()
    with pytest.raises(ValueError, match=names("item", "[2, 3]")):
        x.item()


# ---------------------------------------------------------------------------------------------
# dims and indices
# ---------------------------------------------------------------------------------------------
DIM_OPS: dict[str, Callable[[tg.Tensor], Any]] = {
    "sum": lambda t: t.sum(2), "mean": lambda t: t.mean(-3), "var": lambda t: t.var(3),
    "std": lambda t: t.std((0, 5)), "amax": lambda t: t.amax(2), "amin": lambda t: t.amin(-4),
    "max": lambda t: t.max(dim=2), "min": lambda t: t.min(-3), "argmax": lambda t: t.argmax(2),
    "argmin": lambda t: t.argmin(-3), "prod": lambda t: t.prod(2),
    "logsumexp": lambda t: t.logsumexp(2), "norm": lambda t: t.norm(dim=3),
    "softmax": lambda t: t.softmax(2), "logsoftmax": lambda t: t.log_softmax(-3),
    "squeeze": lambda t: t.squeeze(2), "unsqueeze": lambda t: t.unsqueeze(4),
    "transpose": lambda t: t.transpose(0, 2), "flatten": lambda t: t.flatten(0, 4),
    "size": lambda t: t.size(2), "split": lambda t: t.split(1, 2), "chunk": lambda t: t.chunk(2, 2),
    "cat": lambda t: tg.cat([t, t], 2), "stack": lambda t: tg.stack([t, t], 4),
}


@pytest.mark.parametrize("op", list(DIM_OPS))
def test_bad_dim_names_op_dim_and_ndim(device: str, op: str) -> None:
    x = tg.ones(2, 3, device=device, requires_grad=True)
    with unchanged(x), pytest.raises(IndexError, match=names(op, "dim", "out of range",
                                                              "2 dimension")):
        DIM_OPS[op](x)


def test_repeated_and_non_integer_dims(device: str) -> None:
    x = tg.ones(2, 3, device=device)
    with unchanged(x), pytest.raises(ValueError, match=names("sum", "(0, -2)", "twice")):
        x.sum((0, -2))
    with unchanged(x), pytest.raises(TypeError, match=names("mean", "1.5")):
        x.mean(1.5)
    with unchanged(x), pytest.raises(TypeError, match=names("sum", "'a'")):
        x.sum(("a",))


@pytest.mark.parametrize(("index", "parts"), [
    (2, ("index 2", "dim 0", "size 2", "[2, 3]")),
    (-3, ("index -3", "dim 0", "size 2")),
    ((0, 3), ("index 3", "dim 1", "size 3")),
    ((0, 0, 0), ("too many indices", "dimension 2")),
    ([0, 2], ("index 2", "dim 0", "size 2")),
    ((slice(None), [1, -4]), ("index -4", "dim 1", "size 3")),
    (np.array([5]), ("index 5", "dim 0")),
])
def test_getitem_out_of_range(device: str, index: Any, parts: tuple) -> None:
    x = tg.ones(2, 3, device=device, requires_grad=True)
    with unchanged(x), pytest.raises(IndexError, match=names("getitem", *parts)):
        x[index]


def test_getitem_bad_index_types(device: str) -> None:
    x = tg.ones(2, 3, device=device)
    # indices on the GPU are read back (a synchronisation) only under detect_anomaly
    with tg.autograd.detect_anomaly(), unchanged(x), pytest.raises(
            IndexError, match=names("getitem", "index 7", "size 2")):
        x[tg.tensor([0, 7], device=device)]
    with unchanged(x), pytest.raises(IndexError, match=names("getitem", "mask", "(3,)", "[2]")):
        x[tg.ones(3, dtype=tg.bool, device=device)]
    with unchanged(x), pytest.raises(IndexError, match=names("getitem", "float32")):
        x[tg.tensor([0.5], device=device)]
    with unchanged(x), pytest.raises(IndexError, match=names("getitem", "str")):
        x["a"]


# ---------------------------------------------------------------------------------------------
# dtypes
# ---------------------------------------------------------------------------------------------
def test_requires_grad_on_an_integer_tensor(device: str) -> None:
    with pytest.raises(RuntimeError, match=names("requires_grad", "floating point", "int64")):
        tg.tensor([1, 2], device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match=names("floating point", "int64")):
        tg.zeros(2, dtype=tg.int64, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match=names("floating point", "bool")):
        tg.ones(2, dtype=tg.bool, device=device, requires_grad=True)
    i = tg.tensor([1, 2], dtype=tg.int32, device=device)
    with unchanged(i), pytest.raises(RuntimeError, match=names("floating point", "int32")):
        i.requires_grad_()


@pytest.mark.parametrize("dtype", ["complex64", np.complex128, "int8", "float128", np.int16,
                                   "str"])
def test_unsupported_dtype(device: str, dtype: Any) -> None:
    name = dtype if isinstance(dtype, str) else np.dtype(dtype).name
    with pytest.raises(TypeError, match=names("unsupported dtype", name)):
        tg.tensor([1, 2], dtype=dtype, device=device)
    with pytest.raises(TypeError, match=names("unsupported dtype", name)):
        tg.zeros(2, dtype=dtype, device=device)
    x = tg.ones(2, device=device)
    with unchanged(x), pytest.raises(TypeError, match=names("unsupported dtype", name)):
        x.to(dtype=dtype)


def test_values_that_are_not_numbers(device: str) -> None:
    with pytest.raises(TypeError, match=names("tensor", "str")):
        tg.tensor("abc")
    with pytest.raises(TypeError, match=names("tensor", "complex128")):
        tg.tensor(np.array([1j]))
    with pytest.raises(ValueError, match=names("tensor", "[[1, 2], [3]]")):
        tg.tensor([[1, 2], [3]])
    x = tg.ones(2, device=device)
    with unchanged(x), pytest.raises(TypeError, match=names("add", "str")):
        x + "a"
    with unchanged(x), pytest.raises(TypeError, match=names("mul", "NoneType")):
        x * None


def test_dtype_errors_in_ops(device: str) -> None:
    i = tg.tensor([1, 2], device=device)
    with unchanged(i), pytest.raises(RuntimeError, match=names("mean", "floating point",
                                                                "int64")):
        i.mean()
    with unchanged(i), pytest.raises(RuntimeError, match=names("div_", "float", "int64")):
        i /= 2
    with unchanged(i), pytest.raises(RuntimeError, match=names("add_", "int64")):
        i.add_(0.5)
    with pytest.raises(ValueError, match=names("gradcheck", "input 0", "float32", "double")):
        tg.autograd.gradcheck(tg.exp, [tg.ones(2, device=device, requires_grad=True)])


# ---------------------------------------------------------------------------------------------
# values and arguments
# ---------------------------------------------------------------------------------------------
def test_argument_errors(device: str) -> None:
    empty = tg.zeros(0, device=device)
    for op in ("amax", "argmax", "argmin"):
        with pytest.raises(RuntimeError, match=names(op, "non-empty", "[0]")):
            getattr(empty, op)()
    with pytest.raises(RuntimeError, match=names("max", "non-empty", "[0]")):
        empty.max(0)
    x = tg.ones(2, 3, device=device)
    with unchanged(x), pytest.raises(ValueError, match=names("clamp", "min and max")):
        x.clamp()
    with unchanged(x), pytest.raises(ValueError, match=names("split", "positive", "0")):
        x.split(0)
    with unchanged(x), pytest.raises(ValueError, match=names("chunk", "positive", "0")):
        x.chunk(0)
    with unchanged(x), pytest.raises(ValueError, match=names("flatten", "start_dim 1",
                                                              "end_dim 0")):
        x.flatten(1, 0)
    with pytest.raises(RuntimeError, match=names("randint", "low=5", "high=2")):
        tg.randint(5, 2, (3,))
    with pytest.raises(RuntimeError, match=names("zeros", "negative dimension", "-1")):
        tg.zeros(-1)
    with pytest.raises(RuntimeError, match="arange: step must be nonzero"):
        tg.arange(0, 1, 0)
    with pytest.raises(ValueError, match=names("cat", "non-empty")):
        tg.cat([])


FACTORIES: dict[str, Callable[[Any], tg.Tensor]] = {
    "zeros": lambda s: tg.zeros(s), "ones": lambda s: tg.ones(s),
    "empty": lambda s: tg.empty(s), "rand": lambda s: tg.rand(s),
    "randn": lambda s: tg.randn(s), "zeros ": lambda s: tg.zeros(2, s),
    "full": lambda s: tg.full((s,), 1.0), "randint": lambda s: tg.randint(0, 5, (s,)),
    "new_zeros": lambda s: tg.ones(3).new_zeros(s),
    "new_ones": lambda s: tg.ones(3).new_ones((s,)),
    "new_full": lambda s: tg.ones(3).new_full((s,), 2.0),
}


@pytest.mark.parametrize("op", list(FACTORIES))
def test_factories_take_only_int_sizes(op: str) -> None:
    """PyTorch's TypeError for a size that is not an int (a float, a string, a bool, None),
    and its RuntimeError for a negative one, naming the op (not NumPy's or Python's words)."""
    make, op = FACTORIES[op], op.strip()
    for bad in (2.5, "3", True, None):
        with pytest.raises(TypeError, match=names(op, "size must be a tuple of ints",
                                                  type(bad).__name__)):
            make(bad)
    with pytest.raises(RuntimeError, match=names(op, "negative dimension", "-1")):
        make(-1)
    assert make(np.int64(2)).shape[-1] == 2  # NumPy ints are ints
    assert make(0).numel() == 0


def test_factory_argument_errors() -> None:
    with pytest.raises(TypeError, match=names("full", "tuple of ints", "int 3")):
        tg.full(3, 1.0)  # PyTorch wants a tuple here
    with pytest.raises(TypeError, match=names("full", "fill_value", "str")):
        tg.full((3,), "a")
    with pytest.raises(RuntimeError, match=names("full", "300", "uint8", "overflow")):
        tg.full((2,), 300, dtype=tg.uint8)
    with pytest.raises(TypeError, match=names("randint", "tuple of ints")):
        tg.randint(0, 5, 3)
    with pytest.raises(TypeError, match=names("randperm", "n", "int", "2.5")):
        tg.randperm(2.5)
    with pytest.raises(RuntimeError, match=names("randperm", "n", "-1")):
        tg.randperm(-1)
    with pytest.raises(TypeError, match=names("eye", "n", "int", "2.5")):
        tg.eye(2.5)
    with pytest.raises(RuntimeError, match=names("eye", "m", "-1")):
        tg.eye(2, -1)
    with pytest.raises(TypeError, match=names("linspace", "steps", "int")):
        tg.linspace(0, 1, 2.5)
    with pytest.raises(RuntimeError, match=names("linspace", "steps", "-1")):
        tg.linspace(0, 1, -1)
    with pytest.raises(RuntimeError, match=names("tensor", "uint8", "overflow")):
        tg.tensor([1, 300], dtype=tg.uint8)
    assert tg.zeros(tg.tensor(2)).shape == (2,)  # a 0-d integer tensor is an int


@pytest.mark.parametrize(("args", "error", "words"), [
    ((0, math.nan), RuntimeError, ("arange", "unsupported range", "nan")),
    ((0, math.inf), RuntimeError, ("arange", "unsupported range", "inf")),
    ((-math.inf, 0), RuntimeError, ("arange", "unsupported range", "-inf")),
    ((0, 5, math.nan), RuntimeError, ("arange", "step", "nonzero")),
    ((0, 5, -1), RuntimeError, ("arange", "inconsistent with step sign")),
    ((5, 0, 0.5), RuntimeError, ("arange", "inconsistent with step sign")),
    ((0, 1e20), RuntimeError, ("arange", "invalid size", "overflow")),
    (("3",), TypeError, ("arange", "end", "number", "str")),
    ((0, 3, "1"), TypeError, ("arange", "step", "number", "str")),
])
def test_arange_errors(args: tuple, error: type, words: tuple) -> None:
    with pytest.raises(error, match=names(*words)):
        tg.arange(*args)


def test_arange_edge_cases_that_are_fine() -> None:
    assert tg.arange(5, 5).shape == (0,) and tg.arange(5, 5, -1).shape == (0,)
    assert tg.arange(True).tolist() == [0]
    assert tg.arange(tg.tensor(3)).tolist() == [0, 1, 2]


def test_cat_of_zero_dim_tensors(device: str) -> None:
    a, b = tg.tensor(1.0, device=device), tg.tensor(2.0, device=device)
    for tensors, position in (([a, b], 0), ([tg.ones(1, device=device), b], 1)):
        with unchanged(*tensors), pytest.raises(
                RuntimeError, match=names("cat", "zero-dimensional", f"position {position}")):
            tg.cat(tensors)
    with pytest.raises(RuntimeError, match=names("cat", "zero-dimensional")):
        tg.cat([a, b], dim=5)  # (the 0-d check comes first, as in PyTorch)
    with pytest.raises(TypeError, match=names("cat", "Tensors", "list", "position 1")):
        tg.cat([a.reshape(1), [2.0]])
    assert tg.stack([a, b]).tolist() == [1.0, 2.0]


@pytest.mark.parametrize("op", ["floor_divide", "remainder"])
def test_integer_division_by_zero(device: str, op: str) -> None:
    """PyTorch's RuntimeError (ZeroDivisionError) for an integer // 0 or % 0, where NumPy
    gives 0; the GPU checks only under detect_anomaly (reading the divisor stalls it)."""
    fn = operator.floordiv if op == "floor_divide" else operator.mod
    x = tg.tensor([5, -5], device=device)
    zero = tg.tensor([1, 0], device=device)
    cases = [lambda: fn(x, 0), lambda: fn(x, zero), lambda: fn(5, tg.tensor([0], device=device)),
             lambda: getattr(x, op)(0), lambda: fn(x.to(tg.uint8), 0)]
    with tg.autograd.detect_anomaly() if device != "cpu" else nullcontext():
        for case in cases:
            with unchanged(x, zero), pytest.raises(RuntimeError,
                                                   match=names(op, "ZeroDivisionError")):
                case()
    with pytest.raises(NotImplementedError, match=names(op, "bool")):
        fn(tg.tensor([True], device=device), tg.tensor([True], device=device))
    # floats give inf / NaN, as PyTorch; a nonzero integer divisor works, from either side
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.asarray(fn(tg.tensor([5.0, -5.0, 0.0], device=device), 0))
    np.testing.assert_array_equal(f, [np.inf, -np.inf, np.nan] if op == "floor_divide"
                                  else [np.nan] * 3)
    assert fn(x, 3).tolist() == ([1, -2] if op == "floor_divide" else [2, 1])
    assert fn(7, tg.tensor([2, -2], device=device)).tolist() == (
        [3, -4] if op == "floor_divide" else [1, -1])


def test_integer_scalars_where_pytorch_refuses_them(device: str) -> None:
    u = tg.tensor([1, 2], dtype=tg.uint8, device=device)
    with unchanged(u), pytest.raises(RuntimeError, match=names("where", "300", "uint8",
                                                               "without overflow")):
        tg.where(tg.tensor([True, False], device=device), u, 300)
    with unchanged(u), pytest.raises(RuntimeError, match=names("where", "300", "uint8")):
        u.masked_fill(tg.tensor([True, False], device=device), 300)
    with unchanged(u), pytest.raises(RuntimeError, match=names("pow", "300", "uint8")):
        u ** 300
    i = tg.tensor([2, 3], device=device)
    with unchanged(i), pytest.raises(RuntimeError, match=names("pow", "negative integer powers",
                                                               "int64", "(2,)")):
        i ** -1
    with unchanged(i), pytest.raises(OverflowError, match=names("add", "too big", "int64")):
        i + 2**70


def test_norm_argument_errors(device: str) -> None:
    empty = tg.zeros(0, device=device)
    for p in (math.inf, -math.inf, -1):
        with pytest.raises(RuntimeError, match=names("norm", "norm", "(0,)", "no identity")):
            empty.norm(p)
    assert empty.norm(2).item() == 0 and empty.norm(0).item() == 0
    with pytest.raises(RuntimeError, match=names("norm", "floating point", "int64")):
        tg.tensor([3, 4], device=device).norm()
    with pytest.raises(ValueError, match=names("norm", "p", "nuc")):
        tg.ones(2, 2, device=device).norm("nuc")


# ---------------------------------------------------------------------------------------------
# in-place ops on leaves that require grad
# ---------------------------------------------------------------------------------------------
INPLACE: dict[str, Callable[[tg.Tensor], Any]] = {
    "add_": lambda t: t.add_(1), "sub_": lambda t: t.sub_(1), "mul_": lambda t: t.mul_(2),
    "div_": lambda t: t.div_(2), "fill_": lambda t: t.fill_(0), "zero_": lambda t: t.zero_(),
    "copy_": lambda t: t.copy_(tg.zeros(2, 3)), "uniform_": lambda t: t.uniform_(),
    "normal_": lambda t: t.normal_(), "setitem": lambda t: t.__setitem__(0, 5.0),
    "+=": lambda t: t.__iadd__(1), "-=": lambda t: t.__isub__(1), "*=": lambda t: t.__imul__(2),
    "/=": lambda t: t.__itruediv__(2),
}


@pytest.mark.parametrize("op", list(INPLACE))
def test_inplace_on_a_leaf_that_requires_grad(device: str, op: str) -> None:
    x = tg.ones(2, 3, device=device, requires_grad=True)
    with unchanged(x), pytest.raises(RuntimeError, match=names("requires grad", "in-place",
                                                                "no_grad")):
        INPLACE[op](x)
    with tg.no_grad():  # where it is allowed
        INPLACE[op](x)
    assert x.requires_grad and x.is_leaf


def test_inplace_on_a_tensor_whose_saved_value_backward_needs(device: str) -> None:
    x = tg.ones(2, device=device, requires_grad=True)
    y = x.tanh()  # tanh's backward reads its output
    y.add_(1)  # allowed, as in PyTorch; backward then refuses to use the changed value
    with unchanged(x), pytest.raises(RuntimeError, match=names(
            "modified by an inplace operation", "output 0 of Tanh", "version 1",
            "expected version 0")):
        y.sum().backward()


# ---------------------------------------------------------------------------------------------
# devices
# ---------------------------------------------------------------------------------------------
@pytest.mark.skipif(CUDA, reason="checks the message given where CUDA is missing")
def test_asking_for_cuda_without_a_gpu_says_why() -> None:
    assert tg.cuda.is_available() is False
    assert tg.cuda.device_count() == 0
    reason = tg.cuda.unavailable_reason()
    assert "CuPy" in reason or "GPU" in reason
    x = tg.ones(2, requires_grad=True)
    for make in (lambda: tg.zeros(2, device="cuda"), lambda: x.to("cuda"), lambda: x.cuda(),
                 lambda: tg.tensor([1.0], device="cuda:0"), lambda: tg.randn(2, device="cuda"),
                 lambda: tg.device("cuda").xp):
        with unchanged(x), pytest.raises(RuntimeError, match=names("device 'cuda'",
                                                                    "not available", reason)):
            make()


@pytest.mark.parametrize("spec", ["gpu", "cuda:x", "cpu:0", "tpu", ""])
def test_unknown_device(spec: str) -> None:
    with pytest.raises(ValueError, match=names("device", repr(spec))):
        tg.zeros(2, device=spec)
    with pytest.raises(TypeError, match="device must be a string"):
        tg.device(0)  # type: ignore[arg-type]


@pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU")
def test_mixing_devices_names_both() -> None:
    a = tg.ones(2, 3, device="cpu", requires_grad=True)
    b = tg.ones(2, 3, device="cuda")
    for op in (operator.add, operator.mul, operator.matmul, tg.maximum, operator.lt):
        with unchanged(a, b), pytest.raises(RuntimeError, match=names("same device", "cpu",
                                                                       "cuda:0")):
            op(a, b.mT if op is operator.matmul else b)
    with unchanged(a, b), pytest.raises(RuntimeError, match=names("cpu", "cuda:0")):
        tg.cat([a, b])
    with unchanged(a, b), pytest.raises(RuntimeError, match=names("stack", "cpu", "cuda:0")):
        tg.stack([a, b])
    c = tg.ones(2, 3, device="cuda")
    for inplace in (c.add_, c.sub_, c.mul_, c.div_):
        with unchanged(a, c), pytest.raises(RuntimeError, match=names(
                inplace.__name__, "same device", "cpu", "cuda:0")):
            inplace(a.detach())
    with unchanged(a, b), pytest.raises(RuntimeError, match=names("getitem", "cpu", "cuda")):
        b[tg.tensor([0], device="cpu")]
    with unchanged(a, b), pytest.raises(RuntimeError, match=names("cuda:0", "cpu")):
        (a.sum() * 1).backward(tg.tensor(1.0, device="cuda"))
