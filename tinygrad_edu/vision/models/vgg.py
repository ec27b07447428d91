"""VGG (Simonyan & Zisserman, "Very Deep Convolutional Networks", 2014) as torchvision has it.

A VGG is a stack of 3x3 convolutions with ReLU (`features`), a 2x2 max pool after each group
of them (halving the image), an adaptive average pool to 7x7 (`avgpool`, so any input size
works) and three Linear layers with dropout (`classifier`). The `_bn` variants add a batch
norm after each convolution. Almost all of the ~138 M parameters of vgg16 are in the first
Linear layer (512 * 7 * 7 -> 4096).

Module and parameter names are torchvision's (`features.0.weight`, `classifier.6.bias`), so a
torchvision state dict converted to arrays loads key for key.
"""

from __future__ import annotations

from typing import Any

import tinygrad_edu as tg

from ... import nn
from ...tensor import Tensor
from ._weights import WeightsEnum, check_no_weights

__all__ = [
    "VGG", "VGG11_Weights", "VGG11_BN_Weights", "VGG13_Weights", "VGG13_BN_Weights",
    "VGG16_Weights", "VGG16_BN_Weights", "VGG19_Weights", "VGG19_BN_Weights", "vgg11",
    "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn",
]


class VGG(nn.Module):
    """`features` (a Sequential from `make_layers`), then avgpool and the classifier.
    Input (N, 3, H, W) -> logits (N, num_classes)."""

    def __init__(self, features: nn.Module, num_classes: int = 1000, init_weights: bool = True,
                 dropout: float = 0.5) -> None:
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096),
            nn.ReLU(True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, num_classes),
        )
        if init_weights:
            # torchvision's initialisation: He normal (fan_out) for convolutions, bias 0;
            # batch norm weight 1, bias 0; Linear weights N(0, 0.01^2), bias 0
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                    if m.bias is not None:
                        nn.init.constant_(m.bias, 0)
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.constant_(m.weight, 1)
                    nn.init.constant_(m.bias, 0)
                elif isinstance(m, nn.Linear):
                    nn.init.normal_(m.weight, 0, 0.01)
                    nn.init.constant_(m.bias, 0)

    def forward(self, x: Tensor) -> Tensor:
        x = self.features(x)
        x = self.avgpool(x)
        x = tg.flatten(x, 1)
        x = self.classifier(x)
        return x


def make_layers(cfg: list[str | int], batch_norm: bool = False) -> nn.Sequential:
    """The `features` of a VGG: for each number v in `cfg` a 3x3 convolution to v channels
    (then BatchNorm2d if `batch_norm`) and ReLU; for each "M" a 2x2 max pool."""
    layers: list[nn.Module] = []
    in_channels = 3
    for v in cfg:
        if v == "M":
            layers += [nn.MaxPool2d(kernel_size=2, stride=2)]
        else:
            conv2d = nn.Conv2d(in_channels, int(v), kernel_size=3, padding=1)
            if batch_norm:
                layers += [conv2d, nn.BatchNorm2d(int(v)), nn.ReLU(inplace=True)]
            else:
                layers += [conv2d, nn.ReLU(inplace=True)]
            in_channels = int(v)
    return nn.Sequential(*layers)


# torchvision's names for the configurations: A = vgg11, B = vgg13, D = vgg16, E = vgg19
cfgs: dict[str, list[str | int]] = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512,
          "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512,
          512, 512, 512, "M"],
}


# ---------------------------------------------------------------------------------------------
# the pretrained weights torchvision names (none can be downloaded here)
# ---------------------------------------------------------------------------------------------
class VGG11_Weights(WeightsEnum):
    IMAGENET1K_V1 = "IMAGENET1K_V1"
    DEFAULT = IMAGENET1K_V1


class VGG11_BN_Weights(WeightsEnum):
    IMAGENET1K_V1 = "IMAGENET1K_V1"
    DEFAULT = IMAGENET1K_V1


class VGG13_Weights(WeightsEnum):
    IMAGENET1K_V1 = "IMAGENET1K_V1"
    DEFAULT = IMAGENET1K_V1


class VGG13_BN_Weights(WeightsEnum):
    IMAGENET1K_V1 = "IMAGENET1K_V1"
    DEFAULT = IMAGENET1K_V1


class VGG16_Weights(WeightsEnum):
    IMAGENET1K_V1 = "IMAGENET1K_V1"
    IMAGENET1K_FEATURES = "IMAGENET1K_FEATURES"
    DEFAULT = IMAGENET1K_V1


class VGG16_BN_Weights(WeightsEnum):
    IMAGENET1K_V1 = "IMAGENET1K_V1"
    DEFAULT = IMAGENET1K_V1


class VGG19_Weights(WeightsEnum):
    IMAGENET1K_V1 = "IMAGENET1K_V1"
    DEFAULT = IMAGENET1K_V1


class VGG19_BN_Weights(WeightsEnum):
    IMAGENET1K_V1 = "IMAGENET1K_V1"
    DEFAULT = IMAGENET1K_V1


def _vgg(name: str, cfg: str, batch_norm: bool, weights_enum: type[WeightsEnum], weights: Any,
         kwargs: dict[str, Any]) -> VGG:
    check_no_weights(name, weights_enum, weights, kwargs)
    return VGG(make_layers(cfgs[cfg], batch_norm=batch_norm), **kwargs)


def vgg11(*, weights: VGG11_Weights | str | None = None, progress: bool = True,
          **kwargs: Any) -> VGG:
    """VGG-11 (configuration "A"), 132,863,336 parameters at 1000 classes."""
    return _vgg("vgg11", "A", False, VGG11_Weights, weights, kwargs)


def vgg11_bn(*, weights: VGG11_BN_Weights | str | None = None, progress: bool = True,
             **kwargs: Any) -> VGG:
    """VGG-11 with batch norm, 132,868,840 parameters at 1000 classes."""
    return _vgg("vgg11_bn", "A", True, VGG11_BN_Weights, weights, kwargs)


def vgg13(*, weights: VGG13_Weights | str | None = None, progress: bool = True,
          **kwargs: Any) -> VGG:
    """VGG-13 (configuration "B"), 133,047,848 parameters at 1000 classes."""
    return _vgg("vgg13", "B", False, VGG13_Weights, weights, kwargs)


def vgg13_bn(*, weights: VGG13_BN_Weights | str | None = None, progress: bool = True,
             **kwargs: Any) -> VGG:
    """VGG-13 with batch norm, 133,053,736 parameters at 1000 classes."""
    return _vgg("vgg13_bn", "B", True, VGG13_BN_Weights, weights, kwargs)


def vgg16(*, weights: VGG16_Weights | str | None = None, progress: bool = True,
          **kwargs: Any) -> VGG:
    """VGG-16 (configuration "D"), 138,357,544 parameters at 1000 classes."""
    return _vgg("vgg16", "D", False, VGG16_Weights, weights, kwargs)


def vgg16_bn(*, weights: VGG16_BN_Weights | str | None = None, progress: bool = True,
             **kwargs: Any) -> VGG:
    """VGG-16 with batch norm, 138,365,992 parameters at 1000 classes."""
    return _vgg("vgg16_bn", "D", True, VGG16_BN_Weights, weights, kwargs)


def vgg19(*, weights: VGG19_Weights | str | None = None, progress: bool = True,
          **kwargs: Any) -> VGG:
    """VGG-19 (configuration "E"), 143,667,240 parameters at 1000 classes."""
    return _vgg("vgg19", "E", False, VGG19_Weights, weights, kwargs)


def vgg19_bn(*, weights: VGG19_BN_Weights | str | None = None, progress: bool = True,
             **kwargs: Any) -> VGG:
    """VGG-19 with batch norm, 143,678,248 parameters at 1000 classes."""
    return _vgg("vgg19_bn", "E", True, VGG19_BN_Weights, weights, kwargs)
