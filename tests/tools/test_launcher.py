"""tinygrad-edu-run (tinygrad_edu/distributed/run.py): the mpirun command it builds, its
errors, and a real run of a tiny script on 2 processes."""

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tinygrad_edu.distributed import run as launcher

ROOT = Path(__file__).resolve().parents[2]
HAVE_MPI = shutil.which("mpirun") is not None and importlib.util.find_spec("mpi4py") is not None
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_mpi_yield_when_idle="1",
           PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))


def test_the_command_runs_this_python_on_nproc_processes(monkeypatch):
    monkeypatch.setattr(launcher, "cores", lambda: 4)
    env = {"PATH": "/bin", "TINYGRAD_EDU_FAST": "0", "HOME": "/root", "OMP_NUM_THREADS": "2"}
    command = launcher.mpirun_command(2, ["-m", "tinygrad_edu.train", "--quick"], environ=env,
                                      root=False)
    assert command[:5] == ["mpirun", "-n", "2", "--bind-to", "none"]
    assert command[-4:] == [sys.executable, "-m", "tinygrad_edu.train", "--quick"]
    assert "--oversubscribe" not in command and "--allow-run-as-root" not in command
    exported = [command[i + 1] for i, word in enumerate(command) if word == "-x"]
    assert exported == ["PATH", "OMP_NUM_THREADS", "TINYGRAD_EDU_FAST"]  # not HOME
    # more processes than cores: --oversubscribe, unless a hostfile says where the slots are
    many = launcher.mpirun_command(8, ["s.py"], environ={}, root=True)
    assert "--oversubscribe" in many and "--allow-run-as-root" in many
    hosts = launcher.mpirun_command(8, ["s.py"], hostfile="hosts", environ={}, root=False)
    assert hosts[hosts.index("--hostfile") + 1] == "hosts" and "--oversubscribe" not in hosts


def test_the_scripts_options_stay_with_the_script():
    assert launcher.split_argv(["--nproc", "2", "-m", "mod", "--nproc", "5"]) == (
        ["--nproc", "2"], ["-m", "mod", "--nproc", "5"])
    assert launcher.split_argv(["--nproc=3", "--dry-run", "s.py", "--epochs", "1"]) == (
        ["--nproc=3", "--dry-run"], ["s.py", "--epochs", "1"])
    assert launcher.split_argv(["--hostfile", "h", "x.py"]) == (["--hostfile", "h"], ["x.py"])


def test_dry_run_prints_the_command_and_sets_the_thread_counts(capsys, monkeypatch):
    monkeypatch.setattr(launcher, "cores", lambda: 8)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert launcher.main(["--nproc", "4", "--dry-run", "train.py", "--lr", "0.1"]) == 0
    printed = capsys.readouterr().out
    assert " -n 4 " in printed and printed.rstrip().endswith("train.py --lr 0.1")
    assert "-x OMP_NUM_THREADS" in printed  # 8 cores // 4 processes, passed on to them


@pytest.mark.parametrize("argv,message", [
    (["--nproc", "0", "s.py"], "positive integer"),
    (["--nproc", "2"], "name a script"),
    (["-m"], "name a script"),
    (["--hostfile", "/no/such/hosts", "s.py"], "no file"),
])
def test_bad_arguments_are_argparse_errors(capsys, argv, message):
    with pytest.raises(SystemExit) as info:
        launcher.main(argv)
    assert info.value.code == 2
    assert message in capsys.readouterr().err


def test_without_mpirun_it_says_what_to_install(capsys, monkeypatch):
    monkeypatch.setattr(launcher.shutil, "which", lambda name: None)
    assert launcher.main(["--nproc", "2", "s.py"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tinygrad-edu-run: error: mpirun not found") and "openmpi" in err


@pytest.mark.skipif(not HAVE_MPI, reason="needs Open MPI's mpirun and mpi4py")
def test_it_runs_a_script_on_two_processes(tmp_path):
    script = tmp_path / "hello.py"
    script.write_text(
        "import sys\n"
        "import tinygrad_edu as tg\n"
        "from tinygrad_edu import distributed as dist\n"
        "dist.init_process_group('mpi')\n"
        "x = tg.tensor([dist.get_rank() + 1.0])\n"
        "dist.all_reduce(x)\n"
        # one write per rank: mpirun forwards both ranks' output through one pipe, so two
        # print() calls (the text, then the newline) could interleave with the other rank's
        "sys.stdout.write(f'rank {dist.get_rank()} of {dist.get_world_size()}: {x.item()} '\n"
        "                 f'{sys.argv[1:]}\\n')\n"
        "sys.stdout.flush()\n"
        "dist.destroy_process_group()\n")
    done = subprocess.run([sys.executable, "-m", "tinygrad_edu.distributed.run", "--nproc", "2",
                           str(script), "--epochs", "1"], capture_output=True, text=True,
                          timeout=300, env=ENV, cwd=ROOT)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    said = sorted(re.findall(r"rank \d of \d: [^\n\[]*\[[^\]]*\]", done.stdout))
    assert said == ["rank 0 of 2: 3.0 ['--epochs', '1']", "rank 1 of 2: 3.0 ['--epochs', '1']"]
