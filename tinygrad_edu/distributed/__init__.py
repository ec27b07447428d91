"""tinygrad_edu.distributed: processes that train together, named as torch.distributed.

    # mpirun -n 2 python train.py   (or: tinygrad-edu-run --nproc 2 train.py)
    import tinygrad_edu.distributed as dist
    dist.init_process_group("mpi")            # rank and world size from the launcher
    t = tg.tensor([float(dist.get_rank())])
    dist.all_reduce(t)                        # t is now 0 + 1 on both processes
    dist.destroy_process_group()

The communication is MPI's (through mpi4py) for CPU tensors and NVIDIA's NCCL (through CuPy)
for GPU tensors; this package only hands them the tensors' memory (see process_group.py for
the backends, collectives.py for the calls). Nothing starts at import: MPI starts in
init_process_group. tg.nn.parallel.DistributedDataParallel trains a model with it.
"""

from .collectives import (
    all_gather,
    all_gather_into_tensor,
    all_reduce,
    barrier,
    broadcast,
    gather,
    irecv,
    isend,
    recv,
    reduce,
    reduce_scatter,
    reduce_scatter_tensor,
    scatter,
    send,
)
from .process_group import (
    Backend,
    ReduceOp,
    Work,
    destroy_process_group,
    get_backend,
    get_rank,
    get_world_size,
    init_process_group,
    is_available,
    is_initialized,
    is_mpi_available,
    is_nccl_available,
)
from .store import FileStore

__all__ = [
    "Backend", "ReduceOp", "Work", "FileStore", "init_process_group", "destroy_process_group",
    "is_available", "is_initialized", "is_mpi_available", "is_nccl_available", "get_rank",
    "get_world_size", "get_backend", "barrier", "all_reduce", "broadcast", "all_gather",
    "all_gather_into_tensor", "reduce_scatter", "reduce_scatter_tensor", "reduce", "gather",
    "scatter", "send", "recv", "isend", "irecv",
]
