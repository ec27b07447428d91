"""tg.profiler: counts match the ops that ran; table and chrome trace are written; on the GPU
`synchronize=True` waits for every GPU op (tg.cuda.synchronize) and the default never does."""

import json

import pytest

import tinygrad_edu as tg


def test_counts_match_ops_run(device, no_host_sync):
    x = tg.randn(4, 3, device=device, requires_grad=True)
    with no_host_sync(), tg.profiler.profile() as prof:  # profiling alone reads nothing back
        for _ in range(3):
            y = (x * 2.0).exp().sum()
        y.backward()
    counts = prof.counts()
    assert counts[("Mul", "forward")] == 3
    assert counts[("Exp", "forward")] == 3
    assert counts[("Sum", "forward")] == 3
    # one backward per node of the last graph; ops run inside a backward count as its time
    assert counts[("Sum", "backward")] == 1
    assert counts[("Exp", "backward")] == 1
    assert counts[("Mul", "backward")] == 1
    assert sum(counts.values()) == 12
    assert all(e.duration >= 0 for e in prof.events)


def test_bytes_and_table_and_trace(tmp_path, device):
    x = tg.ones(1000, device=device, requires_grad=True)
    with tg.profiler.profile() as prof:
        (x * 3.0).sum().backward()
    stats = {(s.name, s.phase): s for s in prof.key_averages()}
    assert stats[("Mul", "forward")].nbytes == 4000
    assert stats[("Mul", "backward")].nbytes == 4000  # the gradient of x
    table = prof.table(sort_by="count")
    assert "Mul" in table and "backward" in table and "Calls" in table
    path = tmp_path / "trace.json"
    prof.export_chrome_trace(path)
    events = json.loads(path.read_text())["traceEvents"]
    assert sum(1 for e in events if e.get("ph") == "X") == len(prof.events) == 4
    with pytest.raises(ValueError, match="sort_by"):
        prof.table(sort_by="nope")


def test_backward_bytes_are_those_of_a_computed_gradient(device):
    """When the first input needs no gradient, the backward's bytes are the next one's."""
    const = tg.ones(10, device=device)
    w = tg.ones(10, dtype=tg.float64, device=device, requires_grad=True)
    with tg.profiler.profile() as prof:
        (const.double() * w).sum().backward()
    stats = {(s.name, s.phase): s for s in prof.key_averages()}
    assert stats[("Mul", "backward")].nbytes == 80


@pytest.mark.parametrize("synchronize", [False, True])
def test_synchronize_waits_for_every_gpu_op_only(device, monkeypatch, synchronize):
    calls = []
    monkeypatch.setattr(tg.backend.cuda, "synchronize", lambda device: calls.append(device))
    x = tg.ones(4, device=device, requires_grad=True)
    with tg.profiler.profile(synchronize=synchronize) as prof:
        (x * 2.0).exp().sum().backward()
    assert len(prof.events) == 6
    # one wait per GPU op (forward and backward); none for CPU ops, none by default
    assert calls == ([tg.Device(device)] * 6 if synchronize and device != "cpu" else [])


def test_synchronize_calls_the_real_cuda_synchronize(device, monkeypatch):
    if device == "cpu":
        pytest.skip("a GPU synchronisation exists only on 'cuda'")
    import cupy  # the real CuPy, or its emulator

    waited = []
    real_device = cupy.cuda.Device

    class RecordingDevice:  # CuPy's Device, noting which GPU synchronize() waits on
        def __init__(self, index=None):
            self.device = real_device(index)

        def synchronize(self):
            waited.append(self.device.id)
            self.device.synchronize()

        def __enter__(self):
            return self.device.__enter__()

        def __exit__(self, *exc):
            return self.device.__exit__(*exc)

    x = tg.ones(4, device=device)
    with tg.profiler.profile(synchronize=True) as prof:
        monkeypatch.setattr(cupy.cuda, "Device", RecordingDevice)
        x.exp()
        monkeypatch.undo()
    assert len(prof.events) == 1 and waited == [tg.Device(device).index]
    tg.cuda.synchronize(device)  # and the call itself, on that GPU


def test_profiler_off_records_nothing():
    with tg.profiler.profile() as prof:
        pass
    x = tg.ones(3, requires_grad=True)
    (x * 2).sum().backward()
    assert prof.events == []
    assert tg.autograd._state.observers == []
