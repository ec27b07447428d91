"""Matrix products."""

from __future__ import annotations

from typing import Any

from ..autograd import Function


class Matmul(Function):
    """y = a @ b (NumPy's matmul rules: 1-D operands, batch dims broadcast).
    dL/da = g @ b^T,  dL/db = a^T @ g  (transposing the last two dims; batch dims that were
    broadcast are summed back by the engine)."""

    def reads_input(self, i: int) -> bool:  # each input is read for the other's gradient
        return self.needs_input_grad[1 - i]

    def forward(self, a: Any, b: Any) -> Any:
        ka = a.shape[-1] if a.ndim else None
        kb = (b.shape[0] if b.ndim == 1 else b.shape[-2]) if b.ndim else None
        if a.ndim == 0 or b.ndim == 0 or ka != kb:
            raise ValueError(f"matmul: shapes {tuple(a.shape)} and {tuple(b.shape)} cannot be "
                             f"multiplied ({ka} != {kb})" if a.ndim and b.ndim else
                             "matmul: both arguments need at least 1 dimension, got shapes "
                             f"{tuple(a.shape)} and {tuple(b.shape)}")
        try:
            return a @ b
        except ValueError:
            raise ValueError(f"matmul: batch dimensions of {tuple(a.shape)} and "
                             f"{tuple(b.shape)} cannot be broadcast together") from None

    def backward(self, g: Any) -> tuple:
        a, b = self.inputs
        need_a, need_b = self.needs_input_grad
        if a.ndim == 1 and b.ndim == 1:  # dot product: g is a scalar
            return (g * b if need_a else None), (g * a if need_b else None)
        if a.ndim == 1:  # a acts as a (1, k) row
            g2 = g.unsqueeze(-2)
            ga = (g2 @ b.mT).squeeze(-2) if need_a else None
            gb = a.unsqueeze(-1) * g2 if need_b else None
            return ga, gb
        if b.ndim == 1:  # b acts as a (k, 1) column
            g2 = g.unsqueeze(-1)
            ga = g2 * b if need_a else None
            gb = (a.mT @ g2).squeeze(-1) if need_b else None
            return ga, gb
        return (g @ b.mT if need_a else None), (a.mT @ g if need_b else None)
