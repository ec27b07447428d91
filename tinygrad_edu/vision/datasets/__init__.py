"""torchvision.datasets: MNIST, FashionMNIST and CIFAR10 with torchvision's constructor
`Dataset(root, train=True, transform=None, target_transform=None, download=False)`, folders
(`root/MNIST/raw`, `root/FashionMNIST/raw`, `root/cifar-10-batches-py`) and attributes
(`data`, `targets`, `classes`, `class_to_idx`); and the 2D MedMNIST sets (PneumoniaMNIST,
BreastMNIST, ChestMNIST, DermaMNIST, BloodMNIST, OrganAMNIST) as
`Dataset(root, split="train"|"val"|"test", transform=None, target_transform=None,
download=False)`, reading `root/<name>.npz`.

`ds[i]` is `(image, target)`: a PIL image (or, without Pillow, a uint8 NumPy array (H, W[, C]))
through `transform`, and an int. Pass `transform=transforms.ToTensor()` to get Tensors.
"""

from .cifar import CIFAR10
from .medmnist import (
    BloodMNIST,
    BreastMNIST,
    ChestMNIST,
    DermaMNIST,
    MedMNIST,
    OrganAMNIST,
    PneumoniaMNIST,
)
from .mnist import MNIST, FashionMNIST
from .utils import CorruptDatasetError, DatasetNotFoundError
from .vision import VisionDataset

__all__ = ["BloodMNIST", "BreastMNIST", "CIFAR10", "ChestMNIST", "CorruptDatasetError",
           "DatasetNotFoundError", "DermaMNIST", "FashionMNIST", "MNIST", "MedMNIST",
           "OrganAMNIST", "PneumoniaMNIST", "VisionDataset"]
