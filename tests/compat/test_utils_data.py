"""torch.utils.data as `tinygrad_edu.utils.data` (issue 14, items 1 and 6): PyTorch snippets.

Each snippet is tutorial or course code written once against a library `lib` (tinygrad_edu,
and PyTorch where it is installed) and checked against fixed expectations, PyTorch's
documented results. Random draws are not expected to match PyTorch's generator: the checks
compare structure, shapes, dtypes and sets, and our own determinism.
"""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np
import pytest
from libraries import each_library, torch  # tests/compat/libraries.py

import tinygrad_edu as tg


def dtype_name(dtype) -> str:
    return str(dtype).split(".")[-1]  # "torch.float32" and "tg.float32" -> "float32"


def make_generator(lib, seed: int):
    """A seeded generator: PyTorch's `torch.Generator().manual_seed(seed)`; tinygrad_edu's
    random numbers are NumPy's, so there it is a `numpy.random.Generator`."""
    if lib is tg:
        return np.random.default_rng(seed)
    return torch.Generator().manual_seed(seed)


def describe(lib, batch):
    """A batch's structure with every tensor as (shape, dtype name, values)."""
    if isinstance(batch, lib.Tensor):
        return ("tensor", tuple(batch.shape), dtype_name(batch.dtype), batch.tolist())
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):
        return (type(batch).__name__, *(describe(lib, field) for field in batch))
    if isinstance(batch, (list, tuple)):
        return (type(batch).__name__, [describe(lib, item) for item in batch])
    if isinstance(batch, dict):
        return ("dict", {key: describe(lib, value) for key, value in batch.items()})
    return batch


# ---------------------------------------------------------------------------------------------
# The tutorial: a custom Dataset, DataLoader(..., batch_size=64, shuffle=True), next(iter(...))
# ---------------------------------------------------------------------------------------------
def custom_image_dataset(lib):
    """The 'Datasets & DataLoaders' tutorial's custom Dataset, on synthetic 28x28 images."""

    class CustomImageDataset(lib.utils.data.Dataset):
        def __init__(self, n, transform=None, target_transform=None):
            rng = np.random.default_rng(0)
            self.images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
            self.img_labels = rng.integers(0, 10, size=n)
            self.transform = transform
            self.target_transform = target_transform

        def __len__(self):
            return len(self.img_labels)

        def __getitem__(self, idx):
            image = lib.tensor(self.images[idx]).unsqueeze(0).float() / 255
            label = int(self.img_labels[idx])
            if self.transform:
                image = self.transform(image)
            if self.target_transform:
                label = self.target_transform(label)
            return image, label

    return CustomImageDataset(200)


@each_library
def test_tutorial_custom_dataset_and_dataloader(lib):
    from_the_tutorial = lib.utils.data.DataLoader
    training_data = custom_image_dataset(lib)
    train_dataloader = from_the_tutorial(training_data, batch_size=64, shuffle=True)
    train_features, train_labels = next(iter(train_dataloader))
    assert tuple(train_features.size()) == (64, 1, 28, 28)  # "Feature batch shape"
    assert tuple(train_labels.size()) == (64,)
    assert dtype_name(train_features.dtype) == "float32"
    assert dtype_name(train_labels.dtype) == "int64"
    img = train_features[0].squeeze()
    assert tuple(img.shape) == (28, 28)
    assert isinstance(train_labels[0].item(), int)
    # a whole epoch: 4 batches (64, 64, 64, 8), every sample once, in a new order each epoch
    assert len(train_dataloader) == 4 and len(train_dataloader.dataset) == 200
    assert train_dataloader.batch_size == 64
    sizes, labels = [], []
    for batch, (x, y) in enumerate(train_dataloader):
        sizes.append(len(x))
        labels += y.tolist()
    assert sizes == [64, 64, 64, 8] and batch == 3
    assert sorted(labels) == sorted(training_data.img_labels.tolist())


@each_library
def test_tensor_dataset_batches_are_lists(lib):
    data = lib.utils.data
    x = lib.tensor(np.arange(20, dtype=np.float32).reshape(10, 2))
    y = lib.tensor(np.arange(10))
    batches = list(data.DataLoader(data.TensorDataset(x, y), batch_size=4))
    assert [type(b).__name__ for b in batches] == ["list"] * 3
    assert [b[1].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert tuple(batches[0][0].shape) == (4, 2) and dtype_name(batches[0][0].dtype) == "float32"


# ---------------------------------------------------------------------------------------------
# random_split
# ---------------------------------------------------------------------------------------------
@each_library
def test_random_split(lib):
    data = lib.utils.data
    dataset = custom_image_dataset(lib)
    train_set, val_set = data.random_split(dataset, [0.8, 0.2])
    assert (len(train_set), len(val_set)) == (160, 40)
    assert isinstance(train_set, data.Subset) and train_set.dataset is dataset
    parts = data.random_split(range(11), [0.7, 0.2, 0.1], generator=make_generator(lib, 42))
    assert [len(p) for p in parts] == [8, 2, 1]  # the remainder goes to the first parts
    assert sorted(sum([list(p) for p in parts], [])) == list(range(11))
    a, b = data.random_split(range(10), [3, 7], generator=make_generator(lib, 42))
    again, _ = data.random_split(range(10), [3, 7], generator=make_generator(lib, 42))
    assert list(a) == list(again) and not set(a) & set(b)
    with pytest.raises(ValueError):
        data.random_split(range(10), [3, 6])


# ---------------------------------------------------------------------------------------------
# Samplers
# ---------------------------------------------------------------------------------------------
@each_library
def test_batch_sampler_documented_example(lib):
    data = lib.utils.data
    seq = data.SequentialSampler(range(10))
    assert list(data.BatchSampler(seq, batch_size=3, drop_last=False)) == \
        [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    assert list(data.BatchSampler(seq, batch_size=3, drop_last=True)) == \
        [[0, 1, 2], [3, 4, 5], [6, 7, 8]]


@each_library
def test_weighted_random_sampler_balances_classes(lib):
    """The course's cure for an imbalanced data set (90 healthy, 10 sick)."""
    data = lib.utils.data
    labels = np.array([0] * 90 + [1] * 10)
    class_counts = np.bincount(labels)
    weights = (1.0 / class_counts[labels]).tolist()
    sampler = data.WeightedRandomSampler(weights, num_samples=len(weights), replacement=True,
                                         generator=make_generator(lib, 0))
    features = lib.tensor(np.arange(100, dtype=np.float32)[:, None])
    loader = data.DataLoader(data.TensorDataset(features, lib.tensor(labels)), batch_size=20,
                             sampler=sampler)
    drawn = np.concatenate([y.numpy() for _, y in loader])
    assert len(loader) == 5 and drawn.shape == (100,)
    assert 0.3 < drawn.mean() < 0.7  # about half sick, not 10%


@each_library
def test_subset_random_sampler_train_validation_split(lib):
    data = lib.utils.data
    indices = list(range(50))
    np.random.default_rng(0).shuffle(indices)
    train_idx, valid_idx = indices[:40], indices[40:]
    dataset = data.TensorDataset(lib.tensor(np.arange(50)))
    train_loader = data.DataLoader(dataset, batch_size=16,
                                   sampler=data.SubsetRandomSampler(train_idx))
    valid_loader = data.DataLoader(dataset, batch_size=16,
                                   sampler=data.SubsetRandomSampler(valid_idx))
    seen = [v for (batch,) in train_loader for v in batch.tolist()]
    assert sorted(seen) == sorted(train_idx) and len(train_loader) == 3
    assert sorted(v for (batch,) in valid_loader for v in batch.tolist()) == sorted(valid_idx)


@each_library
def test_bad_combinations_raise_pytorchs_errors(lib):
    data = lib.utils.data
    dataset = data.TensorDataset(lib.tensor(np.arange(6)))
    with pytest.raises(ValueError, match="sampler option is mutually exclusive with shuffle"):
        data.DataLoader(dataset, sampler=data.SequentialSampler(dataset), shuffle=True)
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive"):
        data.DataLoader(dataset, batch_size=2, batch_sampler=[[0, 1]])
    with pytest.raises(ValueError, match="num_workers option should be non-negative"):
        data.DataLoader(dataset, num_workers=-1)
    with pytest.raises(ValueError, match="batch_size should be a positive integer value"):
        data.DataLoader(dataset, batch_size=0)


# ---------------------------------------------------------------------------------------------
# default_collate
# ---------------------------------------------------------------------------------------------
Point = namedtuple("Point", "x y")

F32, I64, F64, BOOL = "float32", "int64", "float64", "bool"
COLLATE_CASES = {
    "tuple of array, int, float, bool, str": (
        lambda lib: [(np.array([1, 2], np.float32), 3, 0.5, True, "a"),
                     (np.array([4, 5], np.float32), 6, 1.5, False, "b")],
        ("list", [("tensor", (2, 2), F32, [[1.0, 2.0], [4.0, 5.0]]),
                  ("tensor", (2,), I64, [3, 6]),
                  ("tensor", (2,), F64, [0.5, 1.5]),
                  ("tensor", (2,), BOOL, [True, False]),
                  ("tuple", ["a", "b"])])),  # strings stay as zip(*batch) gives them
    "dict with nested dict and list": (
        lambda lib: [{"image": np.zeros((2, 2), np.uint8), "meta": {"id": "x", "n": [1, 2]}},
                     {"image": np.ones((2, 2), np.uint8), "meta": {"id": "y", "n": [3, 4]}}],
        ("dict", {"image": ("tensor", (2, 2, 2), "uint8", [[[0, 0], [0, 0]], [[1, 1], [1, 1]]]),
                  "meta": ("dict", {"id": ("list", ["x", "y"]),
                                    "n": ("list", [("tensor", (2,), I64, [1, 3]),
                                                   ("tensor", (2,), I64, [2, 4])])})})),
    "namedtuple": (
        lambda lib: [Point(1, 2.0), Point(3, 4.0)],
        ("Point", ("tensor", (2,), I64, [1, 3]), ("tensor", (2,), F64, [2.0, 4.0]))),
    "tensors and numpy scalars": (
        lambda lib: [(lib.tensor([1.0, 2.0]), np.float64(0.25), np.int64(7)),
                     (lib.tensor([3.0, 4.0]), np.float64(0.75), np.int64(8))],
        ("list", [("tensor", (2, 2), F32, [[1.0, 2.0], [3.0, 4.0]]),
                  ("tensor", (2,), F64, [0.25, 0.75]),
                  ("tensor", (2,), I64, [7, 8])])),
    "an int first, then a float": (lambda lib: [1, 2.5], ("tensor", (2,), F32, [1.0, 2.5])),
    "a float first, then an int": (lambda lib: [2.5, 1], ("tensor", (2,), F64, [2.5, 1.0])),
}


@each_library
@pytest.mark.parametrize("case", list(COLLATE_CASES))
def test_default_collate_as_pytorch(lib, case):
    samples, expected = COLLATE_CASES[case]
    assert describe(lib, lib.utils.data.default_collate(samples(lib))) == expected


@each_library
def test_default_collate_errors_as_pytorch(lib):
    collate = lib.utils.data.default_collate
    with pytest.raises(RuntimeError, match="equal size"):
        collate([lib.zeros(2), lib.zeros(3)])
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal"):
        collate([[1, 2], [1, 2, 3]])
    with pytest.raises(TypeError, match="default_collate: batch must contain tensors"):
        collate([object(), object()])


# ---------------------------------------------------------------------------------------------
# Workers
# ---------------------------------------------------------------------------------------------
@each_library
def test_two_workers_give_the_same_batches_as_none(lib):
    dataset = custom_image_dataset(lib)
    epochs = []
    for workers in (0, 2):
        lib.manual_seed(0)
        loader = lib.utils.data.DataLoader(dataset, batch_size=64, shuffle=True,
                                           num_workers=workers)
        epochs.append([(x.numpy(), y.numpy()) for x, y in loader])
    assert len(epochs[0]) == len(epochs[1]) == 4
    for (x0, y0), (x2, y2) in zip(*epochs):
        np.testing.assert_array_equal(x0, x2)
        np.testing.assert_array_equal(y0, y2)


def my_iterable_dataset(lib, shard_in_iter: bool):
    """The torch.utils.data.IterableDataset documentation's example."""

    class MyIterableDataset(lib.utils.data.IterableDataset):
        def __init__(self, start, end):
            super().__init__()
            assert end > start, "this example code only works with end >= start"
            self.start = start
            self.end = end

        def __iter__(self):
            worker_info = lib.utils.data.get_worker_info()
            if worker_info is None or not shard_in_iter:  # single-process data loading
                iter_start = self.start
                iter_end = self.end
            else:  # in a worker process: split the workload
                per_worker = int(math.ceil((self.end - self.start) /
                                           float(worker_info.num_workers)))
                worker_id = worker_info.id
                iter_start = self.start + worker_id * per_worker
                iter_end = min(iter_start + per_worker, self.end)
            return iter(range(iter_start, iter_end))

    return MyIterableDataset(start=3, end=7)


@each_library
@pytest.mark.parametrize("workers", [0, 2, 12])
def test_iterable_dataset_documented_sharding(lib, workers):
    if lib is torch and workers == 12:
        pytest.skip("twelve PyTorch workers are slow to start; our own case checks the result")
    ds = my_iterable_dataset(lib, shard_in_iter=True)
    expected = {0: "[tensor([3]), tensor([4]), tensor([5]), tensor([6])]",
                2: "[tensor([3]), tensor([5]), tensor([4]), tensor([6])]",
                12: "[tensor([3]), tensor([4]), tensor([5]), tensor([6])]"}[workers]
    assert str(list(lib.utils.data.DataLoader(ds, num_workers=workers))) == expected


@each_library
def test_iterable_dataset_documented_worker_init_fn(lib):
    ds = my_iterable_dataset(lib, shard_in_iter=False)
    data = lib.utils.data

    def worker_init_fn(worker_id):
        worker_info = data.get_worker_info()
        dataset = worker_info.dataset  # the dataset copy in this worker process
        overall_start = dataset.start
        overall_end = dataset.end
        # configure the dataset to only process the split workload
        per_worker = int(math.ceil((overall_end - overall_start) /
                                   float(worker_info.num_workers)))
        worker_id = worker_info.id
        dataset.start = overall_start + worker_id * per_worker
        dataset.end = min(dataset.start + per_worker, overall_end)

    assert str(list(data.DataLoader(ds, num_workers=2))) == \
        "[tensor([3]), tensor([3]), tensor([4]), tensor([4]), tensor([5]), tensor([5]), " \
        "tensor([6]), tensor([6])]"  # without sharding every worker yields everything
    assert str(list(data.DataLoader(ds, num_workers=2, worker_init_fn=worker_init_fn))) == \
        "[tensor([3]), tensor([5]), tensor([4]), tensor([6])]"
