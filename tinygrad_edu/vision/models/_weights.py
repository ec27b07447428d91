"""Pretrained-weight names (torchvision's `ResNet18_Weights` & co.) and why none are given.

torchvision downloads pretrained weights from the internet; tinygrad_edu does not: its models
start from torchvision's random initialisation. The enums exist so that course code naming
weights gets a clear error that says how to load weights obtained elsewhere.
"""

from __future__ import annotations

import warnings
from enum import Enum
from typing import Any

__all__ = ["WeightsEnum"]


class WeightsEnum(Enum):
    """Base class of the weight enums (`ResNet18_Weights.IMAGENET1K_V1`, `.DEFAULT`)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}.{self._name_}"

    def __str__(self) -> str:
        return f"{type(self).__name__}.{self._name_}"


def _how_to_load(model_name: str, weights_name: str) -> str:
    return (
        f"tinygrad_edu cannot download pretrained weights. Build the model with weights=None "
        f"and load a state dict saved elsewhere. A PyTorch checkpoint (.pth) is a pickle, which "
        f"tinygrad_edu refuses to load, so convert it with NumPy on a machine with torch:\n"
        f"    sd = torchvision.models.{model_name}(weights='{weights_name}').state_dict()\n"
        f"    numpy.savez('{model_name}.npz', **{{k: v.numpy() for k, v in sd.items()}})\n"
        f"then here:\n"
        f"    model = {model_name}()\n"
        f"    model.load_state_dict(dict(numpy.load('{model_name}.npz')))\n"
        f"(a checkpoint written with tg.save loads with model.load_state_dict(tg.load(path)))")


def check_no_weights(model_name: str, weights_enum: type[WeightsEnum], weights: Any,
                     kwargs: dict[str, Any]) -> None:
    """Accept `weights=None` (and the old `pretrained=False`, with torchvision's warning);
    refuse any named weights with an error saying how to load a state dict instead.
    Removes `pretrained` from `kwargs`."""
    if "pretrained" in kwargs:
        pretrained = kwargs.pop("pretrained")
        message = ("The parameter 'pretrained' is deprecated since 0.13 and may be removed in "
                   "the future, please use 'weights' instead.")
        if pretrained:
            weights = weights_enum.DEFAULT
            message += (f" The current behavior is equivalent to passing `weights={weights}`. "
                        f"You can also use `weights={weights_enum.__name__}.DEFAULT` to get the "
                        f"most up-to-date weights.")
        warnings.warn(message, UserWarning, stacklevel=4)
    if weights is None:
        return
    if isinstance(weights, str):
        name = weights.removeprefix(weights_enum.__name__ + ".")
        if name not in weights_enum.__members__:
            raise ValueError(f"{model_name}: unknown weights {weights!r}; {weights_enum.__name__} "
                             f"has {', '.join(weights_enum.__members__)}")
        weights = weights_enum[name]
    if not isinstance(weights, weights_enum):
        raise TypeError(f"{model_name}: invalid weights {weights!r}: expected None or a "
                        f"{weights_enum.__name__} (or its name as a string), got "
                        f"{type(weights).__name__}")
    raise RuntimeError(f"{model_name}(weights={weights}): "
                       + _how_to_load(model_name, weights.name))
