"""The collectives and point-to-point calls, with torch.distributed's names and arguments.

Each works in place on the arrays of the tensors it is given, as PyTorch's do (`all_reduce`
changes `tensor`), outside autograd: nothing is recorded, and no version counter moves (as in
PyTorch). A tensor whose array is contiguous memory of the kind the backend reads (NumPy
arrays for MPI, CuPy arrays for NCCL) is handed over as it is, without a copy. Otherwise it is
copied once (a non-contiguous array into a contiguous one; a GPU array to host memory for MPI),
and the result copied back when the operation completes. The list forms (`all_gather`,
`reduce_scatter`, `gather`, `scatter`) go through one contiguous buffer of all the blocks: a
copy from or to the list's tensors. With `async_op=True` a call returns a Work at once
(MPI's non-blocking calls); `wait()` on it before reading the results. Blocking calls return
None (`recv` the sender's rank).
"""

from __future__ import annotations

import datetime
from typing import Any, Sequence

import numpy as np

from .. import backend
from ..tensor import Tensor
from .process_group import ReduceOp, Work, World, world_of


# ---------------------------------------------------------------------------------------------
# Checks, and the arrays handed to the backend
# ---------------------------------------------------------------------------------------------
def _tensor(t: Any, name: str) -> Tensor:
    if not isinstance(t, Tensor):
        raise TypeError(f"Invalid function argument. Expected parameter `{name}` of type Tensor "
                        f"but got {type(t)} instead.")
    return t


def _op(op: Any, what: str) -> ReduceOp:
    if not isinstance(op, ReduceOp):
        raise TypeError(f"{what}: op must be a ReduceOp (ReduceOp.SUM, AVG, PRODUCT, MIN or "
                        f"MAX), got {op!r}")
    return op


def _rank(rank: int | None, group_rank: int | None, name: str, what: str, world: World
          ) -> int:
    """The root rank a call names (`src` / `dst`, or `group_src` / `group_dst`: the same in
    the world group), checked to be one of the world's."""
    if rank is None and group_rank is None:
        raise ValueError(f"{what}: give {name} (Must specify global_rank or group_rank)")
    if rank is not None and group_rank is not None and rank != group_rank:
        raise ValueError(f"{what}: {name}={rank} and group_{name}={group_rank} differ "
                         "(in the world group they are the same rank)")
    rank = group_rank if rank is None else rank
    if not 0 <= rank < world.size:
        raise RuntimeError(f"{what}: invalid root rank: {rank} (world size {world.size})")
    return rank


def _same_kind(tensors: Sequence[Tensor], like: Tensor, shape: tuple, what: str, name: str
               ) -> None:
    """Every tensor of a list has `like`'s dtype and device and the shape `shape`."""
    for i, t in enumerate(tensors):
        _tensor(t, name)
        if t.dtype != like.dtype:
            raise ValueError(f"{what}: Invalid usage of tensors with different dtypes: found "
                             f"{t.dtype} and {like.dtype}")
        if tuple(t.shape) != shape:
            raise RuntimeError(f"{what}: invalid tensor size at index {i} (expected "
                               f"{shape}, got {tuple(t.shape)})")


def _list_length(tensors: Sequence[Tensor], world: World, what: str, name: str) -> None:
    if len(tensors) != world.size:
        raise RuntimeError(f"{what}: {name} has {len(tensors)} tensors, expected one per rank "
                           f"(the world size, {world.size})")


class _Staged:
    """The arrays handed to one part (MPI or NCCL) for a call, and the copies back.

    `array(a, written)` is `a` itself where it is contiguous memory of the part's kind; else
    a copy (contiguous; in host memory for MPI when `a` is on a GPU) that is copied back into
    `a` when the work completes, if the call writes it."""

    def __init__(self, world: World, tensors: Sequence[Tensor], what: str) -> None:
        devices = {t.device for t in tensors}
        if len(devices) > 1:
            raise RuntimeError(f"{what}: the tensors are on {sorted(map(str, devices))}: they "
                               "must all be on one device")
        self.part = world.part_for(devices.pop(), what)
        self.xp = np if self.part.on_host else backend.get_array_module(tensors[0].array)
        self.back: list[tuple[Any, Any]] = []

    def array(self, a: Any, written: bool = False) -> Any:
        to_host = self.part.on_host and not isinstance(a, np.ndarray)
        if not to_host and a.flags.c_contiguous:
            return a
        with backend.device_scope(a):
            copy = backend.to_numpy(a) if to_host else self.xp.ascontiguousarray(a)
        if written:
            self.back.append((a, copy))
        return copy

    def blocks(self, tensors: Sequence[Tensor]) -> Any:
        """The tensors' arrays one after the other in one contiguous buffer (a copy)."""
        arrays = [self.array(t.array).reshape(-1) for t in tensors]
        with backend.device_scope(arrays[0]):
            return self.xp.concatenate(arrays)

    def into(self, tensors: Sequence[Tensor], flat: Any) -> None:
        """After the work: block i of `flat` into tensors[i]."""
        n = flat.size // len(tensors)
        self.back += [(t.array, flat[i * n:(i + 1) * n]) for i, t in enumerate(tensors)]

    def empty(self, n: int, like: Tensor) -> Any:
        with backend.device_scope(like.array):
            return self.xp.empty(n, dtype=like.array.dtype)

    def finish(self, work: Work, async_op: bool) -> Work | None:
        for a, copy in self.back:
            work.then(lambda a=a, copy=copy: _copy_into(a, copy))
        if async_op:
            return work
        work.wait()
        return None


def _copy_into(a: Any, values: Any) -> None:
    """a[...] <- values (any layout of the same number of elements; from host memory to a
    GPU array: uploaded first, as CuPy copies into a view only from its own arrays)."""
    values = backend.to_device(values, backend.device_of(a))
    with backend.device_scope(a):
        a[...] = values.reshape(a.shape)


# ---------------------------------------------------------------------------------------------
# Collectives
# ---------------------------------------------------------------------------------------------
def all_reduce(tensor: Tensor, op: ReduceOp = ReduceOp.SUM, group: Any = None,
               async_op: bool = False) -> Work | None:
    """tensor <- op over the ranks' `tensor` (SUM: t_0 + t_1 + ...), on every rank."""
    world = world_of(group, "all_reduce")
    op = _op(op, "all_reduce")
    staged = _Staged(world, [_tensor(tensor, "tensor")], "all_reduce")
    work = staged.part.all_reduce(staged.array(tensor.array, written=True), op,
                                  blocking=not async_op)
    return staged.finish(work, async_op)


def broadcast(tensor: Tensor, src: int | None = None, group: Any = None, async_op: bool = False,
              group_src: int | None = None) -> Work | None:
    """tensor <- rank `src`'s tensor, on every rank."""
    world = world_of(group, "broadcast")
    src = _rank(src, group_src, "src", "broadcast", world)
    staged = _Staged(world, [_tensor(tensor, "tensor")], "broadcast")
    work = staged.part.broadcast(staged.array(tensor.array, written=world.rank != src), src,
                                 blocking=not async_op)
    return staged.finish(work, async_op)


def all_gather(tensor_list: list[Tensor], tensor: Tensor, group: Any = None,
               async_op: bool = False) -> Work | None:
    """tensor_list[r] <- rank r's `tensor`, on every rank."""
    world = world_of(group, "all_gather")
    _tensor(tensor, "tensor")
    _list_length(tensor_list, world, "all_gather", "tensor_list")
    _same_kind(tensor_list, tensor, tuple(tensor.shape), "all_gather", "tensor_list")
    staged = _Staged(world, [tensor, *tensor_list], "all_gather")
    flat = staged.empty(world.size * tensor.numel(), tensor)
    work = staged.part.all_gather(flat, staged.array(tensor.array))
    staged.into(tensor_list, flat)
    return staged.finish(work, async_op)


def all_gather_into_tensor(output_tensor: Tensor, input_tensor: Tensor, group: Any = None,
                           async_op: bool = False) -> Work | None:
    """output_tensor <- the ranks' `input_tensor` one after the other (its first dimension is
    world size times the input's, or it is (world size, *input shape))."""
    world = world_of(group, "all_gather_into_tensor")
    _tensor(output_tensor, "output_tensor")
    _tensor(input_tensor, "input_tensor")
    _same_kind([output_tensor], input_tensor, tuple(output_tensor.shape),
               "all_gather_into_tensor", "output_tensor")
    if output_tensor.numel() != world.size * input_tensor.numel():
        raise ValueError(f"all_gather_into_tensor: output tensor size must be equal to "
                         f"world_size times input tensor size: output {tuple(output_tensor.shape)}"
                         f", input {tuple(input_tensor.shape)}, world size {world.size}")
    staged = _Staged(world, [output_tensor, input_tensor], "all_gather_into_tensor")
    work = staged.part.all_gather(staged.array(output_tensor.array, written=True),
                                  staged.array(input_tensor.array))
    return staged.finish(work, async_op)


def reduce_scatter(output: Tensor, input_list: list[Tensor], op: ReduceOp = ReduceOp.SUM,
                   group: Any = None, async_op: bool = False) -> Work | None:
    """output <- op over the ranks' input_list[rank] (rank r gets the reduction of block r)."""
    world = world_of(group, "reduce_scatter")
    op = _op(op, "reduce_scatter")
    _tensor(output, "output")
    _list_length(input_list, world, "reduce_scatter", "input_list")
    _same_kind(input_list, output, tuple(output.shape), "reduce_scatter", "input_list")
    staged = _Staged(world, [output, *input_list], "reduce_scatter")
    work = staged.part.reduce_scatter(staged.array(output.array, written=True),
                                      staged.blocks(input_list), op)
    return staged.finish(work, async_op)


def reduce_scatter_tensor(output: Tensor, input: Tensor, op: ReduceOp = ReduceOp.SUM,  # noqa: A002
                          group: Any = None, async_op: bool = False) -> Work | None:
    """output <- block `rank` of op over the ranks' `input` (world size blocks of
    output.numel() elements, one after the other)."""
    world = world_of(group, "reduce_scatter_tensor")
    op = _op(op, "reduce_scatter_tensor")
    _tensor(output, "output")
    _tensor(input, "input")
    _same_kind([input], output, tuple(input.shape), "reduce_scatter_tensor", "input")
    if input.numel() != world.size * output.numel():
        raise ValueError(f"reduce_scatter_tensor: input tensor must be the same size as output "
                         f"size times world size: input {tuple(input.shape)}, output "
                         f"{tuple(output.shape)}, world size {world.size}")
    staged = _Staged(world, [output, input], "reduce_scatter_tensor")
    work = staged.part.reduce_scatter(staged.array(output.array, written=True),
                                      staged.array(input.array), op)
    return staged.finish(work, async_op)


def reduce(tensor: Tensor, dst: int | None = None, op: ReduceOp = ReduceOp.SUM,
           group: Any = None, async_op: bool = False, group_dst: int | None = None
           ) -> Work | None:
    """tensor on rank `dst` <- op over the ranks' `tensor` (the others' are left as they are)."""
    world = world_of(group, "reduce")
    dst = _rank(dst, group_dst, "dst", "reduce", world)
    op = _op(op, "reduce")
    staged = _Staged(world, [_tensor(tensor, "tensor")], "reduce")
    work = staged.part.reduce(staged.array(tensor.array, written=world.rank == dst), dst, op)
    return staged.finish(work, async_op)


def _root_only_list(tensors: list[Tensor] | None, tensor: Tensor, world: Any, root: int,
                    op: str, name: str, role: str) -> None:
    """Check the list of `tensor`-like tensors that only the root rank (the `role`:
    "destination" or "source") passes, with torch's errors."""
    if world.rank == root:
        if tensors is None:
            raise ValueError(f"Argument ``{name}`` must be specified on {role} rank.")
        _list_length(tensors, world, op, name)
        _same_kind(tensors, tensor, tuple(tensor.shape), op, name)
    elif tensors:
        raise ValueError(f"Argument ``{name}`` must NOT be specified on non-{role} ranks.")


def gather(tensor: Tensor, gather_list: list[Tensor] | None = None, dst: int | None = None,
           group: Any = None, async_op: bool = False, group_dst: int | None = None
           ) -> Work | None:
    """On rank `dst`: gather_list[r] <- rank r's `tensor`."""
    world = world_of(group, "gather")
    dst = _rank(dst, group_dst, "dst", "gather", world)
    _tensor(tensor, "tensor")
    _root_only_list(gather_list, tensor, world, dst, "gather", "gather_list", "destination")
    staged = _Staged(world, [tensor, *(gather_list or [])], "gather")
    flat = staged.empty(world.size * tensor.numel(), tensor) if world.rank == dst else None
    work = staged.part.gather(flat, staged.array(tensor.array), dst)
    if flat is not None:
        staged.into(gather_list, flat)
    return staged.finish(work, async_op)


def scatter(tensor: Tensor, scatter_list: list[Tensor] | None = None, src: int | None = None,
            group: Any = None, async_op: bool = False, group_src: int | None = None
            ) -> Work | None:
    """tensor <- scatter_list[rank] of rank `src`."""
    world = world_of(group, "scatter")
    src = _rank(src, group_src, "src", "scatter", world)
    _tensor(tensor, "tensor")
    _root_only_list(scatter_list, tensor, world, src, "scatter", "scatter_list", "source")
    staged = _Staged(world, [tensor, *(scatter_list or [])], "scatter")
    source = staged.blocks(scatter_list) if world.rank == src else None
    work = staged.part.scatter(staged.array(tensor.array, written=True), source, src)
    return staged.finish(work, async_op)


def barrier(group: Any = None, async_op: bool = False, device_ids: list[int] | None = None,
            timeout: datetime.timedelta | None = None) -> Work | None:
    """Wait until every rank has called barrier (`timeout` is not used: MPI has none)."""
    world = world_of(group, "barrier")
    if world.mpi is not None:
        work = world.mpi.barrier()
    else:  # (NCCL alone: on the GPU of device_ids[0], or one already in use, or cuda:0)
        index = device_ids[0] if device_ids else next(iter(world.nccl.comms), 0)
        work = world.nccl.on(index).barrier()
    if async_op:
        return work
    work.wait()
    return None


# ---------------------------------------------------------------------------------------------
# Point to point
# ---------------------------------------------------------------------------------------------
def _peer(rank: int | None, group_rank: int | None, name: str, what: str, world: World) -> int:
    peer = _rank(rank, group_rank, name, what, world)
    if peer == world.rank:
        kind = "destination" if name == "dst" else "source"
        raise ValueError(f"Invalid {kind} rank: {kind} rank should not be the same as the rank "
                         "of the current process.")
    return peer


def isend(tensor: Tensor, dst: int | None = None, group: Any = None, tag: int = 0,
          group_dst: int | None = None) -> Work:
    """Send `tensor` to rank `dst` without waiting; the Work's wait() returns once it is sent
    (do not change `tensor` before)."""
    world = world_of(group, "isend")
    dst = _peer(dst, group_dst, "dst", "isend", world)
    staged = _Staged(world, [_tensor(tensor, "tensor")], "isend")
    return staged.finish(staged.part.send(staged.array(tensor.array), dst, tag), True)


def irecv(tensor: Tensor, src: int | None = None, group: Any = None, tag: int = 0,
          group_src: int | None = None) -> Work:
    """Receive into `tensor` from rank `src` (None: any rank, MPI only) without waiting."""
    world = world_of(group, "irecv")
    if src is not None or group_src is not None:
        src = _peer(src, group_src, "src", "irecv", world)
    staged = _Staged(world, [_tensor(tensor, "tensor")], "irecv")
    return staged.finish(staged.part.recv(staged.array(tensor.array, written=True), src, tag),
                         True)


def send(tensor: Tensor, dst: int | None = None, group: Any = None, tag: int = 0,
         group_dst: int | None = None) -> None:
    """Send `tensor` to rank `dst` (which calls recv)."""
    isend(tensor, dst, group, tag, group_dst).wait()


def recv(tensor: Tensor, src: int | None = None, group: Any = None, tag: int = 0,
         group_src: int | None = None) -> int:
    """tensor <- what rank `src` sends (None: any rank); returns the sender's rank."""
    work = irecv(tensor, src, group, tag, group_src)
    work.wait()
    return work.source_rank()
