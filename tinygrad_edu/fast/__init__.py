"""tinygrad_edu.fast: everything that exists only for speed, kept beside the reference code.

The reference (`ops/`, `nn/`, `optim/`) is what a learner reads: each op's forward on arrays
and its backward in the library's own ops, each optimizer's formula in a few lines. This
package holds faster versions of some of them (array-level backward passes, fused kernels,
in-place optimizer arithmetic), each registered against the class it replaces. They are
found at three places only: `Function.apply` (forward), the backward engine (backward, while
no graph of the backward is recorded) and `Optimizer.step` (see `autograd.Overrides`).

    tg.fast.disable()            # the reference everywhere, from now on
    with tg.fast.off(): ...      # the reference inside the block (e.g. to step through it)
    TINYGRAD_EDU_FAST=0          # start with fast off (read once, when this is imported)

Every override declares `sample`, how to make inputs for the test that proves it agrees with
the reference (tests/fast/): `sample(rng)` returns `(arrays, options)` for an op (float64
NumPy arrays, the test makes them tensors that require grad) or `(shapes, options)` for an
optimizer (parameter shapes and the optimizer's keyword arguments).

Each op override also names the device kinds it is for, `devices=("cpu", "cuda")` by
default (array code written on `xp` runs on both); a fused CUDA kernel says
`devices=("cuda",)`. For an op on a device the overrides of that device kind are tried in
order, the ones for that kind alone first: the first that does not return NotImplemented
wins, else the reference runs. An optimizer has at most one step override (its array code
picks the GPU kernels itself, see `runtime.use_kernels`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ..autograd import overrides

__all__ = ["DEVICE_KINDS", "enabled", "enable", "disable", "off", "on", "registry",
           "register_forward", "register_backward", "register_step", "Override"]

overrides.on = os.environ.get("TINYGRAD_EDU_FAST", "1") != "0"


DEVICE_KINDS = ("cpu", "cuda")


@dataclass(frozen=True)
class Override:
    """One registered override: `kind` is "forward", "backward" or "step"; `target` the op
    or optimizer class it replaces; `function` the replacement; `sample` its inputs for the
    agreement test; `why` what it buys, in a few words; `devices` the device kinds it
    applies to ("cpu", "cuda")."""

    kind: str
    target: type
    function: Callable[..., Any]
    sample: Callable[[Any], tuple]
    why: str
    devices: tuple[str, ...] = DEVICE_KINDS


_registry: list[Override] = []


def registry() -> list[Override]:
    """Every override registered so far (a copy)."""
    return list(_registry)


def _register(kind: str, table: dict, target: type, sample: Callable[[Any], tuple],
              why: str, devices: tuple[str, ...] = DEVICE_KINDS
              ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    if not callable(sample):
        raise TypeError(f"fast.register_{kind}: {target.__name__} needs a sample(rng) that "
                        "makes inputs for the agreement test")
    devices = tuple(devices)
    if not devices or any(d not in DEVICE_KINDS for d in devices):
        raise ValueError(f"fast.register_{kind}: devices must be among {DEVICE_KINDS}, "
                         f"got {devices}")

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        if any(o.kind == kind and o.target is target and set(o.devices) & set(devices)
               and len(o.devices) == len(devices) for o in _registry):
            raise ValueError(f"fast.register_{kind}: {target.__name__} already has one for "
                             f"{devices}")
        override = Override(kind, target, function, sample, why, devices)
        _registry.append(override)
        if kind == "step":
            table[target] = function
            return function
        by_device = table.setdefault(target, {d: [] for d in DEVICE_KINDS})
        for d in devices:  # the overrides for this device kind alone first
            candidates = [o for o in _registry if o.kind == kind and o.target is target
                          and d in o.devices]
            candidates.sort(key=lambda o: len(o.devices))
            by_device[d] = [o.function for o in candidates]
        return function

    return decorate


def register_forward(op: type, *, sample: Callable[[Any], tuple], why: str = "",
                     devices: tuple[str, ...] = DEVICE_KINDS
                     ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`@register_forward(Op, sample=...)` on `f(fn, *arrays, **options) -> array`: runs
    instead of `Op.forward` on arrays of the given device kinds. It must leave on `fn` what
    `Op.forward` leaves there (the reference backward may run on the node), or return
    NotImplemented."""
    return _register("forward", overrides.forward, op, sample, why, devices)


def register_backward(op: type, *, sample: Callable[[Any], tuple], why: str = "",
                      devices: tuple[str, ...] = DEVICE_KINDS
                      ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`@register_backward(Op, sample=...)` on `f(fn, grad) -> grads`, the contract of
    `Op.backward` (Tensors in, Tensors out), used while no graph of the backward pass is
    being recorded, so it may work on the arrays directly."""
    return _register("backward", overrides.backward, op, sample, why, devices)


def register_step(optimizer: type, *, sample: Callable[[Any], tuple], why: str = ""
                  ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`@register_step(Opt, sample=...)` on `f(optimizer, group, params) -> None`: updates
    the parameters of one param group instead of the reference `Opt.update`; returns
    NotImplemented for a group it does not handle."""
    return _register("step", overrides.step, optimizer, sample, why)


def enabled() -> bool:
    """Whether the registered overrides are used (the default)."""
    return overrides.on


def enable() -> None:
    overrides.on = True


def disable() -> None:
    """Run the reference code everywhere (each op's own forward and backward, each
    optimizer's formula)."""
    overrides.on = False


@contextmanager
def off() -> Iterator[None]:
    """`with tg.fast.off():` runs the reference code inside the block (for every thread)."""
    before = overrides.on
    overrides.on = False
    try:
        yield
    finally:
        overrides.on = before


@contextmanager
def on() -> Iterator[None]:
    """`with tg.fast.on():` uses the overrides inside the block."""
    before = overrides.on
    overrides.on = True
    try:
        yield
    finally:
        overrides.on = before


from . import cpu, cuda  # noqa: E402,F401 - they register their overrides
