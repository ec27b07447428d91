"""DistributedSampler: each process of a data-parallel run takes its own share of the data set,
as torch.utils.data.distributed.DistributedSampler.

    sampler = DistributedSampler(train_set)            # rank and world size from tg.distributed
    loader = DataLoader(train_set, batch_size=32, sampler=sampler)
    for epoch in range(epochs):
        sampler.set_epoch(epoch)                       # a new order every epoch, the same on
        for x, y in loader:                            # every rank
            ...

One epoch, with N samples on R processes (replicas):
1. the order: 0, 1, ..., N - 1, or with `shuffle=True` a permutation drawn from `seed + epoch`
   (every rank draws the same one: they share the seed and the epoch);
2. the length is made a multiple of R: `drop_last=False` repeats indices from the start of the
   order (some samples are seen twice in the epoch), `drop_last=True` cuts the tail off;
3. rank r takes every R-th index from position r: order[r::R].
So in every epoch the ranks' shares are disjoint and together cover the data set (exactly once
with drop_last=True and R dividing N; the padding or the cut otherwise).

The permutation is PyTorch's: torch.randperm(N) with a generator seeded with `seed + epoch`
(a Fisher-Yates shuffle driven by the 32-bit Mersenne Twister, which NumPy's legacy
RandomState is), so a run gives each rank the same samples as PyTorch's sampler does.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sized

import numpy as np

from .sampler import Sampler


def torch_randperm(n: int, seed: int) -> list[int]:
    """The permutation torch.randperm(n, generator=torch.Generator().manual_seed(seed)) gives
    on the CPU: for i = 0 .. n - 2, swap positions i and i + (u_i mod (n - i)), where u_0, u_1,
    ... are the 32-bit outputs of MT19937 seeded with seed mod 2**32."""
    order = list(range(n))
    if n < 2:
        return order
    draws = np.random.RandomState(seed % 2**32).randint(0, 2**32, size=n - 1, dtype=np.uint32)
    offsets = (draws.astype(np.int64) % np.arange(n, 1, -1)).tolist()
    for i, offset in enumerate(offsets):
        j = i + offset
        order[i], order[j] = order[j], order[i]
    return order


class DistributedSampler(Sampler):
    """The indices of `dataset` that process `rank` of `num_replicas` takes (see the module's
    docstring). `num_replicas` and `rank` default to tg.distributed's world size and rank.
    Call `set_epoch(epoch)` before each epoch, or every epoch has the same order."""

    def __init__(self, dataset: Sized, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        if num_replicas is None or rank is None:
            from ... import distributed as dist

            if not dist.is_available():
                raise RuntimeError("Requires distributed package to be available")
            # (torch's ValueError when init_process_group has not been called)
            num_replicas = dist.get_world_size() if num_replicas is None else num_replicas
            rank = dist.get_rank() if rank is None else rank
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval "
                             f"[0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        self.shuffle = shuffle
        self.seed = seed
        n = len(dataset)
        if drop_last and n % num_replicas:  # the largest multiple of num_replicas below n
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:  # n rounded up to a multiple of num_replicas
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)
        order = torch_randperm(n, self.seed + self.epoch) if self.shuffle else list(range(n))
        if self.drop_last:
            order = order[:self.total_size]
        elif n:  # repeat the order from its start until it fills total_size
            order = (order * math.ceil(self.total_size / n))[:self.total_size]
        return iter(order[self.rank:self.total_size:self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Use the order of `epoch` from the next iteration on (with shuffle=True)."""
        self.epoch = epoch
