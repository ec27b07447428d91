"""Course and tutorial snippets that needed the issue-14 follow-ups: tg.Generator wherever
PyTorch takes `generator=`, the legacy names (Variable, FloatTensor, x.type(), new_*), the
graph as PyTorch prints it. PyTorch, where installed, runs the same code as the reference."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu.utils.data import DataLoader, RandomSampler, TensorDataset, random_split

try:
    import torch
except ImportError:  # PyTorch is an optional reference
    torch = None


# ---------------------------------------------------------------------------------------------
# tg.Generator
# ---------------------------------------------------------------------------------------------
def test_generator_api_as_pytorch():
    g = tg.Generator()
    assert g.initial_seed() == 67280421310721  # PyTorch's default seed
    assert g.manual_seed(42) is g and g.initial_seed() == 42
    assert g.device == tg.device("cpu")
    assert tg.Generator().manual_seed(-1).initial_seed() == 2**64 - 1  # as PyTorch
    seed = g.seed()
    assert isinstance(seed, int) and g.initial_seed() == seed
    if torch is not None:
        assert torch.Generator().initial_seed() == tg.Generator().initial_seed()
        assert torch.Generator().manual_seed(-1).initial_seed() == 2**64 - 1


def test_same_seed_same_draws_in_every_factory():
    def draws(seed: int) -> list:
        g = tg.Generator().manual_seed(seed)
        x = tg.empty(3)
        return [tg.rand(2, 3, generator=g), tg.randn(4, generator=g),
                tg.randint(0, 10, (5,), generator=g), tg.randperm(6, generator=g),
                tg.rand_like(x, generator=g), tg.randn_like(x, generator=g),
                tg.randint_like(x, 5, generator=g), x.clone().normal_(generator=g),
                x.clone().uniform_(-1, 1, generator=g)]
    first, again, other = draws(42), draws(42), draws(7)
    for a, b, c in zip(first, again, other):
        assert a.equal(b)
    assert not all(a.equal(c) for a, c in zip(first, other))


def test_the_global_stream_is_untouched_by_a_generator():
    tg.manual_seed(0)
    expected = tg.rand(3)
    tg.manual_seed(0)
    tg.rand(5, generator=tg.Generator().manual_seed(1))
    assert tg.rand(3).equal(expected)


def test_get_state_and_set_state_replay_the_stream():
    g = tg.Generator().manual_seed(3)
    state = g.get_state()
    assert state.dtype == tg.uint8 and state.ndim == 1
    first = tg.randn(5, generator=g)
    assert g.set_state(state) is g
    assert tg.randn(5, generator=g).equal(first) and g.initial_seed() == 3
    with pytest.raises(TypeError, match="set_state"):
        g.set_state(tg.zeros(3))
    with pytest.raises(RuntimeError, match="set_state"):
        g.set_state(tg.tensor([1, 2, 3], dtype=tg.uint8))
    assert tg.randn(5, generator=g.set_state(state)).equal(first)  # g unchanged by the errors


def test_a_generator_of_another_device_or_type_is_refused():
    with pytest.raises(TypeError, match="rand: generator must be a tg.Generator"):
        tg.rand(2, generator=np.random.default_rng(0))
    if tg.cuda.is_available():
        with pytest.raises(RuntimeError, match="'cuda' device type for generator"):
            tg.rand(2, device="cuda", generator=tg.Generator())


def test_data_utilities_take_a_generator():
    """The data tutorial: random_split(..., generator=torch.Generator().manual_seed(42))."""
    def split() -> list:
        parts = random_split(range(10), [0.7, 0.3], generator=tg.Generator().manual_seed(42))
        return [list(p) for p in parts]
    assert split() == split() and sorted(sum(split(), [])) == list(range(10))
    ds = TensorDataset(tg.arange(12))

    def batches(seed: int) -> list:
        loader = DataLoader(ds, batch_size=4, shuffle=True,
                            generator=tg.Generator().manual_seed(seed))
        return [b[0].tolist() for b in loader]
    assert batches(1) == batches(1) != batches(2)
    sampler = list(RandomSampler(range(8), generator=tg.Generator().manual_seed(5)))
    assert sampler == list(RandomSampler(range(8), generator=tg.Generator().manual_seed(5)))
    assert sorted(sampler) == list(range(8))


# ---------------------------------------------------------------------------------------------
# legacy names
# ---------------------------------------------------------------------------------------------
def test_variable_returns_a_tensor():
    """Old tutorials: x = Variable(torch.ones(2, 2), requires_grad=True)."""
    t = tg.ones(2, 2)
    x = tg.autograd.Variable(t, requires_grad=True)
    assert isinstance(x, tg.Tensor) and x.requires_grad and x.is_leaf and not t.requires_grad
    (x * 3).sum().backward()
    assert x.grad.tolist() == [[3.0, 3.0], [3.0, 3.0]]
    if torch is not None:
        tx = torch.autograd.Variable(torch.ones(2, 2), requires_grad=True)
        assert type(tx) is torch.Tensor and tx.requires_grad and tx.is_leaf


LEGACY = ["FloatTensor", "DoubleTensor", "LongTensor", "IntTensor", "BoolTensor", "ByteTensor"]


@pytest.mark.parametrize("name", LEGACY)
def test_legacy_tensor_types(name):
    legacy = getattr(tg, name)
    empty = legacy(2, 3)
    data = legacy([1, 0])
    assert empty.shape == (2, 3) and legacy(tg.Size([4])).shape == (4,)
    assert legacy().shape == (0,)
    assert isinstance(data, legacy) and isinstance(data, tg.Tensor)
    assert data.type() == f"tg.{name}"
    assert tg.tensor([1.5]).type(legacy).dtype == data.dtype
    assert tg.tensor([1.5]).type(f"torch.{name}").dtype == data.dtype
    assert repr(legacy) == f"<class 'tg.{name}'>"
    if torch is not None:
        theirs = getattr(torch, name)
        assert theirs(2, 3).shape == empty.shape
        assert str(theirs([1, 0]).dtype).replace("torch.", "tg.") == str(data.dtype)
        assert theirs([1, 0]).tolist() == data.tolist()
        assert theirs([1, 0]).type() == f"torch.{name}"


def test_isinstance_checks_the_dtype():
    x = tg.tensor([1.0, 2.0])
    assert isinstance(x, tg.FloatTensor) and not isinstance(x, tg.DoubleTensor)
    assert not isinstance(np.zeros(2, np.float32), tg.FloatTensor)
    assert x.type(tg.float64).type() == "tg.DoubleTensor"
    with pytest.raises(ValueError, match="invalid type"):
        x.type("torch.NoSuchTensor")


@pytest.mark.parametrize("name", ["new_zeros", "new_ones", "new_empty"])
def test_new_factories_take_pytorchs_keywords(name):
    lib_x = [(tg, tg.ones(2, dtype=tg.float64))] + (
        [(torch, torch.ones(2, dtype=torch.float64))] if torch is not None else [])
    for lib, x in lib_x:
        method = getattr(x, name)
        assert method(2, 3).shape == (2, 3) and method((2, 3)).dtype == lib.float64
        y = method(2, 3, dtype=lib.float32, requires_grad=True)
        assert y.dtype == lib.float32 and y.requires_grad and y.shape == (2, 3)
        assert method([4], dtype=lib.int64).shape == (4,)


def test_new_full_and_new_tensor():
    x = tg.ones(2, dtype=tg.int32)
    assert x.new_full((2, 2), 7).tolist() == [[7, 7], [7, 7]] and x.new_full((1,), 7).dtype \
        == tg.int32
    assert x.new_full((2,), 1.5, dtype=tg.float32).tolist() == [1.5, 1.5]
    y = x.new_tensor([1, 2], dtype=tg.float64, requires_grad=True)
    assert y.dtype == tg.float64 and y.requires_grad


# ---------------------------------------------------------------------------------------------
# the graph as PyTorch prints it
# ---------------------------------------------------------------------------------------------
def test_copy_slices_prints_as_in_pytorch():
    a = tg.ones(3, requires_grad=True)
    h = tg.zeros(2, 3)
    h[0] = a * 2
    assert "grad_fn=<CopySlices>" in repr(h)
    if torch is not None:
        th = torch.zeros(2, 3)
        th[0] = torch.ones(3, requires_grad=True) * 2
        assert "grad_fn=<CopySlices>" in repr(th)


def test_number_on_the_left_is_recorded_second():
    """The autograd tutorial: c = 2 * b; d = c + 1; d.grad_fn.next_functions."""
    a = tg.linspace(0.0, 1.0, steps=5, requires_grad=True)
    d = 1 + 2 * tg.sin(a)
    (mul, _), (none, _) = d.grad_fn.next_functions
    assert mul.name() == "MulBackward0" and none is None
    assert mul.next_functions[0][0].name() == "SinBackward0"
    assert mul.next_functions[1] == (None, 0)
    d.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), 2 * np.cos(np.linspace(0, 1, 5)), rtol=1e-6)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_losses_are_one_node_with_pytorchs_values(reduction):
    rng = np.random.default_rng(0)
    x, y = rng.uniform(0.1, 0.9, (2, 3)), rng.uniform(0, 1, (2, 3))
    results = {}
    for lib in [tg] + ([torch] if torch is not None else []):
        a = lib.tensor(x, requires_grad=True)
        mse = lib.nn.functional.mse_loss(a, lib.tensor(y), reduction=reduction)
        bce = lib.nn.functional.binary_cross_entropy(a, lib.tensor(y), reduction=reduction)
        assert mse.grad_fn.name() == "MseLossBackward0"
        assert bce.grad_fn.name() == "BinaryCrossEntropyBackward0"
        (mse.sum() + bce.sum()).backward()
        results[lib.__name__] = (mse.detach().numpy(), bce.detach().numpy(), a.grad.numpy())
    np.testing.assert_allclose(results["tinygrad_edu"][0], ((x - y) ** 2).mean() if
                               reduction == "mean" else ((x - y) ** 2).sum() if
                               reduction == "sum" else (x - y) ** 2)
    if torch is not None:
        for ours, theirs in zip(results["tinygrad_edu"], results["torch"]):
            np.testing.assert_allclose(ours, theirs, rtol=1e-10)


def test_tensor_tutorial_ops_match_pytorch():
    """Snippets of the tensor tutorials: mm, diag, sort, topk, cumsum, flip."""
    data = [[3.0, 1.0, 2.0], [0.0, 5.0, 4.0]]
    for lib in [tg] + ([torch] if torch is not None else []):
        t = lib.tensor(data)
        values, indices = lib.sort(t, dim=1, descending=True)
        assert values.tolist() == [[3.0, 2.0, 1.0], [5.0, 4.0, 0.0]]
        assert indices.tolist() == [[0, 2, 1], [1, 2, 0]]
        assert t.topk(1).indices.tolist() == [[0], [1]]
        assert t.mm(t.T).tolist() == [[14.0, 13.0], [13.0, 41.0]]
        assert lib.diag(t).tolist() == [3.0, 5.0] and t[:, :2].trace().item() == 8.0
        assert t.cumsum(0).tolist() == [[3.0, 1.0, 2.0], [3.0, 6.0, 6.0]]
        assert lib.flip(t, [1])[0].tolist() == [2.0, 1.0, 3.0]
        assert type(t.sort()).__name__ == "sort" and type(t.mode()).__name__ == "mode"
        assert repr(t.sort()).split("(")[0].endswith("return_types.sort")
