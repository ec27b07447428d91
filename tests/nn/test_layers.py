"""Layers and loss modules: construction, initialisation, printing, forward values against
NumPy (and PyTorch with copied weights where it is installed) and gradients."""

from __future__ import annotations

import math

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
    return tg.backend.to_numpy(t.detach().data)


def copy_weights(module: nn.Module, tmodule) -> None:
    """Load a torch module's parameters and buffers into ours (keys must agree)."""
    module.load_state_dict({k: v.detach().numpy() for k, v in tmodule.state_dict().items()})


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


def test_linear_batched_leading_dims_and_no_bias():
    layer = nn.Linear(4, 2, bias=False)
    assert layer.bias is None and [n for n, _ in layer.named_parameters()] == ["weight"]
    x = randn(2, 3, 4)
    np.testing.assert_allclose(arr(layer(tg.tensor(x))), x @ arr(layer.weight).T, rtol=1e-5)
    assert repr(layer) == "Linear(in_features=4, out_features=2, bias=False)"


def test_linear_shape_errors():
    with pytest.raises(ValueError, match=r"Linear: expected input with last dim 4.*\(2, 3\)"):
        nn.Linear(4, 2)(tg.ones(2, 3))
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


def test_linear_matches_pytorch_with_copied_weights():
    torch = pytest.importorskip("torch")
    tlayer = torch.nn.Linear(6, 4)
    layer = nn.Linear(6, 4)
    copy_weights(layer, tlayer)
    x = randn(3, 6)
    tx = torch.from_numpy(x).requires_grad_()
    ty = tlayer(tx)
    (ty * ty).sum().backward()
    y = layer(tg.tensor(x))
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
def test_conv2d_matches_pytorch_values_gradients_and_repr(kwargs):
    torch = pytest.importorskip("torch")
    tlayer = torch.nn.Conv2d(**kwargs)
    layer = nn.Conv2d(**kwargs)
    assert repr(layer) == repr(tlayer)
    copy_weights(layer, tlayer)
    x = randn(2, kwargs["in_channels"], 8, 7)
    tx = torch.from_numpy(x).requires_grad_()
    ty = tlayer(tx)
    x_t = tg.tensor(x, requires_grad=True)
    y = layer(x_t)
    np.testing.assert_allclose(arr(y), ty.detach().numpy(), rtol=1e-4, atol=1e-5)
    g = randn(*ty.shape)
    ty.backward(torch.from_numpy(g))
    y.backward(tg.tensor(g))
    np.testing.assert_allclose(arr(x_t.grad), tx.grad.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(arr(layer.weight.grad), tlayer.weight.grad.numpy(), rtol=1e-4,
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


def test_conv2d_errors():
    with pytest.raises(ValueError, match="in_channels \\(3\\) must be divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="strided"):
        nn.Conv2d(3, 4, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="padding string"):
        nn.Conv2d(3, 4, 3, padding="full")
    with pytest.raises(ValueError, match=r"Conv2d: expected input of shape \(N, 3, H, W\)"):
        nn.Conv2d(3, 4, 3)(tg.ones(1, 2, 5, 5))
    with pytest.raises(ValueError, match="Conv2d"):
        nn.Conv2d(3, 4, 3)(tg.ones(3, 5, 5))


# ---------------------------------------------------------------------------------------------
# pooling
# ---------------------------------------------------------------------------------------------
def test_max_and_avg_pool_against_numpy(device):
    x = randn(2, 3, 6, 4)
    blocks = x.reshape(2, 3, 3, 2, 2, 2)
    xt = tg.tensor(x, device=device)
    np.testing.assert_allclose(arr(nn.MaxPool2d(2)(xt)), blocks.max(axis=(3, 5)))
    np.testing.assert_allclose(arr(nn.AvgPool2d(2)(xt)), blocks.mean(axis=(3, 5)), rtol=1e-6)
    np.testing.assert_allclose(arr(nn.AdaptiveAvgPool2d(1)(xt)),
                               x.mean(axis=(2, 3), keepdims=True), rtol=1e-5, atol=1e-6)


def test_max_pool_gradient_goes_to_the_maximum():
    x = tg.tensor([[[[1.0, 5.0], [2.0, 3.0]]]], requires_grad=True)
    nn.MaxPool2d(2)(x).sum().backward()
    np.testing.assert_array_equal(arr(x.grad), [[[[0.0, 1.0], [0.0, 0.0]]]])


@pytest.mark.parametrize("make", [
    lambda m: m.MaxPool2d(3, stride=2, padding=1), lambda m: m.MaxPool2d((2, 3)),
    lambda m: m.AvgPool2d(3, stride=1, padding=1), lambda m: m.AvgPool2d(2, stride=(2, 1)),
    lambda m: m.AdaptiveAvgPool2d((3, 2)), lambda m: m.AdaptiveAvgPool2d(1)])
def test_pooling_matches_pytorch(make):
    torch = pytest.importorskip("torch")
    layer, tlayer = make(nn), make(torch.nn)
    assert repr(layer) == repr(tlayer)
    x = randn(2, 3, 7, 6)
    tx = torch.from_numpy(x).requires_grad_()
    ty = tlayer(tx)
    xt = tg.tensor(x, requires_grad=True)
    y = layer(xt)
    np.testing.assert_allclose(arr(y), ty.detach().numpy(), rtol=1e-5, atol=1e-6)
    g = randn(*ty.shape)
    ty.backward(torch.from_numpy(g))
    y.backward(tg.tensor(g))
    np.testing.assert_allclose(arr(xt.grad), tx.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_pooling_rejects_wrong_rank():
    with pytest.raises(ValueError, match="MaxPool2d: expected a 3-D .* or 4-D"):
        nn.MaxPool2d(2)(tg.ones(4, 4))


# ---------------------------------------------------------------------------------------------
# BatchNorm
# ---------------------------------------------------------------------------------------------
def test_batchnorm2d_train_and_eval_against_numpy():
    bn = nn.BatchNorm2d(3, momentum=0.2)
    assert [n for n, _ in bn.named_buffers()] == ["running_mean", "running_var",
                                                   "num_batches_tracked"]
    with tg.no_grad():
        bn.weight.copy_(tg.tensor([1.0, 2.0, 0.5]))
        bn.bias.copy_(tg.tensor([0.0, -1.0, 3.0]))
    w, b = arr(bn.weight).reshape(1, 3, 1, 1), arr(bn.bias).reshape(1, 3, 1, 1)
    rm, rv = np.zeros(3), np.ones(3)
    for step in range(2):
        x = randn(4, 3, 5, 5) * 2 + step
        y = bn(tg.tensor(x))
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
    y = bn(tg.tensor(x))
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
def test_batchnorm_matches_pytorch_over_two_steps_then_eval(cls, shape, kwargs):
    torch = pytest.importorskip("torch")
    bn, tbn = getattr(nn, cls)(3, **kwargs), getattr(torch.nn, cls)(3, **kwargs)
    assert repr(bn) == repr(tbn)
    assert list(bn.state_dict()) == list(tbn.state_dict())
    if bn.weight is not None:
        with torch.no_grad():
            tbn.weight.uniform_(0.5, 1.5)
            tbn.bias.uniform_(-1, 1)
        copy_weights(bn, tbn)
    for step in range(2):
        x = randn(*shape) * 3 + step
        tx = torch.from_numpy(x).requires_grad_()
        xt = tg.tensor(x, requires_grad=True)
        ty, y = tbn(tx), bn(xt)
        np.testing.assert_allclose(arr(y), ty.detach().numpy(), rtol=1e-4, atol=1e-4)
        g = randn(*shape)
        ty.backward(torch.from_numpy(g))
        y.backward(tg.tensor(g))
        np.testing.assert_allclose(arr(xt.grad), tx.grad.numpy(), rtol=1e-3, atol=1e-4)
    for key, value in tbn.state_dict().items():
        np.testing.assert_allclose(arr(bn.state_dict()[key]), value.numpy(), rtol=1e-5,
                                   atol=1e-6, err_msg=key)
    if bn.weight is not None:
        np.testing.assert_allclose(arr(bn.weight.grad), tbn.weight.grad.numpy(), rtol=1e-3,
                                   atol=1e-4)
    bn.eval(), tbn.eval()
    x = randn(*shape)
    np.testing.assert_allclose(arr(bn(tg.tensor(x))), tbn(torch.from_numpy(x)).detach().numpy(),
                               rtol=1e-4, atol=1e-4)


def test_batchnorm_checks_input_dims():
    with pytest.raises(ValueError, match=r"BatchNorm2d: expected 4D input \(got 3D input"):
        nn.BatchNorm2d(3)(tg.ones(3, 4, 4))
    with pytest.raises(ValueError, match="expected 2D or 3D input"):
        nn.BatchNorm1d(3)(tg.ones(2, 3, 4, 4))
    with pytest.raises(ValueError, match="expected 3 channels"):
        nn.BatchNorm1d(3)(tg.ones(2, 4))


def test_batchnorm_defaults_and_reset():
    bn = nn.BatchNorm1d(4)
    np.testing.assert_array_equal(arr(bn.weight), np.ones(4))
    np.testing.assert_array_equal(arr(bn.bias), np.zeros(4))
    bn(tg.tensor(randn(6, 4) + 3))
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
    with pytest.raises(ValueError, match="between 0 and 1, but got 1.5"):
        nn.Dropout(1.5)


def test_dropout_in_a_model_follows_train_and_eval():
    model = nn.Sequential(nn.Linear(10, 10), nn.Dropout(0.5))
    x = tg.ones(4, 10)
    model.eval()
    np.testing.assert_array_equal(arr(model(x)), arr(model(x)))
    model.train()
    tg.manual_seed(1)
    assert not np.array_equal(arr(model(x)), arr(model(x)))


def test_flatten_and_unflatten():
    x = tg.tensor(randn(2, 3, 4, 5))
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


def test_embedding_init_padding_row_and_no_gradient_there():
    tg.manual_seed(1)
    emb = nn.Embedding(1000, 8, padding_idx=-1)
    assert emb.padding_idx == 999
    w = arr(emb.weight)
    np.testing.assert_array_equal(w[999], np.zeros(8))
    assert w[:999].std() == pytest.approx(1.0, rel=0.05)  # N(0, 1)
    with tg.no_grad():
        emb.weight[999] = 1.0  # a non-zero padding row is returned as it is ...
    idx = tg.tensor([999, 3, 999])
    out = emb(idx)
    np.testing.assert_array_equal(arr(out)[0], np.ones(8))
    (out * 2).sum().backward()
    grad = arr(emb.weight.grad)
    np.testing.assert_array_equal(grad[999], np.zeros(8))  # ... but gets no gradient
    np.testing.assert_array_equal(grad[3], np.full(8, 2.0))
    assert repr(emb) == "Embedding(1000, 8, padding_idx=999)"


def test_embedding_matches_pytorch():
    torch = pytest.importorskip("torch")
    temb = torch.nn.Embedding(7, 4, padding_idx=2)
    emb = nn.Embedding(7, 4, padding_idx=2)
    copy_weights(emb, temb)
    idx = np.array([[2, 3, 3], [6, 0, 2]])
    g = randn(2, 3, 4)
    tout = temb(torch.from_numpy(idx))
    tout.backward(torch.from_numpy(g))
    out = emb(tg.tensor(idx))
    out.backward(tg.tensor(g))
    np.testing.assert_array_equal(arr(out), tout.detach().numpy())
    np.testing.assert_allclose(arr(emb.weight.grad), temb.weight.grad.numpy(), rtol=1e-6)
    assert repr(emb) == repr(temb)


def test_embedding_errors_and_from_pretrained():
    emb = nn.Embedding(4, 2)
    with pytest.raises(TypeError, match="integer"):
        emb(tg.tensor([0.0, 1.0]))
    with pytest.raises(IndexError, match="index 4 is out of range for num_embeddings=4"):
        emb(tg.tensor([0, 4]))
    with pytest.raises(ValueError, match="padding_idx"):
        nn.Embedding(4, 2, padding_idx=4)
    table = tg.tensor([[1.0, 2.0], [3.0, 4.0]])
    frozen = nn.Embedding.from_pretrained(table)
    assert not frozen.weight.requires_grad
    np.testing.assert_array_equal(arr(frozen(tg.tensor([1, 1]))), [[3.0, 4.0], [3.0, 4.0]])
    assert nn.Embedding.from_pretrained(table, freeze=False).weight.requires_grad


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
def test_activation_matches_pytorch_values_gradients_and_repr(make, _):
    torch = pytest.importorskip("torch")
    layer, tlayer = make(nn), make(torch.nn)
    assert repr(layer) == repr(tlayer)
    x = randn(3, 4, 5) * 3
    tx = torch.from_numpy(x).requires_grad_()
    xt = tg.tensor(x, requires_grad=True)
    ty, y = tlayer(tx), layer(xt)
    np.testing.assert_allclose(arr(y), ty.detach().numpy(), rtol=1e-5, atol=1e-6)
    g = randn(3, 4, 5)
    ty.backward(torch.from_numpy(g))
    y.backward(tg.tensor(g))
    np.testing.assert_allclose(arr(xt.grad), tx.grad.numpy(), rtol=1e-4, atol=1e-5)


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


def test_mse_and_l1_loss_against_numpy():
    a, b = randn(4, 3), randn(4, 3)
    assert nn.MSELoss()(tg.tensor(a), tg.tensor(b)).item() == pytest.approx(
        ((a - b) ** 2).mean(), rel=1e-5)
    assert nn.L1Loss(reduction="sum")(tg.tensor(a), tg.tensor(b)).item() == pytest.approx(
        np.abs(a - b).sum(), rel=1e-5)
    np.testing.assert_allclose(arr(nn.MSELoss(reduction="none")(tg.tensor(a), tg.tensor(b))),
                               (a - b) ** 2, rtol=1e-5)


def test_cross_entropy_loss_against_numpy():
    logits, labels = _class_problem()
    log_p = np.log(_np_softmax(logits.astype(np.float64), 1))
    expected = -log_p[np.arange(len(labels)), labels].mean()
    loss = nn.CrossEntropyLoss()(tg.tensor(logits), tg.tensor(labels))
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
def test_loss_modules_match_pytorch(make, kind):
    torch = pytest.importorskip("torch")
    loss_fn = make(nn, lambda v: tg.tensor(v))
    tloss_fn = make(torch.nn, lambda v: torch.tensor(v))
    assert repr(loss_fn) == repr(tloss_fn)
    assert list(loss_fn.state_dict()) == list(tloss_fn.state_dict())
    x, target = _loss_inputs(kind)
    tx = torch.from_numpy(x).requires_grad_()
    xt = tg.tensor(x, requires_grad=True)
    tout = tloss_fn(tx, torch.from_numpy(target))
    out = loss_fn(xt, tg.tensor(target))
    np.testing.assert_allclose(arr(out), tout.detach().numpy(), rtol=1e-5, atol=1e-6)
    g = randn(*tout.shape)
    tout.backward(torch.from_numpy(g))
    out.backward(tg.tensor(g))
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


@given(st.integers(1, 4), st.integers(1, 5), st.integers(1, 3))
def test_linear_output_shape_for_any_batch(batch, in_features, out_features):
    layer = nn.Linear(in_features, out_features)
    x = tg.ones(batch, in_features)
    y = layer(x)
    assert y.shape == (batch, out_features)
    np.testing.assert_allclose(arr(y), np.ones((batch, in_features)) @ arr(layer.weight).T
                               + arr(layer.bias), rtol=1e-5, atol=1e-6)
