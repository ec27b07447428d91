"""The image transforms now live in `tinygrad_edu.vision.transforms` (torchvision's place);
this old path gives the same classes, whatever that module exports."""

from ..vision.transforms import *  # noqa: F403 - the same objects, one list of names
from ..vision.transforms import __all__  # noqa: F401
