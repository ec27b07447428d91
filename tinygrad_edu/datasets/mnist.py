"""MNIST and Fashion-MNIST now live in `tinygrad_edu.vision.datasets` (torchvision's place);
this old path gives the same classes and readers."""

from ..vision.datasets.mnist import (  # noqa: F401
    MAX_GZIP_RATIO,
    MNIST,
    FashionMNIST,
    read_idx_images,
    read_idx_labels,
)
