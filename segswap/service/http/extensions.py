"""What v2 submissions may add to the hosted API: a ``webhook_url`` (checked under the
input URL rules) and an ``Idempotency-Key`` header (checked, and the request's
fingerprint that a repeat is compared by)."""

from __future__ import annotations

import hashlib
import json

from starlette.concurrency import run_in_threadpool

from segswap.errors import InvalidParameter
from segswap.io.fetch import FetchPolicy, check_url
from segswap.params import SwapRequest
from segswap.service.http.bodies import WEBHOOK_FIELD
from segswap.service.http.responses import ApiError
from segswap.settings import Settings

IDEMPOTENCY_HEADER = "Idempotency-Key"


def idempotency_key(values: list[str]) -> str | None:
    """The ``Idempotency-Key`` header's value (``values``: every such header of the
    request), checked: at most one header, of 1–255 printable ASCII characters. Raises a
    400 naming the header."""
    if not values:
        return None
    if len(values) > 1:
        raise ApiError(
            400, f"{IDEMPOTENCY_HEADER}: given {len(values)} times; send one key per request"
        )
    value = values[0]
    if not 1 <= len(value) <= 255 or not all(" " <= char <= "~" for char in value):
        raise ApiError(400, f"{IDEMPOTENCY_HEADER}: expected 1-255 printable ASCII characters")
    return value


def fingerprint(request: SwapRequest, webhook_url: str | None) -> str:
    """SHA-256 (hex) of a request as validated, so the same request sent as JSON or as
    multipart, or with its keys in another order, has the same fingerprint."""
    canonical = json.dumps(
        {"request": request.model_dump(mode="json"), WEBHOOK_FIELD: webhook_url},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


async def check_webhook_url(url: str, settings: Settings) -> None:
    """Raise a 400 naming ``webhook_url`` unless it is an http(s) URL whose host resolves
    to addresses the input rules allow (``SEGSWAP_ALLOW_PRIVATE_URLS``). The DNS look-up
    runs off the event loop."""
    policy = FetchPolicy(
        allow_private=settings.allow_private_urls, timeout_s=settings.fetch_timeout
    )
    try:
        await run_in_threadpool(check_url, url, field=WEBHOOK_FIELD, policy=policy)
    except InvalidParameter as error:
        raise ApiError(400, str(error)) from None
