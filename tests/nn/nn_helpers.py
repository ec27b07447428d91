"""Helpers the nn tests share: NumPy views of tensors, float64 tensors on a device, and the
comparison with PyTorch's tensors (the optional reference)."""

from __future__ import annotations

import numpy as np

import tinygrad_edu as tg


def arr(x: tg.Tensor) -> np.ndarray:
    """The values of `x` as a NumPy array (copied from the GPU where it lives there)."""
    return tg.backend.to_numpy(x.detach().array)


def t(array, device, requires_grad=False, dtype=tg.float64) -> tg.Tensor:
    """A tensor on `device` from a NumPy array, float64 unless told."""
    return tg.tensor(array, device=device, requires_grad=requires_grad, dtype=dtype)


def close(ours: tg.Tensor, theirs, rtol: float = 1e-10, atol: float = 1e-12) -> None:
    """ours (a tinygrad_edu tensor) equals theirs (a torch tensor) in shape and values."""
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(arr(ours), theirs.detach().numpy(), rtol=rtol, atol=atol)
