"""CIFAR-10 now lives in `tinygrad_edu.vision.datasets` (torchvision's place); this old path
gives the same class and readers."""

from ..vision.datasets.cifar import (  # noqa: F401
    CIFAR10,
    read_cifar_batch,
    read_cifar_meta,
    read_cifar_pickle,
)
