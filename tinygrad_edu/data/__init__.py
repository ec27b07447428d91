"""Feeding data to a model: datasets, the DataLoader, and transforms.

    from tinygrad_edu.data import DataLoader, TensorDataset, random_split
    from tinygrad_edu.data import transforms
"""

from . import transforms
from .dataloader import DataLoader, default_collate
from .dataset import Dataset, Subset, TensorDataset, random_split

__all__ = ["DataLoader", "Dataset", "Subset", "TensorDataset", "default_collate",
           "random_split", "transforms"]
