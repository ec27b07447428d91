"""Every registered override agrees with the reference it replaces (issue 15).

Parametrised over `tg.fast.registry()`: each op override runs forward and backward on the
inputs its `sample` makes, with fast on and off; each optimizer override runs 5 steps from
the same start. float64: within 1e-12 relative. The areas' own tests (tests/fast/test_*.py)
add float32 and the options the samples don't cover."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import fast

OVERRIDES = fast.registry()


def override_id(override: fast.Override) -> str:
    only = "" if len(override.devices) > 1 else f"-{override.devices[0]}"
    return f"{override.kind}-{override.target.__name__}{only}"


def test_every_override_declares_its_sample_and_what_it_buys():
    for override in OVERRIDES:
        assert callable(override.sample), override
        assert override.why.strip(), f"{override_id(override)} says nothing of what it buys"
    kinds = [(o.kind, o.target, o.devices) for o in OVERRIDES]
    assert len(kinds) == len(set(kinds))
    assert all(set(o.devices) <= set(fast.DEVICE_KINDS) for o in OVERRIDES)


def to_tensors(arrays, device):
    return [tg.tensor(a, device=device, requires_grad=np.asarray(a).dtype.kind == "f")
            if isinstance(a, np.ndarray) else a for a in arrays]


def run_op(op, arrays, options, device, seed=0):
    """Forward, then a backward of a random upstream gradient: (output, input grads)."""
    inputs = to_tensors(arrays, device)
    out = op.apply(*inputs, **options)
    rng = np.random.default_rng(seed)
    upstream = tg.tensor(rng.standard_normal(out.shape), dtype=out.dtype, device=device)
    tensors = [t for t in inputs if isinstance(t, tg.Tensor) and t.requires_grad]
    grads = tg.autograd.grad(out, tensors, upstream, allow_unused=True) if tensors else []
    return out, grads


def assert_close(a, b, what):
    a, b = tg.backend.to_numpy(a.array), tg.backend.to_numpy(b.array)
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-300, err_msg=what)


@pytest.mark.parametrize("override", [o for o in OVERRIDES if o.kind != "step"],
                         ids=override_id)
def test_op_override_agrees_with_the_reference(override, device):
    if device.split(":")[0] not in override.devices:
        pytest.skip(f"{override_id(override)} applies only to {override.devices}")
    arrays, options = override.sample(np.random.default_rng(0))
    with fast.on():
        out_fast, grads_fast = run_op(override.target, arrays, options, device)
    with fast.off():
        out_ref, grads_ref = run_op(override.target, arrays, options, device)
    assert_close(out_fast, out_ref, "forward")
    for i, (gf, gr) in enumerate(zip(grads_fast, grads_ref)):
        assert (gf is None) == (gr is None)
        if gf is not None:
            assert_close(gf, gr, f"gradient of input {i}")


@pytest.mark.parametrize("override", [o for o in OVERRIDES if o.kind == "step"],
                         ids=override_id)
def test_optimizer_override_agrees_with_the_reference(override, device):
    shapes, options = override.sample(np.random.default_rng(0))

    def five_steps():
        rng = np.random.default_rng(1)
        params = [tg.nn.Parameter(tg.tensor(rng.standard_normal(s), device=device))
                  for s in shapes]
        optimizer = override.target(params, **options)
        for _ in range(5):
            for p in params:
                p.grad = tg.tensor(rng.standard_normal(p.shape), device=device)
            optimizer.step()
        return params

    with fast.on():
        fast_params = five_steps()
    with fast.off():
        ref_params = five_steps()
    for i, (a, b) in enumerate(zip(fast_params, ref_params)):
        assert_close(a, b, f"parameter {i}")


def test_the_switch():
    with fast.on():
        assert fast.enabled()
    before = fast.enabled()
    with fast.off():
        assert not fast.enabled()
        with fast.on():
            assert fast.enabled()
        assert not fast.enabled()
    assert fast.enabled() == before
