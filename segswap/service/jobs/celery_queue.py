"""The scale-out :class:`~segswap.service.jobs.base.JobQueue`: job records in Redis, jobs run
by Celery workers (``segswap worker``) on any machine.

An API node keeps nothing of its own: a submit debits the key and stores the QUEUED job
record in one atomic step (:class:`~segswap.service.jobs.redis_records.RedisJobStore`), then
sends a Celery message holding the job id. Status, result and media reads go to Redis,
so any node answers for any request id. A v1 call waits by polling its job record.

States come from the job record only (never from Celery's own task state, whose PENDING
also means "unknown"): an unknown or expired id is None (HTTP 404).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from typing import Any

from celery import Celery

from segswap.service.accounts.credits import InsufficientCredits, redis_remaining
from segswap.service.errors import StoreUnavailable
from segswap.service.jobs import base
from segswap.service.jobs.base import SETTLED, WARNINGS_KEY, JobView, stored_warnings
from segswap.service.jobs.celery_app import TASK_NAME, WORKER_LIVE_WINDOW
from segswap.service.jobs.media import RedisMedia, content_type, valid_name
from segswap.service.jobs.messages import (
    DEADLINE_ERROR,
    EXPIRED_ERROR,
    NO_WORKER,
    PUBLISH_ERROR,
    RESULT_EXPIRED_ERROR,
    queue_full_error,
)
from segswap.service.jobs.redis_records import RedisJobStore
from segswap.settings import Settings

log = logging.getLogger("segswap.service")

# Publishing retries a broken connection (e.g. after a Redis restart) a couple of times.
PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}


class CeleryQueue:
    """Jobs in Redis, run by Celery workers. See the module docstring.

    Args:
        settings: ``queue_capacity``, ``result_ttl``, ``sync_timeout``,
            ``celery_queue`` are read from it.
        jobs: the shared job records.
        media: the shared result images.
        app: the Celery app messages are sent with.
    """

    def __init__(
        self, settings: Settings, jobs: RedisJobStore, media: RedisMedia, app: Celery
    ) -> None:
        self.settings = settings
        self.jobs = jobs
        self.media_store = media
        self.app = app
        self._started = False
        self._workers_seen = (0.0, 0)  # (monotonic time, live slots)

    # ----- lifecycle -----

    def start(self, timeout: float = 30.0) -> None:
        """Wait until Redis answers (up to ``timeout`` s); raise StoreUnavailable if not."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.jobs.ping()
                break
            except StoreUnavailable:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.5)
        self._started = True

    def stop(self) -> None:
        """Stop taking jobs. Queued and running jobs are the workers' business."""
        self._started = False
        try:
            self.app.pool.force_close_all()
        except Exception:  # pragma: no cover - closing is best effort
            log.debug("closing broker connections failed", exc_info=True)

    def ready(self) -> bool:
        """Redis answers and at least one worker slot sent a heartbeat lately."""
        if not self._started:
            return False
        try:
            return self._live_workers(cached=False) > 0
        except StoreUnavailable:
            return False

    def depth(self) -> int:
        return self.jobs.depth()

    def busy_workers(self) -> int:
        return self.jobs.busy_workers(WORKER_LIVE_WINDOW)

    def live_workers(self) -> int:
        return self._live_workers(cached=False)

    def _live_workers(self, cached: bool) -> int:
        seen_at, count = self._workers_seen
        now = time.monotonic()
        if cached and now - seen_at < 1.0:
            return count
        count = self.jobs.live_workers(WORKER_LIVE_WINDOW)
        self._workers_seen = (now, count)
        return count

    # ----- submit / wait -----

    def submit(self, submission: base.Submission) -> base.Accepted:
        """Debit ``price`` and store the job (one atomic script), then send its message.
        An ``Idempotency-Key`` repeat is answered by the same script (one job however
        many arrive at once, on any node)."""
        request, key, sync, extras = (
            submission.request,
            submission.key,
            submission.sync,
            submission.extras,
        )
        if not self._started or self._live_workers(cached=True) == 0:
            raise base.NoWorker(NO_WORKER)
        job_id = str(uuid.uuid4())
        charge = submission.charge
        fields = {
            "kind": "v1" if sync else "v2",
            "model": submission.model,
            "base64": "1" if request.base64 else "0",
            "request": request.model_dump_json(),
        }
        if extras.webhook_url:
            fields.update(webhook_url=extras.webhook_url, webhook_base=extras.base_url)
        idem = extras.idempotency
        outcome, value = self.jobs.submit(
            job_id,
            charge=charge,
            capacity=self.settings.queue_capacity,
            fields=fields,
            idempotency=(idem.key, idem.fingerprint) if idem is not None else None,
        )
        if outcome == "replay":
            return base.Accepted(value, key.credits, replayed=True)
        if outcome == "conflict":
            raise base.IdempotencyConflict(idem.key if idem is not None else "")
        if outcome == "full":
            raise base.QueueFull(queue_full_error(self.settings.queue_capacity))
        if outcome == "credits":
            raise InsufficientCredits(float(value or 0), submission.price)
        try:
            self.app.send_task(
                TASK_NAME,
                args=[job_id],
                queue=self.settings.celery_queue,
                retry=True,
                retry_policy=PUBLISH_RETRY,
            )
        except Exception as error:
            log.error("could not send job %s to the broker: %s", job_id, error)
            try:
                self.jobs.fail(job_id, PUBLISH_ERROR, 503)
            except StoreUnavailable:
                log.error("job %s stays QUEUED without a message (Redis is down)", job_id)
            raise StoreUnavailable(PUBLISH_ERROR) from None
        with contextlib.suppress(StoreUnavailable):  # if not, the reaper sends it again
            self.jobs.published(job_id)
        return base.Accepted(job_id, redis_remaining(value, charge))

    async def wait_sync(self, job_id: str, timeout: float) -> base.Outcome:
        """Poll the job record until it is settled; past ``timeout``, cancel and refund."""
        deadline = time.monotonic() + timeout
        delay = 0.01
        while True:
            try:
                row = self.jobs.view(job_id)
            except StoreUnavailable:
                row = {"state": "PROCESSING"}  # keep waiting through a short outage
            if row is None:
                return base.Outcome.failed(EXPIRED_ERROR, 500)
            if row["state"] in SETTLED:
                return self._outcome(row)
            if time.monotonic() >= deadline:
                if self.jobs.fail(job_id, DEADLINE_ERROR, 504):
                    raise base.DeadlineExceeded(DEADLINE_ERROR)
                continue  # it was settled just now
            await asyncio.sleep(delay)
            delay = min(delay * 1.5, 0.1)

    def _outcome(self, row: dict[str, str | None]) -> base.Outcome:
        job = JobView.from_record("", row)
        if job.state == "FAILED":
            return base.Outcome.failed(job.error or "", job.error_status or 500, job.metrics)
        name = job.media_file or ""
        data = self.media_store.read(name)
        self.media_store.delete(name)  # a v1 result is handed over once
        if data is None:
            return base.Outcome.failed(RESULT_EXPIRED_ERROR, 500, job.metrics)
        metrics: dict[str, Any] = dict(job.metrics)
        if job.warnings:
            metrics[WARNINGS_KEY] = list(job.warnings)
        return base.Outcome(data, content_type(name), None, None, metrics)

    def cancel(self, job_id: str, key_id: str) -> str | None:
        """Cancel a v2 job: see :meth:`segswap.service.jobs.base.JobQueue.cancel`."""
        outcome = self.jobs.cancel(job_id, key_id)
        if outcome == "settled":
            raise base.NotCancelable(job_id)
        return None if outcome == "gone" else outcome

    # ----- reads -----

    def get(self, job_id: str, key_id: str) -> JobView | None:
        """A v2 job of ``key_id`` that has not expired, else None."""
        row = self.jobs.view(job_id)
        if row is None or row["kind"] != "v2" or row["key_id"] != key_id:
            return None
        return JobView.from_record(job_id, row)

    def status(self, job_id: str, key_id: str) -> base.JobStatus | None:
        """State and error of a v2 job of ``key_id`` that has not expired, else None."""
        row = self.jobs.view(job_id)
        if row is None or row["kind"] != "v2" or row["key_id"] != key_id:
            return None
        state = row["state"]
        position = self.jobs.queue_position(job_id) if state == "QUEUED" else None
        progress = 1.0 if state == "COMPLETED" else float(row["progress"] or 0.0)
        return base.JobStatus(
            job_id,
            state,  # type: ignore[arg-type]
            row["error"] or None,
            stored_warnings(row["metrics"]),
            progress=progress,
            queue_position=position,
            canceled=row["canceled"] == "1",
        )

    def result_bytes(self, job: JobView) -> bytes | None:
        return self.media_store.read(job.media_file) if job.media_file else None

    def media(self, name: str) -> tuple[bytes, str] | None:
        """A result image by its capability name; None when unknown or expired."""
        if not valid_name(name):
            return None
        data = self.media_store.read(name)
        return (data, content_type(name)) if data is not None else None

    def counts(self) -> dict[str, int]:
        return self.jobs.counts()
