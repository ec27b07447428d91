"""Dataset, TensorDataset, Subset, random_split, DataLoader and default_collate (the
PyTorch-shaped snippets are in tests/compat/test_utils_data.py).

Most tests run on both devices: a TensorDataset of "cuda" tensors gives "cuda" batches, gathered
on the GPU with one index array per batch, while the epoch order is always a host array.
"""

import gc
import multiprocessing
import os
import random
import time
from collections import namedtuple

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.utils.data import (
    BatchSampler,
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    SequentialSampler,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    default_collate,
    get_worker_info,
    random_split,
)


def numbered(n: int, device: str = "cpu") -> TensorDataset:
    """Sample i is (i as float32 row [i, i], i as int64), on `device`."""
    x = np.repeat(np.arange(n, dtype=np.float32)[:, None], 2, axis=1)
    return TensorDataset(tg.from_numpy(x).to(device),
                         tg.from_numpy(np.arange(n, dtype=np.int64)).to(device))


def host(t: tg.Tensor) -> np.ndarray:
    """A tensor's values as a NumPy array, read back explicitly from any device."""
    return tg.backend.to_numpy(t.array).copy()


def epoch_labels(loader) -> list[np.ndarray]:
    return [host(y) for _, y in loader]


def count_calls(monkeypatch, module, name: str) -> list:
    """Record the arguments of every call to `module.name` (the function still runs)."""
    calls, original = [], getattr(module, name)

    def spy(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, spy)
    return calls


class ListDataset(Dataset):
    """No fast path: samples come one by one, as (HxW float32 array, int label)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.calls = 0

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int):
        self.calls += 1
        return np.full((2, 3), i, dtype=np.float32), i


# ---------------------------------------------------------------------------------------------
# TensorDataset / Subset
# ---------------------------------------------------------------------------------------------
def test_tensor_dataset_items_and_len(device):
    ds = numbered(5, device)
    assert len(ds) == 5
    x, y = ds[3]
    assert x.device == tg.device(device) and y.device == tg.device(device)
    assert x.tolist() == [3.0, 3.0] and y.item() == 3
    assert ds[-1][1].item() == 4


def test_tensor_dataset_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="same first dimension"):
        TensorDataset(tg.zeros(3, 2), tg.zeros(4))
    with pytest.raises(TypeError):
        TensorDataset([1, 2, 3])
    with pytest.raises(ValueError):
        TensorDataset()


def test_subset_maps_indices_and_checks_range(device):
    ds = numbered(10, device)
    sub = Subset(ds, [7, 2, 9])
    assert len(sub) == 3
    assert [sub[i][1].item() for i in range(3)] == [7, 2, 9]
    x, y = sub.get_batch(np.array([2, 0]))
    assert x.device == y.device == tg.device(device)
    assert host(y).tolist() == [9, 7] and host(x).tolist() == [[9.0, 9.0], [7.0, 7.0]]
    with pytest.raises(IndexError, match="Subset"):
        Subset(ds, [0, 10])
    with pytest.raises(IndexError, match="Subset.get_batch"):
        sub.get_batch(np.array([3]))
    # indices given as a tensor on the device are read back explicitly (a one-off setup step)
    assert Subset(ds, tg.tensor([4, 1]).to(device)).indices.tolist() == [4, 1]


def test_get_batch_checks_its_indices(device):
    ds = numbered(4, device)
    with pytest.raises(IndexError, match="TensorDataset.get_batch: index 4 is out of range"):
        ds.get_batch(np.array([0, 4]))
    with pytest.raises(IndexError, match="index -5"):
        ds.get_batch(np.array([-5]))
    with pytest.raises(TypeError, match="1-D integer"):
        ds.get_batch(np.array([0.5]))
    with pytest.raises(TypeError, match="1-D integer"):
        ds.get_batch(np.zeros((1, 1), np.int64))
    x, y = ds.get_batch(np.array([-1, 0], dtype=np.int32))
    assert host(y).tolist() == [3, 0] and y.dtype == tg.int64
    # indices already on the data's device: checked only where reading them back is allowed
    on_device = tg.tensor([1, 9]).to(device)
    if device == "cpu":
        with pytest.raises(IndexError, match="index 9"):
            ds.get_batch(on_device)
    with tg.autograd.detect_anomaly(), pytest.raises(IndexError, match="index 9"):
        ds.get_batch(on_device)
    assert host(ds.get_batch(tg.tensor([2, 1]).to(device))[1]).tolist() == [2, 1]


# ---------------------------------------------------------------------------------------------
# DataLoader
# ---------------------------------------------------------------------------------------------
def test_order_without_shuffle_and_len(device):
    loader = DataLoader(numbered(10, device), batch_size=3)
    assert len(loader) == 4
    batches = list(loader)
    assert [host(b[1]).tolist() for b in batches] == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    x, y = batches[0]
    assert x.shape == (3, 2) and x.dtype == tg.float32 and y.dtype == tg.int64
    assert x.device == y.device == tg.device(device)
    assert host(x)[:, 0].tolist() == [0.0, 1.0, 2.0]


def test_drop_last():
    loader = DataLoader(numbered(10), batch_size=3, drop_last=True)
    assert len(loader) == 3
    sizes = [len(y) for _, y in loader]
    assert sizes == [3, 3, 3]
    assert len(DataLoader(numbered(9), batch_size=3, drop_last=True)) == 3
    assert len(DataLoader(numbered(2), batch_size=3, drop_last=True)) == 0
    assert list(DataLoader(numbered(2), batch_size=3, drop_last=True)) == []


def test_iter_next_enumerate():
    loader = DataLoader(numbered(5), batch_size=2)
    it = iter(loader)
    assert next(it)[1].numpy().tolist() == [0, 1]
    assert next(it)[1].numpy().tolist() == [2, 3]
    assert next(it)[1].numpy().tolist() == [4]
    with pytest.raises(StopIteration):
        next(it)
    assert [i for i, _ in enumerate(loader)] == [0, 1, 2]


def test_shuffle_is_a_permutation_and_changes_every_epoch(device):
    tg.manual_seed(0)
    loader = DataLoader(numbered(50, device), batch_size=8, shuffle=True)
    first = np.concatenate(epoch_labels(loader))
    second = np.concatenate(epoch_labels(loader))
    assert sorted(first.tolist()) == list(range(50))
    assert sorted(second.tolist()) == list(range(50))
    assert not np.array_equal(first, np.arange(50))
    assert not np.array_equal(first, second)


def test_shuffle_keeps_samples_and_labels_together(device):
    loader = DataLoader(numbered(20, device), batch_size=6, shuffle=True, seed=3)
    for x, y in loader:
        np.testing.assert_array_equal(host(x)[:, 1], host(y).astype(np.float32))


def test_seed_makes_the_epoch_sequence_reproducible():
    def two_epochs(seed):
        loader = DataLoader(numbered(30), batch_size=7, shuffle=True, seed=seed)
        return [np.concatenate(epoch_labels(loader)) for _ in range(2)]

    a, b, c = two_epochs(123), two_epochs(123), two_epochs(124)
    for ea, eb in zip(a, b):
        np.testing.assert_array_equal(ea, eb)
    assert not np.array_equal(a[0], a[1])
    assert not np.array_equal(a[0], c[0])


def test_manual_seed_makes_shuffling_reproducible(device):
    loader = DataLoader(numbered(30, device), batch_size=30, shuffle=True)
    tg.manual_seed(7)
    first = epoch_labels(loader)[0]
    tg.manual_seed(7)
    again = epoch_labels(loader)[0]
    tg.manual_seed(8)
    other = epoch_labels(loader)[0]
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_fast_path_batches_by_index_not_sample_by_sample(device):
    class NoItems(TensorDataset):
        def __getitem__(self, index):
            raise AssertionError("the fast path must not fetch samples one by one")

    base = numbered(10, device)
    loader = DataLoader(NoItems(*base.tensors), batch_size=4, shuffle=True, seed=0)
    assert sorted(np.concatenate(epoch_labels(loader)).tolist()) == list(range(10))


def test_fast_path_equals_sample_by_sample_path(device):
    ds = numbered(11, device)
    fast = list(DataLoader(ds, batch_size=4, shuffle=True, seed=5))
    slow = list(DataLoader(ds, batch_size=4, shuffle=True, seed=5, collate_fn=default_collate))
    assert len(fast) == len(slow) == 3
    for (fx, fy), (sx, sy) in zip(fast, slow):
        assert fx.shape == sx.shape and fx.dtype == sx.dtype and fy.dtype == sy.dtype
        assert fx.device == sx.device == tg.device(device)
        np.testing.assert_array_equal(host(fx), host(sx))
        np.testing.assert_array_equal(host(fy), host(sy))


def test_loader_over_random_split_subsets_uses_fast_path(device):
    train, _ = random_split(numbered(20, device), [15, 5], generator=0)
    x, y = next(iter(DataLoader(train, batch_size=15)))
    assert x.shape == (15, 2) and x.device == y.device == tg.device(device)
    np.testing.assert_array_equal(host(y), train.indices)


def test_dataset_without_fast_path_is_collated():
    ds = ListDataset(5)
    loader = DataLoader(ds, batch_size=2)
    x, y = next(iter(loader))
    assert ds.calls == 2
    assert x.shape == (2, 2, 3) and x.dtype == tg.float32
    assert y.dtype == tg.int64 and y.numpy().tolist() == [0, 1]
    assert x.numpy()[1].tolist() == [[1.0] * 3] * 2


def test_custom_collate_fn_sees_the_samples():
    seen = []

    def collate(samples):
        seen.append(len(samples))
        return [int(s[1].item()) for s in samples]

    batches = list(DataLoader(numbered(5), batch_size=2, collate_fn=collate))
    assert batches == [[0, 1], [2, 3], [4]]
    assert seen == [2, 2, 1]


@pytest.mark.parametrize("bad", [0, -3])
def test_bad_batch_size_value(bad):
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(numbered(3), batch_size=bad)


@pytest.mark.parametrize("bad", [2.5, True, "4"])
def test_bad_batch_size_type(bad):
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        DataLoader(numbered(3), batch_size=bad)


def test_other_argument_errors():
    with pytest.raises(TypeError, match="__getitem__"):
        DataLoader(iter([1, 2, 3]))
    with pytest.raises(TypeError, match="collate_fn"):
        DataLoader(numbered(3), collate_fn=5)
    with pytest.raises(TypeError, match="seed"):
        DataLoader(numbered(3), seed=1.5)
    with pytest.raises(ValueError, match="num_workers"):
        DataLoader(numbered(3), num_workers=-1)


def test_empty_dataset():
    loader = DataLoader(ListDataset(0), batch_size=4, shuffle=True)
    assert len(loader) == 0
    assert list(loader) == []


def test_batches_stay_on_the_tensors_device(device, no_host_sync):
    ds = TensorDataset(tg.arange(10).to(device), tg.ones(10, 3).to(device))
    with no_host_sync():  # building batches never reads values back from the GPU
        y, x = next(iter(DataLoader(ds, batch_size=4, shuffle=True, seed=0)))
        slow = next(iter(DataLoader(ds, batch_size=4, collate_fn=default_collate)))
    assert y.device == tg.device(device) and x.device == tg.device(device)
    assert x.shape == (4, 3) and len(set(y.cpu().numpy().tolist())) == 4
    assert slow[0].device == tg.device(device)
    assert slow[0].cpu().numpy().tolist() == [0, 1, 2, 3]


def test_device_batches_take_one_index_copy_per_batch(device, monkeypatch, no_host_sync):
    """A TensorDataset of two GPU tensors: each batch is two gathers on the GPU that share ONE
    host-to-device copy of the batch's indices (not one per tensor, nor one per sample)."""
    ds = TensorDataset(tg.arange(10).to(device), tg.ones(10, 3).to(device))
    loader = DataLoader(ds, batch_size=4, shuffle=True, seed=0)
    moves = count_calls(monkeypatch, tg.backend, "to_device")
    getitems = count_calls(monkeypatch, ds, "__getitem__")
    with no_host_sync():
        batches = list(loader)
    assert len(batches) == 3 and getitems == []
    expected = len(batches) if device != "cpu" else 0  # on the CPU nothing moves
    assert len(moves) == expected
    assert all(isinstance(args[0], np.ndarray) and args[1] == tg.device(device)
               for args in moves)
    assert all(t.device == tg.device(device) for batch in batches for t in batch)


def test_cpu_batch_to_device_is_one_copy_per_tensor(device, monkeypatch, no_host_sync):
    """The PyTorch pattern: a CPU dataset gives CPU batches, the loop moves each with .to()."""
    loader = DataLoader(numbered(6), batch_size=4, shuffle=True, seed=1)
    moves = count_calls(monkeypatch, tg.backend, "to_device")
    per_batch = []
    with no_host_sync():
        for x, y in loader:
            assert x.device == tg.device("cpu")
            before = len(moves)
            x, y = x.to(device), y.to(device)
            per_batch.append(len(moves) - before)
            assert x.device == y.device == tg.device(device)
    assert per_batch == ([2, 2] if device != "cpu" else [0, 0])  # x and y, once each
    assert len(moves) == sum(per_batch)  # building the CPU batches moved nothing


def test_order_is_drawn_on_the_cpu_for_every_device(device):
    """The epoch order comes from tg's seeded CPU generator whatever device holds the data: the
    same seed gives the same batches on every device, and the device's own generator (which
    dropout and randn use) is left alone."""
    tg.manual_seed(5)
    on_cpu = epoch_labels(DataLoader(numbered(12), batch_size=5, shuffle=True))
    after_cpu = tg.rand(2).tolist()
    tg.manual_seed(5)
    on_device = epoch_labels(DataLoader(numbered(12, device), batch_size=5, shuffle=True))
    assert tg.rand(2).tolist() == after_cpu  # the loader drew from the CPU generator, once
    for a, b in zip(on_cpu, on_device, strict=True):
        np.testing.assert_array_equal(a, b)
    if device != "cpu":  # ... and not from the GPU's generator
        tg.manual_seed(5)
        fresh = tg.rand(3, device="cuda").tolist()
        tg.manual_seed(5)
        list(DataLoader(numbered(12, device), batch_size=5, shuffle=True))
        assert tg.rand(3, device="cuda").tolist() == fresh


def test_collate_keeps_device_and_refuses_mixed_devices(device):
    a, b = tg.tensor([1.0, 2.0]).to(device), tg.tensor([3.0, 4.0]).to(device)
    out = default_collate([(a, 0), (b, 1)])
    assert out[0].device == tg.device(device) and host(out[0]).tolist() == [[1, 2], [3, 4]]
    assert out[1].device == tg.device("cpu")  # Python numbers are host data
    if device != "cpu":
        with pytest.raises(RuntimeError, match="different devices"):
            default_collate([a, tg.tensor([0.0, 0.0])])


# ---------------------------------------------------------------------------------------------
# default_collate
# ---------------------------------------------------------------------------------------------
def test_collate_tuples_of_tensors_and_numbers():
    batch = [(tg.tensor([1.0, 2.0]), 3, 0.5, True), (tg.tensor([4.0, 5.0]), 6, 1.5, False)]
    out = default_collate(batch)
    assert isinstance(out, list)  # a tuple sample gives a list batch, as in PyTorch
    x, ints, floats, bools = out
    assert x.shape == (2, 2) and x.numpy().tolist() == [[1.0, 2.0], [4.0, 5.0]]
    assert ints.dtype == tg.int64 and ints.numpy().tolist() == [3, 6]
    assert floats.dtype == tg.float64 and floats.numpy().tolist() == [0.5, 1.5]  # as PyTorch
    assert bools.dtype == tg.bool and bools.numpy().tolist() == [True, False]


def test_collate_numbers_mixing_int_and_float_gives_float32():
    out = default_collate([1, 2.5])
    assert out.dtype == tg.float32 and out.numpy().tolist() == [1.0, 2.5]


def test_collate_nested_containers():
    Point = namedtuple("Point", "x y")
    batch = [{"img": np.zeros((2, 2), np.uint8), "meta": [Point(1, 2.0), "a"]},
             {"img": np.ones((2, 2), np.uint8), "meta": [Point(3, 4.0), "b"]}]
    out = default_collate(batch)
    assert set(out) == {"img", "meta"}
    assert out["img"].shape == (2, 2, 2) and out["img"].dtype == tg.uint8
    point, names = out["meta"]
    assert isinstance(point, Point)
    assert point.x.numpy().tolist() == [1, 3] and point.y.dtype == tg.float64
    assert names == ("a", "b")  # as PyTorch: the strings as zip(*samples) gives them


def test_collate_numpy_scalars_keep_dtype():
    out = default_collate([np.float64(1.5), np.float64(2.0)])
    assert out.dtype == tg.float64 and out.numpy().tolist() == [1.5, 2.0]


def test_collate_errors():
    with pytest.raises(RuntimeError, match=r"equal size, but got \[2\] at entry 0 and \[3\]"):
        default_collate([tg.zeros(2), tg.zeros(3)])
    with pytest.raises(IndexError, match="empty"):
        default_collate([])
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([(1, 2), (1, 2, 3)])
    with pytest.raises(TypeError, match="object"):
        default_collate([object(), object()])
    with pytest.raises(TypeError, match="int16"):
        default_collate([np.zeros(2, np.int16)] * 2)


# ---------------------------------------------------------------------------------------------
# random_split
# ---------------------------------------------------------------------------------------------
def test_random_split_lengths_disjoint_and_complete(device):
    a, b = random_split(numbered(10, device), [6, 4], generator=1)
    assert (len(a), len(b)) == (6, 4)
    assert isinstance(a.indices, np.ndarray)  # subset indices are host data
    ia, ib = set(a.indices.tolist()), set(b.indices.tolist())
    assert not ia & ib and ia | ib == set(range(10))
    x, y = a[0]
    assert y.device == tg.device(device) and y.item() == a.indices[0]
    assert x.tolist() == [float(a.indices[0])] * 2


def test_random_split_same_split_on_every_device(device):
    tg.manual_seed(4)
    on_cpu = [p.indices.tolist() for p in random_split(numbered(9), [0.5, 0.5])]
    tg.manual_seed(4)
    parts = random_split(numbered(9, device), [0.5, 0.5])
    assert [p.indices.tolist() for p in parts] == on_cpu
    x, y = next(iter(DataLoader(parts[1], batch_size=9)))
    assert y.device == tg.device(device) and host(y).tolist() == on_cpu[1]


def test_random_split_fractions_as_pytorch():
    parts = random_split(numbered(11), [0.7, 0.2, 0.1], generator=0)
    assert [len(p) for p in parts] == [8, 2, 1]
    assert sorted(np.concatenate([p.indices for p in parts]).tolist()) == list(range(11))


def test_random_split_is_reproducible():
    def split(gen):
        return [p.indices.tolist() for p in random_split(numbered(40), [0.5, 0.5], generator=gen)]

    assert split(3) == split(3)
    assert split(3) != split(4)
    assert split(np.random.default_rng(9)) == split(np.random.default_rng(9))
    tg.manual_seed(2)
    first = split(None)
    tg.manual_seed(2)
    assert split(None) == first


def test_random_split_errors():
    with pytest.raises(ValueError, match="sum"):
        random_split(numbered(10), [5, 4])
    with pytest.raises(ValueError, match="sum to 1"):
        random_split(numbered(10), [0.5, 0.4])
    with pytest.raises(ValueError, match="non-negative"):
        random_split(numbered(10), [12, -2])
    with pytest.raises(TypeError, match="generator"):
        random_split(numbered(10), [5, 5], generator="seed")


# ---------------------------------------------------------------------------------------------
# Samplers
# ---------------------------------------------------------------------------------------------
def test_sequential_and_batch_samplers():
    assert list(SequentialSampler(range(4))) == [0, 1, 2, 3]
    batches = BatchSampler(SequentialSampler(range(10)), batch_size=3, drop_last=False)
    assert list(batches) == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]] and len(batches) == 4
    dropped = BatchSampler(range(10), batch_size=3, drop_last=True)
    assert list(dropped) == [[0, 1, 2], [3, 4, 5], [6, 7, 8]] and len(dropped) == 3


def test_random_sampler_draws_a_new_permutation_every_epoch():
    sampler = RandomSampler(range(20), generator=0)
    first, second = list(sampler), list(sampler)
    assert sorted(first) == sorted(second) == list(range(20))
    assert first != second and first != list(range(20))
    assert all(type(i) is int for i in first)
    assert list(RandomSampler(range(20), generator=0)) == first  # same seed, same epochs
    tg.manual_seed(3)
    global_order = list(RandomSampler(range(20)))
    tg.manual_seed(3)
    assert list(RandomSampler(range(20))) == global_order


def test_random_sampler_replacement_and_num_samples():
    drawn = list(RandomSampler(range(5), replacement=True, num_samples=50, generator=1))
    assert len(drawn) == 50 and set(drawn) <= set(range(5)) and len(set(drawn)) < len(drawn)
    longer = RandomSampler(range(5), num_samples=12, generator=2)  # permutations end to end
    order = list(longer)
    assert len(longer) == 12 and len(order) == 12
    assert sorted(order[:5]) == sorted(order[5:10]) == list(range(5))
    assert len(set(order[10:])) == 2


def test_subset_random_sampler():
    sampler = SubsetRandomSampler([7, 3, 9, 1], generator=0)
    epochs = [list(sampler) for _ in range(5)]
    assert all(sorted(e) == [1, 3, 7, 9] for e in epochs) and len(sampler) == 4
    assert len({tuple(e) for e in epochs}) > 1


def test_weighted_random_sampler_follows_the_weights():
    sampler = WeightedRandomSampler([0.0, 1.0, 0.0, 3.0], num_samples=4000, generator=0)
    counts = np.bincount(list(sampler), minlength=4)
    assert counts[0] == counts[2] == 0 and len(sampler) == 4000
    assert 0.70 < counts[3] / 4000 < 0.80
    once = list(WeightedRandomSampler(tg.tensor([0.0, 1.0, 0.0, 3.0]), 2, replacement=False))
    assert sorted(once) == [1, 3]


def test_sampler_errors():
    with pytest.raises(TypeError, match="replacement should be a boolean"):
        RandomSampler(range(3), replacement=1)
    with pytest.raises(ValueError, match="num_samples should be a positive integer"):
        RandomSampler(range(3), num_samples=0)
    with pytest.raises(TypeError, match="generator"):
        RandomSampler(range(3), generator="seed")
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        BatchSampler(range(3), 0, False)
    with pytest.raises(ValueError, match="drop_last should be a boolean"):
        BatchSampler(range(3), 2, "no")
    with pytest.raises(ValueError, match=r"1d sequence but given weights have shape \(2, 2\)"):
        WeightedRandomSampler([[1, 2], [3, 4]], 2)
    with pytest.raises(RuntimeError, match="invalid multinomial"):
        WeightedRandomSampler([1.0, -1.0], 2)
    with pytest.raises(RuntimeError, match="without replacement from 1 non-zero"):
        WeightedRandomSampler([0.0, 1.0], 2, replacement=False)
    with pytest.raises(ValueError, match="replacement should be a boolean"):
        WeightedRandomSampler([1.0], 1, replacement="yes")


def test_loader_with_sampler_and_batch_sampler():
    ds = numbered(10)
    loader = DataLoader(ds, batch_size=4, sampler=[9, 8, 7, 6, 5])
    assert [host(y).tolist() for _, y in loader] == [[9, 8, 7, 6], [5]] and len(loader) == 2
    loader = DataLoader(ds, batch_sampler=[[1, 2], [0], [5, 4, 3]])
    assert [host(y).tolist() for _, y in loader] == [[1, 2], [0], [5, 4, 3]]
    assert loader.batch_size is None and len(loader) == 3


def test_batch_size_none_gives_one_converted_sample_at_a_time():
    items = list(DataLoader(ListDataset(3), batch_size=None))
    x, y = items[2]
    assert isinstance(x, tg.Tensor) and x.shape == (2, 3) and y == 2  # no batch dimension


def test_loader_option_errors_as_pytorch():
    ds = numbered(4)
    cases = [
        (dict(sampler=[0, 1], shuffle=True), "sampler option is mutually exclusive with shuffle"),
        (dict(batch_sampler=[[0]], batch_size=2), "batch_sampler option is mutually exclusive"),
        (dict(batch_sampler=[[0]], drop_last=True), "batch_sampler option is mutually exclusive"),
        (dict(batch_size=None, drop_last=True), "mutually exclusive with drop_last"),
        (dict(prefetch_factor=2), "prefetch_factor option could only be specified"),
        (dict(persistent_workers=True), "persistent_workers option needs num_workers > 0"),
        (dict(multiprocessing_context="fork"), "can only be used with multi-process loading"),
        (dict(num_workers=1, multiprocessing_context="nope"), "valid start method"),
        (dict(timeout=-1), "timeout option should be non-negative"),
        (dict(seed=1, generator=2), "generator or seed"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValueError, match=message):
            DataLoader(ds, **kwargs)
    with pytest.raises(ValueError, match="expected unspecified shuffle option"):
        DataLoader(Counting(3), shuffle=True)
    with pytest.raises(ValueError, match="expected unspecified sampler option"):
        DataLoader(Counting(3), sampler=[0])


def test_generator_and_seed_give_the_same_reproducible_orders():
    def orders(**kwargs):
        loader = DataLoader(numbered(12), batch_size=12, shuffle=True, **kwargs)
        return [host(next(iter(loader))[1]).tolist() for _ in range(2)]

    assert orders(generator=np.random.default_rng(5)) == orders(generator=5) == orders(seed=5)
    first, second = orders(generator=5)
    assert first != second


# ---------------------------------------------------------------------------------------------
# ConcatDataset, IterableDataset
# ---------------------------------------------------------------------------------------------
def test_concat_dataset():
    a, b = numbered(3), ListDataset(2)
    both = a + b
    assert isinstance(both, ConcatDataset) and len(both) == 5 and both.cumulative_sizes == [3, 5]
    assert both[2][1].item() == 2 and both[3][1] == 0 and both[-1][1] == 1
    with pytest.raises(IndexError, match="out of range"):
        both[5]
    with pytest.raises(ValueError, match="should not exceed dataset length"):
        both[-6]
    with pytest.raises(AssertionError, match="empty"):
        ConcatDataset([])
    with pytest.raises(AssertionError, match="IterableDataset"):
        ConcatDataset([a, Counting(2)])
    x, y = next(iter(DataLoader(ConcatDataset([numbered(2), numbered(2)]), batch_size=4)))
    assert host(y).tolist() == [0, 1, 0, 1] and x.shape == (4, 2)


class Counting(IterableDataset):
    """0, 1, ..., n - 1; with workers, each takes every num_workers-th number (sharding)."""

    def __init__(self, n: int, shard: bool = True) -> None:
        self.n, self.shard = n, shard

    def __iter__(self):
        info = get_worker_info()
        if info is None or not self.shard:
            return iter(range(self.n))
        return iter(range(info.id, self.n, info.num_workers))

    def __len__(self) -> int:
        return self.n


def test_iterable_dataset_in_one_process():
    loader = DataLoader(Counting(7), batch_size=3)
    assert [b.tolist() for b in loader] == [[0, 1, 2], [3, 4, 5], [6]] and len(loader) == 3
    dropped = DataLoader(Counting(7), batch_size=3, drop_last=True)
    assert [b.tolist() for b in dropped] == [[0, 1, 2], [3, 4, 5]] and len(dropped) == 2
    assert [b for b in DataLoader(Counting(3), batch_size=None)] == [0, 1, 2]
    chained = list(DataLoader(Counting(2) + Counting(3), batch_size=5))
    assert [b.tolist() for b in chained] == [[0, 1, 0, 1, 2]]

    class NoLength(IterableDataset):
        def __iter__(self):
            return iter([1, 2])

    with pytest.raises(TypeError):
        len(DataLoader(NoLength()))


# ---------------------------------------------------------------------------------------------
# num_workers > 0
# ---------------------------------------------------------------------------------------------
class Noisy(Dataset):
    """Sample i: (i, the worker's pid, a draw from tg's, NumPy's and Python's generators), through
    a per-sample transform (the kind of work that workers run in parallel)."""

    def __init__(self, n: int, transform=None) -> None:
        self.n, self.transform = n, transform

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int):
        x = np.full((2,), i, dtype=np.float32)
        if self.transform is not None:
            x = self.transform(x)
        return x, i, os.getpid(), tg.rand(1).item(), float(np.random.rand()), random.random()


def test_workers_give_the_same_batches_as_no_workers():
    for dataset in (numbered(23), ListDataset(23)):  # the fast path, and sample by sample
        epochs = {}
        for workers in (0, 2, 3):
            tg.manual_seed(11)
            loader = DataLoader(dataset, batch_size=4, shuffle=True, num_workers=workers)
            epochs[workers] = [[host(t) for t in batch] for batch in loader]
            assert len(epochs[workers]) == len(loader) == 6
        for workers in (2, 3):
            for ours, reference in zip(epochs[workers], epochs[0], strict=True):
                for a, b in zip(ours, reference, strict=True):
                    assert a.dtype == b.dtype and a.shape == b.shape
                    np.testing.assert_array_equal(a, b)


def test_workers_run_the_samples_pipeline_in_other_processes(device):
    doubled = []
    loader = DataLoader(Noisy(8, transform=lambda x: x * 2), batch_size=2, num_workers=2)
    for x, index, pid, *_ in loader:
        assert isinstance(x, tg.Tensor) and x.device == tg.device("cpu")
        assert x.dtype == tg.float32 and index.dtype == tg.int64
        doubled.append(host(x.to(device))[:, 0].tolist())  # the loop moves it, as with 0 workers
        assert len(set(pid.tolist())) == 1  # one worker builds a whole batch
        assert pid[0].item() != os.getpid()
    assert doubled == [[0.0, 2.0], [4.0, 6.0], [8.0, 10.0], [12.0, 14.0]]


def test_batches_alternate_between_workers_and_seeds_are_per_worker():
    def epoch():
        loader = DataLoader(Noisy(6), batch_size=1, num_workers=2)
        return [(b[2].item(), b[3].item(), b[4].item(), b[5].item()) for b in loader]

    tg.manual_seed(0)
    first = epoch()
    pids = [sample[0] for sample in first]
    assert pids[0::2] == [pids[0]] * 3 and pids[1::2] == [pids[1]] * 3 and pids[0] != pids[1]
    for source in (1, 2, 3):  # tg, NumPy and Python draws differ between the two workers
        assert first[0][source] != first[1][source]
    tg.manual_seed(0)
    again = epoch()
    assert [s[1:] for s in again] == [s[1:] for s in first]  # reproducible
    tg.manual_seed(1)
    assert [s[1:] for s in epoch()] != [s[1:] for s in first]


class WhoAmI(Dataset):
    """Sample i: what get_worker_info() says, and the tag worker_init_fn left on this copy."""

    tag = -1

    def __len__(self) -> int:
        return 4

    def __getitem__(self, i: int):
        info = get_worker_info()
        return info.id, info.num_workers, info.seed, self.tag, i


def tag_copy(worker_id: int) -> None:
    get_worker_info().dataset.tag = 100 + worker_id


def test_worker_init_fn_and_worker_info():
    assert get_worker_info() is None  # in the main process
    loader = DataLoader(WhoAmI(), batch_size=None, num_workers=2, worker_init_fn=tag_copy,
                        generator=3)
    samples = list(loader)
    ids = [s[0] for s in samples]
    assert ids == [0, 1, 0, 1] and all(s[1] == 2 for s in samples)
    assert [s[3] for s in samples] == [100, 101, 100, 101]
    assert [s[4] for s in samples] == [0, 1, 2, 3]
    seeds = {s[0]: s[2] for s in samples}
    assert seeds[1] == seeds[0] + 1  # base_seed + worker_id
    assert WhoAmI.tag == -1  # the main process's dataset is untouched


def test_iterable_dataset_sharded_between_workers():
    loader = DataLoader(Counting(10), batch_size=2, num_workers=2)
    # worker 0 has 0 2 4 6 8, worker 1 has 1 3 5 7 9; their batches alternate, as in PyTorch
    assert [b.tolist() for b in loader] == [[0, 2], [1, 3], [4, 6], [5, 7], [8], [9]]
    three = [b.tolist() for b in DataLoader(Counting(4), batch_size=1, num_workers=3)]
    assert three == [[0], [1], [2], [3]]
    unsharded = [b.item() for b in DataLoader(Counting(3, shard=False), num_workers=2)]
    assert unsharded == [0, 0, 1, 1, 2, 2]  # each worker has a full copy, as in PyTorch


class Failing(Dataset):
    def __len__(self) -> int:
        return 6

    def __getitem__(self, i: int):
        if i == 3:
            raise KeyError(f"no sample {i} here")
        return i


def test_worker_error_is_raised_in_the_main_process_with_its_traceback():
    it = iter(DataLoader(Failing(), batch_size=2, num_workers=2))
    processes = list(it.processes)
    assert next(it).tolist() == [0, 1]
    with pytest.raises(KeyError) as caught:
        next(it)
    text = str(caught.value)
    assert "Caught KeyError in DataLoader worker process 1" in text
    assert "Traceback (most recent call last)" in text and "no sample 3 here" in text
    assert "__getitem__" in text
    assert all(p.exitcode is not None for p in processes)  # shut down after the error
    with pytest.raises(StopIteration):
        next(it)


def exit_at_two(worker_id: int) -> None:
    if worker_id == 1:
        os._exit(3)


def test_a_worker_that_dies_is_reported():
    loader = DataLoader(ListDataset(6), batch_size=1, num_workers=2, worker_init_fn=exit_at_two)
    with pytest.raises(RuntimeError, match=r"DataLoader worker \(pid \d+: exit code 3\) exited"):
        list(loader)


class Slow(Dataset):
    def __len__(self) -> int:
        return 2

    def __getitem__(self, i: int):
        time.sleep(1.0)
        return i


def test_timeout():
    loader = DataLoader(Slow(), num_workers=1, timeout=0.1, prefetch_factor=1)
    with pytest.raises(RuntimeError, match="DataLoader timed out after 0.1 seconds"):
        list(loader)


def alive_children() -> set[int]:
    return {p.pid for p in multiprocessing.active_children()}


def test_workers_end_with_the_epoch_or_the_iterator():
    loader = DataLoader(numbered(10), batch_size=2, num_workers=2)
    it = iter(loader)
    processes = list(it.processes)
    assert all(p.is_alive() for p in processes)
    assert len(list(it)) == 5
    assert all(not p.is_alive() and p.exitcode == 0 for p in processes)
    assert not alive_children() & {p.pid for p in processes}  # joined: no zombies

    it = iter(loader)
    next(it)  # half an epoch, with batches still in flight
    processes = list(it.processes)
    del it
    gc.collect()
    assert all(not p.is_alive() and p.exitcode is not None for p in processes)
    assert not alive_children() & {p.pid for p in processes}


def test_persistent_workers_keep_their_processes_across_epochs():
    tg.manual_seed(4)
    plain = DataLoader(numbered(9), batch_size=4, shuffle=True)
    expected = [[host(y).tolist() for _, y in plain] for _ in range(2)]
    tg.manual_seed(4)
    loader = DataLoader(numbered(9), batch_size=4, shuffle=True, num_workers=2,
                        persistent_workers=True)
    first_it = iter(loader)
    first = [host(y).tolist() for _, y in first_it]
    second_it = iter(loader)
    assert second_it is first_it and all(p.is_alive() for p in second_it.processes)
    second = [host(y).tolist() for _, y in second_it]
    assert [first, second] == expected and first != second  # the orders of num_workers=0
    processes = list(second_it.processes)
    del loader, first_it, second_it
    gc.collect()
    assert all(not p.is_alive() for p in processes)
    iterable = DataLoader(Counting(4), batch_size=2, num_workers=2, persistent_workers=True)
    assert [[b.tolist() for b in iterable] for _ in range(2)] == [[[0, 2], [1, 3]]] * 2


def test_spawn_context_gives_the_same_batches():
    loader = DataLoader(numbered(5), batch_size=2, num_workers=1,
                        multiprocessing_context="spawn")
    assert [host(y).tolist() for _, y in loader] == [[0, 1], [2, 3], [4]]
