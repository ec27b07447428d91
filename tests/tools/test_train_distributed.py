"""The training command with --distributed: under `mpirun -n 2` (only rank 0 prints and writes,
every rank has the same numbers, the checkpoint resumes in one process and the other way
round, problems end every process), without a launcher (one process) and without mpi4py."""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import tinygrad_edu as tg
from tinygrad_edu import train

pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")

ROOT = Path(__file__).resolve().parents[2]
PROG = "python -m tinygrad_edu.train"
HAVE_MPI = shutil.which("mpirun") is not None and importlib.util.find_spec("mpi4py") is not None
needs_mpi = pytest.mark.skipif(not HAVE_MPI, reason="needs Open MPI's mpirun and mpi4py")
# Open MPI refuses root without these; yield: waiting ranks give up the core (2 ranks, 2 cores)
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_mpi_yield_when_idle="1", MPLBACKEND="Agg", OMP_NUM_THREADS="1",
           OPENBLAS_NUM_THREADS="1")
# every rank of DRIVER trains as the command does and writes the history it computed
DRIVER = """
import json, sys
from tinygrad_edu import train
args = train.parse_args(sys.argv[2:])
world = train._World.start(args.device)
history = train.train(args, world)["history"]
with open(f"{sys.argv[1]}/history-{world.rank}.json", "w") as f:
    json.dump(history, f)
world.stop()
"""


def mpirun(*command: str, n: int = 2) -> subprocess.CompletedProcess:
    return subprocess.run(["mpirun", "--oversubscribe", "-n", str(n), sys.executable, *command],
                          capture_output=True, text=True, timeout=300, env=ENV, cwd=ROOT)


def epochs_of(out: Path) -> list[dict]:
    return json.loads((out / "metrics.json").read_text())["epochs"]


@needs_mpi
def test_two_processes_train_and_resume_both_ways(tmp_path):
    out = tmp_path / "run"
    done = mpirun("-m", "tinygrad_edu.train", "--distributed", "--quick", "--epochs", "1",
                  "--quiet", "--out", str(out))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    lines = done.stdout.splitlines()  # rank 0 alone prints: one header, one line per epoch
    assert sum("2 processes with batches of 32 each" in line for line in lines) == 1, lines
    assert sum(line.startswith("epoch 1:") for line in lines) == 1, lines
    for name in ("metrics.json", "curves.png", "confusion.png", "misclassified.png"):
        assert (out / name).stat().st_size > 0, name
    ckpt = tg.load(out / "model.ckpt")
    model = train.build_model("mlp", (1, 8, 8), 10)
    assert list(ckpt["model"]) == list(model.state_dict())  # no "module." prefix
    assert ckpt["epoch"] == 1
    before = epochs_of(out)[0]
    assert before["train_loss"] > 0 and 0 <= before["test_accuracy"] <= 1

    # a distributed run's checkpoint resumes in one process ...
    assert train.main(["--quiet", "--quick", "--epochs", "2", "--out", str(out),
                       "--resume", str(out / "model.ckpt")]) == 0
    assert [e["epoch"] for e in epochs_of(out)] == [1, 2]
    assert epochs_of(out)[0] == before

    # ... and one process's checkpoint resumes on two, where every rank has the same numbers
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    done = mpirun(str(driver), str(tmp_path), "--distributed", "--quick", "--epochs", "3",
                  "--quiet", "--out", str(out), "--resume", str(out / "model.ckpt"))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert done.stdout.count("resumed from") == 1
    assert [e["epoch"] for e in epochs_of(out)] == [1, 2, 3]
    assert tg.load(out / "model.ckpt")["epoch"] == 3
    histories = [json.loads((tmp_path / f"history-{r}.json").read_text()) for r in (0, 1)]
    for history in histories:
        for entry in history:
            del entry["seconds"]  # each rank's own clock
    assert histories[0] == histories[1] and len(histories[0]) == 3


@needs_mpi
def test_a_diverged_run_ends_every_process_with_one_line(tmp_path):
    out = tmp_path / "run"
    done = mpirun("-m", "tinygrad_edu.train", "--distributed", "--quick", "--epochs", "1",
                  "--lr", "1e30", "--quiet", "--out", str(out))
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith(PROG)]
    assert len(errors) == 1 and "diverged" in errors[0] and "rank" not in errors[0], errors
    assert "MPI_ABORT" not in done.stderr  # every rank stopped there by itself
    assert not (out / "model.ckpt").exists()


@needs_mpi
def test_a_problem_of_rank_0_alone_ends_every_process(tmp_path):
    """Only rank 0 creates --out: when it cannot, the other rank must not wait forever."""
    (tmp_path / "file").write_text("")
    done = mpirun("-m", "tinygrad_edu.train", "--distributed", "--quick", "--epochs", "1",
                  "--quiet", "--out", str(tmp_path / "file" / "run"))
    assert done.returncode == 2, done.stderr[-3000:]
    assert f"{PROG}: error: --out" in done.stderr and "cannot create the folder" in done.stderr


@needs_mpi
def test_distributed_without_a_launcher_is_one_process(tmp_path, device):
    """World size 1 (mpi4py's singleton MPI); on the GPU its tensors go through MPI by way of
    host memory, or through NCCL where CuPy has it."""
    python = [sys.executable]
    if device != "cpu" and getattr(sys.modules.get("cupy"), "emulated", False):
        python.append(str(ROOT / "tests" / "cupy_emulator.py"))  # the child emulates too
    out = tmp_path / "run"
    done = subprocess.run([*python, "-m", "tinygrad_edu.train", "--distributed", "--device",
                           device, "--quick", "--epochs", "1", "--quiet", "--out", str(out)],
                          capture_output=True, text=True, timeout=300, env=ENV, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"device {device}, 1 process with batches of 32 each" in done.stdout
    assert [e["epoch"] for e in epochs_of(out)] == [1]
    assert tg.load(out / "model.ckpt")["epoch"] == 1


def test_without_mpi4py_distributed_is_a_one_line_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "mpi4py", None)  # `import mpi4py` raises ImportError
    assert train.main(["--distributed", "--quick", "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"{PROG}: error: --distributed needs "
                                                   "mpi4py")
    assert not (tmp_path / "run").exists()


def test_without_distributed_nothing_touches_mpi(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    assert train.main(["--quiet", "--quick", "--epochs", "1", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "model.ckpt").exists()
