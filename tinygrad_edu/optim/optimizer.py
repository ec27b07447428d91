"""The Optimizer base class: parameter groups, per-parameter state, state_dict.

An optimizer holds `param_groups`, a list of dicts. Each group has a list of parameters
under "params" and its own hyperparameters ("lr", "momentum", ...), which default to the
values given to the constructor. `state[p]` is a dict of Tensors for parameter `p` (its
momentum buffer, running averages, step count...), created on the first `step()`.

Subclasses implement `step()`. Updates happen in place on the parameter's own array
(`p.array` stays the same array object), on the parameter's device and in its dtype,
written with the array library's ufuncs and `out=` so that few temporaries are made.
The shared part of every `step()` lives here: `_floats` reads a group's options,
`_params_with_grads` walks the parameters that have a gradient (creating their state
with the subclass's `_init_state`), `_penalized_grad` applies `maximize` and the L2
weight decay, and `_chunked` runs a parameter's in-place arithmetic (a small function of
array views) on all CPU cores; a subclass's `step()` keeps only its own update formula.

A subclass declares the state its `step()` reads in `_state_keys` (key -> `StateKey`), and
`load_state_dict` checks a loaded state against it in one place (`_load_param_state`): the keys,
the shapes, dtypes and devices of the Tensors, the step counter. A state that `step()` could
not use is refused when it is loaded, not at the next step.
"""

from __future__ import annotations

import numbers
import os
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from itertools import chain
from typing import Any, Callable, ClassVar, Iterable, Iterator, Literal

import numpy as np

from .. import backend
from ..autograd import bump_version, enable_grad
from ..tensor import Tensor

__all__ = ["Optimizer", "StateKey", "required"]


class _RequiredParameter:
    """Marks a hyperparameter without a default: every param group must set it."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


# An update step is memory-bound, and NumPy runs each ufunc on one core. NumPy releases the
# GIL inside its ufunc loops, so the update of a large parameter, split into one flat chunk
# per core and run in threads, shares the memory bandwidth of all cores (on 2 cores a 16M
# element SGD update takes 16 ms instead of 31.5 ms). Elementwise arithmetic gives each
# element the same result whichever chunk computes it, so the update is bit-for-bit the same.
# TINYGRAD_EDU_THREADS=1 (or setting `THREADS = 1` here) turns the threads off. (Right after
# a large matmul, OpenBLAS's idle threads busy-wait on the other cores for a while, see
# OPENBLAS_THREAD_TIMEOUT, and take most of the gain.)
def _threads_from_env() -> int:
    value = os.environ.get("TINYGRAD_EDU_THREADS", "").strip()
    if value.isdigit() and int(value) > 0:
        return int(value)
    return os.cpu_count() or 1


THREADS: int = _threads_from_env()
"""How many chunks (threads) the update of a large NumPy parameter is split into."""

CHUNKED_MIN_SIZE: int = 1 << 20
"""Parameters with fewer elements are updated in one call: threads would cost more than
they save."""

_pool: ThreadPoolExecutor | None = None


def _thread_pool() -> ThreadPoolExecutor:
    """The shared worker threads, created on first use (and again in a forked child)."""
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 1,
                                   thread_name_prefix="tinygrad_edu-optim")
    return _pool


def _forget_pool() -> None:
    global _pool
    _pool = None  # a forked child has none of the parent's threads


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def _is_array(value: Any) -> bool:
    """A NumPy or CuPy array (anything with a dtype, a shape and array arithmetic)."""
    return isinstance(value, np.ndarray) or backend.get_array_module(value) is not np


def _copy_plain(value: Any) -> Any:
    """Copy nested dicts, lists and tuples of plain values (hyperparameters)."""
    if isinstance(value, dict):
        return {k: _copy_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_copy_plain(v) for v in value)
    return value


@dataclass(frozen=True)
class StateKey:
    """One entry of an optimizer's per-parameter state, as its `step()` reads it.

    kind: "tensor", a Tensor of the parameter's shape (loaded onto the parameter's device and,
        for a floating parameter, cast to its dtype, as PyTorch), or "step", the step
        counter (a float32 scalar on the CPU, see `Optimizer._step_state`).
    required: whether a parameter that has any state must have this entry (False: `step()`
        creates it when it is missing, e.g. after an option was switched on).
    nullable: whether None is a valid value (SGD's "momentum_buffer", as PyTorch writes it).
    """

    kind: Literal["tensor", "step"] = "tensor"
    required: bool = True
    nullable: bool = False


class Optimizer:
    """Base class of all optimizers.

    Args:
        params: an iterable of Tensors, or of dicts (parameter groups) each holding
            "params" and options that override `defaults` for that group.
        defaults: the default hyperparameters of every group.
    """

    _state_keys: ClassVar[dict[str, StateKey] | None] = None
    """The per-parameter state that `step()` reads (see `StateKey`), checked by
    `load_state_dict`. None (a subclass that declares nothing): any keys are loaded, Tensors
    of the parameter's shape moved to its device and dtype."""

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]],
                 defaults: dict[str, Any]) -> None:
        name = type(self).__name__
        if isinstance(params, Tensor):
            raise TypeError(f"{name}: params should be an iterable of Tensors or dicts, but got "
                            f"a single Tensor; pass a list such as [tensor] or "
                            "model.parameters()")
        if isinstance(params, dict):
            raise TypeError(f"{name}: params should be an iterable of Tensors or dicts, but got "
                            "a dict; wrap a single parameter group in a list: [{'params': ...}]")
        if isinstance(params, (set, frozenset)):
            raise TypeError(f"{name}: optimizer parameters need to be organized in ordered "
                            "collections, but the ordering of tensors in sets changes between "
                            "runs; use a list instead")
        self.defaults: dict[str, Any] = dict(defaults)
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        self._scratch_buffers: dict[tuple, Any] = {}
        groups = list(params)
        if not groups:
            raise ValueError(f"{name}: optimizer got an empty parameter list (does the model "
                             "have any parameters?)")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # -----------------------------------------------------------------------------------------
    # parameter groups
    # -----------------------------------------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own options (missing ones take the defaults)."""
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{name}: a param group must be a dict, but got "
                            f"{type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError(f"{name}: a param group must have a 'params' entry")
        group = dict(param_group)
        params = group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(f"{name}: optimizer parameters need to be organized in ordered "
                            "collections, but the ordering of tensors in sets changes between "
                            "runs; use a list instead")
        else:
            params = list(params)
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: optimizer can only optimize Tensors, but parameter {i} "
                                f"of the group is {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"{name}: can't optimize a non-leaf Tensor (parameter {i} of the "
                                 f"group, shape {p.shape}, was computed by {p.grad_fn!r}); "
                                 "optimize the leaf tensors it was computed from, or use "
                                 "t.detach().requires_grad_()")
        group["params"] = params
        for key, default in self.defaults.items():
            if default is required and key not in group:
                raise ValueError(f"{name}: parameter group didn't specify a value of required "
                                 f"optimization parameter {key}")
            group.setdefault(key, default)
        self._validate_group(group)
        ids = {id(p) for p in params}
        if len(ids) != len(params):
            raise ValueError(f"{name}: a parameter group contains the same tensor more than once")
        for other in self.param_groups:
            if any(id(p) in ids for p in other["params"]):
                raise ValueError(f"{name}: some parameters appear in more than one parameter "
                                 "group")
        self.param_groups.append(group)

    def _validate_group(self, group: dict[str, Any]) -> None:
        """Check the hyperparameters of one group; raises ValueError naming the bad one."""
        name = type(self).__name__

        def number(key: str) -> float | None:
            if key not in group:
                return None
            value = group[key]
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise TypeError(f"{name}: {key} must be a real number, got {value!r}")
            return float(value)

        for key, label in (("lr", "learning rate"), ("eps", "epsilon value"),
                           ("weight_decay", "weight_decay value"), ("momentum", "momentum value"),
                           ("alpha", "alpha value"), ("lr_decay", "lr_decay value"),
                           ("initial_accumulator_value", "initial_accumulator_value value"),
                           ("dampening", "dampening value")):
            value = number(key)
            if value is not None and not value >= 0.0:
                raise ValueError(f"{name}: Invalid {label}: {group[key]} (must be >= 0)")
        if "betas" in group:
            betas = group["betas"]
            if not isinstance(betas, (tuple, list)) or len(betas) != 2:
                raise ValueError(f"{name}: betas must be a pair (beta1, beta2), got {betas!r}")
            for i, beta in enumerate(betas):
                if (isinstance(beta, bool) or not isinstance(beta, numbers.Real)
                        or not 0.0 <= beta < 1.0):
                    raise ValueError(f"{name}: Invalid beta parameter at index {i}: {beta!r} "
                                     "(must be in [0, 1))")

    # -----------------------------------------------------------------------------------------
    # the training-loop API
    # -----------------------------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients of all parameters: set `.grad` to None (default) or to zeros."""
        for group in self.param_groups:
            for p in group["params"]:
                grad = p.grad
                if grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                    continue
                with backend.device_scope(grad.array):  # (on the gradient's GPU)
                    if grad.grad_fn is not None:
                        # a gradient built with create_graph=True may share its array with
                        # the graph; give the parameter fresh zeros instead of overwriting it
                        xp = backend.get_array_module(grad.array)
                        p.grad = Tensor._make(xp.zeros_like(grad.array))
                    else:
                        grad.array.fill(0)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; returns `closure()`'s loss if given."""
        raise NotImplementedError(f"{type(self).__name__} does not implement step()")

    def _run_closure(self, closure: Callable[[], Any] | None) -> Any:
        if closure is None:
            return None
        with enable_grad():
            return closure()

    def _check_grads(self) -> None:
        """Before touching anything: every gradient must have its parameter's shape and be
        on its device (checks of metadata only: nothing is read from the GPU)."""
        index = 0
        for group in self.param_groups:
            for p in group["params"]:
                grad = p.grad
                if grad is not None:
                    if grad.array.shape != p.array.shape:
                        raise ValueError(f"{type(self).__name__}.step: parameter {index} has "
                                         f"shape {p.shape} but its .grad has shape "
                                         f"{grad.shape}")
                    device, grad_device = (backend.device_of(p.array),
                                           backend.device_of(grad.array))
                    if device != grad_device:
                        raise RuntimeError(f"{type(self).__name__}.step: parameter {index} is "
                                           f"on {device} but its .grad is on {grad_device}; "
                                           "move the gradient to the parameter's device")
                index += 1

    @staticmethod
    def _floats(group: dict[str, Any], *keys: str) -> tuple[float, ...]:
        """The options `keys` of `group` as Python floats (a NumPy scalar such as np.float64
        would make float32 arithmetic promote to float64)."""
        return tuple(float(group[key]) for key in keys)

    def _params_with_grads(self, group: dict[str, Any], with_state: bool = True
                           ) -> Iterator[tuple[Tensor, Any, Any, Any, dict[str, Any] | None]]:
        """The parameters of `group` that have a gradient, as (p, data, grad, xp, state).

        `data` is p's own array (update it in place: its version is counted here), `grad`
        its gradient's array (never write to it), `xp` their array module (NumPy or CuPy)
        and `state` p's state dict; on p's first step `_init_state` fills it. With
        `with_state=False`, state is None and no state entry is made for p."""
        for p in group["params"]:
            if p.grad is None:
                continue
            data = p.array
            with backend.device_scope(data):  # p's update runs on p's GPU
                state = None
                if with_state:
                    state = self.state[p]
                    if not state:
                        self._init_state(p, state, group)
                # p is about to change in place: a graph that used it now refuses backward
                bump_version(p)
                yield p, data, p.grad.array, backend.get_array_module(data), state

    def _init_state(self, p: Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        """Fill the empty state dict of parameter `p` before its first update (subclasses)."""

    def _penalized_grad(self, data: Any, grad: Any, xp: Any, weight_decay: float,
                        maximize: bool, slot: int) -> Any:
        """The gradient after `maximize` and the L2 penalty: (-grad if maximize else grad)
        + weight_decay * data, in the scratch array `slot` (or `grad` itself when neither
        applies). `grad`, the parameter's own gradient, is never changed."""
        out = self._penalty_scratch(data, weight_decay, maximize, slot)
        return self._penalize(data, grad, out, xp, weight_decay, maximize)

    def _penalty_scratch(self, data: Any, weight_decay: float, maximize: bool,
                         slot: int) -> Any:
        """The scratch array `slot` if `_penalize` needs one, else None."""
        return self._scratch(data, slot) if weight_decay != 0 or maximize else None

    @staticmethod
    def _penalize(data: Any, grad: Any, out: Any, xp: Any, weight_decay: float,
                  maximize: bool) -> Any:
        """`_penalized_grad` on given arrays (chunks, in `_chunked`): the result is written
        to `out` (from `_penalty_scratch`), or is `grad` itself when nothing applies."""
        if weight_decay != 0:
            xp.multiply(data, weight_decay, out=out)
            (xp.subtract if maximize else xp.add)(out, grad, out=out)
            return out
        if maximize:
            return xp.negative(grad, out=out)
        return grad

    # the C version of _penalize for the fused GPU kernels (see backend.ElementwiseKernel):
    # d, the gradient after maximize (sign = -1) and the L2 penalty, from g and p
    PENALIZED_GRAD_C = "T d = weight_decay != 0 ? p * weight_decay + sign * g : sign * g;"

    @staticmethod
    def _chunked(update: Callable[..., Any], *arrays: Any) -> None:
        """Call `update(*arrays)`, the in-place update of one parameter; a large NumPy one is
        split into `THREADS` matching flat chunks, updated in parallel threads.

        `arrays` are the arrays `update` reads or writes (the parameter, its gradient, its
        state, scratch arrays), all of the parameter's size; None entries are passed as
        None. `update` must be elementwise: element i of every output depends only on
        element i of the inputs (and on scalars, which it takes from its closure). It runs
        once on the whole arrays for CuPy arrays, small parameters, arrays that are not
        C-contiguous or with `THREADS == 1`."""
        present = [a for a in arrays if a is not None]
        size = present[0].size
        chunks = THREADS
        if (chunks < 2 or size < CHUNKED_MIN_SIZE
                or not all(isinstance(a, np.ndarray) and a.flags.c_contiguous
                           and a.size == size for a in present)):
            update(*arrays)
            return
        flat = [None if a is None else a.reshape(-1) for a in arrays]  # views, no copies
        bounds = [size * i // chunks for i in range(chunks + 1)]
        pieces = [[None if f is None else f[lo:hi] for f in flat]
                  for lo, hi in zip(bounds[:-1], bounds[1:])]
        pool = _thread_pool()
        futures = [pool.submit(update, *piece) for piece in pieces[1:]]
        try:
            update(*pieces[0])  # this thread takes the first chunk itself
        finally:
            wait(futures)  # never return while a chunk is still being written
        for future in futures:
            future.result()  # re-raises a worker's exception

    def _scratch(self, like: Any, slot: int = 0) -> Any:
        """A reusable work array shaped and typed like `like` (contents undefined).

        One flat buffer per (slot, device, dtype), as large as the largest parameter seen,
        so that an update step allocates nothing."""
        dtype = like.dtype
        key = (slot, type(like), backend.device_of(like), dtype)
        buf = self._scratch_buffers.get(key)
        size = like.size
        if buf is None or buf.size < size:
            xp = backend.get_array_module(like)
            buf = xp.empty(size, dtype=dtype)
            self._scratch_buffers[key] = buf
        return buf[:size].reshape(like.shape)

    @staticmethod
    def _zeros_state(p: Tensor, fill: float = 0.0) -> Tensor:
        """A state Tensor like `p` (same shape, dtype and device) filled with `fill`."""
        xp = backend.get_array_module(p.array)
        if fill == 0.0:
            return Tensor._make(xp.zeros_like(p.array))
        return Tensor._make(xp.full_like(p.array, fill))

    @staticmethod
    def _step_state() -> Tensor:
        """The step counter: a float32 scalar on the CPU (as PyTorch), so that reading it
        never waits for the GPU."""
        return Tensor._make(np.zeros((), dtype=np.float32))

    @staticmethod
    def _increment(step: Tensor) -> float:
        """Add one to a step counter in place; return the new count as a Python float."""
        data = step.array
        if isinstance(data, np.ndarray) and data.ndim == 0:
            data += 1
            return float(data)
        step.array = backend.to_numpy(data).astype(np.float32).reshape(()) + np.float32(1)
        return float(step.array)

    # -----------------------------------------------------------------------------------------
    # state_dict
    # -----------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state, PyTorch's layout: parameters are numbered in group order.

        {'state': {index: {'momentum_buffer': Tensor, ...}},
         'param_groups': [{'lr': ..., ..., 'params': [index, ...]}]}

        The state Tensors are the live ones (not copies), as in PyTorch."""
        index_of: dict[int, int] = {}
        groups = []
        next_index = 0
        for group in self.param_groups:
            packed = {k: _copy_plain(v) for k, v in group.items() if k != "params"}
            indices = []
            for p in group["params"]:
                if id(p) not in index_of:
                    index_of[id(p)] = next_index
                    next_index += 1
                indices.append(index_of[id(p)])
            packed["params"] = indices
            groups.append(packed)
        state = {index_of[id(p)]: dict(s) for p, s in self.state.items()
                 if id(p) in index_of and s}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a `state_dict()`: groups and parameters are matched by position.

        Checks the number of groups, of parameters per group, the groups' options and each
        parameter's state against `_state_keys` (its keys, the Tensors' shapes and dtypes,
        the step counter); moves each state Tensor to its parameter's device and (floating)
        dtype, as copies. A parameter without state is one not stepped yet. Raises ValueError
        naming the parameter and the key; nothing changes if a check fails."""
        name = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, dict) or "state" not in state_dict \
                or "param_groups" not in state_dict:
            got = (f"a dict with keys {sorted(map(str, state_dict))}"
                   if isinstance(state_dict, dict) else type(state_dict).__name__)
            raise ValueError(f"{name}: expected a dict with 'state' and 'param_groups' (what "
                             f"Optimizer.state_dict() returns), got {got}")
        saved_groups = state_dict["param_groups"]
        saved_state = state_dict["state"]
        if not isinstance(saved_groups, (list, tuple)) or not all(
                isinstance(g, dict) and isinstance(g.get("params"), (list, tuple))
                for g in saved_groups):
            raise ValueError(f"{name}: 'param_groups' must be a list of dicts, each with a "
                             "'params' list")
        if not isinstance(saved_state, dict):
            raise ValueError(f"{name}: 'state' must be a dict, got {type(saved_state).__name__}")
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}: loaded state dict has {len(saved_groups)} parameter "
                             f"group(s), but the optimizer has {len(self.param_groups)}")
        for i, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"{name}: parameter group {i} of the loaded state dict has "
                                 f"{len(saved['params'])} parameters, but the optimizer's has "
                                 f"{len(group['params'])}")
        param_of = dict(zip(chain.from_iterable(g["params"] for g in saved_groups),
                            chain.from_iterable(g["params"] for g in self.param_groups)))

        new_state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        for key, entries in saved_state.items():
            index = int(key) if isinstance(key, str) and key.isdigit() else key
            if index not in param_of:
                raise ValueError(f"{name}: the state of parameter {key!r} is in the state dict, "
                                 "but no parameter group lists that parameter")
            if not isinstance(entries, dict):
                raise ValueError(f"{name}: the state of parameter {key!r} must be a dict, got "
                                 f"{type(entries).__name__}")
            p = param_of[index]
            new_state[p] = self._load_param_state(p, index, entries)

        new_groups = []
        for saved, group in zip(saved_groups, self.param_groups):
            new_group = {k: _copy_plain(v) for k, v in saved.items() if k != "params"}
            for k, v in group.items():
                new_group.setdefault(k, v)  # options the checkpoint predates keep their value
            new_group["params"] = group["params"]
            self._validate_group(new_group)
            new_groups.append(new_group)

        self.state = new_state
        self.param_groups = new_groups

    def _load_param_state(self, p: Tensor, index: Any, entries: dict[str, Any]
                          ) -> dict[str, Any]:
        """A checked copy of the saved state of parameter `p` (number `index`), as `step()`
        will use it: the keys must be among `_state_keys`, with every required one present
        (unless the state is empty: `p` was not stepped yet), and each value of its kind."""
        spec = self._state_keys
        if spec is None:  # a subclass that declares nothing: load what is there
            return {k: self._cast_state(p, index, k, v) for k, v in entries.items()}
        name = f"{type(self).__name__}.load_state_dict"
        known = ", ".join(map(repr, spec)) or "nothing"
        for key in entries:
            if key not in spec:
                raise ValueError(f"{name}: the state of parameter {index} has the unexpected "
                                 f"key {key!r}; {type(self).__name__} keeps {known} (is this "
                                 "another optimizer's state dict?)")
        missing = [k for k, key_spec in spec.items() if key_spec.required and k not in entries]
        if entries and missing:
            needed = ", ".join(repr(k) for k, key_spec in spec.items() if key_spec.required)
            got = ", ".join(map(repr, entries))
            raise ValueError(f"{name}: the state of parameter {index} lacks {missing[0]!r}: "
                             f"{type(self).__name__} needs {needed} (got {got})")
        loaded = {}
        for key, value in entries.items():
            key_spec = spec[key]
            if value is None and key_spec.nullable:
                loaded[key] = None
            elif key_spec.kind == "step":
                loaded[key] = self._load_step(index, key, value)
            else:
                loaded[key] = self._load_like_param(p, index, key, value)
        return loaded

    def _cast_state(self, p: Tensor, index: Any, key: str, value: Any) -> Any:
        """A copy of one saved state value of an optimizer without `_state_keys`: Tensors and
        arrays like `p` on its device and (for floats) in its dtype, "step" as a counter,
        anything else as it is."""
        if isinstance(value, dict):
            return {k: self._cast_state(p, index, k, v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self._cast_state(p, index, key, v) for v in value)
        if key == "step":
            if isinstance(value, Tensor) or _is_array(value) or isinstance(value, numbers.Real):
                return self._load_step(index, key, value)
            return value
        if not (isinstance(value, Tensor) or _is_array(value)):
            return value
        return self._load_like_param(p, index, key, value)

    def _load_step(self, index: Any, key: str, value: Any) -> Tensor:
        """A saved step counter as the float32 CPU scalar that `step()` counts with (see
        `_step_state`): a real, finite number >= 0, alone or in a one-element Tensor/array."""
        name = f"{type(self).__name__}.load_state_dict"
        if isinstance(value, Tensor):
            value = value.array
        if _is_array(value):
            array = backend.to_numpy(value)
            if array.dtype.kind not in "iuf":
                raise ValueError(f"{name}: state {key!r} of parameter {index} must be a real "
                                 f"number (the step count), got an array of dtype {array.dtype}")
            if array.size != 1:
                raise ValueError(f"{name}: state {key!r} of parameter {index} must be a scalar, "
                                 f"got shape {array.shape}")
        elif isinstance(value, numbers.Real) and not isinstance(value, bool):
            array = np.asarray(value)
        else:
            raise ValueError(f"{name}: state {key!r} of parameter {index} must be a number "
                             f"(the step count), got {type(value).__name__}")
        count = np.array(array, dtype=np.float32).reshape(())
        if not (np.isfinite(count) and count >= 0):
            raise ValueError(f"{name}: state {key!r} of parameter {index} must be a step count "
                             f">= 0, got {array.reshape(())}")
        return Tensor._make(count)

    def _load_like_param(self, p: Tensor, index: Any, key: str, value: Any) -> Tensor:
        """A copy of a saved state Tensor (or array) of `p`'s shape, on `p`'s device and, for
        a floating `p`, in its dtype (the saved one must hold real numbers)."""
        name = f"{type(self).__name__}.load_state_dict"
        if not (isinstance(value, Tensor) or _is_array(value)):
            raise ValueError(f"{name}: state {key!r} of parameter {index} must be a Tensor of "
                             f"shape {tuple(p.shape)}, got {type(value).__name__}")
        array = value.array if isinstance(value, Tensor) else value
        if tuple(array.shape) != tuple(p.shape):
            raise ValueError(f"{name}: state {key!r} of parameter {index} has shape "
                             f"{tuple(array.shape)}, but the parameter has shape "
                             f"{tuple(p.shape)}")
        if array.dtype.kind not in "biuf":  # real numbers, cast as PyTorch; no str, complex
            raise ValueError(f"{name}: state {key!r} of parameter {index} must hold real "
                             f"numbers (the parameter is {p.dtype}), got dtype {array.dtype}")
        moved = backend.to_device(array, p.device)
        dtype = p.dtype if backend.is_floating(p.dtype) else moved.dtype
        with backend.device_scope(moved):
            return Tensor._make(moved.astype(dtype, copy=moved is array))

    # -----------------------------------------------------------------------------------------
    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines.extend(f"    {key}: {group[key]}" for key in sorted(group) if key != "params")
        lines.append(")")
        return "\n".join(lines)

    def __getstate__(self) -> dict[str, Any]:
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._scratch_buffers = {}
