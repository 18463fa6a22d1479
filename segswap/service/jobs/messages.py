"""The message catalogue of job errors: what a FAILED job, or a refused submission, says.

Both backends use these, so a client reads the same words whichever runs its job. Input
problems keep the engine's or loader's own message (it names the field); these cover
everything else.
"""

from __future__ import annotations

INTERNAL_ERROR = "internal error while processing the request (it has been logged)"
DEADLINE_ERROR = "the request did not finish within the synchronous deadline"
RESTART_ERROR = "the server restarted before this synchronous request finished"
PUBLISH_ERROR = "the request could not be queued (the broker is unavailable); not charged"
EXPIRED_ERROR = "the request expired before its outcome was read"
RESULT_EXPIRED_ERROR = "the result expired before it was read"
NO_WORKER = "no worker is available to run the job"
CANCELED_ERROR = "canceled by the client"
CANCELED_STATUS = 409
"""``error_status`` recorded for a canceled job (v2 only: no caller waits on it)."""


def exhausted_error(attempts: int) -> str:
    """The error of a job whose every run was cut off (the process running it died)."""
    return (
        f"the request was not finished after {attempts} attempt(s): the process running it"
        " stopped each time (crash, out of memory or lost machine)"
    )


def crashed_error(attempts: int, how: str) -> str:
    """The error of a job whose engine process died on each of its ``attempts`` runs
    (``how``: the last death in words, e.g. ``killed by SIGSEGV``)."""
    return (
        f"the request was not finished after {attempts} attempt(s): the engine process"
        f" running it died each time (last: {how}; a native crash or out of memory)"
    )


def queue_full_error(capacity: int) -> str:
    """Why a submission was refused because ``capacity`` jobs are waiting already."""
    return f"the queue is full ({capacity} jobs)"
