"""Cap on request body size (HTTP 413), enforced on ``Content-Length`` and while streaming.

A body announced bigger than the cap is refused before it is read; a body that streams
past the cap (chunked, or a lying ``Content-Length``) is cut off as soon as it does.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(Exception):
    """The request body is larger than the configured cap."""


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


def _message(limit: int) -> bytes:
    return json.dumps(
        {"error": f"request body too large: the limit is {limit} bytes (SEGSWAP_MAX_BODY_BYTES)"}
    ).encode()


class BodyLimitMiddleware:
    """Pure ASGI middleware refusing bodies over ``max_bytes`` with 413 JSON."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _reply_413(self, send: Send) -> None:
        await send_closing_json(send, 413, _message(self.max_bytes))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    announced = int(value)
                except ValueError:
                    announced = 0
                if announced > self.max_bytes:
                    await self._reply_413(send)
                    return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge()
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._reply_413(send)
