"""The only module that knows about NumPy versus CuPy.

Everything else asks `get_array_module(array)` for the right array library
(`xp`) and writes `xp.exp(x)` instead of `numpy.exp(x)`, so the same op code
runs on the CPU and on the GPU. CuPy is imported lazily, only here, and only
when a CUDA device is actually asked for.
"""

from __future__ import annotations

import contextlib
import functools
import sys
from typing import Any, Callable

import numpy as np


class dtype:
    """The type of a tensor's elements, as `torch.dtype`: `tg.float32`, `tg.int64`, ...

    One object per type, so `x.dtype is tg.float32` and `x.dtype == tg.float32` both hold;
    it prints as `tg.float32`. `.dtype` is the NumPy dtype the arrays hold: NumPy and CuPy
    accept a `tg.dtype` wherever they take a dtype (`xp.zeros(3, dtype=tg.float32)`) by
    reading that attribute, and a `tg.dtype` equals its NumPy dtype.
    """

    __slots__ = ("dtype", "name")

    def __init__(self, name: str) -> None:
        self.dtype = np.dtype(name)  # the NumPy dtype (what NumPy and CuPy read)
        self.name = name

    @property
    def is_floating_point(self) -> bool:
        return self.dtype.kind == "f"

    @property
    def is_complex(self) -> bool:
        return self.dtype.kind == "c"

    @property
    def is_signed(self) -> bool:
        return self.dtype.kind in "fic"

    @property
    def itemsize(self) -> int:
        """Bytes per element."""
        return self.dtype.itemsize

    @property
    def kind(self) -> str:
        """NumPy's kind letter: 'f' float, 'i' signed int, 'u' unsigned int, 'b' bool."""
        return self.dtype.kind

    @property
    def type(self) -> type:
        """NumPy's scalar type (numpy.float32, ...), for making one NumPy/CuPy number."""
        return self.dtype.type

    def __repr__(self) -> str:
        return f"tg.{self.name}"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, dtype):
            return self is other
        if isinstance(other, np.dtype):  # (NumPy's own == says the same the other way round)
            return self.dtype == other
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.dtype)  # as the NumPy dtype's, since the two are equal

    def __reduce__(self) -> str:
        """copy, deepcopy (and pickle) give back this very object: the module's global."""
        return "bool_" if self.name == "bool" else self.name


float32 = dtype("float32")
float64 = dtype("float64")
float16 = dtype("float16")
int64 = dtype("int64")
int32 = dtype("int32")
uint8 = dtype("uint8")
bool_ = dtype("bool")
DTYPES = (float32, float64, float16, int64, int32, uint8, bool_)
SUPPORTED_DTYPES = tuple(d.dtype for d in DTYPES)  # the NumPy dtypes a tensor's array may have
_DTYPE_OF_NUMPY = {d.dtype: d for d in DTYPES}
_DTYPE_ALIASES = {
    "float": float32, "float32": float32, "double": float64, "float64": float64,
    "half": float16, "float16": float16, "long": int64, "int64": int64, "int": int32,
    "int32": int32, "uint8": uint8, "bool": bool_,
}
default_float_dtype = float32


def as_dtype(value: Any) -> dtype:
    """Normalise `value` (tg.float32, 'float32', np.float32, a NumPy dtype, float, int, bool)
    to one of the tg dtypes."""
    if isinstance(value, dtype):
        return value
    if value is float:
        return default_float_dtype
    if value is int:
        return int64
    if value is bool:
        return bool_
    if isinstance(value, str):
        if value not in _DTYPE_ALIASES:
            raise TypeError(f"unsupported dtype {value!r}; use one of {sorted(_DTYPE_ALIASES)}")
        return _DTYPE_ALIASES[value]
    try:
        numpy_dtype = np.dtype(value)
    except TypeError:
        raise TypeError(f"unsupported dtype {value!r}") from None
    if numpy_dtype not in _DTYPE_OF_NUMPY:
        names = ", ".join(str(d) for d in DTYPES)
        raise TypeError(f"unsupported dtype {numpy_dtype}; supported dtypes are {names}")
    return _DTYPE_OF_NUMPY[numpy_dtype]


def dtype_of(array: Any) -> dtype:
    """The tg dtype of a NumPy or CuPy array (its NumPy dtype if that is none of them)."""
    numpy_dtype = array.dtype
    return _DTYPE_OF_NUMPY.get(numpy_dtype, numpy_dtype)


def is_floating(dtype: Any) -> bool:
    """Whether a dtype (a tg dtype or a NumPy dtype) is a floating point type."""
    return dtype.kind == "f"


# ---------------------------------------------------------------------------------------------
# CuPy, imported on first use
# ---------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def _import_cupy() -> tuple[Any, str]:
    """Return (cupy module or None, reason it is unusable or '')."""
    try:
        import cupy  # noqa: PLC0415 - the one place CuPy is imported
    except Exception as exc:  # ImportError, or a broken CUDA install
        return None, (f"CuPy is not installed or failed to import ({type(exc).__name__}: {exc}); "
                      "install it with `pip install tinygrad_edu[cuda12]` or `[cuda13]`")
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:
        return None, f"CuPy is installed but no CUDA GPU is usable ({type(exc).__name__}: {exc})"
    if count == 0:
        return None, "CuPy is installed but no CUDA GPU was found"
    return cupy, ""


# Whether this process has used CuPy for arrays (every way in calls cupy_or_raise). Until then
# every array is a NumPy array on the CPU, and Function.apply skips its device checks.
gpu_in_use = False


def cupy_or_raise() -> Any:
    global gpu_in_use
    cupy, reason = _import_cupy()
    if cupy is None:
        raise RuntimeError(f"device 'cuda' is not available: {reason}")
    gpu_in_use = True
    return cupy


def cupy_nccl() -> Any:
    """CuPy's binding of NVIDIA's NCCL (`cupy.cuda.nccl`, for tg.distributed's "nccl"
    backend), or None where CuPy, a usable GPU or CuPy's NCCL is missing."""
    if _import_cupy()[0] is None:
        return None
    try:
        from cupy.cuda import nccl  # noqa: PLC0415 - (CuPy is imported here only)
    except ImportError:
        return None
    return nccl if getattr(nccl, "available", False) else None


def _cupy_if_loaded() -> Any:
    """CuPy only if it was already imported (arrays from it may exist); never imports it."""
    return sys.modules.get("cupy")


# ---------------------------------------------------------------------------------------------
# Devices
# ---------------------------------------------------------------------------------------------
class Device:
    """A device: `Device('cpu')`, `Device('cuda')`, `Device('cuda:1')`."""

    __slots__ = ("type", "index")

    def __init__(self, spec: str | Device | None = "cpu", index: int | None = None) -> None:
        if isinstance(spec, Device):
            self.type, self.index = spec.type, spec.index
            return
        if spec is None:
            spec = "cpu"
        if not isinstance(spec, str):
            raise TypeError(f"device must be a string like 'cpu' or 'cuda:0', got {spec!r}")
        kind, colon, number = spec.partition(":")
        if kind not in ("cpu", "cuda") or (colon and not number.isdigit()):
            raise ValueError(f"unknown device {spec!r}; expected 'cpu', 'cuda' or 'cuda:N'")
        if kind == "cpu" and number:
            raise ValueError(f"unknown device {spec!r}; the CPU has no index")
        self.type = kind
        self.index = int(number) if number else index
        if kind == "cuda" and self.index is None:
            self.index = 0

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            other = Device(other)
        return isinstance(other, Device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __str__(self) -> str:
        return self.type if self.type == "cpu" else f"cuda:{self.index}"

    def __repr__(self) -> str:
        index = "" if self.type == "cpu" else f", index={self.index}"
        return f"device(type='{self.type}'{index})"

    @property
    def xp(self) -> Any:
        """The array module for this device: numpy or cupy (importing CuPy on first use)."""
        return np if self.type == "cpu" else cupy_or_raise()


CPU = Device("cpu")
default_device = CPU  # where factories and tg.tensor put new tensors (tg.set_default_device)


def cuda_device(index: int | str | None = None) -> str:
    """The device that `.cuda(index)` means: 'cuda' for None, 'cuda:N' for an int N."""
    if index is None:
        return "cuda"
    return f"cuda:{index}" if isinstance(index, int) else index


def get_array_module(array: Any) -> Any:
    """Return `numpy` or `cupy`, whichever owns `array` (numpy for anything that is not CuPy's)."""
    if type(array) is np.ndarray:  # the common case, answered without looking for CuPy
        return np
    cupy = _cupy_if_loaded()
    if cupy is not None and isinstance(array, cupy.ndarray):
        return cupy
    return np


def device_of(array: Any) -> Device:
    if type(array) is np.ndarray:
        return CPU
    cupy = _cupy_if_loaded()
    if cupy is not None and isinstance(array, cupy.ndarray):
        return Device("cuda", array.device.id)
    return CPU


def to_device(array: Any, device: Device) -> Any:
    """Move `array` to `device` (a copy only when it actually changes device)."""
    if device.type == "cpu":
        cupy = _cupy_if_loaded()
        if cupy is not None and isinstance(array, cupy.ndarray):
            return cupy.asnumpy(array)
        return array
    cupy = cupy_or_raise()
    with device_scope(device):
        if isinstance(array, cupy.ndarray):  # cupy.asarray would keep it on its own GPU
            return array if array.device.id == device.index else cupy.copy(array)
        if getattr(array, "ndim", None) == 0:  # CuPy fills a 0-d array, and writes a zero
            return cupy.asarray(array.reshape(1)).reshape(())  # with memset: -0.0 would be +0.0
        return cupy.asarray(array)


# CuPy allocates and runs kernels on its *current* GPU, and refuses arrays from another GPU.
# Once data lives on a GPU other than cuda:0, the places that compute (Function.apply, the
# backward engine, and the functions decorated with on_device_of_args) make their data's GPU
# the current one. Until then this flag is False and they skip that step.
several_gpus_in_use = False
_NO_SCOPE = contextlib.nullcontext()


def on_device_of_args(function: Callable) -> Callable:
    """Decorator for code that makes arrays outside an op (a mask, an index, a constant): run
    `function` in the device_scope of its first tensor or array argument (or the first item
    of a list argument). Costs one check until a second GPU is used."""
    @functools.wraps(function)
    def scoped(*args: Any, **kwargs: Any) -> Any:
        if not several_gpus_in_use:
            return function(*args, **kwargs)
        with device_scope(_first_device_array(args + tuple(kwargs.values()))):
            return function(*args, **kwargs)
    return scoped


def _first_device_array(values: tuple) -> Any:
    cupy = _cupy_if_loaded()
    for value in values:
        if isinstance(value, (list, tuple)) and value:
            value = value[0]
        if hasattr(value, "grad_fn"):  # a Tensor (this layer does not know the class)
            value = value.array
        if cupy is not None and isinstance(value, cupy.ndarray):
            return value
    return None


def device_scope(where: Any) -> contextlib.AbstractContextManager:
    """`with device_scope(x):` runs its block with the GPU of `x` (a Device or an array) as
    CuPy's current device, so that the kernels run and the new arrays are made there. Does
    nothing on the CPU, and nothing while cuda:0 is the only GPU that holds data."""
    global several_gpus_in_use
    if not several_gpus_in_use and type(where) is not Device:  # the CPU, or cuda:0 alone
        return _NO_SCOPE
    if isinstance(where, Device):
        if where.type == "cpu":
            return _NO_SCOPE
        index = where.index
        if index != 0:
            count = cupy_or_raise().cuda.runtime.getDeviceCount()
            if index >= count:
                raise RuntimeError(f"device {where} does not exist: {count} CUDA device(s) "
                                   "found")
            several_gpus_in_use = True
    elif not several_gpus_in_use or type(where) is np.ndarray:
        return _NO_SCOPE
    else:
        cupy = _cupy_if_loaded()
        if cupy is None or not isinstance(where, cupy.ndarray):
            return _NO_SCOPE
        index = where.device.id
    if not several_gpus_in_use:
        return _NO_SCOPE
    return cupy_or_raise().cuda.Device(index)


def to_numpy(array: Any) -> np.ndarray:
    return to_device(array, CPU)


# The CUDA graphs capturing now (tg.cuda.CUDAGraph.capture_begin adds one, capture_end takes
# it back): each is a dict that keeps every device constant the captured work reads. The
# cache below lets go of a constant after 512 others; a graph replays reads of its memory long
# after, so the graph must hold it (else a replay reads freed memory).
constants_of_captures: list[dict[int, Any]] = []


@functools.lru_cache(maxsize=512)
def _cached_constant(build: Callable[..., np.ndarray], args: tuple, dtype: np.dtype,
                     device: Device) -> Any:
    return to_device(build(*args).astype(dtype), device)


def device_constant(build: Callable[..., np.ndarray], args: tuple, dtype: np.dtype,
                    device: Device) -> Any:
    """`build(*args)` (a NumPy array made on the host) as `dtype` on `device`, made once per
    (build, args, dtype, device) and reused: a host-to-device copy waits for the GPU's queue,
    so it must not happen in every training step. The result is shared: never modify it.
    (`device_constant.cache_clear()` empties the cache; a CUDA graph keeps what it used.)"""
    array = _cached_constant(build, args, dtype, device)
    for kept in constants_of_captures:  # (empty unless a CUDA graph is being captured)
        kept[id(array)] = array
    return array


device_constant.cache_clear = _cached_constant.cache_clear  # type: ignore[attr-defined]
device_constant.cache_info = _cached_constant.cache_info  # type: ignore[attr-defined]


# ---------------------------------------------------------------------------------------------
# Random numbers: one seeded generator per device
# ---------------------------------------------------------------------------------------------
_generators: dict[Device, Any] = {}
_seed: int | None = None
_cuda_seed: int | None = None  # set by tg.cuda.manual_seed; otherwise _seed seeds CUDA too


def manual_seed(seed: int) -> None:
    """Seed the random generators of every backend (CPU now, CUDA whenever it is first used)."""
    global _seed
    _seed = int(seed)
    _generators.clear()


def cuda_manual_seed(seed: int) -> None:
    """Seed only the CUDA generators."""
    for device in [d for d in _generators if d.type == "cuda"]:
        del _generators[device]
    global _cuda_seed
    _cuda_seed = int(seed)


def generator(device: Device) -> Any:
    """The random generator for `device` (NumPy's or CuPy's `Generator`)."""
    gen = _generators.get(device)
    if gen is None:
        if device.type == "cpu":
            gen = np.random.default_rng(_seed)
        else:
            cupy = cupy_or_raise()
            seed = _cuda_seed if _cuda_seed is not None else _seed
            with device_scope(device):  # its state lives there: draw from it in that scope
                gen = cupy.random.default_rng(seed)
        _generators[device] = gen
    return gen


def new_generator(device: Device, seed: int) -> Any:
    """A fresh NumPy (CPU) or CuPy (GPU) `Generator` seeded with `seed`, for a `tg.Generator`."""
    if device.type == "cpu":
        return np.random.default_rng(seed)
    cupy = cupy_or_raise()
    with device_scope(device):
        return cupy.random.default_rng(seed)


def pick_generator(device: Device, chosen: Any, op: str) -> Any:
    """The array generator an op on `device` draws from: `chosen` (a `tg.Generator`) when given,
    else the device's global one. A generator of another device is a RuntimeError, as PyTorch."""
    if chosen is None:
        return generator(device)
    rng = getattr(chosen, "rng", None)
    if rng is None:
        raise TypeError(f"{op}: generator must be a tg.Generator, got {type(chosen).__name__}")
    if chosen.device.type != device.type:
        raise RuntimeError(f"{op}: expected a '{device.type}' device type for generator but "
                           f"found '{chosen.device.type}'")
    return rng


def permutation(device: Device, n: int, chosen: Any = None) -> Any:
    """A random permutation of range(n) on `device` (CuPy's Generator has no `permutation`),
    drawn from `chosen` (a `tg.Generator`) or the device's global generator."""
    gen = pick_generator(device, chosen, "randperm")
    if device.type == "cpu":
        return gen.permutation(n)
    with device_scope(device):
        return gen.random(n).argsort()


# ---------------------------------------------------------------------------------------------
# tg.cuda
# ---------------------------------------------------------------------------------------------
class _Cuda:
    """`tg.cuda`: availability and housekeeping for CUDA devices."""

    @staticmethod
    def is_available() -> bool:
        return _import_cupy()[0] is not None

    @staticmethod
    def unavailable_reason() -> str:
        return _import_cupy()[1]

    @staticmethod
    def device_count() -> int:
        cupy = _import_cupy()[0]
        return 0 if cupy is None else int(cupy.cuda.runtime.getDeviceCount())

    @staticmethod
    def synchronize(device: Device | str | int | None = None) -> None:
        """Wait for the work queued on a GPU: `device` ('cuda:1', 1), else cuda:0."""
        cupy = _import_cupy()[0]
        if cupy is not None:
            index = device if isinstance(device, int) else Device(
                "cuda" if device is None else device).index
            cupy.cuda.Device(index).synchronize()

    manual_seed = staticmethod(cuda_manual_seed)

    @staticmethod
    def manual_seed_all(seed: int) -> None:
        cuda_manual_seed(seed)

    # CUDA graphs and streams (tinygrad_edu/backends/cuda_graphs.py), imported on first use
    _GRAPH_NAMES = frozenset({"CUDAGraph", "graph", "graph_pool_handle", "Stream", "stream",
                              "current_stream", "is_current_stream_capturing"})

    def __getattr__(self, name: str) -> Any:
        if name in _Cuda._GRAPH_NAMES:
            from .backends import cuda_graphs  # noqa: PLC0415 - a higher layer, on first use

            return getattr(cuda_graphs, name)
        raise AttributeError(f"tg.cuda has no attribute {name!r}")


cuda = _Cuda()


# ---------------------------------------------------------------------------------------------
# Fused GPU kernels
# ---------------------------------------------------------------------------------------------
class ElementwiseKernel:
    """A fused elementwise GPU kernel: one launch instead of one per array operation. On a
    small model a GPU step is bound by how many kernels Python launches, not by arithmetic.

    `in_params` / `out_params` / `body` are CuPy's ElementwiseKernel arguments ("T g, T lr",
    "T p, T buf", C statements run once per element). The CuPy kernel is built on first use
    and compiled on its first call. Outputs passed in are updated in place. Only for CuPy
    arrays: the CPU code does the same arithmetic with NumPy's in-place ufuncs."""

    registry: list[ElementwiseKernel] = []  # every kernel defined (tests compile them all)

    def __init__(self, in_params: str, out_params: str, body: str, name: str) -> None:
        self.in_params, self.out_params, self.body, self.name = (
            in_params, out_params, body, name)
        self._kernel: Any = None
        ElementwiseKernel.registry.append(self)

    def __call__(self, *args: Any) -> Any:
        if self._kernel is None:
            self._kernel = cupy_or_raise().ElementwiseKernel(
                self.in_params, self.out_params, self.body, self.name)
        return self._kernel(*args)


def scatter_add(out: Any, index: Any, values: Any) -> None:
    """out[index] += values, adding repeated indices up (NumPy's add.at / CuPy's scatter_add)."""
    if isinstance(out, np.ndarray):
        np.add.at(out, index, values)
    else:
        import cupyx  # noqa: PLC0415 - CuPy's extras, only reached with CuPy arrays

        cupyx.scatter_add(out, index, values)
