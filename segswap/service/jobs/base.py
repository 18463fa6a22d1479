"""The job queue interface: states, what a job looks like to the API, and the protocol.

:class:`JobQueue` is everything the HTTP layer knows about jobs. Two backends implement
it: the embedded default (:class:`segswap.service.jobs.embedded.EmbeddedQueue`: SQLite,
result files, in-process threads) and scale-out
(:class:`segswap.service.jobs.celery_queue.CeleryQueue`: Redis records, Celery workers);
only :mod:`segswap.service.server` chooses which one to construct.

Jobs go QUEUED -> PROCESSING -> COMPLETED | FAILED. v1 (synchronous) and v2 jobs share
one FIFO queue. The price of a job is debited when it is accepted and refunded when it
FAILS. A FAILED job records the HTTP status a synchronous caller gets (400 unusable
input, 413 image too large, 500 internal error, 504 deadline).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple, Protocol

from segswap.params import SwapRequest
from segswap.service.accounts.credits import Charge
from segswap.service.accounts.keys import KeyRecord

JobState = Literal["QUEUED", "PROCESSING", "COMPLETED", "FAILED"]
STATES: tuple[JobState, ...] = ("QUEUED", "PROCESSING", "COMPLETED", "FAILED")
UNSETTLED: tuple[JobState, ...] = ("QUEUED", "PROCESSING")
SETTLED: tuple[JobState, ...] = ("COMPLETED", "FAILED")


class StoredRecord(Protocol):
    """A stored job's fields by name: a ``sqlite3.Row`` or a decoded Redis hash."""

    def __getitem__(self, name: str, /) -> Any: ...


class QueueFull(Exception):
    """The queue holds ``queue_capacity`` jobs already (HTTP 429)."""


class NoWorker(Exception):
    """No worker is running to take the job (HTTP 502)."""


class IdempotencyConflict(Exception):
    """The ``Idempotency-Key`` was used before with another request body (HTTP 409)."""


class NotCancelable(Exception):
    """Cancel of a job that is already COMPLETED or FAILED (HTTP 409)."""


class DeadlineExceeded(Exception):
    """A synchronous job did not finish before its deadline (HTTP 504); it was cancelled."""


@dataclass(frozen=True)
class Idempotency:
    """An ``Idempotency-Key`` header and the fingerprint (SHA-256 hex) of the request it
    came with; scoped to the API key by the queue."""

    key: str
    fingerprint: str


@dataclass(frozen=True)
class Extras:
    """What a v2 submit may carry beyond the request itself (none of it for v1).

    Attributes:
        webhook_url: where to POST the result once the job settles (already checked).
        base_url: the server's base URL as the caller saw it, for the result's media URL
            in the webhook body.
        idempotency: the ``Idempotency-Key`` and body fingerprint.
    """

    webhook_url: str | None = None
    base_url: str = ""
    idempotency: Idempotency | None = None


NO_EXTRAS = Extras()


@dataclass(frozen=True)
class Submission:
    """One job to accept: the validated request, the key that pays ``price`` credits for
    it, the model slug; ``sync`` for a v1 call (its caller waits in
    :meth:`JobQueue.wait_sync`), ``extras`` for what a v2 submit carries."""

    request: SwapRequest
    key: KeyRecord
    model: str
    price: float
    sync: bool
    extras: Extras = NO_EXTRAS

    @property
    def charge(self) -> Charge:
        """What the job costs its key (nothing for an unmetered key)."""
        return Charge.for_call(self.key, self.price)


@dataclass(frozen=True)
class Accepted:
    """A job just accepted: its id and the key's credits after the debit.

    ``replayed``: an earlier submit with the same ``Idempotency-Key`` and body made this
    job; nothing was charged now.
    """

    job_id: str
    remaining_credits: float
    replayed: bool = False


@dataclass(frozen=True)
class JobView:
    """A job as the API shows it. Times are Unix seconds; ``metrics`` values seconds."""

    id: str
    key_id: str
    state: JobState
    base64: bool
    created: float
    error: str | None = None
    error_status: int | None = None
    media_file: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[dict[str, str], ...] = ()
    """The mask doctor's ``{"code", "message"}`` warnings (a COMPLETED job's)."""
    canceled: bool = False

    @classmethod
    def from_record(cls, job_id: str, record: StoredRecord) -> JobView:
        """A job from its stored record: a SQLite row (numbers, NULLs) or a Redis hash
        (strings, empty for none); ``metrics`` is JSON text in both."""
        status = record["error_status"]
        metrics = json.loads(record["metrics"] or "{}")
        warnings = tuple(metrics.pop(WARNINGS_KEY, ()))
        return cls(
            id=job_id,
            key_id=record["key_id"],
            state=record["state"],
            base64=str(record["base64"]) == "1",
            created=float(record["created"] or 0),
            error=record["error"] or None,
            error_status=int(status) if status not in (None, "") else None,
            media_file=record["media_file"] or None,
            metrics=metrics,
            warnings=warnings,
            canceled=str(record["canceled"] or "0") == "1",
        )


class JobStatus(NamedTuple):
    """The part of a job a status poll shows.

    ``progress`` 0–1 (the engine's check points); ``queue_position`` (0 = next) while
    QUEUED, else None; ``canceled`` for a job the client canceled.
    """

    id: str
    state: JobState
    error: str | None
    warnings: tuple[dict[str, str], ...] = ()
    progress: float = 0.0
    queue_position: int | None = None
    canceled: bool = False


WARNINGS_KEY = "warnings"
"""Where a job's mask warnings travel inside its stored ``metrics`` JSON."""


def stored_warnings(metrics: str | None) -> tuple[dict[str, str], ...]:
    """The mask warnings inside a job record's ``metrics`` JSON text (none when empty)."""
    if not metrics or WARNINGS_KEY not in metrics:
        return ()
    return tuple(json.loads(metrics).get(WARNINGS_KEY, ()))


@dataclass(frozen=True)
class Outcome:
    """How one run of a job ended: the encoded image, or an error and its HTTP status.

    ``metrics`` holds timings in seconds (``load_time``, ``inference_time``,
    ``encode_time``; the queue adds ``queue_time`` and ``total_time``).
    ``image_format`` names the result's file suffix (``png``, ``jpeg``, ``webp``).
    """

    data: bytes | None
    content_type: str | None
    error: str | None
    error_status: int | None
    metrics: dict[str, Any] = field(default_factory=dict)
    image_format: str | None = None
    canceled: bool = False

    @property
    def warnings(self) -> list[dict[str, str]]:
        """The mask doctor's warnings of the run (carried in ``metrics``, see
        :data:`WARNINGS_KEY`)."""
        found: Any = self.metrics.get(WARNINGS_KEY)
        return list(found or ())

    @classmethod
    def failed(
        cls, error: str, status: int, metrics: dict[str, Any] | None = None, canceled: bool = False
    ) -> Outcome:
        """The outcome of a job that FAILED with ``error`` (HTTP ``status``); ``canceled``
        when the client canceled it."""
        return cls(None, None, error, status, dict(metrics or {}), canceled=canceled)


class JobQueue(Protocol):
    """What the HTTP layer needs from a job backend."""

    def start(self) -> None:
        """Open, recover jobs interrupted by a crash, start workers. Returns when ready."""

    def stop(self) -> None:
        """Stop taking jobs; running ones finish or are picked up again on restart."""

    def ready(self) -> bool:
        """Whether a submitted job would be run (store open, a worker alive)."""

    def depth(self) -> int:
        """Jobs waiting (QUEUED)."""

    def busy_workers(self) -> int:
        """Workers running a job now."""

    def live_workers(self) -> int:
        """Workers alive."""

    def submit(self, submission: Submission) -> Accepted:
        """Debit the submission's price and queue its request (with its ``extras``:
        webhook, idempotency).

        A repeat of an ``Idempotency-Key`` with the same fingerprint returns the first
        job, replayed and not charged; concurrent repeats make one job.

        Raises: NoWorker, QueueFull, IdempotencyConflict,
        :class:`~segswap.service.accounts.credits.InsufficientCredits`.
        """

    def cancel(self, job_id: str, key_id: str) -> str | None:
        """Cancel a v2 job of ``key_id``: ``"canceled"`` (it was QUEUED: now FAILED,
        refunded), ``"requested"`` (PROCESSING: it stops at the engine's next check
        point), None when unknown, expired or another key's.

        Raises: NotCancelable (already COMPLETED or FAILED).
        """

    async def wait_sync(self, job_id: str, timeout: float) -> Outcome:
        """Wait for a job submitted with ``sync=True``. Raises DeadlineExceeded."""

    def get(self, job_id: str, key_id: str) -> JobView | None:
        """A v2 job of ``key_id``; None when unknown, expired or another key's."""

    def status(self, job_id: str, key_id: str) -> JobStatus | None:
        """Like :meth:`get`, only the state and error (the hot path of polling)."""

    def result_bytes(self, job: JobView) -> bytes | None:
        """The encoded result image of a COMPLETED job (None once expired)."""

    def media(self, name: str) -> tuple[bytes, str] | None:
        """(bytes, content type) of the result file ``name``; None when unknown/expired."""

    def counts(self) -> dict[str, int]:
        """Number of stored jobs by state."""
