"""The Optimizer base class: parameter groups, per-parameter state, state_dict.

An optimizer holds `param_groups`, a list of dicts. Each group has a list of parameters
under "params" and its own hyperparameters ("lr", "momentum", ...), which default to the
values given to the constructor. `state[p]` is a dict of Tensors for parameter `p` (its
momentum buffer, running averages, step count...), created on the first `step()`.

`Optimizer.step()` is the same for every optimizer: it runs the closure, checks the
gradients, and for each parameter with a gradient calls the subclass's `update(p, grad,
state, group)`, its formula on the ARRAYS: `p` is the parameter's array, changed in place
(`p -= lr * d_p`), `grad` its gradient's array. No graph is recorded (an optimizer step is not
differentiable, as PyTorch's default `differentiable=False`), and the step counts as an
in-place change of the parameter (`autograd.update_in_place`): a graph that saved it refuses
backward afterwards. (A faster version of an optimizer's step, registered in
`tinygrad_edu/fast/`, runs instead where there is one; with `tg.fast.off()` the formula runs.)

The learning rate may be a one-element Tensor (PyTorch's "lr (float, Tensor)"), which a
scheduler changes in place. `update` then reads it as a number, or, when it lives on the GPU of
the group's parameters, as its 0-d array (a device scalar: nothing is read back, and a step
captured in a CUDA graph reads its latest value at every replay; see `_lr_for_step`).
The optimizers that take PyTorch's `capturable=True` derive from `CapturableOptimizer`: their
step counter is then a Tensor on the parameter's device, and what is computed from it (Adam's
bias corrections, ASGD's eta and mu) is computed there, so that a step captured in a CUDA graph
(`tg.cuda.graph`) counts on at every replay; their `step()` refuses a capture without it.

A subclass declares the state its `update()` reads in `_state_keys` (key -> `StateKey`), and
`load_state_dict` checks a loaded state against it in one place (`_load_param_state`): the keys,
the shapes, dtypes and devices of the Tensors, the step counter. A state that `step()` could
not use is refused when it is loaded, not at the next step.
"""

from __future__ import annotations

import numbers
import warnings
from collections import defaultdict
from dataclasses import dataclass
from itertools import chain
from typing import Any, Callable, ClassVar, Iterable, Literal

import numpy as np

from .. import backend
from ..autograd import enable_grad, overrides, update_in_place
from ..backend import get_array_module
from ..tensor import Tensor, full_like, zeros, zeros_like

__all__ = ["CapturableOptimizer", "Optimizer", "StateKey", "required"]


class _RequiredParameter:
    """Marks a hyperparameter without a default: every param group must set it."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


def _is_array(value: Any) -> bool:
    """A NumPy or CuPy array (anything with a dtype, a shape and array arithmetic)."""
    return isinstance(value, np.ndarray) or backend.get_array_module(value) is not np


def _fits(g: Any, p: Any) -> bool:
    """Whether the gradient's array `g` fits the parameter's array `p`: the same kind of array
    (NumPy's or CuPy's), the same shape and the same device (the `.device` of NumPy 2's and
    CuPy's arrays; NumPy 1's have none). Metadata only, nothing is read from the GPU; for two
    arrays of one type, answered without a call into the library."""
    same_kind = type(g) is type(p) or get_array_module(g) is get_array_module(p)
    return same_kind and (g.shape, getattr(g, "device", 0)) == (p.shape, getattr(p, "device", 0))


def _copy_plain(value: Any, tensors: bool = False) -> Any:
    """Copy nested dicts, lists and tuples of plain values (hyperparameters); with `tensors`,
    Tensors too (a Tensor lr: load_state_dict copies, as PyTorch's deep copy of the groups)."""
    if isinstance(value, dict):
        return {k: _copy_plain(v, tensors) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_copy_plain(v, tensors) for v in value)
    if tensors and isinstance(value, Tensor):
        return value.detach().clone()
    return value


def _lr_for_step(group: dict[str, Any], params: list[Tensor]) -> dict[str, Any]:
    """The group as `step()` hands it to `update`, for a group whose lr is a Tensor: the same
    options with "lr" the 0-d array of that Tensor if it is on a GPU that all of `params`
    are on (a device scalar: the update reads nothing back, and a step captured in a CUDA graph
    reads the lr's latest value at every replay), else its value as a Python float (a CPU lr
    is read without waiting for anything, and gives what the same float would)."""
    lr = group["lr"]
    value = lr.array.reshape(())
    if lr.device.type == "cpu" or any(p.device != lr.device for p in params):
        value = float(value)
    return {**group, "lr": value}


@dataclass(frozen=True)
class StateKey:
    """One entry of an optimizer's per-parameter state, as its `step()` reads it.

    kind: "tensor", a Tensor of the parameter's shape (loaded onto the parameter's device and,
        for a floating parameter, cast to its dtype, as PyTorch), or "step", the step
        counter (a float32 scalar on the CPU, or on the parameter's device in a capturable
        group, see `Optimizer._step_state`).
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
            if key == "lr" and isinstance(value, Tensor):  # PyTorch's "lr (float, Tensor)"
                if value.numel() != 1 or not backend.is_floating(value.dtype):
                    raise ValueError(f"{name}: Tensor lr must be 1-element and floating, got "
                                     f"shape {tuple(value.shape)} and dtype {value.dtype}")
                return float(value)  # (a GPU lr is read back here, once, not by step())
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
                if grad.grad_fn is not None:
                    # a gradient built with create_graph=True may share its memory with the
                    # graph; give the parameter fresh zeros instead of overwriting it
                    p.grad = zeros_like(grad)
                else:
                    grad.zero_()

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient; returns `closure()`'s loss if given.

        For each param group, a faster version registered in `tinygrad_edu.fast` runs if
        there is one (see `autograd.Overrides`); else the subclass's formula, `update`, runs
        on the arrays of each parameter with a gradient. (A Tensor lr is handed to both as a
        number or a device scalar: `_lr_for_step`.)"""
        loss = None if closure is None else self._run_closure(closure)
        self._check_grads()
        fast = overrides.step.get(type(self)) if overrides.on else None
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if isinstance(group["lr"], Tensor):
                group = _lr_for_step(group, params)
            if fast is None or fast(self, group, params) is NotImplemented:
                for p in params:
                    state = self.state.get(p) or self._new_state(p, group)
                    update_in_place(p, self.update, p.array, p.grad.array, state, group)
        return loss

    def update(self, p: Any, grad: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        """Update the parameter's array `p` in place from its gradient's array `grad` (never
        written to), its state (Tensors, filled by `_init_state` on the first step: change
        their arrays in place, `state["exp_avg"].array`) and its group's options
        (subclasses)."""
        raise NotImplementedError(f"{type(self).__name__} implements neither step() nor "
                                  "update()")

    def _run_closure(self, closure: Callable[[], Any]) -> Any:
        with enable_grad():
            return closure()

    def _check_grads(self) -> None:
        """Before touching anything: every gradient must have its parameter's shape and be
        on its device (checks of metadata only: nothing is read from the GPU)."""
        for index, p in enumerate(chain.from_iterable(g["params"] for g in self.param_groups)):
            if p.grad is not None and not _fits(p.grad.array, p.array):
                raise self._grad_mismatch(index, p)

    def _grad_mismatch(self, index: int, p: Tensor) -> Exception:
        """The error for parameter number `index`, whose .grad does not fit it."""
        name = f"{type(self).__name__}.step"
        if p.grad.shape != p.shape:
            return ValueError(f"{name}: parameter {index} has shape {p.shape} but its .grad "
                              f"has shape {p.grad.shape}")
        return RuntimeError(f"{name}: parameter {index} is on {p.device} but its .grad is on "
                            f"{p.grad.device}; move the gradient to the parameter's device")

    def _new_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        """The state of parameter `p` at its first update, filled by `_init_state`."""
        state = self.state[p] = {}
        self._init_state(p, state, group)
        return state

    def _init_state(self, p: Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        """Fill the empty state dict of parameter `p` before its first update (subclasses)."""

    @staticmethod
    def _zeros_state(p: Tensor, fill: float = 0.0) -> Tensor:
        """A state Tensor like `p` (same shape, dtype and device) filled with `fill`."""
        return zeros_like(p) if fill == 0.0 else full_like(p, fill)

    @staticmethod
    def _state_tensor(array: Any) -> Tensor:
        """A new state Tensor wrapping `array` (made by `update`, e.g. SGD's momentum buffer
        at the first step: a fresh array, never the parameter's or the gradient's)."""
        return Tensor._make(array)

    @staticmethod
    def _step_state(device: backend.Device | str | None = None) -> Tensor:
        """The step counter: a float32 scalar on the CPU (as PyTorch), so that reading it
        never waits for the GPU; on `device` (the parameter's) for a capturable optimizer,
        whose step counts and reads it there (`_count_step`)."""
        if device is None:
            return Tensor._make(np.zeros((), dtype=np.float32))
        return zeros((), dtype=np.float32, device=device)

    def _count_step(self, p: Any, state: dict[str, Any], group: dict[str, Any]) -> Any:
        """Add one to the step counter state["step"] and return the count t, for the update
        of the parameter's array `p`: a Python float, or in a capturable group the 0-d array
        on `p`'s device, in `p`'s dtype (nothing is read back: what is computed from t, such
        as Adam's bias corrections, is computed on the device, and a captured step counts on
        at every replay)."""
        if group["capturable"]:
            counter = self._on_device(p, state, "step")
            counter += 1
            return counter.astype(p.dtype, copy=False)
        state["step"].array += 1
        return float(state["step"].array)

    @staticmethod
    def _on_device(p: Any, state: dict[str, Any], key: str) -> Any:
        """The array of the scalar state Tensor `state[key]` (a counter) on the device of the
        parameter's array `p`, moved there first if it was kept on the CPU (capturable
        switched on after some steps)."""
        device = backend.device_of(p)
        if state[key].device != device:
            state[key] = state[key].to(device)
        return state[key].array

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
        # a capturable group's step counters go to the parameter's device (as PyTorch)
        on_device = {index for saved, group in zip(saved_groups, self.param_groups)
                     if saved.get("capturable", group.get("capturable"))
                     for index in saved["params"]}

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
            if index in on_device:
                self._counters_to_device(p, new_state[p])

        new_groups = []
        for saved, group in zip(saved_groups, self.param_groups):
            new_group = {k: _copy_plain(v, tensors=True) for k, v in saved.items()
                         if k != "params"}
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

    def _counters_to_device(self, p: Tensor, state: dict[str, Any]) -> None:
        """Move the loaded step counters of parameter `p` (its "step" state, and any other of
        the kind "step") to `p`'s device: its group is capturable, its step counts there."""
        spec = self._state_keys or {"step": StateKey("step")}
        for key, key_spec in spec.items():
            if key_spec.kind == "step" and isinstance(state.get(key), Tensor):
                state[key] = state[key].to(p.device)

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
        dtype = p.dtype if backend.is_floating(p.dtype) else array.dtype
        return Tensor._make(array).to(device=p.device, dtype=dtype, copy=True)

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


class CapturableOptimizer(Optimizer):
    """An optimizer with PyTorch's `capturable` option (a group option, like "lr"): with it,
    the step counter lives on the parameter's device (`_step_state_for`, counted by
    `_count_step`); `step()` first runs PyTorch's capture check."""

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter with a gradient (`Optimizer.step`); while a CUDA
        graph captures, only with capturable=True."""
        self._cuda_graph_capture_health_check()
        return super().step(closure)

    def _step_state_for(self, p: Tensor, group: dict[str, Any]) -> Tensor:
        """A new step counter for parameter `p`: on its device in a capturable group, else
        the float32 CPU scalar (`_step_state`)."""
        return self._step_state(p.device if group["capturable"] else None)

    def _cuda_graph_capture_health_check(self) -> None:
        """PyTorch's check at the start of `step()` of an optimizer with a `capturable`
        option: stepping while the current CUDA stream captures a graph needs capturable=True
        in every group (else host numbers, such as the step count, would be baked into the
        graph); capturable=True without a capture is allowed, with a warning (once). Checked
        once the process computes on a GPU (before that nothing can be captured)."""
        if not backend.gpu_in_use:
            return
        capturing = backend.cuda.is_current_stream_capturing()
        capturable = all(group["capturable"] for group in self.param_groups)
        if capturing and not capturable:
            raise RuntimeError(f"Attempting CUDA graph capture of step() for an instance of "
                               f"{type(self).__name__} but param_groups' capturable is False.")
        if capturable and not capturing and not getattr(self, "_warned_capturable", False):
            warnings.warn("This instance was constructed with capturable=True or some of all "
                          "the param_groups came with capturable=True, but step() is running "
                          "without CUDA graph capture. If you never intend to graph-capture "
                          "this instance, capturable=True can impair performance, and you "
                          "should set capturable=False.", UserWarning, stacklevel=3)
            self._warned_capturable = True
