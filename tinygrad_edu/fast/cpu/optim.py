"""The optimizers' steps on arrays: in place, with few temporaries, large ones in threads.

The reference `update` of each optimizer (tinygrad_edu/optim/) is its formula in plain
arithmetic on the arrays: every operator makes a new temporary array. These steps do the same
arithmetic, in the same order, with NumPy's / CuPy's ufuncs `out=` into the state or into
scratch arrays kept per optimizer, so that a step allocates nothing of a parameter's size.
On the GPU each parameter's update is one fused kernel (`fast/cuda/optim.py`). On the CPU
a large parameter is split into flat chunks updated in parallel threads:

An update step is memory-bound, and NumPy runs each ufunc on one core. NumPy releases the
GIL inside its ufunc loops, so the update of a large parameter, split into one flat chunk
per core and run in threads, shares the memory bandwidth of all cores (on 2 cores a 16M
element SGD update takes 16 ms instead of 31.5 ms). Elementwise arithmetic gives each
element the same result whichever chunk computes it, so the update is bit-for-bit the same.
TINYGRAD_EDU_THREADS=1 (or setting `THREADS = 1` here) turns the threads off. (Right after a
large matmul, OpenBLAS's idle threads busy-wait on the other cores for a while, see
OPENBLAS_THREAD_TIMEOUT, and take most of the gain.)
"""

from __future__ import annotations

import math
import numbers
import os
import weakref
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any, Callable, Iterator

import numpy as np

from ... import backend
from ...autograd import bump_version
from ...optim import SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop
from ...tensor import Tensor
from .. import register_step, runtime
from ..cuda import optim as kernels


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
        if hasattr(os, "register_at_fork") and not _fork_hook_registered:
            _register_fork_hook()
        _pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 1,
                                   thread_name_prefix="tinygrad_edu-optim")
    return _pool


_fork_hook_registered = False


def _register_fork_hook() -> None:
    global _fork_hook_registered
    os.register_at_fork(after_in_child=_forget_pool)
    _fork_hook_registered = True


def _forget_pool() -> None:
    global _pool
    _pool = None  # a forked child has none of the parent's threads


def chunked(update: Callable[..., Any], *arrays: Any) -> None:
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


_scratch_buffers: weakref.WeakKeyDictionary[Optimizer, dict[tuple, Any]] = (
    weakref.WeakKeyDictionary())


def scratch_buffers(optimizer: Optimizer) -> dict[tuple, Any]:
    """The work arrays of `optimizer`, by (slot, array type, device, dtype)."""
    return _scratch_buffers.setdefault(optimizer, {})


def scratch(optimizer: Optimizer, like: Any, slot: int = 0) -> Any:
    """A reusable work array shaped and typed like `like` (contents undefined).

    One flat buffer per (slot, device, dtype), as large as the largest parameter seen, so
    that an update step allocates nothing."""
    buffers = scratch_buffers(optimizer)
    key = (slot, type(like), backend.device_of(like), like.dtype)
    buf = buffers.get(key)
    if buf is None or buf.size < like.size:
        buf = backend.get_array_module(like).empty(like.size, dtype=like.dtype)
        buffers[key] = buf
    return buf[:like.size].reshape(like.shape)


def _floats(group: dict[str, Any], *keys: str) -> tuple[float, ...]:
    """The options `keys` of `group` as Python floats (a NumPy scalar such as np.float64
    would make float32 arithmetic promote to float64)."""
    return tuple(float(group[key]) for key in keys)


def _lr(group: dict[str, Any], like: Any) -> Any:
    """The group's learning rate for the update of the array `like`: a Python float, or the
    0-d GPU array that `Optimizer.step` hands over for a Tensor lr (`_lr_for_step`), in
    `like`'s dtype (as a kernel's `T lr` must be), never read back."""
    lr = group["lr"]
    return float(lr) if isinstance(lr, numbers.Real) else lr.astype(like.dtype, copy=False)


def _count_step(step: Tensor) -> float:
    """Add one to a step counter (a float32 CPU scalar) in place; return the new count."""
    data = step.array
    if isinstance(data, np.ndarray) and data.ndim == 0:
        data += 1
        return float(data)
    step.array = backend.to_numpy(data).astype(np.float32).reshape(()) + np.float32(1)
    return float(step.array)


def _with_arrays(optimizer: Optimizer, group: dict[str, Any], params: list[Tensor],
                 with_state: bool = True
                 ) -> Iterator[tuple[Tensor, Any, Any, Any, dict[str, Any] | None]]:
    """(p, data, grad, xp, state) for each parameter, inside p's GPU's device scope.

    `data` is p's own array (update it in place: its version is counted here), `grad` its
    gradient's array (never write to it), `xp` their array module and `state` p's state dict
    (made by `_new_state` on p's first step); None with `with_state=False`."""
    for p in params:
        data = p.array
        with backend.device_scope(data):  # p's update runs on p's GPU
            state = None
            if with_state:
                state = optimizer.state.get(p) or optimizer._new_state(p, group)
            bump_version(p)  # a graph that used p now refuses backward
            yield p, data, p.grad.array, backend.get_array_module(data), state


def _penalty_scratch(optimizer: Optimizer, data: Any, weight_decay: float, maximize: bool,
                     slot: int) -> Any:
    """The scratch array `slot` if `_penalize` needs one, else None."""
    return scratch(optimizer, data, slot) if weight_decay != 0 or maximize else None


def _penalize(data: Any, grad: Any, out: Any, xp: Any, weight_decay: float,
              maximize: bool) -> Any:
    """(-grad if maximize else grad) + weight_decay * data, written to `out` (from
    `_penalty_scratch`), or `grad` itself when neither applies (never written to)."""
    if weight_decay != 0:
        xp.multiply(data, weight_decay, out=out)
        (xp.subtract if maximize else xp.add)(out, grad, out=out)
        return out
    if maximize:
        return xp.negative(grad, out=out)
    return grad


# ---------------------------------------------------------------------------------------------
# the samples of the agreement tests: (parameter shapes, the optimizer's options)
# ---------------------------------------------------------------------------------------------
def _sample_sgd(rng: Any) -> tuple:
    return [(3, 4), (5,)], dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)


def _sample_adam(rng: Any) -> tuple:
    return [(3, 4), (5,)], dict(lr=0.01, amsgrad=True, weight_decay=0.01)


def _sample_rmsprop(rng: Any) -> tuple:
    return [(3, 4), (5,)], dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.01)


def _sample_adagrad(rng: Any) -> tuple:
    return [(3, 4), (5,)], dict(lr=0.1, lr_decay=0.01, weight_decay=0.01,
                                initial_accumulator_value=0.1)


# ---------------------------------------------------------------------------------------------
# the steps
# ---------------------------------------------------------------------------------------------
@register_step(SGD, sample=_sample_sgd,
               why="in-place ufuncs into scratch arrays, threads for large CPU parameters, "
                   "one fused kernel per parameter on the GPU")
def sgd_step(optimizer: SGD, group: dict[str, Any], params: list[Tensor]) -> None:
    momentum, dampening, weight_decay = _floats(group, "momentum", "dampening", "weight_decay")
    nesterov = bool(group["nesterov"])
    maximize = bool(group["maximize"])
    for p, data, grad, xp, state in _with_arrays(optimizer, group, params,
                                                 with_state=momentum != 0):
        lr = _lr(group, data)
        buf = first = None
        if momentum != 0:
            first = state.get("momentum_buffer") is None
            if first:  # filled with the first gradient by update()
                state["momentum_buffer"] = Tensor._make(xp.empty_like(data))
            buf = state["momentum_buffer"].array
        if runtime.use_kernels(data, grad):  # the GPU: one fused kernel
            sign = -1.0 if maximize else 1.0
            if buf is None:
                kernels.SGD_KERNEL(grad, lr, weight_decay, sign, data)
            else:
                kernels.SGD_MOMENTUM_KERNEL(grad, lr, momentum, 1.0 - dampening, weight_decay,
                                            sign, int(first), int(nesterov), data, buf)
            continue
        # scratch 0 holds d_p (or lr * the update), scratch 1 the damped gradient or the
        # Nesterov update
        tmp0 = scratch(optimizer, data, 0)
        tmp1 = scratch(optimizer, data, 1) if momentum != 0 and (
            dampening != 0 or nesterov) else None

        # the in-place update, on whole arrays or matching chunks (see chunked); called
        # right here, so it may read this iteration's variables
        def update(data, grad, buf, tmp0, tmp1):
            # d_p: the gradient after maximize / weight decay (p.grad never changes)
            d_p = _penalize(data, grad, tmp0, xp, weight_decay, maximize)
            step, in_scratch = d_p, d_p is not grad
            if buf is not None:
                if first:
                    buf[...] = d_p
                else:
                    buf *= momentum
                    if dampening != 0:
                        buf += xp.multiply(d_p, 1.0 - dampening, out=tmp1)
                    else:
                        buf += d_p
                if nesterov:
                    step = xp.multiply(buf, momentum, out=tmp1)
                    step += d_p
                    in_scratch = True
                else:
                    step, in_scratch = buf, False
            # p -= lr * step, without touching the momentum buffer or p.grad
            if in_scratch:
                step *= lr
            else:
                step = xp.multiply(step, lr, out=tmp0)
            data -= step

        chunked(update, data, grad, buf, tmp0, tmp1)


def adam_step(optimizer: Adam, group: dict[str, Any], params: list[Tensor]) -> None:
    decoupled = optimizer._decoupled_weight_decay
    eps, weight_decay = _floats(group, "eps", "weight_decay")
    beta1, beta2 = (float(b) for b in group["betas"])
    amsgrad = bool(group["amsgrad"])
    maximize = bool(group["maximize"])
    capturable = bool(group["capturable"])
    l2 = 0.0 if decoupled else weight_decay  # the penalty added to the gradient
    for p, data, grad, xp, state in _with_arrays(optimizer, group, params):
        lr = _lr(group, data)
        if amsgrad and "max_exp_avg_sq" not in state:  # amsgrad switched on later
            state["max_exp_avg_sq"] = optimizer._zeros_state(p)
        max_exp_avg_sq = state["max_exp_avg_sq"].array if amsgrad else None
        moments = (data, state["exp_avg"].array, state["exp_avg_sq"].array) + (
            (max_exp_avg_sq,) if amsgrad else ())
        kernel = kernels.ADAM_KERNELS[amsgrad, capturable]
        sign = -1.0 if maximize else 1.0
        if capturable:  # the count and the bias corrections on the device (see Adam)
            step = optimizer._count_step(data, state, group)  # 0-d, in data's dtype
            if runtime.use_kernels(data, grad):  # the kernel computes the corrections
                kernel(grad, sign, l2, beta1, 1.0 - beta1, beta2, 1.0 - beta2, eps, lr,
                       weight_decay if decoupled else 0.0, state["step"].array, *moments)
                continue
            bias_correction1 = 1.0 - beta1 ** step
            bias_correction2_sqrt = xp.sqrt(1.0 - beta2 ** step)
        else:
            step = _count_step(state["step"])
            bias_correction1 = 1.0 - beta1 ** step
            bias_correction2_sqrt = math.sqrt(1.0 - beta2 ** step)
        if runtime.use_kernels(data, grad):  # the GPU: one fused kernel
            decay = 1.0 - lr * weight_decay if decoupled and weight_decay != 0 else 1.0
            kernel(grad, sign, l2, beta1, 1.0 - beta1, beta2, 1.0 - beta2, decay,
                   bias_correction2_sqrt, eps, lr / bias_correction1, *moments)
            continue

        # the in-place update, on whole arrays or matching chunks (see chunked); called
        # right here, so it may read this iteration's variables
        def update(data, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, tmp, g_tmp):
            grad = _penalize(data, grad, g_tmp, xp, l2, maximize)
            if decoupled and weight_decay != 0:
                data *= 1.0 - lr * weight_decay
            exp_avg *= beta1
            exp_avg += xp.multiply(grad, 1.0 - beta1, out=tmp)
            exp_avg_sq *= beta2
            xp.multiply(grad, grad, out=tmp)
            tmp *= 1.0 - beta2
            exp_avg_sq += tmp

            second = exp_avg_sq
            if max_exp_avg_sq is not None:
                second = xp.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
            denom = xp.sqrt(second, out=tmp)
            denom /= bias_correction2_sqrt
            denom += eps
            step = xp.divide(exp_avg, denom, out=tmp)
            step *= lr / bias_correction1
            data -= step

        chunked(update, data, grad, state["exp_avg"].array, state["exp_avg_sq"].array,
                max_exp_avg_sq, scratch(optimizer, data, 0),
                _penalty_scratch(optimizer, data, l2, maximize, slot=1))


_ADAM_WHY = ("in-place ufuncs into scratch arrays, threads for large CPU parameters, one "
             "fused kernel per parameter on the GPU")
register_step(Adam, sample=_sample_adam, why=_ADAM_WHY)(adam_step)
register_step(AdamW, sample=_sample_adam, why=_ADAM_WHY)(adam_step)


@register_step(RMSprop, sample=_sample_rmsprop,
               why="in-place ufuncs into a scratch array, one fused kernel per parameter on "
                   "the GPU")
def rmsprop_step(optimizer: RMSprop, group: dict[str, Any], params: list[Tensor]) -> None:
    alpha, eps, weight_decay, momentum = _floats(group, "alpha", "eps", "weight_decay",
                                                 "momentum")
    centered = bool(group["centered"])
    maximize = bool(group["maximize"])
    for p, data, grad, xp, state in _with_arrays(optimizer, group, params):
        lr = _lr(group, data)
        # (momentum and centered may be switched on after some steps)
        if momentum > 0 and "momentum_buffer" not in state:
            state["momentum_buffer"] = optimizer._zeros_state(p)
        if centered and "grad_avg" not in state:
            state["grad_avg"] = optimizer._zeros_state(p)
        if group["capturable"]:  # the count on the device (the kernels do not read it)
            optimizer._count_step(data, state, group)
        else:
            _count_step(state["step"])
        if runtime.use_kernels(data, grad):  # the GPU: one fused kernel
            extra = ([state["grad_avg"].array] if centered else []) + (
                [state["momentum_buffer"].array] if momentum > 0 else [])
            kernels.RMSPROP_KERNELS[centered, momentum > 0](
                grad, -1.0 if maximize else 1.0, weight_decay, alpha, 1.0 - alpha, eps,
                momentum, lr, data, state["square_avg"].array, *extra)
            continue
        grad = _penalize(data, grad, _penalty_scratch(optimizer, data, weight_decay, maximize,
                                                      slot=1), xp, weight_decay, maximize)
        tmp = scratch(optimizer, data, 0)
        square_avg = state["square_avg"].array
        square_avg *= alpha
        xp.multiply(grad, grad, out=tmp)
        tmp *= 1.0 - alpha
        square_avg += tmp
        if centered:
            grad_avg = state["grad_avg"].array
            grad_avg *= alpha
            grad_avg += xp.multiply(grad, 1.0 - alpha, out=tmp)
            xp.multiply(grad_avg, grad_avg, out=tmp)
            avg = xp.subtract(square_avg, tmp, out=tmp)
            xp.sqrt(avg, out=avg)
        else:
            avg = xp.sqrt(square_avg, out=tmp)
        avg += eps
        update = xp.divide(grad, avg, out=tmp)
        if momentum > 0:
            buf = state["momentum_buffer"].array
            buf *= momentum
            buf += update
            update = xp.multiply(buf, lr, out=tmp)
        else:
            update *= lr
        data -= update


@register_step(Adagrad, sample=_sample_adagrad,
               why="in-place ufuncs into a scratch array, one fused kernel per parameter on "
                   "the GPU")
def adagrad_step(optimizer: Adagrad, group: dict[str, Any], params: list[Tensor]) -> None:
    lr_decay, eps, weight_decay = _floats(group, "lr_decay", "eps", "weight_decay")
    maximize = bool(group["maximize"])
    for _, data, grad, xp, state in _with_arrays(optimizer, group, params):
        step = _count_step(state["step"])
        clr = _lr(group, data) / (1.0 + (step - 1.0) * lr_decay)
        if runtime.use_kernels(data, grad):  # the GPU: one fused kernel
            kernels.ADAGRAD_KERNEL(grad, -1.0 if maximize else 1.0, weight_decay, eps, clr,
                                   data, state["sum"].array)
            continue
        grad = _penalize(data, grad, _penalty_scratch(optimizer, data, weight_decay, maximize,
                                                      slot=1), xp, weight_decay, maximize)
        tmp = scratch(optimizer, data, 0)
        state_sum = state["sum"].array
        state_sum += xp.multiply(grad, grad, out=tmp)
        std = xp.sqrt(state_sum, out=tmp)
        std += eps
        update = xp.divide(grad, std, out=tmp)
        update *= clr
        data -= update
