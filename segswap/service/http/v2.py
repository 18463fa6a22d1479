"""``POST /v2/{model}`` (queue an edit), its status poll and its result."""

from __future__ import annotations

import base64
from typing import Any

from fastapi import APIRouter, Request, Response

from segswap.service.accounts.keys import KeyRecord
from segswap.service.http.dependencies import Accepting, Caller, ServiceDep, base_url
from segswap.service.http.responses import ApiError, credit_headers, json_response, not_found
from segswap.service.http.submission import REQUEST_BODY_DOC, accept, submit
from segswap.service.server import Service

router = APIRouter()


def poll_status(service: Service, key: KeyRecord, request_id: str) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body) of a status poll: 200, or 422 with the error when FAILED.

    Raises 404 when the request is unknown, expired or another key's.
    """
    job = service.queue.status(request_id, key.id)
    if job is None:
        raise not_found(request_id)
    body: dict[str, Any] = {"request_id": job.id, "status": job.state}
    if job.state == "FAILED":
        body["error"] = job.error
        return 422, body
    if job.warnings:  # only a COMPLETED job has any; absent otherwise, as in the hosted API
        body["warnings"] = list(job.warnings)
    return 200, body


@router.post(
    "/v2/{model}", summary="Queue an edit; poll its status", openapi_extra=REQUEST_BODY_DOC
)
async def submit_async(
    model: str,
    request: Request,
    service: Accepting,
    key: Caller,
) -> Response:
    """Queue the edit; answers with its id, ``status_url`` and ``response_url``."""
    parsed = await accept(service, key, model, request)
    accepted = submit(service, key, parsed, model, sync=False)
    root = base_url(request, service)
    job_id = accepted.job_id
    return json_response(
        {
            "request_id": job_id,
            "status": "QUEUED",
            "status_url": f"{root}/v2/requests/{job_id}/status",
            "response_url": f"{root}/v2/requests/{job_id}",
        },
        headers=credit_headers(accepted.remaining_credits),
    )


@router.get("/v2/requests/{request_id}/status", summary="A request's state")
async def status(
    request_id: str,
    service: ServiceDep,
    key: Caller,
) -> Response:
    """Served by :mod:`segswap.service.http.fastpath`; this route documents it and is the
    fallback."""
    code, body = poll_status(service, key, request_id)
    return json_response(body, code, credit_headers(key.credits))


@router.get("/v2/requests/{request_id}", summary="A request's result")
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
    headers = credit_headers(key.credits)
    body: dict[str, Any] = {"request_id": job.id, "status": job.state}
    if job.state == "FAILED":
        body.update(error=job.error, metrics=job.metrics)
        return json_response(body, 422, headers)
    if job.state != "COMPLETED":
        return json_response(body, 200, headers)
    if job.base64:
        data = service.queue.result_bytes(job)
        if data is None:
            raise ApiError(404, f"request '{request_id}' not found: its result expired")
        output = base64.b64encode(data).decode("ascii")
    else:
        output = f"{base_url(request, service)}/media/{job.media_file}"
    body.update(output=output, metrics=job.metrics)
    if job.warnings:
        body["warnings"] = list(job.warnings)
    return json_response(body, 200, headers)
