"""tinygrad_edu.nn.parallel, as torch.nn.parallel: DistributedDataParallel (one process per
model replica, see distributed.py). DataParallel (several GPUs driven by one process) is not
provided: use DistributedDataParallel with one process per GPU, as PyTorch recommends."""

from .distributed import DistributedDataParallel

__all__ = ["DistributedDataParallel"]
