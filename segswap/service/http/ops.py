"""``/health`` and ``/metrics``: what load balancers and Prometheus read."""

from __future__ import annotations

from fastapi import APIRouter, Response

from segswap.service.errors import StoreUnavailable
from segswap.service.http.dependencies import ServiceDep
from segswap.service.http.openapi import answers, json_answer
from segswap.service.http.responses import json_response
from segswap.service.http.schemas import Health

router = APIRouter()


@router.get(
    "/health",
    summary="200 once the server can take work, else 503",
    responses=answers(
        {
            200: json_answer(Health, "ready: it takes work"),
            503: json_answer(Health, "not ready, draining, or its store is unreachable"),
        },
        500,
    ),
)
async def health(service: ServiceDep) -> Response:
    """``{"status": "ok" | "draining" | "unavailable", "workers", "queue_depth", "engine",
    "fill", "prompt_used"}``: which engine and fill run the edits, and whether the engine
    reads the prompt (the web page says so next to its prompt field)."""
    queue = service.queue
    ready = queue.ready() and not service.draining
    try:
        workers, depth = queue.live_workers(), queue.depth()
    except StoreUnavailable:
        workers = depth = 0
    body = {
        "status": "ok" if ready else ("draining" if service.draining else "unavailable"),
        "workers": workers,
        "queue_depth": depth,
        "engine": service.settings.engine,
        "fill": service.settings.fill,
        "prompt_used": service.settings.engine == "diffusion",
    }
    return json_response(body, 200 if ready else 503)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses=answers(
        {
            200: {
                "description": "the text exposition format 0.0.4",
                "content": {
                    "text/plain; version=0.0.4; charset=utf-8": {"schema": {"type": "string"}}
                },
            }
        },
        500,
    ),
)
async def metrics(service: ServiceDep) -> Response:
    """The text exposition of :class:`segswap.service.http.metrics.Metrics`."""
    return Response(service.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")
