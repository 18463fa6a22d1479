"""The API's routes as one visible table: every handler lives at module level in the
module of its concern, and takes what it needs through FastAPI dependencies
(:mod:`segswap.service.http.dependencies`).

Status codes: 400 bad parameters / body · 401 key · 403 model or admin route not allowed
· 404 model, request or media unknown or expired · 406 credits · 409 Idempotency-Key
reused with another request, or cancel of a finished request · 413 body or image too
large · 422 FAILED request · 429 rate limit or full queue · 500 internal error · 502 no
worker · 503 shutting down, or the shared store (scale-out: Redis) unreachable · 504 v1
deadline.

=====================================  ======  ==========================
path                                   method  handler
=====================================  ======  ==========================
``/v1/seg-swap``                       POST    :func:`v1.run_sync`
``/v2/masks``                          POST    :func:`masks.select`
``/v2/masks/check``                    POST    :func:`masks.check`
``/v2/seg-swap``                       POST    :func:`v2.submit_async`
``/v2/requests/{request_id}/status``   GET     :func:`v2.status` (+ fastpath)
``/v2/requests/{request_id}``          GET     :func:`v2.result`
``/v2/requests/{request_id}/cancel``   POST    :func:`v2.cancel`
``/media/{name}``                      GET     :func:`media.media`
``/admin/keys``                        GET     :func:`admin.list_keys`
``/admin/keys``                        POST    :func:`admin.create_key`
``/health``                            GET     :func:`ops.health`
``/metrics``                           GET     :func:`ops.metrics`
``/v1/{model}``, ``/v2/{model}``       POST    :func:`unknown_models.unknown_model`
=====================================  ======  ==========================

The last row (any other slug: 404) is left out of the OpenAPI document; so are the
pages ``/``, ``/docs`` and ``/redoc`` (:mod:`segswap.web`, :mod:`.docs`).
"""

from __future__ import annotations

from fastapi import APIRouter

from segswap.service.http import admin, masks, media, ops, unknown_models, v1, v2

ROUTERS: tuple[APIRouter, ...] = (
    v1.router,
    masks.router,
    v2.router,
    media.router,
    admin.router,
    ops.router,
    unknown_models.router,  # last: /v2/{model} would take "masks" for a model
)
"""Every router of the API, in the order they are mounted."""
