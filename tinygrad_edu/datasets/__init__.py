"""Ready-made datasets, torchvision style: `Dataset(root, train=True, transform=None,
target_transform=None, download=False)` with `data`, `targets`, `classes`, `class_to_idx`.

- `Digits`, `BreastCancer`: small tables read from the files that scikit-learn ships (no
  download). Without a transform, `ds[i]` gives `(float32 Tensor, int)` and a DataLoader
  builds whole batches with one indexing operation.
- `load_tiny_shakespeare` (the text of Tiny Shakespeare, for character-level language models)
  and `CharTokenizer` (a sorted character vocabulary: encode to int64 Tensors, decode).
- `MNIST`, `FashionMNIST`, `CIFAR10`: the image datasets of `tinygrad_edu.vision.datasets`
  (the same classes, torchvision's behaviour: `ds[i]` is a PIL image or NumPy array until a
  transform such as `ToTensor()` makes it a Tensor).
"""

from ..vision.datasets import CIFAR10, MNIST, FashionMNIST
from ._base import CorruptDatasetError, DatasetNotFoundError
from .shakespeare import CharTokenizer, load_tiny_shakespeare
from .sklearn_data import BreastCancer, Digits

__all__ = ["BreastCancer", "CIFAR10", "CorruptDatasetError", "DatasetNotFoundError", "Digits",
           "FashionMNIST", "MNIST", "CharTokenizer", "load_tiny_shakespeare"]
