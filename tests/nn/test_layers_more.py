"""Issue 16 (nn part B), layers: LayerNorm, GroupNorm, InstanceNorm1d/2d, Dropout1d/2d,
AlphaDropout, PixelShuffle / PixelUnshuffle, Upsample and F.interpolate (nearest, linear,
bilinear), Bilinear, Embedding(max_norm=) and EmbeddingBag: outputs against PyTorch (CPU,
weights copied in), float64 gradchecks, errors and printed forms, on every device."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from nn_helpers import arr, close, t

import tinygrad_edu as tg
import tinygrad_edu.nn as nn
import tinygrad_edu.nn.functional as F
from tinygrad_edu.autograd import gradcheck

RNG = np.random.default_rng(1616)


def randn(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape)


def same_module(ours: nn.Module, theirs, device: str) -> nn.Module:
    """ours, in float64 on `device`, with theirs' parameters and buffers (theirs float64)."""
    theirs.double()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for (k, a), b in zip(ours.state_dict().items(), theirs.state_dict().values()):
        assert tuple(a.shape) == tuple(b.shape), k
    ours.double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours.to(device)


# ---------------------------------------------------------------------------------------------
# normalisation
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("args, kwargs, shape", [
    ((4,), {}, (3, 4)), (([3, 4],), {"eps": 1e-3}, (2, 3, 4)), ((4,), {"bias": False}, (5, 4)),
    ((5,), {"elementwise_affine": False}, (2, 3, 5)),
])
def test_layer_norm_matches_torch(device, args, kwargs, shape):
    torch = pytest.importorskip("torch")
    ours, theirs = nn.LayerNorm(*args, **kwargs), torch.nn.LayerNorm(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    if theirs.weight is not None:
        with torch.no_grad():
            theirs.weight.normal_()
    same_module(ours, theirs, device)
    x = randn(*shape)
    close(ours(t(x, device)), theirs(torch.tensor(x)))


@pytest.mark.parametrize("groups, channels, kwargs, shape", [
    (2, 4, {}, (3, 4, 5)), (1, 3, {}, (2, 3, 4, 4)), (3, 3, {"eps": 1e-3}, (2, 3)),
    (2, 6, {"affine": False}, (2, 6, 3, 2)), (2, 4, {"bias": False}, (1, 4, 6)),
])
def test_group_norm_matches_torch(device, groups, channels, kwargs, shape):
    torch = pytest.importorskip("torch")
    ours = nn.GroupNorm(groups, channels, **kwargs)
    theirs = torch.nn.GroupNorm(groups, channels, **kwargs)
    assert repr(ours) == repr(theirs)
    if theirs.weight is not None:
        with torch.no_grad():
            theirs.weight.normal_()
    same_module(ours, theirs, device)
    x = randn(*shape)
    close(ours(t(x, device)), theirs(torch.tensor(x)))


@pytest.mark.parametrize("kind", ["InstanceNorm1d", "InstanceNorm2d"])
@pytest.mark.parametrize("kwargs", [{}, {"affine": True}, {"track_running_stats": True},
                                    {"affine": True, "track_running_stats": True,
                                     "momentum": 0.3}, {"track_running_stats": True,
                                                        "momentum": None}], ids=str)
def test_instance_norm_matches_torch(device, kind, kwargs):
    torch = pytest.importorskip("torch")
    ours, theirs = getattr(nn, kind)(3, **kwargs), getattr(torch.nn, kind)(3, **kwargs)
    assert repr(ours) == repr(theirs)
    same_module(ours, theirs, device)
    spatial = (5,) if kind == "InstanceNorm1d" else (4, 5)
    for shape in ((2, 3) + spatial, (3,) + spatial):  # batched and unbatched, training
        x = randn(*shape) * 2 + 1
        close(ours(t(x, device)), theirs(torch.tensor(x)))
    for name, buffer in theirs.named_buffers():
        if name != "num_batches_tracked":
            close(getattr(ours, name), buffer)
    ours.eval()
    theirs.eval()
    x = randn(2, 3, *spatial)
    close(ours(t(x, device)), theirs(torch.tensor(x)))


def test_norm_gradchecks(device):
    x = t(randn(2, 4, 3), device, requires_grad=True)
    w = t(randn(4), device, requires_grad=True)
    b = t(randn(4), device, requires_grad=True)
    assert gradcheck(lambda a, c, d: F.group_norm(a, 2, c, d), (x, w, b))
    assert gradcheck(lambda a, c, d: F.instance_norm(a, weight=c, bias=d), (x, w, b))
    layer = nn.LayerNorm(3).double().to(device)
    assert gradcheck(lambda a: layer(a), (x,))


def test_norm_errors(device):
    with pytest.raises(ValueError):
        nn.GroupNorm(3, 4)
    with pytest.raises(RuntimeError):
        F.group_norm(t(randn(2, 5, 3), device), 2)
    with pytest.raises(ValueError):
        nn.InstanceNorm2d(3)(t(randn(3, 4), device))
    with pytest.raises(ValueError):  # one value per channel: no variance to normalise by
        nn.InstanceNorm1d(3)(t(randn(2, 3, 1), device))
    with pytest.raises(ValueError):
        nn.InstanceNorm2d(3, affine=True)(t(randn(1, 4, 2, 2), device))


def test_norm_defaults():
    assert nn.InstanceNorm2d(3).weight is None and nn.InstanceNorm2d(3).running_mean is None
    layer = nn.GroupNorm(2, 4)
    np.testing.assert_array_equal(arr(layer.weight), np.ones(4))
    np.testing.assert_array_equal(arr(layer.bias), np.zeros(4))
    assert layer.weight.dtype == tg.float32


# ---------------------------------------------------------------------------------------------
# dropout
# ---------------------------------------------------------------------------------------------
def test_dropout2d_zeroes_whole_channels(device):
    x = t(np.ones((8, 16, 3, 3)), device)
    layer = nn.Dropout2d(0.25)
    assert repr(layer) == "Dropout2d(p=0.25, inplace=False)"
    out = arr(layer(x))
    per_channel = out.reshape(8, 16, 9)
    assert ((per_channel == 0).all(-1) | (per_channel == 1 / 0.75).all(-1)).all()
    assert 0 < (per_channel == 0).all(-1).sum() < 8 * 16
    layer.eval()
    assert layer(x) is x
    one = nn.Dropout1d(0.5)(t(np.ones((4, 10, 6)), device))
    rows = arr(one)
    assert ((rows == 0).all(-1) | (rows == 2).all(-1)).all()
    with pytest.warns(UserWarning):
        F.dropout2d(t(np.ones((2, 3, 4)), device))
    with pytest.raises(ValueError):
        nn.Dropout2d(1.5)


def test_dropout2d_gradcheck(device):
    x = t(randn(2, 3, 2, 2), device, requires_grad=True)

    def fn(a):
        tg.manual_seed(5)
        return F.dropout2d(a, 0.4)

    assert gradcheck(fn, (x,))


def test_alpha_dropout(device):
    torch = pytest.importorskip("torch")
    assert repr(nn.AlphaDropout(0.2)) == repr(torch.nn.AlphaDropout(0.2))
    p = 0.2
    x = randn(200, 50)
    layer = nn.AlphaDropout(p)
    out = arr(layer(t(x, device)))
    sat = 1.7580993408473766
    a = 1 / np.sqrt((sat ** 2 * p + 1) * (1 - p))
    kept = np.isclose(out, a * x + a * sat * p)
    dropped = np.isclose(out, -a * sat + a * sat * p)
    assert (kept | dropped).all() and 0.1 < dropped.mean() < 0.3
    selu = arr(F.selu(t(x, device)))  # mean 0, variance 1 are kept (statistically)
    kept_stats = arr(layer(t(selu, device)))
    assert abs(kept_stats.mean() - selu.mean()) < 0.1 and abs(kept_stats.std() - selu.std()) < 0.1
    layer.eval()
    np.testing.assert_array_equal(arr(layer(t(x, device))), x)
    assert F.alpha_dropout(t(x, device), 0.5) is not None  # training=False by default


# ---------------------------------------------------------------------------------------------
# pixel shuffle and interpolation
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape, r", [((2, 8, 3, 4), 2), ((9, 2, 2), 3), ((2, 1, 4, 2, 3), 2)])
def test_pixel_shuffle_matches_torch(device, shape, r):
    torch = pytest.importorskip("torch")
    ours, theirs = nn.PixelShuffle(r), torch.nn.PixelShuffle(r)
    assert repr(ours) == repr(theirs)
    x = randn(*shape)
    got = ours(t(x, device))
    close(got, theirs(torch.tensor(x)))
    back = nn.PixelUnshuffle(r)(got)
    np.testing.assert_array_equal(arr(back), x)
    assert repr(nn.PixelUnshuffle(r)) == repr(torch.nn.PixelUnshuffle(r))
    xg = t(x, device, requires_grad=True)
    assert gradcheck(lambda a: F.pixel_shuffle(a, r), (xg,))
    with pytest.raises(RuntimeError):
        F.pixel_shuffle(t(randn(3, 2, 2), device), 2)


INTERPOLATE = [
    ((1, 2, 3, 4), {"scale_factor": 2}), ((1, 2, 5, 4), {"size": (3, 7)}),
    ((2, 1, 4, 4), {"scale_factor": 0.5}), ((1, 1, 3, 5), {"scale_factor": (1.5, 2.3)}),
    ((1, 1, 3, 5), {"scale_factor": 1.7, "recompute_scale_factor": True}),
    ((2, 3, 7), {"size": 4}), ((2, 3, 5), {"scale_factor": 3}),
    ((1, 2, 6, 9), {"size": (4, 6)}), ((1, 1, 2, 2, 3), {"scale_factor": 2}),
]


@pytest.mark.parametrize("shape, kwargs", INTERPOLATE, ids=str)
@pytest.mark.parametrize("mode, align", [("nearest", None), ("linear", False),
                                         ("linear", True)])
def test_interpolate_matches_torch(device, shape, kwargs, mode, align):
    torch = pytest.importorskip("torch")
    dims = len(shape) - 2
    if mode == "linear":
        if dims == 3:
            pytest.skip("trilinear is not implemented")
        mode = "bilinear" if dims == 2 else "linear"
    x = randn(*shape)
    got = F.interpolate(t(x, device), mode=mode, align_corners=align, **kwargs)
    want = torch.nn.functional.interpolate(torch.tensor(x), mode=mode, align_corners=align,
                                           **kwargs)
    close(got, want)
    if mode != "nearest" or dims < 3:
        xg = t(x, device, requires_grad=True)
        assert gradcheck(lambda a: F.interpolate(a, mode=mode, align_corners=align, **kwargs),
                         (xg,))


@pytest.mark.parametrize("kwargs", [{"scale_factor": 2}, {"size": (5, 3), "mode": "bilinear"},
                                    {"scale_factor": (2, 3), "mode": "bilinear",
                                     "align_corners": True}], ids=str)
def test_upsample_matches_torch(device, kwargs):
    torch = pytest.importorskip("torch")
    ours, theirs = nn.Upsample(**kwargs), torch.nn.Upsample(**kwargs)
    assert repr(ours) == repr(theirs)
    x = randn(2, 3, 4, 4)
    close(ours(t(x, device)), theirs(torch.tensor(x)))
    x32 = randn(1, 2, 3, 3).astype(np.float32)
    close(ours(t(x32, device, dtype=tg.float32)), theirs.float()(torch.tensor(x32)),
          rtol=1e-5, atol=1e-6)


def test_interpolate_errors(device):
    x = t(randn(1, 1, 3, 3), device)
    with pytest.raises(ValueError):
        F.interpolate(x)
    with pytest.raises(ValueError):
        F.interpolate(x, size=4, scale_factor=2)
    with pytest.raises(ValueError):
        F.interpolate(x, scale_factor=2, align_corners=True)
    with pytest.raises(NotImplementedError):
        F.interpolate(x, scale_factor=2, mode="linear")
    with pytest.raises(NotImplementedError):
        F.interpolate(x, scale_factor=2, mode="bicubic")


# ---------------------------------------------------------------------------------------------
# Bilinear
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("bias", [True, False])
def test_bilinear_matches_torch(device, bias):
    torch = pytest.importorskip("torch")
    ours, theirs = nn.Bilinear(3, 4, 5, bias=bias), torch.nn.Bilinear(3, 4, 5, bias=bias)
    assert repr(ours) == repr(theirs)
    assert np.abs(arr(ours.weight)).max() <= 1 / np.sqrt(3)
    same_module(ours, theirs, device)
    for lead in ((6,), (2, 3), ()):
        x1, x2 = randn(*lead, 3), randn(*lead, 4)
        close(ours(t(x1, device), t(x2, device)), theirs(torch.tensor(x1), torch.tensor(x2)))
    a = t(randn(2, 3), device, requires_grad=True)
    b = t(randn(2, 4), device, requires_grad=True)
    w = t(randn(5, 3, 4), device, requires_grad=True)
    c = t(randn(5), device, requires_grad=True)
    assert gradcheck(F.bilinear, (a, b, w, c))
    with pytest.raises(RuntimeError):
        ours(t(randn(2, 4), device), t(randn(2, 4), device))


# ---------------------------------------------------------------------------------------------
# Embedding(max_norm=) and EmbeddingBag
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("norm_type", [2.0, 1.0])
def test_embedding_max_norm_matches_torch(device, norm_type):
    torch = pytest.importorskip("torch")
    ours = nn.Embedding(6, 3, max_norm=1.0, norm_type=norm_type)
    theirs = torch.nn.Embedding(6, 3, max_norm=1.0, norm_type=norm_type)
    assert repr(ours) == repr(theirs)
    same_module(ours, theirs, device)
    idx = np.array([[0, 2, 2], [5, 1, 0]])
    got = ours(tg.tensor(idx, device=device))
    want = theirs(torch.tensor(idx))
    close(got, want)
    close(ours.weight, theirs.weight)  # looked-up rows renormalised in place, row 3, 4 kept
    got.sum().backward()
    want.sum().backward()
    close(ours.weight.grad, theirs.weight.grad)


EMBEDDING_BAG = [
    ("sum", {}), ("mean", {}), ("max", {}), ("mean", {"padding_idx": 2}),
    ("max", {"padding_idx": 0}), ("sum", {"include_last_offset": True}),
    ("mean", {"max_norm": 1.0}),
]


@pytest.mark.parametrize("mode, kwargs", EMBEDDING_BAG, ids=str)
def test_embedding_bag_matches_torch(device, mode, kwargs):
    torch = pytest.importorskip("torch")
    ours = nn.EmbeddingBag(10, 3, mode=mode, **kwargs)
    theirs = torch.nn.EmbeddingBag(10, 3, mode=mode, **kwargs)
    assert repr(ours) == repr(theirs)
    same_module(ours, theirs, device)
    flat = np.array([1, 2, 4, 5, 4, 3, 2, 9, 0, 2, 2])
    offsets = np.array([0, 2, 2, 6, 9])  # bag 1 empty; the last bag only holds 2s
    if kwargs.get("include_last_offset"):  # offsets end with the input's length
        offsets = np.append(offsets, len(flat))
    cases = [(flat, offsets), (flat.reshape(-1)[:10].reshape(2, 5), None)]
    for idx, off in cases:
        args = (tg.tensor(idx, device=device),)
        targs = (torch.tensor(idx),)
        if off is not None:
            args += (tg.tensor(off, device=device),)
            targs += (torch.tensor(off),)
        got, want = ours(*args), theirs(*targs)
        close(got, want)
        (got * t(np.arange(got.numel()).reshape(got.shape), device)).sum().backward()
        (want * torch.arange(want.numel()).reshape(want.shape)).sum().backward()
        close(ours.weight.grad, theirs.weight.grad)
        ours.weight.grad = None
        theirs.weight.grad = None


def test_embedding_bag_per_sample_weights_and_gradcheck(device):
    torch = pytest.importorskip("torch")
    ours, theirs = nn.EmbeddingBag(6, 2, mode="sum"), torch.nn.EmbeddingBag(6, 2, mode="sum")
    same_module(ours, theirs, device)
    idx, off, psw = np.array([0, 3, 3, 5, 1]), np.array([0, 3]), randn(5)
    got = ours(tg.tensor(idx, device=device), tg.tensor(off, device=device), t(psw, device))
    want = theirs(torch.tensor(idx), torch.tensor(off), torch.tensor(psw))
    close(got, want)
    w = t(randn(6, 2), device, requires_grad=True)
    s = t(psw, device, requires_grad=True)
    i, o = tg.tensor(idx, device=device), tg.tensor(off, device=device)
    assert gradcheck(lambda a, b: F.embedding_bag(i, a, o, mode="sum", per_sample_weights=b),
                     (w, s))
    for mode in ("mean", "max"):
        assert gradcheck(lambda a: F.embedding_bag(i, a, o, mode=mode), (w,))


def test_embedding_bag_errors(device):
    bag = nn.EmbeddingBag(5, 2)
    idx = tg.tensor([[1, 2], [3, 4]], device=device)
    bag.to(device)
    with pytest.raises(ValueError):
        bag(idx, tg.tensor([0, 1], device=device))
    with pytest.raises(ValueError):
        bag(tg.tensor([1, 2], device=device))
    with pytest.raises(NotImplementedError):
        bag(idx, per_sample_weights=t(np.ones((2, 2)), device, dtype=tg.float32))
    with pytest.raises(ValueError):
        nn.EmbeddingBag(5, 2, mode="median")(idx)
    with pytest.raises(TypeError):
        bag(t(np.ones((2, 2)), device))


def test_exports():
    for name in ("Conv1d", "ConvTranspose2d", "LayerNorm", "GroupNorm", "InstanceNorm2d",
                 "Dropout2d", "AlphaDropout", "PixelShuffle", "Upsample", "Bilinear",
                 "EmbeddingBag", "ZeroPad2d", "ReflectionPad2d", "ReplicationPad2d",
                 "MaxPool1d", "AvgPool1d", "AdaptiveAvgPool1d", "AdaptiveMaxPool2d"):
        assert name in nn.__all__ and hasattr(nn, name)
    for name in ("conv1d", "conv_transpose2d", "interpolate", "embedding_bag", "group_norm"):
        assert name in F.__all__ and callable(getattr(F, name))
    warnings.simplefilter("default")
