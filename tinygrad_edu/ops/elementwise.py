"""Elementwise ops. Each is y = f(x) (or f(a, b) with NumPy broadcasting) and its
derivative; gradients of broadcast inputs are summed back by the engine, not here.

Backward passes are written with Tensor operations so they can themselves be
differentiated (create_graph=True). Masks such as `x > 0` are constants.
"""

from __future__ import annotations

import math
from typing import Any

from ..autograd import Function
from ..backend import get_array_module


def _const(like: Any, array: Any) -> Any:
    """Wrap a raw array as a constant Tensor (no grad)."""
    return type(like)._make(array)


class Cast(Function):
    """y = x converted to `dtype`.  dL/dx = dL/dy converted back to x's dtype."""

    saves_inputs = False

    def forward(self, x: Any, dtype: Any) -> Any:
        self.in_dtype = x.dtype
        return x.astype(dtype)

    def backward(self, g: Any) -> Any:
        return Cast.apply(g, dtype=self.in_dtype)


class Add(Function):
    """y = a + b.  dy/da = 1, dy/db = 1."""

    saves_inputs = False

    def forward(self, a: Any, b: Any) -> Any:
        return a + b

    def backward(self, g: Any) -> tuple:
        return g, g


class Sub(Function):
    """y = a - b.  dy/da = 1, dy/db = -1."""

    saves_inputs = False

    def forward(self, a: Any, b: Any) -> Any:
        return a - b

    def backward(self, g: Any) -> tuple:
        return g, (-g if self.needs_input_grad[1] else None)


class Mul(Function):
    """y = a * b.  dy/da = b, dy/db = a."""

    def reads_input(self, i: int) -> bool:  # each input is read for the other's gradient
        return self.needs_input_grad[1 - i]

    def forward(self, a: Any, b: Any) -> Any:
        return a * b

    def backward(self, g: Any) -> tuple:
        a, b = self.inputs
        return (g * b if self.needs_input_grad[0] else None,
                g * a if self.needs_input_grad[1] else None)


class Div(Function):
    """y = a / b.  dy/da = 1 / b, dy/db = -a / b^2."""

    def reads_input(self, i: int) -> bool:  # a only for b's gradient; b for both
        return i == 1 or self.needs_input_grad[1]

    def forward(self, a: Any, b: Any) -> Any:
        return a / b

    def backward(self, g: Any) -> tuple:
        a, b = self.inputs
        return (g / b if self.needs_input_grad[0] else None,
                -g * a / (b * b) if self.needs_input_grad[1] else None)


class Neg(Function):
    """y = -x.  dy/dx = -1."""

    saves_inputs = False

    def forward(self, x: Any) -> Any:
        return -x

    def backward(self, g: Any) -> Any:
        return -g


class PowScalar(Function):
    """y = x ** p for a Python number p.  dy/dx = p * x ** (p - 1)."""

    def forward(self, x: Any, exponent: float) -> Any:
        self.exponent = exponent
        return x ** exponent

    def backward(self, g: Any) -> Any:
        (x,) = self.inputs
        p = self.exponent
        if p == 0:  # y = 1 everywhere, also at x = 0 (and whatever g holds, as PyTorch)
            return _const(g, get_array_module(g.array).zeros(g.shape, dtype=g.dtype))
        if p == 1:
            return g
        if p == 2:
            return g * x * 2.0
        return g * p * x ** (p - 1)


class RPowScalar(Function):
    """y = c ** x for a Python number c.  dy/dx = y * log(c): NaN for c < 0; for c = 0, where
    y is 0 for x > 0 and 1 at x = 0, dy/dx = 0 for x >= 0 (and -inf for x < 0), as PyTorch."""

    def reads_input(self, i: int) -> bool:  # x only for the mask of c = 0
        return self.base == 0

    def forward(self, x: Any, base: float) -> Any:
        self.base = base
        self.log_base = math.log(base) if base > 0 else -math.inf if base == 0 else math.nan
        return base ** x

    def backward(self, g: Any) -> Any:
        grad = g * self.output() * self.log_base
        if self.base == 0:
            grad = Where.apply(_const(g, self.inputs[0].array >= 0), g.new_zeros(()), grad)
        return grad


def _integer_pow(a: Any, b: Any) -> Any:
    """a ** b for integer arrays, with PyTorch's results for b < 0 (where NumPy raises): the
    integer part of 1 / a ** -b, so 1 for a = 1, +-1 for a = -1 (even / odd b), else 0."""
    xp = get_array_module(a)
    positive = a ** xp.maximum(b, 0)
    if b.dtype.kind == "u":
        return positive
    negative = xp.where(a == 1, 1, xp.where(a == -1, 1 - 2 * (b % 2), 0))
    return xp.where(b < 0, negative, positive).astype(positive.dtype, copy=False)


class Pow(Function):
    """y = a ** b (both tensors).  dy/da = b * a ** (b - 1) (0 where b == 0, also at a == 0),
    dy/db = y * log(a) (0 where a == 0 and b >= 0), as PyTorch."""

    def forward(self, a: Any, b: Any) -> Any:
        if a.dtype.kind in "iu" and b.dtype.kind in "iu":
            return _integer_pow(a, b)
        return a ** b

    def backward(self, g: Any) -> tuple:
        a, b = self.inputs
        ga = gb = None
        if self.needs_input_grad[0]:  # b * a ** 1 where b == 0: 0, not 0 * 0 ** -1 = NaN
            exponent = Where.apply(_const(g, b.array == 0), g.new_ones(()), b - 1.0)
            ga = g * b * a ** exponent
        if self.needs_input_grad[1]:
            safe = (a.array == 0) & (b.array >= 0)
            if safe.any():  # log(1) = 0 there instead of log(0) = -inf
                log_a = Where.apply(_const(g, safe), g.new_ones(()), a).log()
            else:
                log_a = a.log()
            gb = g * self.output() * log_a
        return ga, gb


class Exp(Function):
    """y = e^x.  dy/dx = y."""

    saves_inputs = False  # its backward reads only its output

    def forward(self, x: Any) -> Any:
        return get_array_module(x).exp(x)

    def backward(self, g: Any) -> Any:
        return g * self.output()


class Log(Function):
    """y = ln x.  dy/dx = 1 / x."""

    def forward(self, x: Any) -> Any:
        return get_array_module(x).log(x)

    def backward(self, g: Any) -> Any:
        return g / self.inputs[0]


class Sqrt(Function):
    """y = sqrt(x).  dy/dx = 1 / (2 y)."""

    saves_inputs = False  # its backward reads only its output

    def forward(self, x: Any) -> Any:
        return get_array_module(x).sqrt(x)

    def backward(self, g: Any) -> Any:
        return g / (self.output() * 2.0)


def sign_or_zero(x: Any, dtype: Any) -> Any:
    """sign(x) as an array of `dtype`, 0 at 0 and at NaN (PyTorch's sgn in gradients)."""
    return (x > 0).astype(dtype) - (x < 0).astype(dtype)


class Abs(Function):
    """y = |x|.  dy/dx = sign(x) (0 at x = 0, and at NaN as PyTorch)."""

    def forward(self, x: Any) -> Any:
        return get_array_module(x).abs(x)

    def backward(self, g: Any) -> Any:
        return g * _const(g, sign_or_zero(self.inputs[0].array, g.dtype))


class Sin(Function):
    """y = sin x.  dy/dx = cos x."""

    def forward(self, x: Any) -> Any:
        return get_array_module(x).sin(x)

    def backward(self, g: Any) -> Any:
        return g * self.inputs[0].cos()


class Cos(Function):
    """y = cos x.  dy/dx = -sin x."""

    def forward(self, x: Any) -> Any:
        return get_array_module(x).cos(x)

    def backward(self, g: Any) -> Any:
        return -g * self.inputs[0].sin()


class Tanh(Function):
    """y = tanh x.  dy/dx = 1 - y^2."""

    saves_inputs = False  # its backward reads only its output

    def forward(self, x: Any) -> Any:
        return get_array_module(x).tanh(x)

    def backward(self, g: Any) -> Any:
        y = self.output()
        return g * (1.0 - y * y)


class Sigmoid(Function):
    """y = 1 / (1 + e^-x).  dy/dx = y (1 - y).

    Computed from z = e^-|x| (in (0, 1], so nothing overflows): y = 1 / (1 + z) for x >= 0 and
    y = z / (1 + z) for x < 0 (multiply top and bottom by e^x), each accurate to a few units in
    the last place over the whole range. (The tanh form 0.5 (tanh(x/2) + 1) loses everything
    to cancellation for x < 0: in float32 it is 0 from x = -17.5 on, where the true value is
    2.5e-8.)"""

    saves_inputs = False  # its backward reads only its output

    def forward(self, x: Any) -> Any:
        xp = get_array_module(x)
        z = xp.exp(-xp.abs(x))
        negative = x < 0  # the numerator z or 1, chosen arithmetically (faster than where())
        return (z * negative + ~negative) / (1 + z)

    def backward(self, g: Any) -> Any:
        y = self.output()
        return g * y * (1.0 - y)


class Relu(Function):
    """y = max(x, 0).  dy/dx = 0 where x <= 0, else 1 (so 1 at NaN, as PyTorch)."""

    def forward(self, x: Any) -> Any:
        return get_array_module(x).maximum(x, 0)  # not x * (x > 0), which gives -0.0

    def backward(self, g: Any) -> Any:
        x = self.inputs[0].array
        slope = ~(x <= 0)  # x > 0, or NaN
        return g * _const(g, slope.astype(x.dtype))


class LeakyRelu(Function):
    """y = x if x > 0 else slope * x.  dy/dx = 1 if x > 0 else slope."""

    def forward(self, x: Any, negative_slope: float = 0.01) -> Any:
        xp = get_array_module(x)
        self.scale = xp.where(x > 0, 1.0, negative_slope).astype(x.dtype)
        return x * self.scale

    def backward(self, g: Any) -> Any:
        return g * _const(g, self.scale)


class Clamp(Function):
    """y = min(max(x, low), high).  dy/dx = 1 where low <= x <= high, else 0."""

    def forward(self, x: Any, low: float | None = None, high: float | None = None) -> Any:
        xp = get_array_module(x)
        self.mask = xp.ones(x.shape, dtype=bool)
        if low is not None:
            self.mask &= x >= low
        if high is not None:
            self.mask &= x <= high
        return xp.clip(x, low, high).astype(x.dtype, copy=False)

    def backward(self, g: Any) -> Any:
        return g * _const(g, self.mask)


class Maximum(Function):
    """y = max(a, b) elementwise.  The gradient goes to the larger input; ties split it 1/2 each;
    where a or b is NaN (so y is NaN) both get all of it, as PyTorch."""

    def forward(self, a: Any, b: Any) -> Any:
        xp = get_array_module(a)
        tie = 0.5 * (a == b)
        self.share_a, self.share_b = tie + ~(a <= b), tie + ~(a >= b)
        return xp.maximum(a, b)

    def backward(self, g: Any) -> tuple:
        return (g * _const(g, self.share_a.astype(g.dtype)),
                g * _const(g, self.share_b.astype(g.dtype)))


class Minimum(Function):
    """y = min(a, b) elementwise.  The gradient goes to the smaller input; a tie splits it 1/2
    each; where a or b is NaN (so y is NaN) both get all of it, as PyTorch."""

    def forward(self, a: Any, b: Any) -> Any:
        xp = get_array_module(a)
        tie = 0.5 * (a == b)
        self.share_a, self.share_b = tie + ~(a >= b), tie + ~(a <= b)
        return xp.minimum(a, b)

    def backward(self, g: Any) -> tuple:
        return (g * _const(g, self.share_a.astype(g.dtype)),
                g * _const(g, self.share_b.astype(g.dtype)))


class Where(Function):
    """y = a where cond else b.  dy/da = cond, dy/db = not cond (cond gets no gradient)."""

    def forward(self, cond: Any, a: Any, b: Any) -> Any:
        return get_array_module(a).where(cond, a, b)

    def backward(self, g: Any) -> tuple:
        cond = self.inputs[0]
        zero = g.new_zeros(())
        return (None,
                Where.apply(cond, g, zero) if self.needs_input_grad[1] else None,
                Where.apply(cond, zero, g) if self.needs_input_grad[2] else None)

