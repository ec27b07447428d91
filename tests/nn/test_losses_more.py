"""Issue 16 (nn part A): KLDivLoss, PoissonNLLLoss, GaussianNLLLoss, MarginRankingLoss,
HingeEmbeddingLoss, CosineEmbeddingLoss, TripletMarginLoss, MultiMarginLoss,
MultiLabelSoftMarginLoss and SoftMarginLoss (module and functional): every option and
reduction against PyTorch (CPU) on the same inputs, float64 gradchecks, repr and errors, on
every device."""

from __future__ import annotations

import itertools
import warnings
from typing import Any, Callable

import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn as nn
import tinygrad_edu.nn.functional as F
from tinygrad_edu.autograd import gradcheck

torch = pytest.importorskip("torch")
REDUCTIONS = ["none", "mean", "sum"]


def _np(t: tg.Tensor) -> np.ndarray:
    return tg.backend.to_numpy(t.detach().array)


def _ours(value: Any, device: str, requires_grad: bool = False) -> Any:
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f":
            return tg.tensor(value, dtype=tg.float64, device=device, requires_grad=requires_grad)
        return tg.tensor(value, device=device)
    return value


def _theirs(value: Any) -> Any:
    return torch.tensor(value) if isinstance(value, np.ndarray) else value


def _sign(rng: np.random.Generator, shape: tuple) -> np.ndarray:
    return np.where(rng.random(shape) < 0.5, -1.0, 1.0)


def _log_probs(rng: np.random.Generator, shape: tuple) -> np.ndarray:
    z = rng.standard_normal(shape)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


# name -> (inputs from a generator, option grid, indices of the inputs to gradcheck)
CASES: dict[str, tuple[Callable, dict, tuple]] = {
    "kl_div": (lambda r: [_log_probs(r, (3, 4)), np.exp(_log_probs(r, (3, 4)))],
               {"reduction": REDUCTIONS + ["batchmean"]}, (0, 1)),
    "poisson_nll_loss": (lambda r: [r.random((3, 4)) + 0.5, r.integers(0, 5, (3, 4)) * 1.0],
                         {"log_input": [True, False], "full": [False, True],
                          "reduction": REDUCTIONS}, (0,)),
    "margin_ranking_loss": (lambda r: [r.standard_normal(6), r.standard_normal(6),
                                       _sign(r, (6,))],
                            {"margin": [0.0, 0.5], "reduction": REDUCTIONS}, (0, 1)),
    "hinge_embedding_loss": (lambda r: [r.standard_normal((3, 4)), _sign(r, (3, 4))],
                             {"margin": [1.0, 2.0], "reduction": REDUCTIONS}, (0,)),
    "cosine_embedding_loss": (lambda r: [r.standard_normal((4, 5)), r.standard_normal((4, 5)),
                                         _sign(r, (4,))],
                              {"margin": [0.0, 0.3], "reduction": REDUCTIONS}, (0, 1)),
    "triplet_margin_loss": (lambda r: [r.standard_normal((4, 5)) for _ in range(3)],
                            {"margin": [1.0, 2.5], "p": [1, 2], "swap": [False, True],
                             "reduction": REDUCTIONS}, (0, 1, 2)),
    "multi_margin_loss": (lambda r: [r.standard_normal((4, 5)), r.integers(0, 5, 4)],
                          {"p": [1, 2], "margin": [1.0, 0.5], "reduction": REDUCTIONS}, (0,)),
    "multilabel_soft_margin_loss": (lambda r: [r.standard_normal((3, 4)) * 3,
                                               r.integers(0, 2, (3, 4)) * 1.0],
                                    {"reduction": REDUCTIONS}, (0, 1)),
    "soft_margin_loss": (lambda r: [r.standard_normal((3, 4)) * 3, _sign(r, (3, 4))],
                         {"reduction": REDUCTIONS}, (0,)),
}


def _grid(options: dict) -> list[dict]:
    return [dict(zip(options, values)) for values in itertools.product(*options.values())]


CASE_IDS = [(name, kw) for name, (_, options, _) in CASES.items() for kw in _grid(options)]


def _check(name: str, args: list, kwargs: dict, device: str, grad: tuple) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # kl_div's 'mean' warning, in both libraries
        out = getattr(F, name)(*[_ours(a, device) for a in args], **kwargs)
        expected = getattr(torch.nn.functional, name)(*[_theirs(a) for a in args], **kwargs)
    assert tuple(out.shape) == tuple(expected.shape)
    assert out.dtype == tg.float64
    np.testing.assert_allclose(_np(out), expected.numpy(), rtol=1e-9, atol=1e-12)

    def fn(*grads: tg.Tensor) -> tg.Tensor:
        full = [_ours(a, device) for a in args]
        for i, g in zip(grad, grads):
            full[i] = g
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return getattr(F, name)(*full, **kwargs)

    assert gradcheck(fn, [_ours(args[i], device, True) for i in grad])


@pytest.mark.parametrize("case", CASE_IDS, ids=lambda c: c[0] + "-" + "-".join(
    f"{k}={v}" for k, v in c[1].items()))
def test_loss_against_torch_and_gradcheck(case: tuple, device: str) -> None:
    name, kwargs = case
    make, _, grad = CASES[name]
    _check(name, make(np.random.default_rng(0)), kwargs, device, grad)


@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_log_target_and_zero_targets(log_target: bool, device: str) -> None:
    rng = np.random.default_rng(1)
    target = np.exp(_log_probs(rng, (3, 4)))
    target[0, 1] = 0.0  # a zero probability contributes 0 (xlogy)
    if log_target:
        target = _log_probs(rng, (3, 4))
    for reduction in ["batchmean", "sum", "none"]:
        _check("kl_div", [_log_probs(rng, (3, 4)), target],
               {"reduction": reduction, "log_target": log_target}, device,
               (0, 1) if log_target else (0,))


def test_kl_div_mean_warns_and_batchmean_of_0d(device: str) -> None:
    x = tg.tensor([-1.0, -2.0], device=device)
    with pytest.warns(UserWarning, match="batchmean"):
        F.kl_div(x, x.exp())
    out = F.kl_div(tg.tensor(-1.0, device=device), tg.tensor(0.5, device=device),
                   reduction="batchmean")
    expected = torch.nn.functional.kl_div(torch.tensor(-1.0), torch.tensor(0.5),
                                          reduction="batchmean")
    np.testing.assert_allclose(_np(out), expected.numpy(), rtol=1e-6)


@pytest.mark.parametrize("var_shape", [(4, 3), (4,), (4, 1), "float"])
@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gaussian_nll_loss(var_shape: Any, full: bool, reduction: str, device: str) -> None:
    rng = np.random.default_rng(2)
    var = 0.7 if var_shape == "float" else rng.random(var_shape) + 0.1
    args = [rng.standard_normal((4, 3)), rng.standard_normal((4, 3)), var]
    _check("gaussian_nll_loss", args, {"full": full, "reduction": reduction}, device,
           (0, 1) if var_shape == "float" else (0, 1, 2))


def test_gaussian_nll_loss_clamps_var_but_passes_its_gradient(device: str) -> None:
    var = np.array([1e-9, 0.5])
    x, y = np.array([0.1, 0.2]), np.array([0.0, 0.0])
    v = tg.tensor(var, dtype=tg.float64, device=device, requires_grad=True)
    F.gaussian_nll_loss(tg.tensor(x, device=device), tg.tensor(y, device=device), v,
                        reduction="sum").backward()
    tv = torch.tensor(var, requires_grad=True)
    torch.nn.functional.gaussian_nll_loss(torch.tensor(x), torch.tensor(y), tv,
                                          reduction="sum").backward()
    np.testing.assert_allclose(_np(v.grad), tv.grad.numpy(), rtol=1e-9)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("p", [1, 2])
def test_multi_margin_weight_and_unbatched(weighted: bool, p: int, device: str) -> None:
    rng = np.random.default_rng(3)
    weight = rng.random(5) + 0.5 if weighted else None
    for args in ([rng.standard_normal((4, 5)), rng.integers(0, 5, 4)],
                 [rng.standard_normal(5), np.array(2)]):
        for reduction in REDUCTIONS:
            kwargs = {"p": p, "reduction": reduction}
            if weight is None:
                _check("multi_margin_loss", args, kwargs, device, (0,))
            else:
                out = F.multi_margin_loss(*[_ours(a, device) for a in args],
                                          weight=_ours(weight, device), **kwargs)
                expected = torch.nn.functional.multi_margin_loss(
                    *[_theirs(a) for a in args], weight=torch.tensor(weight), **kwargs)
                np.testing.assert_allclose(_np(out), expected.numpy(), rtol=1e-9)
                assert tuple(out.shape) == tuple(expected.shape)


def test_multilabel_soft_margin_weight(device: str) -> None:
    rng = np.random.default_rng(4)
    x, y, w = rng.standard_normal((3, 4)), rng.integers(0, 2, (3, 4)) * 1.0, rng.random(4)
    for reduction in REDUCTIONS:
        out = F.multilabel_soft_margin_loss(_ours(x, device), _ours(y, device),
                                            weight=_ours(w, device), reduction=reduction)
        expected = torch.nn.functional.multilabel_soft_margin_loss(
            torch.tensor(x), torch.tensor(y), weight=torch.tensor(w), reduction=reduction)
        np.testing.assert_allclose(_np(out), expected.numpy(), rtol=1e-9)


def test_cosine_embedding_unbatched(device: str) -> None:
    rng = np.random.default_rng(5)
    _check("cosine_embedding_loss", [rng.standard_normal(5), rng.standard_normal(5),
                                     np.array(-1.0)], {"margin": -0.5}, device, (0, 1))


# ---------------------------------------------------------------------------------------------
# modules
# ---------------------------------------------------------------------------------------------
MODULES = [
    ("KLDivLoss", "kl_div", {"reduction": "batchmean"}),
    ("KLDivLoss", "kl_div", {"reduction": "sum", "log_target": True}),
    ("PoissonNLLLoss", "poisson_nll_loss", {"log_input": False, "full": True}),
    ("MarginRankingLoss", "margin_ranking_loss", {"margin": 0.2}),
    ("HingeEmbeddingLoss", "hinge_embedding_loss", {"margin": 2.0, "reduction": "sum"}),
    ("CosineEmbeddingLoss", "cosine_embedding_loss", {"margin": 0.1}),
    ("TripletMarginLoss", "triplet_margin_loss", {"margin": 0.5, "p": 1.0, "swap": True}),
    ("MultiMarginLoss", "multi_margin_loss", {"p": 2, "margin": 0.7}),
    ("MultiLabelSoftMarginLoss", "multilabel_soft_margin_loss", {"reduction": "none"}),
    ("SoftMarginLoss", "soft_margin_loss", {"reduction": "sum"}),
]


@pytest.mark.parametrize("spec", MODULES, ids=lambda s: s[0])
def test_loss_modules(spec: tuple, device: str) -> None:
    cls, fn, kwargs = spec
    args = CASES[fn][0](np.random.default_rng(6))
    ours = getattr(nn, cls)(**kwargs)
    theirs = getattr(torch.nn, cls)(**kwargs)
    assert repr(ours) == repr(theirs)
    assert ours.reduction == theirs.reduction
    out = ours(*[_ours(a, device) for a in args])
    expected = theirs(*[_theirs(a) for a in args])
    np.testing.assert_allclose(_np(out), expected.numpy(), rtol=1e-9, atol=1e-12)


def test_gaussian_nll_module(device: str) -> None:
    rng = np.random.default_rng(7)
    x, y, v = rng.standard_normal((4, 2)), rng.standard_normal((4, 2)), rng.random((4, 1))
    ours, theirs = nn.GaussianNLLLoss(full=True), torch.nn.GaussianNLLLoss(full=True)
    assert repr(ours) == repr(theirs)
    out = ours(_ours(x, device), _ours(y, device), _ours(v, device))
    np.testing.assert_allclose(_np(out), theirs(torch.tensor(x), torch.tensor(y),
                                                torch.tensor(v)).numpy(), rtol=1e-9)
    with pytest.raises(TypeError):
        nn.GaussianNLLLoss(True)  # keyword-only, as PyTorch


def test_multi_margin_module_weight_is_a_buffer(device: str) -> None:
    m = nn.MultiMarginLoss(weight=tg.ones(5)).to(device)
    assert list(m.state_dict()) == ["weight"] and m.weight.device.type == tg.device(device).type


# ---------------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------------
def test_loss_errors(device: str) -> None:
    x = tg.randn(3, 4, device=device)
    with pytest.raises(ValueError):
        F.kl_div(x, x, reduction="average")
    with pytest.raises(ValueError):
        nn.KLDivLoss(reduction="average")
    with pytest.raises(ValueError, match="negative"):
        F.gaussian_nll_loss(x, x, -1.0)
    with pytest.raises(ValueError, match="incorrect size"):
        F.gaussian_nll_loss(x, x, tg.ones(2, 2, device=device))
    with pytest.raises(ValueError, match="is not valid"):
        F.gaussian_nll_loss(x, x, tg.ones(3, 4, device=device), reduction="avg")
    with pytest.raises(RuntimeError, match="same dimension"):
        F.margin_ranking_loss(x, x, tg.ones(3, device=device))
    with pytest.raises(ValueError, match="margin must be greater than 0"):
        F.triplet_margin_loss(x, x, x, margin=0.0)
    with pytest.raises(ValueError, match="greater than 0"):
        nn.TripletMarginLoss(margin=-1.0)
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        F.triplet_margin_loss(x, x, tg.randn(4, device=device))
    with pytest.raises(ValueError, match="only p == 1 and p == 2"):
        F.multi_margin_loss(x, tg.tensor([0, 1, 2], device=device), p=3)
    with pytest.raises(ValueError, match="only p == 1 and p == 2"):
        nn.MultiMarginLoss(p=3)
    with pytest.raises(ValueError, match="one-dimensional"):
        F.multi_margin_loss(x, tg.tensor([0, 1, 2], device=device), weight=tg.ones(2, 2))
    with pytest.raises(RuntimeError, match="inconsistent target size"):
        F.multi_margin_loss(x, tg.tensor([0, 1], device=device))
    if device == "cpu":
        with pytest.raises(RuntimeError, match="target out of range"):
            F.multi_margin_loss(x, tg.tensor([0, 1, 4]))
    with pytest.raises(RuntimeError, match="multi-target not supported"):
        F.cosine_embedding_loss(x, x, tg.ones(3, 4, device=device))
    with pytest.raises(RuntimeError, match="1D target tensor expects 2D input"):
        F.cosine_embedding_loss(tg.randn(3, device=device), tg.randn(3, device=device),
                                tg.ones(3, device=device))
    with pytest.raises(ValueError):
        F.soft_margin_loss(x, x, reduction="bad")
    with pytest.raises(ValueError):
        F.multilabel_soft_margin_loss(x, x, reduction="bad")
    with pytest.raises(TypeError):
        F.soft_margin_loss(tg.tensor([1, 2], device=device), tg.tensor([1, 1], device=device))


def test_legacy_size_average_and_reduce(device: str) -> None:
    x = tg.tensor([0.5, -1.0], device=device)
    y = tg.tensor([1.0, -1.0], device=device)
    with pytest.warns(UserWarning):
        out = F.soft_margin_loss(x, y, reduce=False)
    assert tuple(out.shape) == (2,)
    with pytest.warns(UserWarning):
        out = F.margin_ranking_loss(x, -x, y, size_average=False)
    np.testing.assert_allclose(_np(out), torch.nn.functional.margin_ranking_loss(
        torch.tensor([0.5, -1.0]), torch.tensor([-0.5, 1.0]), torch.tensor([1.0, -1.0]),
        reduction="sum").numpy())


# ---------------------------------------------------------------------------------------------
# CTC
# ---------------------------------------------------------------------------------------------
def _ctc_both(logits: np.ndarray, targets: np.ndarray, in_lens: Any, tg_lens: Any,
              device: str, **kwargs: Any) -> None:
    """Loss and the gradient of the logits (through log_softmax) against PyTorch."""
    ours = tg.tensor(logits, dtype=tg.float64, device=device, requires_grad=True)
    out = F.ctc_loss(ours.log_softmax(-1), tg.tensor(targets, device=device), in_lens, tg_lens,
                     **kwargs)
    theirs = torch.tensor(logits, requires_grad=True)
    expected = torch.nn.functional.ctc_loss(theirs.log_softmax(-1), torch.tensor(targets),
                                            in_lens, tg_lens, **kwargs)
    assert tuple(out.shape) == tuple(expected.shape)
    np.testing.assert_allclose(_np(out), expected.detach().numpy(), rtol=1e-9)
    if np.isfinite(expected.detach().numpy()).all():
        out.sum().backward()
        expected.sum().backward()
        np.testing.assert_allclose(_np(ours.grad), theirs.grad.numpy(), atol=1e-10)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("blank", [0, 4])
def test_ctc_loss_padded_targets(reduction: str, blank: int, device: str) -> None:
    rng = np.random.default_rng(8)
    labels = [c for c in range(5) if c != blank]
    targets = rng.choice(labels, size=(3, 4))
    targets[0, 1] = targets[0, 0]  # a repeated label needs a blank between
    _ctc_both(rng.standard_normal((7, 3, 5)), targets, (7, 6, 7), (4, 2, 0), device,
              blank=blank, reduction=reduction)


def test_ctc_loss_concatenated_targets_and_tensor_lengths(device: str) -> None:
    rng = np.random.default_rng(9)
    targets = np.array([1, 2, 3, 3, 1, 2])
    _ctc_both(rng.standard_normal((8, 3, 4)), targets, (8, 8, 5), (3, 1, 2), device)
    ours = F.ctc_loss(tg.randn(6, 2, 4, device=device).log_softmax(-1),
                      tg.tensor([[1, 2], [3, 0]], device=device),
                      tg.tensor([6, 4]), tg.tensor([2, 1]))
    assert ours.ndim == 0


def test_ctc_loss_unbatched(device: str) -> None:
    rng = np.random.default_rng(10)
    for reduction in REDUCTIONS:
        _ctc_both(rng.standard_normal((6, 4)), np.array([1, 2]), (6,), (2,), device,
                  reduction=reduction)


@pytest.mark.parametrize("zero_infinity", [False, True])
def test_ctc_loss_impossible_alignment(zero_infinity: bool, device: str) -> None:
    rng = np.random.default_rng(11)
    targets = np.array([[1, 1, 1], [2, 3, 0]])  # 1 1 1 needs 5 steps; there are 3
    _ctc_both(rng.standard_normal((3, 2, 4)), targets, (3, 3), (3, 2), device,
              reduction="none", zero_infinity=zero_infinity)


def test_ctc_loss_gradcheck(device: str) -> None:
    rng = np.random.default_rng(12)
    logits = tg.tensor(rng.standard_normal((5, 2, 4)), dtype=tg.float64, device=device,
                       requires_grad=True)
    targets = tg.tensor([[1, 2, 2], [3, 1, 0]], device=device)
    assert gradcheck(lambda x: F.ctc_loss(x.log_softmax(-1), targets, (5, 4), (3, 2),
                                          reduction="sum"), [logits])
    assert gradcheck(lambda lp: F.ctc_loss(lp, targets, (5, 4), (3, 2)), [logits * 0.3])


def test_ctc_loss_module_and_errors(device: str) -> None:
    ours, theirs = nn.CTCLoss(blank=1, zero_infinity=True), torch.nn.CTCLoss(blank=1,
                                                                           zero_infinity=True)
    assert repr(ours) == repr(theirs) and ours.blank == 1 and ours.zero_infinity
    rng = np.random.default_rng(13)
    lp = rng.standard_normal((6, 2, 5))
    lp = lp - np.log(np.exp(lp).sum(-1, keepdims=True))
    targets = np.array([[2, 3], [4, 0]])
    np.testing.assert_allclose(
        _np(ours(tg.tensor(lp, device=device), tg.tensor(targets, device=device), (6, 6),
                 (2, 1))),
        theirs(torch.tensor(lp), torch.tensor(targets), (6, 6), (2, 1)).numpy(), rtol=1e-9)
    x = tg.randn(5, 2, 4, device=device).log_softmax(-1)
    t = tg.tensor([[1, 2], [3, 0]], device=device)
    with pytest.raises(RuntimeError, match="at most 5"):
        F.ctc_loss(x, t, (5, 6), (2, 1))
    with pytest.raises(RuntimeError, match="size at least 3"):
        F.ctc_loss(x, t, (5, 5), (3, 1))
    with pytest.raises(RuntimeError, match="input_lengths must be of size batch_size"):
        F.ctc_loss(x, t, (5,), (2, 1))
    with pytest.raises(ValueError):
        nn.CTCLoss(reduction="batchmean")
