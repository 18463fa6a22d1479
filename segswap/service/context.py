"""The pieces one server is made of, built and started together.

This is the only place that decides which job-queue implementation runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from segswap.engine import Engine
from segswap.service.auth import KeyStore, SqliteKeyStore
from segswap.service.metrics import Metrics
from segswap.service.queue import EmbeddedQueue, JobQueue
from segswap.service.ratelimit import RateLimiter
from segswap.service.store import Database
from segswap.settings import Settings


@dataclass
class Service:
    """Settings, key store, job queue, rate limiter and metrics of one server."""

    settings: Settings
    keys: KeyStore
    queue: JobQueue
    limiter: RateLimiter
    metrics: Metrics
    db: Database | None = None

    @classmethod
    def embedded(
        cls, settings: Settings, *, engine_factory: Callable[[], Engine] | None = None
    ) -> Service:
        """The embedded default: SQLite + local files + in-process workers (not started)."""
        db = Database(settings.data_dir)
        metrics = Metrics()
        queue = EmbeddedQueue(
            settings, db, engine_factory=engine_factory, on_finish=metrics.observe_job
        )
        service = cls(
            settings=settings,
            keys=SqliteKeyStore(db),
            queue=queue,
            limiter=RateLimiter(settings.rate_limit, settings.rate_burst),
            metrics=metrics,
            db=db,
        )
        metrics.gauges = service.gauges
        return service

    def gauges(self) -> dict[str, object]:
        """Values read at scrape time for ``/metrics``."""
        return {
            "queue_depth": self.queue.depth(),
            "workers": self.queue.live_workers(),
            "workers_busy": self.queue.busy_workers(),
            "jobs": self.queue.counts(),
        }

    def start(self) -> None:
        """Recover interrupted jobs and start the workers; returns when ready."""
        self.queue.start()

    def stop(self) -> None:
        """Stop the workers and close the store."""
        self.queue.stop()
        if self.db is not None:
            self.db.close()
