"""Issue 16's shape, indexing, reduction and product functions against torch (forward on the
same inputs, results and dtypes) and float64 gradchecks of the differentiable ones, on every
device. Each is a composition of the library's ops, so its gradient is theirs."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg

torch = pytest.importorskip("torch")
RNG = np.random.default_rng(0)
M23, M34, V3 = RNG.standard_normal((2, 3)), RNG.standard_normal((3, 4)), RNG.standard_normal(3)
B234, B243 = RNG.standard_normal((2, 3, 4)), RNG.standard_normal((2, 4, 3))
WITH_ZERO = np.array([[1.5, 0.0, -2.0, 3.0], [0.5, 2.0, 0.0, 0.0]])

def ix(lib, values):
    """An index tensor on the device the test runs on."""
    return lib.tensor(values, device=lib.dev)


# name: (function of `lib` and the inputs, inputs, differentiable)
CASES = {
    "repeat": (lambda lib, x: x.repeat(2, 1, 3), [M23], True),
    "repeat_interleave": (lambda lib, x: x.repeat_interleave(2, dim=1), [M23], True),
    "repeat_interleave_flat": (lambda lib, x: lib.repeat_interleave(x, 3), [M23], True),
    "repeat_interleave_counts": (lambda lib, x: x.repeat_interleave(ix(lib, [1, 0, 2]),
                                                                    dim=1), [M23], True),
    "roll": (lambda lib, x: x.roll(1, 1), [M23], True),
    "roll_flat": (lambda lib, x: lib.roll(x, -2), [M23], True),
    "roll_dims": (lambda lib, x: x.roll((1, 2), (0, 2)), [B234], True),
    "narrow": (lambda lib, x: x.narrow(1, -2, 2), [M23], True),
    "index_select": (lambda lib, x: x.index_select(1, ix(lib, [2, 0, 2])), [M23], True),
    "masked_select": (lambda lib, x: x.masked_select(x > 0), [M23], True),
    "take_along_dim": (lambda lib, x: x.take_along_dim(ix(lib, [[0], [2]]), 1), [M23],
                       True),
    "take_along_dim_flat": (lambda lib, x: lib.take_along_dim(x, ix(lib, [5, 0])), [M23],
                            True),
    "movedim": (lambda lib, x: x.movedim((0, 1), (2, 0)), [B234], True),
    "swapaxes": (lambda lib, x: x.swapaxes(0, 2), [B234], True),
    "tril": (lambda lib, x: x.tril(), [M34], True),
    "triu": (lambda lib, x: lib.triu(x, -1), [M34], True),
    "cumprod": (lambda lib, x: x.cumprod(1), [WITH_ZERO], True),
    "cumprod_0": (lambda lib, x: lib.cumprod(x, 0), [M23], True),
    "logcumsumexp": (lambda lib, x: x.logcumsumexp(1), [M34 * 30], True),
    "nansum": (lambda lib, x: lib.nansum(x), [M23], True),
    "nanmean": (lambda lib, x: x.nanmean(1), [M23], True),
    "count_nonzero": (lambda lib, x: x.count_nonzero(1), [WITH_ZERO], False),
    "aminmax": (lambda lib, x: lib.aminmax(x, dim=1)[1], [M23], True),
    "var_mean": (lambda lib, x: lib.var_mean(x, 1)[0], [M23], True),
    "std_mean": (lambda lib, x: lib.std_mean(x, 0, keepdim=True)[1], [M23], True),
    "bmm": (lambda lib, a, b: a.bmm(b), [B234, B243], True),
    "mv": (lambda lib, a, b: a.mv(b), [M23, V3], True),
    "dot": (lambda lib, a, b: lib.dot(a, b), [V3, V3 * 2], True),
    "vdot": (lambda lib, a, b: lib.vdot(a, b), [V3, V3 + 1], True),
    "outer": (lambda lib, a, b: lib.outer(a, b), [V3, V3[:2]], True),
    "addmm": (lambda lib, c, a, b: lib.addmm(c, a, b, beta=0.5, alpha=2.0), [M23[:, :2], M23,
                                                                            M23.T], True),
    "baddbmm": (lambda lib, c, a, b: lib.baddbmm(c, a, b, alpha=-1.0),
                [RNG.standard_normal((2, 3, 3)), B234, B243], True),
    "kron": (lambda lib, a, b: lib.kron(a, b), [M23, M34[:2, :2]], True),
    "cross": (lambda lib, a, b: lib.cross(a, b, dim=1), [M34[:, :3], M23[:1].repeat(3, 0)],
              True),
    "tensordot": (lambda lib, a, b: lib.tensordot(a, b, dims=([1, 2], [2, 1])), [B234, B243],
                  True),
    "tensordot_int": (lambda lib, a, b: lib.tensordot(a, b, 1), [M23, M34], True),
    "hstack": (lambda lib, a, b: lib.hstack([a, b]), [M23, M23], True),
    "vstack": (lambda lib, a, b: lib.vstack([a, b]), [V3, M23], True),
    "dstack": (lambda lib, a, b: lib.dstack([a, b]), [M23, M23], True),
    "column_stack": (lambda lib, a, b: lib.column_stack([a, b]), [V3, V3], True),
}


def as_numpy(value):
    return value.detach().cpu().numpy() if hasattr(value, "cpu") else tg.backend.to_numpy(
        value.detach().array)


class On:
    """The library with the device the test runs on (`lib.dev`), for the index tensors."""

    def __init__(self, lib, dev):
        self.lib, self.dev = lib, dev

    def __getattr__(self, name):
        return getattr(self.lib, name)


@pytest.mark.parametrize("name", CASES)
def test_against_torch(name, device):
    fn, arrays, _ = CASES[name]
    ours = fn(On(tg, device), *[tg.tensor(a, device=device) for a in arrays])
    theirs = fn(On(torch, "cpu"), *[torch.tensor(a) for a in arrays])
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    np.testing.assert_allclose(as_numpy(ours), as_numpy(theirs), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", [n for n, c in CASES.items() if c[2]])
def test_gradcheck(name, device):
    fn, arrays, _ = CASES[name]
    inputs = [tg.tensor(a, dtype=tg.float64, device=device, requires_grad=True) for a in arrays]
    assert tg.autograd.gradcheck(lambda *xs: fn(On(tg, device), *xs), inputs)


def test_no_gradient_functions(device):
    x = tg.tensor(WITH_ZERO, device=device)
    t = torch.tensor(WITH_ZERO)
    np.testing.assert_array_equal(as_numpy(x.nonzero()), t.nonzero().numpy())
    for a, b in zip(x.nonzero(as_tuple=True), t.nonzero(as_tuple=True)):
        np.testing.assert_array_equal(as_numpy(a), b.numpy())
    assert x.stride() == t.stride() and x.t().stride() == t.t().stride()
    for a, b in zip(tg.meshgrid(tg.arange(3.0), tg.arange(2.0), indexing="xy"),
                    torch.meshgrid(torch.arange(3.0), torch.arange(2.0), indexing="xy")):
        np.testing.assert_array_equal(as_numpy(a), b.numpy())
    np.testing.assert_allclose(as_numpy(tg.logspace(-1, 2, 5, base=2)),
                               torch.logspace(-1, 2, 5, base=2).numpy(), rtol=1e-6)
    minmax = tg.aminmax(x)
    assert float(minmax.min) == -2.0 and float(minmax.max) == 3.0


def test_errors_as_pytorch():
    x = tg.zeros(2, 3)
    with pytest.raises(RuntimeError):
        x.repeat(2)
    with pytest.raises(IndexError):
        x.narrow(1, 2, 2)
    with pytest.raises(RuntimeError):
        tg.dot(tg.zeros(2), tg.zeros(3))
    with pytest.raises(RuntimeError):
        tg.bmm(x, x)
    with pytest.raises(RuntimeError):
        tg.cross(tg.zeros(2, 2), tg.zeros(2, 2))
    with pytest.raises(RuntimeError):
        x.masked_select(tg.zeros(2, 3))
