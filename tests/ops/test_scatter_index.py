"""scatter / scatter_add / scatter_reduce / index_add / index_fill (issue 16): forward against
NumPy loops (no torch needed) and torch where installed, float64 gradchecks on every device,
the in-place forms and PyTorch's errors."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.autograd import gradcheck

RNG = np.random.default_rng(0)
X34 = RNG.standard_normal((3, 4))
IDX0 = np.array([[0, 1, 2, 0], [2, 0, 1, 1]])  # dim 0: rows of a (3, 4) tensor, repeats
IDX1 = np.array([[0, 1, 1], [3, 2, 0], [1, 1, 1]])  # dim 1
SRC0, SRC1 = RNG.standard_normal(IDX0.shape), RNG.standard_normal(IDX1.shape)
INDEX = np.array([2, 0, 2])  # index_add / index_fill along dim 1 of (3, 4)
SOURCE = RNG.standard_normal((3, 3))


def ix(values, device):
    return tg.tensor(values, device=device)


def t64(values, device, grad=True):
    return tg.tensor(values, dtype=tg.float64, device=device, requires_grad=grad)


def np_scatter_reduce(x, dim, index, src, op, include_self=True):
    """A loop over index's elements: the reference (as PyTorch's documentation writes it)."""
    out = x.copy()
    got = {}
    for pos in np.ndindex(*index.shape):
        place = list(pos)
        place[dim] = index[pos]
        got.setdefault(tuple(place), []).append(src[pos])
    for place, values in got.items():
        values = ([x[place]] if include_self else []) + values
        out[place] = {"sum": np.sum, "prod": np.prod, "mean": np.mean, "amax": np.max,
                      "amin": np.min, "set": lambda v: v[-1]}[op](values)
    return out


@pytest.mark.parametrize("dim,index,src", [(0, IDX0, SRC0), (1, IDX1, SRC1), (-1, IDX1, SRC1)])
def test_scatter_add_and_reduce_match_numpy(device, dim, index, src):
    x, s, i = t64(X34, device, False), t64(src, device, False), ix(index, device)
    d = dim % 2
    np.testing.assert_allclose(x.scatter_add(dim, i, s).cpu().numpy(),
                               np_scatter_reduce(X34, d, index, src, "sum"))
    np.testing.assert_allclose(tg.scatter_add(x, dim, i, s).cpu().numpy(),
                               np_scatter_reduce(X34, d, index, src, "sum"))
    for op in ("sum", "prod", "mean", "amax", "amin"):
        for include_self in (True, False):
            got = tg.scatter_reduce(x, dim, i, s, op, include_self=include_self)
            np.testing.assert_allclose(got.cpu().numpy(), np_scatter_reduce(
                X34, d, index, src, op, include_self), err_msg=f"{op} {include_self}")


def test_scatter_writes_src_and_value(device):
    index = np.array([[0, 1, 2, 0], [1, 2, 0, 1]])  # no place twice along a column
    x, i = t64(X34, device, False), ix(index, device)
    np.testing.assert_allclose(x.scatter(0, i, t64(SRC0, device, False)).cpu().numpy(),
                               np_scatter_reduce(X34, 0, index, SRC0, "set"))
    want = X34.copy()
    for (r, c), v in np.ndenumerate(index):
        want[v, c] = 7.0
    np.testing.assert_allclose(tg.scatter(x, 0, i, 7.0).cpu().numpy(), want)
    np.testing.assert_allclose(x.scatter(0, i, value=7.0).cpu().numpy(), want)
    ints = tg.zeros(3, 4, dtype=tg.int64, device=device).scatter(0, i, 2.7)  # converted (2)
    assert ints.dtype == tg.int64 and ints.cpu().numpy().max() == 2


def test_scatter_in_place_and_reduce(device):
    x = tg.tensor(X34, device=device, dtype=tg.float32)
    i = ix(IDX0, device)
    s = tg.tensor(SRC0, device=device, dtype=tg.float32)
    before = x.clone()
    view = x[:]
    assert x.scatter_(0, i, s, reduce="add") is x
    np.testing.assert_allclose(x.cpu().numpy(), np_scatter_reduce(before.cpu().numpy(), 0, IDX0,
                                                            s.cpu().numpy(), "sum"), rtol=1e-6)
    np.testing.assert_allclose(view.cpu().numpy(), x.cpu().numpy())  # (the same memory)
    x = before.clone()
    x.scatter_(0, i, 3.0, reduce="multiply")
    np.testing.assert_allclose(x.cpu().numpy(), np_scatter_reduce(before.cpu().numpy(), 0, IDX0,
                                                            np.full(IDX0.shape, 3.0), "prod"),
                               rtol=1e-6)
    x = before.clone()
    x.scatter_add_(0, i, s)
    np.testing.assert_allclose(x.cpu().numpy(), np_scatter_reduce(before.cpu().numpy(), 0, IDX0,
                                                            s.cpu().numpy(), "sum"), rtol=1e-6)
    x = before.clone()
    x.scatter_reduce_(0, i, s, "amax", include_self=False)
    np.testing.assert_allclose(x.cpu().numpy(), np_scatter_reduce(before.cpu().numpy(), 0, IDX0,
                                                            s.cpu().numpy(), "amax", False))
    x.scatter_(1, ix([[0], [1], [3]], device), -1.0)
    assert x.cpu().numpy()[0, 0] == x.cpu().numpy()[1, 1] == x.cpu().numpy()[2, 3] == -1.0


def test_index_add_and_fill(device):
    x, i = t64(X34, device, False), ix(INDEX, device)
    want = X34.copy()
    for k, j in enumerate(INDEX):
        want[:, j] += 2 * SOURCE[:, k]
    np.testing.assert_allclose(x.index_add(1, i, t64(SOURCE, device, False), alpha=2).cpu().numpy(),
                               want)
    y = x.clone()
    assert y.index_add_(1, i, t64(SOURCE, device, False), alpha=2) is y
    np.testing.assert_allclose(y.cpu().numpy(), want)
    want = X34.copy()
    want[:, [0, 2]] = -1.5
    np.testing.assert_allclose(x.index_fill(1, i, -1.5).cpu().numpy(), want)
    filled = tg.index_fill(x, -1, i, t64(-1.5, device, False))
    np.testing.assert_allclose(filled.cpu().numpy(), want)
    y = x.clone()
    y.index_fill_(1, i, -1.5)
    np.testing.assert_allclose(y.cpu().numpy(), want)


def test_gradients(device):
    x = t64(X34, device)
    i0, i1, i = ix(IDX0, device), ix(IDX1, device), ix(INDEX, device)
    distinct = ix([[0, 1, 2, 0], [1, 2, 0, 1]], device)
    gradcheck(lambda a, b: a.scatter(0, distinct, b), (x, t64(SRC0 + 5, device)))
    gradcheck(lambda a, b: a.scatter_add(1, i1, b), (x, t64(SRC1, device)))
    gradcheck(lambda a: a.scatter(1, i1[:, :1], 2.0), (x,))
    gradcheck(lambda a, b: a.index_add(1, i, b, alpha=-0.5), (x, t64(SOURCE, device)))
    gradcheck(lambda a, v: a.index_fill(1, i, v), (x, t64(0.5, device)))
    for op in ("sum", "prod", "mean", "amax", "amin"):
        for include_self in (True, False):
            gradcheck(lambda a, b: a.scatter_reduce(0, i0, b, op, include_self=include_self),
                      (x, t64(SRC0, device)))
    # the in-place forms record the op on a non-leaf
    gradcheck(lambda a, b: (a * 1).scatter_(0, distinct, b), (x, t64(SRC0, device)))
    gradcheck(lambda a, b: (a * 1).scatter_add_(1, i1, b), (x, t64(SRC1, device)))
    gradcheck(lambda a, b: (a * 1).index_add_(1, i, b), (x, t64(SOURCE, device)))
    gradcheck(lambda a: (a * 1).index_fill_(1, i, 0.0), (x,))
    gradcheck(lambda a, b: (a * 1).scatter_(0, i0, b, reduce="multiply"),
              (x, t64(SRC0, device)))


def test_amax_ties_share_the_gradient():
    x = tg.tensor([1.0, 5.0], requires_grad=True)
    src = tg.tensor([5.0, 5.0, 2.0], requires_grad=True)
    x.scatter_reduce(0, tg.tensor([1, 1, 0]), src, "amax").sum().backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), [0.0, 1 / 3])  # place 0: src[2] = 2 wins
    np.testing.assert_allclose(src.grad.cpu().numpy(), [1 / 3, 1 / 3, 1.0])


def test_errors():
    x = tg.zeros(3, 4)
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        x.scatter(0, tg.tensor([0, 1]), tg.ones(3, 4))
    with pytest.raises(RuntimeError, match="index 5 is out of bounds for dimension 0 with size 3"):
        x.scatter(0, tg.tensor([[0, 5]]), tg.ones(3, 4))
    with pytest.raises(RuntimeError, match="Expected self.dtype to be equal to src.dtype"):
        x.scatter(0, tg.tensor([[0, 1]]), tg.ones(3, 4, dtype=tg.float64))
    with pytest.raises(RuntimeError, match=r"Expected index \[5, 2\] to be no larger"):
        x.scatter(0, tg.tensor([[0, 1]] * 5), tg.ones(3, 4))
    with pytest.raises(RuntimeError, match="Expected dtype int64 for index"):
        x.scatter(0, tg.tensor([[0.0, 1.0]]), 1.0)
    with pytest.raises(RuntimeError, match="either add or multiply"):
        x.scatter_(0, tg.tensor([[0, 1]]), tg.ones(3, 4), reduce="sum")
    with pytest.raises(RuntimeError, match="sum, prod, mean, amax or amin, got foo"):
        x.scatter_reduce(0, tg.tensor([[0, 1]]), tg.ones(3, 4), "foo")
    with pytest.raises(TypeError, match="must be Tensor"):
        x.scatter_add(0, tg.tensor([[0, 1]]), 2.0)
    with pytest.raises(RuntimeError, match=r"Number of indices \(2\) should be equal"):
        x.index_add_(0, tg.tensor([0, 1]), tg.ones(3, 4))
    with pytest.raises(RuntimeError, match="source tensor shape must match"):
        x.index_add_(0, tg.tensor([0, 1]), tg.ones(2, 5))
    with pytest.raises(RuntimeError, match="index 7 is out of bounds"):
        x.index_add_(0, tg.tensor([0, 7]), tg.ones(2, 4))
    with pytest.raises(IndexError, match="index 7 is out of bounds"):
        x.index_fill_(0, tg.tensor([0, 7]), 1.0)
    with pytest.raises(RuntimeError, match="Index has to be a vector/scalar"):
        x.index_fill_(0, tg.tensor([[0, 1]]), 1.0)
    with pytest.raises(RuntimeError, match="only supports a 0-dimensional value tensor"):
        x.index_fill_(0, tg.tensor([0, 1]), tg.tensor([1.0, 2.0]))
    leaf = tg.zeros(3, 4, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        leaf.scatter_(0, tg.tensor([[0, 1]]), 1.0)
    assert leaf.detach().cpu().numpy().sum() == 0  # (left as it was)


def test_against_torch():
    torch = pytest.importorskip("torch")
    w = RNG.standard_normal((3, 4))
    cases = [
        lambda lib, x, s, i: x.scatter_add(0, i, s),
        lambda lib, x, s, i: lib.scatter_reduce(x, 0, i, s, "mean", include_self=False),
        lambda lib, x, s, i: x.scatter_reduce(0, i, s, "amin"),
        lambda lib, x, s, i: x.scatter_reduce(0, i, s, "prod", include_self=False),
        lambda lib, x, s, i: x.index_add(0, i[0, :2], s, alpha=3),
        lambda lib, x, s, i: x.index_fill(1, i[0, :2], -2.0),
        lambda lib, x, s, i: lib.scatter(x, 1, i[:, :2], 4.0),
    ]
    for k, case in enumerate(cases):
        outs = []
        for lib in (tg, torch):
            x = lib.tensor(X34, requires_grad=True)
            s = lib.tensor(SRC0, requires_grad=True)
            out = case(lib, x, s, lib.tensor(IDX0))
            (out * lib.tensor(w)).sum().backward()
            outs.append([out.detach().cpu().numpy(), x.grad.cpu().numpy()]
                        + ([s.grad.cpu().numpy()] if s.grad is not None else []))
        for a, b in zip(*outs):
            np.testing.assert_allclose(a, b, err_msg=f"case {k}")
