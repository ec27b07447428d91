"""Worker processes for `DataLoader(..., num_workers=N)`.

With N workers the loader starts N processes. Each gets a copy of the dataset (inherited with
`fork` where the system has it, sent with `spawn` otherwise) and a pipe to the main process:

    main process                                    worker k (of N)
    ------------                                    ---------------
    batch i's indices  --(task i, indices)-->       fetch the samples, run their transforms,
    (task i goes to worker i % N)                   collate them, send the batch as NumPy
    yields batch i     <--(task i, batch)---        arrays

So the per-sample work (reading, decoding, random transforms) of N batches runs in parallel,
while the main process trains. The main process keeps `prefetch_factor` tasks per worker in
flight and hands the batches out in task order, so the batches are the same, in the same order,
as with `num_workers=0`.

Seeds: the loader draws a base seed at every `iter(loader)` (from its generator, or tg's global
one); worker k seeds tg's generators, `random` and NumPy's global generator with
`base_seed + k`. Random transforms therefore differ between workers, and the same
`tg.manual_seed` gives the same batches on every run. Inside the worker, `get_worker_info()`
says which worker it is (an `IterableDataset` uses it to take its own share of the data).

An exception in a worker is sent to the main process and raised there, with the worker's
traceback in the message. The workers end when the epoch is over, when the iterator is deleted,
or when the program exits; none is left behind.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import pickle
import random
import time
import traceback
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ... import backend
from ...tensor import Tensor
from .fetch import make_fetcher


# ---------------------------------------------------------------------------------------------
# What a worker knows about itself
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class WorkerInfo:
    """`get_worker_info()` in a worker: its `id` (0 .. num_workers - 1), `num_workers`, the
    `seed` it was given and its copy of the `dataset`."""

    id: int
    num_workers: int
    seed: int
    dataset: Any


_worker_info: WorkerInfo | None = None


def get_worker_info() -> WorkerInfo | None:
    """This worker's `WorkerInfo` inside a DataLoader worker process; None in the main process.

        class Numbers(IterableDataset):
            def __iter__(self):
                info = get_worker_info()
                if info is None:                      # num_workers=0: everything
                    return iter(range(10))
                return iter(range(info.id, 10, info.num_workers))   # every N-th number
    """
    return _worker_info


# ---------------------------------------------------------------------------------------------
# Messages between the processes
# ---------------------------------------------------------------------------------------------
class _HostTensor:
    """A Tensor on its way from a worker to the main process: just its NumPy array."""

    def __init__(self, array: np.ndarray) -> None:
        self.array = array


def _to_host(batch: Any) -> Any:
    """`batch` with every Tensor replaced by its NumPy array (containers kept)."""
    if isinstance(batch, Tensor):
        if batch.device.type != "cpu":
            raise RuntimeError(f"DataLoader worker: the batch holds a tensor on {batch.device}; "
                               "worker processes build batches on the CPU (use num_workers=0 "
                               "for a dataset whose data is on a GPU, or move each batch "
                               "with .to(device) in the training loop)")
        return _HostTensor(np.asarray(batch.array))
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):  # namedtuple
        return type(batch)(*(_to_host(field) for field in batch))
    if isinstance(batch, (list, tuple)):
        return type(batch)(_to_host(item) for item in batch)
    if isinstance(batch, dict):
        return type(batch)((key, _to_host(value)) for key, value in batch.items())
    return batch


def _from_host(batch: Any) -> Any:
    """The inverse of `_to_host`, in the main process: NumPy arrays become Tensors again."""
    if isinstance(batch, _HostTensor):
        return Tensor._make(batch.array)
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):
        return type(batch)(*(_from_host(field) for field in batch))
    if isinstance(batch, (list, tuple)):
        return type(batch)(_from_host(item) for item in batch)
    if isinstance(batch, dict):
        return type(batch)((key, _from_host(value)) for key, value in batch.items())
    return batch


class _WorkerError:
    """An exception raised in a worker, carried to the main process as its class and the text
    of its traceback."""

    def __init__(self, worker_id: int, exc: BaseException) -> None:
        self.worker_id = worker_id
        self.exc_type = type(exc)
        self.text = "".join(traceback.format_exception(exc))

    def reraise(self) -> None:
        message = (f"Caught {self.exc_type.__name__} in DataLoader worker process "
                   f"{self.worker_id}.\nOriginal {self.text}")
        try:
            error = self.exc_type(message)
        except Exception:  # an exception class that needs other arguments
            raise RuntimeError(message) from None
        raise error


class _Exhausted:
    """A worker's answer when its copy of an IterableDataset has no more samples."""

    def __init__(self, worker_id: int) -> None:
        self.worker_id = worker_id


_RESTART_ITERATION = "restart"  # persistent workers: start a new epoch of an IterableDataset
_STOP = None  # the main process asks the worker to exit


# ---------------------------------------------------------------------------------------------
# The worker process
# ---------------------------------------------------------------------------------------------
def _send(connection: multiprocessing.connection.Connection, worker_id: int, task_id: int,
          result: Any) -> None:
    """Send a result; one that cannot be pickled is replaced by an error that says so."""
    try:
        connection.send((task_id, result))
    except (pickle.PicklingError, TypeError, AttributeError) as exc:
        connection.send((task_id, _WorkerError(worker_id, exc)))


def worker_loop(worker_id: int, num_workers: int, base_seed: int, dataset: Any,
                fetcher_args: tuple, worker_init_fn: Callable[[int], None] | None,
                connection: multiprocessing.connection.Connection) -> None:
    """The body of worker process `worker_id`: seed, run `worker_init_fn`, then answer tasks
    (task id, indices) with (task id, batch) until told to stop."""
    global _worker_info
    seed = base_seed + worker_id
    random.seed(seed)
    backend.manual_seed(seed)
    np.random.seed(seed % 2**32)
    _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed, dataset=dataset)
    setup_error = None
    try:
        if worker_init_fn is not None:
            worker_init_fn(worker_id)
        fetcher = make_fetcher(dataset, *fetcher_args)
    except Exception as exc:  # reported as the answer to every task
        setup_error = _WorkerError(worker_id, exc)
    try:
        while True:
            task = connection.recv()
            if task is _STOP:
                return
            if task == _RESTART_ITERATION:
                if setup_error is None:
                    fetcher = make_fetcher(dataset, *fetcher_args)
                continue
            task_id, indices = task
            if setup_error is not None:
                _send(connection, worker_id, task_id, setup_error)
                continue
            try:
                result = _to_host(fetcher.fetch(indices))
            except StopIteration:
                result = _Exhausted(worker_id)
            except Exception as exc:
                result = _WorkerError(worker_id, exc)
            _send(connection, worker_id, task_id, result)
    except (KeyboardInterrupt, EOFError, BrokenPipeError):
        return  # Ctrl-C, or the main process went away: exit quietly


# ---------------------------------------------------------------------------------------------
# The main process's side
# ---------------------------------------------------------------------------------------------
_SHUTDOWN_SECONDS = 5.0
_POLL_SECONDS = 1.0


def start_method_context(context: Any) -> Any:
    """The multiprocessing context: the one given (a context or a start method's name), else
    'fork' where the system has it (workers start fast and inherit the dataset), else 'spawn'."""
    if context is None:
        methods = multiprocessing.get_all_start_methods()
        return multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    if isinstance(context, str):
        methods = multiprocessing.get_all_start_methods()
        if context not in methods:
            raise ValueError(f"DataLoader: multiprocessing_context option should specify a valid "
                             f"start method in {methods!r}, but got "
                             f"multiprocessing_context={context!r}")
        return multiprocessing.get_context(context)
    if isinstance(context, multiprocessing.context.BaseContext):
        return context
    raise TypeError(f"DataLoader: multiprocessing_context option must be a valid context or "
                    f"start method name, but got multiprocessing_context={context!r}")


def _shutdown(processes: list, connections: list) -> None:
    """Ask every worker to stop, read what they still send (so none blocks on a full pipe),
    wait for them, and terminate any that does not stop: no process is left behind."""
    for connection in connections:
        try:
            connection.send(_STOP)
        except (OSError, ValueError):
            pass  # that worker is gone already
    deadline = time.monotonic() + _SHUTDOWN_SECONDS
    for process, connection in zip(processes, connections):
        while process.is_alive() and time.monotonic() < deadline:
            try:
                while connection.poll():
                    connection.recv()
            except (OSError, EOFError, ValueError):
                pass
            process.join(0.01)
        if process.is_alive():
            process.terminate()
        process.join()
        connection.close()


class MultiProcessingIterator:
    """One epoch of a DataLoader whose batches are built by worker processes."""

    def __init__(self, loader: Any, base_seed: int) -> None:
        self.loader = loader
        context = start_method_context(loader.multiprocessing_context)
        fetcher_args = (loader._auto_collation, loader.collate_fn, loader.drop_last,
                        loader._use_get_batch)
        self.processes, self.connections = [], []
        for worker_id in range(loader.num_workers):
            ours, theirs = context.Pipe()
            process = context.Process(
                target=worker_loop, daemon=True,
                args=(worker_id, loader.num_workers, base_seed, loader.dataset, fetcher_args,
                      loader.worker_init_fn, theirs))
            process.start()
            theirs.close()  # the worker holds its own copy
            self.processes.append(process)
            self.connections.append(ours)
        # Runs when this iterator is garbage collected, or at exit; never refers to `self`.
        self._finalizer = weakref.finalize(self, _shutdown, self.processes, self.connections)
        self._next_task = 0
        self._start_epoch()

    def _start_epoch(self) -> None:
        self.sampler_iter = iter(self.loader._index_sampler)
        self.worker_of_task: dict[int, int] = {}  # tasks sent and not handed out yet
        self.arrived: dict[int, Any] = {}  # their results that came early
        self.active = [True] * len(self.processes)
        self.next_to_yield = self._next_task
        self.next_worker = 0
        for _ in range(self.loader.prefetch_factor * len(self.processes)):
            self._send_next_task()

    def _reset(self) -> None:
        """A new epoch on the same (persistent) workers."""
        if self.loader._iterable:
            for connection in self.connections:
                connection.send(_RESTART_ITERATION)
        self._start_epoch()

    def _send_next_task(self) -> None:
        """Send the next batch's indices to the next worker that still has data, round robin."""
        workers = len(self.processes)
        for _ in range(workers):
            worker = self.next_worker
            self.next_worker = (self.next_worker + 1) % workers
            if self.active[worker]:
                break
        else:
            return  # every worker has run out of data
        try:
            indices = next(self.sampler_iter)
        except StopIteration:
            return
        try:
            self.connections[worker].send((self._next_task, indices))
        except OSError:
            pass  # that worker died: `_receive` reports it while waiting for this task
        self.worker_of_task[self._next_task] = worker
        self._next_task += 1

    @property
    def alive(self) -> bool:
        """Whether the workers are still running (not shut down after the epoch or an error)."""
        return self._finalizer.alive

    def __iter__(self) -> MultiProcessingIterator:
        return self

    def __len__(self) -> int:
        return len(self.loader)

    def __next__(self) -> Any:
        if not self.alive:  # the workers were shut down (after an error)
            raise StopIteration
        while True:
            # skip the tasks of workers whose IterableDataset ran out (they have no batch)
            while (self.next_to_yield in self.worker_of_task
                   and self.next_to_yield not in self.arrived
                   and not self.active[self.worker_of_task[self.next_to_yield]]):
                del self.worker_of_task[self.next_to_yield]
                self.next_to_yield += 1
            if self.next_to_yield not in self.worker_of_task:  # nothing left to wait for
                if not self.loader.persistent_workers:
                    self._finalizer()
                raise StopIteration
            if self.next_to_yield in self.arrived:
                result = self.arrived.pop(self.next_to_yield)
                del self.worker_of_task[self.next_to_yield]
                self.next_to_yield += 1
                self._send_next_task()
                if isinstance(result, _WorkerError):
                    self._finalizer()
                    result.reraise()
                return _from_host(result)
            task_id, result = self._receive()
            if task_id not in self.worker_of_task:
                continue  # a result of an epoch that was abandoned half-way: not wanted
            if isinstance(result, _Exhausted):
                self.active[result.worker_id] = False
                del self.worker_of_task[task_id]
                self._send_next_task()
            else:
                self.arrived[task_id] = result

    def _receive(self) -> tuple[int, Any]:
        """The next result any worker sends; raises if a worker died or `timeout` passed."""
        timeout = self.loader.timeout
        deadline = time.monotonic() + timeout if timeout > 0 else None
        sentinels = {process.sentinel: process for process in self.processes}
        while True:
            wait = _POLL_SECONDS if deadline is None else max(0.0, deadline - time.monotonic())
            ready = multiprocessing.connection.wait(self.connections + list(sentinels),
                                                    timeout=min(wait, _POLL_SECONDS))
            for connection in self.connections:
                if connection in ready:
                    try:
                        return connection.recv()
                    except (EOFError, OSError):
                        break  # its worker died: reported just below
            dead = [process for process in sentinels.values() if process.exitcode is not None]
            if dead:
                self._finalizer()
                codes = ", ".join(f"pid {p.pid}: exit code {p.exitcode}" for p in dead)
                raise RuntimeError(f"DataLoader worker ({codes}) exited unexpectedly")
            if deadline is not None and time.monotonic() >= deadline:
                self._finalizer()
                raise RuntimeError(f"DataLoader timed out after {timeout} seconds")
