"""The FastAPI dependencies every route shares: the service, the caller's key, admin.

They are ``async`` so that FastAPI runs them on the event loop (a plain ``def`` would
cost a thread hop per request). ``authenticate_key`` is plain code, also used by the
status fast path (:mod:`segswap.service.http.fastpath`), which answers without FastAPI.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from segswap.service.accounts.keys import ANONYMOUS, KeyRecord
from segswap.service.http.responses import ApiError
from segswap.service.server import Service


async def get_service(request: Request) -> Service:
    """The :class:`Service` this app serves (set by ``create_app``)."""
    service: Service = request.app.state.service
    return service


ServiceDep = Annotated[Service, Depends(get_service)]
"""A handler parameter: the service."""


def authenticate_key(
    service: Service, x_api_key: str | None, authorization: str | None
) -> KeyRecord:
    """The key presented in ``x-api-key`` or ``Authorization: Bearer``. Raises 401."""
    if service.settings.no_auth:
        return ANONYMOUS
    presented = x_api_key
    if presented is None and authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            presented = token.strip()
    if not presented:
        raise ApiError(
            401, "missing API key: send it in the x-api-key header (or Authorization: Bearer)"
        )
    key = service.keys.authenticate(presented)
    if key is None:
        raise ApiError(401, "invalid or revoked API key")
    return key


async def authenticate(request: Request, service: ServiceDep) -> KeyRecord:
    """The caller's key (401 without a valid one). Error responses of the request carry
    its ``X-Remaining-Credits`` too (see ``create_app``)."""
    headers = request.headers
    key = authenticate_key(service, headers.get("x-api-key"), headers.get("authorization"))
    request.state.key = key
    return key


Caller = Annotated[KeyRecord, Depends(authenticate)]
"""A handler parameter: the caller's key (401 without one)."""


async def require_admin(key: Caller) -> KeyRecord:
    """The caller's key if it is an admin key, else 403."""
    if not key.admin:
        raise ApiError(403, "this endpoint needs an admin key")
    return key


async def accepting(service: ServiceDep) -> Service:
    """The service, if it takes new submissions (503 while it drains)."""
    if service.draining:
        raise ApiError(
            503,
            "this server is shutting down and takes no new requests; retry (another node)",
            {"Retry-After": "1"},
        )
    return service


Admin = Annotated[KeyRecord, Depends(require_admin)]
"""A handler parameter: the caller's admin key (401 / 403 otherwise)."""
Accepting = Annotated[Service, Depends(accepting)]
"""A handler parameter: the service, while it takes submissions (503 when draining)."""


def base_url(request: Request, service: Service) -> str:
    """The root of the links the API hands out (``SEGSWAP_PUBLIC_URL`` or the request's)."""
    if service.settings.public_url:
        return service.settings.public_url.rstrip("/")
    return str(request.base_url).rstrip("/")
