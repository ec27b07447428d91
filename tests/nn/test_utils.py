"""nn.utils: gradient clipping, parameters <-> vector, parameter counting, on every device;
clipping reads nothing back from the GPU (the total norm stays a device tensor, as PyTorch)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_edu as tg
import tinygrad_edu.nn as nn
from tinygrad_edu.nn.utils import (
    clip_grad_norm_,
    clip_grad_value_,
    count_parameters,
    parameters_to_vector,
    vector_to_parameters,
)


def params_with_grads(grads: list[np.ndarray], dtype=np.float32,
                      device: str = "cpu") -> list[nn.Parameter]:
    params = []
    for g in grads:
        p = nn.Parameter(tg.zeros(*g.shape, dtype=dtype, device=device))
        p.grad = tg.tensor(g.astype(dtype), device=device)
        params.append(p)
    return params


def _np(t: tg.Tensor) -> np.ndarray:
    """A tensor's values as a host NumPy array, from any device."""
    return tg.backend.to_numpy(t.detach().array)


GRADS = [np.array([[3.0, -4.0], [0.5, 0.0]]), np.array([12.0, -1.5, 2.0])]


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
def test_clip_grad_norm_returns_total_norm_and_scales(norm_type, device, no_host_sync):
    params = params_with_grads(GRADS, np.float64, device)
    grads = [p.grad for p in params]
    flat = np.concatenate([g.ravel() for g in GRADS])
    total = np.linalg.norm(flat, ord=norm_type)
    max_norm = 2.0
    with no_host_sync():
        result = clip_grad_norm_(params, max_norm, norm_type=norm_type)
    assert isinstance(result, tg.Tensor) and result.shape == ()
    assert result.device == tg.Device(device) and result.dtype == tg.float64
    assert result.item() == pytest.approx(total, rel=1e-12)
    coef = max_norm / (total + 1e-6)
    for p, g, before in zip(params, GRADS, grads):
        assert p.grad is before  # scaled in place
        np.testing.assert_allclose(_np(p.grad), g * coef, rtol=1e-12)
    clipped = np.concatenate([_np(p.grad).ravel() for p in params])
    assert np.linalg.norm(clipped, ord=norm_type) == pytest.approx(max_norm, rel=1e-5)


def test_clip_grad_norm_below_the_limit_changes_nothing(device, no_host_sync):
    params = params_with_grads(GRADS, device=device)
    with no_host_sync():
        total = clip_grad_norm_(params, max_norm=100.0)
    assert total.dtype == tg.float32 and total.device == tg.Device(device)
    assert total.item() == pytest.approx(np.linalg.norm(np.concatenate(
        [g.ravel() for g in GRADS])), rel=1e-6)
    for p, g in zip(params, GRADS):
        np.testing.assert_array_equal(_np(p.grad), g.astype(np.float32))


def test_clip_grad_norm_skips_missing_grads_and_accepts_a_single_tensor(device):
    p = nn.Parameter(tg.zeros(2, device=device))
    p.grad = tg.tensor([3.0, 4.0], device=device)
    no_grad = nn.Parameter(tg.zeros(3, device=device))
    assert clip_grad_norm_([p, no_grad], 1.0).item() == pytest.approx(5.0)
    np.testing.assert_allclose(_np(p.grad), [0.6, 0.8], rtol=1e-5)
    p.grad = tg.tensor([3.0, 4.0], device=device)
    assert clip_grad_norm_(p, 10.0).item() == pytest.approx(5.0)
    p.grad = tg.zeros(0, device=device)  # an empty gradient has norm 0
    assert clip_grad_norm_(p, 10.0).item() == 0.0
    assert clip_grad_norm_([no_grad], 1.0).item() == 0.0
    with pytest.raises(TypeError, match="model.parameters"):
        clip_grad_norm_(nn.Linear(2, 2), 1.0)


def test_clip_grad_norm_nonfinite(device, no_host_sync):
    p = nn.Parameter(tg.zeros(2, device=device))
    p.grad = tg.tensor([float("nan"), 1.0], device=device)
    with pytest.raises(RuntimeError, match=r"clip_grad_norm_: the total norm of order 2.0 of "
                                           r"the gradients is non-finite \(nan\)"):
        clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
    np.testing.assert_array_equal(_np(p.grad), [np.nan, 1.0])  # the failed call changed nothing
    with no_host_sync():  # not asked to check: nothing is read back, and (as PyTorch) the
        total = clip_grad_norm_([p], 1.0)  # gradients become nan
    assert math.isnan(total.item()) and np.isnan(_np(p.grad)).all()
    p.grad = tg.tensor([float("inf"), 1.0], device=device)
    with pytest.raises(RuntimeError, match=r"non-finite \(inf\)"):
        clip_grad_norm_([p], 1.0, error_if_nonfinite=True)


@given(hnp.arrays(np.float64, st.integers(1, 6), elements=st.floats(-100, 100)),
       hnp.arrays(np.float64, (2, 3), elements=st.floats(-100, 100)),
       st.floats(0.1, 50.0), st.sampled_from([1.0, 2.0, math.inf]))
def test_clip_grad_norm_matches_pytorch(device, g1, g2, max_norm, norm_type):
    torch = pytest.importorskip("torch")
    params = params_with_grads([g1, g2], np.float64, device)
    tparams = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in (g1, g2)]
    for tp, g in zip(tparams, (g1, g2)):
        tp.grad = torch.from_numpy(g.copy())
    total = clip_grad_norm_(params, max_norm, norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(tparams, max_norm, norm_type)
    assert total.item() == pytest.approx(ttotal.item(), rel=1e-12, abs=1e-12)
    for p, tp in zip(params, tparams):
        np.testing.assert_allclose(_np(p.grad), tp.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_clip_grad_value(device, no_host_sync):
    params = params_with_grads(GRADS, device=device)
    with no_host_sync():
        assert clip_grad_value_(params, 1.0) is None
    for p, g in zip(params, GRADS):
        np.testing.assert_array_equal(_np(p.grad), np.clip(g, -1, 1).astype(np.float32))
        assert p.grad.device == tg.Device(device)
    with pytest.raises(ValueError, match="non-negative"):
        clip_grad_value_(params, -1.0)


def test_clip_after_a_real_backward(device, no_host_sync):
    tg.manual_seed(0)
    model = nn.Linear(10, 5).to(device)
    x = tg.randn(8, 10, device=device)
    with no_host_sync():  # a training step's forward, backward and clipping
        (model(x) * 100).sum().backward()
    before = math.sqrt(sum(float((p.grad * p.grad).sum()) for p in model.parameters()))
    with no_host_sync():
        total = clip_grad_norm_(model.parameters(), 1.0)
    assert total.device == tg.Device(device)
    assert total.item() == pytest.approx(before, rel=1e-5)
    after = math.sqrt(sum(float((p.grad * p.grad).sum()) for p in model.parameters()))
    assert after == pytest.approx(1.0, rel=1e-4)


def test_parameters_to_vector_round_trip(device, no_host_sync):
    tg.manual_seed(1)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2, bias=False)).to(device)
    with no_host_sync():
        vec = parameters_to_vector(model.parameters())
    assert vec.shape == (3 * 4 + 4 + 4 * 2,) and vec.device == tg.Device(device)
    expected = np.concatenate([_np(p).ravel() for p in model.parameters()])
    np.testing.assert_array_equal(_np(vec), expected)
    new = tg.arange(vec.shape[0], dtype=tg.float32, device=device)
    weight, data = model[0].weight, model[0].weight.array
    with no_host_sync():
        vector_to_parameters(new, model.parameters())
    assert model[0].weight is weight and weight.array is data and weight.requires_grad
    np.testing.assert_array_equal(_np(parameters_to_vector(model.parameters())), _np(new))
    np.testing.assert_array_equal(_np(model[2].weight), np.arange(16, 24).reshape(2, 4))
    with pytest.raises(ValueError, match="has 23 elements but the parameters have 24"):
        vector_to_parameters(tg.zeros(23, device=device), model.parameters())
    with pytest.raises(TypeError, match="Tensor"):
        vector_to_parameters(np.zeros(24), model.parameters())


def test_parameters_to_vector_is_differentiable(device):
    a, b = nn.Parameter(tg.ones(2, 2, device=device)), nn.Parameter(tg.ones(3, device=device))
    (parameters_to_vector([a, b]) * tg.arange(7, dtype=tg.float32, device=device)).sum().backward()
    np.testing.assert_array_equal(_np(a.grad), [[0, 1], [2, 3]])
    np.testing.assert_array_equal(_np(b.grad), [4, 5, 6])
    assert tg.autograd.gradcheck(lambda u, v: parameters_to_vector([u, v]) * 2.0,
                                 (tg.randn(2, 2, dtype=tg.float64, device=device,
                                           requires_grad=True),
                                  tg.randn(3, dtype=tg.float64, device=device,
                                           requires_grad=True)))


def test_parameters_on_two_devices_are_refused():
    if not tg.cuda.is_available():
        pytest.skip("needs a CUDA device (or the emulator) besides the CPU")
    params = [nn.Parameter(tg.ones(2)), nn.Parameter(tg.ones(2, device="cuda"))]
    with pytest.raises(TypeError, match="parameters_to_vector: found parameters on different "
                                        "devices: cpu, cuda:0"):
        parameters_to_vector(params)
    with pytest.raises(TypeError, match="vector_to_parameters: found parameters on different"):
        vector_to_parameters(tg.zeros(4), params)


def test_count_parameters():
    model = nn.Sequential(nn.Flatten(), nn.Linear(3072, 16), nn.ReLU(), nn.Linear(16, 10))
    assert count_parameters(model) == 49_338
    assert count_parameters(model.parameters()) == 49_338
    model[3].requires_grad_(False)
    assert count_parameters(model, trainable_only=True) == 3072 * 16 + 16
    conv = nn.Conv2d(3, 8, 3, bias=False)
    assert count_parameters(conv) == 8 * 3 * 3 * 3
    torch = pytest.importorskip("torch")
    tmodel = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3072, 16),
                                 torch.nn.ReLU(), torch.nn.Linear(16, 10))
    assert sum(p.numel() for p in tmodel.parameters()) == 49_338
