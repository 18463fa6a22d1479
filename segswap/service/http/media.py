"""``GET /media/{name}``: a result image by its capability URL (no key needed)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from segswap.service.http.dependencies import ServiceDep
from segswap.service.http.openapi import answers
from segswap.service.http.responses import ApiError
from segswap.service.http.submission import IMAGE_CONTENT

router = APIRouter()


@router.get(
    "/media/{name}",
    summary="A result image (capability URL: no key needed)",
    responses=answers(
        {200: {"description": "the image", "content": IMAGE_CONTENT}},
        (404, "unknown or expired result"),
        500,
        503,
    ),
)
async def media(name: str, service: ServiceDep) -> Response:
    """The image bytes, until the job's results expire (404 after)."""
    found = service.queue.media(name)
    if found is None:
        raise ApiError(404, "no such result: unknown or expired")
    data, ctype = found
    return Response(data, media_type=ctype, headers={"Cache-Control": "private, max-age=60"})
