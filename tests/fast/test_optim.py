"""The optimizers' fast steps (tinygrad_edu/fast/cpu/optim.py, fast/cuda/optim.py) against
the reference `update` of each optimizer (tinygrad_edu/optim/), and the fast steps' own
machinery: threads for large CPU parameters, scratch arrays, fused GPU kernels.

Every test here runs with fast on (even under TINYGRAD_EDU_FAST=0), comparing against
`with tg.fast.off()` where it compares."""

from __future__ import annotations

import os
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import fast, nn
from tinygrad_edu.fast.cpu import optim as cpu_optim
from tinygrad_edu.optim import SGD, Adagrad, Adam, AdamW, RMSprop


@pytest.fixture(autouse=True)
def fast_on():
    with fast.on():
        yield


from optimizer_configs import CONFIG_IDS, CONFIGS  # noqa: E402 - tests/

STEP_OVERRIDES = [o for o in fast.registry() if o.kind == "step"]


def numpy_of(t):
    return tg.backend.to_numpy(t.array)


def five_steps(cls, kwargs, device, dtype, shapes=((5,), (3, 4), (2,))):
    """Five steps from a fixed start with fixed gradients (parameter 1 has none at step 2):
    (parameters, optimizer)."""
    rng = np.random.default_rng(0)
    params = [tg.tensor(rng.standard_normal(s).astype(dtype), device=device,
                        requires_grad=True) for s in shapes]
    opt = cls(params, **kwargs)
    for step in range(5):
        for i, p in enumerate(params):
            g = rng.standard_normal(p.shape).astype(dtype)
            p.grad = None if (step, i) == (2, 1) else tg.tensor(g, device=device)
        opt.step()
    return params, opt


def assert_agree(fast_array, ref_array, dtype, what):
    a, b = tg.backend.to_numpy(fast_array), tg.backend.to_numpy(ref_array)
    assert a.dtype == b.dtype == dtype, what
    if dtype == np.float64:
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=0, err_msg=what)
    else:  # a few units in the last place of the values' magnitude
        eps = np.finfo(np.float32).eps
        np.testing.assert_allclose(a, b, rtol=4 * eps, atol=4 * eps * float(np.abs(b).max()),
                                   err_msg=what)


def assert_state_dicts_agree(fast_sd, ref_sd, dtype):
    assert fast_sd["param_groups"] == ref_sd["param_groups"]
    assert fast_sd["state"].keys() == ref_sd["state"].keys()
    for index, ref_state in ref_sd["state"].items():
        fast_state = fast_sd["state"][index]
        assert fast_state.keys() == ref_state.keys(), index
        for key, value in ref_state.items():
            if key == "step":
                assert fast_state[key].item() == value.item()
            else:
                assert_agree(fast_state[key].array, value.array, dtype, f"{index}/{key}")


# ---------------------------------------------------------------------------------------------
# agreement: the fast steps against the reference update
# ---------------------------------------------------------------------------------------------
def test_every_optimizer_has_a_fast_step():
    assert {o.target for o in STEP_OVERRIDES} == {SGD, Adam, AdamW, RMSprop, Adagrad}
    assert all(o.why for o in STEP_OVERRIDES)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("cls,kwargs", CONFIGS, ids=CONFIG_IDS)
def test_fast_step_agrees_with_the_reference(cls, kwargs, dtype, device):
    fast_params, fast_opt = five_steps(cls, kwargs, device, dtype)
    with fast.off():
        ref_params, ref_opt = five_steps(cls, kwargs, device, dtype)
    for i, (a, b) in enumerate(zip(fast_params, ref_params)):
        assert a.device == b.device == device
        assert_agree(a.array, b.array, dtype, f"parameter {i}")
    assert_state_dicts_agree(fast_opt.state_dict(), ref_opt.state_dict(), dtype)


@pytest.mark.parametrize("override", STEP_OVERRIDES, ids=lambda o: o.target.__name__)
def test_the_declared_sample_agrees(override, device):
    shapes, options = override.sample(np.random.default_rng(0))
    for dtype in (np.float64, np.float32):
        fast_params, fast_opt = five_steps(override.target, options, device, dtype, shapes)
        with fast.off():
            ref_params, ref_opt = five_steps(override.target, options, device, dtype, shapes)
        for i, (a, b) in enumerate(zip(fast_params, ref_params)):
            assert_agree(a.array, b.array, dtype, f"parameter {i}")
        assert_state_dicts_agree(fast_opt.state_dict(), ref_opt.state_dict(), dtype)


@pytest.mark.parametrize("cls,kwargs", [CONFIGS[i] for i in (1, 12, 19, 23)],
                         ids=[CONFIG_IDS[i] for i in (1, 12, 19, 23)])
def test_switching_between_fast_and_reference_mid_training(cls, kwargs, device):
    """The two keep the same state: steps alternating between them equal steps of either."""
    rng = np.random.default_rng(4)
    start = rng.standard_normal((3, 4))
    grads = [rng.standard_normal((3, 4)) for _ in range(4)]

    def run(modes):
        p = tg.tensor(start, device=device, requires_grad=True)
        opt = cls([p], **kwargs)
        for g, mode in zip(grads, modes):
            p.grad = tg.tensor(g, device=device)
            with (fast.on() if mode else fast.off()):
                opt.step()
        return p

    alternating = run([True, False, True, False])
    reference = run([False] * 4)
    assert_agree(alternating.array, reference.array, np.float64, "parameter")


# capturable=True (the step count on the device) and a Tensor lr on the parameters' device
# (a device scalar): the fast steps, fused kernels included, against the reference
DEVICE_SCALAR_CONFIGS = [
    (Adam, dict(lr=0.01, capturable=True)),
    (Adam, dict(lr=0.01, amsgrad=True, weight_decay=0.05, maximize=True, capturable=True)),
    (AdamW, dict(lr=0.01, weight_decay=0.1, capturable=True)),
    (AdamW, dict(lr=0.01, weight_decay=0.1, amsgrad=True, capturable=True, lr_tensor=True)),
    (Adam, dict(lr=0.01, weight_decay=0.1, lr_tensor=True)),
    (SGD, dict(lr=0.1, lr_tensor=True)),
    (SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01, lr_tensor=True)),
    (RMSprop, dict(lr=0.01, momentum=0.9, centered=True, lr_tensor=True)),
    (Adagrad, dict(lr=0.1, lr_decay=0.01, lr_tensor=True)),
]
DEVICE_SCALAR_IDS = [f"{cls.__name__}-" + "-".join(f"{k}={v}" for k, v in kw.items())
                     for cls, kw in DEVICE_SCALAR_CONFIGS]


def with_device_scalars(kwargs, device, dtype):
    """The options, with lr_tensor=True: lr a 0-d Tensor of the parameters' dtype on their
    device."""
    kwargs = dict(kwargs)
    if kwargs.pop("lr_tensor", False):
        kwargs["lr"] = tg.tensor(np.array(kwargs["lr"], dtype=dtype), device=device)
    return kwargs


@pytest.mark.filterwarnings("ignore:This instance was constructed with capturable=True")
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("cls,kwargs", DEVICE_SCALAR_CONFIGS, ids=DEVICE_SCALAR_IDS)
def test_fast_step_with_device_scalars_agrees_with_the_reference(cls, kwargs, dtype, device):
    kwargs = with_device_scalars(kwargs, device, dtype)
    fast_params, fast_opt = five_steps(cls, kwargs, device, dtype)
    with fast.off():
        ref_params, ref_opt = five_steps(cls, kwargs, device, dtype)
    for i, (a, b) in enumerate(zip(fast_params, ref_params)):
        assert_agree(a.array, b.array, dtype, f"parameter {i}")
    assert_state_dicts_agree(fast_opt.state_dict(), ref_opt.state_dict(), dtype)
    if kwargs.get("capturable"):
        assert all(s["step"].device == device for s in fast_opt.state.values())


@pytest.mark.filterwarnings("ignore:This instance was constructed with capturable=True")
@pytest.mark.parametrize("cls,kwargs", DEVICE_SCALAR_CONFIGS, ids=DEVICE_SCALAR_IDS)
def test_the_fused_kernels_with_device_scalars_follow_the_array_code(cls, kwargs, device,
                                                                    monkeypatch,
                                                                    no_host_sync):
    """The capturable Adam kernels compute the bias corrections from the device's step count;
    every kernel takes a Tensor lr as a 0-d input. Nothing is read back by either."""
    kwargs = with_device_scalars(kwargs, device, np.float32)

    def run(kernels: bool) -> np.ndarray:
        monkeypatch.setattr(tg.fast.runtime, "CUDA_KERNELS", kernels)
        params, opt = five_steps(cls, kwargs, device, np.float32)
        for p in params:
            p.grad = tg.ones_like(p)
        with no_host_sync():
            opt.step()
        return [numpy_of(p) for p in params]

    for a, b in zip(run(True), run(False)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


@pytest.mark.filterwarnings("ignore:This instance was constructed with capturable=True")
@pytest.mark.parametrize("cls,kwargs", DEVICE_SCALAR_CONFIGS[:4], ids=DEVICE_SCALAR_IDS[:4])
def test_a_capturable_step_makes_no_parameter_sized_temporaries(cls, kwargs, device,
                                                                monkeypatch):
    """As test_a_step_makes_no_parameter_sized_temporaries: the bias corrections on the
    device are 0-d arrays."""
    if device != "cpu" and not getattr(tg.backend.cupy_or_raise(), "emulated", False):
        pytest.skip("tracemalloc cannot see GPU memory; the emulated run checks this code")
    if device != "cpu" and os.environ.get("CUPY_EMULATOR_NOISE") == "1":
        pytest.skip("the emulator's rounding noise allocates arrays itself")
    monkeypatch.setattr(tg.fast.runtime, "CUDA_KERNELS", False)
    n = 100_000
    p = tg.zeros(n, device=device, requires_grad=True)
    opt = cls([p], **with_device_scalars(kwargs, device, np.float32))
    p.grad = tg.ones(n, device=device)
    opt.step()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        start = tracemalloc.get_traced_memory()[0]
        opt.step()
        peak = tracemalloc.get_traced_memory()[1] - start
        assert peak < p.array.nbytes // 4, f"a step allocated {peak} bytes at its peak"
    finally:
        tracemalloc.stop()


@pytest.mark.filterwarnings("ignore:This instance was constructed with capturable=True")
def test_a_capturable_adam_step_is_one_count_and_one_kernel_per_parameter(device):
    """On the (emulated) GPU: the count goes up on the device, then one fused kernel computes
    the bias corrections and the update; a Tensor lr adds nothing."""
    cupy = None if device == "cpu" else tg.backend.cupy_or_raise()
    if not getattr(cupy, "emulated", False) or not tg.fast.runtime.CUDA_KERNELS:
        pytest.skip("counts the emulated CuPy's launches of the fused kernels")
    import cupy_emulator  # noqa: PLC0415 - tests/

    params = [tg.ones(5, device=device, requires_grad=True) for _ in range(3)]
    opt = AdamW(params, lr=tg.tensor(0.01, device=device), capturable=True, amsgrad=True)
    for p in params:
        p.grad = tg.ones(5, device=device)
    opt.step()
    cupy_emulator.launches.clear()
    opt.step()
    assert dict(cupy_emulator.launches) == {"iadd": 3, "tinygrad_edu_adam_amsgrad_capturable": 3}


def test_a_user_subclass_runs_its_own_update():
    """The fast steps are found by the exact class: a subclass's own update() runs."""
    class HalfSGD(SGD):
        def update(self, p, grad, state, group):
            p -= 0.5 * group["lr"] * grad

    p = tg.tensor([1.0, 2.0], requires_grad=True)
    p.grad = tg.tensor([1.0, 1.0])
    HalfSGD([p], lr=0.2).step()
    np.testing.assert_allclose(numpy_of(p), [0.9, 1.9])


def traced_step_lines(opt, model, x):
    """The distinct lines of the whole package that one warm `opt.step()` runs, fast off."""
    package_dir = os.path.dirname(tg.__file__)
    lines = set()

    def tracer(frame, event, arg):
        if frame.f_code.co_filename.startswith(package_dir):
            if event == "line":
                lines.add((os.path.relpath(frame.f_code.co_filename, package_dir),
                           frame.f_lineno))
            return tracer
        return None

    with fast.off():
        for warm in (False, False, True):
            opt.zero_grad()
            model(x).sum().backward()
            if warm:
                sys.settrace(tracer)
            try:
                opt.step()
            finally:
                sys.settrace(None)
    return lines


# Issue 15: at most 25 for plain SGD (86 when the update was written in Tensor ops, 30 with
# it on arrays, 25 after bump_version, Tensor.__hash__ and update_in_place's CPU path shrank)
@pytest.mark.parametrize("momentum,most", [(0, 25), (0.9, 29)], ids=["plain", "momentum"])
def test_the_reference_step_is_short(momentum, most, monkeypatch):
    """One warm step of SGD(lr=0.1) (issue 15's case) and of SGD(lr=0.1, momentum=0.9) on a
    2-layer MLP, with fast off, executes few distinct lines of the whole package: what a
    learner steps through in a debugger (the base class's dispatch, the gradient check,
    `update_in_place`, and SGD's formula on the arrays, no Tensor op). As on a CPU: once a
    process has used two GPUs (other tests do on the emulator), device scopes cost more."""
    monkeypatch.setattr(tg.backend, "gpu_in_use", False)
    monkeypatch.setattr(tg.backend, "several_gpus_in_use", False)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    opt = SGD(model.parameters(), lr=0.1, momentum=momentum)
    lines = traced_step_lines(opt, model, tg.randn(5, 4))
    files = {f for f, _ in lines}
    # no Tensor op (Tensor.__hash__, for opt.state[p], is object's), nothing of ops/
    assert not any(f == "tensor.py" for f, _ in lines), sorted(lines)
    assert not any(f.startswith("ops") for f in files), sorted(lines)
    assert {"optim/optimizer.py", "optim/sgd.py"} <= files
    assert len(lines) <= most, sorted(lines)


def test_the_scratch_arrays_live_on_the_parameters_device(device):
    p = tg.randn(3, 4, device=device, requires_grad=True)
    opt = SGD([p], lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1)
    p.grad = tg.ones(3, 4, device=device)
    opt.step()
    opt.step()
    buffers = cpu_optim.scratch_buffers(opt)
    if device == "cpu" or not tg.fast.runtime.CUDA_KERNELS:
        assert buffers  # the array code ran
    for buf in buffers.values():
        assert tg.backend.device_of(buf) == device and buf.dtype == np.float32


def run_python(code, **env):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=120, check=True).stdout


def test_importing_starts_no_threads_and_threads_env_is_read():
    out = run_python(
        "import threading, tinygrad_edu\n"
        "from tinygrad_edu.fast.cpu import optim as o\n"
        "print(threading.active_count(), o._pool is None, o._fork_hook_registered, o.THREADS)",
        TINYGRAD_EDU_THREADS="1")
    assert out.split() == ["1", "True", "False", "1"]


def test_the_thread_pool_is_made_on_first_use(monkeypatch):
    monkeypatch.setattr(cpu_optim, "THREADS", 2)
    a = np.zeros(cpu_optim.CHUNKED_MIN_SIZE, np.float32)
    cpu_optim.chunked(lambda chunk: chunk.fill(1), a)
    assert cpu_optim._pool is not None and (a == 1).all()


# ---------------------------------------------------------------------------------------------
# large parameters: the update runs in flat chunks, in threads (cpu_optim.chunked)
# ---------------------------------------------------------------------------------------------
CHUNKED_CONFIGS = [
    (SGD, dict(lr=0.1, momentum=0.9)),
    (SGD, dict(lr=0.1, momentum=0.5, dampening=0.1, weight_decay=0.1, maximize=True)),
    (SGD, dict(lr=0.1, momentum=0.9, weight_decay=0.1, nesterov=True)),
    (SGD, dict(lr=0.1)),
    (Adam, dict(lr=0.01)),
    (Adam, dict(lr=0.01, amsgrad=True, weight_decay=0.05, maximize=True)),
    (AdamW, dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
]


@pytest.mark.parametrize("cls,kwargs", CHUNKED_CONFIGS,
                         ids=[f"{cls.__name__}-{i}" for i, (cls, _) in
                              enumerate(CHUNKED_CONFIGS)])
def test_chunked_update_of_a_large_parameter_is_bit_identical(cls, kwargs, monkeypatch):
    rng = np.random.default_rng(7)
    shape = (1000, 2001)  # 2M elements: above CHUNKED_MIN_SIZE, not a multiple of 3
    assert np.prod(shape) >= cpu_optim.CHUNKED_MIN_SIZE
    init = rng.standard_normal(shape).astype(np.float32)
    grads = [rng.standard_normal(shape).astype(np.float32) for _ in range(3)]

    def train(threads):
        monkeypatch.setattr(cpu_optim, "THREADS", threads)
        p = tg.tensor(init, requires_grad=True)
        array = p.array
        opt = cls([p], **kwargs)
        for g in grads:
            p.grad = tg.tensor(g)
            opt.step()
            np.testing.assert_array_equal(p.grad.array, g)  # p.grad never written
        assert p.array is array and p.dtype == tg.float32
        return p.array.copy(), {k: v.array.copy() for k, v in opt.state[p].items()}

    single, single_state = train(1)
    for threads in (2, 3):
        chunked, chunked_state = train(threads)
        assert np.array_equal(chunked, single)  # bit for bit, not approximately
        assert chunked_state.keys() == single_state.keys()
        for key in single_state:
            assert chunked_state[key].dtype == single_state[key].dtype, key
            assert np.array_equal(chunked_state[key], single_state[key]), key


def test_chunked_splits_only_large_contiguous_numpy_arrays(monkeypatch):
    monkeypatch.setattr(cpu_optim, "THREADS", 3)
    n = cpu_optim.CHUNKED_MIN_SIZE + 1
    calls = []

    def record(a, b, none):
        calls.append((a.size, np.shares_memory(a, big_a), none))
        a += b

    big_a, big_b = np.zeros((n,), np.float32), np.ones((n,), np.float32)
    cpu_optim.chunked(record, big_a, big_b, None)
    sizes = [size for size, _, _ in calls]
    assert len(sizes) == 3 and sum(sizes) == n and max(sizes) - min(sizes) <= 1
    assert all(shared and none is None for _, shared, none in calls)  # views of the arrays
    assert (big_a == 1).all()

    for a, b in [(np.zeros(10, np.float32), np.ones(10, np.float32)),  # small
                 (np.zeros((2, n), np.float32).T, np.ones((n, 2), np.float32))]:  # not C order
        calls.clear()
        big_a = a
        cpu_optim.chunked(record, a, b, None)
        assert [size for size, _, _ in calls] == [a.size]  # one call on the whole arrays


def test_chunked_reraises_an_error_of_a_chunk(monkeypatch):
    monkeypatch.setattr(cpu_optim, "THREADS", 2)
    a = np.zeros(cpu_optim.CHUNKED_MIN_SIZE, np.float32)

    def fail(chunk):
        if chunk.size and np.shares_memory(chunk, a[-1:]):
            raise RuntimeError("chunk failed")

    with pytest.raises(RuntimeError, match="chunk failed"):
        cpu_optim.chunked(fail, a)


def test_chunked_is_never_used_for_device_arrays(device, monkeypatch):
    """The threads are a CPU optimisation (NumPy releases the GIL in its loops): a large
    CuPy array is updated in one call, as the GPU already runs it in parallel."""
    monkeypatch.setattr(cpu_optim, "THREADS", 3)
    n = cpu_optim.CHUNKED_MIN_SIZE + 1
    a, b = tg.zeros(n, device=device).array, tg.ones(n, device=device).array
    sizes = []

    def record(a_part, b_part):
        sizes.append(a_part.size)
        a_part += b_part

    with tg.backend.device_scope(a):  # raw arrays: on their own GPU
        cpu_optim.chunked(record, a, b)
    if device == "cpu":
        assert len(sizes) == 3 and sum(sizes) == n  # three threads
    else:
        assert sizes == [n]  # one call on the whole array
    np.testing.assert_array_equal(tg.backend.to_numpy(a[-3:]), [1.0, 1.0, 1.0])




@pytest.mark.parametrize("cls,kwargs", CONFIGS, ids=CONFIG_IDS)
def test_a_step_makes_no_parameter_sized_temporaries(cls, kwargs, device, monkeypatch):
    """After the first step (state and work arrays created), a step allocates nothing of the
    parameter's size: every operation writes into the state or a reused work array (`out=`,
    in-place operators). Measured with tracemalloc, which sees NumPy's memory (also the
    emulated GPU's, which is NumPy's); it cannot see a real GPU's. On the GPU this checks the
    array code used with TINYGRAD_EDU_CUDA_KERNELS=0: a fused kernel writes only its outputs."""
    if device != "cpu" and not getattr(tg.backend.cupy_or_raise(), "emulated", False):
        pytest.skip("tracemalloc cannot see GPU memory; the emulated run checks this code")
    if device != "cpu" and os.environ.get("CUPY_EMULATOR_NOISE") == "1":
        pytest.skip("the emulator's rounding noise allocates arrays itself")
    monkeypatch.setattr(tg.fast.runtime, "CUDA_KERNELS", False)
    n = 100_000  # 400 kB in float32, below CHUNKED_MIN_SIZE: no threads
    rng = np.random.default_rng(0)
    p = tg.tensor(rng.standard_normal(n).astype(np.float32), device=device, requires_grad=True)
    opt = cls([p], **kwargs)
    grads = [tg.tensor(rng.standard_normal(n).astype(np.float32), device=device)
             for _ in range(3)]
    p.grad = grads[0]
    opt.step()
    tracemalloc.start()
    try:
        for g in grads[1:]:
            p.grad = g
            tracemalloc.reset_peak()
            start = tracemalloc.get_traced_memory()[0]
            opt.step()
            peak = tracemalloc.get_traced_memory()[1] - start
            assert peak < p.array.nbytes // 4, f"a step allocated {peak} bytes at its peak"
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("cls,kwargs", CONFIGS, ids=CONFIG_IDS)
def test_the_fused_gpu_kernels_follow_the_array_code(cls, kwargs, device, monkeypatch):
    """On the GPU each update is one fused kernel (backend.ElementwiseKernel); with
    TINYGRAD_EDU_CUDA_KERNELS=0 it is the array code the CPU runs. Both give the same steps
    (a real GPU may fuse a multiply-add, hence the float32 tolerance)."""
    rng = np.random.default_rng(3)
    start = rng.standard_normal((4, 5)).astype(np.float32)
    grads = [rng.standard_normal((4, 5)).astype(np.float32) for _ in range(3)]

    def run(kernels: str) -> np.ndarray:
        monkeypatch.setattr(tg.fast.runtime, "CUDA_KERNELS", kernels != "0")
        p = tg.tensor(start, device=device, requires_grad=True)
        opt = cls([p], **kwargs)
        for g in grads:
            p.grad = tg.tensor(g, device=device)
            opt.step()
        return tg.backend.to_numpy(p.array)

    np.testing.assert_allclose(run("1"), run("0"), rtol=1e-5, atol=1e-7)


ONE_OF_EACH = [(SGD, dict(lr=0.1)), (SGD, dict(lr=0.1, momentum=0.9)), (Adam, dict(lr=0.01)),
               (AdamW, dict(lr=0.01, amsgrad=True)), (RMSprop, dict(momentum=0.5)),
               (Adagrad, dict()), (tg.optim.NAdam, dict()), (tg.optim.RAdam, dict()),
               (tg.optim.Adamax, dict()), (tg.optim.Adadelta, dict()), (tg.optim.Rprop, dict()),
               (tg.optim.ASGD, dict())]


@pytest.mark.parametrize("mode", ["fast", "reference"])
@pytest.mark.parametrize("cls,kwargs", ONE_OF_EACH,
                         ids=[f"{c.__name__}-{i}" for i, (c, _) in enumerate(ONE_OF_EACH)])
def test_a_step_changes_the_parameter_in_place_and_bumps_its_version(cls, kwargs, mode,
                                                                     device):
    """An update is array code, as PyTorch's default `differentiable=False`: it records no
    graph, writes into the parameter's own array, keeps the state Tensors live, and counts
    as an in-place change of the parameter, so that backward of a graph that saved it raises
    PyTorch's error (fast on and off). (tests/autograd/test_grad_ownership_inplace.py checks
    the same for a model trained with SGD.)"""
    p = tg.tensor([0.5, -1.0, 2.0], device=device, requires_grad=True)
    array, version = p.array, p._version
    opt = cls([p], **kwargs)
    loss = (p * p).sum()  # Mul saves p for its backward
    loss.backward(retain_graph=True)
    before = numpy_of(p).copy()
    with (fast.on() if mode == "fast" else fast.off()):
        opt.step()
        opt.step()
    assert p.array is array and p.is_leaf and p.grad_fn is None and p.requires_grad
    assert p._version == version + 2
    assert not np.array_equal(numpy_of(p), before)
    np.testing.assert_array_equal(numpy_of(p.grad), 2 * before)  # the gradient is untouched
    assert all(isinstance(v, tg.Tensor) and v.grad_fn is None for v in opt.state[p].values())
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()
