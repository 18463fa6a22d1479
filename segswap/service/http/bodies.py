"""Reading a request body: JSON, or multipart / urlencoded forms, into one dict that
:func:`segswap.params.parse_request` validates."""

from __future__ import annotations

import base64
import json
from typing import Any

from fastapi import Request
from starlette.datastructures import UploadFile

from segswap.errors import InvalidParameter
from segswap.params import IMAGE_FIELDS, SwapRequest, from_text, parse_request
from segswap.service.http.body_guard import LargeBodyGate
from segswap.service.http.parsing import parse_off_loop
from segswap.service.http.responses import ApiError

NO_GATE = LargeBodyGate(threshold=2**62, concurrency=1)
"""No large bodies (an app made without ``create_app``)."""
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


def parse_json_body(raw: bytes) -> Any:
    """``raw`` parsed as JSON. Raises a 400 :class:`ApiError` when it is not JSON, including
    pathological input Python's parser gives up on (nesting too deep, huge numbers)."""
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as error:
        reason = "nested too deeply" if isinstance(error, RecursionError) else str(error)
        raise ApiError(400, f"body: malformed JSON ({reason})") from None


async def form_to_body(form: Any) -> dict[str, Any]:
    """A request body dict from multipart / urlencoded form data.

    Files are accepted for the image fields (sent on as base64); other fields are
    converted from text to their parameter's type (:func:`segswap.params.from_text`, as
    the CLI's flags are).
    """
    body: dict[str, Any] = {}
    for name, value in form.multi_items():
        if name in body:
            raise InvalidParameter(name, "given more than once")
        if isinstance(value, UploadFile):
            if name not in IMAGE_FIELDS:
                raise InvalidParameter(
                    name, f"a file is only accepted for {', '.join(IMAGE_FIELDS)}"
                )
            data = await value.read()
            body[name] = base64.b64encode(data).decode("ascii")
        else:
            body[name] = value if name in IMAGE_FIELDS else from_text(SwapRequest, name, value)
    return body


WEBHOOK_FIELD = "webhook_url"

Submission = tuple[SwapRequest, str | None]
"""A validated request and its ``webhook_url`` (None when it has none)."""


def _with_webhook(body: Any, webhooks: bool) -> Submission:
    """``body`` validated, with its ``webhook_url`` taken out first (a 400 naming the
    field on a route without webhooks, or when it is not a string)."""
    webhook = body.pop(WEBHOOK_FIELD, None) if isinstance(body, dict) else None
    if webhook is not None and not webhooks:
        raise InvalidParameter(
            WEBHOOK_FIELD,
            "webhooks are delivered for POST /v2/{model} only; v1 answers with the image itself",
        )
    if webhook is not None and (not isinstance(webhook, str) or not webhook.strip()):
        raise InvalidParameter(WEBHOOK_FIELD, "expected an http(s) URL")
    return parse_request(body), webhook.strip() if webhook is not None else None


def _parse_json_request(raw: bytes, webhooks: bool) -> Submission | ApiError:
    """The request in a JSON body, or the 400 to answer, *returned*: raised here, its
    traceback would keep the body alive until the garbage collector next runs."""
    parsed = _parse_json_or_message(raw, webhooks)
    return ApiError(400, parsed) if isinstance(parsed, str) else parsed


def _parse_json_or_message(raw: bytes, webhooks: bool) -> Submission | str:
    """The request in a JSON body, or the message of the 400 to answer (a string
    pickles, so a parse process can send it back)."""
    try:
        return _with_webhook(parse_json_body(raw), webhooks)
    except InvalidParameter as error:
        return str(error)
    except ApiError as error:
        return error.message


async def read_request(
    request: Request, max_part_bytes: int, *, webhooks: bool = False
) -> Submission:
    """The edit request in the body, validated, and its ``webhook_url`` (taken out of the
    body when ``webhooks``; on a route without webhooks the field is a 400). Raises a
    400 :class:`ApiError` naming the field.

    A large body waits for a turn of the app's :class:`LargeBodyGate`
    (``app.state.body_gate``, set by ``create_app``) and is parsed in a parse process
    (:mod:`segswap.service.http.parsing`), off the event loop's GIL.
    A JSON body is streamed rather than read with ``request.body()``, which would keep
    a copy on the request object for as long as the request lives.
    """
    gate: LargeBodyGate = getattr(request.app.state, "body_gate", None) or NO_GATE
    ctype = request.headers.get("content-type", "")
    async with gate.turn(request.headers) as large:
        if ctype.startswith(FORM_TYPES):
            try:
                form = await request.form(max_files=16, max_fields=64, max_part_size=max_part_bytes)
                try:
                    body: Any = await form_to_body(form)
                finally:
                    await form.close()
                return _with_webhook(body, webhooks)
            except InvalidParameter as error:
                raise ApiError(400, str(error)) from None
        raw = b"".join([chunk async for chunk in request.stream()])
        if large:
            parsed = await parse_off_loop(_parse_json_or_message, raw, webhooks, gate.concurrency)
            outcome = ApiError(400, parsed) if isinstance(parsed, str) else parsed
        else:
            outcome = _parse_json_request(raw, webhooks)
        del raw
    if isinstance(outcome, ApiError):
        raise outcome
    return outcome
