"""Issue 18, Transformer modules: TransformerEncoderLayer / TransformerEncoder,
TransformerDecoderLayer / TransformerDecoder, Transformer and its
generate_square_subsequent_mask. Without PyTorch: float64 gradchecks on tiny sizes, the
layers' formulas written out from their submodules, causal = the explicit mask, deep copies,
initialisation, errors. With PyTorch (weights copied in, float64, dropout 0): outputs and every
gradient in train and eval mode. All on every device."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from test_attention import arr, check_module_against_torch, randn, t

import tinygrad_edu as tg
import tinygrad_edu.nn as nn
import tinygrad_edu.nn.functional as F
from tinygrad_edu.autograd import gradcheck


def quiet(make):
    """Build a module without TransformerEncoder's enable_nested_tensor warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return make()


def test_generate_square_subsequent_mask(device):
    m = nn.Transformer.generate_square_subsequent_mask(4, device=device)
    want = np.triu(np.full((4, 4), -np.inf, np.float32), 1)
    assert m.dtype == tg.float32 and str(m.device).startswith(device.split(":")[0])
    np.testing.assert_array_equal(arr(m), want)
    assert nn.Transformer.generate_square_subsequent_mask(3, dtype=tg.float64).dtype == \
        tg.float64


def test_encoder_layer_is_its_formula(device):
    E = 4
    layer = nn.TransformerEncoderLayer(E, 2, dim_feedforward=6, dropout=0.0).double()
    layer.to(device)
    x = t(randn(3, 2, E), device)
    sa = layer.self_attn(x, x, x, need_weights=False)[0]
    h = layer.norm1(x + sa)
    want = layer.norm2(h + layer.linear2(F.relu(layer.linear1(h))))
    np.testing.assert_allclose(arr(layer(x)), arr(want), rtol=1e-12, atol=1e-12)
    pre = nn.TransformerEncoderLayer(E, 2, 6, 0.0, activation="gelu", norm_first=True).double()
    pre.to(device)
    n1 = pre.norm1(x)
    h = x + pre.self_attn(n1, n1, n1, need_weights=False)[0]
    want = h + pre.linear2(F.gelu(pre.linear1(pre.norm2(h))))
    np.testing.assert_allclose(arr(pre(x)), arr(want), rtol=1e-12, atol=1e-12)
    assert pre.activation_relu_or_gelu == 2 and layer.activation_relu_or_gelu == 1


def test_encoder_causal_mask_equals_hint_and_is_detected(device):
    layer = nn.TransformerEncoderLayer(4, 2, 8, 0.0, batch_first=True).double().to(device)
    enc = quiet(lambda: nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(4).double()))
    enc.to(device)
    x = t(randn(2, 5, 4), device)
    mask = nn.Transformer.generate_square_subsequent_mask(5, device=device, dtype=tg.float64)
    bool_mask = tg.tensor(np.triu(np.ones((5, 5), bool), 1), device=device)
    a = enc(x, mask=mask)  # is_causal detected from the mask
    b = enc(x, mask=mask, is_causal=True)
    c = enc(x, mask=bool_mask, is_causal=False)
    for other in (b, c):
        np.testing.assert_allclose(arr(a), arr(other), rtol=1e-12, atol=1e-12)
    # the first position sees only itself: changing later positions leaves it unchanged
    y = x.clone()
    y[:, 1:] = t(randn(2, 4, 4), device)
    np.testing.assert_allclose(arr(enc(y, mask=mask))[:, 0], arr(a)[:, 0], rtol=1e-12,
                               atol=1e-12)


def test_encoder_deep_copies_layers():
    layer = nn.TransformerEncoderLayer(4, 2, 8)
    enc = quiet(lambda: nn.TransformerEncoder(layer, 3))
    assert len(enc.layers) == 3 and enc.num_layers == 3
    ws = [lyr.linear1.weight for lyr in enc.layers]
    assert all(w is not layer.linear1.weight for w in ws) and ws[0] is not ws[1]
    np.testing.assert_array_equal(arr(ws[0]), arr(ws[2]))
    with tg.no_grad():
        ws[0].fill_(0.0)
    assert not np.all(arr(ws[1]) == 0) and not np.all(arr(layer.linear1.weight) == 0)
    assert len(list(enc.parameters())) == 3 * len(list(layer.parameters()))
    with pytest.warns(UserWarning, match="enable_nested_tensor is True"):
        nn.TransformerEncoder(layer, 1)  # batch_first=False: PyTorch warns the same
    assert nn.TransformerEncoder(layer, 1, enable_nested_tensor=False).use_nested_tensor is False


def test_decoder_and_transformer_shapes_and_init(device):
    model = nn.Transformer(d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=2,
                           dim_feedforward=16, dropout=0.0, batch_first=True).to(device)
    src, tgt = tg.randn(3, 5, 8, device=device), tg.randn(3, 4, 8, device=device)
    out = model(src, tgt, tgt_mask=nn.Transformer.generate_square_subsequent_mask(
        4, device=device))
    assert out.shape == (3, 4, 8) and out.dtype == tg.float32
    assert model(src[0], tgt[0]).shape == (4, 8)  # unbatched
    assert len(model.decoder.layers) == 2 and model.encoder.norm is not None
    for name, p in model.named_parameters():
        if p.dim() > 1:  # xavier uniform
            fan_out, fan_in = p.shape[0], p.shape[1]
            assert np.abs(arr(p)).max() <= math.sqrt(6 / (fan_in + fan_out)) + 1e-7, name
    with pytest.raises(RuntimeError, match="batch number"):
        model(src, tgt[:2])
    with pytest.raises(RuntimeError, match="feature number"):
        model(src, tg.randn(3, 4, 6, device=device))
    with pytest.raises(RuntimeError, match="relu/gelu"):
        nn.TransformerEncoderLayer(8, 2, activation="tanh")


def test_layer_gradchecks(device):
    E = 4
    enc = nn.TransformerEncoderLayer(E, 2, 3, 0.0, norm_first=True).double().to(device)
    dec = nn.TransformerDecoderLayer(E, 2, 3, 0.0, activation=F.gelu).double().to(device)
    x = t(randn(3, 1, E), device, requires_grad=True)
    m = t(randn(2, 1, E), device, requires_grad=True)
    causal = nn.Transformer.generate_square_subsequent_mask(3, device=device, dtype=tg.float64)
    assert gradcheck(lambda a: enc(a, src_mask=causal), (x,))
    assert gradcheck(lambda a, b: dec(a, b, tgt_mask=causal, tgt_is_causal=True), (x, m))


def test_dropout_train_vs_eval(device):
    layer = nn.TransformerEncoderLayer(4, 2, 8, dropout=0.5).to(device)
    x = tg.randn(3, 2, 4, device=device)
    layer.eval()
    a = layer(x)
    np.testing.assert_array_equal(arr(a), arr(layer(x)))
    layer.train()
    tg.manual_seed(1)
    assert not np.allclose(arr(layer(x)), arr(a))


# ---------------------------------------------------------------------------------------------
# against PyTorch
# ---------------------------------------------------------------------------------------------
KPM = np.array([[False, False, True, False], [False, False, False, False]])
CAUSAL4 = np.triu(np.full((4, 4), -np.inf), 1)

CASES = {
    "encoder_layer": ("TransformerEncoderLayer", {}, "src", {}),
    "encoder_layer_pre_gelu_bf": ("TransformerEncoderLayer", {
        "norm_first": True, "activation": "gelu", "batch_first": True}, "src_bf",
        {"src_mask": CAUSAL4, "is_causal": True}),
    "encoder_layer_no_bias_kpm": ("TransformerEncoderLayer", {"bias": False}, "src",
                                  {"src_key_padding_mask": KPM}),
    "encoder_layer_unbatched": ("TransformerEncoderLayer", {"activation": "callable"},
                                "src_unbatched", {"src_mask": CAUSAL4}),
    "decoder_layer": ("TransformerDecoderLayer", {}, "tgt_mem", {
        "tgt_mask": CAUSAL4, "tgt_is_causal": True, "memory_key_padding_mask":
            np.array([[False, True, False], [False, False, False]])}),
    "decoder_layer_pre_bf": ("TransformerDecoderLayer", {"norm_first": True,
                                                        "batch_first": True}, "tgt_mem_bf",
                             {"tgt_key_padding_mask": KPM}),
}


def make_pair(torch, kind, kwargs):
    ours_kw, theirs_kw = dict(kwargs), dict(kwargs)
    if kwargs.get("activation") == "callable":
        ours_kw["activation"] = lambda x: x.tanh()
        theirs_kw["activation"] = torch.tanh
    args = (6, 2, 10, 0.0)
    return getattr(nn, kind)(*args, **ours_kw), getattr(torch.nn, kind)(*args, **theirs_kw)


@pytest.mark.parametrize("case", list(CASES))
def test_layers_match_torch(device, case):
    torch = pytest.importorskip("torch")
    kind, kwargs, inputs, masks = CASES[case]
    ours, theirs = make_pair(torch, kind, kwargs)
    shapes = {"src": [(4, 2, 6)], "src_bf": [(2, 4, 6)], "src_unbatched": [(4, 6)],
              "tgt_mem": [(4, 2, 6), (3, 2, 6)], "tgt_mem_bf": [(2, 4, 6), (2, 3, 6)]}[inputs]

    def call(m, i, k):
        return m(*i, **k)

    check_module_against_torch(torch, ours, theirs, device, call,
                               [randn(*s) for s in shapes], masks, ("train", "eval"))


def test_stacks_and_transformer_match_torch(device):
    torch = pytest.importorskip("torch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        pairs = [
            (nn.TransformerEncoder(nn.TransformerEncoderLayer(6, 2, 8, 0.0), 2, nn.LayerNorm(6)),
             torch.nn.TransformerEncoder(torch.nn.TransformerEncoderLayer(6, 2, 8, 0.0), 2,
                                         torch.nn.LayerNorm(6)),
             [randn(4, 2, 6)], {"mask": CAUSAL4}),
            (nn.TransformerDecoder(nn.TransformerDecoderLayer(6, 2, 8, 0.0), 2),
             torch.nn.TransformerDecoder(torch.nn.TransformerDecoderLayer(6, 2, 8, 0.0), 2),
             [randn(4, 2, 6), randn(3, 2, 6)], {"tgt_mask": CAUSAL4}),
            (nn.Transformer(6, 2, 1, 1, 8, 0.0, batch_first=True),
             torch.nn.Transformer(6, 2, 1, 1, 8, 0.0, batch_first=True),
             [randn(2, 3, 6), randn(2, 4, 6)], {"tgt_mask": CAUSAL4,
                                                 "src_key_padding_mask": KPM[:, :3]}),
        ]
    for ours, theirs, inputs, masks in pairs:
        check_module_against_torch(torch, ours, theirs, device, lambda m, i, k: m(*i, **k),
                                   inputs, masks, ("train", "eval"))
