"""The overrides of ops/ (tinygrad_edu/fast/cpu/ops.py, fast/cuda/ops.py, fast/cuda/conv.py)
agree with the reference ops they replace: forward and backward, fast on vs off, float64
within 1e-12 relative and float32 within a few units in the last place (the convolutions,
which add in another order: of each result's scale), on every device (the emulated "cuda"
and "cuda:1" run the kernels' Python equivalents); and the reference itself passes
gradcheck in float64. (tests/fast/test_layering.py keeps speed code out of ops/, nn/, optim/.)"""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import fast
from tinygrad_edu.ops import conv

OPS_OVERRIDES = [o for o in fast.registry() if o.target.__module__.startswith("tinygrad_edu.ops")]
FLOAT32_ULPS = 4
# the GPU convolutions (fast/cuda/conv.py) add the same products as the reference in another
# order: float32 agrees to rounding of each result's scale, not to 4 ulps of every element
ADDS_IN_ANOTHER_ORDER = {conv.Conv2d, conv.Conv2dInputGrad, conv.Conv2dWeightGrad}


def override_id(override: fast.Override) -> str:
    only = "" if len(override.devices) > 1 else f"-{override.devices[0]}"
    return f"{override.kind}-{override.target.__name__}{only}"


def skip_unless_for(override: fast.Override, device: str) -> None:
    if device.split(":")[0] not in override.devices:
        pytest.skip(f"{override_id(override)} applies only to {override.devices}")


def run_op(op, arrays, options, device, dtype, upstream_seed=0):
    """Forward, then a backward of a fixed upstream gradient: (output, input grads) as NumPy."""
    inputs = [tg.tensor(a, dtype=dtype, device=device, requires_grad=True) for a in arrays]
    out = op.apply(*inputs, **options)
    rng = np.random.default_rng(upstream_seed)
    upstream = tg.tensor(rng.standard_normal(out.shape), dtype=dtype, device=device)
    grads = tg.autograd.grad(out, inputs, upstream)
    return [tg.backend.to_numpy(t.array) for t in [out, *grads]]


def assert_agree(fast_values, reference_values, dtype):
    for i, (a, b) in enumerate(zip(fast_values, reference_values)):
        what = "forward" if i == 0 else f"gradient of input {i - 1}"
        assert a.dtype == b.dtype and a.shape == b.shape, what
        if dtype == tg.float64:
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=0, err_msg=what)
        else:
            tolerance = FLOAT32_ULPS * np.spacing(np.maximum(np.abs(a), np.abs(b)))
            tolerance = np.maximum(tolerance, FLOAT32_ULPS * np.finfo(np.float32).tiny)
            bad = ~(np.abs(a - b) <= tolerance) & ~(np.isnan(a) & np.isnan(b))
            assert not bad.any(), f"{what}: {a[bad]} vs {b[bad]}"


def test_ops_registers_its_overrides():
    names = {override_id(o) for o in OPS_OVERRIDES}
    assert {"backward-Exp", "forward-Tanh-cuda", "backward-Tanh", "backward-Tanh-cuda",
            "forward-Sigmoid-cuda", "backward-Sigmoid", "backward-Sigmoid-cuda",
            "backward-Relu", "backward-Relu-cuda", "forward-MaxPool2d-cpu",
            "forward-MaxPool2d-cuda", "backward-MaxPool2d", "backward-MaxPool2d-cuda"} <= names


@pytest.mark.parametrize("dtype", [tg.float64, tg.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("override", OPS_OVERRIDES, ids=override_id)
def test_override_agrees_with_the_reference(override, dtype, device):
    skip_unless_for(override, device)
    arrays, options = override.sample(np.random.default_rng(0))
    with fast.on():
        fast_values = run_op(override.target, arrays, options, device, dtype)
    with fast.off():
        reference_values = run_op(override.target, arrays, options, device, dtype)
    if override.target in ADDS_IN_ANOTHER_ORDER:
        assert_close_to_scale(fast_values, reference_values, dtype)
    else:
        assert_agree(fast_values, reference_values, dtype)


NAN_CASES = {  # NaN passes the gradient through ReLU, and is the maximum of a pooling window
    "relu": lambda x: x.relu(),
    "tanh": lambda x: x.tanh(),
    "sigmoid": lambda x: x.sigmoid(),
    "max_pool_tiles": lambda x: tg.nn.functional.max_pool2d(x, 2),
    "max_pool_overlap": lambda x: tg.nn.functional.max_pool2d(x, 3, stride=2, padding=1),
    "max_pool_5x5": lambda x: tg.nn.functional.max_pool2d(x, 5, stride=1, padding=2),
}


@pytest.mark.parametrize("dtype", [tg.float64, tg.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("case", NAN_CASES)
def test_overrides_agree_with_nans_ties_and_zeros(case, dtype, device):
    x = np.random.default_rng(1).standard_normal((2, 2, 6, 6))
    x[0, 0, 0, :2] = 0.0  # a tie, and zeros
    x[1, 1, 2, 3] = np.nan

    def run():
        t = tg.tensor(x, dtype=dtype, device=device, requires_grad=True)
        out = NAN_CASES[case](t)
        upstream = tg.tensor(np.arange(out.numel()).reshape(out.shape) % 7 - 3.0,
                             dtype=dtype, device=device)
        (grad,) = tg.autograd.grad(out, [t], upstream)
        return [tg.backend.to_numpy(out.array), tg.backend.to_numpy(grad.array)]

    with fast.on():
        fast_values = run()
    with fast.off():
        reference_values = run()
    assert_agree(fast_values, reference_values, dtype)


def test_max_pool_nan_takes_the_window_and_ties_keep_the_first(device):
    """PyTorch's rule, fixed values: max_pool2d([[nan, 1], [1, 2]]) is nan with its gradient
    at the NaN; a tie sends the gradient to the first maximum."""
    for mode in (fast.on, fast.off):
        with mode():
            x = tg.tensor([[[[np.nan, 1.0, 3.0, 3.0], [1.0, 2.0, 0.0, 1.0]]]], device=device,
                          requires_grad=True)
            out = tg.nn.functional.max_pool2d(x, 2)
            out.sum().backward()
            values = tg.backend.to_numpy(out.array).ravel()
            assert np.isnan(values[0]) and values[1] == 3.0
            np.testing.assert_array_equal(tg.backend.to_numpy(x.grad.array),
                                          [[[[1, 0, 1, 0], [0, 0, 0, 0]]]])


GRADCHECKS = {
    "exp": lambda x: x.exp(),
    "tanh": lambda x: x.tanh(),
    "sigmoid": lambda x: x.sigmoid(),
    "relu": lambda x: (x + 0.05).relu(),
    "max_pool_overlap": lambda x: tg.nn.functional.max_pool2d(x, 3, stride=2, padding=1),
    "max_pool_tiles": lambda x: tg.nn.functional.max_pool2d(x, 2),
}


@pytest.mark.parametrize("case", GRADCHECKS)
def test_reference_gradcheck_and_gradgradcheck(case, device):
    x = tg.tensor(np.random.default_rng(2).standard_normal((1, 2, 4, 4)), dtype=tg.float64,
                  device=device, requires_grad=True)
    with fast.off():
        assert tg.autograd.gradcheck(GRADCHECKS[case], (x,))
        assert tg.autograd.gradgradcheck(GRADCHECKS[case], (x,))


def test_second_order_gradients_use_the_reference_with_fast_on(device):
    """create_graph records the reference backward (the overrides run only without a graph):
    d2/dx2 tanh(x) = -2 y (1 - y^2) and d2/dx2 sigmoid(x) = y (1 - y) (1 - 2 y)."""
    x = tg.tensor([-1.5, 0.0, 0.7], dtype=tg.float64, device=device, requires_grad=True)
    for f, second in ((lambda t: t.tanh(), lambda y: -2 * y * (1 - y * y)),
                      (lambda t: t.sigmoid(), lambda y: y * (1 - y) * (1 - 2 * y))):
        y = f(x)
        (g,) = tg.autograd.grad(y.sum(), [x], create_graph=True)
        (gg,) = tg.autograd.grad(g.sum(), [x])
        np.testing.assert_allclose(tg.backend.to_numpy(gg.array),
                                   second(tg.backend.to_numpy(y.array)), rtol=1e-12)


def test_cpu_max_pool_keeps_a_small_index():
    """The CPU override keeps int8 offsets (a quarter of the memory of int64)."""
    x = tg.tensor(np.zeros((1, 1, 4, 4)), requires_grad=True)
    with fast.on():
        out = tg.nn.functional.max_pool2d(x, 2)
    assert out.grad_fn.index.dtype == np.int8
    with fast.off():
        out = tg.nn.functional.max_pool2d(x, 2)
    assert out.grad_fn.index.dtype == np.int64


# ---------------------------------------------------------------------------------------------
# convolution and pooling: the GPU-only variants (fast/cuda/conv.py) for the options a
# network uses; with fast off (and on the CPU) the reference runs
# ---------------------------------------------------------------------------------------------
CONV_CASES = {  # weight (C_out, C_in/groups, kH, kW) and conv2d's options, input (2, 4, 7, 6)
    "stride1-pad1": ((6, 4, 3, 3), dict(stride=1, padding=1)),
    "stride1-pad0": ((6, 4, 3, 3), dict(stride=1, padding=0)),
    "stride2-pad1": ((6, 4, 3, 3), dict(stride=2, padding=1)),
    "stride2-pad0-5x5": ((5, 4, 5, 5), dict(stride=2, padding=0)),
    "stride1-dilation2-pad2": ((6, 4, 3, 3), dict(stride=1, padding=2, dilation=2)),
    "stride1-pad3": ((6, 4, 3, 3), dict(stride=1, padding=3)),  # pad > (k-1)d: the reference
    "stride1-groups2": ((6, 2, 3, 3), dict(stride=1, padding=1, groups=2)),
    "stride2-groups2": ((6, 2, 3, 3), dict(stride=2, padding=1, groups=2)),
    "stride1-1x1": ((3, 4, 1, 1), dict(stride=1, padding=0)),
}


def run_conv(weight_shape, options, device, dtype, bias=True):
    """conv2d forward and backward on fixed inputs: (y, dL/dx, dL/dW[, dL/db]) as NumPy."""
    rng = np.random.default_rng(7)
    x = tg.tensor(rng.standard_normal((2, 4, 7, 6)), dtype=dtype, device=device,
                  requires_grad=True)
    w = tg.tensor(rng.standard_normal(weight_shape), dtype=dtype, device=device,
                  requires_grad=True)
    b = tg.tensor(rng.standard_normal(weight_shape[0]), dtype=dtype, device=device,
                  requires_grad=True) if bias else None
    out = tg.nn.functional.conv2d(x, w, b, **options)
    upstream = tg.tensor(rng.standard_normal(out.shape), dtype=dtype, device=device)
    inputs = [x, w] + ([b] if bias else [])
    grads = tg.autograd.grad(out, inputs, upstream)
    return [tg.backend.to_numpy(t.array) for t in [out, *grads]]


def assert_close_to_scale(fast_values, reference_values, dtype):
    """Equal up to rounding: the GPU variants add the same products in another order, so the
    error is relative to each result's scale, not to each (possibly cancelled) element."""
    rtol = 1e-12 if dtype == tg.float64 else 2e-6
    for i, (a, b) in enumerate(zip(fast_values, reference_values)):
        what = "forward" if i == 0 else f"gradient of input {i - 1}"
        assert a.dtype == b.dtype and a.shape == b.shape, what
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * np.abs(b).max(), err_msg=what)


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no-bias"])
@pytest.mark.parametrize("dtype", [tg.float64, tg.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_fast_agrees_with_the_reference(case, dtype, bias, device):
    weight_shape, options = CONV_CASES[case]
    with fast.on():
        fast_values = run_conv(weight_shape, options, device, dtype, bias)
    with fast.off():
        reference_values = run_conv(weight_shape, options, device, dtype, bias)
    assert_close_to_scale(fast_values, reference_values, dtype)


def test_conv2d_second_order_gradients_with_fast_on(device):
    """With a graph of the backward recorded, the reference backward runs on the node the
    fast forward made (which kept its im2col matrix for the fast backward only)."""
    rng = np.random.default_rng(8)
    x = tg.tensor(rng.standard_normal((1, 2, 5, 5)), dtype=tg.float64, device=device,
                  requires_grad=True)
    w = tg.tensor(rng.standard_normal((3, 2, 3, 3)), dtype=tg.float64, device=device,
                  requires_grad=True)
    with fast.on():
        assert tg.autograd.gradgradcheck(
            lambda a, b: tg.nn.functional.conv2d(a, b, padding=1), (x, w))


@pytest.mark.parametrize("dtype", [tg.float64, tg.float32], ids=["float64", "float32"])
def test_pooling_fast_agrees_with_the_reference(dtype, device):
    """The cached divisor and averaging matrices give the reference's numbers."""
    functions = [
        lambda t: tg.nn.functional.avg_pool2d(t, 3, stride=2, padding=1,
                                              count_include_pad=False),
        lambda t: tg.nn.functional.avg_pool2d(t, 2, stride=1, padding=1),
        lambda t: tg.nn.functional.adaptive_avg_pool2d(t, (3, 2)),
        lambda t: tg.nn.functional.max_pool2d(t, 3, stride=2, padding=1, return_indices=True),
    ]
    x = np.random.default_rng(9).standard_normal((2, 2, 7, 5))

    def run(f):
        t = tg.tensor(x, dtype=dtype, device=device, requires_grad=True)
        out = f(t)
        out, extra = (out[0], [out[1]]) if isinstance(out, tuple) else (out, [])
        (grad,) = tg.autograd.grad(out, [t], tg.ones_like(out))
        return [tg.backend.to_numpy(a.array) for a in [out, grad, *extra]]

    for f in functions:
        with fast.on():
            fast_values = run(f)
        with fast.off():
            reference_values = run(f)
        assert_close_to_scale(fast_values, reference_values, dtype)


def test_pool_constants_move_to_the_gpu_once(monkeypatch, device):
    """With fast on, the avg-pool divisor and the adaptive-pool matrices are copied to the
    input's GPU (in its dtype) once per geometry, not in every step: a host-to-device copy
    waits for the GPU's queue. (The reference makes them in each forward.)"""
    if device == "cpu":
        pytest.skip("on the CPU there is no copy to save")
    moved: list = []
    to_device = tg.backend.to_device

    def counting(array, target):
        moved.append((array.shape, array.dtype, target))
        return to_device(array, target)

    monkeypatch.setattr(tg.backend, "to_device", counting)
    tg.backend.device_constant.cache_clear()
    x = tg.randn(1, 2, 7, 5, device=device, requires_grad=True)
    with fast.on():
        for _ in range(3):
            F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False).sum().backward()
            F.adaptive_avg_pool2d(x, (3, 2)).sum().backward()
        assert sorted(moved, key=str) == sorted(
            [((4, 3), np.dtype("float32"), tg.Device(device)),
             ((3, 7), np.dtype("float32"), tg.Device(device)),
             ((2, 5), np.dtype("float32"), tg.Device(device))], key=str)
        F.avg_pool2d(x.double(), 3, stride=2, padding=1, count_include_pad=False)
        assert moved[-1][1] == np.dtype("float64")  # a new dtype is a new constant
