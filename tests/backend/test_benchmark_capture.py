"""Every benchmark workload captures in a CUDA graph (benchmarks/run.py --capture): a replayed
step changes the model exactly as the eager step does. Run on the emulated CuPy in CI, where
a host read or upload inside a workload's step would break the capture; W4 is W1's code with
wider layers (left out: its matrices are slow on the emulator)."""

from __future__ import annotations

import gc
import sys
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

import tinygrad_edu as tg

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import run as bench  # noqa: E402

SMALL: dict[str, Callable[..., Any]] = {
    "W1 mlp": lambda lib, device, **kw: bench.mlp(lib, device, batch=8),
    "W2 cnn": lambda lib, device, **kw: bench.cnn(lib, device, batch=4),
    "W3 overhead": lambda lib, device, **kw: bench.overhead(lib, device, length=10),
    "W5 gpt": lambda lib, device, **kw: bench.gpt(lib, device, batch=2, block=8, n_embd=16,
                                                  n_head=2, n_layer=1, **kw),
}


@pytest.mark.filterwarnings("ignore:This instance was constructed with capturable=True")
@pytest.mark.parametrize("name", list(SMALL))
def test_a_replayed_workload_step_equals_the_eager_step(device: str, name: str) -> None:
    if device == "cpu":
        pytest.skip("CUDA graphs capture GPU work")
    kwargs = bench.WORKLOADS[name].get("capture_kwargs", {})
    eager = SMALL[name](tg, device, **kwargs)
    graphed = SMALL[name](tg, device, **kwargs)
    replay = bench.captured(tg, graphed, warmup=3)  # 3 eager steps, then a capture
    for _ in range(3 + 4):
        eager()
    for _ in range(4):
        replay()
    watched = [t.detach().cpu().numpy() for t in graphed.watched()]
    expected = [t.detach().cpu().numpy() for t in eager.watched()]
    assert len(watched) == len(expected) > 0
    for got, want in zip(watched, expected):
        np.testing.assert_array_equal(got, want)


def test_a_replay_keeps_the_step_s_model_and_batch_alive(device: str) -> None:
    """run.py keeps only the replay: the graph reads the model, the optimizer's state and the
    batch made before the capture, which the step alone held (the emulator raises on a replay
    that reads a freed buffer; a GPU would read whatever is there now)."""
    if device == "cpu":
        pytest.skip("CUDA graphs capture GPU work")
    replay = bench.captured(tg, SMALL["W1 mlp"](tg, device), warmup=3)
    gc.collect()
    replay()  # (raised "... uses a buffer (float32[8, 784]) freed since the capture")
    before = [t.detach().cpu().numpy() for t in replay.watched()]
    replay()
    after = [t.detach().cpu().numpy() for t in replay.watched()]
    assert any(not np.array_equal(a, b) for a, b in zip(after, before))  # it stepped


def test_capture_needs_the_gpu() -> None:
    with pytest.raises(SystemExit):
        bench.main(["--capture", "--quick", "--no-torch"])
