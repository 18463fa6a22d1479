"""The one mapping of exceptions to answers (``error_answer``), which the app's handlers
and the status fast path share: status, message and headers of each kind of failure."""

from __future__ import annotations

import logging

import pytest
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from segswap.service.errors import STORE_DOWN, StoreUnavailable
from segswap.service.http.error_answer import INTERNAL, ErrorAnswer, error_answer
from segswap.service.http.responses import ApiError


def test_each_kind_of_failure_has_its_answer(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "segswap.service")
    refused = ApiError(429, "rate limited", {"Retry-After": "3"})
    assert error_answer(refused, "POST", "/v2/seg-swap") == ErrorAnswer(
        429, "rate limited", {"Retry-After": "3"}
    )
    down = error_answer(StoreUnavailable("redis gone"), "GET", "/v2/requests/x/status")
    assert down == ErrorAnswer(503, STORE_DOWN, {"Retry-After": "1"})
    assert error_answer(HTTPException(404), "HEAD", "/nope") == ErrorAnswer(
        404, "no such endpoint: HEAD /nope", {}
    )
    not_allowed = error_answer(
        HTTPException(405, headers={"Allow": "GET"}), "PUT", "/health", lambda: "GET, HEAD"
    )
    assert not_allowed == ErrorAnswer(
        405, "method PUT is not allowed on /health (allowed: GET, HEAD)", {"Allow": "GET, HEAD"}
    )
    invalid = RequestValidationError([{"loc": ("path", "request_id"), "msg": "too long"}])
    assert error_answer(invalid, "GET", "/v2/requests/x") == ErrorAnswer(
        400, "request_id: too long", {}
    )
    bug = error_answer(RuntimeError("secret internal detail"), "GET", "/v2/requests/x/status")
    assert bug == ErrorAnswer(500, INTERNAL, {}) and "secret" not in bug.message
    logged = [record.getMessage() for record in caplog.records]
    assert "GET /v2/requests/x/status: redis gone" in logged
    assert "internal error on GET /v2/requests/x/status" in logged
