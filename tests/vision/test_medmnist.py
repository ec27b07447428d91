"""vision.datasets MedMNIST classes: the shared PneumoniaMNIST file (sizes and class counts of
../shared/data/README.md; skipped when absent), tiny synthetic files in MedMNIST's .npz layout
for every class, and the errors for missing, corrupt and foreign files. No test touches the
network: the "download" comes from a file:// URL in tmp_path."""

import hashlib
import io
import zipfile
from pathlib import Path

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.utils.data import DataLoader
from tinygrad_edu.vision import transforms
from tinygrad_edu.vision.datasets import (
    BloodMNIST,
    BreastMNIST,
    ChestMNIST,
    CorruptDatasetError,
    DatasetNotFoundError,
    DermaMNIST,
    OrganAMNIST,
    PneumoniaMNIST,
    medmnist,
)

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "medmnist"
SHARED = SHARED.resolve()
needs_shared = pytest.mark.skipif(not (SHARED / "pneumoniamnist.npz").is_file(),
                                  reason=f"no {SHARED}/pneumoniamnist.npz")
# split: (size, images per class), from ../shared/data/README.md
PNEUMONIA = {"train": (3882, [388, 3494]), "val": (524, [135, 389]), "test": (624, [234, 390])}
ALL = [PneumoniaMNIST, BreastMNIST, ChestMNIST, DermaMNIST, BloodMNIST, OrganAMNIST]


# ---------------------------------------------------------------------------------------------
# The shared file
# ---------------------------------------------------------------------------------------------
@needs_shared
@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_shared_pneumonia_file(split, monkeypatch):
    monkeypatch.setenv(medmnist.ROOT_ENV, str(SHARED))
    ds = PneumoniaMNIST(split=split)  # root from the environment
    size, per_class = PNEUMONIA[split]
    assert len(ds) == size and ds.root == str(SHARED) and ds.split == split
    assert ds.data.dtype == np.uint8 and ds.data.shape == (size, 28, 28)
    assert ds.targets.dtype == np.int64 and ds.targets.shape == (size,)
    assert np.bincount(ds.targets).tolist() == per_class
    assert ds.classes == ["normal", "pneumonia"]
    assert ds.class_to_idx == {"normal": 0, "pneumonia": 1}
    image, target = ds[0]
    assert isinstance(target, int) and target == ds.targets[0]
    assert np.array_equal(np.asarray(image), ds.data[0])
    assert f"Number of datapoints: {size}" in repr(ds) and f"Split: {split}" in repr(ds)


@needs_shared
def test_shared_file_batches_on_every_device(device):
    ds = PneumoniaMNIST(SHARED, split="test", transform=transforms.ToTensor())
    x, y = ds[5]
    assert x.dtype == tg.float32 and tuple(x.shape) == (1, 28, 28)
    assert 0 <= x.min().item() and x.max().item() <= 1
    batch, labels = next(iter(DataLoader(ds, batch_size=16)))
    batch, labels = batch.to(device), labels.to(device)
    assert tuple(batch.shape) == (16, 1, 28, 28) and batch.device == tg.device(device)
    assert labels.dtype == tg.int64 and labels.cpu().tolist() == ds.targets[:16].tolist()
    np.testing.assert_allclose(batch.cpu().numpy()[:, 0], ds.data[:16] / 255, rtol=1e-6)


# ---------------------------------------------------------------------------------------------
# Synthetic files for every class
# ---------------------------------------------------------------------------------------------
SIZES = {"train": 7, "val": 3, "test": 4}


def arrays_for(cls, rng=None, **replace) -> dict:
    """A small, valid file's arrays for `cls` (then `replace`d)."""
    rng = rng or np.random.default_rng(0)
    shape = (28, 28, 3) if cls.channels == 3 else (28, 28)
    out = {}
    for split, n in SIZES.items():
        out[f"{split}_images"] = rng.integers(0, 256, (n, *shape), dtype=np.uint8)
        if cls.multi_label:
            out[f"{split}_labels"] = rng.integers(0, 2, (n, len(cls.classes)), dtype=np.uint8)
        else:
            out[f"{split}_labels"] = rng.integers(0, len(cls.classes), (n, 1), dtype=np.uint8)
    out.update(replace)
    return {k: v for k, v in out.items() if v is not None}


def write_npz(root: Path, cls, **replace) -> Path:
    path = root / f"{cls.flag}.npz"
    np.savez_compressed(path, **arrays_for(cls, **replace))
    return path


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_every_class_reads_its_layout(cls, tmp_path):
    write_npz(tmp_path, cls)
    expected = arrays_for(cls)
    for split, n in SIZES.items():
        ds = cls(tmp_path, split=split, transform=transforms.ToTensor())
        assert len(ds) == n
        np.testing.assert_array_equal(ds.data, expected[f"{split}_images"])
        labels = expected[f"{split}_labels"].astype(np.int64)
        np.testing.assert_array_equal(ds.targets, labels if cls.multi_label else labels[:, 0])
        x, y = ds[n - 1]
        assert tuple(x.shape) == (cls.channels, 28, 28) and x.dtype == tg.float32
        if cls.multi_label:
            assert isinstance(y, np.ndarray) and y.shape == (14,) and y.dtype == np.int64
        else:
            assert isinstance(y, int) and 0 <= y < len(cls.classes)
        xb, yb = next(iter(DataLoader(ds, batch_size=n)))
        assert tuple(xb.shape) == (n, cls.channels, 28, 28)
        assert tuple(yb.shape) == ((n, 14) if cls.multi_label else (n,))
    assert len(ChestMNIST.classes) == 14 and len(OrganAMNIST.classes) == 11
    assert len(set(c.flag for c in ALL)) == len(ALL) and all(len(c.md5) == 32 for c in ALL)


def test_target_transform_and_negative_index(tmp_path):
    write_npz(tmp_path, BreastMNIST)
    ds = BreastMNIST(tmp_path, split="val", target_transform=lambda t: t * 10)
    assert ds[-1][1] == ds.targets[-1] * 10
    with pytest.raises(IndexError, match="out of range"):
        ds[3]
    with pytest.raises(ValueError, match="split must be one of train, val, test"):
        BreastMNIST(tmp_path, split="validation")


# ---------------------------------------------------------------------------------------------
# Missing, downloaded, corrupt and foreign files
# ---------------------------------------------------------------------------------------------
def test_missing_file_says_how_to_get_it(tmp_path, monkeypatch):
    with pytest.raises(DatasetNotFoundError) as info:
        PneumoniaMNIST(tmp_path / "nowhere")
    message = str(info.value)
    assert "pneumoniamnist.npz" in message and "download=True" in message
    assert "zenodo.org/records/10519652/files/pneumoniamnist.npz" in message
    assert PneumoniaMNIST.md5 in message and medmnist.ROOT_ENV in message
    assert isinstance(info.value, FileNotFoundError)
    monkeypatch.delenv(medmnist.ROOT_ENV, raising=False)
    assert medmnist.default_root() == str(Path("~") / ".medmnist")


def test_download_checks_the_md5(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    # the official URL ends in ?download=1, which a file:// URL keeps in the file's name
    source = write_npz(mirror, BreastMNIST).rename(mirror / "breastmnist.npz?download=1")
    monkeypatch.setattr(medmnist, "ZENODO", mirror.as_uri() + "/")
    monkeypatch.setattr(BreastMNIST, "md5", "0" * 32)
    with pytest.raises(DatasetNotFoundError, match="checksum mismatch"):
        BreastMNIST(tmp_path / "data", download=True)
    assert not (tmp_path / "data" / "breastmnist.npz").exists()
    assert not list((tmp_path / "data").glob("*.part"))
    monkeypatch.setattr(BreastMNIST, "md5", hashlib.md5(source.read_bytes()).hexdigest())
    ds = BreastMNIST(tmp_path / "data", split="test", download=True)
    assert len(ds) == SIZES["test"] and (tmp_path / "data" / "breastmnist.npz").is_file()


CORRUPT = {
    "a key missing": (dict(val_labels=None), r"lacks val_labels"),
    "float images": (dict(train_images=np.zeros((7, 28, 28), np.float32)),
                     r"train_images should be uint8 \(N, 28, 28\).*float32"),
    "wrong image size": (dict(train_images=np.zeros((7, 32, 32), np.uint8)),
                         r"should be uint8 \(N, 28, 28\).*\(7, 32, 32\)"),
    "colour images": (dict(train_images=np.zeros((7, 28, 28, 3), np.uint8)),
                      r"\(7, 28, 28, 3\)"),
    "a label out of range": (dict(train_labels=np.array([[0], [1], [2], [0], [1], [0], [1]])),
                             r"train_labels must be in 0\.\.1, found values from 0 to 2"),
    "a negative label": (dict(train_labels=-np.ones((7, 1), np.int64)), r"must be in 0\.\.1"),
    "too few labels": (dict(train_labels=np.zeros((6, 1), np.uint8)),
                       r"train_labels should be integers \(7, 1\).*\(6, 1\)"),
    "float labels": (dict(train_labels=np.zeros((7, 1), np.float64)), r"should be integers"),
}


@pytest.mark.parametrize("case", list(CORRUPT))
def test_corrupt_contents_name_file_and_problem(case, tmp_path):
    replace, pattern = CORRUPT[case]
    path = write_npz(tmp_path, PneumoniaMNIST, **replace)
    with pytest.raises(CorruptDatasetError, match=pattern) as info:
        PneumoniaMNIST(tmp_path, split="train")
    assert str(path) in str(info.value)


def test_multilabel_values_must_be_0_or_1(tmp_path):
    labels = np.zeros((7, 14), np.uint8)
    labels[3, 5] = 2
    write_npz(tmp_path, ChestMNIST, train_labels=labels)
    with pytest.raises(CorruptDatasetError, match=r"must be in 0\.\.1"):
        ChestMNIST(tmp_path)
    write_npz(tmp_path, ChestMNIST, train_labels=np.zeros((7, 1), np.uint8))
    with pytest.raises(CorruptDatasetError, match=r"\(7, 14\)"):
        ChestMNIST(tmp_path)


def npy_bytes(header: dict, payload: bytes) -> bytes:
    f = io.BytesIO()
    np.lib.format.write_array_header_1_0(f, header)  # the magic string, then the header
    return f.getvalue() + payload


def zip_with(path: Path, members: dict) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for name, content in members.items():
            z.writestr(name, content)
    return path


def test_foreign_and_damaged_files(tmp_path):
    path = tmp_path / "pneumoniamnist.npz"
    good = io.BytesIO()
    np.savez(good, **arrays_for(PneumoniaMNIST))
    for label, content, pattern in [
        ("text", b"this is not a zip archive at all", "not a readable .npz"),
        ("truncated", good.getvalue()[: len(good.getvalue()) // 2], "not a readable .npz"),
    ]:
        path.write_bytes(content)
        with pytest.raises(CorruptDatasetError, match=pattern) as info:
            PneumoniaMNIST(tmp_path)
        assert str(path) in str(info.value), label
    np.save(tmp_path / "single.npy", np.zeros(3))
    (tmp_path / "single.npy").replace(path)  # an .npy under the .npz name
    with pytest.raises(CorruptDatasetError, match="single .npy array"):
        PneumoniaMNIST(tmp_path)
    zip_with(path, {"something_else.txt": b"hello"})
    with pytest.raises(CorruptDatasetError, match="not a MedMNIST file: it lacks train_images"):
        PneumoniaMNIST(tmp_path)


def test_pickled_arrays_are_refused(tmp_path):
    arrays = arrays_for(PneumoniaMNIST, train_labels=np.array([[0]] * 7, dtype=object))
    np.savez(tmp_path / "pneumoniamnist.npz", **arrays)  # an object array: pickled
    with pytest.raises(CorruptDatasetError, match="train_labels holds Python objects"):
        PneumoniaMNIST(tmp_path)


def test_a_header_announcing_more_than_the_file_holds_is_refused(tmp_path):
    """A tiny member whose header claims 10^10 images: refused before any allocation."""
    members = {f"{k}.npy": npy_bytes({"descr": "|u1", "fortran_order": False, "shape": v.shape},
                                v.tobytes())
               for k, v in arrays_for(PneumoniaMNIST).items()}
    members["train_images.npy"] = npy_bytes({"descr": "|u1", "fortran_order": False,
                                        "shape": (10**10, 28, 28)}, b"\0" * 100)
    zip_with(tmp_path / "pneumoniamnist.npz", members)
    with pytest.raises(CorruptDatasetError, match=r"announces \(10000000000, 28, 28\) uint8 but "
                                                  r"holds only"):
        PneumoniaMNIST(tmp_path)
    # the same hand-written layout with honest headers reads fine
    members["train_images.npy"] = npy_bytes({"descr": "|u1", "fortran_order": False,
                                        "shape": (7, 28, 28)}, b"\0" * 7 * 784)
    zip_with(tmp_path / "pneumoniamnist.npz", members)
    assert len(PneumoniaMNIST(tmp_path)) == 7
