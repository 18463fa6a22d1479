"""Reading a request body, guarded: a timeout between pieces of the body (408) and a
client that goes away mid-upload (499, one log line).

``body_timeout`` (``SEGSWAP_BODY_TIMEOUT``) bounds each wait for the next piece of a
body the app is reading; it only runs while the app waits for the body, so a request
waiting its turn to be read (:mod:`segswap.service.http.bodygate`) is not cut off. Past
it the server answers 408 and closes the connection.

A client that disconnects before its body is complete makes Starlette raise
``ClientDisconnect`` in the handler; that is logged as one line and answered (to no
one) with the non-standard status 499, which ``/metrics`` counts, instead of two
tracebacks and a 500.
"""

from __future__ import annotations

import asyncio
import json
import logging

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("segswap.service")


class BodyReadTimeout(Exception):
    """No piece of the request body came within the body timeout."""


def _content_length(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return value.decode("latin-1")
    return "?"


class ReceiveGuardMiddleware:
    """Pure ASGI middleware: the body read timeout and client disconnects."""

    def __init__(self, app: ASGIApp, body_timeout: float) -> None:
        self.app = app
        self.body_timeout = body_timeout

    async def _reply(self, send: Send, status: int, message: str) -> None:
        body = json.dumps({"error": message}).encode()
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

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        received = 0
        body_done = False
        started = False

        async def guarded_receive() -> Message:
            nonlocal received, body_done
            if body_done:  # after the body: waiting for a disconnect is not timed
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.body_timeout)
            except TimeoutError:
                raise BodyReadTimeout() from None
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
        except BodyReadTimeout:
            log.warning(
                "%s: body read timeout after %d of %s bytes (408)",
                where,
                received,
                _content_length(scope),
            )
            if not started:
                await self._reply(
                    send,
                    408,
                    f"request body not received: nothing came for {self.body_timeout:g} s"
                    " (SEGSWAP_BODY_TIMEOUT); connection closed",
                )
        except ClientDisconnect:
            log.warning(
                "%s: client disconnected after %d of %s body bytes (499)",
                where,
                received,
                _content_length(scope),
            )
            if not started:  # nobody reads it; it is what /metrics counts
                await self._reply(send, 499, "client closed the request")
