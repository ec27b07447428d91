"""tinygrad_edu.backends.cudnn: as torch.backends.cudnn.

The flags are plain module attributes with PyTorch's defaults; set and read them as in
PyTorch (`tg.backends.cudnn.benchmark = True`). tinygrad_edu's convolutions are its own
(im2col and a matrix product, see ops/conv.py), not cuDNN's, so the flags change nothing:
results are already deterministic and there is no algorithm search to benchmark.
"""

from .. import backend

__all__ = ["enabled", "benchmark", "deterministic", "allow_tf32", "is_available", "version"]

enabled: bool = True
"""Whether cuDNN may be used (PyTorch's default: True)."""

benchmark: bool = False
"""Whether to time several convolution algorithms and keep the fastest (default: False)."""

deterministic: bool = False
"""Whether to use only deterministic convolution algorithms (default: False)."""

allow_tf32: bool = True
"""Whether convolutions may use TensorFloat-32 on Ampere and newer GPUs (default: True)."""


def is_available() -> bool:
    """True when a CUDA device is usable (CuPy and a GPU), as `tg.cuda.is_available()`."""
    return backend.cuda.is_available()


def version() -> int | None:
    """The cuDNN version in use: None, since tinygrad_edu does not call cuDNN (PyTorch also
    returns None where cuDNN is unavailable)."""
    return None
