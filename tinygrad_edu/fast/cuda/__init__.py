"""Overrides that exist only for the GPU: fused CuPy kernels."""
