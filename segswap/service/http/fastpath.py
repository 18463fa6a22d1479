"""The status poll without the framework.

``GET /v2/requests/{id}/status`` is what every waiting client calls in a loop, so it is
answered here, in a thin ASGI layer in front of FastAPI, with the same functions the
FastAPI route uses (auth, job lookup, body) and the app's mapping of errors to answers
(:func:`segswap.service.http.error_answer.error_answer`). Everything else goes on to
FastAPI.
"""

from __future__ import annotations

import json
import time

from starlette.types import ASGIApp, Receive, Scope, Send

from segswap.service.http.dependencies import authenticate_key
from segswap.service.http.error_answer import error_answer
from segswap.service.http.responses import credit_headers
from segswap.service.http.v2 import poll_status
from segswap.service.server import Service

PREFIX = "/v2/requests/"
SUFFIX = "/status"
ROUTE = "/v2/requests/{request_id}/status"


class StatusFastPath:
    """Pure ASGI middleware answering status polls itself (and counting them in metrics)."""

    def __init__(self, app: ASGIApp, service: Service) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or not path.startswith(PREFIX)
            or not path.endswith(SUFFIX)
        ):
            await self.app(scope, receive, send)
            return
        request_id = path[len(PREFIX) : -len(SUFFIX)]
        if not request_id or "/" in request_id:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        x_api_key = authorization = None
        for name, value in scope["headers"]:
            if name == b"x-api-key":
                x_api_key = value.decode("latin-1")
            elif name == b"authorization":
                authorization = value.decode("latin-1")
        extra: dict[str, str] = {}
        try:
            key = authenticate_key(self.service, x_api_key, authorization)
            extra = credit_headers(key.credits)
            code, body = poll_status(self.service, key, request_id)
        except Exception as error:
            answer = error_answer(error, "GET", path)
            code, body = answer.status, {"error": answer.message}
            extra.update(answer.headers)
        payload = json.dumps(body).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(payload)).encode()),
        ]
        headers += [(k.lower().encode(), v.encode()) for k, v in extra.items()]
        await send({"type": "http.response.start", "status": code, "headers": headers})
        await send({"type": "http.response.body", "body": payload})
        self.service.metrics.observe_request("GET", ROUTE, code, time.perf_counter() - started)
