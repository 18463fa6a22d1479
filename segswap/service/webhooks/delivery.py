"""The delivery loop: POST each settled job's result to its webhook, at least once.

A job with a ``webhook_url`` is put in an :class:`Outbox` in the same atomic step that
settles it (an SQLite trigger, or the Redis settle scripts), so a delivery is pending
from the moment the job is COMPLETED or FAILED and survives a restart. A
:class:`Deliverer` thread in each ``segswap serve`` (never in a worker) claims due
deliveries and sends them from a thread pool, so a slow receiver holds up no worker.

Fairness: each API key has at most :data:`PER_KEY` deliveries in flight per node (the
outbox's claim skips the due deliveries of a key that has that many, in due order), out
of :data:`SENDERS`. A tenant whose receiver hangs therefore holds two senders, not all
of them: another key's delivery is claimed at the next poll (:data:`POLL` s) and sent
at once (``benchmarks/webhook_fairness.py`` times it).

Retries: on a non-2xx answer, a network error or a timeout (:data:`TIMEOUT` s), the
delivery is tried again after 1, 2, 4, ... seconds (at most :data:`MAX_DELAY` apart)
for :data:`RETRY_PERIOD` seconds after the job settled (and never after its result has
expired: the body would be gone); then it is dropped and logged.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from segswap.errors import InvalidParameter
from segswap.io.fetch import FetchPolicy, post_json
from segswap.service.errors import StoreUnavailable
from segswap.service.webhooks.signing import signed_headers

log = logging.getLogger("segswap.webhooks")

TIMEOUT = 10.0
"""Seconds one attempt may take (connect, send, answer)."""
FIRST_DELAY = 1.0
MAX_DELAY = 300.0
RETRY_PERIOD = 3600.0
"""Seconds after the job settled during which a failing delivery is retried."""
LEASE = 60.0
"""Seconds a claimed delivery is hidden from other claimers (longer than an attempt)."""
POLL = 0.2
"""Seconds between claims."""
SENDERS = 16
"""Deliveries in flight at once per node (threads, mostly waiting on the network)."""
PER_KEY = 2
"""Deliveries of one API key in flight at once per node."""


@dataclass(frozen=True)
class Pending:
    """One due delivery: the job, its owner, where to send, what it was sent so far."""

    job_id: str
    key_id: str
    url: str
    base_url: str
    settled: float
    attempts: int


class Outbox(Protocol):
    """Where pending deliveries are kept (SQLite or Redis)."""

    def claim(
        self, now: float, limit: int, lease: float, per_key: int, busy: Mapping[str, int]
    ) -> list[Pending]:
        """At most ``limit`` due deliveries (due ≤ now), earliest due first, hidden from
        other claimers for ``lease`` s; at most ``per_key`` - ``busy[key]`` of a key
        (``busy``: deliveries of each key already in flight), so the due deliveries of a
        key at its limit do not keep the others' from being claimed."""

    def delivered(self, job_id: str) -> None:
        """Forget a delivery that got a 2xx answer."""

    def retry(self, job_id: str, due: float, attempts: int) -> None:
        """Try again at ``due`` (Unix s); ``attempts`` made so far."""

    def drop(self, job_id: str) -> None:
        """Give up on a delivery."""

    def pending(self) -> int:
        """Deliveries not yet made."""


def message_id(job_id: str) -> str:
    """The ``webhook-id`` of a job's delivery: the same for every attempt."""
    return f"msg_{job_id}"


def retry_delay(attempts: int) -> float:
    """Seconds before the next try after ``attempts`` (≥ 1) failed ones: 1, 2, 4, ... 300."""
    return float(min(MAX_DELAY, FIRST_DELAY * 2 ** max(0, attempts - 1)))


class Deliverer:
    """Sends due deliveries from ``outbox``.

    Args:
        outbox: the pending deliveries.
        body_for: the JSON body of a delivery (what ``GET /v2/requests/{id}`` serves), or
            None once the job's result has expired.
        secret: the ``whsec_...`` signing secret.
        allow_private: also deliver to loopback/private addresses
            (``SEGSWAP_ALLOW_PRIVATE_URLS``); the URL is checked again at each attempt.
        retry_period: seconds after settling during which failures are retried.
        timeout: seconds one attempt may take.
    """

    def __init__(
        self,
        outbox: Outbox,
        body_for: Callable[[Pending], dict[str, Any] | None],
        secret: str,
        *,
        allow_private: bool = False,
        retry_period: float = RETRY_PERIOD,
        timeout: float = TIMEOUT,
    ) -> None:
        self.outbox = outbox
        self.body_for = body_for
        self.secret = secret
        self.policy = FetchPolicy(allow_private=allow_private, timeout_s=timeout)
        self.retry_period = retry_period
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._sending: dict[str, str] = {}  # job id -> key id, claimed and not done
        self._lock = threading.Lock()

    def start(self) -> None:
        self._pool = ThreadPoolExecutor(SENDERS, thread_name_prefix="segswap-webhook")
        self._thread = threading.Thread(target=self._loop, name="segswap-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop claiming; attempts under way get up to :data:`TIMEOUT` s to finish (a
        delivery cut off is claimed again after its lease, by this or another node)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def _loop(self) -> None:
        while not self._stop.wait(POLL):
            try:
                self.run_once()
            except StoreUnavailable:
                log.warning("webhooks: the store is unavailable; retrying")
            except Exception:
                log.exception("webhook loop failed")

    def run_once(self) -> int:
        """Claim due deliveries and hand them to the senders; returns how many."""
        with self._lock:
            free = SENDERS - len(self._sending)
            busy: dict[str, int] = {}
            for key_id in self._sending.values():
                busy[key_id] = busy.get(key_id, 0) + 1
        if free <= 0:
            return 0
        claimed = self.outbox.claim(time.time(), free, LEASE, PER_KEY, busy)
        for pending in claimed:
            with self._lock:
                if pending.job_id in self._sending:
                    continue
                self._sending[pending.job_id] = pending.key_id
            assert self._pool is not None
            self._pool.submit(self._send_guarded, pending)
        return len(claimed)

    def _send_guarded(self, pending: Pending) -> None:
        try:
            self.send(pending)
        except Exception:
            log.exception("webhook delivery of job %s failed", pending.job_id)
        finally:
            with self._lock:
                self._sending.pop(pending.job_id, None)

    def send(self, pending: Pending) -> bool:
        """One attempt; records its outcome in the outbox. True when delivered."""
        body = self.body_for(pending)
        if body is None:
            log.warning("webhook for job %s dropped: its result expired", pending.job_id)
            self.outbox.drop(pending.job_id)
            return False
        data = json.dumps(body).encode()
        now = time.time()
        headers = signed_headers(self.secret, message_id(pending.job_id), int(now), data)
        try:
            status = post_json(pending.url, data, headers, field="webhook_url", policy=self.policy)
            problem = None if 200 <= status < 300 else f"HTTP {status}"
        except InvalidParameter as error:
            problem = error.message
        if problem is None:
            self.outbox.delivered(pending.job_id)
            return True
        attempts = pending.attempts + 1
        due = time.time() + retry_delay(attempts)
        if due - pending.settled > self.retry_period:
            log.error(
                "webhook for job %s dropped after %d attempts (%s)",
                pending.job_id,
                attempts,
                problem,
            )
            self.outbox.drop(pending.job_id)
        else:
            log.warning(
                "webhook for job %s: attempt %d failed (%s); next in %.0f s",
                pending.job_id,
                attempts,
                problem,
                due - time.time(),
            )
            self.outbox.retry(pending.job_id, due, attempts)
        return False
