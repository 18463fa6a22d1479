"""What v1 and v2 share when they take an edit: the model, rate-limit and credit checks,
and the queue's refusals as HTTP errors."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from segswap.params import SwapRequest
from segswap.service.accounts.credits import InsufficientCredits
from segswap.service.accounts.keys import KeyRecord, UnknownKey
from segswap.service.http.bodies import WEBHOOK_FIELD, read_request
from segswap.service.http.extensions import IDEMPOTENCY_HEADER, check_webhook_url
from segswap.service.http.responses import ApiError, credit_headers
from segswap.service.jobs.base import (
    NO_EXTRAS,
    Accepted,
    Extras,
    IdempotencyConflict,
    NoWorker,
    QueueFull,
    Submission,
)
from segswap.service.server import Service

MODEL = "seg-swap"


def _request_body(schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": schema},
                "multipart/form-data": {"schema": schema},
            },
        }
    }


_SCHEMA = SwapRequest.model_json_schema()
REQUEST_BODY_DOC = _request_body(_SCHEMA)
"""The OpenAPI request body of ``POST /v1/seg-swap`` (the handler reads it itself)."""
V2_REQUEST_BODY_DOC = _request_body(
    {
        **_SCHEMA,
        "properties": {
            **_SCHEMA["properties"],
            WEBHOOK_FIELD: {
                "type": "string",
                "minLength": 1,
                "description": "extension: an http(s) URL the settled result is POSTed to"
                " (signed per Standard Webhooks; same URL rules as the image inputs)",
            },
        },
    }
)
"""The OpenAPI request body of ``POST /v2/seg-swap``: v1's plus ``webhook_url``."""

IMAGE_CONTENT: dict[str, Any] = {
    media: {"schema": {"type": "string", "format": "binary"}}
    for media in ("image/png", "image/jpeg", "image/webp")
}
"""The OpenAPI content of an answer that is an encoded image."""


async def accept(
    service: Service, key: KeyRecord, model: str, request: Request, *, webhooks: bool = False
) -> tuple[SwapRequest, str | None]:
    """The validated edit of a submission by ``key`` to ``model``, and its checked
    ``webhook_url`` (only where ``webhooks``: v2).

    Raises: 404 unknown model, 403 model not allowed for the key, 429 rate limit,
    400 unusable body or webhook URL (naming the field).
    """
    if model != MODEL:
        raise ApiError(404, f"model '{model}' not found")
    if not key.allows(model):
        raise ApiError(403, f"this API key is not allowed to use the model '{model}'")
    take_rate_token(service, key)
    settings = service.settings
    parsed, webhook = await read_request(request, settings.max_body_bytes, webhooks=webhooks)
    if webhook is not None:
        await check_webhook_url(webhook, settings)
    return parsed, webhook


def take_rate_token(service: Service, key: KeyRecord) -> None:
    """One request's token from ``key``'s rate-limit bucket. Raises 429 (Retry-After)."""
    settings = service.settings
    wait = service.limiter.acquire(key.id)
    if wait:
        raise ApiError(
            429,
            f"rate limit exceeded: at most {settings.rate_limit:g} requests per second"
            f" per key (burst {settings.rate_burst})",
            {"Retry-After": service.limiter.retry_after(wait)},
        )


def submit(
    service: Service,
    key: KeyRecord,
    parsed: SwapRequest,
    model: str,
    *,
    sync: bool,
    extras: Extras = NO_EXTRAS,
) -> Accepted:
    """Debit and queue ``parsed`` (with v2's ``extras``). Raises 502 no worker, 429 queue
    full, 406 credits, 409 Idempotency-Key reused with another request."""
    settings = service.settings
    try:
        accepted = service.queue.submit(
            Submission(parsed, key, model, settings.price_per_call, sync, extras)
        )
    except IdempotencyConflict:
        raise ApiError(
            409,
            f"{IDEMPOTENCY_HEADER}: this key was already used with a different request body;"
            " send a new key for a new request",
        ) from None
    except NoWorker:
        raise ApiError(502, "no worker is available to run the request; try again later") from None
    except QueueFull:
        raise ApiError(
            429,
            f"the queue is full ({settings.queue_capacity} jobs waiting); retry shortly",
            {"Retry-After": "1"},
        ) from None
    except InsufficientCredits as error:
        raise ApiError(406, str(error), credit_headers(error.remaining)) from None
    service.keys.forget(key.id)  # its cached credits are stale now
    return accepted


def current_credits(service: Service, key: KeyRecord) -> float:
    """The key's credits as stored now (after a refund, say); inf when not metered."""
    if not key.metered:
        return float("inf")
    try:
        return service.keys.find(key.id).credits
    except UnknownKey:  # pragma: no cover - deleted meanwhile
        return 0.0
