"""How the API answers: JSON bodies, ``{"error": ...}`` errors and the credit header."""

from __future__ import annotations

import json
import math
from typing import Any

from fastapi import Response

JSON = "application/json"


class ApiError(Exception):
    """An error answered as ``{"error": message}`` with ``status`` and ``headers``."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def json_response(
    body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A JSON response serialised once, without FastAPI's encoder."""
    return Response(json.dumps(body), status_code=status, media_type=JSON, headers=headers)


def credit_headers(credits: float) -> dict[str, str]:
    """The ``X-Remaining-Credits`` header (none for ``--no-auth``'s unlimited identity)."""
    if credits == math.inf:
        return {}
    return {"X-Remaining-Credits": f"{credits:g}"}


def not_found(request_id: str) -> ApiError:
    """The 404 of a request id that is unknown, expired or another key's."""
    return ApiError(
        404, f"request '{request_id}' not found: unknown, expired, or made with another key"
    )
