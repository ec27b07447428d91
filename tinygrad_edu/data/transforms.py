"""The image transforms now live in `tinygrad_edu.vision.transforms` (torchvision's place);
this old path gives the same classes."""

from ..vision.transforms import (
    CenterCrop,
    ColorJitter,
    Compose,
    ConvertImageDtype,
    Grayscale,
    InterpolationMode,
    Lambda,
    Normalize,
    PILToTensor,
    RandomCrop,
    RandomHorizontalFlip,
    RandomRotation,
    RandomVerticalFlip,
    Resize,
    ToPILImage,
    ToTensor,
)

__all__ = ["CenterCrop", "ColorJitter", "Compose", "ConvertImageDtype", "Grayscale",
           "InterpolationMode", "Lambda", "Normalize", "PILToTensor", "RandomCrop",
           "RandomHorizontalFlip", "RandomRotation", "RandomVerticalFlip", "Resize",
           "ToPILImage", "ToTensor"]
