"""Recurrent layers, as torch.nn: RNNCell, LSTMCell, GRUCell (one time step) and RNN, LSTM, GRU
(whole sequences, several layers, both directions, packed sequences).

Each time step is a few lines of the library's own differentiable ops (linear, sigmoid, tanh,
chunk), so the backward pass through time is the autograd graph of the unrolled loop: nothing
here has a hand-written backward. The formulas, with W_i* the rows of `weight_ih`, W_h* those of
`weight_hh` (PyTorch's gate order) and sigma the sigmoid:

    RNN   h' = tanh(W_i x + b_i + W_h h + b_h)                 (or relu)
    LSTM  i, f, g, o = chunks of W_i x + b_i + W_h h + b_h     (input, forget, cell, output)
          c' = sigma(f) * c + sigma(i) * tanh(g),   h' = sigma(o) * tanh(c')
    GRU   r = sigma(W_ir x + b_ir + W_hr h + b_hr),  z = sigma(W_iz x + b_iz + W_hz h + b_hz)
          n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),   h' = (1 - z) * n + z * h

Names, arguments, parameter names (`weight_ih_l0`, `bias_hh_l1_reverse`, ...), the
initialisation U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), shapes, printing and errors follow
PyTorch, so a state_dict moves between the two unchanged.
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any, Callable

from ..tensor import Tensor, cat, empty, stack, zeros
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter
from .utils.rnn import PackedSequence

__all__ = ["RNNCellBase", "RNNCell", "LSTMCell", "GRUCell", "RNNBase", "RNN", "LSTM", "GRU"]

State = tuple[Tensor, ...]  # (h,) for RNN and GRU, (h, c) for LSTM


# ---------------------------------------------------------------------------------------------
# one time step: input (N, I) and state rows (N, H) -> the new state
# ---------------------------------------------------------------------------------------------
def _rnn_tanh_step(x: Tensor, state: State, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None,
                   b_hh: Tensor | None) -> State:
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)."""
    return ((F.linear(x, w_ih, b_ih) + F.linear(state[0], w_hh, b_hh)).tanh(),)


def _rnn_relu_step(x: Tensor, state: State, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None,
                   b_hh: Tensor | None) -> State:
    """h' = relu(x W_ih^T + b_ih + h W_hh^T + b_hh)."""
    return ((F.linear(x, w_ih, b_ih) + F.linear(state[0], w_hh, b_hh)).relu(),)


def _lstm_step(x: Tensor, state: State, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None,
               b_hh: Tensor | None) -> State:
    """Gates i, f, g, o = chunks of x W_ih^T + b_ih + h W_hh^T + b_hh;
    c' = sigma(f) c + sigma(i) tanh(g); h' = sigma(o) tanh(c')."""
    h, c = state
    i, f, g, o = (F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)).chunk(4, 1)
    c = f.sigmoid() * c + i.sigmoid() * g.tanh()
    return o.sigmoid() * c.tanh(), c


def _gru_step(x: Tensor, state: State, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None,
              b_hh: Tensor | None) -> State:
    """r, z = sigma(input part + hidden part); n = tanh(W_in x + b_in + r (W_hn h + b_hn));
    h' = (1 - z) n + z h, computed as n + z (h - n)."""
    h = state[0]
    x_r, x_z, x_n = F.linear(x, w_ih, b_ih).chunk(3, 1)
    h_r, h_z, h_n = F.linear(h, w_hh, b_hh).chunk(3, 1)
    r = (x_r + h_r).sigmoid()
    z = (x_z + h_z).sigmoid()
    n = (x_n + r * h_n).tanh()
    return (n + z * (h - n),)


_STEPS: dict[str, Callable[..., State]] = {
    "RNN_TANH": _rnn_tanh_step, "RNN_RELU": _rnn_relu_step, "LSTM": _lstm_step,
    "GRU": _gru_step,
}


def _check_size_arg(value: Any, name: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} should be of type int, got: {type(value).__name__}")
    if value <= 0:
        raise ValueError(f"{name} must be greater than zero")


def _check_tensor(x: Any, name: str, owner: str) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{owner}: expected {name} to be a Tensor, got {type(x).__name__}")


# ---------------------------------------------------------------------------------------------
# cells
# ---------------------------------------------------------------------------------------------
class RNNCellBase(Module):
    """What the cells share: `weight_ih` (chunks * hidden_size, input_size), `weight_hh`
    (chunks * hidden_size, hidden_size), `bias_ih` and `bias_hh` (chunks * hidden_size), all
    U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        _check_size_arg(input_size, "input_size")
        _check_size_arg(hidden_size, "hidden_size")
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        gates = num_chunks * hidden_size
        self.weight_ih = Parameter(empty(gates, input_size, device=device, dtype=dtype))
        self.weight_hh = Parameter(empty(gates, hidden_size, device=device, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(empty(gates, device=device, dtype=dtype))
            self.bias_hh = Parameter(empty(gates, device=device, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every weight and bias ~ U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _prepare(self, input: Tensor, hx: Tensor | tuple | None, n_states: int
                 ) -> tuple[Tensor, State, bool]:
        """Check the input (N, I) or (I,) and the state(s) (N, H) or (H,); give the batched
        input, the batched state (zeros when hx is None) and whether the input was batched."""
        name = type(self).__name__
        _check_tensor(input, "input", name)
        if input.ndim not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.ndim}D instead")
        if n_states == 1:
            states = None if hx is None else (hx,)
            labels = ["hidden"]
        else:
            if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
                raise TypeError(f"{name}: expected hx to be a tuple (h_0, c_0) of two Tensors, "
                                f"got {type(hx).__name__}")
            states = None if hx is None else tuple(hx)
            labels = ["hx[0]", "hx[1]"]
        if states is not None:
            for label, s in zip(labels, states):
                _check_tensor(s, label, name)
                if s.ndim not in (1, 2):
                    raise ValueError(f"{name}: Expected {label} to be 1D or 2D, got {s.ndim}D "
                                     "instead")
        batched = input.ndim == 2
        if not batched:
            input = input.unsqueeze(0)
        if input.shape[1] != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.shape[1]} "
                               f"expected {self.input_size}")
        if input.dtype != self.weight_ih.dtype:
            raise RuntimeError(f"{name}: input dtype ({input.dtype}) does not match weight dtype "
                               f"({self.weight_ih.dtype}); convert the input or the cell")
        if states is None:
            h0 = zeros(input.shape[0], self.hidden_size, dtype=input.dtype, device=input.device)
            return input, (h0,) * n_states, batched
        if not batched:
            states = tuple(s.unsqueeze(0) for s in states)
        for i, s in enumerate(states):
            if s.shape[0] != input.shape[0]:
                raise RuntimeError(f"Input batch size {input.shape[0]} doesn't match hidden{i} "
                                   f"batch size {s.shape[0]}")
            if s.shape[1] != self.hidden_size:
                raise RuntimeError(f"hidden{i} has inconsistent hidden_size: got {s.shape[1]}, "
                                   f"expected {self.hidden_size}")
        return input, states, batched

    def _weights(self) -> tuple[Tensor, Tensor, Tensor | None, Tensor | None]:
        return self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh


class RNNCell(RNNCellBase):
    """One step of an Elman RNN: h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu).

    Input (N, input_size) or (input_size,), hx the same with hidden_size (zeros when None);
    returns h' shaped like hx. d h'/d pre-activation = 1 - h'^2 (tanh) or [pre > 0] (relu); the
    autograd graph of these ops gives every gradient."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device: Any = None, dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=1, device=device,
                         dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        input, state, batched = self._prepare(input, hx, 1)
        if self.nonlinearity == "tanh":
            (h,) = _rnn_tanh_step(input, state, *self._weights())
        elif self.nonlinearity == "relu":
            (h,) = _rnn_relu_step(input, state, *self._weights())
        else:
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        return h if batched else h.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step: gates i, f, g, o (PyTorch's order) from x W_ih^T + b_ih + h W_hh^T + b_hh,
    c' = sigmoid(f) c + sigmoid(i) tanh(g), h' = sigmoid(o) tanh(c').

    Input (N, input_size) or (input_size,); hx = (h_0, c_0), each (N, hidden_size) or
    (hidden_size,) (zeros when None); returns (h', c')."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=4, device=device,
                         dtype=dtype)

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None
                ) -> tuple[Tensor, Tensor]:
        input, state, batched = self._prepare(input, hx, 2)
        h, c = _lstm_step(input, state, *self._weights())
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """One GRU step: r = sigmoid(W_ir x + b_ir + W_hr h + b_hr), z likewise,
    n = tanh(W_in x + b_in + r (W_hn h + b_hn)), h' = (1 - z) n + z h (gate order r, z, n).

    Input (N, input_size) or (input_size,), hx (N, hidden_size) or (hidden_size,) (zeros when
    None); returns h'."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__(input_size, hidden_size, bias, num_chunks=3, device=device,
                         dtype=dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        input, state, batched = self._prepare(input, hx, 1)
        (h,) = _gru_step(input, state, *self._weights())
        return h if batched else h.squeeze(0)


# ---------------------------------------------------------------------------------------------
# whole sequences
# ---------------------------------------------------------------------------------------------
def _run_direction(step: Callable[..., State], inputs: list[Tensor], batch_sizes: list[int],
                   h0: State, weights: tuple, reverse: bool) -> tuple[list[Tensor], State]:
    """Run one layer in one direction over the time steps `inputs` (inputs[t] has
    batch_sizes[t] rows: the sequences still running at step t, sorted by decreasing length).

    Returns the hidden state after each step (inputs[t]'s rows) and the final state of every
    sequence: the state after its own last step (forwards) or after step 0 (backwards)."""
    outputs: list[Tensor] = [None] * len(inputs)  # type: ignore[list-item]
    if not reverse:
        state, rows = h0, batch_sizes[0]
        finished: list[State] = []  # states of sequences that have ended, last rows first
        for t, x in enumerate(inputs):
            b = batch_sizes[t]
            if b < rows:  # the sequences in rows b.. ended at step t - 1
                finished.append(tuple(s[b:] for s in state))
                state, rows = tuple(s[:b] for s in state), b
            state = step(x, state, *weights)
            outputs[t] = state[0]
        final = tuple(cat([s] + [f[i] for f in reversed(finished)]) if finished else s
                      for i, s in enumerate(state))
        return outputs, final
    rows = batch_sizes[-1]
    state = tuple(s[:rows] for s in h0) if rows < h0[0].shape[0] else h0
    for t in range(len(inputs) - 1, -1, -1):
        b = batch_sizes[t]
        if b > rows:  # the sequences in rows `rows`..b start (their last step is t)
            state = tuple(cat([s, s0[rows:b]]) for s, s0 in zip(state, h0))
            rows = b
        state = step(inputs[t], state, *weights)
        outputs[t] = state[0]
    return outputs, state


class RNNBase(Module):
    """What RNN, LSTM and GRU share: the stack of layers (each one or two directions), the
    parameters `weight_ih_l{k}{suffix}` (gates * hidden, layer input), `weight_hh_l{k}{suffix}`,
    `bias_ih_l{k}{suffix}`, `bias_hh_l{k}{suffix}` (suffix '' or '_reverse'), the shape checks,
    batch_first, unbatched input and PackedSequence input."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__()
        if (not isinstance(dropout, numbers.Number) or isinstance(dropout, bool)
                or not 0 <= dropout <= 1):
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so "
                          "non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}", stacklevel=3)
        if not isinstance(bias, bool):
            raise TypeError(f"bias should be of type bool, got: {type(bias).__name__}")
        if not isinstance(batch_first, bool):
            raise TypeError(f"batch_first should be of type bool, got: "
                            f"{type(batch_first).__name__}")
        _check_size_arg(input_size, "input_size")
        _check_size_arg(hidden_size, "hidden_size")
        if not isinstance(num_layers, int) or isinstance(num_layers, bool) or num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if not isinstance(proj_size, int) or proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable "
                             "projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if proj_size > 0:
            raise NotImplementedError("LSTM: proj_size > 0 (an LSTM with projections) is not "
                                      "implemented in tinygrad_edu; use proj_size=0")
        gates = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}.get(mode)
        if gates is None:
            raise ValueError("Unrecognized RNN mode: " + mode)
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        num_directions = 2 if bidirectional else 1
        self._flat_weights_names: list[str] = []
        self._all_weights: list[list[str]] = []
        for layer in range(num_layers):
            for direction in range(num_directions):
                layer_input = input_size if layer == 0 else hidden_size * num_directions
                suffix = "_reverse" if direction == 1 else ""
                shapes = {"weight_ih": (gates * hidden_size, layer_input),
                          "weight_hh": (gates * hidden_size, hidden_size)}
                if bias:
                    shapes.update(bias_ih=(gates * hidden_size,), bias_hh=(gates * hidden_size,))
                names = []
                for kind, shape in shapes.items():
                    name = f"{kind}_l{layer}{suffix}"
                    setattr(self, name, Parameter(empty(*shape, device=device, dtype=dtype)))
                    names.append(name)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every weight and bias ~ U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def flatten_parameters(self) -> None:
        """A no-op: PyTorch packs the weights into one buffer for cuDNN here; tinygrad_edu has no
        cuDNN path, so there is nothing to do (kept so course code runs unchanged)."""

    @property
    def _flat_weights(self) -> list[Parameter]:
        return [getattr(self, name) for name in self._flat_weights_names]

    @property
    def all_weights(self) -> list[list[Parameter]]:
        """The parameters, one list per layer and direction (PyTorch's `all_weights`)."""
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # -- forward -------------------------------------------------------------------------------
    def _layer_weights(self, index: int) -> tuple:
        names = self._all_weights[index]
        weights = [getattr(self, n) for n in names]
        return tuple(weights) if self.bias else (weights[0], weights[1], None, None)

    def _check_state(self, name: str, label: str, state: Any, batched: bool) -> Tensor:
        _check_tensor(state, label, name)
        want = 3 if batched else 2
        if state.ndim != want:
            raise RuntimeError(f"For {'batched 3-D' if batched else 'unbatched 2-D'} input, "
                               f"{label} should also be {want}-D but got {state.ndim}-D tensor")
        return state if batched else state.unsqueeze(1)

    def _forward(self, input: Tensor | PackedSequence, hx: Any, n_states: int) -> tuple:
        """The shared forward: `n_states` is 1 (RNN, GRU: hx is h_0) or 2 (LSTM: (h_0, c_0))."""
        name = {"RNN_TANH": "RNN", "RNN_RELU": "RNN"}.get(self.mode, self.mode)
        num_directions = 2 if self.bidirectional else 1
        packed = isinstance(input, PackedSequence)
        if n_states == 2 and hx is not None and (not isinstance(hx, (tuple, list))
                                                 or len(hx) != 2):
            raise TypeError(f"{name}: expected hx to be a tuple (h_0, c_0) of two Tensors, got "
                            f"{type(hx).__name__}")
        states = None if hx is None else (tuple(hx) if n_states == 2 else (hx,))
        labels = ["hx", "cx"] if n_states == 2 else ["hx"]
        if packed:
            data, batch_sizes_t, sorted_indices, unsorted_indices = input
            batch_sizes = [int(b) for b in batch_sizes_t.tolist()]
            batched = True
            if data.ndim != 2:
                raise RuntimeError(f"input must have 2 dimensions, got {data.ndim}")
            x = data
        else:
            _check_tensor(input, "input", name)
            sorted_indices = unsorted_indices = None
            if input.ndim not in (2, 3):
                raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.ndim}D "
                                 f"{'tensor ' if name == 'RNN' else ''}instead")
            batched = input.ndim == 3
            x = input if batched else input.unsqueeze(0 if self.batch_first else 1)
            if states is not None:
                states = tuple(self._check_state(name, label, s, batched)
                               for label, s in zip(labels, states))
        if x.dtype != self.weight_ih_l0.dtype:
            raise ValueError(f"RNN input dtype ({x.dtype}) does not match weight dtype "
                             f"({self.weight_ih_l0.dtype}). Convert input: "
                             f"input.to({self.weight_ih_l0.dtype}), or convert model: "
                             f"model.to({x.dtype})")
        if x.shape[-1] != self.input_size:
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {x.shape[-1]}")
        if packed:
            offsets = [0]
            for b in batch_sizes:
                offsets.append(offsets[-1] + b)
            steps = [data[lo:hi] for lo, hi in zip(offsets[:-1], offsets[1:])]
            batch = batch_sizes[0]
        else:
            steps = list(x.unbind(1 if self.batch_first else 0))
            batch = x.shape[0 if self.batch_first else 1]
            if not steps:
                raise RuntimeError(f"{name}: the input has no time steps (shape "
                                   f"{tuple(input.shape)})")
            batch_sizes = [batch] * len(steps)
        expected = (self.num_layers * num_directions, batch, self.hidden_size)
        if states is None:
            h0 = zeros(*expected, dtype=x.dtype, device=x.device)
            states = (h0,) * n_states
        else:
            for i, s in enumerate(states):
                if tuple(s.shape) != expected:
                    what = "hidden" if n_states == 1 else f"hidden[{i}]"
                    raise RuntimeError(f"Expected {what} size {expected}, got {list(s.shape)}")
            if sorted_indices is not None:
                states = tuple(s.index_select(1, sorted_indices) for s in states)

        step = _STEPS[self.mode]
        finals: list[State] = []
        for layer in range(self.num_layers):
            directions = []
            for direction in range(num_directions):
                index = layer * num_directions + direction
                outs, final = _run_direction(step, steps, batch_sizes,
                                             tuple(s[index] for s in states),
                                             self._layer_weights(index), reverse=direction == 1)
                directions.append(outs)
                finals.append(final)
            steps = directions[0] if num_directions == 1 else \
                [cat([f, b], 1) for f, b in zip(*directions)]
            if self.dropout and self.training and layer < self.num_layers - 1:
                steps = [F.dropout(s, self.dropout, training=True) for s in steps]

        final_states = tuple(stack([f[i] for f in finals]) for i in range(n_states))
        if unsorted_indices is not None:
            final_states = tuple(s.index_select(1, unsorted_indices) for s in final_states)
        if packed:
            output: Any = PackedSequence(cat(steps), batch_sizes_t, sorted_indices,
                                         unsorted_indices)
        else:
            output = stack(steps, 1 if self.batch_first else 0)
            if not batched:
                output = output.squeeze(1 if not self.batch_first else 0)
                final_states = tuple(s.squeeze(1) for s in final_states)
        return output, final_states


class RNN(RNNBase):
    """A multi-layer Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu)
    in each layer, the next layer reading the hidden states of the one below (with dropout
    between layers in training).

    Input (T, N, input_size) ((N, T, input_size) with batch_first, (T, input_size) unbatched) or
    a PackedSequence; h_0 (num_layers * num_directions, N, hidden_size), zeros when None.
    Returns (output, h_n): output (T, N, num_directions * hidden_size), the last layer's hidden
    states (a PackedSequence for packed input), h_n the final state of every layer and
    direction."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, device: Any = None,
                 dtype: Any = None, **kwargs: Any) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if kwargs:
            raise TypeError(f"RNN.__init__() got an unexpected keyword argument "
                            f"'{next(iter(kwargs))}'")
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or "
                             "'relu'.")
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size,
                         hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor | PackedSequence, hx: Tensor | None = None
                ) -> tuple[Any, Tensor]:
        output, (h_n,) = self._forward(input, hx, 1)
        return output, h_n


class LSTM(RNNBase):
    """A multi-layer LSTM: in each layer, gates i, f, g, o from x_t W_ih^T + b_ih +
    h_{t-1} W_hh^T + b_hh, c_t = sigmoid(f) c_{t-1} + sigmoid(i) tanh(g),
    h_t = sigmoid(o) tanh(c_t).

    Input as RNN; hx = (h_0, c_0), each (num_layers * num_directions, N, hidden_size), zeros
    when None. Returns (output, (h_n, c_n)). `proj_size > 0` is not implemented
    (NotImplementedError)."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device: Any = None,
                 dtype: Any = None) -> None:
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, device=device, dtype=dtype)

    def forward(self, input: Tensor | PackedSequence,
                hx: tuple[Tensor, Tensor] | None = None) -> tuple[Any, tuple[Tensor, Tensor]]:
        output, (h_n, c_n) = self._forward(input, hx, 2)
        return output, (h_n, c_n)


class GRU(RNNBase):
    """A multi-layer GRU: in each layer r = sigmoid(W_ir x + b_ir + W_hr h + b_hr), z likewise,
    n = tanh(W_in x + b_in + r (W_hn h + b_hn)), h_t = (1 - z) n + z h_{t-1}.

    Input, h_0 and outputs as RNN."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, device: Any = None, dtype: Any = None,
                 **kwargs: Any) -> None:
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if kwargs:
            raise TypeError(f"GRU.__init__() got an unexpected keyword argument "
                            f"'{next(iter(kwargs))}'")
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, device=device, dtype=dtype)

    def forward(self, input: Tensor | PackedSequence, hx: Tensor | None = None
                ) -> tuple[Any, Tensor]:
        output, (h_n,) = self._forward(input, hx, 1)
        return output, h_n
