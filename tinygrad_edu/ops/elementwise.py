"""Elementwise ops. Each is y = f(x) (or f(a, b) with NumPy broadcasting) and its
derivative; gradients of broadcast inputs are summed back by the engine, not here.

Backward passes are written with Tensor operations so they can themselves be
differentiated (create_graph=True). Masks such as `x > 0` are constants.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

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
        return g * _const(g, (~(x <= 0)).astype(x.dtype))  # slope 1 where x > 0 (or NaN)


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



# ---------------------------------------------------------------------------------------------
# issue 16: more elementwise math. Float functions get float inputs (tensor.py promotes
# integers); the special functions (erf ... polygamma) compute in float64 and round back.
# ---------------------------------------------------------------------------------------------
class Log1P(Function):
    """y = ln(1 + x), accurate for small x.  dy/dx = 1 / (1 + x)."""

    def forward(self, x: Any) -> Any:
        return get_array_module(x).log1p(x)

    def backward(self, g: Any) -> Any:
        return g / (self.inputs[0] + 1.0)


class Expm1(Function):
    """y = e^x - 1, accurate for small x.  dy/dx = y + 1."""

    saves_inputs = False

    def forward(self, x: Any) -> Any:
        return get_array_module(x).expm1(x)

    def backward(self, g: Any) -> Any:
        return g * (self.output() + 1.0)


class Log2(Function):
    """y = log2 x.  dy/dx = 1 / (x ln 2)."""

    def forward(self, x: Any) -> Any:
        return get_array_module(x).log2(x)

    def backward(self, g: Any) -> Any:
        return g / (self.inputs[0] * math.log(2.0))


class Log10(Function):
    """y = log10 x.  dy/dx = 1 / (x ln 10)."""

    def forward(self, x: Any) -> Any:
        return get_array_module(x).log10(x)

    def backward(self, g: Any) -> Any:
        return g / (self.inputs[0] * math.log(10.0))


class Exp2(Function):
    """y = 2^x.  dy/dx = y ln 2."""

    saves_inputs = False

    def forward(self, x: Any) -> Any:
        return get_array_module(x).exp2(x)

    def backward(self, g: Any) -> Any:
        return g * self.output() * math.log(2.0)


class Sinh(Function):
    """y = sinh x.  dy/dx = cosh x."""

    def forward(self, x: Any) -> Any:
        return get_array_module(x).sinh(x)

    def backward(self, g: Any) -> Any:
        return g * self.inputs[0].cosh()


class Cosh(Function):
    """y = cosh x.  dy/dx = sinh x."""

    def forward(self, x: Any) -> Any:
        return get_array_module(x).cosh(x)

    def backward(self, g: Any) -> Any:
        return g * self.inputs[0].sinh()


class Tan(Function):
    """y = tan x.  dy/dx = 1 + y^2."""

    saves_inputs = False

    def forward(self, x: Any) -> Any:
        return get_array_module(x).tan(x)

    def backward(self, g: Any) -> Any:
        y = self.output()
        return g * (y * y + 1.0)


class Asin(Function):
    """y = arcsin x.  dy/dx = 1 / sqrt(1 - x^2)."""

    def forward(self, x: Any) -> Any:
        return get_array_module(x).arcsin(x)

    def backward(self, g: Any) -> Any:
        x = self.inputs[0]
        return g / (1.0 - x * x).sqrt()


class Acos(Function):
    """y = arccos x.  dy/dx = -1 / sqrt(1 - x^2)."""

    def forward(self, x: Any) -> Any:
        return get_array_module(x).arccos(x)

    def backward(self, g: Any) -> Any:
        x = self.inputs[0]
        return -g / (1.0 - x * x).sqrt()


class Atan(Function):
    """y = arctan x.  dy/dx = 1 / (1 + x^2)."""

    def forward(self, x: Any) -> Any:
        return get_array_module(x).arctan(x)

    def backward(self, g: Any) -> Any:
        x = self.inputs[0]
        return g / (x * x + 1.0)


class Atan2(Function):
    """y = atan2(a, b), the angle of the point (b, a).  dy/da = b / (a^2 + b^2),
    dy/db = -a / (a^2 + b^2)."""

    def forward(self, a: Any, b: Any) -> Any:
        return get_array_module(a).arctan2(a, b)

    def backward(self, g: Any) -> tuple:
        a, b = self.inputs
        scale = g / (a * a + b * b)
        return (scale * b if self.needs_input_grad[0] else None,
                -scale * a if self.needs_input_grad[1] else None)


class Asinh(Function):
    """y = arsinh x.  dy/dx = 1 / sqrt(x^2 + 1)."""

    def forward(self, x: Any) -> Any:
        return get_array_module(x).arcsinh(x)

    def backward(self, g: Any) -> Any:
        x = self.inputs[0]
        return g / (x * x + 1.0).sqrt()


class Acosh(Function):
    """y = arcosh x (x >= 1).  dy/dx = 1 / sqrt((x - 1)(x + 1))."""

    def forward(self, x: Any) -> Any:
        return get_array_module(x).arccosh(x)

    def backward(self, g: Any) -> Any:
        x = self.inputs[0]
        return g / ((x - 1.0) * (x + 1.0)).sqrt()


class Atanh(Function):
    """y = artanh x (|x| < 1).  dy/dx = 1 / (1 - x^2)."""

    def forward(self, x: Any) -> Any:
        return get_array_module(x).arctanh(x)

    def backward(self, g: Any) -> Any:
        x = self.inputs[0]
        return g / (1.0 - x * x)


class Reciprocal(Function):
    """y = 1 / x.  dy/dx = -y^2."""

    saves_inputs = False

    def forward(self, x: Any) -> Any:
        return get_array_module(x).reciprocal(x)

    def backward(self, g: Any) -> Any:
        y = self.output()
        return -g * y * y


class Frac(Function):
    """y = x - trunc(x), the fractional part (with x's sign).  dy/dx = 1."""

    saves_inputs = False

    def forward(self, x: Any) -> Any:
        with np.errstate(invalid="ignore"):  # frac(inf) = inf - inf = NaN, as PyTorch
            return x - get_array_module(x).trunc(x)

    def backward(self, g: Any) -> Any:
        return g


class NanToNum(Function):
    """y = x with NaN, +inf and -inf replaced by `nan`, `posinf`, `neginf` (the infinities by
    the dtype's largest finite values when None).  dy/dx = 1 where x is finite, else 0."""

    def forward(self, x: Any, nan: float = 0.0, posinf: float | None = None,
                neginf: float | None = None) -> Any:
        return get_array_module(x).nan_to_num(x, copy=True, nan=nan, posinf=posinf,
                                               neginf=neginf)

    def backward(self, g: Any) -> Any:
        finite = get_array_module(g.array).isfinite(self.inputs[0].array)
        return g * _const(g, finite.astype(g.dtype))


class Hypot(Function):
    """y = sqrt(a^2 + b^2), without overflow for large a, b.  dy/da = a / y, dy/db = b / y."""

    def forward(self, a: Any, b: Any) -> Any:
        return get_array_module(a).hypot(a, b)

    def backward(self, g: Any) -> tuple:
        a, b = self.inputs
        scale = g / self.output()
        return (scale * a if self.needs_input_grad[0] else None,
                scale * b if self.needs_input_grad[1] else None)


class Logaddexp(Function):
    """y = ln(e^a + e^b), without overflow.  dy/da = sigmoid(a - b), dy/db = sigmoid(b - a)."""

    def forward(self, a: Any, b: Any) -> Any:
        return get_array_module(a).logaddexp(a, b)

    def backward(self, g: Any) -> tuple:
        a, b = self.inputs
        return (g * (a - b).sigmoid() if self.needs_input_grad[0] else None,
                g * (b - a).sigmoid() if self.needs_input_grad[1] else None)


class Xlogy(Function):
    """y = a ln b, and 0 where a = 0 (unless b is NaN).  dy/da = ln b (0 where a = 0 and
    b <= 0, as PyTorch), dy/db = a / b."""

    def forward(self, a: Any, b: Any) -> Any:
        xp = get_array_module(a)
        with np.errstate(divide="ignore", invalid="ignore"):  # ln 0 = -inf, ln(-1) = NaN
            product = a * xp.log(b)
        return xp.where((a == 0) & ~xp.isnan(b), 0, product).astype(product.dtype, copy=False)

    def backward(self, g: Any) -> tuple:
        a, b = self.inputs
        ga = gb = None
        if self.needs_input_grad[0]:
            undefined = _const(g, (a.array == 0) & (b.array <= 0))  # ln b is -inf or NaN there
            ga = Where.apply(undefined, g.new_zeros(()), Xlogy.apply(g, b))
        if self.needs_input_grad[1]:
            gb = g * a / b
        return ga, gb


def remainder_array(a: Any, b: Any) -> Any:
    """a - b * floor(a / b): the remainder with the divisor's sign, as PyTorch computes it
    (fmod, then + b where the signs differ: so -7.5 % 2.5 is -0.0, and -3 % inf is inf)."""
    xp = get_array_module(a)
    with np.errstate(invalid="ignore"):  # x % 0.0 = NaN
        r = xp.fmod(a, b)
    return xp.where((r != 0) & ((r < 0) != (b < 0)), r + b, r)


class Fmod(Function):
    """y = fmod(a, b) = a - b * trunc(a / b) (the dividend's sign).  dy/da = 1,
    dy/db = -trunc(a / b)."""

    def reads_input(self, i: int) -> bool:  # both only for b's gradient
        return self.needs_input_grad[1]

    def forward(self, a: Any, b: Any) -> Any:
        with np.errstate(invalid="ignore"):  # x fmod 0.0 = NaN
            return get_array_module(a).fmod(a, b)

    def backward(self, g: Any) -> tuple:
        a, b = self.inputs
        gb = None
        if self.needs_input_grad[1]:
            gb = -g * _const(g, get_array_module(g.array).trunc(a.array / b.array))
        return g, gb


class Remainder(Function):
    """y = a - b * floor(a / b) (Python's %, the divisor's sign).  dy/da = 1,
    dy/db = -floor(a / b)."""

    def reads_input(self, i: int) -> bool:  # both only for b's gradient
        return self.needs_input_grad[1]

    def forward(self, a: Any, b: Any) -> Any:
        return remainder_array(a, b)

    def backward(self, g: Any) -> tuple:
        a, b = self.inputs
        gb = None
        if self.needs_input_grad[1]:
            gb = -g * _const(g, get_array_module(g.array).floor(a.array / b.array))
        return g, gb


class Lerp(Function):
    """y = start + w (end - start) (as end - (end - start)(1 - w) for w >= 0.5, exact at
    w = 1).  dy/dstart = 1 - w, dy/dend = w, dy/dw = end - start."""

    def forward(self, start: Any, end: Any, weight: Any) -> Any:
        xp = get_array_module(start)
        diff = end - start
        return xp.where(xp.abs(weight) < 0.5, start + weight * diff,
                        end - diff * (1 - weight)).astype(start.dtype, copy=False)

    def backward(self, g: Any) -> tuple:
        start, end, w = self.inputs
        need = self.needs_input_grad
        return (g * (1.0 - w) if need[0] else None, g * w if need[1] else None,
                g * (end - start) if need[2] else None)


# --- the error function (W. J. Cody, "Rational Chebyshev approximations for the error
# function", Math. Comp. 23, 1969): three rational functions, highest power first ---------
_SQRT_PI = math.sqrt(math.pi)
_ERF_SMALL = (  # erf(x) = x P(x^2) / Q(x^2) for |x| <= 0.46875
    (1.85777706184603153e-1, 3.16112374387056560e0, 1.13864154151050156e2,
     3.77485237685302021e2, 3.20937758913846947e3),
    (1.0, 2.36012909523441209e1, 2.44024637934444173e2, 1.28261652607737228e3,
     2.84423683343917062e3))
_ERFC_MIDDLE = (  # erfc(y) = exp(-y^2) P(y) / Q(y) for 0.46875 <= y <= 4
    (2.15311535474403846e-8, 5.64188496988670089e-1, 8.88314979438837594e0,
     6.61191906371416295e1, 2.98635138197400131e2, 8.81952221241769090e2,
     1.71204761263407058e3, 2.05107837782607147e3, 1.23033935479799725e3),
    (1.0, 1.57449261107098347e1, 1.17693950891312499e2, 5.37181101862009858e2,
     1.62138957456669019e3, 3.29079923573345963e3, 4.36261909014324716e3,
     3.43936767414372164e3, 1.23033935480374942e3))
_ERFC_LARGE = (  # erfc(y) = exp(-y^2) (1/sqrt(pi) - z P(z) / Q(z)) / y, z = 1/y^2, y > 4
    (1.63153871373020978e-2, 3.05326634961232344e-1, 3.60344899949804439e-1,
     1.25781726111229246e-1, 1.60837851487422766e-2, 6.58749161529837803e-4),
    (1.0, 2.56852019228982242e0, 1.87295284992346047e0, 5.27905102951428412e-1,
     6.05183413124413191e-2, 2.33520497626869185e-3))
_ERF_SMALL_LIMIT = 0.46875


def _polynomial(coefficients: tuple, z: Any) -> Any:
    """c0 z^n + c1 z^(n-1) + ... + cn by Horner's rule."""
    result = coefficients[0]
    for c in coefficients[1:]:
        result = result * z + c
    return result


def _erf_small(x: Any) -> Any:
    """erf(x) for |x| <= 0.46875 (larger x are clipped: the caller does not use them)."""
    x = get_array_module(x).clip(x, -_ERF_SMALL_LIMIT, _ERF_SMALL_LIMIT)
    z = x * x
    return x * _polynomial(_ERF_SMALL[0], z) / _polynomial(_ERF_SMALL[1], z)


def _erfc_positive(y: Any) -> Any:
    """erfc(y) for y >= 0.46875 (smaller y are clipped: the caller does not use them)."""
    xp = get_array_module(y)
    y = xp.clip(y, _ERF_SMALL_LIMIT, 30.0)  # erfc(30) underflows to 0 already
    middle = _polynomial(_ERFC_MIDDLE[0], y) / _polynomial(_ERFC_MIDDLE[1], y)
    z = 1.0 / (y * y)
    large = (1.0 / _SQRT_PI - z * _polynomial(_ERFC_LARGE[0], z)
             / _polynomial(_ERFC_LARGE[1], z)) / y
    # exp(-y^2) as exp(-h^2) exp(-(y - h)(y + h)) with h = y rounded down to 1/16: no
    # rounding error of y * y is magnified by the exponential
    h = xp.trunc(y * 16.0) / 16.0
    return xp.exp(-h * h) * xp.exp(-(y - h) * (y + h)) * xp.where(y <= 4.0, middle, large)


def erf_array(x: Any) -> Any:
    """erf(x) for a float64 array."""
    xp = get_array_module(x)
    y = xp.abs(x)
    return xp.where(y <= _ERF_SMALL_LIMIT, _erf_small(x),
                    xp.sign(x) * (1.0 - _erfc_positive(y)))


def erfc_array(x: Any) -> Any:
    """erfc(x) = 1 - erf(x) for a float64 array, accurate also where it is tiny (large x)."""
    xp = get_array_module(x)
    y = xp.abs(x)
    tail = _erfc_positive(y)
    return xp.where(y <= _ERF_SMALL_LIMIT, 1.0 - _erf_small(x),
                    xp.where(x < 0, 2.0 - tail, tail))


def erfinv_array(y: Any) -> Any:
    """erfinv(y) for a float64 array: Winitzki's closed-form approximation (relative error
    about 2e-3), then Newton's method on erf(x) = |y|; where |y| >= 0.5 on the equivalent
    erfc(x) = 1 - |y| (exact), which keeps its relative accuracy as |y| nears 1."""
    xp = get_array_module(y)
    a = xp.clip(xp.abs(y), 0.0, 1.0 - 2.0 ** -53)  # |y| = 1 and |y| > 1: set at the end
    q = 1.0 - a
    log_term = xp.log1p(-a * a)
    t = 2.0 / (math.pi * 0.147) + log_term / 2.0
    x = xp.sqrt(xp.sqrt(t * t - log_term / 0.147) - t)
    near_one = a >= 0.5
    for _ in range(4):  # quadratic convergence: 2e-3 -> 4e-6 -> 2e-11 -> 1e-16
        residual = xp.where(near_one, q - erfc_array(x), erf_array(x) - a)
        x = x - residual / (2.0 / _SQRT_PI * xp.exp(-x * x))
    x = xp.where(xp.abs(y) == 1.0, math.inf, xp.where(xp.abs(y) > 1.0, math.nan, x))
    return xp.copysign(x, y)  # (NaN stays NaN)


# --- lgamma: Lanczos' approximation (g = 7, 9 terms), and Euler's reflection formula --------
_LANCZOS_G = 7.0
_LANCZOS = (0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313,
            -176.61502916214059, 12.507343278686905, -0.13857109526572012,
            9.9843695780195716e-6, 1.5056327351493116e-7)


def _sin_pi(x: Any) -> Any:
    """|sin(pi x)|, accurate also for large x and near the integers (where it is 0)."""
    xp = get_array_module(x)
    r = xp.abs(x - xp.round(x))  # in [0, 1/2], exact
    return xp.sin(math.pi * r)


def lgamma_array(x: Any) -> Any:
    """ln |Gamma(x)| for a float64 array: Lanczos for x >= 1/2, where
    Gamma(x) = sqrt(2 pi) t^(x - 1/2) e^-t A(x), t = x + g - 1/2,
    A(x) = c0 + sum_k ck / (x - 1 + k); for x < 1/2 the reflection formula
    ln |Gamma(x)| = ln(pi / |sin(pi x)|) - ln Gamma(1 - x). +inf at 0, -1, -2, ... and at
    +-inf, as PyTorch."""
    xp = get_array_module(x)
    reflect = x < 0.5
    z = xp.where(reflect, 1.0 - x, x) - 1.0
    series = _LANCZOS[0]
    for k, c in enumerate(_LANCZOS[1:], start=1):
        series = series + c / (z + k)
    t = z + _LANCZOS_G + 0.5
    with np.errstate(all="ignore"):  # infinities and the poles, replaced below
        lg = 0.5 * math.log(2 * math.pi) + (z + 0.5) * xp.log(t) - t + xp.log(series)
        result = xp.where(reflect, math.log(math.pi) - xp.log(_sin_pi(x)) - lg, lg)
    pole = reflect & (x == xp.floor(x))
    result = xp.where((x == 1.0) | (x == 2.0), 0.0, result)  # exactly, as Gamma(1) = Gamma(2) = 1
    return xp.where(pole | xp.isinf(x), math.inf, result)


# --- digamma and polygamma: the recurrence psi(x) = psi(x + 1) - 1/x up to x >= 12 + n, then
# the asymptotic series; the reflection formula for x < 1/2 ---------------------------------
_BERNOULLI = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6)  # B2 ... B14


def _cot_derivative(n: int) -> list:
    """Coefficients (lowest power first) of P_n with d^n/du^n cot u = P_n(cot u):
    P_0(c) = c and P_(k+1)(c) = -(1 + c^2) P_k'(c)."""
    p = [0.0, 1.0]
    for _ in range(n):
        dp = [i * p[i] for i in range(1, len(p))]
        p = [0.0] * (len(dp) + 2)
        for i, v in enumerate(dp):
            p[i] -= v
            p[i + 2] -= v
    return p


def polygamma_array(x: Any, n: int) -> Any:
    """psi^(n)(x), the n-th derivative of digamma psi = d/dx ln Gamma, for a float64 array.

    For x >= 1/2: psi^(n)(x) = psi^(n)(x + 1) + (-1)^(n+1) n! / x^(n+1) until x >= 12 + n,
    then the asymptotic series (-1)^(n+1) [(n-1)! / x^n + n! / (2 x^(n+1))
    + sum_k B_2k (2k+n-1)! / ((2k)! x^(2k+n))], with ln x - 1/(2x) - sum_k B_2k / (2k x^2k)
    for n = 0. For x < 1/2 the reflection formula
    psi^(n)(x) = (-1)^n psi^(n)(1 - x) - pi^(n+1) P_n(cot(pi x)) (see _cot_derivative).
    At the poles 0, -1, -2, ...: NaN (+inf for odd n)."""
    with np.errstate(all="ignore"):  # infinities, NaN and the poles: replaced at the end
        return _polygamma(x, n)


def _polygamma(x: Any, n: int) -> Any:
    xp = get_array_module(x)
    sign = -1.0 if n % 2 == 0 else 1.0  # (-1)^(n+1)
    reflect = x < 0.5
    t = xp.where(reflect, 1.0 - x, x)
    limit = 12.0 + n
    total = xp.zeros_like(t)
    for _ in range(int(limit)):  # t >= 1/2 gets to the limit in fewer steps than that
        below = t < limit
        total = total + below * (sign * math.factorial(n) / t ** (n + 1))
        t = t + below
    w = 1.0 / (t * t)
    coefficients = [b * math.factorial(2 * k + n - 1) / math.factorial(2 * k)
                    for k, b in enumerate(_BERNOULLI, start=1)]
    series = sign * w * _polynomial(tuple(reversed(coefficients)), w) / t ** n
    head = xp.log(t) if n == 0 else sign * math.factorial(n - 1) / t ** n
    psi = total + head + sign * math.factorial(n) / (2.0 * t ** (n + 1)) + series
    cot = 1.0 / xp.tan(math.pi * (x - xp.round(x)))  # cot(pi x), from x's distance to an int
    reflected = (-1.0) ** n * psi - math.pi ** (n + 1) * _polynomial(
        tuple(reversed(_cot_derivative(n))), cot)
    result = xp.where(reflect, reflected, psi)
    pole = reflect & (x == xp.round(x))
    return xp.where(pole, math.inf if n % 2 else math.nan, result)


def _in_float64(fn: Any, x: Any, *args: Any) -> Any:
    """fn on x as float64, rounded back to x's dtype (float32 / float16 special functions
    are computed in double precision: their approximations need it)."""
    return fn(x.astype("float64"), *args).astype(x.dtype, copy=False)


class Erf(Function):
    """y = erf x = 2/sqrt(pi) int_0^x e^(-t^2) dt.  dy/dx = 2/sqrt(pi) e^(-x^2)."""

    def forward(self, x: Any) -> Any:
        return _in_float64(erf_array, x)

    def backward(self, g: Any) -> Any:
        x = self.inputs[0]
        return g * (-x * x).exp() * (2.0 / _SQRT_PI)


class Erfc(Function):
    """y = erfc x = 1 - erf x.  dy/dx = -2/sqrt(pi) e^(-x^2)."""

    def forward(self, x: Any) -> Any:
        return _in_float64(erfc_array, x)

    def backward(self, g: Any) -> Any:
        x = self.inputs[0]
        return g * (-x * x).exp() * (-2.0 / _SQRT_PI)


class Erfinv(Function):
    """y = erfinv x, the inverse of erf on (-1, 1).  dy/dx = sqrt(pi)/2 e^(y^2)."""

    saves_inputs = False

    def forward(self, x: Any) -> Any:
        return _in_float64(erfinv_array, x)

    def backward(self, g: Any) -> Any:
        y = self.output()
        return g * (y * y).exp() * (_SQRT_PI / 2.0)


class Lgamma(Function):
    """y = ln |Gamma(x)|.  dy/dx = digamma(x)."""

    def forward(self, x: Any) -> Any:
        return _in_float64(lgamma_array, x)

    def backward(self, g: Any) -> Any:
        return g * Digamma.apply(self.inputs[0])


class Digamma(Function):
    """y = psi(x) = d/dx ln Gamma(x).  dy/dx = psi^(1)(x), the trigamma function. At x = 0
    it is -inf (+inf at -0.0) and NaN at the negative integers, as PyTorch."""

    def forward(self, x: Any) -> Any:
        xp = get_array_module(x)
        y = _in_float64(polygamma_array, x, 0)
        return xp.where(x == 0, xp.copysign(xp.asarray(math.inf, dtype=x.dtype), -x), y)

    def backward(self, g: Any) -> Any:
        return g * Polygamma.apply(self.inputs[0], n=1)


class Polygamma(Function):
    """y = psi^(n)(x), the n-th derivative of digamma.  dy/dx = psi^(n+1)(x)."""

    def forward(self, x: Any, n: int) -> Any:
        self.n = n
        return _in_float64(polygamma_array, x, n)

    def backward(self, g: Any) -> Any:
        return g * Polygamma.apply(self.inputs[0], n=self.n + 1)
