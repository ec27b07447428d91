"""tg.linalg: norms, inverses, determinants, solves and decompositions, as torch.linalg.

Every function takes batches of matrices (..., m, n): the last two dims are the matrix, the
leading ones a batch. The norms are compositions of Tensor ops; the others are the Functions
of ops/linalg.py (forward through NumPy's or CuPy's `linalg`, backward PyTorch's formulas in
Tensor ops), so gradients (also of gradients) follow on every device.

    A = tg.randn(3, 3, requires_grad=True)
    x = tg.linalg.solve(A, tg.ones(3))     # A x = 1
    Q, R = tg.linalg.qr(A)
    tg.linalg.det(A).backward()            # A.grad = det(A) A^-T
"""

from __future__ import annotations

import math
from typing import Any

from .. import backend
from ..ops import linalg as _ops
from ..ops.linalg import LinAlgError
from ..ops.reduce import normalize_dims
from ..tensor import Tensor, cat, matmul, return_types

__all__ = ["LinAlgError", "cholesky", "cross", "det", "diagonal", "eigh", "eigvalsh", "inv",
           "matmul", "matrix_norm", "matrix_power", "multi_dot", "norm", "qr", "slogdet", "solve",
           "svd", "svdvals", "vecdot", "vector_norm"]

_NUMBER = (int, float)


def _check_tensor(op: str, value: Any, name: str = "A", position: int = 1) -> None:
    """PyTorch's TypeError for an argument that is not a Tensor ("linalg.inv" -> linalg_inv())."""
    if not isinstance(value, Tensor):
        raise TypeError(f"{op.replace('.', '_')}(): argument '{name}' (position {position}) "
                        f"must be Tensor, not {type(value).__name__}")


def _with_dtype(op: str, x: Tensor, dtype: Any) -> Tensor:
    """x converted to `dtype` (a norm's dtype=), which may widen but never narrow x."""
    if dtype is None:
        return x
    target = backend.as_dtype(dtype)
    if target.kind != "f" or target.itemsize < x.array.dtype.itemsize:
        names = _ops._DTYPE_NAMES
        raise RuntimeError(f"{op}: the dtype of the input ({names[x.array.dtype.name]}) should "
                           f"be convertible without narrowing to the specified dtype "
                           f"({names.get(target.name, target.name)})")
    return x.to(target)


# ---------------------------------------------------------------------------------------------
# norms (compositions: their gradients are those of the ops they are made of)
# ---------------------------------------------------------------------------------------------
def vector_norm(x: Tensor, ord: float = 2, dim: Any = None, keepdim: bool = False,  # noqa: A002
                *, dtype: Any = None) -> Tensor:
    """(sum |x|^ord)^(1/ord) over `dim` (all elements when None): ord = 2 the Euclidean norm,
    1 the sum of |x|, inf / -inf the largest / smallest |x|, 0 the number of non-zeros.
    d/dx = sign(x) |x|^(ord-1) / norm^(ord-1) (x / norm for ord = 2; 0 where x = 0 and the
    norm is 0, as PyTorch)."""
    _check_tensor("linalg.vector_norm", x, "input")
    if not isinstance(ord, _NUMBER) or isinstance(ord, bool):
        raise TypeError(f"linalg_vector_norm(): argument 'ord' must be Number, not "
                        f"{type(ord).__name__}")
    _ops.check_float("linalg.vector_norm", x.array)
    x = _with_dtype("linalg.vector_norm", x, dtype)
    if isinstance(dim, list):
        dim = tuple(dim)
    if dim == ():  # no dims named: all of them, as PyTorch
        dim = None
    axes = normalize_dims(dim, x.ndim, "linalg.vector_norm")
    if (ord < 0 or math.isinf(ord)) and any(x.shape[a] == 0 for a in axes):
        raise RuntimeError(f"linalg.vector_norm cannot compute the {ord:g} norm on an empty "
                           "tensor because the operation does not have an identity")
    return x.norm(float(ord), dim=axes, keepdim=keepdim)


def matrix_norm(A: Tensor, ord: Any = "fro", dim: tuple[int, int] = (-2, -1),  # noqa: A002,N803
                keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    """A norm of each matrix (over the two dims `dim`): 'fro' sqrt(sum A_ij^2), 'nuc' the sum
    of the singular values, 2 / -2 the largest / smallest singular value, 1 / -1 the largest /
    smallest column sum of |A|, inf / -inf the largest / smallest row sum of |A|. Gradients
    as those of the ops used (svdvals for 'nuc' and +-2: distinct singular values)."""
    op = "linalg.matrix_norm"
    _check_tensor(op, A)
    if A.ndim < 2:
        raise RuntimeError(f"{op}: The input tensor A must have at least 2 dimensions.")
    _ops.check_float(op, A.array)
    A = _with_dtype(op, A, dtype)  # noqa: N806
    dims = tuple(dim) if isinstance(dim, (tuple, list)) else (dim,)
    if len(dims) != 2:
        raise RuntimeError(f"{op}: dim must be a 2-tuple. Got {' '.join(map(str, dims))}")
    d0, d1 = (normalize_dims(d, A.ndim, op)[0] for d in dims)
    if d0 == d1:
        raise RuntimeError(f"{op}: dims must be different. Got ({dims[0]}, {dims[1]})")
    if ord == "fro":
        return A.norm(2.0, dim=(d0, d1), keepdim=keepdim)
    if ord == "nuc" or (isinstance(ord, _NUMBER) and ord in (2, -2)):
        s = svdvals(A.movedim((d0, d1), (-2, -1)))
        out = s.sum(-1) if ord == "nuc" else s[..., 0] if ord == 2 else s[..., -1]
        if keepdim:
            out = out.unsqueeze(min(d0, d1)).unsqueeze(max(d0, d1))
        return out
    if isinstance(ord, _NUMBER) and not isinstance(ord, bool) and ord in (1, -1, math.inf,
                                                                            -math.inf):
        summed, picked = (d0, d1) if ord in (1, -1) else (d1, d0)
        sums = A.abs().sum(summed, keepdim=True)
        out = sums.amax(picked, keepdim=True) if ord > 0 else sums.amin(picked, keepdim=True)
        return out if keepdim else out.squeeze((d0, d1))
    raise RuntimeError(f"{op}: Order {ord} not supported.")


def norm(A: Tensor, ord: Any = None, dim: Any = None, keepdim: bool = False,  # noqa: A002,N803
         *, dtype: Any = None) -> Tensor:
    """A vector or a matrix norm, PyTorch's rules: a string ord is a matrix norm (over dim,
    default (0, 1)); a numeric ord is a matrix norm when dim has 2 dims (or is None for 2-D A),
    else a vector norm; ord=None is the 2-norm of the elements (over dim, all when None)."""
    _check_tensor("linalg.norm", A, "input")
    if isinstance(dim, int):
        dim = (dim,)
    if dim is not None:
        dim = tuple(dim)
        if len(dim) not in (1, 2):
            raise RuntimeError(f"linalg.norm: If dim is specified, it must be of length 1 or 2. "
                               f"Got {list(dim)}")
    elif ord is not None and A.ndim not in (1, 2):
        raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be "
                           f"1D or 2D. Got {A.ndim}D.")
    if isinstance(ord, str):
        return matrix_norm(A, ord, (0, 1) if dim is None else dim, keepdim, dtype=dtype)
    if ord is not None and (len(dim or ()) == 2 or (dim is None and A.ndim == 2)):
        return matrix_norm(A, ord, (0, 1) if dim is None else dim, keepdim, dtype=dtype)
    return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)


# ---------------------------------------------------------------------------------------------
# inverses, determinants, solves
# ---------------------------------------------------------------------------------------------
def inv(A: Tensor) -> Tensor:  # noqa: N803
    """A^-1 of each square matrix (..., n, n); LinAlgError where A is singular.
    dL/dA = -A^-T G A^-T."""
    _check_tensor("linalg.inv", A)
    return _ops.LinalgInv.apply(A)


def det(A: Tensor) -> Tensor:  # noqa: N803
    """det(A) of each square matrix (..., n, n).  dL/dA = g det(A) A^-T (the cofactors)."""
    _check_tensor("linalg.det", A)
    return _ops.LinalgDet.apply(A)


def slogdet(A: Tensor) -> Any:  # noqa: N803
    """(sign, logabsdet) of each square matrix: det(A) = sign * exp(logabsdet), without the
    overflow of det itself. d logabsdet / dA = A^-T; sign has no gradient."""
    _check_tensor("linalg.slogdet", A)
    sign, logabsdet = A.slogdet()
    return return_types.linalg_slogdet(sign, logabsdet)


def solve(A: Tensor, B: Tensor, *, left: bool = True) -> Tensor:  # noqa: N803
    """X with A X = B (left=True) or X A = B (left=False), A square (..., n, n); B (..., n, k)
    or a batch of vectors (..., n) (or (n,)); batch dims broadcast. LinAlgError where A is
    singular. dL/dB = A^-T G, dL/dA = -(dL/dB) X^T."""
    _check_tensor("linalg.solve", A)
    _check_tensor("linalg.solve", B, "B", 2)
    if A.ndim < 2:
        raise RuntimeError("linalg.solve: The input tensor A must have at least 2 dimensions.")
    vector = B.ndim == 1 or (B.ndim == A.ndim - 1 and tuple(B.shape) == tuple(A.shape[:-1]))
    if vector:
        B = B.unsqueeze(-1) if left else B.unsqueeze(-2)  # noqa: N806
    if left:
        X = _ops.LinalgSolve.apply(A, B)  # noqa: N806
    else:
        if B.ndim >= 2 and B.shape[-1] != A.shape[-1]:
            raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation "
                               f"XA = B ({A.shape[-2]}x{A.shape[-1]} and "
                               f"{'x'.join(map(str, B.shape[-2:]))})")
        X = _ops.solve_right(A, B)  # noqa: N806
    return X.squeeze(-1 if left else -2) if vector else X


def cholesky(A: Tensor, *, upper: bool = False) -> Tensor:  # noqa: N803
    """L (lower triangular) with A = L L^T for each symmetric positive-definite A (..., n, n);
    with upper=True, U = L^T (A = U^T U). Only the lower triangle of A is read.
    LinAlgError where A is not positive-definite."""
    _check_tensor("linalg.cholesky", A)
    lower = _ops.LinalgCholesky.apply(A)
    return lower.mT if upper else lower


# ---------------------------------------------------------------------------------------------
# decompositions
# ---------------------------------------------------------------------------------------------
def qr(A: Tensor, mode: str = "reduced") -> Any:  # noqa: N803
    """A = Q R for A (..., m, n), k = min(m, n): mode 'reduced' Q (..., m, k) R (..., k, n),
    'complete' Q (..., m, m) R (..., m, n), 'r' only R (Q is empty). Gradients as PyTorch's
    (not for 'complete' with m > n). For m < n, A = [A1 | A2] with A1 square: Q R1 = A1 and
    R = [R1 | Q^T A2], so the gradient comes from the square case by composition."""
    _check_tensor("linalg.qr", A)
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of "
                           "'reduced' (default), 'r', or 'complete'")
    _ops.check_matrices("linalg.qr", A.array, square=False)
    m, n = A.shape[-2], A.shape[-1]
    if m < n:
        Q, R1 = _ops.LinalgQr.apply(A[..., :m], "reduced")  # noqa: N806
        R = cat([R1, Q.mT @ A[..., m:]], -1)  # noqa: N806
    else:
        Q, R = _ops.LinalgQr.apply(A, "complete" if mode == "complete" else "reduced")  # noqa: N806
    if mode == "r":
        Q = A.new_zeros(0)  # noqa: N806
    return return_types.linalg_qr(Q, R)


def svd(A: Tensor, full_matrices: bool = True) -> Any:  # noqa: N803
    """A = U diag(S) Vh for A (..., m, n), S (..., k) descending, k = min(m, n): U (..., m, k)
    and Vh (..., k, n), or (..., m, m) and (..., n, n) with full_matrices. The gradient is
    defined for distinct singular values, for functions that do not depend on the sign of
    each pair (u_i, v_i) (see ops/linalg.py LinalgSvd)."""
    _check_tensor("linalg.svd", A)
    _ops.check_matrices("linalg.svd", A.array, square=False)
    return return_types.linalg_svd(*_ops.LinalgSvd.apply(A, bool(full_matrices)))


def svdvals(A: Tensor) -> Tensor:  # noqa: N803
    """The singular values of each matrix (..., m, n), descending.  dL/dA = U diag(g) V^T."""
    _check_tensor("linalg.svdvals", A)
    _ops.check_matrices("linalg.svd", A.array, square=False)
    return _ops.LinalgSvd.apply(A, False)[1]


def _check_uplo(UPLO: str) -> None:  # noqa: N803
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")


def eigh(A: Tensor, UPLO: str = "L") -> Any:  # noqa: N803
    """(eigenvalues ascending, eigenvectors as columns) of each symmetric matrix (..., n, n),
    reading its lower (UPLO='L') or upper ('U') triangle. The gradient is defined for
    distinct eigenvalues, for functions that do not depend on each eigenvector's sign."""
    _check_tensor("linalg.eigh", A)
    _check_uplo(UPLO)
    _ops.check_matrices("linalg.eigh", A.array)
    return return_types.linalg_eigh(*_ops.LinalgEigh.apply(A, UPLO))


def eigvalsh(A: Tensor, UPLO: str = "L") -> Tensor:  # noqa: N803
    """The eigenvalues (ascending) of each symmetric matrix.  dL/dA = V diag(g) V^T."""
    _check_tensor("linalg.eigvalsh", A)
    _check_uplo(UPLO)
    _ops.check_matrices("linalg.eigh", A.array)
    return _ops.LinalgEigh.apply(A, UPLO)[0]


# ---------------------------------------------------------------------------------------------
# products and views that torch.linalg also names
# ---------------------------------------------------------------------------------------------
def vecdot(x: Tensor, y: Tensor, *, dim: int = -1) -> Tensor:
    """sum(x * y) along dim (batch dims broadcast)."""
    _check_tensor("linalg.vecdot", x, "x")
    _check_tensor("linalg.vecdot", y, "y", 2)
    return (x * y).sum(dim)


def cross(input: Tensor, other: Tensor, *, dim: int = -1) -> Tensor:  # noqa: A002
    """The cross product of 3-vectors along dim (default the last), batch dims broadcast."""
    _check_tensor("linalg.cross", input, "input")
    _check_tensor("linalg.cross", other, "other", 2)
    return input.cross(other, dim)


def diagonal(A: Tensor, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:  # noqa: N803
    """The diagonal A[..., i, i + offset] of each matrix, as a last dim."""
    _check_tensor("linalg.diagonal", A)
    return A.diagonal(offset, dim1, dim2)


def matrix_power(A: Tensor, n: int) -> Tensor:  # noqa: N803
    """A^n for each square matrix (..., m, m): n matrix products by repeated squaring; n = 0
    the identity, n < 0 the power of inv(A) (LinAlgError where A is singular)."""
    _check_tensor("linalg.matrix_power", A)
    if not isinstance(n, int) or isinstance(n, bool):
        raise TypeError(f"linalg_matrix_power(): argument 'n' (position 2) must be int, not "
                        f"{type(n).__name__}")
    if A.ndim < 2:
        raise RuntimeError("linalg.matrix_power: The input tensor A must have at least 2 "
                           "dimensions.")
    if A.shape[-1] != A.shape[-2]:
        raise RuntimeError(f"linalg.matrix_power: A must be batches of square matrices, but "
                           f"they are {A.shape[-2]} by {A.shape[-1]} matrices")
    if n == 0:
        return A.new_zeros(A.shape) + A.new_ones(A.shape[-1]).diag()
    base = inv(A) if n < 0 else A
    result, n = None, abs(n)
    while n:  # the binary digits of n: base, base^2, base^4, ... where the digit is 1
        if n & 1:
            result = base if result is None else result @ base
        n >>= 1
        if n:
            base = base @ base
    return result


def multi_dot(tensors: Any) -> Tensor:
    """tensors[0] @ tensors[1] @ ... (2-D, the first and the last may be 1-D vectors)."""
    tensors = list(tensors)
    if len(tensors) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    last = len(tensors) - 1
    for i, x in enumerate(tensors):
        _check_tensor("linalg.multi_dot", x, f"tensors[{i}]")
        if i in (0, last) and x.ndim not in (1, 2):
            raise RuntimeError(f"multi_dot(): the {'first' if i == 0 else 'last'} tensor must "
                               f"be 1D or 2D but got {x.ndim}D")
        if 0 < i < last and x.ndim != 2:
            raise RuntimeError(f"multi_dot(): tensor {i} must be 2D but got {x.ndim}D")
    out = tensors[0]
    for x in tensors[1:]:
        out = out @ x
    return out
