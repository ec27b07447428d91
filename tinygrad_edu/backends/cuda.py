"""tinygrad_edu.backends.cuda: as torch.backends.cuda, the one setting tutorials touch.

    tg.backends.cuda.matmul.allow_tf32 = True

is accepted and read back (PyTorch's default: False); the library's matrix products on the
GPU are CuPy's, which do not read it.
"""

from .. import backend

__all__ = ["matmul", "is_built"]


class _MatmulSettings:
    """`torch.backends.cuda.matmul`: settings of the GPU's matrix products."""

    def __init__(self) -> None:
        self.allow_tf32: bool = False
        self.allow_fp16_reduced_precision_reduction: bool = True
        self.allow_bf16_reduced_precision_reduction: bool = True

    def __repr__(self) -> str:
        return (f"matmul(allow_tf32={self.allow_tf32}, allow_fp16_reduced_precision_reduction="
                f"{self.allow_fp16_reduced_precision_reduction}, "
                f"allow_bf16_reduced_precision_reduction="
                f"{self.allow_bf16_reduced_precision_reduction})")


matmul = _MatmulSettings()


def is_built() -> bool:
    """Whether CUDA can be used at all: True when CuPy and a GPU are usable."""
    return backend.cuda.is_available()
