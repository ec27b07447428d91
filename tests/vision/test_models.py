"""tinygrad_edu.vision.models against torchvision: parameter counts (torchvision's published
numbers), state_dict keys (torchvision's module names), initialisation, forward shapes,
gradients, loading state dicts, the pretrained-weights error, and the numbers of the same
architecture written in plain torch.nn (torchvision itself is not needed)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.vision import models
from tinygrad_edu.vision.models import resnet as resnet_module

# torchvision's documentation (the "Params" column of its model tables), at 1000 classes
PUBLISHED_PARAMETER_COUNTS = {
    "resnet18": 11_689_512,
    "resnet34": 21_797_672,
    "resnet50": 25_557_032,
    "resnet101": 44_549_160,
    "resnet152": 60_192_808,
}
VGG16_PARAMETERS = 138_357_544

BN_KEYS = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")


def _bn(prefix: str) -> list[str]:
    return [f"{prefix}.{name}" for name in BN_KEYS]


def expected_resnet_keys(block: str, layers: list[int]) -> list[str]:
    """torchvision's resnet state_dict keys, in order, by the rule of its source: stem,
    layer1..4 of blocks (conv/bn pairs, then `downsample.0/1` on the first block of a stage
    that changes shape), fc."""
    keys = ["conv1.weight", *_bn("bn1")]
    convs = 2 if block == "basic" else 3
    expansion = 1 if block == "basic" else 4
    inplanes = 64
    for stage, (planes, blocks) in enumerate(zip([64, 128, 256, 512], layers), start=1):
        for index in range(blocks):
            prefix = f"layer{stage}.{index}"
            for c in range(1, convs + 1):
                keys += [f"{prefix}.conv{c}.weight", *_bn(f"{prefix}.bn{c}")]
            stride = 2 if stage > 1 and index == 0 else 1
            if index == 0 and (stride != 1 or inplanes != planes * expansion):
                keys += [f"{prefix}.downsample.0.weight", *_bn(f"{prefix}.downsample.1")]
        inplanes = planes * expansion
    return keys + ["fc.weight", "fc.bias"]


def expected_vgg_keys(cfg: list, batch_norm: bool) -> list[str]:
    """torchvision's vgg keys: `features.i` numbered over conv, [bn], relu and pool layers;
    `classifier.0/3/6` are the Linear layers."""
    keys, index = [], 0
    for v in cfg:
        if v == "M":
            index += 1
            continue
        keys += [f"features.{index}.weight", f"features.{index}.bias"]
        if batch_norm:
            keys += _bn(f"features.{index + 1}")
        index += 3 if batch_norm else 2
    return keys + [f"classifier.{i}.{p}" for i in (0, 3, 6) for p in ("weight", "bias")]


def count(model: tg.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.fixture(scope="module")
def vgg16_model() -> models.VGG:
    return models.vgg16()


@pytest.fixture(scope="module")
def small_vgg() -> models.VGG:
    """vgg11_bn with 10 classes (the classifier's first Linear still has 102 M weights)."""
    tg.manual_seed(0)
    return models.vgg11_bn(num_classes=10)


# ---------------------------------------------------------------------------------------------
# structure: counts and names
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(PUBLISHED_PARAMETER_COUNTS))
def test_resnet_parameter_counts_are_torchvisions(name: str) -> None:
    assert count(getattr(models, name)()) == PUBLISHED_PARAMETER_COUNTS[name]


def test_vgg16_parameter_count_is_torchvisions(vgg16_model: models.VGG) -> None:
    assert count(vgg16_model) == VGG16_PARAMETERS


def test_num_classes_changes_only_the_last_layer() -> None:
    model = models.resnet18(num_classes=10)
    assert tuple(model.fc.weight.shape) == (10, 512)
    assert count(model) == PUBLISHED_PARAMETER_COUNTS["resnet18"] - 990 * 513


@pytest.mark.parametrize("name, block, layers", [
    ("resnet18", "basic", [2, 2, 2, 2]),
    ("resnet34", "basic", [3, 4, 6, 3]),
    ("resnet50", "bottleneck", [3, 4, 6, 3]),
])
def test_resnet_state_dict_keys_are_torchvisions(name: str, block: str, layers: list[int]) -> None:
    keys = list(getattr(models, name)().state_dict())
    assert keys == expected_resnet_keys(block, layers)


def test_resnet_state_dict_spot_checks() -> None:
    state = models.resnet18().state_dict()
    assert len(state) == 122  # torchvision's resnet18 has 122 entries
    assert tuple(state["layer1.0.conv1.weight"].shape) == (64, 64, 3, 3)
    assert tuple(state["layer2.0.downsample.0.weight"].shape) == (128, 64, 1, 1)
    assert tuple(state["fc.bias"].shape) == (1000,)
    assert state["bn1.num_batches_tracked"].dtype == tg.int64
    assert "layer1.0.downsample.0.weight" not in state
    assert len(models.resnet50().state_dict()) == 320
    assert tuple(models.resnet50().state_dict()["layer1.0.downsample.0.weight"].shape) == (
        256, 64, 1, 1)


def test_vgg_state_dict_keys_are_torchvisions(vgg16_model: models.VGG,
                                              small_vgg: models.VGG) -> None:
    from tinygrad_edu.vision.models.vgg import cfgs

    state = vgg16_model.state_dict()
    assert list(state) == expected_vgg_keys(cfgs["D"], batch_norm=False)
    assert len(state) == 32
    assert tuple(state["features.0.weight"].shape) == (64, 3, 3, 3)
    assert tuple(state["features.28.weight"].shape) == (512, 512, 3, 3)
    assert tuple(state["classifier.0.weight"].shape) == (4096, 25088)
    assert tuple(state["classifier.6.bias"].shape) == (1000,)
    bn_state = small_vgg.state_dict()
    assert list(bn_state) == expected_vgg_keys(cfgs["A"], batch_norm=True)
    assert "features.1.running_var" in bn_state and tuple(bn_state["classifier.6.bias"].shape) \
        == (10,)


def test_vgg_bn_variants_have_torchvisions_counts() -> None:
    # the _bn models add a weight and a bias per convolution channel to the plain ones
    from tinygrad_edu.vision.models.vgg import cfgs, make_layers

    plain = count(make_layers(cfgs["D"]))
    with_bn = count(make_layers(cfgs["D"], batch_norm=True))
    assert with_bn - plain == 2 * sum(v for v in cfgs["D"] if v != "M")
    assert VGG16_PARAMETERS + with_bn - plain == 138_365_992  # torchvision's vgg16_bn


# ---------------------------------------------------------------------------------------------
# initialisation
# ---------------------------------------------------------------------------------------------
def test_resnet_initialisation_is_torchvisions() -> None:
    tg.manual_seed(0)
    model = models.resnet18()
    weight = tg.backend.to_numpy(model.conv1.weight.array)
    expected_std = np.sqrt(2.0 / (64 * 7 * 7))  # kaiming_normal_, fan_out, relu
    assert abs(weight.std() / expected_std - 1) < 0.05 and abs(weight.mean()) < 0.002
    for name, module in model.named_modules():
        if isinstance(module, tg.nn.BatchNorm2d):
            assert np.all(tg.backend.to_numpy(module.weight.array) == 1), name
            assert np.all(tg.backend.to_numpy(module.bias.array) == 0), name
    bound = 1 / np.sqrt(512)  # fc keeps Linear's default, U(+-1/sqrt(fan_in))
    fc = tg.backend.to_numpy(model.fc.weight.array)
    assert np.abs(fc).max() <= bound and np.abs(fc).max() > 0.9 * bound


def test_zero_init_residual() -> None:
    basic = models.resnet18(zero_init_residual=True)
    assert all(np.all(tg.backend.to_numpy(b.bn2.weight.array) == 0)
               for b in basic.modules() if isinstance(b, resnet_module.BasicBlock))
    assert np.all(tg.backend.to_numpy(basic.bn1.weight.array) == 1)
    bottleneck = models.resnet50(zero_init_residual=True)
    assert all(np.all(tg.backend.to_numpy(b.bn3.weight.array) == 0)
               for b in bottleneck.modules() if isinstance(b, resnet_module.Bottleneck))


def test_vgg_initialisation_is_torchvisions(vgg16_model: models.VGG) -> None:
    linear = tg.backend.to_numpy(vgg16_model.classifier[3].weight.array)
    assert abs(linear.std() / 0.01 - 1) < 0.01
    assert np.all(tg.backend.to_numpy(vgg16_model.classifier[0].bias.array) == 0)
    conv = vgg16_model.features[2]
    assert np.all(tg.backend.to_numpy(conv.bias.array) == 0)
    std = tg.backend.to_numpy(conv.weight.array).std()
    assert abs(std / np.sqrt(2.0 / (64 * 9)) - 1) < 0.05


# ---------------------------------------------------------------------------------------------
# forward, backward, devices
# ---------------------------------------------------------------------------------------------
def test_resnet18_forward_shape_and_gradients_for_every_parameter() -> None:
    tg.manual_seed(0)
    model = models.resnet18()
    out = model(tg.randn(1, 3, 64, 64))
    assert tuple(out.shape) == (1, 1000) and out.dtype == tg.float32
    out.sum().backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing
    assert float(model.conv1.weight.grad.abs().sum()) > 0


def test_resnet50_forward_shape() -> None:
    model = models.resnet50(num_classes=7).eval()
    with tg.no_grad():
        assert tuple(model(tg.randn(2, 3, 32, 32)).shape) == (2, 7)


def test_vgg_forward_on_a_small_image_and_gradients(small_vgg: models.VGG) -> None:
    # 32x32 leaves 1x1 after five pools; the adaptive pool repeats it to 7x7, as torchvision's
    small_vgg.train()
    out = small_vgg(tg.randn(2, 3, 32, 32))
    assert tuple(out.shape) == (2, 10)
    out.sum().backward()
    assert not [n for n, p in small_vgg.named_parameters() if p.grad is None]
    small_vgg.zero_grad()


def test_resnet_runs_on_device(device: str) -> None:
    tg.manual_seed(0)
    model = models.resnet18(num_classes=10).to(device)
    x = tg.randn(2, 3, 32, 32, device=device)
    out = model(x)
    assert tuple(out.shape) == (2, 10) and out.device == tg.device(device)
    out.sum().backward()
    assert all(p.grad is not None and p.grad.device == tg.device(device)
               for p in model.parameters())


# ---------------------------------------------------------------------------------------------
# state dicts
# ---------------------------------------------------------------------------------------------
def test_load_state_dict_round_trip_through_a_checkpoint(tmp_path) -> None:
    tg.manual_seed(0)
    trained = models.resnet18(num_classes=10)
    trained(tg.randn(2, 3, 32, 32))  # training mode: the running statistics move
    path = tmp_path / "resnet18.ckpt"
    tg.save(trained.state_dict(), path)
    tg.manual_seed(1)
    fresh = models.resnet18(num_classes=10)
    fresh.load_state_dict(tg.load(path))
    for key, value in trained.state_dict().items():
        assert np.array_equal(tg.backend.to_numpy(fresh.state_dict()[key].array),
                              tg.backend.to_numpy(value.array)), key
    x = tg.randn(1, 3, 32, 32)
    trained.eval()
    fresh.eval()
    assert np.array_equal(tg.backend.to_numpy(trained(x).array),
                          tg.backend.to_numpy(fresh(x).array))


def test_the_npz_recipe_of_the_weights_error_loads(tmp_path) -> None:
    # what the error message tells a user to do with a converted torchvision state dict
    source = models.resnet18(num_classes=10)
    path = tmp_path / "resnet18.npz"
    np.savez(path, **{k: tg.backend.to_numpy(v.array) for k, v in source.state_dict().items()})
    model = models.resnet18(num_classes=10)
    result = model.load_state_dict(dict(np.load(path)))
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert np.array_equal(tg.backend.to_numpy(model.fc.weight.array),
                          tg.backend.to_numpy(source.fc.weight.array))


def test_load_state_dict_with_a_wrong_shape_changes_nothing() -> None:
    model = models.resnet18(num_classes=10)
    before = tg.backend.to_numpy(model.conv1.weight.array).copy()
    state = models.resnet18().state_dict()  # fc for 1000 classes
    with pytest.raises(RuntimeError, match="size mismatch for fc.weight"):
        model.load_state_dict(state)
    assert np.array_equal(tg.backend.to_numpy(model.conv1.weight.array), before)


# ---------------------------------------------------------------------------------------------
# weights: none can be downloaded
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("weights", [
    "IMAGENET1K_V1", "DEFAULT", "ResNet18_Weights.IMAGENET1K_V1",
    models.ResNet18_Weights.DEFAULT, models.ResNet18_Weights.IMAGENET1K_V1,
])
def test_asking_for_weights_says_how_to_load_them(weights) -> None:
    with pytest.raises(RuntimeError, match="cannot download pretrained weights") as info:
        models.resnet18(weights=weights)
    message = str(info.value)
    assert "resnet18(weights=ResNet18_Weights.IMAGENET1K_V1)" in message
    assert "load_state_dict" in message and "tg.load(path)" in message
    assert "numpy" in message and "pickle" in message


def test_pretrained_true_is_refused_and_pretrained_false_works() -> None:
    with pytest.warns(UserWarning, match="'pretrained' is deprecated"):
        with pytest.raises(RuntimeError, match="vgg16"):
            models.vgg16(pretrained=True)
    with pytest.warns(UserWarning, match="'pretrained' is deprecated"):
        model = models.resnet34(pretrained=False, num_classes=3)
    assert tuple(model.fc.weight.shape) == (3, 512)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        models.resnet18(weights=None, progress=False)


def test_resnet50_default_weights_are_v2() -> None:
    assert models.ResNet50_Weights.DEFAULT is models.ResNet50_Weights.IMAGENET1K_V2
    assert str(models.ResNet18_Weights.DEFAULT) == "ResNet18_Weights.IMAGENET1K_V1"
    with pytest.raises(RuntimeError, match="IMAGENET1K_V2"):
        models.resnet50(weights="DEFAULT")


def test_bad_weights_get_clear_errors() -> None:
    with pytest.raises(ValueError, match="unknown weights 'IMAGENET9K'.*IMAGENET1K_V1"):
        models.resnet18(weights="IMAGENET9K")
    with pytest.raises(TypeError, match="resnet18: invalid weights.*ResNet18_Weights"):
        models.resnet18(weights=models.VGG16_Weights.DEFAULT)
    with pytest.raises(TypeError, match="weights must be keyword|positional"):
        models.resnet18("DEFAULT")


def test_basic_block_refuses_what_torchvision_refuses() -> None:
    with pytest.raises(ValueError, match="BasicBlock only supports groups=1"):
        models.ResNet(resnet_module.BasicBlock, [1, 1, 1, 1], groups=2)
    with pytest.raises(ValueError, match="replace_stride_with_dilation"):
        models.ResNet(resnet_module.Bottleneck, [1, 1, 1, 1], replace_stride_with_dilation=[1])


# ---------------------------------------------------------------------------------------------
# the same numbers as torch.nn (torchvision's architectures, written out in torch.nn)
# ---------------------------------------------------------------------------------------------
def torch_reference_models(torch):
    """torchvision's resnet and vgg, as in its source, in plain torch.nn."""
    tnn = torch.nn

    class BasicBlock(tnn.Module):
        expansion = 1

        def __init__(self, inplanes, planes, stride=1, downsample=None):
            super().__init__()
            self.conv1 = tnn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
            self.bn1 = tnn.BatchNorm2d(planes)
            self.relu = tnn.ReLU(inplace=True)
            self.conv2 = tnn.Conv2d(planes, planes, 3, 1, 1, bias=False)
            self.bn2 = tnn.BatchNorm2d(planes)
            self.downsample = downsample

        def forward(self, x):
            identity = x if self.downsample is None else self.downsample(x)
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return self.relu(out + identity)

    class Bottleneck(tnn.Module):
        expansion = 4

        def __init__(self, inplanes, planes, stride=1, downsample=None):
            super().__init__()
            self.conv1 = tnn.Conv2d(inplanes, planes, 1, bias=False)
            self.bn1 = tnn.BatchNorm2d(planes)
            self.conv2 = tnn.Conv2d(planes, planes, 3, stride, 1, bias=False)
            self.bn2 = tnn.BatchNorm2d(planes)
            self.conv3 = tnn.Conv2d(planes, planes * 4, 1, bias=False)
            self.bn3 = tnn.BatchNorm2d(planes * 4)
            self.relu = tnn.ReLU(inplace=True)
            self.downsample = downsample

        def forward(self, x):
            identity = x if self.downsample is None else self.downsample(x)
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.relu(self.bn2(self.conv2(out)))
            out = self.bn3(self.conv3(out))
            return self.relu(out + identity)

    class ResNet(tnn.Module):
        def __init__(self, block, layers, num_classes=1000):
            super().__init__()
            self.inplanes = 64
            self.conv1 = tnn.Conv2d(3, 64, 7, 2, 3, bias=False)
            self.bn1 = tnn.BatchNorm2d(64)
            self.relu = tnn.ReLU(inplace=True)
            self.maxpool = tnn.MaxPool2d(3, 2, 1)
            self.layer1 = self._make_layer(block, 64, layers[0], 1)
            self.layer2 = self._make_layer(block, 128, layers[1], 2)
            self.layer3 = self._make_layer(block, 256, layers[2], 2)
            self.layer4 = self._make_layer(block, 512, layers[3], 2)
            self.avgpool = tnn.AdaptiveAvgPool2d((1, 1))
            self.fc = tnn.Linear(512 * block.expansion, num_classes)

        def _make_layer(self, block, planes, blocks, stride):
            downsample = None
            if stride != 1 or self.inplanes != planes * block.expansion:
                downsample = tnn.Sequential(
                    tnn.Conv2d(self.inplanes, planes * block.expansion, 1, stride, bias=False),
                    tnn.BatchNorm2d(planes * block.expansion))
            layers = [block(self.inplanes, planes, stride, downsample)]
            self.inplanes = planes * block.expansion
            layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
            return tnn.Sequential(*layers)

        def forward(self, x):
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(torch.flatten(self.avgpool(x), 1))

    def vgg(cfg, batch_norm, num_classes):
        layers, in_channels = [], 3
        for v in cfg:
            if v == "M":
                layers.append(tnn.MaxPool2d(2, 2))
            else:
                layers.append(tnn.Conv2d(in_channels, v, 3, padding=1))
                layers += [tnn.BatchNorm2d(v)] if batch_norm else []
                layers.append(tnn.ReLU(inplace=True))
                in_channels = v
        model = tnn.Module()
        model.features = tnn.Sequential(*layers)
        model.avgpool = tnn.AdaptiveAvgPool2d((7, 7))
        model.classifier = tnn.Sequential(
            tnn.Linear(512 * 7 * 7, 4096), tnn.ReLU(True), tnn.Dropout(),
            tnn.Linear(4096, 4096), tnn.ReLU(True), tnn.Dropout(),
            tnn.Linear(4096, num_classes))
        model.forward = lambda x: model.classifier(
            torch.flatten(model.avgpool(model.features(x)), 1))
        return model

    return ResNet, BasicBlock, Bottleneck, vgg


def _to_torch_state(torch, model: tg.nn.Module) -> dict:
    return {k: torch.from_numpy(tg.backend.to_numpy(v.array).copy())
            for k, v in model.state_dict().items()}


@pytest.mark.parametrize("name, block, layers", [
    ("resnet18", "basic", [2, 2, 2, 2]),
    ("resnet50", "bottleneck", [3, 4, 6, 3]),
])
def test_resnet_equals_torch_float64(name: str, block: str, layers: list[int]) -> None:
    torch = pytest.importorskip("torch")
    ResNet, BasicBlock, Bottleneck, _ = torch_reference_models(torch)
    tg.manual_seed(0)
    ours = getattr(models, name)(num_classes=10).double()
    for module in ours.modules():  # running statistics other than 0 and 1, to test them too
        if isinstance(module, tg.nn.BatchNorm2d):
            n = module.num_features
            module.running_mean.copy_(tg.randn(n, dtype=tg.float64) * 0.1)
            module.running_var.copy_(tg.rand(n, dtype=tg.float64) + 0.5)
    theirs = ResNet(BasicBlock if block == "basic" else Bottleneck, layers, 10).double()
    theirs.load_state_dict(_to_torch_state(torch, ours))  # strict: every key by name
    x = np.random.default_rng(0).standard_normal((2, 3, 32, 32))

    ours.eval()
    theirs.eval()
    expected = theirs(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(tg.backend.to_numpy(ours(tg.tensor(x)).array), expected,
                               rtol=1e-9, atol=1e-9)

    if block != "basic":
        return  # the Bottleneck's training mode runs the same layers; keep the test short
    # training mode: batch statistics, running statistics and the gradient of the stem
    ours.train()
    theirs.train()
    out_theirs = theirs(torch.from_numpy(x))
    out_theirs.square().sum().backward()
    out_ours = ours(tg.tensor(x))
    out_ours.square().sum().backward()
    np.testing.assert_allclose(tg.backend.to_numpy(out_ours.array),
                               out_theirs.detach().numpy(), rtol=1e-9, atol=1e-9)
    expected_grad = theirs.conv1.weight.grad.numpy()  # sums of large terms: scale atol
    np.testing.assert_allclose(tg.backend.to_numpy(ours.conv1.weight.grad.array), expected_grad,
                               rtol=1e-7, atol=1e-9 * np.abs(expected_grad).max())
    np.testing.assert_allclose(tg.backend.to_numpy(ours.layer4[0].bn2.running_var.array),
                               theirs.layer4[0].bn2.running_var.numpy(), rtol=1e-9)


def test_vgg_equals_torch_float32(small_vgg: models.VGG) -> None:
    torch = pytest.importorskip("torch")
    from tinygrad_edu.vision.models.vgg import cfgs

    *_, vgg = torch_reference_models(torch)
    theirs = vgg(cfgs["A"], batch_norm=True, num_classes=10)
    theirs.load_state_dict(_to_torch_state(torch, small_vgg))
    theirs.eval()
    small_vgg.eval()
    x = np.random.default_rng(1).standard_normal((1, 3, 32, 32)).astype(np.float32)
    with torch.no_grad():
        expected = theirs(torch.from_numpy(x)).numpy()
    with tg.no_grad():
        got = tg.backend.to_numpy(small_vgg(tg.tensor(x)).array)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())
