"""The Tensor API: construction, dtypes, properties, conversions, copies and every factory."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import tinygrad_edu as tg


# ---------------------------------------------------------------------------------------------
# construction and dtypes
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("data", "dtype", "shape"), [
    (3, tg.int64, ()),
    (2.5, tg.float32, ()),
    (True, tg.bool, ()),
    ([1, 2, 3], tg.int64, (3,)),
    ([[1.0, 2.0], [3.0, 4.0]], tg.float32, (2, 2)),
    ([[1, 2], [3, 4.5]], tg.float32, (2, 2)),  # one float makes it float
    ([True, False], tg.bool, (2,)),
    ([[[1]], [[2]]], tg.int64, (2, 1, 1)),
    ([], tg.float32, (0,)),
])
def test_tensor_from_python_values(device: str, data: Any, dtype: Any, shape: tuple) -> None:
    t = tg.tensor(data, device=device)
    assert t.dtype == dtype and t.shape == shape
    assert t.device == tg.device(device)
    np.testing.assert_array_equal(np.asarray(t), np.array(data, dtype=dtype))
    assert not t.requires_grad and t.grad is None and t.grad_fn is None and t.is_leaf


@pytest.mark.parametrize("np_dtype", [np.float32, np.float64, np.float16, np.int64, np.int32,
                                      np.uint8, np.bool_])
def test_tensor_from_numpy_keeps_dtype_and_copies(device: str, np_dtype: Any) -> None:
    array = np.arange(6).reshape(2, 3).astype(np_dtype)
    t = tg.tensor(array, device=device)
    assert t.dtype == np.dtype(np_dtype) and t.shape == (2, 3)
    np.testing.assert_array_equal(np.asarray(t), array)
    array[0, 0] = 1
    assert np.asarray(t)[0, 0] == 0  # tg.tensor copies


def test_tensor_from_tensor_and_dtype_argument(device: str) -> None:
    src = tg.tensor([1.0, 2.5], device=device)
    copy = tg.tensor(src)
    assert copy.device == src.device and copy.dtype == tg.float32
    with tg.no_grad():
        copy[0] = 9.0
    assert src.tolist() == [1.0, 2.5]
    for spec in (tg.float64, "float64", "double", np.float64, tg.double):
        assert tg.tensor([1, 2], dtype=spec, device=device).dtype == tg.float64
    assert tg.tensor([1.7, -2.2], dtype=tg.int64).tolist() == [1, -2]
    assert tg.tensor([1, 2], dtype=float).dtype == tg.float32
    assert tg.tensor([1.5], dtype=int).dtype == tg.int64
    assert tg.tensor([1, 0], dtype=bool).dtype == tg.bool
    assert tg.as_tensor(src) is src
    assert tg.as_tensor([1, 2]).dtype == tg.int64


def test_dtype_aliases() -> None:
    assert tg.float == tg.float32 and tg.double == tg.float64 and tg.long == tg.int64
    assert tg.half == tg.float16 and tg.bool == np.dtype(bool)
    assert tg.int32 == np.dtype("int32") and tg.uint8 == np.dtype("uint8")


def test_from_numpy_shares_memory() -> None:
    array = np.zeros(3, dtype=np.float32)
    t = tg.from_numpy(array)
    array[1] = 5.0
    assert t.tolist() == [0.0, 5.0, 0.0]
    t.array[2] = 7.0
    assert array[2] == 7.0
    assert t.dtype == tg.float32
    assert tg.from_numpy(np.arange(3)).dtype == tg.int64
    assert t.numpy() is array  # numpy() shares memory too


# ---------------------------------------------------------------------------------------------
# properties and conversions
# ---------------------------------------------------------------------------------------------
def test_properties(device: str) -> None:
    t = tg.zeros(2, 3, 4, device=device)
    assert t.shape == (2, 3, 4) and t.size() == (2, 3, 4)
    assert t.size(0) == 2 and t.size(-1) == 4 and t.size(dim=1) == 3
    assert t.ndim == 3 and t.dim() == 3
    assert t.numel() == 24 and tg.numel(t) == 24
    assert len(t) == 2
    assert t.dtype == tg.float32 and t.is_floating_point()
    assert t.device == device and str(t.device) == ("cuda:0" if device == "cuda" else device)
    assert t.is_leaf and not t.requires_grad and t.grad is None and t.grad_fn is None
    with pytest.raises(TypeError, match="0-d"):
        len(tg.tensor(1.0, device=device))


def test_item_tolist_numpy_array(device: str) -> None:
    t = tg.tensor([[1.5, 2.0], [3.0, 4.0]], device=device)
    assert tg.tensor(2.5, device=device).item() == 2.5
    assert isinstance(tg.tensor([7], device=device).item(), int)
    assert t.tolist() == [[1.5, 2.0], [3.0, 4.0]]
    assert tg.tensor(3, device=device).tolist() == 3
    array = np.asarray(t)
    assert isinstance(array, np.ndarray) and array.dtype == np.float32
    np.testing.assert_array_equal(array, [[1.5, 2.0], [3.0, 4.0]])
    assert np.asarray(t, dtype=np.float64).dtype == np.float64
    assert np.asarray(tg.tensor(2.0, device=device) * 3).shape == ()  # 0-d results are arrays
    assert float(tg.tensor([2.5], device=device)) == 2.5
    assert int(tg.tensor(3, device=device)) == 3
    assert [10, 20, 30][tg.tensor(1, device=device)] == 20  # __index__
    assert bool(tg.tensor([1.0], device=device)) is True
    with pytest.raises(ValueError, match=r"\[2, 2\]"):
        t.item()
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(t)


def test_numpy_on_cpu_and_requires_grad(device: str) -> None:
    t = tg.tensor([1.0, 2.0], device="cpu")
    assert t.numpy().dtype == np.float32
    leaf = tg.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="detach"):
        leaf.numpy()
    np.testing.assert_array_equal(leaf.detach().numpy(), [1.0])
    if device != "cpu":
        with pytest.raises(TypeError, match="cpu"):
            tg.ones(2, device=device).numpy()


def test_repr(device: str) -> None:
    assert repr(tg.tensor([1.0, 2.0], device="cpu")) == "tensor([1., 2.])"
    assert repr(tg.tensor([1, 2])) == "tensor([1, 2])"
    assert repr(tg.tensor([1.0], dtype=tg.float64)) == "tensor([1.], dtype=tg.float64)"
    assert repr(tg.tensor([1], dtype=tg.int32)) == "tensor([1], dtype=tg.int32)"
    assert repr(tg.tensor([1.0], requires_grad=True)) == "tensor([1.], requires_grad=True)"
    y = tg.tensor([1.0], requires_grad=True) * 2
    assert repr(y) == "tensor([2.], grad_fn=<MulBackward0>)"
    assert repr(tg.zeros(0)) == "tensor([])"
    if device != "cpu":
        assert f"device='{tg.Device(device)}'" in repr(tg.ones(1, device=device))


def test_to_cpu_float_double_long(device: str) -> None:
    t = tg.tensor([1.5, -2.5], device=device)
    assert t.to(device) is t  # no copy when nothing changes
    assert t.to(tg.float32) is t
    assert t.to(device, tg.float64).dtype == tg.float64
    assert t.to(dtype=tg.float64, device="cpu").device == "cpu"
    assert t.to(tg.zeros(1, dtype=tg.int64, device=device)).dtype == tg.int64
    assert t.cpu().device == "cpu" and t.cpu().tolist() == [1.5, -2.5]
    assert t.double().dtype == tg.float64
    assert t.long().tolist() == [1, -2] and t.long().dtype == tg.int64
    assert t.int().dtype == tg.int32 and t.half().dtype == tg.float16
    assert t.bool().tolist() == [True, True]
    assert tg.tensor([1, 2], device=device).float().dtype == tg.float32
    assert t.type(tg.float64).dtype == tg.float64
    assert t.to(tg.float32, copy=True) is not t
    assert t.type_as(tg.zeros(1, dtype=tg.float64)).dtype == tg.float64


def test_to_keeps_the_graph(device: str) -> None:
    x = tg.tensor([1.0, 2.0], device=device, requires_grad=True)
    y = x.double() * x.double()
    assert y.dtype == tg.float64 and y.grad_fn is not None
    y.sum().backward()
    assert x.grad.dtype == tg.float32
    np.testing.assert_allclose(np.asarray(x.grad), [2.0, 4.0])
    z = x.cpu() * 3
    z.sum().backward()
    np.testing.assert_allclose(np.asarray(x.grad), [5.0, 7.0])


def test_moving_between_devices_is_differentiable(device: str) -> None:
    x = tg.tensor([1.0, 2.0], device="cpu", requires_grad=True)
    y = x.to(device) * tg.tensor([3.0, 4.0], device=device)
    assert y.device == device and y.requires_grad
    y.sum().backward()
    assert x.grad.device == "cpu"  # the gradient comes back to the leaf's device
    np.testing.assert_allclose(np.asarray(x.grad), [3.0, 4.0])


def test_detach_and_clone(device: str) -> None:
    x = tg.tensor([1.0, 2.0], device=device, requires_grad=True)
    d = x.detach()
    assert not d.requires_grad and d.grad_fn is None and d.is_leaf
    assert d.array is x.array  # shares memory
    c = x.clone()
    assert c.array is not x.array and c.grad_fn is not None and c.requires_grad
    c.detach()[0] = 100.0  # (a view of c's memory)
    assert x.tolist() == [1.0, 2.0]
    (c * 3).sum().backward()
    np.testing.assert_allclose(np.asarray(x.grad), [3.0, 3.0])
    h = x * 2
    h.detach_()
    assert h.grad_fn is None and not h.requires_grad


def test_requires_grad_and_retain_grad(device: str) -> None:
    x = tg.tensor([1.0], device=device)
    assert x.requires_grad_() is x and x.requires_grad
    x.requires_grad_(False)
    assert not x.requires_grad
    x.requires_grad = True
    y = x * 2
    assert y.requires_grad and not y.is_leaf
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad = False
    with pytest.raises(RuntimeError, match="retain_grad"):
        tg.ones(1, device=device).retain_grad()
    for dtype in (tg.float16, tg.float32, tg.float64):
        assert tg.ones(1, dtype=dtype, device=device, requires_grad=True).requires_grad


def test_setitem_fill_copy_without_grad(device: str) -> None:
    t = tg.zeros(2, 3, device=device)
    t[0] = 1.0
    t[1, [0, 2]] = tg.tensor([5.0, 6.0], device=device)
    t[t > 5] = -1.0
    assert t.tolist() == [[1, 1, 1], [5, 0, -1]]
    t.fill_(2.0)
    assert t.tolist() == [[2.0] * 3] * 2
    t.copy_(tg.tensor([1, 2, 3], device=device))
    assert t.tolist() == [[1.0, 2.0, 3.0]] * 2
    t.zero_()
    assert not t.any()
    t.add_(1).mul_(3).sub_(1).div_(2)
    assert t.tolist() == [[1.0] * 3] * 2
    t.add_(tg.ones(3, device=device), alpha=2)
    assert t.tolist() == [[3.0] * 3] * 2


def test_python_numbers_in_ops_keep_their_value_sign_and_dtype(device: str) -> None:
    """On a GPU the 0-d arrays made for Python numbers are shared between ops (made once per
    number, dtype and device): 0.0 and -0.0 must stay apart, and writing into a result must
    not change the next op's number."""
    x = tg.tensor([1.0, -2.0], device=device)
    for _ in range(2):  # the second time, the numbers come from the cache
        assert np.signbit((x * 0.0).tolist()).tolist() == [False, True]
        assert np.signbit((x * -0.0).tolist()).tolist() == [True, False]
        y = x * 0.1
        assert y.tolist() == (np.array([1.0, -2.0], np.float32) * np.float32(0.1)).tolist()
        assert (x.double() * 0.1).tolist() == [0.1, -0.2]
        assert np.signbit(tg.tensor(-0.0, device=device).item())
        y += 5
        assert (tg.tensor([3, 4], device=device) + 1).tolist() == [4, 5]


# ---------------------------------------------------------------------------------------------
# factories
# ---------------------------------------------------------------------------------------------
FACTORIES = {
    "zeros": (lambda **kw: tg.zeros(2, 3, **kw), np.zeros((2, 3))),
    "zeros_tuple": (lambda **kw: tg.zeros((2, 3), **kw), np.zeros((2, 3))),
    "ones": (lambda **kw: tg.ones([2, 3], **kw), np.ones((2, 3))),
    "full": (lambda **kw: tg.full((2, 3), 7.0, **kw), np.full((2, 3), 7.0)),
    "empty": (lambda **kw: tg.empty(2, 3, **kw), None),
    "zeros_like": (lambda **kw: tg.zeros_like(tg.ones(2, 3), **kw),
                   np.zeros((2, 3))),
    "ones_like": (lambda **kw: tg.ones_like(tg.zeros(2, 3), **kw),
                  np.ones((2, 3))),
    "full_like": (lambda **kw: tg.full_like(tg.zeros(2, 3), 2.0, **kw), np.full((2, 3), 2.0)),
    "empty_like": (lambda **kw: tg.empty_like(tg.zeros(2, 3), **kw), None),
    "rand": (lambda **kw: tg.rand(2, 3, **kw), None),
    "randn": (lambda **kw: tg.randn(2, 3, **kw), None),
    "arange": (lambda **kw: tg.arange(0, 3, 0.5, **kw), np.arange(0, 3, 0.5)),
    "linspace": (lambda **kw: tg.linspace(-1, 1, 5, **kw), np.linspace(-1, 1, 5)),
    "eye": (lambda **kw: tg.eye(3, **kw), np.eye(3)),
    "eye_rect": (lambda **kw: tg.eye(2, 4, **kw), np.eye(2, 4)),
    "tensor": (lambda **kw: tg.tensor([[1.0, 2.0]], **kw), np.array([[1.0, 2.0]])),
}


@pytest.mark.parametrize("name", list(FACTORIES))
def test_float_factories(device: str, name: str) -> None:
    make, expected = FACTORIES[name]
    t = make(device=device)
    assert t.device == device
    assert t.dtype == tg.float32
    if expected is not None:
        np.testing.assert_allclose(np.asarray(t), expected)
    t64 = make(device=device, dtype=tg.float64)
    assert t64.dtype == tg.float64
    if expected is not None:
        np.testing.assert_allclose(np.asarray(t64), expected)
    leaf = make(device=device, requires_grad=True)
    assert leaf.requires_grad and leaf.is_leaf
    assert not make(device=device).requires_grad


def test_factory_defaults_and_dtypes(device: str) -> None:
    assert tg.zeros_like(tg.ones(2, dtype=tg.int64)).dtype == tg.int64  # *_like keep dtype
    assert tg.full((2,), 3).dtype == tg.int64
    assert tg.full((2,), True).dtype == tg.bool
    assert tg.full((2,), 3, dtype=tg.float32).tolist() == [3.0, 3.0]
    assert tg.arange(5).dtype == tg.int64 and tg.arange(5).tolist() == [0, 1, 2, 3, 4]
    assert tg.arange(1, 4, device=device).tolist() == [1, 2, 3]
    assert tg.arange(5, 0, -2).tolist() == [5, 3, 1]
    assert tg.arange(0, 1, 0.25).dtype == tg.float32
    assert tg.arange(3, dtype=tg.float64).dtype == tg.float64
    assert tg.eye(2, dtype=tg.int64).tolist() == [[1, 0], [0, 1]]
    assert tg.zeros(0, 3).shape == (0, 3)
    assert tg.ones((), device=device).shape == ()
    assert tg.randint(0, 10, (2, 3), device=device).dtype == tg.int64


def test_random_factories_ranges(device: str) -> None:
    tg.manual_seed(0)
    u = np.asarray(tg.rand(1000, device=device))
    assert 0.0 <= u.min() and u.max() < 1.0 and 0.4 < u.mean() < 0.6
    n = np.asarray(tg.randn(2000, device=device))
    assert abs(n.mean()) < 0.1 and 0.9 < n.std() < 1.1
    r = np.asarray(tg.randint(3, 7, (500,), device=device))
    assert r.min() == 3 and r.max() == 6
    assert set(np.asarray(tg.randint(4, size=(200,))).tolist()) == {0, 1, 2, 3}
    assert sorted(tg.randperm(6, device=device).tolist()) == list(range(6))
    assert tg.randperm(6, device=device).dtype == tg.int64
    filled = np.asarray(tg.empty(2000, device=device).uniform_(-2.0, 3.0))
    assert -2.0 <= filled.min() and filled.max() < 3.0 and 0.3 < filled.mean() < 0.7
    filled = np.asarray(tg.empty(2000, dtype=tg.float64, device=device).normal_(5.0, 0.5))
    assert abs(filled.mean() - 5.0) < 0.05 and 0.45 < filled.std() < 0.55


def test_manual_seed_reproducibility(device: str) -> None:
    def draw() -> list:
        return [np.asarray(tg.randn(4, device=device)), np.asarray(tg.rand(3, device=device)),
                np.asarray(tg.randint(0, 100, (5,), device=device)),
                np.asarray(tg.randperm(8, device=device)),
                np.asarray(tg.zeros(3, device=device).uniform_()),
                np.asarray(tg.zeros(3, device=device).normal_())]

    tg.manual_seed(1234)
    first = draw()
    tg.manual_seed(1234)
    second = draw()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    tg.manual_seed(4321)
    third = draw()
    assert not np.array_equal(first[0], third[0])
    assert not np.array_equal(np.asarray(tg.randn(4, device=device)),
                              np.asarray(tg.randn(4, device=device)))  # successive draws differ
