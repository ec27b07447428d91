"""The transform classes: small callables, chained with `Compose`.

    transform = transforms.Compose([transforms.RandomCrop(32, padding=4),
                                    transforms.RandomHorizontalFlip(),
                                    transforms.ToTensor(),
                                    transforms.Normalize((0.49, 0.48, 0.45), (0.25, 0.24, 0.26))])

Before `ToTensor` an image is a PIL image or a NumPy array (H, W[, C]); after it a Tensor
(C, H, W). The geometric and colour transforms accept all three (see `functional`).
The random ones draw from tg's seeded CPU generator: `tg.manual_seed` makes them reproducible,
and they make the same choices whichever device a Tensor image is on.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ... import backend
from ...tensor import Tensor
from . import functional as F
from .functional import Image, InterpolationMode


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
    def __call__(self, img: Any) -> Any:
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self) -> str:
        return "Compose(" + "".join(f"\n    {t}" for t in self.transforms) + "\n)"


class ToTensor:
    """PIL image or NumPy array (H, W[, C]) -> Tensor (C, H, W); uint8 0..255 -> float32 0..1
    (other dtypes keep their values, as in torchvision)."""

    def __call__(self, pic: Any) -> Tensor:
        return F.to_tensor(pic)

    def __repr__(self) -> str:
        return "ToTensor()"


class PILToTensor:
    """PIL image (H, W[, C]) -> uint8 Tensor (C, H, W), values unchanged."""

    def __call__(self, pic: Any) -> Tensor:
        return F.pil_to_tensor(pic)

    def __repr__(self) -> str:
        return "PILToTensor()"


class ConvertImageDtype:
    """Tensor image -> `dtype`, rescaling the values (uint8 0..255 <-> float 0..1)."""

    def __init__(self, dtype: Any) -> None:
        self.dtype = dtype

    def __call__(self, image: Tensor) -> Tensor:
        return F.convert_image_dtype(image, self.dtype)

    def __repr__(self) -> str:
        return f"ConvertImageDtype(dtype={self.dtype})"


class ToPILImage:
    """Tensor (C, H, W) or NumPy array (H, W[, C]) -> PIL image (needs Pillow)."""

    def __init__(self, mode: str | None = None) -> None:
        self.mode = mode

    def __call__(self, pic: Tensor | np.ndarray) -> Any:
        return F.to_pil_image(pic, self.mode)

    def __repr__(self) -> str:
        return "ToPILImage()" if self.mode is None else f"ToPILImage(mode={self.mode})"


class Normalize:
    """`(x - mean[c]) / std[c]` for every channel c of a float Tensor (C, H, W) or (N, C, H, W).

    `mean` and `std` are sequences with one value per channel (or a single number for all).
    """

    def __init__(self, mean: float | Sequence[float], std: float | Sequence[float],
                 inplace: bool = False) -> None:
        self.mean, self.std, self.inplace = mean, std, inplace
        self._mean = np.atleast_1d(np.asarray(mean, dtype=np.float64))
        self._std = np.atleast_1d(np.asarray(std, dtype=np.float64))
        if self._mean.ndim != 1 or self._std.ndim != 1:
            raise ValueError("Normalize: mean and std must be numbers or 1-D sequences")
        if np.any(self._std == 0):
            raise ValueError(f"Normalize: std evaluated to zero, leading to division by zero "
                             f"(std = {self._std.tolist()}: std must not contain zeros)")

    @backend.on_device_of_args
    def __call__(self, tensor: Tensor) -> Tensor:
        if not isinstance(tensor, Tensor):
            raise TypeError(f"Normalize: img should be Tensor Image (C, H, W), got "
                            f"{type(tensor).__name__}; apply ToTensor first")
        shape = tuple(tensor.shape)
        if len(shape) < 3:
            raise ValueError(f"Normalize: expected a Tensor image of size (..., C, H, W), "
                             f"got shape {shape}")
        if not backend.is_floating(tensor.dtype):
            raise TypeError(f"Normalize: input tensor should be a float tensor, got "
                            f"{tensor.dtype}; apply ToTensor first")
        channels = shape[-3]
        for name, values in (("mean", self._mean), ("std", self._std)):
            if values.size not in (1, channels):
                raise ValueError(f"Normalize: {name} has {values.size} values but the tensor of "
                                 f"shape {shape} has {channels} channels")
        x = tensor.array
        device = backend.device_of(x)  # mean and std are moved there once, not every batch
        mean, std = (backend.device_constant(_per_channel, (tuple(values),), x.dtype, device)
                     for values in (self._mean, self._std))
        if self.inplace:
            x -= mean
            x /= std
            return tensor
        return Tensor._make((x - mean) / std)

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean}, std={self.std})"


def _per_channel(values: tuple[float, ...]) -> np.ndarray:
    """Per-channel numbers shaped (C, 1, 1), to broadcast over (C, H, W) images."""
    return np.asarray(values, dtype=np.float64).reshape(-1, 1, 1)


class Lambda:
    """Wrap any function as a transform: `Lambda(lambda x: x * 2)`."""

    def __init__(self, lambd: Callable[[Any], Any]) -> None:
        if not callable(lambd):
            raise TypeError(f"Lambda: argument should be callable, got {type(lambd).__name__}")
        self.lambd = lambd

    @backend.on_device_of_args
    def __call__(self, img: Any) -> Any:
        return self.lambd(img)

    def __repr__(self) -> str:
        return "Lambda()"


def _check_probability(p: float, name: str) -> float:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name}: p must be in [0, 1], got {p}")
    return p


class RandomHorizontalFlip:
    """Mirror the image left-right with probability `p` (one coin flip per call)."""

    def __init__(self, p: float = 0.5) -> None:
        self.p = _check_probability(p, "RandomHorizontalFlip")

    @backend.on_device_of_args
    def __call__(self, img: Image) -> Image:
        F.get_dimensions(img)  # a clear error for a non-image, flip or not
        return F.hflip(img) if _rng().random() < self.p else img

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"


class RandomVerticalFlip:
    """Mirror the image top-bottom with probability `p`."""

    def __init__(self, p: float = 0.5) -> None:
        self.p = _check_probability(p, "RandomVerticalFlip")

    @backend.on_device_of_args
    def __call__(self, img: Image) -> Image:
        F.get_dimensions(img)
        return F.vflip(img) if _rng().random() < self.p else img

    def __repr__(self) -> str:
        return f"RandomVerticalFlip(p={self.p})"


def _setup_size(size: int | Sequence[int], name: str) -> tuple[int, int]:
    """(h, w) from an int or a sequence of one or two ints, all positive."""
    if isinstance(size, numbers.Integral):
        pair = (int(size), int(size))
    else:
        values = tuple(size)
        if len(values) not in (1, 2):
            raise ValueError(f"{name}: please provide only two dimensions (h, w) for size, got "
                             f"{size!r}")
        pair = (int(values[0]), int(values[-1]))
    if min(pair) <= 0:
        raise ValueError(f"{name}: size must be positive, got {size!r}")
    return pair


class Resize:
    """Resize to `size`: an int matches the smaller edge (keeping the aspect ratio), (h, w) sets
    both. Bilinear by default; antialiased when shrinking."""

    def __init__(self, size: int | Sequence[int],
                 interpolation: InterpolationMode = InterpolationMode.BILINEAR,
                 max_size: int | None = None, antialias: bool | None = True) -> None:
        if not isinstance(size, (numbers.Integral, Sequence)) or (
                isinstance(size, Sequence) and len(size) not in (1, 2)):
            raise TypeError(f"Resize: size should be an int or a sequence of 1 or 2 ints, got "
                            f"{size!r}")
        self.size = size
        self.interpolation = InterpolationMode(interpolation)
        self.max_size = max_size
        self.antialias = antialias

    @backend.on_device_of_args
    def __call__(self, img: Image) -> Image:
        return F.resize(img, self.size, self.interpolation, self.max_size, self.antialias)

    def __repr__(self) -> str:
        return (f"Resize(size={self.size}, interpolation={self.interpolation.value}, "
                f"max_size={self.max_size}, antialias={self.antialias})")


class CenterCrop:
    """The central `size` = (h, w) window (padded with 0 when the image is smaller)."""

    def __init__(self, size: int | Sequence[int]) -> None:
        self.size = _setup_size(size, "CenterCrop")

    @backend.on_device_of_args
    def __call__(self, img: Image) -> Image:
        return F.center_crop(img, self.size)

    def __repr__(self) -> str:
        return f"CenterCrop(size={self.size})"


class RandomCrop:
    """Cut a random `size` = (h, w) window out of the image, optionally padding it first.

    `padding`: an int (all four sides), a pair (left/right, top/bottom) or four values
    (left, top, right, bottom), filled with `fill` (`padding_mode='constant'`) or by
    'edge', 'reflect' or 'symmetric' padding. `pad_if_needed` pads images smaller than `size`.
    """

    def __init__(self, size: int | Sequence[int], padding: int | Sequence[int] | None = None,
                 pad_if_needed: bool = False, fill: float = 0,
                 padding_mode: str = "constant") -> None:
        self.size = _setup_size(size, "RandomCrop")
        if padding is not None:
            F._ltrb(padding, "RandomCrop")  # refuse bad padding now, not at the first image
        if padding_mode not in ("constant", "edge", "reflect", "symmetric"):
            raise ValueError(f"RandomCrop: padding_mode must be 'constant', 'edge', 'reflect' or "
                             f"'symmetric', got {padding_mode!r}")
        self.padding = padding
        self.pad_if_needed = pad_if_needed
        self.fill = fill
        self.padding_mode = padding_mode

    @backend.on_device_of_args
    def __call__(self, img: Image) -> Image:
        if self.padding is not None:
            img = F.pad(img, self.padding, self.fill, self.padding_mode)
        _, height, width = F.get_dimensions(img)
        th, tw = self.size
        if self.pad_if_needed and width < tw:
            img = F.pad(img, [tw - width, 0], self.fill, self.padding_mode)
        if self.pad_if_needed and height < th:
            img = F.pad(img, [0, th - height], self.fill, self.padding_mode)
        _, height, width = F.get_dimensions(img)
        if height < th or width < tw:
            raise ValueError(f"RandomCrop: required crop size {(th, tw)} is larger than the "
                             f"(padded) input image size {(height, width)}; use padding or "
                             "pad_if_needed=True")
        top = int(_rng().integers(0, height - th + 1))
        left = int(_rng().integers(0, width - tw + 1))
        return F.crop(img, top, left, th, tw)

    def __repr__(self) -> str:
        return f"RandomCrop(size={self.size}, padding={self.padding})"


def _degrees_range(degrees: float | Sequence[float]) -> list[float]:
    if isinstance(degrees, numbers.Number):
        if degrees < 0:
            raise ValueError(f"RandomRotation: if degrees is a single number, it must be "
                             f"positive, got {degrees}")
        return [-float(degrees), float(degrees)]
    values = [float(d) for d in degrees]
    if len(values) != 2:
        raise ValueError(f"RandomRotation: degrees should be a number or a sequence of 2 "
                         f"numbers, got {degrees!r}")
    return values


class RandomRotation:
    """Rotate by an angle drawn uniformly from `degrees` = (min, max) (or (-d, d) for a number d),
    counter-clockwise, about `center` (the image's centre by default); see `F.rotate`."""

    def __init__(self, degrees: float | Sequence[float],
                 interpolation: InterpolationMode = InterpolationMode.NEAREST,
                 expand: bool = False, center: Sequence[float] | None = None,
                 fill: float | Sequence[float] = 0) -> None:
        self.degrees = _degrees_range(degrees)
        self.interpolation = InterpolationMode(interpolation)
        self.expand = expand
        self.center = center
        self.fill = fill

    @backend.on_device_of_args
    def __call__(self, img: Image) -> Image:
        angle = float(_rng().uniform(self.degrees[0], self.degrees[1]))
        return F.rotate(img, angle, self.interpolation, self.expand, self.center, self.fill)

    def __repr__(self) -> str:
        center = "" if self.center is None else f", center={self.center}"
        return (f"RandomRotation(degrees={self.degrees}, interpolation="
                f"{self.interpolation.value}, expand={self.expand}{center}, fill={self.fill})")


def _jitter_range(value: float | Sequence[float] | None, name: str, center: float = 1.0,
                  bound: tuple[float, float] = (0.0, float("inf"))) -> tuple[float, float] | None:
    """torchvision's rule: a number v means [center - v, center + v] (clipped at the bound), a
    pair is the range itself; None or a zero range means "leave it alone"."""
    if value is None:
        return None
    if isinstance(value, numbers.Number):
        if value < 0:
            raise ValueError(f"ColorJitter: if {name} is a single number, it must be "
                             f"non negative, got {value}")
        low, high = center - float(value), center + float(value)
        if name != "hue":
            low = max(low, 0.0)
    else:
        values = [float(v) for v in value]
        if len(values) != 2:
            raise ValueError(f"ColorJitter: {name} should be a single number or a list/tuple "
                             f"with length 2, got {value!r}")
        low, high = values
    if not bound[0] <= low <= high <= bound[1]:
        raise ValueError(f"ColorJitter: {name} values should be between {bound}, got "
                         f"{(low, high)}")
    return None if low == high == center else (low, high)


class ColorJitter:
    """Randomly change brightness, contrast, saturation and hue, in a random order.

    Each of brightness / contrast / saturation is a number v (a factor drawn from
    [max(0, 1 - v), 1 + v]) or a (min, max) range; hue is a number h in [0, 0.5] (a shift from
    [-h, h]) or a range within [-0.5, 0.5]."""

    def __init__(self, brightness: float | Sequence[float] = 0,
                 contrast: float | Sequence[float] = 0,
                 saturation: float | Sequence[float] = 0,
                 hue: float | Sequence[float] = 0) -> None:
        self.brightness = _jitter_range(brightness, "brightness")
        self.contrast = _jitter_range(contrast, "contrast")
        self.saturation = _jitter_range(saturation, "saturation")
        self.hue = _jitter_range(hue, "hue", center=0.0, bound=(-0.5, 0.5))

    @backend.on_device_of_args
    def __call__(self, img: Image) -> Image:
        steps = [(self.brightness, F.adjust_brightness), (self.contrast, F.adjust_contrast),
                 (self.saturation, F.adjust_saturation), (self.hue, F.adjust_hue)]
        for index in _rng().permutation(4):
            factor_range, adjust = steps[index]
            if factor_range is not None:
                img = adjust(img, float(_rng().uniform(factor_range[0], factor_range[1])))
        return img

    def __repr__(self) -> str:
        return (f"ColorJitter(brightness={self.brightness}, contrast={self.contrast}, "
                f"saturation={self.saturation}, hue={self.hue})")


class Grayscale:
    """Convert to grey (luma), with 1 or 3 output channels."""

    def __init__(self, num_output_channels: int = 1) -> None:
        if num_output_channels not in (1, 3):
            raise ValueError(f"Grayscale: num_output_channels should be 1 or 3, got "
                             f"{num_output_channels}")
        self.num_output_channels = num_output_channels

    @backend.on_device_of_args
    def __call__(self, img: Image) -> Image:
        return F.rgb_to_grayscale(img, self.num_output_channels)

    def __repr__(self) -> str:
        return f"Grayscale(num_output_channels={self.num_output_channels})"
