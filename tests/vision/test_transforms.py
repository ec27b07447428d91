"""vision.transforms: values, layouts, reproducible randomness, and torchvision's results.

The tensor transforms (Normalize, the flips and crops of a Tensor) run on the tensor's device and
keep it there; their random choices come from tg's CPU generator, so they are the same on every
device and never read anything back from the GPU.
"""

import importlib.util

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.vision import transforms as T
from tinygrad_edu.vision.transforms import functional as F


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


def test_to_tensor_keeps_other_dtypes_as_torchvision():
    """torchvision scales only uint8 (ByteTensor) images; others keep dtype and values."""
    out = T.ToTensor()(np.array([[1, 300]], dtype=np.int32))
    assert out.dtype == tg.int32 and out.tolist() == [[[1, 300]]]
    assert T.ToTensor()(np.zeros((2, 2, 3), dtype=np.float64)).dtype == tg.float64


def test_to_tensor_errors(device):
    with pytest.raises(TypeError, match="PIL Image or ndarray"):
        T.ToTensor()([[0, 1]])
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


# ---------------------------------------------------------------------------------------------
# Resize / CenterCrop (against PyTorch's interpolate, which torchvision's Tensor resize calls)
# ---------------------------------------------------------------------------------------------
HAVE_PILLOW = importlib.util.find_spec("PIL") is not None
needs_pillow = pytest.mark.skipif(not HAVE_PILLOW, reason="Pillow is not installed")


# an int is the smaller edge: 5x6 -> 4 x int(4 * 6 / 5) = 4x4, 6 x int(6 * 6 / 5) = 6x7
@pytest.mark.parametrize("size, out", [((3, 7), (3, 7)), (4, (4, 4)), ((9, 13), (9, 13)),
                                       (6, (6, 7))])
@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
def test_resize_matches_pytorch_interpolate(device, size, out, mode):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).random((2, 3, 5, 6)).astype(np.float32)
    got = T.Resize(size, interpolation=T.InterpolationMode(mode))(tg.tensor(x, device=device))
    assert got.shape == (2, 3) + out and got.device == tg.device(device)
    kwargs = {"antialias": True, "align_corners": False} if mode == "bilinear" else {}
    expected = torch.nn.functional.interpolate(torch.tensor(x), size=out, mode=mode, **kwargs)
    np.testing.assert_allclose(host(got), expected.numpy(), rtol=1e-5, atol=1e-6)


def test_resize_numpy_uint8_and_sizes():
    img = image_hwc(4, 8, 3)
    out = T.Resize(2)(img)  # the smaller edge becomes 2, the aspect ratio is kept
    assert out.shape == (2, 4, 3) and out.dtype == np.uint8
    torch = pytest.importorskip("torch")
    expected = torch.nn.functional.interpolate(  # torchvision: the float result, rounded
        torch.tensor(img.transpose(2, 0, 1)[None].astype(np.float32)), size=(2, 4),
        mode="bilinear", antialias=True, align_corners=False)[0].numpy().transpose(1, 2, 0)
    np.testing.assert_array_equal(out, np.round(expected).astype(np.uint8))
    assert T.Resize(3, max_size=5)(image_hwc(10, 20, 1)).shape == (2, 5, 1)
    assert repr(T.Resize(32)) == ("Resize(size=32, interpolation=bilinear, max_size=None, "
                                  "antialias=True)")
    with pytest.raises(ValueError, match="max_size"):
        T.Resize(8, max_size=4)(img)


@needs_pillow
def test_resize_pil_is_pils_own():
    from PIL import Image

    pil = Image.fromarray(image_hwc(8, 10, 3))
    out = T.Resize((4, 5))(pil)
    assert isinstance(out, Image.Image) and out.size == (5, 4)
    ours = T.Resize((4, 5))(np.asarray(pil))  # the NumPy path agrees to rounding
    assert np.abs(np.asarray(out).astype(int) - ours.astype(int)).max() <= 1


def test_center_crop_as_torchvision():
    x = tg.tensor(np.arange(30, dtype=np.float32).reshape(1, 5, 6))
    out = T.CenterCrop(3)(x)
    # torchvision: top = round((5 - 3) / 2) = 1, left = round((6 - 3) / 2) = round(1.5) = 2
    np.testing.assert_array_equal(out.numpy(), x.numpy()[:, 1:4, 2:5])
    padded = T.CenterCrop((4, 2))(np.ones((2, 2), np.uint8))  # larger: zero padding
    assert padded.tolist() == [[0, 0], [1, 1], [1, 1], [0, 0]]
    assert repr(T.CenterCrop(224)) == "CenterCrop(size=(224, 224))"


# ---------------------------------------------------------------------------------------------
# RandomRotation
# ---------------------------------------------------------------------------------------------
def test_rotate_quarter_turns_are_rot90(device):
    x = np.arange(2 * 5 * 5, dtype=np.float32).reshape(2, 5, 5)
    t = tg.tensor(x, device=device)
    np.testing.assert_array_equal(host(F.rotate(t, 90)), np.rot90(x, 1, axes=(1, 2)))
    np.testing.assert_array_equal(host(F.rotate(t, -90)), np.rot90(x, -1, axes=(1, 2)))
    np.testing.assert_array_equal(host(F.rotate(t, 180)), x[:, ::-1, ::-1])
    hwc = image_hwc(5, 5, 3)
    np.testing.assert_array_equal(F.rotate(hwc, 90), np.rot90(hwc, 1))
    np.testing.assert_allclose(host(F.rotate(t, 90, T.InterpolationMode.BILINEAR)),
                               np.rot90(x, 1, axes=(1, 2)), atol=1e-5)


def test_rotate_fill_and_expand():
    x = np.ones((1, 4, 4), np.float32)
    out = F.rotate(tg.tensor(x), 45, fill=-1.0).numpy()
    assert out[0, 0, 0] == -1.0 and out[0, 2, 2] == 1.0  # corners come from outside
    wide = F.rotate(tg.tensor(np.ones((1, 2, 6), np.float32)), 90, expand=True)
    assert wide.shape == (1, 6, 2) and wide.numpy().min() == 1.0


def test_random_rotation_range_and_reproducibility():
    rotation = T.RandomRotation((90, 90))
    x = tg.tensor(np.arange(9, dtype=np.float32).reshape(1, 3, 3))
    np.testing.assert_array_equal(rotation(x).numpy(), np.rot90(x.numpy(), 1, axes=(1, 2)))
    rotation = T.RandomRotation(30)
    assert rotation.degrees == [-30.0, 30.0]
    img = image_hwc(9, 9, 3)
    tg.manual_seed(3)
    first = [rotation(img) for _ in range(4)]
    tg.manual_seed(3)
    for a, b in zip(first, [rotation(img) for _ in range(4)]):
        np.testing.assert_array_equal(a, b)
    assert repr(rotation) == ("RandomRotation(degrees=[-30.0, 30.0], interpolation=nearest, "
                              "expand=False, fill=0)")
    with pytest.raises(ValueError, match="positive"):
        T.RandomRotation(-1)


@needs_pillow
def test_rotation_of_pil_images_is_pils():
    from PIL import Image

    pil = Image.fromarray(image_hwc(6, 6, 3))
    out = T.RandomRotation((90, 90))(pil)
    assert isinstance(out, Image.Image)
    np.testing.assert_array_equal(np.asarray(out), np.rot90(np.asarray(pil), 1))


# ---------------------------------------------------------------------------------------------
# Colour
# ---------------------------------------------------------------------------------------------
def test_adjustments_as_torchvision(device):
    x = np.random.default_rng(2).random((3, 4, 5)).astype(np.float32)
    t = tg.tensor(x, device=device)
    np.testing.assert_allclose(host(F.adjust_brightness(t, 1.5)), np.clip(x * 1.5, 0, 1),
                               rtol=1e-6)
    grey = 0.2989 * x[0] + 0.587 * x[1] + 0.114 * x[2]
    np.testing.assert_allclose(host(F.adjust_contrast(t, 0.5)), 0.5 * x + 0.5 * grey.mean(),
                               rtol=1e-5)
    np.testing.assert_allclose(host(F.adjust_saturation(t, 0.0)), np.stack([grey] * 3),
                               rtol=1e-5)
    np.testing.assert_allclose(host(F.adjust_hue(t, 0.0)), x, atol=1e-6)
    red = tg.tensor(np.array([1.0, 0.0, 0.0], np.float32).reshape(3, 1, 1), device=device)
    np.testing.assert_allclose(host(F.adjust_hue(red, 1 / 3)).ravel(), [0, 1, 0], atol=1e-5)
    with pytest.raises(ValueError, match="hue_factor"):
        F.adjust_hue(t, 0.7)


def test_color_jitter_ranges_repr_and_uint8():
    jitter = T.ColorJitter(brightness=0.2, hue=0.1)
    assert jitter.brightness == (0.8, 1.2) and jitter.hue == (-0.1, 0.1)
    assert jitter.contrast is None and jitter.saturation is None
    assert repr(jitter) == ("ColorJitter(brightness=(0.8, 1.2), contrast=None, "
                            "saturation=None, hue=(-0.1, 0.1))")
    img = image_hwc(4, 4, 3)
    out = T.ColorJitter(0.5, 0.5, 0.5, 0.2)(img)
    assert out.shape == img.shape and out.dtype == np.uint8
    with pytest.raises(ValueError, match="hue"):
        T.ColorJitter(hue=0.8)
    with pytest.raises(ValueError, match="non negative"):
        T.ColorJitter(brightness=-1)


# ---------------------------------------------------------------------------------------------
# PIL images, ToPILImage, PILToTensor, ConvertImageDtype, reprs
# ---------------------------------------------------------------------------------------------
@needs_pillow
def test_pil_images_through_a_pipeline():
    from PIL import Image

    img = image_hwc(6, 8, 3)
    pil = Image.fromarray(img)
    out = T.ToTensor()(pil)
    np.testing.assert_array_equal(out.numpy(), T.ToTensor()(img).numpy())
    grey = T.ToTensor()(Image.fromarray(img[:, :, 0]))
    assert grey.shape == (1, 6, 8)
    assert T.ToTensor()(Image.new("1", (2, 2), 1)).tolist() == [[[1.0, 1.0], [1.0, 1.0]]]
    flipped = T.RandomHorizontalFlip(1.0)(pil)
    assert isinstance(flipped, Image.Image)
    np.testing.assert_array_equal(np.asarray(flipped), img[:, ::-1])
    cropped = T.RandomCrop(4, padding=2)(pil)
    assert isinstance(cropped, Image.Image) and cropped.size == (4, 4)
    back = T.ToPILImage()(out)
    assert back.mode == "RGB"
    np.testing.assert_array_equal(np.asarray(back), img)  # x / 255 * 255, truncated: exact
    assert T.ToPILImage()(tg.zeros(1, 2, 3)).mode == "L"
    assert T.PILToTensor()(pil).dtype == tg.uint8
    np.testing.assert_array_equal(T.PILToTensor()(pil).numpy(), img.transpose(2, 0, 1))
    assert T.Grayscale()(pil).mode == "L"


def test_to_pil_image_without_pillow_names_the_extra(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(ImportError, match=r"ToPILImage needs Pillow.*tinygrad_edu\[vision\]"):
        T.ToPILImage()(tg.zeros(3, 2, 2))


def test_convert_image_dtype_as_torchvision():
    x = tg.tensor(np.array([[[0, 128, 255]]], np.uint8))
    as_float = T.ConvertImageDtype(tg.float32)(x)
    np.testing.assert_allclose(as_float.numpy(), [[[0.0, 128 / 255, 1.0]]], rtol=1e-6)
    back = T.ConvertImageDtype(tg.uint8)(as_float)
    assert back.dtype == tg.uint8 and back.tolist() == [[[0, 128, 255]]]
    assert F.convert_image_dtype(tg.tensor([[[0.5]]]), tg.uint8).tolist() == [[[127]]]


def test_reprs_as_torchvision():
    pipeline = T.Compose([T.RandomCrop(32, padding=4), T.RandomHorizontalFlip(), T.ToTensor(),
                          T.Normalize((0.4914, 0.4822, 0.4465), (0.247, 0.243, 0.261))])
    assert repr(pipeline) == (
        "Compose(\n    RandomCrop(size=(32, 32), padding=4)\n    RandomHorizontalFlip(p=0.5)\n"
        "    ToTensor()\n    Normalize(mean=(0.4914, 0.4822, 0.4465), std=(0.247, 0.243, 0.261))"
        "\n)")
    assert repr(T.Lambda(lambda x: x)) == "Lambda()"


def test_vertical_flip_and_grayscale(device):
    x = np.random.default_rng(4).random((3, 2, 3)).astype(np.float32)
    t = tg.tensor(x, device=device)
    np.testing.assert_array_equal(host(T.RandomVerticalFlip(1.0)(t)), x[:, ::-1])
    grey = host(T.Grayscale(3)(t))
    assert grey.shape == (3, 2, 3)
    np.testing.assert_allclose(grey[1], 0.2989 * x[0] + 0.587 * x[1] + 0.114 * x[2], rtol=1e-6)
