"""``/admin/keys``: list and create API keys (admin keys only)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from segswap.service.accounts.amounts import MAX_CREDITS, to_micro
from segswap.service.http.bodies import parse_json_body
from segswap.service.http.dependencies import Admin, ServiceDep
from segswap.service.http.openapi import KEYED, answers
from segswap.service.http.responses import ApiError, json_response

router = APIRouter()


class NewKeyBody(BaseModel):
    """The body of ``POST /admin/keys``: every field optional, each of exactly its JSON
    type (``"admin": "false"`` is refused, not read as true); unknown fields refused."""

    model_config = ConfigDict(strict=True, extra="forbid")

    name: str | None = Field(
        None, min_length=1, max_length=200, description="unique name (default: the key's id)"
    )
    credits: float | None = Field(
        None,
        ge=0,
        le=MAX_CREDITS,
        allow_inf_nan=False,
        description="starting credits: a finite number >= 0 with at most 6 decimals"
        " (default: SEGSWAP_DEFAULT_CREDITS)",
    )
    admin: bool = Field(False, description="whether the key may use the /admin routes")
    models: list[str] | None = Field(
        None,
        min_length=1,
        description="model slugs the key may use; leave it out for every model",
    )

    @field_validator("credits")
    @classmethod
    def _whole_micro_credits(cls, value: float | None) -> float | None:
        if value is not None:
            to_micro(value)  # at most 6 decimals
        return value

    @field_validator("models")
    @classmethod
    def _slugs(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and not all(m.strip() for m in value):
            raise ValueError("each model slug must be a non-empty string")
        return value


class KeyView(BaseModel):
    """A key's public record (never its secret)."""

    id: str
    name: str
    prefix: str = Field(description="the first 12 characters of the key, shown in listings")
    credits: float = Field(description="credits left")
    admin: bool
    models: list[str] | None = Field(description="model slugs it may use; null: every model")
    created: float = Field(description="Unix time, seconds")
    revoked: float | None = Field(description="Unix time, seconds; null while active")


class NewKeyView(KeyView):
    """A key just made: its record and, only in this answer, the secret."""

    key: str = Field(description="the secret API key; it is shown only once")


class KeyList(BaseModel):
    """Every key, oldest first."""

    keys: list[KeyView]


def _json(model: type[BaseModel]) -> dict[str, Any]:
    return {"application/json": {"schema": model.model_json_schema()}}


def _new_key_body(raw: bytes) -> NewKeyBody:
    """The body, validated; a 400 naming the first bad field."""
    body = parse_json_body(raw or b"{}")
    if not isinstance(body, dict):
        raise ApiError(400, "body: expected a JSON object")
    try:
        return NewKeyBody.model_validate(body)
    except ValidationError as error:
        first = error.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "body"
        message = str(first["msg"]).removeprefix("Value error, ")
        if field == "credits" and message.startswith("credits: "):
            message = message.removeprefix("credits: ")
        raise ApiError(400, f"{field}: {message}") from None


@router.get(
    "/admin/keys",
    summary="List keys (admin keys only)",
    openapi_extra=KEYED,
    responses=answers(
        {200: {"description": "every key", "content": _json(KeyList)}}, 401, 403, 500, 503
    ),
)
async def list_keys(service: ServiceDep, _admin: Admin) -> Response:
    """Every key's public record (never a secret)."""
    return json_response({"keys": [record.public() for record in service.keys.list()]})


@router.post(
    "/admin/keys",
    summary="Create a key (admin keys only); returns it once",
    status_code=201,
    openapi_extra={"requestBody": {"required": False, "content": _json(NewKeyBody)}, **KEYED},
    responses=answers(
        {201: {"description": "the key, with its secret", "content": _json(NewKeyView)}},
        400,
        401,
        403,
        408,
        413,
        500,
        503,
    ),
)
async def create_key(
    request: Request,
    service: ServiceDep,
    _admin: Admin,
) -> Response:
    """Make a key from ``{"name", "credits", "admin", "models"}`` (all optional); 201 with
    the secret, shown only in this answer."""
    body = _new_key_body(await request.body())
    credits = body.credits if body.credits is not None else service.settings.default_credits
    try:
        secret, record = service.keys.create(
            name=body.name, credits=credits, admin=body.admin, models=body.models
        )
    except ValueError as error:
        text = str(error)
        raise ApiError(400, text if ":" in text.split(" ")[0] else f"name: {text}") from None
    return json_response({"key": secret, **record.public()}, 201)
