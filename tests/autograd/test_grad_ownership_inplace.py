"""Gradients that are always right: who owns a gradient, writing into tensors that are part of
a graph (setitem, in-place ops, views, version counters), and grad mode per thread.

Each case was silently wrong or refused before (PyTorch 2.13's results are the expected
values); the property test at the end draws random graphs with reused leaves, retained grads
and user `gradient=` tensors and checks every gradient against central differences."""

from __future__ import annotations

import sys
import threading
import weakref
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_edu as tg
import tinygrad_edu.nn.functional as F
from tinygrad_edu import autograd, nn


def values(t: tg.Tensor) -> np.ndarray:
    return np.array(np.asarray(t.detach()), copy=True)


def T(data: Any, device: str, grad: bool = False, dtype: Any = tg.float64) -> tg.Tensor:
    return tg.tensor(data, dtype=dtype, device=device, requires_grad=grad)


# ---------------------------------------------------------------------------------------------
# 1. a gradient handed out is never an array that something else writes into
# ---------------------------------------------------------------------------------------------
def test_a_leaf_used_three_times_gets_the_sum(device: str) -> None:
    x = T([[0.5, -1.0]], device, grad=True)
    w = T([[1.0, 2.0], [0.5, -1.0]], device, grad=True)
    y = (x @ w + x) + x
    (y ** 2).sum().backward()
    np.testing.assert_allclose(values(x.grad), [[6.0, 1.0]])
    np.testing.assert_allclose(values(w.grad), [[1.0, 0.0], [-2.0, 0.0]])


def test_a_gradient_passed_through_to_a_leaf_three_times(device: str) -> None:
    x = T([1.0, 2.0], device, grad=True)
    (-x + x + x).backward(T([0.3, 0.7], device))
    np.testing.assert_allclose(values(x.grad), [0.3, 0.7])


def test_a_retained_grad_is_not_the_array_a_leaf_accumulates_into(device: str) -> None:
    x = T([1.0, 2.0], device, grad=True)
    y = x * 2
    y.retain_grad()
    (y + x).backward(tg.ones(2, dtype=tg.float64, device=device))
    np.testing.assert_allclose(values(y.grad), [1.0, 1.0])
    np.testing.assert_allclose(values(x.grad), [3.0, 3.0])


def test_retained_grads_accumulate_out_of_place_as_in_pytorch(device: str) -> None:
    x = T([1.0, 2.0], device, grad=True)
    y = x * 2
    y.retain_grad()
    z = y.sum()
    z.backward(retain_graph=True)
    first = y.grad
    z.backward()
    np.testing.assert_allclose(values(first), [1.0, 1.0])  # the one a caller held
    np.testing.assert_allclose(values(y.grad), [2.0, 2.0])
    assert y.grad is not first


def test_the_callers_gradient_tensor_is_never_written_into(device: str) -> None:
    x = T([1.0, 2.0], device, grad=True)
    g = T([1.0, 1.0], device)
    x.backward(g)
    x.backward(g)
    np.testing.assert_allclose(values(g), [1.0, 1.0])
    np.testing.assert_allclose(values(x.grad), [2.0, 2.0])
    opt = tg.optim.SGD([x], lr=0.1)
    opt.zero_grad(set_to_none=False)
    np.testing.assert_allclose(values(g), [1.0, 1.0])
    np.testing.assert_allclose(values(x.grad), [0.0, 0.0])


def test_a_leaf_hook_runs_once_on_the_summed_gradient(device: str) -> None:
    x = T([1.0, 1.0], device, grad=True)
    seen: list = []
    x.register_hook(lambda g: seen.append(values(g)))
    (x * 2 + x * 3).sum().backward()
    assert len(seen) == 1
    np.testing.assert_allclose(seen[0], [5.0, 5.0])


def test_a_gradient_a_hook_keeps_is_not_changed_by_the_next_backward(device: str) -> None:
    x = T([1.0, 2.0], device, grad=True)
    kept: list = []
    x.register_hook(lambda g: kept.append(g))
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_allclose(values(kept[0]), [3.0, 3.0])
    np.testing.assert_allclose(values(x.grad), [6.0, 6.0])


def test_leaves_keep_a_fresh_gradient_without_a_copy_but_copy_a_shared_one() -> None:
    fresh = tg.Tensor._make(np.ones(3))
    leaf = T([1.0, 2.0, 3.0], "cpu", grad=True)
    entry = [leaf, fresh]  # what the engine hands over: [leaf, summed gradient]
    del fresh
    array = weakref.ref(entry[1].array)  # (a weak reference: it does not count)
    autograd._accumulate_leaf(entry, False)
    assert leaf.grad.array is array()  # nothing else held it: kept as it is
    shared = tg.Tensor._make(np.ones(3))
    other = T([1.0, 2.0, 3.0], "cpu", grad=True)
    autograd._accumulate_leaf([other, shared], False)
    assert other.grad is not shared and not np.shares_memory(other.grad.array, shared.array)


def test_a_leaf_with_a_hook_that_returns_nothing_keeps_the_fresh_gradient_too() -> None:
    """The hook path hands the whole [leaf, gradient] entry on, so the gradient is still
    referenced once only and kept without a copy; one the hook keeps is copied."""
    leaf = T([1.0, 2.0, 3.0], "cpu", grad=True)
    leaf.register_hook(lambda g: None)
    fresh = tg.Tensor._make(np.ones(3))
    entry = [leaf, fresh]
    del fresh
    array = weakref.ref(entry[1].array)
    autograd._accumulate_leaf(entry, False)
    assert leaf.grad.array is array()
    kept = []
    other = T([1.0, 2.0, 3.0], "cpu", grad=True)
    other.register_hook(kept.append)
    autograd._accumulate_leaf([other, tg.Tensor._make(np.ones(3))], False)
    assert not np.shares_memory(other.grad.array, kept[0].array)


def test_create_graph_gradients_are_copies_too(device: str) -> None:
    x = T([1.0, 2.0], device, grad=True)
    g = T([1.0, 1.0], device)
    x.backward(g, create_graph=True)
    x.backward(g)
    np.testing.assert_allclose(values(g), [1.0, 1.0])
    np.testing.assert_allclose(values(x.grad), [2.0, 2.0])


def test_grads_of_different_leaves_never_share_memory(device: str) -> None:
    a = T([1.0, 2.0], device, grad=True)
    b = T([3.0, 4.0], device, grad=True)
    (a + b).sum().backward()
    assert not np.shares_memory(np.asarray(a.grad), np.asarray(b.grad)) or device != "cpu"
    with tg.no_grad():
        a.grad.mul_(10)
    np.testing.assert_allclose(values(b.grad), [1.0, 1.0])


# ---------------------------------------------------------------------------------------------
# 2. writing a value that requires grad into a tensor records the op (PyTorch's CopySlices)
# ---------------------------------------------------------------------------------------------
def test_setitem_of_a_graph_value_into_a_plain_tensor(device: str) -> None:
    x = T([[1.0, 2.0], [3.0, 4.0]], device, grad=True)
    h = tg.zeros(2, 2, dtype=tg.float64, device=device)
    h[0] = x[0] * 2
    assert h.requires_grad and not h.is_leaf
    ((h ** 2).sum() + (x ** 2).sum()).backward()
    np.testing.assert_allclose(values(x.grad), [[10.0, 20.0], [6.0, 8.0]])


def test_the_outputs_of_t_equals_h_pattern_of_a_hand_written_rnn(device: str) -> None:
    rng = np.random.default_rng(0)
    w = T(rng.standard_normal((3, 3)) * 0.5, device, grad=True)
    xs = T(rng.standard_normal((4, 2, 3)), device)

    def run(w: tg.Tensor) -> tg.Tensor:
        outputs = tg.zeros(4, 2, 3, dtype=tg.float64, device=device)
        h = tg.zeros(2, 3, dtype=tg.float64, device=device)
        for t in range(4):
            h = (xs[t] + h @ w).tanh()
            outputs[t] = h
        return (outputs ** 2).sum()

    assert tg.autograd.gradcheck(run, (w,))


def test_setitem_reading_earlier_rows_of_the_same_buffer(device: str) -> None:
    x = T([1.0, 2.0], device, grad=True)
    h = tg.zeros(3, 2, dtype=tg.float64, device=device)
    for t in range(1, 3):
        h[t] = h[t - 1] * 2 + x  # a scalar product: h[t - 1] is not needed for backward
    h.sum().backward()
    np.testing.assert_allclose(values(x.grad), [4.0, 4.0])


def test_setitem_on_a_non_leaf_and_its_gradient(device: str) -> None:
    x = T([1.0, 2.0, 3.0], device, grad=True)
    y = x * 2
    y[1] = 0.0
    v = T([5.0], device, grad=True)
    y[2:] = v * v
    y.sum().backward()
    np.testing.assert_allclose(values(x.grad), [2.0, 0.0, 0.0])
    np.testing.assert_allclose(values(v.grad), [10.0])
    np.testing.assert_allclose(values(y), [2.0, 0.0, 25.0])


def test_setitem_on_a_leaf_that_requires_grad_raises(device: str) -> None:
    x = T([1.0, 2.0], device, grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x[0] = 5.0
    np.testing.assert_allclose(values(x), [1.0, 2.0])
    with tg.no_grad():
        x[0] = 5.0
    np.testing.assert_allclose(values(x), [5.0, 2.0])


def test_setitem_gradcheck_with_an_index_array(device: str) -> None:
    rng = np.random.default_rng(1)
    base = T(rng.standard_normal((4, 3)), device, grad=True)
    value = T(rng.standard_normal((2, 3)), device, grad=True)
    rows = tg.tensor([3, 0], device=device)

    def f(base: tg.Tensor, value: tg.Tensor) -> tg.Tensor:
        y = base * 1.5
        y[rows] = value.sin()
        return y.tanh()

    assert tg.autograd.gradcheck(f, (base, value))


# ---------------------------------------------------------------------------------------------
# 3. in-place ops on non-leaves, views and version counters
# ---------------------------------------------------------------------------------------------
def test_add_underscore_on_a_non_leaf(device: str) -> None:
    x = T([1.0, 2.0], device, grad=True)
    y = x * 2
    y.add_(1)
    y.sum().backward()
    np.testing.assert_allclose(values(x.grad), [2.0, 2.0])


def test_plus_equals_mutates_so_an_alias_sees_it(device: str) -> None:
    x = T([1.0, 2.0], device, grad=True)
    y = x * 2
    alias = y
    y += 1
    assert alias is y
    np.testing.assert_allclose(values(alias), [3.0, 5.0])
    y *= x
    (alias.sum()).backward()
    np.testing.assert_allclose(values(x.grad), 4 * values(x) + 1)


def test_relu_inplace_changes_its_input(device: str) -> None:
    x = T([1.0, -2.0, 3.0], device, grad=True)
    y = x * 1
    out = F.relu(y, inplace=True)
    assert out is y
    np.testing.assert_allclose(values(y), [1.0, 0.0, 3.0])
    (y * T([1.0, 2.0, 3.0], device)).sum().backward()
    np.testing.assert_allclose(values(x.grad), [1.0, 0.0, 3.0])
    z = x * 1
    nn.ReLU(inplace=True)(z)
    np.testing.assert_allclose(values(z), [1.0, 0.0, 3.0])
    w = x * 1
    F.leaky_relu(w, 0.5, inplace=True)
    np.testing.assert_allclose(values(w), [1.0, -1.0, 3.0])


def test_relu_inplace_after_a_layer_trains_as_out_of_place(device: str) -> None:
    rng = np.random.default_rng(2)
    data = T(rng.standard_normal((8, 4)), device)

    def grads(inplace: bool) -> list[np.ndarray]:
        tg.manual_seed(0)
        model = nn.Sequential(nn.Linear(4, 5), nn.BatchNorm1d(5, affine=False),
                              nn.ReLU(inplace=inplace), nn.Linear(5, 2)).double().to(device)
        model(data).sum().backward()
        return [values(p.grad) for p in model.parameters()]

    for a, b in zip(grads(True), grads(False)):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_a_value_saved_for_backward_changed_in_place_raises(device: str) -> None:
    x = T([1.0, 2.0], device, grad=True)
    y = x.tanh()
    y.add_(1)  # tanh's backward reads its output
    with pytest.raises(RuntimeError, match="output 0 of Tanh, is at version 1; expected "
                                           "version 0"):
        y.sum().backward()
    a = x * 1
    b = a * a
    a.add_(1)  # a is an input mul reads
    with pytest.raises(RuntimeError, match="input 0 of Mul, is at version 1"):
        b.sum().backward()
    c = x * 1
    d = c + 1  # add reads no input: changing c afterwards is fine (PyTorch agrees)
    c.mul_(3)
    d.sum().backward()


def test_inplace_on_a_view_updates_its_root(device: str) -> None:
    x = T([[1.0, 2.0], [3.0, 4.0]], device, grad=True)
    a = x * 1
    v = a[0]
    v.mul_(3)
    np.testing.assert_allclose(values(a), [[3.0, 6.0], [3.0, 4.0]])
    a.sum().backward()
    np.testing.assert_allclose(values(x.grad), [[3.0, 3.0], [1.0, 1.0]])


def test_plus_equals_on_an_indexed_row(device: str) -> None:
    x = T([1.0, 2.0], device, grad=True)
    h = tg.zeros(2, 2, dtype=tg.float64, device=device)
    h[0] += x
    h[1] += x * 3
    (h ** 2).sum().backward()
    np.testing.assert_allclose(values(x.grad), [20.0, 40.0])


def test_inplace_on_a_transposed_view_gradcheck(device: str) -> None:
    rng = np.random.default_rng(3)
    x = T(rng.standard_normal((2, 3)), device, grad=True)
    w = T(rng.standard_normal((3,)), device, grad=True)

    def f(x: tg.Tensor, w: tg.Tensor) -> tg.Tensor:
        a = x.sin()
        a.t()[1:].mul_(w[1:, None])  # rows 1: of the transpose are columns 1: of a
        return (a * a).sum()

    assert tg.autograd.gradcheck(f, (x, w))


def test_inplace_on_a_view_of_a_leaf_that_requires_grad_raises(device: str) -> None:
    x = T([[1.0, 2.0]], device, grad=True)
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
        x[0].add_(1)
    np.testing.assert_allclose(values(x), [[1.0, 2.0]])


def test_versions_count_in_place_changes_and_are_shared_with_views(device: str) -> None:
    t = tg.zeros(2, 3, device=device)
    v = t[0]
    d = t.detach()
    assert t._version == 0
    t.add_(1)
    v.mul_(2)
    d.zero_()
    t[1] = 5.0
    assert t._version == v._version == d._version == 4


def test_inplace_into_an_expanded_view_is_refused(device: str) -> None:
    x = T([1.0, 2.0], device, grad=True)
    e = (x * 1).expand(3, 2)
    with pytest.raises(RuntimeError, match="expanded view"):
        e.add_(1)


@pytest.mark.parametrize("op", ["fill_", "zero_", "copy_", "uniform_", "normal_"])
def test_other_inplace_ops_on_a_non_leaf_give_zero_gradient_there(device: str, op: str) -> None:
    x = T([1.0, 2.0], device, grad=True)
    y = x * 2
    z = y[:1] if op != "copy_" else y
    args = {"fill_": (3.0,), "copy_": (T([7.0, 8.0], device),)}.get(op, ())
    getattr(z, op)(*args)
    (y * T([1.0, 10.0], device)).sum().backward()
    want = [0.0, 20.0] if op != "copy_" else [0.0, 0.0]
    np.testing.assert_allclose(values(x.grad), want)


def test_copy_underscore_of_a_graph_value(device: str) -> None:
    x = T([1.0, 2.0], device, grad=True)
    h = tg.zeros(3, 2, dtype=tg.float64, device=device)
    h[1].copy_(x * x)
    h.sum().backward()
    np.testing.assert_allclose(values(x.grad), [2.0, 4.0])


# ---------------------------------------------------------------------------------------------
# indexing errors name the op
# ---------------------------------------------------------------------------------------------
def test_too_long_an_index(device: str) -> None:
    t = tg.zeros(2, 3, device=device)
    with pytest.raises(IndexError, match="getitem: too many indices for tensor of dimension 2"):
        t[0, 1, 2]
    with pytest.raises(IndexError, match="setitem: too many indices for tensor of dimension 2"):
        t[0, 1, 2] = 1.0


def test_assigning_a_wrongly_shaped_value(device: str) -> None:
    t = tg.zeros(2, 3, device=device)
    with pytest.raises(RuntimeError, match=r"setitem: shape mismatch: value tensor of shape "
                                           r"\(2,\) cannot be broadcast to indexing result of "
                                           r"shape \(3,\)"):
        t[0] = tg.ones(2, device=device)
    assert values(t).sum() == 0 and t._version == 0


# ---------------------------------------------------------------------------------------------
# 6. grad mode, anomaly mode and backward state per thread
# ---------------------------------------------------------------------------------------------
def _train(seed: int, steps: int, device: str, start: threading.Barrier | None = None,
           eval_every: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    x = T(rng.standard_normal((16, 5)), device)
    y = tg.tensor(rng.integers(0, 3, 16), device=device)
    w1 = T(rng.standard_normal((5, 8)) * 0.3, device, grad=True)
    w2 = T(rng.standard_normal((8, 3)) * 0.3, device, grad=True)
    opt = tg.optim.SGD([w1, w2], lr=0.1)
    if start is not None:
        start.wait()
    for step in range(steps):
        loss = F.cross_entropy((x @ w1).tanh() @ w2, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if eval_every and step % eval_every == 0:
            with tg.no_grad():
                for _ in range(5):
                    out = (x @ w1).tanh() @ w2
                assert not out.requires_grad
    return [values(w1), values(w2)]


def test_two_threads_train_two_models_at_once(device: str) -> None:
    alone = [_train(1, 150, device, eval_every=1), _train(2, 150, device)]
    start = threading.Barrier(2)
    results: dict[int, Any] = {}

    def work(seed: int, every: int) -> None:
        try:
            results[seed] = _train(seed, 150, device, start, eval_every=every)
        except BaseException as exc:  # noqa: BLE001 - reported below
            results[seed] = exc

    threads = [threading.Thread(target=work, args=(1, 1)), threading.Thread(target=work,
                                                                           args=(2, 0))]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often, so that their steps interleave
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    for seed, expected in zip((1, 2), alone):
        assert not isinstance(results[seed], BaseException), results[seed]
        for got, want in zip(results[seed], expected):
            np.testing.assert_array_equal(got, want)
    assert tg.is_grad_enabled()


def test_no_grad_in_one_thread_leaves_others_recording() -> None:
    inside = threading.Event()
    leave = threading.Event()

    def hold_no_grad() -> None:
        with tg.no_grad():
            inside.set()
            leave.wait(5)

    other = threading.Thread(target=hold_no_grad)
    other.start()
    inside.wait(5)
    try:
        assert tg.is_grad_enabled()
        x = tg.ones(2, requires_grad=True)
        assert (x * 2).requires_grad
    finally:
        leave.set()
        other.join()
    assert tg.is_grad_enabled()


def test_a_new_thread_starts_with_grad_mode_on_and_no_anomaly_mode() -> None:
    seen: dict = {}

    def look() -> None:
        seen["grad"] = tg.is_grad_enabled()
        seen["anomaly"] = autograd._state.anomaly

    with tg.no_grad(), autograd.detect_anomaly():
        t = threading.Thread(target=look)
        t.start()
        t.join()
    assert seen == {"grad": True, "anomaly": False}


# ---------------------------------------------------------------------------------------------
# the property: random graphs against central differences, held gradients unchanged
# ---------------------------------------------------------------------------------------------
_UNARY: list[Callable[[tg.Tensor], tg.Tensor]] = [
    lambda a: a.tanh(), lambda a: a.sin(), lambda a: a * 1.5, lambda a: -a,
    lambda a: a.exp() * 0.5, lambda a: a.sum(0, keepdim=True),
    lambda a: a.transpose(0, 1).reshape(2, 3) * 0.8,
]
_BINARY: list[Callable[[tg.Tensor, tg.Tensor], tg.Tensor]] = [
    lambda a, b: a + b, lambda a, b: a * b, lambda a, b: a - b * 0.5,
    lambda a, b: (a @ b.mT) @ b * 0.2,
]
_SHAPE = (2, 3)


def _build(program: list, leaves: list[tg.Tensor], retain: set) -> tuple[tg.Tensor, list]:
    """Run the drawn program: each step makes a node from earlier nodes (leaves are reused)."""
    nodes = list(leaves)
    kept = []
    for k, (kind, i, j) in enumerate(program):
        a, b = nodes[i % len(nodes)], nodes[j % len(nodes)]
        out = _UNARY[kind % len(_UNARY)](a) if kind < len(_UNARY) else \
            _BINARY[kind % len(_BINARY)](a, b)
        out = out + nodes[0] * 0.0 if out.shape != _SHAPE else out  # back to (2, 3)
        if k in retain and out.requires_grad and out.grad_fn is not None:
            out.retain_grad()
            kept.append(out)
        nodes.append(out)
    return nodes[-1] + nodes[len(nodes) // 2] * 0.5, kept


def _numeric(f: Callable[[list[np.ndarray]], float], arrays: list[np.ndarray], eps: float = 1e-6
             ) -> list[np.ndarray]:
    out = []
    for a in arrays:
        g = np.zeros_like(a)
        for idx in np.ndindex(*a.shape):
            orig = a[idx]
            a[idx] = orig + eps
            plus = f(arrays)
            a[idx] = orig - eps
            minus = f(arrays)
            a[idx] = orig
            g[idx] = (plus - minus) / (2 * eps)
        out.append(g)
    return out


_PROGRAM = st.lists(st.tuples(st.integers(0, len(_UNARY) + len(_BINARY) - 1),
                              st.integers(0, 20), st.integers(0, 20)), min_size=1, max_size=7)


@given(program=_PROGRAM, retain=st.sets(st.integers(0, 6), max_size=3),
       seed=st.integers(0, 2 ** 16))
def test_random_graphs_give_central_difference_gradients(device: str, program: list,
                                                         retain: set, seed: int) -> None:
    rng = np.random.default_rng(seed)
    starts = [rng.uniform(-1, 1, _SHAPE) for _ in range(3)]
    gradients = [rng.uniform(-1, 1, _SHAPE) for _ in range(2)]
    leaves = [T(a, device, grad=True) for a in starts]

    def loss_value(arrays: list[np.ndarray], gradient: np.ndarray) -> float:
        with tg.no_grad():
            out, _ = _build(program, [T(a, device) for a in arrays], set())
        return float((values(out) * gradient).sum())

    held = []
    for gradient in gradients:
        out, kept = _build(program, leaves, retain)
        user_gradient = T(gradient, device)
        out.backward(user_gradient)
        held.append((user_gradient, gradient, [(k, values(k.grad)) for k in kept
                                                if k.grad is not None]))
    expected = [sum(parts) for parts in zip(*[
        _numeric(lambda arrays, g=g: loss_value(arrays, g), [a.copy() for a in starts])
        for g in gradients])]
    for leaf, want in zip(leaves, expected):
        got = np.zeros(_SHAPE) if leaf.grad is None else values(leaf.grad)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    for user_gradient, gradient, kept in held:  # nothing a caller holds has changed
        np.testing.assert_array_equal(values(user_gradient), gradient)
        for tensor, first_value in kept:
            np.testing.assert_array_equal(values(tensor.grad), first_value)
    grads = [leaf.grad for leaf in leaves if leaf.grad is not None]
    if device == "cpu":
        for i, a in enumerate(grads):
            for b in grads[i + 1:]:
                assert not np.shares_memory(a.array, b.array)


def test_backward_through_a_graph_older_than_an_optimizer_step_raises(device: str) -> None:
    tg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).to(device)
    opt = tg.optim.SGD(model.parameters(), lr=0.1)
    loss = model(tg.randn(5, 3, device=device)).sum()
    loss.backward(retain_graph=True)
    opt.step()  # changes the weights that the graph's backward reads
    with pytest.raises(RuntimeError, match="modified by an inplace operation.*input 1 of "
                                           "Linear"):
        loss.backward()


def test_assigning_a_number_that_does_not_fit_the_dtype(device: str) -> None:
    t = tg.zeros(3, dtype=tg.uint8, device=device)
    with pytest.raises(RuntimeError, match="setitem: value 300 cannot be converted to type "
                                           "tg.uint8 without overflow"):
        t[0] = 300
    t[1] = 7
    assert values(t).tolist() == [0, 7, 0]
