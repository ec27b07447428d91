"""fast/runtime.py: process-wide settings happen at the first backward with fast on, never at
import and never with fast off; the environment variables are read once."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import autograd
from tinygrad_edu.backend import Device
from tinygrad_edu.fast import runtime

GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"

# Reports, as JSON, the process-wide state after import, after a backward, and (with
# `enable`) after tg.fast.enable() and another backward.
PROBE = """
import gc, json, sys
import tinygrad_edu as tg
from tinygrad_edu import autograd
from tinygrad_edu.fast import runtime

def state():
    return {"frozen": gc.get_freeze_count(), "memory_kept": runtime.memory_kept,
            "pending": autograd.before_first_backward is not None}

seen = {"import": state()}
x = tg.ones(3, requires_grad=True)
(x * 2).sum().backward()
seen["backward"] = state()
if "enable" in sys.argv:
    tg.fast.enable()
    (x * 2).sum().backward()
    seen["enabled"] = state()
print(json.dumps(seen))
"""


def probe(*args: str, **env: str) -> dict:
    """Run PROBE in a fresh interpreter with `env` added to the environment."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TINYGRAD_EDU_")}
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True,
                          env={**environment, **env}, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_import_changes_nothing_process_wide() -> None:
    seen = probe(TINYGRAD_EDU_FAST="0")
    assert seen["import"] == {"frozen": 0, "memory_kept": False, "pending": True}


def test_with_fast_off_a_backward_changes_nothing_process_wide() -> None:
    seen = probe(TINYGRAD_EDU_FAST="0")
    assert seen["backward"] == {"frozen": 0, "memory_kept": False, "pending": True}


def test_with_fast_on_the_first_backward_applies_the_settings_once() -> None:
    seen = probe()
    assert seen["import"] == {"frozen": 0, "memory_kept": False, "pending": True}
    assert seen["backward"]["frozen"] > 0
    assert seen["backward"]["memory_kept"] is GLIBC
    assert seen["backward"]["pending"] is False


def test_enabling_fast_later_applies_the_settings_at_the_next_backward() -> None:
    seen = probe("enable", TINYGRAD_EDU_FAST="0")
    assert seen["backward"]["frozen"] == 0
    assert seen["enabled"]["frozen"] > 0 and seen["enabled"]["pending"] is False


def test_the_settings_can_be_switched_off() -> None:
    seen = probe(TINYGRAD_EDU_FREEZE_GC="0", TINYGRAD_EDU_KEEP_MEMORY="0")
    assert seen["backward"] == {"frozen": 0, "memory_kept": False, "pending": False}


def test_the_environment_is_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    before = (runtime.KEEP_MEMORY, runtime.FREEZE_GC, runtime.CUDA_KERNELS)
    for name in ("TINYGRAD_EDU_KEEP_MEMORY", "TINYGRAD_EDU_FREEZE_GC",
                 "TINYGRAD_EDU_CUDA_KERNELS"):
        monkeypatch.setenv(name, "1" if os.environ.get(name) == "0" else "0")
    assert (runtime.KEEP_MEMORY, runtime.FREEZE_GC, runtime.CUDA_KERNELS) == before
    monkeypatch.setattr(runtime, "FREEZE_GC", False)
    assert runtime.freeze_long_lived_objects() is False
    monkeypatch.setattr(runtime, "KEEP_MEMORY", False)
    assert runtime.keep_freed_memory() is False


def test_the_engine_calls_the_preparation_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    monkeypatch.setattr(autograd, "before_first_backward", lambda: calls.append(1))
    x = tg.ones(2, requires_grad=True)
    with tg.fast.off():
        (x * 2).sum().backward()
    assert calls == []
    with tg.fast.on():
        (x * 2).sum().backward()
        (x * 3).sum().backward()
    assert calls == [1] and autograd.before_first_backward is None


def test_use_kernels_answers_for_cupy_float_arrays_of_one_dtype(device: str,
                                                               monkeypatch: pytest.MonkeyPatch
                                                               ) -> None:
    xp = Device(device).xp
    on_gpu = device != "cpu"
    f32, f64 = xp.ones(3, dtype=np.float32), xp.ones(3, dtype=np.float64)
    monkeypatch.setattr(runtime, "CUDA_KERNELS", True)
    assert runtime.use_kernels(f32) is on_gpu
    assert runtime.use_kernels(f64, f64) is on_gpu
    assert runtime.use_kernels(f32, f64) is False
    assert runtime.use_kernels(xp.ones(3, dtype=np.int64)) is False
    assert runtime.use_kernels(xp.ones(3, dtype=np.int64), dtype=tg.float32) is on_gpu
    monkeypatch.setattr(runtime, "CUDA_KERNELS", False)
    assert runtime.use_kernels(f32) is False
