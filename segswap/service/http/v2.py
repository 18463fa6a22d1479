"""``POST /v2/seg-swap`` (queue an edit), its status poll and its result."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from segswap.service.accounts.keys import KeyRecord
from segswap.service.http.dependencies import Accepting, Caller, ServiceDep, base_url
from segswap.service.http.extensions import IDEMPOTENCY_HEADER, fingerprint, idempotency_key
from segswap.service.http.openapi import KEYED, answers, json_answer
from segswap.service.http.responses import ApiError, credit_headers, json_response, not_found
from segswap.service.http.schemas import ResultView, StatusView, Submitted
from segswap.service.http.submission import (
    MODEL,
    V2_REQUEST_BODY_DOC,
    accept,
    current_credits,
    submit,
)
from segswap.service.http.views import result_body, status_body
from segswap.service.jobs.base import Extras, Idempotency, NotCancelable
from segswap.service.server import Service

router = APIRouter()


def poll_status(service: Service, key: KeyRecord, request_id: str) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body) of a status poll: 200, or 422 with the error when FAILED.

    Raises 404 when the request is unknown, expired or another key's.
    """
    job = service.queue.status(request_id, key.id)
    if job is None:
        raise not_found(request_id)
    return status_body(job)


_IDEMPOTENCY_PARAMETER = {
    "name": IDEMPOTENCY_HEADER,
    "in": "header",
    "required": False,
    "description": "extension: 1-255 printable ASCII characters; a repeat with the same body"
    " answers the first answer again (same request_id) and charges nothing",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[ -~]+$"},
}
_UNKNOWN = (404, "unknown or expired request, or one made with another key")
_FAILED = (
    "the request FAILED: the status body with its `error`"
    " (and `canceled: true` when the client canceled it)"
)


@router.post(
    f"/v2/{MODEL}",
    summary="Queue an edit; poll its status",
    openapi_extra={**V2_REQUEST_BODY_DOC, **KEYED, "parameters": [_IDEMPOTENCY_PARAMETER]},
    responses=answers(
        {200: json_answer(Submitted, "queued (or, for a repeated Idempotency-Key, queued before)")},
        400,
        401,
        403,
        406,
        408,
        (409, f"the {IDEMPOTENCY_HEADER} was used before with a different request body"),
        413,
        429,
        500,
        502,
        503,
    ),
)
async def submit_async(
    request: Request,
    service: Accepting,
    key: Caller,
) -> Response:
    """Queue the edit; answers with its id, ``status_url`` and ``response_url``. With an
    ``Idempotency-Key`` seen before (same request), the first answer again, uncharged."""
    idem = idempotency_key(request.headers.getlist(IDEMPOTENCY_HEADER))
    parsed, webhook = await accept(service, key, MODEL, request, webhooks=True)
    root = base_url(request, service)
    extras = Extras(
        webhook_url=webhook,
        base_url=root,
        idempotency=Idempotency(idem, fingerprint(parsed, webhook)) if idem else None,
    )
    accepted = submit(service, key, parsed, MODEL, sync=False, extras=extras)
    job_id = accepted.job_id
    credits = current_credits(service, key) if accepted.replayed else accepted.remaining_credits
    headers = credit_headers(credits)
    if accepted.replayed:
        headers["Idempotent-Replayed"] = "true"
    return json_response(
        {
            "request_id": job_id,
            "status": "QUEUED",
            "status_url": f"{root}/v2/requests/{job_id}/status",
            "response_url": f"{root}/v2/requests/{job_id}",
        },
        headers=headers,
    )


@router.post(
    "/v2/requests/{request_id}/cancel",
    summary="Cancel a queued or running request",
    openapi_extra=KEYED,
    responses=answers(
        {
            200: json_answer(StatusView, "it was QUEUED: now FAILED, canceled and refunded"),
            202: json_answer(StatusView, "it is PROCESSING: it stops at the next check point"),
        },
        401,
        _UNKNOWN,
        (409, "the request has already finished (COMPLETED or FAILED)"),
        500,
        503,
    ),
)
async def cancel(
    request_id: str,
    service: ServiceDep,
    key: Caller,
) -> Response:
    """QUEUED: 200, FAILED/canceled and refunded; PROCESSING: 202, it stops at the engine's
    next check point; settled: 409; unknown or another key's: 404."""
    try:
        outcome = service.queue.cancel(request_id, key.id)
    except NotCancelable:
        raise ApiError(
            409, f"request '{request_id}' has already finished (COMPLETED or FAILED)"
        ) from None
    if outcome is None:
        raise not_found(request_id)
    service.keys.forget(key.id)  # a refund changed its credits
    _, body = poll_status(service, key, request_id)
    code = 200 if outcome == "canceled" else 202
    return json_response(body, code, credit_headers(current_credits(service, key)))


@router.get(
    "/v2/requests/{request_id}/status",
    summary="A request's state",
    openapi_extra=KEYED,
    responses=answers(
        {
            200: json_answer(StatusView, "QUEUED, PROCESSING or COMPLETED"),
            422: json_answer(StatusView, _FAILED),
        },
        401,
        _UNKNOWN,
        500,
        503,
    ),
)
async def status(
    request_id: str,
    service: ServiceDep,
    key: Caller,
) -> Response:
    """Served by :mod:`segswap.service.http.fastpath`; this route documents it and is the
    fallback."""
    code, body = poll_status(service, key, request_id)
    return json_response(body, code, credit_headers(key.credits))


@router.get(
    "/v2/requests/{request_id}",
    summary="A request's result",
    openapi_extra=KEYED,
    responses=answers(
        {
            200: json_answer(ResultView, "COMPLETED with its output, or still QUEUED/PROCESSING"),
            422: json_answer(ResultView, _FAILED),
        },
        401,
        (404, "unknown or expired request (or result), or one made with another key"),
        500,
        503,
    ),
)
async def result(
    request_id: str,
    request: Request,
    service: ServiceDep,
    key: Caller,
) -> Response:
    """The state, and once COMPLETED the output (a media URL, or base64) and timings;
    422 with the error when FAILED."""
    job = service.queue.get(request_id, key.id)
    if job is None:
        raise not_found(request_id)
    answer = result_body(job, base_url(request, service), service.queue.result_bytes)
    if answer is None:
        raise ApiError(404, f"request '{request_id}' not found: its result expired")
    return json_response(answer[1], answer[0], credit_headers(key.credits))
