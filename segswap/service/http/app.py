"""The FastAPI application: routes, JSON errors (:mod:`.error_answer`), metrics, the
request body guard and the large-body gate (:mod:`.body_guard`), HEAD (:mod:`.head`)."""

from __future__ import annotations

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

import segswap
from segswap.service.errors import StoreUnavailable
from segswap.service.http.body_guard import BodyGuardMiddleware, LargeBodyGate
from segswap.service.http.docs import mount_docs
from segswap.service.http.error_answer import error_answer
from segswap.service.http.fastpath import StatusFastPath
from segswap.service.http.head import HeadAsGetMiddleware, request_method
from segswap.service.http.metrics import MetricsMiddleware
from segswap.service.http.openapi import install as install_openapi
from segswap.service.http.responses import ApiError, credit_headers, json_response
from segswap.service.http.routes import ROUTERS
from segswap.service.server import Service
from segswap.web import mount

DESCRIPTION = """Self-hosted SegSwap: object swap, pattern transfer and object removal.

Authenticate with the `x-api-key` header (or `Authorization: Bearer <key>`).
`POST /v1/seg-swap` answers with the image; `POST /v2/seg-swap` queues the request and
answers with its `status_url` and `response_url`. Errors are `{"error": "..."}`; each
operation lists the statuses it can answer with. A few more, on any request, come from
the connection layer: 400 for a request the HTTP parser cannot read, 408 when the
request headers do not arrive within SEGSWAP_HEADER_TIMEOUT, 431 for headers over
64 KiB, and 405 (with `Allow`) for a method a path does not take. A client that
disconnects mid-upload is logged and counted in `/metrics` as 499 (no one receives
that answer). See docs/http-api.md."""


def _with_credits(request: Request, headers: dict[str, str]) -> dict[str, str]:
    """``headers`` plus the ``X-Remaining-Credits`` of the key the request authenticated
    with, if it got that far: every authenticated response carries it, errors included."""
    key = getattr(request.state, "key", None)
    if key is not None and "X-Remaining-Credits" not in headers:
        return {**credit_headers(key.credits), **headers}
    return headers


def allowed_methods(request: Request) -> str:
    """The ``Allow`` header of a 405: the methods of every route on this path (Starlette
    lists only those of the first route that matched it, e.g. ``GET`` on ``/admin/keys``
    although it also takes ``POST``), and ``HEAD`` where there is ``GET``
    (:mod:`segswap.service.http.head`)."""
    methods: set[str] = set()
    routes = list(request.app.router.routes)
    while routes:
        route = routes.pop()
        included = getattr(route, "original_router", None)  # include_router (no prefix)
        if included is not None:
            routes += included.routes
            continue
        route_methods = getattr(route, "methods", None)
        if route_methods and route.matches(request.scope)[0] != Match.NONE:
            methods |= set(route_methods)
    if "GET" in methods:
        methods.add("HEAD")
    order = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
    return ", ".join(sorted(methods, key=lambda m: (order.index(m) if m in order else 99, m)))


def create_app(service: Service) -> FastAPI:
    """The ASGI app serving ``service`` (which the caller starts and stops)."""
    app = FastAPI(
        title="segswap",
        version=segswap.__version__,
        description=DESCRIPTION,
        docs_url=None,  # served by mount_docs from packaged files, not a CDN
        redoc_url=None,
    )
    app.state.service = service
    for router in ROUTERS:
        app.include_router(router)
    mount(app)  # the page at / (segswap/web)
    mount_docs(app)
    install_openapi(app)

    async def answer_error(request: Request, error: Exception) -> Response:
        answer = error_answer(
            error, request_method(request.scope), request.url.path, lambda: allowed_methods(request)
        )
        headers = _with_credits(request, answer.headers)
        return json_response({"error": answer.message}, answer.status, headers)

    for kind in (ApiError, StoreUnavailable, StarletteHTTPException, RequestValidationError):
        app.add_exception_handler(kind, answer_error)
    app.add_exception_handler(Exception, answer_error)  # the 500s (Starlette's outer layer)

    settings = service.settings
    gate = LargeBodyGate(settings.large_body_bytes, settings.large_body_concurrency)
    app.state.body_gate = gate
    service.metrics.body_turns = lambda: (gate.reading, gate.waiting)
    app.add_middleware(HeadAsGetMiddleware)  # innermost: metrics count HEAD as HEAD
    app.add_middleware(
        BodyGuardMiddleware,
        max_bytes=settings.max_body_bytes,
        body_timeout=settings.body_timeout,
        body_deadline=settings.body_deadline,
    )
    app.add_middleware(MetricsMiddleware, metrics=service.metrics)
    app.add_middleware(StatusFastPath, service=service)  # outermost: polls skip the rest
    return app
