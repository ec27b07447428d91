"""Tensor.unfold and F.unfold / F.fold / nn.Unfold / nn.Fold (issue 16): NumPy loops and the
adjoint identity <unfold(x), y> == <x, fold(y)> without torch, torch where installed, float64
gradchecks on every device."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu.autograd import gradcheck

RNG = np.random.default_rng(0)
# (input shape, keyword arguments) of F.unfold; the output size of fold is the input's
GEOMETRIES = [
    ((2, 3, 5, 5), dict(kernel_size=2)),
    ((3, 5, 6), dict(kernel_size=(2, 3), padding=1, stride=2, dilation=2)),
    ((1, 2, 7, 4), dict(kernel_size=3, padding=(0, 1), stride=(2, 1))),
]


def t64(values, device, grad=False):
    return tg.tensor(values, dtype=tg.float64, device=device, requires_grad=grad)


def np_unfold(x, kernel_size, dilation=1, padding=0, stride=1):
    """im2col with loops, as PyTorch documents it."""
    pair = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
    (kh, kw), (dh, dw), (ph, pw), (sh, sw) = map(pair, (kernel_size, dilation, padding, stride))
    xp = np.pad(x, [(0, 0)] * (x.ndim - 2) + [(ph, ph), (pw, pw)])
    oh = (xp.shape[-2] - dh * (kh - 1) - 1) // sh + 1
    ow = (xp.shape[-1] - dw * (kw - 1) - 1) // sw + 1
    cols = np.zeros(x.shape[:-2] + (kh, kw, oh * ow))
    for i in range(kh):
        for j in range(kw):
            for r in range(oh):
                for c in range(ow):
                    cols[..., i, j, r * ow + c] = xp[..., r * sh + i * dh, c * sw + j * dw]
    lead = x.shape[:-3]
    return cols.reshape(*lead, x.shape[-3] * kh * kw, oh * ow)


def test_tensor_unfold_matches_numpy(device):
    x = np.arange(24.0).reshape(2, 3, 4)
    t = t64(x, device)
    out = t.unfold(2, 2, 1).cpu().numpy()
    assert out.shape == (2, 3, 3, 2)
    np.testing.assert_array_equal(out[..., 1, :], x[..., 1:3])
    out = t.unfold(1, 2, 2).cpu().numpy()  # the last window that fits: 1 of (3 - 2) // 2 + 1
    assert out.shape == (2, 1, 4, 2)
    np.testing.assert_array_equal(out[:, 0], np.moveaxis(x[:, 0:2], 1, -1))
    assert t.unfold(-1, 4, 3).shape == (2, 3, 1, 4)
    assert t.unfold(1, 0, 1).shape == (2, 4, 4, 0)
    assert tg.tensor(2.0, device=device).unfold(0, 1, 1).shape == (1,)
    gradcheck(lambda a: a.unfold(2, 3, 1), (t64(x, device, True),))  # overlapping windows
    gradcheck(lambda a: a.unfold(0, 1, 2), (t64(x, device, True),))


@pytest.mark.parametrize("shape,kw", GEOMETRIES)
def test_unfold_matches_numpy_and_fold_is_its_adjoint(device, shape, kw):
    x = RNG.standard_normal(shape)
    cols = F.unfold(t64(x, device), **kw)
    np.testing.assert_allclose(cols.cpu().numpy(), np_unfold(x, **kw))
    y = RNG.standard_normal(tuple(cols.shape))
    back = F.fold(t64(y, device), shape[-2:], **kw)
    assert back.shape == shape
    # <unfold(x), y> == <x, fold(y)>
    np.testing.assert_allclose((cols.cpu().numpy() * y).sum(), (x * back.cpu().numpy()).sum())
    gradcheck(lambda a: F.unfold(a, **kw), (t64(x, device, True),))
    gradcheck(lambda b: F.fold(b, shape[-2:], **kw), (t64(y, device, True),))


def test_fold_of_unfold_counts_the_overlaps():
    ones = tg.ones(1, 1, 3, 3)
    counts = F.fold(F.unfold(ones, 2), (3, 3), 2)
    np.testing.assert_array_equal(counts.numpy()[0, 0], [[1, 2, 1], [2, 4, 2], [1, 2, 1]])


def test_modules():
    x = tg.tensor(RNG.standard_normal((2, 3, 4, 4)), dtype=tg.float32)
    unfold, fold = tg.nn.Unfold(2, stride=2), tg.nn.Fold((4, 4), 2, stride=2)
    assert repr(unfold) == "Unfold(kernel_size=2, dilation=1, padding=0, stride=2)"
    assert repr(tg.nn.Fold((4, 4), 2)) == ("Fold(output_size=(4, 4), kernel_size=2, "
                                           "dilation=1, padding=0, stride=1)")
    cols = unfold(x)
    assert cols.shape == (2, 12, 4)
    np.testing.assert_array_equal(fold(cols).numpy(), x.numpy())  # no overlap: fold undoes it


def test_errors():
    x = tg.zeros(3, 4)
    with pytest.raises(RuntimeError, match="maximum size for tensor at dimension 1 is 4 but "
                                           "size is 5"):
        x.unfold(1, 5, 1)
    with pytest.raises(RuntimeError, match="step is 0 but must be > 0"):
        x.unfold(1, 2, 0)
    with pytest.raises(IndexError):
        x.unfold(2, 1, 1)
    with pytest.raises(NotImplementedError, match="Only 3D or 4D input"):
        F.unfold(x, 2)
    with pytest.raises(RuntimeError, match="calculated shape of the array of sliding blocks"):
        F.unfold(tg.zeros(1, 1, 2, 2), 3)
    with pytest.raises(RuntimeError, match="stride should be greater than zero"):
        F.unfold(tg.zeros(1, 1, 4, 4), 2, stride=0)
    with pytest.raises(RuntimeError, match="padding should be non-negative"):
        F.unfold(tg.zeros(1, 1, 4, 4), 2, padding=-1)
    with pytest.raises(RuntimeError, match="divisible by the product of kernel_size"):
        F.fold(tg.zeros(1, 5, 9), (4, 4), 2)
    with pytest.raises(RuntimeError, match=r"sliding blocks 3 \* 3 = 9, but got input.size"):
        F.fold(tg.zeros(1, 12, 8), (4, 4), 2)


def test_against_torch():
    torch = pytest.importorskip("torch")
    for shape, kw in GEOMETRIES:
        x = RNG.standard_normal(shape)
        a, b = F.unfold(tg.tensor(x), **kw), torch.nn.functional.unfold(torch.tensor(x), **kw)
        np.testing.assert_allclose(a.numpy(), b.numpy())
        y = RNG.standard_normal(tuple(b.shape))
        np.testing.assert_allclose(F.fold(tg.tensor(y), shape[-2:], **kw).numpy(),
                                   torch.nn.functional.fold(torch.tensor(y), shape[-2:],
                                                            **kw).numpy())
    x = RNG.standard_normal((2, 5, 7))
    for args in [(2, 2, 1), (2, 3, 2), (0, 1, 1), (1, 2, 3), (-1, 7, 3), (1, 0, 1)]:
        np.testing.assert_array_equal(tg.tensor(x).unfold(*args).numpy(),
                                      torch.tensor(x).unfold(*args).numpy())
