"""Helpers around parameters and their gradients, as `torch.nn.utils`:
gradient clipping, flattening parameters into one vector, counting parameters."""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from ... import backend
from ...autograd import no_grad
from ...tensor import Tensor, cat, stack, zeros
from ..module import Module

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector",
           "vector_to_parameters", "count_parameters"]


def _as_list(parameters: Tensor | Iterable[Tensor], fn: str) -> list[Tensor]:
    if isinstance(parameters, Tensor):
        return [parameters]
    if isinstance(parameters, Module):
        raise TypeError(f"{fn}: expected tensors, got a Module; pass model.parameters()")
    params = list(parameters)
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"{fn}: expected an iterable of Tensors, element {i} is a "
                            f"{type(p).__name__}")
    return params


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float,
                    norm_type: float = 2.0, error_if_nonfinite: bool = False,
                    foreach: bool | None = None) -> Tensor:
    """Rescale the gradients so that their total norm is at most `max_norm`.

    The total norm is the `norm_type`-norm of all gradients taken together as one vector
    (`inf` for the largest absolute value). Every gradient is multiplied in place by
    min(1, max_norm / (total_norm + 1e-6)), so nothing changes below the limit. Returns the
    total norm measured *before* clipping (a 0-d Tensor on the gradients' device), handy for
    logging. As in PyTorch, nothing is read back from the GPU (the factor is computed there)
    unless `error_if_nonfinite`, whose check must read the norm. `foreach` is ignored.
    """
    params = _as_list(parameters, "clip_grad_norm_")
    grads = [p.grad for p in params if p.grad is not None]
    norm_type = float(norm_type)
    if not grads:
        return Tensor._make(np.zeros((), dtype=backend.default_float_dtype))
    device = grads[0].device
    dtype = np.result_type(*[g.dtype for g in grads])
    with no_grad():
        # the norm of each gradient, then the norm of those norms (= the norm of everything)
        norms = [_vector_norm(g, norm_type, dtype).to(device) for g in grads]
        total = stack(norms).norm(norm_type)
        if error_if_nonfinite and not bool(total.isfinite()):
            raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the "
                               f"gradients is non-finite ({float(total)}), so it cannot be "
                               f"clipped; pass error_if_nonfinite=False to clip anyway")
        coef = (float(max_norm) / (total + 1e-6)).minimum(1.0)  # nan when the norm is nan
        for g in grads:
            g.mul_(coef.to(device=g.device, dtype=g.dtype))
    return total


def _vector_norm(g: Tensor, norm_type: float, dtype: Any) -> Tensor:
    """The norm_type-norm of all of `g`'s elements, in `dtype` (0 for no elements)."""
    flat = g.reshape(-1).to(dtype)
    return flat.norm(norm_type) if flat.numel() else zeros((), dtype=dtype, device=g.device)


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float,
                     foreach: bool | None = None) -> None:
    """Clamp every gradient element into [-clip_value, clip_value], in place."""
    params = _as_list(parameters, "clip_grad_value_")
    clip_value = float(clip_value)
    if clip_value < 0:
        raise ValueError(f"clip_grad_value_: clip_value must be non-negative, got {clip_value}")
    with no_grad():
        for p in params:
            if p.grad is not None:
                p.grad.clamp_(-clip_value, clip_value)


def _check_same_device(params: list[Tensor], fn: str) -> None:
    devices = {str(p.device) for p in params}
    if len(devices) > 1:
        raise TypeError(f"{fn}: found parameters on different devices: "
                        f"{', '.join(sorted(devices))}")


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """All parameters flattened and joined into one 1-D tensor (differentiable)."""
    params = _as_list(parameters, "parameters_to_vector")
    if not params:
        raise ValueError("parameters_to_vector: got no parameters")
    _check_same_device(params, "parameters_to_vector")
    return cat([p.reshape(-1) for p in params])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copy consecutive slices of the 1-D `vec` into the parameters (the inverse of
    `parameters_to_vector`), in place."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"vector_to_parameters: expected vec to be a Tensor, got "
                        f"{type(vec).__name__}")
    if vec.ndim != 1:
        raise ValueError(f"vector_to_parameters: expected a 1-D vector, got shape "
                         f"{tuple(vec.shape)}")
    params = _as_list(parameters, "vector_to_parameters")
    _check_same_device(params, "vector_to_parameters")
    total = sum(p.numel() for p in params)
    if vec.shape[0] != total:
        raise ValueError(f"vector_to_parameters: the vector has {vec.shape[0]} elements but "
                         f"the parameters have {total}")
    offset = 0
    with no_grad():
        for p in params:
            n = p.numel()
            p.copy_(vec[offset:offset + n].reshape(p.shape))
            offset += n


def count_parameters(model: Module | Iterable[Tensor], trainable_only: bool = False) -> int:
    """The number of scalars in the parameters of `model` (a Module, or an iterable of
    tensors); with `trainable_only`, only parameters that require grad. Shared parameters are
    counted once. The course MLP Linear(3072, 16) -> Linear(16, 10) has 49,338."""
    if isinstance(model, Module):
        return model.num_parameters(trainable_only=trainable_only)
    seen: set[int] = set()
    count = 0
    for p in _as_list(model, "count_parameters"):
        if id(p) not in seen and (p.requires_grad or not trainable_only):
            seen.add(id(p))
            count += p.numel()
    return count


# --- issue 16: nn part A ---
# `nn.utils.parametrizations` (weight_norm): nn/utils/parametrizations.py, as PyTorch's
# `torch.nn.utils.parametrizations`.
from . import parametrizations  # noqa: E402

__all__ += ["parametrizations"]

# --- issue 18: recurrent layers ---
# `nn.utils.rnn`: pad_sequence, PackedSequence, pack_padded_sequence, pad_packed_sequence, ...
from . import rnn  # noqa: E402

__all__ += ["rnn"]
