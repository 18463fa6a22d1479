"""The embedded job queue: jobs in SQLite, results as files, run in engine processes.

:class:`EmbeddedQueue` keeps jobs in the ``jobs`` table of ``<data_dir>/segswap.db``,
result images under ``<data_dir>/results`` and runs them on a thread pool
(:mod:`segswap.service.jobs.threads`), each thread handing its job to a child process of
its own (:mod:`segswap.service.jobs.processes`) that runs
:func:`~segswap.service.jobs.runner.run_job`. A child that dies (native crash, out of
memory) costs one attempt: the job is queued again, and FAILS, refunded, after
``max_attempts`` attempts.
See :mod:`segswap.service.jobs.base` for the states, prices and refunds every backend
follows.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from segswap.engine import Engine, resolve_engine
from segswap.params import SwapRequest
from segswap.service.accounts.credits import SqliteCredits
from segswap.service.database import Database
from segswap.service.jobs.base import (
    STATES,
    UNSETTLED,
    Accepted,
    DeadlineExceeded,
    IdempotencyConflict,
    JobStatus,
    JobView,
    NotCancelable,
    NoWorker,
    Outcome,
    QueueFull,
    Submission,
    stored_warnings,
)
from segswap.service.jobs.media import ResultFiles, content_type, new_token
from segswap.service.jobs.messages import (
    CANCELED_ERROR,
    CANCELED_STATUS,
    DEADLINE_ERROR,
    NO_WORKER,
    RESTART_ERROR,
    crashed_error,
    exhausted_error,
    queue_full_error,
)
from segswap.service.jobs.pooled import PooledGauges
from segswap.service.jobs.processes import EngineCrashed, EngineProcesses
from segswap.service.jobs.progress import JobWatch
from segswap.service.jobs.threads import WorkerPool
from segswap.settings import Settings

log = logging.getLogger("segswap.service")

_Item = tuple[str, SwapRequest | None]  # a job id and, for a v1 job, its request


@dataclass
class _Pending:
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Outcome]


class EmbeddedQueue(PooledGauges):
    """SQLite jobs + result files + an in-process thread pool (see the module docstring).

    Args:
        settings: ``workers``, ``queue_capacity``, ``result_ttl`` (s), ``sweep_interval``
            (s), ``data_dir``, ``engine`` and the input limits are read from it.
        db: the open store.
        engine_factory: builds the engine of each engine process (picklable: it is sent
            to the child; default: ``settings.engine``, checked here at start-up).
        on_finish: called with (state, metrics) after each job, for monitoring.
    """

    def __init__(
        self,
        settings: Settings,
        db: Database,
        *,
        engine_factory: Callable[[], Engine] | None = None,
        on_finish: Callable[[str, dict[str, float]], None] | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.files = ResultFiles(settings.data_dir)
        if engine_factory is None:
            resolve_engine(settings.engine, settings)  # an unusable engine fails start-up
        self._engines = EngineProcesses(settings, engine_factory)
        self._on_finish = on_finish
        self._items: deque[_Item] = deque()
        self._cond = threading.Condition()
        self._pending: dict[str, _Pending] = {}
        self._cancel_requested: set[str] = set()
        self._pool: WorkerPool[_Item] = WorkerPool(
            settings.workers, self._take, self._execute, setup=self._engines.start
        )
        self._stopping = threading.Event()
        self._sweeper: threading.Thread | None = None
        self._started = False

    # ----- lifecycle -----

    def start(self) -> None:
        """Recover interrupted jobs, then start the workers and the expiry sweeper."""
        self._recover()
        self.sweep()
        self._pool.start()
        self._sweeper = threading.Thread(target=self._sweep_loop, name="segswap-sweeper")
        self._sweeper.daemon = True
        self._sweeper.start()
        self._started = True

    def _recover(self) -> None:
        with self.db.transaction() as conn:
            lost_sync = conn.execute(
                "SELECT id FROM jobs WHERE kind = 'v1' AND state IN ('QUEUED', 'PROCESSING')"
            ).fetchall()
            for row in lost_sync:
                self._fail(conn, row["id"], RESTART_ERROR, 503)
            # A job that was running each of the last max_attempts times the server died
            # probably kills it (out of memory...): fail it rather than crash forever.
            poisoned = conn.execute(
                "SELECT id, attempts FROM jobs WHERE state = 'PROCESSING' AND attempts >= ?",
                (self.settings.max_attempts,),
            ).fetchall()
            for row in poisoned:
                self._fail(conn, row["id"], exhausted_error(row["attempts"]), 500)
            # Canceled while running, then the server stopped: it ends canceled now.
            for row in conn.execute(
                "SELECT id FROM jobs WHERE cancel_requested = 1 AND state = 'PROCESSING'"
            ).fetchall():
                self._fail(conn, row["id"], CANCELED_ERROR, CANCELED_STATUS, canceled=True)
            reset = conn.execute(
                "UPDATE jobs SET state = 'QUEUED', started = NULL WHERE state = 'PROCESSING'"
            ).rowcount
            queued = conn.execute(
                "SELECT id FROM jobs WHERE state = 'QUEUED' ORDER BY seq"
            ).fetchall()
            keep = {
                row[0]
                for row in conn.execute("SELECT media_file FROM jobs WHERE media_file IS NOT NULL")
            }
        with self._cond:
            self._items.extend((row["id"], None) for row in queued)
        orphans = self.files.remove_orphans(keep)
        if queued or lost_sync or orphans or poisoned:
            log.info(
                "recovered %d queued job(s) (%d were processing), failed %d interrupted"
                " synchronous job(s) and %d job(s) running at each of the last %d stops,"
                " removed %d orphan file(s)",
                len(queued),
                reset,
                len(lost_sync),
                len(poisoned),
                self.settings.max_attempts,
                orphans,
            )

    def stop(self) -> None:
        """Stop the workers (current jobs finish, up to 5 s each) and the sweeper."""
        self._stopping.set()
        self._pool.stop()
        self._engines.close_all()
        with self._cond:
            self._cond.notify_all()
        if self._sweeper is not None:
            self._sweeper.join(2)
        self._started = False

    def depth(self) -> int:
        """Jobs waiting for a worker."""
        return len(self._items)

    # ----- submit / wait -----

    def submit(self, submission: Submission) -> Accepted:
        """Debit ``price`` from ``key`` and queue the job, atomically.

        v2 jobs store their request JSON so they can be re-run after a crash; a v1 job
        keeps its request in memory only (its caller is gone after a crash, so it is
        failed and refunded on restart instead). An ``Idempotency-Key`` seen before for
        this key returns its job (same fingerprint) or raises IdempotencyConflict; the
        look-up and the insert are one transaction, so concurrent repeats make one job.
        """
        request, key, sync, extras = (
            submission.request,
            submission.key,
            submission.sync,
            submission.extras,
        )
        if self._pool.alive() == 0:
            raise NoWorker(NO_WORKER)
        job_id = str(uuid.uuid4())
        charge = submission.charge
        stored = None if sync else request.model_dump_json()
        idem = extras.idempotency
        with self._cond:
            with self.db.transaction() as conn:
                if idem is not None:
                    prior = conn.execute(
                        "SELECT fingerprint, job_id FROM idempotency"
                        " WHERE key_id = ? AND idem_key = ?",
                        (key.id, idem.key),
                    ).fetchone()
                    if prior is not None and prior["fingerprint"] != idem.fingerprint:
                        raise IdempotencyConflict(idem.key)
                    if prior is not None:
                        return Accepted(prior["job_id"], key.credits, replayed=True)
                if len(self._items) >= self.settings.queue_capacity:
                    raise QueueFull(queue_full_error(self.settings.queue_capacity))
                remaining = SqliteCredits.debit(conn, charge)
                conn.execute(
                    "INSERT INTO jobs (id, key_id, kind, model, state, request, price, base64,"
                    " created, webhook_url, webhook_base)"
                    " VALUES (?, ?, ?, ?, 'QUEUED', ?, ?, ?, ?, ?, ?)",
                    (
                        job_id,
                        key.id,
                        "v1" if sync else "v2",
                        submission.model,
                        stored,
                        charge.price,
                        int(request.base64),
                        time.time(),
                        extras.webhook_url,
                        extras.base_url,
                    ),
                )
                if idem is not None:
                    conn.execute(
                        "INSERT INTO idempotency (key_id, idem_key, fingerprint, job_id)"
                        " VALUES (?, ?, ?, ?)",
                        (key.id, idem.key, idem.fingerprint, job_id),
                    )
            if sync:
                loop = asyncio.get_running_loop()
                self._pending[job_id] = _Pending(loop, loop.create_future())
            self._items.append((job_id, request if sync else None))
            self._cond.notify()
        return Accepted(job_id, remaining)

    async def wait_sync(self, job_id: str, timeout: float) -> Outcome:
        """Wait up to ``timeout`` seconds for a v1 job; past it, cancel, refund and raise."""
        pending = self._pending[job_id]
        try:
            return await asyncio.wait_for(asyncio.shield(pending.future), timeout)
        except TimeoutError:
            with self.db.transaction() as conn:
                cancelled = self._fail(conn, job_id, DEADLINE_ERROR, 504)
            if cancelled:
                raise DeadlineExceeded(DEADLINE_ERROR) from None
            # It finished just now: the outcome is on its way.
            return await asyncio.wait_for(pending.future, 5.0)
        finally:
            self._pending.pop(job_id, None)

    def cancel(self, job_id: str, key_id: str) -> str | None:
        """Cancel a v2 job: see :meth:`segswap.service.jobs.base.JobQueue.cancel`."""
        with self.db.transaction() as conn:
            row = conn.execute(
                "SELECT key_id, state, expires FROM jobs WHERE id = ? AND kind = 'v2'",
                (job_id,),
            ).fetchone()
            if row is None or row["key_id"] != key_id:
                return None
            if row["expires"] is not None and row["expires"] <= time.time():
                return None
            if row["state"] not in UNSETTLED:
                raise NotCancelable(row["state"])
            if row["state"] == "PROCESSING":
                conn.execute("UPDATE jobs SET cancel_requested = 1 WHERE id = ?", (job_id,))
                self._cancel_requested.add(job_id)
                return "requested"
            self._fail(conn, job_id, CANCELED_ERROR, CANCELED_STATUS, canceled=True)
        with self._cond, contextlib.suppress(ValueError):
            self._items.remove((job_id, None))  # its place in the queue is free now
        return "canceled"

    # ----- workers -----

    def _take(self, timeout: float) -> _Item | None:
        with self._cond:
            if not self._items and not self._stopping.is_set():
                self._cond.wait(timeout)
            if self._stopping.is_set() or not self._items:
                return None
            return self._items.popleft()

    def _execute(self, item: _Item) -> None:
        job_id, request = item
        started = time.time()
        with self.db.transaction() as conn:
            row = conn.execute(
                "UPDATE jobs SET state = 'PROCESSING', started = ?, attempts = attempts + 1"
                " WHERE id = ? AND state = 'QUEUED' RETURNING kind, request, created, attempts",
                (started, job_id),
            ).fetchone()
        if row is None:
            return  # cancelled (deadline) or already settled
        job = request if request is not None else row["request"]
        watcher = JobWatch(
            lambda value: self._set_progress(job_id, value),
            lambda: job_id in self._cancel_requested,
        )
        try:
            outcome = self._engines.get().run(job_id, job, watcher)
        except EngineCrashed as crash:
            log.error(
                "job %s: the engine process died (%s) on attempt %d of %d",
                job_id,
                crash,
                row["attempts"],
                self.settings.max_attempts,
            )
            if row["attempts"] < self.settings.max_attempts and self._requeue(item):
                return
            outcome = Outcome.failed(crashed_error(row["attempts"], str(crash)), 500)
        finally:
            self._cancel_requested.discard(job_id)
        metrics = {"queue_time": started - row["created"], **outcome.metrics}
        name = None
        if outcome.data is not None and row["kind"] == "v2":
            name = self.files.write(new_token(), outcome.image_format or "png", outcome.data)
        finished = time.time()
        metrics["total_time"] = finished - row["created"]
        with self.db.transaction() as conn:
            if outcome.data is None:
                settled = self._fail(
                    conn,
                    job_id,
                    outcome.error or "",
                    outcome.error_status or 500,
                    metrics,
                    from_states=("PROCESSING",),
                    canceled=outcome.canceled,
                )
            else:
                settled = self._complete(conn, job_id, name, metrics, finished)
        if not settled:  # cancelled meanwhile (deadline)
            self.files.delete(name)
            return
        self._resolve(
            job_id,
            Outcome(
                outcome.data, outcome.content_type, outcome.error, outcome.error_status, metrics
            ),
        )
        self._finished("COMPLETED" if outcome.data is not None else "FAILED", metrics)

    def _requeue(self, item: _Item) -> bool:
        """Put a job whose engine process died back at the head of the queue; False
        when it is no longer PROCESSING or its client asked to cancel it."""
        with self._cond:
            with self.db.transaction() as conn:
                again = conn.execute(
                    "UPDATE jobs SET state = 'QUEUED', started = NULL, progress = 0"
                    " WHERE id = ? AND state = 'PROCESSING' AND cancel_requested = 0",
                    (item[0],),
                ).rowcount
            if again:
                self._items.appendleft(item)
                self._cond.notify()
        return bool(again)

    def _set_progress(self, job_id: str, value: float) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE jobs SET progress = ? WHERE id = ? AND state = 'PROCESSING'",
                (value, job_id),
            )

    def _complete(
        self,
        conn: sqlite3.Connection,
        job_id: str,
        media_file: str | None,
        metrics: dict[str, float],
        now: float,
    ) -> bool:
        """PROCESSING -> COMPLETED, inside the caller's transaction."""
        return bool(
            conn.execute(
                "UPDATE jobs SET state = 'COMPLETED', finished = ?, expires = ?, media_file = ?,"
                " metrics = ?, progress = 1 WHERE id = ? AND state = 'PROCESSING'",
                (now, now + self.settings.result_ttl, media_file, json.dumps(metrics), job_id),
            ).rowcount
        )

    def _fail(
        self,
        conn: sqlite3.Connection,
        job_id: str,
        error: str,
        status: int,
        metrics: dict[str, float] | None = None,
        from_states: tuple[str, ...] = UNSETTLED,
        canceled: bool = False,
    ) -> bool:
        """Mark a job FAILED (``canceled``: by the client) and refund its price, inside
        the caller's transaction; False when it is not in ``from_states`` (settled
        already)."""
        now = time.time()
        marks = ",".join("?" * len(from_states))
        row = conn.execute(
            "UPDATE jobs SET state = 'FAILED', finished = ?, expires = ?, error = ?,"
            f" error_status = ?, metrics = ?, canceled = ? WHERE id = ? AND state IN ({marks})"
            " RETURNING key_id, price",
            (
                now,
                now + self.settings.result_ttl,
                error,
                status,
                json.dumps(metrics or {}),
                int(canceled),
                job_id,
                *from_states,
            ),
        ).fetchone()
        if row is None:
            return False
        SqliteCredits.refund(conn, row["key_id"], row["price"])
        return True

    def _resolve(self, job_id: str, outcome: Outcome) -> None:
        pending = self._pending.get(job_id)
        if pending is None:
            return

        def settle() -> None:
            if not pending.future.done():
                pending.future.set_result(outcome)

        with contextlib.suppress(RuntimeError):  # the loop is closed (shutting down)
            pending.loop.call_soon_threadsafe(settle)

    def _finished(self, state: str, metrics: dict[str, float]) -> None:
        if self._on_finish is not None:
            try:
                self._on_finish(state, metrics)
            except Exception:  # pragma: no cover - monitoring never breaks a job
                log.exception("on_finish hook failed")

    # ----- reads -----

    def _row(self, job_id: str, key_id: str, columns: str) -> sqlite3.Row | None:
        """The ``columns`` of v2 job ``job_id`` if it is ``key_id``'s and not expired."""
        row: sqlite3.Row | None = (
            self.db.conn()
            .execute(
                f"SELECT key_id, expires, {columns} FROM jobs WHERE id = ? AND kind = 'v2'",
                (job_id,),
            )
            .fetchone()
        )
        if row is None or row["key_id"] != key_id:
            return None
        if row["expires"] is not None and row["expires"] <= time.time():
            return None
        return row

    def get(self, job_id: str, key_id: str) -> JobView | None:
        """A v2 job of ``key_id`` that has not expired, else None."""
        row = self._row(
            job_id,
            key_id,
            "state, base64, created, error, error_status, media_file, metrics, canceled",
        )
        return JobView.from_record(job_id, row) if row is not None else None

    def status(self, job_id: str, key_id: str) -> JobStatus | None:
        """State and error of a v2 job of ``key_id`` that has not expired, else None."""
        row = self._row(job_id, key_id, "state, error, metrics, progress, canceled, seq")
        if row is None:
            return None
        position = None
        if row["state"] == "QUEUED":
            ahead = (
                self.db.conn()
                .execute(
                    "SELECT COUNT(*) FROM jobs WHERE state = 'QUEUED' AND seq < ?", (row["seq"],)
                )
                .fetchone()
            )
            position = int(ahead[0])
        progress = 1.0 if row["state"] == "COMPLETED" else float(row["progress"] or 0.0)
        return JobStatus(
            job_id,
            row["state"],
            row["error"],
            stored_warnings(row["metrics"]),
            progress=progress,
            queue_position=position,
            canceled=bool(row["canceled"]),
        )

    def result_bytes(self, job: JobView) -> bytes | None:
        """The result file of a COMPLETED job."""
        return self.files.read(job.media_file) if job.media_file else None

    def media(self, name: str) -> tuple[bytes, str] | None:
        """A result file by its capability name, unless it has expired."""
        if self.files.path(name) is None:
            return None
        row = (
            self.db.conn()
            .execute("SELECT expires FROM jobs WHERE media_file = ?", (name,))
            .fetchone()
        )
        if row is None or row["expires"] is None or row["expires"] <= time.time():
            return None
        data = self.files.read(name)
        return (data, content_type(name)) if data is not None else None

    def counts(self) -> dict[str, int]:
        """Stored jobs by state (every state present, 0 when none)."""
        rows = self.db.conn().execute("SELECT state, COUNT(*) FROM jobs GROUP BY state")
        counts: dict[str, int] = dict.fromkeys(STATES, 0)
        counts.update({state: int(n) for state, n in rows})
        return counts

    # ----- expiry -----

    def sweep(self) -> int:
        """Delete jobs (and their files) whose time is up, then give the space they took
        in the database back (:meth:`Database.reclaim`); returns how many."""
        now = time.time()
        conn = self.db.conn()
        rows = conn.execute(
            "SELECT id, media_file FROM jobs WHERE expires IS NOT NULL AND expires <= ?", (now,)
        ).fetchall()
        for row in rows:
            self.files.delete(row["media_file"])
        if rows:
            with self.db.transaction() as tx:
                ids = [(row["id"],) for row in rows]
                tx.executemany("DELETE FROM jobs WHERE id = ?", ids)
                tx.executemany("DELETE FROM idempotency WHERE job_id = ?", ids)
            self.db.reclaim()
        return len(rows)

    def _sweep_loop(self) -> None:
        while not self._stopping.wait(self.settings.sweep_interval):
            try:
                self.sweep()
            except Exception:
                log.exception("expiry sweep failed")
