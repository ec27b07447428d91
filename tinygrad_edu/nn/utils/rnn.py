"""torch.nn.utils.rnn: batches of sequences of different lengths.

- `pad_sequence([a, b, c])`: one (T, B, *) tensor, the shorter sequences padded.
- `pack_padded_sequence(padded, lengths)` -> `PackedSequence`: only the real time steps, stored
  time-major: `data` holds the rows of step 0 of every sequence, then of step 1 of those still
  running, ...; `batch_sizes[t]` says how many sequences are still running at step t (the
  sequences are sorted by decreasing length first; `sorted_indices` remembers how).
- `pad_packed_sequence(packed)` -> `(padded, lengths)`: the inverse, in the original order.
- `pack_sequence`, `unpad_sequence`, `unpack_sequence`: the compositions of the above.

The recurrent modules (nn.RNN, nn.LSTM, nn.GRU) accept a PackedSequence: a sequence stops at its
own length, so its final state is the one after its last real step, not after the padding.

Every function here is a composition of differentiable Tensor ops (one gather each way), so
gradients flow back through packing and padding. `lengths` and `batch_sizes` are int64 tensors
on the CPU, as in PyTorch.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import numpy as np

from ... import backend
from ...tensor import Tensor, cat, full, stack, tensor

__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence", "pad_packed_sequence",
           "pad_sequence", "unpad_sequence", "pack_sequence", "unpack_sequence"]


def _host(t: Tensor | None) -> np.ndarray | None:
    return None if t is None else backend.to_numpy(t.detach().array)


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """The inverse permutation: `out[permutation[i]] = i` (None for None)."""
    if permutation is None:
        return None
    return permutation.reshape(-1).argsort()  # on the permutation's device, no read-back


class _PackedSequenceBase(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None
    unsorted_indices: Tensor | None


class PackedSequence(_PackedSequenceBase):
    """A batch of sequences of different lengths without their padding (a named tuple).

    - `data` (sum of lengths, *): the time steps, time-major (step 0 of every sequence, then step
      1 of the sequences that have one, ...), sequences sorted by decreasing length;
    - `batch_sizes`: int64 CPU tensor (max length,), the number of sequences at each step;
    - `sorted_indices`: how the batch was sorted (`sorted = original[sorted_indices]`), or None
      when it already was; `unsorted_indices`: its inverse.

    Make one with `pack_padded_sequence` or `pack_sequence`, not by hand.
    """

    def __new__(cls, data: Any, batch_sizes: Tensor | None = None,
                sorted_indices: Tensor | None = None,
                unsorted_indices: Tensor | None = None) -> PackedSequence:
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:  # PackedSequence((data, batch_sizes), ...)
            if not (isinstance(data, (list, tuple)) and len(data) == 2):
                raise AssertionError("Expected data to be a list or tuple of length 2")
            data, batch_sizes = data
        if batch_sizes.device.type != "cpu":
            raise ValueError("batch_sizes should always be on CPU. Instances of PackedSequence "
                             "should never be created manually. They should be instantiated by "
                             "functions like pack_sequence and pack_padded_sequences in "
                             "nn.utils.rnn.")
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args: Any, **kwargs: Any) -> PackedSequence:
        """`data.to(...)`; the indices follow data's device; batch_sizes stays on the CPU."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        indices = [None if i is None else i.to(data.device)
                   for i in (self.sorted_indices, self.unsorted_indices)]
        return type(self)(data, self.batch_sizes, *indices)

    def cuda(self, *args: Any, **kwargs: Any) -> PackedSequence:
        return self.to(self.data.cuda(*args, **kwargs).device)

    def cpu(self) -> PackedSequence:
        return self.to("cpu")

    def double(self) -> PackedSequence:
        return self.to(dtype=backend.float64)

    def float(self) -> PackedSequence:
        return self.to(dtype=backend.float32)

    def half(self) -> PackedSequence:
        return self.to(dtype=backend.float16)

    def long(self) -> PackedSequence:
        return self.to(dtype=backend.int64)

    def int(self) -> PackedSequence:
        return self.to(dtype=backend.int32)

    @property
    def is_cuda(self) -> bool:
        """Whether `data` is on a GPU."""
        return self.data.device.type == "cuda"


def _lengths_array(lengths: Any, fn: str) -> np.ndarray:
    if isinstance(lengths, Tensor):
        if lengths.device.type != "cpu":
            raise RuntimeError(f"{fn}: 'lengths' argument should be a 1D CPU int64 tensor, but "
                               f"got 1D {lengths.device.type} Long tensor")
        array = _host(lengths)
    else:
        array = np.asarray(lengths)
    if array.ndim != 1 or (array.size and array.dtype.kind not in "iu"):
        raise RuntimeError(f"{fn}: 'lengths' must be a 1-D sequence of ints, got shape "
                           f"{array.shape} and dtype {array.dtype}")
    return array.astype(np.int64)


def _check_tensor(x: Any, name: str, fn: str) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{fn}: expected {name} to be a Tensor, got {type(x).__name__}")


def pack_padded_sequence(input: Tensor, lengths: Tensor | Sequence[int],
                         batch_first: bool = False, enforce_sorted: bool = True
                         ) -> PackedSequence:
    """Pack a padded batch (T, B, *) (or (B, T, *) with `batch_first`) whose sequence b has
    `lengths[b]` real steps. With `enforce_sorted` the lengths must be decreasing; otherwise the
    batch is sorted first (and `sorted_indices` remembers the order). Differentiable in `input`
    (a gather: the gradient of a padded position is 0)."""
    _check_tensor(input, "input", "pack_padded_sequence")
    lens = _lengths_array(lengths, "pack_padded_sequence")
    batch_dim = 0 if batch_first else 1
    if input.ndim < 2:
        raise ValueError(f"pack_padded_sequence: expected an input of at least 2 dims (T, B, *), "
                         f"got shape {tuple(input.shape)}")
    if lens.size != input.shape[batch_dim]:
        raise RuntimeError(f"pack_padded_sequence: Expected `len(lengths)` to be equal to "
                           f"batch_size, but got {lens.size} (batch_size={input.shape[batch_dim]})")
    sorted_indices = unsorted_indices = None
    if enforce_sorted:
        if np.any(lens[1:] > lens[:-1]):
            raise RuntimeError("`lengths` array must be sorted in decreasing order when "
                               "`enforce_sorted` is True. You can pass `enforce_sorted=False` to "
                               "pack_padded_sequence and/or pack_sequence to sidestep this "
                               "requirement if you do not need ONNX exportability.")
        order = np.arange(lens.size)
    else:
        order = np.argsort(-lens, kind="stable")
        lens = lens[order]
        sorted_indices = tensor(order, device=input.device)
        unsorted_indices = tensor(np.argsort(order), device=input.device)
    if lens.size == 0 or lens.min() <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element "
                           "in 'lengths' that is <= 0")
    steps = input.shape[1 - batch_dim]
    if lens[0] > steps:
        raise RuntimeError(f"pack_padded_sequence: a length of {int(lens[0])} is longer than the "
                           f"input's {steps} time steps (shape {tuple(input.shape)})")
    batch_sizes = (lens[None, :] > np.arange(int(lens[0]))[:, None]).sum(1)
    # the (time, batch) positions of the packed rows, time-major
    t_idx = np.concatenate([np.full(b, t) for t, b in enumerate(batch_sizes)])
    b_idx = order[np.concatenate([np.arange(b) for b in batch_sizes])]
    data = input[b_idx, t_idx] if batch_first else input[t_idx, b_idx]
    return PackedSequence(data, tensor(batch_sizes.astype(np.int64)), sorted_indices,
                          unsorted_indices)


def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False,
                        padding_value: float = 0.0, total_length: int | None = None
                        ) -> tuple[Tensor, Tensor]:
    """The inverse of `pack_padded_sequence`: `(padded, lengths)`, padded (T, B, *) (or
    (B, T, *)) in the batch's original order, T the longest length or `total_length`, padded
    positions `padding_value`; lengths an int64 CPU tensor. Differentiable in `sequence.data`."""
    if not isinstance(sequence, PackedSequence):
        raise TypeError(f"pad_packed_sequence: expected a PackedSequence, got "
                        f"{type(sequence).__name__}")
    data, batch_sizes, _, unsorted_indices = sequence
    sizes = _host(batch_sizes).astype(np.int64)
    max_len = sizes.size
    if total_length is not None:
        if total_length < max_len:
            raise ValueError("Expected total_length to be at least the length of the longest "
                             f"sequence in input, but got total_length={total_length} and max "
                             f"sequence length being {max_len}")
        max_len = int(total_length)
    n = int(sizes[0])
    lengths = (sizes[None, :] > np.arange(n)[:, None]).sum(1)  # of the sorted batch
    # row of `data` for each (time, sorted batch) position; data.shape[0] = the padding row
    rows = np.full((max_len, n), data.shape[0], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    for t, (offset, b) in enumerate(zip(offsets, sizes)):
        rows[t, :b] = offset + np.arange(b)
    if unsorted_indices is not None:
        unsorted = _host(unsorted_indices).astype(np.int64)
        rows, lengths = rows[:, unsorted], lengths[unsorted]
    if batch_first:
        rows = rows.T
    pad_row = full((1,) + tuple(data.shape[1:]), padding_value, dtype=data.dtype,
                   device=data.device)
    padded = cat([data, pad_row])[rows]
    return padded, tensor(lengths.astype(np.int64))


def pad_sequence(sequences: Tensor | Iterable[Tensor], batch_first: bool = False,
                 padding_value: float = 0.0, padding_side: str = "right") -> Tensor:
    """Stack sequences of shapes (L_i, *) into one (T, B, *) tensor (B, T, * with
    `batch_first`), T = max L_i, padding each on the right (or left) with `padding_value`.
    Differentiable in every sequence."""
    if isinstance(sequences, Tensor):
        sequences = sequences.unbind(0)
    if not isinstance(sequences, Iterable):
        raise RuntimeError("pad_sequence: Expected iterable for input sequences, but got arg of "
                           f"type: {type(sequences)}")
    sequences = list(sequences)
    if padding_side not in ("left", "right"):
        raise RuntimeError(f"Expected padding_side to be one of left or right, but got "
                           f"{padding_side}.")
    if not sequences:
        raise RuntimeError("pad_sequence: received an empty list of sequences")
    for i, s in enumerate(sequences):
        _check_tensor(s, f"sequences[{i}]", "pad_sequence")
        if s.ndim == 0:
            raise RuntimeError(f"pad_sequence: sequences[{i}] is 0-d; each sequence needs a "
                               "length dim (L, *)")
        if s.shape[1:] != sequences[0].shape[1:]:
            raise RuntimeError(f"pad_sequence: the sequences must have the same trailing dims, "
                               f"but sequences[0] has shape {tuple(sequences[0].shape)} and "
                               f"sequences[{i}] has shape {tuple(s.shape)}")
    longest = max(s.shape[0] for s in sequences)
    padded = []
    for s in sequences:
        missing = longest - s.shape[0]
        if missing:
            filler = full((missing,) + tuple(s.shape[1:]), padding_value, dtype=s.dtype,
                          device=s.device)
            s = cat([s, filler] if padding_side == "right" else [filler, s])
        padded.append(s)
    return stack(padded, 0 if batch_first else 1)


def unpad_sequence(padded_sequences: Tensor, lengths: Tensor | Sequence[int],
                   batch_first: bool = False) -> list[Tensor]:
    """The inverse of `pad_sequence` (right padding): the list of sequences `padded[:L_b, b]`."""
    _check_tensor(padded_sequences, "padded_sequences", "unpad_sequence")
    lens = _lengths_array(lengths, "unpad_sequence")
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    return [padded_sequences[b, :int(n)] for b, n in enumerate(lens)]


def pack_sequence(sequences: Sequence[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """`pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=...)`."""
    sequences = list(sequences)
    lengths = [s.shape[0] if isinstance(s, Tensor) and s.ndim else 0 for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    """The inverse of `pack_sequence`: the list of sequences, in the original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
