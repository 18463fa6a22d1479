"""Scale-out workers: the Celery app, the job task and ``segswap worker``.

API nodes send one Celery message per accepted job, carrying only its id; the job
itself (request, state, attempts, result) lives in the job record in Redis
(:class:`segswap.service.redis_store.RedisJobStore`). A worker process loads the engine
once (when the pool process starts) and runs jobs with :func:`segswap.api.render_request`,
exactly like the embedded workers.

Reliability, and why each setting is what it is:

- ``task_acks_late=True``: a message is acknowledged only after its job has been run
  and its outcome written, so a worker that dies mid-job has not acknowledged it.
- ``broker_transport_options["visibility_timeout"]`` (``SEGSWAP_VISIBILITY_TIMEOUT``):
  with the Redis broker an unacknowledged message goes back to the queue this many
  seconds after it was delivered. That is how the job of a worker that died (SIGKILL,
  OOM, lost machine) runs again elsewhere. Keep it above the longest job: a message
  older than this is delivered again even while its worker still runs it (see the
  lease below: the second delivery then waits instead of running the job twice).
  ``unacked_restore_interval`` is set so that the check runs a few times per timeout.
- ``task_reject_on_worker_lost=True``: when the pool process running a job dies but the
  worker survives, the message is put back at once instead of being acknowledged.
- ``worker_prefetch_multiplier=1``: a worker reserves only as many messages as it has
  pool processes, so a dying worker strands no queued jobs, and queued jobs go to
  whichever worker is free first.
- Bounded retries: each delivery that starts running a job increments the job record's
  ``attempts``; a delivery beyond ``SEGSWAP_MAX_ATTEMPTS`` (a job whose workers keep
  dying, e.g. out of memory) marks it FAILED with a reason, refunded. A job that raises
  (unusable input, engine error) FAILS at once, as in the embedded default: rerunning it
  would fail the same way.
- Idempotent outcomes: a delivery of a job that is COMPLETED or FAILED already is
  acknowledged and skipped; the result is written only from PROCESSING (first writer
  wins); the refund is guarded by a flag in the record, so it happens once. A job is
  charged once, when the API accepted it, never by a worker.
- Leases: the process running a job holds ``lease:<job id>`` in Redis and its
  heartbeat thread extends it every ``lease / 4`` seconds. A second delivery of a job
  whose lease is held waits until the job is settled (then skips it) or the lease
  lapses (its worker died: then it runs it). The same heartbeat registers the
  process as a live worker slot, which is what ``/health`` and the 502 check count.
- A safety net for the rare case where a job's message is gone while its record says
  PROCESSING with no lease (a worker died between acknowledging and writing, or a
  redelivered duplicate was acknowledged): one worker at a time re-sends such jobs.
- Graceful shutdown: SIGTERM to the worker's main process is Celery's warm shutdown:
  the worker stops taking messages, finishes the jobs it runs, writes their outcome,
  acknowledges and exits; messages it had reserved but not started go back to the
  queue. A second SIGTERM (or SIGQUIT) is a cold shutdown: the running job's message is
  not acknowledged and is delivered again after the visibility timeout. (A SIGTERM sent
  to the pool processes too, e.g. systemd's default ``KillMode=control-group``, kills
  the running job, which then runs again elsewhere: prefer ``KillMode=mixed``.)
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from celery import Celery, signals

from segswap.api import render_request
from segswap.engine import Engine
from segswap.errors import ImageTooLarge, InvalidParameter
from segswap.params import parse_request
from segswap.service.errors import StoreUnavailable
from segswap.service.media import new_token
from segswap.service.redis_store import RedisJobStore, RedisMedia, connect
from segswap.service.workers import resolve_engine
from segswap.settings import Settings

log = logging.getLogger("segswap.worker")

TASK_NAME = "segswap.run_job"
INTERNAL_ERROR = "internal error while processing the request (it has been logged)"
WORKER_LIVE_WINDOW = 10.0  # a worker slot without a heartbeat for this long is dead


def lease_seconds(settings: Settings) -> float:
    """How long a job's lease lasts without a heartbeat: 10 s, less with a short
    visibility timeout (tests), so that a redelivered job is not held up by it."""
    return min(10.0, max(2.0, settings.visibility_timeout / 2))


UNPUBLISHED_GRACE = 20.0
"""Seconds after which a stored job whose message is still not known to be sent is sent
by the reaper (publishing itself gives up well before)."""


def exhausted_error(settings: Settings) -> str:
    return (
        f"the request was not finished after {settings.max_attempts} attempt(s): the worker"
        " running it stopped each time (crash, out of memory or lost machine)"
    )


def celery_config(settings: Settings) -> dict[str, Any]:
    """The Celery settings of both sides (see the module docstring for why)."""
    vt = settings.visibility_timeout
    return {
        "broker_url": settings.broker_url,
        "broker_transport_options": {
            "visibility_timeout": vt,
            "unacked_restore_interval": max(1, min(10, int(vt // 4))),
            "unacked_restore_throttle": 1,
            "socket_timeout": 10,
            "socket_connect_timeout": 3,
            "health_check_interval": 10,
        },
        "broker_connection_retry_on_startup": True,
        "broker_connection_max_retries": None,  # workers wait for Redis forever
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "task_acks_on_failure_or_timeout": True,
        "worker_prefetch_multiplier": 1,
        "task_ignore_result": True,  # the outcome lives in the job record
        "task_default_queue": settings.celery_queue,
        "task_serializer": "json",
        "accept_content": ["json"],
        "worker_hijack_root_logger": False,
        "worker_send_task_events": False,
        "task_send_sent_event": False,
        "worker_enable_remote_control": False,
    }


def create_celery(settings: Settings) -> Celery:
    """The Celery app (producer side for API nodes, consumer side for workers)."""
    if not settings.broker_url:
        raise ValueError("scale-out needs SEGSWAP_BROKER_URL (redis://host:port/db)")
    app = Celery("segswap", set_as_current=False)
    app.conf.update(celery_config(settings))

    @app.task(name=TASK_NAME, bind=True, acks_late=True, reject_on_worker_lost=True)
    def run_job(task: Any, job_id: str) -> None:
        runtime = WorkerRuntime.current(settings, app)
        runtime.execute(job_id)

    return app


# ----- the worker process side -----


@dataclass
class WorkerRuntime:
    """What one worker process holds: settings, store clients, its engine, a heartbeat.

    Created once per process (``worker_process_init`` in pool processes; lazily in
    the first job otherwise) and never shared across a fork.
    """

    settings: Settings
    app: Celery
    pid: int
    jobs: RedisJobStore
    media: RedisMedia
    engine_factory: Callable[[], Engine]
    members: list[str]
    running: dict[str, str] = field(default_factory=dict)
    _engines: threading.local = field(default_factory=threading.local)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

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
        client = connect(settings.broker_url or "")
        name = f"{_hostname()}:{os.getpid()}"
        runtime = cls(
            settings=settings,
            app=app,
            pid=os.getpid(),
            jobs=RedisJobStore(client, settings.result_ttl),
            media=RedisMedia(client, settings.result_ttl),
            engine_factory=resolve_engine(settings.engine, settings),
            members=[name] if slots == 1 else [f"{name}:{i}" for i in range(slots)],
        )
        runtime.engine()  # load it now, not in the first job
        thread = threading.Thread(target=runtime._beat, name="segswap-heartbeat", daemon=True)
        thread.start()
        return runtime

    def engine(self) -> Engine:
        """This thread's engine, built once."""
        engine: Engine | None = getattr(self._engines, "engine", None)
        if engine is None:
            engine = self.engine_factory()
            self._engines.engine = engine
        return engine

    # --- heartbeat, leases, orphan re-send ---

    @property
    def lease(self) -> float:
        return lease_seconds(self.settings)

    def _beat(self) -> None:
        period = min(2.0, self.lease / 4)
        next_reap = time.monotonic() + 5
        while not self._stop.is_set():
            try:
                with self._lock:
                    running = dict(self.running)
                self.jobs.heartbeat(self.members, running, self.lease)
                if time.monotonic() >= next_reap:
                    next_reap = time.monotonic() + 15
                    self._resend_orphans()
            except StoreUnavailable:
                log.warning("heartbeat: Redis is unavailable; retrying")
            except Exception:
                log.exception("heartbeat failed")
            self._stop.wait(period)

    def _resend_orphans(self) -> None:
        settings = self.settings
        if not self.jobs.try_lock("orphans", 14, self.members[0]):
            return
        cutoff = time.time() - settings.visibility_timeout - 3 * self.lease - 30
        for job_id in self.jobs.orphans(cutoff):
            log.warning("job %s is PROCESSING with no worker and no message: sending it again",
                        job_id)
            self.app.send_task(TASK_NAME, args=[job_id], queue=settings.celery_queue)
        # Publishing retries for at most a few seconds; older unpublished jobs lost
        # their API node between being stored and being sent.
        for job_id in self.jobs.unpublished(time.time() - UNPUBLISHED_GRACE):
            log.warning("job %s was stored but never sent (its API node died): sending it",
                        job_id)
            self.app.send_task(TASK_NAME, args=[job_id], queue=settings.celery_queue)

    def shutdown(self) -> None:
        """Stop the heartbeat and deregister this process's slots."""
        self._stop.set()
        with contextlib.suppress(StoreUnavailable):
            self.jobs.leave(self.members)

    # --- one job ---

    def execute(self, job_id: str) -> None:
        """Run one delivery of ``job_id`` (idempotent: see the module docstring)."""
        owner = f"{self.members[0]}:{uuid.uuid4().hex[:12]}"
        while True:
            started = _retrying(lambda: self.jobs.start(
                job_id, owner, lease=self.lease, max_attempts=self.settings.max_attempts,
                exhausted_error=exhausted_error(self.settings)))
            outcome = started[0]
            if outcome in ("gone", "done"):
                log.info("job %s: already settled or expired; delivery skipped", job_id)
                return
            if outcome == "exhausted":
                log.error("job %s: FAILED after %s deliveries", job_id, started[1])
                return
            if outcome == "busy":
                # Another delivery runs it: wait until it is settled or its lease lapses.
                time.sleep(min(1.0, self.lease / 4))
                continue
            break
        _, attempts, request_json, kind, created_s, started_s = started
        with self._lock:
            self.running[job_id] = owner
        try:
            self._run(job_id, owner, int(attempts), request_json, float(created_s),
                      float(started_s))
        finally:
            with self._lock:
                self.running.pop(job_id, None)
            with contextlib.suppress(StoreUnavailable):
                self.jobs.not_busy(job_id)

    def _run(self, job_id: str, owner: str, attempts: int, request_json: str,
             created: float, started: float) -> None:
        metrics: dict[str, float] = {"queue_time": max(0.0, started - created)}
        if attempts > 1:
            log.warning("job %s: delivery %d (its previous worker stopped)", job_id, attempts)
        error: tuple[str, int] | None = None
        try:
            request = parse_request(json.loads(request_json))
            rendered = render_request(request, engine=self.engine(), settings=self.settings)
        except ImageTooLarge as exc:
            error = (str(exc), 413)
        except InvalidParameter as exc:
            error = (str(exc), 400)
        except Exception:
            log.exception("job %s failed with an internal error", job_id)
            error = (INTERNAL_ERROR, 500)
        if error is not None:
            metrics["total_time"] = time.time() - created
            _retrying(lambda: self.jobs.fail(job_id, error[0], error[1], metrics=metrics,
                                             owner=owner, from_states=("PROCESSING",)))
            return
        metrics.update(
            load_time=rendered.load_time,
            inference_time=rendered.inference_time,
            encode_time=rendered.encode_time,
        )
        name = _retrying(lambda: self.media.write(new_token(), request.image_format,
                                                  rendered.data))
        metrics["total_time"] = time.time() - created
        if not _retrying(lambda: self.jobs.complete(job_id, owner, name, metrics)):
            log.info("job %s: settled meanwhile (deadline or another delivery); result dropped",
                     job_id)
            _retrying(lambda: self.media.delete(name))


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


def _hostname() -> str:
    """The worker's name (``--hostname``), inherited by its pool processes."""
    return str(_PROCESS_SETTINGS.get("name") or socket.gethostname())


# ----- ``segswap worker`` -----

_PROCESS_SETTINGS: dict[str, Any] = {}


@signals.worker_process_init.connect(weak=False)
def _on_pool_process_start(**_: Any) -> None:
    """A prefork pool process starts: load the engine, register the slot, start beating."""
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
    code. ``concurrency`` pool processes (``pool``: prefork, solo or threads) each load
    the engine once."""
    app = create_celery(settings)
    if pool == "solo":
        concurrency = 1
    name = hostname or f"segswap-{os.getpid()}@{socket.gethostname()}"
    _PROCESS_SETTINGS.update(settings=settings, app=app, pool=pool, slots=concurrency,
                             name=name)
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
