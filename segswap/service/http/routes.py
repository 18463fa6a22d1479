"""The HTTP endpoints. Handlers are ``async`` and do only cheap work (auth, validation,
one or two SQLite statements); images are fetched, decoded and edited by the workers.

Status codes: 400 bad parameters / body · 401 key · 403 model or admin route not allowed
· 404 model, request or media unknown or expired · 406 credits · 413 body or image too
large · 422 FAILED request · 429 rate limit or full queue · 500 internal error · 502 no
worker · 503 shutting down, or the shared store (scale-out: Redis) unreachable · 504 v1
deadline.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.datastructures import UploadFile

from segswap.errors import InvalidParameter
from segswap.params import IMAGE_FIELDS, SwapRequest, parse_request
from segswap.service.accounts.credits import InsufficientCredits
from segswap.service.accounts.keys import ANONYMOUS, KeyRecord, UnknownKey
from segswap.service.errors import StoreUnavailable
from segswap.service.jobs.base import (
    DeadlineExceeded,
    JobView,
    NoWorker,
    QueueFull,
)
from segswap.service.server import Service

MODEL = "seg-swap"
JSON = "application/json"


class ApiError(Exception):
    """An error answered as ``{"error": message}`` with ``status`` and ``headers``."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def json_response(
    body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A JSON response serialised once, without FastAPI's encoder."""
    return Response(json.dumps(body), status_code=status, media_type=JSON, headers=headers)


def parse_json_body(raw: bytes) -> Any:
    """``raw`` parsed as JSON. Raises a 400 :class:`ApiError` when it is not JSON, including
    pathological input Python's parser gives up on (nesting too deep, huge numbers)."""
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as error:
        reason = "nested too deeply" if isinstance(error, RecursionError) else str(error)
        raise ApiError(400, f"body: malformed JSON ({reason})") from None


def credit_headers(credits: float) -> dict[str, str]:
    """The ``X-Remaining-Credits`` header (none for ``--no-auth``'s unlimited identity)."""
    if credits == float("inf"):
        return {}
    return {"X-Remaining-Credits": f"{credits:g}"}


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


def find_own_job(service: Service, key: KeyRecord, request_id: str) -> JobView:
    """The v2 job ``request_id`` of ``key``. Raises 404 when unknown, expired or not its."""
    job = service.queue.get(request_id, key.id)
    if job is None:
        raise _not_found(request_id)
    return job


def poll_status(service: Service, key: KeyRecord, request_id: str) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body) of a status poll: 200, or 422 with the error when FAILED.

    Raises 404 when the request is unknown, expired or another key's.
    """
    job = service.queue.status(request_id, key.id)
    if job is None:
        raise _not_found(request_id)
    body: dict[str, Any] = {"request_id": job.id, "status": job.state}
    if job.state == "FAILED":
        body["error"] = job.error
        return 422, body
    return 200, body


def _not_found(request_id: str) -> ApiError:
    return ApiError(
        404, f"request '{request_id}' not found: unknown, expired, or made with another key"
    )


_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def _convert_form_value(name: str, value: str) -> Any:
    """A form field's string as the type its parameter has (left as is when it does not
    convert, so that validation names the field and its range)."""
    info = SwapRequest.model_fields.get(name)
    if info is None or name in IMAGE_FIELDS:
        return value
    text = value.strip()
    annotation = info.annotation
    try:
        if annotation is bool:
            if text.lower() in _TRUE:
                return True
            if text.lower() in _FALSE:
                return False
            return value
        if annotation is int:
            return int(text)
        if annotation is float:
            return float(text)
    except ValueError:
        return value
    return value


async def form_to_body(form: Any) -> dict[str, Any]:
    """A request body dict from multipart / urlencoded form data.

    Files are accepted for the image fields (sent on as base64); other fields are
    converted from text to their parameter's type.
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
            body[name] = _convert_form_value(name, value)
    return body


def build_router(service: Service) -> APIRouter:
    """The API's routes, bound to ``service``."""
    router = APIRouter()
    settings = service.settings
    keys = service.keys
    queue = service.queue
    limiter = service.limiter
    request_schema = SwapRequest.model_json_schema()
    body_doc: dict[str, Any] = {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": request_schema},
                "multipart/form-data": {"schema": request_schema},
            },
        }
    }

    def authenticate(request: Request) -> KeyRecord:
        headers = request.headers
        key = authenticate_key(service, headers.get("x-api-key"), headers.get("authorization"))
        request.state.key = key  # error responses carry its X-Remaining-Credits too
        return key

    def base_url(request: Request) -> str:
        if settings.public_url:
            return settings.public_url.rstrip("/")
        return str(request.base_url).rstrip("/")

    async def read_request(request: Request) -> SwapRequest:
        ctype = request.headers.get("content-type", "")
        try:
            if ctype.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
                form = await request.form(
                    max_files=16, max_fields=64, max_part_size=settings.max_body_bytes
                )
                try:
                    body: Any = await form_to_body(form)
                finally:
                    await form.close()
            else:
                body = parse_json_body(await request.body())
            return parse_request(body)
        except InvalidParameter as error:
            raise ApiError(400, str(error)) from None

    async def accept(request: Request, model: str, sync: bool) -> tuple[KeyRecord, SwapRequest]:
        if service.draining:
            raise ApiError(
                503,
                "this server is shutting down and takes no new requests; retry (another node)",
                {"Retry-After": "1"},
            )
        key = authenticate(request)
        if model != MODEL:
            raise ApiError(404, f"model '{model}' not found")
        if not key.allows(model):
            raise ApiError(403, f"this API key is not allowed to use the model '{model}'")
        wait = limiter.acquire(key.id)
        if wait:
            raise ApiError(
                429,
                f"rate limit exceeded: at most {settings.rate_limit:g} requests per second"
                f" per key (burst {settings.rate_burst})",
                {"Retry-After": limiter.retry_after(wait)},
            )
        return key, await read_request(request)

    def submit(key: KeyRecord, parsed: SwapRequest, model: str, sync: bool) -> Any:
        try:
            accepted = queue.submit(
                parsed, key=key, model=model, price=settings.price_per_call, sync=sync
            )
            keys.forget(key.id)  # its cached credits are stale now
            return accepted
        except NoWorker:
            raise ApiError(
                502, "no worker is available to run the request; try again later"
            ) from None
        except QueueFull:
            raise ApiError(
                429,
                f"the queue is full ({settings.queue_capacity} jobs waiting); retry shortly",
                {"Retry-After": "1"},
            ) from None
        except InsufficientCredits as error:
            raise ApiError(406, str(error), credit_headers(error.remaining)) from None

    @router.post(
        "/v1/{model}",
        summary="Run an edit synchronously; returns the image",
        openapi_extra=body_doc,
        responses={200: {"content": {"image/png": {}, "image/jpeg": {}, "image/webp": {}}}},
    )
    async def run_sync(model: str, request: Request) -> Response:
        service.in_flight += 1  # a draining server waits for these
        try:
            return await _run_sync(model, request)
        finally:
            service.in_flight -= 1

    async def _run_sync(model: str, request: Request) -> Response:
        key, parsed = await accept(request, model, sync=True)
        accepted = submit(key, parsed, model, sync=True)
        try:
            outcome = await queue.wait_sync(accepted.job_id, settings.sync_timeout)
        except DeadlineExceeded:
            raise ApiError(
                504,
                f"the request did not finish within {settings.sync_timeout:g} s"
                " (SEGSWAP_SYNC_TIMEOUT); it was cancelled and not charged;"
                " use /v2 for long jobs",
                credit_headers(_current_credits(key)),
            ) from None
        headers = {"X-Request-Id": accepted.job_id}
        if outcome.data is None:
            headers.update(credit_headers(_current_credits(key)))
            raise ApiError(outcome.error_status or 500, outcome.error or "failed", headers)
        headers.update(credit_headers(accepted.remaining_credits))
        if "inference_time" in outcome.metrics:
            headers["X-Inference-Time"] = f"{outcome.metrics['inference_time']:.6f}"
        if parsed.base64:
            encoded = base64.b64encode(outcome.data).decode("ascii")
            return json_response({"image": encoded}, headers=headers)
        return Response(outcome.data, media_type=outcome.content_type, headers=headers)

    def _current_credits(key: KeyRecord) -> float:
        if not key.metered:
            return float("inf")
        try:
            return keys.find(key.id).credits
        except UnknownKey:  # pragma: no cover - deleted meanwhile
            return 0.0

    @router.post("/v2/{model}", summary="Queue an edit; poll its status", openapi_extra=body_doc)
    async def submit_async(model: str, request: Request) -> Response:
        key, parsed = await accept(request, model, sync=False)
        accepted = submit(key, parsed, model, sync=False)
        root = base_url(request)
        job_id = accepted.job_id
        return json_response(
            {
                "request_id": job_id,
                "status": "QUEUED",
                "status_url": f"{root}/v2/requests/{job_id}/status",
                "response_url": f"{root}/v2/requests/{job_id}",
            },
            headers=credit_headers(accepted.remaining_credits),
        )

    def find_job(request: Request, request_id: str) -> tuple[KeyRecord, JobView]:
        key = authenticate(request)
        return key, find_own_job(service, key, request_id)

    @router.get("/v2/requests/{request_id}/status", summary="A request's state")
    async def status(request_id: str, request: Request) -> Response:
        # Served by segswap.service.http.fastpath; this route documents it and is the fallback.
        key = authenticate(request)
        code, body = poll_status(service, key, request_id)
        return json_response(body, code, credit_headers(key.credits))

    @router.get("/v2/requests/{request_id}", summary="A request's result")
    async def result(request_id: str, request: Request) -> Response:
        key, job = find_job(request, request_id)
        headers = credit_headers(key.credits)
        body: dict[str, Any] = {"request_id": job.id, "status": job.state}
        if job.state == "FAILED":
            body.update(error=job.error, metrics=job.metrics)
            return json_response(body, 422, headers)
        if job.state != "COMPLETED":
            return json_response(body, 200, headers)
        if job.base64:
            data = queue.result_bytes(job)
            if data is None:
                raise ApiError(404, f"request '{request_id}' not found: its result expired")
            output = base64.b64encode(data).decode("ascii")
        else:
            output = f"{base_url(request)}/media/{job.media_file}"
        body.update(output=output, metrics=job.metrics)
        return json_response(body, 200, headers)

    @router.get(
        "/media/{name}",
        summary="A result image (capability URL: no key needed)",
        responses={200: {"content": {"image/png": {}, "image/jpeg": {}, "image/webp": {}}}},
    )
    async def media(name: str) -> Response:
        found = queue.media(name)
        if found is None:
            raise ApiError(404, "no such result: unknown or expired")
        data, ctype = found
        return Response(data, media_type=ctype, headers={"Cache-Control": "private, max-age=60"})

    @router.get("/health", summary="200 once the server can take work, else 503")
    async def health() -> Response:
        ready = queue.ready() and not service.draining
        try:
            workers, depth = queue.live_workers(), queue.depth()
        except StoreUnavailable:
            workers = depth = 0
        body = {
            "status": "ok" if ready else ("draining" if service.draining else "unavailable"),
            "workers": workers,
            "queue_depth": depth,
        }
        return json_response(body, 200 if ready else 503)

    @router.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def metrics() -> Response:
        return Response(
            service.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8"
        )

    def require_admin(request: Request) -> KeyRecord:
        key = authenticate(request)
        if not key.admin:
            raise ApiError(403, "this endpoint needs an admin key")
        return key

    @router.get("/admin/keys", summary="List keys (admin keys only)")
    async def list_keys(request: Request) -> Response:
        require_admin(request)
        return json_response({"keys": [record.public() for record in keys.list()]})

    @router.post("/admin/keys", summary="Create a key (admin keys only); returns it once")
    async def create_key(request: Request) -> Response:
        require_admin(request)
        body = parse_json_body(await request.body() or b"{}")
        if not isinstance(body, dict):
            raise ApiError(400, "body: expected a JSON object")
        credits = body.get("credits", settings.default_credits)
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
            secret, record = keys.create(
                name=name, credits=float(credits), admin=bool(body.get("admin")), models=models
            )
        except ValueError as error:
            raise ApiError(400, f"name: {error}") from None
        return json_response({"key": secret, **record.public()}, 201)

    return router
