"""tg.autograd.functional against torch.autograd.functional (issue 16): jacobian, hessian,
vjp, jvp and hvp on functions of one and of several inputs and outputs, with create_graph
(the results differentiate again) and strict, on every device."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg

torch = pytest.importorskip("torch")
F, TF = tg.autograd.functional, torch.autograd.functional

RNG = np.random.default_rng(0)
A, B = RNG.standard_normal(3), RNG.standard_normal((2, 3))


def ours(device, *arrays):
    return tuple(tg.tensor(a, dtype=tg.float64, device=device) for a in arrays)


def theirs(*arrays):
    return tuple(torch.tensor(a, dtype=torch.float64) for a in arrays)


def assert_same(a, b):
    if isinstance(b, (tuple, list)):
        assert isinstance(a, tuple) and len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
        return
    assert tuple(a.shape) == tuple(b.shape)
    np.testing.assert_allclose(tg.backend.to_numpy(a.detach().array), b.detach().numpy(),
                               rtol=1e-10, atol=1e-12)


def one_in(lib):
    return lambda x: (x.exp() * x.sin()).reshape(3, 1) * x


def two_in(lib):
    return lambda x, y: (y * x).tanh().sum(0) + x * x


def two_out(lib):
    return lambda x, y: (x.exp(), (y * x).sum())


def scalar(lib):
    return lambda x: (x.exp() * x.sin()).sum() + (x * x * x).sum()


def scalar2(lib):
    return lambda x, y: ((y * x).tanh() * y).sum() + (x * x).sum()


CASES = {"one_in": (one_in, (A,)), "two_in": (two_in, (A, B)), "two_out": (two_out, (A, B))}


@pytest.mark.parametrize("case", CASES)
def test_jacobian(case, device):
    make, arrays = CASES[case]
    single = len(arrays) == 1
    x, t = ours(device, *arrays), theirs(*arrays)
    got = F.jacobian(make(tg), x[0] if single else x)
    assert_same(got, TF.jacobian(make(torch), t[0] if single else t))


@pytest.mark.parametrize("case", CASES)
def test_vjp_and_jvp(case, device):
    make, arrays = CASES[case]
    single = len(arrays) == 1
    x, t = ours(device, *arrays), theirs(*arrays)
    xi, ti = (x[0], t[0]) if single else (x, t)
    v_ours = tuple(o.detach() * 0 + 0.5 for o in _tuple(make(tg)(*x)))
    v_ours = v_ours if isinstance(make(tg)(*x), tuple) else v_ours[0]
    v_theirs = tuple(o.detach() * 0 + 0.5 for o in _tuple(make(torch)(*t)))
    v_theirs = v_theirs if isinstance(make(torch)(*t), tuple) else v_theirs[0]
    assert_same(F.vjp(make(tg), xi, v_ours), TF.vjp(make(torch), ti, v_theirs))
    u_ours = tuple(a * 0 + 0.25 for a in x)
    u_theirs = tuple(a * 0 + 0.25 for a in t)
    assert_same(F.jvp(make(tg), xi, u_ours[0] if single else u_ours),
                TF.jvp(make(torch), ti, u_theirs[0] if single else u_theirs))


def _tuple(value):
    return value if isinstance(value, tuple) else (value,)


@pytest.mark.parametrize("make, arrays", [(scalar, (A,)), (scalar2, (A, B))])
def test_hessian_and_hvp(make, arrays, device):
    single = len(arrays) == 1
    x, t = ours(device, *arrays), theirs(*arrays)
    xi, ti = (x[0], t[0]) if single else (x, t)
    assert_same(F.hessian(make(tg), xi), TF.hessian(make(torch), ti))
    v_ours = tuple(a * 0 + 0.5 for a in x)
    v_theirs = tuple(a * 0 + 0.5 for a in t)
    assert_same(F.hvp(make(tg), xi, v_ours[0] if single else v_ours),
                TF.hvp(make(torch), ti, v_theirs[0] if single else v_theirs))


def test_create_graph_gives_results_that_differentiate_again(device):
    x = tg.tensor(A, dtype=tg.float64, device=device, requires_grad=True)
    t = torch.tensor(A, dtype=torch.float64, requires_grad=True)
    j = F.jacobian(scalar(tg), x, create_graph=True)
    tj = TF.jacobian(scalar(torch), t, create_graph=True)
    assert j.requires_grad
    (j * j).sum().backward()
    (tj * tj).sum().backward()
    assert_same(x.grad, t.grad)
    assert not F.jacobian(scalar(tg), x).requires_grad


def test_strict_and_errors():
    x, y = ours("cpu", A, A)
    unused = F.jacobian(lambda a, b: a * 2, (x, y))
    assert float(unused[1].abs().sum()) == 0.0
    with pytest.raises(RuntimeError):
        F.jacobian(lambda a, b: a * 2, (x, y), strict=True)
    with pytest.raises(TypeError):
        F.jacobian(lambda a: a, [1.0, 2.0])
    with pytest.raises(RuntimeError):
        F.vjp(lambda a: a * 2, x)  # v is needed for a non-scalar output
    with pytest.raises(RuntimeError):
        F.hessian(lambda a: a * 2, x)  # not a scalar function
