"""tinygrad_edu.backends: as torch.backends (flags the tutorials read or set).

    import tinygrad_edu as torch
    device = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() \
        else "cpu"
    torch.backends.cudnn.benchmark = True   # accepted, read back; changes nothing here

`mps` (Apple GPUs) is never available: the library runs on NumPy (CPU) and CuPy (NVIDIA GPU).
`cudnn` and `cuda.matmul` hold PyTorch's settings with PyTorch's defaults so that course code
which sets them runs; the library's own kernels do not read them.
"""

from . import cuda, cudnn, mps

__all__ = ["cuda", "cudnn", "mps"]
