"""Where a GPU training step's time goes, for tinygrad_edu and PyTorch side by side.

    python benchmarks/profile_cuda.py              # W1-W4 on cuda
    python benchmarks/profile_cuda.py --only W2    # one workload
    python benchmarks/profile_cuda.py --python 25  # also tinygrad_edu's 25 costliest functions

For each workload of benchmarks/run.py, per step:
  issue   CPU time to queue the step's work (no synchronisation);
  wall    time per step when the GPU's queue is drained (what the benchmark measures);
  kernels the GPU's own time in kernels, summed, from PyTorch's profiler (CUPTI sees every
          kernel in the process, CuPy's too);
  launches how many kernels (and copies) the GPU ran.
When `issue` is close to `wall` and `kernels` far below it, the step is bound by Python and
launches, not by the GPU. Needs a GPU, CuPy and PyTorch with CUDA.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import run as bench  # noqa: E402
import torch  # noqa: E402
from torch.profiler import ProfilerActivity, profile  # noqa: E402

import tinygrad_edu as tg  # noqa: E402


def device_time_us(event: Any) -> float:
    value = getattr(event, "self_device_time_total", None)  # (PyTorch < 2.4: self_cuda_...)
    return event.self_cuda_time_total if value is None else value


def measure(lib: Any, step: bench.Step, steps: int) -> dict[str, Any]:
    for _ in range(5):
        step()
    lib.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    issued = time.perf_counter() - start
    lib.cuda.synchronize()
    wall = time.perf_counter() - start
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        for _ in range(steps):
            step()
        lib.cuda.synchronize()
    kernels = [e for e in prof.key_averages() if device_time_us(e) > 0]
    return {"issue": issued / steps * 1e6, "wall": wall / steps * 1e6,
            "kernels": sum(device_time_us(e) for e in kernels) / steps,
            "launches": sum(e.count for e in kernels) / steps,
            "top": sorted(kernels, key=device_time_us, reverse=True)[:6]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=None, help="workload prefixes, e.g. W2")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--python", type=int, default=0, metavar="N",
                        help="also print tinygrad_edu's N costliest Python functions")
    args = parser.parse_args(argv)
    for name, spec in bench.WORKLOADS.items():
        if args.only and not any(name.startswith(p) for p in args.only):
            continue
        print(f"\n## {name} (per step, microseconds)")
        for label, lib in (("tinygrad_edu", tg), ("pytorch", torch)):
            step = spec["make"](lib, "cuda")
            m = measure(lib, step, args.steps)
            print(f"{label:>12}: issue {m['issue']:9.0f}  wall {m['wall']:9.0f}  "
                  f"kernels {m['kernels']:9.0f}  launches {m['launches']:6.0f}")
            for e in m["top"]:
                print(f"{'':>14}{device_time_us(e) / args.steps:9.1f} us  "
                      f"x{e.count / args.steps:<4.0f} {e.key[:90]}")
            if args.python and lib is tg:
                profiler = cProfile.Profile()
                profiler.enable()
                for _ in range(args.steps):
                    step()
                tg.cuda.synchronize()
                profiler.disable()
                pstats.Stats(profiler).sort_stats("tottime").print_stats(args.python)
    return 0


if __name__ == "__main__":
    sys.exit(main())
