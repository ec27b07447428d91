"""Module machinery: registration, traversal, modes, devices/dtypes, state_dict, hooks,
containers and printing, compared with PyTorch where it is installed; moving models between
devices, state_dicts across devices, and zero_grad without host syncs."""

from __future__ import annotations

import copy
from collections import OrderedDict

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_edu as tg
import tinygrad_edu.nn as nn
from tinygrad_edu.nn.module import RemovableHandle


class Net(nn.Module):
    """A small custom model: children assigned in a deliberate (non-alphabetical) order."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4),
                                      nn.ReLU(), nn.MaxPool2d(2))
        self.scale = nn.Parameter(tg.ones(1))
        self.register_buffer("step", tg.zeros(1))
        self.head = nn.Linear(4 * 2 * 2, 3)

    def forward(self, x: tg.Tensor) -> tg.Tensor:
        return self.head(self.features(x).flatten(1)) * self.scale


def torch_net():
    torch = pytest.importorskip("torch")
    tnn = torch.nn

    class TorchNet(tnn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features = tnn.Sequential(tnn.Conv2d(3, 4, 3, padding=1), tnn.BatchNorm2d(4),
                                           tnn.ReLU(), tnn.MaxPool2d(2))
            self.scale = tnn.Parameter(torch.ones(1))
            self.register_buffer("step", torch.zeros(1))
            self.head = tnn.Linear(4 * 2 * 2, 3)

    return TorchNet()


def mlp() -> nn.Sequential:
    return nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2))


def _np(t: tg.Tensor) -> np.ndarray:
    """A tensor's values as a host NumPy array, from any device."""
    return tg.backend.to_numpy(t.detach().array)


# ---------------------------------------------------------------------------------------------
# Parameter
# ---------------------------------------------------------------------------------------------
def test_parameter_is_a_leaf_tensor_requiring_grad_sharing_memory():
    t = tg.tensor([1.0, 2.0])
    p = nn.Parameter(t)
    assert isinstance(p, tg.Tensor) and isinstance(p, nn.Parameter)
    assert p.requires_grad and p.is_leaf and p.grad_fn is None
    assert p.array is t.array  # shares memory, as PyTorch's Parameter(t)
    assert not nn.Parameter(t, requires_grad=False).requires_grad
    assert nn.Parameter().shape == (0,)
    assert repr(p).startswith("Parameter containing:\ntensor(")
    assert "requires_grad=True" in repr(p)


def test_parameter_ops_give_plain_tensors_and_make_still_works():
    p = nn.Parameter(tg.ones(2))
    y = p * 2
    assert type(y) is tg.Tensor and type(p.detach()) is tg.Tensor
    made = nn.Parameter._make(np.zeros(3, dtype=np.float32))
    assert isinstance(made, nn.Parameter) and made.shape == (3,) and not made.requires_grad
    (p * p).sum().backward()
    np.testing.assert_array_equal(p.grad.numpy(), [2.0, 2.0])


def test_parameter_on_a_device_shares_memory_and_deepcopies_there(device):
    t = tg.tensor([1.0, 2.0], device=device)
    p = nn.Parameter(t)
    assert p.array is t.array and p.device == tg.Device(device) and p.requires_grad
    (p * p).sum().backward()
    clone = copy.deepcopy(p)
    assert isinstance(clone, nn.Parameter) and clone.device == tg.Device(device)
    assert clone.grad.device == tg.Device(device)
    with tg.no_grad():
        clone.fill_(5.0)
    clone.grad.zero_()
    np.testing.assert_array_equal(_np(p), [1.0, 2.0])
    np.testing.assert_array_equal(_np(p.grad), [2.0, 4.0])


def test_parameter_of_integers_cannot_require_grad():
    with pytest.raises(RuntimeError, match="floating"):
        nn.Parameter(tg.tensor([1, 2]))
    assert nn.Parameter(tg.tensor([1, 2]), requires_grad=False).dtype == tg.int64


# ---------------------------------------------------------------------------------------------
# registration and traversal
# ---------------------------------------------------------------------------------------------
def test_named_parameters_buffers_modules_order_and_names():
    net = Net()
    assert [n for n, _ in net.named_parameters()] == [
        "scale", "features.0.weight", "features.0.bias", "features.1.weight", "features.1.bias",
        "head.weight", "head.bias"]
    assert [n for n, _ in net.named_buffers()] == [
        "step", "features.1.running_mean", "features.1.running_var",
        "features.1.num_batches_tracked"]
    assert [n for n, _ in net.named_modules()] == [
        "", "features", "features.0", "features.1", "features.2", "features.3", "head"]
    assert [n for n, _ in net.named_children()] == ["features", "head"]
    assert list(net.children()) == [net.features, net.head]
    assert [n for n, _ in net.named_parameters(recurse=False)] == ["scale"]
    assert [n for n, _ in net.named_parameters(prefix="model")][0] == "model.scale"
    assert len(list(net.parameters())) == 7 and len(list(net.buffers())) == 4


def test_names_and_shapes_match_pytorch():
    tnet = torch_net()
    net = Net()
    for mine, theirs in ((net.named_parameters(), tnet.named_parameters()),
                         (net.named_buffers(), tnet.named_buffers())):
        assert [(n, tuple(t.shape)) for n, t in mine] == [(n, tuple(t.shape)) for n, t in theirs]
    assert [n for n, _ in net.named_modules()] == [n for n, _ in tnet.named_modules()]
    sd, tsd = net.state_dict(), tnet.state_dict()
    assert list(sd) == list(tsd)
    assert [tuple(v.shape) for v in sd.values()] == [tuple(v.shape) for v in tsd.values()]
    assert sd["features.1.num_batches_tracked"].dtype == tg.int64


def test_getattr_setattr_delattr():
    net = Net()
    assert net.head is net._modules["head"] and net.scale is net._parameters["scale"]
    assert net.step is net._buffers["step"]
    with pytest.raises(AttributeError, match="'Net' object has no attribute 'nope'"):
        _ = net.nope
    with pytest.raises(TypeError, match="cannot assign 'Tensor' as parameter 'scale'"):
        net.scale = tg.ones(1)
    with pytest.raises(TypeError, match="cannot assign 'int' as child module 'head'"):
        net.head = 3
    net.head = None  # allowed: a registered slot may be emptied
    assert "head.weight" not in net.state_dict()
    net.step = tg.full((1,), 5.0)  # a buffer may be replaced by another tensor
    assert net.state_dict()["step"].item() == 5.0
    del net.scale
    assert "scale" not in dict(net.named_parameters())
    net.scale = nn.Parameter(tg.ones(2))  # re-registers at the end
    assert list(net._parameters) == ["scale"]
    # assigning a module where a plain attribute lived moves it into _modules
    net.extra = 1
    net.extra = nn.ReLU()
    assert "extra" in net._modules and "extra" not in net.__dict__


def test_assigning_before_init_is_a_clear_error():
    class Broken(nn.Module):
        def __init__(self) -> None:
            self.fc = nn.Linear(1, 1)

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Broken()


def test_register_buffer_parameter_module_validation():
    m = nn.Module()
    m.register_buffer("tmp", tg.ones(2), persistent=False)
    m.register_buffer("kept", tg.ones(2))
    assert "tmp" not in m.state_dict() and "kept" in m.state_dict()
    assert [n for n, _ in m.named_buffers()] == ["tmp", "kept"]
    with pytest.raises(KeyError, match='contain "\\."'):
        m.register_buffer("a.b", tg.ones(1))
    with pytest.raises(TypeError, match="buffer"):
        m.register_buffer("arr", np.ones(2))
    with pytest.raises(TypeError, match="nn.Parameter or None"):
        m.register_parameter("w", tg.ones(2))
    with pytest.raises(ValueError, match="non-leaf"):
        m.register_parameter("w", nn.Parameter._make(np.ones(1), grad_fn=object()))
    m.register_parameter("bias", None)
    assert list(m.parameters()) == [] and m.bias is None
    with pytest.raises(TypeError, match="not a Module"):
        m.add_module("child", tg.ones(1))
    m.plain = 1
    with pytest.raises(KeyError, match="already exists"):
        m.add_module("plain", nn.ReLU())


def test_shared_parameters_are_listed_and_counted_once():
    shared = nn.Linear(3, 3)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    assert len(list(model.parameters())) == 2
    assert model.num_parameters() == 12
    assert [n for n, _ in model.named_modules()] == ["", "0", "1"]
    # the state_dict lists a module reachable twice under both names, as PyTorch
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_get_submodule_parameter_buffer():
    net = Net()
    assert net.get_submodule("features.1") is net.features[1]
    assert net.get_submodule("") is net
    assert net.get_parameter("head.weight") is net.head.weight
    assert net.get_buffer("features.1.running_mean") is net.features[1].running_mean
    with pytest.raises(AttributeError, match="no submodule named 'x'"):
        net.get_submodule("features.x")


def test_forward_missing_is_a_clear_error():
    with pytest.raises(NotImplementedError, match='missing the required "forward"'):
        nn.Module()(tg.ones(1))


# ---------------------------------------------------------------------------------------------
# modes and gradients
# ---------------------------------------------------------------------------------------------
def test_train_eval_propagate_to_every_descendant():
    net = Net()
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.features.train()
    assert net.features[1].training and not net.training and not net.head.training
    net.train()
    assert all(m.training for m in net.modules())
    with pytest.raises(ValueError, match="boolean"):
        net.train("no")


def test_zero_grad_to_none_and_to_zeros(device, no_host_sync):
    model = nn.Linear(3, 2).to(device)
    x = tg.ones(4, 3, device=device)
    model(x).sum().backward()
    grad = model.weight.grad
    assert grad is not None
    with no_host_sync():
        model.zero_grad(set_to_none=False)
    assert model.weight.grad is grad and grad.device == tg.Device(device)  # zeroed in place
    assert float(model.weight.grad.abs().sum()) == 0.0
    model(x).sum().backward()
    np.testing.assert_allclose(_np(model.bias.grad), [4.0, 4.0])
    with no_host_sync():
        model.zero_grad()
    assert model.weight.grad is None and model.bias.grad is None


def test_requires_grad_freezes_parameters():
    model = mlp()
    model[0].requires_grad_(False)
    assert not model[0].weight.requires_grad and model[3].weight.requires_grad
    assert model.num_parameters(trainable_only=True) == model.num_parameters() - 40


def test_apply_visits_children_first_then_self_like_pytorch():
    visited = []
    mlp().apply(lambda m: visited.append(type(m).__name__))
    assert visited == ["Linear", "BatchNorm1d", "ReLU", "Linear", "Sequential"]
    torch = pytest.importorskip("torch")
    tvisited = []
    torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.ReLU(),
                        torch.nn.Linear(8, 2)).apply(lambda m: tvisited.append(type(m).__name__))
    assert visited == tvisited


# ---------------------------------------------------------------------------------------------
# devices and dtypes
# ---------------------------------------------------------------------------------------------
def test_to_dtype_keeps_parameter_identity_and_int_buffers(device):
    model = mlp().to(device)
    model(tg.randn(5, 4, device=device)).sum().backward()
    params_before = list(model.parameters())
    buffers_before = list(model.buffers())
    values = [_np(p).copy() for p in params_before]
    assert model.double() is model
    assert all(a is b for a, b in zip(model.parameters(), params_before))
    assert all(a is b for a, b in zip(model.buffers(), buffers_before))
    assert all(p.dtype == tg.float64 and p.requires_grad for p in model.parameters())
    assert all(p.grad.dtype == tg.float64 for p in model.parameters())
    assert model[1].running_mean.dtype == tg.float64
    assert model[1].num_batches_tracked.dtype == tg.int64  # only floating tensors change
    assert all(t.device == tg.Device(device) for t in model.state_dict().values())
    for p, v in zip(model.parameters(), values):
        np.testing.assert_array_equal(_np(p), v.astype(np.float64))
    assert model(tg.randn(5, 4, dtype=tg.float64, device=device)).dtype == tg.float64
    model.to(dtype=tg.float32)
    assert model[0].weight.dtype == tg.float32
    with pytest.raises(TypeError, match="floating point"):
        model.to(tg.int64)


def test_to_device_moves_parameters_in_place(device):
    tg.manual_seed(3)
    model = mlp()
    model(tg.randn(6, 4)).sum().backward()  # gradients and running statistics on the CPU
    weight, running_mean = model[0].weight, model[1].running_mean
    before = {k: _np(v).copy() for k, v in model.state_dict().items()}
    grad_before = _np(weight.grad).copy()
    params = list(model.parameters())
    assert model.to(device) is model
    assert list(model.parameters()) == params  # the same objects: an optimizer keeps working
    assert model[0].weight is weight and weight.device == tg.Device(device)
    assert weight.grad.device == tg.Device(device)
    np.testing.assert_array_equal(_np(weight.grad), grad_before)
    assert model[1].running_mean is running_mean
    for name, buf in model.named_buffers():
        assert buf.device == tg.Device(device), name
    assert model[1].num_batches_tracked.dtype == tg.int64
    for key, value in model.state_dict().items():  # moved, not changed
        np.testing.assert_array_equal(_np(value), before[key])
    out = model(tg.randn(3, 4, device=device))  # training: the running stats move, on device
    assert out.device == tg.Device(device)
    assert running_mean.device == tg.Device(device)
    assert not np.array_equal(_np(running_mean), before["1.running_mean"])
    assert model[1].num_batches_tracked.item() == 2
    model.cpu()
    assert weight.device == running_mean.device == weight.grad.device == tg.Device("cpu")
    model.to(device, tg.float64)
    assert weight.device == tg.Device(device) and weight.dtype == tg.float64


# ---------------------------------------------------------------------------------------------
# state_dict
# ---------------------------------------------------------------------------------------------
def test_state_dict_keys_detached_and_sharing_memory():
    model = mlp()
    sd = model.state_dict()
    assert isinstance(sd, OrderedDict)
    assert list(sd) == ["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean",
                        "1.running_var", "1.num_batches_tracked", "3.weight", "3.bias"]
    assert all(not v.requires_grad and type(v) is tg.Tensor for v in sd.values())
    assert sd["0.weight"].array is model[0].weight.array
    kept = model.state_dict(keep_vars=True)
    assert kept["0.weight"] is model[0].weight


def test_state_dict_round_trip_is_bit_exact_including_batchnorm_buffers(device):
    tg.manual_seed(0)
    model = mlp().to(device)
    for _ in range(2):
        model(tg.randn(6, 4, device=device)).sum().backward()
    snapshot = {k: v.clone() for k, v in model.state_dict().items()}
    assert snapshot["1.num_batches_tracked"].item() == 2
    other = mlp().to(device)
    result = other.load_state_dict(snapshot)
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert repr(result) == "<All keys matched successfully>"
    for key, value in other.state_dict().items():
        assert value.dtype == snapshot[key].dtype and value.device == tg.Device(device)
        np.testing.assert_array_equal(_np(value), _np(snapshot[key]))
    # copied in place: the loaded model's tensors are still its own
    assert other.state_dict()["0.weight"].array is not snapshot["0.weight"].array
    x = tg.randn(3, 4, device=device)
    model.eval(), other.eval()
    np.testing.assert_array_equal(_np(model(x)), _np(other(x)))


def test_state_dict_across_devices(device):
    """A CPU checkpoint loads into a model on `device` and back, bit for bit; the loaded
    model's tensors stay where they were (load_state_dict copies into them)."""
    tg.manual_seed(1)
    cpu_model = mlp()
    cpu_model(tg.randn(6, 4)).sum().backward()  # running statistics away from their defaults
    model = mlp().to(device)
    weight = model[0].weight
    model.load_state_dict(cpu_model.state_dict())
    assert model[0].weight is weight
    for key, value in model.state_dict().items():
        assert value.device == tg.Device(device), key
        np.testing.assert_array_equal(_np(value), _np(cpu_model.state_dict()[key]))
    x = np.random.default_rng(2).standard_normal((3, 4)).astype(np.float32)
    model.eval(), cpu_model.eval()
    np.testing.assert_allclose(_np(model(tg.tensor(x, device=device))),  # (a GPU rounds
                               _np(cpu_model(tg.tensor(x))), rtol=1e-5, atol=1e-6)  # its own)
    model.train()
    model(tg.randn(6, 4, device=device)).sum().backward()  # train on the device
    back = mlp()
    back.load_state_dict(model.state_dict())  # the device checkpoint into a CPU model
    for key, value in back.state_dict().items():
        assert value.device == tg.Device("cpu"), key
        np.testing.assert_array_equal(_np(value), _np(model.state_dict()[key]))
    assert back[1].num_batches_tracked.item() == 2


def _values(model: nn.Module) -> dict:
    return {k: _np(v).copy() for k, v in model.state_dict().items()}


def test_load_state_dict_errors_name_keys_and_shapes_and_change_nothing(device):
    model = mlp().to(device)
    before = _values(model)
    good = {k: v.clone() + 1 for k, v in model.state_dict().items()}

    missing = dict(good)
    del missing["1.bias"]
    with pytest.raises(RuntimeError) as err:
        model.load_state_dict(missing)
    assert str(err.value).startswith("Error(s) in loading state_dict for Sequential:")
    assert 'Missing key(s) in state_dict: "1.bias".' in str(err.value)

    unexpected = dict(good, extra=tg.ones(1))
    with pytest.raises(RuntimeError, match='Unexpected key\\(s\\) in state_dict: "extra"'):
        model.load_state_dict(unexpected)

    wrong = dict(good)
    wrong["0.weight"] = tg.zeros(9, 4)  # on the CPU: shapes are checked across devices too
    with pytest.raises(RuntimeError) as err:
        model.load_state_dict(wrong, strict=False)  # shape mismatches fail even when not strict
    assert ("size mismatch for 0.weight: copying a param with shape (9, 4) from checkpoint, "
            "the shape in current model is (8, 4).") in str(err.value)

    for key, value in _values(model).items():
        np.testing.assert_array_equal(value, before[key])


def test_load_state_dict_error_messages_follow_pytorch_order():
    torch = pytest.importorskip("torch")
    tmodel = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.BatchNorm1d(3))
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    tsd = OrderedDict(tmodel.state_dict())
    sd = OrderedDict(model.state_dict())
    for d, zeros in ((tsd, torch.zeros), (sd, tg.zeros)):
        d["0.weight"] = zeros(4, 2)
        del d["1.bias"]
        d["extra"] = zeros(1)
    with pytest.raises(RuntimeError) as terr:
        tmodel.load_state_dict(tsd)
    with pytest.raises(RuntimeError) as err:
        model.load_state_dict(sd)
    lines, tlines = str(err.value).split("\n"), str(terr.value).split("\n")
    assert lines[:3] == tlines[:3]  # header, missing, unexpected: identical text
    assert lines[3].startswith("\tsize mismatch for 0.weight") and tlines[3].startswith(
        "\tsize mismatch for 0.weight")


def test_load_state_dict_not_strict_returns_keys_and_loads_the_rest():
    model = mlp()
    source = mlp()
    sd = dict(source.state_dict())
    del sd["3.bias"]
    sd["unknown.weight"] = tg.ones(2)
    result = model.load_state_dict(sd, strict=False)
    assert result == (["3.bias"], ["unknown.weight"])
    assert result.missing_keys == ["3.bias"] and result.unexpected_keys == ["unknown.weight"]
    np.testing.assert_array_equal(model[3].weight.detach().numpy(),
                                  source[3].weight.detach().numpy())
    assert not np.array_equal(model[3].bias.detach().numpy(), source[3].bias.detach().numpy())


def test_load_state_dict_accepts_numpy_arrays_and_converts_dtype():
    model = nn.Linear(2, 1)
    model.load_state_dict({"weight": np.array([[1.0, 2.0]]), "bias": np.array([3.0])})
    assert model.weight.dtype == tg.float32
    np.testing.assert_array_equal(model.weight.detach().numpy(), [[1.0, 2.0]])
    with pytest.raises(RuntimeError, match='parameter named "bias"'):
        model.load_state_dict({"weight": model.weight.detach(), "bias": "three"})


def test_load_state_dict_from_pytorch_values():
    torch = pytest.importorskip("torch")
    tmodel = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8),
                                 torch.nn.ReLU(), torch.nn.Linear(8, 2))
    tmodel(torch.randn(5, 4))  # move the running statistics
    model = mlp()
    model.load_state_dict({k: v.numpy() for k, v in tmodel.state_dict().items()})
    tmodel.eval(), model.eval()
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    np.testing.assert_allclose(model(tg.tensor(x)).detach().numpy(),
                               tmodel(torch.from_numpy(x)).detach().numpy(), rtol=1e-5,
                               atol=1e-6)


def test_deepcopy_gives_an_independent_model(device):
    model = mlp().to(device)
    clone = copy.deepcopy(model)
    assert isinstance(clone[0].weight, nn.Parameter) and clone[0].weight.requires_grad
    assert clone[0].weight is not model[0].weight
    assert all(t.device == tg.Device(device) for t in clone.state_dict().values())
    with tg.no_grad():
        clone[0].weight.fill_(0.0)
    assert float(model[0].weight.abs().sum()) > 0
    assert list(clone.state_dict()) == list(model.state_dict())


# ---------------------------------------------------------------------------------------------
# hooks
# ---------------------------------------------------------------------------------------------
def test_forward_hooks_fire_in_order_replace_and_remove():
    calls = []
    model = nn.Identity()

    def pre1(module, args):
        calls.append("pre1")
        return (args[0] + 1,)

    def pre2(module, args):
        calls.append("pre2")
        return args[0] * 10  # a single value is wrapped into a tuple

    def post1(module, args, output):
        calls.append(("post1", float(args[0].item()), float(output.item())))
        return output + 0.5

    def post2(module, args, output):
        calls.append("post2")

    handles = [model.register_forward_pre_hook(pre1), model.register_forward_pre_hook(pre2),
               model.register_forward_hook(post1), model.register_forward_hook(post2)]
    assert all(isinstance(h, RemovableHandle) for h in handles)
    out = model(tg.tensor(1.0))
    assert out.item() == 20.5
    assert calls == ["pre1", "pre2", ("post1", 20.0, 20.0), "post2"]
    for h in handles:
        h.remove()
    h.remove()  # removing twice is harmless
    calls.clear()
    assert model(tg.tensor(1.0)).item() == 1.0 and calls == []


def test_hook_prepend_and_context_manager():
    order = []
    model = nn.ReLU()
    model.register_forward_hook(lambda m, a, o: order.append("first"))
    with model.register_forward_hook(lambda m, a, o: order.append("zeroth"), prepend=True):
        model(tg.ones(1))
    model(tg.ones(1))
    assert order == ["zeroth", "first", "first"]


def test_forward_hook_sees_intermediate_activations():
    model = mlp()
    seen = {}
    model[2].register_forward_hook(lambda m, args, out: seen.setdefault("relu", out))
    model(tg.randn(5, 4))
    assert seen["relu"].shape == (5, 8) and float(seen["relu"].min()) >= 0


# ---------------------------------------------------------------------------------------------
# containers
# ---------------------------------------------------------------------------------------------
def test_sequential_indexing_slicing_and_editing():
    layers = [nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 3), nn.Tanh()]
    model = nn.Sequential(*layers)
    assert len(model) == 4 and list(model) == layers
    assert model[0] is layers[0] and model[-1] is layers[-1]
    part = model[1:3]
    assert isinstance(part, nn.Sequential) and list(part) == layers[1:3]
    assert list(part._modules) == ["1", "2"]  # slices keep the original keys, as PyTorch
    with pytest.raises(IndexError, match="out of range"):
        model[4]
    with pytest.raises(TypeError, match="integers or slices"):
        model["0"]
    model.append(nn.Sigmoid())
    assert len(model) == 5 and isinstance(model[4], nn.Sigmoid)
    del model[1]
    assert list(model._modules) == ["0", "1", "2", "3"] and model[1] is layers[2]
    model[0] = nn.Identity()
    assert isinstance(model[0], nn.Identity)
    model.insert(1, nn.ReLU())
    assert isinstance(model[1], nn.ReLU) and model[2] is layers[2]
    assert isinstance(model.pop(1), nn.ReLU) and len(model) == 4
    x = tg.randn(3, 2)
    expected = x
    for m in model:
        expected = m(expected)
    np.testing.assert_array_equal(model(x).detach().numpy(), expected.detach().numpy())


@given(st.integers(0, 6), st.integers(-8, 8), st.integers(-8, 8), st.sampled_from([1, 2, -1]))
def test_sequential_slices_behave_like_list_slices(n, start, stop, step):
    layers = [nn.Identity() for _ in range(n)]
    model = nn.Sequential(*layers)
    assert list(model[start:stop:step]) == layers[start:stop:step]
    if -n <= start < n:
        assert model[start] is layers[start]


def test_sequential_from_ordered_dict_uses_the_names():
    model = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 3)), ("act", nn.ReLU())]))
    assert model.fc is model[0] and list(model.state_dict()) == ["fc.weight", "fc.bias"]
    assert repr(model).split("\n")[1] == "  (fc): Linear(in_features=2, out_features=3, bias=True)"


def test_module_list_and_dict():
    blocks = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert len(blocks) == 3 and blocks[-1] is list(blocks)[2]
    blocks.append(nn.ReLU())
    blocks += [nn.Tanh()]
    assert len(blocks) == 5 and len(list(blocks.parameters())) == 6
    assert isinstance(blocks[1:3], nn.ModuleList) and len(blocks[1:3]) == 2
    del blocks[0]
    assert list(blocks._modules) == ["0", "1", "2", "3"]
    blocks.insert(0, nn.Identity())
    assert isinstance(blocks[0], nn.Identity) and len(blocks) == 5
    with pytest.raises(NotImplementedError):
        blocks(tg.ones(1))

    heads = nn.ModuleDict({"cls": nn.Linear(2, 3), "box": nn.Linear(2, 4)})
    heads["extra"] = nn.ReLU()
    assert list(heads) == ["cls", "box", "extra"] and "box" in heads
    assert [k for k, _ in heads.items()] == ["cls", "box", "extra"]
    assert list(heads.state_dict()) == ["cls.weight", "cls.bias", "box.weight", "box.bias"]
    assert isinstance(heads.pop("extra"), nn.ReLU) and len(heads) == 2


def test_identity_accepts_any_arguments():
    x = tg.randn(2, 3)
    assert nn.Identity(54, unused="x")(x) is x
    assert repr(nn.Identity()) == "Identity()"


# ---------------------------------------------------------------------------------------------
# printing and counting
# ---------------------------------------------------------------------------------------------
def course_cnn(nn_module):
    return nn_module.Sequential(
        nn_module.Conv2d(3, 16, kernel_size=3, padding=1), nn_module.BatchNorm2d(16),
        nn_module.ReLU(), nn_module.MaxPool2d(2),
        nn_module.Conv2d(16, 8, 5, stride=2, padding=2, bias=False),
        nn_module.Flatten(), nn_module.Dropout(0.25),
        nn_module.Linear(8 * 4 * 4, 10))


EXPECTED_REPR = """Sequential(
  (0): Conv2d(3, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
  (1): BatchNorm2d(16, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)
  (2): ReLU()
  (3): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
  (4): Conv2d(16, 8, kernel_size=(5, 5), stride=(2, 2), padding=(2, 2), bias=False)
  (5): Flatten(start_dim=1, end_dim=-1)
  (6): Dropout(p=0.25, inplace=False)
  (7): Linear(in_features=128, out_features=10, bias=True)
)"""


def test_repr_prints_the_architecture():
    assert repr(course_cnn(nn)) == EXPECTED_REPR
    assert repr(nn.Linear(3072, 16)) == "Linear(in_features=3072, out_features=16, bias=True)"


def test_repr_matches_pytorch_including_nesting_and_module_list_runs():
    torch = pytest.importorskip("torch")
    tnn = torch.nn
    assert repr(course_cnn(nn)) == repr(course_cnn(tnn))
    assert repr(Net()) == repr(torch_net()).replace("TorchNet", "Net")

    def nested(m):
        return m.Sequential(m.ModuleList([m.Linear(2, 2), m.Linear(2, 2), m.ReLU(),
                                          m.Linear(2, 2)]),
                            m.ModuleDict({"a": m.Sequential(m.Tanh())}), m.ModuleList())

    assert repr(nested(nn)) == repr(nested(tnn))


def test_extra_repr_of_a_custom_module():
    class Scale(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.factor = 3

        def extra_repr(self) -> str:
            return f"factor={self.factor}"

    class Wrapper(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = Scale()

        def extra_repr(self) -> str:
            return "wrapped"

    assert repr(Scale()) == "Scale(factor=3)"
    assert repr(Wrapper()) == "Wrapper(\n  wrapped\n  (inner): Scale(factor=3)\n)"


def test_course_mlp_has_49338_parameters():
    model = nn.Sequential(nn.Flatten(), nn.Linear(3072, 16), nn.ReLU(), nn.Linear(16, 10))
    assert model.num_parameters() == 49_338
    assert nn.utils.count_parameters(model) == 49_338
    model[1].requires_grad_(False)
    assert model.num_parameters(trainable_only=True) == 16 * 10 + 10
