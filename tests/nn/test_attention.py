"""Issue 18, attention: F.scaled_dot_product_attention, F.multi_head_attention_forward and
nn.MultiheadAttention. Without PyTorch: a NumPy softmax reference for every kind of mask
(bool, float, causal = the explicit lower-triangular mask, rows with every key masked),
float64 gradchecks, parameter names, shapes and initialisation, errors. With PyTorch (weights
copied in): outputs, attention weights and every gradient, in train and eval mode, float64.
All on every device."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from nn_helpers import arr, t

import tinygrad_edu as tg
import tinygrad_edu.nn as nn
import tinygrad_edu.nn.functional as F
from tinygrad_edu.autograd import gradcheck

RNG = np.random.default_rng(1818)


def randn(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape)


def np_attention(q, k, v, bias=None, scale=None):
    """softmax(q k^T * scale + bias) v in NumPy; rows with every key at -inf give 0."""
    s = q @ np.swapaxes(k, -1, -2) * (1 / math.sqrt(q.shape[-1]) if scale is None else scale)
    if bias is not None:
        s = s + bias
    dead = np.all(np.isneginf(s), axis=-1, keepdims=True)
    s = np.where(dead, 0.0, s)
    w = np.exp(s - s.max(-1, keepdims=True))
    w = np.where(dead, 0.0, w / w.sum(-1, keepdims=True))
    return w @ v, w


def bool_bias(mask):
    """True = take part (scaled_dot_product_attention's convention) -> additive bias."""
    return np.where(mask, 0.0, -np.inf)


# ---------------------------------------------------------------------------------------------
# scaled_dot_product_attention, without PyTorch
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mask_kind", ["none", "bool", "float", "dead_row", "broadcast"])
def test_sdpa_matches_numpy(device, mask_kind):
    q, k, v = randn(2, 3, 4, 5), randn(2, 3, 6, 5), randn(2, 3, 6, 2)
    mask = None
    if mask_kind == "bool":
        mask = RNG.random((4, 6)) > 0.4
        mask[:, 0] = True
        bias = bool_bias(mask)
    elif mask_kind == "float":
        mask = randn(4, 6)
        bias = mask
    elif mask_kind == "dead_row":
        mask = RNG.random((4, 6)) > 0.4
        mask[2] = False
        bias = bool_bias(mask)
    elif mask_kind == "broadcast":  # per batch element, shared by the heads
        mask = RNG.random((2, 1, 1, 6)) > 0.3
        mask[..., 1] = True
        bias = bool_bias(mask)
    out = F.scaled_dot_product_attention(t(q, device), t(k, device), t(v, device),
                                         attn_mask=None if mask is None else
                                         tg.tensor(mask, device=device,
                                                   dtype=tg.bool if mask.dtype == bool
                                                   else tg.float64))
    want, _ = np_attention(q, k, v, None if mask is None else bias)
    assert out.shape == (2, 3, 4, 2) and out.dtype == tg.float64
    np.testing.assert_allclose(arr(out), want, rtol=1e-12, atol=1e-12)
    if mask_kind == "dead_row":
        assert np.all(arr(out)[:, :, 2] == 0)


def test_sdpa_causal_is_the_explicit_mask(device):
    q, k, v = randn(3, 5, 4), randn(3, 7, 4), randn(3, 7, 3)
    keep = np.tril(np.ones((5, 7), bool))  # top-left aligned, as PyTorch
    causal = F.scaled_dot_product_attention(t(q, device), t(k, device), t(v, device),
                                            is_causal=True)
    explicit = F.scaled_dot_product_attention(t(q, device), t(k, device), t(v, device),
                                              attn_mask=tg.tensor(keep, device=device))
    np.testing.assert_allclose(arr(causal), arr(explicit), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(arr(causal), np_attention(q, k, v, bool_bias(keep))[0],
                               rtol=1e-12, atol=1e-12)


def test_sdpa_scale_gqa_shapes_and_dtype(device):
    q, k, v = randn(2, 4, 3, 6), randn(2, 2, 5, 6), randn(2, 2, 5, 6)
    out = F.scaled_dot_product_attention(t(q, device), t(k, device), t(v, device), scale=0.25,
                                         enable_gqa=True)
    want, _ = np_attention(q, np.repeat(k, 2, axis=1), np.repeat(v, 2, axis=1), scale=0.25)
    np.testing.assert_allclose(arr(out), want, rtol=1e-12, atol=1e-12)
    # 2-D and broadcast batch dims; float32 stays float32
    q2 = tg.tensor(randn(3, 4), device=device, dtype=tg.float32)
    kv = tg.tensor(randn(2, 5, 4), device=device, dtype=tg.float32)
    out = F.scaled_dot_product_attention(q2, kv, kv)
    assert out.shape == (2, 3, 4) and out.dtype == tg.float32
    # dropout_p = 1 drops every weight
    assert np.all(arr(F.scaled_dot_product_attention(q2, kv, kv, dropout_p=1.0)) == 0)


def test_sdpa_gradchecks(device):
    q = t(randn(1, 2, 3, 4), device, requires_grad=True)
    k = t(randn(1, 2, 4, 4), device, requires_grad=True)
    v = t(randn(1, 2, 4, 2), device, requires_grad=True)
    bias = t(randn(3, 4), device, requires_grad=True)
    mask = RNG.random((3, 4)) > 0.3
    mask[1] = False  # a dead row: zero gradient there, not NaN
    mask[0, 0] = mask[2, 0] = True
    bmask = tg.tensor(mask, device=device)
    assert gradcheck(lambda a, b, c, m: F.scaled_dot_product_attention(a, b, c, attn_mask=m),
                     (q, k, v, bias))
    assert gradcheck(lambda a, b, c: F.scaled_dot_product_attention(a, b, c, is_causal=True),
                     (q, k, v))
    assert gradcheck(lambda a, b, c: F.scaled_dot_product_attention(a, b, c, attn_mask=bmask),
                     (q, k, v))
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=bmask)
    out.sum().backward()
    assert np.all(np.isfinite(arr(q.grad))) and np.all(arr(q.grad)[:, :, 1] == 0)


def test_sdpa_second_derivatives_and_both_backward_paths(device):
    """Attention is one Function: its reference backward (Tensor ops, recomputing the
    weights) gives exact second derivatives; the fast one (arrays, the forward's weights)
    the same first derivatives."""
    from tinygrad_edu.autograd import gradgradcheck

    q = t(randn(1, 2, 3, 4), device, requires_grad=True)
    k = t(randn(1, 2, 4, 4), device, requires_grad=True)
    v = t(randn(1, 2, 4, 2), device, requires_grad=True)
    bias = t(randn(3, 4), device, requires_grad=True)
    assert gradgradcheck(lambda a, b, c, m: F.scaled_dot_product_attention(
        a, b, c, attn_mask=m), (q, k, v, bias))
    assert gradgradcheck(lambda a, b, c: F.scaled_dot_product_attention(
        a, b, c, is_causal=True), (q, k, v))
    grads = {}
    for mode in ("on", "off"):
        with getattr(tg.fast, mode)():
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
            assert type(out.grad_fn).__name__ == "Attention"
            grads[mode] = tg.autograd.grad(out.square().sum(), (q, k, v, bias))
    for fast_g, ref_g in zip(grads["on"], grads["off"]):
        np.testing.assert_allclose(arr(fast_g), arr(ref_g), rtol=1e-12, atol=1e-12)


@given(lead=st.lists(st.integers(1, 2), min_size=0, max_size=2), L=st.integers(1, 3),
       S=st.integers(1, 3), E=st.integers(1, 3), Ev=st.integers(1, 2),
       kind=st.sampled_from(["none", "causal", "bool", "float"]), seed=st.integers(0, 999))
def test_sdpa_forward_and_gradcheck_over_shapes(device, lead, L, S, E, Ev, kind, seed):
    rng = np.random.default_rng(seed)
    q, k, v = (rng.standard_normal((*lead, n, m)) for n, m in ((L, E), (S, E), (S, Ev)))
    mask, bias = None, None
    if kind == "causal":
        bias = bool_bias(np.tril(np.ones((L, S), bool)))
    elif kind == "bool":
        keep = rng.random((L, S)) > 0.5  # rows may be fully masked: 0 there
        mask, bias = tg.tensor(keep, device=device), bool_bias(keep)
    elif kind == "float":
        bias = rng.standard_normal((L, S))
        mask = t(bias, device)

    def fn(a, b, c):
        return F.scaled_dot_product_attention(a, b, c, attn_mask=mask,
                                              is_causal=kind == "causal")

    ins = [t(a, device, requires_grad=True) for a in (q, k, v)]
    np.testing.assert_allclose(arr(fn(*ins)), np_attention(q, k, v, bias)[0], rtol=1e-11,
                               atol=1e-12)
    assert gradcheck(fn, ins)


def test_sdpa_empty(device):
    q = t(randn(2, 3, 4), device, requires_grad=True)
    none = t(np.zeros((2, 0, 4)), device)
    for kw in ({}, {"is_causal": True}, {"attn_mask": tg.ones(3, 0, dtype=tg.bool,
                                                               device=device)}):
        out = F.scaled_dot_product_attention(q, none, none, **kw)  # no keys: 0
        assert out.shape == (2, 3, 4) and np.all(arr(out) == 0)
    assert F.scaled_dot_product_attention(none, q, q).shape == (2, 0, 4)  # no queries
    out.sum().backward()
    assert np.all(arr(q.grad) == 0)


def test_sdpa_errors(device):
    q = t(randn(1, 3, 4), device)
    with pytest.raises(RuntimeError, match="Explicit attn_mask should not be set"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=tg.ones(3, 3, dtype=tg.bool,
                                                                  device=device), is_causal=True)
    with pytest.raises(RuntimeError, match="same dtype"):
        F.scaled_dot_product_attention(q, q.float(), q)
    with pytest.raises(RuntimeError, match="attn_mask dtype"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=tg.ones(3, 3, dtype=tg.int64,
                                                                  device=device))
    with pytest.raises(RuntimeError, match="at least 2 dimensional"):
        F.scaled_dot_product_attention(t(randn(4), device), q, q)
    with pytest.raises(RuntimeError, match="do not fit"):
        F.scaled_dot_product_attention(q, t(randn(1, 3, 5), device), q)
    q4, k4 = t(randn(1, 4, 3, 2), device), t(randn(1, 3, 3, 2), device)
    with pytest.raises(RuntimeError, match="must divide"):
        F.scaled_dot_product_attention(q4, k4, k4, enable_gqa=True)


# ---------------------------------------------------------------------------------------------
# MultiheadAttention, without PyTorch
# ---------------------------------------------------------------------------------------------
def test_mha_parameters_and_init():
    mha = nn.MultiheadAttention(8, 2)
    assert [(n, tuple(p.shape)) for n, p in mha.named_parameters()] == [
        ("in_proj_weight", (24, 8)), ("in_proj_bias", (24,)), ("out_proj.weight", (8, 8)),
        ("out_proj.bias", (8,))]
    assert isinstance(mha.out_proj, nn.Linear)
    assert type(mha.out_proj).__name__ == "NonDynamicallyQuantizableLinear"
    bound = math.sqrt(6 / (8 + 24))  # xavier uniform on (3E, E)
    w = arr(mha.in_proj_weight)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.5 * bound
    assert np.all(arr(mha.in_proj_bias) == 0) and np.all(arr(mha.out_proj.bias) == 0)
    assert mha.head_dim == 4 and mha._qkv_same_embed_dim and mha.batch_first is False
    sep = nn.MultiheadAttention(6, 3, bias=False, kdim=4, vdim=5, add_bias_kv=True)
    assert [(n, tuple(p.shape)) for n, p in sep.named_parameters()] == [
        ("q_proj_weight", (6, 6)), ("k_proj_weight", (6, 4)), ("v_proj_weight", (6, 5)),
        ("bias_k", (1, 1, 6)), ("bias_v", (1, 1, 6)), ("out_proj.weight", (6, 6))]
    assert sep.in_proj_weight is None and sep.in_proj_bias is None
    assert repr(mha) == ("MultiheadAttention(\n  (out_proj): NonDynamicallyQuantizableLinear("
                         "in_features=8, out_features=8, bias=True)\n)")
    with pytest.raises(AssertionError, match="divisible"):
        nn.MultiheadAttention(7, 2)
    with pytest.raises(ValueError, match="greater than 0"):
        nn.MultiheadAttention(0, 2)


def numpy_mha(x, kv, w_in, b_in, w_out, b_out, heads, bias=None):
    """(L, N, E) multi-head attention in NumPy; bias (L, S) added to every head's scores."""
    q, k, v = np.split(w_in, 3)
    bq, bk, bv = np.split(b_in, 3)
    L, N, E = x.shape
    d = E // heads

    def split(a):  # (T, N, E) -> (N, H, T, d)
        return a.reshape(a.shape[0], N, heads, d).transpose(1, 2, 0, 3)

    out, w = np_attention(split(x @ q.T + bq), split(kv @ k.T + bk), split(kv @ v.T + bv),
                          bias)
    out = out.transpose(2, 0, 1, 3).reshape(L, N, E)
    return out @ w_out.T + b_out, w


def test_mha_matches_numpy_with_masks(device):
    mha = nn.MultiheadAttention(6, 3).double().to(device)
    with tg.no_grad():
        mha.in_proj_bias.normal_()
        mha.out_proj.bias.normal_()
    x, kv = randn(4, 2, 6), randn(5, 2, 6)
    params = [arr(p) for p in (mha.in_proj_weight, mha.in_proj_bias, mha.out_proj.weight,
                               mha.out_proj.bias)]
    mask = RNG.random((4, 5)) > 0.6  # True = masked out (MultiheadAttention's convention)
    mask[:, 0] = False
    for attn_mask in (None, mask, np.where(mask, -np.inf, 0.0)):
        kw = {} if attn_mask is None else {"attn_mask": tg.tensor(attn_mask, device=device)}
        out, weights = mha(t(x, device), t(kv, device), t(kv, device), **kw)
        want, w = numpy_mha(x, kv, *params, 3, None if attn_mask is None
                            else np.where(mask, -np.inf, 0.0))
        np.testing.assert_allclose(arr(out), want, rtol=1e-11, atol=1e-12)
        np.testing.assert_allclose(arr(weights), w.mean(1), rtol=1e-11, atol=1e-12)
        out2, none = mha(t(x, device), t(kv, device), t(kv, device), need_weights=False, **kw)
        assert none is None
        np.testing.assert_allclose(arr(out2), want, rtol=1e-11, atol=1e-12)
    # key_padding_mask: keys 1 and 3 of batch element 0 ignored
    kpm = np.zeros((2, 5), bool)
    kpm[0, [1, 3]] = True
    out, w = mha(t(x, device), t(kv, device), t(kv, device),
                 key_padding_mask=tg.tensor(kpm, device=device), average_attn_weights=False)
    assert w.shape == (2, 3, 4, 5) and np.all(arr(w)[0, :, :, [1, 3]] == 0)
    np.testing.assert_allclose(arr(w).sum(-1), 1.0, rtol=1e-12)


def test_mha_batch_first_unbatched_and_causal(device):
    mha = nn.MultiheadAttention(4, 2, batch_first=True).double().to(device)
    x = t(randn(3, 5, 4), device)  # (N, L, E)
    out, w = mha(x, x, x)
    assert out.shape == (3, 5, 4) and w.shape == (3, 5, 5)
    seq_first = copy.deepcopy(mha)
    seq_first.batch_first = False
    out_sf, _ = seq_first(x.transpose(0, 1), x.transpose(0, 1), x.transpose(0, 1))
    np.testing.assert_allclose(arr(out), arr(out_sf.transpose(0, 1)), rtol=1e-12, atol=1e-13)
    one, w1 = mha(x[1], x[1], x[1])  # unbatched (L, E)
    assert one.shape == (5, 4) and w1.shape == (5, 5)
    np.testing.assert_allclose(arr(one), arr(out[1]), rtol=1e-12, atol=1e-13)
    causal = nn.Transformer.generate_square_subsequent_mask(5, device=device, dtype=tg.float64)
    hinted, none = mha(x, x, x, attn_mask=causal, need_weights=False, is_causal=True)
    plain, w = mha(x, x, x, attn_mask=causal)
    assert none is None
    np.testing.assert_allclose(arr(hinted), arr(plain), rtol=1e-12, atol=1e-13)
    assert np.all(np.triu(arr(w)[0], 1) == 0)
    with pytest.raises(RuntimeError, match="Need attn_mask"):
        mha(x, x, x, is_causal=True)


def test_mha_gradcheck(device):
    E, H = 4, 2
    x = t(randn(3, 2, E), device, requires_grad=True)
    kv = t(randn(2, 2, E), device, requires_grad=True)
    w_in = t(randn(3 * E, E) * 0.5, device, requires_grad=True)
    b_in = t(randn(3 * E), device, requires_grad=True)
    w_out = t(randn(E, E) * 0.5, device, requires_grad=True)
    b_out = t(randn(E), device, requires_grad=True)
    bias_k = t(randn(1, 1, E), device, requires_grad=True)
    bias_v = t(randn(1, 1, E), device, requires_grad=True)
    kpm = tg.tensor([[False, True], [False, False]], device=device)

    def fn(q, k, wi, bi, wo, bo, bk, bv):
        out, w = F.multi_head_attention_forward(q, k, k, E, H, wi, bi, bk, bv, True, 0.0, wo,
                                                bo, key_padding_mask=kpm)
        return out.sum() + (w * w).sum()

    assert gradcheck(fn, (x, kv, w_in, b_in, w_out, b_out, bias_k, bias_v))
    assert gradcheck(lambda q, wi, wo: F.multi_head_attention_forward(
        q, q, q, E, H, wi, None, None, None, False, 0.0, wo, None, need_weights=False)[0],
        (x, w_in, w_out))


def test_mha_dropout_train_and_eval(device):
    mha = nn.MultiheadAttention(4, 2, dropout=0.5).double().to(device)
    x = t(randn(6, 2, 4), device)
    mha.eval()
    a, b = mha(x, x, x)[0], mha(x, x, x)[0]
    np.testing.assert_array_equal(arr(a), arr(b))
    mha.train()
    tg.manual_seed(0)
    c = mha(x, x, x)[0]
    assert not np.allclose(arr(c), arr(a))


def test_mha_errors(device):
    mha = nn.MultiheadAttention(4, 2).to(device)
    x = tg.randn(3, 2, 4, device=device)
    with pytest.raises(AssertionError, match="expected `key` and `value` to be 3-D"):
        mha(x, x[0], x[0])
    with pytest.raises(AssertionError, match="embedding dimension of 4"):
        mha(tg.randn(3, 2, 6, device=device), x, x)
    with pytest.raises(RuntimeError, match="2D attn_mask"):
        mha(x, x, x, attn_mask=tg.zeros(3, 4, device=device))
    with pytest.raises(AssertionError, match="only bool and floating"):
        mha(x, x, x, attn_mask=tg.zeros(3, 3, dtype=tg.int64, device=device))
    with pytest.warns(UserWarning, match="mismatched key_padding_mask and attn_mask"):
        mha(x, x, x, key_padding_mask=tg.zeros(2, 3, dtype=tg.bool, device=device),
            attn_mask=tg.zeros(3, 3, device=device))


# ---------------------------------------------------------------------------------------------
# against PyTorch
# ---------------------------------------------------------------------------------------------
def torch_pair(torch, array, device):
    """The same float64 values as a PyTorch tensor and as ours, both requiring grad."""
    return (torch.tensor(array, requires_grad=True), t(array, device, requires_grad=True))


@pytest.mark.parametrize("kind", ["none", "bool", "float", "causal", "gqa", "dead_row"])
def test_sdpa_matches_torch(device, kind):
    torch = pytest.importorskip("torch")
    shapes = ((2, 4, 3, 5), (2, 2, 6, 5), (2, 2, 6, 3)) if kind == "gqa" else \
        ((2, 2, 4, 5), (2, 2, 6, 5), (2, 2, 6, 3))
    (tq, q), (tk, k), (tv, v) = (torch_pair(torch, randn(*s), device) for s in shapes)
    kw: dict = {"enable_gqa": True, "scale": 0.7} if kind == "gqa" else {}
    theirs_kw = dict(kw)
    if kind == "causal":
        kw["is_causal"] = theirs_kw["is_causal"] = True
    elif kind in ("bool", "dead_row"):
        mask = RNG.random((4, 6)) > 0.5
        mask[:, 2] = kind == "bool"
        mask[1] = mask[1] & (kind == "bool")
        kw["attn_mask"], theirs_kw["attn_mask"] = tg.tensor(mask, device=device), \
            torch.tensor(mask)
    elif kind == "float":
        mask = randn(2, 1, 4, 6)
        tm, m = torch_pair(torch, mask, device)
        kw["attn_mask"], theirs_kw["attn_mask"] = m, tm
    ours = F.scaled_dot_product_attention(q, k, v, **kw)
    theirs = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, **theirs_kw)
    np.testing.assert_allclose(arr(ours), theirs.detach().numpy(), rtol=1e-11, atol=1e-12)
    g = randn(*theirs.shape)
    ours.backward(t(g, device))
    theirs.backward(torch.tensor(g))
    pairs = [(q, tq), (k, tk), (v, tv)]
    if kind == "float":
        pairs.append((kw["attn_mask"], theirs_kw["attn_mask"]))
    for a, b in pairs:
        np.testing.assert_allclose(arr(a.grad), b.grad.numpy(), rtol=1e-10, atol=1e-12)


def same_module(ours: nn.Module, theirs, device: str) -> nn.Module:
    """ours, float64 on `device`, with theirs' (float64, randomised) parameters."""
    import torch  # noqa: PLC0415

    theirs.double()
    with torch.no_grad():
        for p in theirs.parameters():
            p.normal_(0, 0.5)
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    ours.double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours.to(device)


def check_module_against_torch(torch, ours, theirs, device, call, inputs, masks, modes):
    """Outputs (and weights) and the gradients of every input and parameter, per mode."""
    same_module(ours, theirs, device)
    assert repr(ours) == repr(theirs)
    for mode in modes:
        ours.train(mode == "train")
        theirs.train(mode == "train")
        pairs = [torch_pair(torch, x, device) for x in inputs]
        m_theirs = {k: torch.tensor(v) for k, v in masks.items() if isinstance(v, np.ndarray)}
        m_ours = {k: tg.tensor(v, device=device) for k, v in masks.items()
                  if isinstance(v, np.ndarray)}
        flags = {k: v for k, v in masks.items() if not isinstance(v, np.ndarray)}
        res_t = call(theirs, [p[0] for p in pairs], {**m_theirs, **flags})
        res_o = call(ours, [p[1] for p in pairs], {**m_ours, **flags})
        res_t = res_t if isinstance(res_t, tuple) else (res_t,)
        res_o = res_o if isinstance(res_o, tuple) else (res_o,)
        for a, b in zip(res_o, res_t):
            assert (a is None) == (b is None)
            if b is not None:
                assert tuple(a.shape) == tuple(b.shape)
                np.testing.assert_allclose(arr(a), b.detach().numpy(), rtol=1e-10, atol=1e-11)
        g = randn(*res_t[0].shape)
        loss_t = (res_t[0] * torch.tensor(g)).sum()
        loss_o = (res_o[0] * t(g, device)).sum()
        if len(res_t) > 1 and res_t[1] is not None:
            loss_t = loss_t + (res_t[1] ** 2).sum()
            loss_o = loss_o + (res_o[1] ** 2).sum()
        loss_t.backward()
        loss_o.backward()
        for tp, op in pairs:
            np.testing.assert_allclose(arr(op.grad), tp.grad.numpy(), rtol=1e-9, atol=1e-10)
        for (name, a), b in zip(ours.named_parameters(), theirs.parameters()):
            assert (a.grad is None) == (b.grad is None), name
            if b.grad is not None:
                np.testing.assert_allclose(arr(a.grad), b.grad.numpy(), rtol=1e-9, atol=1e-10,
                                           err_msg=name)
        ours.zero_grad()
        theirs.zero_grad()


KPM = np.array([[False, True, False, False, True], [False, False, False, False, False]])

MHA_CASES = {
    "self": ({}, "self", {}),
    "self_no_weights": ({}, "self", {"need_weights": False}),
    "per_head_weights": ({}, "self", {"average_attn_weights": False}),
    "cross_kpm": ({}, "cross", {"key_padding_mask": KPM}),
    "cross_kpm_no_weights": ({}, "cross", {"key_padding_mask": KPM, "need_weights": False}),
    "float_kpm_3d_mask": ({"bias": False}, "cross", {
        "key_padding_mask": np.where(KPM, -np.inf, 0.0),
        "attn_mask": RNG.standard_normal((2 * 2, 4, 5))}),
    "bool_attn_mask": ({}, "cross", {"attn_mask": np.triu(np.ones((4, 5), bool), 2)}),
    "causal_hint": ({}, "self4", {"attn_mask": np.triu(np.full((4, 4), -np.inf), 1),
                                  "is_causal": True, "need_weights": False}),
    "kdim_vdim": ({"kdim": 3, "vdim": 5}, "kv", {"key_padding_mask": KPM}),
    "batch_first_bias_kv_zero_attn": ({"batch_first": True, "add_bias_kv": True,
                                       "add_zero_attn": True}, "cross_bf",
                                      {"attn_mask": np.triu(np.ones((4, 5), bool), 3)}),
    "unbatched": ({"batch_first": True}, "unbatched", {"key_padding_mask": KPM[0]}),
}


@pytest.mark.parametrize("case", list(MHA_CASES))
def test_mha_matches_torch(device, case):
    torch = pytest.importorskip("torch")
    kwargs, inputs, masks = MHA_CASES[case]
    E, H = 6, 2
    ours, theirs = nn.MultiheadAttention(E, H, **kwargs), torch.nn.MultiheadAttention(E, H,
                                                                                      **kwargs)
    if inputs == "self":
        xs, call = [randn(4, 2, E)], lambda m, i, k: m(i[0], i[0], i[0], **k)
    elif inputs == "self4":
        xs, call = [randn(4, 2, E)], lambda m, i, k: m(i[0], i[0], i[0], **k)
    elif inputs == "cross":
        xs, call = [randn(4, 2, E), randn(5, 2, E)], lambda m, i, k: m(i[0], i[1], i[1], **k)
    elif inputs == "cross_bf":
        xs, call = [randn(2, 4, E), randn(2, 5, E)], lambda m, i, k: m(i[0], i[1], i[1], **k)
    elif inputs == "kv":
        xs = [randn(4, 2, E), randn(5, 2, 3), randn(5, 2, 5)]
        call = lambda m, i, k: m(i[0], i[1], i[2], **k)  # noqa: E731
    else:
        xs, call = [randn(4, E), randn(5, E)], lambda m, i, k: m(i[0], i[1], i[1], **k)
    check_module_against_torch(torch, ours, theirs, device, call, xs, masks, ("train", "eval"))


def test_mha_functional_matches_torch(device):
    torch = pytest.importorskip("torch")
    E, H = 4, 2
    arrays = [randn(3, 2, E), randn(3 * E, E), randn(3 * E), randn(E, E), randn(E)]
    tt = [torch.tensor(a) for a in arrays]
    ours = F.multi_head_attention_forward(*[t(arrays[0], device)] * 3, E, H,
                                          *[t(a, device) for a in arrays[1:3]], None, None,
                                          False, 0.0, *[t(a, device) for a in arrays[3:]])
    theirs = torch.nn.functional.multi_head_attention_forward(tt[0], tt[0], tt[0], E, H, tt[1],
                                                              tt[2], None, None, False, 0.0,
                                                              tt[3], tt[4])
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(arr(a), b.numpy(), rtol=1e-11, atol=1e-12)
