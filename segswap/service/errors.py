"""Errors shared by every store implementation of the service."""

from __future__ import annotations


class StoreUnavailable(Exception):
    """The shared store (Redis, in scale-out) cannot be reached right now (HTTP 503).

    Raised instead of a driver's own connection errors, so that the HTTP layer answers
    a JSON 503 with ``Retry-After`` and recovers by itself once the store is back.
    """


STORE_DOWN = "the job store is unavailable right now; retry in a moment"
