"""Throughput of tinygrad_edu against PyTorch (when installed) and hand-written NumPy.

    python benchmarks/run.py                 # full run on the CPU, table + benchmarks/results.json
    python benchmarks/run.py --quick         # a few steps of each workload (CI smoke test)
    python benchmarks/run.py --device cuda   # the same workloads on the GPU
    python benchmarks/run.py --device cuda --capture   # also each step captured in a CUDA graph

Every workload goes through the public API (Module, loss module, optimizer) and is written
ONCE: `lib` is either `tinygrad_edu` or `torch`, whose names are the same. Libraries run
interleaved (tg, torch, numpy, tg, torch, numpy, ...) so that both see the same machine
load, and the table reports medians and their ratio (> 1 means tinygrad_edu is faster).
With --capture (GPU only), each library also runs its step captured once in a CUDA graph
and replayed (PyTorch's "whole network capture" recipe, `captured` below, written once for
both libraries): four contenders side by side.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import time
import tracemalloc
from typing import Any, Callable

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import tinygrad_edu as tg  # noqa: E402

try:
    import torch
except ImportError:  # PyTorch is an optional reference
    torch = None

Step = Callable[[], None]


# ---------------------------------------------------------------------------------------------
# workloads, written once for any library with PyTorch's names
# ---------------------------------------------------------------------------------------------
def _sync(lib: Any, device: str) -> None:
    if device.startswith("cuda"):
        lib.cuda.synchronize()


def _train_step(lib: Any, model: Any, x: Any, y: Any, device: str) -> Step:
    opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = lib.nn.CrossEntropyLoss()

    def step() -> None:
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    step.watched = lambda: list(model.parameters())  # what a step changes (for the tests)
    return step


def _data(lib: Any, shape: tuple, classes: int, device: str) -> tuple[Any, Any]:
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.standard_normal(shape).astype(np.float32), device=device)
    y = lib.tensor(rng.integers(0, classes, shape[0]).astype(np.int64), device=device)
    return x, y


def _relu_mlp(lib: Any, device: str, sizes: tuple, batch: int) -> Step:
    """A training step of Linear-ReLU-...-Linear with layer widths `sizes`."""
    lib.manual_seed(0)
    nn = lib.nn
    layers: list = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(n_in, n_out), nn.ReLU()]
    model = nn.Sequential(*layers[:-1]).to(device)
    return _train_step(lib, model, *_data(lib, (batch, sizes[0]), sizes[-1], device), device)


def mlp(lib: Any, device: str, batch: int = 64) -> Step:
    """W1: 784-256-128-10 ReLU MLP."""
    return _relu_mlp(lib, device, (784, 256, 128, 10), batch)


def cnn(lib: Any, device: str, batch: int = 64) -> Step:
    """W2: a two-conv CNN on 1x28x28."""
    lib.manual_seed(0)
    nn = lib.nn
    model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(1568, 10)).to(device)
    return _train_step(lib, model, *_data(lib, (batch, 1, 28, 28), 10, device), device)


def wide(lib: Any, device: str, batch: int = 512) -> Step:
    """W4: 1024-4096-4096-10 ReLU MLP (GEMM-bound)."""
    return _relu_mlp(lib, device, (1024, 4096, 4096, 10), batch)


def overhead(lib: Any, device: str, length: int = 200) -> Step:
    """W3: 200 x (y * 1.001 + 0.001).tanh() on 16 numbers, then sum and backward."""
    x = lib.ones(16, device=device, requires_grad=True)

    def step() -> None:
        y = x
        for _ in range(length):
            y = (y * 1.001 + 0.001).tanh()
        y.sum().backward()

    step.watched = lambda: [x.grad]
    return step


def gpt(lib: Any, device: str, batch: int = 12, block: int = 64, vocab: int = 65,
        n_embd: int = 128, n_head: int = 4, n_layer: int = 4, capturable: bool = False) -> Step:
    """W5: one AdamW step of examples/09_tiny_gpt.py's character-level GPT at nanoGPT's CPU
    configuration for Tiny Shakespeare: 4 pre-norm blocks of causal 4-head self-attention
    (nn.MultiheadAttention) and a tanh-GELU MLP, 128-wide, context 64, batch 12, no biases,
    tied embeddings, gradient clipping."""
    lib.manual_seed(0)
    nn = lib.nn

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.ln_1, self.ln_2 = nn.LayerNorm(n_embd, bias=False), nn.LayerNorm(n_embd,
                                                                                   bias=False)
            self.attn = nn.MultiheadAttention(n_embd, n_head, bias=False, batch_first=True)
            self.mlp = nn.Sequential(nn.Linear(n_embd, 4 * n_embd, bias=False),
                                     nn.GELU(approximate="tanh"),
                                     nn.Linear(4 * n_embd, n_embd, bias=False))

        def forward(self, x: Any, mask: Any) -> Any:
            h = self.ln_1(x)
            x = x + self.attn(h, h, h, attn_mask=mask, is_causal=True, need_weights=False)[0]
            return x + self.mlp(self.ln_2(x))

    class GPT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.tok, self.pos = nn.Embedding(vocab, n_embd), nn.Embedding(block, n_embd)
            self.blocks = nn.ModuleList([Block() for _ in range(n_layer)])
            self.ln_f = nn.LayerNorm(n_embd, bias=False)
            self.head = nn.Linear(n_embd, vocab, bias=False)
            self.head.weight = self.tok.weight  # weight tying

        def forward(self, idx: Any) -> Any:
            x = self.tok(idx) + self.pos(lib.arange(idx.shape[1], device=device))
            mask = nn.Transformer.generate_square_subsequent_mask(idx.shape[1], device=device)
            for b in self.blocks:
                x = b(x, mask)
            return self.head(self.ln_f(x))

    model = GPT().to(device)
    rng = np.random.default_rng(0)
    x = lib.tensor(rng.integers(0, vocab, (batch, block)), device=device)
    y = lib.tensor(rng.integers(0, vocab, (batch, block)), device=device)
    # capturable: the step counter and bias corrections on the GPU, so that a graph replays them
    opt = lib.optim.AdamW(model.parameters(), lr=1e-3, **({"capturable": True} if capturable
                                                           else {}))

    def step() -> None:
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x).reshape(-1, vocab), y.reshape(-1))
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    step.watched = lambda: list(model.parameters())
    return step


# hand-written NumPy floors: the same maths with no framework at all
def numpy_mlp(batch: int = 64, sizes: tuple = (784, 256, 128, 10)) -> Step:
    rng = np.random.default_rng(0)
    ws = [(rng.uniform(-1, 1, (i, o)) / np.sqrt(i)).astype(np.float32)
          for i, o in zip(sizes[:-1], sizes[1:])]
    bs = [np.zeros(o, np.float32) for o in sizes[1:]]
    vel = [np.zeros_like(p) for p in ws + bs]
    x = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    y = rng.integers(0, sizes[-1], batch)

    def step() -> None:
        acts = [x]
        for i, (w, b) in enumerate(zip(ws, bs)):
            z = acts[-1] @ w + b
            acts.append(np.maximum(z, 0) if i < len(ws) - 1 else z)
        logits = acts[-1]
        p = np.exp(logits - logits.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        p[np.arange(batch), y] -= 1
        g = p / np.float32(batch)
        grads = [None] * (2 * len(ws))
        for i in reversed(range(len(ws))):
            grads[i] = acts[i].T @ g
            grads[len(ws) + i] = g.sum(0)
            if i:
                g = (g @ ws[i].T) * (acts[i] > 0)
        for param, v, gr in zip(ws + bs, vel, grads):
            v *= 0.9
            v += gr
            param -= np.float32(0.01) * v

    return step


def numpy_overhead(length: int = 200) -> Step:
    x = np.ones(16, np.float32)

    def step() -> None:
        ys = [x]
        for _ in range(length):
            ys.append(np.tanh(ys[-1] * np.float32(1.001) + np.float32(0.001)))
        g = np.ones(16, np.float32)
        for y in reversed(ys[1:]):
            g = g * (1 - y * y) * np.float32(1.001)

    return step


WORKLOADS = {
    "W1 mlp": dict(make=mlp, samples=64, unit="samples/s", numpy=numpy_mlp),
    "W2 cnn": dict(make=cnn, samples=64, unit="samples/s"),
    "W3 overhead": dict(make=overhead, samples=600, unit="us/op", numpy=numpy_overhead),
    "W4 wide": dict(make=wide, samples=512, unit="samples/s",
                    numpy=lambda: numpy_mlp(512, (1024, 4096, 4096, 10))),
    "W5 gpt": dict(make=gpt, samples=12, unit="samples/s", capture_kwargs={"capturable": True}),
}


def captured(lib: Any, step: Step, warmup: int = 3) -> Step:
    """`step` captured once in a CUDA graph; the result replays it. PyTorch's recipe: warm up
    on a side stream (the optimizer makes its state, the allocator its blocks), capture one
    step, then every replay reruns its kernels on the same buffers (the same data here)."""
    side = lib.cuda.Stream()
    side.wait_stream(lib.cuda.current_stream())
    with lib.cuda.stream(side):
        for _ in range(warmup):
            step()
    lib.cuda.current_stream().wait_stream(side)
    graph = lib.cuda.CUDAGraph()
    with lib.cuda.graph(graph):
        step()

    def replay() -> None:
        graph.replay()

    # the graph does not hold what its kernels read from before the capture (the model, the
    # optimizer's state, the batch: `step` holds them), in either library: keep them alive
    replay.watched = getattr(step, "watched", None)
    replay.step = step
    return replay


# ---------------------------------------------------------------------------------------------
# timing
# ---------------------------------------------------------------------------------------------
def time_steps(step: Step, steps: int, sync: Callable[[], None]) -> float:
    """Seconds per step over `steps` steps."""
    sync()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    sync()
    return (time.perf_counter() - start) / steps


def quiet_pause(quick: bool) -> None:
    """Let the previous contender's worker threads go to sleep before timing the next one.
    OpenBLAS (behind NumPy) and OpenMP (behind PyTorch) keep idle threads spinning for a
    while after each parallel call; on a 2-core machine they would steal a core from whoever
    runs next and make that library look slower than it is."""
    if not quick:
        time.sleep(0.5)


def steps_for(name: str, quick: bool, device: str) -> tuple[int, int, int]:
    """(warm-up steps, timed steps per round, rounds)."""
    if quick:
        return 1, 2, 1
    big = name.startswith("W4") and not device.startswith("cuda")
    return (2, 2, 9) if big else (10, 30, 7)


def run_workload(name: str, spec: dict, device: str, quick: bool, with_torch: bool,
                 with_numpy: bool, capture: bool = False) -> dict:
    libraries = {"tinygrad_edu": tg}
    if with_torch and torch is not None:
        torch.set_num_threads(os.cpu_count() or 1)
        libraries["pytorch"] = torch
    contenders: dict[str, tuple[Step, Callable[[], None]]] = {}
    for key, lib in libraries.items():
        contenders[key] = (spec["make"](lib, device), lambda lib=lib: _sync(lib, device))
    if capture:  # "<library> graphed": a fresh model whose whole step replays one graph
        for key, lib in libraries.items():
            step = captured(lib, spec["make"](lib, device, **spec.get("capture_kwargs", {})))
            contenders[key + " graphed"] = (step, lambda lib=lib: _sync(lib, device))
    if with_numpy and "numpy" in spec and not device.startswith("cuda"):
        contenders["numpy"] = (spec["numpy"](), lambda: None)
    warm, steps, rounds = steps_for(name, quick, device)
    for step, sync in contenders.values():
        time_steps(step, warm, sync)
    times: dict[str, list[float]] = {k: [] for k in contenders}
    for _ in range(rounds):  # interleaved: each round times every contender once
        for key, (step, sync) in contenders.items():
            quiet_pause(quick)
            times[key].append(time_steps(step, steps, sync))
    result = {"unit": spec["unit"]}
    for key, ts in times.items():
        per_step = statistics.median(ts)
        if spec["unit"] == "us/op":
            result[key] = per_step / spec["samples"] * 1e6
        else:
            result[key] = spec["samples"] / per_step
    return result


def matmul_gflops(device: str, quick: bool) -> float:
    """GFLOP/s of one bare 512x4096 @ 4096x4096 product with the backend's BLAS."""
    xp = tg.Device(device).xp
    a = xp.ones((512, 4096), dtype=np.float32)
    b = xp.ones((4096, 4096), dtype=np.float32)
    reps = 1 if quick else 5
    a @ b
    _sync(tg, device)
    start = time.perf_counter()
    for _ in range(reps):
        a @ b
    _sync(tg, device)
    return 2 * 512 * 4096 * 4096 * reps / (time.perf_counter() - start) / 1e9


def wide_gflops(samples_per_s: float) -> float:
    """Useful GFLOP/s of W4: forward + both backward products, except the input gradient."""
    sizes = (1024, 4096, 4096, 10)
    mac = sum(i * o for i, o in zip(sizes[:-1], sizes[1:]))
    flops_per_sample = 2 * mac * 3 - 2 * sizes[0] * sizes[1]
    return samples_per_s * flops_per_sample / 1e9


def memory_profile(epochs: int, quick: bool) -> list[float]:
    """Peak traced memory (MB) of each epoch of an MLP training run on digits."""
    from tinygrad_edu.datasets import Digits
    from tinygrad_edu.utils.data import DataLoader

    tg.manual_seed(0)
    train = Digits(train=True)
    loader = DataLoader(train, batch_size=32, shuffle=True, seed=0)
    nn = tg.nn
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    opt = tg.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    peaks = []
    tracemalloc.start()
    for epoch in range(epochs):
        # a full collection also empties CPython's free lists (of tuples, floats, ...), which
        # otherwise fill up slowly over the first thousands of steps and look like growth
        gc.collect()
        tracemalloc.reset_peak()
        for i, (x, y) in enumerate(loader):
            opt.zero_grad()
            loss_fn(model(x), y).backward()
            opt.step()
            if quick and i >= 3:
                break
        peaks.append(tracemalloc.get_traced_memory()[1] / 2**20)
    tracemalloc.stop()
    return peaks


def format_table(results: dict, device: str) -> str:
    has = {key: any(key in r for r in results.values())
           for key in ("pytorch", "numpy", "tinygrad_edu graphed", "pytorch graphed")}
    head = ["workload", "unit", "tinygrad_edu"]
    if has["pytorch"]:
        head += ["PyTorch", "vs PyTorch"]
    if has["numpy"]:
        head += ["NumPy by hand", "vs NumPy"]
    if has["tinygrad_edu graphed"]:
        head += ["tinygrad_edu graphed", "graphed vs PyTorch"]
    if has["pytorch graphed"]:
        head += ["PyTorch graphed", "graphed vs PyTorch graphed"]
    rows = [head]
    for name, r in results.items():
        lower_better = r["unit"] == "us/op"

        def ratio(other: float, mine_key: str = "tinygrad_edu") -> str:
            mine = r[mine_key]
            return f"{(other / mine if lower_better else mine / other):.2f}x"

        def cells(key: str, mine_key: str = "tinygrad_edu") -> list[str]:
            return [f"{r[key]:,.1f}", ratio(r[key], mine_key)] if key in r else ["", ""]

        row = [name, r["unit"], f"{r['tinygrad_edu']:,.1f}"]
        if has["pytorch"]:
            row += cells("pytorch")
        if has["numpy"]:
            row += cells("numpy")
        if has["tinygrad_edu graphed"]:  # our graphed step against PyTorch's eager one
            row += ([f"{r['tinygrad_edu graphed']:,.1f}",
                     ratio(r["pytorch"], "tinygrad_edu graphed") if "pytorch" in r else ""]
                    if "tinygrad_edu graphed" in r else ["", ""])
        if has["pytorch graphed"]:
            row += (cells("pytorch graphed", "tinygrad_edu graphed")
                    if "tinygrad_edu graphed" in r else ["", ""])
        rows.append(row)
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |" for row in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines) + f"\n\n(device: {device}; ratios > 1 mean tinygrad_edu is faster)"


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--quick", action="store_true", help="a few steps only, for CI")
    parser.add_argument("--only", nargs="*", help="workload prefixes, e.g. W1 W3")
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument("--json", default=None, help="where to write the results (JSON)")
    parser.add_argument("--capture", action="store_true",
                        help="also time each step captured in a CUDA graph (GPU only)")
    args = parser.parse_args(argv)
    if args.device.startswith("cuda") and not tg.cuda.is_available():
        parser.error(f"--device {args.device}: {tg.cuda.unavailable_reason()}")
    if args.capture and not args.device.startswith("cuda"):
        parser.error("--capture: CUDA graphs need --device cuda")

    results: dict[str, Any] = {}
    for name, spec in WORKLOADS.items():
        if args.only and not any(name.startswith(p) for p in args.only):
            continue
        results[name] = run_workload(name, spec, args.device, args.quick, not args.no_torch,
                                     with_numpy=True, capture=args.capture)
        print(f"{name}: {results[name]}", flush=True)
    extra: dict[str, Any] = {}
    if "W4 wide" in results:
        extra["W4 GFLOP/s"] = wide_gflops(results["W4 wide"]["tinygrad_edu"])
        extra["bare matmul GFLOP/s"] = matmul_gflops(args.device, args.quick)
    if not args.only and not args.device.startswith("cuda"):
        extra["digits peak MB per epoch"] = memory_profile(2 if args.quick else 10, args.quick)
    print()
    print(format_table(results, args.device))
    for key, value in extra.items():
        shown = ", ".join(f"{v:.2f}" for v in value) if isinstance(value, list) else f"{value:.1f}"
        print(f"{key}: {shown}")
    report = {"device": args.device, "machine": platform.platform(),
              "cpus": os.cpu_count(), "numpy": np.__version__,
              "torch": None if torch is None else torch.__version__,
              "quick": args.quick, "capture": args.capture,
              "gc_frozen_at_first_backward": os.environ.get("TINYGRAD_EDU_FREEZE_GC") != "0",
              "results": results, **extra}
    path = args.json or os.path.join(os.path.dirname(__file__),
                                     "results-quick.json" if args.quick else "results.json")
    with open(path, "w") as f:
        json.dump(report, f, indent=2)
    print(f"wrote {path}")
    return report


if __name__ == "__main__":
    main()
