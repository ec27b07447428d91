"""Two versions of tinygrad_edu benchmarked against PyTorch, interleaved on one machine.

    python benchmarks/compare.py BEFORE_DIR [AFTER_DIR] [--rounds 2] [--only W1 W3]

Each directory is a checkout of the repository (`git worktree add /tmp/before <commit>`);
AFTER_DIR defaults to this one. `benchmarks/run.py` of each runs in turn (before, after,
before, after, ...), each in its own process with its own tinygrad_edu on the path, so both
see the same machine load. For each workload the table gives the median ratio to PyTorch
measured by each version and their quotient (after / before: >= 1 means no slowdown).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def ratio_to_torch(result: dict) -> float | None:
    """tinygrad_edu's throughput over PyTorch's (> 1: faster), for either unit."""
    if "pytorch" not in result:
        return None
    if result["unit"] == "us/op":  # time per op: lower is better
        return result["pytorch"] / result["tinygrad_edu"]
    return result["tinygrad_edu"] / result["pytorch"]


def run_once(tree: str, only: list[str] | None, quick: bool) -> dict:
    """One `benchmarks/run.py` of the checkout `tree`: its results by workload."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        path = f.name
    command = [sys.executable, os.path.join(tree, "benchmarks", "run.py"), "--json", path]
    command += ["--only", *only] if only else []
    command += ["--quick"] if quick else []
    env = dict(os.environ, PYTHONPATH=tree)
    subprocess.run(command, check=True, cwd=tree, env=env, stdout=subprocess.DEVNULL)
    with open(path) as f:
        report = json.load(f)
    os.unlink(path)
    return report["results"]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("before")
    parser.add_argument("after", nargs="?", default=os.path.dirname(HERE))
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--only", nargs="*")
    parser.add_argument("--quick", action="store_true", help="a few steps (a smoke test)")
    args = parser.parse_args(argv)
    ratios: dict[str, dict[str, list[float]]] = {}
    for round_ in range(args.rounds):
        for label, tree in (("before", args.before), ("after", args.after)):
            print(f"round {round_ + 1}: {label} ({tree})", flush=True)
            for name, result in run_once(tree, args.only, args.quick).items():
                value = ratio_to_torch(result)
                if value is not None:
                    ratios.setdefault(name, {"before": [], "after": []})[label].append(value)
    print("\n| workload | before vs PyTorch | after vs PyTorch | after / before |")
    print("|---|---|---|---|")
    summary = {}
    for name, by in ratios.items():
        before, after = statistics.median(by["before"]), statistics.median(by["after"])
        summary[name] = {"before": by["before"], "after": by["after"],
                         "quotient": after / before}
        print(f"| {name} | {before:.2f}x | {after:.2f}x | {after / before:.2f} |")
    print(f"\n(medians of {args.rounds} interleaved rounds; CPU: {_cpu_name()})")
    return summary


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


if __name__ == "__main__":
    main()
