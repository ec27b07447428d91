"""The overrides of ops/ (tinygrad_edu/fast/cpu/ops.py, fast/cuda/ops.py) agree with the
reference ops they replace: forward and backward, fast on vs off, float64 within 1e-12
relative and float32 within a few units in the last place, on every device (the emulated
"cuda" and "cuda:1" run the kernels' Python equivalents); and the reference itself passes
gradcheck in float64. A lint keeps kernels, environment reads and device checks out of ops/."""

from __future__ import annotations

import pathlib
import re

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import fast
from tinygrad_edu.ops import conv

OPS_OVERRIDES = [o for o in fast.registry() if o.target.__module__.startswith("tinygrad_edu.ops")]
FLOAT32_ULPS = 4


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


OPS_DIR = pathlib.Path(conv.__file__).parent
FORBIDDEN = re.compile(r"ElementwiseKernel|use_kernels|kernels_enabled|device_scope|os\.environ"
                       r"|is_grad_enabled|type\([a-z_]+\) is (not )?np\.ndarray|cupy")


NOT_YET_MOVED = {  # GPU-only / BLAS-only variants still in the reference (issue 15, to do)
    "conv.py": "conv2d's one-GEMM and stride-1 input-gradient variants for CuPy arrays",
    "linalg.py": "matmul_arrays' row-major copy for OpenBLAS (fast/cpu/nn.py imports it)",
}


def lint_case(path: pathlib.Path):
    if path.name in NOT_YET_MOVED:
        return pytest.param(path, id=path.name, marks=pytest.mark.xfail(
            strict=True, reason=NOT_YET_MOVED[path.name]))
    return pytest.param(path, id=path.name)


@pytest.mark.parametrize("path", [lint_case(p) for p in sorted(OPS_DIR.glob("*.py"))])
def test_ops_hold_only_reference_code(path):
    found = [f"{path.name}:{number}: {line.strip()}"
             for number, line in enumerate(path.read_text().splitlines(), 1)
             if FORBIDDEN.search(line)]
    assert not found, "speed code belongs in tinygrad_edu/fast/:\n" + "\n".join(found)
