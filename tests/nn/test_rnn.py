"""Issue 18, recurrent layers: RNNCell, LSTMCell, GRUCell, RNN, LSTM, GRU. Against PyTorch (same
weights through load_state_dict; outputs, final states and the gradients of the input, the
initial states and every parameter, float64, rtol 1e-10) where it is installed, and without it:
NumPy reference steps (gate order), float64 gradchecks on tiny sizes, the cells against the
modules, parameter names, initialisation, printing, dropout and errors, on every device."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from nn_helpers import arr, close, t

import tinygrad_edu as tg
import tinygrad_edu.nn as nn
from tinygrad_edu.autograd import gradcheck

RNG = np.random.default_rng(1818)


def randn(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape)


def same_module(ours: nn.Module, theirs, device: str) -> nn.Module:
    """ours, in float64 on `device`, with theirs' parameters (theirs made float64)."""
    theirs.double()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours.to(device)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


# ---------------------------------------------------------------------------------------------
# NumPy references of one step (PyTorch's documented formulas and gate order)
# ---------------------------------------------------------------------------------------------
def np_step(kind: str, x, state, w_ih, w_hh, b_ih, b_hh):
    gi, gh = x @ w_ih.T + b_ih, state[0] @ w_hh.T + b_hh
    if kind == "RNN":
        return (np.tanh(gi + gh),)
    if kind == "LSTM":
        i, f, g, o = np.split(gi + gh, 4, axis=1)
        c = sigmoid(f) * state[1] + sigmoid(i) * np.tanh(g)
        return sigmoid(o) * np.tanh(c), c
    r = sigmoid(gi[:, :3] + gh[:, :3])
    z = sigmoid(gi[:, 3:6] + gh[:, 3:6])
    n = np.tanh(gi[:, 6:] + r * gh[:, 6:])
    return ((1 - z) * n + z * state[0],)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_module_matches_numpy_reference(device, kind):
    """A 2-layer bidirectional module against a NumPy loop over the formulas."""
    T, N, D, H = 4, 2, 2, 3
    m = getattr(nn, kind)(D, H, num_layers=2, bidirectional=True).double().to(device)
    x = randn(T, N, D)
    n_states = 2 if kind == "LSTM" else 1
    h0 = [randn(4, N, H) for _ in range(n_states)]
    hx = tuple(t(h, device) for h in h0) if kind == "LSTM" else t(h0[0], device)
    out, h_n = m(t(x, device), hx)
    finals = h_n if kind == "LSTM" else (h_n,)
    layer_input, want_finals = x, [[] for _ in range(n_states)]
    for layer in range(2):
        outs = []
        for d, suffix in enumerate(["", "_reverse"]):
            w = [arr(getattr(m, f"{p}_l{layer}{suffix}"))
                 for p in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
            state = tuple(h[2 * layer + d] for h in h0)
            seq = [None] * T
            for step in (range(T) if d == 0 else range(T - 1, -1, -1)):
                state = np_step(kind, layer_input[step], state, *w)
                seq[step] = state[0]
            outs.append(np.stack(seq))
            for i in range(n_states):
                want_finals[i].append(state[i])
        layer_input = np.concatenate(outs, axis=2)
    np.testing.assert_allclose(arr(out), layer_input, rtol=1e-12, atol=1e-12)
    for got, want in zip(finals, want_finals):
        np.testing.assert_allclose(arr(got), np.stack(want), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cells_match_numpy_reference(device, kind):
    cell = getattr(nn, kind)(2, 3).double().to(device)
    x, h, c = randn(4, 2), randn(4, 3), randn(4, 3)
    w = [arr(p) for p in (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)]
    if kind == "LSTMCell":
        got = cell(t(x, device), (t(h, device), t(c, device)))
        want = np_step("LSTM", x, (h, c), *w)
    else:
        got = (cell(t(x, device), t(h, device)),)
        want = np_step(kind[:-4], x, (h,), *w)
    for a, b in zip(got, want):
        np.testing.assert_allclose(arr(a), b, rtol=1e-12, atol=1e-12)


def test_relu_rnn_cell_is_relu(device):
    cell = nn.RNNCell(2, 3, nonlinearity="relu", bias=False).double().to(device)
    x, h = randn(5, 2), randn(5, 3)
    want = np.maximum(x @ arr(cell.weight_ih).T + h @ arr(cell.weight_hh).T, 0)
    np.testing.assert_allclose(arr(cell(t(x, device), t(h, device))), want, rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# against PyTorch
# ---------------------------------------------------------------------------------------------
CELL_CASES = [
    ("RNNCell", {}), ("RNNCell", {"nonlinearity": "relu"}), ("RNNCell", {"bias": False}),
    ("LSTMCell", {}), ("LSTMCell", {"bias": False}), ("GRUCell", {}), ("GRUCell", {"bias": False}),
]


@pytest.mark.parametrize("kind, kwargs", CELL_CASES, ids=str)
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("with_state", [True, False])
def test_cells_match_torch(device, kind, kwargs, batched, with_state):
    torch = pytest.importorskip("torch")
    ours, theirs = getattr(nn, kind)(3, 4, **kwargs), getattr(torch.nn, kind)(3, 4, **kwargs)
    assert repr(ours) == repr(theirs)
    same_module(ours, theirs, device)
    lead = (2,) if batched else ()
    x = randn(*lead, 3)
    xs, xt = t(x, device, True), torch.tensor(x, requires_grad=True)
    args_s, args_t, states_s, states_t = [xs], [xt], [], []
    if with_state:
        for _ in range(2 if kind == "LSTMCell" else 1):
            h = randn(*lead, 4)
            states_s.append(t(h, device, True))
            states_t.append(torch.tensor(h, requires_grad=True))
        args_s.append(tuple(states_s) if kind == "LSTMCell" else states_s[0])
        args_t.append(tuple(states_t) if kind == "LSTMCell" else states_t[0])
    out_s, out_t = ours(*args_s), theirs(*args_t)
    out_s = out_s if isinstance(out_s, tuple) else (out_s,)
    out_t = out_t if isinstance(out_t, tuple) else (out_t,)
    weights = [randn(*o.shape) for o in out_t]
    sum(((o * t(w, device)).sum() for o, w in zip(out_s, weights)), t(0.0, device)).backward()
    sum((o * torch.tensor(w)).sum() for o, w in zip(out_t, weights)).backward()
    for a, b in zip(out_s, out_t):
        close(a, b)
    for a, b in zip([xs] + states_s, [xt] + states_t):
        close(a.grad, b.grad)
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
        close(p.grad, q.grad)


MODULE_CASES = [
    ("RNN", {}), ("RNN", {"nonlinearity": "relu", "num_layers": 2}),
    ("RNN", {"bidirectional": True, "batch_first": True}),
    ("LSTM", {}), ("LSTM", {"num_layers": 2, "bidirectional": True}),
    ("LSTM", {"bias": False, "batch_first": True}),
    ("GRU", {}), ("GRU", {"num_layers": 2, "bidirectional": True, "batch_first": True}),
    ("GRU", {"bias": False}),
]


def _run_both(torch, ours, theirs, device, kind, shape, with_state, batched=True):
    """Forward and backward through both modules; returns the tensors to compare."""
    x = randn(*shape)
    xs, xt = t(x, device, True), torch.tensor(x, requires_grad=True)
    states_s, states_t = [], []
    num = theirs.num_layers * (2 if theirs.bidirectional else 1)
    if with_state:
        lead = (num, shape[0] if theirs.batch_first else shape[1]) if batched else (num,)
        for _ in range(2 if kind == "LSTM" else 1):
            h = randn(*lead, theirs.hidden_size)
            states_s.append(t(h, device, True))
            states_t.append(torch.tensor(h, requires_grad=True))
    hx_s = (tuple(states_s) if kind == "LSTM" else states_s[0]) if with_state else None
    hx_t = (tuple(states_t) if kind == "LSTM" else states_t[0]) if with_state else None
    out_s, h_s = ours(xs, hx_s)
    out_t, h_t = theirs(xt, hx_t)
    h_s = h_s if kind == "LSTM" else (h_s,)
    h_t = h_t if kind == "LSTM" else (h_t,)
    w_out = randn(*out_t.shape)
    w_h = [randn(*h.shape) for h in h_t]
    ((out_s * t(w_out, device)).sum() + sum((h * t(w, device)).sum()
                                           for h, w in zip(h_s, w_h))).backward()
    ((out_t * torch.tensor(w_out)).sum() + sum((h * torch.tensor(w)).sum()
                                               for h, w in zip(h_t, w_h))).backward()
    pairs = [(out_s, out_t)] + list(zip(h_s, h_t)) + [(xs.grad, xt.grad)]
    pairs += [(a.grad, b.grad) for a, b in zip(states_s, states_t)]
    pairs += [(p.grad, q.grad) for p, q in zip(ours.parameters(), theirs.parameters())]
    return pairs


@pytest.mark.parametrize("kind, kwargs", MODULE_CASES, ids=str)
@pytest.mark.parametrize("with_state", [True, False])
def test_modules_match_torch(device, kind, kwargs, with_state):
    torch = pytest.importorskip("torch")
    ours, theirs = getattr(nn, kind)(3, 4, **kwargs), getattr(torch.nn, kind)(3, 4, **kwargs)
    assert repr(ours) == repr(theirs)
    same_module(ours, theirs, device)
    shape = (2, 5, 3) if kwargs.get("batch_first") else (5, 2, 3)
    for a, b in _run_both(torch, ours, theirs, device, kind, shape, with_state):
        close(a, b)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_unbatched_input_matches_torch(device, kind, batch_first):
    torch = pytest.importorskip("torch")
    kwargs = {"num_layers": 2, "bidirectional": True, "batch_first": batch_first}
    ours, theirs = getattr(nn, kind)(3, 4, **kwargs), getattr(torch.nn, kind)(3, 4, **kwargs)
    same_module(ours, theirs, device)
    for a, b in _run_both(torch, ours, theirs, device, kind, (5, 3), True, batched=False):
        close(a, b)


def test_parameters_repr_and_state_dict_as_torch():
    torch = pytest.importorskip("torch")
    for kind, kwargs in MODULE_CASES + [("LSTM", {"num_layers": 3, "dropout": 0.25,
                                                  "bidirectional": True})]:
        ours, theirs = getattr(nn, kind)(3, 4, **kwargs), getattr(torch.nn, kind)(3, 4, **kwargs)
        assert repr(ours) == repr(theirs)
        assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
            [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
        assert ours._flat_weights_names == theirs._flat_weights_names
        assert ours._all_weights == theirs._all_weights
        assert [[tuple(p.shape) for p in ws] for ws in ours.all_weights] == \
            [[tuple(p.shape) for p in ws] for ws in theirs.all_weights]


# ---------------------------------------------------------------------------------------------
# without PyTorch: gradchecks, the cell against the module, parameters, init, repr
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cell_gradcheck(device, kind):
    cell = getattr(nn, kind)(2, 3).double().to(device)
    x = t(randn(2, 2), device, True)
    h = t(randn(2, 3), device, True)
    if kind == "LSTMCell":
        c = t(randn(2, 3), device, True)
        assert gradcheck(lambda a, b, d: cell(a, (b, d)), (x, h, c))
    else:
        assert gradcheck(lambda a, b: cell(a, b), (x, h))
    # every parameter, through a scalar
    w = t(randn(2, 3), device)
    state = (h, c) if kind == "LSTMCell" else h

    def loss(*params):
        out = cell(x, state)
        return ((out[0] if isinstance(out, tuple) else out) * w).sum()

    assert gradcheck(loss, tuple(cell.parameters()))


@pytest.mark.parametrize("kind, kwargs", [
    ("RNN", {"num_layers": 2}), ("LSTM", {"bidirectional": True}),
    ("GRU", {"bidirectional": True, "batch_first": True}),
], ids=str)
def test_module_gradcheck(device, kind, kwargs):
    T, N, D, H = 3, 2, 2, 2  # tiny: every element of every input is perturbed
    m = getattr(nn, kind)(D, H, **kwargs).double().to(device)
    num = m.num_layers * (2 if m.bidirectional else 1)
    x = t(randn(N, T, D) if m.batch_first else randn(T, N, D), device, True)
    states = [t(randn(num, N, H), device, True) for _ in range(2 if kind == "LSTM" else 1)]

    def run(a, *hx):
        out, h_n = m(a, tuple(hx) if kind == "LSTM" else hx[0])
        return (out, *h_n) if kind == "LSTM" else (out, h_n)

    assert gradcheck(run, (x, *states))
    x1 = x[:, :1] if m.batch_first else x[:1]  # the parameters: one sequence is enough
    w = t(randn(*m(x1)[0].shape), device)
    assert gradcheck(lambda *params: (m(x1)[0] * w).sum(), tuple(m.parameters()))


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_module_equals_its_cell_unrolled(device, kind):
    m = getattr(nn, kind)(3, 4).double().to(device)
    cell = getattr(nn, kind + "Cell")(3, 4).double().to(device)
    cell.load_state_dict({k[:-3]: v for k, v in m.state_dict().items()})  # weight_ih_l0 -> ih
    x = t(randn(5, 2, 3), device)
    out, h_n = m(x)
    state = None
    for step in range(5):
        state = cell(x[step], state)
        h = state[0] if kind == "LSTM" else state
        np.testing.assert_allclose(arr(out[step]), arr(h), rtol=1e-12, atol=1e-14)
    if kind == "LSTM":
        np.testing.assert_allclose(arr(h_n[0][0]), arr(state[0]), rtol=1e-12)
        np.testing.assert_allclose(arr(h_n[1][0]), arr(state[1]), rtol=1e-12)
    else:
        np.testing.assert_allclose(arr(h_n[0]), arr(state), rtol=1e-12)


def test_parameter_names_shapes_and_init():
    m = nn.LSTM(5, 8, num_layers=2, bidirectional=True)
    names = [n for n, _ in m.named_parameters()]
    assert names[:4] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
    assert names[4:8] == ["weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse",
                          "bias_hh_l0_reverse"]
    assert len(names) == 16 and names[-1] == "bias_hh_l1_reverse"
    assert m.weight_ih_l0.shape == (32, 5) and m.weight_ih_l1.shape == (32, 16)
    assert m.weight_hh_l1_reverse.shape == (32, 8) and m.bias_ih_l1.shape == (32,)
    bound = 1 / np.sqrt(8)
    values = np.concatenate([arr(p).ravel() for p in m.parameters()])
    assert values.min() >= -bound and values.max() <= bound and values.std() > bound / 3
    assert m.weight_ih_l0.dtype == tg.float32
    gru = nn.GRU(4, 6, bias=False, dtype=tg.float64)
    assert [n for n, _ in gru.named_parameters()] == ["weight_ih_l0", "weight_hh_l0"]
    assert gru.weight_hh_l0.shape == (18, 6) and gru.weight_hh_l0.dtype == tg.float64
    cell = nn.GRUCell(4, 6, bias=False)
    assert cell.bias_ih is None and cell.weight_ih.shape == (18, 4)
    assert [n for n, _ in nn.LSTMCell(2, 3).named_parameters()] == [
        "weight_ih", "weight_hh", "bias_ih", "bias_hh"]
    assert [[p.shape for p in ws] for ws in gru.all_weights] == [[(18, 4), (18, 6)]]
    m.flatten_parameters()  # a no-op


def test_reprs():
    assert repr(nn.RNN(3, 4)) == "RNN(3, 4)"
    assert repr(nn.RNN(3, 4, nonlinearity="relu")) == "RNN(3, 4)"  # as PyTorch
    assert repr(nn.LSTM(3, 4, 2, batch_first=True, dropout=0.5, bidirectional=True)) == \
        "LSTM(3, 4, num_layers=2, batch_first=True, dropout=0.5, bidirectional=True)"
    assert repr(nn.GRU(3, 4, bias=False)) == "GRU(3, 4, bias=False)"
    assert repr(nn.RNNCell(3, 4, bias=False, nonlinearity="relu")) == \
        "RNNCell(3, 4, bias=False, nonlinearity=relu)"
    assert repr(nn.LSTMCell(3, 4)) == "LSTMCell(3, 4)"
    assert repr(nn.Sequential(nn.GRUCell(2, 3))) == "Sequential(\n  (0): GRUCell(2, 3)\n)"


def test_shapes(device):
    m = nn.GRU(3, 4, num_layers=3, bidirectional=True, batch_first=True).to(device)
    out, h = m(tg.randn(2, 7, 3, device=device))
    assert out.shape == (2, 7, 8) and h.shape == (6, 2, 4) and out.dtype == tg.float32
    out, h = m(tg.randn(7, 3, device=device))  # unbatched
    assert out.shape == (7, 8) and h.shape == (6, 4)
    lstm = nn.LSTM(3, 4).to(device)
    out, (h, c) = lstm(tg.randn(7, 3, device=device), (tg.zeros(1, 4, device=device),
                                                       tg.zeros(1, 4, device=device)))
    assert out.shape == (7, 4) and h.shape == c.shape == (1, 4)
    assert nn.LSTMCell(3, 4).to(device)(tg.randn(3, device=device))[1].shape == (4,)


def test_dropout_between_layers_in_training_only(device):
    tg.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = nn.LSTM(3, 16, num_layers=2, dropout=0.5).double().to(device)
    x = t(randn(4, 2, 3), device)
    a, b = m(x)[0], m(x)[0]
    assert not np.allclose(arr(a), arr(b))  # training: different masks
    m.eval()
    a, b = m(x)[0], m(x)[0]
    np.testing.assert_array_equal(arr(a), arr(b))
    no_dropout = nn.LSTM(3, 16, num_layers=2).double().to(device)
    no_dropout.load_state_dict(m.state_dict())
    np.testing.assert_allclose(arr(no_dropout(x)[0]), arr(a), rtol=1e-12)
    with pytest.warns(UserWarning, match="num_layers greater than 1"):
        nn.GRU(3, 4, dropout=0.2)


def test_backward_through_time_is_one_graph(device):
    """The gradient reaches the first input step through every later step."""
    m = nn.RNN(2, 3).double().to(device)
    x = t(randn(6, 1, 2), device, True)
    m(x)[0][-1].sum().backward()
    assert np.all(arr(x.grad)[0] != 0)
    assert m.weight_hh_l0.grad is not None and m.bias_ih_l0.grad.shape == (3,)


def test_errors(device):
    with pytest.raises(NotImplementedError, match="proj_size"):
        nn.LSTM(3, 4, proj_size=2)
    with pytest.raises(ValueError, match="proj_size has to be smaller"):
        nn.LSTM(3, 4, proj_size=4)
    with pytest.raises(ValueError, match="only supported for LSTM"):
        nn.GRU(3, 4, proj_size=2)
    with pytest.raises(ValueError, match="Unknown nonlinearity 'sigmoid'"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(RuntimeError, match="Unknown nonlinearity: sigmoid"):
        nn.RNNCell(3, 4, nonlinearity="sigmoid")(tg.randn(2, 3))
    with pytest.raises(ValueError, match="dropout should be a number"):
        nn.LSTM(3, 4, dropout=1.5)
    with pytest.raises(ValueError, match="hidden_size must be greater than zero"):
        nn.GRU(3, 0)
    with pytest.raises(TypeError, match="input_size should be of type int"):
        nn.RNN(3.0, 4)
    with pytest.raises(ValueError, match="num_layers must be greater than zero"):
        nn.RNN(3, 4, num_layers=0)
    with pytest.raises(TypeError, match="bias should be of type bool"):
        nn.RNN(3, 4, bias=1)
    m = nn.LSTM(3, 4).to(device)
    with pytest.raises(ValueError, match="Expected input to be 2D or 3D, got 1D"):
        m(tg.randn(3, device=device))
    with pytest.raises(RuntimeError, match="input.size\\(-1\\) must be equal to input_size. "
                                           "Expected 3, got 5"):
        m(tg.randn(4, 2, 5, device=device))
    with pytest.raises(ValueError, match="does not match weight dtype"):
        m(tg.randn(4, 2, 3, dtype=tg.float64, device=device))
    h = tg.zeros(1, 2, 4, device=device)
    with pytest.raises(RuntimeError,
                       match=r"Expected hidden\[1\] size \(1, 2, 4\), got \[1, 3, 4\]"):
        m(tg.randn(4, 2, 3, device=device), (h, tg.zeros(1, 3, 4, device=device)))
    with pytest.raises(RuntimeError, match="should also be 3-D"):
        m(tg.randn(4, 2, 3, device=device), (h[0], h))
    with pytest.raises(TypeError, match="tuple"):
        m(tg.randn(4, 2, 3, device=device), h)
    with pytest.raises(RuntimeError, match=r"Expected hidden size \(1, 2, 4\), got \[1, 2, 5\]"):
        nn.GRU(3, 4).to(device)(tg.randn(4, 2, 3, device=device),
                                tg.zeros(1, 2, 5, device=device))
    cell = nn.GRUCell(3, 4).to(device)
    with pytest.raises(RuntimeError, match="input has inconsistent input_size: got 5 expected 3"):
        cell(tg.randn(2, 5, device=device))
    with pytest.raises(RuntimeError, match="Input batch size 2 doesn't match hidden0 batch size 3"):
        cell(tg.randn(2, 3, device=device), tg.zeros(3, 4, device=device))
    with pytest.raises(ValueError, match="GRUCell: Expected input to be 1D or 2D, got 3D"):
        cell(tg.randn(1, 2, 3, device=device))
    with pytest.raises(TypeError, match="expected input to be a Tensor"):
        cell(np.zeros((2, 3)))


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_no_reads_back_from_the_gpu(device, no_host_sync, kind):
    m = getattr(nn, kind)(3, 4, num_layers=2, bidirectional=True).to(device)
    x = tg.randn(5, 2, 3, device=device, requires_grad=True)
    with no_host_sync():
        out, h_n = m(x)
        h = h_n[0] if kind == "LSTM" else h_n
        (out.sum() + h.sum()).backward()
    assert x.grad.shape == x.shape
