"""tg.normal (its four forms) and multinomial (issue 16): shapes, dtypes and devices, seeded
reproducibility, the distributions checked statistically with a fixed seed (frequencies within
a few standard errors; no torch needed), and PyTorch's errors."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg

N = 20000  # draws for the statistical checks: 4 standard errors is a ~1e-4 chance


def gen(device, seed=0):
    return tg.Generator(device).manual_seed(seed)


def within(sample_mean, mean, sd, n, k=4.0):
    assert abs(sample_mean - mean) < k * sd / np.sqrt(n), (sample_mean, mean)


def test_normal_forms(device):
    g = gen(device)
    mean = tg.tensor([[0.0], [10.0]], device=device)
    std = tg.tensor([1.0, 2.0, 3.0], device=device)
    out = tg.normal(mean, std, generator=g)
    assert out.shape == (2, 3) and out.dtype == tg.float32 and out.device == mean.device
    assert tg.normal(mean, 2.0, generator=g).shape == (2, 1)
    assert tg.normal(1.0, std, generator=g).shape == (3,)
    out = tg.normal(0.0, 1.0, (2, 5), generator=g, dtype=tg.float64, device=device)
    assert out.shape == (2, 5) and out.dtype == tg.float64
    assert tg.normal(0.0, 1.0, size=(4,), requires_grad=True).requires_grad
    assert tg.normal(mean.double(), std).dtype == tg.float64
    into = tg.empty(2, 3, device=device)
    assert tg.normal(mean, std, generator=g, out=into) is into
    m = tg.zeros(3, requires_grad=True)
    assert not tg.normal(m, 1.0).requires_grad  # (PyTorch's gradient here is zero)


def test_normal_distribution(device):
    g = gen(device, 1)
    means = tg.tensor([-3.0, 0.0, 5.0], device=device).repeat(N, 1)
    stds = tg.tensor([0.5, 1.0, 2.0], device=device)
    x = tg.normal(means, stds, generator=g).cpu().numpy()
    for j, (m, s) in enumerate([(-3.0, 0.5), (0.0, 1.0), (5.0, 2.0)]):
        within(x[:, j].mean(), m, s, N)
        within(x[:, j].std(), s, s / np.sqrt(2), N)  # (sd of the sample sd: s / sqrt(2 n))
    y = tg.normal(2.0, 3.0, (N,), generator=g, device=device).cpu().numpy()
    within(y.mean(), 2.0, 3.0, N)


def test_seeded_reproducibility(device):
    w = tg.tensor([0.1, 0.2, 0.7], device=device)
    draws = []
    for _ in range(2):
        tg.manual_seed(123)
        draws.append((tg.normal(0.0, 1.0, (5,), device=device).cpu().numpy(),
                      tg.multinomial(w, 10, True).cpu().numpy(),
                      w.multinomial(3).cpu().numpy()))
    for a, b in zip(*draws):
        np.testing.assert_array_equal(a, b)
    a = tg.multinomial(w, 10, True, generator=gen(device, 7)).cpu().numpy()
    b = w.multinomial(10, True, generator=gen(device, 7)).cpu().numpy()
    np.testing.assert_array_equal(a, b)


def test_multinomial_with_replacement_frequencies(device):
    weights = np.array([[1.0, 0.0, 3.0, 4.0], [5.0, 1.0, 1.0, 1.0]])  # not normalised
    out = tg.tensor(weights, device=device).multinomial(N, replacement=True,
                                                        generator=gen(device, 2))
    assert out.shape == (2, N) and out.dtype == tg.int64
    out = out.cpu().numpy()
    for row, w in zip(out, weights):
        p = w / w.sum()
        freq = np.bincount(row, minlength=4) / N
        for f, q in zip(freq, p):
            within(f, q, np.sqrt(q * (1 - q)) + 1e-12, N)
    assert (out[0] != 1).all()  # weight 0: never


def test_multinomial_without_replacement(device):
    w = np.array([1.0, 2.0, 3.0, 4.0])
    p = w / w.sum()
    rows = tg.tensor(np.tile(w, (N, 1)), device=device)
    out = rows.multinomial(2, generator=gen(device, 3)).cpu().numpy()
    assert out.shape == (N, 2)
    assert (out[:, 0] != out[:, 1]).all()  # distinct in every row
    first = np.bincount(out[:, 0], minlength=4) / N
    for f, q in zip(first, p):  # the first draw: proportional to the weights
        within(f, q, np.sqrt(q * (1 - q)), N)
    # P(i is among the two) = p_i + sum_{j != i} p_j p_i / (1 - p_j)
    inside = np.array([p[i] + sum(p[j] * p[i] / (1 - p[j]) for j in range(4) if j != i)
                       for i in range(4)])
    seen = np.array([(out == i).any(axis=1).mean() for i in range(4)])
    for f, q in zip(seen, inside):
        within(f, q, np.sqrt(q * (1 - q)), N)
    perm = tg.multinomial(tg.ones(6, device=device), 6, generator=gen(device)).cpu().numpy()
    assert sorted(perm.tolist()) == list(range(6))  # all of them: a permutation
    zeros_last = tg.tensor([0.0, 1.0, 0.0], device=device).multinomial(2).cpu().numpy()
    assert zeros_last[0] == 1  # the positive weight comes before the zero ones


def test_errors():
    with pytest.raises(RuntimeError, match="cannot sample n_sample > prob_dist.size"):
        tg.multinomial(tg.tensor([[1.0, 2.0, 3.0]]), 4)
    with pytest.raises(RuntimeError, match="contains either `inf`, `nan` or element < 0"):
        tg.multinomial(tg.tensor([[1.0, -2.0, 3.0]]), 1)
    with pytest.raises(RuntimeError, match="contains either `inf`, `nan` or element < 0"):
        tg.multinomial(tg.tensor([1.0, float("nan")]), 1)
    with pytest.raises(RuntimeError, match="sum of probabilities <= 0"):
        tg.multinomial(tg.tensor([[0.0, 0.0]]), 1)
    with pytest.raises(RuntimeError, match="only supports floating-point dtypes"):
        tg.multinomial(tg.tensor([1, 2, 3]), 2)
    with pytest.raises(RuntimeError, match="prob_dist must be 1 or 2 dim"):
        tg.multinomial(tg.ones(2, 2, 2), 2)
    with pytest.raises(RuntimeError, match="cannot sample n_sample <= 0 samples"):
        tg.multinomial(tg.ones(2), 0)
    with pytest.raises(RuntimeError, match="normal expects std >= 0.0"):
        tg.normal(tg.zeros(3), -1.0)
    with pytest.raises(RuntimeError, match="normal expects all elements of std >= 0.0"):
        tg.normal(tg.zeros(3), -tg.ones(3))
    with pytest.raises(TypeError):
        tg.normal(0.0, 1.0)
    with pytest.raises(TypeError):
        tg.normal(tg.zeros(3), tg.ones(3), size=(3,))


def test_shapes_and_dtypes_as_torch():
    torch = pytest.importorskip("torch")
    for lib in (tg, torch):
        lib.manual_seed(0)
    cases = [
        lambda lib: lib.normal(lib.zeros(3, 1), lib.ones(4)),
        lambda lib: lib.normal(lib.zeros(3, dtype=lib.float64), 2.0),
        lambda lib: lib.normal(0.0, lib.ones(2)),
        lambda lib: lib.normal(0.0, 1.0, (2, 3), dtype=lib.float64),
        lambda lib: lib.multinomial(lib.tensor([1.0, 2.0, 3.0]), 2),
        lambda lib: lib.tensor([[1.0, 2.0], [3.0, 0.0]]).multinomial(5, True),
    ]
    for case in cases:
        a, b = case(tg), case(torch)
        assert tuple(a.shape) == tuple(b.shape) and str(a.dtype)[3:] == str(b.dtype)[6:]
