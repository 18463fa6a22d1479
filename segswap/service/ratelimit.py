"""Per-key token-bucket rate limiting of submissions.

Each key has a bucket of ``burst`` tokens refilled at ``rate`` tokens per second; a
submission takes one token or is refused (HTTP 429) with the seconds until the next
token as ``Retry-After``.

:class:`RateLimit` is what the HTTP layer uses. :class:`RateLimiter` keeps the buckets in
memory (the embedded default: one node); the scale-out store keeps them in Redis so that
every API node draws from the same bucket
(:class:`segswap.service.redis_store.RedisRateLimiter`).
"""

from __future__ import annotations

import math
import threading
import time
from typing import Protocol


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
