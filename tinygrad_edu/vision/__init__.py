"""tinygrad_edu.vision: torchvision's shape (`import tinygrad_edu.vision as torchvision`).

- `datasets`: MNIST, FashionMNIST, CIFAR10
- `transforms`: Compose, ToTensor, Normalize, Resize, RandomCrop, ... (and `functional`)
- `utils`: make_grid, save_image
- `io`: read_image
- `models`
Pillow (`pip install tinygrad_edu[vision]`) is optional: without it, images are NumPy arrays.
"""

from . import datasets, io, transforms, utils

__all__ = ["datasets", "io", "transforms", "utils"]

try:
    from . import models
except ModuleNotFoundError as exc:  # until vision/models/ exists
    if exc.name != f"{__name__}.models":
        raise
else:
    __all__.append("models")
