"""Transforms: values, layouts, and reproducible randomness.

The tensor transforms (Normalize, the flips and crops of a Tensor) run on the tensor's device and
keep it there; their random choices come from tg's CPU generator, so they are the same on every
device and never read anything back from the GPU.
"""

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.data import transforms as T


def image_hwc(h=4, w=5, c=3, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(h, w, c), dtype=np.uint8)


def host(t: tg.Tensor) -> np.ndarray:
    """A tensor's values as a NumPy array, read back explicitly from any device."""
    return tg.backend.to_numpy(t.array)


# ---------------------------------------------------------------------------------------------
# ToTensor
# ---------------------------------------------------------------------------------------------
def test_to_tensor_scales_uint8_and_moves_channels_first():
    img = image_hwc()
    out = T.ToTensor()(img)
    assert isinstance(out, tg.Tensor)
    assert out.shape == (3, 4, 5) and out.dtype == tg.float32
    expected = img.transpose(2, 0, 1).astype(np.float32) / 255
    np.testing.assert_allclose(out.numpy(), expected, rtol=0, atol=1e-7)
    assert out.numpy()[2, 1, 3] == pytest.approx(img[1, 3, 2] / 255)
    assert out.numpy().flags["C_CONTIGUOUS"]


def test_to_tensor_extremes_and_grey_images():
    img = np.array([[0, 255], [51, 102]], dtype=np.uint8)
    out = T.ToTensor()(img)
    assert out.shape == (1, 2, 2)
    np.testing.assert_allclose(out.numpy()[0], [[0.0, 1.0], [0.2, 0.4]], atol=1e-7)


def test_to_tensor_keeps_float_values_and_copies():
    img = np.array([[0.5, 2.0]], dtype=np.float32)
    out = T.ToTensor()(img)
    assert out.numpy().tolist() == [[[0.5, 2.0]]]
    out.numpy()[0, 0, 0] = 9.0
    assert img[0, 0] == 0.5  # the dataset's array is not shared


def test_to_tensor_errors(device):
    with pytest.raises(TypeError, match="uint8"):
        T.ToTensor()(np.zeros((2, 2), dtype=np.int32))
    with pytest.raises(TypeError, match="already a Tensor"):
        T.ToTensor()(tg.zeros(1, 2, 2, device=device))
    with pytest.raises(ValueError, match="shape"):
        T.ToTensor()(np.zeros((1, 2, 2, 3), dtype=np.uint8))
    raw = tg.zeros(2, 2, device=device).array  # a bare NumPy or CuPy array
    if device == "cpu":
        assert T.ToTensor()(raw).shape == (1, 2, 2)
    else:  # ToTensor converts images read from files, in host memory
        where = tg.Device(device)
        with pytest.raises(TypeError, match=f"host memory, got an array on {where}"):
            T.ToTensor()(raw)


# ---------------------------------------------------------------------------------------------
# Normalize
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_normalize_per_channel_chw_and_nchw(device, dtype, no_host_sync):
    rng = np.random.default_rng(1)
    x = rng.random((3, 4, 5)).astype(dtype)
    mean, std = (0.1, 0.5, 0.9), (0.2, 0.25, 2.0)
    m = np.array(mean, dtype)[:, None, None]
    s = np.array(std, dtype)[:, None, None]
    norm = T.Normalize(mean, std)
    batch = rng.random((2, 3, 4, 5)).astype(dtype)
    xt, bt = tg.tensor(x, device=device), tg.tensor(batch, device=device)
    with no_host_sync():
        out, out_batch = norm(xt), norm(bt)
    assert out.dtype == out_batch.dtype == np.dtype(dtype)
    assert out.device == out_batch.device == tg.device(device)
    np.testing.assert_allclose(host(out), (x - m) / s, rtol=1e-6)
    np.testing.assert_allclose(host(out_batch), (batch - m) / s, rtol=1e-6)


def test_normalize_does_not_modify_input_unless_inplace(device):
    x = tg.ones(1, 2, 2, device=device)
    out = T.Normalize(0.5, 0.25)(x)
    assert out.tolist() == [[[2.0, 2.0], [2.0, 2.0]]]
    assert x.tolist() == [[[1.0, 1.0], [1.0, 1.0]]]
    same = T.Normalize([0.5], [0.5], inplace=True)(x)
    assert same is x and x.device == tg.device(device) and x.tolist()[0][0][0] == 1.0


def test_normalize_moves_its_mean_and_std_to_the_device_once(device, monkeypatch):
    norm = T.Normalize([0.5, 0.25], [2.0, 4.0])
    tg.backend.device_constant.cache_clear()  # (the constants are cached for every instance)
    moved = []
    real_to_device = tg.backend.to_device
    monkeypatch.setattr(tg.backend, "to_device",
                        lambda array, where: moved.append(where) or real_to_device(array, where))
    x = tg.ones(2, 3, 3, device=device)
    for _ in range(3):
        y = norm(x)
    assert moved == [tg.Device(device)] * 2  # mean and std, on the first call only
    norm(x.double())  # another dtype: its own constants
    assert len(moved) == 4
    np.testing.assert_allclose(y.cpu().numpy()[:, 0, 0], [0.25, 0.1875])


def test_normalize_errors(device):
    with pytest.raises(ValueError, match="channels"):
        T.Normalize((0.5, 0.5), (1.0, 1.0))(tg.zeros(3, 2, 2, device=device))
    with pytest.raises(ValueError, match="zeros"):
        T.Normalize(0.0, (1.0, 0.0))
    with pytest.raises(TypeError, match="float"):
        T.Normalize(0.0, 1.0)(tg.zeros(1, 2, 2, dtype=tg.int64, device=device))
    with pytest.raises(ValueError, match="shape"):
        T.Normalize(0.0, 1.0)(tg.zeros(4, device=device))


# ---------------------------------------------------------------------------------------------
# Compose / Lambda
# ---------------------------------------------------------------------------------------------
def test_compose_applies_in_order():
    t = T.Compose([T.Lambda(lambda v: v + 1), T.Lambda(lambda v: v * 10)])
    assert t(2) == 30
    pipeline = T.Compose([T.ToTensor(), T.Normalize(0.5, 0.5)])
    out = pipeline(np.array([[0, 255]], dtype=np.uint8))
    np.testing.assert_allclose(out.numpy(), [[[-1.0, 1.0]]])
    with pytest.raises(TypeError):
        T.Compose([1])


# ---------------------------------------------------------------------------------------------
# RandomHorizontalFlip
# ---------------------------------------------------------------------------------------------
def test_flip_always_and_never():
    img = image_hwc()
    chw = T.ToTensor()(img)
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=1.0)(img), img[:, ::-1])
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=1.0)(chw).numpy(),
                                  chw.numpy()[:, :, ::-1])
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=0.0)(chw).numpy(), chw.numpy())
    batch = tg.tensor(np.arange(12, dtype=np.float32).reshape(1, 1, 3, 4))
    assert T.RandomHorizontalFlip(p=1.0)(batch).numpy()[0, 0, 0].tolist() == [3, 2, 1, 0]


def test_flip_probability_and_reproducibility():
    x = tg.tensor([[[0.0, 1.0]]])
    flip = T.RandomHorizontalFlip(p=0.5)

    def flips():
        return [flip(x).numpy()[0, 0, 0] == 1.0 for _ in range(400)]

    tg.manual_seed(0)
    first = flips()
    tg.manual_seed(0)
    assert flips() == first
    assert 140 < sum(first) < 260
    with pytest.raises(ValueError):
        T.RandomHorizontalFlip(p=1.5)


# ---------------------------------------------------------------------------------------------
# RandomCrop
# ---------------------------------------------------------------------------------------------
def test_crop_with_padding_is_a_window_of_the_padded_image():
    x = np.arange(1, 17, dtype=np.float32).reshape(1, 4, 4)
    padded = np.pad(x, ((0, 0), (2, 2), (2, 2)))
    windows = {(i, j): padded[:, i:i + 4, j:j + 4] for i in range(5) for j in range(5)}
    crop = T.RandomCrop(4, padding=2)
    tg.manual_seed(0)
    seen = set()
    for _ in range(60):
        out = crop(tg.tensor(x)).numpy()
        assert out.shape == (1, 4, 4)
        matches = [k for k, w in windows.items() if np.array_equal(out, w)]
        assert matches, "the crop must be one of the windows of the zero-padded image"
        seen.add(matches[0])
    assert len(seen) > 5  # the window moves


def test_crop_padding_sides_and_fill():
    img = np.ones((2, 3), dtype=np.uint8)  # H=2, W=3, a NumPy image
    out = T.RandomCrop((2, 4), padding=(1, 0, 0, 0), fill=7)(img)  # left only
    assert out.tolist() == [[7, 1, 1, 1], [7, 1, 1, 1]]
    hwc = image_hwc(4, 4, 3)
    assert T.RandomCrop(2)(hwc).shape == (2, 2, 3)
    edge = T.RandomCrop((1, 5), padding=(1, 0), padding_mode="edge")(np.array([[1, 2, 3]]))
    assert edge.tolist() == [[1, 1, 2, 3, 3]]


def test_crop_too_large_and_pad_if_needed():
    x = tg.ones(1, 3, 3)
    with pytest.raises(ValueError, match="larger"):
        T.RandomCrop(4)(x)
    out = T.RandomCrop(5, pad_if_needed=True)(x)
    assert out.shape == (1, 5, 5) and out.numpy().sum() == 9.0


def test_crop_reproducible_with_manual_seed():
    x = tg.tensor(np.arange(64, dtype=np.float32).reshape(1, 8, 8))
    crop = T.RandomCrop(3)
    tg.manual_seed(11)
    a = [crop(x).numpy() for _ in range(5)]
    tg.manual_seed(11)
    b = [crop(x).numpy() for _ in range(5)]
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)


def test_tensor_transforms_run_on_the_tensors_device(device, no_host_sync):
    x = np.arange(2 * 3 * 4 * 4, dtype=np.float32).reshape(2, 3, 4, 4)
    t = tg.tensor(x).to(device)
    with no_host_sync():
        out = T.Normalize((1.0, 2.0, 3.0), (2.0, 4.0, 8.0))(t)
        flipped = T.RandomHorizontalFlip(p=1.0)(t)
        cropped = T.RandomCrop(4, padding=1, padding_mode="reflect")(t)
    assert out.device == tg.device(device)
    expected = (x - np.array([1, 2, 3], np.float32)[:, None, None]) / np.array(
        [2, 4, 8], np.float32)[:, None, None]
    np.testing.assert_allclose(out.cpu().numpy(), expected, rtol=1e-6)
    assert flipped.device == tg.device(device)
    np.testing.assert_array_equal(flipped.cpu().numpy(), x[..., ::-1])
    assert cropped.device == tg.device(device) and cropped.shape == (2, 3, 4, 4)
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), mode="reflect")
    windows = [padded[..., i:i + 4, j:j + 4] for i in range(3) for j in range(3)]
    assert any(np.array_equal(cropped.cpu().numpy(), w) for w in windows)


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric"])
def test_crop_padding_modes_match_numpy_on_every_device(device, mode):
    x = np.arange(1, 10, dtype=np.float32).reshape(1, 3, 3)
    crop = T.RandomCrop(5, padding=1, padding_mode=mode, fill=-1.0)  # the whole padded image
    out = crop(tg.tensor(x, device=device))
    assert out.device == tg.device(device)
    widths = ((0, 0), (1, 1), (1, 1))
    expected = (np.pad(x, widths, constant_values=-1.0) if mode == "constant"
                else np.pad(x, widths, mode=mode))
    np.testing.assert_array_equal(host(out), expected)


def test_random_transforms_make_the_same_choices_on_every_device(device, no_host_sync):
    """The coin flips and crop offsets come from tg's CPU generator (a host decision, no read
    from the GPU), so a seed gives the same augmented images on every device."""
    x = np.arange(2 * 6 * 6, dtype=np.float32).reshape(2, 1, 6, 6)
    pipeline = T.Compose([T.RandomCrop(4, padding=1), T.RandomHorizontalFlip(),
                          T.Normalize(3.0, 2.0)])

    def run(on: str) -> list[np.ndarray]:
        tg.manual_seed(21)
        t = tg.tensor(x, device=on)
        with no_host_sync():
            outs = [pipeline(t) for _ in range(6)]
        assert all(o.device == tg.device(on) for o in outs)
        return [host(o) for o in outs]

    on_cpu, on_device = run("cpu"), run(device)
    assert len({o.tobytes() for o in on_cpu}) > 1  # the choices vary between calls
    for a, b in zip(on_cpu, on_device, strict=True):
        np.testing.assert_array_equal(a, b)
