"""`.data` is a Tensor, as in PyTorch: the same memory, outside autograd (issue 14, item 4).

Each snippet is course or tutorial code; where PyTorch is installed the same code runs on it
and the results must agree, otherwise the expected values are PyTorch's documented ones."""

from __future__ import annotations

import numpy as np
import pytest
from libraries import LIBRARIES, each_library  # tests/compat/libraries.py

import tinygrad_edu as tg


def to_list(t):
    return t.detach().cpu().tolist()


def test_data_is_a_detached_tensor_sharing_memory(device):
    w = tg.ones(3, device=device, requires_grad=True)
    d = w.data
    assert isinstance(d, tg.Tensor) and not d.requires_grad and d.is_leaf
    assert d.grad_fn is None and d.device == w.device and d.dtype == w.dtype
    d[0] = 5.0  # no error: autograd does not see .data
    assert to_list(w) == [5.0, 1.0, 1.0]
    assert w.array is d.array  # the backend array, shared


@each_library
def test_init_through_data_and_a_manual_sgd_step(lib):
    """`w.data.normal_()`, `w.data.fill_()`, `x.data -= lr * x.grad.data`,
    `w.grad.data.zero_()`: the tutorials' manual training loop."""
    lib.manual_seed(0)
    w = lib.zeros(2, 3, requires_grad=True)
    w.data.normal_(0, 0.02)
    assert 0 < float(w.detach().abs().sum()) < 1  # changed in place, no error on a leaf
    b = lib.zeros(3, requires_grad=True)
    b.data.fill_(0.5)
    x = lib.tensor([[1.0, 2.0]])
    before = to_list(w)
    for _ in range(2):
        loss = ((x @ w + b) ** 2).sum()
        loss.backward()
        grad = to_list(w.grad)
        w.data -= 0.1 * w.grad.data
        b.data.sub_(0.1 * b.grad.data)
        w.grad.data.zero_()
        b.grad.data.zero_()
        assert to_list(w.grad) == [[0.0] * 3] * 2
        expected = (np.array(before) - 0.1 * np.array(grad)).tolist()
        np.testing.assert_allclose(to_list(w), expected, rtol=1e-6)
        before = to_list(w)
    assert w.is_leaf and w.requires_grad


@each_library
def test_max_of_outputs_data_and_running_loss(lib):
    outputs = lib.tensor([[0.1, 2.0, -1.0], [3.0, 0.0, 1.0]], requires_grad=True)
    values, predicted = lib.max(outputs.data, 1)
    assert to_list(values) == [2.0, 3.0] and to_list(predicted) == [1, 0]
    assert not values.requires_grad
    running_loss = 0.0
    for _ in range(3):
        loss = (outputs ** 2).mean()
        running_loss += loss.data
    assert isinstance(running_loss, type(loss)) and not running_loss.requires_grad
    assert running_loss.item() == pytest.approx(3 * loss.item())


@each_library
def test_assigning_data_replaces_the_values(lib):
    x = lib.zeros(2, 2, requires_grad=True)
    x.data = lib.ones(3)  # shape may change, as in PyTorch
    assert to_list(x) == [1.0, 1.0, 1.0] and x.requires_grad and x.is_leaf
    (x * 2).sum().backward()
    assert to_list(x.grad) == [2.0, 2.0, 2.0]
    with pytest.raises(TypeError, match="data has to be a tensor"):
        x.data = [1.0, 2.0]


def test_in_place_changes_through_data_are_not_version_checked():
    """PyTorch's documented hazard of .data: the change is invisible to autograd, so the
    backward below uses the new values without an error (detach() would share the version
    counter and raise)."""
    for lib in LIBRARIES:
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = x.exp()
        y.data.mul_(0)  # exp's backward reads y
        y.sum().backward()
        assert to_list(x.grad) == [0.0, 0.0]
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = x.exp()
        y.detach().mul_(0)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


def test_parameter_data_is_a_tensor_and_module_code_works(device):
    layer = tg.nn.Linear(3, 2).to(device)
    layer.weight.data.uniform_(-0.1, 0.1)
    layer.bias.data.zero_()
    assert float(layer.weight.abs().max()) <= 0.1 and to_list(layer.bias) == [0.0, 0.0]
    assert isinstance(layer.weight.data, tg.Tensor)
    assert not isinstance(layer.weight.data, tg.nn.Parameter)
