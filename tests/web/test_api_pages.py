"""The API reference pages in a real browser: ``/redoc`` (ReDoc) and ``/docs`` (Swagger
UI) render every operation of ``GET /openapi.json``, with no error text and no script
error, loading nothing from any other host. Each page's screenshot is written to
``test-artifacts/`` (``redoc.png``, ``swagger-ui.png``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from service_support import HTTP_TIMEOUT

ERROR_TEXTS = (
    "Something went wrong",  # ReDoc's error boundary
    "failed to render",
    "Resolver error",  # Swagger UI, an unresolved $ref
    "Failed to load API definition",
    "Invalid reference token",
    "Could not resolve reference",
    "does not exist",
)


def operations(url: str) -> list[tuple[str, str, str]]:
    """Every operation of the served document: (method, path, summary)."""
    spec = httpx.get(url + "/openapi.json", timeout=HTTP_TIMEOUT).json()
    return [
        (method.upper(), path, operation["summary"])
        for path, methods in spec["paths"].items()
        for method, operation in methods.items()
    ]


@pytest.fixture
def api_page(browser: Any, web_server: Any) -> Iterator[Any]:
    """A fresh page that records uncaught script errors, console errors and requests to
    any other host than the server."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.errors = []
    page.console_errors = []
    page.elsewhere = []
    page.on(
        "request",
        lambda request: (
            None
            if request.url.startswith((web_server.url + "/", "data:", f"blob:{web_server.url}/"))
            else page.elsewhere.append(request.url)
        ),
    )
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.on(
        "console",
        lambda message: (
            page.console_errors.append(message.text) if message.type == "error" else None
        ),
    )
    yield page
    context.close()


def visible_errors(text: str) -> list[str]:
    return [marker for marker in ERROR_TEXTS if marker.lower() in text.lower()]


def test_redoc_renders_every_operation(api_page: Any, web_server: Any, artifacts: Path) -> None:
    expected = operations(web_server.url)
    assert len(expected) >= 10
    api_page.goto(web_server.url + "/redoc")
    # ReDoc puts one menu entry per operation in its side menu once the document rendered
    entries = "[role=menuitem] .operation-type"
    api_page.wait_for_function(
        f"() => document.querySelectorAll('{entries}').length >= {len(expected)}"
    )
    menu = api_page.locator(entries).count()
    text = api_page.inner_text("body")
    api_page.screenshot(path=str(artifacts / "redoc.png"))
    assert menu == len(expected)
    assert [summary for _, _, summary in expected if summary not in text] == []
    assert visible_errors(text) == []
    assert api_page.errors == [] and api_page.console_errors == []
    assert api_page.elsewhere == []


def test_swagger_ui_renders_every_operation_expanded(
    api_page: Any, web_server: Any, artifacts: Path
) -> None:
    expected = operations(web_server.url)
    api_page.goto(web_server.url + "/docs")
    api_page.wait_for_function(
        f"() => document.querySelectorAll('.opblock').length >= {len(expected)}"
    )
    shown = api_page.eval_on_selector_all(
        ".opblock",
        """blocks => blocks.map(b => [
            b.querySelector('.opblock-summary-method').textContent.trim(),
            b.querySelector('.opblock-summary-path').dataset.path])""",
    )
    assert sorted(map(tuple, shown)) == sorted((method, path) for method, path, _ in expected)
    # expand every operation: Swagger UI resolves an operation's $refs only when it opens
    for control in api_page.locator(".opblock-summary-control").all():
        control.click()
    api_page.wait_for_function(
        f"() => document.querySelectorAll('.opblock .responses-wrapper').length >= {len(expected)}"
    )
    api_page.wait_for_load_state("networkidle")
    text = api_page.inner_text("body")
    api_page.screenshot(path=str(artifacts / "swagger-ui.png"))
    assert api_page.locator(".errors-wrapper").count() == 0
    assert visible_errors(text) == []
    assert api_page.errors == [] and api_page.console_errors == []
    assert api_page.elsewhere == []
