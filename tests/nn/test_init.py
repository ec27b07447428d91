"""nn.init: fans, gains, the bounds and statistics of each initialiser, in-place semantics, on
every device (values drawn from that device's seeded generator)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_edu as tg
import tinygrad_edu.nn as nn
from tinygrad_edu.backend import Device, generator, to_numpy
from tinygrad_edu.nn import init


def _np(t: tg.Tensor) -> np.ndarray:
    """A tensor's values as a host NumPy array, from any device."""
    return to_numpy(t.detach().array)


def test_calculate_gain_table():
    assert init.calculate_gain("linear") == 1.0
    assert init.calculate_gain("conv2d") == 1.0
    assert init.calculate_gain("sigmoid") == 1.0
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01 ** 2)))
    assert init.calculate_gain("leaky_relu", math.sqrt(5)) == pytest.approx(math.sqrt(1 / 3))
    assert init.calculate_gain("selu") == 0.75
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="negative_slope"):
        init.calculate_gain("leaky_relu", "steep")


@pytest.mark.parametrize("name,param", [
    ("linear", None), ("conv1d", None), ("conv2d", None), ("sigmoid", None), ("tanh", None),
    ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2), ("leaky_relu", 5 ** 0.5),
    ("selu", None)])
def test_calculate_gain_matches_pytorch(name, param):
    torch = pytest.importorskip("torch")
    assert init.calculate_gain(name, param) == pytest.approx(
        torch.nn.init.calculate_gain(name, param), rel=1e-12)


@given(st.lists(st.integers(1, 5), min_size=2, max_size=5))
def test_fan_in_and_fan_out(shape):
    fan_in, fan_out = init._calculate_fan_in_and_fan_out(tg.empty(*shape))
    receptive = math.prod(shape[2:])
    assert (fan_in, fan_out) == (shape[1] * receptive, shape[0] * receptive)


def test_fans_of_linear_and_conv_weights_and_errors():
    assert init._calculate_fan_in_and_fan_out(tg.empty(16, 3072)) == (3072, 16)
    assert init._calculate_fan_in_and_fan_out(tg.empty(8, 3, 5, 5)) == (75, 200)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init._calculate_fan_in_and_fan_out(tg.empty(5))
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_uniform_(tg.empty(3, 3), mode="fan_avg")


def test_kaiming_uniform_with_a_sqrt5_is_uniform_within_one_over_sqrt_fan_in(device):
    tg.manual_seed(0)
    w = tg.empty(256, 400, device=device)
    out = init.kaiming_uniform_(w, a=math.sqrt(5))
    assert out is w and w.device == Device(device)
    bound = 1 / math.sqrt(400)
    values = _np(w)
    assert np.abs(values).max() <= bound
    assert np.abs(values).max() > 0.99 * bound  # the whole interval is used
    assert values.var() == pytest.approx(bound ** 2 / 3, rel=0.03)
    assert abs(values.mean()) < 0.01 * bound * 10


def test_kaiming_normal_std_for_relu_fan_in_and_fan_out(device):
    tg.manual_seed(1)
    w = init.kaiming_normal_(tg.empty(300, 50, 2, 2, device=device), nonlinearity="relu")
    assert _np(w).std() == pytest.approx(math.sqrt(2) / math.sqrt(200), rel=0.03)
    w = init.kaiming_normal_(tg.empty(300, 50, 2, 2, device=device), mode="fan_out",
                             nonlinearity="relu")
    assert _np(w).std() == pytest.approx(math.sqrt(2) / math.sqrt(1200), rel=0.03)
    w = init.kaiming_uniform_(tg.empty(300, 200, device=device), nonlinearity="relu")
    assert np.abs(_np(w)).max() <= math.sqrt(6 / 200)
    assert _np(w).std() == pytest.approx(math.sqrt(2 / 200), rel=0.03)
    assert w.device == Device(device) and w.dtype == tg.float32


@pytest.mark.parametrize("gain", [1.0, init.calculate_gain("tanh")])
def test_xavier_uniform_and_normal_statistics(gain, device):
    tg.manual_seed(2)
    fan_in, fan_out = 120, 280
    std = gain * math.sqrt(2 / (fan_in + fan_out))
    w = init.xavier_uniform_(tg.empty(fan_out, fan_in, device=device), gain=gain)
    assert np.abs(_np(w)).max() <= math.sqrt(3) * std + 1e-7
    assert _np(w).std() == pytest.approx(std, rel=0.03)
    w = init.xavier_normal_(tg.empty(fan_out, fan_in, device=device), gain=gain)
    assert _np(w).std() == pytest.approx(std, rel=0.03)
    assert abs(_np(w).mean()) < 0.05 * std


def test_simple_fills(device):
    t = tg.empty(3, 4, device=device)
    assert init.constant_(t, 0.25) is t and np.all(_np(t) == 0.25)
    assert np.all(_np(init.ones_(t)) == 1) and np.all(_np(init.zeros_(t)) == 0)
    np.testing.assert_array_equal(_np(init.eye_(t)), np.eye(3, 4))
    assert t.device == Device(device) and t.dtype == tg.float32
    with pytest.raises(ValueError, match="2 dimensions"):
        init.eye_(tg.empty(2, 2, 2, device=device))
    tg.manual_seed(3)
    u = _np(init.uniform_(tg.empty(10_000, device=device), -2.0, 3.0))
    assert u.min() >= -2 and u.max() <= 3 and u.mean() == pytest.approx(0.5, abs=0.05)
    n = _np(init.normal_(tg.empty(10_000, device=device), 1.0, 0.5))
    assert n.mean() == pytest.approx(1.0, abs=0.02) and n.std() == pytest.approx(0.5, rel=0.03)
    with pytest.raises(ValueError, match="a <= b"):
        init.uniform_(tg.empty(2, device=device), 1.0, 0.0)


def test_trunc_normal_stays_in_bounds(device):
    tg.manual_seed(4)
    t = _np(init.trunc_normal_(tg.empty(20_000, device=device), mean=0.0, std=1.0, a=-0.5,
                               b=1.0))
    assert t.min() >= -0.5 and t.max() <= 1.0
    assert t.min() < -0.49 and t.max() > 0.99
    assert t.dtype == np.float32
    # the truncated standard normal on [-0.5, 1]: mean (phi(-0.5) - phi(1)) / (Phi(1) - Phi(-0.5))
    pdf = [math.exp(-v * v / 2) / math.sqrt(2 * math.pi) for v in (-0.5, 1.0)]
    mass = 0.5 * (math.erf(1 / math.sqrt(2)) - math.erf(-0.5 / math.sqrt(2)))
    assert t.mean() == pytest.approx((pdf[0] - pdf[1]) / mass, abs=0.01)


def test_orthogonal_gives_orthonormal_rows_or_columns(device):
    tg.manual_seed(5)
    p = nn.Parameter(tg.empty(3, 2, 2, dtype=tg.float64, device=device))
    assert init.orthogonal_(p) is p and p.requires_grad and p.dtype == tg.float64
    flat = _np(p).reshape(3, 4)
    np.testing.assert_allclose(flat @ flat.T, np.eye(3), atol=1e-12)
    assert init.orthogonal_(tg.empty(0, 3, device=device)).shape == (0, 3)
    for rows, cols in ((6, 10), (10, 6)):
        q = _np(init.orthogonal_(tg.empty(rows, cols, device=device), gain=2.0)).astype(
            np.float64)
        small = min(rows, cols)
        gram = q @ q.T if rows < cols else q.T @ q
        np.testing.assert_allclose(gram, 4.0 * np.eye(small), atol=1e-5)


def test_initialisers_work_on_parameters_and_leave_grad_mode_alone(device):
    p = nn.Parameter(tg.empty(5, 5, device=device))
    data = p.array
    assert tg.is_grad_enabled()
    for fn in (init.xavier_uniform_, init.kaiming_normal_, init.zeros_, init.trunc_normal_,
               init.eye_, init.uniform_, init.normal_, init.ones_):  # orthogonal_: above
        assert fn(p) is p
        assert p.requires_grad and p.is_leaf and p.grad_fn is None
        assert p.array is data  # filled in place, on its device
        assert tg.is_grad_enabled()


def test_seeded_reproducibility(device):
    tg.manual_seed(42)
    a = _np(init.kaiming_uniform_(tg.empty(4, 4, device=device))).copy()
    tg.manual_seed(42)
    b = _np(init.kaiming_uniform_(tg.empty(4, 4, device=device))).copy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, _np(init.kaiming_uniform_(tg.empty(4, 4, device=device))))


@pytest.mark.parametrize("name", ["uniform_", "normal_", "xavier_uniform_", "kaiming_normal_"])
def test_values_come_from_the_devices_seeded_generator(device, name):
    """The draws are the device's own generator's (NumPy's on the CPU, CuPy's on the GPU),
    seeded by tg.manual_seed: the same numbers as asking that generator directly."""
    tg.manual_seed(7)
    t = getattr(init, name)(tg.empty(8, 5, dtype=tg.float64, device=device))
    tg.manual_seed(7)
    gen = generator(Device(device))
    bound = math.sqrt(6 / 13)  # xavier_uniform_ of an (8, 5) weight
    with tg.backend.device_scope(Device(device)):  # (a GPU's generator draws on its GPU)
        expected = {"uniform_": lambda: gen.random((8, 5)),
                    "normal_": lambda: gen.standard_normal((8, 5)),
                    "xavier_uniform_": lambda: gen.random((8, 5)) * 2 * bound - bound,
                    "kaiming_normal_": lambda: gen.standard_normal((8, 5)) * math.sqrt(2 / 5),
                    }[name]()
    np.testing.assert_allclose(_np(t), to_numpy(expected), rtol=1e-12, atol=1e-15)


def test_dtype_is_kept(device):
    for fn in (init.xavier_normal_, init.trunc_normal_, init.eye_, init.uniform_):
        t = fn(tg.empty(4, 4, dtype=tg.float64, device=device))
        assert t.dtype == tg.float64 and t.device == Device(device)
    assert init.kaiming_uniform_(tg.empty(0, 3, device=device)).shape == (0, 3)  # a no-op


def test_non_tensor_is_a_type_error():
    with pytest.raises(TypeError, match="init.normal_: expected a Tensor"):
        init.normal_(np.zeros(3))


def test_initialise_on_device(device):
    tg.manual_seed(6)
    w = init.kaiming_uniform_(tg.empty(64, 32, device=device), a=math.sqrt(5))
    assert w.device == tg.Device(device)
    assert float(w.abs().max()) <= 1 / math.sqrt(32)
    t = init.trunc_normal_(tg.empty(100, device=device), a=-1.0, b=1.0)
    assert float(t.abs().max()) <= 1.0 and t.device == tg.Device(device)
    layer = nn.Linear(6, 3).to(device)
    layer.apply(lambda m: init.xavier_uniform_(m.weight) if isinstance(m, nn.Linear) else None)
    assert layer.weight.device == tg.Device(device)
    assert float(layer.weight.abs().max()) <= math.sqrt(6 / 9)
