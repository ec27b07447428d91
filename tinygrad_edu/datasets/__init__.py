"""Ready-made datasets, torchvision style: `Dataset(root, train=True, transform=None,
target_transform=None, download=False)` with `data`, `targets`, `classes`, `class_to_idx`.

- `Digits`, `BreastCancer`: small, read from the files that scikit-learn ships (no download).
- `MNIST`, `FashionMNIST`: IDX files from `root`, Debian's `dataset-fashion-mnist`, or download.
- `CIFAR10`: the official binary version from `root`, or download.

Without a transform, `ds[i]` gives `(float32 Tensor, int)` and a DataLoader builds whole
batches with one indexing operation.
"""

from ._base import CorruptDatasetError, DatasetNotFoundError
from .cifar import CIFAR10
from .mnist import MNIST, FashionMNIST
from .sklearn_data import BreastCancer, Digits

__all__ = ["BreastCancer", "CIFAR10", "CorruptDatasetError", "DatasetNotFoundError", "Digits",
           "FashionMNIST", "MNIST"]
