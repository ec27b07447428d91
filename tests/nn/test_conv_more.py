"""Issue 16 (nn part B), convolution side: Conv1d / F.conv1d, Conv2d's padding modes and
unbatched input, ConvTranspose1d/2d, F.pad's reflect / replicate / circular modes and the
padding layers, MaxPool1d, AvgPool1d, AdaptiveAvgPool1d and AdaptiveMaxPool1d/2d: outputs
against PyTorch (CPU, weights copied in), float64 gradchecks, errors and printed forms, on
every device."""

from __future__ import annotations

import numpy as np
import pytest
from nn_helpers import arr, t

import tinygrad_edu as tg
import tinygrad_edu.nn as nn
import tinygrad_edu.nn.functional as F
from tinygrad_edu.autograd import gradcheck, gradgradcheck

RNG = np.random.default_rng(16)


def randn(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape)


def copy_weights(module: nn.Module, tmodule) -> None:
    module.load_state_dict({k: v.detach().numpy() for k, v in tmodule.state_dict().items()})


def same_module(ours: nn.Module, theirs, device: str) -> nn.Module:
    """ours, in float64 on `device`, with theirs' parameters (theirs made float64 too)."""
    theirs.double()
    assert [k for k in ours.state_dict()] == [k for k in theirs.state_dict()]
    for (k, a), b in zip(ours.state_dict().items(), theirs.state_dict().values()):
        assert tuple(a.shape) == tuple(b.shape), k
    ours.double()
    copy_weights(ours, theirs)
    return ours.to(device)


# ---------------------------------------------------------------------------------------------
# F.pad modes and the padding layers
# ---------------------------------------------------------------------------------------------
PADS = [
    ("reflect", (3, 5), (2, 1)), ("replicate", (3, 5), (3, 0)), ("circular", (3, 5), (2, 3)),
    ("reflect", (2, 3, 4), (1, 2, 2, 0)), ("replicate", (2, 3, 4), (0, 3, 1, 4)),
    ("circular", (1, 2, 3, 4), (1, 1, 2, 3)), ("reflect", (1, 2, 3, 4), (3, 3, 2, 2)),
    ("replicate", (2, 3, 4), (1, 1)), ("reflect", (1, 2, 3, 3, 4), (1, 1, 2, 2, 1, 0)),
]


@pytest.mark.parametrize("mode, shape, pad", PADS)
def test_pad_modes_match_torch(device, mode, shape, pad):
    torch = pytest.importorskip("torch")
    x = randn(*shape)
    got = F.pad(t(x, device), pad, mode=mode)
    want = torch.nn.functional.pad(torch.tensor(x), pad, mode=mode)
    np.testing.assert_allclose(arr(got), want.numpy(), rtol=0, atol=0)
    assert got.device == tg.Device(device)


@pytest.mark.parametrize("mode, shape, pad", PADS[:6])
def test_pad_modes_gradcheck(device, mode, shape, pad):
    x = t(randn(*shape), device, requires_grad=True)
    assert gradcheck(lambda a: F.pad(a, pad, mode=mode), (x,))


def test_pad_mode_errors(device):
    x = t(randn(1, 3), device)
    with pytest.raises(RuntimeError):
        F.pad(t(randn(1, 1, 3), device), (3, 3), mode="reflect")  # reflect needs pad < size
    with pytest.raises(NotImplementedError):
        F.pad(t(randn(4), device), (1, 1), mode="reflect")  # 1-D input
    with pytest.raises(NotImplementedError):
        F.pad(x, (1, 1), mode="mirror")
    with pytest.raises(RuntimeError):
        F.pad(x, (1, 1), mode="reflect", value=1.0)
    with pytest.raises(RuntimeError):
        F.pad(t(randn(1, 1, 3), device), (4, 0), mode="circular")


def test_second_derivatives(device):
    """gradgradcheck: the new layers are compositions of differentiable ops (and the conv
    Functions, each other's derivatives), so gradients of gradients are exact too."""
    x = t(randn(1, 2, 3, 3), device, requires_grad=True)
    w = t(randn(2, 2, 2, 2), device, requires_grad=True)
    assert gradgradcheck(lambda a, c: F.conv_transpose2d(a, c, stride=2, output_padding=1),
                         (x, w))
    assert gradgradcheck(lambda a: F.pad(a, (1, 2, 2, 1), mode="reflect") ** 2, (x,))
    assert gradgradcheck(lambda a: F.interpolate(a, scale_factor=1.5, mode="bilinear") ** 2,
                         (x,))


@pytest.mark.parametrize("name, padding, shape", [
    ("ZeroPad2d", 1, (2, 3, 4, 5)), ("ZeroPad2d", (1, 2, 0, 3), (3, 4, 5)),
    ("ReflectionPad2d", 2, (1, 2, 4, 5)), ("ReflectionPad2d", (1, 0, 2, 3), (2, 4, 4)),
    ("ReplicationPad2d", (1, 0, 1, 0), (1, 2, 3, 3)), ("ReplicationPad2d", 3, (2, 3, 3)),
    ("ReflectionPad1d", 2, (2, 3, 5)), ("ReplicationPad1d", (0, 2), (3, 4)),
    ("CircularPad2d", 1, (1, 2, 3, 3)),
])
def test_padding_layers_match_torch(device, name, padding, shape):
    torch = pytest.importorskip("torch")
    ours, theirs = getattr(nn, name)(padding), getattr(torch.nn, name)(padding)
    assert repr(ours) == repr(theirs)
    x = randn(*shape)
    np.testing.assert_allclose(arr(ours(t(x, device))), theirs(torch.tensor(x)).numpy())


# ---------------------------------------------------------------------------------------------
# Conv1d and F.conv1d
# ---------------------------------------------------------------------------------------------
CONV1D = [
    {}, {"stride": 2}, {"padding": 2}, {"padding": "same"}, {"padding": "valid"},
    {"dilation": 2, "padding": 1}, {"groups": 2}, {"bias": False}, {"kernel_size": 4,
                                                                    "padding": "same"},
    {"padding": 2, "padding_mode": "reflect"}, {"padding": 1, "padding_mode": "replicate"},
    {"padding": 2, "padding_mode": "circular", "stride": 2},
    {"padding": "same", "padding_mode": "reflect", "kernel_size": 4},
]


@pytest.mark.parametrize("options", CONV1D, ids=str)
def test_conv1d_matches_torch(device, options):
    torch = pytest.importorskip("torch")
    options = {"kernel_size": 3, **options}
    ours = nn.Conv1d(4, 6, **options)
    theirs = torch.nn.Conv1d(4, 6, **options)
    assert repr(ours) == repr(theirs)
    same_module(ours, theirs, device)
    for shape in ((2, 4, 9), (4, 9)):  # batched and unbatched
        x = randn(*shape)
        got = ours(t(x, device))
        want = theirs(torch.tensor(x))
        assert tuple(got.shape) == tuple(want.shape)
        np.testing.assert_allclose(arr(got), want.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_conv1d_init_and_state_dict():
    layer = nn.Conv1d(4, 6, 3, groups=2)
    assert tuple(layer.weight.shape) == (6, 2, 3) and tuple(layer.bias.shape) == (6,)
    bound = 1 / np.sqrt(2 * 3)
    assert np.abs(arr(layer.weight)).max() <= bound and np.abs(arr(layer.bias)).max() <= bound
    assert list(layer.state_dict()) == ["weight", "bias"]
    assert layer.weight.dtype == tg.float32


def test_conv1d_gradcheck(device):
    x = t(randn(2, 4, 7), device, requires_grad=True)
    w = t(randn(6, 2, 3), device, requires_grad=True)
    b = t(randn(6), device, requires_grad=True)
    assert gradcheck(lambda a, c, d: F.conv1d(a, c, d, stride=2, padding=1, dilation=1,
                                             groups=2), (x, w, b))
    layer = nn.Conv1d(4, 3, 3, padding=2, padding_mode="reflect").double().to(device)
    assert gradcheck(lambda a: layer(a), (x,))


def test_conv1d_errors(device):
    with pytest.raises(ValueError):
        nn.Conv1d(4, 6, 3, padding_mode="mirror")
    with pytest.raises(ValueError):
        nn.Conv1d(4, 6, 3, groups=3)
    with pytest.raises(ValueError):
        nn.Conv1d(4, 6, 3, stride=2, padding="same")
    with pytest.raises(RuntimeError):
        F.conv1d(t(randn(1, 2, 3, 4), device), t(randn(1, 2, 3), device))


# ---------------------------------------------------------------------------------------------
# Conv2d: padding modes and unbatched input
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("options", [
    {"padding": 1, "padding_mode": "reflect"}, {"padding": (2, 1), "padding_mode": "replicate"},
    {"padding": 1, "padding_mode": "circular", "stride": 2},
    {"padding": "same", "padding_mode": "reflect", "kernel_size": (2, 3)},
    {"padding": 1, "padding_mode": "zeros", "groups": 2},
], ids=str)
def test_conv2d_padding_modes_match_torch(device, options):
    torch = pytest.importorskip("torch")
    options = {"kernel_size": 3, **options}
    ours, theirs = nn.Conv2d(4, 2, **options), torch.nn.Conv2d(4, 2, **options)
    assert repr(ours) == repr(theirs)
    same_module(ours, theirs, device)
    for shape in ((2, 4, 5, 6), (4, 5, 6)):
        x = randn(*shape)
        got, want = ours(t(x, device)), theirs(torch.tensor(x))
        assert tuple(got.shape) == tuple(want.shape)
        np.testing.assert_allclose(arr(got), want.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_conv2d_padding_mode_gradcheck(device):
    layer = nn.Conv2d(2, 2, 3, padding=1, padding_mode="circular").double().to(device)
    x = t(randn(1, 2, 4, 4), device, requires_grad=True)
    assert gradcheck(lambda a: layer(a), (x,))
    assert gradcheck(lambda a: layer(a), (t(randn(2, 3, 4), device, requires_grad=True),))
    with pytest.raises(ValueError):
        nn.Conv2d(2, 2, 3, padding_mode="mirror")


# ---------------------------------------------------------------------------------------------
# ConvTranspose1d / ConvTranspose2d
# ---------------------------------------------------------------------------------------------
TRANSPOSED = [
    {}, {"stride": 2}, {"stride": 2, "padding": 1, "output_padding": 1}, {"padding": 1},
    {"groups": 2}, {"dilation": 2}, {"dilation": 2, "output_padding": 1},
    {"stride": 3, "padding": 2, "output_padding": 2, "groups": 2, "dilation": 2},
    {"bias": False, "stride": (2, 1), "padding": (0, 1)},
]


@pytest.mark.parametrize("options", TRANSPOSED, ids=str)
def test_conv_transpose2d_matches_torch(device, options):
    torch = pytest.importorskip("torch")
    ours, theirs = nn.ConvTranspose2d(4, 6, 3, **options), torch.nn.ConvTranspose2d(4, 6, 3,
                                                                                    **options)
    assert repr(ours) == repr(theirs)
    same_module(ours, theirs, device)
    for shape in ((2, 4, 5, 4), (4, 3, 5)):
        x = randn(*shape)
        got, want = ours(t(x, device)), theirs(torch.tensor(x))
        assert tuple(got.shape) == tuple(want.shape)
        np.testing.assert_allclose(arr(got), want.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("options", [o for o in TRANSPOSED if "stride" not in o
                                     or isinstance(o["stride"], int)], ids=str)
def test_conv_transpose1d_matches_torch(device, options):
    torch = pytest.importorskip("torch")
    ours, theirs = nn.ConvTranspose1d(4, 6, 3, **options), torch.nn.ConvTranspose1d(4, 6, 3,
                                                                                    **options)
    assert repr(ours) == repr(theirs)
    same_module(ours, theirs, device)
    for shape in ((2, 4, 5), (4, 6)):
        x = randn(*shape)
        got, want = ours(t(x, device)), theirs(torch.tensor(x))
        np.testing.assert_allclose(arr(got), want.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_conv_transpose_output_size_and_init(device):
    torch = pytest.importorskip("torch")
    ours, theirs = nn.ConvTranspose2d(2, 3, 3, stride=2), torch.nn.ConvTranspose2d(2, 3, 3,
                                                                                  stride=2)
    assert tuple(ours.weight.shape) == (2, 3, 3, 3)
    bound = 1 / np.sqrt(3 * 9)  # fan_in = weight.shape[1] * kernel size
    assert np.abs(arr(ours.weight)).max() <= bound
    same_module(ours, theirs, device)
    x = randn(1, 2, 4, 4)
    got = ours(t(x, device), output_size=[10, 10])
    want = theirs(torch.tensor(x), output_size=[10, 10])
    assert tuple(got.shape) == (1, 3, 10, 10)
    np.testing.assert_allclose(arr(got), want.detach().numpy(), rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError):
        ours(t(x, device), output_size=[12, 12])
    with pytest.raises(ValueError):
        nn.ConvTranspose2d(2, 3, 3, padding_mode="reflect")
    with pytest.raises(RuntimeError):
        F.conv_transpose2d(t(x, device), t(randn(2, 3, 3, 3), device), output_padding=1)


def test_conv_transpose_gradcheck(device):
    x = t(randn(1, 4, 3, 3), device, requires_grad=True)
    w = t(randn(4, 1, 3, 2), device, requires_grad=True)
    b = t(randn(2), device, requires_grad=True)
    assert gradcheck(lambda a, c, d: F.conv_transpose2d(a, c, d, stride=2, padding=1,
                                                       output_padding=1, groups=2,
                                                       dilation=1), (x, w, b))
    x1 = t(randn(2, 2, 4), device, requires_grad=True)
    w1 = t(randn(2, 3, 3), device, requires_grad=True)
    assert gradcheck(lambda a, c: F.conv_transpose1d(a, c, stride=2, dilation=2), (x1, w1))


# ---------------------------------------------------------------------------------------------
# 1-d pooling and adaptive max pooling
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("options", [
    {"kernel_size": 3}, {"kernel_size": 3, "stride": 2, "padding": 1},
    {"kernel_size": 2, "dilation": 2}, {"kernel_size": 3, "stride": 2, "ceil_mode": True},
], ids=str)
def test_max_pool1d_matches_torch(device, options):
    torch = pytest.importorskip("torch")
    ours, theirs = nn.MaxPool1d(**options), torch.nn.MaxPool1d(**options)
    assert repr(ours) == repr(theirs)
    for shape in ((2, 3, 10), (3, 9)):
        x = randn(*shape)
        np.testing.assert_array_equal(arr(ours(t(x, device))), theirs(torch.tensor(x)).numpy())
        got, idx = F.max_pool1d(t(x, device), return_indices=True, **options)
        want, want_idx = torch.nn.functional.max_pool1d(torch.tensor(x), return_indices=True,
                                                        **options)
        np.testing.assert_array_equal(arr(idx), want_idx.numpy())
        assert idx.dtype == tg.int64


@pytest.mark.parametrize("options", [
    {"kernel_size": 3}, {"kernel_size": 3, "stride": 2, "padding": 1},
    {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False},
    {"kernel_size": 4, "stride": 3, "ceil_mode": True},
], ids=str)
def test_avg_pool1d_matches_torch(device, options):
    torch = pytest.importorskip("torch")
    ours, theirs = nn.AvgPool1d(**options), torch.nn.AvgPool1d(**options)
    assert repr(ours) == repr(theirs)
    for shape in ((2, 3, 10), (3, 9)):
        x = randn(*shape)
        np.testing.assert_allclose(arr(ours(t(x, device))), theirs(torch.tensor(x)).numpy(),
                                   rtol=1e-12)


@pytest.mark.parametrize("size, out", [(10, 3), (9, 3), (7, 4), (5, 5), (4, 7)])
def test_adaptive_pool1d_matches_torch(device, size, out):
    torch = pytest.importorskip("torch")
    x = randn(2, 3, size)
    avg, tavg = nn.AdaptiveAvgPool1d(out), torch.nn.AdaptiveAvgPool1d(out)
    assert repr(avg) == repr(tavg)
    np.testing.assert_allclose(arr(avg(t(x, device))), tavg(torch.tensor(x)).numpy(),
                               rtol=1e-12)
    values, idx = nn.AdaptiveMaxPool1d(out, return_indices=True)(t(x[0], device))
    tvalues, tidx = torch.nn.AdaptiveMaxPool1d(out, return_indices=True)(torch.tensor(x[0]))
    np.testing.assert_array_equal(arr(values), tvalues.numpy())
    np.testing.assert_array_equal(arr(idx), tidx.numpy())


@pytest.mark.parametrize("shape, out", [
    ((2, 3, 8, 8), 4), ((2, 3, 7, 5), (3, 2)), ((3, 5, 6), (4, None)), ((1, 2, 5, 5), 1),
    ((1, 1, 3, 4), (5, 6)),
])
def test_adaptive_max_pool2d_matches_torch(device, shape, out):
    torch = pytest.importorskip("torch")
    ours, theirs = nn.AdaptiveMaxPool2d(out), torch.nn.AdaptiveMaxPool2d(out)
    assert repr(ours) == repr(theirs)
    x = randn(*shape)
    np.testing.assert_array_equal(arr(ours(t(x, device))), theirs(torch.tensor(x)).numpy())
    got, idx = F.adaptive_max_pool2d(t(x, device), out, return_indices=True)
    want, want_idx = torch.nn.functional.adaptive_max_pool2d(torch.tensor(x), out,
                                                             return_indices=True)
    np.testing.assert_array_equal(arr(idx), want_idx.numpy())
    np.testing.assert_array_equal(arr(got), want.numpy())


def test_pool1d_and_adaptive_max_gradcheck(device):
    x = t(randn(2, 2, 7), device, requires_grad=True)
    assert gradcheck(lambda a: F.max_pool1d(a, 3, 2, 1), (x,))
    assert gradcheck(lambda a: F.avg_pool1d(a, 3, 2, 1, count_include_pad=False), (x,))
    assert gradcheck(lambda a: F.adaptive_avg_pool1d(a, 3), (x,))
    x2 = t(randn(1, 2, 5, 7), device, requires_grad=True)
    assert gradcheck(lambda a: F.adaptive_max_pool2d(a, (2, 3)), (x2,))


def test_pool1d_errors(device):
    with pytest.raises(RuntimeError):
        F.max_pool1d(t(randn(1, 2, 3, 4), device), 2)
    with pytest.raises(RuntimeError):
        F.adaptive_max_pool2d(t(randn(3, 4), device), 2)
