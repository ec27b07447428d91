"""tinygrad-edu-run: start a script on several processes through Open MPI's mpirun.

    tinygrad-edu-run --nproc 2 train_ddp.py --epochs 3
    tinygrad-edu-run --nproc 2 -m tinygrad_edu.train --distributed --quick
    tinygrad-edu-run --nproc 8 --hostfile hosts.txt -m tinygrad_edu.train --distributed
    python -m tinygrad_edu.distributed.run --nproc 2 --dry-run my_script.py   # show the command

It replaces itself with `mpirun -n NPROC ... python SCRIPT ARGS` (this Python), adding:
- --bind-to none: Open MPI would otherwise pin each of 1 or 2 processes to a single core,
  where its BLAS threads would take turns instead of running side by side;
- --oversubscribe (and mpi_yield_when_idle, so that waiting processes give up their core)
  when NPROC is larger than this machine's cores and no hostfile says where the slots are;
- --allow-run-as-root when run as root (Open MPI refuses root otherwise);
- -x NAME for the environment variables the processes need on other machines (PATH,
  PYTHONPATH, VIRTUAL_ENV, the thread counts, MPLBACKEND, every TINYGRAD_EDU_*): mpirun only
  passes its environment to the processes it starts on this machine;
- OMP_NUM_THREADS and OPENBLAS_NUM_THREADS = cores // NPROC (at least 1), unless they are set,
  so that the processes' BLAS threads do not fight over the same cores (as torchrun does).
Each process then calls tg.distributed.init_process_group("mpi"), which reads its rank and the
world size from mpirun. A hostfile lists one machine per line, `hostname slots=N`; the
machines need this Python and this library at the same path, and ssh to each other.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from typing import Sequence

PROG = "tinygrad-edu-run"
EXPORTED = ("PATH", "PYTHONPATH", "VIRTUAL_ENV", "LD_LIBRARY_PATH", "OMP_NUM_THREADS",
            "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "MPLBACKEND")
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def cores() -> int:
    """The CPU cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def mpirun_command(nproc: int, target: Sequence[str], hostfile: str | None = None,
                   environ: dict[str, str] | None = None, mpirun: str = "mpirun",
                   root: bool | None = None) -> list[str]:
    """The mpirun command line that runs `target` (["script.py", args...] or ["-m", module,
    args...]) with this Python on `nproc` processes."""
    environ = os.environ if environ is None else environ
    root = (hasattr(os, "geteuid") and os.geteuid() == 0) if root is None else root
    command = [mpirun, "-n", str(nproc), "--bind-to", "none"]
    if hostfile is not None:
        command += ["--hostfile", hostfile]
    elif nproc > cores():
        command += ["--oversubscribe", "--mca", "mpi_yield_when_idle", "1"]
    if root:
        command.append("--allow-run-as-root")
    names = [n for n in EXPORTED if n in environ]
    names += sorted(n for n in environ if n.startswith("TINYGRAD_EDU_"))
    for name in names:
        command += ["-x", name]
    return command + [sys.executable, *target]


def split_argv(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """(the launcher's own options, the target: SCRIPT ARGS... or -m MODULE ARGS...). The
    target starts at the first word that is not one of the launcher's options, so that the
    script's options (--epochs, --distributed) are left to the script."""
    takes_value = {"--nproc", "--hostfile"}
    argv = list(argv)
    i = 0
    while i < len(argv):
        word = argv[i]
        if word == "-m" or not word.startswith("-"):
            return argv[:i], argv[i:]
        i += 2 if word in takes_value else 1
    return argv, []


def positive_int(text: str) -> int:
    """argparse type of a count: an integer of at least 1 (also the training command's)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    own, target = split_argv(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog=PROG, usage=f"{PROG} [--nproc N] [--hostfile FILE] "
                                     "[--dry-run] SCRIPT|-m MODULE [ARGS ...]",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nproc", type=positive_int, default=2,
                        help="number of processes (default 2)")
    parser.add_argument("--hostfile", default=None,
                        help="Open MPI hostfile: the machines to run on and their slots")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the mpirun command instead of running it")
    args = parser.parse_args(own)
    if not target or target == ["-m"]:
        parser.error("name a script to run, or -m MODULE")
    if args.hostfile is not None and not os.path.isfile(args.hostfile):
        parser.error(f"argument --hostfile: no file {args.hostfile}")
    mpirun = shutil.which("mpirun")
    if mpirun is None and not args.dry_run:
        print(f"{PROG}: error: mpirun not found: install Open MPI (Debian: apt install "
              "openmpi-bin libopenmpi-dev) and mpi4py (pip install mpi4py)", file=sys.stderr)
        return 2
    environ = dict(os.environ)
    for name in THREAD_VARIABLES:
        environ.setdefault(name, str(max(1, cores() // args.nproc)))
    command = mpirun_command(args.nproc, target, args.hostfile, environ, mpirun or "mpirun")
    if args.dry_run:
        print(subprocess.list2cmdline(command))
        return 0
    version = subprocess.run([mpirun, "--version"], capture_output=True, text=True).stdout
    if "Open MPI" not in version:
        print(f"{PROG}: error: {mpirun} is not Open MPI's ({version.strip()[:60]!r}); run "
              "your MPI's launcher yourself: mpiexec -n N python SCRIPT", file=sys.stderr)
        return 2
    sys.stdout.flush()
    os.execvpe(mpirun, command, environ)  # never returns
    return 0  # pragma: no cover


if __name__ == "__main__":
    sys.exit(main())
