"""Issue 16, spatial transformers: F.affine_grid and F.grid_sample (bilinear / nearest, zeros /
border / reflection padding, both align_corners). Forward against a plain-Python reference
of PyTorch's algorithm, float64 gradchecks w.r.t. input, grid and theta, warnings and errors
as PyTorch's, on every device; PyTorch as an optional reference for values and gradients."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from nn_helpers import arr, t

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu.autograd import gradcheck

RNG = np.random.default_rng(1616)
MODES = ["bilinear", "nearest"]
PADDINGS = ["zeros", "border", "reflection"]


# ---------------------------------------------------------------------------------------------
# a plain-Python reference (PyTorch's grid_sampler_2d, one point at a time)
# ---------------------------------------------------------------------------------------------
def _reflect(x: float, twice_low: int, twice_high: int) -> float:
    if twice_low == twice_high:
        return 0.0
    low, span = twice_low / 2, (twice_high - twice_low) / 2
    x = abs(x - low)
    extra, flips = math.fmod(x, span), math.floor(x / span)
    return extra + low if flips % 2 == 0 else span - extra + low


def _source(coord: float, size: int, padding: str, align: bool) -> float:
    x = (coord + 1) / 2 * (size - 1) if align else ((coord + 1) * size - 1) / 2
    if padding == "reflection":
        x = _reflect(x, 0, 2 * (size - 1)) if align else _reflect(x, -1, 2 * size - 1)
    if padding in ("border", "reflection"):
        x = min(max(x, 0.0), size - 1.0)
    return x


def reference_grid_sample(image, grid, mode, padding, align):
    n, c, h, w = image.shape
    out = np.zeros((n, c) + grid.shape[1:3])
    for b, i, j in np.ndindex(n, *grid.shape[1:3]):
        x = _source(grid[b, i, j, 0], w, padding, align)
        y = _source(grid[b, i, j, 1], h, padding, align)

        def at(yy, xx):
            inside = 0 <= xx < w and 0 <= yy < h
            return image[b, :, yy, xx] if inside else np.zeros(c)
        if mode == "nearest":
            out[b, :, i, j] = at(int(np.rint(y)), int(np.rint(x)))
        else:
            x0, y0 = math.floor(x), math.floor(y)
            fx, fy = x - x0, y - y0
            out[b, :, i, j] = ((1 - fy) * (1 - fx) * at(y0, x0) + (1 - fy) * fx * at(y0, x0 + 1)
                               + fy * (1 - fx) * at(y0 + 1, x0) + fy * fx * at(y0 + 1, x0 + 1))
    return out


# ---------------------------------------------------------------------------------------------
# affine_grid
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("align", [True, False])
def test_affine_grid_of_the_identity_is_the_pixel_centres(device, align):
    theta = t(np.tile(np.eye(2, 3), (2, 1, 1)), device)
    grid = F.affine_grid(theta, [2, 3, 4, 5], align_corners=align)
    assert tuple(grid.shape) == (2, 4, 5, 2)
    xs, ys = np.linspace(-1, 1, 5), np.linspace(-1, 1, 4)
    if not align:
        xs, ys = xs * 4 / 5, ys * 3 / 4
    np.testing.assert_allclose(arr(grid)[0, 0, :, 0], xs, atol=1e-15)
    np.testing.assert_allclose(arr(grid)[1, :, 0, 1], ys, atol=1e-15)


def test_affine_grid_applies_theta(device):
    theta = RNG.standard_normal((2, 2, 3))
    grid = arr(F.affine_grid(t(theta, device), [2, 1, 3, 4], align_corners=False))
    xs, ys = np.linspace(-1, 1, 4) * 3 / 4, np.linspace(-1, 1, 3) * 2 / 3
    for b, i, j in np.ndindex(2, 3, 4):
        np.testing.assert_allclose(grid[b, i, j], theta[b] @ [xs[j], ys[i], 1.0], atol=1e-14)
    theta3 = RNG.standard_normal((1, 3, 4))
    grid3 = arr(F.affine_grid(t(theta3, device), [1, 2, 2, 3, 4], align_corners=True))
    zs, ys, xs = np.linspace(-1, 1, 2), np.linspace(-1, 1, 3), np.linspace(-1, 1, 4)
    np.testing.assert_allclose(grid3[0, 1, 2, 3], theta3[0] @ [xs[3], ys[2], zs[1], 1.0],
                               atol=1e-14)
    single = arr(F.affine_grid(t(np.eye(2, 3)[None], device), [1, 1, 1, 3], align_corners=False))
    np.testing.assert_allclose(single[0, 0, :, 1], 0.0)  # one row: y = 0


def test_affine_grid_gradcheck(device):
    theta = t(RNG.standard_normal((2, 2, 3)), device, requires_grad=True)
    assert gradcheck(lambda th: F.affine_grid(th, [2, 1, 3, 2], align_corners=False), (theta,))


# ---------------------------------------------------------------------------------------------
# grid_sample
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("padding", PADDINGS)
@pytest.mark.parametrize("align", [True, False])
def test_grid_sample_matches_the_reference(device, mode, padding, align):
    image = RNG.standard_normal((2, 2, 3, 4))
    grid = RNG.uniform(-2.5, 2.5, (2, 3, 2, 2))  # inside, and far outside
    out = F.grid_sample(t(image, device), t(grid, device), mode, padding, align)
    np.testing.assert_allclose(arr(out), reference_grid_sample(image, grid, mode, padding, align),
                               atol=1e-12)


@pytest.mark.parametrize("align", [True, False])
@pytest.mark.parametrize("mode", MODES)
def test_the_identity_grid_gives_the_image_back(device, align, mode):
    image = t(RNG.standard_normal((1, 2, 3, 5)), device, dtype=tg.float32)
    theta = t(np.eye(2, 3)[None], device, dtype=tg.float32)
    grid = F.affine_grid(theta, [1, 2, 3, 5], align_corners=align)
    out = F.grid_sample(image, grid, mode, align_corners=align)
    assert out.dtype == tg.float32
    np.testing.assert_allclose(arr(out), arr(image), atol=1e-5)


@pytest.mark.parametrize("padding", PADDINGS)
@pytest.mark.parametrize("align", [True, False])
def test_bilinear_gradcheck_input_and_grid(device, padding, align):
    image = t(RNG.standard_normal((1, 2, 3, 3)), device, requires_grad=True)
    grid = t(RNG.uniform(-1.6, 1.6, (1, 2, 3, 2)), device, requires_grad=True)
    assert gradcheck(lambda a, g: F.grid_sample(a, g, "bilinear", padding, align), (image, grid))


def test_nearest_gradcheck_input(device):
    image = t(RNG.standard_normal((2, 1, 3, 3)), device, requires_grad=True)
    grid = t(RNG.uniform(-1.4, 1.4, (2, 2, 2, 2)), device)
    assert gradcheck(lambda a: F.grid_sample(a, grid, "nearest", "reflection", False), (image,))


def test_nearest_gives_the_grid_a_zero_gradient(device):
    grid = t(RNG.uniform(-1, 1, (1, 2, 2, 2)), device, requires_grad=True)
    F.grid_sample(t(np.ones((1, 1, 3, 3)), device), grid, "nearest",
                  align_corners=True).sum().backward()
    np.testing.assert_array_equal(arr(grid.grad), np.zeros((1, 2, 2, 2)))


def test_spatial_transformer_gradcheck_through_theta(device):
    image = t(RNG.standard_normal((1, 1, 3, 4)), device)
    theta = t(np.eye(2, 3)[None] + 0.1 * RNG.standard_normal((1, 2, 3)), device,
              requires_grad=True)

    def warp(th):
        return F.grid_sample(image, F.affine_grid(th, [1, 1, 2, 3], align_corners=False),
                             align_corners=False)
    assert gradcheck(warp, (theta,))


def test_default_align_corners_warns_as_pytorch():
    theta = tg.tensor(np.eye(2, 3)[None], dtype=tg.float32)
    with pytest.warns(UserWarning, match="changed to align_corners=False since 1.3.0"):
        grid = F.affine_grid(theta, [1, 1, 2, 2])
    with pytest.warns(UserWarning, match="changed to align_corners=False since 1.3.0"):
        F.grid_sample(tg.ones(1, 1, 2, 2), grid)
    with pytest.warns(UserWarning, match="unit-size grids when align_corners=True"):
        F.affine_grid(theta, [1, 1, 1, 2], align_corners=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.grid_sample(tg.ones(1, 1, 2, 2), grid, align_corners=False)


@pytest.mark.parametrize("call, error, message", [
    (lambda: F.grid_sample(tg.ones(1, 1, 2, 2), tg.zeros(1, 2, 2, 2), mode="cubic",
                           align_corners=False), ValueError,
     "nn.functional.grid_sample\\(\\): expected mode to be 'bilinear', 'nearest' or 'bicubic', "
     "but got: 'cubic'"),
    (lambda: F.grid_sample(tg.ones(1, 1, 2, 2), tg.zeros(1, 2, 2, 2), padding_mode="wrap",
                           align_corners=False), ValueError,
     "expected padding_mode to be 'zeros', 'border', or 'reflection', but got: 'wrap'"),
    (lambda: F.grid_sample(tg.ones(1, 1, 2, 2), tg.zeros(1, 2, 2, 2), mode="bicubic",
                           align_corners=False), NotImplementedError, "bicubic"),
    (lambda: F.grid_sample(tg.ones(1, 1, 2, 2, 2), tg.zeros(1, 2, 2, 2, 3), align_corners=False),
     NotImplementedError, "5-D"),
    (lambda: F.grid_sample(tg.ones(1, 1, 2, 2), tg.zeros(1, 2, 2), align_corners=False),
     RuntimeError, r"grid_sampler\(\): expected 4D input and grid with same number of "
                   r"dimensions, but got input with sizes \[1, 1, 2, 2\] and grid with sizes "
                   r"\[1, 2, 2\]"),
    (lambda: F.grid_sample(tg.ones(1, 1, 2, 2), tg.zeros(2, 2, 2, 2), align_corners=False),
     RuntimeError, "expected grid and input to have same batch size"),
    (lambda: F.grid_sample(tg.ones(1, 1, 2, 2), tg.zeros(1, 2, 2, 3), align_corners=False),
     RuntimeError, "expected grid to have size 2 in last dimension"),
    (lambda: F.grid_sample(tg.ones(1, 1, 2, 2), tg.zeros(1, 2, 2, 2, dtype=tg.float64),
                           align_corners=False), RuntimeError,
     "expected grid and input to have same dtype"),
    (lambda: F.grid_sample(tg.ones(1, 1, 2, 2, dtype=tg.int64),
                           tg.zeros(1, 2, 2, 2, dtype=tg.int64), align_corners=False),
     NotImplementedError, "not implemented for 'Long'"),
    (lambda: F.grid_sample(tg.ones(1, 1, 0, 2), tg.zeros(1, 2, 2, 2), align_corners=False),
     RuntimeError, "expected input to have non-empty spatial dimensions"),
    (lambda: F.affine_grid(tg.ones(1, 2, 3, dtype=tg.int64), [1, 1, 2, 2], align_corners=False),
     ValueError, "Expected theta to have floating point type, but got tg.int64"),
    (lambda: F.affine_grid(tg.ones(1, 2, 2), [1, 1, 2, 2], align_corners=False), ValueError,
     r"Expected a batch of 2D affine matrices of shape Nx2x3 for size \[1, 1, 2, 2\]"),
    (lambda: F.affine_grid(tg.ones(1, 2, 3), [1, 1, 2], align_corners=False),
     NotImplementedError, "affine_grid only supports 4D and 5D sizes"),
    (lambda: F.affine_grid(tg.ones(1, 2, 3), [1, 1, 0, 2], align_corners=False), ValueError,
     r"Expected non-zero, positive output size. Got \[1, 1, 0, 2\]"),
    (lambda: F.affine_grid(tg.ones(2, 2, 3), [1, 1, 3, 2], align_corners=False), RuntimeError,
     "affine_grid: theta holds 2 affine matrices"),
])
def test_errors_as_pytorch(call, error, message):
    with pytest.raises(error, match=message):
        call()


# ---------------------------------------------------------------------------------------------
# against PyTorch (optional)
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("padding", PADDINGS)
@pytest.mark.parametrize("align", [True, False])
def test_values_and_gradients_match_torch(mode, padding, align):
    torch = pytest.importorskip("torch")
    image = RNG.standard_normal((2, 3, 4, 5))
    theta = np.eye(2, 3)[None] * 1.3 + 0.3 * RNG.standard_normal((2, 2, 3))
    weights = RNG.standard_normal((2, 3, 3, 4))
    ours = [t(image, "cpu", True), t(theta, "cpu", True)]
    theirs = [torch.tensor(image, requires_grad=True), torch.tensor(theta, requires_grad=True)]
    for lib, (x, th), fn in ((tg, ours, F), (torch, theirs, torch.nn.functional)):
        grid = fn.affine_grid(th, [2, 3, 3, 4], align_corners=align)
        out = fn.grid_sample(x, grid, mode, padding, align)
        (out * lib.tensor(weights)).sum().backward()
    grid_ours = F.affine_grid(ours[1], [2, 3, 3, 4], align_corners=align)
    grid_theirs = torch.nn.functional.affine_grid(theirs[1], [2, 3, 3, 4], align_corners=align)
    np.testing.assert_allclose(arr(F.grid_sample(ours[0], grid_ours, mode, padding, align)),
                               torch.nn.functional.grid_sample(theirs[0], grid_theirs, mode,
                                                               padding, align).detach().numpy(),
                               atol=1e-12)
    np.testing.assert_allclose(arr(ours[0].grad), theirs[0].grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(arr(ours[1].grad), theirs[1].grad.numpy(), atol=1e-10)
