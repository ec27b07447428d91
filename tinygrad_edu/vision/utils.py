"""torchvision.utils: `make_grid` (a batch of images as one picture) and `save_image`.

    images, labels = next(iter(trainloader))
    grid = torchvision.utils.make_grid(images)          # (3, H', W') Tensor
    torchvision.utils.save_image(images, "batch.png")   # needs Pillow

Also the one place that imports Pillow (`pil_image_module`), for the rest of `vision`.
"""

from __future__ import annotations

import math
import os
import sys
from typing import IO, Any

import numpy as np

from .. import backend
from ..tensor import Tensor

PILLOW_HINT = "pip install Pillow (or pip install tinygrad_edu[vision])"


def pil_image_module() -> Any:
    """`PIL.Image`, or None when Pillow is not installed."""
    try:
        from PIL import Image
    except ImportError:
        return None
    return Image


def require_pillow(what: str) -> Any:
    """`PIL.Image`, or an ImportError saying that `what` needs Pillow and how to install it."""
    image_module = pil_image_module()
    if image_module is None:
        raise ImportError(f"{what} needs Pillow, which is not installed: {PILLOW_HINT}")
    return image_module


def is_pil_image(value: Any) -> bool:
    """Whether `value` is a PIL image (without importing Pillow when nothing has)."""
    image_module = sys.modules.get("PIL.Image")
    return image_module is not None and isinstance(value, image_module.Image)


@backend.on_device_of_args
def make_grid(tensor: Tensor | list[Tensor], nrow: int = 8, padding: int = 2,
              normalize: bool = False, value_range: tuple[float, float] | None = None,
              scale_each: bool = False, pad_value: float = 0.0) -> Tensor:
    """Lay out a batch of images (B, C, H, W) (or a list of (C, H, W)) as one image grid.

    `nrow` images per row, `padding` pixels of `pad_value` between and around them. Grey images
    (C = 1) are repeated to 3 channels, as in torchvision. With `normalize=True` the values are
    shifted and scaled to [0, 1], using `value_range=(min, max)` (values outside are clamped) or
    the images' own min and max (per image with `scale_each=True`). A single image is returned
    as it is (C, H, W), without padding.
    """
    if isinstance(tensor, (list, tuple)):
        if not all(isinstance(t, Tensor) for t in tensor):
            raise TypeError("make_grid: expected a Tensor or a list of Tensors")
        xp = backend.get_array_module(tensor[0].array)
        array = xp.stack([t.array for t in tensor])
    elif isinstance(tensor, Tensor):
        array = tensor.array
    else:
        raise TypeError(f"tensor should be of type Tensor, got {type(tensor).__name__}")
    xp = backend.get_array_module(array)
    if array.ndim == 2:  # one grey image (H, W)
        array = array[None]
    if array.ndim == 3:  # one image (C, H, W)
        if array.shape[0] == 1:
            array = xp.concatenate([array] * 3, axis=0)
        array = array[None]
    if array.ndim != 4:
        raise ValueError(f"make_grid: expected images (B, C, H, W), got shape {array.shape}")
    if array.shape[1] == 1:
        array = xp.concatenate([array] * 3, axis=1)
    if normalize:
        if value_range is not None and not isinstance(value_range, tuple):
            raise TypeError("value_range has to be a tuple (min, max) if specified. min and max "
                            "are numbers")
        array = _normalized(array, value_range, scale_each)
    if array.shape[0] == 1:
        return Tensor._make(array[0])
    count, channels, height, width = array.shape
    columns = min(nrow, count)
    rows = int(math.ceil(count / columns))
    cell_h, cell_w = height + padding, width + padding
    grid = xp.full((channels, rows * cell_h + padding, columns * cell_w + padding), pad_value,
                   dtype=array.dtype)
    for k in range(count):
        top, left = (k // columns) * cell_h + padding, (k % columns) * cell_w + padding
        grid[:, top:top + height, left:left + width] = array[k]
    return Tensor._make(grid)


def _normalized(array: Any, value_range: tuple[float, float] | None, scale_each: bool) -> Any:
    """Images clamped to [low, high] and mapped to [0, 1] (a new array)."""
    def rescale(images: Any) -> Any:
        if value_range is not None:
            low, high = float(value_range[0]), float(value_range[1])
        else:
            low, high = float(images.min()), float(images.max())
        return (images.clip(low, high) - low) / max(high - low, 1e-5)

    xp = backend.get_array_module(array)
    if not backend.is_floating(array.dtype):
        array = array.astype(np.float32)
    if scale_each:
        return xp.stack([rescale(image) for image in array]).astype(array.dtype)
    return rescale(array).astype(array.dtype)


def save_image(tensor: Tensor | list[Tensor], fp: str | os.PathLike | IO[bytes],
               format: str | None = None, **kwargs: Any) -> None:
    """Save a Tensor (or a batch, laid out by `make_grid(tensor, **kwargs)`) as an image file.

    Values are taken to be in [0, 1] and stored as 8-bit pixels (PNG unless `fp`'s extension or
    `format` says otherwise). Needs Pillow.
    """
    image_module = require_pillow("save_image")
    grid = make_grid(tensor, **kwargs).array
    pixels = backend.to_numpy(grid).astype(np.float32) * np.float32(255) + np.float32(0.5)
    hwc = np.ascontiguousarray(pixels.clip(0, 255).astype(np.uint8).transpose(1, 2, 0))
    image = image_module.fromarray(hwc[:, :, 0] if hwc.shape[2] == 1 else hwc)
    image.save(fp, format=format)
