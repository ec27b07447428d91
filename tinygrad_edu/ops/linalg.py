"""Matrix products, and the linear algebra of tg.linalg (inverses, solves, decompositions)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Function, is_grad_enabled
from ..backend import get_array_module


def _matmul_error(a: tuple, b: tuple) -> ValueError:
    """Why NumPy refused a @ b, in PyTorch's words, naming the shapes."""
    if not a or not b:
        return ValueError(f"matmul: both arguments need at least 1 dimension, got shapes "
                          f"{tuple(a)} and {tuple(b)}")
    ka, kb = a[-1], b[0] if len(b) == 1 else b[-2]
    if ka != kb:
        return ValueError(f"matmul: shapes {tuple(a)} and {tuple(b)} cannot be multiplied "
                          f"({ka} != {kb})")
    return ValueError(f"matmul: batch dimensions of {tuple(a)} and {tuple(b)} cannot be "
                      "broadcast together")


class Matmul(Function):
    """y = a @ b (NumPy's matmul rules: 1-D operands, batch dims broadcast).
    dL/da = g @ b^T,  dL/db = a^T @ g  (transposing the last two dims; batch dims that were
    broadcast are summed back by the engine)."""

    def reads_input(self, i: int) -> bool:  # each input is read for the other's gradient
        return self.needs_input_grad[1 - i]

    def forward(self, a: Any, b: Any) -> Any:
        try:
            return a @ b
        except ValueError:
            raise _matmul_error(a.shape, b.shape) from None

    def backward(self, g: Any) -> tuple:
        a, b = self.inputs
        need_a, need_b = self.needs_input_grad
        if a.ndim == 1 and b.ndim == 1:  # dot product: g is a scalar
            return (g * b if need_a else None), (g * a if need_b else None)
        if a.ndim == 1:  # a acts as a (1, k) row
            g2 = g.unsqueeze(-2)
            ga = (g2 @ b.mT).squeeze(-2) if need_a else None
            gb = a.unsqueeze(-1) * g2 if need_b else None
            return ga, gb
        if b.ndim == 1:  # b acts as a (k, 1) column
            g2 = g.unsqueeze(-1)
            ga = g2 * b if need_a else None
            gb = (a.mT @ g2).squeeze(-1) if need_b else None
            return ga, gb
        return (g @ b.mT if need_a else None), (a.mT @ g if need_b else None)


# ---------------------------------------------------------------------------------------------
# tg.linalg (issue 16): inverses, determinants, solves and decompositions of square or
# rectangular matrices, batched over leading dims (..., m, n). Forward calls `xp.linalg` (NumPy
# or CuPy); each backward is PyTorch's formula written in Tensor ops, so create_graph works.
# Decompositions with several outputs (qr, svd, eigh) are Functions in PyTorch's style
# (forward(ctx, ...) / backward(ctx, *grads)), the library's way to return several tensors.
# ---------------------------------------------------------------------------------------------
class LinAlgError(RuntimeError):
    """The values make a linalg problem unsolvable: a singular matrix for inv / solve, one that
    is not positive-definite for cholesky (PyTorch's torch.linalg.LinAlgError)."""


_DTYPE_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "int64": "Long",
                "int32": "Int", "uint8": "Byte", "bool": "Bool"}


def check_matrices(op: str, a: Any, square: bool = True) -> None:
    """PyTorch's checks of a linalg input: a float32/float64 array of (batches of) matrices,
    square ones where `square`."""
    if a.ndim < 2:
        raise RuntimeError(f"{op}: The input tensor A must have at least 2 dimensions.")
    check_float(op, a)
    if square and a.shape[-1] != a.shape[-2]:
        raise RuntimeError(f"{op}: A must be batches of square matrices, but they are "
                           f"{a.shape[-2]} by {a.shape[-1]} matrices")


def check_float(op: str, a: Any) -> None:
    name = _DTYPE_NAMES.get(a.dtype.name, a.dtype.name)
    if a.dtype.kind != "f":
        raise RuntimeError(f"{op}: Expected a floating point or complex tensor as input. "
                           f"Got {name}")
    if a.dtype.itemsize < 4:
        raise RuntimeError(f'"{op}" not implemented for \'{name}\'')


def checked(op: str, message: str, compute: Any, *arrays: Any) -> Any:
    """compute(*arrays) (an xp.linalg call), raising LinAlgError(`message`) where it fails on
    finite input: NumPy raises its own LinAlgError there, CuPy returns inf or NaN. In a batch,
    the message names the first matrix that failed, as PyTorch's does."""
    xp = get_array_module(arrays[0])

    def run(*parts: Any) -> Any:
        """compute(*parts), or None where it failed."""
        try:
            with np.errstate(all="ignore"):
                out = compute(*parts)
        except xp.linalg.LinAlgError:
            return None
        if bool(xp.isfinite(out).all()) or not all(bool(xp.isfinite(p).all()) for p in parts):
            return out  # (NaN or inf in, NaN or inf out: no error, as PyTorch)
        return None
    out = run(*arrays)
    if out is not None:
        return out
    batch = arrays[0].shape[:-2]
    first = next((k for k, index in enumerate(np.ndindex(*batch))
                  if run(*(a[index] for a in arrays)) is None), None) if batch else None
    where = "" if first is None else f"(Batch element {first}): "
    raise LinAlgError(f"{op}: {where}{message}")


def eye_like(t: Any, n: int) -> Any:
    """The n x n identity as a constant Tensor of t's dtype (made in a backward: on the
    gradient's device)."""
    return type(t)._make(get_array_module(t.array).eye(n, dtype=t.dtype))


def diag_embed(v: Any) -> Any:
    """Matrices (..., n, n) with v (..., n) on their diagonal (differentiable in v)."""
    return v.unsqueeze(-1) * eye_like(v, v.shape[-1])


def solve_right(a: Any, b: Any) -> Any:
    """X with X A = B (Tensors): X = (A^-T B^T)^T."""
    return LinalgSolve.apply(a.mT, b.mT).mT


class LinalgInv(Function):
    """Y = A^-1 for each square matrix A of a batch (..., n, n).
    dY = -Y dA Y, so dL/dA = -Y^T G Y^T."""

    saves_inputs = False  # backward reads only the output

    def forward(self, a: Any) -> Any:
        check_matrices("linalg.inv", a)
        xp = get_array_module(a)
        return checked("linalg.inv", "The diagonal element is zero, the inversion could not be "
                       "completed because the input matrix is singular.", xp.linalg.inv, a)

    def backward(self, g: Any) -> Any:
        yt = self.output().mT
        return -(yt @ g @ yt)


class LinalgDet(Function):
    """d = det(A) for each square matrix of a batch (..., n, n).
    dd/dA = cof(A) = d A^-T (Jacobi's formula), so dL/dA = g d A^-T. Where A is singular A^-1
    does not exist; the cofactor matrix is then taken from the SVD A = U S V^T:
    cof(A) = det(U) det(V) U diag(prod_{j != i} s_j) V^T (that branch is a constant: no
    second derivative at singular matrices)."""

    def forward(self, a: Any) -> Any:
        check_matrices("linalg.det", a)
        return get_array_module(a).linalg.det(a)

    def backward(self, g: Any) -> Any:
        (a,) = self.inputs
        d = self.output()
        xp = get_array_module(a.array)
        scale = (g * d).unsqueeze(-1).unsqueeze(-1)
        if bool((d.array != 0).all()):
            return scale * LinalgInv.apply(a).mT
        u, s, vh = xp.linalg.svd(a.array)
        ones = xp.ones(s.shape[:-1] + (1,), dtype=s.dtype)
        left = xp.cumprod(xp.concatenate([ones, s[..., :-1]], axis=-1), axis=-1)
        right = xp.cumprod(xp.concatenate([ones, s[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
        signs = xp.linalg.det(u) * xp.linalg.det(vh)
        cof = signs[..., None, None] * ((u * (left * right)[..., None, :]) @ vh)
        return g.unsqueeze(-1).unsqueeze(-1) * type(g)._make(cof)


class LinalgSlogdet(Function):
    """log|det(A)| for each square matrix of a batch (the `logabsdet` of slogdet; its `sign`
    is piecewise constant). d log|det A| / dA = A^-T, so dL/dA = g A^-T."""

    def forward(self, a: Any) -> Any:
        check_matrices("linalg.slogdet", a)
        return get_array_module(a).linalg.slogdet(a)[1]

    def backward(self, g: Any) -> Any:
        return g.unsqueeze(-1).unsqueeze(-1) * LinalgInv.apply(self.inputs[0]).mT


class LinalgSolve(Function):
    """X = A^-1 B: the solution of A X = B for square A (..., n, n) and B (..., n, k), batch
    dims broadcast. dX = A^-1 (dB - dA X), so dL/dB = A^-T G (a solve with A^T) and
    dL/dA = -(dL/dB) X^T."""

    def reads_input(self, i: int) -> bool:  # B itself is not needed (X is the output)
        return i == 0

    def forward(self, a: Any, b: Any) -> Any:
        check_matrices("linalg.solve", a)
        check_float("linalg.solve", b)
        if a.dtype != b.dtype:
            raise RuntimeError(f"linalg.solve: Expected A and B to have the same dtype, but "
                               f"found A of type {_DTYPE_NAMES[a.dtype.name]} and B of type "
                               f"{_DTYPE_NAMES[b.dtype.name]} instead")
        if b.ndim < 2 or b.shape[-2] != a.shape[-1]:
            raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation "
                               f"AX = B ({a.shape[-2]}x{a.shape[-1]} and "
                               f"{'x'.join(map(str, b.shape[-2:]))})")
        try:
            batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        except ValueError:
            raise RuntimeError(f"linalg.solve: the batch dims of A {tuple(a.shape)} and B "
                               f"{tuple(b.shape)} cannot be broadcast together") from None
        xp = get_array_module(a)
        a = xp.ascontiguousarray(xp.broadcast_to(a, batch + a.shape[-2:]))
        b = xp.ascontiguousarray(xp.broadcast_to(b, batch + b.shape[-2:]))
        return checked("torch.linalg.solve", "The solver failed because the input matrix is "
                       "singular.", xp.linalg.solve, a, b)

    def backward(self, g: Any) -> tuple:
        a = self.inputs[0]
        gb = LinalgSolve.apply(a.mT, g)
        ga = -(gb @ self.output().mT) if self.needs_input_grad[0] else None
        return ga, (gb if self.needs_input_grad[1] else None)


class LinalgCholesky(Function):
    """L, lower triangular with a positive diagonal, such that A = L L^T (A symmetric
    positive-definite, (..., n, n); only its lower triangle is read).
    With P = tril(L^T G) and Phi = (P + tril(P, -1)^T) / 2 (symmetric),
    dL/dA = L^-T Phi L^-1 (PyTorch's formula: a symmetric gradient)."""

    saves_inputs = False  # backward reads only the output

    def forward(self, a: Any) -> Any:
        check_matrices("linalg.cholesky", a)
        xp = get_array_module(a)

        def factor(a: Any) -> Any:  # NaN where a pivot is not positive (CuPy does not raise)
            lower = xp.linalg.cholesky(a)
            good = (xp.diagonal(lower, axis1=-2, axis2=-1) > 0).all(axis=-1)
            return xp.where(good[..., None, None], lower, xp.nan)
        return checked("linalg.cholesky", "The factorization could not be completed because "
                       "the input is not positive-definite.", factor, a)

    def backward(self, g: Any) -> Any:
        lower = self.output()
        p = (lower.mT @ g).tril()
        phi = (p + p.tril(-1).mT) * 0.5
        return solve_right(lower, LinalgSolve.apply(lower.mT, phi))


def _decomposition(ctx: Any, cls: type, option: Any) -> tuple:
    """The outputs of a decomposition, for its backward. Where that backward is itself
    differentiated (create_graph), the factors must be functions of A: the ones the caller
    dropped (S, when only U and Vh were used) would come back as constants, so the
    decomposition is run again on A, recorded (the same values: the same input)."""
    a, *factors = ctx.saved_tensors
    if is_grad_enabled() and a.requires_grad:
        return cls.apply(a, option)
    return tuple(factors)


class LinalgQr(Function):
    """A = Q R for A (..., m, n) with m >= n: Q (..., m, k) with orthonormal columns and R
    (..., k, n) upper triangular (k = n for mode 'reduced', m for 'complete'). PyTorch's
    gradient (reduced mode, or complete with m == n): with M = G_R R^T - Q^T G_Q and
    copyltu(M) = triu(M) + triu(M, 1)^T,  dL/dA = (G_Q + Q copyltu(M)) R^-T.
    (linalg.qr reduces m < n to this case by composition: see tg.linalg.qr.)"""

    @staticmethod
    def forward(ctx: Any, a: Any, mode: str) -> tuple:
        xp = get_array_module(a.array)
        q, r = xp.linalg.qr(a.array, mode=mode)
        q, r = type(a)._make(q), type(a)._make(r)
        ctx.save_for_backward(a, q, r)
        ctx.mode = mode
        return q, r

    @staticmethod
    def backward(ctx: Any, gq: Any, gr: Any) -> tuple:
        q, r = _decomposition(ctx, LinalgQr, ctx.mode)
        if q.shape[-1] != r.shape[-1]:
            raise RuntimeError("The QR decomposition is not differentiable when "
                               "mode='complete' and nrows > ncols.")
        m = gr @ r.mT - q.mT @ gq
        upper = m.triu()
        y = gq + q @ (upper + upper.triu(1).mT)
        return solve_right(r.mT, y), None


class LinalgSvd(Function):
    """A = U diag(S) V^T for A (..., m, n), S (..., k) descending (k = min(m, n)).
    PyTorch's gradient, for distinct non-zero singular values (U and V are defined up to the
    sign of each pair of columns; only functions that do not depend on those signs have a
    gradient). With E_jk = S_k^2 - S_j^2 (1 on the diagonal), skew(X) = X - X^T:
      inner = (skew(U^T G_U) S + S skew(V^T G_V)) / E + diag(G_S)
      dL/dA = U inner V^T  (+ (I - U U^T) G_U S^-1 V^T  for m > n,
                            + U S^-1 G_V^T (I - V V^T)  for m < n).
    With full_matrices, only the first k columns of U (rows of V^T) carry a gradient."""

    @staticmethod
    def forward(ctx: Any, a: Any, full_matrices: bool) -> tuple:
        xp = get_array_module(a.array)
        u, s, vh = xp.linalg.svd(a.array, full_matrices=full_matrices)
        u, s, vh = type(a)._make(u), type(a)._make(s), type(a)._make(vh)
        ctx.save_for_backward(a, u, s, vh)
        ctx.full_matrices = full_matrices
        ctx.set_materialize_grads(False)  # None for an output that was not used
        return u, s, vh

    @staticmethod
    def backward(ctx: Any, gu: Any, gs: Any, gvh: Any) -> tuple:
        u, s, vh = _decomposition(ctx, LinalgSvd, ctx.full_matrices)
        m, n, k = u.shape[-2], vh.shape[-1], s.shape[-1]
        u, vh = u[..., :k], vh[..., :k, :]
        gu = None if gu is None else gu[..., :k]
        gvh = None if gvh is None else gvh[..., :k, :]
        if gu is None and gvh is None:
            inner = diag_embed(gs)
        else:
            s2 = s * s
            e = s2.unsqueeze(-2) - s2.unsqueeze(-1) + eye_like(s, k)
            inner = 0
            if gu is not None:
                uhgu = u.mT @ gu
                inner = (uhgu - uhgu.mT) * s.unsqueeze(-2)
            if gvh is not None:
                vhgv = vh @ gvh.mT
                inner = inner + s.unsqueeze(-1) * (vhgv - vhgv.mT)
            inner = inner / e
            if gs is not None:
                inner = inner + diag_embed(gs)
        if m > n and gu is not None:
            gu_sinv = gu / s.unsqueeze(-2)
            ga = (u @ inner + gu_sinv - u @ (u.mT @ gu_sinv)) @ vh
        elif m < n and gvh is not None:
            sinv_gvh = gvh / s.unsqueeze(-1)
            ga = u @ (inner @ vh + sinv_gvh - (sinv_gvh @ vh.mT) @ vh)
        else:
            ga = u @ inner @ vh
        return ga, None


class LinalgEigh(Function):
    """A = V diag(L) V^T for symmetric A (..., n, n) (only the UPLO triangle is read), L
    ascending. PyTorch's gradient, for distinct eigenvalues (each column of V is defined up to
    its sign): with E_jk = L_k - L_j (1 on the diagonal),
      dL/dA = V ((V^T G_V - G_V^T V) / 2 / E + diag(G_L)) V^T  (symmetric)."""

    @staticmethod
    def forward(ctx: Any, a: Any, uplo: str) -> tuple:
        xp = get_array_module(a.array)
        w, v = xp.linalg.eigh(a.array, UPLO=uplo)
        w, v = type(a)._make(w), type(a)._make(v)
        ctx.save_for_backward(a, w, v)
        ctx.uplo = uplo
        ctx.set_materialize_grads(False)
        return w, v

    @staticmethod
    def backward(ctx: Any, gw: Any, gv: Any) -> tuple:
        w, v = _decomposition(ctx, LinalgEigh, ctx.uplo)
        if gv is None:
            inner = diag_embed(gw)
        else:
            vhgv = v.mT @ gv
            e = w.unsqueeze(-2) - w.unsqueeze(-1) + eye_like(w, w.shape[-1])
            inner = (vhgv - vhgv.mT) * 0.5 / e
            if gw is not None:
                inner = inner + diag_embed(gw)
        return v @ inner @ v.mT, None
