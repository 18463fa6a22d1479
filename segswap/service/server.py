"""The pieces one server is made of, built and started together.

This is the only place that decides which implementations run: the embedded default
(SQLite keys and jobs, result files, in-memory rate limits, in-process worker threads)
or, when ``SEGSWAP_BROKER_URL`` is set, scale-out (keys, credits, rate limits, job
records and result images in Redis; jobs run by ``segswap worker`` processes through
Celery). Everything else sees only the protocols: :class:`KeyStore`,
:class:`RateLimit`, :class:`JobQueue`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from segswap.engine import Engine
from segswap.service.accounts.keys import KeyStore
from segswap.service.accounts.ratelimit import RateLimit, RateLimiter
from segswap.service.accounts.sqlite_keys import SqliteKeyStore
from segswap.service.database import Database
from segswap.service.datadir import DataDirLock
from segswap.service.errors import StoreUnavailable
from segswap.service.http.metrics import Metrics
from segswap.service.jobs.base import JobQueue
from segswap.service.jobs.embedded import EmbeddedQueue
from segswap.service.webhooks.delivery import RETRY_PERIOD, Deliverer, Outbox, Pending
from segswap.service.webhooks.signing import new_secret, secret_key
from segswap.settings import Settings


@dataclass
class Service:
    """Settings, key store, job queue, rate limiter and metrics of one server.

    ``draining`` is set when the server was asked to stop (SIGTERM): it then refuses new
    submissions (503) and ``/health`` is 503, while ``in_flight`` v1 calls finish.
    """

    settings: Settings
    keys: KeyStore
    queue: JobQueue
    limiter: RateLimit
    metrics: Metrics
    db: Database | None = None
    outbox: Outbox | None = None
    stored_secret: Callable[[str], str] | None = None
    deliverer: Deliverer | None = None
    closers: list[Callable[[], None]] = field(default_factory=list)
    draining: bool = False
    in_flight: int = 0

    @classmethod
    def from_settings(
        cls, settings: Settings, *, engine_factory: Callable[[], Engine] | None = None
    ) -> Service:
        """Scale-out when ``settings.broker_url`` is set, else the embedded default."""
        if settings.broker_url:
            return cls.scaleout(settings)
        return cls.embedded(settings, engine_factory=engine_factory)

    @classmethod
    def embedded(
        cls, settings: Settings, *, engine_factory: Callable[[], Engine] | None = None
    ) -> Service:
        """The embedded default: SQLite + local files + in-process workers (not started).

        Takes the data dir's lock first (:class:`~segswap.service.datadir.DataDirLock`;
        raises :class:`~segswap.service.datadir.DataDirBusy` when another server holds
        it), so nothing is opened, migrated or recovered under a running server.
        """
        lock = DataDirLock(settings.data_dir)
        try:
            db = Database(settings.data_dir)
        except BaseException:
            lock.release()
            raise
        from segswap.service.webhooks import sqlite_outbox

        return cls._on_sqlite(
            settings,
            db,
            lambda metrics: EmbeddedQueue(
                settings, db, engine_factory=engine_factory, on_finish=metrics.observe_job
            ),
            closers=[lock.release],
            outbox=sqlite_outbox.SqliteOutbox(db),
        )

    @classmethod
    def in_memory(
        cls, settings: Settings, *, engine_factory: Callable[[], Engine] | None = None
    ) -> Service:
        """Jobs and results in memory (:class:`~segswap.service.jobs.memory.MemoryQueue`),
        keys and credits in the SQLite store of ``settings.data_dir``; no webhooks. For
        tests that run the HTTP API in process (not started)."""
        from segswap.service.accounts.credits import Charge, SqliteCredits
        from segswap.service.jobs.memory import MemoryQueue

        db = Database(settings.data_dir)

        def debit(charge: Charge) -> float:
            with db.transaction() as conn:
                return SqliteCredits.debit(conn, charge)

        def refund(key_id: str, amount: float) -> None:
            with db.transaction() as conn:
                SqliteCredits.refund(conn, key_id, amount)

        return cls._on_sqlite(
            settings,
            db,
            lambda metrics: MemoryQueue(
                settings,
                debit=debit,
                refund=refund,
                engine_factory=engine_factory,
                on_finish=metrics.observe_job,
            ),
        )

    @classmethod
    def _on_sqlite(
        cls,
        settings: Settings,
        db: Database,
        make_queue: Callable[[Metrics], JobQueue],
        **parts: Any,
    ) -> Service:
        """A service with its keys, credits and webhook secret in ``db``, in-memory rate
        limits and the queue ``make_queue`` builds (given the metrics it reports to)."""
        from segswap.service.webhooks import sqlite_outbox

        metrics = Metrics()
        service = cls(
            settings=settings,
            keys=SqliteKeyStore(db),
            queue=make_queue(metrics),
            limiter=RateLimiter(settings.rate_limit, settings.rate_burst),
            metrics=metrics,
            db=db,
            stored_secret=lambda fresh: sqlite_outbox.stored_secret(db, fresh),
            **parts,
        )
        metrics.gauges = service.gauges
        return service

    @classmethod
    def scaleout(cls, settings: Settings) -> Service:
        """Scale-out: everything shared lives in the Redis at ``settings.broker_url``;
        jobs run on ``segswap worker`` processes. Nothing is written to local disk."""
        from segswap.service.accounts.ratelimit import RedisRateLimiter
        from segswap.service.accounts.redis_keys import RedisKeyStore
        from segswap.service.jobs.celery_app import create_celery
        from segswap.service.jobs.celery_queue import CeleryQueue
        from segswap.service.jobs.media import RedisMedia
        from segswap.service.jobs.redis_records import RedisJobStore
        from segswap.service.redis_client import connect
        from segswap.service.webhooks import redis_outbox

        client = connect(settings.broker_url or "")
        metrics = Metrics()
        jobs = RedisJobStore(client, settings.result_ttl)
        queue = CeleryQueue(
            settings, jobs, RedisMedia(client, settings.result_ttl), create_celery(settings)
        )
        service = cls(
            settings=settings,
            keys=RedisKeyStore(client),
            queue=queue,
            limiter=RedisRateLimiter(client, settings.rate_limit, settings.rate_burst),
            metrics=metrics,
            outbox=redis_outbox.RedisOutbox(jobs),
            stored_secret=lambda fresh: redis_outbox.stored_secret(client, fresh),
            closers=[client.close],
        )
        metrics.gauges = service.gauges
        return service

    def gauges(self) -> dict[str, object]:
        """Values read at scrape time for ``/metrics`` (none while the store is down)."""
        try:
            return {
                "queue_depth": self.queue.depth(),
                "workers": self.queue.live_workers(),
                "workers_busy": self.queue.busy_workers(),
                "jobs": self.queue.counts(),
            }
        except StoreUnavailable:
            return {}

    def webhook_secret(self) -> str:
        """``SEGSWAP_WEBHOOK_SECRET``, else the one kept in the store (made the first time).

        Raises:
            ValueError: the setting is not a ``whsec_<base64>`` secret.
        """
        if self.settings.webhook_secret:
            secret_key(self.settings.webhook_secret)  # fail now on a malformed one
            return self.settings.webhook_secret
        if self.stored_secret is None:
            raise ValueError("this store keeps no webhook secret")
        return self.stored_secret(new_secret())

    def start(self) -> None:
        """Recover interrupted jobs, start the workers and the webhook deliveries (pending
        ones from before a restart included); returns when ready."""
        secret = self.webhook_secret()
        self.queue.start()
        if self.outbox is not None:
            self.deliverer = Deliverer(
                self.outbox,
                self._webhook_body,
                secret,
                allow_private=self.settings.allow_private_urls,
                retry_period=min(RETRY_PERIOD, self.settings.result_ttl),
            )
            self.deliverer.start()

    def _webhook_body(self, pending: Pending) -> dict[str, object] | None:
        from segswap.service.http.views import result_body

        job = self.queue.get(pending.job_id, pending.key_id)
        if job is None:
            return None
        answer = result_body(job, pending.base_url, self.queue.result_bytes)
        return answer[1] if answer is not None else None

    def stop(self) -> None:
        """Stop the webhook deliveries and the workers, and close the store."""
        if self.deliverer is not None:
            self.deliverer.stop()
        self.queue.stop()
        if self.db is not None:
            self.db.close()
        for close in self.closers:
            with contextlib.suppress(Exception):
                close()


def open_key_store(settings: Settings) -> tuple[KeyStore, Callable[[], None]]:
    """The key store ``segswap keys`` works on (Redis when ``broker_url`` is set, else
    the SQLite file in ``data_dir``) and a function closing it."""
    if settings.broker_url:
        from segswap.service.accounts.redis_keys import RedisKeyStore
        from segswap.service.redis_client import connect

        client = connect(settings.broker_url)
        return RedisKeyStore(client), client.close
    db = Database(settings.data_dir)
    return SqliteKeyStore(db), db.close
