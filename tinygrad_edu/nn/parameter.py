"""Parameter: a Tensor that a Module registers as something to learn.

Assigning a Parameter to an attribute of a Module (`self.weight = Parameter(...)`) is what
makes it appear in `module.parameters()`, and so in the optimizer and the state_dict.
"""

from __future__ import annotations

from typing import Any

from .. import backend
from ..tensor import Tensor


class Parameter(Tensor):
    """A leaf Tensor that requires grad (by default) and is registered by Modules.

    `Parameter(t)` shares `t`'s memory, as PyTorch does; `Parameter()` is an empty float32
    tensor. Operations on a Parameter give plain Tensors.
    """

    __slots__ = ()  # Tensor uses __slots__; a Parameter adds no state of its own

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        if data is None:
            array = backend.CPU.xp.empty((0,), dtype=backend.default_float_dtype)
        elif isinstance(data, Tensor):
            array = data.array  # shared, not copied
        else:
            array = Tensor(data).array
        self.array = array
        self._requires_grad = False
        self.grad = None
        self.grad_fn = None
        self._retains_grad = False
        self._hooks = {}
        # shared memory, so one count of in-place changes (as detach() shares it)
        self._version_counter = data._version_counter if isinstance(data, Tensor) else [0, 0]
        self._view_of = None
        if requires_grad:
            if not backend.is_floating(array.dtype):
                raise RuntimeError(f"Parameter: only floating point tensors can require "
                                   f"gradients, got dtype {array.dtype}; pass "
                                   f"requires_grad=False for an integer Parameter")
            self._requires_grad = True

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo: dict) -> Parameter:
        if id(self) in memo:
            return memo[id(self)]
        result = Parameter(self.detach().clone(), requires_grad=self.requires_grad)
        if self.grad is not None:
            result.grad = self.grad.detach().clone()
        memo[id(self)] = result
        return result
