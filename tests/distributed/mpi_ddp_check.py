"""DistributedDataParallel on the processes of `mpirun -n 2 python mpi_ddp_check.py OUT_DIR`
(run by test_mpirun.py, which compares what each rank saves in OUT_DIR/ddp_RANK.npz with one
process on the whole batch). The models and data are defined here for both sides.

1. the course MLP (2 layers, cross-entropy, SGD), 20 steps, each rank on half of each batch;
   every rank starts from its own random weights: DDP sends rank 0's;
2. no_sync: a micro-batch accumulated locally, the next one averaged with it;
3. find_unused_parameters: a head that only rank 0 uses, one that no rank uses;
4. BatchNorm: its running statistics as each forward starts (rank 0's, broadcast).
"""

from __future__ import annotations

import sys
from contextlib import nullcontext
from typing import Any

import numpy as np

import tinygrad_edu as tg
from tinygrad_edu import nn

FEATURES, HIDDEN, CLASSES, BATCH, STEPS = 6, 16, 3, 16, 20


def batch(step: int) -> tuple[np.ndarray, np.ndarray]:
    """The whole batch of a step (every rank makes the same one and takes its half)."""
    rng = np.random.default_rng(1000 + step)
    x = rng.standard_normal((BATCH, FEATURES)).astype(np.float32)
    return x, (np.abs(x[:, 0] * 2 + x[:, 1]).astype(np.int64) % CLASSES)


def half(rank: int, a: np.ndarray) -> np.ndarray:
    n = len(a) // 2
    return a[rank * n:(rank + 1) * n]


def mlp(seed: int) -> nn.Module:
    tg.manual_seed(seed)
    return nn.Sequential(nn.Linear(FEATURES, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, CLASSES))


def train(model: nn.Module, steps: int, rank: int | None) -> None:
    """SGD on cross-entropy; `rank` None: the whole batch, else that rank's half."""
    opt = tg.optim.SGD(model.parameters(), lr=0.1)
    for step in range(steps):
        x, y = batch(step)
        if rank is not None:
            x, y = half(rank, x), half(rank, y)
        opt.zero_grad()
        nn.functional.cross_entropy(model(tg.tensor(x)), tg.tensor(y)).backward()
        opt.step()


def train_accumulating(model: Any, steps: int, rank: int | None) -> None:
    """Two micro-batches a step (batch(2 s) and batch(2 s + 1)), one step of SGD on their
    summed gradients; with DDP the first backward runs in no_sync()."""
    opt = tg.optim.SGD(model.parameters(), lr=0.1)
    for step in range(steps):
        opt.zero_grad()
        for micro in (0, 1):
            x, y = batch(100 + 2 * step + micro)
            if rank is not None:
                x, y = half(rank, x), half(rank, y)
            local = model.no_sync() if rank is not None and micro == 0 else nullcontext()
            with local:  # (the forward and backward of the first micro-batch: not averaged)
                nn.functional.cross_entropy(model(tg.tensor(x)), tg.tensor(y)).backward()
        opt.step()


class Heads(nn.Module):
    """A shared layer and three heads: `a` always used, `b` when asked, `c` never."""

    def __init__(self) -> None:
        super().__init__()
        tg.manual_seed(7)
        self.shared, self.a, self.b, self.c = (nn.Linear(FEATURES, 4), nn.Linear(4, 2),
                                               nn.Linear(4, 2), nn.Linear(4, 2))

    def forward(self, x: tg.Tensor, use_b: bool) -> tg.Tensor:
        h = self.shared(x).relu()
        return self.a(h) + self.b(h) if use_b else self.a(h)


def heads_grads(model: Heads, rank: int) -> dict[str, np.ndarray]:
    """One backward of the Heads model on this rank's half (b used on rank 0 only)."""
    x, _ = batch(50)
    model(tg.tensor(half(rank, x)), use_b=rank == 0).sum().backward()
    return {name: p.grad.numpy().copy() for name, p in model.named_parameters()
            if p.grad is not None}


def with_batchnorm(seed: int) -> nn.Module:
    tg.manual_seed(seed)
    return nn.Sequential(nn.Linear(FEATURES, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))


def main(out_dir: str) -> None:
    import tinygrad_edu.distributed as dist
    from tinygrad_edu.nn.parallel import DistributedDataParallel as DDP

    dist.init_process_group("mpi")
    rank = dist.get_rank()
    saved: dict[str, np.ndarray] = {}

    # 1. 20 steps of the MLP; rank 0's weights win
    model = mlp(seed=100 + rank)
    ddp = DDP(model)
    saved["start"] = model[0].weight.detach().numpy().copy()
    train(ddp, STEPS, rank)
    for name, p in model.named_parameters():
        saved[f"mlp.{name}"] = p.detach().numpy()

    # 2. no_sync
    model = mlp(seed=200 + rank)
    train_accumulating(DDP(model, bucket_cap_mb=1e-6), 3, rank)
    for name, p in model.named_parameters():
        saved[f"accumulated.{name}"] = p.detach().numpy()

    # 3. unused parameters (b: rank 0 only; c: no rank)
    heads = Heads()
    ddp = DDP(heads, find_unused_parameters=True)
    x, _ = batch(50)
    ddp(tg.tensor(half(rank, x)), use_b=rank == 0).sum().backward()
    for name, p in heads.named_parameters():
        if p.grad is not None:
            saved[f"heads.{name}"] = p.grad.numpy()

    # 4. BatchNorm's running statistics as each forward starts
    model = with_batchnorm(seed=300 + rank)
    seen = []
    model[1].register_forward_pre_hook(
        lambda module, inputs: seen.append(module.running_mean.numpy().copy()))
    ddp = DDP(model)
    opt = tg.optim.SGD(ddp.parameters(), lr=0.1)
    for step in range(3):
        x, _ = batch(60 + step)
        opt.zero_grad()
        ddp(tg.tensor(half(rank, x))).sum().backward()
        opt.step()
    saved["bn.seen"] = np.stack(seen)
    saved["bn.final"] = model[1].running_mean.numpy()

    np.savez(f"{out_dir}/ddp_{rank}.npz", **saved)
    dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1])
