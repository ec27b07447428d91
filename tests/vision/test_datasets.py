"""vision.datasets: MNIST, FashionMNIST and CIFAR10 on small files in the official formats
that the tests write themselves (gzip IDX, the pickled and the binary CIFAR batches).

No test touches the network: "downloads" come from file:// URLs in tmp_path.
"""

import gzip
import hashlib
import importlib.util
import io
import pickle
import struct
import tarfile
import tracemalloc
import zlib
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.utils.data import DataLoader, Subset
from tinygrad_edu.vision import transforms
from tinygrad_edu.vision.datasets import (
    CIFAR10,
    MNIST,
    CorruptDatasetError,
    DatasetNotFoundError,
    FashionMNIST,
)
from tinygrad_edu.vision.datasets import vision as vision_base

HAVE_PILLOW = importlib.util.find_spec("PIL") is not None
needs_pillow = pytest.mark.skipif(not HAVE_PILLOW, reason="Pillow is not installed")


@pytest.fixture(params=["pillow", "numpy"])
def image_kind(request, monkeypatch):
    """Run a test with Pillow (where installed) and as if it were not installed."""
    if request.param == "pillow" and not HAVE_PILLOW:
        pytest.skip("Pillow is not installed")
    if request.param == "numpy":
        monkeypatch.setattr(vision_base, "pil_image_module", lambda: None)
    return request.param


def as_array(image) -> np.ndarray:
    """A sample's image (PIL or NumPy) as a NumPy array."""
    if isinstance(image, np.ndarray):
        return image
    assert type(image).__module__.startswith("PIL."), type(image)
    return np.asarray(image)


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
def test_mnist_reads_values(tmp_path, gz, image_kind):
    images, labels = make_idx_split(tmp_path / "MNIST" / "raw", "train", gz=gz)
    ds = MNIST(tmp_path)
    assert len(ds) == 6
    assert isinstance(ds.data, tg.Tensor) and ds.data.dtype == tg.uint8
    assert ds.data.shape == (6, 4, 3)
    np.testing.assert_array_equal(ds.data.numpy(), images)
    assert isinstance(ds.targets, tg.Tensor) and ds.targets.dtype == tg.int64
    np.testing.assert_array_equal(ds.targets.numpy(), labels)
    image, y = ds[2]  # no transform: what torchvision gives (a PIL 'L' image), or NumPy
    if image_kind == "pillow":
        assert image.mode == "L" and image.size == (3, 4)  # PIL sizes are (width, height)
    else:
        assert isinstance(image, np.ndarray) and image.dtype == np.uint8
    np.testing.assert_array_equal(as_array(image), images[2])
    assert y == labels[2] and isinstance(y, int)
    assert ds.class_to_idx["3 - three"] == 3 and len(ds.classes) == 10
    x, _ = MNIST(tmp_path, transform=transforms.ToTensor())[2]
    assert isinstance(x, tg.Tensor) and x.shape == (1, 4, 3) and x.dtype == tg.float32
    np.testing.assert_allclose(x.numpy()[0], images[2] / 255, atol=1e-7)


def test_mnist_test_split_and_torchvision_layout(tmp_path):
    images, labels = make_idx_split(tmp_path / "MNIST" / "raw", "t10k", n=3, seed=1)
    make_idx_split(tmp_path / "MNIST" / "raw", "train", n=5, seed=2)
    test = MNIST(tmp_path, train=False)
    np.testing.assert_array_equal(test.data, images)
    assert len(MNIST(tmp_path, train=True)) == 5
    assert "Test" in repr(test)


@pytest.mark.parametrize("normalize", [False, True])
def test_mnist_fast_batch_equals_items(tmp_path, device, normalize):
    make_idx_split(tmp_path, "train", n=7)
    steps = [transforms.ToTensor()] + ([transforms.Normalize((0.1307,), (0.3081,))]
                                       if normalize else [])
    ds = MNIST(tmp_path, transform=transforms.Compose(steps) if normalize else steps[0])
    idx = np.array([5, 0, 3])
    x, y = ds.get_batch(idx)
    assert x.shape == (3, 1, 4, 3) and x.dtype == tg.float32 and y.dtype == tg.int64
    assert x.device == y.device == tg.device("cpu")  # file datasets live in host memory
    for row, i in enumerate(idx):
        xi, yi = ds[int(i)]
        np.testing.assert_array_equal(x.numpy()[row], xi.numpy())  # bit for bit
        assert y.numpy()[row] == yi
    batches = list(DataLoader(ds, batch_size=4, shuffle=True, seed=0))
    assert [b[0].shape[0] for b in batches] == [4, 3]
    sub_x, _ = Subset(ds, [6, 1]).get_batch(np.array([1]))
    np.testing.assert_array_equal(sub_x.numpy()[0], ds[1][0].numpy())
    # the training loop moves each batch to the device: same values there
    xd, yd = x.to(device), y.to(device)
    assert xd.device == yd.device == tg.device(device)
    np.testing.assert_array_equal(xd.cpu().numpy(), x.numpy())
    assert yd.tolist() == y.tolist()


def test_transform_gets_the_image_and_other_transforms_go_sample_by_sample(tmp_path, image_kind):
    images, labels = make_idx_split(tmp_path, "train")
    seen = []

    def spy(img):
        seen.append(type(img).__module__.split(".")[0])
        return transforms.ToTensor()(img)

    ds = MNIST(tmp_path, transform=spy, target_transform=lambda t: t + 100)
    assert ds.get_batch(np.array([0, 1])) is NotImplemented
    assert MNIST(tmp_path).get_batch(np.array([0])) is NotImplemented  # images are not Tensors
    flips = MNIST(tmp_path, transform=transforms.Compose([transforms.RandomHorizontalFlip(),
                                                          transforms.ToTensor()]))
    assert flips.get_batch(np.array([0])) is NotImplemented
    x, y = ds[1]
    assert seen == (["PIL"] if image_kind == "pillow" else ["numpy"])
    assert y == labels[1] + 100
    plain = MNIST(tmp_path, transform=transforms.ToTensor())
    np.testing.assert_array_equal(x.numpy(), plain[1][0].numpy())
    xb, yb = next(iter(DataLoader(ds, batch_size=6)))
    assert xb.shape == (6, 1, 4, 3)
    np.testing.assert_array_equal(yb.numpy(), labels + 100)


def test_mnist_repr_is_torchvisions(tmp_path):
    make_idx_split(tmp_path / "MNIST" / "raw", "t10k", n=3)
    ds = MNIST(str(tmp_path), train=False, transform=transforms.Compose(
        [transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))]))
    assert repr(ds).splitlines() == [
        "Dataset MNIST", "    Number of datapoints: 3", f"    Root location: {tmp_path}",
        "    Split: Test", "    StandardTransform", "Transform: Compose(",
        "               ToTensor()", "               Normalize(mean=(0.5,), std=(0.5,))",
        "           )"]
    assert ds.raw_folder == str(tmp_path / "MNIST" / "raw")


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


def serve_idx_files(folder: Path, n: int = 4) -> list:
    """Gzipped IDX files for both splits in `folder`, and their MD5s (a fake mirror), as
    torchvision's `resources`: a list of (filename, md5)."""
    resources = []
    for prefix in ("train", "t10k"):
        make_idx_split(folder, prefix, n=n, gz=True)
        for kind in ("images-idx3", "labels-idx1"):
            name = f"{prefix}-{kind}-ubyte.gz"
            resources.append((name, hashlib.md5((folder / name).read_bytes()).hexdigest()))
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
    assert sorted(p.name for p in raw.iterdir()) == sorted(name for name, _ in resources)
    assert len(MNIST(tmp_path / "root", train=False)) == 4  # found without downloading again


def test_download_failure_and_bad_checksum(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    resources = serve_idx_files(mirror)
    monkeypatch.setattr(MNIST, "mirrors", [mirror.as_uri() + "/"])
    monkeypatch.setattr(MNIST, "resources", [(name, "0" * 32) for name, _ in resources])
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


def test_cifar10_reads_layout_and_values(tmp_path, image_kind):
    content = make_cifar(tmp_path / "cifar-10-batches-bin")
    train = CIFAR10(tmp_path)
    assert len(train) == 15 and train.data.shape == (15, 32, 32, 3)
    assert isinstance(train.data, np.ndarray) and train.data.dtype == np.uint8
    assert isinstance(train.targets, list) and all(type(t) is int for t in train.targets)
    assert train.classes == CIFAR_NAMES and train.class_to_idx["car"] == 1
    labels, pixels = content["data_batch_2.bin"]
    sample = 3 + 1  # the second record of the second file
    assert train.targets[3:6] == labels.tolist()
    # record byte 1 + c*1024 + h*32 + w is channel c, row h, column w
    c, h, w = 2, 5, 17
    assert train.data[sample, h, w, c] == pixels[1, c * 1024 + h * 32 + w]
    image, y = train[sample]
    if image_kind == "pillow":
        assert image.mode == "RGB" and image.size == (32, 32)
    np.testing.assert_array_equal(as_array(image), pixels[1].reshape(3, 32, 32).transpose(1, 2, 0))
    assert y == labels[1]
    tensors = CIFAR10(tmp_path, transform=transforms.ToTensor())
    x, _ = tensors[sample]
    assert x.shape == (3, 32, 32) and x.dtype == tg.float32
    np.testing.assert_allclose(x.numpy(), pixels[1].reshape(3, 32, 32) / 255, atol=1e-7)
    xb, yb = tensors.get_batch(np.array([sample, 0]))
    np.testing.assert_array_equal(xb.numpy()[0], x.numpy())
    assert yb.dtype == tg.int64 and yb.tolist() == [train.targets[sample], train.targets[0]]
    test = CIFAR10(tmp_path, train=False)
    assert test.targets == content["test_batch.bin"][0].tolist()
    np.testing.assert_array_equal(transforms.ToTensor()(test.data[0]).numpy(),
                                  transforms.ToTensor()(test[0][0]).numpy())


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
    assert isinstance(info.value, RuntimeError)  # torchvision's class for "not found"
    for text in ("data_batch_1", str(tmp_path / "cifar-10-batches-py"),
                 str(tmp_path / "cifar-10-batches-bin"), "download=True",
                 "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
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


def test_cifar10_unpacks_binary_archive_in_root(tmp_path):
    make_archive(tmp_path / "cifar-10-binary.tar.gz", cifar_members())
    ds = CIFAR10(tmp_path)
    assert len(ds) == 10
    assert (tmp_path / "cifar-10-batches-bin" / "test_batch.bin").is_file()


def test_cifar10_download_checks_md5(tmp_path, monkeypatch):
    archive = make_archive(tmp_path / "served.tar.gz", pickled_cifar_members())
    monkeypatch.setattr(CIFAR10, "url", archive.as_uri())
    monkeypatch.setattr(CIFAR10, "tgz_md5", "0" * 32)
    with pytest.raises(DatasetNotFoundError, match="checksum mismatch"):
        CIFAR10(tmp_path / "root", download=True)
    assert not (tmp_path / "root" / "cifar-10-python.tar.gz").exists()
    monkeypatch.setattr(CIFAR10, "tgz_md5", hashlib.md5(archive.read_bytes()).hexdigest())
    test = CIFAR10(tmp_path / "root", train=False, download=True)
    assert len(test) == 2 and test.classes == CIFAR_NAMES
    assert (tmp_path / "root" / "cifar-10-batches-py" / "test_batch").is_file()


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
# CIFAR-10 (the pickled Python version, torchvision's download)
# ---------------------------------------------------------------------------------------------
def cifar_pickle(n: int, seed: int, protocol: int = 4, byte_keys: bool = False) -> tuple:
    """A batch file as the real ones are: a pickled dict of plain values and a uint8 array."""
    rng = np.random.default_rng(seed)
    labels = [int(v) for v in rng.integers(0, 10, size=n)]
    pixels = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
    entry = {"batch_label": "training batch 1 of 5", "labels": labels, "data": pixels,
             "filenames": [f"img_{i}.png" for i in range(n)]}
    if byte_keys:
        entry = {k.encode(): (v.encode() if isinstance(v, str) else v) for k, v in entry.items()}
    return pickle.dumps(entry, protocol=protocol), labels, pixels


def cifar_meta_pickle(protocol: int = 4, byte_keys: bool = False) -> bytes:
    meta = {"num_cases_per_batch": 10000, "label_names": CIFAR_NAMES, "num_vis": 3072}
    if byte_keys:
        meta = {b"num_cases_per_batch": 10000, b"label_names": [n.encode() for n in CIFAR_NAMES],
                b"num_vis": 3072}
    return pickle.dumps(meta, protocol=protocol)


def make_pickled_cifar(folder: Path, n: int = 3, **kwargs) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    content = {}
    for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        raw, labels, pixels = cifar_pickle(n, seed=i, **kwargs)
        (folder / name).write_bytes(raw)
        content[name] = (labels, pixels)
    (folder / "batches.meta").write_bytes(cifar_meta_pickle(**kwargs))
    return content


def pickled_cifar_members(n: int = 2) -> dict[str, bytes]:
    members = {f"cifar-10-batches-py/data_batch_{k}": cifar_pickle(n, k)[0] for k in range(1, 6)}
    members["cifar-10-batches-py/test_batch"] = cifar_pickle(n, 9)[0]
    members["cifar-10-batches-py/batches.meta"] = cifar_meta_pickle()
    return members


@pytest.mark.parametrize("protocol", [2, 4, 5])
@pytest.mark.parametrize("byte_keys", [False, True])
def test_cifar10_python_version_values(tmp_path, protocol, byte_keys):
    content = make_pickled_cifar(tmp_path / "cifar-10-batches-py", protocol=protocol,
                                 byte_keys=byte_keys)
    train = CIFAR10(tmp_path, transform=transforms.ToTensor())
    assert train.data.shape == (15, 32, 32, 3) and train.data.dtype == np.uint8
    assert train.classes == CIFAR_NAMES
    labels, pixels = content["data_batch_3"]
    assert train.targets[6:9] == labels and all(type(t) is int for t in train.targets)
    # torchvision: data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    np.testing.assert_array_equal(train.data[6:9], pixels.reshape(-1, 3, 32, 32)
                                  .transpose(0, 2, 3, 1))
    x, y = train[7]
    np.testing.assert_allclose(x.numpy(), pixels[1].reshape(3, 32, 32) / 255, atol=1e-7)
    assert y == labels[1]
    assert len(CIFAR10(tmp_path, train=False)) == 3


def test_cifar10_prefers_the_python_version(tmp_path):
    make_pickled_cifar(tmp_path / "cifar-10-batches-py", n=2)
    make_cifar(tmp_path / "cifar-10-batches-bin", n=4)
    assert len(CIFAR10(tmp_path, train=False)) == 2
    (tmp_path / "other").mkdir()
    make_archive(tmp_path / "other" / "cifar-10-python.tar.gz", pickled_cifar_members(1))
    assert len(CIFAR10(tmp_path / "other")) == 5  # unpacked from the archive in root
    assert (tmp_path / "other" / "cifar-10-batches-py" / "batches.meta").is_file()


class Evil:
    """Unpickling this runs code (here a harmless print, in a real attack anything)."""

    def __reduce__(self):
        return (print, ("owned",))


@pytest.mark.parametrize("payload", [
    {"data": Evil(), "labels": [0]},
    {"data": np.zeros((1, 3072), np.uint8), "labels": [0], "x": Evil()},
    {"data": np.array([None] * 3072, dtype=object).reshape(1, 3072), "labels": [0]},
    {"data": np.zeros((1, 3072), np.uint8), "labels": [0], "when": __import__("datetime").date(
        2020, 1, 1)},
], ids=["global", "nested-global", "object-array", "other-class"])
def test_cifar_pickle_refuses_every_other_global(tmp_path, payload, capsys):
    folder = tmp_path / "cifar-10-batches-py"
    make_pickled_cifar(folder, n=1)
    (folder / "test_batch").write_bytes(pickle.dumps(payload))
    with pytest.raises(CorruptDatasetError, match="test_batch: refusing"):
        CIFAR10(tmp_path, train=False)
    assert "owned" not in capsys.readouterr().out  # nothing from the file ran


def test_cifar_pickle_lengths_must_fit_in_the_file(tmp_path):
    """A 20-byte file that declares a 2**40-byte string is refused before any allocation."""
    folder = tmp_path / "cifar-10-batches-py"
    make_pickled_cifar(folder, n=1)
    huge = b"\x80\x04\x8e" + (1 << 40).to_bytes(8, "little") + b"abc."  # BINBYTES8
    (folder / "test_batch").write_bytes(huge)
    error = []

    def load():
        with pytest.raises(CorruptDatasetError, match="not a readable CIFAR pickle") as info:
            CIFAR10(tmp_path, train=False)
        error.append(info.value)

    assert peak_memory_of(load) < 4 << 20
    assert "test_batch" in str(error[0])


@pytest.mark.parametrize("entry, match", [
    ({"data": np.zeros((2, 3072), np.float32), "labels": [0, 1]}, "uint8 array"),
    ({"data": np.zeros((2, 100), np.uint8), "labels": [0, 1]}, r"\(N, 3072\)"),
    ({"labels": [0, 1]}, "'data' must be"),
    ({"data": np.zeros((2, 3072), np.uint8), "labels": [0]}, "list of 2 ints"),
    ({"data": np.zeros((2, 3072), np.uint8), "labels": [0, 12]}, "labels must be in 0..9"),
    ([1, 2, 3], "expected a pickled dict"),
])
def test_cifar_pickle_with_wrong_contents(tmp_path, entry, match):
    folder = tmp_path / "cifar-10-batches-py"
    make_pickled_cifar(folder, n=1)
    (folder / "test_batch").write_bytes(pickle.dumps(entry))
    with pytest.raises(CorruptDatasetError, match=match):
        CIFAR10(tmp_path, train=False)


def test_cifar_pickle_truncated_and_bad_meta(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    make_pickled_cifar(folder, n=2)
    raw = (folder / "test_batch").read_bytes()
    (folder / "test_batch").write_bytes(raw[:len(raw) // 2])
    with pytest.raises(CorruptDatasetError, match="not a readable CIFAR pickle"):
        CIFAR10(tmp_path, train=False)
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": ["cat", "dog"]}))
    with pytest.raises(CorruptDatasetError, match="list of 10 names"):
        CIFAR10(tmp_path)


def test_cifar_repr_and_loader(tmp_path):
    make_pickled_cifar(tmp_path / "cifar-10-batches-py", n=3)
    normalize = transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
    train = CIFAR10(tmp_path, transform=transforms.Compose([transforms.ToTensor(), normalize]))
    assert repr(train).splitlines()[:4] == ["Dataset CIFAR10", "    Number of datapoints: 15",
                                            f"    Root location: {tmp_path}",
                                            "    Split: Train"]
    images, labels = next(iter(DataLoader(train, batch_size=4, shuffle=True, seed=1)))
    assert images.shape == (4, 3, 32, 32) and labels.dtype == tg.int64
    assert images.numpy().min() >= -1.0 and images.numpy().max() <= 1.0
