"""The tabular datasets (Digits, BreastCancer, read from scikit-learn's files), and the old
import paths of the image datasets, which moved to tinygrad_edu.vision.datasets (tested in
tests/vision/test_datasets.py)."""

import numpy as np
import pytest

import tinygrad_edu as tg
import tinygrad_edu.vision.datasets as vision_datasets
from tinygrad_edu import datasets
from tinygrad_edu.datasets import BreastCancer, Digits, sklearn_data
from tinygrad_edu.utils.data import DataLoader
from tinygrad_edu.vision import transforms


def test_old_paths_give_the_image_datasets_of_vision():
    for name in ("MNIST", "FashionMNIST", "CIFAR10", "CorruptDatasetError",
                 "DatasetNotFoundError"):
        assert getattr(datasets, name) is getattr(vision_datasets, name)
    from tinygrad_edu.datasets.cifar import CIFAR10
    from tinygrad_edu.datasets.mnist import MNIST

    assert MNIST is vision_datasets.MNIST and CIFAR10 is vision_datasets.CIFAR10


def test_tabular_repr_is_torchvision_shaped():
    pytest.importorskip("sklearn")
    text = repr(Digits(train=False, transform=transforms.ToTensor()))
    assert text.splitlines() == ["Dataset Digits", "    Number of datapoints: 359",
                                 "    Split: Test", "    StandardTransform",
                                 "Transform: ToTensor()"]


# ---------------------------------------------------------------------------------------------
# Digits and BreastCancer (from scikit-learn's data files)
# ---------------------------------------------------------------------------------------------
def test_digits_shapes_split_and_values():
    pytest.importorskip("sklearn")
    train, test = Digits(), Digits(train=False)
    assert (len(train), len(test)) == (1438, 359)
    assert train.data.shape == (1438, 8, 8) and train.data.dtype == np.uint8
    assert train.data.max() == 16 and train.targets.dtype == np.int64
    all_counts = np.bincount(train.targets, minlength=10) + np.bincount(test.targets, minlength=10)
    assert all_counts.sum() == 1797 and all_counts.min() >= 170
    # stratified: every class is about 20 % test
    share = np.bincount(test.targets, minlength=10) / all_counts
    assert np.all(np.abs(share - 0.2) < 0.01)
    x, y = train[0]
    assert x.shape == (1, 8, 8) and x.dtype == tg.float32 and isinstance(y, int)
    np.testing.assert_allclose(x.numpy()[0], train.data[0] / 16)
    np.testing.assert_array_equal(Digits().targets, train.targets)  # the split is fixed
    with_transform = Digits(transform=transforms.ToTensor())
    np.testing.assert_array_equal(with_transform[5][0].numpy(), train[5][0].numpy())
    xb, yb = next(iter(DataLoader(train, batch_size=64, shuffle=True, seed=0)))
    assert xb.shape == (64, 1, 8, 8) and yb.shape == (64,)


def test_digits_train_and_test_are_disjoint():
    pytest.importorskip("sklearn")
    train, test = Digits(), Digits(train=False)
    train_rows = {row.tobytes() + bytes([t]) for row, t in zip(train.data, train.targets)}
    test_rows = [row.tobytes() + bytes([t]) for row, t in zip(test.data, test.targets)]
    assert len(train_rows) == 1438  # no duplicate images, so rows identify samples
    assert not any(r in train_rows for r in test_rows)


def test_breast_cancer_labels_and_split():
    pytest.importorskip("sklearn")
    train, test = BreastCancer(), BreastCancer(train=False)
    assert (len(train), len(test)) == (456, 113)
    assert train.data.shape == (456, 30) and train.data.dtype == np.float32
    assert train.classes == ["benign", "malignant"]
    assert int(train.targets.sum() + test.targets.sum()) == 212  # 212 malignant tumours
    assert len(train.feature_names) == 30 and train.feature_names[0] == "mean radius"
    x, y = test[0]
    assert x.shape == (30,) and x.dtype == tg.float32
    train_rows = {row.tobytes() for row in train.data}
    assert not any(row.tobytes() in train_rows for row in test.data)
    # the first row of the file (mean radius 17.99) is malignant
    everything = np.concatenate([train.data, test.data])
    targets = np.concatenate([train.targets, test.targets])
    first = np.flatnonzero(np.isclose(everything[:, 0], 17.99)
                           & np.isclose(everything[:, 1], 10.38))
    assert len(first) == 1 and targets[first[0]] == 1


def test_missing_scikit_learn_says_how_to_install(monkeypatch):
    monkeypatch.setattr(sklearn_data, "find_spec", lambda name: None)
    with pytest.raises(ModuleNotFoundError, match="pip install scikit-learn"):
        Digits()
    with pytest.raises(ModuleNotFoundError, match="pip install scikit-learn"):
        BreastCancer()
