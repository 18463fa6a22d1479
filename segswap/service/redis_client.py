"""The Redis client of scale-out, and the layout of everything segswap keeps in it.

Every API node and every worker talks to the same Redis, so no node needs a disk shared
with another: a key made through any node works on all of them, and any node answers
for any request id and serves any result image.

Layout (all names start with ``segswap:``):

- ``key:<id>`` hash: one API key (``name``, ``prefix``, ``hash`` = SHA-256 of the secret,
  ``credits``, ``admin``, ``models``, ``created``, ``revoked``); ``keyhash:<sha256>`` and
  ``keyname:<name>`` point at the id; the sorted set ``keys`` lists ids by creation time.
- ``rl:<key id>`` hash: the key's token bucket (``tokens``, ``last``), expiring when full.
- ``job:<id>`` hash: one job (``state``, ``kind``, ``key_id``, ``price``, ``request`` (the
  validated request JSON, dropped once the job is finished), ``attempts``, ``created``,
  ``started``, ``finished``, ``expires``, ``error``, ``error_status``, ``media_file``,
  ``metrics``, ``refunded``). An unfinished job's record expires after
  :data:`PENDING_TTL` (a safety net only); a finished one ``result_ttl`` seconds after
  it finished.
- ``jobs:QUEUED`` / ``jobs:PROCESSING`` sorted sets (score: time queued / started) and
  ``jobs:COMPLETED`` / ``jobs:FAILED`` (score: expiry time) index jobs by state.
- ``lease:<job id>``: the worker running the job (see :mod:`segswap.service.jobs.celery_app`),
  kept alive by that worker's heartbeat; ``workers`` / ``busy`` sorted sets: worker slots
  and running jobs by their last heartbeat.
- ``media:<token>.<ext>``: a result image, expiring ``result_ttl`` seconds after the job
  finished. The token is 192 random bits: the key is the capability.

Every state change that must be atomic is one Lua script (keys and credits:
:mod:`segswap.service.accounts.redis_keys`; jobs: :mod:`segswap.service.jobs.redis_records`).
Scripts read the key record named by the job, so the store needs a standalone Redis (or
Sentinel), not Redis Cluster.

Connection errors surface as :class:`segswap.service.errors.StoreUnavailable` (HTTP 503);
the client reconnects by itself on the next call once Redis is back.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from segswap.service.errors import StoreUnavailable

P = "segswap:"
CONNECT_TIMEOUT = 2.0
COMMAND_TIMEOUT = 10.0

F = TypeVar("F", bound=Callable[..., Any])
CONNECTION_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


def connect(url: str) -> redis.Redis:
    """A client for ``url`` (``redis://host:port/db``) with short timeouts.

    One immediate reconnect attempt per command (so a connection broken by a Redis
    restart heals on the next call), no backoff: while Redis is down a call fails at once
    instead of holding up the event loop.
    """
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=CONNECT_TIMEOUT,
        socket_timeout=COMMAND_TIMEOUT,
        retry=Retry(NoBackoff(), 1),
        health_check_interval=30,
    )


def guarded(method: F) -> F:
    """Turn Redis connection errors raised by ``method`` into :class:`StoreUnavailable`."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except CONNECTION_ERRORS as error:
            raise StoreUnavailable(f"the shared store (Redis) is unavailable: {error}") from None

    return cast(F, wrapper)


def text(value: Any) -> str | None:
    """A Redis reply (bytes) as text; None stays None."""
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


def number(value: Any) -> float | None:
    """A Redis reply as a float; None or empty is None."""
    raw = text(value)
    return float(raw) if raw not in (None, "") else None
