"""Dataset, TensorDataset, Subset, random_split, DataLoader and default_collate."""

from collections import namedtuple

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.data import (
    DataLoader,
    Dataset,
    Subset,
    TensorDataset,
    default_collate,
    random_split,
)


def numbered(n: int) -> TensorDataset:
    """Sample i is (i as float32 row [i, i], i as int64)."""
    x = np.repeat(np.arange(n, dtype=np.float32)[:, None], 2, axis=1)
    return TensorDataset(tg.from_numpy(x), tg.from_numpy(np.arange(n, dtype=np.int64)))


def epoch_labels(loader) -> list[np.ndarray]:
    return [y.numpy().copy() for _, y in loader]


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
def test_tensor_dataset_items_and_len():
    ds = numbered(5)
    assert len(ds) == 5
    x, y = ds[3]
    assert x.numpy().tolist() == [3.0, 3.0] and y.item() == 3
    assert ds[-1][1].item() == 4


def test_tensor_dataset_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="same first dimension"):
        TensorDataset(tg.zeros(3, 2), tg.zeros(4))
    with pytest.raises(TypeError):
        TensorDataset([1, 2, 3])
    with pytest.raises(ValueError):
        TensorDataset()


def test_subset_maps_indices_and_checks_range():
    ds = numbered(10)
    sub = Subset(ds, [7, 2, 9])
    assert len(sub) == 3
    assert [sub[i][1].item() for i in range(3)] == [7, 2, 9]
    x, y = sub.get_batch(np.array([2, 0]))
    assert y.numpy().tolist() == [9, 7]
    with pytest.raises(IndexError):
        Subset(ds, [0, 10])


# ---------------------------------------------------------------------------------------------
# DataLoader
# ---------------------------------------------------------------------------------------------
def test_order_without_shuffle_and_len():
    loader = DataLoader(numbered(10), batch_size=3)
    assert len(loader) == 4
    batches = list(loader)
    assert [b[1].numpy().tolist() for b in batches] == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    x, y = batches[0]
    assert x.shape == (3, 2) and x.dtype == tg.float32 and y.dtype == tg.int64
    assert x.numpy()[:, 0].tolist() == [0.0, 1.0, 2.0]


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


def test_shuffle_is_a_permutation_and_changes_every_epoch():
    tg.manual_seed(0)
    loader = DataLoader(numbered(50), batch_size=8, shuffle=True)
    first = np.concatenate(epoch_labels(loader))
    second = np.concatenate(epoch_labels(loader))
    assert sorted(first.tolist()) == list(range(50))
    assert sorted(second.tolist()) == list(range(50))
    assert not np.array_equal(first, np.arange(50))
    assert not np.array_equal(first, second)


def test_shuffle_keeps_samples_and_labels_together():
    loader = DataLoader(numbered(20), batch_size=6, shuffle=True, seed=3)
    for x, y in loader:
        np.testing.assert_array_equal(x.numpy()[:, 1], y.numpy().astype(np.float32))


def test_seed_makes_the_epoch_sequence_reproducible():
    def two_epochs(seed):
        loader = DataLoader(numbered(30), batch_size=7, shuffle=True, seed=seed)
        return [np.concatenate(epoch_labels(loader)) for _ in range(2)]

    a, b, c = two_epochs(123), two_epochs(123), two_epochs(124)
    for ea, eb in zip(a, b):
        np.testing.assert_array_equal(ea, eb)
    assert not np.array_equal(a[0], a[1])
    assert not np.array_equal(a[0], c[0])


def test_manual_seed_makes_shuffling_reproducible():
    loader = DataLoader(numbered(30), batch_size=30, shuffle=True)
    tg.manual_seed(7)
    first = epoch_labels(loader)[0]
    tg.manual_seed(7)
    again = epoch_labels(loader)[0]
    tg.manual_seed(8)
    other = epoch_labels(loader)[0]
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_fast_path_batches_by_index_not_sample_by_sample():
    class NoItems(TensorDataset):
        def __getitem__(self, index):
            raise AssertionError("the fast path must not fetch samples one by one")

    base = numbered(10)
    loader = DataLoader(NoItems(*base.tensors), batch_size=4, shuffle=True, seed=0)
    assert sorted(np.concatenate(epoch_labels(loader)).tolist()) == list(range(10))


def test_fast_path_equals_sample_by_sample_path():
    ds = numbered(11)
    fast = list(DataLoader(ds, batch_size=4, shuffle=True, seed=5))
    slow = list(DataLoader(ds, batch_size=4, shuffle=True, seed=5, collate_fn=default_collate))
    assert len(fast) == len(slow) == 3
    for (fx, fy), (sx, sy) in zip(fast, slow):
        assert fx.shape == sx.shape and fx.dtype == sx.dtype and fy.dtype == sy.dtype
        np.testing.assert_array_equal(fx.numpy(), sx.numpy())
        np.testing.assert_array_equal(fy.numpy(), sy.numpy())


def test_loader_over_random_split_subsets_uses_fast_path():
    train, _ = random_split(numbered(20), [15, 5], generator=0)
    x, y = next(iter(DataLoader(train, batch_size=15)))
    assert x.shape == (15, 2)
    np.testing.assert_array_equal(y.numpy(), train.indices)


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


@pytest.mark.parametrize("bad", [2.5, None, True, "4"])
def test_bad_batch_size_type(bad):
    with pytest.raises(TypeError, match="batch_size"):
        DataLoader(numbered(3), batch_size=bad)


def test_other_argument_errors():
    with pytest.raises(TypeError, match="__len__"):
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


def test_batches_stay_on_the_tensors_device(device):
    ds = TensorDataset(tg.arange(10).to(device), tg.ones(10, 3).to(device))
    y, x = next(iter(DataLoader(ds, batch_size=4, shuffle=True, seed=0)))
    assert y.device == tg.device(device) and x.device == tg.device(device)
    assert x.shape == (4, 3) and len(set(y.cpu().numpy().tolist())) == 4
    slow = next(iter(DataLoader(ds, batch_size=4, collate_fn=default_collate)))
    assert slow[0].device == tg.device(device)
    assert slow[0].cpu().numpy().tolist() == [0, 1, 2, 3]


# ---------------------------------------------------------------------------------------------
# default_collate
# ---------------------------------------------------------------------------------------------
def test_collate_tuples_of_tensors_and_numbers():
    batch = [(tg.tensor([1.0, 2.0]), 3, 0.5, True), (tg.tensor([4.0, 5.0]), 6, 1.5, False)]
    x, ints, floats, bools = default_collate(batch)
    assert x.shape == (2, 2) and x.numpy().tolist() == [[1.0, 2.0], [4.0, 5.0]]
    assert ints.dtype == tg.int64 and ints.numpy().tolist() == [3, 6]
    assert floats.dtype == tg.float32 and floats.numpy().tolist() == [0.5, 1.5]
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
    assert point.x.numpy().tolist() == [1, 3] and point.y.dtype == tg.float32
    assert names == ["a", "b"]


def test_collate_numpy_scalars_keep_dtype():
    out = default_collate([np.float64(1.5), np.float64(2.0)])
    assert out.dtype == tg.float64 and out.numpy().tolist() == [1.5, 2.0]


def test_collate_errors():
    with pytest.raises(ValueError, match="different shapes"):
        default_collate([tg.zeros(2), tg.zeros(3)])
    with pytest.raises(ValueError, match="empty"):
        default_collate([])
    with pytest.raises(ValueError, match="fields"):
        default_collate([(1, 2), (1, 2, 3)])
    with pytest.raises(TypeError, match="object"):
        default_collate([object(), object()])
    with pytest.raises(TypeError, match="int16"):
        default_collate([np.zeros(2, np.int16)] * 2)


# ---------------------------------------------------------------------------------------------
# random_split
# ---------------------------------------------------------------------------------------------
def test_random_split_lengths_disjoint_and_complete():
    a, b = random_split(numbered(10), [6, 4], generator=1)
    assert (len(a), len(b)) == (6, 4)
    ia, ib = set(a.indices.tolist()), set(b.indices.tolist())
    assert not ia & ib and ia | ib == set(range(10))
    assert a[0][1].item() == a.indices[0]


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
