"""torchvision-shaped course snippets run with `import tinygrad_edu.vision as torchvision`.

torchvision is not installed here: expected values are torchvision's documented results
(shapes, dtypes, printed forms); data sets are small synthetic files in the official formats."""

from __future__ import annotations

import gzip
import pickle
import struct

import numpy as np
import pytest

import tinygrad_edu as torch
import tinygrad_edu.vision as torchvision
import tinygrad_edu.vision.transforms as transforms
from tinygrad_edu.utils.data import DataLoader
from tinygrad_edu.vision.transforms import ToTensor


@pytest.fixture
def data_root(tmp_path, monkeypatch):
    """`root` with an MNIST, a FashionMNIST and a CIFAR-10 (Python version) in torchvision's
    folders, 20 images each; no download happens since the files are there."""
    monkeypatch.setattr(torchvision.datasets.FashionMNIST, "system_dirs", ())
    rng = np.random.default_rng(0)
    for name in ("MNIST", "FashionMNIST"):
        raw = tmp_path / name / "raw"
        raw.mkdir(parents=True)
        for prefix in ("train", "t10k"):
            images = rng.integers(0, 256, size=(20, 28, 28), dtype=np.uint8)
            labels = rng.integers(0, 10, size=20).astype(np.uint8)
            (raw / f"{prefix}-images-idx3-ubyte.gz").write_bytes(gzip.compress(
                struct.pack(">IIII", 2051, 20, 28, 28) + images.tobytes()))
            (raw / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(
                struct.pack(">II", 2049, 20) + labels.tobytes()))
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for name in [f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]:
        entry = {"data": rng.integers(0, 256, size=(4, 3072), dtype=np.uint8),
                 "labels": [int(v) for v in rng.integers(0, 10, size=4)]}
        (folder / name).write_bytes(pickle.dumps(entry, protocol=2))
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
             "truck"]
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": names}))
    return tmp_path


def test_cifar10_tutorial(data_root):
    # the PyTorch "Training a classifier" tutorial, as written
    transform = transforms.Compose(
        [transforms.ToTensor(), transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))])
    batch_size = 4
    trainset = torchvision.datasets.CIFAR10(root=str(data_root), train=True, download=True,
                                            transform=transform)
    trainloader = DataLoader(trainset, batch_size=batch_size, shuffle=True, num_workers=0)
    testset = torchvision.datasets.CIFAR10(root=str(data_root), train=False, download=True,
                                           transform=transform)
    assert len(testset) == 4
    assert trainset.data.shape == (20, 32, 32, 3)  # numpy, as torchvision's
    assert trainset.classes[0] == "airplane" and trainset.class_to_idx["truck"] == 9
    images, labels = next(iter(trainloader))
    assert images.shape == (4, 3, 32, 32) and images.dtype == torch.float32
    assert labels.dtype == torch.int64
    grid = torchvision.utils.make_grid(images)
    assert grid.shape == (3, 36, 138)  # 4 images in one row, padding 2
    img = grid / 2 + 0.5  # unnormalize
    npimg = img.numpy()
    assert np.transpose(npimg, (1, 2, 0)).shape == (36, 138, 3)
    assert 0.0 <= npimg.min() and npimg.max() <= 1.0


def test_fashion_mnist_quickstart(data_root):
    # the PyTorch quickstart
    training_data = torchvision.datasets.FashionMNIST(root=str(data_root), train=True,
                                                      download=True, transform=ToTensor())
    test_data = torchvision.datasets.FashionMNIST(root=str(data_root), train=False,
                                                  download=True, transform=ToTensor())
    test_dataloader = DataLoader(test_data, batch_size=8)
    for X, y in test_dataloader:
        assert X.shape == (8, 1, 28, 28) and X.dtype == torch.float32
        assert y.shape == (8,) and y.dtype == torch.int64
        break
    img, label = training_data[0]
    assert img.shape == (1, 28, 28) and isinstance(label, int)
    assert img.squeeze().shape == (28, 28)
    labels_map = {0: "T-Shirt", 9: "Ankle Boot"}
    assert training_data.classes[9] == "Ankle boot" and len(labels_map) == 2


def test_mnist_attributes(data_root):
    mnist = torchvision.datasets.MNIST(str(data_root), train=True, download=True)
    assert mnist.data.shape == (20, 28, 28) and mnist.data.dtype == torch.uint8
    assert mnist.data[0].unsqueeze(-1).shape == (28, 28, 1)
    assert mnist.targets.dtype == torch.int64 and mnist.targets.shape == (20,)
    x = mnist.data.float() / 255
    assert x.dtype == torch.float32 and float(x.max()) <= 1.0
    assert str(mnist).splitlines()[:4] == ["Dataset MNIST", "    Number of datapoints: 20",
                                           f"    Root location: {data_root}",
                                           "    Split: Train"]


def test_cifar_augmentation_pipeline(data_root):
    transform_train = transforms.Compose([
        transforms.RandomCrop(32, padding=4),
        transforms.RandomHorizontalFlip(),
        transforms.ToTensor(),
        transforms.Normalize((0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)),
    ])
    trainset = torchvision.datasets.CIFAR10(root=str(data_root), train=True, download=False,
                                            transform=transform_train)
    torch.manual_seed(0)
    x, y = trainset[3]
    assert x.shape == (3, 32, 32) and x.dtype == torch.float32
    batch, _ = next(iter(DataLoader(trainset, batch_size=5, shuffle=True)))
    assert batch.shape == (5, 3, 32, 32)


def test_resize_and_center_crop_pipeline_matches_pytorch(data_root):
    torch_ref = pytest.importorskip("torch")
    preprocess = transforms.Compose([transforms.ToTensor(), transforms.Resize(24),
                                     transforms.CenterCrop(20)])
    testset = torchvision.datasets.CIFAR10(root=str(data_root), train=False,
                                           transform=preprocess)
    x, _ = testset[0]
    assert x.shape == (3, 20, 20)
    raw = torch_ref.tensor(testset.data[0].transpose(2, 0, 1)[None] / 255.0,
                           dtype=torch_ref.float32)
    resized = torch_ref.nn.functional.interpolate(raw, size=(24, 24), mode="bilinear",
                                                  antialias=True, align_corners=False)
    np.testing.assert_allclose(x.numpy(), resized[0, :, 2:22, 2:22].numpy(), atol=1e-5)
