"""Overrides that exist only for the GPU: fused CuPy kernels."""
from . import (
    nn,  # noqa: F401,E402 - nn.functional's overrides
    ops,  # noqa: F401,E402 - ops/'s kernels
    optim,  # noqa: F401,E402 - the optimizers' kernels
)
