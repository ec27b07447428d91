"""Probability distributions with PyTorch's `torch.distributions` interface (the few intro
courses use): `Normal`, `Uniform`, `Bernoulli`, `Categorical`.

Each has `sample(sample_shape)` (no gradient), `rsample(sample_shape)` where the sample is a
differentiable function of the parameters (the reparameterisation trick: Normal, Uniform),
`log_prob(value)`, `entropy()`, `mean`, `variance`, `stddev`, `batch_shape` and
`event_shape`. Everything is written in the library's Tensor ops, so log_prob and rsample
have gradients with respect to the parameters. Samples come from the library's random
generator (`tg.manual_seed`), on the parameters' device.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import nn
from ..autograd import no_grad
from ..tensor import Size, Tensor, full, rand, randn, tensor

__all__ = ["Distribution", "Normal", "Uniform", "Bernoulli", "Categorical"]


def _as_tensor(value: Any, like: Tensor | None = None) -> Tensor:
    if isinstance(value, Tensor):
        return value
    if like is not None:
        return tensor(value, dtype=like.dtype, device=like.device)
    return tensor(float(value))


def _broadcast(*values: Any) -> list[Tensor]:
    """The parameters as Tensors of one broadcast shape (numbers take a tensor's dtype)."""
    like = next((v for v in values if isinstance(v, Tensor)), None)
    tensors = [_as_tensor(v, like) for v in values]
    shape = np.broadcast_shapes(*[tuple(t.shape) for t in tensors])
    return [t.expand(*shape) if tuple(t.shape) != shape else t for t in tensors]


def _invalid(value: Tensor, dist: Distribution, support: str) -> ValueError:
    return ValueError(f"Expected value argument (Tensor of shape {tuple(value.shape)}) to be "
                      f"within the support ({support}) of the distribution {dist!r}")


class Distribution:
    """The interface every distribution here has (PyTorch's names)."""

    has_rsample = False

    def __init__(self, batch_shape: tuple = (), event_shape: tuple = (),
                 validate_args: bool | None = None) -> None:
        self._batch_shape, self._event_shape = Size(batch_shape), Size(event_shape)
        self._validate_args = True if validate_args is None else validate_args

    @property
    def batch_shape(self) -> Size:
        return self._batch_shape

    @property
    def event_shape(self) -> Size:
        return self._event_shape

    def _extended_shape(self, sample_shape: Any = ()) -> tuple:
        return tuple(Size(sample_shape)) + tuple(self._batch_shape) + tuple(self._event_shape)

    def sample(self, sample_shape: Any = Size()) -> Tensor:
        """A sample of shape sample_shape + batch_shape + event_shape, without a graph."""
        with no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape: Any = Size()) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} has no reparameterised sample")

    def log_prob(self, value: Tensor) -> Tensor:
        raise NotImplementedError

    def entropy(self) -> Tensor:
        raise NotImplementedError

    @property
    def mean(self) -> Tensor:
        raise NotImplementedError

    @property
    def variance(self) -> Tensor:
        raise NotImplementedError

    @property
    def stddev(self) -> Tensor:
        return self.variance.sqrt()

    def __repr__(self) -> str:
        shown = []
        for name in self._shown:
            t = getattr(self, name)
            shown.append(f"{name}: {t.item() if t.ndim == 0 else t.shape}")
        return f"{type(self).__name__}({', '.join(shown)})"

    _shown: tuple = ()


class Normal(Distribution):
    """N(loc, scale^2):  log p(x) = -(x - loc)^2 / (2 scale^2) - log(scale) - log(2 pi) / 2;
    entropy = 1/2 + log(2 pi)/2 + log(scale);  rsample = loc + scale * eps, eps ~ N(0, 1)."""

    has_rsample = True
    _shown = ("loc", "scale")

    def __init__(self, loc: Any, scale: Any, validate_args: bool | None = None) -> None:
        self.loc, self.scale = _broadcast(loc, scale)
        if validate_args is not False and not bool((self.scale > 0).all()):
            raise ValueError("Expected parameter scale of Normal to satisfy the constraint "
                             "GreaterThan(lower_bound=0.0)")
        super().__init__(tuple(self.loc.shape), (), validate_args)

    def rsample(self, sample_shape: Any = Size()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        eps = randn(*shape, dtype=self.loc.dtype, device=self.loc.device)
        return self.loc + self.scale * eps

    def log_prob(self, value: Any) -> Tensor:
        value = _as_tensor(value, self.loc)
        var = self.scale * self.scale
        return -((value - self.loc) ** 2) / (2 * var) - self.scale.log() - math.log(
            math.sqrt(2 * math.pi))

    def entropy(self) -> Tensor:
        return 0.5 + 0.5 * math.log(2 * math.pi) + self.scale.log()

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def variance(self) -> Tensor:
        return self.scale * self.scale

    @property
    def stddev(self) -> Tensor:
        return self.scale


class Uniform(Distribution):
    """U[low, high):  log p(x) = -log(high - low) inside, -inf outside;
    entropy = log(high - low);  rsample = low + (high - low) * u, u ~ U[0, 1)."""

    has_rsample = True
    _shown = ("low", "high")

    def __init__(self, low: Any, high: Any, validate_args: bool | None = None) -> None:
        self.low, self.high = _broadcast(low, high)
        if validate_args is not False and not bool((self.low < self.high).all()):
            raise ValueError("Expected parameter low of Uniform to be less than high")
        super().__init__(tuple(self.low.shape), (), validate_args)

    def rsample(self, sample_shape: Any = Size()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        u = rand(*shape, dtype=self.low.dtype, device=self.low.device)
        return self.low + (self.high - self.low) * u

    def log_prob(self, value: Any) -> Tensor:
        value = _as_tensor(value, self.low)
        inside = (value >= self.low) & (value < self.high)
        if self._validate_args and not bool(inside.all()):
            raise _invalid(value, self, "the interval [low, high)")
        return (inside.to(self.low.dtype) / (self.high - self.low)).log()

    def entropy(self) -> Tensor:
        return (self.high - self.low).log()

    @property
    def mean(self) -> Tensor:
        return (self.low + self.high) / 2

    @property
    def variance(self) -> Tensor:
        return (self.high - self.low) ** 2 / 12


def _probs_and_logits(probs: Any, logits: Any, name: str) -> tuple[Tensor, Tensor, bool]:
    if (probs is None) == (logits is None):
        raise ValueError(f"{name}: either `probs` or `logits` must be specified, but not both.")
    return (probs, logits, probs is not None)


class Bernoulli(Distribution):
    """P(x = 1) = p = sigmoid(logits):  log p(x) = x log p + (1 - x) log(1 - p)
    (computed from the logits: -binary_cross_entropy_with_logits);
    entropy = -(p log p + (1 - p) log(1 - p))."""

    _shown = ("probs",)

    def __init__(self, probs: Any = None, logits: Any = None,
                 validate_args: bool | None = None) -> None:
        probs, logits, by_probs = _probs_and_logits(probs, logits, "Bernoulli")
        self._shown = ("probs",) if by_probs else ("logits",)  # (what repr shows, as PyTorch)
        if by_probs:
            self.probs = _as_tensor(probs)
            if validate_args is not False and not bool(((self.probs >= 0)
                                                        & (self.probs <= 1)).all()):
                raise ValueError("Expected parameter probs of Bernoulli to lie in [0, 1]")
            eps = float(np.finfo(str(self.probs.dtype).split(".")[-1]).eps)
            clamped = self.probs.clamp(eps, 1 - eps)
            self.logits = clamped.log() - (1 - clamped).log()
        else:
            self.logits = _as_tensor(logits)
            self.probs = self.logits.sigmoid()
        super().__init__(tuple(self.probs.shape), (), validate_args)

    def sample(self, sample_shape: Any = Size()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        with no_grad():
            u = rand(*shape, dtype=self.probs.dtype, device=self.probs.device)
            return (u < self.probs).to(self.probs.dtype)

    def log_prob(self, value: Any) -> Tensor:
        value = _as_tensor(value, self.logits)
        if self._validate_args and not bool(((value == 0) | (value == 1)).all()):
            raise _invalid(value, self, "Boolean()")
        logits, value = _broadcast(self.logits, value)
        return -nn.functional.binary_cross_entropy_with_logits(logits, value, reduction="none")

    def entropy(self) -> Tensor:
        return nn.functional.binary_cross_entropy_with_logits(self.logits, self.probs,
                                                              reduction="none")

    @property
    def mean(self) -> Tensor:
        return self.probs

    @property
    def variance(self) -> Tensor:
        return self.probs * (1 - self.probs)


class Categorical(Distribution):
    """P(x = k) = p_k over the last dim, p = probs / sum(probs) or softmax(logits):
    log p(x) = log_softmax(logits)[x];  entropy = -sum_k p_k log p_k.
    Samples are class indices (int64) by inverse transform: the number of cumulative
    probabilities below a uniform number."""

    _shown = ("probs",)

    def __init__(self, probs: Any = None, logits: Any = None,
                 validate_args: bool | None = None) -> None:
        probs, logits, by_probs = _probs_and_logits(probs, logits, "Categorical")
        self._shown = ("probs",) if by_probs else ("logits",)  # (what repr shows, as PyTorch)
        raw = _as_tensor(probs if by_probs else logits)
        if raw.ndim < 1:
            raise ValueError("Categorical: `probs` or `logits` needs at least one dimension")
        if by_probs:
            if validate_args is not False and not bool((raw >= 0).all()):
                raise ValueError("Expected parameter probs of Categorical to be non-negative")
            self.probs = raw / raw.sum(-1, keepdim=True)
            self.logits = self.probs.log()
        else:
            self.logits = raw - raw.logsumexp(-1, keepdim=True)
            self.probs = self.logits.exp()
        self._num_events = raw.shape[-1]
        super().__init__(tuple(raw.shape[:-1]), (), validate_args)

    @property
    def param_shape(self) -> Size:
        return self.probs.shape

    def sample(self, sample_shape: Any = Size()) -> Tensor:
        shape = self._extended_shape(sample_shape)
        with no_grad():
            u = rand(*shape, 1, dtype=self.probs.dtype, device=self.probs.device)
            below = self.probs.cumsum(-1) < u  # broadcast over the sample dims
            return below.sum(-1).clamp(max=self._num_events - 1)

    def log_prob(self, value: Any) -> Tensor:
        value = _as_tensor(value)
        if self._validate_args and not bool(((value >= 0) & (value < self._num_events)
                                             & (value == value.floor() if value.is_floating_point()
                                                else value == value)).all()):
            raise _invalid(value, self, f"IntegerInterval(0, {self._num_events - 1})")
        value = value.long()
        shape = np.broadcast_shapes(tuple(value.shape), tuple(self.batch_shape))
        logits = self.logits.expand(*shape, self._num_events)
        index = value.expand(*shape).unsqueeze(-1)
        return logits.gather(-1, index).squeeze(-1)

    def entropy(self) -> Tensor:
        p_log_p = self.probs * self.logits.clamp(min=-3.4028234663852886e38)
        return -p_log_p.sum(-1)

    @property
    def mean(self) -> Tensor:  # (class labels have no mean: NaN, as PyTorch)
        return full(tuple(self.batch_shape), math.nan, dtype=self.probs.dtype,
                    device=self.probs.device)

    @property
    def variance(self) -> Tensor:
        return self.mean
