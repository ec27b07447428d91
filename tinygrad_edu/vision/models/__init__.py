"""tinygrad_edu.vision.models: torchvision's ResNet and VGG, built from tinygrad_edu.nn.

    import tinygrad_edu.vision as torchvision
    model = torchvision.models.resnet18(num_classes=10)   # weights=None: random init
    model.fc                                              # Linear(in_features=512, ...)

Constructors, module names and parameter names are torchvision's, so `state_dict()` keys
match torchvision's key for key. No pretrained weights can be downloaded: asking for them
(`weights="DEFAULT"`, `pretrained=True`) raises an error saying how to load a state dict
converted elsewhere.
"""

from ._weights import WeightsEnum
from .resnet import (
    ResNet,
    ResNet18_Weights,
    ResNet34_Weights,
    ResNet50_Weights,
    ResNet101_Weights,
    ResNet152_Weights,
    resnet18,
    resnet34,
    resnet50,
    resnet101,
    resnet152,
)
from .vgg import (
    VGG,
    VGG11_BN_Weights,
    VGG11_Weights,
    VGG13_BN_Weights,
    VGG13_Weights,
    VGG16_BN_Weights,
    VGG16_Weights,
    VGG19_BN_Weights,
    VGG19_Weights,
    vgg11,
    vgg11_bn,
    vgg13,
    vgg13_bn,
    vgg16,
    vgg16_bn,
    vgg19,
    vgg19_bn,
)

__all__ = [
    "WeightsEnum",
    "ResNet", "ResNet18_Weights", "ResNet34_Weights", "ResNet50_Weights", "ResNet101_Weights",
    "ResNet152_Weights", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
    "VGG", "VGG11_Weights", "VGG11_BN_Weights", "VGG13_Weights", "VGG13_BN_Weights",
    "VGG16_Weights", "VGG16_BN_Weights", "VGG19_Weights", "VGG19_BN_Weights",
    "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn",
]
