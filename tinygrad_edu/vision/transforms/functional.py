"""torchvision.transforms.functional: the transforms as plain functions.

Every function takes an image in one of three forms and returns the same form:
- a PIL image (when Pillow is installed),
- a NumPy array laid out as an image file is, (H, W) or (H, W, C),
- a Tensor laid out (..., C, H, W), e.g. (C, H, W) or a batch (N, C, H, W); it stays on its
  device, and the result is a new tensor outside autograd (preprocessing, not a model).
Pixel values are uint8 in 0..255 or floats in [0, 1].
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from enum import Enum
from typing import Any, NamedTuple

import numpy as np

from ... import backend
from ...tensor import Tensor
from ..utils import is_pil_image, pil_image_module, require_pillow

Image = Any  # a PIL image, a NumPy (H, W[, C]) array or a Tensor (..., C, H, W)


class InterpolationMode(Enum):
    """How `resize` and `rotate` compute a pixel that falls between input pixels."""

    NEAREST = "nearest"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"  # PIL images only


_PIL_FILTERS = {"nearest": 0, "bilinear": 2, "bicubic": 3}  # PIL.Image.Resampling values


class _Unpacked(NamedTuple):
    """An image as an array, where its height, width and channel axes are, and how to turn an
    array back into the image's own form."""

    array: Any
    h_axis: int
    w_axis: int
    c_axis: int | None
    rewrap: Callable[[Any], Image]


def _unpack(img: Image, op: str) -> _Unpacked:
    if isinstance(img, Tensor):
        if img.ndim < 2:
            raise ValueError(f"{op}: expected a Tensor image (..., C, H, W), got shape "
                             f"{tuple(img.shape)}")
        return _Unpacked(img.array, img.ndim - 2, img.ndim - 1,
                         img.ndim - 3 if img.ndim >= 3 else None, Tensor._make)
    if is_pil_image(img):
        original = img
        return _Unpacked(np.asarray(img), 0, 1, 2 if len(img.getbands()) > 1 else None,
                         lambda array: _pil_like(array, original))
    if isinstance(img, np.ndarray):
        if img.ndim not in (2, 3):
            raise ValueError(f"{op}: expected a NumPy image (H, W) or (H, W, C), got shape "
                             f"{img.shape}")
        return _Unpacked(img, 0, 1, 2 if img.ndim == 3 else None, lambda array: array)
    raise TypeError(f"{op}: img should be a PIL Image, a NumPy image (H, W[, C]) or a Tensor "
                    f"(..., C, H, W), got {type(img).__name__}")


def _pil_like(array: np.ndarray, original: Any) -> Any:
    """A PIL image of `array` in `original`'s mode (and palette)."""
    image = pil_image_module().fromarray(np.ascontiguousarray(array))
    if original.mode == "P":
        image.putpalette(original.getpalette())
    return image


@backend.on_device_of_args
def get_dimensions(img: Image) -> list[int]:
    """[channels, height, width] of an image."""
    u = _unpack(img, "get_dimensions")
    channels = 1 if u.c_axis is None else u.array.shape[u.c_axis]
    return [channels, u.array.shape[u.h_axis], u.array.shape[u.w_axis]]


def _float_dtype(array: Any) -> Any:
    return array.dtype if backend.is_floating(array.dtype) else np.dtype(np.float32)


def _back_to_dtype(result: Any, dtype: Any, rounding: bool = True) -> Any:
    """A float result as `dtype`: integers are rounded (or truncated) and clipped to range."""
    if backend.is_floating(dtype):
        return result.astype(dtype, copy=False)
    if rounding:
        result = result.round()
    info = np.iinfo(dtype)
    return result.clip(info.min, info.max).astype(dtype)


def _max_value(dtype: Any) -> float:
    return 1.0 if backend.is_floating(dtype) else float(np.iinfo(dtype).max)


# ---------------------------------------------------------------------------------------------
# Conversions
# ---------------------------------------------------------------------------------------------
def to_tensor(pic: Any) -> Tensor:
    """PIL image or NumPy array (H, W[, C]) -> Tensor (C, H, W).

    uint8 values (and PIL images of 8-bit modes) become float32 in [0, 1]; arrays of other dtypes
    keep their dtype and values (as torchvision's `to_tensor`); a PIL '1' image gives 0.0 / 1.0.
    """
    if isinstance(pic, Tensor):
        raise TypeError("ToTensor: the input is already a Tensor; ToTensor converts PIL images "
                        "and NumPy images (H, W[, C]), so put it before the tensor transforms")
    if is_pil_image(pic):
        pic = np.asarray(pic)
        if pic.dtype == np.bool_:
            pic = pic.astype(np.uint8) * 255
    elif not isinstance(pic, np.ndarray):
        if type(pic).__module__.split(".")[0] in ("cupy", "cupy_emulator"):
            raise TypeError(f"ToTensor: expected a NumPy image (H, W[, C]) in host memory, got "
                            f"an array on {backend.device_of(pic)}; wrap it with tg.tensor and "
                            "use the tensor transforms instead")
        raise TypeError(f"ToTensor: pic should be PIL Image or ndarray, got "
                        f"{type(pic).__name__}")
    if pic.ndim not in (2, 3):
        raise ValueError(f"ToTensor: pic should be 2 or 3 dimensional (H, W[, C]), got shape "
                         f"{pic.shape}")
    chw = pic[None] if pic.ndim == 2 else pic.transpose(2, 0, 1)
    if pic.dtype != np.uint8:
        return Tensor._make(np.array(chw, order="C"))  # a fresh, contiguous copy
    out = chw.astype(np.float32, order="C")
    np.divide(out, 255, out=out)
    return Tensor._make(out)


def pil_to_tensor(pic: Any) -> Tensor:
    """PIL image (or NumPy array (H, W[, C])) -> Tensor (C, H, W) of the same dtype, unscaled."""
    if not (is_pil_image(pic) or isinstance(pic, np.ndarray)):
        raise TypeError(f"PILToTensor: pic should be PIL Image, got {type(pic).__name__}")
    array = np.asarray(pic)
    if array.ndim not in (2, 3):
        raise ValueError(f"PILToTensor: expected an image (H, W[, C]), got shape {array.shape}")
    chw = array[None] if array.ndim == 2 else array.transpose(2, 0, 1)
    return Tensor._make(np.array(chw, order="C"))


@backend.on_device_of_args
def convert_image_dtype(image: Tensor, dtype: Any = np.float32) -> Tensor:
    """A Tensor image in another dtype, its values rescaled: uint8 0..255 <-> float 0..1."""
    if not isinstance(image, Tensor):
        raise TypeError(f"ConvertImageDtype: expected a Tensor, got {type(image).__name__}")
    target = np.dtype(backend.as_dtype(dtype).type)
    x = image.array
    if x.dtype == target:
        return image
    if backend.is_floating(x.dtype) and backend.is_floating(target):
        return Tensor._make(x.astype(target))
    if backend.is_floating(x.dtype):  # float -> integer, as torchvision: scale by max + 1 - eps
        scale = _max_value(target) + 1.0 - 1e-3
        return Tensor._make((x * scale).astype(target))
    if backend.is_floating(target):
        return Tensor._make((x / _max_value(x.dtype)).astype(target))
    raise TypeError(f"ConvertImageDtype: converting {x.dtype} to {target} is not supported; "
                    "go through a float dtype")


def to_pil_image(pic: Tensor | np.ndarray, mode: str | None = None) -> Any:
    """Tensor (C, H, W) or NumPy array (H, W[, C]) -> PIL image. Float Tensors are taken to be in
    [0, 1] (multiplied by 255 and truncated to uint8, as torchvision)."""
    image_module = require_pillow("ToPILImage")
    if isinstance(pic, Tensor):
        if pic.ndim not in (2, 3):
            raise ValueError(f"ToPILImage: pic should be 2 or 3 dimensional, got shape "
                             f"{tuple(pic.shape)}")
        array = backend.to_numpy(pic.array)
        if array.ndim == 3:
            array = array.transpose(1, 2, 0)
        if backend.is_floating(array.dtype) and mode != "F":
            array = (array * 255).astype(np.uint8)
    elif isinstance(pic, np.ndarray):
        if pic.ndim not in (2, 3):
            raise ValueError(f"ToPILImage: pic should be 2 or 3 dimensional, got shape "
                             f"{pic.shape}")
        array = pic
    else:
        raise TypeError(f"ToPILImage: pic should be Tensor or ndarray, got {type(pic).__name__}")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim == 3 and array.dtype != np.uint8:
        raise TypeError(f"ToPILImage: a {array.shape[2]}-channel image must be uint8, got "
                        f"{array.dtype}")
    if array.ndim == 3 and array.shape[2] not in (2, 3, 4):
        raise ValueError(f"ToPILImage: expected 1 to 4 channels, got {array.shape[2]}")
    if array.ndim == 2 and array.dtype == np.float64:
        array = array.astype(np.float32)
    image = image_module.fromarray(np.ascontiguousarray(array))
    return image if mode is None else image.convert(mode)


def normalize(tensor: Tensor, mean: Sequence[float], std: Sequence[float],
              inplace: bool = False) -> Tensor:
    """`(x - mean[c]) / std[c]` for every channel c of a float Tensor (..., C, H, W)."""
    from .transforms import Normalize  # one implementation: the transform's

    return Normalize(mean, std, inplace)(tensor)


# ---------------------------------------------------------------------------------------------
# Geometry
# ---------------------------------------------------------------------------------------------
@backend.on_device_of_args
def hflip(img: Image) -> Image:
    """Mirror left-right."""
    u = _unpack(img, "hflip")
    xp = backend.get_array_module(u.array)
    return u.rewrap(xp.ascontiguousarray(xp.flip(u.array, axis=u.w_axis)))


@backend.on_device_of_args
def vflip(img: Image) -> Image:
    """Mirror top-bottom."""
    u = _unpack(img, "vflip")
    xp = backend.get_array_module(u.array)
    return u.rewrap(xp.ascontiguousarray(xp.flip(u.array, axis=u.h_axis)))


def _ltrb(padding: int | Sequence[int], op: str) -> tuple[int, int, int, int]:
    """torchvision's padding forms as (left, top, right, bottom): an int for all four sides, a
    pair (left/right, top/bottom) or four values."""
    if isinstance(padding, numbers.Integral):
        values = (int(padding),) * 4
    else:
        values = tuple(int(p) for p in padding)
        if len(values) == 1:
            values = values * 4
        elif len(values) == 2:
            values = values * 2
        elif len(values) != 4:
            raise ValueError(f"{op}: padding must be an int or a sequence of 1, 2 or 4 ints, "
                             f"got {padding!r}")
    if min(values) < 0:
        raise ValueError(f"{op}: padding must be non-negative, got {padding!r}")
    return values  # type: ignore[return-value]


@backend.on_device_of_args
def pad(img: Image, padding: int | Sequence[int], fill: float = 0,
        padding_mode: str = "constant") -> Image:
    """Pad the borders: `padding` as in torchvision (int, (left/right, top/bottom) or (left,
    top, right, bottom)), filled with `fill` or by 'edge', 'reflect' or 'symmetric' padding."""
    if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
        raise ValueError(f"pad: padding_mode must be 'constant', 'edge', 'reflect' or "
                         f"'symmetric', got {padding_mode!r}")
    left, top, right, bottom = _ltrb(padding, "pad")
    u = _unpack(img, "pad")
    if not any((left, top, right, bottom)):
        return img
    widths = [(0, 0)] * u.array.ndim
    widths[u.h_axis], widths[u.w_axis] = (top, bottom), (left, right)
    xp = backend.get_array_module(u.array)
    if padding_mode == "constant":
        return u.rewrap(xp.pad(u.array, widths, mode="constant", constant_values=fill))
    return u.rewrap(xp.pad(u.array, widths, mode=padding_mode))


@backend.on_device_of_args
def crop(img: Image, top: int, left: int, height: int, width: int) -> Image:
    """The window of `height` x `width` pixels whose top-left corner is at (`top`, `left`);
    parts outside the image are 0."""
    u = _unpack(img, "crop")
    image_h, image_w = u.array.shape[u.h_axis], u.array.shape[u.w_axis]
    outside = (max(-left, 0), max(-top, 0), max(left + width - image_w, 0),
               max(top + height - image_h, 0))
    array = u.array
    xp = backend.get_array_module(array)
    if any(outside):
        pad_left, pad_top, pad_right, pad_bottom = outside
        widths = [(0, 0)] * array.ndim
        widths[u.h_axis], widths[u.w_axis] = (pad_top, pad_bottom), (pad_left, pad_right)
        array = xp.pad(array, widths)
        top, left = top + pad_top, left + pad_left
    window = [slice(None)] * array.ndim
    window[u.h_axis], window[u.w_axis] = slice(top, top + height), slice(left, left + width)
    return u.rewrap(xp.ascontiguousarray(array[tuple(window)]))


def _size_pair(size: int | Sequence[int], op: str) -> tuple[int, int]:
    """(height, width) from an int (a square) or a sequence of one or two ints."""
    if isinstance(size, numbers.Integral):
        return int(size), int(size)
    values = tuple(int(v) for v in size)
    if len(values) == 1:
        return values[0], values[0]
    if len(values) != 2:
        raise ValueError(f"{op}: size must be an int or a sequence (h, w), got {size!r}")
    return values  # type: ignore[return-value]


@backend.on_device_of_args
def center_crop(img: Image, output_size: int | Sequence[int]) -> Image:
    """The central `output_size` = (h, w) window; an image smaller than that is padded with 0."""
    crop_h, crop_w = _size_pair(output_size, "center_crop")
    _, image_h, image_w = get_dimensions(img)
    if crop_w > image_w or crop_h > image_h:
        img = pad(img, [(crop_w - image_w) // 2 if crop_w > image_w else 0,
                        (crop_h - image_h) // 2 if crop_h > image_h else 0,
                        (crop_w - image_w + 1) // 2 if crop_w > image_w else 0,
                        (crop_h - image_h + 1) // 2 if crop_h > image_h else 0])
        _, image_h, image_w = get_dimensions(img)
    top = int(round((image_h - crop_h) / 2.0))
    left = int(round((image_w - crop_w) / 2.0))
    return crop(img, top, left, crop_h, crop_w)


def _resized_shape(height: int, width: int, size: int | Sequence[int],
                   max_size: int | None) -> tuple[int, int]:
    """torchvision's rule: an int matches the smaller edge (keeping the aspect ratio, the longer
    edge at most `max_size`); (h, w) is the output size itself."""
    if not isinstance(size, numbers.Integral):
        values = tuple(int(v) for v in size)
        if len(values) == 2:
            return values  # type: ignore[return-value]
        if len(values) != 1:
            raise ValueError(f"Resize: size must be an int or a sequence of 1 or 2 ints, got "
                             f"{size!r}")
        size = values[0]
    short, long = (width, height) if width <= height else (height, width)
    new_short, new_long = int(size), int(int(size) * long / short)
    if max_size is not None:
        if max_size <= size:
            raise ValueError(f"Resize: max_size = {max_size} must be strictly greater than the "
                             f"requested size for the smaller edge size = {size}")
        if new_long > max_size:
            new_short, new_long = int(max_size * new_short / new_long), max_size
    return (new_long, new_short) if width <= height else (new_short, new_long)


def _resize_weights(in_size: int, out_size: int, mode: str, antialias: bool) -> np.ndarray:
    """The (out_size, in_size) matrix that resizes one axis.

    Bilinear: output pixel i is centred at (i + 0.5) * scale in input coordinates and is the
    average of the input pixels under a triangle of half-width 1 (or `scale` when shrinking
    with antialias, so every input pixel counts), normalised to sum 1: PIL's and PyTorch's
    antialiased bilinear. Nearest: input pixel floor(i * scale), as PyTorch's."""
    scale = in_size / out_size
    if mode == "nearest":
        weights = np.zeros((out_size, in_size))
        source = np.minimum(np.floor(np.arange(out_size) * scale).astype(np.int64), in_size - 1)
        weights[np.arange(out_size), source] = 1.0
        return weights
    half_width = max(scale, 1.0) if antialias else 1.0
    centres = (np.arange(out_size) + 0.5) * scale
    distance = (np.arange(in_size)[None, :] + 0.5 - centres[:, None]) / half_width
    weights = np.clip(1.0 - np.abs(distance), 0.0, None)
    return weights / weights.sum(axis=1, keepdims=True)


@backend.on_device_of_args
def resize(img: Image, size: int | Sequence[int],
           interpolation: InterpolationMode = InterpolationMode.BILINEAR,
           max_size: int | None = None, antialias: bool | None = True) -> Image:
    """Resize to `size` (an int: the smaller edge, keeping the aspect ratio; or (h, w)).

    PIL images are resized by PIL (as torchvision does); arrays and Tensors by two matrix
    products, one per axis (see `_resize_weights`); integer images are rounded back."""
    interpolation = InterpolationMode(interpolation)
    _, height, width = get_dimensions(img)
    out_h, out_w = _resized_shape(height, width, size, max_size)
    if min(out_h, out_w) <= 0:
        raise ValueError(f"Resize: the output size {(out_h, out_w)} must be positive")
    if is_pil_image(img):
        return img.resize((out_w, out_h), _PIL_FILTERS[interpolation.value])
    if interpolation == InterpolationMode.BICUBIC:
        raise ValueError("Resize: bicubic interpolation is implemented for PIL images only; "
                         "use InterpolationMode.BILINEAR or NEAREST for arrays and Tensors")
    if (out_h, out_w) == (height, width):
        return img
    u = _unpack(img, "resize")
    xp = backend.get_array_module(u.array)
    result = u.array.astype(_float_dtype(u.array))
    for axis, out_size in ((u.h_axis, out_h), (u.w_axis, out_w)):
        weights = _resize_weights(result.shape[axis], out_size, interpolation.value,
                                  bool(antialias))
        weights = backend.to_device(weights.astype(result.dtype), backend.device_of(result))
        result = xp.moveaxis(xp.tensordot(weights, result, axes=([1], [axis])), 0, axis)
    return u.rewrap(xp.ascontiguousarray(_back_to_dtype(result, u.array.dtype)))


def _rotated_size(height: int, width: int, inverse: np.ndarray) -> tuple[int, int]:
    """The (h, w) that holds the whole rotated image (torchvision's rounding)."""
    corners = np.array([[-0.5 * width, -0.5 * height], [-0.5 * width, 0.5 * height],
                        [0.5 * width, 0.5 * height], [0.5 * width, -0.5 * height]])
    moved = corners @ inverse.T
    tol = 1e-4
    high = np.ceil(np.trunc(moved.max(axis=0) / tol) * tol)
    low = np.floor(np.trunc(moved.min(axis=0) / tol) * tol)
    new_w, new_h = (high - low).astype(int)
    return int(new_h), int(new_w)


@backend.on_device_of_args
def rotate(img: Image, angle: float,
           interpolation: InterpolationMode = InterpolationMode.NEAREST, expand: bool = False,
           center: Sequence[float] | None = None, fill: float | Sequence[float] | None = None
           ) -> Image:
    """Rotate by `angle` degrees counter-clockwise about `center` ((x, y) in pixels; the image's
    centre by default). Pixels that come from outside the image are `fill` (0 by default).
    `expand=True` makes the output large enough to hold the whole rotated image.

    PIL images are rotated by PIL (as torchvision does). For arrays and Tensors each output
    pixel looks up where it came from: (x, y) - pivot turned back by the angle, + pivot."""
    interpolation = InterpolationMode(interpolation)
    if is_pil_image(img):
        if isinstance(fill, Sequence):
            fill = tuple(int(f) for f in fill)
        elif fill is not None:
            fill = int(fill) if len(img.getbands()) == 1 else (int(fill),) * len(img.getbands())
        return img.rotate(angle, _PIL_FILTERS[interpolation.value], expand, center,
                          fillcolor=fill)
    if interpolation == InterpolationMode.BICUBIC:
        raise ValueError("RandomRotation: bicubic interpolation is implemented for PIL images "
                         "only; use InterpolationMode.BILINEAR or NEAREST")
    u = _unpack(img, "rotate")
    xp = backend.get_array_module(u.array)
    height, width = u.array.shape[u.h_axis], u.array.shape[u.w_axis]
    radians = math.radians(angle)
    # from an output pixel's offset (dx, dy) (y pointing down) to its source's offset
    inverse = np.array([[math.cos(radians), -math.sin(radians)],
                        [math.sin(radians), math.cos(radians)]])
    pivot_x, pivot_y = (((width - 1) / 2, (height - 1) / 2) if center is None or expand
                        else (center[0] - 0.5, center[1] - 0.5))
    out_h, out_w = _rotated_size(height, width, inverse) if expand else (height, width)
    out_pivot_x, out_pivot_y = ((out_w - 1) / 2, (out_h - 1) / 2) if expand else (pivot_x,
                                                                                  pivot_y)
    ys, xs = np.meshgrid(np.arange(out_h) - out_pivot_y, np.arange(out_w) - out_pivot_x,
                         indexing="ij")
    source_x = inverse[0, 0] * xs + inverse[0, 1] * ys + pivot_x
    source_y = inverse[1, 0] * xs + inverse[1, 1] * ys + pivot_y
    # the image as (..., H, W) planes, whatever its layout
    planes = xp.moveaxis(u.array, (u.h_axis, u.w_axis), (-2, -1)).astype(_float_dtype(u.array))
    ones = xp.ones(planes.shape[-2:], dtype=planes.dtype)
    if interpolation == InterpolationMode.NEAREST:
        sampled, mask = _sample_nearest(planes, source_x, source_y), _sample_nearest(
            ones, source_x, source_y)
    else:
        sampled, mask = _sample_bilinear(planes, source_x, source_y), _sample_bilinear(
            ones, source_x, source_y)
    fill_values = _fill_planes(fill, planes, u)
    if interpolation == InterpolationMode.NEAREST:
        result = xp.where(mask < 0.5, fill_values, sampled)
    else:
        result = sampled * mask + (1.0 - mask) * fill_values
    result = xp.moveaxis(result, (-2, -1), (u.h_axis, u.w_axis))
    return u.rewrap(xp.ascontiguousarray(_back_to_dtype(result, u.array.dtype)))


def _fill_planes(fill: float | Sequence[float] | None, planes: Any, u: _Unpacked) -> Any:
    """`fill` shaped to broadcast over `planes` (..., H, W): one value, or one per channel."""
    values = np.atleast_1d(np.asarray(0.0 if fill is None else fill, dtype=np.float64))
    if values.size == 1:
        return values.astype(planes.dtype)[0]
    channels = 1 if u.c_axis is None else u.array.shape[u.c_axis]
    if values.size != channels:
        raise ValueError(f"rotate: fill has {values.size} values but the image has {channels} "
                         "channels")
    shape = [1] * planes.ndim
    # the channel axis among the (..., H, W) planes: last of the leading axes
    channel_position = planes.ndim - 3
    shape[channel_position] = channels
    return backend.to_device(values.astype(planes.dtype).reshape(shape),
                             backend.device_of(planes))


def _sample_nearest(planes: Any, source_x: np.ndarray, source_y: np.ndarray) -> Any:
    """planes (..., H, W) at the nearest pixels of (source_x, source_y); 0 outside."""
    height, width = planes.shape[-2:]
    col, row = np.rint(source_x).astype(np.int64), np.rint(source_y).astype(np.int64)
    inside = (col >= 0) & (col < width) & (row >= 0) & (row < height)
    where = backend.device_of(planes)
    values = planes[..., backend.to_device(row.clip(0, height - 1), where),
                    backend.to_device(col.clip(0, width - 1), where)]
    return values * backend.to_device(inside.astype(planes.dtype), where)


def _sample_bilinear(planes: Any, source_x: np.ndarray, source_y: np.ndarray) -> Any:
    """planes (..., H, W) interpolated between the four pixels around each source point, with
    0 for pixels outside the image."""
    height, width = planes.shape[-2:]
    where = backend.device_of(planes)
    x0, y0 = np.floor(source_x), np.floor(source_y)
    result = 0
    for dx in (0, 1):
        for dy in (0, 1):
            col, row = (x0 + dx).astype(np.int64), (y0 + dy).astype(np.int64)
            weight = (1 - np.abs(source_x - col)) * (1 - np.abs(source_y - row))
            weight *= (col >= 0) & (col < width) & (row >= 0) & (row < height)
            values = planes[..., backend.to_device(row.clip(0, height - 1), where),
                            backend.to_device(col.clip(0, width - 1), where)]
            result = result + values * backend.to_device(weight.astype(planes.dtype), where)
    return result


# ---------------------------------------------------------------------------------------------
# Colour
# ---------------------------------------------------------------------------------------------
@backend.on_device_of_args
def rgb_to_grayscale(img: Image, num_output_channels: int = 1) -> Image:
    """Luma 0.2989 R + 0.587 G + 0.114 B, as 1 (or 3 equal) channels."""
    if is_pil_image(img):
        grey = img.convert("L")
        return grey if num_output_channels == 1 else grey.convert("RGB")
    u = _unpack(img, "rgb_to_grayscale")
    grey = _grey(u)
    xp = backend.get_array_module(grey)
    if num_output_channels == 3:
        grey = xp.concatenate([grey] * 3, axis=u.c_axis)
    return u.rewrap(xp.ascontiguousarray(grey))


def _grey(u: _Unpacked) -> Any:
    """The luma of an array image, keeping its channel axis (of size 1) and dtype."""
    xp = backend.get_array_module(u.array)
    if u.c_axis is None or u.array.shape[u.c_axis] == 1:
        return u.array
    r, g, b = (xp.take(u.array, [i], axis=u.c_axis).astype(_float_dtype(u.array))
               for i in range(3))
    return _back_to_dtype(0.2989 * r + 0.587 * g + 0.114 * b, u.array.dtype, rounding=False)


def _blend(u: _Unpacked, other: Any, ratio: float) -> Image:
    """ratio * image + (1 - ratio) * other, clamped to the dtype's range (torchvision's _blend)."""
    array = u.array.astype(_float_dtype(u.array))
    result = (ratio * array + (1.0 - ratio) * other).clip(0, _max_value(u.array.dtype))
    return u.rewrap(_back_to_dtype(result, u.array.dtype, rounding=False))


def _pil_enhance(img: Any, kind: str, factor: float) -> Any:
    from PIL import ImageEnhance

    return getattr(ImageEnhance, kind)(img).enhance(factor)


@backend.on_device_of_args
def adjust_brightness(img: Image, brightness_factor: float) -> Image:
    """Blend with black: 0 gives black, 1 the image, 2 twice as bright."""
    if brightness_factor < 0:
        raise ValueError(f"adjust_brightness: brightness_factor ({brightness_factor}) is not "
                         "non-negative")
    if is_pil_image(img):
        return _pil_enhance(img, "Brightness", brightness_factor)
    return _blend(_unpack(img, "adjust_brightness"), 0.0, brightness_factor)


@backend.on_device_of_args
def adjust_contrast(img: Image, contrast_factor: float) -> Image:
    """Blend with the image's mean grey: 0 gives a flat grey image, 1 the image."""
    if contrast_factor < 0:
        raise ValueError(f"adjust_contrast: contrast_factor ({contrast_factor}) is not "
                         "non-negative")
    if is_pil_image(img):
        return _pil_enhance(img, "Contrast", contrast_factor)
    u = _unpack(img, "adjust_contrast")
    grey = _grey(u).astype(_float_dtype(u.array))
    axes = tuple(a for a in (u.c_axis, u.h_axis, u.w_axis) if a is not None)
    return _blend(u, grey.mean(axis=axes, keepdims=True), contrast_factor)


@backend.on_device_of_args
def adjust_saturation(img: Image, saturation_factor: float) -> Image:
    """Blend with the grey image: 0 gives black and white, 1 the image."""
    if saturation_factor < 0:
        raise ValueError(f"adjust_saturation: saturation_factor ({saturation_factor}) is not "
                         "non-negative")
    if is_pil_image(img):
        return _pil_enhance(img, "Color", saturation_factor)
    u = _unpack(img, "adjust_saturation")
    if u.c_axis is None or u.array.shape[u.c_axis] == 1:
        return img
    return _blend(u, _grey(u).astype(_float_dtype(u.array)), saturation_factor)


@backend.on_device_of_args
def adjust_hue(img: Image, hue_factor: float) -> Image:
    """Shift every pixel's hue by `hue_factor` turns of the colour wheel (in [-0.5, 0.5])."""
    if not -0.5 <= hue_factor <= 0.5:
        raise ValueError(f"adjust_hue: hue_factor ({hue_factor}) is not in [-0.5, 0.5]")
    if is_pil_image(img):
        if img.mode in ("L", "1", "I", "F"):
            return img
        h, s, v = img.convert("HSV").split()
        hue = np.asarray(h).copy()
        hue += np.int8(hue_factor * 255).view(np.uint8)  # wraps around, as a hue should
        image_module = pil_image_module()
        shifted = image_module.merge("HSV", (image_module.fromarray(hue), s, v))
        return shifted.convert(img.mode)
    u = _unpack(img, "adjust_hue")
    if u.c_axis is None or u.array.shape[u.c_axis] == 1:
        return img
    xp = backend.get_array_module(u.array)
    rgb = u.array.astype(_float_dtype(u.array)) / _max_value(u.array.dtype)
    hue, saturation, value = _rgb_to_hsv(xp, rgb, u.c_axis)
    rgb = _hsv_to_rgb(xp, (hue + hue_factor) % 1.0, saturation, value, u.c_axis)
    scale = _max_value(u.array.dtype)
    return u.rewrap(_back_to_dtype(rgb * scale, u.array.dtype, rounding=False))


def _rgb_to_hsv(xp: Any, rgb: Any, axis: int) -> tuple[Any, Any, Any]:
    r, g, b = (xp.take(rgb, [i], axis=axis) for i in range(3))
    high = xp.maximum(xp.maximum(r, g), b)
    low = xp.minimum(xp.minimum(r, g), b)
    spread = high - low
    safe = xp.where(spread == 0, 1.0, spread)
    saturation = spread / xp.where(high == 0, 1.0, high)
    hue = xp.where(high == r, (g - b) / safe, xp.where(high == g, 2.0 + (b - r) / safe,
                                                       4.0 + (r - g) / safe))
    hue = xp.where(spread == 0, 0.0, (hue / 6.0) % 1.0)
    return hue.astype(rgb.dtype), saturation, high


def _hsv_to_rgb(xp: Any, hue: Any, saturation: Any, value: Any, axis: int) -> Any:
    sector = xp.floor(hue * 6.0)
    f = hue * 6.0 - sector
    sector = sector.astype(np.int64) % 6
    p, q, t = value * (1 - saturation), value * (1 - saturation * f), value * (
        1 - saturation * (1 - f))
    choices = [(value, t, p), (q, value, p), (p, value, t), (p, q, value), (t, p, value),
               (value, p, q)]
    channels = []
    for c in range(3):
        channel = xp.zeros_like(value)
        for k, triple in enumerate(choices):
            channel = xp.where(sector == k, triple[c], channel)
        channels.append(channel)
    return xp.concatenate(channels, axis=axis)
