"""tg.profiler: counts match the ops that ran; table and chrome trace are written."""

import json

import pytest

import tinygrad_edu as tg


def test_counts_match_ops_run():
    x = tg.randn(4, 3, requires_grad=True)
    with tg.profiler.profile() as prof:
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


def test_bytes_and_table_and_trace(tmp_path):
    x = tg.ones(1000, requires_grad=True)
    with tg.profiler.profile() as prof:
        (x * 3.0).sum().backward()
    stats = {(s.name, s.phase): s for s in prof.key_averages()}
    assert stats[("Mul", "forward")].nbytes == 4000
    table = prof.table(sort_by="count")
    assert "Mul" in table and "backward" in table and "Calls" in table
    path = tmp_path / "trace.json"
    prof.export_chrome_trace(path)
    events = json.loads(path.read_text())["traceEvents"]
    assert sum(1 for e in events if e.get("ph") == "X") == len(prof.events) == 4
    with pytest.raises(ValueError, match="sort_by"):
        prof.table(sort_by="nope")


def test_profiler_off_records_nothing():
    with tg.profiler.profile() as prof:
        pass
    x = tg.ones(3, requires_grad=True)
    (x * 2).sum().backward()
    assert prof.events == []
    assert tg.autograd._state.observers == []
