"""``HEAD`` wherever ``GET`` is answered (load-balancer health checks send ``HEAD /``).

A ``HEAD`` request goes through the app as a ``GET`` and its answer is sent with the same
status and headers (``Content-Length`` included) and no body, as RFC 9110 §9.3.2 asks.
A path without ``GET`` answers ``HEAD`` with the 405 it gives any other method.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEAD_AS_GET = "segswap.head"
"""Scope key set on a ``HEAD`` request run as ``GET`` (the method it really came with)."""


def request_method(scope: Scope) -> str:
    """The method the client sent (``HEAD`` for a ``HEAD`` run as ``GET``)."""
    return "HEAD" if scope.get(HEAD_AS_GET) else str(scope.get("method", ""))


class HeadAsGetMiddleware:
    """Pure ASGI middleware running ``HEAD`` requests as ``GET`` without the body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET", HEAD_AS_GET: True}, receive, without_body)
