"""tinygrad_edu.utils: as torch.utils (`tg.utils.data.DataLoader`)."""

from . import data

__all__ = ["data"]
