"""VisionDataset: what torchvision's datasets share (root, transforms, their printed form)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from ...tensor import Tensor
from ...utils.data import Dataset
from ..transforms import Compose, Normalize, ToTensor
from ..utils import pil_image_module
from .utils import PathLike


class VisionDataset(Dataset):
    """Base class of the image datasets: `root` (a folder, `~` expanded), `transform` (applied
    to the image) and `target_transform` (applied to the label). Subclasses keep their
    samples in `data` and their class names in `classes`."""

    def __init__(self, root: PathLike | None, transform: Callable[[Any], Any] | None = None,
                 target_transform: Callable[[Any], Any] | None = None) -> None:
        self.root = None if root is None else os.path.expanduser(os.fspath(root))
        self.transform = transform
        self.target_transform = target_transform

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.classes)}

    def __len__(self) -> int:
        return len(self.data)

    def _transformed(self, image: Any, target: int) -> tuple[Any, Any]:
        """(transform(image), target_transform(target)), each where it is set."""
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        body = [f"Number of datapoints: {len(self)}"]
        if self.root is not None:
            body.append(f"Root location: {self.root}")
        body += self.extra_repr().splitlines()
        lines = [f"Dataset {type(self).__name__}"] + ["    " + line for line in body]
        if self.transform is not None or self.target_transform is not None:
            lines.append("    StandardTransform")  # torchvision's layout, to the letter
            for head, t in (("Transform: ", self.transform),
                            ("Target transform: ", self.target_transform)):
                if t is not None:
                    t_lines = repr(t).splitlines()
                    lines += [head + t_lines[0]] + [" " * len(head) + x for x in t_lines[1:]]
        return "\n".join(lines)


def sample_index(dataset: Any, index: Any) -> int:
    """`index` as an int in range(len(dataset)) (negative counts from the end), or PyTorch's
    errors: TypeError for a non-integer, IndexError out of range."""
    if isinstance(index, (bool, float)) or not hasattr(index, "__index__"):
        raise TypeError(f"{type(dataset).__name__} indices must be integers, got "
                        f"{type(index).__name__}")
    index, size = int(index), len(dataset)
    if not -size <= index < size:
        raise IndexError(f"index {index} is out of range for {type(dataset).__name__} "
                         f"with {size} samples")
    return index % size


def image_of(pixels: np.ndarray) -> Any:
    """A uint8 image (H, W[, C]) as torchvision gives it: a PIL image where Pillow is installed,
    else a NumPy array (a copy, so a transform may change it)."""
    image_module = pil_image_module()
    if image_module is None:
        return pixels.copy()
    return image_module.fromarray(pixels)


def _batchable_normalizers(transform: Any) -> list[Normalize] | None:
    """The Normalize steps after `ToTensor()` when `transform` is `ToTensor()` or
    `Compose([ToTensor(), Normalize(...), ...])`: transforms that give the same numbers on a
    whole batch at once as image by image. None for any other transform."""
    steps = transform.transforms if type(transform) is Compose else [transform]
    if not steps or type(steps[0]) is not ToTensor:
        return None
    if not all(type(step) is Normalize for step in steps[1:]):
        return None
    return steps[1:]


def batch_of_images(dataset: VisionDataset, images: np.ndarray, targets: np.ndarray) -> Any:
    """The DataLoader's fast path (see tinygrad_edu.utils.data): the batch (float32 Tensor
    (B, C, H, W), int64 Tensor (B,)) for uint8 `images` (B, H, W[, C]), when the dataset's
    transform is ToTensor() (and Normalize) and it has no target_transform; else NotImplemented,
    and the DataLoader asks for the samples one by one."""
    normalizers = _batchable_normalizers(dataset.transform)
    if normalizers is None or dataset.target_transform is not None:
        return NotImplemented
    nchw = images[:, None] if images.ndim == 3 else images.transpose(0, 3, 1, 2)
    out = nchw.astype(np.float32, order="C")
    np.divide(out, 255, out=out)  # what ToTensor does, for the whole batch
    x = Tensor._make(out)
    for normalize in normalizers:
        x = normalize(x)
    return x, Tensor._make(np.asarray(targets, dtype=np.int64))
