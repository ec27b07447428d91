"""Overrides that speed up the CPU (and any device: they work on `xp` arrays)."""
from .. import runtime  # noqa: F401 - process-wide settings, applied at the first backward
from . import (
    nn,  # noqa: F401,E402 - nn.functional's overrides
    ops,  # noqa: F401,E402 - ops/'s overrides
    optim,  # noqa: F401,E402 - the optimizers' steps
)
