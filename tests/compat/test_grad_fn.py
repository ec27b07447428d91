"""`grad_fn` as PyTorch shows it (issue 14, items 5 and 6): the node names ("MulBackward0"),
`next_functions` ((node, output index) pairs, `AccumulateGrad` for a leaf, `(None, 0)` for
a tensor that does not require grad) and their printed form.

Where PyTorch is installed each expression runs on both libraries and the graphs, walked a
few levels deep, must have the same names and shape; otherwise the top node's name is checked
against the name PyTorch 2.13 gives."""

from __future__ import annotations

import re

import numpy as np
import pytest

import tinygrad_edu as tg

try:
    import torch
except ImportError:  # PyTorch is an optional reference
    torch = None


def structure(node, depth: int = 4):
    """(name, ((child structure, output index), ...)) down to `depth` levels."""
    if node is None:
        return None
    if depth == 0:
        return node.name()
    return (node.name(), tuple((structure(child, depth - 1), index)
                               for child, index in node.next_functions))


def leaves(lib, requires_grad: bool = True):
    rng = np.random.default_rng(0)
    a = lib.tensor(rng.uniform(0.5, 2.0, (3, 4)).astype(np.float32), requires_grad=requires_grad)
    b = lib.tensor(rng.uniform(0.5, 2.0, (3, 4)).astype(np.float32), requires_grad=requires_grad)
    return a, b


def linear(lib, bias: bool = True):
    lib.manual_seed(0)
    return lib.nn.Linear(4, 2, bias=bias)


def image(lib):
    return lib.tensor(np.random.default_rng(1).standard_normal((2, 1, 8, 8)).astype(np.float32))


def conv_out(lib, bias: bool = True):
    lib.manual_seed(0)
    return lib.nn.Conv2d(1, 2, 3, bias=bias)(image(lib))


def cube(lib):
    return lib.tensor(np.ones((2, 3, 4), np.float32), requires_grad=True)


# expression -> (PyTorch 2.13's name of its node, the expression on library `L`)
CASES = {
    "a + b": ("AddBackward0", lambda L, a, b: a + b),
    "a + 1": ("AddBackward0", lambda L, a, b: a + 1),
    "a - b": ("SubBackward0", lambda L, a, b: a - b),
    "a - 1": ("SubBackward0", lambda L, a, b: a - 1),
    "a * b": ("MulBackward0", lambda L, a, b: a * b),
    "a * 2": ("MulBackward0", lambda L, a, b: a * 2),
    "a / b": ("DivBackward0", lambda L, a, b: a / b),
    "a / 2": ("DivBackward0", lambda L, a, b: a / 2),
    "a ** 2": ("PowBackward0", lambda L, a, b: a ** 2),
    "a ** b": ("PowBackward1", lambda L, a, b: a ** b),
    "2 ** a": ("PowBackward2", lambda L, a, b: 2 ** a),
    "-a": ("NegBackward0", lambda L, a, b: -a),
    "a.sum()": ("SumBackward0", lambda L, a, b: a.sum()),
    "a.sum(1)": ("SumBackward1", lambda L, a, b: a.sum(1)),
    "a.mean()": ("MeanBackward0", lambda L, a, b: a.mean()),
    "a.mean(dim=0)": ("MeanBackward1", lambda L, a, b: a.mean(dim=0)),
    "relu": ("ReluBackward0", lambda L, a, b: L.relu(a - 1)),
    "F.relu": ("ReluBackward0", lambda L, a, b: L.nn.functional.relu(a)),
    "sigmoid": ("SigmoidBackward0", lambda L, a, b: L.sigmoid(a)),
    "tanh": ("TanhBackward0", lambda L, a, b: a.tanh()),
    "exp": ("ExpBackward0", lambda L, a, b: a.exp()),
    "log": ("LogBackward0", lambda L, a, b: a.log()),
    "sin": ("SinBackward0", lambda L, a, b: L.sin(a)),
    "sqrt": ("SqrtBackward0", lambda L, a, b: a.sqrt()),
    "a.view(12)": ("ViewBackward0", lambda L, a, b: a.view(12)),
    "a.view(-1, 2)": ("ViewBackward0", lambda L, a, b: a.view(-1, 2)),
    "a.reshape(2, 6)": ("ViewBackward0", lambda L, a, b: a.reshape(2, 6)),
    "a.t().reshape(12)": ("UnsafeViewBackward0", lambda L, a, b: a.t().reshape(12)),
    "a.flatten()": ("ViewBackward0", lambda L, a, b: a.flatten()),
    "a.t()": ("TBackward0", lambda L, a, b: a.t()),
    "x.permute(2, 0, 1)": ("PermuteBackward0", lambda L, a, b: cube(L).permute(2, 0, 1)),
    "x.transpose(1, 2)": ("TransposeBackward0", lambda L, a, b: cube(L).transpose(1, 2)),
    "a @ b.t()": ("MmBackward0", lambda L, a, b: a @ b.t()),
    "a[0]": ("SelectBackward0", lambda L, a, b: a[0]),
    "a[:, 1:3]": ("SliceBackward0", lambda L, a, b: a[:, 1:3]),
    "a[index]": ("IndexBackward0", lambda L, a, b: a[L.tensor([0, 2])]),
    "a.clone()": ("CloneBackward0", lambda L, a, b: a.clone()),
    "a.double()": ("ToCopyBackward0", lambda L, a, b: a.double()),
    "a.double().float()": ("ToCopyBackward0", lambda L, a, b: a.double().float()),
    "a.max()": ("MaxBackward1", lambda L, a, b: a.max()),
    "a.max(1).values": ("MaxBackward0", lambda L, a, b: a.max(1).values),
    "a.amax(1)": ("AmaxBackward0", lambda L, a, b: a.amax(1)),
    "a.clamp(0, 1)": ("ClampBackward1", lambda L, a, b: a.clamp(0, 1)),
    "a.var()": ("VarBackward0", lambda L, a, b: a.var()),
    "a.std()": ("StdBackward0", lambda L, a, b: a.std()),
    "a.norm()": ("LinalgVectorNormBackward0", lambda L, a, b: a.norm()),
    "cat": ("CatBackward0", lambda L, a, b: L.cat([a, b])),
    "where": ("WhereBackward0", lambda L, a, b: L.where(a > 1, a, b)),
    "maximum": ("MaximumBackward0", lambda L, a, b: L.maximum(a, b)),
    "softmax": ("SoftmaxBackward0", lambda L, a, b: a.softmax(1)),
    "log_softmax": ("LogSoftmaxBackward0", lambda L, a, b: L.nn.functional.log_softmax(a, 1)),
    "leaky_relu": ("LeakyReluBackward0", lambda L, a, b: L.nn.functional.leaky_relu(a)),
    "F.pad": ("ConstantPadNdBackward0", lambda L, a, b: L.nn.functional.pad(a, (1, 1))),
    "expand": ("ExpandBackward0", lambda L, a, b: a.sum(0, keepdim=True).expand(3, 4)),
    "(a * 1).relu_()": ("ReluBackward0", lambda L, a, b: (a * 1).relu_()),
    "(a * 1).add_(1)": ("AddBackward0", lambda L, a, b: (a * 1).add_(1)),
    "nn.Linear, 2-D": ("AddmmBackward0", lambda L, a, b: linear(L)(a.detach())),
    "nn.Linear, input requires grad": ("AddmmBackward0", lambda L, a, b: linear(L)(a)),
    "nn.Linear, no bias": ("MmBackward0", lambda L, a, b: linear(L, bias=False)(a.detach())),
    "nn.Linear, 3-D": ("ViewBackward0", lambda L, a, b: linear(L)(a.reshape(1, 3, 4))),
    "nn.Linear, 3-D, no bias": ("UnsafeViewBackward0", lambda L, a, b: linear(L, bias=False)(
        a.detach().reshape(1, 3, 4))),
    "cross_entropy": ("NllLossBackward0", lambda L, a, b: L.nn.functional.cross_entropy(
        linear(L)(a.detach()), L.tensor([0, 1, 1]))),
    "nn.CrossEntropyLoss": ("NllLossBackward0", lambda L, a, b: L.nn.CrossEntropyLoss()(
        a, L.tensor([0, 1, 3]))),
    "nll_loss(log_softmax)": ("NllLossBackward0", lambda L, a, b: L.nn.functional.nll_loss(
        L.nn.functional.log_softmax(a, 1), L.tensor([0, 1, 3]))),
    "binary_cross_entropy, no reduction": (
        "BinaryCrossEntropyBackward0", lambda L, a, b: L.nn.functional.binary_cross_entropy(
            L.sigmoid(a), b.detach() / 2, reduction="none")),
    "conv2d": ("ConvolutionBackward0", lambda L, a, b: conv_out(L)),
    "conv2d, no bias": ("ConvolutionBackward0", lambda L, a, b: conv_out(L, bias=False)),
    "max_pool2d": ("MaxPool2DWithIndicesBackward0",
                   lambda L, a, b: L.nn.functional.max_pool2d(conv_out(L), 2)),
    "nn.MaxPool2d": ("MaxPool2DWithIndicesBackward0", lambda L, a, b: L.nn.MaxPool2d(2)(
        conv_out(L))),
    "avg_pool2d": ("AvgPool2DBackward0",
                   lambda L, a, b: L.nn.functional.avg_pool2d(conv_out(L), 2)),
    "BatchNorm2d": ("NativeBatchNormBackward0", lambda L, a, b: L.nn.BatchNorm2d(2)(
        conv_out(L))),
    "BatchNorm1d": ("NativeBatchNormBackward0", lambda L, a, b: L.nn.BatchNorm1d(4)(a)),
    "flatten after pooling": ("ViewBackward0", lambda L, a, b: L.flatten(
        L.nn.functional.max_pool2d(conv_out(L), 2), 1)),
}


def _setitem(L, a, b):
    h = L.zeros(3, 4)
    h[0] = a[0]
    return h


CASES["h[0] = a[0]"] = ("CopySlices", _setitem)

# The graph as PyTorch builds it for a number on the left, the losses as one node, and mm
# (issue 14, follow-ups).
CASES.update({
    "2 * b": ("MulBackward0", lambda L, a, b: 2 * a),
    "1 + a": ("AddBackward0", lambda L, a, b: 1 + a),
    "mse_loss": ("MseLossBackward0", lambda L, a, b: L.nn.functional.mse_loss(a, b.detach())),
    "mse_loss, sum": ("MseLossBackward0", lambda L, a, b: L.nn.functional.mse_loss(
        a, b, reduction="sum")),
    "nn.MSELoss": ("MseLossBackward0", lambda L, a, b: L.nn.MSELoss()(a, b.detach())),
    "binary_cross_entropy": ("BinaryCrossEntropyBackward0", lambda L, a, b:
                             L.nn.functional.binary_cross_entropy(L.sigmoid(a), b.detach() / 2)),
    "a.mm(b)": ("MmBackward0", lambda L, a, b: a.mm(b.t())),
    "tg.mm": ("MmBackward0", lambda L, a, b: L.mm(a, b.t())),
    "cumsum": ("CumsumBackward0", lambda L, a, b: a.cumsum(1)),
    "flip": ("FlipBackward0", lambda L, a, b: a.flip(0)),
})


def torch_name(name: str) -> str:
    return {"CopySlices": "torch::autograd::CopySlices"}.get(name, name)


@pytest.mark.parametrize("expression", list(CASES))
def test_node_names_and_next_functions_as_pytorch(expression):
    name, make = CASES[expression]
    a, b = leaves(tg)
    ours = make(tg, a, b).grad_fn
    assert ours.name() == torch_name(name)
    if torch is not None:
        ta, tb = leaves(torch)
        theirs = make(torch, ta, tb).grad_fn
        assert theirs.name() == torch_name(name)
        assert structure(ours) == structure(theirs)


def test_the_autograd_tutorial_walks_the_graph():
    """PyTorch's "The Fundamentals of Autograd": d = 2 * sin(a) + 1, walked node by node."""
    a = tg.linspace(0.0, 2.0 * 3.14159, steps=25, requires_grad=True)
    b = tg.sin(a)
    c = b * 2
    d = c + 1
    out = d.sum()
    assert out.grad_fn.name() == "SumBackward0"
    (mul, _), (none, index) = d.grad_fn.next_functions
    assert mul.name() == "MulBackward0" and none is None and index == 0
    (sin, _), _ = mul.next_functions
    assert sin.name() == "SinBackward0"
    ((acc, index),) = sin.next_functions
    assert type(acc).__name__ == "AccumulateGrad" and index == 0
    assert acc.name() == "torch::autograd::AccumulateGrad"
    assert acc.variable is a and acc.next_functions == ()
    out.backward()
    assert a.grad is not None


def test_accumulate_grad_is_one_node_per_leaf_while_held():
    a, b = leaves(tg)
    first = (a * b).grad_fn.next_functions[0][0]
    second = (a + 1).grad_fn.next_functions[0][0]
    assert first is second and first.variable is a
    assert (a * b).grad_fn.next_functions[1][0].variable is b


def test_tensors_that_do_not_require_grad_are_none():
    a, b = leaves(tg)
    c, _ = leaves(tg, requires_grad=False)
    assert (a * c).grad_fn.next_functions[1] == (None, 0)
    assert (a.detach() * b).grad_fn.next_functions[0] == (None, 0)


def test_printed_forms():
    a, b = leaves(tg)
    y = a * b
    assert re.fullmatch(r"<MulBackward0 object at 0x[0-9a-f]+>", repr(y.grad_fn))
    assert "grad_fn=<MulBackward0>" in repr(y)
    pairs = repr(y.grad_fn.next_functions)
    assert re.fullmatch(r"\(\(<AccumulateGrad object at 0x[0-9a-f]+>, 0\), "
                        r"\(<AccumulateGrad object at 0x[0-9a-f]+>, 0\)\)", pairs)
    h = _setitem(tg, a, b)
    assert re.fullmatch(r"<CopySlices object at 0x[0-9a-f]+>", repr(h.grad_fn))
    if torch is not None:  # the same text with the addresses taken out
        ta, tb = leaves(torch)
        ty = ta * tb

        def strip(text: str) -> str:
            return re.sub(r"0x[0-9a-f]+", "0x", text)

        assert strip(repr(y.grad_fn)) == strip(repr(ty.grad_fn))
        assert strip(repr(y.grad_fn.next_functions)) == strip(repr(ty.grad_fn.next_functions))
        assert strip(repr(h.grad_fn)) == strip(repr(_setitem(torch, ta, tb).grad_fn))


def test_the_linear_layer_walk_of_the_neural_networks_tutorial():
    """`loss.grad_fn.next_functions[0][0]`... on the last Linear layer of a small net: the
    bias's AccumulateGrad comes first, then the input's node, then the weight's TBackward0."""
    a, _ = leaves(tg)
    hidden = tg.relu(linear(tg)(a.detach()))
    tg.manual_seed(1)
    out = tg.nn.Linear(2, 3)(hidden)
    node = out.grad_fn
    assert node.name() == "AddmmBackward0"
    bias, relu, weight = (n for n, _ in node.next_functions)
    assert bias.name() == "torch::autograd::AccumulateGrad" and bias.variable.shape == (3,)
    assert relu.name() == "ReluBackward0"
    assert weight.name() == "TBackward0"
    assert weight.next_functions[0][0].variable.shape == (3, 2)


def test_next_functions_after_backward():
    a, b = leaves(tg)
    looked = (a * b).sum()
    pairs = looked.grad_fn.next_functions  # looked at before backward: kept
    looked.backward()
    assert looked.grad_fn.next_functions == pairs
    assert looked.grad_fn.name() == "SumBackward0"
    kept = (a * b).sum(1).sum()
    kept.backward(retain_graph=True)
    assert kept.grad_fn.next_functions[0][0].name() == "SumBackward1"
    freed = (a * b).sum()
    freed.backward()
    assert freed.grad_fn.name() == "SumBackward0"
    with pytest.raises(RuntimeError, match="next_functions: the graph of SumBackward0 was "
                                           "freed by backward"):
        freed.grad_fn.next_functions


def test_names_that_depend_on_the_call_stay_after_backward():
    a, _ = leaves(tg)
    y = a.sum(1)
    z = y.sum()
    z.backward()
    assert y.grad_fn.name() == "SumBackward1" and z.grad_fn.name() == "SumBackward0"


def test_a_function_of_your_own_in_the_library_style_is_named_like_pytorch_s():
    class Cube(tg.autograd.Function):
        def forward(self, x):
            return x ** 3

        def backward(self, grad):
            (x,) = self.inputs
            return grad * 3 * x * x

    y = Cube.apply(tg.tensor([2.0], requires_grad=True))
    assert y.grad_fn.name() == "CubeBackward"
    assert re.fullmatch(r"<CubeBackward object at 0x[0-9a-f]+>", repr(y.grad_fn))


def test_next_functions_on_every_device(device):
    a = tg.ones(2, 3, device=device, requires_grad=True)
    w = tg.ones(4, 3, device=device, requires_grad=True)
    y = tg.nn.functional.linear(a, w)
    assert y.grad_fn.name() == "MmBackward0"
    (inp, _), (t, _) = y.grad_fn.next_functions
    assert inp.variable is a and t.name() == "TBackward0"
    assert t.next_functions[0][0].variable is w
