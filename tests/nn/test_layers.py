"""Layers and loss modules: construction, initialisation, printing, forward values against
NumPy (and PyTorch on the CPU with copied weights, where it is installed), float64 gradchecks
and gradients, on every device (the `device` fixture); and forward + backward of each layer
without a device-to-host synchronisation on the GPU (the `no_host_sync` fixture)."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_edu as tg
import tinygrad_edu.nn as nn

RNG = np.random.default_rng(1234)


def randn(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def arr(t: tg.Tensor) -> np.ndarray:
    return tg.backend.to_numpy(t.detach().array)


def copy_weights(module: nn.Module, tmodule) -> None:
    """Load a torch module's parameters and buffers into ours (keys must agree)."""
    module.load_state_dict({k: v.detach().numpy() for k, v in tmodule.state_dict().items()})


def t(array, device, requires_grad=False, dtype=None):
    """A tensor on `device` from a NumPy array."""
    return tg.tensor(array, device=device, requires_grad=requires_grad, dtype=dtype)


# ---------------------------------------------------------------------------------------------
# Linear
# ---------------------------------------------------------------------------------------------
def test_linear_forward_and_backward_against_numpy(device):
    layer = nn.Linear(5, 3).to(device)
    x_np = randn(4, 5)
    x = tg.tensor(x_np, device=device, requires_grad=True)
    y = layer(x)
    w, b = arr(layer.weight), arr(layer.bias)
    np.testing.assert_allclose(arr(y), x_np @ w.T + b, rtol=1e-5, atol=1e-6)
    y.sum().backward()
    np.testing.assert_allclose(arr(layer.weight.grad), np.ones((3, 4)) @ x_np, rtol=1e-5)
    np.testing.assert_allclose(arr(layer.bias.grad), np.full(3, 4.0))
    np.testing.assert_allclose(arr(x.grad), np.ones((4, 3)) @ w, rtol=1e-5)


def test_linear_batched_leading_dims_and_no_bias(device):
    layer = nn.Linear(4, 2, bias=False, device=device)
    assert layer.bias is None and [n for n, _ in layer.named_parameters()] == ["weight"]
    x = randn(2, 3, 4)
    np.testing.assert_allclose(arr(layer(t(x, device))), x @ arr(layer.weight).T, rtol=1e-5)
    assert repr(layer) == "Linear(in_features=4, out_features=2, bias=False)"


def test_linear_shape_errors(device):
    with pytest.raises(ValueError, match=r"Linear: expected input with last dim 4.*\(2, 3\)"):
        nn.Linear(4, 2, device=device)(tg.ones(2, 3, device=device))
    with pytest.raises(ValueError, match="in_features"):
        nn.Linear(-1, 2)


def test_linear_default_init_bounds_and_reset():
    tg.manual_seed(0)
    layer = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    w, b = arr(layer.weight).copy(), arr(layer.bias)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert np.abs(b).max() <= bound
    assert w.var() == pytest.approx(bound ** 2 / 3, rel=0.05)
    weight = layer.weight
    layer.reset_parameters()
    assert layer.weight is weight and not np.array_equal(arr(weight), w)


def test_linear_matches_pytorch_with_copied_weights(device):
    torch = pytest.importorskip("torch")
    tlayer = torch.nn.Linear(6, 4)
    layer = nn.Linear(6, 4)
    copy_weights(layer, tlayer)
    layer.to(device)
    x = randn(3, 6)
    tx = torch.from_numpy(x).requires_grad_()
    ty = tlayer(tx)
    (ty * ty).sum().backward()
    y = layer(t(x, device))
    (y * y).sum().backward()
    np.testing.assert_allclose(arr(y), ty.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(arr(layer.weight.grad), tlayer.weight.grad.numpy(), rtol=1e-4,
                               atol=1e-5)
    np.testing.assert_allclose(arr(layer.bias.grad), tlayer.bias.grad.numpy(), rtol=1e-4,
                               atol=1e-5)


def test_linear_factory_kwargs(device):
    layer = nn.Linear(2, 3, device=device, dtype=tg.float64)
    assert layer.weight.dtype == tg.float64 and layer.bias.device == tg.Device(device)


# ---------------------------------------------------------------------------------------------
# Conv2d
# ---------------------------------------------------------------------------------------------
def conv2d_reference(x, w, b, stride, padding, dilation, groups):
    """Direct loops over output positions (NumPy only)."""
    n, c_in, h, wid = x.shape
    c_out, c_per_group, kh, kw = w.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    h_out = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    w_out = (wid + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, c_out, h_out, w_out))
    out_per_group = c_out // groups
    for o in range(c_out):
        g = o // out_per_group
        xs = x[:, g * c_per_group:(g + 1) * c_per_group]
        for i in range(h_out):
            for j in range(w_out):
                patch = xs[:, :, i * sh:i * sh + dh * (kh - 1) + 1:dh,
                           j * sw:j * sw + dw * (kw - 1) + 1:dw]
                out[:, o, i, j] = (patch * w[o]).sum(axis=(1, 2, 3))
        if b is not None:
            out[:, o] += b[o]
    return out


CONV_CASES = [
    dict(in_channels=3, out_channels=4, kernel_size=3),
    dict(in_channels=2, out_channels=4, kernel_size=(3, 2), stride=2, padding=1),
    dict(in_channels=4, out_channels=6, kernel_size=3, padding=2, dilation=2, groups=2),
    dict(in_channels=2, out_channels=3, kernel_size=1, bias=False),
    dict(in_channels=2, out_channels=2, kernel_size=(2, 3), stride=(1, 2), padding=(1, 0)),
]


@pytest.mark.parametrize("kwargs", CONV_CASES)
def test_conv2d_forward_against_numpy(kwargs, device):
    layer = nn.Conv2d(**kwargs).to(device)
    x = randn(2, kwargs["in_channels"], 7, 6)
    y = layer(tg.tensor(x, device=device))
    expected = conv2d_reference(x, arr(layer.weight), None if layer.bias is None else
                                arr(layer.bias), layer.stride, layer.padding, layer.dilation,
                                layer.groups)
    assert y.shape == expected.shape
    np.testing.assert_allclose(arr(y), expected, rtol=1e-4, atol=1e-5)


@pytest.mark.filterwarnings("ignore:Using padding='same'")  # torch's note on even kernels
@pytest.mark.parametrize("kwargs", CONV_CASES + [
    dict(in_channels=2, out_channels=3, kernel_size=4, padding="same"),
    dict(in_channels=2, out_channels=3, kernel_size=3, padding="same", dilation=2),
    dict(in_channels=2, out_channels=3, kernel_size=3, padding="valid")])
def test_conv2d_matches_pytorch_values_gradients_and_repr(kwargs, device):
    torch = pytest.importorskip("torch")
    tlayer = torch.nn.Conv2d(**kwargs)
    layer = nn.Conv2d(**kwargs)
    assert repr(layer) == repr(tlayer)
    copy_weights(layer, tlayer)
    layer.to(device)
    x = randn(2, kwargs["in_channels"], 8, 7)
    tx = torch.from_numpy(x).requires_grad_()
    ty = tlayer(tx)
    x_t = t(x, device, requires_grad=True)
    y = layer(x_t)
    assert y.device == tg.Device(device)
    np.testing.assert_allclose(arr(y), ty.detach().numpy(), rtol=1e-4, atol=1e-5)
    g = randn(*ty.shape)
    ty.backward(torch.from_numpy(g))
    y.backward(t(g, device))
    np.testing.assert_allclose(arr(x_t.grad), tx.grad.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(arr(layer.weight.grad), tlayer.weight.grad.numpy(), rtol=1e-4,
                               atol=1e-4)
    if layer.bias is not None:
        np.testing.assert_allclose(arr(layer.bias.grad), tlayer.bias.grad.numpy(), rtol=1e-4,
                                   atol=1e-4)


def test_conv2d_init_and_attributes():
    tg.manual_seed(1)
    layer = nn.Conv2d(16, 32, 3)
    assert layer.weight.shape == (32, 16, 3, 3) and layer.bias.shape == (32,)
    assert layer.kernel_size == (3, 3) and layer.stride == (1, 1) and layer.padding == (0, 0)
    bound = 1 / math.sqrt(16 * 9)
    assert np.abs(arr(layer.weight)).max() <= bound
    assert np.abs(arr(layer.weight)).max() > 0.98 * bound
    assert np.abs(arr(layer.bias)).max() <= bound
    assert nn.Conv2d(4, 8, 3, groups=2).weight.shape == (8, 2, 3, 3)


def test_conv2d_errors(device):
    with pytest.raises(ValueError, match="in_channels \\(3\\) must be divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="strided"):
        nn.Conv2d(3, 4, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="padding string"):
        nn.Conv2d(3, 4, 3, padding="full")
    with pytest.raises(ValueError, match=r"Conv2d: expected input of shape \(N, 3, H, W\)"):
        nn.Conv2d(3, 4, 3, device=device)(tg.ones(1, 2, 5, 5, device=device))
    with pytest.raises(ValueError, match="Conv2d"):  # unbatched (C, H, W) with the wrong C
        nn.Conv2d(3, 4, 3, device=device)(tg.ones(2, 5, 5, device=device))


# ---------------------------------------------------------------------------------------------
# pooling
# ---------------------------------------------------------------------------------------------
def test_max_and_avg_pool_against_numpy(device):
    x = randn(2, 3, 6, 4)
    blocks = x.reshape(2, 3, 3, 2, 2, 2)
    xt = tg.tensor(x, device=device)
    np.testing.assert_allclose(arr(nn.MaxPool2d(2)(xt)), blocks.max(axis=(3, 5)))
    np.testing.assert_allclose(arr(nn.AvgPool2d(2)(xt)), blocks.mean(axis=(3, 5)), rtol=1e-6,
                               atol=1e-7)
    np.testing.assert_allclose(arr(nn.AdaptiveAvgPool2d(1)(xt)),
                               x.mean(axis=(2, 3), keepdims=True), rtol=1e-5, atol=1e-6)


def test_max_pool_gradient_goes_to_the_maximum(device):
    x = tg.tensor([[[[1.0, 5.0], [2.0, 3.0]]]], requires_grad=True, device=device)
    nn.MaxPool2d(2)(x).sum().backward()
    np.testing.assert_array_equal(arr(x.grad), [[[[0.0, 1.0], [0.0, 0.0]]]])


@pytest.mark.parametrize("make", [
    lambda m: m.MaxPool2d(3, stride=2, padding=1), lambda m: m.MaxPool2d((2, 3)),
    lambda m: m.AvgPool2d(3, stride=1, padding=1), lambda m: m.AvgPool2d(2, stride=(2, 1)),
    lambda m: m.AdaptiveAvgPool2d((3, 2)), lambda m: m.AdaptiveAvgPool2d(1),
    lambda m: m.MaxPool2d(2, stride=2, ceil_mode=True),
    lambda m: m.MaxPool2d(2, stride=1, dilation=2),
    lambda m: m.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    lambda m: m.AvgPool2d(2, stride=1, divisor_override=3)])
def test_pooling_matches_pytorch(make, device):
    torch = pytest.importorskip("torch")
    layer, tlayer = make(nn), make(torch.nn)
    assert repr(layer) == repr(tlayer)
    x = randn(2, 3, 7, 6)
    tx = torch.from_numpy(x).requires_grad_()
    ty = tlayer(tx)
    xt = t(x, device, requires_grad=True)
    y = layer(xt)
    np.testing.assert_allclose(arr(y), ty.detach().numpy(), rtol=1e-5, atol=1e-6)
    g = randn(*ty.shape)
    ty.backward(torch.from_numpy(g))
    y.backward(t(g, device))
    np.testing.assert_allclose(arr(xt.grad), tx.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_max_pool_module_returns_indices_like_pytorch(device):
    torch = pytest.importorskip("torch")
    x = randn(2, 3, 7, 6)
    out, idx = nn.MaxPool2d(3, stride=2, padding=1, return_indices=True, ceil_mode=True)(
        t(x, device))
    ref, ref_idx = torch.nn.MaxPool2d(3, stride=2, padding=1, return_indices=True,
                                      ceil_mode=True)(torch.from_numpy(x))
    np.testing.assert_array_equal(arr(out), ref.numpy())
    assert idx.dtype == tg.int64 and idx.device == tg.Device(device)
    np.testing.assert_array_equal(arr(idx), ref_idx.numpy())


def test_pooling_rejects_wrong_rank(device):
    with pytest.raises(ValueError, match="MaxPool2d: expected a 3-D .* or 4-D"):
        nn.MaxPool2d(2)(tg.ones(4, 4, device=device))
    with pytest.raises(ValueError, match="AdaptiveAvgPool2d: expected a 3-D .* or 4-D"):
        nn.AdaptiveAvgPool2d(2)(tg.ones(1, 1, 1, 4, 4, device=device))


# ---------------------------------------------------------------------------------------------
# BatchNorm
# ---------------------------------------------------------------------------------------------
def test_batchnorm2d_train_and_eval_against_numpy(device):
    bn = nn.BatchNorm2d(3, momentum=0.2, device=device)
    assert [n for n, _ in bn.named_buffers()] == ["running_mean", "running_var",
                                                   "num_batches_tracked"]
    with tg.no_grad():
        bn.weight.copy_(tg.tensor([1.0, 2.0, 0.5], device=device))
        bn.bias.copy_(tg.tensor([0.0, -1.0, 3.0], device=device))
    w, b = arr(bn.weight).reshape(1, 3, 1, 1), arr(bn.bias).reshape(1, 3, 1, 1)
    rm, rv = np.zeros(3), np.ones(3)
    for step in range(2):
        x = randn(4, 3, 5, 5) * 2 + step
        y = bn(t(x, device))
        mean, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))
        expected = (x - mean.reshape(1, 3, 1, 1)) / np.sqrt(var.reshape(1, 3, 1, 1) + 1e-5)
        np.testing.assert_allclose(arr(y), expected * w + b, rtol=1e-4, atol=1e-4)
        n = x.size / 3
        rm = 0.8 * rm + 0.2 * mean
        rv = 0.8 * rv + 0.2 * var * n / (n - 1)  # running_var uses the unbiased variance
    np.testing.assert_allclose(arr(bn.running_mean), rm, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(arr(bn.running_var), rv, rtol=1e-5, atol=1e-6)
    assert bn.num_batches_tracked.item() == 2 and bn.num_batches_tracked.dtype == tg.int64
    bn.eval()
    x = randn(2, 3, 4, 4)
    y = bn(t(x, device))
    expected = (x - rm.reshape(1, 3, 1, 1)) / np.sqrt(rv.reshape(1, 3, 1, 1) + 1e-5) * w + b
    np.testing.assert_allclose(arr(y), expected, rtol=1e-4, atol=1e-4)
    assert bn.num_batches_tracked.item() == 2  # eval does not count


@pytest.mark.parametrize("cls,shape,kwargs", [
    ("BatchNorm2d", (4, 3, 5, 5), {}),
    ("BatchNorm2d", (4, 3, 2, 3), {"momentum": None}),
    ("BatchNorm2d", (4, 3, 5, 5), {"affine": False}),
    ("BatchNorm2d", (4, 3, 5, 5), {"track_running_stats": False}),
    ("BatchNorm1d", (8, 3), {"eps": 1e-3}),
    ("BatchNorm1d", (4, 3, 6), {"momentum": 0.5}),
])
def test_batchnorm_matches_pytorch_over_two_steps_then_eval(cls, shape, kwargs, device):
    torch = pytest.importorskip("torch")
    bn, tbn = getattr(nn, cls)(3, **kwargs), getattr(torch.nn, cls)(3, **kwargs)
    ours = repr(bn)
    if "bias=" not in repr(tbn):  # BatchNorm's `bias` argument is newer than PyTorch 2.11
        ours = re.sub(r" bias=\w+,", "", ours)
    assert ours == repr(tbn)
    assert list(bn.state_dict()) == list(tbn.state_dict())
    if bn.weight is not None:
        with torch.no_grad():
            tbn.weight.uniform_(0.5, 1.5)
            tbn.bias.uniform_(-1, 1)
        copy_weights(bn, tbn)
    bn.to(device)
    for step in range(2):
        x = randn(*shape) * 3 + step
        tx = torch.from_numpy(x).requires_grad_()
        xt = t(x, device, requires_grad=True)
        ty, y = tbn(tx), bn(xt)
        np.testing.assert_allclose(arr(y), ty.detach().numpy(), rtol=1e-4, atol=1e-4)
        g = randn(*shape)
        ty.backward(torch.from_numpy(g))
        y.backward(t(g, device))
        np.testing.assert_allclose(arr(xt.grad), tx.grad.numpy(), rtol=1e-3, atol=1e-4)
    for key, value in tbn.state_dict().items():
        np.testing.assert_allclose(arr(bn.state_dict()[key]), value.numpy(), rtol=1e-5,
                                   atol=1e-6, err_msg=key)
    if bn.weight is not None:
        np.testing.assert_allclose(arr(bn.weight.grad), tbn.weight.grad.numpy(), rtol=1e-3,
                                   atol=1e-4)
    bn.eval(), tbn.eval()
    x = randn(*shape)
    np.testing.assert_allclose(arr(bn(t(x, device))), tbn(torch.from_numpy(x)).detach().numpy(),
                               rtol=1e-4, atol=1e-4)


def test_batchnorm_checks_input_dims():
    with pytest.raises(ValueError, match=r"BatchNorm2d: expected 4D input \(got 3D input"):
        nn.BatchNorm2d(3)(tg.ones(3, 4, 4))
    with pytest.raises(ValueError, match="expected 2D or 3D input"):
        nn.BatchNorm1d(3)(tg.ones(2, 3, 4, 4))
    with pytest.raises(ValueError, match="expected 3 channels"):
        nn.BatchNorm1d(3)(tg.ones(2, 4))


def test_batchnorm_defaults_and_reset(device):
    bn = nn.BatchNorm1d(4, device=device)
    assert bn.running_mean.device == bn.num_batches_tracked.device == tg.Device(device)
    np.testing.assert_array_equal(arr(bn.weight), np.ones(4))
    np.testing.assert_array_equal(arr(bn.bias), np.zeros(4))
    bn(t(randn(6, 4) + 3, device))
    assert arr(bn.running_mean).min() > 0
    bn.reset_running_stats()
    np.testing.assert_array_equal(arr(bn.running_mean), np.zeros(4))
    np.testing.assert_array_equal(arr(bn.running_var), np.ones(4))
    assert bn.num_batches_tracked.item() == 0
    no_stats = nn.BatchNorm2d(2, track_running_stats=False)
    assert no_stats.running_mean is None and list(no_stats.state_dict()) == ["weight", "bias"]


# ---------------------------------------------------------------------------------------------
# Dropout, Flatten, Unflatten
# ---------------------------------------------------------------------------------------------
def test_dropout_eval_is_identity_and_train_drops_and_scales(device):
    drop = nn.Dropout(0.3)
    x = tg.ones(200, 100, device=device) * 2
    drop.eval()
    np.testing.assert_array_equal(arr(drop(x)), arr(x))
    drop.train()
    tg.manual_seed(0)
    y = arr(drop(x))
    kept = y != 0
    assert kept.mean() == pytest.approx(0.7, abs=0.02)
    np.testing.assert_allclose(y[kept], 2 / 0.7, rtol=1e-6)
    assert arr(nn.Dropout(0.0)(x)).min() == 2.0
    assert arr(nn.Dropout(1.0)(x)).max() == 0.0
    with pytest.raises(ValueError, match="between 0 and 1, but got 1.5"):
        nn.Dropout(1.5)


def test_dropout_is_reproducible_under_manual_seed_and_its_gradient_is_the_mask(device):
    drop = nn.Dropout(0.4)
    x = tg.tensor(randn(30, 20), device=device, requires_grad=True)
    tg.manual_seed(7)
    first = drop(x)
    second = drop(x)
    tg.manual_seed(7)
    again = drop(x)
    np.testing.assert_array_equal(arr(again), arr(first))  # same seed, same mask
    assert not np.array_equal(arr(second), arr(first))  # the generator moves on
    assert first.device == tg.Device(device) and first.dtype == x.dtype
    first.backward(tg.ones(30, 20, device=device))
    mask = arr(first) != 0
    np.testing.assert_allclose(arr(x.grad), mask / 0.6, rtol=1e-6)  # d(x * m / (1-p))/dx
    assert tg.autograd.gradcheck(
        lambda a: _seeded(lambda: nn.Dropout(0.3)(a)),
        (tg.tensor(randn(4, 5), device=device, dtype=tg.float64, requires_grad=True),))


def _seeded(fn, seed=3):
    """fn() under a fixed seed: the same dropout mask on every call (for gradcheck)."""
    tg.manual_seed(seed)
    return fn()


def test_dropout_in_a_model_follows_train_and_eval(device):
    model = nn.Sequential(nn.Linear(10, 10), nn.Dropout(0.5)).to(device)
    x = tg.ones(4, 10, device=device)
    model.eval()
    np.testing.assert_array_equal(arr(model(x)), arr(model(x)))
    model.train()
    tg.manual_seed(1)
    assert not np.array_equal(arr(model(x)), arr(model(x)))


def test_flatten_and_unflatten(device):
    x = tg.tensor(randn(2, 3, 4, 5), device=device)
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0, 1)(x).shape == (6, 4, 5)
    assert nn.Flatten(start_dim=2)(x).shape == (2, 3, 20)
    y = nn.Unflatten(1, (3, 4, 5))(nn.Flatten()(x))
    np.testing.assert_array_equal(arr(y), arr(x))
    assert repr(nn.Unflatten(1, (2, 3))) == "Unflatten(dim=1, unflattened_size=(2, 3))"


# ---------------------------------------------------------------------------------------------
# Embedding
# ---------------------------------------------------------------------------------------------
def test_embedding_lookup_and_gradient_with_repeated_indices(device):
    tg.manual_seed(0)
    emb = nn.Embedding(6, 3).to(device)
    idx = tg.tensor([[1, 4, 1], [0, 1, 5]], device=device)
    out = emb(idx)
    assert out.shape == (2, 3, 3)
    np.testing.assert_array_equal(arr(out), arr(emb.weight)[arr(idx)])
    out.sum().backward()
    counts = np.bincount(arr(idx).ravel(), minlength=6).astype(np.float32)
    np.testing.assert_array_equal(arr(emb.weight.grad), np.repeat(counts[:, None], 3, axis=1))


def test_embedding_init_padding_row_and_no_gradient_there(device):
    tg.manual_seed(1)
    emb = nn.Embedding(1000, 8, padding_idx=-1, device=device)
    assert emb.padding_idx == 999
    w = arr(emb.weight)
    np.testing.assert_array_equal(w[999], np.zeros(8))
    assert w[:999].std() == pytest.approx(1.0, rel=0.05)  # N(0, 1)
    with tg.no_grad():
        emb.weight[999] = 1.0  # a non-zero padding row is returned as it is ...
    idx = tg.tensor([999, 3, 999], device=device)
    out = emb(idx)
    np.testing.assert_array_equal(arr(out)[0], np.ones(8))
    (out * 2).sum().backward()
    grad = arr(emb.weight.grad)
    np.testing.assert_array_equal(grad[999], np.zeros(8))  # ... but gets no gradient
    np.testing.assert_array_equal(grad[3], np.full(8, 2.0))
    assert repr(emb) == "Embedding(1000, 8, padding_idx=999)"


def test_embedding_matches_pytorch(device):
    torch = pytest.importorskip("torch")
    temb = torch.nn.Embedding(7, 4, padding_idx=2)
    emb = nn.Embedding(7, 4, padding_idx=2)
    copy_weights(emb, temb)
    emb.to(device)
    idx = np.array([[2, 3, 3], [6, 0, 2]])
    g = randn(2, 3, 4)
    tout = temb(torch.from_numpy(idx))
    tout.backward(torch.from_numpy(g))
    out = emb(t(idx, device))
    out.backward(t(g, device))
    np.testing.assert_array_equal(arr(out), tout.detach().numpy())
    np.testing.assert_allclose(arr(emb.weight.grad), temb.weight.grad.numpy(), rtol=1e-6)
    assert repr(emb) == repr(temb)


def test_embedding_gradcheck(device):
    """float64 gradcheck of the lookup with repeated indices (gradcheck perturbs the weight in
    place, so the layer sees each perturbation)."""
    emb = nn.Embedding(5, 3, device=device, dtype=tg.float64)
    idx = tg.tensor([[4, 0, 4], [1, 1, 2]], device=device)
    assert tg.autograd.gradcheck(lambda w: emb(idx), (emb.weight,))


def test_embedding_errors_and_from_pretrained(device):
    emb = nn.Embedding(4, 2, device=device)
    with pytest.raises(TypeError, match="integer"):
        emb(tg.tensor([0.0, 1.0], device=device))
    with tg.autograd.detect_anomaly():  # where the GPU checks values (the CPU always does)
        with pytest.raises(IndexError, match="index 4 is out of range for num_embeddings=4"):
            emb(tg.tensor([0, 4], device=device))
        with pytest.raises(IndexError, match="index -1 is out of range for num_embeddings=4"):
            emb(tg.tensor([[-1, 2]], device=device))
    if device == "cpu":
        with pytest.raises(IndexError, match="index 4 is out of range"):
            emb(tg.tensor([0, 4]))
    with pytest.raises(ValueError, match="padding_idx"):
        nn.Embedding(4, 2, padding_idx=4)
    table = tg.tensor([[1.0, 2.0], [3.0, 4.0]], device=device)
    frozen = nn.Embedding.from_pretrained(table)
    assert not frozen.weight.requires_grad
    np.testing.assert_array_equal(arr(frozen(tg.tensor([1, 1], device=device))),
                                  [[3.0, 4.0], [3.0, 4.0]])
    assert nn.Embedding.from_pretrained(table, freeze=False).weight.requires_grad
    if device != "cpu":
        with pytest.raises(RuntimeError, match="Embedding: indices are on cpu but weight is on"):
            emb(tg.tensor([0, 1]))


def test_embedding_out_of_range_index_raises_on_the_cpu_and_gives_nan_rows_on_the_gpu(
        device, no_host_sync):
    """The CPU always checks the indices. On the GPU, outside detect_anomaly, indices are not
    read back: a row looked up with an out-of-range index (negative or >= num_embeddings) is
    NaN, the others are right, and the bad rows send no gradient anywhere."""
    emb = nn.Embedding(4, 3, device=device)
    idx = tg.tensor([[0, 4, 3], [-1, 2, 9]], device=device)
    if device == "cpu":
        with pytest.raises(IndexError, match=r"index -1 is out of range .*shape \(2, 3\)"):
            emb(idx)
        return
    with no_host_sync():
        out = emb(idx)
        out.sum().backward()
    rows = arr(out)
    assert np.isnan(rows[0, 1]).all() and np.isnan(rows[1, 0]).all()
    assert np.isnan(rows[1, 2]).all()
    w = arr(emb.weight)
    np.testing.assert_array_equal(rows[0, [0, 2]], w[[0, 3]])
    np.testing.assert_array_equal(rows[1, 1], w[2])
    np.testing.assert_array_equal(arr(emb.weight.grad),
                                  np.repeat([[1.0], [0.0], [1.0], [1.0]], 3, axis=1))


# ---------------------------------------------------------------------------------------------
# float64 gradchecks of whole layers (input and every parameter)
# ---------------------------------------------------------------------------------------------
LAYER_GRADCHECKS = [
    pytest.param(lambda: nn.Linear(4, 3), (2, 4), id="linear"),
    pytest.param(lambda: nn.Linear(4, 3, bias=False), (2, 2, 4), id="linear-nobias"),
    pytest.param(lambda: nn.Conv2d(2, 4, 3, stride=2, padding=1), (2, 2, 5, 5), id="conv"),
    pytest.param(lambda: nn.Conv2d(4, 2, (2, 3), groups=2, dilation=(2, 1), bias=False),
                 (1, 4, 5, 5), id="conv-groups-nobias"),
    pytest.param(lambda: nn.Conv2d(2, 2, 2, padding="same"), (1, 2, 4, 4), id="conv-same-even"),
    pytest.param(lambda: nn.MaxPool2d(2, stride=1, padding=1), (1, 2, 4, 4), id="maxpool"),
    pytest.param(lambda: nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True,
                                      count_include_pad=False), (1, 2, 5, 4), id="avgpool"),
    pytest.param(lambda: nn.AdaptiveAvgPool2d((2, 3)), (1, 2, 5, 4), id="adaptive"),
    pytest.param(lambda: nn.BatchNorm1d(3), (5, 3), id="batchnorm1d-train"),
    pytest.param(lambda: nn.BatchNorm2d(2, affine=False), (3, 2, 2, 2), id="bn2d-noaffine"),
    pytest.param(lambda: nn.BatchNorm2d(2).eval(), (3, 2, 2, 2), id="batchnorm2d-eval"),
    pytest.param(lambda: nn.Flatten(), (2, 3, 2), id="flatten"),
]


@pytest.mark.parametrize("make,shape", LAYER_GRADCHECKS)
def test_layer_gradcheck(make, shape, device):
    """float64 gradcheck of a layer with respect to its input and all its parameters."""
    layer = make().to(device).double()
    if isinstance(layer, nn.BatchNorm2d) and not layer.training:
        with tg.no_grad():  # non-trivial running statistics for eval
            layer.running_mean.copy_(tg.tensor([0.5, -1.0], device=device))
            layer.running_var.copy_(tg.tensor([2.0, 0.5], device=device))
    params = list(layer.parameters())
    assert all(p.device == tg.Device(device) and p.dtype == tg.float64 for p in params)
    x = t(RNG.standard_normal(shape), device, True, tg.float64)
    assert tg.autograd.gradcheck(lambda a, *_: layer(a), (x, *params))


# ---------------------------------------------------------------------------------------------
# activations
# ---------------------------------------------------------------------------------------------
def _np_softmax(x, dim):
    e = np.exp(x - x.max(axis=dim, keepdims=True))
    return e / e.sum(axis=dim, keepdims=True)


ACTIVATIONS = [
    (lambda m: m.ReLU(), lambda x: np.maximum(x, 0)),
    (lambda m: m.LeakyReLU(), lambda x: np.where(x >= 0, x, 0.01 * x)),
    (lambda m: m.LeakyReLU(0.2), lambda x: np.where(x >= 0, x, 0.2 * x)),
    (lambda m: m.Sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
    (lambda m: m.Tanh(), np.tanh),
    (lambda m: m.GELU(), lambda x: x * 0.5 * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))),
    (lambda m: m.GELU(approximate="tanh"),
     lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))),
    (lambda m: m.Softmax(dim=1), lambda x: _np_softmax(x, 1)),
    (lambda m: m.Softmax(dim=-1), lambda x: _np_softmax(x, -1)),
    (lambda m: m.LogSoftmax(dim=1), lambda x: np.log(_np_softmax(x, 1))),
]


@pytest.mark.parametrize("make,reference", ACTIVATIONS)
def test_activation_forward_against_numpy(make, reference, device):
    x = randn(3, 4, 5) * 3
    y = make(nn)(tg.tensor(x, device=device))
    np.testing.assert_allclose(arr(y), reference(x.astype(np.float64)), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("make,_", ACTIVATIONS)
def test_activation_matches_pytorch_values_gradients_and_repr(make, _, device):
    torch = pytest.importorskip("torch")
    layer, tlayer = make(nn), make(torch.nn)
    assert repr(layer) == repr(tlayer)
    x = randn(3, 4, 5) * 3
    tx = torch.from_numpy(x).requires_grad_()
    xt = t(x, device, requires_grad=True)
    ty, y = tlayer(tx), layer(xt)
    np.testing.assert_allclose(arr(y), ty.detach().numpy(), rtol=1e-5, atol=1e-6)
    g = randn(3, 4, 5)
    ty.backward(torch.from_numpy(g))
    y.backward(t(g, device))
    np.testing.assert_allclose(arr(xt.grad), tx.grad.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("make,_", ACTIVATIONS)
def test_activation_gradcheck(make, _, device):
    x = randn(2, 3, 4).astype(np.float64) * 2
    x[np.abs(x) < 0.05] = 0.5  # away from ReLU's kink, where finite differences disagree
    assert tg.autograd.gradcheck(make(nn), (t(x, device, True),))


def test_activation_reprs():
    assert repr(nn.ReLU()) == "ReLU()" and repr(nn.ReLU(inplace=True)) == "ReLU(inplace=True)"
    assert repr(nn.LeakyReLU(0.2)) == "LeakyReLU(negative_slope=0.2)"
    assert repr(nn.GELU()) == "GELU(approximate='none')"
    assert repr(nn.Softmax(dim=1)) == "Softmax(dim=1)"
    with pytest.raises(ValueError, match="approximate"):
        nn.GELU("fast")


def test_softmax_without_dim_warns_and_uses_the_legacy_choice():
    x = tg.tensor(randn(2, 3))
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        y = nn.Softmax()(x)
    np.testing.assert_allclose(arr(y).sum(axis=1), np.ones(2), rtol=1e-6)


# ---------------------------------------------------------------------------------------------
# losses
# ---------------------------------------------------------------------------------------------
def _class_problem(n=6, c=4):
    logits = randn(n, c) * 2
    labels = RNG.integers(0, c, n)
    return logits, labels


def test_mse_and_l1_loss_against_numpy(device):
    a, b = randn(4, 3), randn(4, 3)
    ta, tb = t(a, device), t(b, device)
    assert nn.MSELoss()(ta, tb).item() == pytest.approx(((a - b) ** 2).mean(), rel=1e-5)
    assert nn.L1Loss(reduction="sum")(ta, tb).item() == pytest.approx(np.abs(a - b).sum(),
                                                                      rel=1e-5)
    np.testing.assert_allclose(arr(nn.MSELoss(reduction="none")(ta, tb)), (a - b) ** 2,
                               rtol=1e-5)


def test_cross_entropy_loss_against_numpy(device):
    logits, labels = _class_problem()
    log_p = np.log(_np_softmax(logits.astype(np.float64), 1))
    expected = -log_p[np.arange(len(labels)), labels].mean()
    loss = nn.CrossEntropyLoss()(t(logits, device), t(labels, device))
    assert loss.item() == pytest.approx(expected, rel=1e-5)


LOSSES = [
    (lambda m, t: m.MSELoss(), "regression"),
    (lambda m, t: m.MSELoss(reduction="sum"), "regression"),
    (lambda m, t: m.L1Loss(reduction="none"), "regression"),
    (lambda m, t: m.SmoothL1Loss(beta=0.5), "regression"),
    (lambda m, t: m.HuberLoss(delta=0.7), "regression"),
    (lambda m, t: m.CrossEntropyLoss(), "classes"),
    (lambda m, t: m.CrossEntropyLoss(weight=t([0.5, 1.0, 2.0, 1.5]), ignore_index=1),
     "classes"),
    (lambda m, t: m.CrossEntropyLoss(label_smoothing=0.1, reduction="sum"), "classes"),
    (lambda m, t: m.NLLLoss(weight=t([1.0, 2.0, 3.0, 4.0])), "log_probs"),
    (lambda m, t: m.NLLLoss(reduction="none", ignore_index=0), "log_probs"),
    (lambda m, t: m.BCELoss(), "probs"),
    (lambda m, t: m.BCELoss(weight=t([1.0, 2.0, 0.5])), "probs"),
    (lambda m, t: m.BCEWithLogitsLoss(), "binary_logits"),
    (lambda m, t: m.BCEWithLogitsLoss(pos_weight=t([2.0, 1.0, 0.5]), reduction="none"),
     "binary_logits"),
]


def _loss_inputs(kind):
    if kind == "regression":
        return randn(5, 3), randn(5, 3)
    if kind in ("classes", "log_probs"):
        logits, labels = _class_problem()
        if kind == "log_probs":
            logits = np.log(_np_softmax(logits, 1)).astype(np.float32)
        return logits, labels
    if kind == "probs":
        return (1 / (1 + np.exp(-randn(5, 3)))).astype(np.float32), \
            RNG.integers(0, 2, (5, 3)).astype(np.float32)
    return randn(5, 3) * 2, RNG.integers(0, 2, (5, 3)).astype(np.float32)


@pytest.mark.parametrize("make,kind", LOSSES)
def test_loss_modules_match_pytorch(make, kind, device):
    torch = pytest.importorskip("torch")
    loss_fn = make(nn, lambda v: tg.tensor(v, device=device))
    tloss_fn = make(torch.nn, lambda v: torch.tensor(v))
    assert repr(loss_fn) == repr(tloss_fn)
    assert list(loss_fn.state_dict()) == list(tloss_fn.state_dict())
    x, target = _loss_inputs(kind)
    tx = torch.from_numpy(x).requires_grad_()
    xt = t(x, device, requires_grad=True)
    tout = tloss_fn(tx, torch.from_numpy(target))
    out = loss_fn(xt, t(target, device))
    assert out.device == tg.Device(device)
    np.testing.assert_allclose(arr(out), tout.detach().numpy(), rtol=1e-5, atol=1e-6)
    g = randn(*tout.shape)
    tout.backward(torch.from_numpy(g))
    out.backward(t(g, device))
    np.testing.assert_allclose(arr(xt.grad), tx.grad.numpy(), rtol=1e-4, atol=1e-6)


def test_loss_settings_and_weight_buffers():
    w = tg.tensor([1.0, 2.0])
    ce = nn.CrossEntropyLoss(weight=w, ignore_index=3, label_smoothing=0.2)
    assert ce.weight is w and ce.ignore_index == 3 and ce.label_smoothing == 0.2
    assert ce.reduction == "mean" and dict(ce.named_buffers())["weight"] is w
    ce.double()
    assert ce.weight.dtype == tg.float64
    bce = nn.BCEWithLogitsLoss(pos_weight=tg.tensor([3.0]))
    assert [n for n, _ in bce.named_buffers()] == ["pos_weight"]
    assert nn.SmoothL1Loss(beta=0.5).beta == 0.5 and nn.HuberLoss(delta=2.0).delta == 2.0
    with pytest.raises(ValueError, match="'average' is not a valid value for reduction"):
        nn.MSELoss(reduction="average")
    with pytest.raises(ValueError, match="label_smoothing"):
        nn.CrossEntropyLoss(label_smoothing=1.5)
    with pytest.raises(TypeError, match="weight must be a Tensor"):
        nn.NLLLoss(weight=[1.0, 2.0])


def test_legacy_reduction_flags():
    with pytest.warns(DeprecationWarning):
        assert nn.MSELoss(size_average=False).reduction == "sum"
    with pytest.warns(DeprecationWarning):
        assert nn.L1Loss(reduce=False).reduction == "none"


# ---------------------------------------------------------------------------------------------
# a whole model
# ---------------------------------------------------------------------------------------------
def test_small_cnn_trains_one_step_and_every_parameter_gets_a_gradient(device):
    tg.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.1), nn.Linear(4 * 4 * 4, 5)).to(device)
    x = tg.randn(6, 3, 8, 8, device=device)
    y = tg.randint(0, 5, (6,), device=device)
    loss_fn = nn.CrossEntropyLoss()
    loss = loss_fn(model(x), y)
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.shape == p.shape, name
        assert float(p.grad.abs().sum()) > 0, name
    with tg.no_grad():
        for p in model.parameters():
            p -= 0.1 * p.grad
    model.eval()
    assert model(x).shape == (6, 5)


@given(batch=st.integers(1, 4), in_features=st.integers(1, 5), out_features=st.integers(1, 3))
def test_linear_output_shape_for_any_batch(batch, in_features, out_features, device):
    layer = nn.Linear(in_features, out_features, device=device)
    x = tg.ones(batch, in_features, device=device)
    y = layer(x)
    assert y.shape == (batch, out_features)
    np.testing.assert_allclose(arr(y), np.ones((batch, in_features)) @ arr(layer.weight).T
                               + arr(layer.bias), rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------------------------
# hot paths without a device-to-host synchronisation
# ---------------------------------------------------------------------------------------------
SYNC_FREE_LAYERS = [
    pytest.param(lambda: nn.Linear(6, 5), (4, 6), id="linear"),
    pytest.param(lambda: nn.Linear(6, 5, bias=False), (2, 3, 6), id="linear-nobias"),
    pytest.param(lambda: nn.Conv2d(4, 6, 3, padding=1), (2, 4, 6, 6), id="conv"),
    pytest.param(lambda: nn.Conv2d(4, 6, 3, stride=2, bias=False), (2, 4, 7, 6),
                 id="conv-nobias"),
    pytest.param(lambda: nn.Conv2d(4, 6, 2, groups=2, padding="same"), (2, 4, 6, 6),
                 id="conv-groups-same"),
    pytest.param(lambda: nn.MaxPool2d(2), (2, 3, 6, 6), id="maxpool"),
    pytest.param(lambda: nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True), (2, 3, 6, 6),
                 id="maxpool-ceil"),
    pytest.param(lambda: nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False),
                 (2, 3, 7, 6), id="avgpool"),
    pytest.param(lambda: nn.AdaptiveAvgPool2d((4, 5)), (2, 3, 7, 6), id="adaptive"),
    pytest.param(lambda: nn.AdaptiveAvgPool2d(1), (2, 3, 7, 6), id="adaptive-global"),
    pytest.param(lambda: nn.BatchNorm2d(3), (4, 3, 5, 5), id="batchnorm2d-train"),
    pytest.param(lambda: nn.BatchNorm2d(3, momentum=None), (4, 3, 5, 5), id="bn2d-cumulative"),
    pytest.param(lambda: nn.BatchNorm1d(3, track_running_stats=False), (8, 3), id="bn1d-nostats"),
    pytest.param(lambda: nn.BatchNorm1d(3).eval(), (8, 3, 2), id="batchnorm1d-eval"),
    pytest.param(lambda: nn.Dropout(0.3), (8, 10), id="dropout"),
    pytest.param(lambda: nn.Dropout(0.3).eval(), (8, 10), id="dropout-eval"),
    pytest.param(lambda: nn.Flatten(), (2, 3, 4), id="flatten"),
    pytest.param(lambda: nn.Unflatten(1, (2, 2)), (3, 4), id="unflatten"),
] + [pytest.param(lambda make=make: make(nn), (3, 4, 5), id=f"{repr(make(nn))}-{i}")
      for i, (make, _) in enumerate(ACTIVATIONS)]


@pytest.mark.parametrize("make,shape", SYNC_FREE_LAYERS)
def test_layer_forward_and_backward_do_not_sync(make, shape, device, no_host_sync):
    """A layer's forward and backward read nothing back from the GPU (no stall per step)."""
    layer = make().to(device)
    x = tg.randn(*shape, device=device, requires_grad=True)
    g = tg.randn(*layer(x).shape, device=device)
    with no_host_sync():
        out = layer(x)
        out.backward(g)
    assert x.grad is not None and x.grad.device == tg.Device(device)
    for name, p in layer.named_parameters():
        assert p.grad is not None and p.grad.device == tg.Device(device), name
    assert np.isfinite(arr(x.grad)).all()


def test_embedding_forward_and_backward_do_not_sync(device, no_host_sync):
    emb = nn.Embedding(6, 3, padding_idx=0).to(device)
    idx = tg.tensor([[1, 4, 1], [0, 1, 5]], device=device)
    with no_host_sync():
        out = emb(idx)
        (out * out).sum().backward()
    w = arr(emb.weight)
    np.testing.assert_array_equal(arr(out), w[arr(idx)])
    counts = np.bincount(arr(idx).ravel(), minlength=6)[:, None]
    counts[0] = 0  # the padding row gets no gradient
    np.testing.assert_allclose(arr(emb.weight.grad), 2 * counts * w, rtol=1e-6)


def test_cnn_training_step_does_not_sync(device, no_host_sync):
    """conv -> batchnorm -> relu -> maxpool -> dropout -> linear -> cross_entropy, backward and
    an SGD step: nothing is read back from the GPU until the user asks for the loss."""
    tg.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.1), nn.Linear(4 * 4 * 4, 5)).to(device)
    optimizer = tg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x = tg.randn(6, 3, 8, 8, device=device)
    y = tg.randint(0, 5, (6,), device=device)
    before = [arr(p).copy() for p in model.parameters()]
    with no_host_sync():
        for _ in range(2):
            optimizer.zero_grad()
            loss = nn.CrossEntropyLoss()(model(x), y)
            loss.backward()
            optimizer.step()
    assert np.isfinite(loss.item())
    # every parameter moved, except the conv bias: the BatchNorm after it subtracts each
    # channel's mean, so its gradient is 0 up to rounding (and may be exactly 0)
    conv_bias = model[0].bias
    assert all(not np.array_equal(b, arr(p)) for b, p in zip(before, model.parameters())
               if p is not conv_bias)


# ---------------------------------------------------------------------------------------------
# empty batches: every layer gives PyTorch's (empty) output, and its backward works
# ---------------------------------------------------------------------------------------------
EMPTY_BATCH = {  # name: (layer, input shape, PyTorch's output shape)
    "linear": (lambda: nn.Linear(3, 4), (0, 3), (0, 4)),
    "linear_3d": (lambda: nn.Linear(3, 4), (2, 0, 3), (2, 0, 4)),
    "conv2d": (lambda: nn.Conv2d(3, 4, 3), (0, 3, 8, 8), (0, 4, 6, 6)),
    "conv2d_groups_padding": (lambda: nn.Conv2d(4, 4, 3, groups=2, padding=1), (0, 4, 8, 8),
                              (0, 4, 8, 8)),
    "conv2d_stride_same_even": (lambda: nn.Conv2d(3, 2, 2, padding="same"), (0, 3, 5, 5),
                                (0, 2, 5, 5)),
    "conv2d_strided": (lambda: nn.Conv2d(3, 2, 3, stride=2, dilation=2), (0, 3, 9, 9),
                       (0, 2, 3, 3)),
    "max_pool": (lambda: nn.MaxPool2d(2), (0, 3, 8, 8), (0, 3, 4, 4)),
    "max_pool_overlapping": (lambda: nn.MaxPool2d(3, 1, padding=1), (0, 3, 4, 4), (0, 3, 4, 4)),
    "avg_pool": (lambda: nn.AvgPool2d(2, padding=1), (0, 3, 8, 8), (0, 3, 5, 5)),
    "adaptive_avg_pool_1": (lambda: nn.AdaptiveAvgPool2d(1), (0, 3, 8, 8), (0, 3, 1, 1)),
    "adaptive_avg_pool_3": (lambda: nn.AdaptiveAvgPool2d(3), (0, 3, 8, 8), (0, 3, 3, 3)),
    "batchnorm1d": (lambda: nn.BatchNorm1d(3), (0, 3), (0, 3)),
    "batchnorm1d_3d": (lambda: nn.BatchNorm1d(3), (0, 3, 5), (0, 3, 5)),
    "batchnorm1d_length_0": (lambda: nn.BatchNorm1d(3), (2, 3, 0), (2, 3, 0)),
    "batchnorm2d": (lambda: nn.BatchNorm2d(3), (0, 3, 4, 4), (0, 3, 4, 4)),
    "batchnorm2d_no_affine": (lambda: nn.BatchNorm2d(3, affine=False), (0, 3, 2, 2),
                              (0, 3, 2, 2)),
    "flatten": (lambda: nn.Flatten(), (0, 3, 4, 4), (0, 48)),
    "dropout": (lambda: nn.Dropout(0.5), (0, 3), (0, 3)),
    "relu": (lambda: nn.ReLU(), (0, 3), (0, 3)),
    "cnn": (lambda: nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.BatchNorm2d(2), nn.ReLU(),
                                  nn.MaxPool2d(2), nn.Flatten(), nn.Linear(2 * 2 * 2, 3)),
            (0, 1, 4, 4), (0, 3)),
}


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("name", list(EMPTY_BATCH))
def test_empty_batch_through_every_layer_and_back(device, name, training):
    make, in_shape, out_shape = EMPTY_BATCH[name]
    layer = make().to(device)
    layer.train(training)
    buffers = {k: arr(v).copy() for k, v in layer.state_dict().items()
               if "running" in k}
    x = tg.zeros(in_shape, device=device, requires_grad=True)
    y = layer(x)
    assert y.shape == out_shape and y.dtype == tg.float32
    y.sum().backward()
    assert x.grad.shape == in_shape
    for p in layer.parameters():  # nothing to learn from no samples: zero gradients
        assert p.grad is not None and not np.any(arr(p.grad)), name
    for k, v in buffers.items():  # running statistics are kept, as in PyTorch
        np.testing.assert_array_equal(arr(layer.state_dict()[k]), v)


def test_batchnorm_empty_batch_counts_the_batch_and_one_value_per_channel_still_fails(device):
    bn = nn.BatchNorm2d(3).to(device)
    bn(tg.zeros(0, 3, 4, 4, device=device))
    assert bn.num_batches_tracked.item() == 1  # PyTorch counts it
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3).to(device)(tg.zeros(1, 3, device=device))


def test_embedding_of_no_indices(device):
    emb = nn.Embedding(5, 3).to(device)
    rows = emb(tg.zeros(0, dtype=tg.int64, device=device))
    assert rows.shape == (0, 3)
    rows.sum().backward()
    assert not np.any(arr(emb.weight.grad))
