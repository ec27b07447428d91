"""Differentiable ops, one Function class each, grouped by family."""
