"""The scale-out worker runtime: what one ``segswap worker`` process holds, the job task,
and the Celery signals and entry point of ``segswap worker``.

See :mod:`segswap.service.jobs.celery_app` for the reliability rules (late acks,
redelivery, leases, bounded attempts) this runtime implements.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import multiprocessing.process as mp_process
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from celery import Celery, signals

from segswap.service.errors import StoreUnavailable
from segswap.service.jobs.base import Outcome
from segswap.service.jobs.celery_app import (
    TASK_NAME,
    create_celery,
    lease_seconds,
    reap_period,
    unpublished_grace,
)
from segswap.service.jobs.media import RedisMedia, new_token
from segswap.service.jobs.messages import crashed_error, exhausted_error
from segswap.service.jobs.processes import EngineCrashed, EngineProcesses
from segswap.service.jobs.progress import JobWatch
from segswap.service.jobs.redis_records import RedisJobStore
from segswap.service.redis_client import connect
from segswap.settings import Settings

log = logging.getLogger("segswap.worker")


def register_task(app: Celery, settings: Settings) -> None:
    """Register the job task (:data:`TASK_NAME`) on a worker's Celery ``app``."""

    @app.task(name=TASK_NAME, bind=True, acks_late=True, reject_on_worker_lost=True)
    def run_job(task: Any, job_id: str) -> None:
        runtime = WorkerRuntime.current(settings, app)
        runtime.execute(job_id)


# ----- the worker process side -----


@dataclass
class WorkerRuntime:
    """What one worker process holds: settings, store clients, its engine processes, a
    heartbeat.

    Created once per process (``worker_process_init`` in pool processes; lazily in
    the first job otherwise) and never shared across a fork. Jobs run in an engine
    process of the calling thread (:class:`~segswap.service.jobs.processes.EngineProcess`,
    as in ``segswap serve``): a native crash or an out-of-memory kill of the engine ends
    that child only, and counts as one attempt of the job.
    """

    settings: Settings
    app: Celery
    pid: int
    jobs: RedisJobStore
    media: RedisMedia
    engines: EngineProcesses
    members: list[str]
    running: dict[str, str] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # Held by each beat and by shutdown(): a beat is either over before the slots leave
    # the registry or sees the stop and sends nothing, so no beat registers them again.
    _registry: threading.Lock = field(default_factory=threading.Lock)

    _instance: ClassVar[WorkerRuntime | None] = None  # the runtime of this process
    _class_lock: ClassVar[threading.Lock] = threading.Lock()

    @classmethod
    def current(cls, settings: Settings, app: Celery, slots: int = 1) -> WorkerRuntime:
        with cls._class_lock:
            runtime = cls._instance
            if runtime is None or runtime.pid != os.getpid():
                runtime = cls._create(settings, app, slots)
                cls._instance = runtime
            return runtime

    @classmethod
    def _create(cls, settings: Settings, app: Celery, slots: int) -> WorkerRuntime:
        _allow_children()
        client = connect(settings.broker_url or "")
        name = f"{_hostname()}:{os.getpid()}"
        runtime = cls(
            settings=settings,
            app=app,
            pid=os.getpid(),
            jobs=RedisJobStore(client, settings.result_ttl),
            media=RedisMedia(client, settings.result_ttl),
            engines=EngineProcesses(settings),
            members=[name] if slots == 1 else [f"{name}:{i}" for i in range(slots)],
        )
        runtime.engines.start()  # the engine process of this thread, now, not in the first job
        thread = threading.Thread(target=runtime._beat, name="segswap-heartbeat", daemon=True)
        thread.start()
        return runtime

    # --- heartbeat, leases, orphan re-send ---

    @property
    def lease(self) -> float:
        return lease_seconds(self.settings)

    def _beat(self) -> None:
        period = min(2.0, self.lease / 4)
        every = reap_period(self.settings)
        next_reap = time.monotonic() + every
        while not self._stop.is_set():
            try:
                with self._lock:
                    running = dict(self.running)
                with self._registry:
                    if self._stop.is_set():
                        return
                    self.jobs.heartbeat(self.members, running, self.lease)
                if time.monotonic() >= next_reap:
                    next_reap = time.monotonic() + every
                    self._resend_orphans()
            except StoreUnavailable:
                log.warning("heartbeat: Redis is unavailable; retrying")
            except Exception:
                log.exception("heartbeat failed")
            self._stop.wait(period)

    def _resend_orphans(self) -> None:
        settings = self.settings
        every = reap_period(settings)
        if not self.jobs.try_lock("orphans", every * 0.8, self.members[0]):
            return
        # A running job's lease is renewed every lease / 4 s; one started over two leases
        # ago without a lease lost its worker. Sending it again now, rather than waiting
        # for the broker's visibility timeout, reruns it within about 2 leases + a period.
        for job_id in self.jobs.requeue_orphans(time.time() - 2 * self.lease):
            log.warning("job %s: its worker stopped (lease lapsed); sending it again", job_id)
            self.app.send_task(TASK_NAME, args=[job_id], queue=settings.celery_queue)
        # Publishing retries for at most a few seconds; older unpublished jobs lost
        # their API node between being stored and being sent.
        for job_id in self.jobs.unpublished(time.time() - unpublished_grace(settings)):
            log.warning("job %s was stored but never sent (its API node died): sending it", job_id)
            self.app.send_task(TASK_NAME, args=[job_id], queue=settings.celery_queue)

    def shutdown(self) -> None:
        """Stop the heartbeat and deregister this process's slots."""
        with self._registry:  # waits for a beat under way (bounded by Redis's timeouts)
            self._stop.set()
            with contextlib.suppress(StoreUnavailable):
                self.jobs.leave(self.members)
        self.engines.close_all()

    # --- one job ---

    def execute(self, job_id: str) -> None:
        """Run one delivery of ``job_id`` (idempotent: see the module docstring).

        An engine process that dies mid-job ends that attempt only: the delivery starts
        the next attempt at once (in a fresh engine process), within
        ``SEGSWAP_MAX_ATTEMPTS``; the last one FAILS the job with the crash named."""
        owner = f"{self.members[0]}:{uuid.uuid4().hex[:12]}"
        crashed = False
        try:
            while True:
                started = self._start(job_id, owner)
                if started is None:
                    return
                _, attempts, request_json, kind, created_s, started_s = started
                with self._lock:
                    self.running[job_id] = owner
                if int(attempts) > 1 and not crashed:
                    log.warning(
                        "job %s: delivery %s (its previous worker stopped)", job_id, attempts
                    )
                crashed = self._run(
                    job_id, owner, int(attempts), request_json, float(created_s), float(started_s)
                )
                if not crashed:
                    return
        finally:
            with self._lock:
                self.running.pop(job_id, None)
            with contextlib.suppress(StoreUnavailable):
                self.jobs.not_busy(job_id)

    def _start(self, job_id: str, owner: str) -> list[str] | None:
        """Start an attempt of ``job_id`` as ``owner``: the record's fields, or None when
        this delivery has nothing to run (settled, expired, out of attempts)."""
        while True:
            started: list[str] = _retrying(
                lambda: self.jobs.start(
                    job_id,
                    owner,
                    lease=self.lease,
                    max_attempts=self.settings.max_attempts,
                    exhausted_error=exhausted_error(self.settings.max_attempts),
                )
            )
            outcome = started[0]
            if outcome in ("gone", "done"):
                log.info("job %s: already settled or expired; delivery skipped", job_id)
                return None
            if outcome == "exhausted":
                log.error("job %s: FAILED after %s deliveries", job_id, started[1])
                return None
            if outcome == "busy":
                # Another delivery runs it: wait until it is settled or its lease lapses.
                time.sleep(min(1.0, self.lease / 4))
                continue
            return started

    def _run(
        self,
        job_id: str,
        owner: str,
        attempts: int,
        request_json: str,
        created: float,
        started: float,
    ) -> bool:
        """Run one attempt and write its outcome; True when its engine process died and
        attempts are left (the caller starts the next one)."""
        watcher = JobWatch(
            lambda value: _quietly(lambda: self.jobs.set_progress(job_id, value)),
            lambda: bool(_quietly(lambda: self.jobs.cancel_requested(job_id))),
        )
        try:
            outcome = self.engines.get().run(job_id, request_json, watcher)
        except EngineCrashed as crash:
            limit = self.settings.max_attempts
            log.error(
                "job %s: the engine process died (%s) on attempt %d of %d",
                job_id,
                crash,
                attempts,
                limit,
            )
            if attempts < limit:
                return True
            outcome = Outcome.failed(crashed_error(attempts, str(crash)), 500)
        metrics = {"queue_time": max(0.0, started - created), **outcome.metrics}
        data = outcome.data
        if outcome.canceled:
            _retrying(lambda: self.jobs.cancel(job_id, "", worker=True))
            log.info("job %s: canceled by the client while running", job_id)
            return False
        if data is None:
            metrics["total_time"] = time.time() - created
            _retrying(
                lambda: self.jobs.fail(
                    job_id,
                    outcome.error or "",
                    outcome.error_status or 500,
                    metrics=metrics,
                    owner=owner,
                    from_states=("PROCESSING",),
                )
            )
            return False
        name = _retrying(lambda: self.media.write(new_token(), outcome.image_format or "png", data))
        metrics["total_time"] = time.time() - created
        if not _retrying(lambda: self.jobs.complete(job_id, owner, name, metrics)):
            log.info(
                "job %s: settled meanwhile (deadline or another delivery); result dropped", job_id
            )
            _retrying(lambda: self.media.delete(name))
        return False


def _retrying(call: Callable[[], Any], seconds: float = 120.0) -> Any:
    """``call()``, retried while Redis is unavailable (up to ``seconds``, then raise: the
    message stays unacknowledged and is delivered again once Redis is back)."""
    deadline = time.monotonic() + seconds
    delay = 0.2
    while True:
        try:
            return call()
        except StoreUnavailable:
            if time.monotonic() >= deadline:
                raise
            log.warning("Redis is unavailable; retrying in %.1f s", delay)
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


def _allow_children() -> None:
    """Let this process start engine processes with :mod:`multiprocessing`.

    In a pool process of Celery's prefork pool, ``multiprocessing.current_process()`` is
    billiard's process object: marked daemonic (multiprocessing refuses children to a
    daemon) and holding billiard's authkey type (which refuses to be pickled with a new
    process). Here the flag guards nothing else (the main worker process stops its pool
    through its own handles) and the key keeps its bytes; :meth:`WorkerRuntime.shutdown`
    stops the engine processes, which also end when this process dies (their pipe
    closes). Nothing to do in a process multiprocessing made itself.
    """
    config = getattr(multiprocessing.current_process(), "_config", None)
    if not isinstance(config, dict) or not config.get("daemon"):
        return
    config["daemon"] = False
    authkey = config.get("authkey")
    if authkey is not None:
        config["authkey"] = getattr(mp_process, "AuthenticationString")(bytes(authkey))  # noqa: B009


def _quietly(call: Callable[[], Any]) -> Any:
    """``call()``, or None while Redis is unavailable: progress and cancel checks never
    fail a job."""
    try:
        return call()
    except StoreUnavailable:
        return None


def _hostname() -> str:
    """The worker's name (``--hostname``), inherited by its pool processes."""
    return str(_PROCESS_SETTINGS.get("name") or socket.gethostname())


# ----- ``segswap worker`` -----

_PROCESS_SETTINGS: dict[str, Any] = {}


@signals.worker_process_init.connect(weak=False)
def _on_pool_process_start(**_: Any) -> None:
    """A prefork pool process starts: its engine process, its slot, its heartbeat."""
    settings, app = _PROCESS_SETTINGS.get("settings"), _PROCESS_SETTINGS.get("app")
    if settings is not None and app is not None:
        WorkerRuntime.current(settings, app)


@signals.worker_process_shutdown.connect(weak=False)
def _on_pool_process_stop(**_: Any) -> None:
    runtime = WorkerRuntime._instance
    if runtime is not None and runtime.pid == os.getpid():
        runtime.shutdown()


@signals.worker_ready.connect(weak=False)
def _on_worker_ready(**_: Any) -> None:
    """Solo and thread pools run jobs in the main process: start its runtime now."""
    settings, app = _PROCESS_SETTINGS.get("settings"), _PROCESS_SETTINGS.get("app")
    pool = _PROCESS_SETTINGS.get("pool")
    if settings is not None and app is not None and pool in ("solo", "threads"):
        WorkerRuntime.current(settings, app, slots=_PROCESS_SETTINGS.get("slots", 1))


@signals.worker_shutdown.connect(weak=False)
def _on_worker_stop(**_: Any) -> None:
    if _PROCESS_SETTINGS.get("pool") in ("solo", "threads"):
        _on_pool_process_stop()


def run_worker(
    settings: Settings,
    *,
    concurrency: int,
    queues: list[str],
    pool: str = "prefork",
    loglevel: str = "INFO",
    hostname: str | None = None,
) -> int:
    """Run a Celery worker until it is stopped (SIGTERM: warm shutdown); returns its exit
    code. ``concurrency`` slots (``pool``: prefork, solo or threads) each run their jobs in
    an engine process of their own."""
    app = create_celery(settings)
    register_task(app, settings)
    if pool == "solo":
        concurrency = 1
    name = hostname or f"segswap-{os.getpid()}@{socket.gethostname()}"
    _PROCESS_SETTINGS.update(settings=settings, app=app, pool=pool, slots=concurrency, name=name)
    worker = app.Worker(
        concurrency=concurrency,
        queues=queues,
        pool_cls=pool,
        loglevel=loglevel,
        hostname=name,
        without_gossip=True,
        without_mingle=True,
        without_heartbeat=True,
        optimization="fair",
    )
    worker.start()
    return int(getattr(worker, "exitcode", 0) or 0)
