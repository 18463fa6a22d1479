"""The JSON bodies the API answers with, as models for the OpenAPI document.

The handlers build their bodies themselves (:mod:`segswap.service.http.views`,
:func:`segswap.service.http.responses.json_response`); these models only describe them,
field by field, with no room for undocumented fields (``additionalProperties: false``),
and the schemathesis run in the test suite holds the answers to them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

State = Literal["QUEUED", "PROCESSING", "COMPLETED", "FAILED"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MaskWarning(_Strict):
    """One finding of the mask doctor."""

    code: str = Field(description="stable, for programs")
    message: str = Field(description="for people")


class Submitted(_Strict):
    """The answer of ``POST /v2/seg-swap``: the queued request and where to poll it."""

    request_id: str
    status: Literal["QUEUED"]
    status_url: str = Field(description="absolute URL of `GET /v2/requests/{id}/status`")
    response_url: str = Field(description="absolute URL of `GET /v2/requests/{id}`")


class StatusView(_Strict):
    """A request's state (HTTP 422 when it is FAILED)."""

    request_id: str
    status: State
    progress: float = Field(ge=0, le=1, description="share of the work done, 0-1")
    queue_position: int | None = Field(
        None, ge=0, description="while QUEUED: jobs ahead of it (0 = next)"
    )
    error: str | None = Field(None, description="when FAILED: why")
    canceled: bool | None = Field(None, description="when FAILED because the client canceled it")
    warnings: list[MaskWarning] | None = Field(
        None, description="when COMPLETED: the mask doctor's warnings, if any"
    )


class JobMetrics(BaseModel):
    """Timings (seconds) and, once COMPLETED, proof of the untouched pixels."""

    model_config = ConfigDict(extra="forbid")

    inference_time: float | None = Field(None, ge=0, description="seconds in the engine")
    load_time: float | None = Field(None, ge=0, description="seconds decoding the inputs")
    encode_time: float | None = Field(None, ge=0, description="seconds encoding the output")
    queue_time: float | None = Field(None, description="seconds from submit to start")
    total_time: float | None = Field(None, description="seconds from submit to the end")
    changed_box: list[int] | None = Field(
        None,
        min_length=4,
        max_length=4,
        description="[x0, y0, x1, y1] (end-exclusive): every output pixel outside it equals"
        " the input's",
    )
    mode: Literal["object", "pattern", "remove"] | None = Field(None, description="the edit run")


class ResultView(_Strict):
    """A request's result: once COMPLETED its ``output`` and ``metrics``; when FAILED
    (HTTP 422) its ``error``; while QUEUED or PROCESSING only the state."""

    request_id: str
    status: State
    output: str | None = Field(
        None,
        description="when COMPLETED: absolute URL of the image (a capability URL, no key"
        " needed), or its base64 when the request had `base64: true`",
    )
    metrics: JobMetrics | None = None
    error: str | None = Field(None, description="when FAILED: why")
    canceled: bool | None = Field(None, description="when FAILED because the client canceled it")
    warnings: list[MaskWarning] | None = Field(
        None, description="when COMPLETED: the mask doctor's warnings, if any"
    )


class EncodedImage(_Strict):
    """The edited image as base64 (``POST /v1/seg-swap`` with ``base64: true``)."""

    image: str = Field(description="base64 of the encoded image (image_format)")


class SelectedMask(_Strict):
    """A selected mask as base64 (``POST /v2/masks`` with ``base64: true``)."""

    image: str = Field(description="base64 of the mask PNG (8-bit grey, 255 = selected)")
    width: int = Field(ge=1, description="pixels")
    height: int = Field(ge=1, description="pixels")
    area: float = Field(ge=0, le=1, description="share of the scene selected, 0-1")


class MaskReport(_Strict):
    """The mask doctor's findings about a mask."""

    warnings: list[MaskWarning]


class Health(_Strict):
    """Whether the server takes work (HTTP 200) or not (503), and what serves it."""

    status: Literal["ok", "draining", "unavailable"]
    workers: int = Field(ge=0, description="workers alive")
    queue_depth: int = Field(ge=0, description="jobs waiting for a worker")
    engine: str = Field(description="the engine running the edits (SEGSWAP_ENGINE)")
    fill: str = Field(
        description="the fill behind removal and under placed objects: exemplar, lama or"
        " migan (SEGSWAP_FILL)"
    )
    prompt_used: bool = Field(description="whether that engine reads `prompt`")
