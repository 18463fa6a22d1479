"""``/admin/keys``: list and create API keys (admin keys only)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from segswap.service.http.bodies import parse_json_body
from segswap.service.http.dependencies import Admin, ServiceDep
from segswap.service.http.responses import ApiError, json_response

router = APIRouter()


@router.get("/admin/keys", summary="List keys (admin keys only)")
async def list_keys(service: ServiceDep, _admin: Admin) -> Response:
    """Every key's public record (never a secret)."""
    return json_response({"keys": [record.public() for record in service.keys.list()]})


@router.post("/admin/keys", summary="Create a key (admin keys only); returns it once")
async def create_key(
    request: Request,
    service: ServiceDep,
    _admin: Admin,
) -> Response:
    """Make a key from ``{"name", "credits", "admin", "models"}`` (all optional); 201 with
    the secret, shown only in this answer."""
    body = parse_json_body(await request.body() or b"{}")
    if not isinstance(body, dict):
        raise ApiError(400, "body: expected a JSON object")
    credits = body.get("credits", service.settings.default_credits)
    models = body.get("models")
    if isinstance(credits, bool) or not isinstance(credits, int | float) or credits < 0:
        raise ApiError(400, "credits: expected a number >= 0")
    if models is not None and not (
        isinstance(models, list) and all(isinstance(m, str) for m in models)
    ):
        raise ApiError(400, "models: expected a list of model slugs")
    name = body.get("name")
    if name is not None and not isinstance(name, str):
        raise ApiError(400, "name: expected a string")
    try:
        secret, record = service.keys.create(
            name=name, credits=float(credits), admin=bool(body.get("admin")), models=models
        )
    except ValueError as error:
        raise ApiError(400, f"name: {error}") from None
    return json_response({"key": secret, **record.public()}, 201)
