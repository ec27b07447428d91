"""Device work per training step of W1-W5 (and a BatchNorm CNN with Adam), counted on the
emulated CuPy (no GPU needed).

    python benchmarks/launches.py            # table: launches per step, the most frequent
    python benchmarks/launches.py --json F   # also write the counts as JSON

On a GPU a small model's step is bound by how many kernels Python launches (each costs
microseconds of CPU time, whatever its size), not by arithmetic. tests/cupy_emulator.py counts
every device operation that would launch one (views and allocations launch nothing), so this
measures that cost on any machine. It is a count, not a timing: compare it with the GPU
benchmark (`run.py --device cuda`) on a GPU machine.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)

import cupy_emulator  # noqa: E402

cupy_emulator.install()  # before tinygrad_edu first asks for CuPy

import run as bench  # noqa: E402

import tinygrad_edu as tg  # noqa: E402


def bn_cnn_adam(lib: Any, device: str, batch: int = 32) -> bench.Step:
    """conv - BatchNorm - ReLU - max pool - linear on 1x28x28, trained with Adam."""
    lib.manual_seed(0)
    nn = lib.nn
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8 * 14 * 14, 10)).to(device)
    opt = lib.optim.Adam(model.parameters())
    x, y = bench._data(lib, (batch, 1, 28, 28), 10, device)

    def step() -> None:
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()

    return step


WORKLOADS = {**{name: spec["make"] for name, spec in bench.WORKLOADS.items()},
             "BN cnn adam": bn_cnn_adam}


def count(name: str) -> dict[str, Any]:
    """Launches of one training step (after two warm-up steps create the optimizer state)."""
    step = WORKLOADS[name](tg, "cuda")
    step()
    step()
    cupy_emulator.launches.clear()
    step()
    launches = dict(cupy_emulator.launches)
    return {"launches": sum(launches.values()),
            "by name": dict(sorted(launches.items(), key=lambda kv: -kv[1]))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", default=None, help="where to write the counts (JSON)")
    args = parser.parse_args(argv)
    counts = {name: count(name) for name in WORKLOADS}
    print("| workload | device launches per step | most frequent |")
    print("|---|---|---|")
    for name, c in counts.items():
        top = ", ".join(f"{k} {v}" for k, v in list(c["by name"].items())[:5])
        print(f"| {name} | {c['launches']} | {top} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(counts, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
