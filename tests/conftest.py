"""Shared test configuration: the `device` fixture and the Hypothesis profiles.

* `device`: every test that takes it runs once per device. "cpu" always runs; "cuda" is
  skipped (not failed) where CuPy or a GPU is missing, so the same suite runs on a laptop
  and on a GPU machine.
* Hypothesis profiles, chosen with the environment variable HYPOTHESIS_PROFILE:
  "ci" (the default: few examples, derandomized so every run is reproducible),
  "dev" (more examples, random) and "thorough" (many examples, for a long local run).
* TINYGRAD_EDU_EMULATE_CUDA=1 runs the "cuda" cases on tests/cupy_emulator.py, a CuPy stand-in
  on NumPy that enforces CuPy's rules (no implicit NumPy conversion, CuPy's names only,
  counted device-to-host transfers), for machines without a GPU. It proves nothing about speed.
"""

from __future__ import annotations

import contextlib
import os
from typing import Callable, ContextManager

import pytest
from hypothesis import HealthCheck, settings

import tinygrad_edu as tg

EMULATED_CUDA = os.environ.get("TINYGRAD_EDU_EMULATE_CUDA") == "1"
if EMULATED_CUDA:
    import cupy_emulator

    cupy_emulator.install()

_COMMON = {
    "deadline": None,  # gradchecks vary in cost; timing belongs in benchmarks/
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
    "print_blob": True,
}
settings.register_profile("ci", max_examples=25, derandomize=True, **_COMMON)
settings.register_profile("dev", max_examples=200, **_COMMON)
settings.register_profile("thorough", max_examples=2000, **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

CUDA_AVAILABLE = tg.cuda.is_available()
_NO_CUDA = "CUDA is not available here: " + ("" if CUDA_AVAILABLE else tg.cuda.unavailable_reason())



def pytest_report_header(config: pytest.Config) -> str:
    if EMULATED_CUDA:
        return "cuda: EMULATED (tests/cupy_emulator.py on NumPy, no GPU)"
    return "cuda: " + ("available" if CUDA_AVAILABLE else _NO_CUDA)


DEVICES = [
    pytest.param("cpu", id="cpu"),
    pytest.param("cuda", id="cuda", marks=pytest.mark.skipif(not CUDA_AVAILABLE, reason=_NO_CUDA)),
]
if tg.cuda.device_count() >= 2:  # a second GPU (the emulator has two): every case there too
    DEVICES.append(pytest.param("cuda:1", id="cuda:1"))


@pytest.fixture(params=DEVICES, scope="session")
def device(request: pytest.FixtureRequest) -> str:
    """The device to run on: "cpu", and "cuda" where a GPU is usable.

    Session-scoped (it holds only a string) so that Hypothesis' @given tests may use it."""
    return request.param


@pytest.fixture
def no_host_sync(device: str) -> Callable[[], ContextManager[None]]:
    """`with no_host_sync():` fails the test if the code inside reads values back from the GPU
    (a device-to-host synchronisation), using CuPy's `cupyx.allow_synchronize(False)`, real or
    emulated. On the CPU there is nothing to check and the code simply runs."""
    if device == "cpu":
        return contextlib.nullcontext
    import cupyx  # noqa: PLC0415 - only where CuPy (or its emulator) is present

    return lambda: cupyx.allow_synchronize(False)
