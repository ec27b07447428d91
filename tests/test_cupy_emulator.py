"""The CuPy emulator (tests/cupy_emulator.py) enforces the rules it claims: the "cuda" half of
the suite is only as good as this stand-in."""

from __future__ import annotations

import collections
import inspect
from typing import Any, Callable

import cupy_emulator as emu
import numpy as np
import pytest

cp = emu.cupy


def test_device_arrays_refuse_implicit_conversion_and_numpy_functions() -> None:
    x = cp.arange(6, dtype=np.float32).reshape(2, 3)
    with pytest.raises(TypeError, match="Implicit conversion"):
        np.asarray(x)
    with pytest.raises(TypeError, match="Implicit conversion"):
        np.array([x, x])
    with pytest.raises(TypeError, match="numpy.sum"):
        np.sum(x)
    with pytest.raises(TypeError, match="numpy.add.at"):
        np.add.at(x, [0], 1.0)
    with pytest.raises(TypeError):
        np.zeros(3)[cp.asarray(np.array([0]))]


def test_numpy_arrays_are_refused_as_operands_but_accepted_as_host_data() -> None:
    x = cp.ones(3)
    host = np.ones(3)
    for op in (lambda: x + host, lambda: host * x, lambda: cp.maximum(x, host),
               lambda: cp.concatenate([x, host]), lambda: cp.add(x, [1.0, 2.0, 3.0])):
        with pytest.raises(TypeError, match="Unsupported type"):
            op()
    assert isinstance(x * np.float32(2) + 1, cp.ndarray)  # scalars are fine, NumPy's too
    y = cp.asarray(host)
    host[0] = 5.0  # asarray copied: the device array does not alias host memory
    assert y.get()[0] == 1.0
    x[np.array([0, 2])] = 7.0  # indices may be host data
    x[:] = np.array([7.0, 1.0, 8.0])  # values only with [:] (cupy/cupy#2079)
    with pytest.raises(ValueError, match="cannot be used for fill"):
        x[1:] = np.array([1.0, 2.0])
    np.testing.assert_array_equal(cp.asnumpy(x), [7.0, 1.0, 8.0])


def test_results_are_device_arrays_and_reductions_are_0d() -> None:
    x = cp.asarray(np.array([[1.0, 5.0], [3.0, 2.0]]))
    total = x.sum()
    assert isinstance(total, cp.ndarray) and total.shape == ()
    assert isinstance(x[0, 1], cp.ndarray) and x[0, 1].shape == ()
    q, r = cp.linalg.qr(x)
    np.testing.assert_allclose((q @ r).get(), x.get())
    assert float(total) == 11.0


def test_only_cupy_names_exist() -> None:
    assert cp.put_along_axis is not None and cp.random.default_rng is not None
    for missing in ("nditer", "matrix", "busday_count"):
        with pytest.raises(AttributeError, match=missing):
            getattr(cp, missing)
    with pytest.raises(AttributeError, match="normal"):
        cp.random.default_rng(0).normal  # CuPy's Generator has standard_normal, not normal


def test_out_of_bounds_integer_indices_wrap_around_as_in_cupy() -> None:
    x = cp.arange(3)
    np.testing.assert_array_equal(x[[1, 3]].get(), [1, 0])
    np.testing.assert_array_equal(x[cp.asarray(np.array([-4, 5]))].get(), [2, 2])
    counts = cp.zeros(3)
    emu.cupyx.scatter_add(counts, cp.asarray(np.array([0, 3, -1])), 1.0)
    np.testing.assert_array_equal(counts.get(), [2.0, 0.0, 1.0])
    with pytest.raises(IndexError):
        x[3]  # a Python int index is still checked


def test_device_to_host_reads_are_counted_and_refused_when_asked() -> None:
    x = cp.ones(4)
    before = emu.transfers()
    x.sum().item()
    float(x[0])
    bool(x.any())
    x[x > 0]  # a boolean mask needs the count of True values on the host
    assert emu.transfers() - before == 4
    with emu.cupyx.allow_synchronize(False):
        y = (x * 2).sum()  # device work is fine
        for read in (y.item, y.get, lambda: float(y), lambda: repr(y), lambda: x[x > 0],
                     lambda: cp.asnumpy(y)):
            with pytest.raises(emu.DeviceSynchronized):
                read()
    assert float(y) == 8.0


def test_device_work_is_counted_views_are_not() -> None:
    x = cp.ones((2, 3))
    emu.launches.clear()
    x.reshape(3, 2).T
    x[:, 1:]
    assert sum(emu.launches.values()) == 0
    (x + 1).sum(axis=0)
    cp.exp(x, out=x)
    x.astype(np.float32, copy=False)  # a real conversion (from float64): a kernel
    x.astype(x.dtype, copy=False)  # no conversion: nothing
    assert emu.launches == {"add": 1, "sum": 1, "exp": 1, "astype": 1}


def test_copies_from_host_memory_are_counted() -> None:
    x = cp.ones(3)
    emu.launches.clear()
    cp.asarray(x), cp.asarray(x, dtype=x.dtype)  # already on the device: nothing
    assert sum(emu.launches.values()) == 0
    cp.asarray(2.0), cp.array([1, 2]), cp.asarray(np.ones(2)), x.set(np.zeros(3))
    assert emu.launches == {emu.HOST_TO_DEVICE: 4}


def test_elementwise_kernels_run_their_c_body_on_numpy() -> None:
    kernel = cp.ElementwiseKernel(
        "T g, T lr, int32 first, T nan", "T p, T buf",
        "const T d = g < 0 ? -g : g * 2.5f;"
        "buf = first ? d : 0.9 * buf + d;"
        "p -= lr * (isnan(buf) || !(buf >= 0) ? nan : sqrt(buf) / max(buf, 1.0));",
        "test_kernel")
    rng = np.random.default_rng(0)
    g = rng.standard_normal(6).astype(np.float32)
    p0, buf0 = rng.standard_normal(6).astype(np.float32), np.abs(rng.standard_normal(6))
    for first in (1, 0):
        p, buf = cp.asarray(p0), cp.asarray(buf0.astype(np.float32))
        kernel(cp.asarray(g), 0.1, first, np.nan, p, buf)
        d = np.where(g < 0, -g, g * np.float32(2.5))
        want_buf = d if first else np.float32(0.9) * buf0.astype(np.float32) + d
        want_p = p0 - np.float32(0.1) * (np.sqrt(want_buf) / np.maximum(want_buf, 1.0))
        np.testing.assert_allclose(buf.get(), want_buf, rtol=1e-6)
        np.testing.assert_allclose(p.get(), want_p, rtol=1e-6)
        assert p.dtype == np.float32
    new = cp.ElementwiseKernel("T x, T y", "T z", "z = x * y + 1", "alloc")(
        cp.ones((2, 1)), cp.ones(3))
    assert new.shape == (2, 3) and float(new.sum()) == 12.0  # outputs allocated, broadcast


@pytest.mark.parametrize("body", ["if (x > 0) y = x", "y = x[0]", "y = (float) x",
                                  "for (int i = 0; i < 2; i++) y += x", "y = unknown(x)"])
def test_elementwise_kernels_refuse_what_they_cannot_emulate(body: str) -> None:
    with pytest.raises(NotImplementedError):
        cp.ElementwiseKernel("T x", "T y", body, "bad")


def test_elementwise_kernels_check_types_as_cupy_does() -> None:
    kernel = cp.ElementwiseKernel("T x, T w, int64 k", "T y", "y = x * w + k", "typed")
    x32, x64 = cp.ones(3, dtype=np.float32), cp.ones(3, dtype=np.float64)
    k = cp.zeros(3, dtype=np.int64)
    assert kernel(x32, 2.0, k).dtype == np.float32  # a Python scalar takes T
    with pytest.raises(TypeError, match="Type is mismatched"):
        kernel(x32, x64, k)  # one placeholder, two dtypes
    with pytest.raises(TypeError, match="Type is mismatched"):
        kernel(x32, x32, k.astype(np.int32))  # a typed parameter takes exactly its dtype
    with pytest.raises(TypeError, match="Type is mismatched"):
        kernel(x32, np.float64(2.0), k)  # a NumPy scalar counts as its dtype
    with pytest.raises(KeyError):  # T known only from Python scalars (cupy/cupy#2091)
        cp.ElementwiseKernel("T a", "T y", "y = a", "scalar_only")(1.0)


def test_only_the_arguments_cupy_takes_are_accepted() -> None:
    """Recorded from CuPy 14.2 (record_cupy_signatures.py): NumPy-only arguments raise."""
    x = cp.ones((2, 3))
    for call in (lambda: x.max(initial=0.0), lambda: cp.clip(x, min=0.0, max=1.0),
                 lambda: cp.exp(x, where=x > 0), lambda: cp.indices((2, 3), sparse=True),
                 lambda: cp.maximum(x, x, x, x)):
        with pytest.raises(TypeError, match="unexpected keyword argument|positional arguments"):
            call()
    assert float(x.max(axis=0, keepdims=True).sum()) == 3.0  # CuPy's own arguments work
    assert cp.exp(x, out=x) is x and cp.clip(x, 0.0, 1.0).shape == (2, 3)
    assert emu.SIGNATURES["cupy.exp"] == "x, /, out, *, casting, dtype"
    with pytest.raises(TypeError):
        cp.exp(x=x)  # positional only


def test_flags_are_cupys_three() -> None:
    flags = cp.ones((2, 3)).T.flags
    assert (flags.c_contiguous, flags.f_contiguous) == (False, True)
    assert not hasattr(flags, "writeable")  # CuPy arrays have no read-only flag


def test_arrays_live_on_the_current_gpu_and_kernels_refuse_other_gpus() -> None:
    assert emu.DEVICE_COUNT >= 2 and cp.cuda.runtime.getDevice() == 0
    on0 = cp.ones(3)
    with cp.cuda.Device(1):
        on1 = cp.ones(3)
        assert cp.cuda.runtime.getDevice() == 1 and (on1 * 2).device.id == 1
        with pytest.raises(ValueError, match=r"resides \(0\) is different from the current "
                                             r"device \(1\)"):
            on0 + on1
        assert on0.copy().device.id == 1 and cp.copy(on0).device.id == 1  # copies cross over
        assert cp.asarray(on0).device.id == 0  # asarray keeps it where it is, as in CuPy
        rng = cp.random.default_rng(0)
    assert on0[1:].device.id == 0 and on1.reshape(3, 1).device.id == 1  # views stay
    for kernel_on_other_gpu in (lambda: on1 + 1, lambda: -on1, lambda: cp.exp(on1),
                                lambda: on1.sum(), lambda: on1[cp.asarray([0])],
                                lambda: rng.random(2)):
        with pytest.raises(ValueError, match="Peer access is unavailable"):
            kernel_on_other_gpu()
    assert on1.get().tolist() == [1.0, 1.0, 1.0]  # reading back works from any GPU
    with pytest.raises(RuntimeError, match="invalid device ordinal"):
        with cp.cuda.Device(emu.DEVICE_COUNT):
            pass


def test_signatures_are_read_from_inspect_or_from_a_cython_docstring() -> None:
    from record_cupy_signatures import _from_doc, as_text, signature

    def numpy_like(a, axis=None, *, out=None, **kwargs):  # noqa: ANN001, ANN003, ANN202
        pass

    class CythonMethod:  # inspect cannot read these; their docstring's first line says it
        __doc__ = "_ndarray_base.max(self, axis=None, out=None, keepdims=False) -> ndarray"

    class CythonUfunc:
        __doc__ = "exp(x, /, out=None, \\*, casting='same_kind', dtype=None)\n\nExponential."

    assert as_text(signature(numpy_like)) == "a, axis, *, out, **kwargs"
    assert as_text(_from_doc(CythonMethod)) == "axis, out, keepdims"
    assert as_text(_from_doc(CythonUfunc)) == "x, /, out, *, casting, dtype"
    assert _from_doc(type("NoSignature", (), {"__doc__": "Just words."})) is None


# ---------------------------------------------------------------------------------------------
# streams, graph capture and memory pools
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def capture_pool() -> Any:
    """A MemoryPool set as the allocator (as a graph's private pool), reset afterwards."""
    pool = cp.cuda.MemoryPool()
    cp.cuda.set_allocator(pool.malloc)
    yield pool
    cp.cuda.set_allocator(None)


def _capture(stream: Any, work: Callable[[], Any]) -> tuple[Any, Any]:
    with stream:
        stream.begin_capture()
        assert stream.is_capturing()
        try:
            result = work()
        finally:
            graph = stream.end_capture()
    assert not stream.is_capturing()
    return graph, result


def test_capture_records_and_replays_work_on_the_current_contents(capture_pool: Any) -> None:
    x = cp.arange(4, dtype=np.float32)
    out = cp.zeros((2, 4), dtype=np.float32)
    index = cp.asarray(np.array([3, 0]))
    stream = cp.cuda.Stream(non_blocking=True)

    def work() -> Any:
        y = cp.exp(x * 2) + 1  # ufunc, operators
        out[0] = y  # basic setitem: a device-to-device copy into an existing buffer
        out[1, :] = x[index].sum()  # advanced indexing, a reduction
        kernel = cp.ElementwiseKernel("T a", "T b", "b = a * a", "square")
        return y, kernel(x), x.T.reshape(2, 2).copy(), y.astype(np.float64)

    before = emu.launches.copy()
    graph, (y, squared, copied, as_double) = _capture(stream, work)
    assert emu.launches - before  # the work ran during the capture (counted) ...
    np.testing.assert_allclose(y.get(), np.exp(2 * np.arange(4)) + 1, rtol=1e-6)
    np.testing.assert_array_equal(out.get(), np.zeros((2, 4)))  # ... undone where it wrote
    x[...] = cp.full(4, 0.5, dtype=np.float32)  # new data into the captured input
    index[...] = cp.asarray(np.array([1, 1]))
    before = emu.launches.copy()
    graph.launch()
    assert emu.launches - before == collections.Counter({"cudaGraphLaunch": 1})
    np.testing.assert_allclose(y.get(), np.full(4, np.exp(1.0) + 1), rtol=1e-6)
    np.testing.assert_allclose(out.get(), [[np.exp(1.0) + 1] * 4, [1.0] * 4], rtol=1e-6)
    np.testing.assert_array_equal(squared.get(), [0.25] * 4)
    np.testing.assert_array_equal(copied.get(), [[0.5, 0.5], [0.5, 0.5]])
    assert as_double.dtype == np.float64 and as_double.get()[0] == y.get()[0]


def test_capture_refuses_host_reads_and_host_to_device_copies(capture_pool: Any) -> None:
    x = cp.ones(3, dtype=np.float32)
    stream = cp.cuda.Stream(non_blocking=True)
    for broken, what in ((lambda: float(x.sum()), "float"), (lambda: x.get(), "ndarray.get"),
                         (lambda: x.sum().item(), "ndarray.item"), (lambda: repr(x), "repr"),
                         (lambda: x + cp.asarray(np.ones(3)), "host-to-device"),
                         (lambda: x.set(np.zeros(3, dtype=np.float32)), "host-to-device"),
                         (lambda: x[[0, 1]], "host-to-device"),
                         (lambda: stream.synchronize(), "Stream.synchronize")):
        with stream:
            stream.begin_capture()
            with pytest.raises(cp.cuda.runtime.CUDARuntimeError,
                               match=f"cudaErrorStreamCaptureUnsupported.*{what}"):
                broken()
            with pytest.raises(cp.cuda.runtime.CUDARuntimeError,
                               match="cudaErrorStreamCaptureInvalidated"):
                stream.end_capture()
        assert not stream.is_capturing()
    assert float(x.sum()) == 3.0  # outside a capture all of it works again


def test_capture_needs_a_side_stream_and_leaves_other_streams_alone() -> None:
    with pytest.raises(RuntimeError, match="legacy"):
        cp.cuda.Stream.null.begin_capture()
    stream, other = cp.cuda.Stream(non_blocking=True), cp.cuda.Stream(non_blocking=True)
    x = cp.zeros(2)
    with stream:
        stream.begin_capture()
        with pytest.raises(cp.cuda.runtime.CUDARuntimeError, match="already capturing"):
            stream.begin_capture()
        with other:
            x += 1  # runs on another stream: not captured
        assert cp.cuda.get_current_stream() is stream
        graph = stream.end_capture()
    assert len(graph) == 0 and x.get().tolist() == [1.0, 1.0]
    blocking = cp.cuda.Stream()
    with blocking:
        blocking.begin_capture()
    with pytest.raises(cp.cuda.runtime.CUDARuntimeError, match="legacy default stream"):
        x += 1  # the legacy stream would wait for the capturing blocking stream
    with pytest.raises(cp.cuda.runtime.CUDARuntimeError, match="Invalidated"):
        blocking.end_capture()


def test_replay_raises_on_buffers_freed_since_the_capture() -> None:
    stream = cp.cuda.Stream(non_blocking=True)
    x = cp.arange(3, dtype=np.float32)
    graph, y = _capture(stream, lambda: (x + 1) * 2)  # x + 1 is freed at once (no pool)
    with pytest.raises(cp.cuda.runtime.CUDARuntimeError, match="cudaErrorIllegalAddress"):
        graph.launch()

    pool = cp.cuda.MemoryPool()
    with cp.cuda.using_allocator(pool.malloc):
        graph, y = _capture(stream, lambda: (x + 1) * 2)
    assert pool.n_free_blocks() == 1 and pool.used_bytes() == y.nbytes  # x + 1: freed, kept
    graph.launch()
    np.testing.assert_array_equal(y.get(), [2.0, 4.0, 6.0])
    pool.free_all_blocks()  # gives the memory of x + 1 back: the graph may not use it now
    with pytest.raises(cp.cuda.runtime.CUDARuntimeError, match="freed since the capture"):
        graph.launch()
    assert cp.cuda.get_allocator() is not pool.malloc


def test_capture_puts_random_generators_back() -> None:
    rng = cp.random.default_rng(0)
    expected = cp.random.default_rng(0).random(3).get()
    stream, pool = cp.cuda.Stream(non_blocking=True), cp.cuda.MemoryPool()
    with cp.cuda.using_allocator(pool.malloc):
        graph, drawn = _capture(stream, lambda: rng.random(3))
    graph.launch()  # the first draw, as on a GPU, where the capture drew nothing
    np.testing.assert_array_equal(drawn.get(), expected)


def test_streams_graphs_and_pools_take_cupys_arguments() -> None:
    owners = {"cuda": emu.cuda, "cuda.Stream": emu.Stream, "cuda.graph.Graph": emu.Graph,
              "cuda.MemoryPool": emu.MemoryPool}
    checked = 0
    for key, recorded in emu.SIGNATURES.items():
        section, _, name = key.rpartition(".")
        if section not in owners:
            continue
        ours = inspect.signature(getattr(owners[section], name))
        assert [p for p in ours.parameters if p != "self"] == (
            recorded.split(", ") if recorded else []), key
        checked += 1
    assert checked >= 15
    instances = {"cuda": emu.cuda, "cuda.Stream": emu.Stream(non_blocking=True),
                 "cuda.graph.Graph": emu.Graph([]), "cuda.MemoryPool": emu.MemoryPool()}
    for section, owner in instances.items():
        for name in emu.API[section]:
            assert hasattr(owner, name), f"{section}.{name}"
