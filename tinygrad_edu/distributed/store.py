"""FileStore: a key-value store in one file, as torch.distributed.FileStore.

Processes that share a file system meet through it without MPI: `init_process_group("nccl",
init_method="file:///tmp/run1", rank=r, world_size=n)` passes NCCL's unique id from rank 0 to
the others this way. Use a new file for each run (as PyTorch asks): a file left over from an
earlier run still holds that run's keys.
"""

from __future__ import annotations

import datetime
import fcntl
import os
import time

DEFAULT_TIMEOUT = datetime.timedelta(minutes=30)  # PyTorch's default for process groups


class FileStore:
    """`set(key, value)` appends a line `key value` (both hex-encoded) to the file under an
    exclusive lock; `get(key)` reads the file until the key is there (the last value set
    wins) or the timeout has passed."""

    def __init__(self, file_name: str, world_size: int = -1) -> None:
        self.path = file_name
        self.world_size = world_size
        self.timeout = DEFAULT_TIMEOUT
        open(self.path, "ab").close()  # (it exists from now on, empty or not)

    def set_timeout(self, timeout: datetime.timedelta) -> None:
        self.timeout = timeout

    def set(self, key: str, value: str | bytes) -> None:
        data = value.encode() if isinstance(value, str) else bytes(value)
        line = f"{key.encode().hex()} {data.hex()}\n".encode()
        with open(self.path, "ab") as f:
            fcntl.flock(f, fcntl.LOCK_EX)  # (one whole line at a time, never interleaved)
            f.write(line)
            f.flush()
            os.fsync(f.fileno())
            fcntl.flock(f, fcntl.LOCK_UN)

    def _read(self) -> dict[str, bytes]:
        with open(self.path, "rb") as f:
            fcntl.flock(f, fcntl.LOCK_SH)
            text = f.read().decode()
            fcntl.flock(f, fcntl.LOCK_UN)
        values = {}
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            values[bytes.fromhex(key).decode()] = bytes.fromhex(value)
        return values

    def get(self, key: str) -> bytes:
        self.wait([key])
        return self._read()[key]

    def check(self, keys: list[str]) -> bool:
        """Whether every key of `keys` has been set."""
        values = self._read()
        return all(k in values for k in keys)

    def wait(self, keys: list[str], timeout: datetime.timedelta | None = None) -> None:
        """Block until every key of `keys` is set; RuntimeError after the timeout."""
        limit = (self.timeout if timeout is None else timeout).total_seconds()
        start, pause = time.monotonic(), 0.001
        while not self.check(keys):
            if time.monotonic() - start > limit:
                raise RuntimeError(f"FileStore {self.path}: timed out after {limit:.0f} s "
                                   f"waiting for the keys {keys}")
            time.sleep(pause)
            pause = min(2 * pause, 0.1)
