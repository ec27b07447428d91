"""vision.utils (make_grid, save_image) and vision.io (read_image)."""

import importlib.util
import sys

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.vision import io as vision_io
from tinygrad_edu.vision.io import ImageReadMode, read_image
from tinygrad_edu.vision.utils import make_grid, save_image

HAVE_PILLOW = importlib.util.find_spec("PIL") is not None
needs_pillow = pytest.mark.skipif(not HAVE_PILLOW, reason="Pillow is not installed")


def host(t: tg.Tensor) -> np.ndarray:
    return tg.backend.to_numpy(t.array)


# ---------------------------------------------------------------------------------------------
# make_grid: torchvision's layout (figures from its algorithm: (nrow * (W + p) + p) wide)
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape, kwargs, grid_shape", [
    ((64, 3, 32, 32), {}, (3, 274, 274)),           # a CIFAR batch: 8 x 8 with padding 2
    ((64, 1, 28, 28), {}, (3, 242, 242)),           # MNIST: grey becomes 3 channels
    ((10, 3, 4, 5), {"nrow": 4, "padding": 1}, (3, 3 * 5 + 1, 4 * 6 + 1)),
    ((3, 2, 2), {}, (3, 2, 2)),                     # one image comes back as it is
    ((1, 2, 2), {}, (3, 2, 2)),
])
def test_make_grid_shapes(device, shape, kwargs, grid_shape):
    grid = make_grid(tg.ones(*shape, device=device), **kwargs)
    assert isinstance(grid, tg.Tensor) and grid.shape == grid_shape
    assert grid.device == tg.device(device)


def test_make_grid_places_images_and_padding(device):
    images = tg.tensor(np.arange(1, 5, dtype=np.float32).reshape(4, 1, 1, 1) * np.ones(
        (1, 1, 2, 2), np.float32), device=device)
    grid = host(make_grid(images, nrow=3, padding=1, pad_value=-1.0))
    assert grid.shape == (3, 2 * 3 + 1, 3 * 3 + 1)
    # row 0: images 1, 2, 3 at columns 1, 4, 7; row 1: image 4 at column 1, the rest padding
    assert grid[0, 1:3, 1:3].tolist() == [[1, 1], [1, 1]]
    assert grid[1, 1, 4] == 2 and grid[2, 2, 8] == 3 and grid[0, 4, 1] == 4
    assert grid[0, 0, 0] == -1 and grid[0, 4, 4] == -1 and grid[0, 3, 2] == -1
    as_list = host(make_grid([images[0], images[1]], padding=0))
    assert as_list.shape == (3, 2, 4) and as_list[0, 0].tolist() == [1, 1, 2, 2]


def test_make_grid_normalize(device):
    x = tg.tensor(np.array([-1.0, 0.0, 1.0, 3.0], np.float32).reshape(2, 1, 1, 2),
                  device=device)
    grid = host(make_grid(x, padding=0, normalize=True))
    np.testing.assert_allclose(grid[0, 0], [0.0, 0.25, 0.5, 1.0])
    clamped = host(make_grid(x, padding=0, normalize=True, value_range=(0.0, 1.0)))
    np.testing.assert_allclose(clamped[0, 0], [0.0, 0.0, 1.0, 1.0])
    each = host(make_grid(x, padding=0, normalize=True, scale_each=True))
    np.testing.assert_allclose(each[0, 0], [0.0, 1.0, 0.0, 1.0])
    assert host(x)[0, 0, 0, 0] == -1.0  # the input is untouched
    with pytest.raises(TypeError, match="value_range has to be a tuple"):
        make_grid(x, normalize=True, value_range=[0, 1])
    with pytest.raises(TypeError, match="Tensor"):
        make_grid(np.zeros((2, 3, 4, 4)))


# ---------------------------------------------------------------------------------------------
# save_image and read_image
# ---------------------------------------------------------------------------------------------
@needs_pillow
def test_save_then_read_image(tmp_path):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(3, 5, 7), dtype=np.uint8)
    path = tmp_path / "x.png"
    save_image(tg.tensor(pixels.astype(np.float32) / 255), path)
    back = read_image(path)
    assert back.dtype == tg.uint8 and back.shape == (3, 5, 7)
    np.testing.assert_array_equal(back.numpy(), pixels)  # x / 255 * 255 + 0.5, truncated
    grey = read_image(path, ImageReadMode.GRAY)
    assert grey.shape == (1, 5, 7)
    assert read_image(str(path), ImageReadMode.RGB_ALPHA).shape == (4, 5, 7)
    assert read_image(path, "RGB").shape == (3, 5, 7)
    save_image(tg.ones(4, 1, 2, 2), tmp_path / "batch.png", nrow=2, padding=1)
    assert read_image(tmp_path / "batch.png").shape == (3, 7, 7)


@needs_pillow
def test_read_jpeg_and_grey_png(tmp_path):
    from PIL import Image

    Image.fromarray(np.full((4, 6, 3), 200, np.uint8)).save(tmp_path / "x.jpg")
    jpeg = read_image(tmp_path / "x.jpg")
    assert jpeg.shape == (3, 4, 6) and abs(int(jpeg.numpy().mean()) - 200) <= 2
    Image.fromarray(np.arange(6, dtype=np.uint8).reshape(2, 3)).save(tmp_path / "g.png")
    assert read_image(tmp_path / "g.png").tolist() == [[[0, 1, 2], [3, 4, 5]]]


@needs_pillow
def test_read_image_refuses_broken_files_and_bombs(tmp_path, monkeypatch):
    from PIL import Image

    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(RuntimeError, match="bad.png is not a readable image"):
        read_image(tmp_path / "bad.png")
    with pytest.raises(FileNotFoundError):
        read_image(tmp_path / "missing.png")
    Image.new("L", (3000, 3000)).save(tmp_path / "flat.png")  # 9 MB of zeros in ~9 kB
    monkeypatch.setattr(vision_io, "MAX_PIXELS_PER_FILE_BYTE", 100)
    with pytest.raises(RuntimeError, match="decompression bomb"):
        read_image(tmp_path / "flat.png")


def test_without_pillow_the_error_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(ImportError, match=r"read_image needs Pillow.*pip install Pillow"):
        read_image(tmp_path / "x.png")
    with pytest.raises(ImportError, match=r"save_image needs Pillow.*tinygrad_edu\[vision\]"):
        save_image(tg.zeros(3, 2, 2), tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()
