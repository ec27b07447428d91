"""The same training code on every device: a whole training step reads nothing back from the
GPU, and a run on "cuda" gives the numbers the CPU gives."""

from __future__ import annotations

from typing import Callable

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn

OPTIMIZERS: dict[str, Callable] = {
    "sgd": lambda p: tg.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-4),
    "adam": lambda p: tg.optim.Adam(p, lr=1e-3, amsgrad=True),
    "adamw": lambda p: tg.optim.AdamW(p, lr=1e-3),
    "rmsprop": lambda p: tg.optim.RMSprop(p, lr=1e-3, momentum=0.9, centered=True),
    "adagrad": lambda p: tg.optim.Adagrad(p, lr=1e-2),
}


def course_cnn() -> nn.Module:
    """The course's CNN in miniature: conv, batch norm, ReLU, pooling, dropout, linear."""
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 8, 3, padding="same"), nn.ReLU(), nn.AvgPool2d(2), nn.Dropout(0.25),
        nn.Flatten(), nn.Linear(32, 10))


def batch(device: str, n: int = 8) -> tuple[tg.Tensor, tg.Tensor]:
    rng = np.random.default_rng(0)
    x = tg.tensor(rng.standard_normal((n, 1, 8, 8)).astype(np.float32), device=device)
    return x, tg.tensor(rng.integers(0, 10, n), device=device)


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_a_training_step_reads_nothing_back_from_the_device(device, no_host_sync, optimizer):
    tg.manual_seed(0)
    model = course_cnn().to(device)
    opt = OPTIMIZERS[optimizer](model.parameters())
    scheduler = tg.optim.lr_scheduler.StepLR(opt, step_size=2)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.1)
    x, y = batch(device)
    before = [tg.backend.to_numpy(p.array).copy() for p in model.parameters()]
    losses = []
    with no_host_sync():  # the seven steps, three times, optimizer state created inside
        for _ in range(3):
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            scheduler.step()
            losses.append(loss.detach())
    values = [v.item() for v in losses]  # asking for the values: allowed, after the steps
    assert np.isfinite(values).all()
    assert all(p.device == device and p.grad.device == device for p in model.parameters())
    after = [tg.backend.to_numpy(p.array) for p in model.parameters()]
    assert all((a != b).any() for a, b in zip(after, before))  # every parameter was updated


def test_evaluation_reads_nothing_back_until_asked(device, no_host_sync):
    model = course_cnn().to(device).eval()
    x, y = batch(device)
    with no_host_sync(), tg.no_grad():
        logits = model(x)
        correct = (logits.argmax(1) == y).sum()
        loss = nn.functional.cross_entropy(logits, y, reduction="sum")
    assert 0 <= correct.item() <= len(y) and np.isfinite(loss.item())


def test_indexing_with_device_indices_reads_nothing_back(device, no_host_sync):
    x = tg.randn(5, 3, device=device, requires_grad=True)
    index = tg.tensor([4, 0, 0, 2], device=device)
    with no_host_sync():
        x[index].sum().backward()
    expected = np.array([2, 0, 1, 0, 1])[:, None] * np.ones((1, 3))
    np.testing.assert_array_equal(x.grad.cpu().numpy(), expected)


def test_the_same_steps_give_the_same_numbers_on_every_device(device):
    """Initialised on the CPU under one seed and moved: the device run follows the CPU run."""
    def train(where: str) -> tuple[list[float], list[np.ndarray]]:
        tg.manual_seed(1)
        # (no conv bias before batch norm: its gradient is rounding noise, which Adam's
        # normalised steps would turn into different updates on different devices)
        model = nn.Sequential(nn.Conv2d(1, 4, 3, bias=False), nn.BatchNorm2d(4), nn.ReLU(),
                              nn.MaxPool2d(2), nn.Flatten(), nn.Linear(36, 10)).to(where)
        opt = tg.optim.Adam(model.parameters(), lr=1e-2)
        x, y = batch(where, 16)
        losses = []
        for _ in range(5):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return losses, [p.detach().cpu().numpy() for p in model.parameters()]

    cpu_losses, cpu_params = train("cpu")
    losses, params = train(device)
    np.testing.assert_allclose(losses, cpu_losses, rtol=1e-4)
    for p, q in zip(params, cpu_params):
        np.testing.assert_allclose(p, q, rtol=1e-3, atol=1e-5)
    assert losses[-1] < losses[0]


@pytest.mark.parametrize("pool", [nn.MaxPool2d(2), nn.MaxPool2d(3, stride=2, padding=1)])
def test_the_fused_gpu_kernels_follow_the_array_code(device, monkeypatch, pool):
    """On the GPU, batch norm, max pooling, cross_entropy and the optimizers run fused kernels
    (backend.ElementwiseKernel); TINYGRAD_EDU_CUDA_KERNELS=0 runs the array code instead.
    Both give the same losses, gradients and parameters (non-overlapping and overlapping
    pools, an ignored target and class weights included)."""
    def run(kernels: str) -> tuple[list[float], list[np.ndarray]]:
        monkeypatch.setattr(tg.fast.runtime, "CUDA_KERNELS", kernels != "0")
        tg.manual_seed(2)
        # (no conv bias before batch norm: its gradient is rounding noise, which Adam's
        # normalised step would blow up into different updates on the two paths)
        model = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1, bias=False), nn.BatchNorm2d(3),
                              pool, nn.Flatten()).to(device)
        x, _ = batch(device, 6)
        y = tg.tensor([0, 1, -100, 3, 4, 2], device=device)
        weight = tg.tensor([1.0, 2.0, 0.5, 1.0, 1.5] + [1.0] * 43, device=device)
        opt = tg.optim.Adam(model.parameters(), lr=1e-2)
        losses = []
        for _ in range(2):
            opt.zero_grad()
            out = model(x)
            loss = nn.functional.cross_entropy(out[1:], y[1:], weight=weight[:out.shape[1]])
            loss.backward()
            opt.step()
            losses.append(loss.item())
        grads = [tg.backend.to_numpy(p.grad.array) for p in model.parameters()]
        stats = [tg.backend.to_numpy(b.array) for b in (model[1].running_mean,
                                                        model[1].running_var)]
        return losses, grads + stats + [tg.backend.to_numpy(p.array) for p in model.parameters()]

    fused_losses, fused = run("1")
    array_losses, array = run("0")
    assert np.isfinite(fused_losses).all()
    np.testing.assert_allclose(fused_losses, array_losses, rtol=1e-5)
    for a, b in zip(fused, array):
        assert np.isfinite(a).all()
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)

    # a NaN in the pooled input is the window's maximum and takes the window's gradient
    for kernels in ("1", "0"):
        monkeypatch.setattr(tg.fast.runtime, "CUDA_KERNELS", kernels != "0")
        x = tg.tensor(np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4), device=device,
                      requires_grad=True)
        x.detach()[0, 0, 0, 0] = float("nan")
        pool(x).sum().backward()
        grad = tg.backend.to_numpy(x.grad.array)[0, 0]
        assert grad[0, 0] >= 1 and grad.sum() == pool(x).numel()
