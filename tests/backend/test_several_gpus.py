"""Two GPUs at once: data moves between them, ops refuse to mix them, and each GPU's work runs
there (CuPy refuses an array from another GPU). Run where two GPUs exist; the emulated CuPy
has two. Every other device test also runs on "cuda:1" there (the `device` fixture)."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import nn
from tinygrad_edu.serialization import load, save

pytestmark = pytest.mark.skipif(tg.cuda.device_count() < 2, reason="needs two CUDA GPUs")


def gpu_of(t: tg.Tensor) -> int:
    return t.array.device.id  # the GPU CuPy says the array is on


def test_cuda_to_moves_between_gpus_and_back() -> None:
    x = tg.arange(6, dtype=tg.float32, device="cuda:0").reshape(2, 3)
    y = x.to("cuda:1")
    assert y.device == "cuda:1" and gpu_of(y) == 1 and gpu_of(x) == 0
    z = (y * 2).to("cuda")
    assert z.device == "cuda:0" and gpu_of(z) == 0
    np.testing.assert_array_equal(z.cpu().numpy(), 2 * np.arange(6).reshape(2, 3))
    assert y.to("cuda:1") is y and x.cuda(1).device == "cuda:1"


def test_cuda_ops_refuse_tensors_on_two_gpus() -> None:
    a, b = tg.ones(3, device="cuda:0"), tg.ones(3, device="cuda:1")
    with pytest.raises(RuntimeError, match="cuda:0 and cuda:1"):
        a + b
    with pytest.raises(RuntimeError, match="cuda:0 and cuda:1"):
        tg.cat([a, b])


def test_cuda_factories_and_results_are_on_the_asked_gpu() -> None:
    tg.manual_seed(0)
    made = [tg.zeros(2, device="cuda:1"), tg.randn(2, 2, device="cuda:1"),
            tg.arange(3, device="cuda:1"), tg.eye(2, device="cuda:1")]
    assert all(t.device == "cuda:1" and gpu_of(t) == 1 for t in made)
    x = made[1].requires_grad_()
    y = (x * 3.0 + 1.0).relu().sum()
    y.backward()
    assert gpu_of(y) == 1 and gpu_of(x.grad) == 1
    np.testing.assert_allclose(x.grad.cpu().numpy(), 3.0 * (x.detach().cpu().numpy() * 3 + 1 > 0))


def test_cuda_a_model_moved_to_the_second_gpu_trains_as_on_the_cpu() -> None:
    def train(device: str) -> tuple[list[float], np.ndarray]:
        tg.manual_seed(3)
        model = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.0),
                              nn.Linear(8, 3))
        model.to("cuda:0" if device != "cpu" else "cpu").to(device)  # a hop via cuda:0
        opt = tg.optim.Adam(model.parameters(), lr=0.05)
        rng = np.random.default_rng(0)
        x = tg.tensor(rng.standard_normal((16, 4)), dtype=tg.float32, device=device)
        y = tg.tensor(rng.integers(0, 3, 16), device=device)
        losses = []
        for _ in range(5):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            losses.append(loss.item())
        assert device == "cpu" or all(gpu_of(p) == 1 for p in model.parameters())
        return losses, model[0].weight.detach().cpu().numpy()

    gpu_losses, gpu_weight = train("cuda:1")
    cpu_losses, cpu_weight = train("cpu")
    np.testing.assert_allclose(gpu_losses, cpu_losses, rtol=1e-5)
    np.testing.assert_allclose(gpu_weight, cpu_weight, rtol=1e-4, atol=1e-6)


def test_cuda_checkpoints_remember_the_gpu_and_map_between_gpus(tmp_path) -> None:
    x = tg.tensor([1.0, 2.0], device="cuda:1")
    save({"x": x}, tmp_path / "ckpt")
    back = load(tmp_path / "ckpt")["x"]
    assert back.device == "cuda:1" and gpu_of(back) == 1
    moved = load(tmp_path / "ckpt", map_location={"cuda:1": "cuda:0"})["x"]
    assert moved.device == "cuda:0" and gpu_of(moved) == 0 and moved.tolist() == [1.0, 2.0]


def test_cuda_synchronize_waits_on_the_named_gpu() -> None:
    tg.ones(2, device="cuda:1").exp()
    for spec in ("cuda:1", 1, tg.Device("cuda:1"), None):
        tg.cuda.synchronize(spec)
