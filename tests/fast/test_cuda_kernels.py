"""Every fused GPU kernel (backend.ElementwiseKernel) compiles as CUDA C++ with NVRTC, for
float32 and float64, wherever NVRTC's library is found (it needs no GPU: the CUDA toolkit or
the `nvidia-cuda-nvrtc` wheel is enough). The emulator runs the same bodies on NumPy for
their numbers; this checks what it cannot: that CUDA's compiler accepts them.

Each body is wrapped the way CuPy wraps an ElementwiseKernel's: `typedef <float> T;`, every
input a `const` local of its type, every output a reference, `i` the element's index."""

from __future__ import annotations

import ctypes
import glob
import os
import site
import sys

import pytest

import tinygrad_edu as tg
from tinygrad_edu.backend import ElementwiseKernel

_C_TYPES = {"int32": "int", "int64": "long long", "bool": "bool", "float32": "float",
            "float64": "double"}


def _find_nvrtc() -> ctypes.CDLL | None:
    names = ["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"]
    roots = site.getsitepackages() + [site.getusersitepackages()] + sys.path
    names += sorted({path for root in roots if os.path.isdir(root)
                     for path in glob.glob(os.path.join(root, "nvidia", "*", "lib",
                                                        "libnvrtc.so*"))
                     + glob.glob(os.path.join(root, "nvidia", "cuda_nvrtc", "lib",
                                              "libnvrtc.so*"))
                     if "builtins" not in path}, reverse=True)
    names += glob.glob("/usr/local/cuda*/lib64/libnvrtc.so*")
    for name in names:
        try:
            return ctypes.CDLL(name)
        except OSError:
            continue
    return None


NVRTC = _find_nvrtc()


def _source(kernel: ElementwiseKernel, float_type: str) -> str:
    """The kernel as CuPy would generate it, in spirit: typedefs, locals, body."""
    lines = [f"typedef {float_type} T;", f"typedef {float_type} U;",
             f'extern "C" __global__ void {kernel.name}(']
    params, locals_ = [], []
    for spec, is_output in ((kernel.in_params, False), (kernel.out_params, True)):
        for part in filter(None, (p.strip() for p in spec.split(","))):
            kind, name = part.split()
            c_type = _C_TYPES.get(kind, kind)
            params.append(f"{'' if is_output else 'const '}{c_type}* _raw_{name}")
            locals_.append(f"  {c_type} &{name} = _raw_{name}[i];" if is_output
                           else f"  const {c_type} {name} = _raw_{name}[i];")
    lines.append("    " + ", ".join(params + ["long long n"]) + ") {")
    lines.append("  ptrdiff_t i = blockIdx.x * (ptrdiff_t)blockDim.x + threadIdx.x;")
    lines.append("  if (i >= n) return;")
    lines += locals_
    lines.append(f"  {kernel.body};")
    lines.append("}")
    return "\n".join(lines)


def _compile(source: str, name: str) -> tuple[int, str]:
    program = ctypes.c_void_p()
    assert NVRTC.nvrtcCreateProgram(ctypes.byref(program), source.encode(), name.encode(), 0,
                                    None, None) == 0
    options = (ctypes.c_char_p * 2)(b"--gpu-architecture=compute_90", b"--std=c++17")
    status = NVRTC.nvrtcCompileProgram(program, 2, options)
    size = ctypes.c_size_t()
    NVRTC.nvrtcGetProgramLogSize(program, ctypes.byref(size))
    log = ctypes.create_string_buffer(size.value)
    NVRTC.nvrtcGetProgramLog(program, log)
    NVRTC.nvrtcDestroyProgram(ctypes.byref(program))
    return status, log.value.decode(errors="replace")


def test_every_kernel_is_registered() -> None:
    names = [k.name for k in ElementwiseKernel.registry]
    assert len(names) == len(set(names)) >= 20  # optimizers, pooling, batch norm, losses, ...
    assert all(name.startswith("tinygrad_edu_") for name in names)
    assert tg.fast.runtime.CUDA_KERNELS == (os.environ.get("TINYGRAD_EDU_CUDA_KERNELS") != "0")


@pytest.mark.skipif(NVRTC is None, reason="NVRTC (CUDA's runtime compiler) is not installed")
@pytest.mark.parametrize("float_type", ["float", "double"])
@pytest.mark.parametrize("kernel", ElementwiseKernel.registry, ids=lambda k: k.name)
def test_cuda_kernel_compiles_with_nvrtc(kernel: ElementwiseKernel, float_type: str) -> None:
    source = _source(kernel, float_type)
    status, log = _compile(source, kernel.name + ".cu")
    assert status == 0, f"{kernel.name} ({float_type}) does not compile:\n{log}\n{source}"
