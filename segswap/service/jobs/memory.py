"""The in-memory job queue: jobs and results in dicts, run by in-process threads.

:class:`MemoryQueue` implements :class:`~segswap.service.jobs.base.JobQueue` with no
store of its own: everything it holds is lost when it stops, so it recovers nothing,
and it delivers no webhooks (a submit with a ``webhook_url`` is refused). Credits are
debited and refunded through the :class:`~segswap.service.accounts.credits.Charge`
callables it is given (the SQLite key store's, see
:meth:`segswap.service.server.Service.in_memory`). It exists so that route tests run
the whole HTTP API in one process, through ``httpx.ASGITransport``, with no server
subprocess and no database of jobs; the prices, refunds, states, retention, cancel and
idempotency rules are those of :mod:`segswap.service.jobs.base`, checked against the
other backends by ``tests/service/test_contract.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from segswap.engine import Engine, resolve_engine
from segswap.params import SwapRequest
from segswap.service.accounts.credits import Charge
from segswap.service.jobs import base
from segswap.service.jobs.base import STATES, UNSETTLED, WARNINGS_KEY, JobState, JobView
from segswap.service.jobs.media import content_type, new_token
from segswap.service.jobs.messages import (
    CANCELED_ERROR,
    CANCELED_STATUS,
    DEADLINE_ERROR,
    NO_WORKER,
    queue_full_error,
)
from segswap.service.jobs.pooled import PooledGauges
from segswap.service.jobs.progress import JobWatch
from segswap.service.jobs.runner import ThreadEngines, run_job
from segswap.service.jobs.threads import WorkerPool
from segswap.settings import Settings

Debit = Callable[[Charge], float]
"""Takes a charge from its key; returns the credits left (raises InsufficientCredits)."""
Refund = Callable[[str, float], None]
"""Gives ``amount`` credits back to key ``key_id``."""


@dataclass
class _Job:
    """One job as the memory queue keeps it (times are Unix seconds)."""

    view: JobView
    seq: int
    sync: bool
    request: SwapRequest
    price: float
    expires: float | None = None
    progress: float = 0.0
    cancel_requested: bool = False
    future: asyncio.Future[base.Outcome] | None = None
    loop: asyncio.AbstractEventLoop | None = None
    metrics: dict[str, Any] = field(default_factory=dict)


class MemoryQueue(PooledGauges):
    """Jobs in memory, run by ``settings.workers`` threads (see the module docstring).

    Args:
        settings: ``workers``, ``queue_capacity``, ``result_ttl`` (s), ``engine`` and the
            input limits are read from it.
        debit: the accounting step of an accepted job.
        refund: the accounting step of a FAILED one.
        engine_factory: builds an engine per worker thread (default: ``settings.engine``).
        on_finish: called with (state, metrics) after each job, for monitoring.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        debit: Debit,
        refund: Refund,
        engine_factory: Callable[[], Engine] | None = None,
        on_finish: Callable[[str, dict[str, float]], None] | None = None,
    ) -> None:
        self.settings = settings
        self._debit = debit
        self._refund = refund
        self._engines = ThreadEngines(engine_factory or resolve_engine(settings.engine, settings))
        self._on_finish = on_finish
        self._jobs: dict[str, _Job] = {}
        self._queued: list[str] = []
        self._media: dict[str, tuple[bytes, str]] = {}
        self._idempotency: dict[tuple[str, str], tuple[str, str]] = {}
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._pool: WorkerPool[str] = WorkerPool(settings.workers, self._take, self._execute)
        self._started = False

    # ----- lifecycle -----

    def start(self) -> None:
        """Start the workers (there is nothing to recover)."""
        self._pool.start()
        self._started = True

    def stop(self) -> None:
        """Stop the workers (current jobs finish, up to 5 s each); the jobs are dropped."""
        self._started = False
        with self._cond:
            self._cond.notify_all()
        self._pool.stop()

    def depth(self) -> int:
        """Jobs waiting for a worker."""
        return len(self._queued)

    # ----- submit / wait / cancel -----

    def submit(self, submission: base.Submission) -> base.Accepted:
        """Debit ``price`` and queue the job, under one lock (see the protocol)."""
        request, key, sync, extras = (
            submission.request,
            submission.key,
            submission.sync,
            submission.extras,
        )
        if not self.ready():
            raise base.NoWorker(NO_WORKER)
        if extras.webhook_url:
            raise ValueError("the in-memory queue delivers no webhooks")
        charge = submission.charge
        idem = extras.idempotency
        with self._cond:
            if idem is not None:
                prior = self._idempotency.get((key.id, idem.key))
                if prior is not None and prior[0] != idem.fingerprint:
                    raise base.IdempotencyConflict(idem.key)
                if prior is not None and self._visible(prior[1], key.id) is not None:
                    return base.Accepted(prior[1], key.credits, replayed=True)
            if len(self._queued) >= self.settings.queue_capacity:
                raise base.QueueFull(queue_full_error(self.settings.queue_capacity))
            remaining = self._debit(charge)
            job_id = str(uuid.uuid4())
            job = _Job(
                JobView(job_id, key.id, "QUEUED", request.base64, time.time()),
                next(self._seq),
                sync,
                request,
                charge.price,
            )
            if sync:
                job.loop = asyncio.get_running_loop()
                job.future = job.loop.create_future()
            self._jobs[job_id] = job
            if idem is not None:
                self._idempotency[(key.id, idem.key)] = (idem.fingerprint, job_id)
            self._queued.append(job_id)
            self._cond.notify()
        return base.Accepted(job_id, remaining)

    async def wait_sync(self, job_id: str, timeout: float) -> base.Outcome:
        """Wait up to ``timeout`` seconds for a v1 job; past it, cancel, refund and raise."""
        job = self._jobs[job_id]
        assert job.future is not None
        try:
            return await asyncio.wait_for(asyncio.shield(job.future), timeout)
        except TimeoutError:
            with self._cond:
                failed = self._fail(job, DEADLINE_ERROR, 504)
            if failed:
                raise base.DeadlineExceeded(DEADLINE_ERROR) from None
            return await asyncio.wait_for(job.future, 5.0)  # it finished just now
        finally:
            with self._cond:
                self._jobs.pop(job_id, None)  # a v1 job is never read again

    def cancel(self, job_id: str, key_id: str) -> str | None:
        """Cancel a v2 job: see :meth:`segswap.service.jobs.base.JobQueue.cancel`."""
        with self._cond:
            job = self._visible(job_id, key_id)
            if job is None:
                return None
            if job.view.state not in UNSETTLED:
                raise base.NotCancelable(job.view.state)
            if job.view.state == "PROCESSING":
                job.cancel_requested = True
                return "requested"
            self._fail(job, CANCELED_ERROR, CANCELED_STATUS, canceled=True)
        return "canceled"

    # ----- workers -----

    def _take(self, timeout: float) -> str | None:
        with self._cond:
            if not self._queued and self._started:
                self._cond.wait(timeout)
            if not self._started or not self._queued:
                return None
            job_id = self._queued.pop(0)
            job = self._jobs[job_id]
            job.view = replace(job.view, state="PROCESSING")
            job.metrics["queue_time"] = time.time() - job.view.created
            return job_id

    def _execute(self, job_id: str) -> None:
        job = self._jobs[job_id]
        watcher = JobWatch(
            lambda value: setattr(job, "progress", value), lambda: job.cancel_requested
        )
        outcome = run_job(
            job.request, self._engines.get(), self.settings, job_id=job_id, watcher=watcher
        )
        metrics = {**job.metrics, **outcome.metrics}
        metrics["total_time"] = time.time() - job.view.created
        with self._cond:
            if job.view.state != "PROCESSING":
                return  # failed meanwhile (the synchronous deadline)
            if outcome.data is None:
                self._fail(
                    job,
                    outcome.error or "",
                    outcome.error_status or 500,
                    metrics,
                    canceled=outcome.canceled,
                )
            else:
                name = None
                if not job.sync:
                    name = f"{new_token()}.{outcome.image_format or 'png'}"
                    self._media[name] = (outcome.data, content_type(name))
                shown = {k: v for k, v in metrics.items() if k != WARNINGS_KEY}
                warnings = tuple(outcome.warnings)
                self._settle(job, "COMPLETED", shown, media_file=name, warnings=warnings)
        self._resolve(
            job,
            base.Outcome(
                outcome.data, outcome.content_type, outcome.error, outcome.error_status, metrics
            ),
        )
        if self._on_finish is not None:
            self._on_finish("COMPLETED" if outcome.data is not None else "FAILED", metrics)

    def _settle(self, job: _Job, state: JobState, metrics: dict[str, Any], **view: Any) -> None:
        """Mark ``job`` settled (``state``) and start its retention (lock held)."""
        now = time.time()
        job.expires = now + self.settings.result_ttl
        job.view = replace(job.view, state=state, metrics=metrics, **view)
        if state == "COMPLETED":
            job.progress = 1.0

    def _fail(
        self,
        job: _Job,
        error: str,
        status: int,
        metrics: dict[str, Any] | None = None,
        canceled: bool = False,
    ) -> bool:
        """FAIL an unsettled job and refund its price (lock held); False when settled."""
        if job.view.state not in UNSETTLED:
            return False
        with contextlib.suppress(ValueError):
            self._queued.remove(job.view.id)
        self._settle(
            job,
            "FAILED",
            dict(metrics or {}),
            error=error,
            error_status=status,
            canceled=canceled,
        )
        self._refund(job.view.key_id, job.price)
        return True

    @staticmethod
    def _resolve(job: _Job, outcome: base.Outcome) -> None:
        future, loop = job.future, job.loop
        if future is None or loop is None:
            return

        def settle() -> None:
            if not future.done():
                future.set_result(outcome)

        with contextlib.suppress(RuntimeError):  # the loop is closed (shutting down)
            loop.call_soon_threadsafe(settle)

    # ----- reads -----

    def _visible(self, job_id: str, key_id: str) -> _Job | None:
        """The v2 job ``job_id`` if it is ``key_id``'s and has not expired."""
        job = self._jobs.get(job_id)
        if job is None or job.sync or job.view.key_id != key_id:
            return None
        if job.expires is not None and job.expires <= time.time():
            return None
        return job

    def get(self, job_id: str, key_id: str) -> JobView | None:
        """A v2 job of ``key_id`` that has not expired, else None."""
        job = self._visible(job_id, key_id)
        return job.view if job is not None else None

    def status(self, job_id: str, key_id: str) -> base.JobStatus | None:
        """State, error, progress and queue position of a visible v2 job, else None."""
        with self._cond:
            job = self._visible(job_id, key_id)
            if job is None:
                return None
            view = job.view
            position = self._queued.index(job_id) if view.state == "QUEUED" else None
            return base.JobStatus(
                job_id,
                view.state,
                view.error,
                view.warnings,
                progress=job.progress,
                queue_position=position,
                canceled=view.canceled,
            )

    def result_bytes(self, job: JobView) -> bytes | None:
        """The result image of a COMPLETED job (None once expired)."""
        found = self.media(job.media_file) if job.media_file else None
        return found[0] if found is not None else None

    def media(self, name: str) -> tuple[bytes, str] | None:
        """A result by its capability name, unless it has expired."""
        self.sweep()
        return self._media.get(name)

    def counts(self) -> dict[str, int]:
        """Jobs held by state (every state present, 0 when none)."""
        counts: dict[str, int] = dict.fromkeys(STATES, 0)
        with self._cond:
            for job in self._jobs.values():
                counts[job.view.state] += 1
        return counts

    # ----- expiry -----

    def sweep(self) -> int:
        """Drop jobs (and results) whose time is up; returns how many."""
        now = time.time()
        with self._cond:
            gone = [j for j in self._jobs.values() if j.expires is not None and j.expires <= now]
            for job in gone:
                del self._jobs[job.view.id]
                if job.view.media_file:
                    self._media.pop(job.view.media_file, None)
            if gone:
                ids = {job.view.id for job in gone}
                self._idempotency = {k: v for k, v in self._idempotency.items() if v[1] not in ids}
        return len(gone)
