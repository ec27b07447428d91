"""Tensor: one backend array (NumPy or CuPy) plus what autograd needs.

Operators and methods call the ops in `ops/`; this file holds the conversions
(Python values, dtype promotion, argument checking) and the factories.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import operator
import warnings
import weakref
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from . import autograd, backend
from .autograd import Function
from .backend import Device, get_array_module
from .ops import elementwise as ew
from .ops import linalg, reduce
from .ops import shape as shape_ops

_SCALARS = (int, float, bool, np.number, np.bool_)
_PY_NUMBER_TYPES = frozenset((bool, int, float))
_ARITH_OPS = {"add_": operator.add, "sub_": operator.sub, "mul_": operator.mul,
              "div_": operator.truediv}


def _infer_dtype(data: Any) -> np.dtype:
    """The dtype PyTorch's `torch.tensor(data)` gives: a Python bool, int or float is bool,
    int64 or the default float dtype; a NumPy scalar or array, or a Tensor, keeps its dtype;
    a (nested) list is the promotion of its items (`[1, 2.5]` is float32, `[np.float64(1),
    2.5]` float64); an empty list is the default float dtype."""
    if isinstance(data, (list, tuple)):
        kinds = set(map(type, data))
        if kinds <= _PY_NUMBER_TYPES:  # the common case, answered without a loop in Python
            if float in kinds or not kinds:
                return backend.default_float_dtype
            return backend.int64 if int in kinds else backend.bool_
        result = None
        for item in data:
            dtype = _infer_dtype(item)
            result = dtype if result is None else _promote(result, dtype)
        return result
    if isinstance(data, Tensor):
        return data.array.dtype
    if type(data) in _PY_NUMBER_TYPES:
        return _scalar_dtype(data)
    arr = np.asarray(data)  # a NumPy scalar or array (or anything with __array__)
    if arr.dtype in backend.SUPPORTED_DTYPES:
        return arr.dtype
    if arr.dtype.kind in "iuf":  # int8, uint16, float128...: int64 or the default float
        return backend.int64 if arr.dtype.kind in "iu" else backend.default_float_dtype
    raise TypeError(f"tensor: cannot build a tensor from {type(data).__name__} with dtype "
                    f"{arr.dtype}; expected numbers, bools or (nested) lists of them")


def _resolve_device(device: Any) -> Device:
    """A Device from a name or a Device; None is the default device (tg.set_default_device)."""
    if device is None:
        return backend.default_device
    return device if isinstance(device, Device) else Device(device)


class Tensor:
    """An n-dimensional array that can record the operations applied to it.

    `array` is the backend array that holds the values (a numpy.ndarray on the CPU, a
    cupy.ndarray on a GPU): the ops compute on it. `data` is, as in PyTorch, the same values
    as a Tensor outside autograd (see `data`). `grad_fn` is the Function that produced this
    tensor (None for leaves); `grad` collects d(loss)/d(self) for leaves.
    """

    # _version_counter: [number of in-place changes, autograd's clock at the last one], one
    # list shared with the tensor's views (see autograd.bump_version);
    # _view_of: (root tensor, steps that take this view from the root's array) or None.
    __slots__ = ("array", "_requires_grad", "grad", "grad_fn", "_retains_grad", "_hooks",
                 "_version_counter", "_view_of", "__weakref__")
    __array_priority__ = 1000  # numpy_array * tensor -> Tensor.__rmul__

    def __init__(self, data: Any, dtype: Any = None, device: Any = None,
                 requires_grad: bool = False) -> None:
        if isinstance(data, Tensor):
            array = data.array
            if device is None:
                device = data.device
        else:
            array = data
        xp_in = get_array_module(array)
        if xp_in is np:
            if isinstance(array, np.ndarray):
                if dtype is None and array.dtype not in backend.SUPPORTED_DTYPES:
                    dtype = _infer_dtype(array)
                array = np.array(array, dtype=None if dtype is None else backend.as_dtype(dtype),
                                 copy=True)
            else:
                target = _infer_dtype(array) if dtype is None else backend.as_dtype(dtype)
                try:
                    array = np.array(array, dtype=target)
                except (ValueError, TypeError) as exc:
                    raise ValueError(f"tensor: cannot build a tensor from {data!r:.80}: "
                                     f"{exc}") from None
                except OverflowError:  # tensor([300], dtype=uint8), as PyTorch
                    raise RuntimeError(f"tensor: a value of {data!r:.80} cannot be converted "
                                       f"to type {target} without overflow") from None
            target_device = _resolve_device(device)
            array = backend.to_device(array, target_device)
        else:  # a CuPy array
            target_device = backend.device_of(array) if device is None else _resolve_device(device)
            array = backend.to_device(array, target_device)
            with backend.device_scope(array):
                array = array.astype(array.dtype if dtype is None else backend.as_dtype(dtype),
                                     copy=True)
        if array.dtype not in backend.SUPPORTED_DTYPES:
            raise TypeError(f"tensor: unsupported dtype {array.dtype}")
        self.array = array
        self._requires_grad = False
        self.grad: Tensor | None = None
        self.grad_fn: Function | None = None
        self._retains_grad = False
        self._hooks: dict = {}
        self._version_counter = [0, 0]
        self._view_of = None
        if requires_grad:
            self.requires_grad = True

    @classmethod
    def _make(cls, data: Any, grad_fn: Function | None = None) -> Tensor:
        """Wrap a backend array without copying or checking (the fast internal path)."""
        data = np.asarray(data) if isinstance(data, np.generic) else data  # (NumPy's 0-d results)
        t = object.__new__(cls)  # (every slot set, as __init__ does, in two lines)
        t.array, t.grad_fn, t._requires_grad, t.grad = data, grad_fn, grad_fn is not None, None
        t._view_of, t._retains_grad, t._hooks, t._version_counter = None, False, {}, [0, 0]
        return t

    # -----------------------------------------------------------------------------------------
    # properties
    # -----------------------------------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if value and not backend.is_floating(self.array.dtype):
            raise RuntimeError(f"requires_grad: only floating point tensors can require "
                               f"gradients, this one is {self.array.dtype}")
        if not value and self.grad_fn is not None:
            raise RuntimeError("requires_grad: you can only change requires_grad of leaf "
                               "tensors; use detach() for a non-leaf")
        self._requires_grad = bool(value)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        self.requires_grad = requires_grad
        return self

    @property
    def data(self) -> Tensor:
        """The same values as a Tensor that autograd does not see (PyTorch's `.data`): it
        shares this tensor's memory, never requires grad, and an in-place change made
        through it (`w.data.normal_()`, `p.data -= lr * p.grad.data`) is not recorded and not
        checked by version counters. Prefer `detach()` and `with tg.no_grad():` in new code."""
        return Tensor._make(self.array)

    @data.setter
    def data(self, value: Tensor) -> None:
        """`x.data = other`: x takes other's values (its array: shape, dtype and device may
        change, as in PyTorch)."""
        if not isinstance(value, Tensor):
            raise TypeError(f"data: Variable data has to be a tensor, but got "
                            f"{type(value).__name__}")
        if self._requires_grad and not backend.is_floating(value.dtype):
            raise RuntimeError(f"data: a tensor that requires grad can't take data of dtype "
                               f"{value.dtype}")
        self.array = value.array

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def shape(self) -> Size:
        return Size(self.array.shape)

    @property
    def ndim(self) -> int:
        return self.array.ndim

    def dim(self) -> int:
        return self.array.ndim

    @property
    def dtype(self) -> backend.dtype:
        """tg.float32, tg.int64, ... (the array's NumPy dtype is `self.array.dtype`)."""
        return backend.dtype_of(self.array)

    @property
    def device(self) -> Device:
        return backend.device_of(self.array)

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    @property
    def T(self) -> Tensor:
        """All dims reversed (the transpose of a matrix)."""
        return self.permute(*reversed(range(self.ndim)))

    @property
    def mT(self) -> Tensor:
        """The last two dims swapped (a batch of transposed matrices)."""
        if (n := self.ndim) < 2:
            return self.transpose(-2, -1)  # (raises, as PyTorch)
        return shape_ops.Permute.apply(self, axes=(*range(n - 2), n - 1, n - 2))

    def size(self, dim: int | None = None) -> Any:
        """The shape as a tg.Size, or the length of dim `dim` as an int."""
        if dim is None:
            return self.shape
        return self.shape[reduce.normalize_dims(dim, self.ndim, "size")[0]]

    def numel(self) -> int:
        return int(self.array.size)

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def item(self) -> Any:
        if self.numel() != 1:
            raise ValueError(f"item: only one element tensors can be converted to Python "
                             f"scalars, this one has shape {self.shape}")
        return self.array.reshape(()).item()

    def tolist(self) -> Any:
        return backend.to_numpy(self.array).tolist()

    def numpy(self) -> np.ndarray:
        """A NumPy array (shared memory on the CPU). Fails on a tensor that requires grad."""
        if self._requires_grad:
            raise RuntimeError("numpy: can't call numpy() on a tensor that requires grad; "
                               "use tensor.detach().numpy()")
        if self.device.type != "cpu":
            raise TypeError(f"numpy: the tensor is on {self.device}; use tensor.cpu() first")
        return self.array

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        array = backend.to_numpy(self.array)
        return array if dtype is None else array.astype(dtype)

    def __repr__(self) -> str:
        """PyTorch's printed form: `tensor([1.5000, 2.2500], requires_grad=True)` (see
        `set_printoptions`). print() and str() give the same."""
        return _tensor_repr(self)

    def __format__(self, format_spec: str) -> str:
        """f"{loss:.3f}": a 0-d tensor formats as its Python number; any other tensor only
        with an empty format spec (as its repr), as PyTorch."""
        if self.ndim == 0:
            return format(self.item(), format_spec)
        return object.__format__(self, format_spec)

    def __bool__(self) -> bool:
        if self.numel() != 1:
            how_many = "no values" if self.numel() == 0 else "more than one value"
            raise RuntimeError(f"Boolean value of Tensor with {how_many} is ambiguous (shape "
                               f"{list(self.shape)}); use .any() or .all()")
        return bool(self.array.reshape(()))

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        """An integer (or bool) tensor of one element used as an int: `range(n)`, `xs[i]`."""
        if self.array.dtype.kind not in "iub" or self.numel() != 1:
            raise TypeError(f"only integer tensors of a single element can be converted to an "
                            f"index, got a {self.dtype} tensor of shape {list(self.shape)}")
        return int(self.item())

    __hash__ = object.__hash__  # by identity, as PyTorch (== is elementwise)

    # -----------------------------------------------------------------------------------------
    # autograd
    # -----------------------------------------------------------------------------------------
    def backward(self, gradient: Tensor | None = None, retain_graph: bool | None = None,
                 create_graph: bool = False) -> None:
        """Accumulate the gradient of this tensor into the `.grad` of every leaf it depends on."""
        autograd.backward(self, gradient, retain_graph, create_graph)

    def detach(self) -> Tensor:
        """The same data, cut from the graph (in-place changes to either count for both)."""
        t = Tensor._make(self.array)
        t._version_counter = self._version_counter
        return t

    @property
    def _version(self) -> int:
        """How many in-place changes this tensor's memory has had (PyTorch's `_version`)."""
        return self._version_counter[0]

    def detach_(self) -> Tensor:
        self.grad_fn = None
        self._requires_grad = False
        return self

    def retain_grad(self) -> None:
        """Keep `.grad` on this non-leaf tensor after backward."""
        if not self._requires_grad:
            raise RuntimeError("retain_grad: can't retain_grad on a tensor that doesn't "
                               "require grad")
        if self.grad_fn is not None:
            self._retains_grad = True

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    def register_hook(self, hook: Any) -> Any:
        """Call `hook(grad)` when this tensor's gradient is computed; a returned Tensor replaces
        the gradient. Returns a handle whose `remove()` unregisters it."""
        if not self._requires_grad:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that "
                               "doesn't require gradient")
        return _HookHandle(self._hooks, hook)

    def register_post_accumulate_grad_hook(self, hook: Any) -> Any:
        """Call `hook(self)` each time backward has accumulated this leaf's gradient into
        `self.grad` (after its `register_hook` hooks); the hook returns None. Backward then gives
        this leaf its gradient as soon as the last op that uses it has run, not at the end
        (DistributedDataParallel sends gradients from here). Returns a handle whose `remove()`
        unregisters it."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf "
                               "tensors")
        return _HookHandle(self._hooks, autograd.register_post_accumulate_grad_hook(self, hook))

    # -----------------------------------------------------------------------------------------
    # devices and dtypes
    # -----------------------------------------------------------------------------------------
    def to(self, *args: Any, dtype: Any = None, device: Any = None,
           copy: bool = False) -> Tensor:
        """`to(device)`, `to(dtype)`, `to(device, dtype)` or `to(other_tensor)`."""
        for arg in args:
            if isinstance(arg, Tensor):
                device, dtype = arg.device, arg.dtype
            elif isinstance(arg, Device) or (isinstance(arg, str)
                                             and arg.partition(":")[0] in ("cpu", "cuda")):
                device = arg
            else:  # a dtype, also given by name ("float64")
                dtype = arg
        out = self
        if dtype is not None:
            try:
                dtype = backend.as_dtype(dtype)
            except TypeError:
                raise TypeError(f"to: unsupported dtype {dtype!r}, and not a device either "
                                "('cpu', 'cuda', 'cuda:N')") from None
            if dtype != self.dtype:
                out = ew.Cast.apply(out, dtype=dtype)
        if device is not None:
            target = _resolve_device(device)
            if target != out.device:
                out = _ToDevice.apply(out, device=target)
        if copy and out is self:
            out = self.clone()
        return out

    def cpu(self) -> Tensor:
        return self.to("cpu")

    def cuda(self, device: int | str | None = None) -> Tensor:
        return self.to(backend.cuda_device(device))

    def float(self) -> Tensor:
        return self.to(backend.float32)

    def double(self) -> Tensor:
        return self.to(backend.float64)

    def half(self) -> Tensor:
        return self.to(backend.float16)

    def long(self) -> Tensor:
        return self.to(backend.int64)

    def int(self) -> Tensor:
        return self.to(backend.int32)

    def bool(self) -> Tensor:
        return self.to(backend.bool_)

    def type(self, dtype: Any = None, non_blocking: bool = False) -> Any:
        """`x.type()`: the legacy type name ('tg.FloatTensor', 'tg.cuda.LongTensor');
        `x.type(tg.float64)`, `x.type(tg.DoubleTensor)` or `x.type('torch.DoubleTensor')`:
        this tensor as that type."""
        if dtype is None:
            place = "cuda." if self.device.type == "cuda" else ""
            return f"tg.{place}{_LEGACY_NAMES[self.dtype]}"
        if isinstance(dtype, _LegacyTensorType):
            return self.to(dtype.dtype)
        if isinstance(dtype, str) and dtype.endswith("Tensor"):
            return self.to(_legacy_from_name(dtype, "type"))
        return self.to(dtype)

    def is_floating_point(self) -> bool:
        return backend.is_floating(self.dtype)

    def clone(self) -> Tensor:
        """A copy with its own memory; gradients flow back to the original."""
        return _Clone.apply(self)

    def contiguous(self) -> Tensor:
        """This tensor if its elements lie in memory in row-major order, else a copy that
        does (what `view` needs after a transpose)."""
        return self if self.array.flags.c_contiguous else self.clone()

    def is_contiguous(self) -> bool:
        """Whether the elements lie in memory in row-major order (C order)."""
        return bool(self.array.flags.c_contiguous)

    # new_*: a new tensor with this one's dtype and device unless told otherwise (PyTorch's)
    def new_zeros(self, *size: Any, dtype: Any = None, device: Any = None,
                  requires_grad: bool = False) -> Tensor:
        return zeros(_size_arg(size, "new_zeros"),
                     **self._new_options(dtype, device, requires_grad))

    def new_ones(self, *size: Any, dtype: Any = None, device: Any = None,
                 requires_grad: bool = False) -> Tensor:
        return ones(_size_arg(size, "new_ones"),
                     **self._new_options(dtype, device, requires_grad))

    def new_empty(self, *size: Any, dtype: Any = None, device: Any = None,
                  requires_grad: bool = False) -> Tensor:
        return empty(_size_arg(size, "new_empty"),
                     **self._new_options(dtype, device, requires_grad))

    def new_full(self, size: Any, fill_value: Any, *, dtype: Any = None, device: Any = None,
                 requires_grad: bool = False) -> Tensor:
        return full(_size_arg((size,), "new_full"), fill_value,
                    **self._new_options(dtype, device, requires_grad))

    def new_tensor(self, data: Any, *, dtype: Any = None, device: Any = None,
                   requires_grad: bool = False) -> Tensor:
        return Tensor(data, **self._new_options(dtype, device, requires_grad))

    def _new_options(self, dtype: Any, device: Any, requires_grad: bool) -> dict[str, Any]:
        return {"dtype": self.dtype if dtype is None else dtype,
                "device": self.device if device is None else device,
                "requires_grad": requires_grad}

    # -----------------------------------------------------------------------------------------
    # arithmetic
    # -----------------------------------------------------------------------------------------
    def __add__(self, other: Any) -> Tensor:
        return ew.Add.apply(*as_tensor_pair(self, other, "add"))

    def __radd__(self, other: Any) -> Tensor:  # 1 + x records x + 1, as PyTorch's graph shows
        return ew.Add.apply(*as_tensor_pair(self, other, "add"))

    def __sub__(self, other: Any) -> Tensor:
        return ew.Sub.apply(*as_tensor_pair(self, other, "sub"))

    def __rsub__(self, other: Any) -> Tensor:
        return ew.Sub.apply(*as_tensor_pair(other, self, "sub", device=self.device))

    def __mul__(self, other: Any) -> Tensor:
        return ew.Mul.apply(*as_tensor_pair(self, other, "mul"))

    def __rmul__(self, other: Any) -> Tensor:  # 2 * x records x * 2, as PyTorch's graph shows
        return ew.Mul.apply(*as_tensor_pair(self, other, "mul"))

    def __truediv__(self, other: Any) -> Tensor:
        return ew.Div.apply(*as_tensor_pair(self, other, "div", true_div=True))

    def __rtruediv__(self, other: Any) -> Tensor:
        return ew.Div.apply(*as_tensor_pair(other, self, "div", device=self.device,
                                            true_div=True))

    def __neg__(self) -> Tensor:
        return ew.Neg.apply(self)

    def __pos__(self) -> Tensor:
        return self

    @backend.on_device_of_args
    def __pow__(self, exponent: Any) -> Tensor:
        if isinstance(exponent, _SCALARS) and not isinstance(exponent, (bool, np.bool_)):
            # an int tensor stays int for an int power, and is float32 for a float one
            dtype = result_type(self, exponent)
            x = self if dtype == self.array.dtype else self.to(dtype)
            if x.dtype.kind in "iu":
                if exponent < 0:
                    raise RuntimeError(f"pow: integers to negative integer powers are not "
                                       f"allowed ({x.dtype} tensor of shape {tuple(x.shape)} to "
                                       f"the power {exponent})")
                exponent = _fit_int(exponent, x.dtype, "pow")
            return ew.PowScalar.apply(x, exponent=exponent)
        if isinstance(exponent, (bool, np.bool_)) and self.array.dtype.kind == "b":
            return self.clone() if exponent else ones_like(self)  # x ** True is x, as PyTorch
        return _pow_tensors(*as_tensor_pair(self, exponent, "pow"))

    def __rpow__(self, base: Any) -> Tensor:
        if isinstance(base, _SCALARS):
            dtype = result_type(self, base)  # 2 ** int_tensor stays an int tensor
            if dtype.kind != "f":
                return _pow_tensors(*as_tensor_pair(base, self, "pow", device=self.device))
            x = self if dtype == self.array.dtype else self.to(dtype)
            return ew.RPowScalar.apply(x, base=float(base))
        return _pow_tensors(*as_tensor_pair(base, self, "pow", device=self.device))

    def pow(self, exponent: Any) -> Tensor:
        return self ** exponent

    def __matmul__(self, other: Any) -> Tensor:
        return linalg.Matmul.apply(*as_tensor_pair(self, other, "matmul", same_dtype=True))

    def __rmatmul__(self, other: Any) -> Tensor:
        return linalg.Matmul.apply(*as_tensor_pair(other, self, "matmul", device=self.device,
                                                   same_dtype=True))

    def matmul(self, other: Any, *, out: Tensor | None = None) -> Tensor:
        """self @ other (into `out` when given, see `tg.matmul`)."""
        if out is not None:
            return matmul(self, other, out=out)
        return self @ other

    def __floordiv__(self, other: Any) -> Tensor:
        return _integer_division(self, other, "floor_divide")

    def __rfloordiv__(self, other: Any) -> Tensor:
        return _integer_division(other, self, "floor_divide")

    def __mod__(self, other: Any) -> Tensor:
        return _modulo(self, other, "remainder")  # (differentiable, see ew.Remainder)

    def __rmod__(self, other: Any) -> Tensor:
        return _modulo(other, self, "remainder")

    floor_divide = __floordiv__
    remainder = __mod__

    def add(self, other: Any, *, alpha: Any = 1, out: Tensor | None = None) -> Tensor:
        """self + alpha * other (see `tg.add`)."""
        return add(self, other, alpha=alpha, out=out)

    def sub(self, other: Any, *, alpha: Any = 1, out: Tensor | None = None) -> Tensor:
        """self - alpha * other (see `tg.sub`)."""
        return sub(self, other, alpha=alpha, out=out)

    def mul(self, other: Any, *, out: Tensor | None = None) -> Tensor:
        """self * other (see `tg.mul`)."""
        return mul(self, other, out=out)

    def div(self, other: Any, *, rounding_mode: str | None = None,
            out: Tensor | None = None) -> Tensor:
        """self / other, rounded toward zero ('trunc') or down ('floor') if asked (`tg.div`)."""
        return div(self, other, rounding_mode=rounding_mode, out=out)

    # comparisons: bool tensors, no gradient
    @backend.on_device_of_args
    def _compare(self, other: Any, ufunc: str) -> Tensor:
        a, b = _checked_pair(self, other, ufunc)
        autograd._check_same_device(ufunc, (a, b))  # no Function here to check it
        return Tensor._make(getattr(get_array_module(a.array), ufunc)(a.array, b.array))

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(other, "equal")

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return self._compare(other, "not_equal")

    def __lt__(self, other: Any) -> Tensor:
        return self._compare(other, "less")

    def __le__(self, other: Any) -> Tensor:
        return self._compare(other, "less_equal")

    def __gt__(self, other: Any) -> Tensor:
        return self._compare(other, "greater")

    def __ge__(self, other: Any) -> Tensor:
        return self._compare(other, "greater_equal")

    eq, ne, lt, le, gt, ge = __eq__, __ne__, __lt__, __le__, __gt__, __ge__

    def __and__(self, other: Any) -> Tensor:
        return self._compare(other, "logical_and" if self.dtype.kind == "b" else "bitwise_and")

    def __or__(self, other: Any) -> Tensor:
        return self._compare(other, "logical_or" if self.dtype.kind == "b" else "bitwise_or")

    @backend.on_device_of_args
    def __invert__(self) -> Tensor:
        return _no_grad_result(~self.array)

    @backend.on_device_of_args
    def logical_not(self) -> Tensor:
        return _no_grad_result(get_array_module(self.array).logical_not(self.array))

    @backend.on_device_of_args
    def isnan(self) -> Tensor:
        return _no_grad_result(get_array_module(self.array).isnan(self.array))

    @backend.on_device_of_args
    def isfinite(self) -> Tensor:
        return _no_grad_result(get_array_module(self.array).isfinite(self.array))

    @backend.on_device_of_args
    def allclose(self, other: Any, rtol: float = 1e-5, atol: float = 1e-8) -> bool:
        a, b = _checked_pair(self, other, "allclose")
        return bool(get_array_module(a.array).allclose(a.array, b.array, rtol=rtol, atol=atol))

    def equal(self, other: Tensor) -> bool:
        return self.shape == other.shape and bool((self == other).all())

    # -----------------------------------------------------------------------------------------
    # in-place ops: PyTorch's rules. The result is written into this tensor's memory (its
    # views see it) and its version goes up; where a graph is being recorded, the tensor
    # takes the op's place in it. A leaf that requires grad (or a view of one) refuses.
    # -----------------------------------------------------------------------------------------
    @backend.on_device_of_args
    def _update_(self, op: str, new_value: Callable[[Tensor], Tensor],
                 reads_old: bool = True) -> Tensor:
        """The one path of in-place ops that may record a graph.

        `new_value(old)` computes the new contents out of place from `old`, this tensor as it
        was (with its history). `reads_old`: whether that result's backward reads `old`'s
        values; if so `old` is a copy, since the memory is about to be overwritten."""
        recording = autograd.is_grad_enabled()
        if recording:
            self._check_inplace_allowed(op)
        if recording:
            old = self._as_it_was(copy=reads_old)
        else:  # no graph: the same memory, without history
            old = self.detach()
        new = new_value(old)
        if new.shape != self.shape:
            raise RuntimeError(f"{op}: the result of shape {new.shape} does not fit the "
                               f"in-place output of shape {self.shape}")
        if new.array is not self.array:
            get_array_module(self.array).copyto(self.array, new.array, casting="unsafe")
        autograd.bump_version(self)
        if recording and new._requires_grad:
            self._take_place_of(new)
            if self._view_of is not None:
                self._update_view_root()
        return self

    @backend.on_device_of_args
    def _as_it_was(self, copy: bool) -> Tensor:
        """This tensor before an in-place op: its history, and its values as a copy (when the
        op's backward reads them, since the memory is about to be overwritten) or its very
        memory and version counter (when nothing will read them)."""
        old = Tensor._make(self.array.copy() if copy else self.array, self.grad_fn)
        old._requires_grad = self._requires_grad
        if not copy:
            old._version_counter = self._version_counter
        return old

    def _check_inplace_allowed(self, op: str) -> None:
        if self._requires_grad and self.grad_fn is None:
            raise RuntimeError(f"{op}: a leaf Variable that requires grad is being used in an "
                               "in-place operation (wrap it in `with tg.no_grad():`)")
        if self._view_of is not None:
            root, steps = self._view_of
            if root._requires_grad and root.grad_fn is None:
                raise RuntimeError(f"{op}: a view of a leaf Variable that requires grad is "
                                   "being used in an in-place operation")
            if any(kind == "expand" for kind, _ in steps):
                raise RuntimeError(f"{op}: unsupported operation: more than one element of the "
                                   "written-to tensor refers to a single memory location (it "
                                   "is an expanded view); clone() it before the in-place op")

    def _take_place_of(self, new: Tensor) -> None:
        """Make this tensor the output of `new`'s node (after its values were copied here)."""
        fn = new.grad_fn
        fn._output_ref = weakref.ref(self)
        fn._output_version = self._version_counter[0]
        self.grad_fn = fn
        self._requires_grad = True

    @backend.on_device_of_args
    def _update_view_root(self) -> None:
        """After an in-place op on a view recorded a graph, record it in the view's root too:
        the root becomes its old self with this view's elements replaced (a SetItem at the
        view's positions, which are found by taking the same view of an index array)."""
        root, steps = self._view_of
        xp = get_array_module(root.array)
        with backend.device_scope(root.array):
            positions = xp.arange(root.numel()).reshape(root.shape)
            for kind, arg in steps:
                positions = positions[arg] if kind == "getitem" else getattr(positions, kind)(arg)
            index = xp.unravel_index(positions, root.shape) if root.ndim else ()
        new_root = shape_ops.SetItem.apply(root._as_it_was(copy=False), self,
                                           index=index)  # (writes what is already there)
        root._take_place_of(new_root)

    @backend.on_device_of_args
    def _arith_(self, other: Any, op: str) -> Tensor:
        """add_, sub_, mul_, div_ (and +=, -=, *=, /=): self = self <op> other, in place."""
        _, b = as_tensor_pair(self, other, op, true_div=op == "div_")  # int /= 2 can't stay int
        autograd._check_same_device(op, (self, b))
        if b.shape != self.shape and np.broadcast_shapes(self.shape, b.shape) != self.shape:
            raise RuntimeError(f"{op}: the result of shape "
                               f"{np.broadcast_shapes(self.shape, b.shape)} does not fit the "
                               f"in-place output of shape {self.shape}")
        _check_cast(op, b.array.dtype, self)
        if autograd.is_grad_enabled() and (self._requires_grad or b._requires_grad):
            compute = _ARITH_OPS[op]
            return self._update_(op, lambda old: compute(old, b).to(self.dtype),
                                 reads_old=op in ("mul_", "div_"))
        ufunc = {"add_": "add", "sub_": "subtract", "mul_": "multiply", "div_": "divide"}[op]
        getattr(get_array_module(self.array), ufunc)(self.array, b.array, out=self.array,
                                                    casting="unsafe")
        autograd.bump_version(self)
        return self

    def __iadd__(self, other: Any) -> Tensor:
        return self._arith_(other, "add_")

    def __isub__(self, other: Any) -> Tensor:
        return self._arith_(other, "sub_")

    def __imul__(self, other: Any) -> Tensor:
        return self._arith_(other, "mul_")

    def __itruediv__(self, other: Any) -> Tensor:
        return self._arith_(other, "div_")

    def add_(self, other: Any, alpha: float = 1.0) -> Tensor:
        return self._arith_(other * alpha if alpha != 1 else other, "add_")

    def sub_(self, other: Any, alpha: float = 1.0) -> Tensor:
        return self._arith_(other * alpha if alpha != 1 else other, "sub_")

    def mul_(self, other: Any) -> Tensor:
        return self._arith_(other, "mul_")

    def div_(self, other: Any) -> Tensor:
        return self._arith_(other, "div_")

    def relu_(self) -> Tensor:
        """max(x, 0), in place."""
        return self._update_("relu_", lambda old: old.relu())

    def clamp_(self, min: float | None = None, max: float | None = None) -> Tensor:  # noqa: A002
        """min(max(x, min), max), in place."""
        bounds = [bound for bound in (min, max) if bound is not None]
        _check_cast("clamp_", result_type(self, *bounds), self)
        return self._update_("clamp_", lambda old: old.clamp(min, max))

    def zero_(self) -> Tensor:
        return self.fill_(0)

    def fill_(self, value: float) -> Tensor:
        if isinstance(value, Tensor):
            return self.copy_(value)
        return self._set_all("fill_", value)

    def copy_(self, src: Any) -> Tensor:
        """Copy `src` into this tensor's memory (broadcasting, converting dtype and device)."""
        if isinstance(src, Tensor):
            src = src.to(device=self.device, dtype=self.dtype)  # differentiable moves
        else:
            src = Tensor(src, dtype=self.dtype, device=self.device)
        if not shape_ops.broadcasts_to(src.shape, self.shape):
            raise RuntimeError(f"copy_: cannot copy a tensor of shape {src.shape} "
                               f"into shape {self.shape}")
        return self._update_("copy_", lambda old: shape_ops.SetItem.apply(
            old, src, index=(Ellipsis,)), reads_old=False)

    @backend.on_device_of_args
    def uniform_(self, a: float = 0.0, b: float = 1.0, *, generator: Generator | None = None
                 ) -> Tensor:
        # random() and standard_normal() exist on NumPy's and CuPy's Generator alike
        rng = backend.pick_generator(self.device, generator, "uniform_")
        return self._set_all("uniform_", rng.random(self.shape) * (b - a) + a)

    @backend.on_device_of_args
    def normal_(self, mean: float = 0.0, std: float = 1.0, *,
                generator: Generator | None = None) -> Tensor:
        rng = backend.pick_generator(self.device, generator, "normal_")
        return self._set_all("normal_", rng.standard_normal(self.shape) * std + mean)

    @backend.on_device_of_args
    def _set_all(self, op: str, values: Any) -> Tensor:
        """Overwrite every element with `values` (a number or an array of this shape)."""
        if autograd.is_grad_enabled() and self._requires_grad:
            constant = values if isinstance(values, _SCALARS) else Tensor._make(values)
            return self.copy_(constant)
        self.array[...] = values
        autograd.bump_version(self)
        return self

    @backend.on_device_of_args
    def __setitem__(self, index: Any, value: Any) -> None:
        index = _normalize_index(index, self, "setitem")
        if isinstance(value, Tensor):
            if value.device != self.device:
                raise RuntimeError(f"setitem: the value is on {value.device} but the tensor is "
                                   f"on {self.device}")
            value = value.to(self.dtype)  # differentiable
        else:
            try:
                if isinstance(value, _SCALARS):  # a 0-d constant (on a GPU made only once)
                    np.asarray(value, dtype=self.dtype)  # (on the host: does it fit?)
                    value = _scalar_tensor(value, self)
                else:
                    value = Tensor(value, dtype=self.dtype, device=self.device)
            except OverflowError:
                raise RuntimeError(f"setitem: value {value!r} cannot be converted to type "
                                   f"{self.dtype} without overflow") from None
            except (TypeError, ValueError) as exc:
                raise TypeError(f"setitem: cannot assign {value!r:.60} to a tensor of dtype "
                                f"{self.dtype}: {exc}") from None
        self._update_("setitem", lambda old: shape_ops.SetItem.apply(old, value, index=index),
                      reads_old=False)

    # -----------------------------------------------------------------------------------------
    # elementwise functions
    # -----------------------------------------------------------------------------------------
    def _float(self) -> Tensor:
        """Integer tensors are promoted to the default float dtype for float functions."""
        return self if self.array.dtype.kind == "f" else self.to(backend.default_float_dtype)

    def exp(self) -> Tensor:
        return ew.Exp.apply(self._float())

    def log(self) -> Tensor:
        return ew.Log.apply(self._float())

    def sqrt(self) -> Tensor:
        return ew.Sqrt.apply(self._float())

    def rsqrt(self) -> Tensor:
        return 1.0 / self.sqrt()

    def abs(self) -> Tensor:
        return ew.Abs.apply(self)

    __abs__ = abs

    def sin(self) -> Tensor:
        return ew.Sin.apply(self._float())

    def cos(self) -> Tensor:
        return ew.Cos.apply(self._float())

    def tanh(self) -> Tensor:
        return ew.Tanh.apply(self._float())

    def sigmoid(self) -> Tensor:
        return ew.Sigmoid.apply(self._float())

    def relu(self) -> Tensor:
        return ew.Relu.apply(self)

    def leaky_relu(self, negative_slope: float = 0.01) -> Tensor:
        return ew.LeakyRelu.apply(self, negative_slope=negative_slope)

    def square(self) -> Tensor:
        return self * self

    @backend.on_device_of_args
    def sign(self) -> Tensor:
        return _no_grad_result(get_array_module(self.array).sign(self.array))

    def clamp(self, min: float | None = None, max: float | None = None) -> Tensor:  # noqa: A002
        """y = min(max(x, min), max).  dy/dx = 1 inside [min, max], else 0."""
        if min is None and max is None:
            raise ValueError("clamp: at least one of min and max must be given")
        bounds = [bound for bound in (min, max) if bound is not None]
        if any(isinstance(bound, Tensor) for bound in bounds):  # elementwise bounds
            out = self if min is None else self.maximum(min)
            return out if max is None else out.minimum(max)
        dtype = result_type(self, *bounds)  # an int tensor clamped to 1.5 is float32
        x = self if dtype == self.array.dtype else self.to(dtype)
        return ew.Clamp.apply(x, low=min, high=max)

    clip = clamp

    def maximum(self, other: Any) -> Tensor:
        return ew.Maximum.apply(*as_tensor_pair(self, other, "maximum"))

    def minimum(self, other: Any) -> Tensor:
        return ew.Minimum.apply(*as_tensor_pair(self, other, "minimum"))

    def softmax(self, dim: int) -> Tensor:
        return ew_softmax(self, dim, reduce.Softmax)

    def log_softmax(self, dim: int) -> Tensor:
        return ew_softmax(self, dim, reduce.LogSoftmax)

    # --- issue 16: elementwise math ---
    # Float functions of one tensor: integer and bool tensors give the default float dtype.
    def log1p(self) -> Tensor:
        """y = ln(1 + x), accurate for small x."""
        return ew.Log1P.apply(self._float())

    def expm1(self) -> Tensor:
        """y = e^x - 1, accurate for small x."""
        return ew.Expm1.apply(self._float())

    def log2(self) -> Tensor:
        return ew.Log2.apply(self._float())

    def log10(self) -> Tensor:
        return ew.Log10.apply(self._float())

    def exp2(self) -> Tensor:
        return ew.Exp2.apply(self._float())

    def sinh(self) -> Tensor:
        return ew.Sinh.apply(self._float())

    def cosh(self) -> Tensor:
        return ew.Cosh.apply(self._float())

    def tan(self) -> Tensor:
        return ew.Tan.apply(self._float())

    def asin(self) -> Tensor:
        return ew.Asin.apply(self._float())

    def acos(self) -> Tensor:
        return ew.Acos.apply(self._float())

    def atan(self) -> Tensor:
        return ew.Atan.apply(self._float())

    def asinh(self) -> Tensor:
        return ew.Asinh.apply(self._float())

    def acosh(self) -> Tensor:
        return ew.Acosh.apply(self._float())

    def atanh(self) -> Tensor:
        return ew.Atanh.apply(self._float())

    arcsin, arccos, arctan, arcsinh, arccosh, arctanh = asin, acos, atan, asinh, acosh, atanh

    def erf(self) -> Tensor:
        """The error function, 2/sqrt(pi) times the integral of e^(-t^2) from 0 to x."""
        return ew.Erf.apply(self._float())

    def erfc(self) -> Tensor:
        """1 - erf(x), accurate also where it is tiny."""
        return ew.Erfc.apply(self._float())

    def erfinv(self) -> Tensor:
        """The inverse of erf on (-1, 1) (+-inf at +-1, NaN outside)."""
        return ew.Erfinv.apply(self._float())

    def lgamma(self) -> Tensor:
        """ln |Gamma(x)| (+inf at 0, -1, -2, ...)."""
        return ew.Lgamma.apply(self._float())

    def digamma(self) -> Tensor:
        """psi(x) = d/dx ln Gamma(x)."""
        return ew.Digamma.apply(self._float())

    def reciprocal(self) -> Tensor:
        """1 / x (float, also for integers)."""
        return ew.Reciprocal.apply(self._float())

    def neg(self) -> Tensor:
        """-x."""
        return ew.Neg.apply(self)

    negative = neg

    # rounding: results without a graph (the gradient would be 0 everywhere)
    @backend.on_device_of_args
    def _rounded(self, op: str, decimals: int = 0) -> Tensor:
        kind = self.array.dtype.kind
        if kind == "b" or (kind in "iu" and decimals):
            raise NotImplementedError(f'"{op}" not implemented for '
                                      f"'{_TORCH_NAMES[self.array.dtype.name]}'")
        if kind in "iu":  # integers are whole already
            return _no_grad_result(self.array.copy())
        xp = get_array_module(self.array)
        if decimals == 0:  # (rint: halves to even, as PyTorch's round)
            ufunc = {"floor": xp.floor, "ceil": xp.ceil, "trunc": xp.trunc, "round": xp.rint}
            return _no_grad_result(ufunc[op](self.array))
        scale = 10.0 ** abs(decimals)  # as PyTorch: x * 10^d rounded, then / 10^d
        if decimals > 0:
            return _no_grad_result(xp.rint(self.array * scale) / scale)
        return _no_grad_result(xp.rint(self.array / scale) * scale)

    def floor(self) -> Tensor:
        """The largest whole number <= x (integers stay integers; no gradient)."""
        return self._rounded("floor")

    def ceil(self) -> Tensor:
        """The smallest whole number >= x (no gradient)."""
        return self._rounded("ceil")

    def trunc(self) -> Tensor:
        """x rounded toward zero (no gradient)."""
        return self._rounded("trunc")

    fix = trunc

    def round(self, *, decimals: int = 0) -> Tensor:
        """x rounded to `decimals` decimal places, halves to even (no gradient)."""
        return self._rounded("round", decimals)

    def frac(self) -> Tensor:
        """x - trunc(x), with x's sign (floats only)."""
        if self.array.dtype.kind != "f":
            raise NotImplementedError(f"\"frac\" not implemented for "
                                      f"'{_TORCH_NAMES[self.array.dtype.name]}'")
        return ew.Frac.apply(self)

    # float functions of two tensors
    def atan2(self, other: Tensor) -> Tensor:
        """The angle of the point (other, self), in (-pi, pi]."""
        _require_tensor("atan2", other)
        return ew.Atan2.apply(*as_tensor_pair(self, other, "atan2", true_div=True))

    arctan2 = atan2

    def hypot(self, other: Tensor) -> Tensor:
        """sqrt(self^2 + other^2), without overflow (floats only)."""
        _require_tensor("hypot", other)
        return ew.Hypot.apply(*_float_pair(self, other, "hypot"))

    def logaddexp(self, other: Tensor) -> Tensor:
        """ln(e^self + e^other), without overflow (floats only)."""
        _require_tensor("logaddexp", other)
        return ew.Logaddexp.apply(*_float_pair(self, other, "logaddexp"))

    def xlogy(self, other: Any) -> Tensor:
        """self * ln(other), and 0 where self is 0 (unless other is NaN)."""
        return ew.Xlogy.apply(*as_tensor_pair(self, other, "xlogy", true_div=True))

    def fmod(self, other: Any) -> Tensor:
        """self - other * trunc(self / other): C's remainder, with the dividend's sign."""
        return _modulo(self, other, "fmod")

    def lerp(self, end: Tensor, weight: Any) -> Tensor:
        """self + weight * (end - self), elementwise with broadcasting."""
        return _lerp(self, end, weight)

    def clamp_min(self, min: Any) -> Tensor:  # noqa: A002
        """max(x, min) (see clamp)."""
        if not isinstance(min, Tensor):
            _refuse_bool(self, "clamp_min_scalar_cpu")
        return self.clamp(min=min)

    def clamp_max(self, max: Any) -> Tensor:  # noqa: A002
        """min(x, max) (see clamp)."""
        if not isinstance(max, Tensor):
            _refuse_bool(self, "clamp_max_scalar_cpu")
        return self.clamp(max=max)

    def nan_to_num(self, nan: float = 0.0, posinf: float | None = None,
                   neginf: float | None = None) -> Tensor:
        """NaN, +inf and -inf replaced by `nan`, `posinf` and `neginf` (by default 0 and the
        dtype's largest and smallest finite values). Gradient 1 where x is finite, else 0."""
        if self.array.dtype.kind != "f":  # nothing to replace
            return self.clone()
        return ew.NanToNum.apply(self, nan=nan, posinf=posinf, neginf=neginf)

    # tests of values: bool tensors, no gradient
    @backend.on_device_of_args
    def isinf(self) -> Tensor:
        return _no_grad_result(get_array_module(self.array).isinf(self.array))

    @backend.on_device_of_args
    def isposinf(self) -> Tensor:
        return _no_grad_result(get_array_module(self.array).isposinf(self.array))

    @backend.on_device_of_args
    def isneginf(self) -> Tensor:
        return _no_grad_result(get_array_module(self.array).isneginf(self.array))

    @backend.on_device_of_args
    def isclose(self, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08,
                equal_nan: bool = False) -> Tensor:
        """|self - other| <= atol + rtol * |other| elementwise (inf equals inf of its sign;
        NaN equals NaN only with equal_nan). Both tensors need the same dtype."""
        _require_tensor("isclose", other)
        if self.array.dtype != other.array.dtype:
            raise RuntimeError(f"isclose: {_TORCH_NAMES[self.array.dtype.name]} did not match "
                               f"{_TORCH_NAMES[other.array.dtype.name]} (shapes "
                               f"{tuple(self.shape)} and {tuple(other.shape)})")
        for name, value in (("rtol", rtol), ("atol", atol)):
            if value < 0:
                raise RuntimeError(f"isclose: {name} must be greater than or equal to zero, "
                                   f"but got {value}")
        a, b = _checked_pair(self, other, "isclose")
        autograd._check_same_device("isclose", (a, b))
        xp = get_array_module(a.array)
        if a.array.dtype.kind == "b":
            return _no_grad_result(a.array == b.array)
        return _no_grad_result(xp.isclose(a.array, b.array, rtol=rtol, atol=atol,
                                          equal_nan=equal_nan))

    # logical and bitwise ops: no gradient
    def logical_and(self, other: Tensor) -> Tensor:
        _require_tensor("logical_and", other)
        return self._compare(other, "logical_and")

    def logical_or(self, other: Tensor) -> Tensor:
        _require_tensor("logical_or", other)
        return self._compare(other, "logical_or")

    def logical_xor(self, other: Tensor) -> Tensor:
        _require_tensor("logical_xor", other)
        return self._compare(other, "logical_xor")

    def bitwise_and(self, other: Any) -> Tensor:
        """self & other, bit by bit (integers and bools only)."""
        return _bitwise(self, other, "bitwise_and")

    def bitwise_or(self, other: Any) -> Tensor:
        return _bitwise(self, other, "bitwise_or")

    def bitwise_xor(self, other: Any) -> Tensor:
        return _bitwise(self, other, "bitwise_xor")

    @backend.on_device_of_args
    def bitwise_not(self) -> Tensor:
        """~x: every bit flipped (integers), not x (bools)."""
        if self.array.dtype.kind == "f":
            raise NotImplementedError(f"\"bitwise_not\" not implemented for "
                                      f"'{_TORCH_NAMES[self.array.dtype.name]}'")
        return _no_grad_result(get_array_module(self.array).invert(self.array))

    __xor__ = bitwise_xor  # (& and |, and ~, are defined with the comparisons above)

    def __rand__(self, other: Any) -> Tensor:
        return _bitwise(other, self, "bitwise_and")

    def __ror__(self, other: Any) -> Tensor:
        return _bitwise(other, self, "bitwise_or")

    def __rxor__(self, other: Any) -> Tensor:
        return _bitwise(other, self, "bitwise_xor")

    # in-place forms: the out-of-place result written back through Tensor._update_
    def _math_(self, op: str, method: Callable[..., Tensor], *args: Any,
               reads_old: bool = True, **kwargs: Any) -> Tensor:
        """self = method(self, *args, **kwargs), in place. The result must keep its category
        when cast to this tensor's dtype (PyTorch's RuntimeError: an int tensor has no exp_).
        A result without a graph (floor_, bitwise ops) leaves this tensor without one."""
        recorded = []

        def compute(old: Tensor) -> Tensor:
            new = method(old, *args, **kwargs)
            _check_cast(op, new.array.dtype, self)
            recorded.append(new._requires_grad)
            return new if new.array.dtype == self.array.dtype else new.to(self.dtype)

        self._update_(op, compute, reads_old)
        if self._requires_grad and not recorded[0] and autograd.is_grad_enabled():
            self.grad_fn, self._requires_grad = None, False  # its values no longer depend on it
        return self

    def exp_(self) -> Tensor:
        return self._math_("exp_", Tensor.exp, reads_old=False)

    def log_(self) -> Tensor:
        return self._math_("log_", Tensor.log)

    def sqrt_(self) -> Tensor:
        return self._math_("sqrt_", Tensor.sqrt, reads_old=False)

    def rsqrt_(self) -> Tensor:
        return self._math_("rsqrt_", Tensor.rsqrt, reads_old=False)

    def abs_(self) -> Tensor:
        return self._math_("abs_", Tensor.abs)

    def neg_(self) -> Tensor:
        return self._math_("neg_", Tensor.neg, reads_old=False)

    negative_ = neg_

    def sigmoid_(self) -> Tensor:
        return self._math_("sigmoid_", Tensor.sigmoid, reads_old=False)

    def tanh_(self) -> Tensor:
        return self._math_("tanh_", Tensor.tanh, reads_old=False)

    def sin_(self) -> Tensor:
        return self._math_("sin_", Tensor.sin)

    def cos_(self) -> Tensor:
        return self._math_("cos_", Tensor.cos)

    def sign_(self) -> Tensor:
        return self._math_("sign_", Tensor.sign, reads_old=False)

    def square_(self) -> Tensor:
        return self._math_("square_", Tensor.square)

    def log1p_(self) -> Tensor:
        return self._math_("log1p_", Tensor.log1p)

    def expm1_(self) -> Tensor:
        return self._math_("expm1_", Tensor.expm1, reads_old=False)

    def log2_(self) -> Tensor:
        return self._math_("log2_", Tensor.log2)

    def log10_(self) -> Tensor:
        return self._math_("log10_", Tensor.log10)

    def exp2_(self) -> Tensor:
        return self._math_("exp2_", Tensor.exp2, reads_old=False)

    def sinh_(self) -> Tensor:
        return self._math_("sinh_", Tensor.sinh)

    def cosh_(self) -> Tensor:
        return self._math_("cosh_", Tensor.cosh)

    def tan_(self) -> Tensor:
        return self._math_("tan_", Tensor.tan, reads_old=False)

    def asin_(self) -> Tensor:
        return self._math_("asin_", Tensor.asin)

    def acos_(self) -> Tensor:
        return self._math_("acos_", Tensor.acos)

    def atan_(self) -> Tensor:
        return self._math_("atan_", Tensor.atan)

    def asinh_(self) -> Tensor:
        return self._math_("asinh_", Tensor.asinh)

    def acosh_(self) -> Tensor:
        return self._math_("acosh_", Tensor.acosh)

    def atanh_(self) -> Tensor:
        return self._math_("atanh_", Tensor.atanh)

    arcsin_, arccos_, arctan_ = asin_, acos_, atan_
    arcsinh_, arccosh_, arctanh_ = asinh_, acosh_, atanh_

    def erf_(self) -> Tensor:
        return self._math_("erf_", Tensor.erf)

    def erfc_(self) -> Tensor:
        return self._math_("erfc_", Tensor.erfc)

    def erfinv_(self) -> Tensor:
        return self._math_("erfinv_", Tensor.erfinv, reads_old=False)

    def lgamma_(self) -> Tensor:
        return self._math_("lgamma_", Tensor.lgamma)

    def digamma_(self) -> Tensor:
        return self._math_("digamma_", Tensor.digamma)

    def reciprocal_(self) -> Tensor:
        return self._math_("reciprocal_", Tensor.reciprocal, reads_old=False)

    def floor_(self) -> Tensor:
        return self._math_("floor_", Tensor.floor, reads_old=False)

    def ceil_(self) -> Tensor:
        return self._math_("ceil_", Tensor.ceil, reads_old=False)

    def trunc_(self) -> Tensor:
        return self._math_("trunc_", Tensor.trunc, reads_old=False)

    fix_ = trunc_

    def round_(self, *, decimals: int = 0) -> Tensor:
        return self._math_("round_", Tensor.round, decimals=decimals, reads_old=False)

    def frac_(self) -> Tensor:
        return self._math_("frac_", Tensor.frac, reads_old=False)

    def nan_to_num_(self, nan: float = 0.0, posinf: float | None = None,
                    neginf: float | None = None) -> Tensor:
        return self._math_("nan_to_num_", Tensor.nan_to_num, nan, posinf, neginf)

    def atan2_(self, other: Tensor) -> Tensor:
        return self._math_("atan2_", Tensor.atan2, other)

    arctan2_ = atan2_

    def hypot_(self, other: Tensor) -> Tensor:
        return self._math_("hypot_", Tensor.hypot, other)

    def xlogy_(self, other: Any) -> Tensor:
        return self._math_("xlogy_", Tensor.xlogy, other)

    def fmod_(self, other: Any) -> Tensor:
        return self._math_("fmod_", Tensor.fmod, other)

    def remainder_(self, other: Any) -> Tensor:
        return self._math_("remainder_", Tensor.remainder, other)

    def lerp_(self, end: Tensor, weight: Any) -> Tensor:
        return self._math_("lerp_", Tensor.lerp, end, weight)

    def clamp_min_(self, min: Any) -> Tensor:  # noqa: A002
        return self._math_("clamp_min_", Tensor.clamp_min, min, reads_old=False)

    def clamp_max_(self, max: Any) -> Tensor:  # noqa: A002
        return self._math_("clamp_max_", Tensor.clamp_max, max, reads_old=False)

    def masked_fill_(self, mask: Any, value: Any) -> Tensor:
        """`value` where `mask` is True, in place (the value converted to this dtype)."""
        return self._update_("masked_fill_", lambda old: old.masked_fill(mask, value).to(
            self.dtype))

    def logical_not_(self) -> Tensor:
        return self._math_("logical_not_", Tensor.logical_not, reads_old=False)

    def logical_and_(self, other: Tensor) -> Tensor:
        return self._math_("logical_and_", Tensor.logical_and, other, reads_old=False)

    def logical_or_(self, other: Tensor) -> Tensor:
        return self._math_("logical_or_", Tensor.logical_or, other, reads_old=False)

    def logical_xor_(self, other: Tensor) -> Tensor:
        return self._math_("logical_xor_", Tensor.logical_xor, other, reads_old=False)

    def bitwise_and_(self, other: Any) -> Tensor:
        return self._math_("bitwise_and_", Tensor.bitwise_and, other, reads_old=False)

    def bitwise_or_(self, other: Any) -> Tensor:
        return self._math_("bitwise_or_", Tensor.bitwise_or, other, reads_old=False)

    def bitwise_xor_(self, other: Any) -> Tensor:
        return self._math_("bitwise_xor_", Tensor.bitwise_xor, other, reads_old=False)

    def bitwise_not_(self) -> Tensor:
        return self._math_("bitwise_not_", Tensor.bitwise_not, reads_old=False)

    __iand__, __ior__, __ixor__ = bitwise_and_, bitwise_or_, bitwise_xor_
    __imod__ = remainder_

    # -----------------------------------------------------------------------------------------
    # reductions
    # -----------------------------------------------------------------------------------------
    def sum(self, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
        x = self if dtype is None and self.array.dtype.kind == "f" else _sum_input(self, dtype)
        return reduce.Sum.apply(x, axes=reduce.normalize_dims(dim, x.ndim, "sum"), keepdim=keepdim)

    def mean(self, dim: Any = None, keepdim: bool = False, dtype: Any = None) -> Tensor:
        x = self if dtype is None else self.to(dtype)
        if not x.is_floating_point():
            raise RuntimeError(f"mean: could not infer output dtype; input dtype must be "
                               f"floating point, got {x.dtype} (use .float() first)")
        return reduce.Mean.apply(x, axes=reduce.normalize_dims(dim, x.ndim, "mean"),
                                 keepdim=keepdim)

    def var(self, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False,
            correction: int | None = None) -> Tensor:
        """sum((x - mean)^2) / (n - correction); correction = 1 (unbiased) by default."""
        return self._var_std(reduce.Var, dim, unbiased, keepdim, correction)

    def std(self, dim: Any = None, unbiased: bool | None = None, keepdim: bool = False,
            correction: int | None = None) -> Tensor:
        """sqrt(var(x)) (with gradient 0 where it is 0, as PyTorch)."""
        return self._var_std(reduce.Std, dim, unbiased, keepdim, correction)

    def _var_std(self, op: type, dim: Any, unbiased: bool | None, keepdim: bool,
                 correction: int | None) -> Tensor:
        if correction is None:
            correction = 0 if unbiased is False else 1
        axes = reduce.normalize_dims(dim, self.ndim, op.__name__.lower())
        return op.apply(self, axes=axes, correction=correction, keepdim=keepdim)

    def amax(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        self._check_nonempty("amax", dim)
        return reduce.Amax.apply(self, axes=reduce.normalize_dims(dim, self.ndim, "amax"),
                                 keepdim=keepdim)

    def amin(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        self._check_nonempty("amin", dim)
        return reduce.Amin.apply(self, axes=reduce.normalize_dims(dim, self.ndim, "amin"),
                                 keepdim=keepdim)

    def max(self, dim: Any = None, keepdim: bool = False) -> Any:
        """max() -> the largest value; max(dim) -> (values, indices); max(other) -> maximum."""
        if isinstance(dim, Tensor):
            return self.maximum(dim)
        if dim is None:  # (NaNs get the gradient, as PyTorch's max(); amax gives NaN there)
            self._check_nonempty("max", dim)
            return reduce.Max.apply(self, axes=tuple(range(self.ndim)))
        return self._max_min_dim(dim, keepdim, reduce.MaxDim, "max")

    def min(self, dim: Any = None, keepdim: bool = False) -> Any:
        """min() -> the smallest value; min(dim) -> (values, indices); min(other) -> minimum."""
        if isinstance(dim, Tensor):
            return self.minimum(dim)
        if dim is None:
            self._check_nonempty("min", dim)
            return reduce.Min.apply(self, axes=tuple(range(self.ndim)))
        return self._max_min_dim(dim, keepdim, reduce.MinDim, "min")

    def _max_min_dim(self, dim: int, keepdim: bool, op: type, name: str) -> Any:
        (axis,) = reduce.normalize_dims(dim, self.ndim, name) if self.ndim else (0,)
        self._check_nonempty(name, dim)
        x = self if self.ndim else self.reshape(1)
        values = op.apply(x, dim=axis, keepdim=keepdim)
        fn = x.argmax if name == "max" else x.argmin
        indices = fn(axis, keepdim=keepdim)
        if not self.ndim:
            values, indices = values.reshape(()), indices.reshape(())
        result_type = return_types.max if name == "max" else return_types.min
        return result_type(values, indices)

    def _check_nonempty(self, op: str, dim: Any) -> None:
        if self.numel() == 0:
            raise RuntimeError(f"{op}: expected a non-empty tensor, got shape {self.shape}")

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return self._arg("argmax", dim, keepdim)

    def argmin(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return self._arg("argmin", dim, keepdim)

    @backend.on_device_of_args
    def _arg(self, name: str, dim: int | None, keepdim: bool) -> Tensor:
        self._check_nonempty(name, dim)
        xp = get_array_module(self.array)
        if dim is None:
            out = getattr(self.array.reshape(-1), name)()
            out = xp.asarray(out).reshape((1,) * self.ndim if keepdim else ())
        else:
            (axis,) = reduce.normalize_dims(dim, self.ndim, name)
            out = getattr(self.array, name)(axis=axis)
            if keepdim:
                out = xp.expand_dims(out, axis)
        return Tensor._make(xp.asarray(out, dtype=backend.int64))

    def logsumexp(self, dim: Any, keepdim: bool = False) -> Tensor:
        """log(sum(exp(x))) computed as m + log(sum(exp(x - m))) with m = max (finite for big x).
        d/dx = softmax(x)."""
        axes = reduce.normalize_dims(dim, self.ndim, "logsumexp")
        x = self._float()
        m = x.amax(axes, keepdim=True).detach()
        m = where(m.isfinite(), m, 0.0)
        out = (x - m).exp().sum(axes, keepdim=True).log() + m
        return out if keepdim else out.squeeze(axes)

    def prod(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        return reduce.Prod.apply(self, axes=reduce.normalize_dims(dim, self.ndim, "prod"),
                                 keepdim=keepdim)

    @backend.on_device_of_args
    def norm(self, p: Any = 2, dim: Any = None, keepdim: bool = False) -> Tensor:
        """(sum |x|^p)^(1/p) over `dim` (all dims by default); p = 2 (or 'fro') is the Euclidean
        norm, inf / -inf the largest / smallest |x|, 0 the number of non-zero elements."""
        axes = reduce.normalize_dims(dim, self.ndim, "norm")
        if p == "fro":
            p = 2
        if not isinstance(p, (int, float, np.integer, np.floating)) or isinstance(p, bool):
            raise ValueError(f"norm: p must be a number or 'fro', got {p!r}")
        if not self.is_floating_point():
            raise RuntimeError(f"norm: expected a floating point tensor, got {self.dtype} "
                               "(use .float() first)")
        return reduce.Norm.apply(self, p=float(p), axes=axes, keepdim=keepdim)

    @backend.on_device_of_args
    def all(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        axes = reduce.normalize_dims(dim, self.ndim, "all")
        return _no_grad_result(self.array.astype(bool).all(axis=axes, keepdims=keepdim))

    @backend.on_device_of_args
    def any(self, dim: Any = None, keepdim: bool = False) -> Tensor:
        axes = reduce.normalize_dims(dim, self.ndim, "any")
        return _no_grad_result(self.array.astype(bool).any(axis=axes, keepdims=keepdim))

    # -----------------------------------------------------------------------------------------
    # shape
    # -----------------------------------------------------------------------------------------
    def reshape(self, *shape: Any) -> Tensor:
        new = _shape_arg(shape)
        if min(new, default=0) < 0 or math.prod(new) != self.array.size:
            new = _inferred_shape(new, self)  # a -1 worked out, or a RuntimeError
        if new == self.array.shape:
            return self
        return shape_ops.Reshape.apply(self, shape=new)

    @backend.on_device_of_args
    def view(self, *shape: Any) -> Tensor:
        """The same memory seen with another shape. As in PyTorch, a view of a tensor (a
        transpose, a slice, an expand) whose elements do not lie in the new shape's order
        cannot be viewed without copying: a RuntimeError says to use reshape (which copies
        then) or contiguous() first."""
        out = self.reshape(*shape)
        if (self._view_of is not None and out is not self and self.numel()
                and not get_array_module(self.array).may_share_memory(out.array, self.array)):
            raise RuntimeError(f"view: view size is not compatible with input tensor's size and "
                               f"stride (at least one dimension spans across two contiguous "
                               f"subspaces): a tensor of shape {tuple(self.shape)} that is a "
                               f"non-contiguous view cannot be viewed as shape "
                               f"{tuple(out.shape)}. Use .reshape(...) instead (or "
                               f".contiguous().view(...)).")
        return out

    def view_as(self, other: Tensor) -> Tensor:
        return self.view(other.shape)

    def reshape_as(self, other: Tensor) -> Tensor:
        return self.reshape(other.shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        if self.ndim == 0:
            return self.reshape(1)
        start, end = (reduce.normalize_dims(d, self.ndim, "flatten")[0]
                      for d in (start_dim, end_dim))
        if start > end:
            raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
        new = self.shape[:start] + (math.prod(self.shape[start:end + 1]),) + self.shape[end + 1:]
        return self.reshape(new)

    def unflatten(self, dim: int, sizes: Sequence[int]) -> Tensor:
        (d,) = reduce.normalize_dims(dim, self.ndim, "unflatten")
        return self.reshape(self.shape[:d] + tuple(sizes) + self.shape[d + 1:])

    def squeeze(self, dim: Any = None) -> Tensor:
        if dim is None:
            axes = tuple(i for i, n in enumerate(self.shape) if n == 1)
        else:
            axes = tuple(a for a in reduce.normalize_dims(dim, self.ndim, "squeeze")
                         if self.shape[a] == 1)
        return self.reshape(tuple(n for i, n in enumerate(self.shape) if i not in axes))

    def unsqueeze(self, dim: int) -> Tensor:
        if not -self.ndim - 1 <= dim <= self.ndim:
            raise IndexError(f"unsqueeze: dim {dim} is out of range for a tensor with "
                             f"{self.ndim} dimension(s) (expected [{-self.ndim - 1}, {self.ndim}])")
        d = dim % (self.ndim + 1)
        return self.reshape(self.shape[:d] + (1,) + self.shape[d:])

    def permute(self, *dims: Any) -> Tensor:
        axes = _shape_arg(dims)
        if sorted(a % self.ndim if self.ndim else a for a in axes) != list(range(self.ndim)):
            raise ValueError(f"permute: dims {list(axes)} are not a permutation of the "
                             f"{self.ndim} dims of a tensor of shape {self.shape}")
        axes = tuple(a % self.ndim for a in axes)
        if axes == tuple(range(self.ndim)):
            return self
        return shape_ops.Permute.apply(self, axes=axes)

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        if self.ndim < 2 and dim0 in (0, -1) and dim1 in (0, -1):
            return self
        a, b = (reduce.normalize_dims(d, self.ndim, "transpose")[0] for d in (dim0, dim1))
        axes = list(range(self.ndim))
        axes[a], axes[b] = axes[b], axes[a]
        return self.permute(*axes)

    def t(self) -> Tensor:
        if self.ndim > 2:
            raise ValueError(f"t: expects a tensor with <= 2 dimensions, got shape {self.shape}")
        return self.T

    def expand(self, *sizes: Any) -> Tensor:
        sizes = _shape_arg(sizes)
        if len(sizes) < self.ndim:
            raise RuntimeError(f"expand: the number of sizes ({len(sizes)}) must be at least "
                               f"the number of dimensions ({self.ndim})")
        lead = len(sizes) - self.ndim
        target = tuple(self.shape[i - lead] if n == -1 and i >= lead else n
                       for i, n in enumerate(sizes))
        return self.broadcast_to(target)

    def expand_as(self, other: Tensor) -> Tensor:
        return self.broadcast_to(other.shape)

    def broadcast_to(self, *size: Any) -> Tensor:
        target = _shape_arg(size)
        if not shape_ops.broadcasts_to(self.shape, target):
            raise RuntimeError(f"broadcast_to: a tensor of shape {self.shape} cannot be "
                               f"broadcast to shape {target}")
        if target == self.shape:
            return self
        return autograd.BroadcastTo.apply(self, shape=target)

    def __getitem__(self, index: Any) -> Tensor:
        return shape_ops.GetItem.apply(self, index=_normalize_index(index, self))

    @backend.on_device_of_args
    def split(self, split_size_or_sections: Any, dim: int = 0) -> tuple[Tensor, ...]:
        (d,) = reduce.normalize_dims(dim, self.ndim, "split")
        n = self.shape[d]
        if isinstance(split_size_or_sections, int):
            if split_size_or_sections <= 0:
                raise ValueError(f"split: split_size must be positive, got "
                                 f"{split_size_or_sections}")
            sizes = [split_size_or_sections] * (n // split_size_or_sections)
            if n % split_size_or_sections:
                sizes.append(n % split_size_or_sections)
        else:
            sizes = list(split_size_or_sections)
            if sum(sizes) != n:
                raise ValueError(f"split: sizes {sizes} do not add up to {n}, "
                                 f"the size of dim {dim}")
        bounds = np.cumsum([0] + sizes).tolist()
        lead = (slice(None),) * d
        return tuple(self[lead + (slice(lo, hi),)] for lo, hi in zip(bounds[:-1], bounds[1:]))

    def chunk(self, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
        if chunks <= 0:
            raise ValueError(f"chunk: chunks must be positive, got {chunks}")
        (d,) = reduce.normalize_dims(dim, self.ndim, "chunk")
        return self.split(max(1, -(-self.shape[d] // chunks)), d)

    def unbind(self, dim: int = 0) -> tuple[Tensor, ...]:
        (d,) = reduce.normalize_dims(dim, self.ndim, "unbind")
        lead = (slice(None),) * d
        return tuple(self[lead + (i,)] for i in range(self.shape[d]))

    def masked_fill(self, mask: Any, value: float) -> Tensor:
        """`value` where `mask` (a bool tensor) is True, else this tensor's values."""
        if isinstance(mask, Tensor) and mask.array.dtype.kind != "b":
            raise RuntimeError(f"masked_fill: masked_fill_ only supports boolean masks, but got "
                               f"mask with dtype {_C_NAMES[mask.array.dtype.name]} (shape "
                               f"{tuple(mask.shape)}); compare it first, e.g. `mask > 0`")
        return where(mask, value, self)

    @backend.on_device_of_args
    def gather(self, dim: int, index: Tensor) -> Tensor:
        """out[i][j] = self[index[i][j]][j] (dim 0) etc., as PyTorch's gather."""
        (d,) = reduce.normalize_dims(dim, self.ndim, "gather")
        xp = get_array_module(self.array)
        idx = index.array if isinstance(index, Tensor) else xp.asarray(index)
        grids = [xp.arange(n).reshape((1,) * k + (n,) + (1,) * (idx.ndim - k - 1))
                 for k, n in enumerate(idx.shape)]  # (xp.indices(sparse=True) is NumPy's only)
        grids[d] = idx
        return self[tuple(grids)]

    def type_as(self, other: Tensor) -> Tensor:
        return self.to(other.dtype)

    # -----------------------------------------------------------------------------------------
    # matrices, sorting and selecting along a dim, running sums
    # -----------------------------------------------------------------------------------------
    def mm(self, mat2: Tensor) -> Tensor:
        """The matrix product of two 2-D tensors (PyTorch's mm: no 1-D operands, no batch)."""
        for name, t in (("self", self), ("mat2", mat2)):
            if not isinstance(t, Tensor) or t.ndim != 2:
                shape = tuple(t.shape) if isinstance(t, Tensor) else type(t).__name__
                raise RuntimeError(f"mm: {name} must be a matrix (2-D), got {shape}")
        return self @ mat2

    @backend.on_device_of_args
    def diagonal(self, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
        """The elements x[..., i, i + offset] of the (dim1, dim2) planes, as a last dim.
        Built from permute and indexing, so its gradient is theirs."""
        if self.ndim < 2:
            raise RuntimeError(f"diagonal: expected a tensor with at least 2 dimensions, got "
                               f"shape {tuple(self.shape)}")
        (d1,) = reduce.normalize_dims(dim1, self.ndim, "diagonal")
        (d2,) = reduce.normalize_dims(dim2, self.ndim, "diagonal")
        if d1 == d2:
            raise RuntimeError(f"diagonal: dim1 and dim2 cannot be the same dimension, got "
                               f"{dim1} and {dim2}")
        others = [d for d in range(self.ndim) if d not in (d1, d2)]
        planes = self.permute(*others, d1, d2)
        row, col = max(-offset, 0), max(offset, 0)
        length = max(min(planes.shape[-2] - row, planes.shape[-1] - col), 0)
        steps = get_array_module(self.array).arange(length)
        return planes[..., Tensor._make(steps + row), Tensor._make(steps + col)]

    @backend.on_device_of_args
    def diag(self, diagonal: int = 0) -> Tensor:
        """1-D input: a square matrix with the input on its `diagonal`-th diagonal (0 the main
        one, > 0 above, < 0 below); 2-D input: that diagonal of the matrix, as a 1-D tensor."""
        if self.ndim == 2:
            return self.diagonal(diagonal)
        if self.ndim != 1:
            raise RuntimeError(f"diag: expected a 1-D or 2-D tensor, got shape "
                               f"{tuple(self.shape)}")
        size = self.shape[0] + abs(diagonal)
        steps = get_array_module(self.array).arange(self.shape[0])
        index = (steps + max(-diagonal, 0), steps + max(diagonal, 0))
        return shape_ops.IndexAdd.apply(self, shape=(size, size), index=index)

    def trace(self) -> Tensor:
        """The sum of the main diagonal of a matrix."""
        if self.ndim != 2:
            raise RuntimeError(f"trace: expected a matrix (2-D), got shape {tuple(self.shape)}")
        return self.diagonal().sum()

    def det(self) -> Tensor:
        """det(A) of each square matrix of a batch (..., n, n), as tg.linalg.det."""
        return linalg.LinalgDet.apply(self)

    def inverse(self) -> Tensor:
        """A^-1 of each square matrix of a batch (..., n, n), as tg.linalg.inv."""
        return linalg.LinalgInv.apply(self)

    @backend.on_device_of_args
    def slogdet(self) -> Any:
        """(sign, log|det A|) of each square matrix, as torch.slogdet (tg.linalg.slogdet)."""
        logabsdet = linalg.LinalgSlogdet.apply(self)  # (checks the input)
        sign = Tensor._make(get_array_module(self.array).linalg.slogdet(self.array)[0])
        return return_types.slogdet(sign, logabsdet)

    def logdet(self) -> Tensor:
        """log(det A): NaN where det A < 0, -inf where it is 0 (as torch.logdet)."""
        sign, logabsdet = self.slogdet()
        return where(sign < 0, math.nan, logabsdet)

    def flip(self, *dims: Any) -> Tensor:
        """The elements in reverse order along `dims` (`x.flip(0)`, `x.flip([0, 1])`)."""
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        return shape_ops.Flip.apply(self, dims=reduce.normalize_dims(dims, self.ndim, "flip"))

    def cumsum(self, dim: int, *, dtype: Any = None) -> Tensor:
        """y_i = x_0 + ... + x_i along `dim` (integers and bools sum as int64, as PyTorch)."""
        if dtype is None:
            dtype = backend.int64 if self.dtype.kind in "biu" else self.dtype
        x, axis = self.to(dtype)._along(dim, "cumsum")
        out = reduce.Cumsum.apply(x, dim=axis)
        return out if self.ndim else out.reshape(())

    @backend.on_device_of_args
    def argsort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
        """The indices that sort the elements along `dim`. The sort is always stable (equal
        elements keep their order); NaN counts as larger than any number, as PyTorch."""
        xp = get_array_module(self.array)
        if self.ndim == 0:
            return Tensor._make(xp.zeros((), dtype=backend.int64))
        (axis,) = reduce.normalize_dims(dim, self.ndim, "argsort")
        values = self.array
        if not descending:
            order = xp.argsort(values, axis=axis, kind="stable")
        else:  # stable descending: sort the reversed elements, reverse that order, map back
            reversed_order = xp.argsort(xp.flip(values, axis), axis=axis, kind="stable")
            order = values.shape[axis] - 1 - xp.flip(reversed_order, axis)
        return Tensor._make(xp.ascontiguousarray(order).astype(backend.int64))

    def sort(self, dim: int = -1, descending: bool = False, stable: bool = False) -> Any:
        """(values, indices): the elements along `dim` in ascending (or descending) order and
        where they came from. The values are gathered at the indices: the gradient goes back
        to the place each value came from."""
        indices = self.argsort(dim, descending=descending)
        values = self.gather(dim, indices) if self.ndim else self.clone()
        return return_types.sort(values, indices)

    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> Any:  # noqa: A002
        """(values, indices) of the k largest (or smallest) elements along `dim`, largest first
        (smallest first for largest=False)."""
        x, axis = self._along(dim, "topk")
        if not 0 <= k <= x.shape[axis]:
            raise RuntimeError(f"topk: k ({k}) is out of range for dimension {dim} of size "
                               f"{x.shape[axis]}")
        first_k = (slice(None),) * axis + (slice(0, k),)
        indices = x.argsort(axis, descending=largest)[first_k]
        values, indices = x.gather(axis, indices), indices
        if not self.ndim:
            values, indices = values.reshape(()), indices.reshape(())
        return return_types.topk(values, indices)

    def kthvalue(self, k: int, dim: int = -1, keepdim: bool = False) -> Any:
        """(values, indices) of the k-th smallest element (k counts from 1) along `dim`."""
        x, axis = self._along(dim, "kthvalue")
        if not 1 <= k <= x.shape[axis]:
            raise RuntimeError(f"kthvalue: k ({k}) is out of range for dimension {dim} of size "
                               f"{x.shape[axis]}")
        position = (slice(None),) * axis + (slice(k - 1, k),)
        return self._pick_along(x, axis, x.argsort(axis)[position], keepdim, return_types.kthvalue)

    @backend.on_device_of_args
    def median(self, dim: Any = None, keepdim: bool = False) -> Any:
        """median(): the lower median of all elements (for an even count, the smaller of the
        two middle ones, as PyTorch); median(dim) -> (values, indices) along `dim`. Where there
        is a NaN the median is NaN."""
        if dim is None:
            self._check_nonempty("median", dim)
            return self.reshape(-1).median(0).values
        x, axis = self._along(dim, "median")
        self._check_nonempty("median", dim)
        xp = get_array_module(x.array)
        order = x.argsort(axis).array
        count = x.shape[axis]
        nans = xp.isnan(x.array).sum(axis=axis, keepdims=True) if x.dtype.kind == "f" else 0
        # NaNs sort last: the first of them is the median where there is one
        middle = xp.where(nans > 0, count - nans, (count - 1) // 2)
        middle = xp.broadcast_to(xp.asarray(middle), order.shape[:axis] + (1,)
                                 + order.shape[axis + 1:])
        picked = Tensor._make(xp.take_along_axis(order, middle.astype(backend.int64), axis=axis))
        return self._pick_along(x, axis, picked, keepdim, return_types.median)

    @backend.on_device_of_args
    def mode(self, dim: int = -1, keepdim: bool = False) -> Any:
        """(values, indices): the most frequent value along `dim` (the smallest of them when
        several are as frequent) and the last index where it occurs, as PyTorch."""
        x, axis = self._along(dim, "mode")
        self._check_nonempty("mode", dim)
        xp = get_array_module(x.array)
        rows = xp.moveaxis(x.array, axis, -1)
        outer, n = rows.shape[:-1], rows.shape[-1]
        rows = rows.reshape(-1, n)
        ordered = xp.sort(rows, axis=1)
        # runs of equal values in each sorted row: number them, count them with one bincount
        starts = xp.concatenate([xp.ones((len(rows), 1), dtype=bool),
                                 ordered[:, 1:] != ordered[:, :-1]], axis=1)
        run = xp.cumsum(starts, axis=1) - 1 + n * xp.arange(len(rows))[:, None]
        run_length = xp.bincount(run.reshape(-1), minlength=len(rows) * n)[run]
        value = xp.take_along_axis(ordered, run_length.argmax(axis=1)[:, None], axis=1)
        last = n - 1 - xp.flip(rows == value, axis=1).argmax(axis=1)
        last = xp.moveaxis(last.reshape(outer + (1,)), -1, axis)
        return self._pick_along(x, axis, Tensor._make(last.astype(backend.int64)), keepdim,
                                return_types.mode)

    def _along(self, dim: int, op: str) -> tuple[Tensor, int]:
        """(this tensor, at least 1-D, and `dim` as a non-negative axis of it)."""
        if self.ndim == 0:
            reduce.normalize_dims(dim, 0, op)
            return self.reshape(1), 0
        (axis,) = reduce.normalize_dims(dim, self.ndim, op)
        return self, axis

    def _pick_along(self, x: Tensor, axis: int, indices: Tensor, keepdim: bool,
                    result: type) -> Any:
        """(values, indices) for one index per row along `axis` (`indices` has size 1 there):
        the values gathered from x, so the gradient flows to the picked elements."""
        values = x.gather(axis, indices)
        if not self.ndim:
            return result(values.reshape(()), indices.reshape(()))
        if not keepdim:
            values, indices = values.squeeze(axis), indices.squeeze(axis)
        return result(values, indices)

    # --- issue 16: shapes, indexing, reductions and products, written as compositions of the
    # ops above (their gradients are the gradients of the compositions) ---
    def repeat(self, *sizes: Any) -> Tensor:
        """The tensor tiled sizes[i] times along dim i (leading sizes add dims, as PyTorch)."""
        reps = _shape_arg(sizes, "repeat")
        if len(reps) < self.ndim:
            raise RuntimeError(f"repeat: number of dimensions of repeat dims ({len(reps)}) can "
                               f"not be smaller than number of dimensions of tensor ({self.ndim})")
        x = self.reshape((1,) * (len(reps) - self.ndim) + tuple(self.shape))
        # (n,) -> (1, n) -> (r, n) -> (r * n,): a new axis before each dim, expanded
        spread = x.reshape(*[d for n in x.shape for d in (1, n)])
        grown = spread.expand(*[d for r, n in zip(reps, x.shape) for d in (r, n)])
        return grown.reshape(*[r * n for r, n in zip(reps, x.shape)])

    @backend.on_device_of_args  # (makes index arrays: on this tensor's GPU)
    def repeat_interleave(self, repeats: Any, dim: int | None = None, *,
                          output_size: int | None = None) -> Tensor:
        """Each element repeated `repeats` times (an int, or one count per element along dim)
        in place: [a, b].repeat_interleave(2) = [a, a, b, b]."""
        x = self.reshape(-1) if dim is None else self
        axis = 0 if dim is None else x._along(dim, "repeat_interleave")[1]
        xp = get_array_module(x.array)
        counts = repeats.array if isinstance(repeats, Tensor) else xp.asarray(repeats)
        index = xp.repeat(xp.arange(x.shape[axis]), counts)
        return x.index_select(axis, Tensor._make(index))

    @backend.on_device_of_args  # (makes index arrays: on this tensor's GPU)
    def roll(self, shifts: Any, dims: Any = None) -> Tensor:
        """Elements shifted by `shifts` along `dims`, those past the end coming back first
        (without dims: on the flattened tensor, shape kept)."""
        if dims is None:
            return self.reshape(-1).roll(shifts, 0).reshape(self.shape)
        shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
        dims = (dims,) if isinstance(dims, int) else tuple(dims)
        if len(shifts) != len(dims):
            raise RuntimeError(f"roll: shifts and dimensions must align. shifts: "
                               f"{len(shifts)}, dims:{len(dims)}")
        out = self
        for shift, d in zip(shifts, dims):
            (axis,) = reduce.normalize_dims(d, self.ndim, "roll")
            n = self.shape[axis]
            if n:
                xp = get_array_module(self.array)
                out = out.index_select(axis, Tensor._make((xp.arange(n) - shift) % n))
        return out

    def narrow(self, dim: int, start: int, length: int) -> Tensor:
        """The view x[..., start:start + length, ...] along dim (start may be negative)."""
        (axis,) = reduce.normalize_dims(dim, self.ndim, "narrow")
        size = self.shape[axis]
        begin = start + size if start < 0 else start
        if not (0 <= begin <= size and 0 <= length and begin + length <= size):
            raise IndexError(f"narrow: start ({start}) + length ({length}) exceeds dimension "
                             f"size ({size}).")
        return self[(slice(None),) * axis + (slice(begin, begin + length),)]

    def index_select(self, dim: int, index: Tensor) -> Tensor:
        """The slices at positions `index` (1-D integers) along dim."""
        x, axis = self._along(dim, "index_select")
        if not isinstance(index, Tensor) or index.ndim > 1 or index.dtype.kind not in "iu":
            raise IndexError("index_select: index must be a 1-D integer tensor")
        return x[(slice(None),) * axis + (index.reshape(-1),)]

    def masked_select(self, mask: Tensor) -> Tensor:
        """A 1-D tensor of the elements where the (broadcast) boolean mask is True."""
        if not isinstance(mask, Tensor) or mask.dtype != backend.bool_:
            raise RuntimeError("masked_select: expected mask to be a bool tensor")
        shape = np.broadcast_shapes(tuple(self.shape), tuple(mask.shape))
        return self.expand(*shape)[mask.expand(*shape)]

    @backend.on_device_of_args  # (makes index arrays: on this tensor's GPU)
    def nonzero(self, *, as_tuple: bool = False) -> Any:
        """The indices of the non-zero elements: an (n, ndim) int64 tensor, or with as_tuple
        one 1-D tensor per dim."""
        xp = get_array_module(self.array)
        found = xp.nonzero(self.array) if self.ndim else xp.nonzero(self.array.reshape(1))
        if as_tuple:
            return tuple(Tensor._make(i.astype(backend.int64)) for i in found)
        return Tensor._make(xp.stack(found, axis=1).astype(backend.int64)
                            if self.ndim else xp.zeros((len(found[0]), 0), dtype=backend.int64))

    def take_along_dim(self, indices: Tensor, dim: int | None = None) -> Tensor:
        """x.gather(dim, indices) with the two broadcast against each other (no dim: along
        the flattened tensor)."""
        if dim is None:
            return self.reshape(-1).gather(0, indices.reshape(-1))
        (axis,) = reduce.normalize_dims(dim, self.ndim, "take_along_dim")
        shape_x, shape_i = list(self.shape), list(indices.shape)
        shape_x[axis] = shape_i[axis] = 1
        common = list(np.broadcast_shapes(tuple(shape_x), tuple(shape_i)))
        x_shape, i_shape = list(common), list(common)
        x_shape[axis], i_shape[axis] = self.shape[axis], indices.shape[axis]
        return self.expand(*x_shape).gather(axis, indices.expand(*i_shape))

    def movedim(self, source: Any, destination: Any) -> Tensor:
        """The dims `source` moved to positions `destination`, the others in their order."""
        src = reduce.normalize_dims(source, self.ndim, "movedim") if isinstance(source, int) \
            else tuple(reduce.normalize_dims(s, self.ndim, "movedim")[0] for s in source)
        dst = reduce.normalize_dims(destination, self.ndim, "movedim") if isinstance(
            destination, int) else tuple(reduce.normalize_dims(d, self.ndim, "movedim")[0]
                                         for d in destination)
        if len(src) != len(dst):
            raise RuntimeError(f"movedim: Invalid source or destination dims: source ({list(src)}"
                               f" dims) should contain the same number of dims as destination "
                               f"({list(dst)} dims)")
        order = [d for d in range(self.ndim) if d not in src]
        for d, s in sorted(zip(dst, src)):
            order.insert(d, s)
        return self.permute(*order)

    moveaxis = movedim

    def swapaxes(self, axis0: int, axis1: int) -> Tensor:
        return self.transpose(axis0, axis1)

    swapdims = swapaxes

    def stride(self, dim: int | None = None) -> Any:
        """The steps in elements between neighbours along each dim (the array's strides)."""
        steps = tuple(s // self.array.itemsize for s in self.array.strides)
        return steps if dim is None else steps[reduce.normalize_dims(dim, self.ndim, "stride")[0]]

    def tril(self, diagonal: int = 0) -> Tensor:
        """The lower triangle of the last two dims (j <= i + diagonal), zeros above."""
        return self._triangle(diagonal, lower=True)

    def triu(self, diagonal: int = 0) -> Tensor:
        """The upper triangle of the last two dims (j >= i + diagonal), zeros below."""
        return self._triangle(diagonal, lower=False)

    @backend.on_device_of_args  # (makes index arrays: on this tensor's GPU)
    def _triangle(self, diagonal: int, lower: bool) -> Tensor:
        if self.ndim < 2:
            raise RuntimeError(f"{'tril' if lower else 'triu'}: input tensor must have at "
                               f"least 2 dimensions")
        xp = get_array_module(self.array)
        rows, cols = self.shape[-2], self.shape[-1]
        keep = (xp.tri(rows, cols, diagonal, dtype=bool) if lower
                else ~xp.tri(rows, cols, diagonal - 1, dtype=bool))
        return where(Tensor._make(keep), self, Tensor._make(xp.zeros((), self.array.dtype)))

    def cumprod(self, dim: int, *, dtype: Any = None) -> Tensor:
        """y_i = x_0 * x_1 * ... * x_i along dim: a running product of Tensor ops, so the
        gradient is exact with zeros too (one op per element along dim)."""
        x = self if dtype is None else self.to(dtype)
        if x.dtype.kind in "biu" and dtype is None:
            x = x.to(backend.int64)
        x, axis = x._along(dim, "cumprod")
        if x.shape[axis] == 0:
            return x.clone()
        pieces = [x.narrow(axis, 0, 1)]
        for i in range(1, x.shape[axis]):
            pieces.append(pieces[-1] * x.narrow(axis, i, 1))
        out = cat(pieces, axis)
        return out if self.ndim else out.reshape(())

    def logcumsumexp(self, dim: int) -> Tensor:
        """y_i = log(exp(x_0) + ... + exp(x_i)) along dim, as a running
        y_i = max(y_{i-1}, x_i) + log(1 + exp(-|y_{i-1} - x_i|)) (no overflow)."""
        x, axis = self._float()._along(dim, "logcumsumexp")
        if x.shape[axis] == 0:
            return x.clone()
        pieces = [x.narrow(axis, 0, 1)]
        for i in range(1, x.shape[axis]):
            a, b = pieces[-1], x.narrow(axis, i, 1)
            high = a.maximum(b)
            low = a.minimum(b)
            pieces.append(high + (1 + (low - high).exp()).log())
        out = cat(pieces, axis)
        return out if self.ndim else out.reshape(())

    def nansum(self, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
        """The sum with NaNs counted as 0."""
        return where(self.isnan(), 0.0, self).sum(dim, keepdim=keepdim, dtype=dtype)

    def nanmean(self, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
        """The mean of the elements that are not NaN."""
        if not self.is_floating_point():
            raise RuntimeError(f"nanmean(): expected input to have floating point dtype but got "
                               f"{self.dtype}")
        count = (~self.isnan()).sum(dim, keepdim=keepdim)
        return self.nansum(dim, keepdim=keepdim, dtype=dtype) / count

    def count_nonzero(self, dim: Any = None) -> Tensor:
        return (self != 0).sum(dim)

    def aminmax(self, *, dim: int | None = None, keepdim: bool = False) -> Any:
        """(min, max), named as torch.return_types.aminmax."""
        return return_types.aminmax(self.amin(dim, keepdim), self.amax(dim, keepdim))

    def bmm(self, mat2: Tensor) -> Tensor:
        """Batched matrix product of (b, n, m) and (b, m, p) tensors."""
        for name, t in (("batch1", self), ("batch2", mat2)):
            if not isinstance(t, Tensor) or t.ndim != 3:
                raise RuntimeError(f"bmm: {name} must be a 3D tensor")
        if self.shape[0] != mat2.shape[0]:
            raise RuntimeError(f"bmm: batch1 and batch2 must have the same batch size, got "
                               f"{self.shape[0]} and {mat2.shape[0]}")
        return self @ mat2

    def mv(self, vec: Tensor) -> Tensor:
        """Matrix (n, m) times vector (m,)."""
        if self.ndim != 2 or not isinstance(vec, Tensor) or vec.ndim != 1:
            raise RuntimeError("mv: expected a matrix and a vector")
        return self @ vec

    def dot(self, other: Tensor) -> Tensor:
        """sum_i x_i y_i of two 1-D tensors of the same size and dtype."""
        if self.ndim != 1 or not isinstance(other, Tensor) or other.ndim != 1:
            raise RuntimeError(f"1D tensors expected, but got {self.ndim}D and "
                               f"{getattr(other, 'ndim', '?')}D tensors")
        if self.shape[0] != other.shape[0]:
            raise RuntimeError(f"inconsistent tensor size, expected tensor [{self.shape[0]}] and"
                               f" src [{other.shape[0]}] to have the same number of elements, "
                               f"but got {self.shape[0]} and {other.shape[0]} elements "
                               f"respectively")
        return self @ other

    vdot = dot  # (real tensors only here: conj() is the identity)

    def outer(self, vec2: Tensor) -> Tensor:
        """x_i y_j: the (n, m) table of products of two 1-D tensors."""
        if self.ndim != 1 or vec2.ndim != 1:
            raise RuntimeError("outer: expected two 1-D tensors")
        return self.reshape(-1, 1) * vec2.reshape(1, -1)

    ger = outer

    def addmm(self, mat1: Tensor, mat2: Tensor, *, beta: float = 1, alpha: float = 1) -> Tensor:
        """beta * self + alpha * (mat1 @ mat2)."""
        return _scaled_sum(self, beta, mat1.mm(mat2), alpha)

    def baddbmm(self, batch1: Tensor, batch2: Tensor, *, beta: float = 1,
                alpha: float = 1) -> Tensor:
        """beta * self + alpha * (batch1 @ batch2), batched."""
        return _scaled_sum(self, beta, batch1.bmm(batch2), alpha)

    def kron(self, other: Tensor) -> Tensor:
        """The Kronecker product: blocks self[i] * other, dims padded to the same count."""
        n = max(self.ndim, other.ndim)
        a = self.reshape((1,) * (n - self.ndim) + tuple(self.shape))
        b = other.reshape((1,) * (n - other.ndim) + tuple(other.shape))
        spread_a = a.reshape(*[d for s in a.shape for d in (s, 1)])
        spread_b = b.reshape(*[d for s in b.shape for d in (1, s)])
        return (spread_a * spread_b).reshape(*[p * q for p, q in zip(a.shape, b.shape)])

    def cross(self, other: Tensor, dim: int | None = None) -> Tensor:
        """The cross product of 3-vectors along dim (the first dim of size 3 if None, as
        torch.cross does now)."""
        shape = np.broadcast_shapes(tuple(self.shape), tuple(other.shape))
        a, b = self.expand(*shape), other.expand(*shape)
        if dim is None:
            dim = next((i for i, n in enumerate(shape) if n == 3), None)
            if dim is None:
                raise RuntimeError("no dimension of size 3 in input")
        (axis,) = reduce.normalize_dims(dim, len(shape), "cross")
        if shape[axis] != 3:
            raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got "
                               f"{shape[axis]} and {shape[axis]}")
        c = [a.narrow(axis, i, 1) for i in range(3)]
        d = [b.narrow(axis, i, 1) for i in range(3)]
        return cat([c[1] * d[2] - c[2] * d[1], c[2] * d[0] - c[0] * d[2],
                    c[0] * d[1] - c[1] * d[0]], axis)

    # --- issue 16: scatter and index writes. Each is a composition of SetItem (writes: the
    # gradient is zero where an element was overwritten, and the written values get theirs
    # back by gather) and IndexAdd (adds: both sides get the gradient) ---
    @backend.on_device_of_args
    def _scatter_where(self, dim: int, index: Tensor, src: Any, op: str) -> tuple:
        """Check scatter's arguments; the full index (one array per dim) of the elements it
        writes: index[i][j][k] names self[index[i][j][k]][j][k] for dim 0, and so on."""
        if not isinstance(index, Tensor):
            raise TypeError(f"{op}(): argument 'index' must be Tensor, not {_type_name(index)}")
        if index.dtype.kind not in "iu":
            raise RuntimeError(f"{op}(): Expected dtype int64 for index")
        autograd._check_same_device(op, [self, index] + ([src] if isinstance(src, Tensor)
                                                          else []))
        x = self.reshape(1) if self.ndim == 0 else self
        idx = index.reshape(1) if index.ndim == 0 else index
        (axis,) = reduce.normalize_dims(dim, x.ndim, op)
        if idx.ndim != x.ndim:
            raise RuntimeError("Index tensor must have the same number of dimensions as self "
                               "tensor")
        if isinstance(src, Tensor):
            if src.dtype != self.dtype:
                raise RuntimeError(f"{op}(): Expected self.dtype to be equal to src.dtype")
            s = src.reshape(1) if src.ndim == 0 else src
            if s.ndim != x.ndim:
                raise RuntimeError("Index tensor must have the same number of dimensions as "
                                   "src tensor")
        too_big = any(n > m for d, (n, m) in enumerate(zip(idx.shape, x.shape)) if d != axis)
        if isinstance(src, Tensor):
            too_big = too_big or any(n > m for n, m in zip(idx.shape, s.shape))
        if too_big:
            raise RuntimeError(f"Expected index {list(idx.shape)} to be no larger than self "
                               f"{list(x.shape)} apart from dimension {axis}" + (
                                   f" and to be no larger size than src {list(s.shape)}"
                                   if isinstance(src, Tensor) else ""))
        _check_index_bounds(idx, x.shape[axis], axis)
        xp = get_array_module(idx.array)
        grids = [xp.arange(n).reshape((1,) * k + (n,) + (1,) * (idx.ndim - k - 1))
                 for k, n in enumerate(idx.shape)]
        grids[axis] = idx.array.astype(backend.int64)
        return tuple(grids)

    def _scatter_src(self, src: Any, index: Tensor, op: str) -> Tensor:
        """The values scatter writes: src cut to index's shape, or a number as a 0-d tensor."""
        if isinstance(src, Tensor):
            if src.ndim == 0:
                return src.reshape(1) if index.ndim else src
            return src[tuple(slice(0, n) for n in index.shape)]
        if not isinstance(src, _SCALARS):
            raise TypeError(f"{op}(): argument 'src' must be Tensor or a number, not "
                            f"{_type_name(src)}")
        return Tensor(np.asarray(src).astype(self.dtype), device=self.device)

    def scatter(self, dim: int, index: Tensor, src: Any = None, *, value: Any = None,
                reduce: str | None = None) -> Tensor:
        """A copy of self with the values of `src` (a tensor, or one number `value`) written
        at the places `index` names along `dim`: out[index[i][j]][j] = src[i][j] for dim 0,
        out[i][index[i][j]] = src[i][j] for dim 1. Gradient: zero at the overwritten places
        for self; g.gather(dim, index) for src. Where index repeats a place, one of the values
        lands there (which one is not defined, as in PyTorch)."""
        if src is None:
            if value is None:
                raise TypeError("scatter() missing the argument 'src' (or 'value')")
            src = value
        if reduce is not None:
            return self.clone().scatter_(dim, index, src, reduce=reduce)
        where_ = self._scatter_where(dim, index, src, "scatter")
        values = self._scatter_src(src, index, "scatter")
        out = shape_ops.SetItem.apply((self.reshape(1) if self.ndim == 0 else self).clone(),
                                      values, index=where_)
        return out.reshape(()) if self.ndim == 0 else out

    def scatter_(self, dim: int, index: Tensor, src: Any = None, *, value: Any = None,
                 reduce: str | None = None) -> Tensor:
        """scatter, in place; reduce="add" adds src at the places, "multiply" multiplies by it."""
        if src is None:
            src = value
        if reduce not in (None, "add", "multiply"):
            raise RuntimeError("reduce argument must be either add or multiply.")
        if reduce is not None and not isinstance(src, Tensor):
            src = full(tuple(index.shape), src, dtype=self.dtype, device=self.device)
        if reduce == "add":
            return self._update_("scatter_", lambda old: old.scatter_add(dim, index, src),
                                 reads_old=False)
        if reduce == "multiply":
            return self._update_("scatter_", lambda old: old.scatter_reduce(
                dim, index, src, "prod"))
        return self._update_("scatter_", lambda old: old.scatter(dim, index, src),
                             reads_old=False)

    def scatter_add(self, dim: int, index: Tensor, src: Tensor) -> Tensor:
        """self + src added at the places `index` names along `dim` (repeated places add up):
        out[index[i][j]][j] += src[i][j] for dim 0. Gradient: g for self, g.gather(dim, index)
        for src."""
        if not isinstance(src, Tensor):
            raise TypeError(f"scatter_add(): argument 'src' (position 3) must be Tensor, not "
                            f"{_type_name(src)}")
        where_ = self._scatter_where(dim, index, src, "scatter_add")
        x = self.reshape(1) if self.ndim == 0 else self
        out = x + shape_ops.IndexAdd.apply(self._scatter_src(src, index, "scatter_add"),
                                           shape=x.shape, index=where_)
        return out.reshape(()) if self.ndim == 0 else out

    def scatter_add_(self, dim: int, index: Tensor, src: Tensor) -> Tensor:
        """scatter_add, in place."""
        return self._update_("scatter_add_", lambda old: old.scatter_add(dim, index, src),
                             reads_old=False)

    @backend.on_device_of_args
    def scatter_reduce(self, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                       include_self: bool = True) -> Tensor:
        """self with the values of src that `index` sends to each place along `dim` reduced
        into it by "sum", "prod", "mean", "amax" or "amin" (with include_self=False the old
        value of a place that receives something is left out). Gradients: sum as scatter_add;
        mean the same divided by the count; prod the product rule (a product of Tensor ops);
        amax/amin g shared equally among the elements equal to the result, as PyTorch."""
        if reduce not in ("sum", "prod", "mean", "amax", "amin"):
            raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, "
                               f"got {reduce}")
        if not isinstance(src, Tensor):
            raise TypeError(f"scatter_reduce(): argument 'src' (position 3) must be Tensor, "
                            f"not {_type_name(src)}")
        if self.ndim == 0:
            return self.reshape(1).scatter_reduce(dim, index.reshape(1), src.reshape(1), reduce,
                                                  include_self=include_self).reshape(())
        where_ = self._scatter_where(dim, index, src, "scatter_reduce")
        values = self._scatter_src(src, index, "scatter_reduce")
        xp = get_array_module(self.array)
        count = xp.zeros(self.shape, dtype=backend.int64)
        backend.scatter_add(count, where_, xp.ones(values.shape, dtype=backend.int64))
        touched = Tensor._make(count > 0)
        if reduce in ("sum", "mean"):
            base = self if include_self else self.masked_fill(touched, 0)
            total = base + shape_ops.IndexAdd.apply(values, shape=self.shape, index=where_)
            if reduce == "sum":
                return total
            n = Tensor._make((count + int(include_self)).clip(1, None))
            mean = total / n if self.is_floating_point() else total.div(
                n, rounding_mode="floor").to(self.dtype)
            return where(touched, mean, self)
        identity = {"prod": 1, "amax": -math.inf, "amin": math.inf}[reduce]
        if not self.is_floating_point() and reduce != "prod":
            info = np.iinfo(self.dtype) if self.dtype.kind in "iu" else None
            identity = (info.min if reduce == "amax" else info.max) if info else identity
        base = self if include_self else self.masked_fill(touched, identity)
        # the elements that go to one place, taken one per round (no place twice in a round)
        flat = [xp.broadcast_to(g, values.shape).reshape(-1) for g in where_]
        place = xp.zeros(flat[0].shape, dtype=backend.int64)
        for g, n in zip(flat, self.shape):
            place = place * n + g
        order = xp.argsort(place, kind="stable")
        ordered = place[order]
        rank = xp.empty_like(order)
        rank[order] = xp.arange(len(order)) - xp.searchsorted(ordered, ordered, side="left")
        rounds = int(rank.max()) + 1 if len(rank) else 0
        flat_values = values.reshape(-1)
        if reduce == "prod":
            out = base
            for r in range(rounds):
                chosen = xp.nonzero(rank == r)[0]
                at = tuple(g[chosen] for g in flat)
                out = shape_ops.SetItem.apply(out.clone(), out[at] * flat_values[
                    Tensor._make(chosen)], index=at)
            return out
        pick = xp.maximum if reduce == "amax" else xp.minimum
        result = base.array.copy()
        for r in range(rounds):
            chosen = xp.nonzero(rank == r)[0]
            at = tuple(g[chosen] for g in flat)
            result[at] = pick(result[at], flat_values.array[chosen])
        result = Tensor._make(result)
        if not (autograd.is_grad_enabled() and (self._requires_grad or src._requires_grad)):
            return result
        # the gradient, shared equally among the elements equal to the result
        from_self = (self == result) & ~touched if not include_self else self == result
        from_src = values == result[where_]
        ties = from_self.to(self.dtype) + shape_ops.IndexAdd.apply(
            from_src.to(self.dtype), shape=self.shape, index=where_)
        shared = (where(from_self, self, 0) + shape_ops.IndexAdd.apply(
            where(from_src, values, 0), shape=self.shape, index=where_)) / ties
        return shared + (result - shared).detach()  # (the values exactly the result's)

    def scatter_reduce_(self, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                        include_self: bool = True) -> Tensor:
        """scatter_reduce, in place."""
        return self._update_("scatter_reduce_", lambda old: old.scatter_reduce(
            dim, index, src, reduce, include_self=include_self))

    @backend.on_device_of_args
    def _index_along(self, dim: int, index: Tensor, op: str) -> tuple[Tensor, int, tuple]:
        """(self at least 1-D, dim as an axis, the index `(:, ..., :, index)` along it), for
        index_add / index_fill: index is a 1-D (or 0-d) integer tensor within the dim."""
        x, axis = self._along(dim, op)
        if not isinstance(index, Tensor) or index.dtype.kind not in "iu":
            raise IndexError(f"{op}(): Expected dtype int64 for index")
        if index.ndim > 1:
            raise RuntimeError("Index has to be a vector/scalar")
        autograd._check_same_device(op, (self, index))
        _check_index_bounds(index, x.shape[axis], axis, error=IndexError
                            if op == "index_fill" else RuntimeError)
        return x, axis, (slice(None),) * axis + (index.array.reshape(-1).astype(backend.int64),)

    @backend.on_device_of_args
    def index_add(self, dim: int, index: Tensor, source: Tensor, *, alpha: Any = 1) -> Tensor:
        """self + alpha * source added at the positions `index` along `dim` (the slice
        source[..., i, ...] goes to self[..., index[i], ...]; repeated positions add up).
        Gradient: g for self, alpha * g.index_select(dim, index) for source."""
        x, axis, at = self._index_along(dim, index, "index_add")
        if not isinstance(source, Tensor):
            raise TypeError(f"index_add(): argument 'source' must be Tensor, not "
                            f"{_type_name(source)}")
        source = source.reshape(1) if source.ndim == 0 else source
        if source.ndim != x.ndim or any(n != m for d, (n, m) in enumerate(
                zip(source.shape, x.shape)) if d != axis):
            raise RuntimeError(f"source tensor shape must match self tensor shape, excluding "
                               f"the specified dimension. Got self.shape = {list(x.shape)} "
                               f"source.shape = {list(source.shape)}")
        if source.shape[axis] != index.numel():
            raise RuntimeError(f"index_add_(): Number of indices ({index.numel()}) should be "
                               f"equal to source.size(dim): ({source.shape[axis]}), for dim: "
                               f"{dim}")
        if source.dtype != self.dtype:
            raise RuntimeError(f"index_add_(): self ({self.dtype}) and source "
                               f"({source.dtype}) must have the same scalar type")
        scaled = source if alpha == 1 else source * alpha
        out = x + shape_ops.IndexAdd.apply(scaled.to(self.dtype), shape=x.shape, index=at)
        return out.reshape(()) if self.ndim == 0 else out

    def index_add_(self, dim: int, index: Tensor, source: Tensor, *, alpha: Any = 1) -> Tensor:
        """index_add, in place."""
        return self._update_("index_add_", lambda old: old.index_add(dim, index, source,
                                                                     alpha=alpha),
                             reads_old=False)

    @backend.on_device_of_args
    def index_fill(self, dim: int, index: Tensor, value: Any) -> Tensor:
        """A copy of self with the slices at positions `index` along `dim` set to `value` (a
        number or a 0-d tensor). Gradient: zero at the filled slices for self; for a tensor
        value, the sum of g over them."""
        x, _, at = self._index_along(dim, index, "index_fill")
        at = at[:-1] + (get_array_module(at[-1]).unique(at[-1]),)  # (each slice once)
        if isinstance(value, Tensor):
            if value.ndim:
                raise RuntimeError(f"index_fill_ only supports a 0-dimensional value tensor, "
                                   f"but got tensor with {value.ndim} dimension(s).")
            value = value.to(device=self.device, dtype=self.dtype)
        else:
            value = Tensor(np.asarray(value).astype(self.dtype), device=self.device)
        out = shape_ops.SetItem.apply(x.clone(), value, index=at)
        return out.reshape(()) if self.ndim == 0 else out

    def index_fill_(self, dim: int, index: Tensor, value: Any) -> Tensor:
        """index_fill, in place."""
        return self._update_("index_fill_", lambda old: old.index_fill(dim, index, value),
                             reads_old=False)

    @backend.on_device_of_args  # (makes an index array: on this tensor's GPU)
    def unfold(self, dimension: int, size: int, step: int) -> Tensor:
        """Every window of `size` elements along `dimension`, `step` apart, as a new last
        dim: for x of shape (..., n, ...) the result has shape (..., (n - size) // step + 1,
        ..., size) and out[..., w, ..., j] = x[..., w * step + j, ...]. An index_select of
        the windows' positions, so the gradient adds each window back where it came from."""
        x, axis = self._along(dimension, "unfold")
        n = x.shape[axis]
        if size < 0:
            raise RuntimeError(f"size is {size} but must be >= 0")
        if size > n:
            raise RuntimeError(f"maximum size for tensor at dimension {axis} is {n} but size "
                               f"is {size}")
        if step <= 0:
            raise RuntimeError(f"step is {step} but must be > 0")
        xp = get_array_module(x.array)
        count = (n - size) // step + 1
        positions = xp.arange(count)[:, None] * step + xp.arange(size)[None, :]
        windows = x.index_select(axis, Tensor._make(positions.reshape(-1)))
        windows = windows.reshape(*x.shape[:axis], count, size, *x.shape[axis + 1:])
        windows = windows.movedim(axis + 1, -1)
        return windows.reshape(-1) if self.ndim == 0 else windows

    @backend.on_device_of_args  # (draws on this tensor's GPU)
    def multinomial(self, num_samples: int, replacement: bool = False, *,
                    generator: Generator | None = None) -> Tensor:
        """`num_samples` category indices per row, drawn with probabilities proportional to
        the row's weights (1-D: one row; 2-D: each row on its own; the weights need not sum
        to 1). With replacement: inverse-CDF sampling, one uniform number per draw. Without:
        every index at most once per row, as the `num_samples` smallest of E_i / w_i (E_i
        standard exponential): the order in which independent exponential clocks of rates w_i
        ring, which is sequential sampling without replacement. int64, not differentiable."""
        if self.ndim not in (1, 2):
            raise RuntimeError("prob_dist must be 1 or 2 dim")
        if not self.is_floating_point():
            raise RuntimeError(f"multinomial only supports floating-point dtypes for input, "
                               f"got: {_C_NAMES.get(self.dtype.name, self.dtype.name).title()}")
        n = self.shape[-1]
        if num_samples <= 0:
            raise RuntimeError("cannot sample n_sample <= 0 samples")
        if not replacement and num_samples > n:
            raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                               "replacement")
        xp = get_array_module(self.array)
        w = self.array.reshape(-1, n).astype(backend.float64)
        if not bool(xp.isfinite(w).all()) or bool((w < 0).any()):
            raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
        total = w.sum(axis=1, keepdims=True)
        if bool((total <= 0).any()):
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        rng = backend.pick_generator(self.device, generator, "multinomial")
        rows = w.shape[0]
        if replacement:
            cdf = xp.cumsum(w / total, axis=1)
            cdf[:, -1] = 1.0
            # one searchsorted for all rows: row r's CDF and draws are shifted by r
            shift = xp.arange(rows, dtype=backend.float64)[:, None]
            draws = rng.random((rows, num_samples)) + shift
            picked = xp.searchsorted((cdf + shift).reshape(-1), draws.reshape(-1), side="right")
            picked = picked.reshape(rows, num_samples) - n * xp.arange(rows)[:, None]
            picked = xp.clip(picked, 0, n - 1)  # (rounding at the edge of a row)
            # a zero weight is never picked (only a rounding edge could): use the largest
            never = xp.take_along_axis(w, picked, axis=1) == 0
            picked = xp.where(never, xp.argmax(w, axis=1)[:, None], picked)
        else:
            clocks = rng.standard_exponential((rows, n))
            ring = xp.where(w > 0, clocks / xp.where(w > 0, w, 1.0), xp.inf)
            picked = xp.argsort(ring, axis=1, kind="stable")[:, :num_samples]
        out = picked.astype(backend.int64)
        return Tensor._make(out.reshape(num_samples) if self.ndim == 1 else out)

    def quantile(self, q: Any, dim: int | None = None, keepdim: bool = False, *,
                 interpolation: str = "linear") -> Tensor:
        """The q-th quantiles (q a float or a 1-D tensor, in [0, 1]) along `dim` (None: of all
        elements). With the n values sorted, v_0 <= ... <= v_{n-1}, the rank is r = q (n - 1)
        and the quantile v_r is read between v_floor(r) and v_ceil(r): "linear" v_lo + (r -
        floor r)(v_hi - v_lo), "lower" v_lo, "higher" v_hi, "midpoint" (v_lo + v_hi) / 2,
        "nearest" v at r rounded half to even. A q tensor puts its dim first. A row with a
        NaN gives NaN. Differentiable through the sort (the gradient goes to v_lo and v_hi)."""
        return self._quantile(q, dim, keepdim, interpolation, "quantile")

    def nanquantile(self, q: Any, dim: int | None = None, keepdim: bool = False, *,
                    interpolation: str = "linear") -> Tensor:
        """quantile, ignoring NaNs (n counts the others; a row of NaNs only gives NaN)."""
        return self._quantile(q, dim, keepdim, interpolation, "nanquantile")

    @backend.on_device_of_args  # (makes index arrays: on this tensor's GPU)
    def _quantile(self, q: Any, dim: int | None, keepdim: bool, interpolation: str,
                  op: str) -> Tensor:
        if interpolation not in ("linear", "lower", "higher", "midpoint", "nearest"):
            raise RuntimeError(f"{op}() interpolation must be one of linear, lower, higher, "
                               f"midpoint or nearest, but got {interpolation}")
        if self.dtype not in (backend.float32, backend.float64):
            raise RuntimeError(f"{op}() input tensor must be either float or double dtype")
        if self.numel() == 0:
            raise RuntimeError(f"{op}() input tensor must be non-empty")
        xp = get_array_module(self.array)
        if isinstance(q, Tensor):
            if q.ndim > 1:
                raise RuntimeError(f"{op}() q must be a scalar or 1D tensor")
            if q.dtype != self.dtype:
                raise RuntimeError(f"{op}() q tensor must be same dtype as the input tensor")
            autograd._check_same_device(op, (self, q))
            qs = q.array.reshape(-1)
        else:
            if not 0 <= float(q) <= 1:
                raise RuntimeError(f"{op}() q must be in the range [0, 1] but got {float(q)}")
            qs = xp.asarray([float(q)], dtype=self.dtype)
        if qs.size and not bool(((qs >= 0) & (qs <= 1)).all()):
            bad = float(qs[~((qs >= 0) & (qs <= 1))][0])
            raise RuntimeError(f"{op}() q must be in the range [0, 1] but got {bad}")
        x, axis = (self.reshape(-1), 0) if dim is None else self._along(dim, op)
        values = x.sort(axis).values.movedim(axis, -1)  # NaNs sort last
        n = values.shape[-1]
        nans = xp.isnan(values.array).sum(axis=-1, keepdims=True)
        count = n - nans if op == "nanquantile" else xp.full_like(nans, n)
        rank = qs.astype(self.dtype) * (count - 1).clip(0, None).astype(self.dtype)  # (..., Q)
        low, high = xp.floor(rank), xp.ceil(rank)
        pick = {"lower": low, "higher": high, "nearest": xp.round(rank)}.get(interpolation)
        if pick is not None:
            out = values.gather(-1, Tensor._make(pick.astype(backend.int64)))
        else:
            v_low = values.gather(-1, Tensor._make(low.astype(backend.int64)))
            v_high = values.gather(-1, Tensor._make(high.astype(backend.int64)))
            weight = Tensor._make(rank - low) if interpolation == "linear" else 0.5
            out = v_low + (v_high - v_low) * weight
        empty = (nans > 0) if op == "quantile" else (count == 0)
        out = where(Tensor._make(xp.broadcast_to(empty, out.shape)), math.nan, out)
        out = out.movedim(-1, 0)  # (Q, ...)
        if keepdim:
            kept = (1,) * self.ndim if dim is None else tuple(
                1 if d == axis else s for d, s in enumerate(x.shape))
            out = out.reshape(out.shape[0], *kept)
        if not isinstance(q, Tensor) or q.ndim == 0:
            out = out.squeeze(0)
        return out

    @backend.on_device_of_args
    def unique(self, sorted: bool = True, return_inverse: bool = False,  # noqa: A002
               return_counts: bool = False, dim: int | None = None) -> Any:
        """The distinct elements in ascending order (always sorted here), or with `dim` the
        distinct slices along dim (in lexicographic order); with return_inverse also where
        each element (slice) went, with return_counts how often each occurs. Not
        differentiable, as PyTorch."""
        return self._distinct(False, return_inverse, return_counts, dim, "unique")

    @backend.on_device_of_args
    def unique_consecutive(self, return_inverse: bool = False, return_counts: bool = False,
                           dim: int | None = None) -> Any:
        """Each run of equal consecutive elements (slices along `dim`) kept once, in order;
        with return_inverse also the run each element belongs to, with return_counts the
        length of each run. Not differentiable, as PyTorch."""
        return self._distinct(True, return_inverse, return_counts, dim, "unique_consecutive")

    def _distinct(self, consecutive: bool, return_inverse: bool, return_counts: bool,
                  dim: int | None, op: str) -> Any:
        xp = get_array_module(self.array)
        if dim is None:
            rows, axis = self.array.reshape(-1, 1), None
        else:
            _, axis = self._along(dim, op)
            a = self.array.reshape(1) if self.ndim == 0 else self.array
            rows = xp.moveaxis(a, axis, 0).reshape(a.shape[axis], -1)
        n = rows.shape[0]
        if consecutive or n == 0 or rows.shape[1] == 0:
            order = xp.arange(n)
        else:  # lexicographic order of the rows (lexsort's last key is the primary one)
            order = xp.lexsort(rows.T[::-1]) if rows.shape[1] > 1 else xp.argsort(
                rows[:, 0], kind="stable")
        ordered = rows[order]
        starts = xp.ones(n, dtype=bool)
        if n > 1:
            starts[1:] = (ordered[1:] != ordered[:-1]).any(axis=1)
        group = xp.cumsum(starts) - 1
        firsts = xp.nonzero(starts)[0]
        picked = ordered[firsts]
        if axis is None:
            values = picked.reshape(-1)
        else:
            a = self.array.reshape(1) if self.ndim == 0 else self.array
            moved = xp.moveaxis(a, axis, 0).shape
            values = xp.moveaxis(picked.reshape((len(firsts),) + moved[1:]), 0, axis)
        results = [_no_grad_result(xp.ascontiguousarray(values))]
        if return_inverse:
            inverse = xp.empty(n, dtype=backend.int64)
            inverse[order] = group
            results.append(_no_grad_result(inverse.reshape(self.shape) if axis is None
                                           else inverse))
        if return_counts:
            ends = xp.concatenate([firsts[1:], xp.asarray([n])]) if n else firsts
            results.append(_no_grad_result((ends - firsts).astype(backend.int64)))
        return results[0] if len(results) == 1 else tuple(results)

    # functions that are also methods
    def where(self, condition: Any, other: Any) -> Tensor:
        return where(condition, self, other)


class ValuesIndices(tuple):
    """(values, indices), as returned by max(dim) / min(dim): unpack it (`v, i = x.max(1)`),
    index it (`x.max(1)[0]`) or read `.values` / `.indices` (PyTorch's torch.return_types)."""

    def __new__(cls, values: Tensor, indices: Tensor) -> ValuesIndices:
        return super().__new__(cls, (values, indices))

    @property
    def values(self) -> Tensor:
        return self[0]

    @property
    def indices(self) -> Tensor:
        return self[1]

    def __repr__(self) -> str:
        return (f"tg.return_types.{type(self).__name__}(\nvalues={self.values!r},\n"
                f"indices={self.indices!r})")


def _named_result(name: str, fields: tuple[str, ...]) -> type:
    """A tuple class whose items are also read by name, as PyTorch's torch.return_types
    (`Q, R = tg.linalg.qr(A)` or `tg.linalg.qr(A).Q`)."""
    def new(cls: type, *items: Any) -> Any:
        return tuple.__new__(cls, items)

    def show(self: tuple) -> str:
        listed = ",\n".join(f"{f}={v!r}" for f, v in zip(fields, self))
        return f"tg.return_types.{name}(\n{listed})"
    body = {f: property(lambda self, i=i: self[i]) for i, f in enumerate(fields)}
    body.update(__new__=new, __repr__=show, __slots__=(), _fields=fields)
    return type(name, (tuple,), body)


class return_types:  # noqa: N801 - tg.return_types.max, as torch.return_types.max
    """The named tuples that functions returning (values, indices) give."""

    class max(ValuesIndices):  # noqa: N801
        pass

    class min(ValuesIndices):  # noqa: N801
        pass

    class sort(ValuesIndices):  # noqa: N801
        pass

    class topk(ValuesIndices):  # noqa: N801
        pass

    class kthvalue(ValuesIndices):  # noqa: N801
        pass

    class median(ValuesIndices):  # noqa: N801
        pass

    class mode(ValuesIndices):  # noqa: N801
        pass

    class aminmax(tuple):  # noqa: N801
        """(min, max), also as `.min` and `.max`."""

        def __new__(cls, min: Tensor, max: Tensor) -> Any:  # noqa: A002
            return super().__new__(cls, (min, max))

        @property
        def min(self) -> Tensor:
            return self[0]

        @property
        def max(self) -> Tensor:
            return self[1]

    # tg.linalg's results (issue 16)
    linalg_qr = _named_result("linalg_qr", ("Q", "R"))
    linalg_svd = _named_result("linalg_svd", ("U", "S", "Vh"))
    linalg_eigh = _named_result("linalg_eigh", ("eigenvalues", "eigenvectors"))
    linalg_slogdet = _named_result("linalg_slogdet", ("sign", "logabsdet"))
    slogdet = _named_result("slogdet", ("sign", "logabsdet"))


# ---------------------------------------------------------------------------------------------
# printing, as PyTorch's torch/_tensor_str.py does it (on the values copied to a NumPy array)
# ---------------------------------------------------------------------------------------------
class Size(tuple):
    """A tensor's shape, as `torch.Size`: a tuple of ints that prints as `tg.Size([2, 3])`.
    It equals the plain tuple; slicing it or adding a tuple to it gives a Size again."""

    def __repr__(self) -> str:
        return f"tg.Size({list(self)})"

    __str__ = __repr__

    def numel(self) -> int:
        """The number of elements of a tensor of this shape."""
        return math.prod(self)

    def __getitem__(self, index: Any) -> Any:
        item = tuple.__getitem__(self, index)
        return Size(item) if isinstance(index, slice) else item

    def __add__(self, other: Any) -> Any:
        result = tuple.__add__(self, other)
        return result if result is NotImplemented else Size(result)

    def __radd__(self, other: Any) -> Any:
        if not isinstance(other, tuple):
            return NotImplemented
        return Size(tuple(other) + tuple(self))

    def __mul__(self, times: Any) -> Any:
        result = tuple.__mul__(self, times)
        return result if result is NotImplemented else Size(result)

    __rmul__ = __mul__


@dataclasses.dataclass
class _PrintOptions:
    precision: int = 4  # digits after the point
    threshold: float = 1000  # more elements than this: only the edges are shown, with ...
    edgeitems: int = 3  # how many at each edge of each dim, then
    linewidth: int = 80  # characters per line
    sci_mode: bool | None = None  # None: scientific notation when the values need it


PRINT_OPTS = _PrintOptions()


def set_printoptions(precision: int | None = None, threshold: float | None = None,
                     edgeitems: int | None = None, linewidth: int | None = None,
                     profile: str | None = None, sci_mode: bool | None = None) -> None:
    """Change how tensors print, as `torch.set_printoptions`: `precision` digits after the
    point (4), summarise tensors of more than `threshold` elements (1000) to `edgeitems` at
    each edge (3), `linewidth` characters per line (80), `sci_mode` True / False to force or
    forbid scientific notation (None: PyTorch's choice; every call resets it unless given).
    `profile` "default", "short" or "full" sets the first four at once."""
    profiles = {"default": (4, 1000, 3, 80), "short": (2, 1000, 2, 80),
                "full": (4, math.inf, 3, 80)}
    if profile is not None:
        if profile not in profiles:
            raise ValueError(f"set_printoptions: profile must be one of {sorted(profiles)}, "
                             f"got {profile!r}")
        (PRINT_OPTS.precision, PRINT_OPTS.threshold, PRINT_OPTS.edgeitems,
         PRINT_OPTS.linewidth) = profiles[profile]
    if precision is not None:
        PRINT_OPTS.precision = precision
    if threshold is not None:
        PRINT_OPTS.threshold = threshold
    if edgeitems is not None:
        PRINT_OPTS.edgeitems = edgeitems
    if linewidth is not None:
        PRINT_OPTS.linewidth = linewidth
    PRINT_OPTS.sci_mode = sci_mode


class _Formatter:
    """One width and one notation for all the numbers of a tensor, chosen as PyTorch does.
    Floats: scientific notation (1.0000e-05) when the largest |x| is over 1000 times the
    smallest, over 1e8, or the smallest is below 1e-4 (zeros, inf and nan not counted);
    otherwise `precision` digits, or just "3." when every value is a whole number."""

    def __init__(self, values: np.ndarray) -> None:
        self.floating = values.dtype.kind == "f"
        self.int_mode = True  # floats that are all whole numbers
        self.sci_mode = False
        self.max_width = 1
        flat = values.reshape(-1)
        if not self.floating:
            self.max_width = max([1] + [len(str(v)) for v in flat.tolist()])
            return
        finite = flat[np.isfinite(flat) & (flat != 0)]
        if finite.size == 0:
            return
        magnitudes = np.abs(finite).astype(np.float64)
        smallest, largest = magnitudes.min(), magnitudes.max()
        self.int_mode = bool((finite == np.ceil(finite)).all())
        if PRINT_OPTS.sci_mode is None:
            self.sci_mode = bool(largest / smallest > 1000.0 or largest > 1.0e8
                                 or smallest < 1.0e-4)
        else:
            self.sci_mode = PRINT_OPTS.sci_mode
        precision = PRINT_OPTS.precision
        for value in finite.tolist():
            if self.sci_mode:
                text = f"{value:.{precision}e}"
            elif self.int_mode:
                text = f"{value:.0f}."
            else:
                text = f"{value:.{precision}f}"
            self.max_width = max(self.max_width, len(text))

    def format(self, value: Any) -> str:
        """One number, right-aligned to the common width."""
        if not self.floating:
            text = str(value)
        elif self.sci_mode:
            text = f"{value:{self.max_width}.{PRINT_OPTS.precision}e}"
        elif self.int_mode:
            text = f"{value:.0f}" + ("" if math.isinf(value) or math.isnan(value) else ".")
        else:
            text = f"{value:.{PRINT_OPTS.precision}f}"
        return " " * (self.max_width - len(text)) + text


def _summarized(values: np.ndarray) -> np.ndarray:
    """The values that a summarised tensor shows (edgeitems at each edge of each dim)."""
    edge = PRINT_OPTS.edgeitems
    if values.ndim == 0:
        return values
    if values.ndim == 1:
        if len(values) > 2 * edge:
            return np.concatenate((values[:edge], values[-edge:]))
        return values
    if not edge:
        return values[(slice(0, 0),) * values.ndim]
    rows = list(values[:edge]) + list(values[-edge:]) if len(values) > 2 * edge else list(values)
    return np.stack([_summarized(row) for row in rows])


def _vector_str(values: np.ndarray, indent: int, summarize: bool,
                formatter: _Formatter) -> str:
    """A 1-d tensor: as many numbers per line as fit in `linewidth`."""
    edge = PRINT_OPTS.edgeitems
    per_line = max(1, math.floor((PRINT_OPTS.linewidth - indent) / (formatter.max_width + 2)))
    if summarize and not edge:
        texts = ["..."]
    elif summarize and len(values) > 2 * edge:
        texts = ([formatter.format(v) for v in values[:edge].tolist()] + [" ..."]
                 + [formatter.format(v) for v in values[-edge:].tolist()])
    else:
        texts = [formatter.format(v) for v in values.tolist()]
    lines = [", ".join(texts[i:i + per_line]) for i in range(0, len(texts), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _nested_str(values: np.ndarray, indent: int, summarize: bool,
                formatter: _Formatter) -> str:
    """Brackets inside brackets, one more space of indent and one more blank line per dim."""
    if values.ndim == 0:
        return formatter.format(values.item())
    if values.ndim == 1:
        return _vector_str(values, indent, summarize, formatter)
    edge = PRINT_OPTS.edgeitems
    if summarize and len(values) > 2 * edge:
        rows = ([_nested_str(values[i], indent + 1, summarize, formatter) for i in range(edge)]
                + ["..."]
                + [_nested_str(values[i], indent + 1, summarize, formatter)
                   for i in range(len(values) - edge, len(values))])
    else:
        rows = [_nested_str(row, indent + 1, summarize, formatter) for row in values]
    return "[" + ("," + "\n" * (values.ndim - 1) + " " * (indent + 1)).join(rows) + "]"


def _add_suffixes(text: str, suffixes: list[str], indent: int) -> str:
    """`, dtype=tg.float64` and the like after the values, on a new line when too long."""
    pieces = [text]
    last_line_len = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last_line_len + len(suffix) + 2 > PRINT_OPTS.linewidth:
            pieces.append(",\n" + " " * indent + suffix)
            last_line_len = indent + len(suffix)
        else:
            pieces.append(", " + suffix)
            last_line_len += len(suffix) + 2
    return "".join(pieces) + ")"


def _grad_fn_name(fn: Function) -> str:
    """PyTorch's name of a graph node (MulBackward0): Function.name() where it exists."""
    name = getattr(fn, "name", None)
    # (PyTorch prints grad_fn=<CopySlices> for the node it names torch::autograd::CopySlices)
    return name().rsplit("::", 1)[-1] if callable(name) else repr(fn).strip("<>")


def _tensor_repr(t: Tensor) -> str:
    prefix = "tensor("
    indent = len(prefix)
    values = backend.to_numpy(t.array)  # (one read from the GPU)
    dtype = t.dtype
    suffixes = []
    device = t.device
    if device.type != backend.default_device.type or (device.type == "cuda"
                                                      and device.index != 0):
        suffixes.append(f"device='{device}'")  # (as PyTorch: unless it is the default one)
    if values.size == 0:
        text = "[]"
        if values.ndim != 1:
            suffixes.append(f"size={tuple(values.shape)}")
        if dtype != backend.default_float_dtype:  # nothing shows whether it holds ints
            suffixes.append(f"dtype={dtype}")
    else:
        summarize = values.size > PRINT_OPTS.threshold
        formatter = _Formatter(_summarized(values) if summarize else values)
        text = _nested_str(values, indent, summarize, formatter)
        if not PRINT_OPTS.edgeitems:
            suffixes.append(f"size={tuple(values.shape)}")
        if dtype not in (backend.default_float_dtype, backend.int64, backend.bool_):
            suffixes.append(f"dtype={dtype}")
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{_grad_fn_name(t.grad_fn)}>")
    elif t.requires_grad:
        suffixes.append("requires_grad=True")
    return _add_suffixes(prefix + text, suffixes, indent)


class _HookHandle:
    _next_id = 0

    def __init__(self, hooks: dict, fn: Any) -> None:
        self.hooks, self.id = hooks, _HookHandle._next_id
        _HookHandle._next_id += 1
        hooks[self.id] = fn

    def remove(self) -> None:
        self.hooks.pop(self.id, None)


class _ToDevice(Function):
    """y = x copied to another device.  dL/dx = g copied back to x's device."""

    saves_inputs = False

    def forward(self, x: Any, device: Device) -> Any:
        self.src = backend.device_of(x)
        return backend.to_device(x, device)

    def backward(self, g: Tensor) -> Tensor:
        return _ToDevice.apply(g, device=self.src)


class _Clone(Function):
    """y = a copy of x.  dy/dx = 1."""

    saves_inputs = False

    def forward(self, x: Any) -> Any:
        return x.copy()

    def backward(self, g: Tensor) -> Tensor:
        return g


def _no_grad_result(array: Any) -> Tensor:
    return Tensor._make(get_array_module(array).asarray(array))


def _inferred_shape(new: tuple[int, ...], x: Tensor) -> tuple[int, ...]:
    """The shape `new` for x's elements with its one -1 worked out; RuntimeError (PyTorch's)
    if no such shape exists."""
    known = math.prod(n for n in new if n != -1)
    if new.count(-1) == 1 and min(new) == -1 and known and x.array.size % known == 0:
        return tuple(x.array.size // known if n == -1 else n for n in new)
    raise RuntimeError(f"reshape: shape {list(new)} is invalid for a tensor of shape "
                       f"{x.shape} ({x.numel()} elements)")


def _shape_arg(shape: tuple, op: str | None = None) -> tuple[int, ...]:
    """Accept f(2, 3), f((2, 3)) and f([2, 3]) alike: ints (or anything with __index__, such
    as a NumPy int or a 0-d integer tensor), never a float, a string or a bool (PyTorch's
    TypeError)."""
    if all(type(n) is int for n in shape):  # f(2, 3): the common case
        return shape
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    elif len(shape) == 1 and isinstance(shape[0], Tensor) and shape[0].ndim == 1:
        shape = tuple(shape[0].tolist())
    try:
        if any(isinstance(n, (bool, np.bool_)) for n in shape):
            raise TypeError
        return tuple(operator.index(n) for n in shape)
    except TypeError:
        bad = next((n for n in shape if isinstance(n, (bool, np.bool_))
                    or not hasattr(type(n), "__index__")), shape)
        raise TypeError(f"{op + ': ' if op else ''}size must be a tuple of ints, got "
                        f"{type(bad).__name__} {bad!r} in {shape!r}") from None


def _size_arg(shape: tuple, op: str) -> tuple[int, ...]:
    """The size of a new tensor: a shape of non-negative ints (PyTorch's errors otherwise)."""
    size = _shape_arg(shape, op)
    if any(n < 0 for n in size):
        raise RuntimeError(f"{op}: trying to create a tensor with negative dimension "
                           f"{min(size)}: {list(size)}")
    return size


def _promote(a: np.dtype, b: np.dtype) -> np.dtype:
    """PyTorch's `promote_types`: floats win over ints and bools, ints over bools; within a
    category the wider type (uint8 and int32 give int32, float16 and float32 float32)."""
    if a == b:
        return a
    if (a.kind == "f") != (b.kind == "f"):
        return a if a.kind == "f" else b
    return np.promote_types(np.dtype(a), np.dtype(b))


def _scalar_dtype(value: Any) -> np.dtype:
    """The dtype a Python (or NumPy) number has in an op: bool, int64 or the default float."""
    if isinstance(value, (bool, np.bool_)):
        return backend.bool_
    if isinstance(value, (int, np.integer)):
        return backend.int64
    return backend.default_float_dtype


def _combine_categories(higher: Any, lower: Any) -> Any:
    """PyTorch's rule between two priority groups of operands (see `result_type`): the lower
    group counts only when its category (bool < integer < floating) is higher."""
    if higher is None or lower is None:
        return lower if higher is None else higher
    if higher.kind == "f":
        return higher
    if higher.kind == "b" or lower.kind == "f":
        return _promote(higher, lower)
    return higher


def result_type(*operands: Any) -> Any:
    """The dtype PyTorch gives an arithmetic op on `operands` (Tensors and Python numbers).

    The operands form three groups, by priority: tensors with dimensions, 0-d tensors, and
    Python numbers (bool, int64 and the default float dtype). Within a group dtypes promote
    as usual (`promote_types`); a lower group only changes the result when its category
    (bool < integer < floating) is higher than the groups above it. So a float32 tensor plus
    a float64 0-d tensor is float32, int32 plus 2 is int32, but int32 plus 2.5 is float32."""
    groups: list[Any] = [None, None, None]  # dimensioned, 0-d, Python numbers
    for value in operands:
        if isinstance(value, Tensor):
            dtype, group = value.array.dtype, 0 if value.array.ndim else 1
        elif isinstance(value, _SCALARS):
            dtype, group = _scalar_dtype(value), 2
        else:
            raise TypeError(f"result_type: expected Tensors or numbers, got "
                            f"{type(value).__name__}")
        groups[group] = dtype if groups[group] is None else _promote(groups[group], dtype)
    dtype = _combine_categories(groups[0], _combine_categories(groups[1], groups[2]))
    return backend.as_dtype(backend.default_float_dtype if dtype is None else dtype)


def promote_types(type1: Any, type2: Any) -> Any:
    """The smallest dtype both `type1` and `type2` convert to without losing their category
    (PyTorch's `torch.promote_types`): `promote_types(tg.int32, tg.float16)` is float16."""
    return backend.as_dtype(_promote(np.dtype(backend.as_dtype(type1)),
                                     np.dtype(backend.as_dtype(type2))))


def _sum_input(x: Tensor, dtype: Any) -> Tensor:
    """What Tensor.sum adds up: x as `dtype`, or, without one, integers and bools as int64
    (as PyTorch)."""
    x = x if dtype is None else x.to(dtype)
    if x.array.dtype.kind in "bu" or x.array.dtype == np.int32:
        x = x.to(backend.int64)
    return x


def as_tensor_pair(a: Any, b: Any, op: str, device: Any = None, true_div: bool = False,
                   same_dtype: bool = False) -> tuple[Tensor, Tensor]:
    """Turn the operands of a binary op into two Tensors of one dtype on one device: the
    dtype of `result_type(a, b)`, PyTorch's (a Python number or a 0-d tensor does not widen
    a dimensioned tensor of its category); `true_div` makes integer division float;
    `same_dtype` (matmul) refuses two tensors of different dtypes instead of promoting."""
    # fast paths first: they are taken by almost every op in a training step
    a_is, b_is = isinstance(a, Tensor), isinstance(b, Tensor)
    if (same := a_is and b_is and a.array.dtype == b.array.dtype) and not true_div:
        return a, b
    if same_dtype:
        _check_same_dtype(a, b, op)
    if same and a.array.dtype.kind == "f":  # (a / b of floats)
        return a, b
    if same:  # integer / integer: float
        return a.to(backend.default_float_dtype), b.to(backend.default_float_dtype)
    if a_is and b_is:
        dtype = result_type(a, b)
    elif a_is and type(b) in _PY_NUMBERS and a.array.dtype.kind == "f":
        return a, _scalar_tensor(b, a)
    elif b_is and type(a) in _PY_NUMBERS and b.array.dtype.kind == "f":
        return _scalar_tensor(a, b), b
    elif a_is:
        dtype = result_type(a, b) if isinstance(b, _SCALARS) else None
    else:
        dtype = result_type(a, b) if isinstance(a, _SCALARS) else None
    ref = a if a_is else b
    if dtype is None:  # a list or an array next to a tensor
        other = a if not a_is else b
        try:
            other_t = Tensor(other, device=ref.device)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{op}: unsupported operand of type {type(other).__name__}: "
                            f"{exc}") from None
        return as_tensor_pair(other_t if not a_is else a, other_t if a_is else b, op,
                              true_div=true_div)
    if true_div and dtype.kind != "f":
        dtype = backend.default_float_dtype
    if dtype.kind in "iu":
        a, b = _fit_int(a, dtype, op), _fit_int(b, dtype, op)
    return _coerce(a, dtype, ref), _coerce(b, dtype, ref)


_PY_NUMBERS = frozenset((float, int))
_EXACT_INT_OPS = frozenset(("where", "pow"))  # they refuse an int that does not fit


def _fit_int(value: Any, dtype: np.dtype, op: str) -> Any:
    """A Python (or NumPy) int operand of an op on an integer tensor, converted as PyTorch
    does: one that does not fit `dtype` wraps around (uint8 + 300 adds 44), except in where
    and pow, which raise a RuntimeError; one beyond 64 bits is an OverflowError. Anything
    else is returned as it is."""
    if not isinstance(value, (int, np.integer)) or isinstance(value, (bool, np.bool_)):
        return value
    value = int(value)
    if not -2**63 <= value < 2**63:
        raise OverflowError(f"{op}: the int {value} is too big to convert to {dtype} (64 bits "
                            "at most)")
    info = np.iinfo(dtype)
    if info.min <= value <= info.max:
        return value
    if op in _EXACT_INT_OPS:
        raise RuntimeError(f"{op}: value {value} cannot be converted to type {dtype} without "
                           "overflow")
    return (value - int(info.min)) % (int(info.max) - int(info.min) + 1) + int(info.min)


def _scalar_tensor(value: float, like: Tensor) -> Tensor:
    """A Python number as a 0-d tensor of `like`'s (floating) dtype, on its device."""
    data = like.array
    if type(data) is np.ndarray:
        return Tensor._make(np.asarray(value, dtype=data.dtype))
    return Tensor._make(_device_number(value, data.dtype, like.device))


def _device_number(value: float, dtype: np.dtype, device: Device) -> Any:
    """A Python number as a 0-d array on a GPU, made once per (number, dtype, device) and then
    shared (`backend.device_constant`): a host-to-device copy in every `x * 2.0` would cost
    more than the multiply itself. (The sign tells 0.0 from -0.0, which are equal as keys.)"""
    return backend.device_constant(_host_number, (value, math.copysign(1, value)), dtype,
                                   device)


def _host_number(value: float, sign: float) -> np.ndarray:
    return np.asarray(value)


def _checked_pair(a: Any, b: Any, op: str) -> tuple[Tensor, Tensor]:
    """as_tensor_pair plus the broadcast check, for elementwise work done outside
    Function.apply (which turns NumPy's broadcast errors into the same message)."""
    a, b = as_tensor_pair(a, b, op)
    _check_broadcast(op, a.shape, b.shape)
    return a, b


@backend.on_device_of_args  # (makes arrays: on its tensors' GPU)
def _integer_division(a: Any, b: Any, op: str) -> Tensor:
    """floor_divide / remainder (no gradient), NumPy's floor_divide / mod with PyTorch's errors:
    an integer division by zero raises (RuntimeError naming ZeroDivisionError, checked where
    `autograd.checks_values` allows reading the divisor: on the GPU only under detect_anomaly)
    instead of giving 0, and bool tensors are refused (NotImplementedError). A float division
    by zero gives inf or NaN, as PyTorch."""
    a, b = _checked_pair(a, b, op)
    autograd._check_same_device(op, (a, b))  # no Function here to check it
    if a.dtype.kind == "b":
        raise NotImplementedError(f"{op}: not implemented for bool tensors (shapes "
                                  f"{tuple(a.shape)} and {tuple(b.shape)})")
    if a.dtype.kind in "iu" and b.numel() and autograd.checks_values(b.array) and bool(
            (b.array == 0).any()):
        raise RuntimeError(f"{op}: ZeroDivisionError: integer division by zero (the divisor, "
                           f"of shape {tuple(b.shape)} and dtype {b.dtype}, holds a 0; the "
                           f"dividend has shape {tuple(a.shape)})")
    xp = get_array_module(a.array)
    if op == "div_trunc":
        return _no_grad_result(_trunc_divide(xp, a.array, b.array))
    ufunc = xp.mod if op == "remainder" else xp.floor_divide
    return _no_grad_result(ufunc(a.array, b.array))


def _trunc_divide(xp: Any, a: Any, b: Any) -> Any:
    """a / b rounded toward zero; for integers exactly (the floor, plus 1 where the quotient
    is negative and not whole)."""
    if a.dtype.kind == "f":
        return xp.trunc(a / b)
    quotient = xp.floor_divide(a, b)
    quotient += (quotient * b != a) & ((a < 0) != (b < 0))
    return quotient


def _pow_tensors(a: Tensor, b: Tensor) -> Tensor:
    """a ** b for two tensors of one dtype (bool ** bool is refused, as PyTorch)."""
    if a.array.dtype.kind == "b":
        raise NotImplementedError(f"pow: not implemented for bool tensors (shapes "
                                  f"{tuple(a.shape)} and {tuple(b.shape)})")
    return ew.Pow.apply(a, b)


def _check_broadcast(op: str, *shapes: tuple) -> None:
    """Raise a ValueError naming `op` and the shapes unless they broadcast together (the one
    check behind every elementwise op of several tensors, instead of a bare NumPy error)."""
    if all(s == shapes[0] for s in shapes):
        return
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        listed = ", ".join(str(tuple(s)) for s in shapes[:-1]) + f" and {tuple(shapes[-1])}"
        raise ValueError(f"{op}: shapes {listed} cannot be broadcast together") from None


# PyTorch's names of the dtypes, as its error messages print them
_TORCH_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
                "int32": "Int", "uint8": "Byte", "bool": "Bool"}
_C_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half",
            "int64": "long int", "int32": "int", "uint8": "unsigned char", "bool": "bool"}
_CATEGORY = {"b": 0, "u": 1, "i": 1, "f": 2}  # bool < integer < floating


def _check_cast(op: str, result_dtype: Any, out: Tensor) -> None:
    """Refuse to write a result of `result_dtype` into `out` (an in-place op, or out=) when
    that would lose its category, as PyTorch: float into int or bool, int into bool."""
    if _CATEGORY[result_dtype.kind] > _CATEGORY[out.array.dtype.kind]:
        result_name, out_name = np.dtype(result_dtype).name, out.array.dtype.name
        raise RuntimeError(f"{op}: result type {_TORCH_NAMES[result_name]} ({result_name}) "
                           f"can't be cast to the desired output type {_TORCH_NAMES[out_name]} "
                           f"({out_name}, the output of shape {tuple(out.shape)})")


def _check_same_dtype(a: Any, b: Any, op: str) -> None:
    """matmul does not promote (PyTorch's RuntimeError): both tensors need the same dtype."""
    if isinstance(a, Tensor) and isinstance(b, Tensor) and a.array.dtype != b.array.dtype:
        raise RuntimeError(f"{op}: expected m1 and m2 to have the same dtype, but got: "
                           f"{_C_NAMES[a.array.dtype.name]} != {_C_NAMES[b.array.dtype.name]} "
                           f"(shapes {tuple(a.shape)} and {tuple(b.shape)}); convert one "
                           f"with .to(dtype), e.g. .float() or .double()")


def _coerce(x: Any, dtype: np.dtype, ref: Tensor) -> Tensor:
    if isinstance(x, Tensor):
        return x if x.dtype == dtype else x.to(dtype)
    if type(x) in _PY_NUMBERS and type(ref.array) is not np.ndarray:
        return Tensor._make(_device_number(x, dtype, ref.device))
    xp = get_array_module(ref.array)
    with backend.device_scope(ref.array):
        return Tensor._make(xp.asarray(x, dtype=dtype))


@backend.on_device_of_args  # (makes arrays: on its tensors' GPU)
def _normalize_index(index: Any, t: Tensor, op: str = "getitem") -> tuple:
    """Turn a user index into a tuple NumPy/CuPy accept: Tensors and lists become arrays on the
    tensor's device, boolean masks become integer index arrays (so scatter-add can use them)."""
    if not isinstance(index, tuple):
        index = (index,)
    addressed = sum(getattr(i, "ndim", 1) if getattr(i, "dtype", None) == np.bool_ else 1
                    for i in index if i is not None and i is not Ellipsis
                    and not isinstance(i, (bool, np.bool_)))
    if addressed > t.ndim:
        raise IndexError(f"{op}: too many indices for tensor of dimension {t.ndim} (got "
                         f"{addressed} indices for a tensor of shape {t.shape})")
    xp = get_array_module(t.array)
    out = []
    dim = 0  # which dim of t the current index entry addresses
    for item in index:
        check = True  # whether to check integer indices against the bounds
        if isinstance(item, Tensor):
            if item.device != t.device:
                raise RuntimeError(f"{op}: indices are on {item.device} but the tensor is "
                                   f"on {t.device}")
            item = item.array
            check = autograd.checks_values(item)  # on the GPU, only under detect_anomaly
        elif isinstance(item, (list, np.ndarray)):
            item = np.asarray(item)  # host values: checked below before they move
            check = True
        elif isinstance(item, (bool, np.bool_)):
            item = xp.asarray(item)
        if hasattr(item, "dtype") and hasattr(item, "shape"):
            if item.dtype.kind == "b":
                if item.shape != t.shape[dim:dim + item.ndim]:
                    raise IndexError(f"{op}: boolean mask of shape {item.shape} does not "
                                     f"match the indexed dims {t.shape[dim:dim + item.ndim]} of "
                                     f"a tensor of shape {t.shape}")
                out.extend(xp.asarray(i) for i in item.nonzero())
                dim += item.ndim
                continue
            if item.dtype.kind not in "iu":
                raise IndexError(f"{op}: tensors used as indices must be integer or bool, "
                                 f"got {item.dtype}")
            if item.size and dim < t.ndim and check:
                lo, hi = int(item.min()), int(item.max())
                if lo < -t.shape[dim] or hi >= t.shape[dim]:
                    raise IndexError(f"{op}: index {hi if hi >= t.shape[dim] else lo} is out "
                                     f"of bounds for dim {dim} with size {t.shape[dim]}")
            out.append(xp.asarray(item))
            dim += 1
            continue
        elif isinstance(item, (int, np.integer)):
            if dim >= t.ndim or not -t.shape[dim] <= item < t.shape[dim]:
                size = t.shape[dim] if dim < t.ndim else "(none)"
                raise IndexError(f"{op}: index {item} is out of bounds for dim {dim} with "
                                 f"size {size} (tensor of shape {t.shape})")
            item = int(item)
            dim += 1
        elif isinstance(item, slice):
            if item.step is not None and operator.index(item.step) <= 0:
                raise ValueError(f"{op}: step must be greater than zero, got the slice "
                                 f"{item.start}:{item.stop}:{item.step} for dim {dim} of a "
                                 f"tensor of shape {tuple(t.shape)}")
            dim += 1
        elif item is Ellipsis:
            dim = t.ndim - sum(1 for i in index[index.index(Ellipsis) + 1:]
                               if i is not None and i is not Ellipsis)
        elif item is not None:
            raise IndexError(f"{op}: unsupported index of type {type(item).__name__}")
        out.append(item)
    return tuple(out)


# ---------------------------------------------------------------------------------------------
# functions of several tensors
# ---------------------------------------------------------------------------------------------
def ew_softmax(x: Tensor, dim: int, op: type) -> Tensor:
    if x.ndim == 0:
        reduce.normalize_dims(dim, 0, op.__name__.lower())  # (checks dim)
        return op.apply(x._float().reshape(1), dim=0).reshape(())
    (axis,) = reduce.normalize_dims(dim, x.ndim, op.__name__.lower())
    return op.apply(x._float(), dim=axis)


def where(condition: Any, a: Any, b: Any) -> Tensor:
    """y = a where condition else b, elementwise with broadcasting.
    dy/da = condition, dy/db = not condition."""
    ref = next((v for v in (a, b, condition) if isinstance(v, Tensor)), None)
    device = ref.device if ref is not None else None
    if not isinstance(condition, Tensor):
        condition = Tensor(condition, device=device)
    if condition.array.dtype.kind != "b":
        if condition.array.dtype != backend.uint8:  # (uint8: deprecated, still accepted)
            raise RuntimeError(f"where expected condition to be a boolean tensor, but got a "
                               f"tensor with dtype {_TORCH_NAMES[condition.array.dtype.name]} "
                               f"(shape {tuple(condition.shape)}); compare it first, e.g. "
                               f"`mask > 0`")
        condition = condition != 0
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        a = Tensor(a, device=condition.device)
    a, b = as_tensor_pair(a, b, "where")
    _check_broadcast("where", condition.shape, a.shape, b.shape)
    return ew.Where.apply(condition, a, b)


# ---------------------------------------------------------------------------------------------
# arithmetic as functions: tg.add(x, y, alpha=2, out=z), as PyTorch's
# ---------------------------------------------------------------------------------------------
def add(input: Any, other: Any, *, alpha: Any = 1, out: Tensor | None = None) -> Tensor:  # noqa: A002
    """input + alpha * other, written into `out` when it is given."""
    return _into_out("add", lambda: input + _scaled(input, other, alpha, "add"),
                     (input, other), out)


def sub(input: Any, other: Any, *, alpha: Any = 1, out: Tensor | None = None) -> Tensor:  # noqa: A002
    """input - alpha * other, written into `out` when it is given."""
    return _into_out("sub", lambda: input - _scaled(input, other, alpha, "sub"),
                     (input, other), out)


def mul(input: Any, other: Any, *, out: Tensor | None = None) -> Tensor:  # noqa: A002
    """input * other, written into `out` when it is given."""
    return _into_out("mul", lambda: input * other, (input, other), out)


@backend.on_device_of_args  # (the rounding modes compute on the arrays, outside a method)
def div(input: Any, other: Any, *, rounding_mode: str | None = None,  # noqa: A002
        out: Tensor | None = None) -> Tensor:
    """input / other: the true quotient (float, also for integers), or rounded toward zero
    (rounding_mode='trunc') or down ('floor'), which keep integers integer and have no
    gradient. Written into `out` when it is given."""
    if rounding_mode is None:
        compute = lambda: input / other  # noqa: E731
    elif rounding_mode in ("trunc", "floor"):
        op = "div_trunc" if rounding_mode == "trunc" else "floor_divide"
        compute = lambda: _integer_division(input, other, op)  # noqa: E731
    else:
        raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' "
                           f"but found {rounding_mode!r}")
    return _into_out("div", compute, (input, other), out)


def matmul(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:  # noqa: A002
    """input @ other (see Tensor.__matmul__), written into `out` when it is given."""
    return _into_out("matmul", lambda: input @ other, (input, other), out, same_dtype=True)


def _scaled(input: Any, other: Any, alpha: Any, op: str) -> Any:  # noqa: A002
    """alpha * other for add / sub; a float alpha is refused for integer tensors."""
    if alpha == 1 and not isinstance(alpha, float):
        return other
    if isinstance(alpha, (float, np.floating)) and result_type(input, other).kind != "f":
        raise RuntimeError(f"{op}: for integral input tensors, argument alpha must not be a "
                           f"floating point number (got alpha={alpha})")
    return other * alpha


def _into_out(op: str, compute: Callable[[], Tensor], inputs: tuple, out: Tensor | None,
              same_dtype: bool = False) -> Tensor:
    """`compute()`, or, with `out=`, its result written into `out` as PyTorch does: an
    in-place write (out's views see it, its version goes up), refused where autograd would
    be needed, or where the result's dtype cannot be cast to out's; an `out` of another shape
    is resized (with PyTorch's warning unless it was empty). Returns `out`."""
    if out is None:
        return compute()
    if not isinstance(out, Tensor):
        raise TypeError(f"{op}(): argument 'out' must be a Tensor, not {type(out).__name__}")
    if autograd.is_grad_enabled() and any(isinstance(t, Tensor) and t.requires_grad
                                          for t in inputs + (out,)):
        raise RuntimeError(f"{op}(): functions with out=... arguments don't support automatic "
                           "differentiation, but one of the arguments requires grad.")
    with autograd.no_grad():
        result = compute()
    if result.device != out.device:
        raise RuntimeError(f"{op}(): the result is on {result.device} but out= is on "
                           f"{out.device}")
    if same_dtype and result.array.dtype != out.array.dtype:
        raise RuntimeError(f"{op}(): expected out tensor to have dtype "
                           f"{_C_NAMES[result.array.dtype.name]}, but got "
                           f"{_C_NAMES[out.array.dtype.name]} instead")
    _check_cast(f"{op}()", result.array.dtype, out)
    with autograd.no_grad():
        if result.shape != out.shape:
            if out.numel():
                warnings.warn(f"{op}(): an output with one or more elements was resized since "
                              f"it had shape {list(out.shape)}, which does not match the "
                              f"required output shape {list(result.shape)}", stacklevel=3)
            xp = get_array_module(out.array)
            with backend.device_scope(out.array):
                out.array = xp.empty(result.shape, dtype=out.array.dtype)
        out.copy_(result)
    return out


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors along an existing dim."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("cat: expected a non-empty list of tensors")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"cat: expected a sequence of Tensors, got {type(t).__name__} at "
                            f"position {i}")
        if t.ndim == 0:
            raise RuntimeError(f"cat: zero-dimensional tensor (at position {i}) cannot be "
                               "concatenated (use stack, or reshape it to 1 dim)")
    ref = tensors[0]
    (d,) = reduce.normalize_dims(dim, ref.ndim, "cat")
    for i, t in enumerate(tensors):
        if t.ndim != ref.ndim or t.shape[:d] + t.shape[d + 1:] != ref.shape[:d] + ref.shape[d + 1:]:
            raise ValueError(f"cat: sizes of tensors must match except in dim {dim}; tensor 0 "
                             f"has shape {ref.shape} but tensor {i} has shape {t.shape}")
    dtype = ref.dtype
    for t in tensors[1:]:
        dtype = _promote(dtype, t.dtype)
    tensors = [t if t.dtype == dtype else t.to(dtype) for t in tensors]
    return shape_ops.Cat.apply(*tensors, dim=d)


concatenate = cat


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors along a new dim."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack: expected a non-empty list of tensors")
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise ValueError(f"stack: expects each tensor to be equal size, but got "
                             f"{tensors[0].shape} at entry 0 and {t.shape} at entry {i}")
    if not -tensors[0].ndim - 1 <= dim <= tensors[0].ndim:
        raise IndexError(f"stack: dim {dim} is out of range for tensors with {tensors[0].ndim} "
                         f"dimension(s) (expected [{-tensors[0].ndim - 1}, {tensors[0].ndim}])")
    autograd._check_same_device("stack", tensors)
    return cat([t.unsqueeze(dim) for t in tensors], dim)


def pad(x: Tensor, pad: Sequence[int], mode: str = "constant", value: float = 0.0) -> Tensor:
    """Constant padding; `pad` lists (left, right) widths starting from the LAST dim, as
    PyTorch's F.pad: (1, 1) pads the last dim, (1, 1, 2, 2) the last two."""
    if mode != "constant":
        raise ValueError(f"pad: only mode='constant' is supported, got {mode!r}")
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"pad: padding {tuple(pad)} must have an even length of at most "
                         f"2 * {x.ndim} for a tensor of shape {x.shape}")
    if any(p < 0 for p in pad):
        raise ValueError(f"pad: negative padding {tuple(pad)} is not supported")
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        widths[x.ndim - 1 - i] = (int(pad[2 * i]), int(pad[2 * i + 1]))
    return shape_ops.Pad.apply(x, widths=tuple(widths), value=value)


# ---------------------------------------------------------------------------------------------
# factories
# ---------------------------------------------------------------------------------------------
def tensor(data: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of `data` (scalars, nested lists, NumPy/CuPy arrays,
    Tensors)."""
    return Tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    if isinstance(data, Tensor) and dtype is None and device is None:
        return data
    return Tensor(data, dtype=dtype, device=device)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with a NumPy array."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    if array.dtype not in backend.SUPPORTED_DTYPES:
        raise TypeError(f"from_numpy: unsupported dtype {array.dtype}")
    return Tensor._make(array)


def _factory(fill: Any, shape: tuple, dtype: Any, device: Any, requires_grad: bool,
             default: np.dtype | None = None, op: str = "tensor") -> Tensor:
    size = _size_arg(shape, op)
    dtype = backend.as_dtype(dtype) if dtype is not None else (default or
                                                                backend.default_float_dtype)
    dev = _resolve_device(device)
    with backend.device_scope(dev):
        array = fill(dev, size, dtype)
    t = Tensor._make(array)
    if requires_grad:
        t.requires_grad = True
    return t


def _count_arg(value: Any, name: str, op: str) -> int:
    """A length argument of a factory (n of eye, steps of linspace): an int >= 0."""
    try:
        if isinstance(value, (bool, np.bool_)):
            raise TypeError
        value = operator.index(value)
    except TypeError:
        raise TypeError(f"{op}: {name} must be an int, got {type(value).__name__} "
                        f"{value!r}") from None
    if value < 0:
        raise RuntimeError(f"{op}: {name} must be greater or equal to 0, got {value}")
    return value


def _number_arg(value: Any, name: str, op: str) -> Any:
    """A number argument of a factory (a bool counts as an int, a one-element tensor as its
    value); anything else is PyTorch's TypeError."""
    if isinstance(value, Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{op}: {name} must be a number, got {type(value).__name__} "
                        f"{value!r:.40}")
    return value


def zeros(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return _factory(lambda d, s, t: d.xp.zeros(s, dtype=t), size, dtype, device, requires_grad,
                    op="zeros")


def ones(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return _factory(lambda d, s, t: d.xp.ones(s, dtype=t), size, dtype, device, requires_grad,
                    op="ones")


def empty(*size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    return _factory(lambda d, s, t: d.xp.empty(s, dtype=t), size, dtype, device, requires_grad,
                    op="empty")


def full(size: Any, fill_value: Any, dtype: Any = None, device: Any = None,
         requires_grad: bool = False) -> Tensor:
    """A tensor of shape `size` (a tuple of ints) filled with `fill_value`, of its dtype by
    default (bool, int64 or float32)."""
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"full: size must be a tuple of ints, got {type(size).__name__} "
                        f"{size!r}")
    if isinstance(fill_value, Tensor) and fill_value.numel() == 1:
        fill_value = fill_value.item()
    if not isinstance(fill_value, _SCALARS):
        raise TypeError(f"full: fill_value must be a number, got {type(fill_value).__name__} "
                        f"{fill_value!r:.40}")
    default = _scalar_dtype(fill_value)  # (a NumPy float64 fill is float32, as PyTorch)
    target = backend.as_dtype(dtype) if dtype is not None else default
    if target.kind in "iu" and isinstance(fill_value, (int, np.integer)) and not isinstance(
            fill_value, (bool, np.bool_)) and not (np.iinfo(target).min <= fill_value
                                                   <= np.iinfo(target).max):
        raise RuntimeError(f"full: value {fill_value} cannot be converted to type {target} "
                           "without overflow")
    return _factory(lambda d, s, t: d.xp.full(s, fill_value, dtype=t), (size,), dtype, device,
                    requires_grad, default, op="full")


def _like(fn: Any, t: Tensor, dtype: Any, device: Any, requires_grad: bool) -> Tensor:
    return fn(t.shape, dtype=dtype or t.dtype, device=device or t.device,
              requires_grad=requires_grad)


def zeros_like(t: Tensor, dtype: Any = None, device: Any = None,
               requires_grad: bool = False) -> Tensor:
    return _like(zeros, t, dtype, device, requires_grad)


def ones_like(t: Tensor, dtype: Any = None, device: Any = None,
              requires_grad: bool = False) -> Tensor:
    return _like(ones, t, dtype, device, requires_grad)


def empty_like(t: Tensor, dtype: Any = None, device: Any = None,
               requires_grad: bool = False) -> Tensor:
    return _like(empty, t, dtype, device, requires_grad)


def full_like(t: Tensor, fill_value: Any, dtype: Any = None, device: Any = None,
              requires_grad: bool = False) -> Tensor:
    return full(t.shape, fill_value, dtype=dtype or t.dtype, device=device or t.device,
                requires_grad=requires_grad)


def rand(*size: Any, generator: Generator | None = None, dtype: Any = None, device: Any = None,
         requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1) from `generator` or the seeded generator of the device."""
    def fill(d: Device, s: tuple, t: np.dtype) -> Any:
        rng = backend.pick_generator(d, generator, "rand")
        return rng.random(s, dtype=_rng_float(t, "rand")).astype(t)
    return _factory(fill, size, dtype, device, requires_grad, op="rand")


def randn(*size: Any, generator: Generator | None = None, dtype: Any = None, device: Any = None,
          requires_grad: bool = False) -> Tensor:
    """Standard normal samples from `generator` or the seeded generator of the device."""
    def fill(d: Device, s: tuple, t: np.dtype) -> Any:
        rng = backend.pick_generator(d, generator, "randn")
        return rng.standard_normal(s, dtype=_rng_float(t, "randn")).astype(t)
    return _factory(fill, size, dtype, device, requires_grad, op="randn")


def _rng_float(dtype: np.dtype, op: str) -> np.dtype:
    if not backend.is_floating(dtype):  # (PyTorch's NotImplementedError)
        raise NotImplementedError(f"{op}: random floats can't have dtype {dtype}; use "
                                  f"randint for integers")
    return dtype if dtype in (backend.float32, backend.float64) else backend.float32


def randint(low: int, high: int | None = None, size: Any = None, *,
            generator: Generator | None = None, dtype: Any = None, device: Any = None,
            requires_grad: bool = False) -> Tensor:
    """Integers drawn uniformly from [low, high) (or [0, low) when high is omitted); `size` is
    a tuple of ints."""
    if high is None:
        low, high = 0, low
    if size is None:
        raise TypeError("randint: missing the `size` argument")
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"randint: size must be a tuple of ints, got {type(size).__name__} "
                        f"{size!r}")
    if high <= low:
        raise RuntimeError(f"randint: expects low < high, got low={low}, high={high}")
    def fill(d: Device, s: tuple, t: np.dtype) -> Any:
        return backend.pick_generator(d, generator, "randint").integers(low, high, s).astype(t)
    return _factory(fill, (size,), dtype, device, requires_grad, backend.int64, op="randint")


def randperm(n: int, *, generator: Generator | None = None, dtype: Any = None,
             device: Any = None, requires_grad: bool = False) -> Tensor:
    """A random permutation of 0, 1, ..., n - 1."""
    n = _count_arg(n, "n", "randperm")
    return _factory(lambda d, s, t: backend.permutation(d, n, generator).astype(t), (n,), dtype,
                    device, requires_grad, backend.int64, op="randperm")


def rand_like(input: Tensor, *, generator: Generator | None = None,  # noqa: A002
              dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1) with the shape (and, by default, dtype and device) of
    `input`."""
    return _like(functools.partial(rand, generator=generator), input, dtype, device,
                 requires_grad)


def randn_like(input: Tensor, *, generator: Generator | None = None,  # noqa: A002
               dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples with the shape (and, by default, dtype and device) of
    `input`."""
    return _like(functools.partial(randn, generator=generator), input, dtype, device,
                 requires_grad)


def randint_like(input: Tensor, low: int = 0, high: int | None = None, *,  # noqa: A002
                 generator: Generator | None = None, dtype: Any = None, device: Any = None,
                 requires_grad: bool = False) -> Tensor:
    """Integers drawn uniformly from [low, high) (or [0, low) when only one bound is given,
    as `randint_like(x, 10)`), with the shape (and, by default, dtype and device) of
    `input`: a float input gives whole numbers as floats, as PyTorch."""
    if high is None:
        low, high = 0, low
    out = randint(low, high, tuple(input.shape), generator=generator,
                  dtype=dtype or input.dtype, device=device or input.device)
    return out.requires_grad_() if requires_grad else out


def set_default_dtype(d: Any) -> None:
    """Make `d` (tg.float32, tg.float64 or tg.float16) the dtype of Python floats in new
    tensors: `tg.tensor([1.5])`, `tg.zeros(3)`, `tg.rand(2)`, `int_tensor / 2`..."""
    dtype = backend.as_dtype(d)
    if not backend.is_floating(dtype):
        raise TypeError(f"set_default_dtype: only floating-point types are supported as the "
                        f"default type, got {dtype}")
    backend.default_float_dtype = dtype


def get_default_dtype() -> Any:
    """The dtype of Python floats in new tensors (float32 unless set_default_dtype changed
    it)."""
    return backend.default_float_dtype


def set_default_device(device: Any) -> None:
    """Make `device` ('cpu', 'cuda', 'cuda:1', a Device; None for the CPU) where factories
    (tg.zeros, tg.rand, tg.arange...) and tg.tensor put new tensors unless told otherwise."""
    backend.default_device = backend.CPU if device is None else _resolve_device(device)


def get_default_device() -> Device:
    """Where new tensors go unless told otherwise (the CPU unless set_default_device)."""
    return backend.default_device


def arange(start: float, end: float | None = None, step: float = 1, dtype: Any = None,
           device: Any = None, requires_grad: bool = False) -> Tensor:
    """start, start + step, ... up to `end` (excluded); `arange(n)` is 0, 1, ..., n - 1. int64
    when start, end and step are all ints, else float32."""
    if end is None:
        start, end = 0, start
    start, end, step = (_number_arg(v, name, "arange")
                        for v, name in ((start, "start"), (end, "end"), (step, "step")))
    if step == 0 or math.isnan(step):
        raise RuntimeError(f"arange: step must be nonzero, got {step}")
    if not (math.isfinite(start) and math.isfinite(end)):
        raise RuntimeError(f"arange: unsupported range: {start} -> {end}")
    if (end - start) * step < 0:
        raise RuntimeError(f"arange: upper bound and lower bound inconsistent with step sign "
                           f"(start={start}, end={end}, step={step})")
    all_int = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
    default = backend.int64 if all_int else backend.default_float_dtype
    count = math.ceil((end - start) / step)
    if count >= 2**63:
        raise RuntimeError(f"arange: invalid size {count} for start={start}, end={end}, "
                           f"step={step}: possible overflow?")
    return _factory(lambda d, s, t: (start + d.xp.arange(count, dtype=backend.float64) * step
                                     ).astype(t) if not all_int else d.xp.arange(
                                         start, end, step).astype(t),
                    ((count,),), dtype, device, requires_grad, default, op="arange")


def linspace(start: float, end: float, steps: int, dtype: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    start, end = _number_arg(start, "start", "linspace"), _number_arg(end, "end", "linspace")
    steps = _count_arg(steps, "steps", "linspace")
    return _factory(lambda d, s, t: d.xp.linspace(start, end, steps).astype(t), ((steps,),),
                    dtype, device, requires_grad, op="linspace")


def eye(n: int, m: int | None = None, dtype: Any = None, device: Any = None,
        requires_grad: bool = False) -> Tensor:
    n = _count_arg(n, "n", "eye")
    m = n if m is None else _count_arg(m, "m", "eye")
    return _factory(lambda d, s, t: d.xp.eye(n, m, dtype=t), ((n, m),), dtype, device,
                    requires_grad, op="eye")


def manual_seed(seed: int) -> None:
    """Seed every backend's random generator (CPU now, CUDA when first used)."""
    backend.manual_seed(seed)


class Generator:
    """A random number generator of its own, as torch.Generator: the random factories, the
    in-place fills and the data utilities take one as `generator=`. Draws from one seed are
    the same every time (they are NumPy's or CuPy's streams, not PyTorch's).

        g = tg.Generator().manual_seed(42)
        tg.rand(3, generator=g)
    """

    default_seed = 67280421310721  # PyTorch's initial seed of a new Generator

    def __init__(self, device: Any = "cpu") -> None:
        self.device = _resolve_device(device)
        self.manual_seed(Generator.default_seed)

    def manual_seed(self, seed: int) -> Generator:
        """Restart the stream from `seed` (negative seeds wrap modulo 2**64, as PyTorch)."""
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise TypeError(f"manual_seed expected an int, got {type(seed).__name__}")
        self._initial_seed = int(seed) % 2**64
        self.rng = backend.new_generator(self.device, self._initial_seed)
        return self

    def seed(self) -> int:
        """Restart the stream from a fresh non-deterministic seed, and return that seed."""
        seed = int(np.random.SeedSequence().entropy) % 2**64
        self.manual_seed(seed)
        return seed

    def initial_seed(self) -> int:
        """The seed the stream started from."""
        return self._initial_seed

    def get_state(self) -> Tensor:
        """The generator's state as a uint8 tensor, to give back to `set_state` (it holds
        NumPy's bit-generator state written as JSON)."""
        if self.device.type != "cpu":
            raise RuntimeError("Generator.get_state: only CPU generators can save their state "
                               "in tinygrad_edu")
        state = {"initial_seed": self._initial_seed, "bit_generator": self.rng.bit_generator.state}
        return Tensor._make(np.frombuffer(json.dumps(state).encode(), dtype=np.uint8).copy())

    def set_state(self, new_state: Tensor) -> Generator:
        """Go back to a state that `get_state` returned."""
        if not isinstance(new_state, Tensor) or new_state.dtype != backend.uint8 or (
                new_state.ndim != 1):
            raise TypeError("Generator.set_state: expected the 1-D uint8 tensor that get_state "
                            "returned")
        try:
            state = json.loads(backend.to_numpy(new_state.array).tobytes().decode())
            rng = backend.new_generator(self.device, 0)
            rng.bit_generator.state = state["bit_generator"]
            initial_seed = int(state["initial_seed"])
        except (ValueError, TypeError, KeyError) as exc:
            raise RuntimeError(f"Generator.set_state: not a state from get_state ({exc})"
                               ) from None
        self.rng, self._initial_seed = rng, initial_seed
        return self


# ---------------------------------------------------------------------------------------------
# the legacy tensor types: tg.FloatTensor(2, 3), isinstance(x, tg.LongTensor), x.type()
# ---------------------------------------------------------------------------------------------
class _LegacyTensorType(type):
    """The type of tg.FloatTensor and its siblings: `isinstance(x, tg.FloatTensor)` asks
    whether x is a float32 tensor on the CPU, as in PyTorch."""

    dtype: Any

    def __instancecheck__(cls, obj: Any) -> bool:
        return isinstance(obj, Tensor) and obj.dtype == cls.dtype and obj.device.type == "cpu"

    def __repr__(cls) -> str:
        return f"<class 'tg.{cls.__name__}'>"


class _LegacyTensor(metaclass=_LegacyTensorType):
    """PyTorch's legacy constructors: `FloatTensor(2, 3)` is an uninitialised 2x3 tensor,
    `FloatTensor([1, 2])` a tensor of that data, `FloatTensor()` an empty one. Each makes a
    Tensor of its dtype (use `tg.tensor` and `tg.empty` in new code)."""

    dtype: Any = None

    def __new__(cls, *args: Any, device: Any = None) -> Tensor:  # type: ignore[misc]
        if not args:
            return empty(0, dtype=cls.dtype, device=device)
        if len(args) == 1 and not isinstance(args[0], (int, np.integer, Size)):
            return tensor(args[0], dtype=cls.dtype, device=device)
        return empty(*args, dtype=cls.dtype, device=device)


class FloatTensor(_LegacyTensor):
    dtype = backend.float32


class DoubleTensor(_LegacyTensor):
    dtype = backend.float64


class HalfTensor(_LegacyTensor):
    dtype = backend.float16


class LongTensor(_LegacyTensor):
    dtype = backend.int64


class IntTensor(_LegacyTensor):
    dtype = backend.int32


class BoolTensor(_LegacyTensor):
    dtype = backend.bool_


class ByteTensor(_LegacyTensor):
    dtype = backend.uint8


_LEGACY_TYPES = (FloatTensor, DoubleTensor, HalfTensor, LongTensor, IntTensor, BoolTensor,
                 ByteTensor)
_LEGACY_NAMES = {legacy.dtype: legacy.__name__ for legacy in _LEGACY_TYPES}


def _legacy_from_name(name: str, op: str) -> Any:
    """The dtype of a legacy type name: 'tg.FloatTensor', 'torch.FloatTensor', 'FloatTensor'
    (a 'cuda.' in the name is accepted, the device is left as it is)."""
    short = name.rsplit(".", 1)[-1]
    for legacy in _LEGACY_TYPES:
        if legacy.__name__ == short:
            return legacy.dtype
    raise ValueError(f"{op}: invalid type {name!r}")


def is_tensor(obj: Any) -> bool:
    return isinstance(obj, Tensor)


def numel(t: Tensor) -> int:
    return t.numel()


def _export(names: Iterable[str]) -> dict[str, Any]:
    """Functions of tensors that mirror methods (tg.exp(x) == x.exp()). Their first argument
    must be a Tensor (PyTorch's TypeError otherwise, rather than NumPy's method of the same
    name answering for a NumPy array)."""
    def make(name: str) -> Any:
        def fn(input: Tensor, *args: Any, **kwargs: Any) -> Any:  # noqa: A002 - PyTorch's name
            if not isinstance(input, Tensor):
                raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not "
                                f"{_type_name(input)}")
            return getattr(input, name)(*args, **kwargs)
        fn.__name__ = name
        fn.__doc__ = getattr(Tensor, name).__doc__
        return fn
    return {name: make(name) for name in names}


# --- issue 16: shapes, reductions and products (functions without a method of their own) ---
def _scaled_sum(x: Tensor, beta: float, product: Tensor, alpha: float) -> Tensor:
    """beta * x + alpha * product, with beta = 0 ignoring x (even NaN in it), as PyTorch."""
    scaled = product if alpha == 1 else product * alpha
    if beta == 0:
        return scaled + zeros_like(x)  # (x's shape still broadcasts)
    return (x if beta == 1 else x * beta) + scaled


def var_mean(input: Tensor, dim: Any = None, *, correction: int = 1,  # noqa: A002
             keepdim: bool = False) -> tuple[Tensor, Tensor]:
    """(var, mean) over dim."""
    return input.var(dim, keepdim=keepdim, correction=correction), input.mean(dim, keepdim)


def std_mean(input: Tensor, dim: Any = None, *, correction: int = 1,  # noqa: A002
             keepdim: bool = False) -> tuple[Tensor, Tensor]:
    """(std, mean) over dim."""
    return input.std(dim, keepdim=keepdim, correction=correction), input.mean(dim, keepdim)


def _at_least(tensors: Sequence[Tensor], ndim: int) -> list[Tensor]:
    """0-d and 1-d tensors as rows (1, n) / (1, n, 1), as hstack/vstack/dstack see them."""
    out = []
    for t in tensors:
        if ndim >= 1 and t.ndim == 0:
            t = t.reshape(1)
        if ndim >= 2 and t.ndim == 1:
            t = t.reshape(1, -1)
        if ndim >= 3 and t.ndim == 2:
            t = t.unsqueeze(-1)
        out.append(t)
    return out


def hstack(tensors: Sequence[Tensor]) -> Tensor:
    """cat along dim 1 (dim 0 for 1-D tensors)."""
    ts = _at_least(tensors, 1)
    return cat(ts, 0 if ts[0].ndim == 1 else 1)


def vstack(tensors: Sequence[Tensor]) -> Tensor:
    """cat along dim 0, 1-D tensors as rows."""
    return cat(_at_least(tensors, 2), 0)


row_stack = vstack


def dstack(tensors: Sequence[Tensor]) -> Tensor:
    """cat along dim 2 (depth), 1-D tensors as (1, n, 1) and 2-D as (m, n, 1)."""
    return cat(_at_least(tensors, 3), 2)


def column_stack(tensors: Sequence[Tensor]) -> Tensor:
    """The tensors as columns: 0-d and 1-d ones become (n, 1), then cat along dim 1."""
    return cat([t.reshape(-1, 1) if t.ndim <= 1 else t for t in tensors], 1)


def meshgrid(*tensors: Any, indexing: str | None = None) -> tuple[Tensor, ...]:
    """Grids of coordinates from 1-D tensors: indexing "ij" (the default, as PyTorch) or "xy"."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    indexing = "ij" if indexing is None else indexing
    if indexing not in ("ij", "xy"):
        raise ValueError(f"torch.meshgrid: indexing must be one of \"xy\" or \"ij\", but "
                         f"received: {indexing}")
    ts = [t.reshape(-1) for t in tensors]
    swap = indexing == "xy" and len(ts) >= 2
    if swap:
        ts[0], ts[1] = ts[1], ts[0]
    shape = [t.shape[0] for t in ts]
    grids = [t.reshape(*[-1 if i == k else 1 for i in range(len(ts))]).expand(*shape)
             for k, t in enumerate(ts)]
    if swap:
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


def logspace(start: float, end: float, steps: int, base: float = 10.0, *, dtype: Any = None,
             device: Any = None, requires_grad: bool = False) -> Tensor:
    """base ** linspace(start, end, steps)."""
    exponents = linspace(start, end, steps, dtype=backend.float64, device=device)
    out = (float(base) ** exponents).to(dtype or backend.default_float_dtype)
    return out.requires_grad_(requires_grad)


def tensordot(a: Tensor, b: Tensor, dims: Any = 2) -> Tensor:
    """The sum over the last `dims` dims of a and the first `dims` of b (or over the pairs
    of dims lists ([a dims], [b dims])): a permute, a reshape and one matrix product."""
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        dims_a, dims_b = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        dims_a, dims_b = ([d] if isinstance(d, int) else list(d) for d in dims)
    dims_a = [d % a.ndim for d in dims_a]
    dims_b = [d % b.ndim for d in dims_b]
    for da, db in zip(dims_a, dims_b):
        if a.shape[da] != b.shape[db]:
            raise RuntimeError(f"contracted dimensions need to match, but first has size "
                               f"{a.shape[da]} in dim {da} and second has size {b.shape[db]} "
                               f"in dim {db}")
    free_a = [d for d in range(a.ndim) if d not in dims_a]
    free_b = [d for d in range(b.ndim) if d not in dims_b]
    k = math.prod(a.shape[d] for d in dims_a)
    left = a.permute(*free_a, *dims_a).reshape(-1, k)
    right = b.permute(*dims_b, *free_b).reshape(k, -1)
    return (left @ right).reshape(*[a.shape[d] for d in free_a], *[b.shape[d] for d in free_b])


def _type_name(value: Any) -> str:
    """How PyTorch names a type in its errors: `list`, `float`, `numpy.ndarray`."""
    kind = type(value)
    return kind.__qualname__ if kind.__module__ == "builtins" else (
        f"{kind.__module__}.{kind.__qualname__}")


def _numpy_keywords(function: Callable) -> Callable:
    """Accept NumPy's `axis=` and `keepdims=` as aliases of `dim=` and `keepdim=`, as PyTorch
    does (`x.sum(axis=0, keepdims=True)`, `tg.cat(xs, axis=1)`)."""
    @functools.wraps(function)
    def with_aliases(*args: Any, **kwargs: Any) -> Any:
        return function(*args, **(_renamed_aliases(function, kwargs) if kwargs else kwargs))
    return with_aliases


def _renamed_aliases(function: Callable, kwargs: dict) -> dict:
    """`kwargs` with NumPy's names (axis=, keepdims=) renamed to PyTorch's (dim=, keepdim=)."""
    for alias, name in (("axis", "dim"), ("keepdims", "keepdim")):
        if alias in kwargs:
            if name in kwargs:
                raise TypeError(f"{function.__name__}() got both {name}= and its alias "
                                f"{alias}=")
            kwargs[name] = kwargs.pop(alias)
    return kwargs


# --- issue 16: elementwise math ---
def _require_tensor(op: str, other: Any) -> None:
    """Ops that PyTorch defines only between two tensors refuse a number (its TypeError)."""
    if not isinstance(other, Tensor):
        raise TypeError(f"{op}(): argument 'other' (position 2) must be Tensor, not "
                        f"{_type_name(other)}")


def _refuse_bool(t: Tensor, op: str) -> None:
    if t.array.dtype.kind == "b":
        raise NotImplementedError(f"\"{op}\" not implemented for 'Bool' (shape "
                                  f"{tuple(t.shape)})")


def _float_pair(a: Any, b: Any, op: str) -> tuple[Tensor, Tensor]:
    """as_tensor_pair for ops PyTorch implements for floating dtypes only (hypot,
    logaddexp): integer and bool tensors are refused (NotImplementedError)."""
    a, b = as_tensor_pair(a, b, op)
    if a.array.dtype.kind != "f":
        raise NotImplementedError(f"\"{op}\" not implemented for "
                                  f"'{_TORCH_NAMES[a.array.dtype.name]}' (shapes "
                                  f"{tuple(a.shape)} and {tuple(b.shape)})")
    return a, b


@backend.on_device_of_args
def _check_integer_divisor(a: Tensor, b: Tensor, op: str) -> None:
    """Integer division by zero raises, as on PyTorch's CPU (read where
    `autograd.checks_values` allows: on the GPU only under detect_anomaly); bools are
    refused."""
    if a.array.dtype.kind == "b":
        raise NotImplementedError(f"{op}: not implemented for bool tensors (shapes "
                                  f"{tuple(a.shape)} and {tuple(b.shape)})")
    if a.array.dtype.kind in "iu" and b.numel() and autograd.checks_values(b.array) and bool(
            (b.array == 0).any()):
        raise RuntimeError(f"{op}: ZeroDivisionError: integer division by zero (the divisor, "
                           f"of shape {tuple(b.shape)} and dtype {b.dtype}, holds a 0)")


def _modulo(a: Any, b: Any, op: str) -> Tensor:
    """remainder (Python's %, the divisor's sign) or fmod (C's, the dividend's sign), with a
    gradient for floats; integers stay integers."""
    a, b = _checked_pair(a, b, op)
    _check_integer_divisor(a, b, op)
    return (ew.Remainder if op == "remainder" else ew.Fmod).apply(a, b)


def _lerp(start: Tensor, end: Tensor, weight: Any) -> Tensor:
    """start + weight * (end - start); start, end (and a weight tensor with dimensions) need
    one floating dtype, as PyTorch."""
    _require_tensor("lerp", end)
    if start.array.dtype.kind != "f":
        raise NotImplementedError(f"\"lerp_kernel_scalar\" not implemented for "
                                  f"'{_TORCH_NAMES[start.array.dtype.name]}'")
    for name, t in (("end", end), ("weight", weight)):
        if (isinstance(t, Tensor) and t.array.dtype != start.array.dtype
                and (name == "end" or t.ndim)):
            raise RuntimeError(f"lerp: expected dtype {_C_NAMES[start.array.dtype.name]} for "
                               f"`{name}` but got dtype {_C_NAMES[t.array.dtype.name]}")
    if isinstance(weight, Tensor):
        weight = weight.to(start.dtype)
    else:
        weight = _coerce(weight, start.array.dtype, start)
    _check_broadcast("lerp", start.shape, end.shape, weight.shape)
    return ew.Lerp.apply(start, end, weight)


@backend.on_device_of_args
def _bitwise(a: Any, b: Any, op: str) -> Tensor:
    """bitwise_and / or / xor (no gradient): integers and bools only, as PyTorch."""
    a, b = _checked_pair(a, b, op)
    autograd._check_same_device(op, (a, b))  # no Function here to check it
    if a.array.dtype.kind == "f":
        raise NotImplementedError(f"\"{op}\" not implemented for "
                                  f"'{_TORCH_NAMES[a.array.dtype.name]}'")
    return _no_grad_result(getattr(get_array_module(a.array), op)(a.array, b.array))


def _with_out(name: str) -> Callable[..., Tensor]:
    """tg.<name>(input, *args, out=None, **kwargs): the method `name` of `input` (a Tensor,
    PyTorch's TypeError otherwise), written into `out` when it is given."""
    method = getattr(Tensor, name)

    def fn(input: Tensor, *args: Any, out: Tensor | None = None, **kwargs: Any) -> Tensor:  # noqa: A002
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not "
                            f"{_type_name(input)}")
        return _into_out(name, lambda: method(input, *args, **kwargs), (input,) + args, out)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = method.__doc__
    return fn


log1p, expm1, log2, log10 = (_with_out(n) for n in ("log1p", "expm1", "log2", "log10"))
exp2, sinh, cosh, tan = (_with_out(n) for n in ("exp2", "sinh", "cosh", "tan"))
asin, acos, atan = (_with_out(n) for n in ("asin", "acos", "atan"))
asinh, acosh, atanh = (_with_out(n) for n in ("asinh", "acosh", "atanh"))
arcsin, arccos, arctan, arcsinh, arccosh, arctanh = asin, acos, atan, asinh, acosh, atanh
erf, erfc, erfinv = (_with_out(n) for n in ("erf", "erfc", "erfinv"))
lgamma, digamma, reciprocal = (_with_out(n) for n in ("lgamma", "digamma", "reciprocal"))
neg = negative = _with_out("neg")
floor, ceil, trunc, frac = (_with_out(n) for n in ("floor", "ceil", "trunc", "frac"))
fix = trunc
round = _with_out("round")  # noqa: A001 - tg.round(x, decimals=2), as torch.round
nan_to_num = _with_out("nan_to_num")
atan2, hypot, logaddexp = (_with_out(n) for n in ("atan2", "hypot", "logaddexp"))
arctan2 = atan2
fmod, lerp = _with_out("fmod"), _with_out("lerp")
clamp_min, clamp_max = _with_out("clamp_min"), _with_out("clamp_max")
isposinf, isneginf = _with_out("isposinf"), _with_out("isneginf")
logical_and, logical_or, logical_xor = (
    _with_out(n) for n in ("logical_and", "logical_or", "logical_xor"))
bitwise_and, bitwise_or, bitwise_xor, bitwise_not = (
    _with_out(n) for n in ("bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not"))


def isinf(input: Tensor) -> Tensor:  # noqa: A002
    """Where input is +inf or -inf (a bool tensor)."""
    _require_tensor("isinf", input)
    return input.isinf()


def isclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08,  # noqa: A002
            equal_nan: bool = False) -> Tensor:
    """Where |input - other| <= atol + rtol * |other| (see Tensor.isclose)."""
    _require_tensor("isclose", input)
    return input.isclose(other, rtol=rtol, atol=atol, equal_nan=equal_nan)


def xlogy(input: Any, other: Any, *, out: Tensor | None = None) -> Tensor:  # noqa: A002
    """input * ln(other), and 0 where input is 0; either may be a number."""
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError(f"xlogy(): expected a Tensor, got {_type_name(input)} and "
                        f"{_type_name(other)}")
    return _into_out("xlogy", lambda: ew.Xlogy.apply(*as_tensor_pair(
        input, other, "xlogy", true_div=True)), (input, other), out)


def remainder(input: Any, other: Any, *, out: Tensor | None = None) -> Tensor:  # noqa: A002
    """input - other * floor(input / other), Python's % (input may be a number)."""
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError(f"remainder(): expected a Tensor, got {_type_name(input)} and "
                        f"{_type_name(other)}")
    return _into_out("remainder", lambda: _modulo(input, other, "remainder"), (input, other),
                     out)


# --- issue 16: scatter and index writes ---
def _check_index_bounds(index: Tensor, size: int, axis: int,
                        error: type = RuntimeError) -> None:
    """PyTorch's error for an index outside [0, size) along `axis` (one read of the index)."""
    if index.numel() == 0:
        return
    low, high = int(index.array.min()), int(index.array.max())
    if low < 0 or high >= size:
        raise error(f"index {low if low < 0 else high} is out of bounds for dimension {axis} "
                    f"with size {size}")


# --- issue 16: sampling ---
def normal(mean: Any, std: Any = 1.0, size: Any = None, *, generator: Generator | None = None,
           out: Tensor | None = None, dtype: Any = None, layout: Any = None,
           device: Any = None, pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """Normal samples mean + std * z (z standard normal) in PyTorch's four forms: tensor mean
    and std (broadcast against each other), tensor mean and a float std, a float mean and
    tensor std, and float mean and std with `size` (then dtype, device, requires_grad apply).
    The samples are not differentiable with respect to mean and std (PyTorch's gradient of
    normal is zero; for reparameterised samples use mean + std * tg.randn_like(mean))."""
    mean_t, std_t = isinstance(mean, Tensor), isinstance(std, Tensor)
    if not mean_t and not std_t:
        if size is None:
            raise TypeError("normal() received an invalid combination of arguments - got "
                            "(float, float): a float mean and std need a size")
        if std < 0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
        sample = randn(*_shape_arg((size,), "normal"), generator=generator, dtype=dtype,
                       device=device)
        result = sample * std + mean if (mean, std) != (0, 1) else sample
        result = result.detach()
        if requires_grad:
            result.requires_grad_()
    else:
        if size is not None:
            raise TypeError("normal() received an invalid combination of arguments - got "
                            "(Tensor, Tensor, size=tuple): size only goes with a float mean "
                            "and std")
        ref = mean if mean_t else std
        for t in (mean, std):
            if isinstance(t, Tensor) and not t.is_floating_point():
                raise NotImplementedError(f"normal: not implemented for "
                                          f"'{_C_NAMES.get(t.dtype.name, t.dtype.name)}'")
        if mean_t and std_t:
            autograd._check_same_device("normal", (mean, std))
            kind = _promote(mean.dtype, std.dtype)
            shape = np.broadcast_shapes(tuple(mean.shape), tuple(std.shape))
        else:
            kind, shape = ref.dtype, tuple(ref.shape)
        if std_t:
            if std.numel() and bool((std.detach() < 0).any()):
                raise RuntimeError("normal expects all elements of std >= 0.0")
        elif std < 0:
            raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
        with autograd.no_grad():
            z = randn(*shape, generator=generator, dtype=kind, device=ref.device)
            result = (z * std + mean).to(kind)
    if out is not None:
        return out.copy_(result)
    return result


# the methods that take dim= (and keepdim=) where PyTorch also accepts axis= (and keepdims=)
for _name in ("sum", "mean", "var", "std", "amax", "amin", "max", "min", "argmax", "argmin",
              "logsumexp", "prod", "all", "any", "softmax", "log_softmax", "squeeze",
              "unsqueeze"):
    setattr(Tensor, _name, _numpy_keywords(getattr(Tensor, _name)))
cat = concatenate = _numpy_keywords(cat)
stack = _numpy_keywords(stack)


