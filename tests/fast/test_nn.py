"""nn.functional's overrides (fast/cpu/nn.py, fast/cuda/nn.py) agree with the reference
(issue 15): forward values and gradients with fast on and off, through the public functions,
for the options the ops take; float64 within 1e-12 relative, float32 within a few ulp. And
float64 gradchecks of the reference (fast off)."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import fast
from tinygrad_edu.nn.functional import BatchNorm, CrossEntropy, Linear

NN_OVERRIDES = [o for o in fast.registry() if o.target in (Linear, BatchNorm, CrossEntropy)]
TOLERANCE = {np.float64: 1e-12, np.float32: 4 * np.finfo(np.float32).eps}


def test_the_nn_overrides_are_registered():
    kinds = {(o.kind, o.target) for o in NN_OVERRIDES}
    assert {("backward", Linear), ("backward", BatchNorm), ("backward", CrossEntropy),
            ("forward", BatchNorm), ("forward", CrossEntropy)} <= kinds


def run(function, arrays, device, dtype, seed=1):
    """function(*tensors) and the gradients of its inputs under a random upstream gradient."""
    inputs = [tg.tensor(a.astype(dtype), device=device, requires_grad=True) for a in arrays]
    out = function(*inputs)
    upstream = np.random.default_rng(seed).standard_normal(out.shape)
    out.backward(tg.tensor(upstream, dtype=out.dtype, device=device))
    return [tg.backend.to_numpy(t.array) for t in [out] + [x.grad for x in inputs]]


def assert_agree(function, arrays, device, dtype):
    with fast.on():
        got = run(function, arrays, device, dtype)
    with fast.off():
        expected = run(function, arrays, device, dtype)
    rtol = TOLERANCE[dtype]
    for what, a, b in zip(["forward"] + [f"grad {i}" for i in range(len(arrays))], got,
                          expected):
        assert a.dtype == b.dtype == dtype, what
        scale = np.abs(b).max() if b.size else 1.0
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * scale, err_msg=what)


DTYPES = [np.float64, np.float32]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bias", [True, False])
def test_linear(device, dtype, bias):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((2, 3, 5)), rng.standard_normal((4, 5))]
    if bias:
        arrays.append(rng.standard_normal(4))
    assert_agree(F.linear, arrays, device, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("affine", ["both", "weight", "none"])
@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 5), (4, 3, 2, 2)])
def test_batch_norm(device, dtype, training, affine, shape):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(shape)]
    if affine != "none":
        arrays.append(rng.standard_normal(3))
    if affine == "both":
        arrays.append(rng.standard_normal(3))
    running = [rng.standard_normal(3), rng.uniform(0.5, 2.0, 3)]

    def bn(x, *wb):
        mean, var = (tg.tensor(a.astype(dtype), device=device) for a in running)
        return F.batch_norm(x, mean, var, *wb, training=training)

    assert_agree(bn, arrays, device, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("which", ["both", "mean only", "var only"])
def test_batch_norm_running_statistics(device, dtype, which):
    """Training updates the running mean and variance in place: the GPU's kernel (fast on)
    and update_running_stats (fast off) give the same values, over three steps."""
    rng = np.random.default_rng(0)
    batches = [rng.standard_normal((6, 3, 2, 2)) * 2 + 1 for _ in range(3)]

    def three_steps():
        mean = None if which == "var only" else tg.zeros(3, dtype=dtype, device=device)
        var = None if which == "mean only" else tg.ones(3, dtype=dtype, device=device)
        for b in batches:
            F.batch_norm(tg.tensor(b.astype(dtype), device=device), mean, var,
                         training=True, momentum=0.3)
        return [None if t is None else tg.backend.to_numpy(t.array) for t in (mean, var)]

    with fast.on():
        got = three_steps()
    with fast.off():
        expected = three_steps()
    for a, b in zip(got, expected):
        if b is None:
            assert a is None
        else:
            np.testing.assert_allclose(a, b, rtol=TOLERANCE[dtype], atol=0)
            assert not np.allclose(b, np.ones(3)) and not np.allclose(b, np.zeros(3))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
@pytest.mark.parametrize("ignore", [False, True, "all"])
def test_cross_entropy(device, dtype, reduction, weighted, label_smoothing, ignore):
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((6, 4)) * 3
    labels = np.array([0, 3, 2, 1, 2, 3])
    if ignore is True:
        labels[[1, 4]] = -1
    elif ignore == "all":
        labels[:] = -1
    weight = rng.uniform(0.5, 2.0, 4) if weighted else None

    def ce(x):
        w = None if weight is None else tg.tensor(weight.astype(dtype), device=device)
        return F.cross_entropy(x, tg.tensor(labels, device=device), weight=w, ignore_index=-1,
                               reduction=reduction, label_smoothing=label_smoothing)

    if ignore == "all" and reduction == "mean":  # nan loss, zero gradient in both
        with fast.on():
            out, grad = run(ce, [logits], device, dtype)
        assert np.isnan(out) and not grad.any()
        return
    assert_agree(ce, [logits], device, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_with_spatial_dims(device, dtype):
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((2, 5, 3, 3))
    labels = tg.tensor(rng.integers(0, 5, (2, 3, 3)), device=device)
    assert_agree(lambda x: F.cross_entropy(x, labels), [logits], device, dtype)


def test_create_graph_runs_the_reference_backward_on_a_fast_forward(device):
    """With a graph of the backward recorded, the reference backward runs on the node the
    (fast) forward made: the second derivative is the same with fast on and off."""
    rng = np.random.default_rng(0)
    x0 = rng.standard_normal((4, 3))
    labels = tg.tensor([0, 2, 1, 2], device=device)
    results = []
    for mode in (fast.on, fast.off):
        with mode():
            x = tg.tensor(x0, device=device, requires_grad=True)
            (g,) = tg.autograd.grad(F.cross_entropy(x, labels), [x], create_graph=True)
            (gg,) = tg.autograd.grad((g * g).sum(), [x])
            results.append(tg.backend.to_numpy(gg.array))
    np.testing.assert_allclose(results[0], results[1], rtol=1e-12)


def test_gradchecks_of_the_reference():
    rng = np.random.default_rng(0)

    def t(shape):
        return tg.tensor(rng.standard_normal(shape), dtype=tg.float64, requires_grad=True)

    labels = tg.tensor([0, 3, -100, 1, 2])
    weight = tg.tensor(rng.uniform(0.5, 2.0, 4), dtype=tg.float64)
    running = (tg.zeros(3, dtype=tg.float64), tg.ones(3, dtype=tg.float64))
    with fast.off():
        assert tg.autograd.gradcheck(F.linear, (t((2, 5)), t((3, 5)), t(3)))
        assert tg.autograd.gradcheck(
            lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
            (t((5, 3, 2)), t(3), t(3)))
        assert tg.autograd.gradcheck(
            lambda x, w, b: F.batch_norm(x, *running, w, b, training=False),
            (t((5, 3)), t(3), t(3)))
        for smoothing in (0.0, 0.3):
            assert tg.autograd.gradcheck(
                lambda x: F.cross_entropy(x, labels, weight=weight,
                                          label_smoothing=smoothing), (t((5, 4)),))
        assert tg.autograd.gradcheck(lambda x: F.nll_loss(x, labels, weight=weight),
                                     (t((5, 4)),))
