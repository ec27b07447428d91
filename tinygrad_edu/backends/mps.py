"""tinygrad_edu.backends.mps: as torch.backends.mps. Apple's Metal GPUs are not supported, so
both answers are always False and device-choice lines fall through to "cpu" (or "cuda")."""

__all__ = ["is_available", "is_built"]


def is_available() -> bool:
    """Whether an MPS (Apple GPU) device can be used: never, in tinygrad_edu."""
    return False


def is_built() -> bool:
    """Whether the library was built with MPS support: it was not."""
    return False
