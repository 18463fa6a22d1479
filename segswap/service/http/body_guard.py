"""Guarding request bodies: one receive wrapper (:class:`BodyGuardMiddleware`) for the
size cap, the read timeouts and client disconnects, and the turns of large bodies
(:class:`LargeBodyGate`).

The receive wrapper, in front of the app, answers (JSON, connection closed):

- **413** for a body over ``max_bytes`` (``SEGSWAP_MAX_BODY_BYTES``): one announced
  bigger by ``Content-Length`` is refused before it is read; one that streams past the
  cap (chunked, or a lying ``Content-Length``) is cut off as soon as it does;
- **408** when the body stops arriving: ``body_timeout`` (``SEGSWAP_BODY_TIMEOUT``)
  bounds each wait for the next piece of a body the app is reading, and
  ``body_deadline`` (``SEGSWAP_BODY_DEADLINE``) plus one second per
  :data:`DEADLINE_BYTES_PER_SECOND` bytes of the announced ``Content-Length`` bounds the
  whole body, so a client dripping a byte just inside the per-piece timeout is cut off
  too. Both only run while the app waits for the body (the clock starts at its first
  read), so a body waiting for its turn (below) is not cut off;
- **499** (non-standard, answered to no one) when the client disconnects before its body
  is complete: Starlette raises ``ClientDisconnect`` in the handler; it is logged as one
  line, and ``/metrics`` counts it, instead of two tracebacks and a 500.

The turns: a body above ``large_body_bytes`` (``SEGSWAP_LARGE_BODY_BYTES``, 1 MiB; or one
of unknown length, chunked) waits for one of ``large_body_concurrency`` turns
(``SEGSWAP_LARGE_BODY_CONCURRENCY``, 2) before it is read, and holds it until it is
parsed and validated (:func:`segswap.service.http.bodies.read_request`). A waiting body
stays in the client's socket (uvicorn reads a request's body only as the app asks for
it), so memory grows with the number of turns, not of uploads: about turns × 3 × the
body size (the bytes, the parsed JSON text, the decoded images). A large body is parsed
in a parse process (:mod:`segswap.service.http.parsing`), off the server's GIL, so the
event loop keeps answering ``/health`` and status polls meanwhile.

Headers are not guarded here but by the server's protocol
(:mod:`segswap.service.http.protocol`: header timeout and size cap).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("segswap.service")

DEADLINE_BYTES_PER_SECOND = 1_000_000
"""The body deadline grows by one second per this many announced bytes (a client
slower than 1 MB/s on a large body gets the base deadline more)."""


class BodyTooLarge(Exception):
    """The request body is larger than the configured cap."""


class BodyReadTimeout(Exception):
    """No piece of the request body came within the body timeout (``whole``: the body
    as a whole was not complete within its deadline)."""

    def __init__(self, whole: bool = False) -> None:
        super().__init__()
        self.whole = whole


async def send_closing_json(send: Send, status: int, body: bytes) -> None:
    """Answer ``status`` with the JSON ``body`` and close the connection (from ASGI
    middleware that refuses a request before, or while, its body is read)."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return value.decode("latin-1")
    return "?"


def _announced(scope: Scope) -> int:
    """The announced ``Content-Length`` in bytes (0 when absent or not a number)."""
    try:
        return max(0, int(_content_length(scope)))
    except ValueError:
        return 0


def _announces_more_than(scope: Scope, limit: int) -> bool:
    """Whether any ``Content-Length`` header announces more than ``limit`` bytes."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                if int(value) > limit:
                    return True
            except ValueError:
                continue
    return False


class BodyGuardMiddleware:
    """Pure ASGI middleware wrapping ``receive``: the body size cap (413), the body read
    timeout and deadline (408) and client disconnects (499); see the module docstring.

    Args:
        max_bytes: the largest body accepted (bytes, >= 1).
        body_timeout: seconds to wait for each next piece of a body being read.
        body_deadline: seconds for the whole body, plus 1 s per MB announced.
    """

    def __init__(
        self, app: ASGIApp, max_bytes: int, body_timeout: float, body_deadline: float = 30.0
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.body_timeout = body_timeout
        self.body_deadline = body_deadline

    async def _reply(self, send: Send, status: int, message: str) -> None:
        await send_closing_json(send, status, json.dumps({"error": message}).encode())

    async def _reply_413(self, send: Send) -> None:
        limit = f"the limit is {self.max_bytes} bytes (SEGSWAP_MAX_BODY_BYTES)"
        await self._reply(send, 413, f"request body too large: {limit}")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _announces_more_than(scope, self.max_bytes):
            await self._reply_413(send)
            return
        received = 0
        body_done = False
        started = False
        deadline = self.body_deadline + _announced(scope) / DEADLINE_BYTES_PER_SECOND
        ends_at: float | None = None  # set at the first read of the body

        async def guarded_receive() -> Message:
            nonlocal received, body_done, ends_at
            if body_done:  # after the body: waiting for a disconnect is not timed
                return await receive()
            now = time.monotonic()
            if ends_at is None:
                ends_at = now + deadline
            left = ends_at - now
            if left <= 0:
                raise BodyReadTimeout(whole=True)
            try:
                message = await asyncio.wait_for(receive(), min(self.body_timeout, left))
            except TimeoutError:
                raise BodyReadTimeout(whole=self.body_timeout > left) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge()
                body_done = not message.get("more_body", False)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        where = f"{scope['method']} {scope['path']}"
        try:
            await self.app(scope, guarded_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._reply_413(send)
        except BodyReadTimeout as timeout:
            log.warning(
                "%s: body %s after %d of %s bytes (408)",
                where,
                "deadline passed" if timeout.whole else "read timeout",
                received,
                _content_length(scope),
            )
            if started:
                return
            if timeout.whole:
                reason = (
                    f"it was not complete within {deadline:g} s (SEGSWAP_BODY_DEADLINE"
                    " plus 1 s per MB announced)"
                )
            else:
                reason = f"nothing came for {self.body_timeout:g} s (SEGSWAP_BODY_TIMEOUT)"
            await self._reply(send, 408, f"request body not received: {reason}; connection closed")
        except ClientDisconnect:
            log.warning(
                "%s: client disconnected after %d of %s body bytes (499)",
                where,
                received,
                _content_length(scope),
            )
            if not started:  # nobody reads it; it is what /metrics counts
                await self._reply(send, 499, "client closed the request")


class LargeBodyGate:
    """Turns for large bodies (see the module docstring).

    Args:
        threshold: bodies above this many bytes are large (bytes, >= 1).
        concurrency: large bodies read and parsed at once (>= 1).
    """

    def __init__(self, threshold: int, concurrency: int) -> None:
        self.threshold = threshold
        self.concurrency = concurrency
        self._turns = asyncio.Semaphore(concurrency)
        self.reading = 0
        """Large bodies holding a turn now (``/metrics``: ``segswap_large_bodies_reading``)."""
        self.waiting = 0
        """Large bodies waiting for a turn (``segswap_large_bodies_waiting``)."""

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
        self.waiting += 1
        try:
            await self._turns.acquire()
        finally:
            self.waiting -= 1
        self.reading += 1
        try:
            yield True
        finally:
            self.reading -= 1
            self._turns.release()
