"""conv2d and pooling: forward against naive NumPy loops (and PyTorch where installed),
float64 gradchecks over Hypothesis-generated geometries, second derivatives, ties, NaNs,
errors and a float32 training step, on every device (the `device` fixture); and the hot paths
(forward + backward of each op) without a device-to-host synchronisation on the GPU."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import autograd
from tinygrad_edu.autograd import gradcheck, gradgradcheck
from tinygrad_edu.ops import conv as conv_ops


def _pad_np(x: np.ndarray, ph: int, pw: int, value: float = 0.0) -> np.ndarray:
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=value)


def conv2d_reference(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, stride: tuple,
                     padding: tuple, dilation: tuple, groups: int) -> np.ndarray:
    """A plain loop over output pixels: y[n, o, i, j] = sum W * x_pad window."""
    n, c_in, h, wd = x.shape
    c_out, c_g, kh, kw = w.shape
    xp_ = _pad_np(x, *padding)
    h_out = (h + 2 * padding[0] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    w_out = (wd + 2 * padding[1] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    out = np.zeros((n, c_out, h_out, w_out))
    per_group = c_out // groups
    for o in range(c_out):
        g = o // per_group
        for i in range(h_out):
            for j in range(w_out):
                rows = i * stride[0] + dilation[0] * np.arange(kh)
                cols = j * stride[1] + dilation[1] * np.arange(kw)
                patch = xp_[:, g * c_g:(g + 1) * c_g][:, :, rows][:, :, :, cols]
                out[:, o, i, j] = (patch * w[o]).sum(axis=(1, 2, 3))
        if b is not None:
            out[:, o] += b[o]
    return out


def pool_reference(x: np.ndarray, kernel: tuple, stride: tuple, padding: tuple,
                   dilation: tuple, mode: str) -> np.ndarray:
    """Max (padding -inf) or average (padding 0, divisor kH*kW) over each window."""
    value = -np.inf if mode == "max" else 0.0
    xp_ = _pad_np(x, *padding, value=value)
    h_out = (x.shape[2] + 2 * padding[0] - dilation[0] * (kernel[0] - 1) - 1) // stride[0] + 1
    w_out = (x.shape[3] + 2 * padding[1] - dilation[1] * (kernel[1] - 1) - 1) // stride[1] + 1
    out = np.zeros(x.shape[:2] + (h_out, w_out))
    for i in range(h_out):
        for j in range(w_out):
            rows = i * stride[0] + dilation[0] * np.arange(kernel[0])
            cols = j * stride[1] + dilation[1] * np.arange(kernel[1])
            patch = xp_[:, :, rows][:, :, :, cols]
            out[:, :, i, j] = patch.max(axis=(2, 3)) if mode == "max" else patch.mean(axis=(2, 3))
    return out


def _t(array: np.ndarray, requires_grad: bool = False, device: str = "cpu") -> tg.Tensor:
    return tg.tensor(array, dtype=tg.float64, requires_grad=requires_grad, device=device)


def _host(t: tg.Tensor) -> np.ndarray:
    """A tensor's values as a NumPy array, whatever its device."""
    return tg.backend.to_numpy(t.detach().array)


@st.composite
def conv_cases(draw: st.DrawFn) -> dict:
    groups = draw(st.sampled_from([1, 2]))
    case = {
        "n": draw(st.integers(1, 2)),
        "c_in": groups * draw(st.integers(1, 2)),
        "c_out": groups * draw(st.integers(1, 2)),
        "h": draw(st.integers(3, 7)),
        "w": draw(st.integers(3, 7)),
        "kernel": (draw(st.integers(1, 3)), draw(st.integers(1, 3))),
        "stride": (draw(st.integers(1, 2)), draw(st.integers(1, 3))),
        "padding": (draw(st.integers(0, 2)), draw(st.integers(0, 1))),
        "dilation": (draw(st.integers(1, 2)), draw(st.integers(1, 2))),
        "groups": groups,
        "bias": draw(st.booleans()),
        "seed": draw(st.integers(0, 2**16)),
    }
    for size, k, p, d in zip((case["h"], case["w"]), case["kernel"], case["padding"],
                             case["dilation"]):
        assume(size + 2 * p - d * (k - 1) >= 1)
    return case


def _conv_arrays(case: dict) -> tuple:
    rng = np.random.default_rng(case["seed"])
    x = rng.standard_normal((case["n"], case["c_in"], case["h"], case["w"]))
    w = rng.standard_normal((case["c_out"], case["c_in"] // case["groups"]) + case["kernel"])
    b = rng.standard_normal(case["c_out"]) if case["bias"] else None
    return x, w, b


def _conv_kwargs(case: dict) -> dict:
    return {k: case[k] for k in ("stride", "padding", "dilation", "groups")}


# ---------------------------------------------------------------------------------------------
# conv2d
# ---------------------------------------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(case=conv_cases())
def test_conv2d_forward_matches_loop_reference(case: dict, device: str) -> None:
    x, w, b = _conv_arrays(case)
    kw = _conv_kwargs(case)
    out = F.conv2d(_t(x, device=device), _t(w, device=device),
                   None if b is None else _t(b, device=device), **kw)
    ref = conv2d_reference(x, w, b, **kw)
    assert out.shape == ref.shape and out.device == tg.Device(device)
    np.testing.assert_allclose(_host(out), ref, rtol=1e-10, atol=1e-10)


@settings(max_examples=20, deadline=None)
@given(case=conv_cases())
def test_conv2d_gradcheck(case: dict, device: str) -> None:
    x, w, b = _conv_arrays(case)
    kw = _conv_kwargs(case)
    inputs = [_t(a, True, device) for a in (x, w, b) if a is not None]
    assert gradcheck(lambda *a: F.conv2d(*a, **kw), inputs)


@pytest.mark.parametrize("kw", [
    {},
    {"stride": 2, "padding": 1},
    {"stride": (2, 1), "padding": (1, 0), "dilation": (1, 2), "groups": 2},
])
def test_conv2d_gradgradcheck(kw: dict, device: str) -> None:
    rng = np.random.default_rng(0)
    x = _t(rng.standard_normal((1, 2, 4, 4)), True, device)
    w = _t(rng.standard_normal((2, 2 // kw.get("groups", 1), 2, 2)), True, device)
    b = _t(rng.standard_normal(2), True, device)
    assert gradgradcheck(lambda a, c, d: F.conv2d(a, c, d, **kw), (x, w, b))


def test_conv2d_helper_functions_are_each_others_derivatives(device: str) -> None:
    """Conv2dInputGrad and Conv2dWeightGrad themselves pass gradcheck (third-order safety)."""
    rng = np.random.default_rng(1)
    geo = conv_ops.ConvGeometry((2, 3), (2, 1), (1, 1), (1, 2), 1, (5, 6), (3, 4))
    g = _t(rng.standard_normal((2, 3, 3, 4)), True, device)
    w = _t(rng.standard_normal((3, 2, 2, 3)), True, device)
    x = _t(rng.standard_normal((2, 2, 5, 6)), True, device)
    assert gradcheck(lambda a, c: conv_ops.Conv2dInputGrad.apply(a, c, geo=geo), (g, w))
    assert gradcheck(lambda a, c: conv_ops.Conv2dWeightGrad.apply(a, c, geo=geo,
                                                                  kernel_shape=(3, 2, 2, 3)),
                     (x, g))


@pytest.mark.filterwarnings("ignore:Using padding=.same.")
def test_conv2d_matches_torch(device: str) -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    for kw in ({}, {"stride": 2, "padding": 1}, {"padding": (2, 1), "dilation": 2, "groups": 3},
               {"padding": "same"}, {"padding": "same", "dilation": (1, 2)},
               {"padding": "valid", "stride": (1, 2)}):
        x = rng.standard_normal((2, 6, 9, 8))
        w = rng.standard_normal((6, 6 // kw.get("groups", 1), 4, 3))
        b = rng.standard_normal(6)
        g = rng.standard_normal(torch.nn.functional.conv2d(
            torch.tensor(x), torch.tensor(w), **kw).shape)
        tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
        ref = torch.nn.functional.conv2d(tx, tw, tb, **kw)
        ref.backward(torch.tensor(g))
        X, W, B = (_t(a, True, device) for a in (x, w, b))
        out = F.conv2d(X, W, B, **kw)
        out.backward(_t(g, device=device))
        np.testing.assert_allclose(out.cpu().detach().numpy(), ref.detach().numpy(), atol=1e-10)
        for mine, theirs in ((X, tx), (W, tw), (B, tb)):
            np.testing.assert_allclose(mine.grad.cpu().numpy(), theirs.grad.numpy(), atol=1e-9)


def test_conv2d_unbatched_input(device: str) -> None:
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((2, 5, 5)), rng.standard_normal((3, 2, 3, 3))
    out = F.conv2d(_t(x, device=device), _t(w, device=device), padding=1)
    assert out.shape == (3, 5, 5)
    np.testing.assert_allclose(_host(out), conv2d_reference(x[None], w, None, (1, 1), (1, 1),
                                                             (1, 1), 1)[0], atol=1e-12)


def test_conv2d_skips_input_gradient_for_first_layer(monkeypatch: pytest.MonkeyPatch,
                                                     device: str) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("the input gradient was computed although nobody needs it")

    monkeypatch.setattr(conv_ops.Conv2dInputGrad, "apply", fail)  # (any forward of it)
    rng = np.random.default_rng(4)
    x = _t(rng.standard_normal((2, 1, 6, 6)), device=device)
    w = _t(rng.standard_normal((4, 1, 3, 3)), True, device)
    F.conv2d(x, w, padding=1).sum().backward()
    assert x.grad is None
    # d(sum of outputs)/dW[o, 0, kh, kw] = sum of the input pixels that offset ever sees
    padded = _pad_np(_host(x), 1, 1)
    for kh, kw in itertools.product(range(3), range(3)):
        np.testing.assert_allclose(_host(w.grad)[:, 0, kh, kw],
                                   padded[:, 0, kh:kh + 6, kw:kw + 6].sum(), rtol=1e-10)


def test_conv2d_keeps_float32(device: str) -> None:
    rng = np.random.default_rng(5)
    x = tg.tensor(rng.standard_normal((2, 3, 6, 6)), dtype=tg.float32, requires_grad=True,
                  device=device)
    w = tg.tensor(rng.standard_normal((4, 3, 3, 3)), dtype=tg.float32, requires_grad=True,
                  device=device)
    b = tg.zeros(4, requires_grad=True, device=device)
    out = F.conv2d(x, w, b, stride=2, padding=1)
    out.sum().backward()
    assert out.dtype == tg.float32
    assert x.grad.dtype == w.grad.dtype == b.grad.dtype == tg.float32


def test_conv2d_errors(device: str) -> None:
    def zeros(*shape: int, dtype: object = tg.float32) -> tg.Tensor:
        return tg.zeros(*shape, dtype=dtype, device=device)

    x = zeros(2, 3, 8, 8)
    w = zeros(16, 1, 3, 3)
    with pytest.raises(ValueError, match=r"conv2d: input has 3 channels but weight expects 1 "
                                         r"\(weight shape \(16, 1, 3, 3\)\)"):
        F.conv2d(x, w)
    with pytest.raises(ValueError, match="3-D .* or 4-D"):
        F.conv2d(zeros(3, 8), w)
    with pytest.raises(ValueError, match="groups=2 must divide the 3 output channels"):
        F.conv2d(zeros(1, 4, 5, 5), zeros(3, 2, 3, 3), groups=2)
    with pytest.raises(ValueError, match="input has 3 channels but weight expects 4"):
        F.conv2d(x, zeros(4, 2, 3, 3), groups=2)
    with pytest.raises(ValueError, match="output size .* too small"):
        F.conv2d(zeros(1, 1, 2, 2), zeros(1, 1, 3, 3))
    with pytest.raises(TypeError, match="input is tg.float64 but weight is tg.float32"):
        F.conv2d(zeros(1, 1, 4, 4, dtype=tg.float64), zeros(1, 1, 3, 3))
    with pytest.raises(ValueError, match="stride must be >= 1"):
        F.conv2d(zeros(1, 1, 4, 4), zeros(1, 1, 3, 3), stride=0)
    with pytest.raises(ValueError, match="'same' is not supported for strided"):
        F.conv2d(zeros(1, 1, 4, 4), zeros(1, 1, 3, 3), stride=2, padding="same")
    with pytest.raises(ValueError, match=r"bias must have shape \(1,\)"):
        F.conv2d(zeros(1, 1, 4, 4), zeros(1, 1, 3, 3), zeros(2))
    with pytest.raises(TypeError, match="floating point"):
        F.conv2d(zeros(1, 1, 4, 4, dtype=tg.int64), zeros(1, 1, 3, 3))
    if device != "cpu":
        with pytest.raises(RuntimeError, match=r"Conv2d: .*same device.*cpu and cuda"):
            F.conv2d(tg.zeros(1, 1, 4, 4), zeros(1, 1, 3, 3))


def test_im2col_col2im_are_adjoint(device: str) -> None:
    """<im2col(x), c> == <x, col2im(c)> for a strided, dilated, padded geometry; the arrays
    stay on the device (CuPy's as_strided on the GPU)."""
    rng = np.random.default_rng(6)
    geo = conv_ops.ConvGeometry((3, 2), (2, 3), (1, 2), (2, 1), 1, (7, 8), (2, 4))
    x = rng.standard_normal((2, 3, 7, 8))
    # array helpers run inside an op's forward, on the GPU its inputs are on (as autograd
    # runs each op): here likewise
    with tg.backend.device_scope(tg.Device(device)):
        cols = conv_ops.im2col(_t(x, device=device).array, geo)
        assert tg.backend.device_of(cols) == tg.Device(device)
        c = rng.standard_normal(cols.shape)
        back = conv_ops.col2im(_t(c, device=device).array.reshape(2, 3, 3, 2, 2, 4), x.shape,
                               geo.kernel, geo.stride, geo.padding, geo.dilation)
    cols, back = tg.backend.to_numpy(cols), tg.backend.to_numpy(back)
    assert math.isclose(float((cols * c).sum()), float((x * back).sum()), rel_tol=1e-12)


# ---------------------------------------------------------------------------------------------
# pooling
# ---------------------------------------------------------------------------------------------
@st.composite
def pool_cases(draw: st.DrawFn, dilation: bool = True) -> dict:
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dil = (draw(st.integers(1, 2)), draw(st.integers(1, 2))) if dilation else (1, 1)
    padding = tuple(draw(st.integers(0, ((k - 1) * d + 1) // 2)) for k, d in zip(kernel, dil))
    case = {
        "shape": (draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(3, 7)),
                  draw(st.integers(3, 7))),
        "kernel": kernel,
        "stride": (draw(st.integers(1, 3)), draw(st.integers(1, 3))),
        "padding": padding,
        "dilation": dil,
        "seed": draw(st.integers(0, 2**16)),
    }
    for size, k, p, d in zip(case["shape"][2:], kernel, padding, dil):
        assume(size + 2 * p - d * (k - 1) >= 1)
    return case


@settings(max_examples=25, deadline=None)
@given(case=pool_cases())
def test_max_pool2d_forward_and_gradcheck(case: dict, device: str) -> None:
    x = np.random.default_rng(case["seed"]).standard_normal(case["shape"])
    kw = {k: case[k] for k in ("stride", "padding", "dilation")}
    out = F.max_pool2d(_t(x, device=device), case["kernel"], **kw)
    np.testing.assert_array_equal(_host(out), pool_reference(x, case["kernel"], mode="max",
                                                              **kw))
    assert gradcheck(lambda a: F.max_pool2d(a, case["kernel"], **kw), (_t(x, True, device),))


@settings(max_examples=25, deadline=None)
@given(case=pool_cases(dilation=False))
def test_avg_pool2d_forward_and_gradcheck(case: dict, device: str) -> None:
    x = np.random.default_rng(case["seed"]).standard_normal(case["shape"])
    kw = {k: case[k] for k in ("stride", "padding")}
    out = F.avg_pool2d(_t(x, device=device), case["kernel"], **kw)
    np.testing.assert_allclose(_host(out), pool_reference(x, case["kernel"], dilation=(1, 1),
                                                          mode="avg", **kw), atol=1e-12)
    assert gradcheck(lambda a: F.avg_pool2d(a, case["kernel"], **kw), (_t(x, True, device),))


def test_pool_stride_defaults_to_kernel(device: str) -> None:
    x = _t(np.arange(16.0).reshape(1, 1, 4, 4), device=device)
    assert F.max_pool2d(x, 2).tolist() == [[[[5.0, 7.0], [13.0, 15.0]]]]
    assert F.avg_pool2d(x, 2).tolist() == [[[[2.5, 4.5], [10.5, 12.5]]]]


def test_max_pool2d_ties_go_to_first_maximum(device: str) -> None:
    x = _t(np.ones((1, 1, 4, 4)), True, device)
    F.max_pool2d(x, 2).sum().backward()
    expected = np.zeros((4, 4))
    expected[::2, ::2] = 1
    np.testing.assert_array_equal(_host(x.grad)[0, 0], expected)
    # overlapping windows (stride 1): every window picks its own top-left pixel
    y = _t(np.ones((1, 1, 3, 3)), True, device)
    F.max_pool2d(y, 2, stride=1).sum().backward()
    np.testing.assert_array_equal(_host(y.grad)[0, 0], [[1, 1, 0], [1, 1, 0], [0, 0, 0]])


def test_max_pool2d_overlapping_windows_add_up(device: str) -> None:
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 1, 1] = 5.0
    X = _t(x, True, device)
    F.max_pool2d(X, 2, stride=1).sum().backward()  # all four windows pick the centre
    assert _host(X.grad)[0, 0, 1, 1] == 4.0
    assert _host(X.grad).sum() == 4.0


@pytest.mark.parametrize("kw", [
    {"kernel_size": 2},
    {"kernel_size": 3, "stride": 2, "padding": 1},
    {"kernel_size": (3, 2), "stride": (1, 2), "padding": (1, 0), "dilation": (2, 1)},
    {"kernel_size": 2, "stride": 2, "ceil_mode": True},
    {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
])
def test_max_pool2d_matches_torch(kw: dict, device: str) -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 3, 7, 6))
    x[0, 0, :2, :2] = 1.5  # a tie inside one window
    tx = torch.tensor(x, requires_grad=True)
    ref, ref_idx = torch.nn.functional.max_pool2d(tx, return_indices=True, **kw)
    g = rng.standard_normal(ref.shape)
    ref.backward(torch.tensor(g))
    X = _t(x, True, device)
    out, idx = F.max_pool2d(X, return_indices=True, **kw)
    out.backward(_t(g, device=device))
    np.testing.assert_array_equal(out.cpu().detach().numpy(), ref.detach().numpy())
    np.testing.assert_array_equal(idx.cpu().numpy(), ref_idx.numpy())
    assert idx.dtype == tg.int64
    np.testing.assert_allclose(X.grad.cpu().numpy(), tx.grad.numpy(), atol=1e-12)


def _nan_input() -> np.ndarray:
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    x[0, 0, 0, 1] = x[0, 0, 3, 2] = x[0, 0, 2, 2] = np.nan
    return x


def test_max_pool2d_nan_is_the_maximum_as_in_torch(device: str) -> None:
    """A NaN wins its window (PyTorch's `val > max or isnan(val)`: the last NaN in scan order);
    its gradient goes there. The expected values are PyTorch's (torch 2.x, checked below)."""
    X = _t(_nan_input(), True, device)
    out, idx = F.max_pool2d(X, 2, return_indices=True)
    out.sum().backward()
    np.testing.assert_array_equal(_host(out)[0, 0], [[np.nan, 7.0], [13.0, np.nan]])
    np.testing.assert_array_equal(_host(idx)[0, 0], [[1, 7], [13, 14]])
    np.testing.assert_array_equal(_host(X.grad)[0, 0], [[0, 1, 0, 0], [0, 0, 0, 1],
                                                         [0, 0, 0, 0], [0, 1, 1, 0]])
    # overlapping windows: a NaN wins every window it lies in
    out = F.max_pool2d(_t(_nan_input(), device=device), 3, stride=1, padding=1)
    np.testing.assert_array_equal(_host(out), pool_reference(_nan_input(), (3, 3), (1, 1),
                                                             (1, 1), (1, 1), "max"))


def test_max_pool2d_nan_propagates_like_torch(device: str) -> None:
    torch = pytest.importorskip("torch")
    x = _nan_input()
    for kw in ({"kernel_size": 2}, {"kernel_size": 3, "stride": 1, "padding": 1,
                                    "ceil_mode": True}):
        tx = torch.tensor(x, requires_grad=True)
        ref, ref_idx = torch.nn.functional.max_pool2d(tx, return_indices=True, **kw)
        ref.sum().backward()
        X = _t(x, True, device)
        out, idx = F.max_pool2d(X, return_indices=True, **kw)
        out.sum().backward()
        np.testing.assert_array_equal(_host(out), ref.detach().numpy())  # NaNs compare equal
        np.testing.assert_array_equal(_host(idx), ref_idx.numpy())
        np.testing.assert_array_equal(_host(X.grad), tx.grad.numpy())


@pytest.mark.parametrize("kw", [
    {"kernel_size": 3, "stride": 2, "padding": 1},
    {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False},
    {"kernel_size": 2, "stride": 2, "ceil_mode": True},
    {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
    {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True, "count_include_pad": False},
    {"kernel_size": (2, 3), "stride": 1, "divisor_override": 4},
])
def test_avg_pool2d_options_match_torch(kw: dict, device: str) -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 2, 7, 6))
    tx = torch.tensor(x, requires_grad=True)
    ref = torch.nn.functional.avg_pool2d(tx, **kw)
    g = rng.standard_normal(ref.shape)
    ref.backward(torch.tensor(g))
    X = _t(x, True, device)
    out = F.avg_pool2d(X, **kw)
    out.backward(_t(g, device=device))
    np.testing.assert_allclose(out.cpu().detach().numpy(), ref.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(X.grad.cpu().numpy(), tx.grad.numpy(), atol=1e-12)


@pytest.mark.parametrize("kw", [
    {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True, "count_include_pad": False},
    {"kernel_size": 2, "stride": 1, "divisor_override": 3},
])
def test_avg_pool2d_options_gradcheck(kw: dict, device: str) -> None:
    x = _t(np.random.default_rng(9).standard_normal((1, 2, 5, 6)), True, device)
    assert gradcheck(lambda a: F.avg_pool2d(a, **kw), (x,))


def _adaptive_reference(x: np.ndarray, out_hw: tuple) -> np.ndarray:
    h, w = x.shape[2:]
    out = np.zeros(x.shape[:2] + out_hw)
    for i in range(out_hw[0]):
        for j in range(out_hw[1]):
            r0, r1 = (i * h) // out_hw[0], math.ceil((i + 1) * h / out_hw[0])
            c0, c1 = (j * w) // out_hw[1], math.ceil((j + 1) * w / out_hw[1])
            out[:, :, i, j] = x[:, :, r0:r1, c0:c1].mean(axis=(2, 3))
    return out


@pytest.mark.parametrize("in_hw,output_size,out_hw", [
    ((6, 6), 1, (1, 1)),
    ((6, 4), 2, (2, 2)),
    ((7, 5), 3, (3, 3)),
    ((5, 7), (2, 4), (2, 4)),
    ((5, 7), (None, 3), (5, 3)),
    ((3, 4), (5, 6), (5, 6)),  # upsampling: bins overlap
])
def test_adaptive_avg_pool2d(in_hw: tuple, output_size: object, out_hw: tuple,
                             device: str) -> None:
    x = np.random.default_rng(10).standard_normal((2, 2) + in_hw)
    out = F.adaptive_avg_pool2d(_t(x, device=device), output_size)
    assert out.shape == (2, 2) + out_hw and out.device == tg.Device(device)
    np.testing.assert_allclose(_host(out), _adaptive_reference(x, out_hw), atol=1e-12)
    assert gradcheck(lambda a: F.adaptive_avg_pool2d(a, output_size),
                     (_t(x[:1, :1], True, device),))


def test_adaptive_avg_pool2d_matches_torch(device: str) -> None:
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(11).standard_normal((2, 3, 9, 7))
    for size in (1, 2, 4, (3, 5), (9, 2)):
        ref = torch.nn.functional.adaptive_avg_pool2d(torch.tensor(x), size)
        out = F.adaptive_avg_pool2d(_t(x, device=device), size)
        np.testing.assert_allclose(_host(out), ref.numpy(), atol=1e-12)


@pytest.mark.parametrize("fn", [
    lambda a: F.max_pool2d(a, 2, stride=1),
    lambda a: F.max_pool2d(a, 3, stride=2, padding=1),
    lambda a: F.avg_pool2d(a, 2, stride=1, padding=1),
    lambda a: F.adaptive_avg_pool2d(a, (2, 3)),
])
def test_pool_gradgradcheck(fn: object, device: str) -> None:
    x = _t(np.random.default_rng(12).standard_normal((1, 2, 4, 5)), True, device)
    assert gradgradcheck(fn, (x,))


def test_pool_unbatched_input(device: str) -> None:
    x = np.random.default_rng(13).standard_normal((2, 4, 4))
    X = _t(x, device=device)
    assert F.max_pool2d(X, 2).shape == (2, 2, 2)
    assert F.avg_pool2d(X, 2).shape == (2, 2, 2)
    assert F.adaptive_avg_pool2d(X, 3).shape == (2, 3, 3)
    out, idx = F.max_pool2d(X, 2, return_indices=True)
    assert idx.shape == (2, 2, 2) and idx.device == tg.Device(device)
    np.testing.assert_array_equal(_host(out),
                                  pool_reference(x[None], (2, 2), (2, 2), (0, 0), (1, 1),
                                                 "max")[0])


def test_pool_errors(device: str) -> None:
    x = tg.zeros(1, 1, 4, 4, device=device)
    with pytest.raises(ValueError, match="padding should be at most half"):
        F.max_pool2d(x, 2, padding=2)
    with pytest.raises(ValueError, match="3-D .* or 4-D"):
        F.avg_pool2d(tg.zeros(4, 4, device=device), 2)
    with pytest.raises(ValueError, match="output size .* too small"):
        F.max_pool2d(tg.zeros(1, 1, 2, 2, device=device), 3)
    with pytest.raises(ValueError, match="kernel_size must be >= 1"):
        F.avg_pool2d(x, 0)
    with pytest.raises(TypeError, match="kernel_size must be an int or a pair"):
        F.max_pool2d(x, "2")
    with pytest.raises(ValueError, match="output_size must be >= 1"):
        F.adaptive_avg_pool2d(x, 0)
    with pytest.raises(TypeError, match="floating point"):
        F.max_pool2d(tg.zeros(1, 1, 4, 4, dtype=tg.int64, device=device), 2)
    with pytest.raises(ValueError, match="divisor_override must be a non-zero int"):
        F.avg_pool2d(x, 2, divisor_override=0)


# ---------------------------------------------------------------------------------------------
# a whole training step in float32
# ---------------------------------------------------------------------------------------------
def test_cnn_training_step_keeps_every_array_float32(device: str) -> None:
    """conv -> relu -> maxpool -> conv -> relu -> avgpool -> linear -> cross_entropy with
    float32 inputs and int64 labels: no op output or gradient is ever float64."""
    rng = np.random.default_rng(14)
    x = tg.tensor(rng.standard_normal((4, 1, 12, 12)), dtype=tg.float32, device=device)
    y = tg.tensor(rng.integers(0, 10, 4), device=device)
    assert y.dtype == tg.int64
    params = [tg.tensor(rng.standard_normal(s) * 0.3, dtype=tg.float32, requires_grad=True,
                        device=device)
              for s in ((8, 1, 3, 3), (8,), (16, 8, 3, 3), (16,), (10, 16 * 3 * 3), (10,))]
    seen: list = []

    def observer(name: str, phase: str, start: float, end: float, data: object) -> None:
        dtype = getattr(data, "dtype", None)  # the array's own dtype: no copy to the host
        if dtype is not None and dtype.kind == "f":
            seen.append((name, phase, dtype))

    autograd._state.observers.append(observer)
    try:
        h = F.max_pool2d(F.relu(F.conv2d(x, params[0], params[1], padding=1)), 2)
        h = F.avg_pool2d(F.relu(F.conv2d(h, params[2], params[3], padding=1)), 2)
        logits = F.linear(h.flatten(1), params[4], params[5])
        loss = F.cross_entropy(logits, y)
        loss.backward()
    finally:
        autograd._state.observers.remove(observer)
    assert loss.dtype == tg.float32
    assert {phase for _, phase, _ in seen} == {"forward", "backward"}
    bad = [(name, phase, str(dtype)) for name, phase, dtype in seen if dtype != np.float32]
    assert not bad
    for p in params:
        assert p.grad is not None and p.grad.dtype == tg.float32
        assert p.grad.device == tg.Device(device)
        assert np.isfinite(_host(p.grad)).all()


# ---------------------------------------------------------------------------------------------
# hot paths without a device-to-host synchronisation
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fn", [
    pytest.param(lambda x, w, b: F.conv2d(x, w, b, padding=1), id="conv-bias"),
    pytest.param(lambda x, w, b: F.conv2d(x, w, stride=2, padding=(1, 0), dilation=(1, 2)),
                 id="conv-nobias-strided"),
    pytest.param(lambda x, w, b: F.conv2d(x, w[:, :2], b, groups=2, padding="same"),
                 id="conv-groups-same"),
    pytest.param(lambda x, w, b: F.conv2d(x, w[:, :, :2, :2], padding="same"),
                 id="conv-same-even-kernel"),
    pytest.param(lambda x, w, b: F.max_pool2d(x, 2), id="maxpool"),
    pytest.param(lambda x, w, b: F.max_pool2d(x, 3, stride=2, padding=1, ceil_mode=True),
                 id="maxpool-overlap-ceil"),
    pytest.param(lambda x, w, b: F.max_pool2d(x, 2, stride=1, dilation=2,
                                              return_indices=True)[0], id="maxpool-indices"),
    pytest.param(lambda x, w, b: F.avg_pool2d(x, 2), id="avgpool"),
    pytest.param(lambda x, w, b: F.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True,
                                              count_include_pad=False), id="avgpool-divisor"),
    pytest.param(lambda x, w, b: F.avg_pool2d(x, 2, stride=1, divisor_override=3),
                 id="avgpool-override"),
    pytest.param(lambda x, w, b: F.adaptive_avg_pool2d(x, 1), id="adaptive-global"),
    pytest.param(lambda x, w, b: F.adaptive_avg_pool2d(x, (3, 2)), id="adaptive-divisible"),
    pytest.param(lambda x, w, b: F.adaptive_avg_pool2d(x, (4, 5)), id="adaptive-matrices"),
])
def test_forward_and_backward_do_not_sync(fn: object, device: str, no_host_sync: object) -> None:
    """Forward, backward and a double backward stay on the device: no value is read back."""
    x = tg.randn(2, 4, 6, 6, device=device, requires_grad=True)
    w = tg.randn(4, 4, 3, 3, device=device, requires_grad=True)
    b = tg.randn(4, device=device, requires_grad=True)
    with no_host_sync():
        out = fn(x, w, b)
        (gx,) = tg.autograd.grad((out * out).sum(), (x,), create_graph=True)
        (gx * gx).sum().backward()
    assert out.device == gx.device == x.grad.device == tg.Device(device)
    assert np.isfinite(_host(out)).all() and np.isfinite(_host(x.grad)).all()
