"""The one mapping from an exception raised while serving a request to the API's answer:
a status, the ``{"error": message}`` text and headers. The FastAPI app's exception
handlers (:mod:`segswap.service.http.app`) and the status fast path
(:mod:`segswap.service.http.fastpath`) both answer with it; each adds the
``X-Remaining-Credits`` of the key the request authenticated with, if any."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from segswap.service.errors import STORE_DOWN, StoreUnavailable
from segswap.service.http.responses import ApiError

log = logging.getLogger("segswap.service")

INTERNAL = "internal server error (it has been logged)"


@dataclass(frozen=True)
class ErrorAnswer:
    """What to answer: ``status``, ``{"error": message}`` and ``headers``."""

    status: int
    message: str
    headers: dict[str, str] = field(default_factory=dict)


def _no_methods() -> str:
    return ""


def error_answer(
    error: BaseException, method: str, path: str, allowed: Callable[[], str] = _no_methods
) -> ErrorAnswer:
    """The answer to ``error``, raised while serving ``method`` ``path``.

    - :class:`ApiError`: its status, message and headers;
    - :class:`StoreUnavailable` (the shared store is unreachable): 503 with
      ``Retry-After: 1``, logged as a warning;
    - Starlette's ``HTTPException``: its status; a 404 names the method and path, a 405
      the method and ``allowed()`` (the path's methods, also its ``Allow`` header);
    - a failed FastAPI validation: 400 naming the field;
    - anything else: 500 without details, logged with its traceback.
    """
    if isinstance(error, ApiError):
        return ErrorAnswer(error.status, error.message, dict(error.headers))
    if isinstance(error, StoreUnavailable):
        log.warning("%s %s: %s", method, path, error)
        return ErrorAnswer(503, STORE_DOWN, {"Retry-After": "1"})
    if isinstance(error, StarletteHTTPException):
        message = error.detail if isinstance(error.detail, str) else "request refused"
        headers = dict(error.headers or {})
        if error.status_code == 404:
            message = f"no such endpoint: {method} {path}"
        elif error.status_code == 405:
            headers.pop("allow", None)
            methods = headers["Allow"] = allowed() or headers.get("Allow", "?")
            message = f"method {method} is not allowed on {path} (allowed: {methods})"
        return ErrorAnswer(error.status_code, message, headers)
    if isinstance(error, RequestValidationError):
        first = error.errors()[0] if error.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "path"))
        return ErrorAnswer(400, f"{where or 'request'}: {first.get('msg', 'invalid')}")
    log.error("internal error on %s %s", method, path, exc_info=error)
    return ErrorAnswer(500, INTERNAL)
