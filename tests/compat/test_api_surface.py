"""The small API surface course code touches (issue 14, item 6): the random `_like`
factories, `tg.add/sub/mul/div/matmul` with `out=` (and `alpha=`, `rounding_mode=`), the
default device and dtype, NumPy's `axis=`/`keepdims=` keywords, and `load(weights_only=)` /
`save` of a whole Module.

Where PyTorch is installed the same snippet runs on it and the results must agree; otherwise
the expected values are PyTorch's documented ones."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from libraries import LIBRARIES, each_library, torch  # tests/compat/libraries.py

import tinygrad_edu as tg
from tinygrad_edu import nn


def dtype_name(t) -> str:
    return str(t.dtype).split(".")[-1]


# ---------------------------------------------------------------------------------------------
# rand_like, randn_like, randint_like
# ---------------------------------------------------------------------------------------------
@each_library
def test_random_like_factories(lib) -> None:
    x = lib.zeros(200, 3, dtype=lib.float64)
    r = lib.rand_like(x)
    assert tuple(r.shape) == (200, 3) and dtype_name(r) == "float64"
    assert 0 <= float(r.min()) and float(r.max()) < 1 and float(r.std()) > 0.1
    n = lib.randn_like(x, dtype=lib.float32, requires_grad=True)
    assert dtype_name(n) == "float32" and n.requires_grad and n.is_leaf
    assert abs(float(n.detach().mean())) < 0.3 and 0.7 < float(n.detach().std()) < 1.3
    whole = lib.randint_like(x, 5)  # one bound is `high`
    values = np.asarray(whole.tolist())
    assert dtype_name(whole) == "float64" and set(np.unique(values)) == {0, 1, 2, 3, 4}
    between = np.asarray(lib.randint_like(x, 2, 5).tolist())
    assert between.min() == 2 and between.max() == 4
    keywords = np.asarray(lib.randint_like(x, low=2, high=5).tolist())
    assert keywords.min() == 2 and keywords.max() == 4
    assert np.asarray(lib.randint_like(x, high=3).tolist()).max() == 2
    assert dtype_name(lib.randint_like(lib.zeros(4, dtype=lib.int32), 10)) == "int32"
    assert lib.randint_like(x, 5, requires_grad=True).requires_grad
    with pytest.raises(NotImplementedError):
        lib.randn_like(lib.zeros(2, dtype=lib.int64))
    with pytest.raises(NotImplementedError):
        lib.rand_like(lib.zeros(2, dtype=lib.int64))
    with pytest.raises(RuntimeError):
        lib.randint_like(lib.zeros(2, dtype=lib.int64), 5, requires_grad=True)


def test_random_like_factories_keep_the_device_and_the_seed(device: str) -> None:
    x = tg.zeros(3, 4, device=device)
    for make in (tg.rand_like, tg.randn_like, lambda t: tg.randint_like(t, 10)):
        tg.manual_seed(3)
        first = make(x)
        tg.manual_seed(3)
        again = make(x)
        assert first.device == x.device and first.dtype == tg.float32
        assert first.tolist() == again.tolist()
    assert tg.rand_like(x, device="cpu").device == tg.device("cpu")


# ---------------------------------------------------------------------------------------------
# tg.add / sub / mul / div / matmul
# ---------------------------------------------------------------------------------------------
@each_library
def test_arithmetic_functions(lib) -> None:
    x = lib.tensor([[1.0, 2.0], [3.0, 4.0]])
    y = lib.tensor([[0.5, -1.0], [2.0, 0.25]])
    a, b = np.array(x.tolist()), np.array(y.tolist())
    cases = [
        (lib.add(x, y), a + b), (lib.add(x, y, alpha=2), a + 2 * b),
        (lib.sub(x, 1, alpha=3), a - 3), (lib.sub(x, y, alpha=0.5), a - 0.5 * b),
        (lib.mul(x, y), a * b), (lib.mul(x, 3), a * 3), (lib.div(x, y), a / b),
        (lib.matmul(x, y), a @ b), (x.add(y, alpha=-1), a - b), (x.sub(y, alpha=2), a - 2 * b),
        (x.mul(y), a * b), (x.div(2), a / 2),
    ]
    for result, expected in cases:
        np.testing.assert_allclose(result.tolist(), expected, rtol=1e-6)
    assert dtype_name(lib.add(lib.tensor([1, 2]), 1, alpha=3)) == "int64"
    assert lib.add(lib.tensor([1, 2]), 1, alpha=3).tolist() == [4, 5]
    with pytest.raises(RuntimeError, match="(?i)alpha must not be a floating point"):
        lib.add(lib.tensor([1, 2]), 1, alpha=2.5)


@each_library
def test_div_rounding_modes(lib) -> None:
    ints = lib.tensor([5, -5, 7, -7])
    trunc = lib.div(ints, 2, rounding_mode="trunc")
    floor = lib.div(ints, 2, rounding_mode="floor")
    assert trunc.tolist() == [2, -2, 3, -3] and dtype_name(trunc) == "int64"
    assert floor.tolist() == [2, -3, 3, -4] and dtype_name(floor) == "int64"
    assert ints.div(lib.tensor([2, -2, 2, -2]), rounding_mode="trunc").tolist() == [2, 2, 3, 3]
    assert dtype_name(lib.div(ints, 2)) == "float32"
    floats = lib.tensor([5.0, -5.0, 7.5])
    assert lib.div(floats, 2, rounding_mode="trunc").tolist() == [2.0, -2.0, 3.0]
    assert lib.div(floats, 2, rounding_mode="floor").tolist() == [2.0, -3.0, 3.0]
    with pytest.raises(RuntimeError, match="rounding_mode to be one of None, 'trunc', or "
                                           "'floor' but found 'round'"):
        lib.div(ints, 2, rounding_mode="round")
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        lib.div(ints, 0, rounding_mode="trunc")


def test_out_is_an_in_place_write(device: str) -> None:
    x = tg.tensor([[1.0, 2.0], [3.0, 4.0]], device=device)
    y = tg.tensor([[0.5, -1.0], [2.0, 0.25]], device=device)
    out = tg.zeros(2, 2, device=device)
    row = out[0]  # a view of out sees the write
    version = out._version
    assert tg.add(x, y, alpha=2, out=out) is out
    assert out.tolist() == [[2.0, 0.0], [7.0, 4.5]] and row.tolist() == [2.0, 0.0]
    assert out._version > version
    assert tg.matmul(x, y, out=out).tolist() == [[4.5, -0.5], [9.5, -2.0]]
    assert tg.sub(x, 1, out=out).tolist() == [[0.0, 1.0], [2.0, 3.0]]
    assert tg.mul(x, y, out=out).tolist() == [[0.5, -2.0], [6.0, 1.0]]
    assert tg.div(x, 2, out=out).tolist() == [[0.5, 1.0], [1.5, 2.0]]
    assert x.add(1, out=out) is out and out.tolist() == [[2.0, 3.0], [4.0, 5.0]]
    ints = tg.zeros(4, dtype=tg.int64, device=device)
    tg.div(tg.tensor([5, -5, 7, -7], device=device), 2, rounding_mode="floor", out=ints)
    assert ints.tolist() == [2, -3, 3, -4] and ints.dtype == tg.int64
    tg.add(tg.tensor([1, 2], device=device), 1, out=out[0])  # an int result into floats: fine
    assert out.tolist()[0] == [2.0, 3.0]


@each_library
def test_out_refusals(lib) -> None:
    x = lib.ones(2, 2)
    ints = lib.zeros(2, 2, dtype=lib.int64)
    with pytest.raises(RuntimeError, match="result type Float.* can't be cast to the desired "
                                           "output type Long"):
        lib.add(x, x, out=ints)
    with pytest.raises(RuntimeError, match="result type Float.* can't be cast"):
        lib.div(lib.ones(2, 2, dtype=lib.int64), 2, out=ints)  # true division is float
    assert ints.tolist() == [[0, 0], [0, 0]]
    with pytest.raises(RuntimeError, match="(?i)expected out tensor to have dtype float, but "
                                           "got double"):
        lib.matmul(x, x, out=lib.zeros(2, 2, dtype=lib.float64))
    w = lib.ones(2, 2, requires_grad=True)
    out = lib.zeros(2, 2)
    with pytest.raises(RuntimeError, match=r"add\(\): functions with out=\.\.\. arguments don't "
                                           "support automatic differentiation"):
        lib.add(w, x, out=out)
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        lib.matmul(x, w, out=out)
    assert out.tolist() == [[0.0, 0.0], [0.0, 0.0]]
    with lib.no_grad():  # no graph: allowed
        lib.add(w, x, out=out)
    assert out.tolist() == [[2.0, 2.0], [2.0, 2.0]] and not out.requires_grad


@each_library
def test_out_of_another_shape_is_resized(lib) -> None:
    x = lib.ones(2, 3)
    empty = lib.zeros(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an empty out is resized silently
        lib.add(x, x, out=empty)
    assert tuple(empty.shape) == (2, 3) and empty.tolist() == [[2.0] * 3] * 2
    small = lib.zeros(3)
    with pytest.warns(UserWarning, match="resized"):
        lib.mul(x, 3, out=small)
    assert tuple(small.shape) == (2, 3) and small.tolist() == [[3.0] * 3] * 2


# ---------------------------------------------------------------------------------------------
# default dtype and device
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def restore_defaults():
    yield
    for lib in LIBRARIES:
        lib.set_default_dtype(lib.float32)
        lib.set_default_device(None)


@each_library
def test_default_dtype(lib, restore_defaults) -> None:
    assert lib.get_default_dtype() == lib.float32
    lib.set_default_dtype(lib.float64)
    assert lib.get_default_dtype() == lib.float64
    made = [lib.tensor([1.5]), lib.tensor(2.0), lib.zeros(2), lib.ones(2), lib.rand(2),
            lib.randn(2), lib.full((2,), 1.5), lib.arange(0, 1, 0.5), lib.linspace(0, 1, 3),
            lib.eye(2), lib.empty(2), lib.tensor([1, 2]) / 2, lib.tensor([1, 2]) * 0.5]
    assert [dtype_name(t) for t in made] == ["float64"] * len(made)
    assert dtype_name(lib.tensor([1, 2])) == "int64" and dtype_name(lib.arange(3)) == "int64"
    assert dtype_name(lib.tensor([1.0], dtype=lib.float32)) == "float32"
    assert dtype_name(lib.tensor([1.0], dtype=lib.float32) + 1.5) == "float32"
    with pytest.raises(TypeError, match="only floating-point types are supported as the "
                                        "default type"):
        lib.set_default_dtype(lib.int64)
    assert lib.get_default_dtype() == lib.float64
    lib.set_default_dtype(lib.float32)
    assert dtype_name(lib.tensor([1.5])) == "float32"


def test_default_dtype_is_the_backend_setting(restore_defaults) -> None:
    tg.set_default_dtype(tg.float64)
    assert tg.backend.default_float_dtype == tg.float64
    layer = nn.Linear(2, 3)  # parameters are made in the default dtype, as PyTorch
    assert layer.weight.dtype == tg.float64


def test_default_device(device: str, restore_defaults) -> None:
    assert tg.get_default_device() == tg.device("cpu")
    tg.set_default_device(device)
    assert tg.get_default_device() == tg.device(device)
    made = [tg.tensor([1.5]), tg.tensor(np.ones(2)), tg.zeros(2), tg.ones(2), tg.empty(2),
            tg.rand(2), tg.randn(2), tg.randint(0, 3, (2,)), tg.randperm(3), tg.arange(3),
            tg.linspace(0, 1, 3), tg.eye(2), tg.full((2,), 1.0)]
    assert all(t.device == tg.device(device) for t in made)
    assert tg.zeros(2, device="cpu").device == tg.device("cpu")
    assert tg.from_numpy(np.ones(2)).device == tg.device("cpu")  # shares the NumPy memory
    tg.set_default_device(None)
    assert tg.zeros(2).device == tg.device("cpu")
    if torch is not None:
        assert repr(torch.get_default_device()) == repr(tg.get_default_device())


# ---------------------------------------------------------------------------------------------
# NumPy's axis= and keepdims=
# ---------------------------------------------------------------------------------------------
REDUCTIONS = ["sum", "mean", "amax", "amin", "prod", "std", "var", "logsumexp", "any", "all"]


@each_library
def test_axis_and_keepdims_are_aliases(lib) -> None:
    x = lib.tensor([[1.0, 5.0, 2.0], [4.0, 3.0, 6.0]])
    for name in REDUCTIONS:
        method = getattr(x, name)
        expected = method(dim=1, keepdim=True).tolist()
        assert method(axis=1, keepdims=True).tolist() == expected, name
        assert method(axis=1, keepdim=True).tolist() == expected, name
        assert method(1, keepdims=True).tolist() == expected, name
        assert getattr(lib, name)(x, axis=0).tolist() == method(dim=0).tolist(), name
    for name in ("max", "min"):
        values, indices = getattr(x, name)(axis=1, keepdims=True)
        expected_values, expected_indices = getattr(x, name)(dim=1, keepdim=True)
        assert values.tolist() == expected_values.tolist()
        assert indices.tolist() == expected_indices.tolist()
    assert x.argmax(axis=1).tolist() == [1, 2] and x.argmin(axis=0).tolist() == [0, 1, 0]
    assert x.softmax(axis=1).tolist() == x.softmax(dim=1).tolist()
    assert x.log_softmax(axis=0).tolist() == x.log_softmax(dim=0).tolist()
    assert tuple(x.unsqueeze(axis=0).shape) == (1, 2, 3)
    assert tuple(x[:1].squeeze(axis=0).shape) == (3,)
    assert tuple(lib.cat([x, x], axis=1).shape) == (2, 6)
    assert tuple(lib.stack([x, x], axis=0).shape) == (2, 2, 3)
    assert lib.max(x, axis=1).values.tolist() == [5.0, 6.0]
    with pytest.raises(TypeError):
        x.sum(dim=0, axis=0)


# ---------------------------------------------------------------------------------------------
# load(weights_only=...), save of a whole Module
# ---------------------------------------------------------------------------------------------
def test_load_accepts_weights_only_and_map_location(tmp_path) -> None:
    """Course code written for PyTorch >= 2.6: `torch.load(path, weights_only=True)`; older
    code passes weights_only=False. Loading here never unpickles, so both load the same."""
    model = nn.Linear(2, 3)
    path = tmp_path / "model.pt"
    tg.save(model.state_dict(), path)
    for weights_only in (True, False, None):
        state = tg.load(path, map_location="cpu", weights_only=weights_only)
        assert list(state) == ["weight", "bias"]
        assert state["weight"].tolist() == model.weight.tolist()
    fresh = nn.Linear(2, 3)
    fresh.load_state_dict(tg.load(str(path), weights_only=True))
    assert fresh.bias.tolist() == model.bias.tolist()
    with pytest.raises(TypeError, match="weights_only"):
        tg.load(path, weights_only="yes")


def test_saving_a_whole_module_or_optimizer_is_refused(tmp_path) -> None:
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    optimizer = tg.optim.SGD(model.parameters(), lr=0.1)
    path = tmp_path / "model.pt"
    with pytest.raises(TypeError, match=r"Sequential.*model\.state_dict\(\)"):
        tg.save(model, path)
    with pytest.raises(TypeError, match=r"SGD.*state_dict\(\)"):
        tg.save(optimizer, path)
    with pytest.raises(TypeError, match=r"obj\['model'\].*state_dict\(\)"):
        tg.save({"model": model, "epoch": 3}, path)
    assert not path.exists()
    tg.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": 3},
            path)
    assert tg.load(path)["epoch"] == 3
