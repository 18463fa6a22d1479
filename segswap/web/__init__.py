"""The "swap by hand" web page: select (box, clicks) or paint a mask over a scene, drop
in an object, watch the request run through ``POST /v2/seg-swap``.

Static files only (``index.html``, ``app.js``, ``mask.js``, ``style.css``: no framework, no build
step, nothing fetched from elsewhere), shipped inside the package. :func:`mount` serves
the page at ``GET /`` and its assets at ``GET /web/<name>`` of a FastAPI app; the page
calls the API with relative URLs, so it works wherever the API is served (same origin,
no CORS needed).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse

WEB_DIR = Path(__file__).resolve().parent

#: The files served under ``/web/`` and their media types (nothing else is served, so
#: this package's Python files never are).
ASSETS = {
    "app.js": "text/javascript; charset=utf-8",
    "mask.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
}

#: The page loads only its own script and style; images are data:/blob: URIs or results
#: of this server (possibly under ``SEGSWAP_PUBLIC_URL``, hence http(s) for img/connect).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data: blob: http: https:; connect-src 'self' data: http: https:; "
    "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def asset_path(name: str) -> Path:
    """The file of the page (``index.html``) or of one of its :data:`ASSETS`."""
    return WEB_DIR / name


def mount(app: FastAPI) -> None:
    """Serve the page at ``GET /`` and its assets at ``GET /web/{name}`` on ``app``.

    Idempotent: does nothing if ``app`` already has a ``/`` route.
    """
    if any(getattr(route, "path", None) == "/" for route in app.router.routes):
        return

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(
            asset_path("index.html"), media_type="text/html; charset=utf-8", headers=PAGE_HEADERS
        )

    @app.get("/web/{name}", include_in_schema=False)
    async def asset(name: str) -> FileResponse:
        media_type = ASSETS.get(name)
        if media_type is None:
            raise HTTPException(404)
        headers = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
        return FileResponse(asset_path(name), media_type=media_type, headers=headers)
