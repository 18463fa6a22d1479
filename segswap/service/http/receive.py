"""Reading a request body, guarded: a timeout between pieces of the body and a deadline
for the whole body (408), and a client that goes away mid-upload (499, one log line).

``body_timeout`` (``SEGSWAP_BODY_TIMEOUT``) bounds each wait for the next piece of a
body the app is reading; ``body_deadline`` (``SEGSWAP_BODY_DEADLINE``) plus one second
per :data:`DEADLINE_BYTES_PER_SECOND` bytes of the announced ``Content-Length`` bounds
the whole body, so a client dripping a byte just inside the per-piece timeout is cut off
too. Both only run while the app waits for the body (the clock starts at its first
read), so a request waiting its turn to be read (:mod:`segswap.service.http.bodygate`)
is not cut off. Past either the server answers 408 and closes the connection.

A client that disconnects before its body is complete makes Starlette raise
``ClientDisconnect`` in the handler; that is logged as one line and answered (to no
one) with the non-standard status 499, which ``/metrics`` counts, instead of two
tracebacks and a 500.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from segswap.service.http.bodylimit import send_closing_json

log = logging.getLogger("segswap.service")


DEADLINE_BYTES_PER_SECOND = 1_000_000
"""The body deadline grows by one second per this many announced bytes (a client
slower than 1 MB/s on a large body gets the base deadline more)."""


class BodyReadTimeout(Exception):
    """No piece of the request body came within the body timeout (``whole``: the body
    as a whole was not complete within its deadline)."""

    def __init__(self, whole: bool = False) -> None:
        super().__init__()
        self.whole = whole


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


class ReceiveGuardMiddleware:
    """Pure ASGI middleware: the body read timeout and client disconnects."""

    def __init__(self, app: ASGIApp, body_timeout: float, body_deadline: float = 30.0) -> None:
        self.app = app
        self.body_timeout = body_timeout
        self.body_deadline = body_deadline

    async def _reply(self, send: Send, status: int, message: str) -> None:
        await send_closing_json(send, status, json.dumps({"error": message}).encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
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
