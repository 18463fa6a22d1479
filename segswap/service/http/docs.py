"""The interactive API pages, ``GET /docs`` (Swagger UI) and ``GET /redoc`` (ReDoc),
served from files installed with the package (the ``fastapi-offline`` dependency ships
them), so they work on a box without internet access: every URL the pages load is on
this server, under ``/docs/assets/``."""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from fastapi import FastAPI, HTTPException, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, Response

ASSET_DIR = files("fastapi_offline") / "static"
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "redoc.standalone.js": "text/javascript; charset=utf-8",
    "favicon.png": "image/png",
}
"""The files served under ``/docs/assets/`` and their media types."""

REDOC_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"
"""The one URL ReDoc's script loads from elsewhere (its attribution logo, always shown)."""
LOCAL_LOGO = b"/docs/assets/favicon.png"


@cache
def _redoc_script() -> bytes:
    """ReDoc's script with its attribution logo taken from this server (this keeps the
    page free of requests to other hosts, which fail on a box without internet)."""
    script = (ASSET_DIR / "redoc.standalone.js").read_bytes()
    return script.replace(REDOC_LOGO, LOCAL_LOGO)


def mount_docs(app: FastAPI) -> None:
    """Serve ``/docs``, ``/redoc`` and their assets on ``app`` (made with
    ``docs_url=None, redoc_url=None``), all left out of the OpenAPI document."""

    def asset_url(request: Request, name: str) -> str:
        return f"{request.scope.get('root_path', '')}/docs/assets/{name}"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - Swagger UI",
            swagger_js_url=asset_url(request, "swagger-ui-bundle.js"),
            swagger_css_url=asset_url(request, "swagger-ui.css"),
            swagger_favicon_url=asset_url(request, "favicon.png"),
            oauth2_redirect_url=None,
            # no badge fetched from the online validator
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - ReDoc",
            redoc_js_url=asset_url(request, "redoc.standalone.js"),
            redoc_favicon_url=asset_url(request, "favicon.png"),
            with_google_fonts=False,
        )

    @app.get("/docs/assets/{name}", include_in_schema=False)
    async def asset(name: str) -> Response:
        media_type = ASSETS.get(name)
        if media_type is None:
            raise HTTPException(404)
        cache_control = {"Cache-Control": "public, max-age=86400"}
        if name == "redoc.standalone.js":
            return Response(_redoc_script(), media_type=media_type, headers=cache_control)
        return FileResponse(
            str(ASSET_DIR / name),
            media_type=media_type,
            headers=cache_control,
        )
