"""Tensors, shapes, dtypes and (values, indices) pairs print as PyTorch 2.13 prints them, with
`tg.` where PyTorch writes `torch.` (issue 14, item 7).

Where PyTorch is installed, the same expression is printed by both and the strings must be
equal once `torch.` is read as `tg.`; the fixed strings below are PyTorch's output for the key
cases, so they are checked without it too."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.backend import dtype as tg_dtype
from tinygrad_edu.tensor import PRINT_OPTS, Size, return_types, set_printoptions


@pytest.fixture(autouse=True)
def default_print_options():
    """Every test starts and ends with PyTorch's default print options (here and in torch)."""
    set_printoptions(profile="default")
    yield
    set_printoptions(profile="default")
    try:
        import torch
    except ImportError:
        return
    torch.set_printoptions(profile="default")


def as_tg(text: str) -> str:
    """PyTorch's printed form, read with this library's module name."""
    return text.replace("torch.", "tg.")


# ---------------------------------------------------------------------------------------------
# fixed expected strings: PyTorch 2.13's output
# ---------------------------------------------------------------------------------------------
EXPECTED = {
    "tensor(3.5)": "tensor(3.5000)",
    "tensor([1.5, 2.25])": "tensor([1.5000, 2.2500])",
    "tensor([1e-5])": "tensor([1.0000e-05])",
    "tensor([1.0, 2.0])": "tensor([1., 2.])",
    "tensor([1, 2, 3])": "tensor([1, 2, 3])",
    "tensor(7)": "tensor(7)",
    "tensor([True, False])": "tensor([ True, False])",
    "zeros(0, 3)": "tensor([], size=(0, 3))",
    "zeros(0)": "tensor([])",
    "zeros(0, dtype=tg.int64)": "tensor([], dtype=tg.int64)",
    "zeros(2, 0, dtype=tg.float64)": "tensor([], size=(2, 0), dtype=tg.float64)",
    "tensor([1e-5, 1.0, 1000.0])": "tensor([1.0000e-05, 1.0000e+00, 1.0000e+03])",
    "tensor([1.0, 2000.0])": "tensor([1.0000e+00, 2.0000e+03])",
    "tensor([0.001, 1.0])": "tensor([0.0010, 1.0000])",
    "tensor([1e8])": "tensor([100000000.])",
    "tensor([1.5e8])": "tensor([1.5000e+08])",
    "tensor(1e10)": "tensor(1.0000e+10)",
    "tensor([-1.5, 2.0, -3.25])": "tensor([-1.5000,  2.0000, -3.2500])",
    "tensor([1.0, 2.0], dtype=tg.float64)": "tensor([1., 2.], dtype=tg.float64)",
    "tensor([1.1, 2.0], dtype=tg.float16)": "tensor([1.0996, 2.0000], dtype=tg.float16)",
    "tensor([1, 2], dtype=tg.int32)": "tensor([1, 2], dtype=tg.int32)",
    "tensor([1, 2], dtype=tg.uint8)": "tensor([1, 2], dtype=tg.uint8)",
    "tensor([1.0, 2.0], requires_grad=True)": "tensor([1., 2.], requires_grad=True)",
    "tensor(2.0, requires_grad=True) * 3": "tensor(6., grad_fn=<MulBackward0>)",
    "tensor([float('nan'), 1.5, float('inf'), -float('inf')])":
        "tensor([   nan, 1.5000,    inf,   -inf])",
    "tensor([float('inf'), 2.0])": "tensor([inf, 2.])",
    "tensor([-0.0])": "tensor([-0.])",
    "tensor([-0.0, 1.5])": "tensor([-0.0000, 1.5000])",
    "arange(12).reshape(3, 4)": "tensor([[ 0,  1,  2,  3],\n"
                                "        [ 4,  5,  6,  7],\n"
                                "        [ 8,  9, 10, 11]])",
    "arange(8.).reshape(2, 2, 2) / 4": "tensor([[[0.0000, 0.2500],\n"
                                       "         [0.5000, 0.7500]],\n"
                                       "\n"
                                       "        [[1.0000, 1.2500],\n"
                                       "         [1.5000, 1.7500]]])",
    "arange(1001)": "tensor([   0,    1,    2,  ...,  998,  999, 1000])",
    "arange(10000).reshape(100, 100)": "tensor([[   0,    1,    2,  ...,   97,   98,   99],\n"
                                       "        [ 100,  101,  102,  ...,  197,  198,  199],\n"
                                       "        [ 200,  201,  202,  ...,  297,  298,  299],\n"
                                       "        ...,\n"
                                       "        [9700, 9701, 9702,  ..., 9797, 9798, 9799],\n"
                                       "        [9800, 9801, 9802,  ..., 9897, 9898, 9899],\n"
                                       "        [9900, 9901, 9902,  ..., 9997, 9998, 9999]])",
    "arange(16.) / 3": "tensor([0.0000, 0.3333, 0.6667, 1.0000, 1.3333, 1.6667, 2.0000, 2.3333, "
                       "2.6667,\n        3.0000, 3.3333, 3.6667, 4.0000, 4.3333, 4.6667, "
                       "5.0000])",
}


@pytest.mark.parametrize("expression", list(EXPECTED))
def test_repr_is_pytorchs(expression: str) -> None:
    t = eval("tg." + expression, {"tg": tg})
    assert repr(t) == EXPECTED[expression]
    assert str(t) == repr(t)


@pytest.mark.parametrize("expression", list(EXPECTED))
def test_repr_agrees_with_pytorch(expression: str) -> None:
    torch = pytest.importorskip("torch")
    theirs = eval("torch." + expression.replace("tg.", "torch."), {"torch": torch})
    assert as_tg(repr(theirs)) == EXPECTED[expression]


def test_summarised_from_more_than_threshold_elements() -> None:
    assert repr(tg.arange(1000)).count("...") == 0  # 1000 elements: all of them
    assert repr(tg.arange(1001)).count("...") == 1
    text = repr(tg.arange(3000.).reshape(10, 10, 30) / 3)  # a summarised 3-D layout
    assert text.startswith("tensor([[[0.0000e+00, 3.3333e-01, 6.6667e-01,  ..., 9.0000e+00,\n"
                           "          9.3333e+00, 9.6667e+00],\n")
    assert "\n\n        ...,\n\n        [[7.0000e+02," in text
    assert text.endswith("9.9967e+02]]])")


@pytest.mark.parametrize("expression", [
    "arange(3000.).reshape(10, 10, 30) / 3", "arange(2000.).reshape(40, 50)",
    "arange(100) * 1000003", "arange(40.) / 3", "arange(30.).reshape(1, 30)",
    "arange(48).reshape(2, 2, 3, 4)", "tensor([[1e-8, 1.0], [3.0, -4.0]])",
    "tensor([12345.678, 0.5])", "tensor([100000.5])", "linspace(0, 1, 7)",
    "tensor([float('nan')])", "tensor(-0.0)", "tensor([0.0, 0.0])", "tensor(True)",
    "tensor([[1., 2.], [3., 4.]], dtype=M.float64, requires_grad=True)",
    "ones(3, 30, dtype=M.float16)", "randn(5, 5).abs() * 0",
])
def test_more_layouts_agree_with_pytorch(expression: str) -> None:
    torch = pytest.importorskip("torch")
    theirs = eval("torch." + expression.replace("M.", "torch."), {"torch": torch})
    ours = eval("tg." + expression.replace("M.", "tg."), {"tg": tg})
    assert repr(ours) == as_tg(repr(theirs))


PRINT_OPTIONS = [dict(precision=2), dict(precision=6), dict(threshold=5),
                 dict(edgeitems=1, threshold=5), dict(edgeitems=0, threshold=5),
                 dict(linewidth=40), dict(sci_mode=True), dict(sci_mode=False),
                 dict(profile="short"), dict(profile="full")]
OPTION_CASES = ["arange(10)", "arange(10.) / 3", "tensor([1e-5, 1.0])",
                "arange(24.).reshape(2, 3, 4) * 1.5", "tensor(2.5)",
                "arange(2000).reshape(2, 1000)",
                "zeros(0, 2)", "tensor([float('nan'), 1e-7])", "ones(3, 30, dtype=M.float64)"]


@pytest.mark.parametrize("options", PRINT_OPTIONS, ids=str)
def test_set_printoptions_as_pytorch(options: dict) -> None:
    torch = pytest.importorskip("torch")
    torch.set_printoptions(**options)
    set_printoptions(**options)
    for expression in OPTION_CASES:
        theirs = eval("torch." + expression.replace("M.", "torch."), {"torch": torch})
        ours = eval("tg." + expression.replace("M.", "tg."), {"tg": tg})
        assert repr(ours) == as_tg(repr(theirs)), expression


def test_set_printoptions_fixed_cases() -> None:
    set_printoptions(precision=2)
    assert repr(tg.tensor([1.12345])) == "tensor([1.12])"
    set_printoptions(threshold=5)
    assert repr(tg.arange(10)) == "tensor([0, 1, 2,  ..., 7, 8, 9])"
    set_printoptions(sci_mode=True)  # (the other options stay as they were)
    assert repr(tg.tensor([1.5])) == "tensor([1.50e+00])"
    set_printoptions(profile="default")
    assert repr(tg.tensor([1.12345])) == "tensor([1.1235])"
    assert (PRINT_OPTS.precision, PRINT_OPTS.threshold, PRINT_OPTS.edgeitems,
            PRINT_OPTS.linewidth, PRINT_OPTS.sci_mode) == (4, 1000, 3, 80, None)
    set_printoptions(profile="full")
    assert "..." not in repr(tg.arange(2000))
    with pytest.raises(ValueError, match="set_printoptions.*profile.*'long'"):
        set_printoptions(profile="long")


def test_suffixes_go_to_a_new_line_when_too_long() -> None:
    t = tg.arange(16., dtype=tg.float64).reshape(2, 8) / 3
    assert repr(t) == (
        "tensor([[0.0000, 0.3333, 0.6667, 1.0000, 1.3333, 1.6667, 2.0000, 2.3333],\n"
        "        [2.6667, 3.0000, 3.3333, 3.6667, 4.0000, 4.3333, 4.6667, 5.0000]],\n"
        "       dtype=tg.float64)")


def test_device_and_autograd_suffixes(device: str) -> None:
    t = tg.tensor([1.5, 2.0], device=device, requires_grad=True)
    where = "" if device == "cpu" else f", device='{tg.Device(device)}'"
    assert repr(t) == f"tensor([1.5000, 2.0000]{where}, requires_grad=True)"
    assert repr(tg.tensor([1, 2], dtype=tg.int32, device=device)) == (
        f"tensor([1, 2]{where}, dtype=tg.int32)")
    assert repr(tg.zeros(0, 3, device=device)) == f"tensor([]{where}, size=(0, 3))"
    if device == "cuda":
        assert repr(tg.ones(1, device=device)) == "tensor([1.], device='cuda:0')"


@pytest.mark.skipif(not hasattr(tg, "set_default_device"), reason="no tg.set_default_device")
def test_the_default_device_is_not_printed(device: str) -> None:
    tg.set_default_device(device)
    try:
        shown = repr(tg.ones(1, device=device))
        cpu = repr(tg.ones(1, device="cpu"))
    finally:
        tg.set_default_device("cpu")
    assert shown == ("tensor([1.])" if device in ("cpu", "cuda") else
                     f"tensor([1.], device='{device}')")  # (cuda:1 is not CUDA's current GPU)
    assert cpu == ("tensor([1.])" if device == "cpu" else "tensor([1.], device='cpu')")


@pytest.mark.skipif(not hasattr(tg, "set_default_dtype"), reason="no tg.set_default_dtype")
def test_the_default_dtype_is_not_printed() -> None:
    tg.set_default_dtype(tg.float64)
    try:
        shown = [repr(tg.tensor([1.5, 2.0])), repr(tg.tensor([1.5], dtype=tg.float32)),
                 repr(tg.zeros(0)), repr(tg.zeros(0, dtype=tg.float32))]
    finally:
        tg.set_default_dtype(tg.float32)
    assert shown == ["tensor([1.5000, 2.0000])", "tensor([1.5000], dtype=tg.float32)",
                     "tensor([])", "tensor([], dtype=tg.float32)"]  # PyTorch's output


def test_grad_fn_suffix() -> None:
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    assert repr(y) == "tensor([2., 4.], grad_fn=<MulBackward0>)"
    assert repr(x.detach()) == "tensor([1., 2.])"
    with tg.no_grad():
        assert repr(x * 2) == "tensor([2., 4.])"


def test_parameter_repr() -> None:
    p = tg.nn.Parameter(tg.tensor([1.0, 2.0]))
    assert repr(p) == "Parameter containing:\ntensor([1., 2.], requires_grad=True)"


# ---------------------------------------------------------------------------------------------
# tg.Size
# ---------------------------------------------------------------------------------------------
def test_shape_and_size_are_a_Size(device: str) -> None:
    x = tg.zeros(2, 3, device=device)
    assert isinstance(x.shape, Size) and isinstance(x.size(), Size) and isinstance(x.shape, tuple)
    assert repr(x.shape) == str(x.shape) == "tg.Size([2, 3])" == f"{x.size()}"
    assert repr(tg.tensor(1.0).shape) == "tg.Size([])"
    assert x.shape == (2, 3) and x.shape != [2, 3] and hash(x.shape) == hash((2, 3))
    assert x.size(1) == 3 and type(x.size(-1)) is int and type(x.shape[0]) is int
    assert x.shape.numel() == 6 and Size([]).numel() == 1


def test_size_operations_give_a_Size() -> None:
    s = tg.zeros(2, 3, 4).shape
    for result, expected in ((s[1:], (3, 4)), (s + (5,), (2, 3, 4, 5)), ((1,) + s, (1, 2, 3, 4)),
                             (s * 2, (2, 3, 4, 2, 3, 4))):
        assert type(result) is Size and result == expected
    a, b, c = s
    assert (a, b, c) == (2, 3, 4) and list(s) == [2, 3, 4]
    assert tg.zeros(s).shape == s and tg.ones(*s).shape == s  # a Size is a size argument
    assert repr(Size([5])) == "tg.Size([5])"


def test_size_agrees_with_pytorch() -> None:
    torch = pytest.importorskip("torch")
    ours, theirs = tg.zeros(2, 3, 4).shape, torch.zeros(2, 3, 4).shape
    for expression in ("s", "s[1:]", "s[::2]", "s + (5,)", "(1,) + s", "s * 2"):
        assert repr(eval(expression, {"s": ours})) == as_tg(repr(eval(expression, {"s": theirs})))
    assert ours.numel() == theirs.numel() and (ours == (2, 3, 4)) == (theirs == (2, 3, 4))


# ---------------------------------------------------------------------------------------------
# dtypes
# ---------------------------------------------------------------------------------------------
DTYPES = [("float32", 4, True, True), ("float64", 8, True, True), ("float16", 2, True, True),
          ("int64", 8, False, True), ("int32", 4, False, True), ("uint8", 1, False, False),
          ("bool", 1, False, False)]


@pytest.mark.parametrize(("name", "itemsize", "floating", "signed"), DTYPES)
def test_dtype_objects(name: str, itemsize: int, floating: bool, signed: bool) -> None:
    d = getattr(tg, name)
    assert isinstance(d, tg_dtype)
    assert repr(d) == str(d) == f"tg.{name}" and f"{d}" == f"tg.{name}"
    assert d.itemsize == itemsize and d.is_floating_point is floating and d.is_signed is signed
    assert not d.is_complex
    assert tg.zeros(2, dtype=d).dtype is d and tg.zeros(2, dtype=d).dtype == d
    assert copy.copy(d) is d and copy.deepcopy(d) is d
    assert d == np.dtype(name) and np.dtype(name) == d and np.dtype(d) == np.dtype(name)
    assert d != "float32" and hash(d) == hash(np.dtype(name))
    assert np.zeros(2, dtype=d).dtype == np.dtype(name)  # NumPy takes it as a dtype


def test_dtype_aliases_and_comparisons(device: str) -> None:
    x = tg.ones(2, device=device)
    assert x.dtype == tg.float32 and x.dtype is tg.float32 and x.dtype != tg.float64
    assert tg.float is tg.float32 and tg.double is tg.float64 and tg.long is tg.int64
    assert tg.half is tg.float16 and x.double().dtype is tg.float64
    assert tg.tensor([1, 2], device=device).dtype is tg.int64
    assert tg.tensor([True], device=device).dtype is tg.bool
    assert x.to("float64").dtype is tg.float64 and x.to(np.float16).dtype is tg.float16
    assert {tg.float32: "a"}[x.dtype] == "a" and x.dtype in (tg.float32, tg.float64)
    assert x.is_floating_point() and not tg.tensor([1]).is_floating_point()
    assert x.array.dtype == np.float32  # the backend array keeps NumPy's dtype


def test_dtypes_agree_with_pytorch() -> None:
    torch = pytest.importorskip("torch")
    for name, *_ in DTYPES:
        ours, theirs = getattr(tg, name), getattr(torch, name)
        assert repr(ours) == as_tg(repr(theirs)) and str(ours) == as_tg(str(theirs))
        assert (ours.itemsize, ours.is_floating_point, ours.is_signed) == (
            theirs.itemsize, theirs.is_floating_point, theirs.is_signed)
        assert as_tg(str(torch.zeros(1, dtype=theirs).dtype)) == str(tg.zeros(1, dtype=ours).dtype)


# ---------------------------------------------------------------------------------------------
# max(dim) / min(dim): named tuples
# ---------------------------------------------------------------------------------------------
def test_max_min_return_named_tuples(device: str) -> None:
    x = tg.tensor([[1, 5], [3, 2]], device=device)
    result = tg.max(x, 1)
    assert isinstance(result, return_types.max) and isinstance(result, tuple)
    values, indices = result
    assert values.tolist() == [5, 3] and indices.tolist() == [1, 0]
    assert result[0] is result.values and result[1] is result.indices and len(result) == 2
    where = "" if device == "cpu" else f", device='{tg.Device(device)}'"
    assert repr(result) == (f"tg.return_types.max(\nvalues=tensor([5, 3]{where}),\n"
                            f"indices=tensor([1, 0]{where}))")
    low = x.float().min(dim=0, keepdim=True)
    assert type(low) is return_types.min
    assert str(low) == (f"tg.return_types.min(\nvalues=tensor([[1., 2.]]{where}),\n"
                        f"indices=tensor([[0, 1]]{where}))")


def test_max_min_named_tuples_agree_with_pytorch() -> None:
    torch = pytest.importorskip("torch")
    for expression in ("M.max(M.tensor([[1, 5], [3, 2]]), 1)",
                       "M.tensor([[1., 5.], [3., 2.]]).min(0)",
                       "M.tensor([[1., 5.], [3., 2.]]).max(dim=1, keepdim=True)",
                       "M.tensor(1.).max(0)"):
        theirs = eval(expression.replace("M.", "torch."), {"torch": torch})
        ours = eval(expression.replace("M.", "tg."), {"tg": tg})
        assert repr(ours) == as_tg(repr(theirs))


# ---------------------------------------------------------------------------------------------
# formatting and Python numbers
# ---------------------------------------------------------------------------------------------
def test_format_and_conversions_of_one_element_tensors() -> None:
    loss = tg.tensor(0.123456)
    assert f"{loss:.3f}" == "0.123" and f"{tg.tensor(7):5d}" == "    7"
    assert format(tg.tensor(3.5), "") == "3.5" and f"{tg.tensor(2)}" == "2"
    assert format(tg.tensor([3.5]), "") == "tensor([3.5000])"
    assert "%d" % tg.tensor(7) == "7" and "%d" % tg.tensor(2.7) == "2"
    assert "%.2f" % tg.tensor(3.14159) == "3.14" and "%.2f" % tg.tensor([2.5]) == "2.50"
    assert int(tg.tensor([3])) == 3 and float(tg.tensor([[2]])) == 2.0
    assert bool(tg.tensor([0.5])) is True and bool(tg.tensor(0)) is False
    assert list(range(tg.tensor(3))) == [0, 1, 2] and list(range(tg.tensor([2]))) == [0, 1]
    assert [10, 20, 30][tg.tensor(2)] == 30 and tg.tensor(True).__index__() == 1
    assert "%x" % tg.tensor(255) == "ff"


def test_conversion_errors() -> None:
    with pytest.raises(TypeError, match="unsupported format string passed to Tensor.__format__"):
        f"{tg.tensor([1.0, 2.0]):.3f}"
    with pytest.raises(TypeError, match="unsupported format string passed to Tensor.__format__"):
        f"{tg.tensor([1.0]):.3f}"
    with pytest.raises(ValueError, match="only one element tensors can be converted"):
        int(tg.tensor([1, 2]))
    with pytest.raises(ValueError, match="only one element tensors can be converted"):
        "%.2f" % tg.tensor([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"Boolean value of Tensor with more than one value "
                                           r"is ambiguous.*\[2\]"):
        bool(tg.tensor([1, 2]))
    with pytest.raises(RuntimeError, match="Boolean value of Tensor with no values is ambiguous"):
        bool(tg.tensor([]))
    with pytest.raises(TypeError, match=r"only integer tensors of a single element can be "
                                        r"converted to an index.*tg\.float32"):
        range(tg.tensor(2.0))
    with pytest.raises(TypeError, match="only integer tensors of a single element"):
        [1, 2, 3][tg.tensor([0, 1])]


def test_conversions_agree_with_pytorch() -> None:
    torch = pytest.importorskip("torch")
    for lib_code in ('f"{M.tensor(3.14159):.3f}"', 'format(M.tensor([3.5]), "")',
                     '"%d" % M.tensor([7])', '"%.2f" % M.tensor(2.5)', "list(range(M.tensor(3)))",
                     'format(M.tensor(3.5), "")', "M.tensor(True).__index__()"):
        theirs = eval(lib_code.replace("M.", "torch."), {"torch": torch})
        ours = eval(lib_code.replace("M.", "tg."), {"tg": tg})
        assert ours == (as_tg(theirs) if isinstance(theirs, str) else theirs), lib_code
    for lib_code in ('f"{M.tensor([1.0, 2.0]):.3f}"', "int(M.tensor([1, 2]))",
                     "bool(M.tensor([1, 2]))", "bool(M.tensor([]))", "range(M.tensor(2.0))"):
        with pytest.raises(Exception) as theirs:
            eval(lib_code.replace("M.", "torch."), {"torch": torch})
        with pytest.raises(theirs.type):
            eval(lib_code.replace("M.", "tg."), {"tg": tg})


# ---------------------------------------------------------------------------------------------
# top-level functions take Tensors only
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("call", "name", "kind"), [
    (lambda: tg.max(np.array([1, 2]), 0), "max", "numpy.ndarray"),
    (lambda: tg.sum([1, 2]), "sum", "list"),
    (lambda: tg.exp(1.0), "exp", "float"),
    (lambda: tg.exp(np.float32(1)), "exp", "numpy.float32"),
    (lambda: tg.mean(None), "mean", "NoneType"),
    (lambda: tg.argmax(np.zeros(3)), "argmax", "numpy.ndarray"),
])
def test_top_level_functions_refuse_what_is_not_a_tensor(call, name: str, kind: str) -> None:
    with pytest.raises(TypeError, match=rf"^{name}\(\): argument 'input' \(position 1\) must be "
                                        rf"Tensor, not {kind.replace('.', '[.]')}$"):
        call()


def test_top_level_functions_still_work(device: str) -> None:
    x = tg.tensor([[1.0, 5.0], [3.0, 2.0]], device=device)
    assert tg.max(x, 1).values.tolist() == [5.0, 3.0] and tg.sum(x).item() == 11.0
    assert tg.max(input=x).item() == 5.0 and math.isclose(tg.exp(x)[0, 0].item(), math.e,
                                                          rel_tol=1e-6)


def test_top_level_type_errors_agree_with_pytorch() -> None:
    torch = pytest.importorskip("torch")
    for name, value in (("sum", [1, 2]), ("exp", 1.0), ("exp", np.float32(1)), ("mean", None)):
        with pytest.raises(TypeError) as theirs:
            getattr(torch, name)(value)
        with pytest.raises(TypeError) as ours:
            getattr(tg, name)(value)
        assert str(ours.value) == str(theirs.value)


@pytest.mark.skipif(not hasattr(tg, "set_printoptions"),
                    reason="tinygrad_edu/__init__.py does not export the printing names yet")
def test_top_level_names() -> None:
    assert tg.set_printoptions is set_printoptions and tg.Size is Size
    assert tg.dtype is tg_dtype and tg.return_types is return_types
