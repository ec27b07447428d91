"""MedMNIST v2 (Yang et al., Scientific Data 10, 41, 2023; CC BY 4.0): small 2D medical images
at 28 x 28, one `.npz` file per dataset holding all three splits.

File layout (MedMNIST's own, read with `np.load(allow_pickle=False)`):
  {split}_images  uint8 (N, 28, 28) for grey sets, (N, 28, 28, 3) for colour sets
  {split}_labels  integers (N, 1): the class index; (N, L) of 0/1 for multi-label sets
for split in train, val, test. Every key, dtype, shape and label is checked before use.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from .utils import CorruptDatasetError, DatasetNotFoundError, PathLike, download_file
from .vision import VisionDataset, batch_of_images, image_of, sample_index

ROOT_ENV = "TINYGRAD_EDU_MEDMNIST_ROOT"
SPLITS = ("train", "val", "test")
ZENODO = "https://zenodo.org/records/10519652/files/"  # MedMNIST v2's published files


def default_root() -> str:
    """$TINYGRAD_EDU_MEDMNIST_ROOT where it is set, else ~/.medmnist (MedMNIST's default)."""
    return os.environ.get(ROOT_ENV) or os.path.join("~", ".medmnist")


def _check_member(archive: zipfile.ZipFile, key: str, path: Path) -> None:
    """Shape and dtype announced by the header of `key`.npy, checked to fit in what the zip
    member holds, so that loading never allocates more than the file can fill."""
    name = key + ".npy"
    info = archive.getinfo(name)
    with archive.open(name) as f:
        try:
            version = np.lib.format.read_magic(f)
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)
            shape, _, dtype = read_header(f)
        except ValueError as exc:
            raise CorruptDatasetError(f"{path}: {key} is not a NumPy array ({exc})") from None
    if dtype.hasobject:
        raise CorruptDatasetError(f"{path}: {key} holds Python objects (pickled data), refused")
    if int(np.prod(shape, dtype=np.int64)) * dtype.itemsize > info.file_size:
        raise CorruptDatasetError(f"{path}: {key} announces {shape} {dtype} but holds only "
                                  f"{info.file_size} bytes (truncated or corrupt)")


def read_npz(path: Path, keys: tuple[str, ...], required: tuple[str, ...] = ()
             ) -> dict[str, np.ndarray]:
    """The arrays `keys` of the .npz file at `path`, read without pickle, after checking that
    the file holds all of `required`; CorruptDatasetError naming the file for anything that
    is not a readable .npz holding them."""
    try:
        npz = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise CorruptDatasetError(f"{path}: not a readable .npz file ({exc}); delete it and "
                                  "download it again") from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise CorruptDatasetError(f"{path}: a single .npy array, not a MedMNIST .npz")
    with npz:
        missing = [k for k in dict.fromkeys(required + keys) if k not in npz.files]
        if missing:
            raise CorruptDatasetError(f"{path}: not a MedMNIST file: it lacks "
                                      f"{', '.join(missing)} (it holds "
                                      f"{', '.join(npz.files) or 'nothing'})")
        try:
            for key in keys:
                _check_member(npz.zip, key, path)
            return {key: npz[key] for key in keys}
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
            if isinstance(exc, CorruptDatasetError):
                raise
            raise CorruptDatasetError(f"{path}: not a readable .npz file ({exc}); delete it "
                                      "and download it again") from None


class MedMNIST(VisionDataset):
    """One 2D MedMNIST dataset (a subclass per file), torchvision-shaped:
    `Dataset(root, split="train"|"val"|"test", transform=None, target_transform=None,
    download=False)`.

    Reads `root/<flag>.npz` (root defaults to $TINYGRAD_EDU_MEDMNIST_ROOT, else ~/.medmnist);
    `download=True` fetches the official file (MD5-checked) when it is missing. Raises
    `DatasetNotFoundError` (saying how to get the file) when it is absent and
    `CorruptDatasetError` (naming the file and the problem) when it is not a MedMNIST file.

    Attributes: `data` uint8 array (N, 28, 28) or (N, 28, 28, 3); `targets` int64 array (N,)
    of class indices, or (N, L) of 0/1 for the multi-label sets; `classes`; `class_to_idx`.
    `ds[i]` is `(image, target)`: a PIL image (or a uint8 array without Pillow) through
    `transform`, and an int (multi-label sets: an int64 array (L,)).
    """

    flag = ""           # the file's name without .npz
    md5 = ""            # of the official file
    classes: list[str] = []
    channels = 1
    size = 28
    multi_label = False

    def __init__(self, root: PathLike | None = None, split: str = "train",
                 transform: Callable[[Any], Any] | None = None,
                 target_transform: Callable[[Any], Any] | None = None,
                 download: bool = False) -> None:
        super().__init__(default_root() if root is None else root, transform=transform,
                         target_transform=target_transform)
        if split not in SPLITS:
            raise ValueError(f"{type(self).__name__}: split must be one of {', '.join(SPLITS)}, "
                             f"got {split!r}")
        self.split = split
        path = self.path
        if not path.is_file() and download:
            self.download()
        if not path.is_file():
            raise DatasetNotFoundError(self._not_found_message())
        every_key = tuple(f"{s}_{kind}" for s in SPLITS for kind in ("images", "labels"))
        arrays = read_npz(path, (f"{split}_images", f"{split}_labels"), every_key)
        self.data = self._checked_images(arrays[f"{split}_images"])
        self.targets = self._checked_labels(arrays[f"{split}_labels"], len(self.data))

    @property
    def url(self) -> str:
        return f"{ZENODO}{self.flag}.npz?download=1"

    @property
    def path(self) -> Path:
        assert self.root is not None
        return Path(self.root) / f"{self.flag}.npz"

    def _checked_images(self, images: np.ndarray) -> np.ndarray:
        expected = (self.size, self.size) + ((self.channels,) if self.channels > 1 else ())
        if images.dtype != np.uint8 or images.ndim != 1 + len(expected) \
                or images.shape[1:] != expected:
            raise CorruptDatasetError(
                f"{self.path}: {self.split}_images should be uint8 (N, "
                f"{', '.join(map(str, expected))}) for {type(self).__name__}, got "
                f"{images.dtype} {images.shape}")
        return images

    def _checked_labels(self, labels: np.ndarray, n: int) -> np.ndarray:
        key = f"{self.split}_labels"
        width = len(self.classes) if self.multi_label else 1
        if labels.dtype.kind not in "iu" or labels.shape != (n, width):
            raise CorruptDatasetError(f"{self.path}: {key} should be integers ({n}, {width}) "
                                      f"(one row per image), got {labels.dtype} {labels.shape}")
        top = 1 if self.multi_label else len(self.classes) - 1
        if labels.size and (labels.min() < 0 or labels.max() > top):
            raise CorruptDatasetError(f"{self.path}: {key} must be in 0..{top}, found values "
                                      f"from {labels.min()} to {labels.max()}")
        labels = labels.astype(np.int64)
        return labels if self.multi_label else labels[:, 0]

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        index = sample_index(self, index)
        target = self.targets[index]
        return self._transformed(image_of(self.data[index]),
                                 target.copy() if self.multi_label else int(target))

    def get_batch(self, indices: np.ndarray) -> Any:
        return batch_of_images(self, self.data[indices], self.targets[indices])

    def extra_repr(self) -> str:
        return f"Split: {self.split}"

    def download(self) -> None:
        """Fetch the official file into `root` (MD5-checked) unless it is there already."""
        if self.path.is_file():
            return
        try:
            download_file([self.url], self.path, self.md5)
        except DatasetNotFoundError as exc:
            raise DatasetNotFoundError(f"downloading {type(self).__name__} failed: {exc}\n\n"
                                       + self._not_found_message()) from None

    def _not_found_message(self) -> str:
        return "\n".join([
            f"{type(self).__name__} not found: no file {self.path}",
            "How to get it:",
            f"  - pass download=True to fetch it into {self.root}",
            f"  - or download {self.url} (MD5 {self.md5}) and save it as {self.path}",
            f"  - or point root (or ${ROOT_ENV}) at a folder that holds {self.flag}.npz",
        ])


class PneumoniaMNIST(MedMNIST):
    """Paediatric chest X-rays (Kermany et al., 2018), grey: 0 normal, 1 pneumonia.
    Official splits: 4708 train, 524 val, 624 test."""

    flag, md5 = "pneumoniamnist", "28209eda62fecd6e6a2d98b1501bb15f"
    classes = ["normal", "pneumonia"]


class BreastMNIST(MedMNIST):
    """Breast ultrasound, grey: 0 malignant, 1 normal or benign. 546 / 78 / 156 images."""

    flag, md5 = "breastmnist", "750601b1f35ba3300ea97c75c52ff8f6"
    classes = ["malignant", "normal, benign"]


class ChestMNIST(MedMNIST):
    """NIH ChestX-ray14, grey, multi-label: a 0/1 target for each of 14 findings.
    78468 / 11219 / 22433 images."""

    flag, md5 = "chestmnist", "02c8a6516a18b556561a56cbdd36c4a8"
    classes = ["atelectasis", "cardiomegaly", "effusion", "infiltration", "mass", "nodule",
               "pneumonia", "pneumothorax", "consolidation", "edema", "emphysema", "fibrosis",
               "pleural", "hernia"]
    multi_label = True


class DermaMNIST(MedMNIST):
    """HAM10000 dermatoscopy, colour: 7 kinds of skin lesion. 7007 / 1003 / 2005 images."""

    flag, md5 = "dermamnist", "0744692d530f8e62ec473284d019b0c7"
    classes = ["actinic keratoses and intraepithelial carcinoma", "basal cell carcinoma",
               "benign keratosis-like lesions", "dermatofibroma", "melanoma",
               "melanocytic nevi", "vascular lesions"]
    channels = 3


class BloodMNIST(MedMNIST):
    """Blood cell microscopy, colour: 8 cell types. 11959 / 1712 / 3421 images."""

    flag, md5 = "bloodmnist", "7053d0359d879ad8a5505303e11de1dc"
    classes = ["basophil", "eosinophil", "erythroblast",
               "immature granulocytes(myelocytes, metamyelocytes and promyelocytes)",
               "lymphocyte", "monocyte", "neutrophil", "platelet"]
    channels = 3


class OrganAMNIST(MedMNIST):
    """Abdominal CT, axial slices, grey: 11 organs. 34561 / 6491 / 17778 images."""

    flag, md5 = "organamnist", "68e3f8846a6bd62f0c9bf841c0d9eacc"
    classes = ["bladder", "femur-left", "femur-right", "heart", "kidney-left", "kidney-right",
               "liver", "lung-left", "lung-right", "pancreas", "spleen"]
