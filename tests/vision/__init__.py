"""Tests of tinygrad_edu.vision (a package, so that its module names may repeat tests/data/'s)."""
