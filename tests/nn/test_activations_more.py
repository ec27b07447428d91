"""Issue 16 (nn part A): the activation modules (ELU ... Tanhshrink, PReLU), the distance
modules and F.embedding / cosine_similarity / pairwise_distance / gumbel_softmax / one_hot,
against PyTorch (CPU) on the same inputs, float64 gradchecks, repr and errors, on every
device."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn as nn
import tinygrad_edu.nn.functional as F
from tinygrad_edu.autograd import gradcheck

torch = pytest.importorskip("torch")


def _t(array: object, requires_grad: bool = False, device: str = "cpu") -> tg.Tensor:
    return tg.tensor(array, dtype=tg.float64, requires_grad=requires_grad, device=device)


def _np(t: tg.Tensor) -> np.ndarray:
    return tg.backend.to_numpy(t.detach().array)


def _input(shape: tuple = (2, 4, 3, 2), seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape) * 2.5


# (module name, constructor arguments): each runs on the same 4-D input
ACTIVATIONS = [
    ("ELU", {}), ("ELU", {"alpha": 0.5}), ("CELU", {}), ("CELU", {"alpha": 2.0}), ("SELU", {}),
    ("SiLU", {}), ("Mish", {}), ("Softplus", {}), ("Softplus", {"beta": 2.0, "threshold": 1.0}),
    ("Softsign", {}), ("Hardtanh", {}), ("Hardtanh", {"min_val": -2.0, "max_val": 0.5}),
    ("Hardsigmoid", {}), ("Hardswish", {}), ("ReLU6", {}), ("LogSigmoid", {}),
    ("Softmin", {"dim": 1}), ("Softmin", {"dim": -1}), ("Softmax2d", {}),
    ("Threshold", {"threshold": 0.1, "value": 20.0}), ("GLU", {}), ("GLU", {"dim": 1}),
    ("Tanhshrink", {}), ("PReLU", {}), ("PReLU", {"num_parameters": 4, "init": 0.1}),
]
INPLACE = ["ELU", "CELU", "SELU", "SiLU", "Mish", "Hardtanh", "Hardsigmoid", "Hardswish",
           "ReLU6"]


def _ids(spec: tuple) -> str:
    return spec[0] + "".join(f"-{k}={v}" for k, v in spec[1].items())


@pytest.mark.parametrize("spec", ACTIVATIONS, ids=_ids)
def test_activation_module_against_torch(spec: tuple, device: str) -> None:
    name, kwargs = spec
    x = _input()
    ours = getattr(nn, name)(**kwargs).to(device)
    theirs = getattr(torch.nn, name)(**kwargs).double()
    out = ours(_t(x, device=device))
    expected = theirs(torch.tensor(x)).detach().numpy()
    assert out.dtype == tg.float64 and tuple(out.shape) == expected.shape
    np.testing.assert_allclose(_np(out), expected, rtol=1e-10, atol=1e-12)
    assert repr(ours) == repr(theirs)
    out32 = getattr(nn, name)(**kwargs).to(device)(tg.tensor(x, dtype=tg.float32, device=device))
    assert out32.dtype == tg.float32


@pytest.mark.parametrize("spec", ACTIVATIONS, ids=_ids)
def test_activation_module_gradcheck(spec: tuple, device: str) -> None:
    name, kwargs = spec
    module = getattr(nn, name)(**kwargs).to(device).double()
    x = _t(_input((2, 4, 2, 2), seed=1), True, device)
    params = list(module.parameters())
    assert gradcheck(lambda x, *p: module(x), [x, *params])


@pytest.mark.parametrize("name", INPLACE)
def test_inplace_writes_into_the_input(name: str, device: str) -> None:
    x = _input()
    ours = _t(x, device=device)
    out = getattr(nn, name)(inplace=True)(ours)
    expected = getattr(torch.nn, name)()(torch.tensor(x)).numpy()
    np.testing.assert_allclose(_np(ours), expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(_np(out), expected, rtol=1e-10, atol=1e-12)
    assert repr(getattr(nn, name)(inplace=True)) == repr(getattr(torch.nn, name)(inplace=True))


def test_threshold_inplace_and_repr(device: str) -> None:
    x = _input()
    ours = _t(x, device=device)
    m = nn.Threshold(0.5, -1.0, inplace=True)
    m(ours)
    np.testing.assert_allclose(_np(ours), np.where(x <= 0.5, -1.0, x))
    assert repr(m) == repr(torch.nn.Threshold(0.5, -1.0, inplace=True))


def test_prelu_parameter_state_dict_and_errors(device: str) -> None:
    m = nn.PReLU(3, init=0.5).to(device)
    assert list(m.state_dict()) == ["weight"] and tuple(m.weight.shape) == (3,)
    np.testing.assert_allclose(_np(m.weight), [0.5, 0.5, 0.5])
    assert m.weight.dtype == tg.float32 and m.weight.requires_grad
    x = tg.randn(2, 3, 5, device=device)
    m(x).sum().backward()
    assert tuple(m.weight.grad.shape) == (3,)
    with pytest.raises(RuntimeError, match="Mismatch of parameter numbers"):
        m(tg.randn(2, 4, device=device))
    with pytest.raises(RuntimeError, match="channel size = 1"):  # as torch: 1-D has 1 channel
        nn.PReLU(4).to(device)(tg.randn(4, device=device))
    v = _input((4,))
    expected = torch.nn.PReLU().double()(torch.tensor(v)).detach().numpy()
    np.testing.assert_allclose(_np(nn.PReLU().to(device).double()(_t(v, device=device))),
                               expected)


def test_activation_errors(device: str) -> None:
    with pytest.raises(ValueError, match="3D or 4D"):
        nn.Softmax2d()(tg.randn(2, 3, device=device))
    with pytest.raises(RuntimeError, match="Halving dimension must be even"):
        nn.GLU()(tg.randn(2, 3, device=device))
    with pytest.raises(RuntimeError, match="scalars"):
        F.glu(tg.tensor(1.0, device=device))
    with pytest.raises(AssertionError, match="must be greater than min_val"):
        nn.Hardtanh(2.0, 1.0)
    with pytest.raises(ValueError):
        nn.PReLU(0)


def test_hardtanh_deprecated_names() -> None:
    with pytest.warns(FutureWarning):
        m = nn.Hardtanh(min_value=-3.0)
    assert m.min_val == -3.0


def test_functional_forms(device: str) -> None:
    x = _input()
    ours, theirs = _t(x, device=device), torch.tensor(x)
    pairs = [
        (F.threshold(ours, 0.3, 7.0), torch.nn.functional.threshold(theirs, 0.3, 7.0)),
        (F.glu(ours, 1), torch.nn.functional.glu(theirs, 1)),
        (F.tanhshrink(ours), torch.nn.functional.tanhshrink(theirs)),
        (F.prelu(ours, _t([0.2], device=device)),
         torch.nn.functional.prelu(theirs, torch.tensor([0.2], dtype=torch.float64))),
    ]
    for a, b in pairs:
        np.testing.assert_allclose(_np(a), b.numpy(), rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# distances
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shapes,dim", [(((4, 5), (4, 5)), 1), (((4, 5), (1, 5)), 1),
                                        (((3, 4, 5), (3, 4, 5)), -1), (((5,), (5,)), 0),
                                        (((2, 3), (2, 3)), 0)])
def test_cosine_similarity(shapes: tuple, dim: int, device: str) -> None:
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal(shapes[0]), rng.standard_normal(shapes[1])
    out = F.cosine_similarity(_t(a, device=device), _t(b, device=device), dim=dim)
    expected = torch.nn.functional.cosine_similarity(torch.tensor(a), torch.tensor(b), dim=dim)
    np.testing.assert_allclose(_np(out), expected.numpy(), rtol=1e-10, atol=1e-12)
    assert gradcheck(lambda u, v: F.cosine_similarity(u, v, dim=dim),
                     [_t(a, True, device), _t(b, True, device)])
    module = nn.CosineSimilarity(dim=dim, eps=1e-6)
    assert repr(module) == repr(torch.nn.CosineSimilarity(dim=dim, eps=1e-6))
    np.testing.assert_allclose(_np(module(_t(a, device=device), _t(b, device=device))),
                               expected.numpy(), rtol=1e-8)


def test_cosine_similarity_zero_vector(device: str) -> None:
    a = np.zeros((2, 3))
    b = np.ones((2, 3))
    out = F.cosine_similarity(_t(a, device=device), _t(b, device=device))
    np.testing.assert_allclose(_np(out), [0.0, 0.0])


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0, float("inf")])
@pytest.mark.parametrize("keepdim", [False, True])
def test_pairwise_distance(p: float, keepdim: bool, device: str) -> None:
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    out = F.pairwise_distance(_t(a, device=device), _t(b, device=device), p=p, keepdim=keepdim)
    expected = torch.nn.functional.pairwise_distance(torch.tensor(a), torch.tensor(b), p=p,
                                                     keepdim=keepdim)
    assert tuple(out.shape) == tuple(expected.shape)
    np.testing.assert_allclose(_np(out), expected.numpy(), rtol=1e-10)
    assert gradcheck(lambda u, v: F.pairwise_distance(u, v, p=p, keepdim=keepdim),
                     [_t(a, True, device), _t(b, True, device)])
    module = nn.PairwiseDistance(p=p, keepdim=keepdim)
    assert repr(module) == repr(torch.nn.PairwiseDistance(p=p, keepdim=keepdim))
    np.testing.assert_allclose(_np(module(_t(a, device=device), _t(b, device=device))),
                               expected.numpy(), rtol=1e-10)


def test_pairwise_distance_broadcast_and_1d(device: str) -> None:
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal(4)
    out = F.pairwise_distance(_t(a, device=device), _t(b, device=device))
    expected = torch.nn.functional.pairwise_distance(torch.tensor(a), torch.tensor(b))
    np.testing.assert_allclose(_np(out), expected.numpy(), rtol=1e-10)
    out1 = F.pairwise_distance(_t(b, device=device), _t(b * 2, device=device))
    expected1 = torch.nn.functional.pairwise_distance(torch.tensor(b), torch.tensor(b * 2))
    assert out1.ndim == expected1.ndim == 0
    np.testing.assert_allclose(_np(out1), expected1.numpy(), rtol=1e-10)


# ---------------------------------------------------------------------------------------------
# embedding, gumbel_softmax, one_hot
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("padding_idx", [None, 1, -1])
def test_embedding(padding_idx: int | None, device: str) -> None:
    rng = np.random.default_rng(5)
    w = rng.standard_normal((5, 3))
    idx = np.array([[0, 1, 4], [1, 1, 2]])
    weight = _t(w, True, device)
    out = F.embedding(tg.tensor(idx, device=device), weight, padding_idx=padding_idx)
    tw = torch.tensor(w, requires_grad=True)
    expected = torch.nn.functional.embedding(torch.tensor(idx), tw, padding_idx=padding_idx)
    np.testing.assert_allclose(_np(out), expected.detach().numpy())
    g = rng.standard_normal(out.shape)
    out.backward(_t(g, device=device))
    expected.backward(torch.tensor(g))
    np.testing.assert_allclose(_np(weight.grad), tw.grad.numpy(), atol=1e-12)
    if padding_idx is None:  # the padding row's gradient is 0 by design, not its derivative
        assert gradcheck(lambda w: F.embedding(tg.tensor(idx, device=device), w),
                         [_t(w, True, device)])


def test_embedding_errors(device: str) -> None:
    w = tg.randn(4, 2, device=device)
    with pytest.raises(TypeError):
        F.embedding(tg.tensor([0.5], device=device), w)
    with pytest.raises(AssertionError):
        F.embedding(tg.tensor([0], device=device), w, padding_idx=4)
    if device == "cpu":
        with pytest.raises(IndexError):
            F.embedding(tg.tensor([4]), w)
        with pytest.raises(IndexError):  # as torch: no negative indices
            F.embedding(tg.tensor([-1]), w)


@pytest.mark.parametrize("hard", [False, True])
@pytest.mark.parametrize("dim", [-1, 0, 1])
def test_gumbel_softmax(hard: bool, dim: int, device: str) -> None:
    tg.manual_seed(0)
    logits = _t(np.random.default_rng(6).standard_normal((3, 4, 5)), True, device)
    y = F.gumbel_softmax(logits, tau=0.5, hard=hard, dim=dim)
    assert tuple(y.shape) == (3, 4, 5) and y.dtype == tg.float64
    np.testing.assert_allclose(_np(y.sum(dim)), 1.0, rtol=1e-12)
    if hard:
        values = _np(y)
        assert set(np.unique(np.round(values, 12))) <= {0.0, 1.0}
    y.sum().backward()  # straight through: the gradient of the soft sample (sums to ~0)
    np.testing.assert_allclose(_np(logits.grad), 0.0, atol=1e-10)
    tg.manual_seed(1)
    a = F.gumbel_softmax(logits.detach(), dim=dim)
    tg.manual_seed(1)
    b = F.gumbel_softmax(logits.detach(), dim=dim)
    np.testing.assert_array_equal(_np(a), _np(b))


def test_gumbel_softmax_distribution() -> None:
    """The argmax of logits + Gumbel noise is a sample of softmax(logits)."""
    tg.manual_seed(0)
    probs = np.array([0.1, 0.2, 0.7])
    logits = tg.tensor(np.log(probs)).expand(4000, 3)
    hard = F.gumbel_softmax(logits, hard=True)
    np.testing.assert_allclose(_np(hard.mean(0)), probs, atol=0.03)


@pytest.mark.parametrize("shape", [(), (4,), (2, 3), (2, 2, 3)])
def test_one_hot_any_dims(shape: tuple, device: str) -> None:
    idx = np.random.default_rng(7).integers(0, 4, size=shape)
    out = F.one_hot(tg.tensor(idx, device=device), 5)
    expected = torch.nn.functional.one_hot(torch.tensor(idx), 5)
    assert out.dtype == tg.int64 and tuple(out.shape) == tuple(expected.shape)
    np.testing.assert_array_equal(_np(out), expected.numpy())
