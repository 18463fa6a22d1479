"""The request parameters of the SegSwap API, validated in one place.

The names, defaults and ranges are exactly those of the hosted SegSwap v0.1 API; the
library, the CLI and the HTTP API all validate through :func:`parse_params` /
:func:`parse_request`, so a value accepted by one is accepted by all. They are
validated there once; what the engine reads (:class:`EditParams`) and how the result is
encoded (:class:`OutputParams`) are taken from the validated request without checking
them again.

``mode`` is a segswap extension (see README, "Modes").
"""

from __future__ import annotations

import functools
import json
from typing import Annotated, Any, Literal, TypeVar, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from segswap.errors import InvalidParameter, shown
from segswap.formats import DEFAULT_FORMAT, FORMATS, FormatName
from segswap.suggest import did_you_mean

DEFAULT_PROMPT = "photo of a wooden table in center of living room"
MAX_SEED = 2**32 - 1

Mode = Literal["auto", "object", "pattern", "remove"]
ImageFormat = FormatName  # one of segswap.formats.FORMATS

Growmask = Annotated[int, Field(ge=0, le=20)]
"""Pixels the mask is grown by before the edit (0-20): the edit's ``growmask`` and the
mask check's (``POST /v2/masks/check``)."""
GROWMASK_DEFAULT = 5

_STRICT = ConfigDict(extra="forbid", strict=True, frozen=True)


class EditParams(BaseModel):
    """What the engine reads: the parameters of the edit itself.

    Strict types: a bool is not an int, a string is not a number.
    """

    model_config = _STRICT

    prompt: Annotated[str, Field(max_length=2000)] = DEFAULT_PROMPT
    steps: Annotated[int, Field(ge=10, le=100)] = 30
    seed: Annotated[int, Field(ge=0, le=MAX_SEED)] = 42
    growmask: Growmask = GROWMASK_DEFAULT
    fashion_strength: Annotated[float, Field(ge=0, le=1)] = 1.0
    subject_strength: Annotated[float, Field(ge=0, le=1)] = 1.0
    horizontal_repeat: Annotated[int, Field(ge=1, le=10)] = 1
    vertical_repeat: Annotated[int, Field(ge=1, le=10)] = 1
    mode: Mode = "auto"


class OutputParams(BaseModel):
    """How the result is handed back: its encoding and, over HTTP, base64 or not."""

    model_config = _STRICT

    image_format: ImageFormat = DEFAULT_FORMAT
    image_quality: Annotated[int, Field(ge=10, le=100)] = 95
    base64: bool = False


class SwapParams(OutputParams, EditParams):
    """Every tunable parameter of one call (everything but the three images), as the
    library, the CLI and the API accept them."""

    model_config = _STRICT

    def edit(self) -> EditParams:
        """The engine's part, without validating again (these values are valid)."""
        return EditParams.model_construct(**{name: getattr(self, name) for name in EDIT_FIELDS})

    def output(self) -> OutputParams:
        """The encoding part, without validating again."""
        return OutputParams.model_construct(**{name: getattr(self, name) for name in OUTPUT_FIELDS})


class SwapRequest(SwapParams):
    """A full API request: the parameters plus the three image inputs.

    Each image input is an ``http(s)://`` URL, a ``data:image/...;base64,`` URI or a bare
    base64 string of an image file.
    """

    main_image: Annotated[str, Field(min_length=1)]
    mask_image: Annotated[str, Field(min_length=1)]
    object_image: Annotated[str, Field(min_length=1)]

    def params(self) -> SwapParams:
        """The request without its images (not validated again)."""
        return SwapParams.model_construct(**self.model_dump(exclude=set(IMAGE_FIELDS)))

    @classmethod
    def from_stored(cls, stored: str) -> SwapRequest:
        """A request stored by :meth:`pydantic.BaseModel.model_dump_json` after it was
        validated (a queued job), read back without validating it again."""
        return cls.model_construct(**json.loads(stored))


class MaskCheckRequest(BaseModel):
    """A ``POST /v2/masks/check`` body: the mask, optionally its scene (needed for the
    ``ring_left`` and ``mask_aspect`` checks) and the ``growmask`` the edit will use."""

    model_config = _STRICT

    mask_image: Annotated[str, Field(min_length=1)]
    main_image: Annotated[str, Field(min_length=1)] | None = None
    growmask: Growmask = GROWMASK_DEFAULT


IMAGE_FIELDS = ("main_image", "mask_image", "object_image")
EDIT_FIELDS = tuple(EditParams.model_fields)
OUTPUT_FIELDS = tuple(OutputParams.model_fields)
PARAM_FIELDS = EDIT_FIELDS + OUTPUT_FIELDS


def describe_allowed(field: str) -> str:
    """A human description of what ``field`` accepts, e.g. ``an integer in 10-100``."""
    if field in IMAGE_FIELDS:
        return "an image: http(s) URL, data:image/...;base64 URI or base64 string"
    info = SwapRequest.model_fields.get(field)
    if info is None:
        return f"one of the known parameters: {', '.join(IMAGE_FIELDS + PARAM_FIELDS)}"
    low = high = max_len = None
    for meta in info.metadata:
        low = getattr(meta, "ge", low)
        high = getattr(meta, "le", high)
        max_len = getattr(meta, "max_length", max_len)
    annotation = info.annotation
    if field == "image_format":
        return "one of " + ", ".join(f'"{name}"' for name in FORMATS)
    if field == "mode":
        return 'one of "auto", "object", "pattern", "remove"'
    if annotation is bool:
        return "a boolean (true or false)"
    if annotation is int:
        return f"an integer in {low}-{high}"
    if annotation is float:
        return f"a number in {low}-{high}"
    if annotation is str and max_len is not None:
        return f"a string of at most {max_len} characters"
    return "a string"


def _literal_values(annotation: Any) -> tuple[str, ...]:
    """The allowed strings of a ``Literal[...]`` annotation (none for other types)."""
    if get_origin(annotation) is Literal:
        return tuple(str(value) for value in get_args(annotation))
    return ()


def invalid(error: ValidationError, model: type[BaseModel] = SwapRequest) -> InvalidParameter:
    """The first problem of a failed validation of ``model`` as an :class:`InvalidParameter`
    naming the field, with the closest valid name or value when one is close (``grow_mask:
    unknown parameter; did you mean "growmask"?``)."""
    first = error.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or "body"
    kind = first["type"]
    if kind == "extra_forbidden":
        hint = did_you_mean(field, model.model_fields)
        if hint:
            return InvalidParameter(field, "unknown parameter" + hint)
        known = ", ".join(model.model_fields)
        return InvalidParameter(field, f"unknown parameter; expected one of {known}")
    if kind == "missing":
        return InvalidParameter(field, f"is required; expected {describe_allowed(field)}")
    got = first.get("input")
    hint = ""
    info = model.model_fields.get(field)
    if isinstance(got, str) and info is not None:
        hint = did_you_mean(got, _literal_values(info.annotation))
    return InvalidParameter(field, f"expected {describe_allowed(field)}, got {shown(got)}{hint}")


Model = TypeVar("Model", bound=BaseModel)


def validate(model: type[Model], values: dict[str, Any]) -> Model:
    """``values`` validated as ``model``. Raises :class:`InvalidParameter` (see :func:`invalid`)."""
    try:
        return model(**values)
    except ValidationError as error:
        raise invalid(error, model) from None


@functools.cache
def _adapter(annotation: Any) -> TypeAdapter[Any]:
    return TypeAdapter(annotation)


def from_text(model: type[BaseModel], name: str, text: str) -> Any:
    """A value typed as text (a CLI flag, a form field) as the type ``model``'s field
    ``name`` has: ``"8"`` is 8 for ``growmask``, ``"true"`` is True for ``base64``.

    Only the type is converted here; its range is checked when the model is validated,
    so a value that does not convert is returned as is and validation names the field
    and what it accepts (as the JSON API does).
    """
    info = model.model_fields.get(name)
    if info is None or info.annotation is None or info.annotation is str:
        return text
    try:
        annotation: Any = info.annotation
        return _adapter(annotation).validate_python(text.strip(), strict=False)
    except ValidationError:
        return text


def parse_params(values: dict[str, Any]) -> SwapParams:
    """Validate parameters (no images). Raises :class:`InvalidParameter` naming the field."""
    return validate(SwapParams, values)


def parse_request(body: Any) -> SwapRequest:
    """Validate a full API request body (a JSON object). Raises :class:`InvalidParameter`."""
    if not isinstance(body, dict):
        raise InvalidParameter("body", "expected a JSON object with the request parameters")
    return validate(SwapRequest, body)
