"""Dataset readers, on small files in the real formats that the tests write themselves.

No test touches the network: "downloads" come from file:// URLs in tmp_path.
"""

import gzip
import hashlib
import io
import struct
import tarfile
import tracemalloc
import zlib
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.data import DataLoader, transforms
from tinygrad_edu.datasets import (
    CIFAR10,
    MNIST,
    BreastCancer,
    CorruptDatasetError,
    DatasetNotFoundError,
    Digits,
    FashionMNIST,
    sklearn_data,
)


@pytest.fixture(autouse=True)
def no_system_copies(monkeypatch):
    """Never pick up a real Fashion-MNIST that may be installed on this machine."""
    monkeypatch.setattr(FashionMNIST, "system_dirs", ())


# ---------------------------------------------------------------------------------------------
# IDX (MNIST / Fashion-MNIST)
# ---------------------------------------------------------------------------------------------
def idx_images(images: np.ndarray, magic: int = 2051) -> bytes:
    n, rows, cols = images.shape
    return struct.pack(">IIII", magic, n, rows, cols) + images.astype(np.uint8).tobytes()


def idx_labels(labels: np.ndarray, magic: int = 2049) -> bytes:
    return struct.pack(">II", magic, len(labels)) + labels.astype(np.uint8).tobytes()


def write(path: Path, content: bytes, gz: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if gz:
        path = path.with_name(path.name + ".gz")
        content = gzip.compress(content)
    path.write_bytes(content)
    return path


def make_idx_split(folder: Path, prefix: str = "train", n: int = 6, rows: int = 4,
                   cols: int = 3, gz: bool = False, seed: int = 0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, rows, cols), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n)
    write(folder / f"{prefix}-images-idx3-ubyte", idx_images(images), gz)
    write(folder / f"{prefix}-labels-idx1-ubyte", idx_labels(labels), gz)
    return images, labels


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_reads_values(tmp_path, gz):
    images, labels = make_idx_split(tmp_path, "train", gz=gz)
    ds = MNIST(tmp_path)
    assert len(ds) == 6
    np.testing.assert_array_equal(ds.data, images)
    assert ds.targets.dtype == np.int64
    np.testing.assert_array_equal(ds.targets, labels)
    x, y = ds[2]
    assert isinstance(x, tg.Tensor) and x.shape == (1, 4, 3) and x.dtype == tg.float32
    np.testing.assert_allclose(x.numpy()[0], images[2] / 255, atol=1e-7)
    assert y == labels[2] and isinstance(y, int)
    assert ds.class_to_idx["3 - three"] == 3 and len(ds.classes) == 10


def test_mnist_test_split_and_torchvision_layout(tmp_path):
    images, labels = make_idx_split(tmp_path / "MNIST" / "raw", "t10k", n=3, seed=1)
    make_idx_split(tmp_path / "MNIST" / "raw", "train", n=5, seed=2)
    test = MNIST(tmp_path, train=False)
    np.testing.assert_array_equal(test.data, images)
    assert len(MNIST(tmp_path, train=True)) == 5
    assert "Test" in repr(test)


def test_mnist_fast_batch_equals_items(tmp_path, device):
    make_idx_split(tmp_path, "train", n=7)
    ds = MNIST(tmp_path)
    idx = np.array([5, 0, 3])
    x, y = ds.get_batch(idx)
    assert x.shape == (3, 1, 4, 3) and y.dtype == tg.int64
    assert x.device == y.device == tg.device("cpu")  # file datasets live in host memory
    for row, i in enumerate(idx):
        xi, yi = ds[int(i)]
        np.testing.assert_array_equal(x.numpy()[row], xi.numpy())
        assert y.numpy()[row] == yi
    batches = list(DataLoader(ds, batch_size=4, shuffle=True, seed=0))
    assert [b[0].shape[0] for b in batches] == [4, 3]
    # the training loop moves each batch to the device: same values there
    xd, yd = x.to(device), y.to(device)
    assert xd.device == yd.device == tg.device(device)
    np.testing.assert_array_equal(xd.cpu().numpy(), x.numpy())
    assert yd.tolist() == y.tolist()


def test_transform_gets_numpy_image_and_disables_fast_path(tmp_path):
    images, labels = make_idx_split(tmp_path, "train")
    seen = []

    def spy(img):
        seen.append((type(img), img.dtype, img.shape))
        return transforms.ToTensor()(img)

    ds = MNIST(tmp_path, transform=spy, target_transform=lambda t: t + 100)
    assert ds.get_batch(np.array([0, 1])) is NotImplemented
    x, y = ds[1]
    assert seen == [(np.ndarray, np.uint8, (4, 3))]
    assert y == labels[1] + 100
    plain = MNIST(tmp_path)
    np.testing.assert_array_equal(x.numpy(), plain[1][0].numpy())  # ToTensor == default
    xb, yb = next(iter(DataLoader(ds, batch_size=6)))
    assert xb.shape == (6, 1, 4, 3)
    np.testing.assert_array_equal(yb.numpy(), labels + 100)


def test_index_errors(tmp_path):
    make_idx_split(tmp_path, "train", n=3)
    ds = MNIST(tmp_path)
    assert ds[-1][1] == ds[2][1]
    with pytest.raises(IndexError):
        ds[3]
    with pytest.raises(TypeError):
        ds[1.0]


def test_fashion_mnist_from_system_dir(tmp_path, monkeypatch):
    system = tmp_path / "usr-share"
    images, _ = make_idx_split(system, "train", gz=True)
    monkeypatch.setattr(FashionMNIST, "system_dirs", (str(system),))
    ds = FashionMNIST(tmp_path / "empty-root")
    np.testing.assert_array_equal(ds.data, images)
    assert ds.classes[9] == "Ankle boot"


def test_missing_files_error_says_how_to_get_them(tmp_path):
    make_idx_split(tmp_path, "t10k")  # only the test split is there
    with pytest.raises(DatasetNotFoundError) as info:
        FashionMNIST(tmp_path, train=True)
    message = str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    assert "train-images-idx3-ubyte" in message
    assert str(tmp_path) in message and str(tmp_path / "FashionMNIST" / "raw") in message
    assert "download=True" in message
    assert "apt install dataset-fashion-mnist" in message
    assert "fashion-mnist.s3-website.eu-central-1.amazonaws.com/train-images-idx3-ubyte.gz" \
        in message
    with pytest.raises(DatasetNotFoundError, match="yann.lecun.com|ossci"):
        MNIST(tmp_path / "nowhere")


def test_half_a_split_is_not_enough(tmp_path):
    rng = np.random.default_rng(0)
    write(tmp_path / "train-images-idx3-ubyte", idx_images(rng.integers(0, 255, (2, 2, 2))))
    with pytest.raises(DatasetNotFoundError, match="train-labels"):
        MNIST(tmp_path)


@pytest.mark.parametrize("case, match", [
    ("bad_image_magic", "magic number 2049, expected 2051"),
    ("bad_label_magic", "magic number 7, expected 2049"),
    ("truncated_images", "truncated"),
    ("extra_bytes", "extra bytes"),
    ("short_header", "too short"),
    ("count_mismatch", "5 images but"),
    ("bad_label", "labels must be in 0..9"),
    ("bad_gzip", "gzip"),
])
@pytest.mark.parametrize("gz", [False, True])
def test_corrupt_idx_files(tmp_path, case, match, gz):
    images = np.zeros((5, 2, 2), np.uint8)
    labels = np.arange(5)
    image_bytes, label_bytes = idx_images(images), idx_labels(labels)
    if case == "bad_image_magic":
        image_bytes = idx_images(images, magic=2049)
    elif case == "bad_label_magic":
        label_bytes = idx_labels(labels, magic=7)
    elif case == "truncated_images":
        image_bytes = image_bytes[:-3]
    elif case == "extra_bytes":
        image_bytes += b"\0"
    elif case == "short_header":
        image_bytes = image_bytes[:10]
    elif case == "count_mismatch":
        label_bytes = idx_labels(labels[:4])
    elif case == "bad_label":
        label_bytes = idx_labels(np.array([0, 1, 2, 3, 12]))
    write(tmp_path / "train-labels-idx1-ubyte", label_bytes)
    if case == "bad_gzip":
        (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(b"this is not gzip data")
    else:
        write(tmp_path / "train-images-idx3-ubyte", image_bytes, gz)
    with pytest.raises(CorruptDatasetError, match=match):
        MNIST(tmp_path)


@lru_cache(maxsize=1)
def gzipped_zeros(size: int = 32 << 20) -> bytes:
    """A gzip member that inflates to `size` zero bytes (32 MB in about 32 kB)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: the gzip format
    chunk = bytes(1 << 20)
    return b"".join(compressor.compress(chunk) for _ in range(size // len(chunk))) \
        + compressor.flush()


def peak_memory_of(call) -> int:
    """The peak of traced allocations (NumPy's arrays included) while `call()` runs."""
    tracemalloc.start()
    try:
        call()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


@pytest.mark.parametrize("count, match", [
    (5, "announces 5 images of 28x28, i.e. 3920 bytes, but the file goes on after them"),
    (1 << 21, r"announces 2097152 images of 28x28, .* but a gzip file of \d+ bytes inflates to "
              r"at most \d+"),
])
def test_gzip_bomb_is_refused_without_inflating_it(tmp_path, count, match):
    """A tiny .gz whose IDX header announces `count` images and which inflates to 32 MB of
    zeros: the header is read first, then only what it announces (refused at once when that is
    more than a file of this size can inflate to), so the trailing data is never inflated."""
    header = struct.pack(">IIII", 2051, count, 28, 28)
    bomb = tmp_path / "train-images-idx3-ubyte.gz"
    bomb.write_bytes(gzip.compress(header) + gzipped_zeros())  # two gzip members, one stream
    assert bomb.stat().st_size < 64 << 10
    write(tmp_path / "train-labels-idx1-ubyte", idx_labels(np.zeros(5)))
    error = []

    def load():
        with pytest.raises(CorruptDatasetError, match=match) as info:
            MNIST(tmp_path)
        error.append(info.value)

    assert peak_memory_of(load) < 4 << 20  # nowhere near the 32 MB the file inflates to
    assert str(bomb) in str(error[0])


def serve_idx_files(folder: Path, n: int = 4) -> dict:
    """Gzipped IDX files for both splits in `folder`, and their MD5s (a fake mirror)."""
    resources = {}
    for prefix in ("train", "t10k"):
        make_idx_split(folder, prefix, n=n, gz=True)
        for kind in ("images-idx3", "labels-idx1"):
            name = f"{prefix}-{kind}-ubyte.gz"
            resources[name] = hashlib.md5((folder / name).read_bytes()).hexdigest()
    return resources


def test_download_from_mirror(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    resources = serve_idx_files(mirror)
    monkeypatch.setattr(MNIST, "mirrors", [(tmp_path / "dead").as_uri() + "/",
                                           mirror.as_uri() + "/"])
    monkeypatch.setattr(MNIST, "resources", resources)
    ds = MNIST(tmp_path / "root", download=True)
    assert len(ds) == 4
    raw = tmp_path / "root" / "MNIST" / "raw"
    assert sorted(p.name for p in raw.iterdir()) == sorted(resources)
    assert len(MNIST(tmp_path / "root", train=False)) == 4  # found without downloading again


def test_download_failure_and_bad_checksum(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    resources = serve_idx_files(mirror)
    monkeypatch.setattr(MNIST, "mirrors", [mirror.as_uri() + "/"])
    monkeypatch.setattr(MNIST, "resources", dict.fromkeys(resources, "0" * 32))
    with pytest.raises(DatasetNotFoundError, match="checksum mismatch") as info:
        MNIST(tmp_path / "root", download=True)
    assert "download=True" in str(info.value)
    raw = tmp_path / "root" / "MNIST" / "raw"
    assert list(raw.iterdir()) == []  # no half or unverified file left behind

    monkeypatch.setattr(MNIST, "mirrors", [(tmp_path / "offline").as_uri() + "/"])
    with pytest.raises(DatasetNotFoundError, match="downloading MNIST failed"):
        MNIST(tmp_path / "root", download=True)


def test_download_without_root(tmp_path):
    with pytest.raises(ValueError, match="root"):
        MNIST(None, download=True)


# ---------------------------------------------------------------------------------------------
# CIFAR-10 (binary version)
# ---------------------------------------------------------------------------------------------
def cifar_records(n: int, seed: int) -> tuple[bytes, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, size=n).astype(np.uint8)
    pixels = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
    raw = np.concatenate([labels[:, None], pixels], axis=1).tobytes()
    return raw, labels, pixels


CIFAR_NAMES = ["plane", "car", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def make_cifar(folder: Path, n: int = 3) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    content = {}
    for i, name in enumerate([f"data_batch_{k}.bin" for k in range(1, 6)] + ["test_batch.bin"]):
        raw, labels, pixels = cifar_records(n, seed=i)
        (folder / name).write_bytes(raw)
        content[name] = (labels, pixels)
    (folder / "batches.meta.txt").write_text("\n".join(CIFAR_NAMES) + "\n\n")
    return content


def test_cifar10_reads_layout_and_values(tmp_path):
    content = make_cifar(tmp_path / "cifar-10-batches-bin")
    train = CIFAR10(tmp_path)
    assert len(train) == 15 and train.data.shape == (15, 32, 32, 3)
    assert train.classes == CIFAR_NAMES and train.class_to_idx["car"] == 1
    labels, pixels = content["data_batch_2.bin"]
    sample = 3 + 1  # the second record of the second file
    np.testing.assert_array_equal(train.targets[3:6], labels)
    # record byte 1 + c*1024 + h*32 + w is channel c, row h, column w
    c, h, w = 2, 5, 17
    assert train.data[sample, h, w, c] == pixels[1, c * 1024 + h * 32 + w]
    x, y = train[sample]
    assert x.shape == (3, 32, 32) and x.dtype == tg.float32 and y == labels[1]
    np.testing.assert_allclose(x.numpy(), pixels[1].reshape(3, 32, 32) / 255, atol=1e-7)
    xb, yb = train.get_batch(np.array([sample, 0]))
    np.testing.assert_array_equal(xb.numpy()[0], x.numpy())
    test = CIFAR10(tmp_path, train=False)
    np.testing.assert_array_equal(test.targets, content["test_batch.bin"][0])
    np.testing.assert_array_equal(transforms.ToTensor()(test.data[0]).numpy(), test[0][0].numpy())


def test_cifar10_batch_files_directly_in_root(tmp_path):
    make_cifar(tmp_path)
    assert len(CIFAR10(tmp_path, train=False)) == 3


def test_cifar10_corrupt_files(tmp_path):
    folder = tmp_path / "cifar-10-batches-bin"
    make_cifar(folder)
    path = folder / "data_batch_3.bin"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(CorruptDatasetError, match="data_batch_3.bin.*3073"):
        CIFAR10(tmp_path)
    raw, _, _ = cifar_records(2, seed=0)
    (folder / "test_batch.bin").write_bytes(b"\x0b" + raw[1:])  # label 11
    with pytest.raises(CorruptDatasetError, match="labels must be in 0..9"):
        CIFAR10(tmp_path, train=False)
    (folder / "test_batch.bin").write_bytes(raw)
    (folder / "batches.meta.txt").write_text("cat\ndog\n")
    with pytest.raises(CorruptDatasetError, match="10 class names"):
        CIFAR10(tmp_path, train=False)


def test_cifar10_meta_that_is_not_utf8_is_a_corrupt_file(tmp_path):
    folder = tmp_path / "cifar-10-batches-bin"
    make_cifar(folder)
    (folder / "batches.meta.txt").write_bytes("\n".join(CIFAR_NAMES).encode("utf-16"))
    with pytest.raises(CorruptDatasetError, match=r"batches\.meta\.txt: not a UTF-8 text file"):
        CIFAR10(tmp_path, train=False)


def test_cifar10_missing(tmp_path):
    with pytest.raises(DatasetNotFoundError) as info:
        CIFAR10(tmp_path)
    message = str(info.value)
    for text in ("data_batch_1.bin", str(tmp_path / "cifar-10-batches-bin"), "download=True",
                 "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"):
        assert text in message


def make_archive(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def cifar_members(n: int = 2) -> dict[str, bytes]:
    members = {f"cifar-10-batches-bin/data_batch_{k}.bin": cifar_records(n, k)[0]
               for k in range(1, 6)}
    members["cifar-10-batches-bin/test_batch.bin"] = cifar_records(n, 9)[0]
    members["cifar-10-batches-bin/batches.meta.txt"] = "\n".join(CIFAR_NAMES).encode()
    return members


def test_cifar10_unpacks_archive_in_root(tmp_path):
    make_archive(tmp_path / "cifar-10-binary.tar.gz", cifar_members())
    ds = CIFAR10(tmp_path)
    assert len(ds) == 10
    assert (tmp_path / "cifar-10-batches-bin" / "test_batch.bin").is_file()


def test_cifar10_download_checks_md5(tmp_path, monkeypatch):
    archive = make_archive(tmp_path / "served.tar.gz", cifar_members())
    monkeypatch.setattr(CIFAR10, "url", archive.as_uri())
    monkeypatch.setattr(CIFAR10, "md5", "0" * 32)
    with pytest.raises(DatasetNotFoundError, match="checksum mismatch"):
        CIFAR10(tmp_path / "root", download=True)
    assert not (tmp_path / "root" / "cifar-10-binary.tar.gz").exists()
    monkeypatch.setattr(CIFAR10, "md5", hashlib.md5(archive.read_bytes()).hexdigest())
    assert len(CIFAR10(tmp_path / "root", train=False, download=True)) == 2


@pytest.mark.parametrize("evil", [
    "../evil.bin", "ABSOLUTE", "cifar-10-batches-bin/../../evil.bin",
    # Windows paths: backslash separators, drive letters (and NTFS streams)
    "..\\..\\evil.bin", "cifar-10-batches-bin\\..\\..\\evil.bin", "\\evil.bin", "C:evil.bin",
    "C:\\evil.bin", "cifar-10-batches-bin/C:evil.bin", "cifar-10-batches-bin/x.bin:stream",
])
def test_cifar10_refuses_unsafe_archive_paths(tmp_path, evil):
    root = tmp_path / "root"
    root.mkdir()
    if evil == "ABSOLUTE":
        evil = str(tmp_path / "evil.bin")
    make_archive(root / "cifar-10-binary.tar.gz", {**cifar_members(), evil: b"owned"})
    with pytest.raises(CorruptDatasetError, match="unsafe path"):
        CIFAR10(root)
    assert not (tmp_path / "evil.bin").exists()
    assert [f.name for f in root.iterdir()] == ["cifar-10-binary.tar.gz"]  # nothing extracted


def test_cifar10_refuses_links_in_archive(tmp_path):
    archive = tmp_path / "cifar-10-binary.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        link = tarfile.TarInfo("cifar-10-batches-bin/data_batch_1.bin")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)
    with pytest.raises(CorruptDatasetError, match="not a plain file"):
        CIFAR10(tmp_path)


def test_cifar10_corrupt_archive(tmp_path):
    (tmp_path / "cifar-10-binary.tar.gz").write_bytes(b"not an archive")
    with pytest.raises(CorruptDatasetError, match="tar archive"):
        CIFAR10(tmp_path)


# ---------------------------------------------------------------------------------------------
# Digits and BreastCancer (from scikit-learn's data files)
# ---------------------------------------------------------------------------------------------
def test_digits_shapes_split_and_values():
    pytest.importorskip("sklearn")
    train, test = Digits(), Digits(train=False)
    assert (len(train), len(test)) == (1438, 359)
    assert train.data.shape == (1438, 8, 8) and train.data.dtype == np.uint8
    assert train.data.max() == 16 and train.targets.dtype == np.int64
    all_counts = np.bincount(train.targets, minlength=10) + np.bincount(test.targets, minlength=10)
    assert all_counts.sum() == 1797 and all_counts.min() >= 170
    # stratified: every class is about 20 % test
    share = np.bincount(test.targets, minlength=10) / all_counts
    assert np.all(np.abs(share - 0.2) < 0.01)
    x, y = train[0]
    assert x.shape == (1, 8, 8) and x.dtype == tg.float32 and isinstance(y, int)
    np.testing.assert_allclose(x.numpy()[0], train.data[0] / 16)
    np.testing.assert_array_equal(Digits().targets, train.targets)  # the split is fixed
    with_transform = Digits(transform=transforms.ToTensor())
    np.testing.assert_array_equal(with_transform[5][0].numpy(), train[5][0].numpy())
    xb, yb = next(iter(DataLoader(train, batch_size=64, shuffle=True, seed=0)))
    assert xb.shape == (64, 1, 8, 8) and yb.shape == (64,)


def test_digits_train_and_test_are_disjoint():
    pytest.importorskip("sklearn")
    train, test = Digits(), Digits(train=False)
    train_rows = {row.tobytes() + bytes([t]) for row, t in zip(train.data, train.targets)}
    test_rows = [row.tobytes() + bytes([t]) for row, t in zip(test.data, test.targets)]
    assert len(train_rows) == 1438  # no duplicate images, so rows identify samples
    assert not any(r in train_rows for r in test_rows)


def test_breast_cancer_labels_and_split():
    pytest.importorskip("sklearn")
    train, test = BreastCancer(), BreastCancer(train=False)
    assert (len(train), len(test)) == (456, 113)
    assert train.data.shape == (456, 30) and train.data.dtype == np.float32
    assert train.classes == ["benign", "malignant"]
    assert int(train.targets.sum() + test.targets.sum()) == 212  # 212 malignant tumours
    assert len(train.feature_names) == 30 and train.feature_names[0] == "mean radius"
    x, y = test[0]
    assert x.shape == (30,) and x.dtype == tg.float32
    train_rows = {row.tobytes() for row in train.data}
    assert not any(row.tobytes() in train_rows for row in test.data)
    # the first row of the file (mean radius 17.99) is malignant
    everything = np.concatenate([train.data, test.data])
    targets = np.concatenate([train.targets, test.targets])
    first = np.flatnonzero(np.isclose(everything[:, 0], 17.99)
                           & np.isclose(everything[:, 1], 10.38))
    assert len(first) == 1 and targets[first[0]] == 1


def test_missing_scikit_learn_says_how_to_install(monkeypatch):
    monkeypatch.setattr(sklearn_data, "find_spec", lambda name: None)
    with pytest.raises(ModuleNotFoundError, match="pip install scikit-learn"):
        Digits()
    with pytest.raises(ModuleNotFoundError, match="pip install scikit-learn"):
        BreastCancer()
