"""The OpenAPI document (``GET /openapi.json``) as the server really behaves: every status
an operation can answer with, the ``{"error": ...}`` body of each error, the two ways to
present a key, and none of FastAPI's own 422 validation error (the app answers a failed
validation with 400 ``{"error"}``; its only 422 is a FAILED v2 request, documented with
the status body).

Routes declare their answers with :func:`answers`; :func:`install` finishes the document
FastAPI generates.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field

API_KEY_SCHEME = "ApiKeyHeader"
BEARER_SCHEME = "BearerToken"
SECURITY_SCHEMES: dict[str, Any] = {
    API_KEY_SCHEME: {"type": "apiKey", "in": "header", "name": "x-api-key"},
    BEARER_SCHEME: {
        "type": "http",
        "scheme": "bearer",
        "description": "the same API key as `Authorization: Bearer <key>`",
    },
}
KEYED: dict[str, Any] = {"security": [{API_KEY_SCHEME: []}, {BEARER_SCHEME: []}]}
"""``openapi_extra`` of an operation that needs a key (either scheme will do)."""


class Error(BaseModel):
    """Every error answer: a message a person can act on (it names the field, header or
    limit at fault), never a traceback."""

    model_config = ConfigDict(extra="forbid")

    error: str = Field(description="what went wrong and what to do about it")


_RETRY_AFTER = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "string"}}}
_CREDITS = {
    "X-Remaining-Credits": {
        "description": "the key's credits left (absent for unmetered keys and --no-auth)",
        "schema": {"type": "string"},
    }
}

WHY: dict[int, str] = {
    400: "bad parameters or body (the message names the field), or an unusable input image",
    401: "missing, invalid or revoked API key",
    403: "the key may not use this model or endpoint",
    404: "unknown, expired or another key's request or result",
    406: "not enough credits",
    408: "the request body stopped arriving (SEGSWAP_BODY_TIMEOUT); the connection is closed",
    409: "conflict",
    413: "body (SEGSWAP_MAX_BODY_BYTES) or image (pixel cap) too large",
    429: "rate limit (per key) or full queue; retry after Retry-After seconds",
    500: "internal error (logged on the server)",
    502: "no worker is available to run the request",
    503: "the server is shutting down, or its shared store (scale-out: Redis) is unreachable;"
    " retry after Retry-After seconds",
    504: "the synchronous call passed SEGSWAP_SYNC_TIMEOUT; cancelled and not charged",
}
"""The general reason of each error status; :func:`answers` takes a more precise one."""

_HEADERS: dict[int, dict[str, Any]] = {429: _RETRY_AFTER, 503: _RETRY_AFTER, 406: _CREDITS}


def answers(
    ok: dict[int, dict[str, Any]], *errors: int | tuple[int, str]
) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` of a route: its success answers ``ok`` (status → response object)
    and its error statuses, each with the :class:`Error` body and :data:`WHY` its reason
    (or the reason given as ``(status, reason)``)."""
    responses: dict[int | str, dict[str, Any]] = {}
    responses.update(ok.items())
    for item in errors:
        status, why = item if isinstance(item, tuple) else (item, WHY[item])
        response: dict[str, Any] = {"description": why, "model": Error}
        if status in _HEADERS:
            response["headers"] = _HEADERS[status]
        responses[status] = response
    return responses


def json_answer(model: type[BaseModel], description: str, **extra: Any) -> dict[str, Any]:
    """A success response object whose body is ``model`` as JSON."""
    return {"description": description, "model": model, **extra}


def _strip_validation_error(schema: dict[str, Any]) -> None:
    """Remove FastAPI's default 422 ``HTTPValidationError`` (the app never sends it)."""
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses", {})
            unprocessable = responses.get("422", {})
            ref = unprocessable.get("content", {}).get("application/json", {}).get("schema", {})
            if ref.get("$ref", "").endswith("/HTTPValidationError"):
                del responses["422"]
    components = schema.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)


def _hoist_definitions(schema: dict[str, Any]) -> None:
    """Move the ``$defs`` of schemas written into operations by hand (pydantic's
    ``model_json_schema()``, whose ``#/$defs/...`` references are relative to that
    schema, not to the document) into ``components/schemas``, and point their
    references there, so every ``$ref`` of the document resolves."""
    components: dict[str, Any] = schema.setdefault("components", {}).setdefault("schemas", {})
    prefix, target = "#/$defs/", "#/components/schemas/"

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            for name, definition in node.pop("$defs", {}).items():
                visit(definition)
                if components.setdefault(name, definition) != definition:
                    raise ValueError(f"two different OpenAPI schemas are named {name!r}")
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(prefix):
                node["$ref"] = target + ref.removeprefix(prefix)
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(schema.get("paths", {}))


def install(app: FastAPI) -> None:
    """Make ``app.openapi`` finish FastAPI's document: the security schemes, the
    definitions of hand-written schemas in ``components`` (:func:`_hoist_definitions`),
    without the 422 it adds to routes with path parameters."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            _strip_validation_error(schema)
            _hoist_definitions(schema)
            schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
