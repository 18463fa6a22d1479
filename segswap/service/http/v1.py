"""``POST /v1/seg-swap``: run an edit and answer with the image (or its base64)."""

from __future__ import annotations

import base64

from fastapi import APIRouter, Request, Response

from segswap.service.http.dependencies import Accepting, Caller
from segswap.service.http.openapi import KEYED, answers
from segswap.service.http.responses import ApiError, credit_headers, json_response
from segswap.service.http.schemas import EncodedImage
from segswap.service.http.submission import (
    IMAGE_CONTENT,
    MODEL,
    REQUEST_BODY_DOC,
    accept,
    current_credits,
    submit,
)
from segswap.service.jobs.base import DeadlineExceeded

router = APIRouter()


_EDIT_HEADERS = {
    name: {"description": why, "schema": {"type": "string"}}
    for name, why in {
        "X-Request-Id": "the request's id",
        "X-Remaining-Credits": "the key's credits left (absent for unmetered keys)",
        "X-Inference-Time": "seconds in the engine",
        "X-Changed-Box": "x0,y0,x1,y1 (end-exclusive): pixels outside it are the input's",
        "X-Edit-Mode": "object, pattern or remove",
        "X-Mask-Warnings": "the mask doctor's warning codes, comma-separated, if any",
    }.items()
}


@router.post(
    f"/v1/{MODEL}",
    summary="Run an edit synchronously; returns the image",
    openapi_extra={**REQUEST_BODY_DOC, **KEYED},
    responses=answers(
        {
            200: {
                "description": "the edited image (its bytes), or with `base64: true` its base64",
                "headers": _EDIT_HEADERS,
                "content": {
                    **IMAGE_CONTENT,
                    "application/json": {"schema": EncodedImage.model_json_schema()},
                },
            }
        },
        400,
        401,
        403,
        406,
        408,
        413,
        429,
        500,
        502,
        503,
        504,
    ),
)
async def run_sync(
    request: Request,
    service: Accepting,
    key: Caller,
) -> Response:
    """Queue the edit like v2, wait for it up to ``SEGSWAP_SYNC_TIMEOUT`` (504 past it,
    cancelled and refunded) and answer with the encoded image."""
    service.in_flight += 1  # a draining server waits for these
    try:
        parsed, _ = await accept(service, key, MODEL, request)
        accepted = submit(service, key, parsed, MODEL, sync=True)
        timeout = service.settings.sync_timeout
        try:
            outcome = await service.queue.wait_sync(accepted.job_id, timeout)
        except DeadlineExceeded:
            raise ApiError(
                504,
                f"the request did not finish within {timeout:g} s"
                " (SEGSWAP_SYNC_TIMEOUT); it was cancelled and not charged;"
                " use /v2 for long jobs",
                credit_headers(current_credits(service, key)),
            ) from None
    finally:
        service.in_flight -= 1
    headers = {"X-Request-Id": accepted.job_id}
    if outcome.data is None:
        headers.update(credit_headers(current_credits(service, key)))
        raise ApiError(outcome.error_status or 500, outcome.error or "failed", headers)
    headers.update(credit_headers(accepted.remaining_credits))
    if "inference_time" in outcome.metrics:
        headers["X-Inference-Time"] = f"{outcome.metrics['inference_time']:.6f}"
    warnings = outcome.warnings
    if warnings:
        # Codes only (a header is one ASCII line); the messages are in /v2/masks/check.
        headers["X-Mask-Warnings"] = ", ".join(warning["code"] for warning in warnings)
    if "changed_box" in outcome.metrics:
        headers["X-Changed-Box"] = ",".join(str(v) for v in outcome.metrics["changed_box"])
        headers["X-Edit-Mode"] = str(outcome.metrics["mode"])
    if parsed.base64:
        encoded = base64.b64encode(outcome.data).decode("ascii")
        return json_response({"image": encoded}, headers=headers)
    return Response(outcome.data, media_type=outcome.content_type, headers=headers)
