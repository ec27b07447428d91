"""backend.py: devices, array modules, moving arrays, dtypes, seeding, tg.cuda."""

from __future__ import annotations

import pathlib
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

import tinygrad_edu as tg
from tinygrad_edu import backend
from tinygrad_edu.backend import Device

CUDA = tg.cuda.is_available()
PACKAGE = pathlib.Path(tg.__file__).parent


# ---------------------------------------------------------------------------------------------
# Device
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("spec", "kind", "index", "text"), [
    ("cpu", "cpu", None, "cpu"),
    (None, "cpu", None, "cpu"),
    ("cuda", "cuda", 0, "cuda:0"),
    ("cuda:0", "cuda", 0, "cuda:0"),
    ("cuda:1", "cuda", 1, "cuda:1"),
    ("cuda:12", "cuda", 12, "cuda:12"),
])
def test_device_parsing(spec: Any, kind: str, index: Any, text: str) -> None:
    d = Device(spec)
    assert (d.type, d.index) == (kind, index)
    assert str(d) == text
    assert d == text and d == Device(text) and Device(d) == d
    assert hash(d) == hash(Device(text))
    assert repr(d) == (f"device(type='{kind}')" if kind == "cpu"
                       else f"device(type='cuda', index={index})")
    assert tg.device is Device


def test_device_comparisons() -> None:
    assert Device("cuda") == Device("cuda:0")
    assert Device("cuda:0") != Device("cuda:1")
    assert Device("cpu") != Device("cuda")
    assert Device("cpu") != 3
    assert Device("cuda", 2) == "cuda:2"  # index given separately
    assert len({Device("cpu"), Device("cpu"), Device("cuda"), Device("cuda:0")}) == 2


@pytest.mark.parametrize("spec", ["gpu", "cuda:x", "cuda:-1", "CPU", "cpu:0", "cuda:", "", "mps"])
def test_bad_device_strings(spec: str) -> None:
    with pytest.raises(ValueError, match=f"unknown device {spec!r}"):
        Device(spec)


@pytest.mark.parametrize("spec", [0, 1.5, ["cpu"]])
def test_bad_device_types(spec: Any) -> None:
    with pytest.raises(TypeError, match="device must be a string"):
        Device(spec)


def test_cpu_device_array_module() -> None:
    assert Device("cpu").xp is np


# ---------------------------------------------------------------------------------------------
# array modules and moving arrays
# ---------------------------------------------------------------------------------------------
def test_get_array_module_on_cpu() -> None:
    assert backend.get_array_module(np.zeros(2)) is np
    assert tg.get_array_module(np.float32(1.0)) is np
    assert backend.get_array_module([1, 2]) is np
    assert backend.get_array_module(tg.ones(2).array) is np


def test_to_device_on_cpu_does_not_copy() -> None:
    a = np.arange(4.0)
    assert backend.to_device(a, Device("cpu")) is a
    assert backend.to_numpy(a) is a
    assert backend.device_of(a) == "cpu"
    assert backend.device_of(np.float32(1.0)) == "cpu"


@pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU")
def test_to_device_round_trip_on_cuda() -> None:
    a = np.arange(6.0).reshape(2, 3)
    g = backend.to_device(a, Device("cuda"))
    assert backend.get_array_module(g) is not np
    assert backend.device_of(g) == "cuda:0"
    np.testing.assert_array_equal(backend.to_numpy(g), a)
    with pytest.raises(RuntimeError, match="does not exist"):
        backend.to_device(a, Device(f"cuda:{tg.cuda.device_count()}"))


def test_device_fixture_round_trip(device: str) -> None:
    t = tg.tensor([[1.0, 2.0], [3.0, 4.0]], device=device)
    assert t.device == device
    assert backend.device_of(t.array) == device
    back = t.to("cpu")
    assert back.device == "cpu" and back.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert back.to(device).device == device


# ---------------------------------------------------------------------------------------------
# dtypes
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("spec", "expected"), [
    (float, np.float32), (int, np.int64), (bool, np.bool_), ("float", np.float32),
    ("float32", np.float32), ("double", np.float64), ("half", np.float16), ("long", np.int64),
    ("int", np.int32), ("uint8", np.uint8), ("bool", np.bool_), (np.float64, np.float64),
    (tg.float16, np.float16), (np.dtype("int32"), np.int32), ("float64", np.float64),
])
def test_as_dtype(spec: Any, expected: Any) -> None:
    assert backend.as_dtype(spec) == np.dtype(expected)


@pytest.mark.parametrize("spec", ["complex64", "float128", "int8", np.complex64, np.int16,
                                  object, "nonsense"])
def test_as_dtype_rejects(spec: Any) -> None:
    with pytest.raises(TypeError, match="unsupported dtype"):
        backend.as_dtype(spec)


def test_is_floating() -> None:
    assert all(backend.is_floating(d) for d in (tg.float16, tg.float32, tg.float64))
    assert not any(backend.is_floating(d) for d in (tg.int64, tg.int32, tg.uint8, tg.bool))


# ---------------------------------------------------------------------------------------------
# seeding
# ---------------------------------------------------------------------------------------------
def test_manual_seed_resets_the_cpu_generator() -> None:
    tg.manual_seed(7)
    first = backend.generator(Device("cpu")).random(5)
    assert backend.generator(Device("cpu")) is backend.generator(Device("cpu"))
    tg.manual_seed(7)
    np.testing.assert_array_equal(backend.generator(Device("cpu")).random(5), first)
    backend.manual_seed(8)
    assert not np.array_equal(backend.generator(Device("cpu")).random(5), first)


def test_cuda_manual_seed_leaves_the_cpu_generator_alone() -> None:
    tg.manual_seed(3)
    a = tg.randn(3).tolist()
    tg.manual_seed(3)
    tg.cuda.manual_seed(99)
    tg.cuda.manual_seed_all(99)
    assert tg.randn(3).tolist() == a


@pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU")
def test_manual_seed_on_cuda() -> None:
    tg.manual_seed(5)
    a = np.asarray(tg.randn(4, device="cuda"))
    tg.manual_seed(5)
    np.testing.assert_array_equal(np.asarray(tg.randn(4, device="cuda")), a)


# ---------------------------------------------------------------------------------------------
# tg.cuda and where CuPy may be imported
# ---------------------------------------------------------------------------------------------
def test_cuda_namespace() -> None:
    assert isinstance(tg.cuda.is_available(), bool)
    assert tg.cuda.device_count() == (tg.cuda.device_count() if CUDA else 0)
    assert (tg.cuda.unavailable_reason() == "") == CUDA
    tg.cuda.synchronize()  # a no-op without a GPU


def test_importing_the_library_does_not_import_cupy() -> None:
    code = ("import sys, tinygrad_edu as tg; x = tg.randn(3, requires_grad=True); "
            "(x * 2).sum().backward(); print('cupy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=PACKAGE.parent)
    assert out.stdout.strip() == "False"


CORE_FILES = ["autograd/__init__.py", "autograd/functional.py", "autograd/gradcheck.py",
              "tensor.py", "__init__.py", "ops/elementwise.py", "ops/reduce.py", "ops/shape.py",
              "ops/linalg.py"]


@pytest.mark.parametrize("name", CORE_FILES)
def test_only_backend_imports_cupy(name: str) -> None:
    source = (PACKAGE / name).read_text()
    assert "import cupy" not in source and "from cupy" not in source


# ---------------------------------------------------------------------------------------------
# scatter_add (the backward of indexing with repeated indices)
# ---------------------------------------------------------------------------------------------
def test_scatter_add_adds_repeated_indices(device: str) -> None:
    xp = Device(device).xp
    out = xp.zeros(4)
    backend.scatter_add(out, (xp.asarray([0, 2, 0, 0]),), xp.asarray([1.0, 2.0, 3.0, 4.0]))
    np.testing.assert_array_equal(backend.to_numpy(out), [8.0, 0.0, 2.0, 0.0])



# ---------------------------------------------------------------------------------------------
# Several GPUs: explicit device scopes, no methods replaced at run time
# ---------------------------------------------------------------------------------------------
@pytest.mark.skipif(tg.cuda.device_count() < 2, reason="needs two CUDA GPUs")
def test_cuda_a_second_gpu_replaces_no_method() -> None:
    from tinygrad_edu import autograd

    methods = dict(vars(tg.Tensor))
    apply = vars(autograd.Function)["apply"]
    x = tg.ones(3, device="cuda:1", requires_grad=True)
    (x * 2.0 + 1.0).sum().backward()
    assert backend.several_gpus_in_use
    assert vars(autograd.Function)["apply"] is apply
    assert {name for name, member in vars(tg.Tensor).items()
            if methods.get(name) is not member} == set()
    assert x.grad.array.device.id == 1
    np.testing.assert_array_equal(x.grad.cpu().numpy(), [2.0, 2.0, 2.0])
