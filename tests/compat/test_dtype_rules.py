"""PyTorch's dtype rules (issue 14, item 8): type promotion in binary ops, the dtype of
`tg.tensor(...)`, and the ops PyTorch refuses instead of promoting.

Where PyTorch is installed the same expression runs on both and the result dtypes must agree
(over every pair of bool, uint8, int32, int64, float16, float32, float64 as a tensor with
dims, a 0-d tensor, or a Python number, for +, *, /, //, **); a fixed table of PyTorch's
documented results for the key cases runs everywhere."""

from __future__ import annotations

import operator

import numpy as np
import pytest

import tinygrad_edu as tg

try:
    import torch
except ImportError:  # PyTorch is an optional reference
    torch = None

DTYPES = ["bool", "uint8", "int32", "int64", "float16", "float32", "float64"]
OPS = {"+": operator.add, "*": operator.mul, "/": operator.truediv, "//": operator.floordiv,
       "**": operator.pow}
SCALARS = {"True": True, "2": 2, "2.5": 2.5}


def operand(lib, name: str, device: str = "cpu"):
    """'int32[2]' is a tensor with a dim, 'int32[]' a 0-d tensor, '2' a Python number."""
    if name in SCALARS:
        return SCALARS[name]
    dtype, dims = name.split("[")
    values = [True, True] if dtype == "bool" else [1, 2]
    data = values if dims == "2]" else values[1]
    kwargs = {"device": device} if lib is tg else {}
    return lib.tensor(data, dtype=getattr(lib, dtype), **kwargs)


OPERANDS = [f"{d}[2]" for d in DTYPES] + [f"{d}[]" for d in DTYPES] + list(SCALARS)


def outcome(lib, op: str, left: str, right: str, device: str = "cpu") -> str:
    """The result's dtype name, or the class of the exception raised."""
    try:
        result = OPS[op](operand(lib, left, device), operand(lib, right, device))
    except Exception as exc:  # noqa: BLE001 - what is compared is the exception's class
        return type(exc).__name__
    return str(result.dtype).split(".")[-1]


@pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
@pytest.mark.parametrize("op", list(OPS))
@pytest.mark.parametrize("left", OPERANDS)
def test_binary_op_dtypes_match_pytorch(op: str, left: str) -> None:
    mismatches = []
    for right in OPERANDS:
        if left in SCALARS and right in SCALARS:
            continue
        want, got = outcome(torch, op, left, right), outcome(tg, op, left, right)
        if want != got:
            mismatches.append(f"{left} {op} {right}: PyTorch {want}, tinygrad_edu {got}")
    assert not mismatches, "\n".join(mismatches)


# PyTorch's results (torch 2.13), so that the rules are checked without it too
KEY_CASES = [
    ("float32[2]", "+", "float64[]", "float32"),  # a 0-d tensor does not widen its category
    ("int32[2]", "+", "int64[]", "int32"),
    ("int32[2]", "+", "float32[]", "float32"),  # ...but a higher category wins
    ("int32[2]", "+", "float64[]", "float64"),
    ("int32[2]", "+", "float16[]", "float16"),
    ("uint8[2]", "+", "bool[]", "uint8"),
    ("bool[2]", "+", "int32[]", "int32"),
    ("int64[]", "+", "int32[2]", "int32"),
    ("float64[]", "*", "int32[2]", "float64"),
    ("int32[]", "+", "float64[]", "float64"),  # two 0-d tensors promote as usual
    ("float32[2]", "+", "float64[2]", "float64"),  # two dimensioned tensors too
    ("float16[2]", "+", "int64[2]", "float16"),
    ("uint8[2]", "+", "int32[2]", "int32"),
    ("int32[2]", "+", "2", "int32"),  # Python numbers as before
    ("int32[2]", "+", "2.5", "float32"),
    ("bool[2]", "+", "2", "int64"),
    ("bool[2]", "+", "True", "bool"),
    ("float16[2]", "*", "2.5", "float16"),
    ("int32[2]", "/", "2", "float32"),
    ("int64[2]", "/", "int64[2]", "float32"),
    ("int32[2]", "//", "float32[]", "float32"),
    ("2", "**", "int64[2]", "int64"),  # 2 ** int_tensor stays int
    ("2", "**", "int32[2]", "int32"),
    ("2", "**", "bool[2]", "int64"),
    ("2.5", "**", "int64[2]", "float32"),
    ("int32[2]", "**", "2.5", "float32"),
    ("int32[2]", "**", "float32[]", "float32"),
    ("bool[2]", "**", "2", "int64"),
    ("bool[2]", "//", "bool[2]", "NotImplementedError"),
    ("bool[2]", "**", "bool[2]", "NotImplementedError"),
]


@pytest.mark.parametrize(("left", "op", "right", "expected"), KEY_CASES)
def test_key_promotion_cases(device: str, left: str, op: str, right: str,
                             expected: str) -> None:
    assert outcome(tg, op, left, right, device) == expected
    if torch is not None:
        assert outcome(torch, op, left, right) == expected


def test_values_follow_the_promoted_dtype(device: str) -> None:
    x = tg.tensor([1.5, 2.5], device=device) + tg.tensor(0.1, dtype=tg.float64, device=device)
    assert x.dtype == tg.float32
    np.testing.assert_allclose(x.tolist(), np.float32([1.6, 2.6]), rtol=1e-6)
    assert (2 ** tg.tensor([0, 3, 10], device=device)).tolist() == [1, 8, 1024]
    assert (2 ** tg.tensor([-1], device=device)).tolist() == [0]  # PyTorch's integer result


def test_result_type_and_promote_types() -> None:
    i32 = tg.tensor([1, 2], dtype=tg.int32)
    assert tg.result_type(i32, 2.5) == tg.float32
    assert tg.result_type(i32, tg.tensor(1.0, dtype=tg.float64)) == tg.float64
    assert tg.result_type(tg.ones(2), tg.tensor(1.0, dtype=tg.float64)) == tg.float32
    assert tg.result_type(1, 2.5) == tg.float32
    assert tg.promote_types(tg.int32, tg.float16) == tg.float16
    assert tg.promote_types(tg.uint8, tg.int32) == tg.int32
    assert tg.promote_types(tg.bool, tg.uint8) == tg.uint8
    if torch is not None:
        assert str(torch.result_type(torch.ones(2, dtype=torch.int32), 2.5)) == "torch.float32"
        assert str(torch.promote_types(torch.int32, torch.float16)) == "torch.float16"


def test_clamp_takes_the_dtype_of_its_bounds(device: str) -> None:
    i32 = tg.tensor([0, 1, 3], dtype=tg.int32, device=device)
    low = i32.clamp(min=1.5)
    assert low.dtype == tg.float32 and low.tolist() == [1.5, 1.5, 3.0]
    assert i32.clamp(min=1).dtype == tg.int32
    assert i32.clamp(max=2.5).dtype == tg.float32
    assert tg.tensor([True, False], device=device).clamp(min=1).dtype == tg.int64
    bounded = tg.tensor([0.0, 5.0], device=device).clamp(min=tg.tensor([1.0, 1.0],
                                                                      device=device))
    assert bounded.tolist() == [1.0, 5.0]
    with pytest.raises(RuntimeError, match=r"clamp_.*Float.*Int"):
        i32.clamp_(min=1.5)  # an int tensor can't hold the float result in place
    assert i32.tolist() == [0, 1, 3]
    if torch is not None:
        assert torch.ones(2, dtype=torch.int32).clamp(min=1.5).dtype == torch.float32


def test_inplace_ops_refuse_a_wider_category(device: str) -> None:
    i = tg.tensor([1, 2], dtype=tg.int32, device=device)
    with pytest.raises(RuntimeError, match=r"add_.*result type Double.*desired output type Int"):
        i += tg.tensor(1.5, dtype=tg.float64, device=device)
    b = tg.tensor([True, False], device=device)
    with pytest.raises(RuntimeError, match=r"add_.*Long.*Bool"):
        b += 1
    assert i.tolist() == [1, 2] and b.tolist() == [True, False] and i._version == 0
    f = tg.tensor([1.0, 2.0], device=device)
    f += tg.tensor([1.0, 1.0], dtype=tg.float64, device=device)  # same category: fine
    assert f.dtype == tg.float32 and f.tolist() == [2.0, 3.0]


# ---------------------------------------------------------------------------------------------
# tg.tensor(data): the dtype of Python values, NumPy scalars and arrays
# ---------------------------------------------------------------------------------------------
CONSTRUCTION = [
    (lambda: 1.5, "float32"),
    (lambda: [1, 2.5], "float32"),
    (lambda: [[1, 2], [3, 4]], "int64"),
    (lambda: [True, False], "bool"),
    (lambda: [], "float32"),
    (lambda: np.float64(2.0), "float64"),
    (lambda: [np.float64(2.0), np.float64(3.0)], "float64"),
    (lambda: [np.float64(2.0), 3.0], "float64"),
    (lambda: [[np.float64(1.0)], [2.0]], "float64"),
    (lambda: [1, np.float64(2)], "float64"),
    (lambda: np.float32(1), "float32"),
    (lambda: np.float16(1), "float16"),
    (lambda: [np.float16(1), 2], "float16"),
    (lambda: np.int32(1), "int32"),
    (lambda: [np.int32(1), np.int32(2)], "int32"),
    (lambda: [np.int32(1), 2], "int64"),
    (lambda: np.uint8(1), "uint8"),
    (lambda: [np.uint8(1), True], "uint8"),
    (lambda: np.int64(1), "int64"),
    (lambda: np.bool_(True), "bool"),
    (lambda: np.array([1.0, 2.0]), "float64"),
    (lambda: np.array([1, 2], dtype=np.int32), "int32"),
    (lambda: np.array(2.0, dtype=np.float16), "float16"),
    (lambda: [np.array([1.0, 2.0]), np.array([3.0, 4.0])], "float64"),
]


@pytest.mark.filterwarnings("ignore:Creating a tensor from a list of numpy.ndarrays")
@pytest.mark.parametrize(("make", "expected"), CONSTRUCTION)
def test_tensor_keeps_numpy_dtypes_as_pytorch(device: str, make, expected: str) -> None:
    assert str(np.dtype(tg.tensor(make(), device=device).array.dtype)) == expected
    if torch is not None:
        assert str(torch.tensor(make()).dtype) == f"torch.{expected}"


def test_full_with_a_numpy_fill_is_the_default_float() -> None:
    assert tg.full((2,), np.float64(1.0)).dtype == tg.float32  # a fill value is a number
    assert tg.full((2,), np.int32(1)).dtype == tg.int64
    if torch is not None:
        assert torch.full((2,), np.float64(1.0)).dtype == torch.float32


# ---------------------------------------------------------------------------------------------
# what PyTorch refuses
# ---------------------------------------------------------------------------------------------
def test_matmul_of_two_dtypes_is_refused(device: str) -> None:
    a = tg.ones(2, 3, device=device)
    b = tg.ones(3, 2, dtype=tg.float64, device=device)
    with pytest.raises(RuntimeError, match=r"matmul: expected m1 and m2 to have the same dtype, "
                                           r"but got: float != double.*\(2, 3\).*\(3, 2\)"):
        a @ b
    with pytest.raises(RuntimeError, match="long int != float"):
        tg.ones(2, 2, dtype=tg.int64, device=device).matmul(tg.ones(2, 2, device=device))
    assert (a @ b.float()).dtype == tg.float32
    if torch is not None:
        with pytest.raises(RuntimeError, match="expected m1 and m2 to have the same dtype"):
            torch.ones(2, 3) @ torch.ones(3, 2, dtype=torch.float64)


def test_view_of_a_non_contiguous_tensor_is_refused(device: str) -> None:
    x = tg.arange(6, device=device).reshape(2, 3)
    for lib_x in [x] + ([torch.arange(6).reshape(2, 3)] if torch is not None else []):
        with pytest.raises(RuntimeError, match=r"view size is not compatible.*\.reshape\(\.\.\.\)"):
            lib_x.t().view(-1)
        with pytest.raises(RuntimeError, match="view size is not compatible"):
            lib_x[:, :2].view(4)
        assert lib_x.t().contiguous().view(-1).tolist() == [0, 3, 1, 4, 2, 5]
        assert lib_x.t().reshape(-1).tolist() == [0, 3, 1, 4, 2, 5]
        assert tuple(lib_x[:, :2].view(2, 2, 1).shape) == (2, 2, 1)  # the strides allow it
        assert tuple(lib_x[1:].view(3).shape) == (3,)
        assert tuple(lib_x.view(3, 2).shape) == (3, 2)
    assert not x.t().is_contiguous() and x.t().contiguous().is_contiguous()
    y = x.view(3, 2)
    y[0, 0] = 100  # a view shares memory
    assert x[0, 0].item() == 100


def test_negative_slice_steps_are_refused(device: str) -> None:
    x = tg.arange(6, device=device).reshape(2, 3)
    libs = [x] + ([torch.arange(6).reshape(2, 3)] if torch is not None else [])
    for lib_x in libs:
        with pytest.raises(ValueError, match="step must be greater than zero"):
            lib_x[:, ::-1]
        with pytest.raises(ValueError, match="step must be greater than zero"):
            lib_x[::-2] = 0
    with pytest.raises(ValueError, match=r"getitem.*\(2, 3\)"):
        x[::-1]
    assert x[:, ::2].tolist() == [[0, 2], [3, 5]]
    assert x.tolist() == [[0, 1, 2], [3, 4, 5]] and x._version == 0


def test_where_needs_a_bool_condition(device: str) -> None:
    a, b = tg.ones(2, device=device), tg.zeros(2, device=device)
    with pytest.raises(RuntimeError, match="where expected condition to be a boolean tensor, "
                                           "but got a tensor with dtype Float"):
        tg.where(tg.tensor([1.0, 0.0], device=device), a, b)
    with pytest.raises(RuntimeError, match="dtype Long"):
        tg.where(tg.tensor([1, 0], device=device), a, b)
    with pytest.raises(RuntimeError, match="masked_fill_ only supports boolean masks"):
        a.masked_fill(tg.tensor([1.0, 0.0], device=device), 5.0)
    assert tg.where(tg.tensor([True, False], device=device), a, b).tolist() == [1.0, 0.0]
    assert a.masked_fill(tg.tensor([True, False], device=device), 5.0).tolist() == [5.0, 1.0]
    if torch is not None:
        with pytest.raises(RuntimeError, match="where expected condition to be a boolean"):
            torch.where(torch.tensor([1.0, 0.0]), torch.ones(2), torch.zeros(2))
