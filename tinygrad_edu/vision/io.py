"""torchvision.io: read an image file into a uint8 Tensor (C, H, W).

    img = torchvision.io.read_image("xray.png")                        # (1, H, W) for grey
    img = torchvision.io.read_image("photo.jpg", ImageReadMode.RGB)   # (3, H, W)

PNG and JPEG (and whatever else Pillow reads) are decoded by Pillow (`pip install Pillow`).
"""

from __future__ import annotations

import os
from enum import Enum

import numpy as np

from ..tensor import Tensor
from .utils import require_pillow

# Deflate (PNG) shrinks data at most about 1032 : 1, and JPEG a flat image about as much: an
# image announcing more pixels than this many times its file size is refused before decoding.
MAX_PIXELS_PER_FILE_BYTE = 2048


class ImageReadMode(Enum):
    """Which channels `read_image` returns."""

    UNCHANGED = 0
    GRAY = 1
    GRAY_ALPHA = 2
    RGB = 3
    RGB_ALPHA = 4
    RGBA = 4  # an alias, as in torchvision


_PIL_MODES = {ImageReadMode.GRAY: "L", ImageReadMode.GRAY_ALPHA: "LA",
              ImageReadMode.RGB: "RGB", ImageReadMode.RGB_ALPHA: "RGBA"}


def read_image(path: str | os.PathLike,
               mode: ImageReadMode | str = ImageReadMode.UNCHANGED) -> Tensor:
    """Read a PNG or JPEG file into a uint8 Tensor (C, H, W) with values 0..255.

    `mode` converts the image: GRAY (C = 1), GRAY_ALPHA (2), RGB (3), RGB_ALPHA (4), or
    UNCHANGED (as stored; a palette image is expanded to RGB or RGBA). Raises RuntimeError when
    the file is not a readable image, or announces more pixels than a file of its size can
    hold (a decompression bomb); ImportError when Pillow is missing.
    """
    image_module = require_pillow("read_image")
    if isinstance(mode, str):
        mode = ImageReadMode[mode.upper()]
    mode = ImageReadMode(mode)
    path = os.fspath(path)
    size = os.stat(path).st_size  # FileNotFoundError for a missing file, as open() gives
    try:
        with image_module.open(path) as image:  # reads the header only
            width, height = image.size
            channels = len(image.getbands())
            if width * height * channels > MAX_PIXELS_PER_FILE_BYTE * size + (1 << 20):
                raise RuntimeError(f"read_image: {path} announces a {width}x{height} image with "
                                   f"{channels} channels, far more than a file of {size} bytes "
                                   "can hold (a decompression bomb?); refusing to decode it")
            if mode == ImageReadMode.UNCHANGED:
                if image.mode == "P":
                    image = image.convert("RGBA" if "transparency" in image.info else "RGB")
                elif image.mode == "1":
                    image = image.convert("L")
            else:
                image = image.convert(_PIL_MODES[mode])
            array = np.asarray(image)
    except RuntimeError:
        raise
    except (OSError, ValueError, SyntaxError, image_module.DecompressionBombError) as exc:
        raise RuntimeError(f"read_image: {path} is not a readable image file ({exc})") from exc
    chw = array[None] if array.ndim == 2 else array.transpose(2, 0, 1)
    if chw.dtype != np.uint8:
        raise RuntimeError(f"read_image: {path} holds {chw.dtype} pixels; only 8-bit images "
                           "are supported")
    return Tensor._make(np.ascontiguousarray(chw))
