"""torch.backends and torch.accelerator as the tutorials use them: the device-choice lines
run unchanged, and the flags have PyTorch's defaults and can be set and read back."""

from __future__ import annotations

import pytest

import tinygrad_edu as tg
import tinygrad_edu.accelerator

CUDA = tg.cuda.is_available()  # True on a GPU and under TINYGRAD_EDU_EMULATE_CUDA=1


def choose_device_classic(torch) -> str:
    """The device-choice line of the PyTorch tutorials before torch.accelerator."""
    return ("cuda" if torch.cuda.is_available()
            else "mps" if torch.backends.mps.is_available()
            else "cpu")


def choose_device_accelerator(torch) -> str:
    """The line of the current beginner tutorials."""
    return (torch.accelerator.current_accelerator().type if torch.accelerator.is_available()
            else "cpu")


@pytest.fixture
def restore_flags():
    """Put every flag back after a test that sets them (they are process-wide)."""
    cudnn = tg.backends.cudnn
    saved = (cudnn.enabled, cudnn.benchmark, cudnn.deterministic, cudnn.allow_tf32,
             tg.backends.cuda.matmul.allow_tf32)
    yield
    (cudnn.enabled, cudnn.benchmark, cudnn.deterministic, cudnn.allow_tf32,
     tg.backends.cuda.matmul.allow_tf32) = saved


@pytest.mark.skipif(CUDA, reason="a CUDA device is usable here")
def test_device_choice_lines_give_cpu_without_cuda() -> None:
    assert choose_device_classic(tg) == "cpu"
    assert choose_device_accelerator(tg) == "cpu"
    assert tg.accelerator.current_accelerator() is None
    assert tg.accelerator.device_count() == 0
    assert tg.backends.cudnn.is_available() is False
    assert tg.backends.cudnn.version() is None
    with pytest.raises(RuntimeError, match="Cannot access accelerator device"):
        tg.accelerator.synchronize()


@pytest.mark.skipif(not CUDA, reason="no CUDA device (run with TINYGRAD_EDU_EMULATE_CUDA=1)")
def test_device_choice_lines_give_cuda_with_cuda() -> None:
    assert choose_device_classic(tg) == "cuda"
    assert choose_device_accelerator(tg) == "cuda"
    assert tg.accelerator.current_accelerator() == tg.device("cuda")
    assert tg.accelerator.device_count() == tg.cuda.device_count() >= 1
    assert tg.backends.cudnn.is_available() is True
    tg.accelerator.synchronize()
    tg.accelerator.synchronize("cuda")
    # the chosen device works: a tensor made there lives there
    x = tg.ones(3, device=choose_device_accelerator(tg))
    assert x.device == tg.device("cuda")


def test_the_chosen_device_makes_tensors() -> None:
    device = choose_device_classic(tg)
    assert device == ("cuda" if CUDA else "cpu")
    assert tg.zeros(2, device=device).device == tg.device(device)


def test_mps_is_never_available() -> None:
    assert tg.backends.mps.is_available() is False
    assert tg.backends.mps.is_built() is False


def test_flags_have_pytorchs_defaults() -> None:
    cudnn = tg.backends.cudnn
    assert (cudnn.enabled, cudnn.benchmark, cudnn.deterministic) == (True, False, False)
    assert cudnn.allow_tf32 is True
    assert tg.backends.cuda.matmul.allow_tf32 is False


def test_flags_can_be_set_and_read(restore_flags) -> None:
    tg.backends.cudnn.benchmark = True
    tg.backends.cudnn.deterministic = True
    tg.backends.cudnn.enabled = False
    tg.backends.cuda.matmul.allow_tf32 = True
    import tinygrad_edu.backends.cudnn as cudnn  # the same module, whichever way it is reached

    assert (cudnn.enabled, cudnn.benchmark, cudnn.deterministic) == (False, True, True)
    assert tg.backends.cuda.matmul.allow_tf32 is True
    assert "allow_tf32=True" in repr(tg.backends.cuda.matmul)


def test_training_still_runs_with_the_flags_set(restore_flags) -> None:
    # course code sets the flags before training: nothing in the library depends on them
    tg.backends.cudnn.benchmark = True
    tg.backends.cudnn.deterministic = True
    tg.manual_seed(0)
    conv = tg.nn.Conv2d(1, 2, 3)
    out = conv(tg.ones(1, 1, 5, 5))
    out.sum().backward()
    assert tuple(conv.weight.grad.shape) == (2, 1, 3, 3)


def test_against_torch() -> None:
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this comparison is for a machine without a GPU, as the project's")
    assert tg.backends.mps.is_available() == torch.backends.mps.is_available() is False
    assert tg.backends.mps.is_built() == torch.backends.mps.is_built()
    for name in ("enabled", "benchmark", "deterministic"):
        assert getattr(tg.backends.cudnn, name) == getattr(torch.backends.cudnn, name), name
    assert tg.backends.cudnn.allow_tf32 == torch.backends.cudnn.allow_tf32
    assert tg.backends.cuda.matmul.allow_tf32 == torch.backends.cuda.matmul.allow_tf32
    assert choose_device_classic(torch) == "cpu"
    if hasattr(torch, "accelerator"):  # PyTorch >= 2.6
        assert choose_device_accelerator(torch) == "cpu"
        for name in tg.accelerator.__all__:  # only functions that PyTorch has
            assert hasattr(torch.accelerator, name), name
        if not CUDA:
            assert tg.accelerator.is_available() == torch.accelerator.is_available()
            assert tg.accelerator.device_count() == torch.accelerator.device_count()
