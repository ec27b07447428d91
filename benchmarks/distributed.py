"""Data-parallel scaling of W1 and W4 (benchmarks/run.py's models) from 1 to 2 processes.

    python benchmarks/distributed.py              # table + benchmarks/results_distributed.json
    python benchmarks/distributed.py --quick      # a few steps, W4 on batches of 16 (CI test)
    python benchmarks/distributed.py --nproc 1 2 4

For each process count N it starts `mpirun -n N` (the command tinygrad-edu-run builds, with
OMP_NUM_THREADS = cores // N, so that N processes share the machine's cores as one process
does) on this script with --worker, and also one process on one thread (one core: the
baseline of the scaling). Every process trains the workload's model wrapped in
DistributedDataParallel on its own batch of the workload's size (the batch is per process, as
in PyTorch: N processes do N times the work of one per step), and reports:

- samples/s: N * batch / seconds per step (the slowest process's), the throughput of the job;
- scaling efficiency: samples/s / (cores used * samples/s of one process on one core), where
  cores used = processes * threads each (100%: every core adds a core's worth of samples);
- vs 1 process: samples/s / samples/s of one process on all the cores (its BLAS threads);
- communication share: (step - step without communication) / step, where "without
  communication" is the same step inside `ddp.no_sync()` (no gradient all_reduce at all;
  timed in alternating rounds with the synced step). It is the part of a step that waiting for
  the gradients' all_reduce adds, after what overlaps with the backward pass;
- bare all_reduce: the time of one all_reduce of as many float32 numbers as the model has
  parameters, alone, as a share of the step: what communication would cost with no overlap.
The jobs run --repeat times in turn (1x1, 1xC, 2xC/2, 1x1, ...), so that each sees the same
changes of the machine's load, and each figure is the median over the repeats.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any, Callable

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)

WORKLOADS = ("W1 mlp", "W4 wide")
QUICK_BATCH = {"W1 mlp": 64, "W4 wide": 16}  # --quick: W4 on a small batch (a smoke test only)


# ---------------------------------------------------------------------------------------------
# one process of the job (--worker, under mpirun)
# ---------------------------------------------------------------------------------------------
class DataParallelLib:
    """tinygrad_edu as run.py's workloads see it, except that nn.Sequential builds the model
    wrapped in DistributedDataParallel: the same W1/W4 code then trains data-parallel. The
    last model built is kept in `model` (for its no_sync)."""

    def __init__(self, tg: Any) -> None:
        from tinygrad_edu.nn.parallel import DistributedDataParallel

        self._tg, self.model = tg, None
        lib = self

        class NN:
            def __getattr__(self, name: str) -> Any:
                return getattr(tg.nn, name)

            @staticmethod
            def Sequential(*layers: Any) -> Any:  # noqa: N802 - torch's name
                lib.model = DistributedDataParallel(tg.nn.Sequential(*layers))
                return lib.model

        self.nn = NN()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tg, name)


def timed(step: Callable[[], None], steps: int, dist: Any, tg: Any) -> float:
    """Seconds per step of the slowest process, all starting together."""
    dist.barrier()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    seconds = tg.tensor([(time.perf_counter() - start) / steps], dtype=tg.float64)
    dist.all_reduce(seconds, op=dist.ReduceOp.MAX)
    return seconds.item()


def worker(quick: bool, out: str) -> None:
    sys.modules["torch"] = None  # run.py's PyTorch side is not needed: do not import it
    import run as bench

    import tinygrad_edu as tg
    from tinygrad_edu import distributed as dist

    dist.init_process_group("mpi")
    size = dist.get_world_size()
    results = {}
    for name in WORKLOADS:
        spec = bench.WORKLOADS[name]
        batch = QUICK_BATCH[name] if quick else spec["samples"]
        lib = DataParallelLib(tg)
        step = spec["make"](lib, "cpu", batch=batch)
        ddp = lib.model
        warm, steps, rounds = bench.steps_for(name, quick, "cpu")
        timed(step, warm, dist, tg)
        synced, local = [], []
        for _ in range(rounds):  # alternating, so that both see the same machine load
            synced.append(timed(step, steps, dist, tg))
            with ddp.no_sync():
                local.append(timed(step, steps, dist, tg))
        grads = tg.zeros(sum(p.numel() for p in ddp.parameters()))
        bare = timed(lambda: dist.all_reduce(grads), steps, dist, tg)
        step_s, local_s = statistics.median(synced), statistics.median(local)
        results[name] = {"processes": size, "batch per process": batch,
                         "step s": step_s, "step without communication s": local_s,
                         "samples/s": size * batch / step_s,
                         "communication share": (step_s - local_s) / step_s,
                         "bare all_reduce s": bare, "bare all_reduce share": bare / step_s}
    if dist.get_rank() == 0:
        with open(out, "w") as f:
            json.dump(results, f)
    dist.destroy_process_group()


# ---------------------------------------------------------------------------------------------
# the driver: one mpirun per process count, then the table
# ---------------------------------------------------------------------------------------------
def run_job(nproc: int, threads: int, quick: bool) -> dict:
    """The workers' results of one `mpirun -n nproc` job, `threads` BLAS threads each."""
    from tinygrad_edu.distributed.run import mpirun_command

    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "result.json")
        target = [os.path.abspath(__file__), "--worker", "--json", out] + (["--quick"] * quick)
        command = mpirun_command(nproc, target, environ=env)
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"benchmarks/distributed.py: {' '.join(command)} failed "
                             f"(exit {done.returncode}):\n{done.stdout[-2000:]}"
                             f"{done.stderr[-3000:]}")
        with open(out) as f:
            results = json.load(f)
    for r in results.values():
        r["threads per process"] = threads
    return results


def median_of(jobs: list[dict]) -> dict:
    """Each workload's figures: the medians over the repeated jobs."""
    return {name: {key: statistics.median(job[name][key] for job in jobs)
                   for key in jobs[0][name]} for name in jobs[0]}


def cpu_name() -> str:
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    except OSError:
        return platform.processor() or "unknown"
    return next((line.split(":", 1)[1].strip() for line in text.splitlines()
                 if line.startswith("Model name")), platform.processor() or "unknown")


def format_table(runs: dict, cores: int) -> str:
    """runs: {(processes, threads each): {workload: figures}}."""
    head = ["workload", "processes", "threads each", "samples/s", "scaling efficiency",
            "vs 1 process", "communication share", "bare all_reduce share"]
    rows = [head]
    for name in WORKLOADS:
        one_core = runs.get((1, 1), {}).get(name, {}).get("samples/s")
        one_process = runs.get((1, cores), {}).get(name, {}).get("samples/s")
        for (n, threads), results in runs.items():
            r = results[name]
            efficiency = f"{r['samples/s'] / (n * threads * one_core):.0%}" if one_core else ""
            speedup = f"{r['samples/s'] / one_process:.2f}x" if one_process else ""
            rows.append([name, str(n), str(threads), f"{r['samples/s']:,.0f}", efficiency,
                         speedup, f"{r['communication share']:.0%}",
                         f"{r['bare all_reduce share']:.0%}"])
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |" for row in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict | None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a few steps only, for CI")
    parser.add_argument("--nproc", type=int, nargs="+", default=[1, 2],
                        help="the process counts to run (default 1 2)")
    parser.add_argument("--repeat", type=int, default=None,
                        help="jobs per process count, in turn (default 3; 1 with --quick)")
    parser.add_argument("--json", default=None, help="where to write the results (JSON)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.quick, args.json)
        return None

    from tinygrad_edu.distributed.run import cores

    n_cores = cores()
    configs = sorted({(1, 1)} | {(n, max(1, n_cores // n)) for n in args.nproc})
    jobs: dict[tuple[int, int], list[dict]] = {c: [] for c in configs}
    repeats = args.repeat or (1 if args.quick else 3)
    for _ in range(repeats):
        for n, threads in configs:
            jobs[n, threads].append(run_job(n, threads, args.quick))
            print(f"{n} process{'es' * (n > 1)} x {threads} thread{'s' * (threads > 1)}: "
                  f"{jobs[n, threads][-1]}", flush=True)
    runs = {c: median_of(results) for c, results in jobs.items()}
    cpu = cpu_name()
    print()
    print(format_table(runs, n_cores))
    batches = ", ".join(f"{name} {runs[1, 1][name]['batch per process']}" for name in WORKLOADS)
    print(f"\n(CPU: {cpu}, {n_cores} cores; batch per process: {batches}; medians of "
          f"{repeats} jobs)")
    report = {"cpu": cpu, "cores": n_cores, "machine": platform.platform(),
              "quick": args.quick, "repeats": repeats,
              "runs": {f"{n}x{t}": r for (n, t), r in runs.items()}}
    path = args.json or os.path.join(HERE, "results_distributed-quick.json" if args.quick
                                     else "results_distributed.json")
    with open(path, "w") as f:
        json.dump(report, f, indent=2)
    print(f"wrote {path}")
    return report


if __name__ == "__main__":
    main()
