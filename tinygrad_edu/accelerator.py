"""tinygrad_edu.accelerator: as torch.accelerator, the device-agnostic questions the current
PyTorch tutorials ask:

    device = tg.accelerator.current_accelerator().type if tg.accelerator.is_available() \
        else "cpu"

The only accelerator tinygrad_edu knows is an NVIDIA GPU through CuPy ("cuda"). PyTorch's
`current_accelerator()` reports the accelerator the binary was *built* for; tinygrad_edu has
no build step, so it reports "cuda" only when CuPy and a GPU are usable (and None otherwise).
"""

from __future__ import annotations

from . import backend
from .backend import Device

__all__ = ["is_available", "current_accelerator", "device_count", "synchronize"]


def is_available() -> bool:
    """Whether an accelerator (a CUDA GPU through CuPy) is usable now."""
    return backend.cuda.is_available()


def current_accelerator(check_available: bool = False) -> Device | None:
    """The accelerator as a device (`device(type='cuda', index=0)`), or None when there is
    none. `check_available` is PyTorch's argument; here the answer is always checked."""
    return Device("cuda") if is_available() else None


def device_count() -> int:
    """The number of accelerator devices (GPUs) usable; 0 without one."""
    return backend.cuda.device_count()


def synchronize(device: Device | str | int | None = None, /) -> None:
    """Wait until all the work queued on `device` (default: the first GPU) is done.
    Without a GPU it raises RuntimeError, as PyTorch does."""
    if not is_available():
        raise RuntimeError("Cannot access accelerator device when none is available.")
    backend.cuda.synchronize(device)
