"""Image transforms, torchvision style: small callables chained with `Compose`.

    transform = Compose([RandomCrop(32, padding=4), RandomHorizontalFlip(),
                         ToTensor(), Normalize((0.49, 0.48, 0.45), (0.25, 0.24, 0.26))])

Images before `ToTensor` are NumPy arrays laid out as height x width (x channels), the way an
image file is read (`HWC`); after it they are Tensors laid out `CHW` (or `NCHW` for a batch).
The geometric transforms accept both. They are data preprocessing, not part of a model:
results are new tensors that are not recorded for autograd.
The random transforms draw from tg's seeded CPU generator, so `tg.manual_seed` makes them
reproducible.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import backend
from ..tensor import Tensor

Image = Any  # a NumPy HW / HWC array, or a Tensor CHW / NCHW


def _rng() -> np.random.Generator:
    return backend.generator(backend.Device("cpu"))


class Compose:
    """Apply `transforms` one after the other."""

    def __init__(self, transforms: Sequence[Callable[[Any], Any]]) -> None:
        self.transforms = list(transforms)
        for t in self.transforms:
            if not callable(t):
                raise TypeError(f"Compose: {t!r} is not callable")

    @backend.on_device_of_args
    def __call__(self, x: Any) -> Any:
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self) -> str:
        inner = "".join(f"\n    {t!r}," for t in self.transforms)
        return f"Compose([{inner}\n])"


class ToTensor:
    """NumPy image (H, W, C) or (H, W) -> float32 Tensor (C, H, W); a 2-D image gets C = 1.

    uint8 images (0..255) are scaled to [0, 1]; float images are kept as they are (only cast to
    float32); bool images become 0.0 / 1.0.
    """

    @backend.on_device_of_args
    def __call__(self, pic: Image) -> Tensor:
        if isinstance(pic, Tensor):
            raise TypeError("ToTensor: the input is already a Tensor; ToTensor converts NumPy "
                            "images (H, W[, C]), so put it before the tensor transforms")
        if not isinstance(pic, np.ndarray):
            if backend.device_of(pic).type != "cpu":
                raise TypeError(f"ToTensor: expected a NumPy image (H, W[, C]) in host memory, "
                                f"got an array on {backend.device_of(pic)}; wrap it with "
                                "tg.tensor and use the tensor transforms instead")
            if not hasattr(pic, "__array_interface__"):  # e.g. a PIL image converts itself
                raise TypeError(f"ToTensor: expected a NumPy image, got {type(pic).__name__}")
            pic = np.asarray(pic)
        if pic.ndim not in (2, 3):
            raise ValueError(f"ToTensor: expected an image of shape (H, W) or (H, W, C), "
                             f"got shape {pic.shape}")
        if pic.dtype != np.uint8 and pic.dtype.kind not in "fb":
            raise TypeError(f"ToTensor: expected a uint8 (0..255) or float image, got dtype "
                            f"{pic.dtype}; convert it first")
        chw = pic[None] if pic.ndim == 2 else pic.transpose(2, 0, 1)
        out = np.array(chw, dtype=np.float32, order="C")  # always a fresh, contiguous copy
        if pic.dtype == np.uint8:
            np.divide(out, 255, out=out)
        return Tensor._make(out)

    def __repr__(self) -> str:
        return "ToTensor()"


class Normalize:
    """`(x - mean[c]) / std[c]` for every channel c of a float Tensor (C, H, W) or (N, C, H, W).

    `mean` and `std` are sequences with one value per channel (or a single number for all).
    """

    def __init__(self, mean: float | Sequence[float], std: float | Sequence[float],
                 inplace: bool = False) -> None:
        self.mean = np.atleast_1d(np.asarray(mean, dtype=np.float64))
        self.std = np.atleast_1d(np.asarray(std, dtype=np.float64))
        if self.mean.ndim != 1 or self.std.ndim != 1:
            raise ValueError("Normalize: mean and std must be numbers or 1-D sequences")
        if np.any(self.std == 0):
            raise ValueError(f"Normalize: std must not contain zeros, got {self.std.tolist()}")
        self.inplace = inplace

    @backend.on_device_of_args
    def __call__(self, tensor: Tensor) -> Tensor:
        if not isinstance(tensor, Tensor):
            raise TypeError(f"Normalize: expected a Tensor (C, H, W) or (N, C, H, W), got "
                            f"{type(tensor).__name__}; apply ToTensor first")
        shape = tuple(tensor.shape)
        if len(shape) < 3:
            raise ValueError(f"Normalize: expected a Tensor (C, H, W) or (N, C, H, W), "
                             f"got shape {shape}")
        if not backend.is_floating(tensor.dtype):
            raise TypeError(f"Normalize: expected a float tensor, got {tensor.dtype}; "
                            "apply ToTensor first")
        channels = shape[-3]
        for name, values in (("mean", self.mean), ("std", self.std)):
            if values.size not in (1, channels):
                raise ValueError(f"Normalize: {name} has {values.size} values but the tensor of "
                                 f"shape {shape} has {channels} channels")
        x = tensor.array
        device = backend.device_of(x)  # mean and std are moved there once, not every batch
        mean, std = (backend.device_constant(_per_channel, (tuple(values),), x.dtype, device)
                     for values in (self.mean, self.std))
        if self.inplace:
            x -= mean
            x /= std
            return tensor
        return Tensor._make((x - mean) / std)

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})"


def _per_channel(values: tuple[float, ...]) -> np.ndarray:
    """Per-channel numbers shaped (C, 1, 1), to broadcast over (C, H, W) images."""
    return np.asarray(values, dtype=np.float64).reshape(-1, 1, 1)


class Lambda:
    """Wrap any function as a transform: `Lambda(lambda x: x * 2)`."""

    def __init__(self, lambd: Callable[[Any], Any]) -> None:
        if not callable(lambd):
            raise TypeError(f"Lambda: expected a callable, got {type(lambd).__name__}")
        self.lambd = lambd

    @backend.on_device_of_args
    def __call__(self, x: Any) -> Any:
        return self.lambd(x)

    def __repr__(self) -> str:
        return f"Lambda({getattr(self.lambd, '__name__', repr(self.lambd))})"


def _height_width_axes(img: Image) -> tuple[int, int]:
    """The (height, width) axes: a Tensor is (..., H, W); a NumPy image is (H, W[, C])."""
    if isinstance(img, Tensor):
        if len(img.shape) < 2:
            raise ValueError(f"expected an image Tensor (C, H, W), got shape {tuple(img.shape)}")
        return len(img.shape) - 2, len(img.shape) - 1
    if isinstance(img, np.ndarray):
        if img.ndim not in (2, 3):
            raise ValueError(f"expected a NumPy image (H, W) or (H, W, C), got shape {img.shape}")
        return 0, 1
    raise TypeError(f"expected a NumPy image or a Tensor, got {type(img).__name__}")


def _like(img: Image, array: Any) -> Image:
    return Tensor._make(array) if isinstance(img, Tensor) else array


class RandomHorizontalFlip:
    """Mirror the image left-right with probability `p` (one coin flip per call)."""

    def __init__(self, p: float = 0.5) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"RandomHorizontalFlip: p must be in [0, 1], got {p}")
        self.p = p

    @backend.on_device_of_args
    def __call__(self, img: Image) -> Image:
        _, width_axis = _height_width_axes(img)
        if _rng().random() >= self.p:
            return img
        array = img.array if isinstance(img, Tensor) else img
        xp = backend.get_array_module(array)
        return _like(img, xp.ascontiguousarray(xp.flip(array, axis=width_axis)))

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"


def _pair(value: int | Sequence[int], name: str) -> tuple[int, int]:
    if isinstance(value, numbers.Integral):
        return int(value), int(value)
    values = tuple(int(v) for v in value)
    if len(values) != 2:
        raise ValueError(f"RandomCrop: {name} must be an int or a pair (h, w), got {value!r}")
    return values


class RandomCrop:
    """Cut a random `size` = (h, w) window out of the image, optionally padding it first.

    `padding`: an int (all four sides), a pair (left/right, top/bottom) or four values
    (left, top, right, bottom), filled with `fill` (`padding_mode='constant'`) or by
    'edge', 'reflect' or 'symmetric' padding. `pad_if_needed` pads images smaller than `size`.
    """

    def __init__(self, size: int | Sequence[int], padding: int | Sequence[int] | None = None,
                 pad_if_needed: bool = False, fill: float = 0,
                 padding_mode: str = "constant") -> None:
        self.size = _pair(size, "size")
        if min(self.size) <= 0:
            raise ValueError(f"RandomCrop: size must be positive, got {self.size}")
        self.padding = self._padding(padding)
        if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
            raise ValueError(f"RandomCrop: padding_mode must be 'constant', 'edge', 'reflect' or "
                             f"'symmetric', got {padding_mode!r}")
        self.pad_if_needed = pad_if_needed
        self.fill = fill
        self.padding_mode = padding_mode

    @staticmethod
    def _padding(padding: int | Sequence[int] | None) -> tuple[int, int, int, int]:
        """(left, top, right, bottom)."""
        if padding is None:
            return (0, 0, 0, 0)
        if isinstance(padding, numbers.Integral):
            values = (int(padding),) * 4
        else:
            values = tuple(int(p) for p in padding)
            if len(values) == 2:
                values = values * 2
            elif len(values) != 4:
                raise ValueError(f"RandomCrop: padding must be an int or 2 or 4 ints, "
                                 f"got {padding!r}")
        if min(values) < 0:
            raise ValueError(f"RandomCrop: padding must be non-negative, got {padding!r}")
        return values

    def _pad(self, array: Any, h_axis: int, w_axis: int,
             left: int, top: int, right: int, bottom: int) -> Any:
        if not any((left, top, right, bottom)):
            return array
        widths = [(0, 0)] * array.ndim
        widths[h_axis], widths[w_axis] = (top, bottom), (left, right)
        xp = backend.get_array_module(array)
        if self.padding_mode == "constant":
            return xp.pad(array, widths, mode="constant", constant_values=self.fill)
        return xp.pad(array, widths, mode=self.padding_mode)

    @backend.on_device_of_args
    def __call__(self, img: Image) -> Image:
        h_axis, w_axis = _height_width_axes(img)
        array = img.array if isinstance(img, Tensor) else img
        array = self._pad(array, h_axis, w_axis, *self.padding)
        th, tw = self.size
        height, width = array.shape[h_axis], array.shape[w_axis]
        if self.pad_if_needed and (height < th or width < tw):
            extra_w, extra_h = max(tw - width, 0), max(th - height, 0)
            array = self._pad(array, h_axis, w_axis, extra_w, extra_h, extra_w, extra_h)
            height, width = array.shape[h_axis], array.shape[w_axis]
        if height < th or width < tw:
            raise ValueError(f"RandomCrop: crop size {self.size} is larger than the (padded) "
                             f"image {height}x{width}; use padding or pad_if_needed=True")
        top = int(_rng().integers(0, height - th + 1))
        left = int(_rng().integers(0, width - tw + 1))
        window = [slice(None)] * array.ndim
        window[h_axis], window[w_axis] = slice(top, top + th), slice(left, left + tw)
        xp = backend.get_array_module(array)
        return _like(img, xp.ascontiguousarray(array[tuple(window)]))

    def __repr__(self) -> str:
        return f"RandomCrop(size={self.size}, padding={self.padding})"
