"""tg.einsum (issue 16): many equations against np.einsum (no torch needed), float64 gradchecks
on every device (diagonals, ellipsis, broadcasting, implicit output, three operands), the list
and sublist forms, second derivatives, torch where installed, and PyTorch's errors."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.autograd import gradcheck

RNG = np.random.default_rng(0)

# (equation, operand shapes)
EQUATIONS = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),  # implicit output: ik
    ("ii", [(3, 3)]),  # trace
    ("ii->i", [(3, 3)]),  # diagonal
    ("ij->ji", [(2, 3)]),
    ("ij->", [(2, 3)]),
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 4)]),
    ("...ij,...jk->...ik", [(5, 1, 2, 3), (4, 3, 4)]),  # ellipsis dims broadcast
    ("...j,jk", [(5, 1, 2, 3), (3, 4)]),
    ("i...->...", [(2, 3, 4)]),
    ("i,i->", [(3,), (3,)]),
    ("i,j->ij", [(3,), (2,)]),
    ("ij,ij->ij", [(2, 3), (2, 3)]),
    ("iij->ij", [(3, 3, 2)]),
    ("iji->j", [(2, 3, 2)]),
    ("ijk,ikj->i", [(2, 3, 3), (2, 3, 3)]),
    ("abc,cd,de->abe", [(2, 3, 4), (4, 5), (5, 2)]),
    ("ab,ab,ab->a", [(2, 3), (2, 3), (2, 3)]),
    ("Ab,bC->CA", [(2, 3), (3, 2)]),
    ("ij,jk->ik", [(2, 1), (3, 4)]),  # a size-1 dim broadcasts
    ("bn,anm,bm->ba", [(2, 3), (4, 3, 3), (2, 3)]),  # a bilinear form
]


def operands(shapes, device, grad=False):
    return [tg.tensor(RNG.standard_normal(s), dtype=tg.float64, device=device,
                      requires_grad=grad) for s in shapes]


def numpy_reference(equation, xs):
    if equation == "ij,jk->ik" and xs[0].shape == (2, 1):  # (np.einsum does not broadcast it)
        xs = [np.broadcast_to(xs[0], (2, 3)), xs[1]]
    return np.einsum(equation, *xs)


@pytest.mark.parametrize("equation,shapes", EQUATIONS, ids=[e for e, _ in EQUATIONS])
def test_matches_numpy_and_gradcheck(device, equation, shapes):
    xs = operands(shapes, device, grad=True)
    got = tg.einsum(equation, *xs)
    want = numpy_reference(equation, [x.detach().cpu().numpy() for x in xs])
    assert got.shape == want.shape
    np.testing.assert_allclose(got.detach().cpu().numpy(), want)
    gradcheck(lambda *a: tg.einsum(equation, *a), xs)


def test_forms_and_second_derivatives(device):
    a, b = operands([(2, 3), (3, 4)], device)
    want = a.cpu().numpy() @ b.cpu().numpy()
    for got in (tg.einsum("ij,jk", [a, b]), tg.einsum(" i j , j k -> i k ", a, b),
                tg.einsum(a, [0, 1], b, [1, 2], [0, 2]), tg.einsum(a, [0, 1], b, [1, 2]),
                tg.einsum(a, [Ellipsis, 1], b, [1, 2], [Ellipsis, 2])):
        np.testing.assert_allclose(got.cpu().numpy(), want)
    ints = tg.einsum("ij,jk->ik", tg.ones(2, 3, dtype=tg.int64), tg.ones(3, 4, dtype=tg.int64))
    assert ints.dtype == tg.int64 and (ints.numpy() == 3).all()
    x = operands([(3, 3)], device, grad=True)[0]
    # d/dx sum(x @ x) = 1 x^T + x^T 1, and its derivative again: create_graph works
    g = tg.autograd.grad(tg.einsum("ij,jk->", x, x), x, create_graph=True)[0]
    gg = tg.autograd.grad((g * g).sum(), x)[0]
    xn = x.detach().cpu().numpy()
    ones = np.ones((3, 3))
    np.testing.assert_allclose(g.detach().cpu().numpy(), ones @ xn.T + xn.T @ ones)
    assert gg.shape == (3, 3)
    out = tg.einsum("ii->i", x)
    assert not np.shares_memory(out.detach().cpu().numpy(), xn)  # (a copy, not a view)


def test_errors():
    a, b = tg.ones(2, 3), tg.ones(3, 4)
    with pytest.raises(RuntimeError, match="fewer operands were provided"):
        tg.einsum("ij,jk->ik", a)
    with pytest.raises(RuntimeError, match="subscript k is repeated for operand 1 but the "
                                           "sizes don't match, 4 != 3"):
        tg.einsum("ij,kk->ik", a, b)
    with pytest.raises(RuntimeError, match="output subscript z does not appear"):
        tg.einsum("ij,jk->iz", a, b)
    with pytest.raises(RuntimeError, match="output subscript i appears more than once"):
        tg.einsum("ij,jk->ii", a, b)
    with pytest.raises(RuntimeError, match=r"subscripts in the equation \(3\) does not match "
                                           r"the number of dimensions \(2\) for operand 0"):
        tg.einsum("ijk,jk", a, b)
    with pytest.raises(RuntimeError, match="subscript i has size 3 for operand 1 which does "
                                           "not broadcast with previously seen size 2"):
        tg.einsum("ij,ij->ij", a, b)
    with pytest.raises(RuntimeError, match="subscripts must be in"):
        tg.einsum("i1,jk", a, b)
    with pytest.raises(RuntimeError, match="same dtype"):
        tg.einsum("ij,jk->ik", a, b.double())
    with pytest.raises(TypeError, match="must be a Tensor"):
        tg.einsum("ij,jk->ik", a, np.ones((3, 4)))


def test_against_torch():
    torch = pytest.importorskip("torch")
    for equation, shapes in EQUATIONS:
        xs = [RNG.standard_normal(s) for s in shapes]
        w = None
        results = []
        for lib in (tg, torch):
            ts = [lib.tensor(x, requires_grad=True) for x in xs]
            out = lib.einsum(equation, *ts)
            if w is None:
                w = RNG.standard_normal(tuple(out.shape))
            (out * lib.tensor(w)).sum().backward()
            results.append([out.detach().numpy()] + [t.grad.numpy() for t in ts])
        for a, b in zip(*results):
            np.testing.assert_allclose(a, b, err_msg=equation)
