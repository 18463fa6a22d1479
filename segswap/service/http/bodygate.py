"""A bound on how many large request bodies are read and parsed at once.

A body above ``large_body_bytes`` (``SEGSWAP_LARGE_BODY_BYTES``, 1 MiB; or one of
unknown length, chunked) waits for one of ``large_body_concurrency`` turns
(``SEGSWAP_LARGE_BODY_CONCURRENCY``, 2) before it is read, and holds it until it is
parsed and validated. A waiting body stays in the client's socket (uvicorn reads a
request's body only as the app asks for it), so memory grows with the number of turns,
not of uploads: about turns × 3 × the body size (the bytes, the parsed JSON text, the
decoded images). A large body is parsed in a parse process
(:mod:`segswap.service.http.parsing`), off the server's GIL, so the event loop keeps
answering ``/health`` and status polls meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager


class LargeBodyGate:
    """Turns for large bodies.

    Args:
        threshold: bodies above this many bytes are large (bytes, >= 1).
        concurrency: large bodies read and parsed at once (>= 1).
    """

    def __init__(self, threshold: int, concurrency: int) -> None:
        self.threshold = threshold
        self.concurrency = concurrency
        self._turns = asyncio.Semaphore(concurrency)

    def is_large(self, headers: Mapping[str, str]) -> bool:
        """Whether a request with these headers has a large body (or one of unknown
        length)."""
        length = headers.get("content-length")
        if length is None:
            return "chunked" in headers.get("transfer-encoding", "").lower()
        try:
            return int(length) > self.threshold
        except ValueError:
            return True

    @asynccontextmanager
    async def turn(self, headers: Mapping[str, str]) -> AsyncIterator[bool]:
        """Wait for a turn if the body is large; yields whether it is."""
        if not self.is_large(headers):
            yield False
            return
        async with self._turns:
            yield True
