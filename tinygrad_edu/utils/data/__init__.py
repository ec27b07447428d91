"""torch.utils.data's names: datasets, samplers and the DataLoader."""

from ...data import DataLoader, Dataset, Subset, TensorDataset, default_collate, random_split

__all__ = ["DataLoader", "Dataset", "Subset", "TensorDataset", "default_collate",
           "random_split"]
