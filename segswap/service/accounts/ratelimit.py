"""Per-key token-bucket rate limiting of submissions.

Each key has a bucket of ``burst`` tokens refilled at ``rate`` tokens per second; a
submission takes one token or is refused (HTTP 429) with the seconds until the next
token as ``Retry-After``.

:class:`RateLimit` is what the HTTP layer uses. :class:`RateLimiter` keeps the buckets in
memory (the embedded default: one node); the scale-out store keeps them in Redis so that
every API node draws from the same bucket
(:class:`RedisRateLimiter`).
"""

from __future__ import annotations

import math
import threading
import time
from typing import Protocol

import redis

from segswap.service.redis_client import P, guarded


def retry_after(wait: float) -> str:
    """A ``Retry-After`` header value (whole seconds, at least 1)."""
    return str(max(1, math.ceil(wait)))


class RateLimit(Protocol):
    """Per-key submission limit."""

    def acquire(self, key: str) -> float:
        """Take a token for ``key``: 0.0 when allowed, else seconds to wait (> 0)."""

    def retry_after(self, wait: float) -> str:
        """A ``Retry-After`` header value for ``wait`` seconds."""


class RateLimiter:
    """Token buckets by key id.

    Args:
        rate: tokens added per second (0 disables the limit).
        burst: bucket size, i.e. how many requests may arrive at once.
    """

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = max(1, burst)
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last time)
        self._lock = threading.Lock()

    def acquire(self, key: str, now: float | None = None) -> float:
        """Take a token for ``key``: 0.0 when allowed, else seconds to wait (> 0)."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate

    def retry_after(self, wait: float) -> str:
        """A ``Retry-After`` header value (whole seconds, at least 1)."""
        return retry_after(wait)


_TOKEN_BUCKET = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'last')
local tokens = tonumber(b[1]) or burst
local last = tonumber(b[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - last) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'last', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return tostring(wait)
"""


class RedisRateLimiter:
    """The token buckets of :class:`RateLimiter`, in Redis:
    every API node draws from the same bucket per key. Time is Redis's own clock, so the
    nodes' clocks need not agree."""

    def __init__(self, client: redis.Redis, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = max(1, burst)
        self._script = client.register_script(_TOKEN_BUCKET)

    @guarded
    def acquire(self, key: str) -> float:
        """Take a token for ``key``: 0.0 when allowed, else seconds to wait (> 0)."""
        if self.rate <= 0:
            return 0.0
        wait = self._script(keys=[P + f"rl:{key}"], args=[self.rate, self.burst])
        return float(wait)

    def retry_after(self, wait: float) -> str:
        """A ``Retry-After`` header value (whole seconds, at least 1)."""
        return retry_after(wait)
