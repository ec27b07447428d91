"""The benchmark runs in --quick mode (no timing assertions), and a training step of the
W1 and W2 workloads keeps every array float32; the data-parallel benchmark runs --quick."""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinygrad_edu as tg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import cupy_emulator  # noqa: E402 - (only its names; installed by launches.py's own process)
import run as bench  # noqa: E402


def test_quick_benchmark_writes_json(tmp_path):
    out = tmp_path / "bench.json"
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick",
                             "--no-torch", "--json", str(out)], capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(out.read_text())
    assert set(report["results"]) == {"W1 mlp", "W2 cnn", "W3 overhead", "W4 wide", "W5 gpt"}
    assert all(r["tinygrad_edu"] > 0 for r in report["results"].values())
    assert "| W1 mlp" in result.stdout
    assert len(report["digits peak MB per epoch"]) == 2


def _dtypes_of_a_step(make) -> set:
    seen = set()

    def observe(name, phase, start, end, data):
        if data is not None and data.dtype.kind == "f":
            seen.add((name, phase, str(data.dtype)))

    step = make(tg, "cpu", batch=8)
    step()  # the optimizer state exists from the first step on
    tg.autograd._state.observers.append(observe)
    try:
        step()
    finally:
        tg.autograd._state.observers.remove(observe)
    return seen


def test_w1_and_w2_training_steps_stay_float32():
    for make in (bench.mlp, bench.cnn):
        seen = _dtypes_of_a_step(make)
        assert seen, "no op was observed"
        assert {d for _, _, d in seen} == {"float32"}, sorted(seen)


def test_parameters_gradients_and_optimizer_state_stay_float32():
    tg.manual_seed(0)
    nn = tg.nn
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(4 * 14 * 14, 10))
    opt = tg.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = tg.randn(8, 1, 28, 28)
    y = tg.tensor(np.arange(8) % 10)
    for _ in range(2):
        opt.zero_grad()
        nn.CrossEntropyLoss()(model(x), y).backward()
        opt.step()
    for p in model.parameters():
        assert p.dtype == tg.float32 and p.grad.dtype == tg.float32
        for value in opt.state[p].values():
            if isinstance(value, tg.Tensor) and value.is_floating_point():
                assert value.dtype == tg.float32


def test_fused_kernels_cut_the_device_launches_of_every_workload(tmp_path):
    """benchmarks/launches.py counts device launches per step on the emulated CuPy; the GPU's
    fused kernels must need fewer than the same step's array code, for every workload."""
    counts = {}
    for kernels in ("1", "0"):
        out = tmp_path / f"launches{kernels}.json"
        env = {**os.environ, "TINYGRAD_EDU_CUDA_KERNELS": kernels, "TINYGRAD_EDU_FAST": "1"}
        result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "launches.py"),
                                 "--json", str(out)], capture_output=True, text=True,
                                timeout=600, env=env)
        assert result.returncode == 0, result.stderr[-3000:]
        assert "| W1 mlp |" in result.stdout
        steps = json.loads(out.read_text())
        counts[kernels] = {name: c["launches"] for name, c in steps.items()}
        # a number in a step (x * 1.001, the loss's mean) is not copied from the host each time
        assert all(cupy_emulator.HOST_TO_DEVICE not in c["by name"] for c in steps.values()), \
            steps
    assert set(counts["1"]) == {"W1 mlp", "W2 cnn", "W3 overhead", "W4 wide", "W5 gpt",
                                "BN cnn adam"}
    for name, fused in counts["1"].items():
        assert 0 < fused < counts["0"][name], (name, fused, counts["0"][name])


def test_quick_distributed_benchmark_writes_json(tmp_path):
    """benchmarks/distributed.py on 1 and 2 processes (no timing assertions)."""
    if shutil.which("mpirun") is None or importlib.util.find_spec("mpi4py") is None:
        pytest.skip("needs Open MPI's mpirun and mpi4py")
    out = tmp_path / "distributed.json"
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_mpi_yield_when_idle="1")
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "distributed.py"),
                             "--quick", "--json", str(out)], capture_output=True, text=True,
                            timeout=600, env=env)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    report = json.loads(out.read_text())
    runs = report["runs"]  # "PROCESSES x THREADS": one core, 1 process, 2 processes
    assert report["cpu"] and "1x1" in runs and {k.split("x")[0] for k in runs} == {"1", "2"}
    for key, run in runs.items():
        assert set(run) == {"W1 mlp", "W4 wide"}
        for r in run.values():
            assert f"{r['processes']}x{r['threads per process']}" == key
            assert r["samples/s"] > 0 and r["step s"] > 0
            assert r["step without communication s"] > 0 and r["bare all_reduce s"] > 0
    assert "| W4 wide  | 2" in result.stdout
