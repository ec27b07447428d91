"""tinygrad_edu.backends: as torch.backends (flags the tutorials read or set)."""
