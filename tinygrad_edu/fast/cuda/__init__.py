"""Overrides that exist only for the GPU: fused CuPy kernels, and GPU-only variants of ops."""
from . import (
    conv,  # noqa: F401,E402 - ops/conv.py's GPU-only variants
    nn,  # noqa: F401,E402 - nn.functional's overrides
    ops,  # noqa: F401,E402 - ops/'s kernels
    optim,  # noqa: F401,E402 - the optimizers' kernels
)
