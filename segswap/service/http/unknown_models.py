"""``POST /v1/{model}`` and ``POST /v2/{model}`` for any slug but ``seg-swap``: 404
``{"error": "model '<slug>' not found"}`` after the same draining (503) and key (401)
checks as the real routes. Hidden from the OpenAPI document, which lists only the
paths that exist (``/v1/seg-swap``, ``/v2/seg-swap``)."""

from __future__ import annotations

from fastapi import APIRouter

from segswap.service.http.dependencies import Accepting, Caller
from segswap.service.http.responses import ApiError

router = APIRouter()


@router.post("/v1/{model}", include_in_schema=False)
@router.post("/v2/{model}", include_in_schema=False)
async def unknown_model(model: str, service: Accepting, key: Caller) -> None:
    """Always 404: the only model is ``seg-swap``, served by its own routes."""
    raise ApiError(404, f"model '{model}' not found")
