"""tg.distributed on 2 processes (issue 20): two `mpirun --oversubscribe -n 2` launches, one for
every collective against NumPy (mpi_collectives_check.py), one for DistributedDataParallel
(mpi_ddp_check.py), whose results are compared here with one process on the whole batch.
Skipped where Open MPI's mpirun or mpi4py is missing (CI installs both)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.distributed as dist

HERE = Path(__file__).resolve().parent

pytestmark = pytest.mark.skipif(shutil.which("mpirun") is None or not dist.is_mpi_available(),
                                reason="needs Open MPI's mpirun and mpi4py")


def mpirun(script: str, out: Path) -> None:
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_mpi_yield_when_idle="1", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([str(HERE.parents[1]), str(HERE)]))
    env.pop("TINYGRAD_EDU_EMULATE_CUDA", None)
    done = subprocess.run(["mpirun", "--oversubscribe", "--bind-to", "none", "-n", "2",
                           sys.executable, str(HERE / script), str(out)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def test_every_collective_on_two_ranks_against_numpy(tmp_path):
    mpirun("mpi_collectives_check.py", tmp_path)
    for rank in (0, 1):
        report = json.loads((tmp_path / f"collectives_{rank}.json").read_text())
        failed = {name: why for name, why in report.items() if why != "ok"}
        assert not failed, f"rank {rank}: {failed}"
        assert len(report) == 31  # (every check of the script ran)


@pytest.fixture(scope="module")
def ddp_runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp")
    mpirun("mpi_ddp_check.py", out)
    return [dict(np.load(out / f"ddp_{rank}.npz")) for rank in (0, 1)]


def test_ddp_of_the_course_mlp_equals_one_process_on_the_whole_batch(ddp_runs):
    import mpi_ddp_check as check

    reference = check.mlp(seed=100)  # rank 0's weights
    check.train(reference, check.STEPS, rank=None)
    r0, r1 = ddp_runs
    np.testing.assert_array_equal(r0["start"], r1["start"])  # rank 0's, sent to rank 1
    for name, p in reference.named_parameters():
        np.testing.assert_array_equal(r0[f"mlp.{name}"], r1[f"mlp.{name}"])
        np.testing.assert_allclose(r0[f"mlp.{name}"], p.detach().numpy(), rtol=1e-5, atol=2e-6)
    moved = np.abs(r0["mlp.0.weight"] - check.mlp(seed=100)[0].weight.detach().numpy()).max()
    assert moved > 1e-2  # (20 steps did train)


def test_no_sync_accumulation_on_two_ranks(ddp_runs):
    import mpi_ddp_check as check

    reference = check.mlp(seed=200)
    check.train_accumulating(reference, 3, rank=None)
    for name, p in reference.named_parameters():
        for run in ddp_runs:
            np.testing.assert_allclose(run[f"accumulated.{name}"], p.detach().numpy(),
                                       rtol=1e-5, atol=2e-6)


def test_find_unused_parameters_on_two_ranks(ddp_runs):
    """`b` is used by rank 0 only: both ranks get half of rank 0's gradient (rank 1 adds
    nothing); `c` is used by no rank: its .grad stays None; `a` is the plain average."""
    import mpi_ddp_check as check

    local = [check.heads_grads(check.Heads(), rank) for rank in (0, 1)]
    for run in ddp_runs:
        assert not any(key.startswith("heads.c.") for key in run)
        for name in ("a.weight", "a.bias", "shared.weight"):
            np.testing.assert_allclose(run[f"heads.{name}"],
                                       (local[0][name] + local[1][name]) / 2, rtol=1e-5,
                                       atol=1e-7)
        np.testing.assert_allclose(run["heads.b.weight"], local[0]["b.weight"] / 2, rtol=1e-5,
                                   atol=1e-7)


def test_batchnorm_buffers_come_from_rank_0_before_each_forward(ddp_runs):
    r0, r1 = ddp_runs
    np.testing.assert_array_equal(r0["bn.seen"], r1["bn.seen"])  # as each forward started
    assert np.abs(r0["bn.seen"][-1]).max() > 1e-3  # (statistics that moved)
    assert np.abs(r0["bn.final"] - r1["bn.final"]).max() > 1e-4  # (each rank's last update)
    assert tg  # (the package under test)
