"""Throttled progress reports and cancel checks of one running job.

The engine calls its check points often (every pyramid level, every sampler step);
:class:`JobWatch` passes progress on to the store at most every
:data:`REPORT_INTERVAL` seconds (and always the first time), and asks whether the job
was canceled at most every :data:`CANCEL_INTERVAL` seconds, so a job costs the store a
few writes and reads a second at most.
"""

from __future__ import annotations

import time
from collections.abc import Callable

REPORT_INTERVAL = 0.25
CANCEL_INTERVAL = 0.25


class JobWatch:
    """``report`` and ``canceled`` for :func:`segswap.engine.progress.watch`.

    Args:
        store_progress: writes a job's progress (0–1) to the store.
        is_canceled: whether a cancel was asked for (may read the store).
    """

    def __init__(
        self, store_progress: Callable[[float], None], is_canceled: Callable[[], bool]
    ) -> None:
        self._store = store_progress
        self._is_canceled = is_canceled
        self._reported_at = -1e9
        self._checked_at = -1e9
        self._canceled = False

    def report(self, value: float) -> None:
        now = time.monotonic()
        if now - self._reported_at >= REPORT_INTERVAL:
            self._reported_at = now
            self._store(value)

    def canceled(self) -> bool:
        if self._canceled:
            return True
        now = time.monotonic()
        if now - self._checked_at >= CANCEL_INTERVAL:
            self._checked_at = now
            self._canceled = bool(self._is_canceled())
        return self._canceled
