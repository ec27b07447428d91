"""The backward engine: deep graphs, freeing the graph, accumulation, retain_grad, hooks,
autograd.grad, grad modes, custom Functions, gradcheck itself, higher-order gradients."""

from __future__ import annotations

import contextlib
import gc
import weakref
from typing import Any

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.autograd import (
    AnomalyError,
    Function,
    GradcheckError,
    detect_anomaly,
    gradcheck,
    gradgradcheck,
)


def values(t: tg.Tensor) -> np.ndarray:
    return np.asarray(t.detach())


# ---------------------------------------------------------------------------------------------
# the engine
# ---------------------------------------------------------------------------------------------
def test_deep_chain_has_no_recursion_limit(device: str) -> None:
    x = tg.tensor([1.0, 2.0], dtype=tg.float64, device=device, requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y * 1.0001 + 0.0
    y.sum().backward()
    np.testing.assert_allclose(values(x.grad), [1.0001 ** 10_000] * 2, rtol=1e-9)


def test_deep_retained_graph_can_be_deleted(device: str) -> None:
    x = tg.ones(3, device=device, requires_grad=True)
    y = x
    for _ in range(10_000):
        y = y.tanh()
    y.sum().backward(retain_graph=True)
    first = values(x.grad).copy()
    y.sum().backward()
    np.testing.assert_allclose(values(x.grad), 2 * first, rtol=1e-6)
    ref = weakref.ref(y.grad_fn)
    del y  # dropping a 10,000-node graph must not overflow the C stack either
    gc.collect()
    assert ref() is None


def test_intermediates_are_freed_after_backward(device: str) -> None:
    x = tg.randn(1000, device=device, requires_grad=True)
    hidden = x.exp()  # Exp's backward reads its output, so the engine must keep it until then
    relu = (hidden - 1.5).relu()  # Relu's backward reads its input, hidden - 1.5
    data_ref, tensor_ref = weakref.ref(hidden.array), weakref.ref(hidden)
    fn_ref = weakref.ref(relu.grad_fn)
    mask_ref = weakref.ref(relu.grad_fn.inputs[0].array)
    loss = (hidden * relu).sum()
    del hidden, relu
    gc.collect()
    assert data_ref() is not None and mask_ref() is not None  # alive: the graph holds them
    loss.backward()
    gc.collect()
    assert data_ref() is None, "the intermediate output array outlived backward()"
    assert tensor_ref() is None and fn_ref() is None and mask_ref() is None
    assert loss.grad_fn is not None and loss.grad_fn.inputs is None  # the root let go too
    np.testing.assert_allclose(values(x.grad), _d_loss(x), rtol=1e-5, atol=1e-6)


def _d_loss(x: tg.Tensor) -> np.ndarray:
    """d/dx sum(e^x * relu(e^x - 1.5)) in NumPy."""
    h = np.exp(values(x).astype(np.float64))
    on = h > 1.5
    return h * np.where(on, h - 1.5, 0) + h * on * h


def test_second_backward_raises_and_retain_graph_allows_it(device: str) -> None:
    x = tg.tensor([1.0, -2.0], device=device, requires_grad=True)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    np.testing.assert_allclose(values(x.grad), [2.0, -4.0])
    y.backward()  # allowed: the graph was retained; gradients accumulate
    np.testing.assert_allclose(values(x.grad), [4.0, -8.0])
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()
    np.testing.assert_allclose(values(x.grad), [4.0, -8.0])  # untouched by the failed call


def test_backward_through_a_freed_part_of_a_graph_raises(device: str) -> None:
    x = tg.tensor([1.0, 2.0], device=device, requires_grad=True)
    h = x.exp()
    h.sum().backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        (h * 2).sum().backward()


def test_gradients_accumulate_across_backward_calls(device: str) -> None:
    x = tg.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    (x * 2).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(values(x.grad), [4.0, 6.0, 8.0])
    x.grad = None
    (x ** 3).sum().backward()
    np.testing.assert_allclose(values(x.grad), [3.0, 12.0, 27.0])


def test_grad_is_a_tensor_of_the_leafs_shape_and_dtype(device: str) -> None:
    for dtype in (tg.float32, tg.float64):
        x = tg.ones(2, 3, dtype=dtype, device=device, requires_grad=True)
        (x * 3).sum().backward()
        assert isinstance(x.grad, tg.Tensor)
        assert x.grad.shape == (2, 3) and x.grad.dtype == dtype
        assert x.grad.device == x.device
        assert not x.grad.requires_grad and x.grad.grad_fn is None
        np.testing.assert_allclose(values(x.grad), 3.0)


def test_grad_of_a_leaf_used_through_a_broadcast_and_a_cast(device: str) -> None:
    b = tg.zeros(3, dtype=tg.float64, device=device, requires_grad=True)
    w = tg.ones(4, 3, device=device)
    (w + b.float()).sum().backward()  # broadcast (4, 3) and float64 -> float32 -> float64
    assert b.grad.dtype == tg.float64 and b.grad.shape == (3,)
    np.testing.assert_allclose(values(b.grad), [4.0, 4.0, 4.0])


def test_gradient_buffers_are_not_shared_between_leaves(device: str) -> None:
    a = tg.ones(3, device=device, requires_grad=True)
    b = tg.ones(3, device=device, requires_grad=True)
    (a + b).sum().backward()
    with tg.no_grad():
        a.grad += 1  # in-place on one .grad must not change the other
    np.testing.assert_allclose(values(a.grad), 2.0)
    np.testing.assert_allclose(values(b.grad), 1.0)


def test_non_leaf_grad_is_none_unless_retained(device: str) -> None:
    x = tg.tensor([1.0, 2.0], device=device, requires_grad=True)
    h = x * 3
    kept = x * 4
    kept.retain_grad()
    assert not h.is_leaf and kept.retains_grad and not h.retains_grad
    (h * h + kept * 2).sum().backward()
    assert h.grad is None
    assert isinstance(kept.grad, tg.Tensor)
    np.testing.assert_allclose(values(kept.grad), [2.0, 2.0])
    np.testing.assert_allclose(values(x.grad), 18 * np.array([1.0, 2.0]) + 8)
    x.retain_grad()  # a no-op on a leaf
    assert x.is_leaf


def test_retain_grad_on_the_root(device: str) -> None:
    x = tg.tensor([1.0, 2.0], device=device, requires_grad=True)
    y = x.sum()
    y.retain_grad()
    y.backward()
    np.testing.assert_allclose(values(y.grad), 1.0)


def test_backward_on_a_non_scalar_needs_a_gradient(device: str) -> None:
    x = tg.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    y = x * x
    with pytest.raises(RuntimeError, match=r"scalar outputs.*(\(3,\)|\[3\])"):
        y.backward()
    assert x.grad is None
    with pytest.raises(RuntimeError, match="shape"):
        y.backward(tg.ones(2, device=device))
    assert x.grad is None
    y.backward(tg.tensor([1.0, 0.5, -1.0], device=device))
    np.testing.assert_allclose(values(x.grad), [2.0, 2.0, -6.0])


def test_backward_on_a_leaf_and_on_a_tensor_without_grad(device: str) -> None:
    x = tg.tensor([1.0, 2.0], device=device, requires_grad=True)
    x.backward(tg.tensor([3.0, 4.0], device=device))
    np.testing.assert_allclose(values(x.grad), [3.0, 4.0])
    with pytest.raises(RuntimeError, match="does not require grad"):
        tg.tensor([1.0], device=device).sum().backward()


def test_diamond_graph_accumulates_every_path(device: str) -> None:
    x = tg.tensor(2.0, dtype=tg.float64, device=device, requires_grad=True)
    a = x * 3
    b = x.exp()
    y = a * b + a - b  # x reaches y through a and b, each used twice
    y.backward()
    expected = 3 * np.exp(2) + 3 * 2 * np.exp(2) + 3 - np.exp(2)
    np.testing.assert_allclose(values(x.grad), expected)


def test_inplace_on_a_non_leaf_mutates_it_and_records_the_op(device: str) -> None:
    x = tg.tensor([1.0, 2.0], device=device, requires_grad=True)
    y = x * 2
    alias = y
    y += 1
    y *= x
    assert y is alias and y._version == 2  # PyTorch: the same tensor, changed in place
    np.testing.assert_allclose(values(alias), (2 * values(x) + 1) * values(x))
    y.sum().backward()
    np.testing.assert_allclose(values(x.grad), 4 * values(x) + 1)


# ---------------------------------------------------------------------------------------------
# autograd.grad
# ---------------------------------------------------------------------------------------------
def test_autograd_grad_returns_gradients_without_touching_dot_grad(device: str) -> None:
    x = tg.tensor([1.0, 2.0], device=device, requires_grad=True)
    w = tg.tensor([3.0, -1.0], device=device, requires_grad=True)
    y = (x * w).sum()
    gx, gw = tg.autograd.grad(y, [x, w])
    np.testing.assert_allclose(values(gx), [3.0, -1.0])
    np.testing.assert_allclose(values(gw), [1.0, 2.0])
    assert x.grad is None and w.grad is None
    assert not gx.requires_grad and gx.grad_fn is None  # no create_graph: plain values
    with pytest.raises(RuntimeError, match="second time"):
        tg.autograd.grad(y, x)  # the graph was freed (retain_graph defaults to create_graph)


def test_autograd_grad_with_grad_outputs_and_several_outputs(device: str) -> None:
    x = tg.tensor([1.0, 2.0], device=device, requires_grad=True)
    y1, y2 = x * 2, x * x
    (g,) = tg.autograd.grad([y1, y2], x, [tg.ones(2, device=device),
                                         tg.tensor([1.0, 10.0], device=device)])
    np.testing.assert_allclose(values(g), [2 + 2, 2 + 40])
    (g,) = tg.autograd.grad(x * x, x, grad_outputs=tg.tensor([1.0, 0.0], device=device))
    np.testing.assert_allclose(values(g), [2.0, 0.0])
    with pytest.raises(RuntimeError, match="scalar"):
        tg.autograd.grad(x * x, x)
    with pytest.raises(ValueError, match="grad_outputs"):
        tg.autograd.grad([x * 2, x * 3], x, [tg.ones(2, device=device)])


def test_autograd_grad_create_graph(device: str) -> None:
    x = tg.tensor([0.5, -1.0], dtype=tg.float64, device=device, requires_grad=True)
    y = (x.sin() * x).sum()
    (g,) = tg.autograd.grad(y, x, create_graph=True)
    assert g.requires_grad and g.grad_fn is not None
    np.testing.assert_allclose(values(g), np.cos(values(x)) * values(x) + np.sin(values(x)))
    (gg,) = tg.autograd.grad(g.sum(), x)
    xv = values(x)
    np.testing.assert_allclose(values(gg), -np.sin(xv) * xv + 2 * np.cos(xv))
    assert x.grad is None


def test_autograd_grad_allow_unused(device: str) -> None:
    x = tg.tensor([1.0], device=device, requires_grad=True)
    unused = tg.tensor([1.0], device=device, requires_grad=True)
    y = (x * 2).sum()
    with pytest.raises(RuntimeError, match="allow_unused=True"):
        tg.autograd.grad(y, [x, unused], retain_graph=True)
    gx, gu = tg.autograd.grad(y, [x, unused], allow_unused=True)
    assert gu is None
    np.testing.assert_allclose(values(gx), [2.0])
    with pytest.raises(RuntimeError, match="does not require grad"):
        tg.autograd.grad((x * 2).sum(), tg.tensor([1.0], device=device))


def test_gradient_of_a_non_leaf(device: str) -> None:
    x = tg.tensor([1.0, 2.0], device=device, requires_grad=True)
    h = x * x
    y = (h * 3).sum()
    (gh,) = tg.autograd.grad(y, h)
    np.testing.assert_allclose(values(gh), [3.0, 3.0])


def test_second_derivative_of_cube_via_create_graph(device: str) -> None:
    xv = np.array([-2.0, 0.5, 3.0])
    x = tg.tensor(xv, dtype=tg.float64, device=device, requires_grad=True)
    (dy,) = tg.autograd.grad((x ** 3).sum(), x, create_graph=True)
    np.testing.assert_allclose(values(dy), 3 * xv ** 2)
    (d2y,) = tg.autograd.grad(dy.sum(), x)
    np.testing.assert_allclose(values(d2y), 6 * xv)
    # the same through backward(create_graph=True) into .grad
    (x ** 3).sum().backward(create_graph=True)
    first = x.grad
    assert first.requires_grad
    np.testing.assert_allclose(values(first), 3 * xv ** 2)
    x.grad = None
    first.sum().backward()
    np.testing.assert_allclose(values(x.grad), 6 * xv)
    # third derivative: 6
    (d1,) = tg.autograd.grad((x ** 3).sum(), x, create_graph=True)
    (d2,) = tg.autograd.grad(d1.sum(), x, create_graph=True)
    (d3,) = tg.autograd.grad(d2.sum(), x)
    np.testing.assert_allclose(values(d3), [6.0, 6.0, 6.0])


# ---------------------------------------------------------------------------------------------
# grad modes
# ---------------------------------------------------------------------------------------------
def test_no_grad_records_no_graph(device: str) -> None:
    x = tg.ones(2, device=device, requires_grad=True)
    assert tg.is_grad_enabled()
    with tg.no_grad():
        assert not tg.is_grad_enabled()
        y = x * 2 + x.exp()
        assert y.grad_fn is None and not y.requires_grad and y.is_leaf
        with tg.enable_grad():
            assert tg.is_grad_enabled()
            z = x * 2
            assert z.grad_fn is not None and z.requires_grad
        assert not tg.is_grad_enabled()
    assert tg.is_grad_enabled()
    assert (x * 2).grad_fn is not None


def test_grad_modes_as_decorators(device: str) -> None:
    x = tg.ones(2, device=device, requires_grad=True)

    @tg.no_grad()
    def frozen(t: tg.Tensor) -> tg.Tensor:
        return t * 2

    @tg.enable_grad()
    def recording(t: tg.Tensor) -> tg.Tensor:
        return t * 2

    @tg.set_grad_enabled(False)
    def off(t: tg.Tensor) -> tg.Tensor:
        return t * 2

    assert tg.is_grad_enabled()  # decorating changed nothing
    assert frozen(x).grad_fn is None
    assert off(x).grad_fn is None
    with tg.no_grad():
        assert recording(x).grad_fn is not None
        assert not tg.is_grad_enabled()
    assert frozen.__name__ == "frozen"  # functools.wraps
    assert tg.is_grad_enabled()


def test_set_grad_enabled_as_call_and_context_manager(device: str) -> None:
    x = tg.ones(2, device=device, requires_grad=True)
    try:
        tg.set_grad_enabled(False)
        assert not tg.is_grad_enabled()
        assert (x * 2).grad_fn is None
    finally:
        tg.set_grad_enabled(True)
    assert tg.is_grad_enabled()
    with tg.set_grad_enabled(False):
        assert (x * 2).grad_fn is None
        with tg.set_grad_enabled(True):
            assert (x * 2).grad_fn is not None
        assert not tg.is_grad_enabled()
    assert tg.is_grad_enabled()


def test_grad_mode_is_restored_after_an_exception(device: str) -> None:
    @tg.no_grad()
    def fails() -> None:
        raise KeyError("boom")

    with pytest.raises(KeyError):
        fails()
    assert tg.is_grad_enabled()
    with pytest.raises(ValueError), tg.no_grad():
        raise ValueError
    assert tg.is_grad_enabled()


# ---------------------------------------------------------------------------------------------
# custom Functions
# ---------------------------------------------------------------------------------------------
class Cube(Function):
    """y = x^3.  dy/dx = 3 x^2 (the example in the README)."""

    def forward(self, x: Any) -> Any:
        return x ** 3

    def backward(self, grad_output: tg.Tensor) -> tg.Tensor:
        (x,) = self.inputs
        return grad_output * 3 * x * x


class ScaledAdd(Function):
    """y = a + alpha * b, b broadcast.  dy/da = 1, dy/db = alpha (its shape is left to the
    engine to reduce)."""

    def forward(self, a: Any, b: Any, alpha: float = 1.0) -> Any:
        self.alpha = alpha
        return a + alpha * b

    def backward(self, g: tg.Tensor) -> tuple:
        return (g if self.needs_input_grad[0] else None,
                g * self.alpha if self.needs_input_grad[1] else None)


def test_custom_function_gradcheck_and_gradgradcheck(device: str) -> None:
    xv = np.array([[-1.5, 0.3, 2.0], [0.7, -0.2, 1.1]])
    x = tg.tensor(xv, dtype=tg.float64, device=device, requires_grad=True)
    y = Cube.apply(x)
    np.testing.assert_allclose(values(y), xv ** 3)
    assert y.grad_fn.name() == "CubeBackward"  # (a Function of your own, as PyTorch names it)
    assert gradcheck(Cube.apply, [x])
    assert gradgradcheck(Cube.apply, [x])
    y.sum().backward()
    np.testing.assert_allclose(values(x.grad), 3 * xv ** 2)


def test_custom_function_with_options_and_broadcast_gradient(device: str) -> None:
    a = tg.tensor(np.ones((2, 3)), dtype=tg.float64, device=device, requires_grad=True)
    b = tg.tensor([1.0, 2.0, 3.0], dtype=tg.float64, device=device, requires_grad=True)
    assert gradcheck(lambda p, q: ScaledAdd.apply(p, q, alpha=2.5), [a, b])
    ScaledAdd.apply(a, b, alpha=2.5).sum().backward()
    assert b.grad.shape == (3,)
    np.testing.assert_allclose(values(b.grad), [5.0, 5.0, 5.0])
    frozen = tg.tensor([1.0, 2.0, 3.0], dtype=tg.float64, device=device)
    out = ScaledAdd.apply(a, frozen)
    assert out.grad_fn.needs_input_grad == (True, False)
    with tg.no_grad():
        assert ScaledAdd.apply(a, b).grad_fn is None


def test_function_without_backward_says_so(device: str) -> None:
    class NoBackward(Function):
        def forward(self, x: Any) -> Any:
            return x * 2

    x = tg.ones(2, device=device, requires_grad=True)
    with pytest.raises(NotImplementedError, match="NoBackward is not differentiable"):
        NoBackward.apply(x).sum().backward()


# ---------------------------------------------------------------------------------------------
# hooks
# ---------------------------------------------------------------------------------------------
def test_hook_on_a_leaf_replaces_the_gradient_and_can_be_removed(device: str) -> None:
    x = tg.tensor([1.0, 2.0], device=device, requires_grad=True)
    seen = []

    def double(g: tg.Tensor) -> tg.Tensor:
        seen.append(values(g).copy())
        return g * 2

    handle = x.register_hook(double)
    (x * 3).sum().backward()
    np.testing.assert_allclose(seen[0], [3.0, 3.0])
    np.testing.assert_allclose(values(x.grad), [6.0, 6.0])
    handle.remove()
    x.grad = None
    (x * 3).sum().backward()
    np.testing.assert_allclose(values(x.grad), [3.0, 3.0])
    assert len(seen) == 1
    handle.remove()  # removing twice is harmless


def test_hook_on_a_non_leaf_changes_what_flows_upstream(device: str) -> None:
    x = tg.tensor([1.0, 2.0], device=device, requires_grad=True)
    h = x * x
    observed = []
    h.register_hook(lambda g: observed.append(values(g).copy()))  # returns None: observe only
    h.register_hook(lambda g: g * 0 + 1)  # replaces d loss / d h by ones
    (h * 5).sum().backward()
    np.testing.assert_allclose(observed[0], [5.0, 5.0])
    np.testing.assert_allclose(values(x.grad), 2 * values(x))  # 1 * dh/dx
    assert h.grad is None


def test_hook_must_keep_the_shape(device: str) -> None:
    x = tg.tensor([1.0, 2.0], device=device, requires_grad=True)
    x.register_hook(lambda g: g.sum())
    with pytest.raises(RuntimeError, match="shape"):
        (x * 2).sum().backward()


def test_hook_needs_requires_grad(device: str) -> None:
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        tg.ones(2, device=device).register_hook(lambda g: g)


# ---------------------------------------------------------------------------------------------
# gradcheck itself
# ---------------------------------------------------------------------------------------------
class WrongCube(Function):
    """y = x^3 with a deliberately wrong derivative (2 x^2 instead of 3 x^2)."""

    def forward(self, x: Any) -> Any:
        return x ** 3

    def backward(self, g: tg.Tensor) -> tg.Tensor:
        (x,) = self.inputs
        return g * 2 * x * x


def test_gradcheck_catches_a_wrong_backward(device: str) -> None:
    x = tg.tensor([[0.5, -1.0], [2.0, 1.5]], dtype=tg.float64, device=device,
                  requires_grad=True)
    before = values(x).copy()
    with pytest.raises(GradcheckError) as info:
        gradcheck(WrongCube.apply, [x])
    message = str(info.value)
    assert "input 0" in message and "(2, 2)" in message
    assert "input element (0, 0)" in message and "output element 0" in message
    assert "numerical" in message and "analytical" in message
    assert "0.75" in message and "0.5" in message  # 3 * 0.5^2 vs 2 * 0.5^2
    assert not gradcheck(WrongCube.apply, [x], raise_exception=False)
    np.testing.assert_array_equal(values(x), before)  # the inputs are restored


def test_gradcheck_catches_a_wrong_second_derivative(device: str) -> None:
    class FirstOrderOnly(Function):
        """y = x^3 whose backward is right but not differentiable (a constant)."""

        def forward(self, x: Any) -> Any:
            return x ** 3

        def backward(self, g: tg.Tensor) -> tg.Tensor:
            (x,) = self.inputs
            return g * tg.tensor(3 * np.asarray(x.detach()) ** 2, device=g.device)

    x = tg.tensor([0.5, -1.0], dtype=tg.float64, device=device, requires_grad=True)
    assert gradcheck(FirstOrderOnly.apply, [x])
    with pytest.raises(GradcheckError):
        gradgradcheck(FirstOrderOnly.apply, [x])


def test_gradcheck_needs_float64(device: str) -> None:
    x = tg.ones(2, device=device, requires_grad=True)
    with pytest.raises(ValueError, match="float64"):
        gradcheck(tg.exp, [x])


def test_gradcheck_with_several_inputs_and_outputs(device: str) -> None:
    a = tg.tensor([0.5, 1.5], dtype=tg.float64, device=device, requires_grad=True)
    b = tg.tensor([2.0], dtype=tg.float64, device=device, requires_grad=True)
    c = tg.tensor([3.0], dtype=tg.float64, device=device)  # a constant input
    assert gradcheck(lambda p, q, r: (p * q * r, (p.exp() * q).sum()), [a, b, c])


# ---------------------------------------------------------------------------------------------
# anomaly detection
# ---------------------------------------------------------------------------------------------
def test_detect_anomaly_names_the_op_and_phase(device: str) -> None:
    x = tg.tensor([-1.0, 4.0], device=device, requires_grad=True)
    with pytest.raises(AnomalyError, match="Log produced NaN in its forward pass"), \
            np.errstate(invalid="ignore"), detect_anomaly():
        x.log()
    z = tg.tensor([0.0, 4.0], device=device, requires_grad=True)
    with pytest.raises(AnomalyError, match=r"Sqrt produced Inf in its backward pass.*test_"), \
            np.errstate(divide="ignore"), detect_anomaly():
        z.sqrt().sum().backward()
    with np.errstate(invalid="ignore"):  # outside the block anomaly mode is off again
        assert bool(x.log().isnan().any())


# ---------------------------------------------------------------------------------------------
# gradients at ties (not differentiable there: these are the documented conventions)
# ---------------------------------------------------------------------------------------------
def test_gradient_at_ties(device: str) -> None:
    x = tg.tensor([[1.0, 3.0, 3.0], [2.0, 0.0, 0.0]], device=device, requires_grad=True)
    x.amax(1).sum().backward()  # amax/amin share the gradient evenly among the tied elements
    np.testing.assert_allclose(values(x.grad), [[0, 0.5, 0.5], [1, 0, 0]])
    x.grad = None
    x.amin().backward()
    np.testing.assert_allclose(values(x.grad), [[0, 0, 0], [0, 0.5, 0.5]])
    x.grad = None
    x.max(1).values.sum().backward()  # max(dim) sends it to the index it returns
    np.testing.assert_allclose(values(x.grad), [[0, 1, 0], [1, 0, 0]])
    x.grad = None
    x.min(dim=1)[0].sum().backward()
    np.testing.assert_allclose(values(x.grad), [[1, 0, 0], [0, 1, 0]])
    a = tg.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    b = tg.tensor([1.0, 5.0, 0.0], device=device, requires_grad=True)
    a.maximum(b).sum().backward()  # maximum/minimum split a tie 1/2 each
    np.testing.assert_allclose(values(a.grad), [0.5, 0, 1])
    np.testing.assert_allclose(values(b.grad), [0.5, 1, 0])
    a.grad = b.grad = None
    a.minimum(b).sum().backward()
    np.testing.assert_allclose(values(a.grad), [0.5, 1, 0])
    np.testing.assert_allclose(values(b.grad), [0.5, 0, 1])


def test_gradient_at_kinks(device: str) -> None:
    x = tg.tensor([-1.0, 0.0, 2.0], device=device, requires_grad=True)
    (x.relu() + x.abs() + x.clamp(0.0, 2.0)).sum().backward()
    # relu'(0) = 0 and abs'(0) = 0 (as PyTorch); clamp passes the gradient at its bounds
    np.testing.assert_allclose(values(x.grad), [0 - 1 + 0, 0 + 0 + 1, 1 + 1 + 1])


def test_prod_gradient_with_zeros(device: str) -> None:
    x = tg.tensor([[2.0, 0.0, 3.0], [0.0, 0.0, 5.0], [1.0, 2.0, 4.0]], dtype=tg.float64,
                  device=device, requires_grad=True)
    x.prod(1).sum().backward()
    np.testing.assert_allclose(values(x.grad), [[0, 6, 0], [0, 0, 0], [8, 4, 2]])


@pytest.mark.parametrize("outer", ["none", "no_grad"])
def test_inference_mode_as_pytorch(outer: str) -> None:
    """inference_mode() records nothing and says so; inference_mode(False) records again (even
    inside no_grad); both restore the modes on exit and work as decorators."""
    x = tg.ones(2, requires_grad=True)
    ctx = tg.no_grad() if outer == "no_grad" else contextlib.nullcontext()
    with ctx:
        before = tg.is_grad_enabled()
        with tg.inference_mode():
            assert not (x * 2).requires_grad and tg.is_inference_mode_enabled()
            with tg.inference_mode(False):
                assert (x * 2).requires_grad and not tg.is_inference_mode_enabled()
            assert tg.is_inference_mode_enabled() and not tg.is_grad_enabled()
        assert tg.is_grad_enabled() == before and not tg.is_inference_mode_enabled()

    @tg.inference_mode()
    def evaluate() -> bool:
        return (x * 2).requires_grad

    assert evaluate() is False and tg.is_grad_enabled()
