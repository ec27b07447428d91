"""Where does the time go? An op-level profiler.

    with tg.profiler.profile() as prof:
        loss = loss_fn(model(x), y)
        loss.backward()
    print(prof.table(sort_by="total"))
    prof.export_chrome_trace("trace.json")   # open in chrome://tracing or ui.perfetto.dev

Every Function's forward and backward is timed. With no profiler active, ops pay only one
check of an empty list.

On a GPU an op only queues its kernels and returns: the time measured is the launch, and the
kernel's own time lands on whichever later op waits for it. `profile(synchronize=True)` calls
`tg.cuda.synchronize(device)` for the GPU of every op's result, so each op's time includes its
kernels (slower, but honest per op). It never synchronises for CPU ops, and the default
`synchronize=False` never synchronises at all.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from typing import Any

from . import autograd, backend


@dataclass
class Event:
    """One timed call: op name, phase ('forward' or 'backward'), start/end in seconds, bytes."""

    name: str
    phase: str
    start: float
    end: float
    nbytes: int

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass
class OpStats:
    """Totals of one (op, phase) pair."""

    name: str
    phase: str
    count: int = 0
    total: float = 0.0
    nbytes: int = 0
    durations: list[float] = field(default_factory=list, repr=False)

    @property
    def mean(self) -> float:
        return self.total / self.count if self.count else 0.0


class profile:
    """Context manager that records every op's forward and backward calls (see the module
    docstring for `synchronize`)."""

    def __init__(self, synchronize: bool = False) -> None:
        self.events: list[Event] = []
        self.synchronize = synchronize
        self.t0 = 0.0

    def _record(self, name: str, phase: str, start: float, end: float, data: Any) -> None:
        if self.synchronize:
            device = backend.device_of(data)
            if device.type == "cuda":
                backend.cuda.synchronize(device)  # wait for the op's kernels: its own time
                end = time.perf_counter()
        nbytes = int(getattr(data, "nbytes", 0) or 0)
        self.events.append(Event(name, phase, start, end, nbytes))

    def __enter__(self) -> profile:
        self.t0 = time.perf_counter()
        autograd._state.observers.append(self._record)
        return self

    def __exit__(self, *exc: object) -> None:
        autograd._state.observers.remove(self._record)

    def key_averages(self) -> list[OpStats]:
        """One OpStats per (op, phase), in order of first appearance."""
        stats: dict[tuple[str, str], OpStats] = {}
        for e in self.events:
            s = stats.setdefault((e.name, e.phase), OpStats(e.name, e.phase))
            s.count += 1
            s.total += e.duration
            s.nbytes += e.nbytes
            s.durations.append(e.duration)
        return list(stats.values())

    def counts(self) -> dict[tuple[str, str], int]:
        return {(s.name, s.phase): s.count for s in self.key_averages()}

    def table(self, sort_by: str = "total", row_limit: int = 30) -> str:
        """A text table like torch.profiler's key_averages().table()."""
        keys = {"total": lambda s: -s.total, "count": lambda s: -s.count,
                "mean": lambda s: -s.mean, "bytes": lambda s: -s.nbytes,
                "name": lambda s: (s.name, s.phase)}
        if sort_by not in keys:
            raise ValueError(f"table: sort_by must be one of {sorted(keys)}, got {sort_by!r}")
        rows = sorted(self.key_averages(), key=keys[sort_by])[:row_limit]
        grand = sum(s.total for s in self.key_averages()) or 1.0
        header = f"{'Op':<18}{'Phase':<10}{'Calls':>7}{'Total':>12}{'Mean':>12}{'% time':>8}" \
                 f"{'Output bytes':>15}"
        line = "-" * len(header)
        out = [line, header, line]
        for s in rows:
            out.append(f"{s.name:<18}{s.phase:<10}{s.count:>7}{_fmt_time(s.total):>12}"
                       f"{_fmt_time(s.mean):>12}{100 * s.total / grand:>7.1f}%"
                       f"{_fmt_bytes(s.nbytes):>15}")
        out.append(line)
        out.append(f"Self time total: {_fmt_time(grand)} in {len(self.events)} op calls")
        return "\n".join(out)

    def export_chrome_trace(self, path: str | os.PathLike) -> None:
        """Write the events in the Chrome trace-event format (chrome://tracing, Perfetto)."""
        trace = [{"name": e.name, "cat": e.phase, "ph": "X", "pid": 0,
                  "tid": 0 if e.phase == "forward" else 1,
                  "ts": (e.start - self.t0) * 1e6, "dur": e.duration * 1e6,
                  "args": {"output_bytes": e.nbytes}} for e in self.events]
        meta = [{"name": "thread_name", "ph": "M", "pid": 0, "tid": tid,
                 "args": {"name": name}} for tid, name in ((0, "forward"), (1, "backward"))]
        with open(path, "w") as f:
            json.dump({"traceEvents": meta + trace, "displayTimeUnit": "ms"}, f)


def _fmt_time(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.3f}s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.3f}ms"
    return f"{seconds * 1e6:.1f}us"


def _fmt_bytes(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"
