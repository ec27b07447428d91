"""Custom autograd Functions in PyTorch's style (issue 14, item 5): `@staticmethod forward(ctx,
...)` and `backward(ctx, ...)` on Tensors, `ctx.save_for_backward`, `ctx.saved_tensors`,
`ctx.needs_input_grad`, `ctx.mark_non_differentiable`, `Function.apply`.

Each snippet is tutorial code; where PyTorch is installed the same code runs on it and the
results must agree, otherwise the expected values are PyTorch's documented ones."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from libraries import each_library, torch  # tests/compat/libraries.py

import tinygrad_edu as tg
from tinygrad_edu.autograd import gradcheck, gradgradcheck


def to_list(t):
    return t.detach().cpu().tolist()


# ---------------------------------------------------------------------------------------------
# "Learning PyTorch with Examples": polynomial_custom_function.py, with the import changed
# ---------------------------------------------------------------------------------------------
def polynomial_custom_function(torch):  # noqa: ANN001 - the module: tinygrad_edu or torch
    """The tutorial's script as it is (printing left out), for `torch` either library."""

    class LegendrePolynomial3(torch.autograd.Function):
        """We can implement our own custom autograd Functions by subclassing
        torch.autograd.Function and implementing the forward and backward passes
        which operate on Tensors."""

        @staticmethod
        def forward(ctx, input):
            ctx.save_for_backward(input)
            return 0.5 * (5 * input ** 3 - 3 * input)

        @staticmethod
        def backward(ctx, grad_output):
            input, = ctx.saved_tensors
            return grad_output * 1.5 * (5 * input ** 2 - 1)

    dtype = torch.float
    device = torch.device("cpu")

    x = torch.linspace(-math.pi, math.pi, 2000, device=device, dtype=dtype)
    y = torch.sin(x)

    a = torch.full((), 0.0, device=device, dtype=dtype, requires_grad=True)
    b = torch.full((), -1.0, device=device, dtype=dtype, requires_grad=True)
    c = torch.full((), 0.0, device=device, dtype=dtype, requires_grad=True)
    d = torch.full((), 0.3, device=device, dtype=dtype, requires_grad=True)

    learning_rate = 5e-6
    losses = []
    for t in range(2000):
        P3 = LegendrePolynomial3.apply
        y_pred = a + b * P3(c + d * x)
        loss = (y_pred - y).pow(2).sum()
        if t % 100 == 99:
            losses.append(loss.item())
        loss.backward()
        with torch.no_grad():
            a -= learning_rate * a.grad
            b -= learning_rate * b.grad
            c -= learning_rate * c.grad
            d -= learning_rate * d.grad
            a.grad = None
            b.grad = None
            c.grad = None
            d.grad = None
    y_pred = a + b * P3(c + d * x)  # (walk the graph before backward frees it)
    node = y_pred.grad_fn.next_functions[1][0].next_functions[1][0]  # P3's node
    return [a.item(), b.item(), c.item(), d.item()], losses, node


def test_polynomial_custom_function_converges_as_in_pytorch():
    coefficients, losses, node = polynomial_custom_function(tg)
    if torch is not None:
        expected, expected_losses, torch_node = polynomial_custom_function(torch)
        assert node.name() == torch_node.name() == "LegendrePolynomial3Backward"
    else:  # the tutorial's printed result
        expected = [0.0, -2.2085, 0.0, 0.2555]
        expected_losses = None
    np.testing.assert_allclose(coefficients, expected, rtol=1e-3, atol=1e-4)
    assert losses[-1] < losses[0] / 5  # it did learn
    if expected_losses is not None:
        np.testing.assert_allclose(losses, expected_losses, rtol=1e-3)


# ---------------------------------------------------------------------------------------------
# The same small Functions on both libraries
# ---------------------------------------------------------------------------------------------
def functions(lib):  # noqa: ANN001
    """Custom Functions written against `lib.autograd.Function` (either library)."""

    class MulAdd(lib.autograd.Function):
        """(x * y, x + alpha * y): two tensor inputs, a number, two outputs."""

        @staticmethod
        def forward(ctx, x, y, alpha):
            ctx.save_for_backward(x, y)
            ctx.alpha = alpha
            ctx.seen_needs = ctx.needs_input_grad
            return x * y, x + alpha * y

        @staticmethod
        def backward(ctx, g_prod, g_sum):
            x, y = ctx.saved_tensors
            gx = gy = None
            if ctx.needs_input_grad[0]:
                gx = g_prod * y + g_sum
            if ctx.needs_input_grad[1]:
                gy = g_prod * x + g_sum * ctx.alpha
            return gx, gy, None

    class ExpSavingOutput(lib.autograd.Function):
        """PyTorch's docs example: forward saves its own output for backward."""

        @staticmethod
        def forward(ctx, x):
            result = x.exp()
            ctx.save_for_backward(result)
            return result

        @staticmethod
        def backward(ctx, grad_output):
            (result,) = ctx.saved_tensors
            return grad_output * result

    class Cube(lib.autograd.Function):
        """x^3, with a backward in Tensor ops: differentiable again."""

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x ** 2

    class DoubleWithArgmax(lib.autograd.Function):
        """(2 x, argmax of x): the index is not differentiable."""

        @staticmethod
        def forward(ctx, x):
            index = x.argmax()
            ctx.mark_non_differentiable(index)
            return x * 2, index

        @staticmethod
        def backward(ctx, g_double, g_index):
            ctx.received = (g_double, g_index)
            return g_double * 2

    class ScaleSplit(lib.autograd.Function):
        """PyTorch 2's split style: forward without ctx, then setup_context."""

        @staticmethod
        def forward(x, k):
            return x * k

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.k = inputs[1]

        @staticmethod
        def backward(ctx, g):
            return g * ctx.k, None

    return MulAdd, ExpSavingOutput, Cube, DoubleWithArgmax, ScaleSplit


@each_library
def test_several_inputs_and_outputs_and_a_number(lib):
    MulAdd, *_ = functions(lib)
    x = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = lib.tensor([0.5, -1.0, 4.0], requires_grad=True)
    prod, total = MulAdd.apply(x, y, 2.0)
    assert prod.grad_fn is total.grad_fn  # one node, two outputs
    ctx = prod.grad_fn
    assert ctx.seen_needs == (True, True, False)  # one per forward argument
    assert ctx.alpha == 2.0  # attributes kept on ctx
    assert [i for _, i in prod.grad_fn.next_functions] == [0, 0]
    assert len(ctx.next_functions) == 2  # the tensor inputs only
    (prod.sum() + 3 * total.sum()).backward()
    assert to_list(x.grad) == [0.5 + 3, -1.0 + 3, 4.0 + 3]
    assert to_list(y.grad) == [1.0 + 6, 2.0 + 6, 3.0 + 6]


@each_library
def test_only_one_output_used_gets_zeros_for_the_other(lib):
    MulAdd, *_ = functions(lib)
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    y = lib.tensor([3.0, 4.0])
    prod, total = MulAdd.apply(x, y, 1.0)
    assert not y.requires_grad
    total.sum().backward()  # prod gets no gradient: backward receives zeros for it
    assert to_list(x.grad) == [1.0, 1.0]


def test_outputs_of_several_output_function_index_in_next_functions():
    MulAdd, *_ = functions(tg)
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    prod, total = MulAdd.apply(x, x * 1, 1.0)
    z = total + prod
    assert [(n.name(), i) for n, i in z.grad_fn.next_functions] == [
        ("MulAddBackward", 1), ("MulAddBackward", 0)]


@each_library
def test_mark_non_differentiable_and_materialized_gradients(lib):
    *_, DoubleWithArgmax, _ = functions(lib)
    x = lib.tensor([3.0, 1.0, 2.0], requires_grad=True)
    doubled, index = DoubleWithArgmax.apply(x)
    assert doubled.requires_grad and not index.requires_grad and index.grad_fn is None
    assert index.item() == 0
    ctx = doubled.grad_fn
    (doubled * lib.tensor([1.0, 10.0, 100.0])).sum().backward()
    assert to_list(x.grad) == [2.0, 20.0, 200.0]
    g_double, g_index = ctx.received  # (attributes set on ctx stay after backward)
    assert to_list(g_index) == 0 and g_index.dtype == lib.int64  # zeros for the index


def test_set_materialize_grads_false_gives_none():
    class Two(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, g2, g3):
            ctx.received = (g2, g3)
            return g2 * 2

    x = tg.tensor([1.0], requires_grad=True)
    a, _ = Two.apply(x)
    ctx = a.grad_fn
    a.sum().backward()
    assert ctx.received[1] is None and to_list(x.grad) == [2.0]


@each_library
def test_forward_runs_without_grad_and_outputs_join_the_graph(lib):
    seen = {}

    class Probe(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            seen["grad_enabled"] = lib.is_grad_enabled()
            y = x * 2
            seen["inner_requires_grad"] = y.requires_grad
            return y

        @staticmethod
        def backward(ctx, g):
            return g * 2

    x = lib.tensor([1.0], requires_grad=True)
    y = Probe.apply(x)
    assert seen == {"grad_enabled": False, "inner_requires_grad": False}
    assert y.requires_grad and y.grad_fn.name() == "ProbeBackward"
    assert Probe.apply(x.detach()).grad_fn is None  # nothing requires grad: no graph
    with lib.no_grad():
        assert Probe.apply(x).grad_fn is None


@each_library
def test_setup_context_style(lib):
    *_, ScaleSplit = functions(lib)
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    ScaleSplit.apply(x, 3.0).sum().backward()
    assert to_list(x.grad) == [3.0, 3.0]


def test_node_name_and_repr():
    *_, Cube, _, _ = functions(tg)
    y = Cube.apply(tg.tensor([2.0], requires_grad=True))
    assert y.grad_fn.name() == "CubeBackward"
    assert re.fullmatch(r"<tinygrad_edu\.autograd\.CubeBackward object at 0x[0-9a-f]+>",
                        repr(y.grad_fn))
    assert type(y.grad_fn).__name__ == "CubeBackward"
    assert isinstance(y.grad_fn, tg.autograd.BackwardCFunction)
    assert "grad_fn=<CubeBackward>" in repr(y)


# ---------------------------------------------------------------------------------------------
# PyTorch's errors
# ---------------------------------------------------------------------------------------------
@each_library
def test_wrong_number_of_gradients(lib):
    class Bad(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * y

        @staticmethod
        def backward(ctx, g):
            return g

    x = lib.tensor([1.0], requires_grad=True)
    y = lib.tensor([2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=re.escape(
            "function BadBackward returned an incorrect number of gradients (expected 2, got 1)")):
        Bad.apply(x, y).sum().backward()
    assert x.grad is None and y.grad is None


@each_library
def test_gradient_for_a_non_tensor_input(lib):
    class Scale(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, k):
            return x * k

        @staticmethod
        def backward(ctx, g):
            return g, g

    x = lib.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="returned a gradient different than None at "
                                           "position 2, but the corresponding forward input "
                                           "was not a Variable"):
        Scale.apply(x, 3.0).sum().backward()


@each_library
def test_extra_none_gradients_are_allowed(lib):
    class Scale(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, k):
            return x * k

        @staticmethod
        def backward(ctx, g):
            return g * 3, None, None

    x = lib.tensor([1.0], requires_grad=True)
    Scale.apply(x, 3.0).sum().backward()
    assert to_list(x.grad) == [3.0]


@each_library
def test_saved_tensor_changed_in_place_raises(lib):
    *_, Cube, _, _ = functions(lib)
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1
    y = Cube.apply(h)
    h.add_(1)  # the saved input changes after forward used it
    with pytest.raises(RuntimeError, match="modified by an inplace operation.*is at version 1; "
                                           "expected version 0 instead"):
        y.sum().backward()


@each_library
def test_saved_tensors_after_backward_raise(lib):
    *_, Cube, _, _ = functions(lib)
    y = Cube.apply(lib.tensor([1.0], requires_grad=True))
    y.sum().backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        y.grad_fn.saved_tensors
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        y.sum().backward()


def test_save_for_backward_refuses_non_tensors():
    class Bad(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x, 3.0)
            return x

        @staticmethod
        def backward(ctx, g):
            return g

    with pytest.raises(TypeError, match="save_for_backward can only save variables, but "
                                        "argument 1 is of type float"):
        Bad.apply(tg.tensor([1.0], requires_grad=True))


# ---------------------------------------------------------------------------------------------
# gradcheck, higher-order gradients, devices
# ---------------------------------------------------------------------------------------------
def test_gradcheck_and_gradgradcheck_in_float64(device):
    MulAdd, ExpSavingOutput, Cube, _, ScaleSplit = functions(tg)
    rng = np.random.default_rng(0)
    x = tg.tensor(rng.standard_normal((2, 3)), dtype=tg.float64, device=device,
                  requires_grad=True)
    y = tg.tensor(rng.standard_normal((2, 3)), dtype=tg.float64, device=device,
                  requires_grad=True)
    assert gradcheck(Cube.apply, (x,))
    assert gradgradcheck(Cube.apply, (x,))
    assert gradcheck(ExpSavingOutput.apply, (x,))
    assert gradgradcheck(ExpSavingOutput.apply, (x,))
    assert gradcheck(lambda a, b: MulAdd.apply(a, b, 0.5), (x, y))
    assert gradcheck(ScaleSplit.apply, (x, 2.5))


def test_gradcheck_finds_a_wrong_backward():
    class WrongCube(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 2 * x ** 2  # should be 3 x^2

    x = tg.tensor([0.5, 1.5], dtype=tg.float64, requires_grad=True)
    assert not gradcheck(WrongCube.apply, (x,), raise_exception=False)


@each_library
def test_create_graph_double_backward_through_a_custom_function(lib):
    _, ExpSavingOutput, Cube, _, _ = functions(lib)
    x = lib.tensor([0.5, -1.0, 2.0], dtype=lib.float64, requires_grad=True)
    (dy,) = lib.autograd.grad(Cube.apply(x).sum(), x, create_graph=True)
    assert dy.requires_grad
    (d2y,) = lib.autograd.grad(dy.sum(), x)
    np.testing.assert_allclose(to_list(dy), [0.75, 3.0, 12.0])
    np.testing.assert_allclose(to_list(d2y), [3.0, -6.0, 12.0])  # 6 x
    # through a saved output: d2/dx2 exp(x) = exp(x)
    (de,) = lib.autograd.grad(ExpSavingOutput.apply(x).sum(), x, create_graph=True)
    (d2e,) = lib.autograd.grad(de.sum(), x)
    np.testing.assert_allclose(to_list(d2e), np.exp([0.5, -1.0, 2.0]))


def test_custom_function_on_every_device(device):
    MulAdd, *_ = functions(tg)
    x = tg.tensor([1.0, 2.0], device=device, requires_grad=True)
    y = tg.tensor([3.0, 4.0], device=device, requires_grad=True)
    prod, total = MulAdd.apply(x, y, 2.0)
    assert prod.device == x.device
    (prod + total).sum().backward()
    assert x.grad.device == x.device
    assert to_list(x.grad) == [4.0, 5.0] and to_list(y.grad) == [3.0, 4.0]


def test_devices_mixed_in_a_custom_function_raise(device):
    if device == "cpu":
        pytest.skip("needs a second device")
    MulAdd, *_ = functions(tg)
    x = tg.tensor([1.0], device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match="MulAdd: expected all tensors to be on the same "
                                           "device"):
        MulAdd.apply(x, tg.tensor([1.0]), 1.0)


def test_graph_is_freed_after_backward():
    """No reference cycle keeps a custom node's saved tensors after backward."""
    import gc
    import weakref

    *_, Cube, _, _ = functions(tg)
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    watch = weakref.ref(h)
    y = Cube.apply(h)
    del h
    gc.disable()
    try:
        y.sum().backward()
        assert watch() is None  # the saved input is gone with the graph
    finally:
        gc.enable()


@each_library
def test_retain_grad_and_hooks_on_the_outputs_of_a_several_output_function(lib):
    MulAdd, *_ = functions(lib)
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    y = lib.tensor([3.0, 4.0], requires_grad=True)
    prod, total = MulAdd.apply(x, y, 1.0)
    prod.retain_grad()
    total.register_hook(lambda g: g * 10)  # total's gradient is ten times larger
    (prod * 2 + total).sum().backward()
    assert to_list(prod.grad) == [2.0, 2.0]
    assert to_list(x.grad) == [2 * 3.0 + 10, 2 * 4.0 + 10]
    assert to_list(y.grad) == [2 * 1.0 + 10, 2 * 2.0 + 10]
