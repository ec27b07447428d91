"""Process-wide settings that speed up training, and the environment variables fast reads.

Nothing here runs at import. `prepare_the_process` runs once, at the first backward while
fast is on (the engine calls it through `autograd.before_first_backward`); with fast off it
never runs. Each setting can be switched off with an environment variable, read once, when
tinygrad_edu is imported:

    TINYGRAD_EDU_KEEP_MEMORY=0    leave glibc's malloc as it is
    TINYGRAD_EDU_FREEZE_GC=0      leave Python's garbage collector as it is
    TINYGRAD_EDU_CUDA_KERNELS=0   run the GPU's fused kernels as separate array operations
"""

from __future__ import annotations

import gc
import os
import sys
from typing import Any

import numpy as np

from .. import autograd, backend

KEEP_MEMORY = os.environ.get("TINYGRAD_EDU_KEEP_MEMORY", "1") != "0"
FREEZE_GC = os.environ.get("TINYGRAD_EDU_FREEZE_GC", "1") != "0"
CUDA_KERNELS = os.environ.get("TINYGRAD_EDU_CUDA_KERNELS", "1") != "0"

memory_kept = False  # whether keep_freed_memory changed malloc
gc_frozen = False  # whether freeze_long_lived_objects froze the collector


def keep_freed_memory() -> bool:
    """Ask glibc's malloc to keep the memory of freed large arrays instead of handing it back
    to the OS at once. A training step frees and re-allocates the same large arrays every
    time; without this each new array page-faults its memory in again (about a fifth of a
    CNN step on a 2-core CPU). Linux with glibc only; a no-op elsewhere or with
    TINYGRAD_EDU_KEEP_MEMORY=0. Returns whether it was applied."""
    global memory_kept
    if not KEEP_MEMORY or not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3  # from glibc's malloc.h
        memory_kept = bool(libc.mallopt(m_mmap_threshold, 32 << 20)  # 32 MB: glibc's maximum
                           and libc.mallopt(m_trim_threshold, 1 << 30))
    except (OSError, AttributeError):  # not glibc (e.g. musl)
        return False
    return memory_kept


def freeze_long_lived_objects() -> bool:
    """Move every object alive now into the garbage collector's permanent generation
    (`gc.freeze()`), at the first backward, when the imported modules (NumPy, CuPy, PyTorch
    if loaded), the model and the data all exist. A training step makes thousands of
    short-lived graph objects, which set off the collector's full passes, and each full pass
    walks every long-lived object too: hundreds of thousands with CuPy or PyTorch loaded, a
    fifth of a small-op step. Objects made later are collected as usual; a reference cycle
    already garbage at that moment is never freed. A no-op with TINYGRAD_EDU_FREEZE_GC=0.
    Returns whether it froze."""
    global gc_frozen
    if not FREEZE_GC:
        return False
    gc.freeze()
    gc_frozen = True
    return True


def prepare_the_process() -> None:
    """The process-wide settings, applied once: at the first backward while fast is on."""
    keep_freed_memory()
    freeze_long_lived_objects()


def use_kernels(array: Any, *same_type: Any, dtype: Any = None) -> bool:
    """Whether to compute on `array` with a fused kernel: a CuPy array, kernels enabled, the
    kernel's float type (`dtype`, else the array's) float32 or float64, and the `same_type`
    arrays (which the kernel takes as that same type T) all of that dtype, as CuPy demands."""
    if type(array) is np.ndarray or not CUDA_KERNELS:
        return False
    dtype = array.dtype if dtype is None else dtype
    return (dtype in (backend.float32, backend.float64)
            and backend.get_array_module(array) is not np
            and all(other.dtype == dtype for other in same_type))


autograd.before_first_backward = prepare_the_process
