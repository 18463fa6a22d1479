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

from dataclasses import dataclass, field
from typing import Literal, NamedTuple, Protocol

from segswap.params import SwapRequest
from segswap.service.accounts.keys import KeyRecord

JobState = Literal["QUEUED", "PROCESSING", "COMPLETED", "FAILED"]
STATES: tuple[JobState, ...] = ("QUEUED", "PROCESSING", "COMPLETED", "FAILED")
INTERNAL_ERROR = "internal error while processing the request (it has been logged)"
DEADLINE_ERROR = "the request did not finish within the synchronous deadline"
RESTART_ERROR = "the server restarted before this synchronous request finished"


def exhausted_error(attempts: int) -> str:
    """The error of a job that was running each time the server stopped."""
    return (
        f"the request was not finished after {attempts} attempt(s): the server stopped"
        " while running it each time (crash or out of memory)"
    )


class QueueFull(Exception):
    """The queue holds ``queue_capacity`` jobs already (HTTP 429)."""


class NoWorker(Exception):
    """No worker is running to take the job (HTTP 502)."""


class InsufficientCredits(Exception):
    """The key has fewer credits than the price of a call (HTTP 406)."""

    def __init__(self, remaining: float, price: float) -> None:
        super().__init__(f"not enough credits: this call costs {price:g}, {remaining:g} left")
        self.remaining = remaining
        self.price = price


class DeadlineExceeded(Exception):
    """A synchronous job did not finish before its deadline (HTTP 504); it was cancelled."""


@dataclass(frozen=True)
class Accepted:
    """A job just accepted: its id and the key's credits after the debit."""

    job_id: str
    remaining_credits: float


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
    metrics: dict[str, float] = field(default_factory=dict)


class JobStatus(NamedTuple):
    """The part of a job a status poll shows."""

    id: str
    state: JobState
    error: str | None


@dataclass(frozen=True)
class SyncOutcome:
    """How a synchronous (v1) job ended: the image, or an error and its HTTP status."""

    data: bytes | None
    content_type: str | None
    error: str | None
    error_status: int | None
    metrics: dict[str, float]


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

    def submit(
        self, request: SwapRequest, *, key: KeyRecord, model: str, price: float, sync: bool
    ) -> Accepted:
        """Debit ``price`` and queue ``request``.

        Raises: NoWorker, QueueFull, InsufficientCredits.
        """

    async def wait_sync(self, job_id: str, timeout: float) -> SyncOutcome:
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
