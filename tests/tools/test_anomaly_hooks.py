"""detect_anomaly names the op and phase; Tensor and Module hooks fire, replace values, and stop.
All on every device: outside detect_anomaly nothing is read back from the GPU."""

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the NaNs are on purpose


def test_anomaly_in_forward_names_op_and_line(device):
    x = tg.tensor([1.0, -1.0], device=device, requires_grad=True)
    with tg.autograd.detect_anomaly():
        with pytest.raises(tg.autograd.AnomalyError) as info:
            x.log()  # NaN for -1
    msg = str(info.value)
    assert "Log" in msg and "forward" in msg and "NaN" in msg
    assert "test_anomaly_hooks.py" in msg


def test_anomaly_in_backward_names_op(device):
    x = tg.tensor([0.0, 1.0], device=device, requires_grad=True)
    with tg.autograd.detect_anomaly():
        y = x.sqrt().sum()  # sqrt(0) = 0 is fine forward; its derivative 1/(2 sqrt 0) is Inf
        with pytest.raises(tg.autograd.AnomalyError) as info:
            y.backward()
    msg = str(info.value)
    assert "Sqrt" in msg and "backward" in msg and "Inf" in msg


def test_anomaly_in_forward_of_an_op_without_grad(device):
    x = tg.tensor([1.0, 0.0], device=device)  # no graph: the forward is still checked
    with tg.autograd.detect_anomaly(), pytest.raises(tg.autograd.AnomalyError, match="Div.*Inf"):
        tg.tensor([1.0, 1.0], device=device) / x


def test_no_anomaly_check_outside_the_context(device, no_host_sync):
    x = tg.tensor([-1.0, 0.0], device=device, requires_grad=True)
    with no_host_sync():  # no NaN check, so no read back from the GPU, in forward or backward
        y = x.log()
        y.sum().backward()
    assert np.isnan(y.tolist()[0]) and y.tolist()[1] == -np.inf
    assert x.grad.tolist() == [-1.0, np.inf]


def test_detect_anomaly_turns_on_value_checks_on_every_device(device):
    """Bad index values: always an error on the CPU; on the GPU checking needs a read back, so
    it happens only inside detect_anomaly (CuPy would wrap the index around otherwise)."""
    x = tg.arange(4.0, device=device)
    index = tg.tensor([1, 7], device=device)
    if device == "cpu":
        with pytest.raises(IndexError, match="index 7 is out of bounds"):
            x[index]
    with tg.autograd.detect_anomaly(), pytest.raises(IndexError, match="index 7 is out of bounds"):
        x[index]


def test_tensor_hooks_order_replace_and_remove(device, no_host_sync):
    x = tg.ones(3, device=device, requires_grad=True)
    calls = []
    h1 = x.register_hook(lambda g: calls.append(("first", g.device)))
    h2 = x.register_hook(lambda g: (calls.append(("second", g.device)), g * 10)[1])
    with no_host_sync():
        (x * 2).sum().backward()
    assert calls == [("first", tg.device(device)), ("second", tg.device(device))]
    assert x.grad.device == tg.device(device)
    assert x.grad.tolist() == [20.0, 20.0, 20.0]
    h1.remove()
    h2.remove()
    x.grad = None
    (x * 2).sum().backward()
    assert len(calls) == 2
    assert x.grad.tolist() == [2.0, 2.0, 2.0]


def test_hook_on_non_leaf_changes_upstream_gradient(device):
    x = tg.ones(2, device=device, requires_grad=True)
    y = x * 3
    y.register_hook(lambda g: g * 0)
    (y * y).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0]


def test_hook_returning_a_wrong_shape_is_a_clear_error(device):
    x = tg.ones(2, device=device, requires_grad=True)
    x.register_hook(lambda g: tg.ones(3, device=device))
    with pytest.raises(RuntimeError,
                       match=r"hook returned a gradient of shape (\(3,\)|tg\.Size\(\[3\]\))"):
        (x * 2).sum().backward()


def test_module_hooks_see_and_replace_activations_on_the_device(device, no_host_sync):
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)).to(device)
    seen = {}
    pre = model[2].register_forward_pre_hook(lambda m, args: (args[0] * 0,))
    post = model[1].register_forward_hook(lambda m, args, out: seen.setdefault("relu", out))
    x = tg.randn(5, 3, device=device)
    with no_host_sync():  # hooks are plain Python around the ops: no read back
        out = model(x)
        out.sum().backward()
    relu = seen["relu"]
    assert relu.device == out.device == tg.device(device) and relu.shape == (5, 4)
    assert relu.min().item() >= 0.0
    # the pre-hook zeroed the last layer's input: the output is its bias, broadcast
    bias = model[2].bias.detach()
    np.testing.assert_allclose(out.detach().cpu().numpy(), np.tile(bias.cpu().numpy(), (5, 1)))
    assert model[0].weight.grad.abs().sum().item() == 0.0  # nothing flows back past the zeros
    pre.remove()
    post.remove()
    seen.clear()
    model(x)
    assert seen == {}
