"""DistributedDataParallel: one model per process, its gradients averaged over the processes.

Every process (rank) runs the same model on its own part of each batch. After `backward()`
each parameter's `.grad` is the average of the ranks' gradients, so that every rank's
optimizer makes the same step and the models stay equal: what one process would compute on
the whole batch (for a loss that is a mean over the batch).

How (as PyTorch's DDP does it):
- at construction, rank 0's parameters and buffers are sent to every rank (broadcast);
- the parameters are put in buckets (about `bucket_cap_mb` MiB each; the first at most 1 MiB),
  in the reverse order of `module.parameters()`, which is about the order in which backward
  finishes their gradients;
- each parameter has a post-accumulate-grad hook: once backward has put its gradient in
  `.grad`, the gradient is copied into its bucket; the bucket's average (an all_reduce) starts
  as soon as its last gradient is in, without waiting, while backward goes on with the layers
  before; buckets start in their order on every rank (MPI and NCCL need the same order);
  the last bucket is waited for at once, so its all_reduce is a blocking one (MPI's blocking
  collectives are faster than its non-blocking ones);
- when the last bucket has started, all are waited for, and the averages copied back into
  the `.grad` of the parameters (or, with gradient_as_bucket_view, `.grad` is a view into the
  bucket from then on).
"""

from __future__ import annotations

import contextlib
import weakref
from typing import Any, Iterator

from ... import distributed as dist
from ...autograd import graph_edges, is_grad_enabled, no_grad, update_in_place
from ...backend import Device, get_array_module, int32
from ...tensor import Tensor, tensor, zeros
from ..module import Module

FIRST_BUCKET_BYTES = 1024 * 1024  # PyTorch's: the first bucket is small, to start early
DEFAULT_BUCKET_CAP_MB = 25


def _tensors_in(value: Any) -> Iterator[Tensor]:
    """The tensors in a forward's output (a tensor, or lists, tuples and dicts of them)."""
    if isinstance(value, Tensor):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _tensors_in(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _tensors_in(item)


def _to_device(value: Any, device: Device) -> Any:
    """The forward's inputs moved to `device` (tensors in lists, tuples and dicts too)."""
    if isinstance(value, Tensor):
        return value.to(device)
    if isinstance(value, (list, tuple)):
        return type(value)(_to_device(item, device) for item in value)
    if isinstance(value, dict):
        return {key: _to_device(item, device) for key, item in value.items()}
    return value


class _Bucket:
    """Some parameters' gradients side by side in one flat tensor (all of one dtype and one
    device), averaged over the ranks by one all_reduce."""

    def __init__(self, indices: list[int], params: list[Tensor]) -> None:
        self.indices = indices
        self.flat = zeros(sum(p.numel() for p in params), dtype=params[0].dtype,
                          device=params[0].device)
        self.views: dict[int, Tensor] = {}  # parameter index -> its place in `flat`
        start = 0
        with no_grad():
            for i, p in zip(indices, params):
                self.views[i] = self.flat[start:start + p.numel()].view(p.shape)
                start += p.numel()
        self.left = len(indices)  # gradients still to come in this backward
        self.work: dist.Work | None = None


def _buckets(params: list[Tensor], cap_bytes: int) -> list[_Bucket]:
    """Buckets of the parameters, last parameter first, one dtype and device in each."""
    buckets, open_ = [], {}  # (dtype, device) -> [indices, params, bytes] being filled
    for i in reversed(range(len(params))):
        p = params[i]
        key = (p.dtype, p.device)
        filling = open_.setdefault(key, [[], [], 0])
        filling[0].append(i)
        filling[1].append(p)
        filling[2] += p.numel() * p.dtype.itemsize
        limit = min(FIRST_BUCKET_BYTES, cap_bytes) if not buckets else cap_bytes
        if filling[2] >= limit:
            buckets.append(_Bucket(filling[0], filling[1]))
            del open_[key]
    buckets += [_Bucket(indices, ps) for indices, ps, _ in open_.values()]
    return buckets


def _copy_into(dst: Tensor, src: Tensor) -> None:
    """dst's values become src's (one shape, dtype and device): one array copy, counted as an
    in-place change of dst (Tensor.copy_ would go through the op layer: broadcasting, dtype
    and device moves, a graph, for nothing here)."""
    update_in_place(dst, get_array_module(dst.array).copyto, dst.array, src.array)


def _hook(reducer: weakref.ref, i: int) -> Any:
    """Parameter i's post-accumulate-grad hook: its gradient is complete."""
    def ready(param: Tensor) -> None:
        if reducer() is not None:
            reducer().mark_ready(i)
    return ready


class _Reducer:
    """The gradient averaging of one DistributedDataParallel: its buckets and their state."""

    def __init__(self, params: list[Tensor], world_size: int, cap_bytes: int,
                 gradient_as_bucket_view: bool) -> None:
        self.params, self.world_size = params, world_size
        self.as_view = gradient_as_bucket_view
        self.buckets = _buckets(params, cap_bytes)
        self.bucket_of = {i: b for b in self.buckets for i in b.indices}
        self.expecting = False  # a forward asked for this backward's gradients to be averaged
        self.ready = [False] * len(params)
        self.next_bucket = 0  # the buckets start in order: the next one to start
        self.used_work: dist.Work | None = None
        self.used: Tensor | None = None  # (find_unused) 1 for each parameter some rank used
        # (the hooks hold the reducer weakly and go with it: a model that outlives its DDP
        # wrapper keeps no hook of it, and no reference cycle keeps the wrapper alive)
        handles = [p.register_post_accumulate_grad_hook(_hook(weakref.ref(self), i))
                   for i, p in enumerate(params)]
        weakref.finalize(self, lambda: [handle.remove() for handle in handles])

    def prepare_for_backward(self, output: Any, find_unused: bool) -> None:
        """After a forward whose backward is to be averaged: expect every parameter's gradient;
        with `find_unused`, the parameters that the output does not depend on are ready now
        (their gradients, zeros if none, go into their buckets) and which parameters any rank
        used is summed over the ranks (to leave the `.grad` of parameters no rank used)."""
        self.expecting, self.next_bucket = True, 0
        self.ready = [False] * len(self.params)
        for bucket in self.buckets:
            bucket.left, bucket.work = len(bucket.indices), None
        if not find_unused:
            self.used_work = None
            return
        reached = {id(t) for _, t, parent in graph_edges(list(_tensors_in(output)))
                   if parent is None}
        reached |= {id(t) for t in _tensors_in(output)}
        local = [int(id(p) in reached) for p in self.params]
        self.used = tensor(local, dtype=int32, device=self.params[0].device)
        self.used_work = dist.all_reduce(self.used, op=dist.ReduceOp.MAX, async_op=True)
        for i, was_used in enumerate(local):
            if not was_used:
                self.mark_ready(i)

    def mark_ready(self, i: int) -> None:
        """Parameter i's gradient for this backward is complete (its hook, or unused)."""
        if not self.expecting:
            return  # (no_sync, or a backward that no DDP forward asked to average)
        if self.ready[i]:
            raise RuntimeError(
                "Expected to mark a variable ready only once. This error is caused by one of "
                "the following reasons: 1) Use of a module parameter outside the `forward` "
                "function. 2) Reused parameters in multiple reentrant backward passes. "
                f"(parameter index {i}, shape {tuple(self.params[i].shape)})")
        self.ready[i] = True
        bucket, grad = self.bucket_of[i], self.params[i].grad
        view = bucket.views[i]
        if grad is None:
            with no_grad():
                view.zero_()
        elif grad.array is not view.array:  # (with gradient_as_bucket_view it is there)
            _copy_into(view, grad)
        bucket.left -= 1
        while self.next_bucket < len(self.buckets) and self.buckets[self.next_bucket].left == 0:
            started = self.buckets[self.next_bucket]
            self.next_bucket += 1
            # the last one is waited for at once: MPI's blocking all_reduce, which is faster
            last = self.next_bucket == len(self.buckets)
            started.work = dist.all_reduce(started.flat, op=dist.ReduceOp.AVG,
                                           async_op=not last)
        if self.next_bucket == len(self.buckets):
            self.finish()
        else:  # (asking lets MPI move the started ones forward: it has no thread of its own)
            for b in self.buckets[:self.next_bucket]:
                b.work.is_completed()

    def finish(self) -> None:
        """Wait for every bucket and put the averages in the parameters' `.grad`."""
        used = None
        if self.used_work is not None:
            self.used_work.wait()
            used = self.used.tolist()
        for bucket in self.buckets:
            if bucket.work is not None:  # (None: the last, averaged by a blocking call)
                bucket.work.wait()
            for i in bucket.indices:
                p, view = self.params[i], bucket.views[i]
                if p.grad is None and (used is None or not used[i]):
                    continue  # (used by no rank: its .grad stays None, as PyTorch leaves it)
                if self.as_view:
                    p.grad = view
                elif p.grad is None:
                    p.grad = view.clone()
                else:
                    _copy_into(p.grad, view)
        self.expecting = False

    def unfinished_message(self, rank: int) -> str:
        missing = " ".join(str(i) for i, ready in enumerate(self.ready) if not ready)
        return (
            "Expected to have finished reduction in the prior iteration before starting a new "
            "one. This error indicates that your module has parameters that were not used in "
            "producing loss. You can enable unused parameter detection by passing the keyword "
            "argument `find_unused_parameters=True` to "
            "`tg.nn.parallel.DistributedDataParallel`, and by making sure all `forward` "
            "function outputs participate in calculating loss.\n"
            f"Parameter indices which did not receive grad for rank {rank}: {missing}")


class DistributedDataParallel(Module):
    """Data-parallel training of `module` over the processes of the default process group
    (`tg.distributed.init_process_group` first), as torch.nn.parallel.DistributedDataParallel.

        ddp = DistributedDataParallel(model)       # rank 0's weights on every rank
        loss = loss_fn(ddp(x_of_this_rank), y_of_this_rank)
        loss.backward()                            # .grad: the average over the ranks
        optimizer.step()

    `ddp.module` is the model; `ddp.state_dict()` has its keys under "module." (save
    `ddp.module.state_dict()` to load it without DDP). `no_sync()`: the backward passes inside
    only accumulate `.grad` locally; the next one outside averages the accumulated gradients.
    `broadcast_buffers` (None: True): before each forward, rank 0's buffers (BatchNorm's running
    statistics) are sent to every rank; False also leaves them out of the sending at
    construction. `find_unused_parameters`: the parameters that a forward's output does not
    depend on are found and counted as done (else backward waits for their gradients, and the
    next forward raises). `static_graph` does the same here. `device_ids` ([index] of the GPU
    of a GPU module): the forward's inputs are moved there. `init_sync` False skips the
    sending at construction. `output_device`, `dim` and `check_reduction` are accepted and not
    used (one device per process; check_reduction is deprecated in PyTorch)."""

    def __init__(self, module: Module, device_ids: list[int | Device] | None = None,
                 output_device: int | Device | None = None, dim: int = 0,
                 broadcast_buffers: bool | None = None, init_sync: bool = True,
                 process_group: Any = None, bucket_cap_mb: float | None = None,
                 find_unused_parameters: bool = False, check_reduction: bool = False,
                 gradient_as_bucket_view: bool = False, static_graph: bool = False) -> None:
        super().__init__()
        world_size = dist.get_world_size(process_group)
        params = list({id(p): p for p in module.parameters() if p.requires_grad}.values())
        if not params:
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't "
                               "have any parameter that requires a gradient.")
        devices = {p.device for p in params}
        if device_ids is not None and (len(device_ids) != 1 or len(devices) != 1
                                       or devices != {_cuda(device_ids[0])}):
            raise ValueError(
                "DistributedDataParallel device_ids and output_device arguments only work with "
                "single-device GPU modules or CPU modules, but got device_ids "
                f"{device_ids}, output_device {output_device}, and module parameters "
                f"{sorted(map(str, devices))}.")
        self.module = module
        self.device_ids, self.output_device, self.dim = device_ids, output_device, dim
        self.process_group = process_group
        self.broadcast_buffers = True if broadcast_buffers is None else broadcast_buffers
        self.find_unused_parameters = find_unused_parameters or static_graph
        self.static_graph = static_graph
        self.require_backward_grad_sync = True  # (False inside no_sync)
        self.require_forward_param_sync = True  # (the buffers are sent before the forward)
        if init_sync:
            self._check_same_model(params)
            self._send_from_rank_0(params, with_buffers=broadcast_buffers is not False)
        cap = DEFAULT_BUCKET_CAP_MB if bucket_cap_mb is None else bucket_cap_mb
        self.reducer = _Reducer(params, world_size, int(cap * 1024 * 1024),
                                gradient_as_bucket_view)

    def _check_same_model(self, params: list[Tensor]) -> None:
        """Every rank has as many parameters, with as many values, as rank 0 (else the
        averages would mix unrelated numbers, or wait forever)."""
        device = params[0].device  # (an NCCL group sends only GPU tensors)
        here = tensor([len(params), sum(p.numel() for p in params)], dtype=int32, device=device)
        everyone = zeros(dist.get_world_size(self.process_group), 2, dtype=int32, device=device)
        dist.all_gather_into_tensor(everyone, here, group=self.process_group)
        counts = everyone.tolist()
        for rank, (count, values) in enumerate(counts):
            if [count, values] != counts[0]:
                raise RuntimeError(
                    f"DDP expects same model across all ranks, but Rank 0 has {counts[0][0]} "
                    f"params ({counts[0][1]} values), while rank {rank} has inconsistent "
                    f"{count} params ({values} values).")

    def _send_from_rank_0(self, params: list[Tensor], with_buffers: bool) -> None:
        for t in params + (list(self.module.buffers()) if with_buffers else []):
            dist.broadcast(t, src=0, group=self.process_group)

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        sync = is_grad_enabled() and self.require_backward_grad_sync
        if sync and self.reducer.expecting:
            raise RuntimeError(self.reducer.unfinished_message(
                dist.get_rank(self.process_group)))
        if self.device_ids is not None:
            device = _cuda(self.device_ids[0])
            inputs, kwargs = _to_device(inputs, device), _to_device(kwargs, device)
        if self.will_sync_module_buffers():
            for b in self.module.buffers():
                dist.broadcast(b, src=0, group=self.process_group)
        output = self.module(*inputs, **kwargs)
        self.require_forward_param_sync = sync
        if sync:
            self.reducer.prepare_for_backward(output, self.find_unused_parameters)
        return output

    def will_sync_module_buffers(self) -> bool:
        return (self.require_forward_param_sync and self.broadcast_buffers
                and dist.get_world_size(self.process_group) > 1
                and any(True for _ in self.module.buffers()))

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Inside, backward only accumulates `.grad` on this rank (no averaging): gradient
        accumulation over several batches, averaged at the first backward after."""
        before = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = before


def _cuda(device: int | Device | str) -> Device:
    return Device("cuda", device) if isinstance(device, int) else Device(device)
