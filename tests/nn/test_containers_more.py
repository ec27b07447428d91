"""Issue 16 (nn part A): nn.ParameterList / nn.ParameterDict, nn.utils.parameters_to_vector /
vector_to_parameters / clip_grad_value_ and nn.utils.parametrizations.weight_norm, against
PyTorch (CPU): registration, state_dict keys, repr, values and gradients, on every device."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn as nn
from tinygrad_edu.autograd import gradcheck

torch = pytest.importorskip("torch")


def _np(t: tg.Tensor) -> np.ndarray:
    return tg.backend.to_numpy(t.detach().array)


def _same_repr(ours: object, theirs: object) -> None:
    assert repr(ours) == repr(theirs).replace("torch.", "tg.")


# ---------------------------------------------------------------------------------------------
# ParameterList / ParameterDict
# ---------------------------------------------------------------------------------------------
class _Holder(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.plist = nn.ParameterList([nn.Parameter(tg.randn(2, 3)), tg.randn(3)])
        self.pdict = nn.ParameterDict({"a": nn.Parameter(tg.randn(4)),
                                       "b": tg.zeros(2, dtype=tg.float64)})


def test_parameter_list_registers_and_indexes(device: str) -> None:
    plist = nn.ParameterList([nn.Parameter(tg.randn(2, 3)), tg.randn(3)])
    assert len(plist) == 2 and all(isinstance(p, nn.Parameter) for p in plist)
    assert list(plist.state_dict()) == ["0", "1"]
    plist.append(tg.ones(1))
    plist += [tg.ones(5)]
    plist.extend([nn.Parameter(tg.ones(2))])
    assert len(plist) == 5 and len(list(plist.parameters())) == 5
    assert tuple(plist[-2].shape) == (5,) and tuple(plist[1].shape) == (3,)
    assert isinstance(plist[1:3], nn.ParameterList) and len(plist[1:3]) == 2
    plist[0] = tg.zeros(7)
    assert tuple(plist[0].shape) == (7,) and isinstance(plist[0], nn.Parameter)
    with pytest.raises(IndexError):
        plist[5]
    with pytest.raises(TypeError):
        plist.extend(tg.ones(2))
    plist.to(device)
    assert all(p.device.type == tg.device(device).type for p in plist)
    with pytest.raises(RuntimeError, match="should not be called"):
        plist()


def test_parameter_dict_registers(device: str) -> None:
    pdict = nn.ParameterDict({"w": tg.randn(2, 2)})
    pdict["b"] = nn.Parameter(tg.zeros(2))
    pdict.update([("c", tg.ones(3))])
    assert list(pdict) == ["w", "b", "c"] and list(pdict.keys()) == ["w", "b", "c"]
    assert "b" in pdict and len(pdict) == 3 and isinstance(pdict["w"], nn.Parameter)
    assert list(pdict.state_dict()) == ["w", "b", "c"]
    assert [k for k, _ in pdict.items()] == ["w", "b", "c"] and len(pdict.values()) == 3
    popped = pdict.pop("b")
    assert tuple(popped.shape) == (2,) and "b" not in pdict
    assert list(pdict.state_dict()) == ["w", "c"]
    assert pdict.get("zz") is None
    with pytest.raises(KeyError):
        pdict["zz"]
    with pytest.raises(TypeError):
        pdict[3] = tg.ones(1)
    pdict.to(device)
    assert pdict["w"].device.type == tg.device(device).type
    pdict.clear()
    assert len(pdict) == 0 and not list(pdict.parameters())


def test_containers_in_a_model_match_torch() -> None:
    ours = _Holder()

    class TorchHolder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.plist = torch.nn.ParameterList([torch.nn.Parameter(torch.randn(2, 3)),
                                                 torch.randn(3)])
            self.pdict = torch.nn.ParameterDict({"a": torch.nn.Parameter(torch.randn(4)),
                                                 "b": torch.zeros(2, dtype=torch.float64)})

    theirs = TorchHolder()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    _same_repr(ours.plist, theirs.plist)
    _same_repr(ours.pdict, theirs.pdict)
    _same_repr(nn.ParameterList(), torch.nn.ParameterList())
    _same_repr(nn.ParameterDict(), torch.nn.ParameterDict())
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    np.testing.assert_allclose(_np(ours.plist[0]), theirs.plist[0].detach().numpy())


def test_repr_holder_name() -> None:
    assert repr(_Holder()).startswith("_Holder(\n  (plist): ParameterList(\n")


def test_optimizer_sees_container_parameters(device: str) -> None:
    model = _Holder().to(device)
    opt = tg.optim.SGD(model.parameters(), lr=0.5)
    loss = model.plist[0].sum() + model.pdict["a"].sum()
    loss.backward()
    before = _np(model.plist[0]).copy()
    opt.step()
    np.testing.assert_allclose(_np(model.plist[0]), before - 0.5, rtol=1e-6)


# ---------------------------------------------------------------------------------------------
# parameters_to_vector, vector_to_parameters, clip_grad_value_
# ---------------------------------------------------------------------------------------------
def test_parameters_vector_round_trip(device: str) -> None:
    lin = nn.Linear(3, 2).to(device)
    vec = nn.utils.parameters_to_vector(lin.parameters())
    assert tuple(vec.shape) == (8,)
    tl = torch.nn.Linear(3, 2)
    with torch.no_grad():
        tl.weight.copy_(torch.tensor(_np(lin.weight)))
        tl.bias.copy_(torch.tensor(_np(lin.bias)))
    np.testing.assert_allclose(_np(vec), torch.nn.utils.parameters_to_vector(
        tl.parameters()).detach().numpy())
    nn.utils.vector_to_parameters(vec * 2, lin.parameters())
    np.testing.assert_allclose(_np(lin.bias), 2 * _np(vec)[-2:], rtol=1e-6)
    with pytest.raises(ValueError):
        nn.utils.vector_to_parameters(tg.ones(3, device=device), lin.parameters())


@pytest.mark.parametrize("clip", [0.0, 0.1, 5.0])
def test_clip_grad_value(clip: float, device: str) -> None:
    g = np.random.default_rng(0).standard_normal((3, 4))
    p = tg.zeros(3, 4, requires_grad=True, device=device)
    p.grad = tg.tensor(g, dtype=tg.float32, device=device)
    nn.utils.clip_grad_value_([p], clip)
    tp = torch.zeros(3, 4, requires_grad=True)
    tp.grad = torch.tensor(g, dtype=torch.float32)
    torch.nn.utils.clip_grad_value_([tp], clip)
    np.testing.assert_allclose(_np(p.grad), tp.grad.numpy())


# ---------------------------------------------------------------------------------------------
# weight_norm
# ---------------------------------------------------------------------------------------------
def _linear_pair(device: str) -> tuple:
    tl = torch.nn.Linear(3, 4).double()
    ours = nn.Linear(3, 4).double()
    ours.load_state_dict({k: v.numpy() for k, v in tl.state_dict().items()})
    return ours.to(device), tl


def test_weight_norm_linear_matches_torch(device: str) -> None:
    from tinygrad_edu.nn.utils.parametrizations import weight_norm  # PyTorch's spelling

    ours, theirs = _linear_pair(device)
    ours = weight_norm(ours)
    theirs = torch.nn.utils.parametrizations.weight_norm(theirs)
    assert type(ours).__name__ == "ParametrizedLinear" and isinstance(ours, nn.Linear)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    g, v = ours.parametrizations.weight.original0, ours.parametrizations.weight.original1
    tg_g = theirs.parametrizations.weight.original0
    assert tuple(g.shape) == (4, 1) and tuple(v.shape) == (4, 3)
    np.testing.assert_allclose(_np(g), tg_g.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(_np(ours.weight), theirs.weight.detach().numpy(), rtol=1e-12)
    x = np.random.default_rng(0).standard_normal((5, 3))
    out = ours(tg.tensor(x, device=device))
    tout = theirs(torch.tensor(x))
    np.testing.assert_allclose(_np(out), tout.detach().numpy(), rtol=1e-12)
    (out * out).sum().backward()
    (tout * tout).sum().backward()
    for name in ["original0", "original1"]:
        np.testing.assert_allclose(
            _np(getattr(ours.parametrizations.weight, name).grad),
            getattr(theirs.parametrizations.weight, name).grad.numpy(), rtol=1e-10)
    assert ours.weight.grad_fn is not None and "weight" not in ours._parameters


@pytest.mark.parametrize("dim", [0, 1, None, -1])
def test_weight_norm_dims_and_gradcheck(dim: int | None, device: str) -> None:
    tc = torch.nn.Conv2d(2, 3, 3).double()
    theirs = torch.nn.utils.parametrizations.weight_norm(tc, dim=dim)
    ours = nn.Conv2d(2, 3, 3).double()
    ours.load_state_dict({"weight": tc.parametrizations.weight.original1.detach().numpy(),
                          "bias": tc.bias.detach().numpy()})
    ours = nn.utils.parametrizations.weight_norm(ours.to(device), dim=dim)
    g = ours.parametrizations.weight.original0
    assert tuple(g.shape) == tuple(theirs.parametrizations.weight.original0.shape)
    np.testing.assert_allclose(_np(g), theirs.parametrizations.weight.original0.detach().numpy(),
                               rtol=1e-12)
    np.testing.assert_allclose(_np(ours.weight), theirs.weight.detach().numpy(), rtol=1e-12)
    norm = ours.parametrizations.weight[0]
    rng = np.random.default_rng(1)
    args = [tg.tensor(rng.random(tuple(g.shape)) + 0.5, dtype=tg.float64, device=device,
                      requires_grad=True),
            tg.tensor(rng.standard_normal((3, 2, 3, 3)), dtype=tg.float64, device=device,
                      requires_grad=True)]
    assert gradcheck(norm, args)


def test_weight_norm_assign_remove_and_errors(device: str) -> None:
    from tinygrad_edu.nn.utils import parametrizations as P

    lin = P.weight_norm(nn.Linear(3, 2).to(device))
    target = tg.tensor([[1.0, 2.0, 2.0], [0.0, 3.0, 4.0]], device=device)
    lin.weight = target  # sets g and v through right_inverse
    np.testing.assert_allclose(_np(lin.weight), _np(target), rtol=1e-6)
    np.testing.assert_allclose(_np(lin.parametrizations.weight.original0).ravel(), [3.0, 5.0])
    lin.bias = nn.Parameter(tg.zeros(2, device=device))  # other attributes as usual
    assert P.is_parametrized(lin) and P.is_parametrized(lin, "weight")
    P.remove_parametrizations(lin, "weight")
    assert type(lin) is nn.Linear and isinstance(lin.weight, nn.Parameter)
    assert list(lin.state_dict()) == ["bias", "weight"]  # re-registered last, as PyTorch
    np.testing.assert_allclose(_np(lin.weight), _np(target), rtol=1e-6)
    assert not P.is_parametrized(lin)
    with pytest.raises(ValueError):
        P.weight_norm(nn.Linear(2, 2), name="nothing")
    with pytest.raises(ValueError):
        P.remove_parametrizations(nn.Linear(2, 2), "weight")


def test_weight_norm_trains(device: str) -> None:
    tg.manual_seed(0)
    lin = nn.utils.parametrizations.weight_norm(nn.Linear(4, 1)).to(device)
    opt = tg.optim.SGD(lin.parameters(), lr=0.1)
    x = tg.randn(16, 4, device=device)
    y = x.sum(1, keepdim=True)
    losses = []
    for _ in range(30):
        opt.zero_grad()
        loss = ((lin(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(float(loss))
    assert losses[-1] < 0.2 * losses[0]
