"""The libraries the compat tests run the same snippet on: tinygrad_edu, and PyTorch where it
is installed (the optional reference; never a dependency)."""

from __future__ import annotations

import pytest

import tinygrad_edu as tg

try:
    import torch
    import torch.utils.data  # noqa: F401 - torch.utils.data as an attribute
except ImportError:
    torch = None

LIBRARIES = [tg] + ([torch] if torch is not None else [])
each_library = pytest.mark.parametrize("lib", LIBRARIES, ids=lambda m: m.__name__)
