"""torchvision.datasets: MNIST, FashionMNIST and CIFAR10 with torchvision's constructor
`Dataset(root, train=True, transform=None, target_transform=None, download=False)`, folders
(`root/MNIST/raw`, `root/FashionMNIST/raw`, `root/cifar-10-batches-py`) and attributes
(`data`, `targets`, `classes`, `class_to_idx`).

`ds[i]` is `(image, target)`: a PIL image (or, without Pillow, a uint8 NumPy array (H, W[, C]))
through `transform`, and an int. Pass `transform=transforms.ToTensor()` to get Tensors.
"""

from .cifar import CIFAR10
from .mnist import MNIST, FashionMNIST
from .utils import CorruptDatasetError, DatasetNotFoundError
from .vision import VisionDataset

__all__ = ["CIFAR10", "CorruptDatasetError", "DatasetNotFoundError", "FashionMNIST", "MNIST",
           "VisionDataset"]
