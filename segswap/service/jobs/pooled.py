"""What a queue whose jobs run on an in-process pool of workers reads from that pool."""

from __future__ import annotations

from typing import Protocol


class Pool(Protocol):
    """A pool of in-process workers (:class:`~segswap.service.jobs.threads.WorkerPool`)."""

    def alive(self) -> int: ...

    def busy(self) -> int: ...


class PooledGauges:
    """``ready``, ``busy_workers`` and ``live_workers`` of the
    :class:`~segswap.service.jobs.base.JobQueue` protocol, for a queue that keeps its
    pool in ``_pool`` and sets ``_started`` once it has started it."""

    _pool: Pool
    _started: bool

    def ready(self) -> bool:
        """True once started with at least one live worker."""
        return self._started and self._pool.alive() > 0

    def busy_workers(self) -> int:
        """Workers running a job now."""
        return self._pool.busy()

    def live_workers(self) -> int:
        """Workers alive."""
        return self._pool.alive()
