"""Every example runs with --quick (a smoke test: the scripts a learner runs must not rot);
the data-parallel one also on 2 processes, through tinygrad-edu-run."""

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted(p.name for p in (ROOT / "examples").glob("[0-9][0-9]_*.py"))
PICTURES = {
    "02_seven_steps.py": ["seven_steps_confusion.png"],
    "04_geometric.py": ["geometric_boundary.png", "geometric_layers.png"],
    "05_tabular_medical.py": ["medical_roc.png"],
    "06_inside.py": ["inside_feature_maps.png", "inside_filters.png", "inside_trace.json"],
    "07_chest_xray.py": ["xray_roc.png", "xray_confusion.png", "xray_errors.png",
                         "xray_saliency.png"],
    "08_char_rnn.py": ["char_rnn_loss.png"],
    "09_tiny_gpt.py": ["tiny_gpt_loss.png", "tiny_gpt.pt"],
    "10_data_parallel.py": ["data_parallel.pt"],
}
HAVE_MPI = shutil.which("mpirun") is not None and importlib.util.find_spec("mpi4py") is not None
NEEDS_MPI = {"10_data_parallel.py"}  # (one process is enough for mpi4py alone, but CI has both)
# Open MPI refuses root without these; yield: waiting ranks give up the core (2 ranks, 2 cores)
MPI_ENV = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
           "OMPI_MCA_mpi_yield_when_idle": "1"}


def test_all_examples_are_listed():
    assert EXAMPLES == ["01_tensors.py", "02_seven_steps.py", "03_cnn.py", "04_geometric.py",
                        "05_tabular_medical.py", "06_inside.py", "07_chest_xray.py",
                        "08_char_rnn.py", "09_tiny_gpt.py", "10_data_parallel.py"]


def python_for(device: str) -> list[str]:
    """The interpreter command; where CuPy is the emulator (TINYGRAD_EDU_EMULATE_CUDA=1, or a
    run under `python tests/cupy_emulator.py`) the cuda runs go through it in the child
    process too."""
    emulated = os.environ.get("TINYGRAD_EDU_EMULATE_CUDA") == "1" or getattr(
        sys.modules.get("cupy"), "emulated", False)
    if device != "cpu" and emulated:
        return [sys.executable, str(ROOT / "tests" / "cupy_emulator.py")]
    return [sys.executable]


# examples on data the project may not contain: read from ../shared/data, skipped without it
MEDMNIST = ROOT.parent / "shared" / "data" / "medmnist"
SHAKESPEARE = ROOT.parent / "shared" / "data" / "tinyshakespeare"
DATA = {"07_chest_xray.py": (MEDMNIST / "pneumoniamnist.npz", ["--root", str(MEDMNIST)])}
# the text examples run --quick on a slice of Tiny Shakespeare where it is there (else on a
# made-up play, so that they are still tested)
TEXT = ["--data", str(SHAKESPEARE)] if (SHAKESPEARE / "input.txt").is_file() else []


@pytest.mark.parametrize("script", EXAMPLES)
def test_example_runs_quick(script, device, tmp_path):
    env = dict(os.environ, MPLBACKEND="Agg")
    needed, extra = DATA.get(script, (None, TEXT if script in ("08_char_rnn.py",
                                                                 "09_tiny_gpt.py") else []))
    if needed is not None and not needed.is_file():
        pytest.skip(f"{script} needs {needed}")
    if script in NEEDS_MPI and not HAVE_MPI:
        pytest.skip(f"{script} needs Open MPI's mpirun and mpi4py")
    env.update(MPI_ENV)
    result = subprocess.run([*python_for(device), str(ROOT / "examples" / script), "--quick",
                             "--device", device, "--out", str(tmp_path), *extra],
                            capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert result.stdout.strip()
    for name in PICTURES.get(script, []):
        assert (tmp_path / name).stat().st_size > 0, name


@pytest.mark.skipif(not HAVE_MPI, reason="needs Open MPI's mpirun and mpi4py")
def test_data_parallel_example_on_two_processes(tmp_path):
    env = dict(os.environ, MPLBACKEND="Agg", **MPI_ENV)
    result = subprocess.run([sys.executable, "-m", "tinygrad_edu.distributed.run", "--nproc",
                             "2", str(ROOT / "examples" / "10_data_parallel.py"), "--quick",
                             "--out", str(tmp_path)], capture_output=True, text=True,
                            timeout=300, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    out = result.stdout
    assert out.count("epoch  1:") == 1 and "over 320 samples" in out  # rank 0 prints, once
    assert "2 processes" in out and "rank 0's share: 160 samples" in out
    assert "the same weights on every process: True" in out
    assert (tmp_path / "data_parallel.pt").stat().st_size > 0
