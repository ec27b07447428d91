"""tg.distributions against torch.distributions (issue 16): log_prob, entropy, mean and
variance on the same parameters, gradients of log_prob and rsample (float64 gradcheck),
samples' shapes, dtypes and statistics, the seed, and PyTorch's errors."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import distributions as D

torch = pytest.importorskip("torch")
tdist = torch.distributions

RNG = np.random.default_rng(0)
LOC, SCALE = RNG.standard_normal(4), RNG.uniform(0.5, 2.0, 4)
PROBS = RNG.uniform(0.05, 0.95, 4)
CAT = RNG.uniform(0.1, 1.0, (3, 5))


def both(device):
    """(ours, torch's) for each distribution, built from the same float64 parameters."""
    t = lambda a: tg.tensor(a, dtype=tg.float64, device=device)  # noqa: E731
    r = lambda a: torch.tensor(a, dtype=torch.float64)  # noqa: E731
    return {
        "normal": (D.Normal(t(LOC), t(SCALE)), tdist.Normal(r(LOC), r(SCALE)),
                   RNG.standard_normal(4)),
        "uniform": (D.Uniform(t(LOC), t(LOC + SCALE)), tdist.Uniform(r(LOC), r(LOC + SCALE)),
                    LOC + SCALE * 0.3),
        "bernoulli": (D.Bernoulli(probs=t(PROBS)), tdist.Bernoulli(probs=r(PROBS)),
                      np.array([0.0, 1.0, 1.0, 0.0])),
        "bernoulli_logits": (D.Bernoulli(logits=t(LOC)), tdist.Bernoulli(logits=r(LOC)),
                             np.array([1.0, 0.0, 1.0, 0.0])),
        "categorical": (D.Categorical(probs=t(CAT)), tdist.Categorical(probs=r(CAT)),
                        np.array([0, 4, 2])),
        "categorical_logits": (D.Categorical(logits=t(CAT)), tdist.Categorical(logits=r(CAT)),
                               np.array([[1, 3, 0], [4, 4, 2]])),
    }


def close(ours, theirs):
    np.testing.assert_allclose(tg.backend.to_numpy(ours.detach().array),
                               theirs.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", list(both("cpu")))
def test_against_torch(name, device):
    ours, theirs, value = both(device)[name]
    assert repr(ours).replace("tg.Size", "torch.Size") == repr(theirs)  # (before torch's lazy
    integer = name.startswith("categorical")                           # properties show up)
    v = tg.tensor(value, dtype=tg.int64 if integer else tg.float64, device=device)
    tv = torch.tensor(value, dtype=torch.int64 if integer else torch.float64)
    close(ours.log_prob(v), theirs.log_prob(tv))
    close(ours.entropy(), theirs.entropy())
    assert tuple(ours.batch_shape) == tuple(theirs.batch_shape)
    assert tuple(ours.event_shape) == tuple(theirs.event_shape)
    if not integer:
        close(ours.mean, theirs.mean)
        close(ours.variance, theirs.variance)
        close(ours.stddev, theirs.stddev)
    assert ours.has_rsample == theirs.has_rsample


@pytest.mark.parametrize("name", list(both("cpu")))
def test_samples(name, device):
    ours, theirs, _ = both(device)[name]
    tg.manual_seed(1)
    a = ours.sample((2000,))
    tg.manual_seed(1)
    b = ours.sample((2000,))
    assert tuple(a.shape) == (2000,) + tuple(theirs.batch_shape)
    assert str(a.dtype).split(".")[-1] == str(theirs.sample().dtype).split(".")[-1]
    assert not a.requires_grad and bool((a == b).all())
    x = tg.backend.to_numpy(a.array)
    if name.startswith("categorical"):  # frequencies near the probabilities
        p = theirs.probs.numpy()
        freq = np.stack([(x == k).mean(0) for k in range(p.shape[-1])], -1)
        np.testing.assert_allclose(freq, p, atol=0.05)
    else:
        np.testing.assert_allclose(x.mean(0), theirs.mean.numpy(), atol=0.15)


@pytest.mark.parametrize("kind", ["normal", "uniform"])
def test_rsample_and_log_prob_have_gradients(kind, device):
    value = tg.tensor(LOC + 0.1 * SCALE, dtype=tg.float64, device=device)  # inside the support

    def fn(a, b):
        tg.manual_seed(3)
        dist = D.Normal(a, b) if kind == "normal" else D.Uniform(a, a + b)
        x = dist.rsample((3,))
        return x * x + dist.log_prob(value)

    a = tg.tensor(LOC, dtype=tg.float64, device=device, requires_grad=True)
    b = tg.tensor(SCALE, dtype=tg.float64, device=device, requires_grad=True)
    assert tg.autograd.gradcheck(fn, (a, b))


def test_categorical_and_bernoulli_log_prob_gradients(device):
    logits = tg.tensor(CAT, dtype=tg.float64, device=device, requires_grad=True)
    value = tg.tensor([0, 4, 2], device=device)
    assert tg.autograd.gradcheck(lambda z: D.Categorical(logits=z).log_prob(value)
                                 + D.Categorical(logits=z).entropy(), (logits,))
    p = tg.tensor(PROBS, dtype=tg.float64, device=device, requires_grad=True)
    ones = tg.tensor([1.0, 0.0, 1.0, 1.0], dtype=tg.float64, device=device)
    assert tg.autograd.gradcheck(lambda q: D.Bernoulli(probs=q).log_prob(ones), (p,))


def test_errors_as_pytorch():
    for make in (lambda lib: lib.Normal(0.0, -1.0), lambda lib: lib.Uniform(1.0, 0.0),
                 lambda lib: lib.Bernoulli(probs=1.5), lambda lib: lib.Bernoulli(),
                 lambda lib: lib.Categorical(probs=[0.5, 0.5], logits=[0.0, 0.0])):
        with pytest.raises(ValueError):
            make(tdist)
        with pytest.raises(ValueError):
            make(D)
    with pytest.raises(ValueError):
        D.Uniform(0.0, 1.0).log_prob(tg.tensor(1.5))
    with pytest.raises(ValueError):
        D.Categorical(probs=tg.tensor([0.5, 0.5])).log_prob(tg.tensor(2))
