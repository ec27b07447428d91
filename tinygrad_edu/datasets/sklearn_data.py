"""Small datasets read straight from the CSV files that scikit-learn ships inside its package.

No network and no call into scikit-learn's own loaders: we only find where the package is
installed and parse its data files, so these datasets are always at hand for a first model.
Neither has an official train/test split; both use a fixed, stratified 80 / 20 split
(`stratified_split`, seed 0), so `train=True` and `train=False` are disjoint and the same for
everyone.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np

from ._base import (
    CorruptDatasetError,
    DatasetNotFoundError,
    LabelledArrayDataset,
    PathLike,
    check_labels,
    stratified_split,
)


def sklearn_data_file(name: str) -> Path:
    """Path of `sklearn/datasets/data/<name>` in the installed scikit-learn (never imported)."""
    spec = find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("this dataset is read from the data files that come with "
                                  "scikit-learn, which is not installed: pip install scikit-learn "
                                  "(or pip install tinygrad_edu[examples])")
    searched = []
    for location in spec.submodule_search_locations:
        path = Path(location) / "datasets" / "data" / name
        if path.is_file():
            return path
        searched.append(str(path))
    raise DatasetNotFoundError(f"scikit-learn is installed but its data file {name} is missing "
                               f"(looked at {', '.join(searched)}); reinstall scikit-learn: "
                               "pip install --force-reinstall scikit-learn")


def _load_csv(path: Path, **kwargs: Any) -> np.ndarray:
    try:
        return np.loadtxt(path, delimiter=",", ndmin=2, **kwargs)
    except ValueError as exc:
        raise CorruptDatasetError(f"{path}: cannot parse the CSV file ({exc})") from exc


class Digits(LabelledArrayDataset):
    """Handwritten digits: 1797 grey images of 8 x 8 pixels, 10 classes '0'..'9' (UCI / sklearn).

    Split: a fixed stratified 80 / 20 split, 1438 train and 359 test images.

    Attributes: `data` uint8 (N, 8, 8) with the file's pixel values 0..16; `targets` int64 (N,).
    `ds[i]` is `(image, target)`: without a transform the image is a float32 Tensor (1, 8, 8)
    scaled to [0, 1] (pixel / 16); a transform instead receives the float32 (8, 8) NumPy array
    in [0, 1] (so `ToTensor()` gives the same Tensor). `target` is an int.
    `root` and `download` are accepted for a uniform signature and ignored: the data comes with
    scikit-learn (`pip install scikit-learn`).
    """

    classes = [str(d) for d in range(10)]
    filename = "digits.csv.gz"

    def __init__(self, root: PathLike | None = None, train: bool = True,
                 transform: Callable[[Any], Any] | None = None,
                 target_transform: Callable[[int], Any] | None = None,
                 download: bool = False) -> None:
        super().__init__(root, train, transform, target_transform)
        path = sklearn_data_file(self.filename)
        table = _load_csv(path, dtype=np.int64)
        if table.shape[1] != 65:
            raise CorruptDatasetError(f"{path}: expected 65 columns (64 pixels and the label), "
                                      f"found {table.shape[1]}")
        pixels, labels = table[:, :64], table[:, 64]
        if pixels.min() < 0 or pixels.max() > 16:
            raise CorruptDatasetError(f"{path}: pixel values must be in 0..16")
        check_labels(labels, 10, path)
        keep = stratified_split(labels, self.train)
        self.data = pixels[keep].astype(np.uint8).reshape(-1, 8, 8)
        self.targets = labels[keep].astype(np.int64)

    def _sample(self, index: int) -> np.ndarray:
        return self.data[index].astype(np.float32) / np.float32(16)

    def _convert(self, rows: np.ndarray) -> np.ndarray:
        out = rows[:, None].astype(np.float32)
        np.divide(out, 16, out=out)
        return out


_MEASURES = ["radius", "texture", "perimeter", "area", "smoothness", "compactness",
             "concavity", "concave points", "symmetry", "fractal dimension"]


class BreastCancer(LabelledArrayDataset):
    """Wisconsin diagnostic breast cancer: 569 tumours x 30 real-valued features, 2 classes.

    Labels: `classes = ['benign', 'malignant']`, so **target 1 = malignant** (the disease is the
    positive class, as precision / recall in a medical example expect). Note this is the reverse
    of `sklearn.datasets.load_breast_cancer`, where 0 = malignant.
    Split: a fixed stratified 80 / 20 split, 456 train and 113 test samples.

    Attributes: `data` float32 (N, 30) raw feature values (their scales differ by orders of
    magnitude: standardise them, with the train set's mean and std); `targets` int64 (N,);
    `feature_names` (30 names, sklearn's order). `ds[i]` is `(features, target)`: without a
    transform a float32 Tensor (30,); a transform receives the float32 (30,) NumPy row.
    `root` and `download` are accepted for a uniform signature and ignored.
    """

    classes = ["benign", "malignant"]
    feature_names = ([f"mean {m}" for m in _MEASURES] + [f"{m} error" for m in _MEASURES]
                     + [f"worst {m}" for m in _MEASURES])
    filename = "breast_cancer.csv"

    def __init__(self, root: PathLike | None = None, train: bool = True,
                 transform: Callable[[Any], Any] | None = None,
                 target_transform: Callable[[int], Any] | None = None,
                 download: bool = False) -> None:
        super().__init__(root, train, transform, target_transform)
        path = sklearn_data_file(self.filename)
        with open(path) as f:
            header = f.readline().strip().split(",")
        try:
            n_samples, n_features = int(header[0]), int(header[1])
        except (IndexError, ValueError):
            raise CorruptDatasetError(f"{path}: bad header {header!r}") from None
        table = _load_csv(path, skiprows=1, dtype=np.float64)
        if table.shape != (n_samples, n_features + 1) or n_features != 30:
            raise CorruptDatasetError(f"{path}: expected {n_samples} rows of 30 features and a "
                                      f"label, found shape {table.shape}")
        # in the file 0 = malignant, 1 = benign; we flip that so 1 = malignant
        file_labels = table[:, -1].astype(np.int64)
        check_labels(file_labels, 2, path)
        labels = 1 - file_labels
        keep = stratified_split(labels, self.train)
        self.data = table[keep, :-1].astype(np.float32)
        self.targets = labels[keep]

    def _convert(self, rows: np.ndarray) -> np.ndarray:
        return rows
