"""Scale-out: the Celery configuration shared by API nodes and workers (configuration only).

The task itself is registered on the worker side only
(:mod:`segswap.service.jobs.celery_worker`); API nodes send it by name, :data:`TASK_NAME`.

API nodes send one Celery message per accepted job, carrying only its id; the job
itself (request, state, attempts, result) lives in the job record in Redis
(:class:`segswap.service.jobs.redis_records.RedisJobStore`). Each pool slot of a worker runs its
jobs in an engine process of its own (:mod:`segswap.service.jobs.processes`, started when
the pool process starts), exactly like the embedded workers, so a native crash or an
out-of-memory kill of the engine is one attempt of one job (see ``celery_worker``).

Reliability, and why each setting is what it is:

- ``task_acks_late=True``: a message is acknowledged only after its job has been run
  and its outcome written, so a worker that dies mid-job has not acknowledged it.
- ``broker_transport_options["visibility_timeout"]`` (``SEGSWAP_VISIBILITY_TIMEOUT``):
  with the Redis broker an unacknowledged message goes back to the queue this many
  seconds after it was delivered. It is only a backstop: the job of a worker that died
  (SIGKILL, OOM, lost machine) is sent again as soon as its lease lapses (below). Keep
  it above the longest job: a message older than this is delivered again even while
  its worker still runs it (the second delivery then waits on the lease instead of
  running the job twice).
  ``unacked_restore_interval`` is set so that the check runs a few times per timeout.
- ``task_reject_on_worker_lost=True``: when the pool process running a job dies but the
  worker survives, the message is put back at once instead of being acknowledged.
- ``worker_prefetch_multiplier=1``: a worker reserves only as many messages as it has
  pool processes, so a dying worker strands no queued jobs, and queued jobs go to
  whichever worker is free first.
- Bounded retries: each delivery that starts running a job increments the job record's
  ``attempts``; a delivery beyond ``SEGSWAP_MAX_ATTEMPTS`` (a job whose workers keep
  dying, e.g. out of memory) marks it FAILED with a reason, refunded. An engine process
  that dies mid-job (native crash, OOM kill) ends one attempt: the same delivery starts
  the next one in a fresh engine process, and the last one FAILS the job naming the
  crash, refunded. A job that raises
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
- Fast redelivery through the leases: every half lease (5 s) one worker of the
  cluster looks for jobs PROCESSING for over two leases whose lease is gone (nothing
  renews it: their worker died, or their message was lost), puts each back to QUEUED
  in one script (only while no lease is held, so a job never runs twice at once) and
  sends it again. With the default 10 s lease (``SEGSWAP_JOB_LEASE``), a dead worker's
  job runs again about 10–25 s after the death, at default settings, still bounded by
  ``SEGSWAP_MAX_ATTEMPTS``.
- Graceful shutdown: SIGTERM to the worker's main process is Celery's warm shutdown:
  the worker stops taking messages, finishes the jobs it runs, writes their outcome,
  acknowledges and exits; messages it had reserved but not started go back to the
  queue. A second SIGTERM (or SIGQUIT) is a cold shutdown: the running job's message is
  not acknowledged and is delivered again after the visibility timeout. (A SIGTERM sent
  to the pool processes too, e.g. systemd's default ``KillMode=control-group``, kills
  the running job, which then runs again elsewhere: prefer ``KillMode=mixed``.)
"""

from __future__ import annotations

from typing import Any

from celery import Celery

from segswap.settings import Settings

TASK_NAME = "segswap.run_job"
WORKER_LIVE_WINDOW = 10.0  # a worker slot without a heartbeat for this long is dead


def lease_seconds(settings: Settings) -> float:
    """How long a job's lease lasts without a heartbeat: ``SEGSWAP_JOB_LEASE`` (10 s),
    less with a short visibility timeout (half of it, at least 2 s), so that a
    redelivered job is not held up by it."""
    return min(settings.job_lease, max(2.0, settings.visibility_timeout / 2))


def reap_period(settings: Settings) -> float:
    """Seconds between two looks for jobs whose worker died: half a lease (5 s)."""
    return lease_seconds(settings) / 2


def unpublished_grace(settings: Settings) -> float:
    """Seconds after which a job stored but not known to be sent is sent by the reaper
    (its API node died in between): two leases (20 s at the default lease; publishing
    itself gives up after two quick retries). Sent twice, a job still runs once."""
    return 2 * lease_seconds(settings)


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
    """The Celery app, configured (API nodes send with it; workers register the task on
    it, :func:`segswap.service.jobs.celery_worker.register_task`)."""
    if not settings.broker_url:
        raise ValueError("scale-out needs SEGSWAP_BROKER_URL (redis://host:port/db)")
    app = Celery("segswap", set_as_current=False)
    app.conf.update(celery_config(settings))
    return app
