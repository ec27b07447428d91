"""DistributedSampler without MPI (num_replicas and rank given): the ranks' shares of every
epoch cover the data set, set_epoch changes the order, the seed fixes it; PyTorch's partition,
permutation and errors where torch is installed."""

from collections import Counter

import pytest

import tinygrad_edu as tg
from tinygrad_edu.utils.data import DataLoader, DistributedSampler, TensorDataset
from tinygrad_edu.utils.data.distributed import torch_randperm


def shares(n: int, replicas: int, epoch: int = 0, **options) -> list[list[int]]:
    out = []
    for rank in range(replicas):
        sampler = DistributedSampler(range(n), num_replicas=replicas, rank=rank, **options)
        sampler.set_epoch(epoch)
        out.append(list(sampler))
        assert len(out[-1]) == len(sampler)
    return out


@pytest.mark.parametrize("n,replicas", [(10, 2), (11, 2), (10, 3), (7, 4), (2, 5), (1, 1),
                                        (0, 2), (100, 7)])
@pytest.mark.parametrize("shuffle", [True, False])
def test_each_epoch_is_covered_exactly_once(n, replicas, shuffle):
    for epoch in range(3):
        # drop_last=False: every sample at least once, the padding repeats the order's start
        padded = shares(n, replicas, epoch, shuffle=shuffle)
        assert len({len(s) for s in padded}) == 1  # every rank takes as many steps
        total = len(padded[0]) * replicas
        assert total == -(-n // replicas) * replicas  # n rounded up to a multiple
        counts = Counter(i for s in padded for i in s)
        assert set(counts) == set(range(n))
        assert sum(c - 1 for c in counts.values()) == total - n  # the padding
        # drop_last=True: disjoint shares, n rounded down to a multiple of replicas
        cut = shares(n, replicas, epoch, shuffle=shuffle, drop_last=True)
        flat = [i for s in cut for i in s]
        assert len(flat) == len(set(flat)) == n - n % replicas
        assert set(flat) <= set(range(n))
        if n % replicas == 0:  # nothing to pad or cut: the same partition either way
            assert sorted(flat) == list(range(n)) and cut == padded


def test_set_epoch_changes_the_order_and_the_seed_fixes_it():
    first, again = shares(50, 2, epoch=0), shares(50, 2, epoch=0)
    assert first == again  # deterministic: every rank can compute every other's share
    second = shares(50, 2, epoch=1)
    assert second != first and sorted(sum(second, [])) == list(range(50))
    assert shares(50, 2, epoch=0, seed=1) != first
    # seed + epoch is what counts (as torch)
    assert shares(50, 2, epoch=1, seed=0) == shares(50, 2, epoch=0, seed=1)
    assert shares(50, 2, shuffle=False) == [list(range(0, 50, 2)), list(range(1, 50, 2))]
    # without set_epoch every epoch has the same order
    sampler = DistributedSampler(range(20), num_replicas=2, rank=1)
    assert list(sampler) == list(sampler)


def test_a_loader_with_the_sampler_gives_each_rank_its_batches():
    data = TensorDataset(tg.arange(10).float(), tg.arange(10))
    seen = []
    for rank in range(2):
        sampler = DistributedSampler(data, num_replicas=2, rank=rank, shuffle=False)
        loader = DataLoader(data, batch_size=2, sampler=sampler)
        assert len(loader) == 3
        seen.append([y.tolist() for _, y in loader])
    assert seen == [[[0, 2], [4, 6], [8]], [[1, 3], [5, 7], [9]]]


def test_rank_errors_as_pytorch():
    for rank in (2, -1):
        with pytest.raises(ValueError, match=r"Invalid rank .*, rank should be in the "
                                             r"interval \[0, 1\]"):
            DistributedSampler(range(4), num_replicas=2, rank=rank)


def test_without_a_process_group_the_defaults_are_torchs_error():
    if tg.distributed.is_initialized():
        pytest.skip("a process group is open in this process")
    for options in ({}, {"num_replicas": 2}, {"rank": 0}):
        with pytest.raises(ValueError, match="Default process group has not been "
                                             "initialized, please make sure to call "
                                             "init_process_group"):
            DistributedSampler(range(4), **options)


def test_the_permutation_and_the_partition_are_pytorchs():
    torch = pytest.importorskip("torch")
    for n, seed in [(0, 0), (1, 3), (2, 7), (10, 0), (97, 5), (1000, 2**32 + 17), (50, -1)]:
        g = torch.Generator()
        g.manual_seed(seed)
        assert torch_randperm(n, seed) == torch.randperm(n, generator=g).tolist(), (n, seed)
    from torch.utils.data import DistributedSampler as TorchSampler

    for n, replicas, drop_last, shuffle in [(11, 3, False, True), (11, 3, True, True),
                                            (2, 5, False, True), (9, 2, False, False),
                                            (9, 2, True, False)]:
        for rank in range(replicas):
            ours = DistributedSampler(range(n), replicas, rank, shuffle, 4, drop_last)
            theirs = TorchSampler(range(n), replicas, rank, shuffle, 4, drop_last)
            ours.set_epoch(3)
            theirs.set_epoch(3)
            assert list(ours) == list(theirs) and len(ours) == len(theirs)
