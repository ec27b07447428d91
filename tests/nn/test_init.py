"""nn.init: fans, gains, the bounds and statistics of each initialiser, in-place semantics."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_edu as tg
import tinygrad_edu.nn as nn
from tinygrad_edu.nn import init


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


def test_kaiming_uniform_with_a_sqrt5_is_uniform_within_one_over_sqrt_fan_in():
    tg.manual_seed(0)
    w = tg.empty(256, 400)
    out = init.kaiming_uniform_(w, a=math.sqrt(5))
    assert out is w
    bound = 1 / math.sqrt(400)
    values = w.numpy()
    assert np.abs(values).max() <= bound
    assert np.abs(values).max() > 0.99 * bound  # the whole interval is used
    assert values.var() == pytest.approx(bound ** 2 / 3, rel=0.03)
    assert abs(values.mean()) < 0.01 * bound * 10


def test_kaiming_normal_std_for_relu_fan_in_and_fan_out():
    tg.manual_seed(1)
    w = init.kaiming_normal_(tg.empty(300, 50, 2, 2), nonlinearity="relu")
    assert w.numpy().std() == pytest.approx(math.sqrt(2) / math.sqrt(200), rel=0.03)
    w = init.kaiming_normal_(tg.empty(300, 50, 2, 2), mode="fan_out", nonlinearity="relu")
    assert w.numpy().std() == pytest.approx(math.sqrt(2) / math.sqrt(1200), rel=0.03)
    w = init.kaiming_uniform_(tg.empty(300, 200), nonlinearity="relu")
    assert np.abs(w.numpy()).max() <= math.sqrt(6 / 200)
    assert w.numpy().std() == pytest.approx(math.sqrt(2 / 200), rel=0.03)


@pytest.mark.parametrize("gain", [1.0, init.calculate_gain("tanh")])
def test_xavier_uniform_and_normal_statistics(gain):
    tg.manual_seed(2)
    fan_in, fan_out = 120, 280
    std = gain * math.sqrt(2 / (fan_in + fan_out))
    w = init.xavier_uniform_(tg.empty(fan_out, fan_in), gain=gain)
    assert np.abs(w.numpy()).max() <= math.sqrt(3) * std + 1e-7
    assert w.numpy().std() == pytest.approx(std, rel=0.03)
    w = init.xavier_normal_(tg.empty(fan_out, fan_in), gain=gain)
    assert w.numpy().std() == pytest.approx(std, rel=0.03)
    assert abs(w.numpy().mean()) < 0.05 * std


def test_simple_fills():
    t = tg.empty(3, 4)
    assert init.constant_(t, 0.25) is t and np.all(t.numpy() == 0.25)
    assert np.all(init.ones_(t).numpy() == 1) and np.all(init.zeros_(t).numpy() == 0)
    np.testing.assert_array_equal(init.eye_(t).numpy(), np.eye(3, 4))
    with pytest.raises(ValueError, match="2 dimensions"):
        init.eye_(tg.empty(2, 2, 2))
    tg.manual_seed(3)
    u = init.uniform_(tg.empty(10_000), -2.0, 3.0).numpy()
    assert u.min() >= -2 and u.max() <= 3 and u.mean() == pytest.approx(0.5, abs=0.05)
    n = init.normal_(tg.empty(10_000), 1.0, 0.5).numpy()
    assert n.mean() == pytest.approx(1.0, abs=0.02) and n.std() == pytest.approx(0.5, rel=0.03)
    with pytest.raises(ValueError, match="a <= b"):
        init.uniform_(tg.empty(2), 1.0, 0.0)


def test_trunc_normal_stays_in_bounds():
    tg.manual_seed(4)
    t = init.trunc_normal_(tg.empty(20_000), mean=0.0, std=1.0, a=-0.5, b=1.0).numpy()
    assert t.min() >= -0.5 and t.max() <= 1.0
    assert t.min() < -0.49 and t.max() > 0.99
    assert t.dtype == np.float32


def test_orthogonal_gives_orthonormal_rows_or_columns():
    tg.manual_seed(5)
    for rows, cols in ((6, 10), (10, 6)):
        q = init.orthogonal_(tg.empty(rows, cols), gain=2.0).numpy().astype(np.float64)
        small = min(rows, cols)
        gram = q @ q.T if rows < cols else q.T @ q
        np.testing.assert_allclose(gram, 4.0 * np.eye(small), atol=1e-5)


def test_initialisers_work_on_parameters_and_leave_grad_mode_alone():
    p = nn.Parameter(tg.empty(5, 5))
    assert tg.is_grad_enabled()
    for fn in (init.xavier_uniform_, init.kaiming_normal_, init.zeros_, init.trunc_normal_,
               init.orthogonal_):
        assert fn(p) is p
        assert p.requires_grad and p.is_leaf and p.grad_fn is None
        assert tg.is_grad_enabled()


def test_seeded_reproducibility():
    tg.manual_seed(42)
    a = init.kaiming_uniform_(tg.empty(4, 4)).numpy().copy()
    tg.manual_seed(42)
    b = init.kaiming_uniform_(tg.empty(4, 4)).numpy().copy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, init.kaiming_uniform_(tg.empty(4, 4)).numpy())


def test_dtype_is_kept():
    t = init.xavier_normal_(tg.empty(4, 4, dtype=tg.float64))
    assert t.dtype == tg.float64
    assert init.kaiming_uniform_(tg.empty(0, 3)).shape == (0, 3)  # zero elements: a no-op


def test_non_tensor_is_a_type_error():
    with pytest.raises(TypeError, match="init.normal_: expected a Tensor"):
        init.normal_(np.zeros(3))


def test_initialise_on_device(device):
    tg.manual_seed(6)
    w = init.kaiming_uniform_(tg.empty(64, 32, device=device), a=math.sqrt(5))
    assert w.device == tg.Device(device)
    assert float(w.abs().max()) <= 1 / math.sqrt(32)
    t = init.trunc_normal_(tg.empty(100, device=device), a=-1.0, b=1.0)
    assert float(t.abs().max()) <= 1.0
