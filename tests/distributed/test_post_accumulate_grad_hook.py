"""Tensor.register_post_accumulate_grad_hook (issue 20: what DistributedDataParallel hangs on)
against PyTorch's semantics, on the CPU in this process; and the engine's order: a leaf with
such a hook gets its gradient as soon as the last node that uses it has run."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import autograd

torch = pytest.importorskip("torch")


def events(lib, with_hooks: bool = True):
    """A 2-layer MLP's backward, logging the post-accumulate hooks of its parameters (with the
    gradient they see) and the gradient hooks of its two hidden activations."""
    lib.manual_seed(0)
    l1, l2 = lib.nn.Linear(3, 4), lib.nn.Linear(4, 2)
    with lib.no_grad():  # the same weights in both libraries
        for p, values in zip([l1.weight, l1.bias, l2.weight, l2.bias], WEIGHTS):
            p.copy_(lib.tensor(values))
    log = []
    if with_hooks:
        for name, p in [("W1", l1.weight), ("b1", l1.bias), ("W2", l2.weight), ("b2", l2.bias)]:
            p.register_post_accumulate_grad_hook(
                lambda t, name=name: log.append((name, t.grad.detach().numpy().copy())))
    x = lib.tensor(np.linspace(-1, 1, 6).reshape(2, 3), dtype=lib.float32)
    h1 = l1(x)
    h1.register_hook(lambda g: log.append(("h1", None)))
    h2 = lib.relu(h1)
    h2.register_hook(lambda g: log.append(("h2", None)))
    (l2(h2) ** 2).sum().backward()
    grads = [p.grad.numpy() for p in (l1.weight, l1.bias, l2.weight, l2.bias)]
    return log, grads


_rng = np.random.default_rng(1)
WEIGHTS = [_rng.standard_normal(s).astype(np.float32) for s in [(4, 3), (4,), (2, 4), (2,)]]


def test_hooks_run_when_each_gradient_is_complete_as_in_pytorch():
    ours, theirs = events(tg)[0], events(torch)[0]
    phases = lambda log: [{n for n, _ in log[0:2]}, [n for n, _ in log[2:4]],  # noqa: E731
                          {n for n, _ in log[4:6]}]
    # the last layer's parameters before the hidden activations' gradients, the first's after
    assert phases(ours) == phases(theirs) == [{"W2", "b2"}, ["h2", "h1"], {"W1", "b1"}]
    seen_ours = {n: g for n, g in ours if g is not None}
    seen_theirs = {n: g for n, g in theirs if g is not None}
    for name in seen_theirs:  # each hook sees the complete gradient in .grad
        np.testing.assert_allclose(seen_ours[name], seen_theirs[name], rtol=1e-5, atol=1e-6)


def test_the_early_turn_gives_the_same_gradients():
    with_hooks, without = events(tg)[1], events(tg, with_hooks=False)[1]
    for a, b in zip(with_hooks, without):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("lib", [tg, torch], ids=["tg", "torch"])
def test_order_with_gradient_hooks_accumulation_and_graph_modes(lib):
    x = lib.ones(3, requires_grad=True)
    log = []
    x.register_hook(lambda g: log.append(("pre", g.tolist())))
    x.register_post_accumulate_grad_hook(lambda t: log.append(("post", t.grad.tolist())))
    (x * 2).sum().backward()
    assert log == [("pre", [2.0] * 3), ("post", [2.0] * 3)]
    log.clear()
    (x * x).sum().backward(retain_graph=True)  # .grad accumulates: the hook sees the sum
    assert log == [("pre", [2.0] * 3), ("post", [4.0] * 3)]
    log.clear()
    lib.autograd.grad((x * 3).sum(), x)  # no .grad changes: no post-accumulate hook
    assert ("post", [7.0] * 3) not in log and all(kind == "pre" for kind, _ in log)
    log.clear()
    y = lib.ones(2, requires_grad=True)
    y.register_post_accumulate_grad_hook(lambda t: log.append(("post", t.grad.tolist())))
    (y * y + y).sum().backward()  # a leaf used twice: one call, on the summed gradient
    assert log == [("post", [3.0, 3.0])]


@pytest.mark.parametrize("lib", [tg, torch], ids=["tg", "torch"])
def test_handles_several_hooks_and_writing_the_gradient(lib):
    a = lib.ones(2, requires_grad=True)
    calls = []
    first = a.register_post_accumulate_grad_hook(lambda t: calls.append(1))
    a.register_post_accumulate_grad_hook(lambda t: calls.append(2))
    a.sum().backward()
    first.remove()
    a.sum().backward()
    assert calls == [1, 2, 2]
    c = lib.ones(2, requires_grad=True)
    c.register_post_accumulate_grad_hook(lambda t: t.grad.mul_(10))  # (mul_ returns it: an
    with pytest.raises(RuntimeError, match="should return None"):  # error, as PyTorch's)
        c.sum().backward()
    d = lib.ones(2, requires_grad=True)

    def scale(t):
        t.grad.mul_(10)

    d.register_post_accumulate_grad_hook(scale)
    d.sum().backward()
    assert d.grad.tolist() == [10.0, 10.0]


@pytest.mark.parametrize("lib", [tg, torch], ids=["tg", "torch"])
def test_errors_as_pytorch(lib):
    with pytest.raises(RuntimeError, match="non-leaf"):
        (lib.ones(2, requires_grad=True) * 2).register_post_accumulate_grad_hook(lambda t: None)
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        lib.ones(2).register_post_accumulate_grad_hook(lambda t: None)


def test_create_graph_runs_the_hook_and_keeps_the_gradient_graph():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    x.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.grad_fn is not None))
    (x ** 3).sum().backward(create_graph=True)
    assert seen == [True]
    np.testing.assert_allclose(x.grad.detach().numpy(), [3.0, 12.0])
    x.grad = None  # (x.grad's graph refers to x: a cycle that would keep x and its hook alive
    #                until the garbage collector runs, and every backward until then walks)


def test_leaf_turns_are_after_the_oldest_consumer():
    """A leaf used by an early and a late node is queued after the early (older) one."""
    w = tg.ones(3, requires_grad=True)
    w.register_post_accumulate_grad_hook(lambda t: None)
    early = w * 2
    late = (early + w).sum()  # w is used first by `w * 2`, then by `early + w`
    turns = autograd._leaf_turns([late])
    assert turns == {id(w): 0.5 - early.grad_fn._number}
    assert early.grad_fn._number < late.grad_fn._number
    late.backward()
    assert w.grad.tolist() == [3.0, 3.0, 3.0]


def test_no_walk_without_such_hooks(monkeypatch):
    """Backward plans leaf turns only while some tensor has a post-accumulate hook."""
    monkeypatch.setattr(autograd, "leaves_with_post_hooks", {})
    walked = []
    monkeypatch.setattr(autograd, "_leaf_turns", lambda roots: walked.append(1) or {})
    x = tg.ones(2, requires_grad=True)
    (x * 2).sum().backward()
    assert walked == []
    x.register_post_accumulate_grad_hook(lambda t: None)
    (x * 2).sum().backward()
    assert walked == [1]
