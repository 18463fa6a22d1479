"""One server per data dir: an exclusive lock on ``<data_dir>/segswap.lock``.

Two ``segswap serve`` on one ``SEGSWAP_DATA_DIR`` would both recover and run the same
queued jobs (each under its own settings). ``serve`` therefore takes this lock before
it opens or recovers anything and holds it until it exits; the operating system drops
it when the process dies, ``kill -9`` included, so a stale lock never blocks a restart.
``segswap keys`` does not take it (it only reads and writes keys, which SQLite shares
safely).
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

LOCK_NAME = "segswap.lock"


class DataDirBusy(Exception):
    """Another live process holds the data dir's lock."""


class DataDirLock:
    """The held lock of one data dir (see the module docstring)."""

    def __init__(self, data_dir: Path) -> None:
        data_dir = Path(data_dir)
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / LOCK_NAME
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(self._fd, 64, 0).decode(errors="replace").strip() or "?"
            os.close(self._fd)
            raise DataDirBusy(
                f"the data dir {data_dir} is in use by another segswap serve (pid {holder});"
                " stop it first, or give this server its own --data-dir"
            ) from None
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, f"{os.getpid()}\n".encode(), 0)

    def release(self) -> None:
        """Let go of the lock (also happens when the process exits)."""
        if self._fd >= 0:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = -1
