"""The old home of the data pipeline. Its classes now live in `tinygrad_edu.utils.data`
(torch.utils.data's path), which course code imports:

    from tinygrad_edu.utils.data import DataLoader, TensorDataset, random_split
"""

from ..utils import data as _utils_data
from ..utils.data import *  # noqa: F403 - the same objects, one list of names
from . import transforms

__all__ = [*_utils_data.__all__, "transforms"]
