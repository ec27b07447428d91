"""detect_anomaly names the op and phase; Tensor hooks fire, replace gradients, and stop."""

import pytest

import tinygrad_edu as tg

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the NaNs are on purpose


def test_anomaly_in_forward_names_op_and_line():
    x = tg.tensor([1.0, -1.0], requires_grad=True)
    with tg.autograd.detect_anomaly():
        with pytest.raises(tg.autograd.AnomalyError) as info:
            x.log()  # NaN for -1
    msg = str(info.value)
    assert "Log" in msg and "forward" in msg and "NaN" in msg
    assert "test_anomaly_hooks.py" in msg


def test_anomaly_in_backward_names_op():
    x = tg.tensor([0.0, 1.0], requires_grad=True)
    y = None
    with tg.autograd.detect_anomaly():
        y = x.sqrt().sum()
        with pytest.raises(tg.autograd.AnomalyError) as info:
            y.backward()
    msg = str(info.value)
    assert "Sqrt" in msg and "backward" in msg and "Inf" in msg


def test_no_anomaly_outside_the_context():
    x = tg.tensor([-1.0], requires_grad=True)
    assert x.log().isnan().all().item()


def test_tensor_hooks_order_replace_and_remove():
    x = tg.ones(3, requires_grad=True)
    calls = []
    h1 = x.register_hook(lambda g: calls.append("first"))
    h2 = x.register_hook(lambda g: (calls.append("second"), g * 10)[1])
    (x * 2).sum().backward()
    assert calls == ["first", "second"]
    assert x.grad.tolist() == [20.0, 20.0, 20.0]
    h1.remove()
    h2.remove()
    x.grad = None
    (x * 2).sum().backward()
    assert calls == ["first", "second"]
    assert x.grad.tolist() == [2.0, 2.0, 2.0]


def test_hook_on_non_leaf_changes_upstream_gradient():
    x = tg.ones(2, requires_grad=True)
    y = x * 3
    y.register_hook(lambda g: g * 0)
    (y * y).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0]
