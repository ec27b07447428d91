"""Issue 18, nn.utils.rnn: pad_sequence, pack_padded_sequence, pad_packed_sequence,
pack_sequence, unpad_sequence, unpack_sequence, PackedSequence, and the recurrent modules on
packed input (final states at each sequence's own length). Against PyTorch where installed;
without it: NumPy references, gradchecks through packing and padding, and a packed batch
against each of its sequences run alone."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from nn_helpers import arr, close, t

import tinygrad_edu as tg
import tinygrad_edu.nn as nn
from tinygrad_edu.autograd import gradcheck
from tinygrad_edu.nn.utils.rnn import (
    PackedSequence,
    invert_permutation,
    pack_padded_sequence,
    pack_sequence,
    pad_packed_sequence,
    pad_sequence,
    unpack_sequence,
    unpad_sequence,
)

RNG = np.random.default_rng(1819)


def randn(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape)


# ---------------------------------------------------------------------------------------------
# the functions, without PyTorch
# ---------------------------------------------------------------------------------------------
def test_pad_sequence_numpy_reference(device):
    seqs = [randn(3, 2), randn(1, 2), randn(2, 2)]
    got = pad_sequence([t(s, device) for s in seqs], padding_value=-1.0)
    want = np.full((3, 3, 2), -1.0)
    for b, s in enumerate(seqs):
        want[:len(s), b] = s
    np.testing.assert_array_equal(arr(got), want)
    got = pad_sequence([t(s, device) for s in seqs], batch_first=True, padding_side="left")
    want = np.zeros((3, 3, 2))
    for b, s in enumerate(seqs):
        want[b, 3 - len(s):] = s
    np.testing.assert_array_equal(arr(got), want)
    ints = pad_sequence([tg.tensor([1, 2, 3], device=device), tg.tensor([4], device=device)])
    assert ints.dtype == tg.int64 and ints.tolist() == [[1, 4], [2, 0], [3, 0]]


def test_pack_and_pad_numpy_reference(device):
    x = randn(4, 3, 2)  # (T, B, *), lengths 4, 2, 1
    packed = pack_padded_sequence(t(x, device), [4, 2, 1])
    assert isinstance(packed, PackedSequence) and isinstance(packed, tuple)
    assert packed.batch_sizes.tolist() == [3, 2, 1, 1]
    assert packed.batch_sizes.device.type == "cpu" and packed.batch_sizes.dtype == tg.int64
    assert packed.sorted_indices is None and packed.unsorted_indices is None
    want = np.concatenate([x[0, :3], x[1, :2], x[2, :1], x[3, :1]])
    np.testing.assert_array_equal(arr(packed.data), want)
    padded, lengths = pad_packed_sequence(packed, padding_value=7.0)
    assert lengths.tolist() == [4, 2, 1] and lengths.device.type == "cpu"
    mask = np.arange(4)[:, None] < np.array([4, 2, 1])[None, :]
    np.testing.assert_array_equal(arr(padded), np.where(mask[..., None], x, 7.0))
    padded, _ = pad_packed_sequence(packed, batch_first=True, total_length=6)
    assert padded.shape == (3, 6, 2)
    np.testing.assert_array_equal(arr(padded)[:, 4:], 0.0)


def test_unsorted_round_trip(device):
    x = randn(3, 5, 4)  # batch_first (B, T, *)
    lengths = [2, 5, 1]
    packed = pack_padded_sequence(t(x, device), tg.tensor(lengths), batch_first=True,
                                  enforce_sorted=False)
    assert packed.sorted_indices.tolist() == [1, 0, 2]
    assert packed.unsorted_indices.tolist() == [1, 0, 2]
    assert packed.batch_sizes.tolist() == [3, 2, 1, 1, 1]
    padded, lens = pad_packed_sequence(packed, batch_first=True)
    assert lens.tolist() == lengths
    for b, n in enumerate(lengths):
        np.testing.assert_array_equal(arr(padded[b, :n]), x[b, :n])
        np.testing.assert_array_equal(arr(padded[b, n:]), 0.0)
    assert invert_permutation(tg.tensor([2, 0, 1])).tolist() == [1, 2, 0]
    assert invert_permutation(None) is None


def test_pack_sequence_and_unpack(device):
    seqs = [t(randn(n, 3), device) for n in (2, 4, 1)]
    with pytest.raises(RuntimeError, match="sorted in decreasing order"):
        pack_sequence(seqs)
    packed = pack_sequence(seqs, enforce_sorted=False)
    for a, b in zip(unpack_sequence(packed), seqs):
        np.testing.assert_array_equal(arr(a), arr(b))
    padded = pad_sequence(seqs, batch_first=True)
    for a, b in zip(unpad_sequence(padded, tg.tensor([2, 4, 1]), batch_first=True), seqs):
        np.testing.assert_array_equal(arr(a), arr(b))
    ints = pack_sequence([tg.tensor([1, 2, 3]), tg.tensor([4, 5]), tg.tensor([6])])
    assert ints.data.tolist() == [1, 4, 6, 2, 5, 3] and ints.batch_sizes.tolist() == [3, 2, 1]


def test_gradients_through_packing_and_padding(device):
    x = t(randn(3, 3, 2), device, True)

    def there_and_back(a):
        packed = pack_padded_sequence(a, [2, 3, 1], enforce_sorted=False)
        return pad_packed_sequence(packed, padding_value=0.5)[0] * 2.0

    assert gradcheck(there_and_back, (x,))
    seqs = [t(randn(n, 2), device, True) for n in (3, 1)]
    assert gradcheck(lambda a, b: pad_sequence([a, b], padding_side="left"), seqs)
    there_and_back(x).sum().backward()
    mask = np.arange(3)[:, None] < np.array([2, 3, 1])[None, :]  # padded positions get 0
    np.testing.assert_array_equal(arr(x.grad), np.where(mask[..., None], 2.0, 0.0) * np.ones(2))


def test_packed_sequence_methods(device):
    packed = pack_sequence([tg.randn(3, 2), tg.randn(2, 2)])
    moved = packed.to(device)
    assert moved.data.device.type in device and moved.batch_sizes.device.type == "cpu"
    assert moved.is_cuda == (device != "cpu")
    assert moved.double().data.dtype == tg.float64 and moved.float().data.dtype == tg.float32
    assert packed.to("cpu") is packed
    unsorted = pack_sequence([tg.randn(2, 2), tg.randn(3, 2)], enforce_sorted=False).to(device)
    assert unsorted.sorted_indices.device == unsorted.data.device
    data, batch_sizes, sorted_indices, unsorted_indices = unsorted  # a named tuple
    assert batch_sizes.tolist() == [2, 2, 1] and sorted_indices.tolist() == [1, 0]
    again = PackedSequence(data, batch_sizes, sorted_indices)  # unsorted_indices worked out
    assert again.unsorted_indices.tolist() == [1, 0]
    if device != "cpu":
        with pytest.raises(ValueError, match="batch_sizes should always be on CPU"):
            PackedSequence(data, tg.tensor([2, 2, 1], device=device))


@given(lengths=st.lists(st.integers(1, 5), min_size=1, max_size=5), batch_first=st.booleans())
def test_pack_pad_round_trip_for_any_lengths(device, lengths, batch_first):
    steps, batch = max(lengths), len(lengths)
    x = np.random.default_rng(len(lengths)).standard_normal((steps, batch, 2))
    given_x = x.transpose(1, 0, 2) if batch_first else x
    packed = pack_padded_sequence(t(given_x, device), lengths, batch_first, enforce_sorted=False)
    assert packed.batch_sizes.tolist() == [sum(n > s for n in lengths) for s in range(steps)]
    assert packed.data.shape == (sum(lengths), 2)
    padded, lens = pad_packed_sequence(packed, batch_first)
    assert lens.tolist() == lengths
    mask = np.arange(steps)[:, None] < np.array(lengths)[None, :]
    want = np.where(mask[..., None], x, 0.0)
    np.testing.assert_array_equal(arr(padded), want.transpose(1, 0, 2) if batch_first else want)
    for got, n, b in zip(unpack_sequence(packed), lengths, range(batch)):
        np.testing.assert_array_equal(arr(got), x[:n, b])


def test_errors():
    with pytest.raises(RuntimeError, match="empty list"):
        pad_sequence([])
    with pytest.raises(RuntimeError, match="same trailing dims"):
        pad_sequence([tg.zeros(2, 3), tg.zeros(2, 4)])
    with pytest.raises(RuntimeError, match="padding_side"):
        pad_sequence([tg.zeros(2)], padding_side="middle")
    with pytest.raises(RuntimeError, match="greater than 0"):
        pack_padded_sequence(tg.zeros(3, 2), [3, 0])
    with pytest.raises(RuntimeError, match="equal to batch_size"):
        pack_padded_sequence(tg.zeros(3, 2), [3, 1, 1])
    with pytest.raises(RuntimeError, match="longer than the input's 3 time steps"):
        pack_padded_sequence(tg.zeros(3, 2), [4, 1])
    with pytest.raises(ValueError, match="total_length=2 and max sequence length being 3"):
        pad_packed_sequence(pack_sequence([tg.zeros(3), tg.zeros(1)]), total_length=2)
    with pytest.raises(TypeError, match="PackedSequence"):
        pad_packed_sequence(tg.zeros(3, 2))


# ---------------------------------------------------------------------------------------------
# recurrent modules on packed input, without PyTorch
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_packed_batch_equals_each_sequence_alone(device, kind):
    """Each sequence of a packed batch gives what it gives run alone (unbatched): outputs at its
    real steps, and final states after its own last step, in both directions, two layers."""
    m = getattr(nn, kind)(2, 3, num_layers=2, bidirectional=True).double().to(device)
    lengths = [2, 4, 1, 3]
    seqs = [randn(n, 2) for n in lengths]
    n_states = 2 if kind == "LSTM" else 1
    h0 = [randn(4, 4, 3) for _ in range(n_states)]
    hx = tuple(t(h, device) for h in h0) if kind == "LSTM" else t(h0[0], device)
    packed = pack_sequence([t(s, device) for s in seqs], enforce_sorted=False)
    out, h_n = m(packed, hx)
    assert isinstance(out, PackedSequence)
    assert out.batch_sizes.tolist() == packed.batch_sizes.tolist()
    padded, lens = pad_packed_sequence(out, batch_first=True)
    assert lens.tolist() == lengths and padded.shape == (4, 4, 6)
    finals = h_n if kind == "LSTM" else (h_n,)
    for b, s in enumerate(seqs):
        alone_hx = (tuple(t(h[:, b], device) for h in h0) if kind == "LSTM"
                    else t(h0[0][:, b], device))
        alone_out, alone_h = m(t(s, device), alone_hx)
        alone_h = alone_h if kind == "LSTM" else (alone_h,)
        np.testing.assert_allclose(arr(padded[b, :lengths[b]]), arr(alone_out), rtol=1e-12,
                                   atol=1e-14)
        for got, want in zip(finals, alone_h):
            np.testing.assert_allclose(arr(got[:, b]), arr(want), rtol=1e-12, atol=1e-14)


def test_packed_equals_padded_when_all_lengths_are_full(device):
    m = nn.GRU(2, 3, batch_first=True).double().to(device)
    x = t(randn(3, 4, 2), device)
    out, h = m(x)
    packed_out, packed_h = m(pack_padded_sequence(x, [4, 4, 4], batch_first=True))
    np.testing.assert_allclose(arr(pad_packed_sequence(packed_out, batch_first=True)[0]),
                               arr(out), rtol=1e-12)
    np.testing.assert_allclose(arr(packed_h), arr(h), rtol=1e-12)


def test_packed_module_gradcheck(device):
    m = nn.LSTM(2, 2, bidirectional=True).double().to(device)
    x = t(randn(3, 3, 2), device, True)
    h0 = t(randn(2, 3, 2), device, True)
    c0 = t(randn(2, 3, 2), device, True)

    def run(a, b, c):
        out, (h, cell) = m(pack_padded_sequence(a, [2, 3, 1], enforce_sorted=False), (b, c))
        return out.data, h, cell

    assert gradcheck(run, (x, h0, c0))


# ---------------------------------------------------------------------------------------------
# against PyTorch
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_pad_sequence_matches_torch(device, batch_first, padding_side):
    torch = pytest.importorskip("torch")
    seqs = [randn(n, 2, 3) for n in (2, 5, 3)]
    ours = pad_sequence([t(s, device) for s in seqs], batch_first, 1.5, padding_side)
    theirs = torch.nn.utils.rnn.pad_sequence([torch.tensor(s) for s in seqs], batch_first, 1.5,
                                             padding_side)
    close(ours, theirs)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("lengths, enforce_sorted", [([5, 3, 3, 1], True), ([2, 5, 1, 4], False)])
def test_pack_and_pad_match_torch(device, batch_first, lengths, enforce_sorted):
    torch = pytest.importorskip("torch")
    R = torch.nn.utils.rnn
    x = randn(4, 5, 3) if batch_first else randn(5, 4, 3)
    xs, xt = t(x, device, True), torch.tensor(x, requires_grad=True)
    ours = pack_padded_sequence(xs, lengths, batch_first, enforce_sorted)
    theirs = R.pack_padded_sequence(xt, lengths, batch_first, enforce_sorted)
    close(ours.data, theirs.data)
    assert ours.batch_sizes.tolist() == theirs.batch_sizes.tolist()
    for a, b in ((ours.sorted_indices, theirs.sorted_indices),
                 (ours.unsorted_indices, theirs.unsorted_indices)):
        assert (a is None and b is None) or a.tolist() == b.tolist()
    a, la = pad_packed_sequence(ours, batch_first, -2.0, total_length=7)
    b, lb = R.pad_packed_sequence(theirs, batch_first, -2.0, total_length=7)
    close(a, b)
    assert la.tolist() == lb.tolist()
    w = randn(*b.shape)
    (a * t(w, device)).sum().backward()
    (b * torch.tensor(w)).sum().backward()
    close(xs.grad, xt.grad)


@pytest.mark.parametrize("kind, kwargs", [
    ("RNN", {}), ("LSTM", {"num_layers": 2, "bidirectional": True}),
    ("GRU", {"bidirectional": True}), ("LSTM", {"batch_first": True}),
], ids=str)
@pytest.mark.parametrize("with_state", [True, False])
def test_modules_on_packed_input_match_torch(device, kind, kwargs, with_state):
    torch = pytest.importorskip("torch")
    R = torch.nn.utils.rnn
    ours, theirs = getattr(nn, kind)(3, 4, **kwargs), getattr(torch.nn, kind)(3, 4, **kwargs)
    theirs.double()
    ours.double().load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    ours.to(device)
    lengths = [3, 5, 1]
    batch_first = kwargs.get("batch_first", False)
    x = randn(3, 5, 3) if batch_first else randn(5, 3, 3)
    xs, xt = t(x, device, True), torch.tensor(x, requires_grad=True)
    states_s, states_t = [], []
    if with_state:
        for _ in range(2 if kind == "LSTM" else 1):
            h = randn(theirs.num_layers * (2 if theirs.bidirectional else 1), 3, 4)
            states_s.append(t(h, device, True))
            states_t.append(torch.tensor(h, requires_grad=True))
    hx_s = (tuple(states_s) if kind == "LSTM" else states_s[0]) if with_state else None
    hx_t = (tuple(states_t) if kind == "LSTM" else states_t[0]) if with_state else None
    out_s, h_s = ours(pack_padded_sequence(xs, lengths, batch_first, enforce_sorted=False), hx_s)
    out_t, h_t = theirs(R.pack_padded_sequence(xt, lengths, batch_first, enforce_sorted=False),
                        hx_t)
    h_s = h_s if kind == "LSTM" else (h_s,)
    h_t = h_t if kind == "LSTM" else (h_t,)
    close(out_s.data, out_t.data)
    for a, b in zip(h_s, h_t):
        close(a, b)
    w = randn(*out_t.data.shape)
    w_h = [randn(*h.shape) for h in h_t]
    ((out_s.data * t(w, device)).sum()
     + sum((h * t(v, device)).sum() for h, v in zip(h_s, w_h))).backward()
    ((out_t.data * torch.tensor(w)).sum()
     + sum((h * torch.tensor(v)).sum() for h, v in zip(h_t, w_h))).backward()
    close(xs.grad, xt.grad)
    for a, b in zip(states_s, states_t):
        close(a.grad, b.grad)
    for p, q in zip(ours.parameters(), theirs.parameters()):
        close(p.grad, q.grad)


def test_packed_module_does_not_read_back_from_the_gpu(device, no_host_sync):
    m = nn.GRU(2, 3, bidirectional=True).to(device)
    x = tg.randn(4, 3, 2, device=device, requires_grad=True)
    with no_host_sync():  # lengths and batch_sizes live on the host: no device reads
        packed = pack_padded_sequence(x, [2, 4, 3], enforce_sorted=False)
        out, h = m(packed, tg.zeros(2, 3, 3, device=device))
        (out.data.sum() + h.sum()).backward()
    assert x.grad.shape == x.shape
