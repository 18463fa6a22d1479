"""Mask endpoints (segswap extension): select an object with a box and/or clicks, and
check a mask before an edit.

- ``POST /v2/masks``: ``main_image`` + ``box`` and/or ``points`` → the mask as a PNG
  (L, 0/255, the scene's size), or ``{"image": <base64 PNG>, ...}`` with ``base64``.
- ``POST /v2/masks/check``: ``mask_image`` (+ ``main_image``, ``growmask``) →
  ``{"warnings": [{"code", "message"}, ...]}`` from the mask doctor.

Both are keyed and rate-limited like the edit endpoints (one token each), cost no
credits, and load images under the same rules (URLs obey the SSRF policy, the pixel cap
applies, no local paths). The work (decode, GrabCut, encode) runs in a thread, at most
one per CPU at a time, so the event loop keeps answering.
"""

from __future__ import annotations

import asyncio
import base64
import math
import os
from typing import Any

import cv2
import numpy as np
from fastapi import APIRouter, Request, Response

from segswap.engine.mask_doctor import diagnose
from segswap.engine.prepare import as_rgb
from segswap.engine.selection import Click, select_mask
from segswap.errors import ImageTooLarge, InvalidParameter, shown
from segswap.io.load import load_image
from segswap.params import MaskCheckRequest, validate
from segswap.service.http.bodies import parse_json_body
from segswap.service.http.dependencies import Accepting, Caller
from segswap.service.http.openapi import KEYED, answers, json_answer
from segswap.service.http.responses import ApiError, json_response
from segswap.service.http.schemas import MaskReport, SelectedMask
from segswap.service.http.submission import take_rate_token
from segswap.settings import Settings
from segswap.suggest import did_you_mean

SELECT_FIELDS = ("main_image", "box", "points", "base64")
CHECK_FIELDS = tuple(MaskCheckRequest.model_fields)

_POINT = {
    "type": "object",
    "required": ["x", "y"],
    "properties": {
        "x": {"type": "number", "description": "scene pixels from the left"},
        "y": {"type": "number", "description": "scene pixels from the top"},
        "positive": {
            "type": "boolean",
            "default": True,
            "description": "true: part of the object; false: not part of it",
        },
    },
}
_IMAGE = {"type": "string", "description": "http(s) URL, data:image/...;base64 URI or base64"}
SELECT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["main_image"],
    "additionalProperties": False,
    "properties": {
        "main_image": _IMAGE,
        "box": {
            "type": "array",
            "items": {"type": "number"},
            "minItems": 4,
            "maxItems": 4,
            "description": "[left, top, right, bottom] in scene pixels around the object",
        },
        "points": {"type": "array", "items": _POINT, "maxItems": 100},
        "base64": {
            "type": "boolean",
            "default": False,
            "description": 'answer JSON {"image": <base64 PNG>, "width", "height", "area"}',
        },
    },
}
CHECK_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["mask_image"],
    "additionalProperties": False,
    "properties": {
        "mask_image": _IMAGE,
        "main_image": {**_IMAGE, "description": "the scene; needed for the ring_left check"},
        "growmask": MaskCheckRequest.model_json_schema()["properties"]["growmask"],
    },
}
MAX_POINTS = 100


def _body(raw: bytes, allowed: tuple[str, ...]) -> dict[str, Any]:
    body = parse_json_body(raw)
    if not isinstance(body, dict):
        raise InvalidParameter("body", "expected a JSON object")
    for name in body:
        if name not in allowed:
            hint = did_you_mean(name, allowed) or f"; expected one of {', '.join(allowed)}"
            raise InvalidParameter(name, "unknown parameter" + hint)
    return body


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def parse_points(value: Any) -> list[Click]:
    """``points`` as clicks: a list of ``{"x", "y", "positive"?}`` (at most 100)."""
    if not isinstance(value, list):
        raise InvalidParameter("points", 'expected a list of {"x": ..., "y": ..., "positive": ...}')
    if len(value) > MAX_POINTS:
        raise InvalidParameter("points", f"at most {MAX_POINTS} points, got {len(value)}")
    clicks = []
    for i, point in enumerate(value):
        if not isinstance(point, dict) or not set(point) <= {"x", "y", "positive"}:
            raise InvalidParameter(
                "points", f'point {i}: expected {{"x": ..., "y": ..., "positive": ...}}'
            )
        x, y, positive = point.get("x"), point.get("y"), point.get("positive", True)
        if not (_number(x) and _number(y)) or not isinstance(positive, bool):
            raise InvalidParameter(
                "points",
                f"point {i}: x and y must be numbers and positive a boolean, got {shown(point)}",
            )
        clicks.append(Click(float(point["x"]), float(point["y"]), positive))
    return clicks


def _scene(value: Any, settings: Settings) -> np.ndarray:
    if not isinstance(value, str) or not value:
        raise InvalidParameter("main_image", "is required; expected an image string")
    return as_rgb(load_image(value, field="main_image", settings=settings, allow_paths=False))


def png_bytes(mask: np.ndarray) -> bytes:
    """An H×W bool mask as an 8-bit grey PNG (255 = selected)."""
    ok, encoded = cv2.imencode(
        ".png", np.where(mask, 255, 0).astype(np.uint8), [cv2.IMWRITE_PNG_COMPRESSION, 1]
    )
    if not ok:  # pragma: no cover - OpenCV always encodes a uint8 image
        raise RuntimeError("could not encode the mask")
    return encoded.tobytes()


def run_select(body: dict[str, Any], settings: Settings) -> tuple[bytes, np.ndarray]:
    """Validate and run one selection: (PNG bytes, the mask). Raises InvalidParameter."""
    if "box" not in body and "points" not in body:
        raise InvalidParameter("box", "give a box ([left, top, right, bottom]), points, or both")
    box = body.get("box")
    if box is not None and not isinstance(box, list):
        raise InvalidParameter("box", f"expected [left, top, right, bottom], got {shown(box)}")
    clicks = parse_points(body.get("points", []))
    if not isinstance(body.get("base64", False), bool):
        raise InvalidParameter("base64", "expected a boolean (true or false)")
    scene = _scene(body.get("main_image"), settings)
    mask = select_mask(scene, box, clicks)
    return png_bytes(mask), mask


def run_check(body: dict[str, Any], settings: Settings) -> list[dict[str, str]]:
    """Validate and run the mask doctor: the warnings as dicts. Raises InvalidParameter."""
    request = validate(MaskCheckRequest, body)
    mask = load_image(request.mask_image, field="mask_image", settings=settings, allow_paths=False)
    scene = _scene(request.main_image, settings) if request.main_image is not None else None
    return [warning.as_dict() for warning in diagnose(mask, scene, request.growmask)]


router = APIRouter()
_ERRORS = (400, 401, 408, 413, 429, 500, 503)

# At most one selection or check per CPU at a time (each is CPU-bound for ~10-100 ms).
_WORKERS = asyncio.Semaphore(max(1, os.cpu_count() or 1))


@router.post(
    "/v2/masks",
    summary="Select an object with a box and/or clicks; returns the mask PNG",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": SELECT_SCHEMA}},
        },
        **KEYED,
    },
    responses=answers(
        {
            200: {
                "description": "the mask PNG (8-bit grey, 255 = selected, the scene's size),"
                " or with `base64: true` its base64",
                "content": {
                    "image/png": {"schema": {"type": "string", "format": "binary"}},
                    "application/json": {"schema": SelectedMask.model_json_schema()},
                },
            }
        },
        *_ERRORS,
    ),
)
async def select(request: Request, service: Accepting, key: Caller) -> Response:
    """The mask of the object in ``box`` / under ``points`` of ``main_image``."""
    take_rate_token(service, key)
    try:
        body = _body(await request.body(), SELECT_FIELDS)
        async with _WORKERS:
            data, mask = await asyncio.to_thread(run_select, body, service.settings)
    except InvalidParameter as error:
        raise ApiError(413 if _too_large(error) else 400, str(error)) from None
    height, width = mask.shape
    if body.get("base64"):
        return json_response(
            {
                "image": base64.b64encode(data).decode("ascii"),
                "width": width,
                "height": height,
                "area": round(float(mask.mean()), 6),
            }
        )
    return Response(data, media_type="image/png", headers={"Cache-Control": "no-store"})


@router.post(
    "/v2/masks/check",
    summary="Check a mask before an edit: the mask doctor's warnings",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": CHECK_SCHEMA}},
        },
        **KEYED,
    },
    responses=answers(
        {200: json_answer(MaskReport, "the warnings (none: a clean mask)")}, *_ERRORS
    ),
)
async def check(request: Request, service: Accepting, key: Caller) -> Response:
    """``{"warnings": [{"code", "message"}, ...]}`` about ``mask_image``."""
    take_rate_token(service, key)
    try:
        body = _body(await request.body(), CHECK_FIELDS)
        async with _WORKERS:
            warnings = await asyncio.to_thread(run_check, body, service.settings)
    except InvalidParameter as error:
        raise ApiError(413 if _too_large(error) else 400, str(error)) from None
    return json_response({"warnings": warnings})


def _too_large(error: InvalidParameter) -> bool:
    return isinstance(error, ImageTooLarge)
