"""Issue 16, tg.linalg: norms, inv / det / slogdet / solve / cholesky, qr / svd / eigh and the
aliases. Forward against NumPy, float64 gradchecks (and second derivatives), errors as
PyTorch's, on every device; PyTorch as an optional reference for values and gradients."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_edu as tg
from tinygrad_edu.autograd import gradcheck, gradgradcheck

RNG = np.random.default_rng(2026)


def randn(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape)


def spd(*shape: int) -> np.ndarray:
    """Symmetric positive-definite matrices (..., n, n)."""
    x = randn(*shape)
    return x @ np.swapaxes(x, -1, -2) + shape[-1] * np.eye(shape[-1])


def arr(x: tg.Tensor) -> np.ndarray:
    return tg.backend.to_numpy(x.detach().array)


def t(array, device, requires_grad=False, dtype=tg.float64):
    return tg.tensor(array, device=device, requires_grad=requires_grad, dtype=dtype)


def close(ours: tg.Tensor, expected, rtol: float = 1e-9, atol: float = 1e-10) -> None:
    expected = np.asarray(expected)
    assert tuple(ours.shape) == expected.shape
    np.testing.assert_allclose(arr(ours), expected, rtol=rtol, atol=atol)


L = tg.linalg


# ---------------------------------------------------------------------------------------------
# forward against NumPy
# ---------------------------------------------------------------------------------------------
def test_inv_det_slogdet_match_numpy(device):
    a = randn(2, 3, 4, 4)
    x = t(a, device)
    close(L.inv(x), np.linalg.inv(a))
    close(x.inverse(), np.linalg.inv(a))
    close(L.det(x), np.linalg.det(a))
    close(tg.det(x), np.linalg.det(a))
    sign, logabsdet = np.linalg.slogdet(a)
    result = L.slogdet(x)
    assert type(result).__name__ == "linalg_slogdet" and result._fields == ("sign", "logabsdet")
    close(result.sign, sign)
    close(result.logabsdet, logabsdet)
    s, lad = tg.slogdet(x)
    close(s, sign)
    close(tg.logdet(x), np.where(sign < 0, np.nan, logabsdet))
    assert L.inv(t(a, device, dtype=tg.float32)).dtype == tg.float32


def test_solve_matches_numpy(device):
    a, b = randn(2, 3, 3), randn(2, 3, 4)
    close(L.solve(t(a, device), t(b, device)), np.linalg.solve(a, b))
    vec = randn(2, 3)  # a batch of vectors: B.shape == A.shape[:-1]
    close(L.solve(t(a, device), t(vec, device)), np.linalg.solve(a, vec[..., None])[..., 0])
    one = randn(3)  # a single vector, broadcast over the batch of A
    close(L.solve(t(a, device), t(one, device)), np.linalg.solve(a, one[None, :, None])[..., 0])
    wide = randn(5, 3)  # X A = B
    close(L.solve(t(a[0], device), t(wide, device), left=False), wide @ np.linalg.inv(a[0]))
    shared = randn(3, 2)  # batch dims broadcast
    close(L.solve(t(a, device), t(shared, device)), np.linalg.solve(a, shared))


def test_cholesky_matches_numpy(device):
    a = spd(2, 4, 4)
    lower = np.linalg.cholesky(a)
    close(L.cholesky(t(a, device)), lower)
    close(L.cholesky(t(a, device), upper=True), np.swapaxes(lower, -1, -2))


@pytest.mark.parametrize("shape", [(5, 3), (3, 3), (2, 3, 5)])
@pytest.mark.parametrize("mode", ["reduced", "complete", "r"])
def test_qr_matches_numpy(device, shape, mode):
    a = randn(*shape)
    q, r = L.qr(t(a, device), mode=mode)
    nq, nr = np.linalg.qr(a, mode="reduced" if mode == "r" else mode)
    close(r, nr)
    if mode == "r":
        assert tuple(q.shape) == (0,)
    else:
        close(q, nq)
        close(q @ r, a)
    assert type(L.qr(t(a, device))).__name__ == "linalg_qr"


@pytest.mark.parametrize("shape", [(5, 3), (3, 3), (2, 3, 5)])
@pytest.mark.parametrize("full_matrices", [True, False])
def test_svd_matches_numpy(device, shape, full_matrices):
    a = randn(*shape)
    result = L.svd(t(a, device), full_matrices=full_matrices)
    assert result._fields == ("U", "S", "Vh")
    u, s, vh = np.linalg.svd(a, full_matrices=full_matrices)
    close(result.S, s)
    close(result.U, u)
    close(result.Vh, vh)
    close(L.svdvals(t(a, device)), s)


@pytest.mark.parametrize("uplo", ["L", "U"])
def test_eigh_matches_numpy(device, uplo):
    a = randn(2, 4, 4)
    w, v = np.linalg.eigh(a, UPLO=uplo)  # (reads one triangle only)
    result = L.eigh(t(a, device), UPLO=uplo)
    assert result._fields == ("eigenvalues", "eigenvectors")
    close(result.eigenvalues, w)
    close(result.eigenvectors, v)
    close(L.eigvalsh(t(a, device), uplo), w)


@pytest.mark.parametrize("ord", [2, 1, math.inf, -math.inf, 0, 3, 0.5, -1.5])
@pytest.mark.parametrize("dim, keepdim", [(None, False), (1, True), ((0, 2), False), (-1, False)])
def test_vector_norm_matches_numpy(device, ord, dim, keepdim):
    a = randn(2, 3, 4)
    a[0, 0, 0] = 0.0
    axes = tuple(range(3)) if dim is None else (dim,) if isinstance(dim, int) else dim
    flat = np.moveaxis(a, axes, tuple(range(-len(axes), 0))).reshape(
        *[n for i, n in enumerate(a.shape) if i not in [d % 3 for d in axes]], -1)
    with np.errstate(divide="ignore"):  # 0 ** -1.5
        expected = np.linalg.norm(flat, ord, axis=-1)
    if keepdim:
        expected = np.expand_dims(expected, [d % 3 for d in axes])
    close(L.vector_norm(t(a, device), ord, dim, keepdim), expected)


@pytest.mark.parametrize("ord", ["fro", "nuc", 1, -1, 2, -2, math.inf, -math.inf])
def test_matrix_norm_matches_numpy(device, ord):
    a = randn(2, 4, 3)
    close(L.matrix_norm(t(a, device), ord), np.linalg.norm(a, ord, axis=(-2, -1)))
    moved = np.moveaxis(a, 0, -1)  # the matrix in dims (1, 0) of a (4, 3, 2) tensor: transposed
    expected = np.linalg.norm(np.swapaxes(moved, 0, 1), ord, axis=(0, 1))
    close(L.matrix_norm(t(moved, device), ord, dim=(1, 0)), expected)
    kept = L.matrix_norm(t(a, device), ord, keepdim=True)
    close(kept, np.linalg.norm(a, ord, axis=(-2, -1), keepdims=True))


def test_norm_dispatch_matches_numpy(device):
    a, v = randn(3, 4), randn(5)
    x = t(a, device)
    close(L.norm(x), np.linalg.norm(a))  # flattened 2-norm
    close(L.norm(x, 2), np.linalg.norm(a, 2))  # a 2-D input and an ord: the matrix 2-norm
    close(L.norm(x, "nuc"), np.linalg.norm(a, "nuc"))
    close(L.norm(x, 1, dim=1), np.linalg.norm(a, 1, axis=1))  # one dim: a vector norm
    close(L.norm(x, math.inf, dim=(1, 0)), np.linalg.norm(a.T, math.inf))
    close(L.norm(t(v, device), 3), np.linalg.norm(v, 3))
    b = randn(2, 3, 4)
    close(L.norm(t(b, device)), np.linalg.norm(b.ravel()))
    close(L.norm(t(b, device), dim=(1, 2)), np.linalg.norm(b, axis=(1, 2)))
    assert L.vector_norm(t(v, device, dtype=tg.float32), dtype=tg.float64).dtype == tg.float64


def test_aliases(device):
    a, b = randn(2, 3, 3), randn(2, 3, 3)
    x, y = t(a, device), t(b, device)
    close(L.matmul(x, y), a @ b)
    close(L.vecdot(x, y), (a * b).sum(-1))
    close(L.vecdot(x, y, dim=0), (a * b).sum(0))
    close(L.cross(x, y), np.cross(a, b))
    close(L.cross(x, y, dim=1), np.cross(a, b, axis=1))
    close(L.diagonal(x), np.diagonal(a, axis1=-2, axis2=-1))
    close(L.diagonal(x, offset=1, dim1=0, dim2=2), np.diagonal(a, 1, 0, 2))


@pytest.mark.parametrize("n", [0, 1, 2, 3, 6, -1, -2])
def test_matrix_power_matches_numpy(device, n):
    a = randn(2, 3, 3) + 2 * np.eye(3)
    close(L.matrix_power(t(a, device), n), np.linalg.matrix_power(a, n))


def test_multi_dot_matches_numpy(device):
    mats = [randn(3), randn(3, 4), randn(4, 2), randn(2, 5)]
    close(L.multi_dot([t(m, device) for m in mats]), np.linalg.multi_dot(mats))
    close(L.multi_dot([t(m, device) for m in mats[1:3]]), mats[1] @ mats[2])


def test_vector_norm_of_no_dims_is_over_all_dims(device):
    a = randn(2, 3)
    close(L.vector_norm(t(a, device), dim=()), np.linalg.norm(a.ravel()))


# ---------------------------------------------------------------------------------------------
# gradients (float64 gradchecks; the decompositions on functions that do not depend on the
# signs of the singular / eigen vectors)
# ---------------------------------------------------------------------------------------------
def _sym(x):
    return x + x.mT


def _svd_parts(a):
    u, s, vh = L.svd(a, full_matrices=False)
    return u * u, s, vh.abs(), u @ vh


GRAD_CASES = {
    "inv": (lambda a: L.inv(a), [(2, 3, 3)]),
    "det": (lambda a: L.det(a), [(2, 3, 3)]),
    "slogdet": (lambda a: L.slogdet(a).logabsdet, [(3, 3)]),
    "logdet": (lambda a: tg.logdet(a @ a.mT), [(3, 3)]),
    "solve": (lambda a, b: L.solve(a, b), [(2, 3, 3), (3, 2)]),
    "solve_vector": (lambda a, b: L.solve(a, b), [(3, 3), (3,)]),
    "solve_right": (lambda a, b: L.solve(a, b, left=False), [(3, 3), (2, 4, 3)]),
    "cholesky": (lambda x: L.cholesky(x @ x.mT + 3 * tg.eye(3, dtype=tg.float64,
                                                             device=x.device)), [(2, 3, 3)]),
    "cholesky_upper": (lambda x: L.cholesky(x @ x.mT + 3 * tg.eye(3, dtype=tg.float64,
                                                                   device=x.device),
                                            upper=True), [(3, 3)]),
    "qr_tall": (lambda a: tuple(L.qr(a)), [(2, 4, 3)]),
    "qr_wide": (lambda a: tuple(L.qr(a)), [(3, 5)]),
    "qr_r": (lambda a: L.qr(a, mode="r").R, [(4, 3)]),
    "svd_tall": (_svd_parts, [(2, 4, 3)]),
    "svd_wide": (_svd_parts, [(3, 5)]),
    "svd_full": (lambda a: (lambda r: (r.U[:, :3].abs(), r.Vh.abs()))(L.svd(a)), [(4, 3)]),
    "svdvals": (lambda a: L.svdvals(a), [(2, 3, 4)]),
    "eigh": (lambda x: (lambda r: (r.eigenvalues, r.eigenvectors ** 2))(L.eigh(_sym(x))),
             [(2, 3, 3)]),
    "eigvalsh_upper": (lambda x: L.eigvalsh(_sym(x), UPLO="U"), [(3, 3)]),
    "matrix_norm_nuc": (lambda a: L.matrix_norm(a, "nuc"), [(3, 4)]),
    "matrix_norm_2": (lambda a: L.matrix_norm(a, 2, dim=(0, 2)), [(3, 2, 4)]),
    "matrix_norm_-2": (lambda a: L.matrix_norm(a, -2, keepdim=True), [(4, 3)]),
    "matrix_norm_1": (lambda a: L.matrix_norm(a, 1), [(2, 3, 4)]),
    "matrix_norm_-inf": (lambda a: L.matrix_norm(a, -math.inf), [(3, 4)]),
    "norm_fro": (lambda a: L.norm(a, "fro"), [(3, 4)]),
    "vector_norm_3": (lambda a: L.vector_norm(a, 3, dim=(0, 1), keepdim=True), [(2, 3, 2)]),
    "matrix_power_-3": (lambda a: L.matrix_power(a, -3), [(2, 3, 3)]),
    "matrix_power_5": (lambda a: L.matrix_power(a * 0.5, 5), [(3, 3)]),
    "multi_dot": (lambda a, b, c: L.multi_dot([a, b, c]), [(3,), (3, 2), (2, 4)]),
}


@pytest.mark.parametrize("name", list(GRAD_CASES))
def test_gradcheck(device, name):
    fn, shapes = GRAD_CASES[name]
    inputs = [t(randn(*s), device, requires_grad=True) for s in shapes]
    assert gradcheck(fn, inputs)


@pytest.mark.parametrize("name", ["inv", "det", "solve", "cholesky", "qr_tall", "svd_wide",
                                  "svdvals", "eigh"])
def test_second_derivatives(device, name):
    fn, shapes = GRAD_CASES[name]
    inputs = [t(randn(*s), device, requires_grad=True) for s in shapes]
    assert gradgradcheck(fn, inputs)


@given(batch=st.lists(st.integers(1, 2), max_size=2), n=st.integers(1, 3),
       k=st.integers(1, 2), broadcast=st.booleans())
def test_solve_and_inv_gradcheck_over_shapes(batch, n, k, broadcast):
    rng = np.random.default_rng(len(batch) * 10 + n)
    a = rng.standard_normal((*batch, n, n)) + 3 * np.eye(n)
    b = rng.standard_normal(((1,) * len(batch) if broadcast else tuple(batch)) + (n, k))
    x, y = t(a, "cpu", True), t(b, "cpu", True)
    assert gradcheck(lambda p, q: L.solve(p, q), (x, y))
    assert gradcheck(lambda p: L.inv(p), (x,))


@given(batch=st.lists(st.integers(1, 2), max_size=2), n=st.integers(1, 3))
def test_square_matrix_functions_gradcheck_over_shapes(batch, n):
    rng = np.random.default_rng(len(batch) * 10 + n)
    x = t(rng.standard_normal((*batch, n, n)) + 2 * np.eye(n), "cpu", True)
    eye = tg.eye(n, dtype=tg.float64)
    assert gradcheck(lambda a: (L.det(a), L.slogdet(a).logabsdet), (x,))
    assert gradcheck(lambda a: L.cholesky(a @ a.mT + eye), (x,))
    assert gradcheck(lambda a: L.eigvalsh(a + a.mT), (x,))


@given(shape=st.lists(st.integers(1, 3), min_size=1, max_size=3), data=st.data(),
       keepdim=st.booleans(), ord=st.sampled_from([2, 1, 3, 0.5, math.inf, -math.inf]))
def test_vector_norm_gradcheck_over_dims(shape, data, keepdim, ord):
    ndim = len(shape)
    dim = data.draw(st.one_of(st.none(), st.integers(-ndim, ndim - 1)))
    x = t(np.random.default_rng(ndim).standard_normal(shape) + 0.1, "cpu", True)
    assert gradcheck(lambda a: L.vector_norm(a, ord, dim, keepdim), (x,))


@given(shape=st.lists(st.integers(2, 3), min_size=2, max_size=3), data=st.data(),
       keepdim=st.booleans(), ord=st.sampled_from(["fro", "nuc", 1, -1, 2, math.inf]))
def test_matrix_norm_gradcheck_over_dims(shape, data, keepdim, ord):
    ndim = len(shape)
    dims = data.draw(st.lists(st.integers(-ndim, ndim - 1), min_size=2, max_size=2,
                              unique_by=lambda d: d % ndim))
    x = t(np.random.default_rng(ndim).standard_normal(shape), "cpu", True)
    assert gradcheck(lambda a: L.matrix_norm(a, ord, tuple(dims), keepdim), (x,))


@pytest.mark.parametrize("shape", [(0, 0), (0, 2, 2), (2, 0, 0)])
def test_empty_matrices_as_numpy(device, shape):
    x = t(np.zeros(shape), device)
    close(L.inv(x), np.linalg.inv(np.zeros(shape)))
    close(L.det(x), np.linalg.det(np.zeros(shape)))
    close(L.cholesky(x), np.zeros(shape))
    close(L.svdvals(x), np.zeros(shape[:-1]))
    close(L.eigvalsh(x), np.zeros(shape[:-1]))
    close(L.solve(x, x), np.zeros(shape))
    assert tuple(L.qr(x).Q.shape) == shape


def test_det_gradient_at_a_singular_matrix(device):
    a = t([[1.0, 2.0], [2.0, 4.0]], device, requires_grad=True)
    L.det(a).backward()
    close(a.grad, [[4.0, -2.0], [-2.0, 1.0]])  # the cofactor matrix
    b = t(np.stack([np.eye(3), np.diag([1.0, 0.0, 2.0])]), device, requires_grad=True)
    L.det(b).sum().backward()
    close(b.grad, np.stack([np.eye(3), np.diag([0.0, 2.0, 0.0])]), atol=1e-12)


def test_norm_gradients_at_zero_are_finite(device):
    for ord in (2, 1, 3, math.inf):
        x = t(np.zeros(4), device, requires_grad=True)
        L.vector_norm(x, ord).backward()
        assert np.isfinite(arr(x.grad)).all(), ord
    x = t(np.zeros((2, 2)), device, requires_grad=True)
    L.matrix_norm(x).backward()
    close(x.grad, np.zeros((2, 2)))


# ---------------------------------------------------------------------------------------------
# errors, as PyTorch's
# ---------------------------------------------------------------------------------------------
def test_linalg_error_class():
    assert issubclass(L.LinAlgError, RuntimeError)


def test_singular_and_not_positive_definite_raise_linalg_error(device):
    ones = t(np.ones((2, 2)), device)
    with pytest.raises(L.LinAlgError, match=r"linalg.inv: .*singular"):
        L.inv(ones)
    batch = t(np.stack([np.eye(2), np.ones((2, 2))]), device)
    with pytest.raises(L.LinAlgError, match=r"\(Batch element 1\)"):
        L.inv(batch)
    with pytest.raises(L.LinAlgError, match="singular"):
        L.solve(ones, t(np.ones(2), device))
    with pytest.raises(L.LinAlgError, match=r"linalg.cholesky: \(Batch element 1\).*"
                                            "positive-definite"):
        L.cholesky(t(np.stack([np.eye(3), -np.eye(3)]), device))
    close(L.det(ones), 0.0)  # det and slogdet of a singular matrix are fine
    close(L.slogdet(ones).logabsdet, -np.inf)


@pytest.mark.parametrize("call, error, message", [
    (lambda: L.inv(tg.ones(2, 3)), RuntimeError,
     "linalg.inv: A must be batches of square matrices, but they are 2 by 3 matrices"),
    (lambda: L.inv(tg.ones(3)), RuntimeError,
     "linalg.inv: The input tensor A must have at least 2 dimensions."),
    (lambda: L.det(tg.ones(2, 2, dtype=tg.int64)), RuntimeError,
     "linalg.det: Expected a floating point or complex tensor as input. Got Long"),
    (lambda: tg.ones(2, 3).det(), RuntimeError, "linalg.det: A must be batches of square"),
    (lambda: L.slogdet(tg.ones(2, 3)), RuntimeError, "linalg.slogdet: A must be batches"),
    (lambda: L.solve(tg.eye(2), tg.ones(3)), RuntimeError,
     r"linalg.solve: Incompatible shapes of A and B for the equation AX = B \(2x2 and 3x1\)"),
    (lambda: L.solve(tg.eye(2), tg.ones(2, dtype=tg.float64)), RuntimeError,
     "linalg.solve: Expected A and B to have the same dtype, but found A of type Float and B "
     "of type Double instead"),
    (lambda: L.cholesky(tg.ones(2, 3)), RuntimeError, "linalg.cholesky: A must be batches"),
    (lambda: L.qr(tg.ones(2, 3), mode="x"), RuntimeError,
     "qr received unrecognized mode 'x' but expected one of 'reduced'"),
    (lambda: L.qr(tg.ones(3)), RuntimeError, "linalg.qr: The input tensor A must have at least"),
    (lambda: L.svd(tg.ones(3)), RuntimeError, "linalg.svd: The input tensor A must have"),
    (lambda: L.svdvals(tg.ones(2, 2, dtype=tg.int64)), RuntimeError,
     "linalg.svd: Expected a floating point"),
    (lambda: L.eigh(tg.ones(2, 3)), RuntimeError, "linalg.eigh: A must be batches"),
    (lambda: L.eigh(tg.eye(3), UPLO="X"), RuntimeError,
     "Expected UPLO argument to be 'L' or 'U', but got X"),
    (lambda: L.vector_norm(tg.ones(3, dtype=tg.int64)), RuntimeError,
     "linalg.vector_norm: Expected a floating point or complex tensor as input. Got Long"),
    (lambda: L.vector_norm(tg.ones(3), ord="fro"), TypeError,
     "linalg_vector_norm\\(\\): argument 'ord' must be Number, not str"),
    (lambda: L.vector_norm(tg.ones(0), ord=math.inf), RuntimeError,
     "linalg.vector_norm cannot compute the inf norm on an empty tensor"),
    (lambda: L.vector_norm(tg.ones(3, dtype=tg.float64), dtype=tg.float32), RuntimeError,
     r"the dtype of the input \(Double\) should be convertible without narrowing to the "
     r"specified dtype \(Float\)"),
    (lambda: L.matrix_norm(tg.ones(3, 3), ord=3), RuntimeError,
     "linalg.matrix_norm: Order 3 not supported."),
    (lambda: L.matrix_norm(tg.ones(3)), RuntimeError,
     "linalg.matrix_norm: The input tensor A must have at least 2 dimensions."),
    (lambda: L.matrix_norm(tg.ones(3, 3), dim=(0, 0)), RuntimeError,
     r"linalg.matrix_norm: dims must be different. Got \(0, 0\)"),
    (lambda: L.norm(tg.ones(3, 3, 3), ord=2), RuntimeError,
     "linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. Got 3D."),
    (lambda: L.norm(tg.ones(3), ord="fro"), RuntimeError,
     "linalg.matrix_norm: The input tensor A must have at least 2 dimensions."),
    (lambda: L.norm(tg.ones(3, 3, 3), dim=(0, 1, 2)), RuntimeError,
     r"linalg.norm: If dim is specified, it must be of length 1 or 2. Got \[0, 1, 2\]"),
    (lambda: L.inv([[1.0]]), TypeError,
     r"linalg_inv\(\): argument 'A' \(position 1\) must be Tensor, not list"),
    (lambda: L.vector_norm([1.0]), TypeError,
     r"linalg_vector_norm\(\): argument 'input' \(position 1\) must be Tensor, not list"),
    (lambda: L.solve(tg.eye(2), [1.0, 2.0]), TypeError,
     r"linalg_solve\(\): argument 'B' \(position 2\) must be Tensor, not list"),
    (lambda: L.matrix_power(tg.ones(2, 3), 2), RuntimeError,
     "linalg.matrix_power: A must be batches of square matrices, but they are 2 by 3 matrices"),
    (lambda: L.matrix_power(tg.ones(3), 2), RuntimeError,
     "linalg.matrix_power: The input tensor A must have at least 2 dimensions."),
    (lambda: L.matrix_power(tg.ones(2, 2), 2.0), TypeError, "argument 'n' .* must be int"),
    (lambda: L.multi_dot([tg.ones(3)]), RuntimeError,
     r"multi_dot\(\): expected at least 2 tensors but got 1"),
    (lambda: L.multi_dot([tg.ones(3), tg.ones(3, 3, 3)]), RuntimeError,
     r"multi_dot\(\): the last tensor must be 1D or 2D but got 3D"),
    (lambda: L.multi_dot([tg.ones(3), tg.ones(3), tg.ones(3)]), RuntimeError,
     r"multi_dot\(\): tensor 1 must be 2D but got 1D"),
])
def test_errors_as_pytorch(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_not_differentiable_cases_raise_as_pytorch():
    a = tg.randn(4, 3, dtype=tg.float64, requires_grad=True)
    q, _ = L.qr(a, mode="complete")
    with pytest.raises(RuntimeError, match="not differentiable when mode='complete' and nrows "
                                           "> ncols"):
        q.sum().backward()


def test_printing_of_results():
    text = repr(L.qr(tg.eye(2)))
    assert text.startswith("tg.return_types.linalg_qr(\nQ=tensor(") and "\nR=tensor(" in text


# ---------------------------------------------------------------------------------------------
# against PyTorch (optional)
# ---------------------------------------------------------------------------------------------
TORCH_CASES = [
    ("inv", lambda L_, a: L_.inv(a), (3, 3)),
    ("det", lambda L_, a: L_.det(a), (2, 3, 3)),
    ("slogdet", lambda L_, a: L_.slogdet(a)[1], (3, 3)),
    ("solve", lambda L_, a: L_.solve(a, a[..., :2].exp()), (2, 3, 3)),
    ("cholesky", lambda L_, a: L_.cholesky(a @ a.mT + 3 * (a[0] * 0 + 1).diag()), (3, 3)),
    ("qr", lambda L_, a: (lambda q, r: (q @ q.mT).sum() + r.sum())(*L_.qr(a)), (4, 3)),
    ("qr_wide", lambda L_, a: L_.qr(a)[1], (2, 4)),
    ("svd", lambda L_, a: (lambda u, s, vh: (u * u).sum(-1) + s.sum() + (vh @ vh.mT).sum())(
        *L_.svd(a, full_matrices=False)), (2, 4, 3)),
    ("svdvals", lambda L_, a: L_.svdvals(a), (3, 4)),
    ("eigh", lambda L_, a: (lambda w, v: w.sum() + (v ** 4).sum())(*L_.eigh(a + a.mT)),
     (3, 3)),
    ("vector_norm", lambda L_, a: L_.vector_norm(a, 3, dim=0), (3, 4)),
    ("matrix_norm", lambda L_, a: L_.matrix_norm(a, "nuc") + L_.matrix_norm(a, 1), (3, 4)),
    ("norm", lambda L_, a: L_.norm(a, math.inf), (3, 4)),
]


@pytest.mark.parametrize("name, fn, shape", TORCH_CASES, ids=[c[0] for c in TORCH_CASES])
def test_values_and_gradients_match_torch(name, fn, shape):
    torch = pytest.importorskip("torch")
    a = randn(*shape)
    ours_in = t(a, "cpu", requires_grad=True)
    theirs_in = torch.tensor(a, requires_grad=True)
    ours, theirs = fn(L, ours_in), fn(torch.linalg, theirs_in)
    np.testing.assert_allclose(arr(ours), theirs.detach().numpy(), rtol=1e-8, atol=1e-10)
    ours.sum().backward()
    theirs.sum().backward()
    np.testing.assert_allclose(arr(ours_in.grad), theirs_in.grad.numpy(), rtol=1e-7,
                               atol=1e-9)


def test_errors_are_pytorchs_classes():
    torch = pytest.importorskip("torch")
    for ours, theirs in [(lambda: L.inv(tg.ones(2, 2)), lambda: torch.linalg.inv(torch.ones(2, 2))),
                         (lambda: L.cholesky(-tg.eye(2)),
                          lambda: torch.linalg.cholesky(-torch.eye(2)))]:
        with pytest.raises(torch.linalg.LinAlgError):
            theirs()
        with pytest.raises(L.LinAlgError):
            ours()
