"""The default process group: which processes take part (their ranks), and how they talk.

`init_process_group("mpi")` joins the processes that an MPI launcher started
(`mpirun -n 2 python train.py`): each one reads its rank and the world size from MPI. Tensors
on the CPU then go through MPI (mpi4py), tensors on a GPU through MPI too, by way of host
memory (a copy each way, said in a warning).

`init_process_group("nccl")` is for GPUs: their tensors go through NVIDIA's NCCL (CuPy's
`cupy.cuda.nccl`), GPU to GPU. The processes meet through MPI (under a launcher: rank 0 sends
NCCL's unique id to the others over MPI, and CPU tensors still go through MPI) or through a
file on a shared file system (`init_method="file:///path"` with `rank` and `world_size`: then
there is no MPI and only GPU tensors can be sent). Where CuPy has no NCCL, GPU tensors go
through MPI with host copies, as above.

There is one group, the world (`group=None` everywhere); `new_group` is not provided.
"""

from __future__ import annotations

import datetime
import enum
import importlib.util
import warnings
from typing import Any, Callable

from .. import backend
from ..backend import Device
from .store import DEFAULT_TIMEOUT, FileStore

NOT_INITIALIZED = ("Default process group has not been initialized, please make sure to call "
                   "init_process_group.")


class Backend(str):
    """A backend's name, as PyTorch's: `Backend("MPI") == "mpi"`, `Backend.NCCL`."""

    MPI = "mpi"
    NCCL = "nccl"

    def __new__(cls, name: str) -> Backend:
        if not isinstance(name, str):
            raise ValueError(f"Backend name must be a string, but got: {name!r}")
        return super().__new__(cls, name.lower())


class ReduceOp(enum.Enum):
    """How `all_reduce`, `reduce` and `reduce_scatter` combine the ranks' values (PyTorch's
    numbering). AVG is the SUM divided by the world size, for floating-point tensors."""

    SUM = 0
    AVG = 1
    PRODUCT = 2
    MIN = 3
    MAX = 4


class Work:
    """What a collective called with `async_op=True` returns (and isend / irecv).

    `wait()` returns once the result is in the tensors (for NCCL: once it is queued on the
    current GPU stream, before anything queued after it, as PyTorch's); `is_completed()`
    asks without waiting. `request` is the MPI request (None for NCCL's queued work); the
    functions given to `then` run once it has completed (the copies back of staged buffers)."""

    def __init__(self, request: Any = None, status: Any = None, event: Any = None,
                 keep: tuple = ()) -> None:
        self._request, self._status, self._event = request, status, event
        self._keep = keep  # the buffers MPI or NCCL reads and writes: alive until done
        self._then: list[Callable[[], None]] = []
        self._finished = request is None

    def then(self, fn: Callable[[], None]) -> Work:
        """Run `fn` when the work has completed (now, if it has)."""
        if self._finished:
            fn()
        else:
            self._then.append(fn)
        return self

    def _finish(self) -> None:
        self._finished, self._keep = True, ()
        for fn in self._then:
            fn()
        self._then = []

    def is_completed(self) -> bool:
        if not self._finished and self._request.Test(self._status):
            self._finish()
        return self._finished and (self._event is None or self._event.done)

    def wait(self, timeout: datetime.timedelta | None = None) -> bool:
        """Block until the work has completed (MPI has no timeout: `timeout` is not used)."""
        if not self._finished:
            self._request.Wait(self._status)
            self._finish()
        return True

    def is_success(self) -> bool:
        return self.is_completed()

    def exception(self) -> None:
        return None  # (a failed MPI or NCCL call raises where it is made)

    def source_rank(self) -> int:
        """For a receive: the rank the message came from (`status`: MPI's Status, or the
        rank itself where it is known in advance)."""
        if self._status is None:
            raise RuntimeError("source_rank: this work is not a receive")
        self.wait()
        return self._status if isinstance(self._status, int) else self._status.Get_source()


class World:
    """The default process group: this process's rank, the world size, and the parts that
    carry tensors: `mpi` (an MPIPart, or None without MPI) for CPU tensors, and `nccl` (an
    NCCLPart, or None) for GPU tensors; without `nccl`, GPU tensors go through `mpi` with
    host copies (`gpu_through_mpi` says why, for the warning)."""

    def __init__(self, backend_name: str, rank: int, size: int, mpi: Any, nccl: Any,
                 gpu_through_mpi: str = "") -> None:
        self.backend_name = Backend(backend_name)
        self.rank, self.size = rank, size
        self.mpi, self.nccl = mpi, nccl
        self.gpu_through_mpi = gpu_through_mpi
        self.warned = False

    def part_for(self, device: Device, what: str) -> Any:
        """The part that carries tensors on `device`."""
        if device.type == "cuda" and self.nccl is not None:
            return self.nccl.on(device.index)
        if self.mpi is None:
            raise RuntimeError(f"{what}: No backend type associated with device type "
                               f"{device.type} (this group has only NCCL, without MPI: it "
                               "sends GPU tensors only)")
        if device.type == "cuda" and not self.warned:
            self.warned = True
            warnings.warn(f"tg.distributed: {self.gpu_through_mpi}; CUDA tensors go through MPI "
                          "with a copy to host memory and back", stacklevel=3)
        return self.mpi

    def destroy(self) -> None:
        if self.nccl is not None:
            self.nccl.destroy()
        if self.mpi is not None:
            self.mpi.destroy()


_world: World | None = None


def world_of(group: Any, what: str) -> World:
    """The group a call works on: the default one (`group` None, or the world itself)."""
    if _world is None:
        raise ValueError(NOT_INITIALIZED)
    if group is not None and group is not _world:
        raise ValueError(f"{what}: only the default group (group=None) exists here; new_group "
                         "is not provided")
    return _world


# ---------------------------------------------------------------------------------------------
# Setting up and asking
# ---------------------------------------------------------------------------------------------
def is_available() -> bool:
    """Whether tg.distributed exists (it always does; its backends may not: see below)."""
    return True


def is_mpi_available() -> bool:
    """Whether mpi4py is installed (without importing it: importing it starts MPI)."""
    return importlib.util.find_spec("mpi4py") is not None


def is_nccl_available() -> bool:
    """Whether a GPU is usable and CuPy has NCCL (`cupy.cuda.nccl`)."""
    from .nccl import nccl_module  # noqa: PLC0415 - it imports CuPy: only when asked

    return backend.cuda.is_available() and nccl_module() is not None


def is_initialized() -> bool:
    return _world is not None


def _mpi_comm(what: str) -> Any:
    """A communicator of its own over MPI's world (a duplicate, so that the user's mpi4py
    messages never mix with the group's)."""
    if not is_mpi_available():
        raise RuntimeError(f"{what}: MPI needs mpi4py and an MPI library: pip install "
                           "tinygrad_edu[mpi] (mpi4py), with Open MPI installed (Debian: apt "
                           "install openmpi-bin libopenmpi-dev)")
    from mpi4py import MPI  # noqa: PLC0415 - starts MPI (MPI_Init): only when asked

    return MPI.COMM_WORLD.Dup()


def _check_launcher_agrees(comm: Any, rank: int, world_size: int) -> None:
    for name, given, actual in (("rank", rank, comm.Get_rank()),
                                ("world_size", world_size, comm.Get_size())):
        if given not in (-1, None) and given != actual:
            hint = (" (run the script with `mpirun -n N`)" if name == "world_size"
                    and actual == 1 else "")
            raise ValueError(f"init_process_group: {name}={given}, but the MPI launcher gives "
                             f"{name} {actual}{hint}")


def init_process_group(backend: str | None = None, init_method: str | None = None,
                       timeout: datetime.timedelta | None = None, world_size: int = -1,
                       rank: int = -1, store: FileStore | None = None, group_name: str = "",
                       pg_options: Any = None, device_id: Device | int | None = None) -> None:
    """Join the default process group: `backend` "mpi" (the default) or "nccl".

    With "mpi", or "nccl" without `init_method` and `store`, the rank and the world size come
    from the MPI launcher (`rank` and `world_size`, if given, must agree with it). With "nccl"
    and `init_method="file:///path"` (or a FileStore as `store`), `rank` and `world_size`
    are required and the processes meet through that file. `timeout` bounds the wait for the
    file store (MPI's own calls have none); `device_id` makes the NCCL communicator of that
    GPU now rather than at the first collective on it. `pg_options` and `group_name` are
    accepted and not used."""
    global _world
    if _world is not None:
        raise ValueError("trying to initialize the default process group twice!")
    name = Backend(backend or "mpi")
    if name not in (Backend.MPI, Backend.NCCL):
        raise ValueError(f"init_process_group: backend {name!r} is not available here: use "
                         "'mpi' (CPU tensors, GPU tensors through host memory) or 'nccl' (GPU)")
    if name == Backend.MPI:
        from .mpi import MPIPart  # noqa: PLC0415

        comm = _mpi_comm("init_process_group")
        _check_launcher_agrees(comm, rank, world_size)
        _world = World(name, comm.Get_rank(), comm.Get_size(), MPIPart(comm), None,
                       "the 'mpi' backend has no path from GPU to GPU")
        return
    _world = _nccl_world(init_method, timeout, world_size, rank, store)
    if device_id is not None and _world.nccl is not None:
        device = device_id if isinstance(device_id, Device) else Device("cuda", int(device_id))
        _world.nccl.on(device.index)


def _nccl_world(init_method: str | None, timeout: datetime.timedelta | None, world_size: int,
                rank: int, store: FileStore | None) -> World:
    """The world of the "nccl" backend: ranks from MPI or from the arguments (file store),
    NCCL's unique id shared over MPI or through the store."""
    from .mpi import MPIPart  # noqa: PLC0415
    from .nccl import NCCLPart, nccl_module  # noqa: PLC0415

    if store is None and init_method is not None:
        if not init_method.startswith("file://"):
            raise ValueError(f"init_process_group: init_method {init_method!r} is not supported "
                             "here: run under an MPI launcher (init_method=None) or give "
                             "'file:///path' on a shared file system")
        store = FileStore(init_method[len("file://"):], world_size)
    mpi = None
    if store is None:
        mpi = MPIPart(_mpi_comm("init_process_group"))
        _check_launcher_agrees(mpi.comm, rank, world_size)
        rank, world_size = mpi.rank, mpi.size

        def share(key: str, make: Callable[[], tuple]) -> tuple:
            return mpi.comm.bcast(make() if mpi.rank == 0 else None, root=0)
    else:
        if rank < 0 or world_size < 1:
            raise ValueError("init_process_group: with a file store, give rank and world_size "
                             f"(got rank={rank}, world_size={world_size})")
        if rank >= world_size:
            raise ValueError(f"init_process_group: rank {rank} is not below world_size "
                             f"{world_size}")
        store.set_timeout(timeout or DEFAULT_TIMEOUT)

        def share(key: str, make: Callable[[], tuple]) -> tuple:
            if rank == 0:
                store.set(key, bytes(v & 0xFF for v in make()))  # (NCCL's id: 128 C chars)
            return tuple(b - 256 if b > 127 else b for b in store.get(key))
    if nccl_module() is None:
        if mpi is None:
            raise RuntimeError("init_process_group: backend 'nccl' needs CuPy with NCCL "
                               "(cupy.cuda.nccl), and without it MPI to fall back to; neither "
                               "is here")
        return World(Backend.NCCL, rank, world_size, mpi, None, "CuPy has no NCCL here")
    return World(Backend.NCCL, rank, world_size, mpi, NCCLPart(rank, world_size, share))


def destroy_process_group(group: Any = None) -> None:
    """Leave the default group (its MPI communicator and NCCL communicators are freed). MPI
    itself stays started until the process ends, so init_process_group may be called again."""
    global _world
    if _world is None:
        raise AssertionError("Process group cannot be None")
    world_of(group, "destroy_process_group").destroy()
    _world = None


def get_rank(group: Any = None) -> int:
    """This process's rank: 0 .. world size - 1."""
    return world_of(group, "get_rank").rank


def get_world_size(group: Any = None) -> int:
    return world_of(group, "get_world_size").size


def get_backend(group: Any = None) -> Backend:
    return world_of(group, "get_backend").backend_name
