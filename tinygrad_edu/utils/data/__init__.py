"""torch.utils.data's names: datasets, samplers and the DataLoader.

    from tinygrad_edu.utils.data import DataLoader, TensorDataset, random_split

    dataset.py     Dataset, IterableDataset, TensorDataset, ConcatDataset, Subset, random_split
    sampler.py     the orders: Sequential-, Random-, SubsetRandom-, WeightedRandom-, BatchSampler
    distributed.py DistributedSampler: each process's share of the data set (data parallelism)
    collate.py     default_collate: a list of samples -> one batch
    fetch.py       how one batch is built from a dataset
    dataloader.py  DataLoader: the loop over an epoch
    worker.py      the worker processes of num_workers > 0, get_worker_info
"""

from .collate import default_collate, default_convert
from .dataloader import DataLoader
from .dataset import (
    ChainDataset,
    ConcatDataset,
    Dataset,
    IterableDataset,
    Subset,
    TensorDataset,
    random_split,
)
from .distributed import DistributedSampler
from .sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)
from .worker import WorkerInfo, get_worker_info

__all__ = [
    "BatchSampler", "ChainDataset", "ConcatDataset", "DataLoader", "Dataset", "DistributedSampler",
    "IterableDataset", "RandomSampler", "Sampler", "SequentialSampler", "Subset",
    "SubsetRandomSampler", "TensorDataset", "WeightedRandomSampler", "WorkerInfo",
    "default_collate", "default_convert", "get_worker_info", "random_split",
]
