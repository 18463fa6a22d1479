"""The JSON views of a job: its status body and its result body, shared by the routes,
the status fast path and webhook deliveries (whose body is exactly what the result
endpoint serves)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from segswap.service.jobs.base import JobStatus, JobView


def status_body(job: JobStatus) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body) of ``GET /v2/requests/{id}/status``: 200, or 422 when FAILED.

    The body has ``progress`` (0–1), ``queue_position`` while QUEUED (0 = next), for a
    FAILED job its ``error`` (and ``canceled: true`` when the client canceled it), and
    the mask doctor's ``warnings`` when there are any.
    """
    body: dict[str, Any] = {"request_id": job.id, "status": job.state, "progress": job.progress}
    if job.queue_position is not None:
        body["queue_position"] = job.queue_position
    if job.state == "FAILED":
        body["error"] = job.error
        if job.canceled:
            body["canceled"] = True
        return 422, body
    if job.warnings:  # only a COMPLETED job has any; absent otherwise, as in the hosted API
        body["warnings"] = list(job.warnings)
    return 200, body


def result_body(
    job: JobView, base_url: str, result_bytes: Callable[[JobView], bytes | None]
) -> tuple[int, dict[str, Any]] | None:
    """(HTTP status, body) of ``GET /v2/requests/{id}``; None when a base64 result has
    expired meanwhile."""
    body: dict[str, Any] = {"request_id": job.id, "status": job.state}
    if job.state == "FAILED":
        body.update(error=job.error, metrics=job.metrics)
        if job.canceled:
            body["canceled"] = True
        return 422, body
    if job.state != "COMPLETED":
        return 200, body
    if job.base64:
        data = result_bytes(job)
        if data is None:
            return None
        output = base64.b64encode(data).decode("ascii")
    else:
        output = f"{base_url}/media/{job.media_file}"
    body.update(output=output, metrics=job.metrics)
    if job.warnings:
        body["warnings"] = list(job.warnings)
    return 200, body
