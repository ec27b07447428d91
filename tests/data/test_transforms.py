"""The transforms moved to tinygrad_edu.vision.transforms (tested in tests/vision/); the old
import path gives the very same classes."""

import numpy as np

import tinygrad_edu as tg
import tinygrad_edu.vision.transforms as vision_transforms
from tinygrad_edu.data import transforms


def test_old_path_gives_the_same_classes():
    for name in vision_transforms.__all__:
        if name != "functional":
            assert getattr(transforms, name) is getattr(vision_transforms, name), name


def test_old_path_pipeline_still_works():
    pipeline = transforms.Compose([transforms.ToTensor(), transforms.Normalize(0.5, 0.5)])
    out = pipeline(np.array([[0, 255]], dtype=np.uint8))
    assert isinstance(out, tg.Tensor)
    np.testing.assert_allclose(out.numpy(), [[[-1.0, 1.0]]])
