"""The "swap by hand" page in a real browser against a real ``segswap serve``: load a
scene and an object, paint the mask with the mouse, submit through /v2, watch the state,
compare, download; errors shown as the server words them; usable at 400 px."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image
from service_support import HTTP_TIMEOUT

SCENE_SIZE = (600, 400)  # skimage.data.coffee(), width × height

# Every input, select, textarea and button without an accessible label: label[for],
# aria-label / aria-labelledby, a wrapping <label>, or (buttons only) their own text.
UNLABELLED_JS = """() => Array.from(document.querySelectorAll('input, select, textarea, button'))
  .filter((el) => {
    if ((el.getAttribute('aria-label') || '').trim()) return false;
    if (el.getAttribute('aria-labelledby')) return false;
    if (el.id && document.querySelector(`label[for="${CSS.escape(el.id)}"]`)) return false;
    if (el.closest('label')) return false;
    if (el.tagName === 'BUTTON' && el.textContent.trim()) return false;
    return true;
  })
  .map((el) => el.id || el.outerHTML)"""


def load_inputs(page: Any, images: dict[str, Path], key: str | None, with_object: bool = True):
    if key is not None:
        page.fill("#api-key", key)
    page.set_input_files("#scene-file", str(images["scene"]))
    page.wait_for_selector("#stage", state="visible")
    page.click("label[for=tool-paint]")  # these tests paint (the default tool selects a box)
    if with_object:
        page.set_input_files("#object-file", str(images["object"]))
        page.wait_for_selector("#object-img", state="visible")


def stroke(page: Any, *points: tuple[float, float]) -> None:
    """Drag the mouse over the mask canvas through ``points`` (fractions of its box)."""
    canvas = page.locator("#mask-canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    xy = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in points]
    page.mouse.move(*xy[0])
    page.mouse.down()
    for x, y in xy[1:]:
        page.mouse.move(x, y, steps=8)
    page.mouse.up()


def status(page: Any) -> tuple[str, str]:
    return page.get_attribute("#status", "data-state"), page.inner_text("#status-text")


def wait_settled(page: Any, timeout_ms: float = 30_000) -> tuple[str, str]:
    page.wait_for_function(
        "() => ['done', 'failed'].includes(document.getElementById('status').dataset.state)",
        timeout=timeout_ms,
    )
    return status(page)


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def data_uri_bytes(uri: str) -> bytes:
    head, _, payload = uri.partition(",")
    assert head.startswith("data:image/") and head.endswith(";base64"), head
    return base64.b64decode(payload)


def record_submissions(page: Any) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    def on_request(request: Any) -> None:
        if request.method == "POST" and request.url.endswith("/v2/seg-swap"):
            sent.append(json.loads(request.post_data))

    page.on("request", on_request)
    return sent


def test_swap_by_hand(
    new_page, web_server: Any, web_key: str, web_images: dict[str, Path], artifacts: Path
) -> None:
    page = new_page(1280, 800)
    sent = record_submissions(page)
    load_inputs(page, web_images, web_key)

    # The page shows the scene scaled (not at its own size), and the controls beside it.
    canvas_box = page.locator("#mask-canvas").bounding_box()
    assert abs(canvas_box["width"] - SCENE_SIZE[0]) > 50, canvas_box
    assert page.locator(".controls").bounding_box()["x"] >= (
        page.locator(".workspace").bounding_box()["x"]
        + page.locator(".workspace").bounding_box()["width"]
    )

    page.fill("#brush-size", "70")
    # Kept: a zigzag over the cup.
    stroke(
        page,
        (0.34, 0.12),
        (0.62, 0.12),
        (0.34, 0.3),
        (0.64, 0.3),
        (0.36, 0.5),
        (0.62, 0.5),
        (0.4, 0.62),
    )
    page.fill("#brush-size", "30")
    stroke(page, (0.05, 0.08), (0.15, 0.12))  # undone with Ctrl+Z
    assert page.is_enabled("#undo")
    page.keyboard.press("Control+z")
    stroke(page, (0.9, 0.9), (0.95, 0.85))  # undone with the button
    page.click("#undo")
    assert page.is_enabled("#undo")  # the first stroke is still there

    page.click("#submit")
    seen_states = set()
    for _ in range(600):
        state, text = status(page)
        seen_states.add(state)
        if state in ("done", "failed"):
            break
        page.wait_for_timeout(25)
    state, text = wait_settled(page)
    assert state == "done", text
    assert seen_states & {"working", "queued", "processing"}, seen_states

    # What was sent: scene and object as loaded, the mask at the scene's own size.
    assert len(sent) == 1
    body = sent[0]
    assert data_uri_bytes(body["main_image"]) == web_images["scene"].read_bytes()
    assert data_uri_bytes(body["object_image"]) == web_images["object"].read_bytes()
    mask = np.asarray(decode(data_uri_bytes(body["mask_image"])).convert("L"))
    assert mask.shape == (SCENE_SIZE[1], SCENE_SIZE[0])
    assert set(np.unique(mask)) <= {0, 255}
    width, height = SCENE_SIZE
    assert mask[int(0.5 * height), int(0.5 * width)] == 255  # the kept stroke
    assert mask[int(0.3 * height), int(0.45 * width)] == 255
    assert mask[int(0.10 * height), int(0.10 * width)] == 0  # undone (Ctrl+Z)
    assert mask[int(0.87 * height), int(0.92 * width)] == 0  # undone (button)
    assert mask[5, width - 5] == 0
    white = mask > 127
    assert 0.05 < white.mean() < 0.4, white.mean()
    assert body["steps"] == 30 and body["seed"] == 42 and body["mode"] == "auto"
    assert body["image_format"] == "png" and body["fashion_strength"] == 1

    # The result, at the scene's natural size, in the before/after view.
    natural = page.eval_on_selector("#result-img", "img => [img.naturalWidth, img.naturalHeight]")
    assert tuple(natural) == SCENE_SIZE
    assert page.is_visible("#compare")
    page.fill("#compare-range", "80")
    assert page.eval_on_selector("#compare", "el => el.style.getPropertyValue('--pos')") == "80%"

    with page.expect_download() as info:
        page.click("#download")
    download = info.value
    assert download.suggested_filename.endswith(".png")
    result = decode(Path(download.path()).read_bytes())
    assert result.size == SCENE_SIZE
    scene = np.asarray(Image.open(web_images["scene"]).convert("RGB"), np.int16)
    out = np.asarray(result.convert("RGB"), np.int16)
    assert np.abs(out - scene)[white].mean() > 10  # the masked region was edited
    assert np.array_equal(out[:40, :40], scene[:40, :40])  # far from the mask: untouched

    page.fill("#compare-range", "50")
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(artifacts / "web-swap-by-hand.png"), full_page=True)
    assert page.errors == [] and page.console_errors == []

    # The key is remembered by this browser.
    page.reload()
    page.wait_for_selector("html[data-ready=true]")
    assert page.input_value("#api-key") == web_key


def test_invalid_key_shows_the_401(new_page, web_server: Any, web_images: dict[str, Path]) -> None:
    page = new_page()
    load_inputs(page, web_images, "sk-not-a-real-key")
    stroke(page, (0.4, 0.4), (0.6, 0.6))
    page.click("#submit")
    state, text = wait_settled(page, 15_000)
    expected = httpx.post(
        web_server.url + "/v2/seg-swap",
        json={},
        headers={"x-api-key": "sk-not-a-real-key"},
        timeout=HTTP_TIMEOUT,
    ).json()["error"]
    assert state == "failed"
    assert "401" in text and expected in text, text
    assert page.evaluate("document.activeElement.id") == "api-key"
    assert page.errors == []


def test_errors_are_readable(new_page, web_key: str, web_images: dict[str, Path]) -> None:
    page = new_page()

    # Nothing loaded yet: said so, no request.
    page.click("#submit")
    assert status(page)[0] == "failed" and "scene" in status(page)[1]

    load_inputs(page, web_images, web_key)
    page.click("#submit")
    assert "mask is empty" in status(page)[1]
    stroke(page, (0.4, 0.4), (0.6, 0.6))

    # 400 naming the field: the server's message, the field flagged.
    page.fill("#steps", "5")
    page.click("#submit")
    state, text = wait_settled(page, 15_000)
    assert state == "failed" and "(400)" in text and "steps" in text and "10-100" in text, text
    assert page.get_attribute("#steps", "aria-invalid") == "true"
    page.click("#reset-params")
    assert page.input_value("#steps") == "30"

    # 429 and 406 as the server sends them (answered here, before the server).
    def rate_limited(route: Any) -> None:
        route.fulfill(
            status=429,
            headers={"Retry-After": "2"},
            content_type="application/json",
            body=json.dumps({"error": "rate limit exceeded: at most 50 requests"}),
        )

    page.route("**/v2/seg-swap", rate_limited)
    page.click("#submit")
    state, text = wait_settled(page, 15_000)
    assert "(429)" in text and "rate limit exceeded" in text and "Retry after 2 s" in text, text
    assert page.is_disabled("#submit")  # until Retry-After has passed
    page.unroute("**/v2/seg-swap")
    page.wait_for_selector("#submit:enabled", timeout=5_000)

    def no_credits(route: Any) -> None:
        route.fulfill(
            status=406,
            content_type="application/json",
            body=json.dumps({"error": "not enough credits: 0 left"}),
        )

    page.route("**/v2/seg-swap", no_credits)
    page.click("#submit")
    state, text = wait_settled(page, 15_000)
    assert "Not enough credits (406)" in text and "0 left" in text, text
    page.unroute("**/v2/seg-swap")

    # A request the worker fails: FAILED (422) with the server's error text.
    def broken_object(route: Any) -> None:
        body = json.loads(route.request.post_data)
        body["object_image"] = "data:image/png;base64," + base64.b64encode(b"no image").decode()
        route.continue_(post_data=json.dumps(body))

    page.route("**/v2/seg-swap", broken_object)
    page.click("#submit")
    state, text = wait_settled(page, 15_000)
    assert state == "failed" and text.startswith("Failed: ") and "object_image" in text, text
    page.unroute("**/v2/seg-swap")
    assert page.errors == []


def test_narrow_window_remove_mode_and_labels(
    new_page, web_key: str, web_images: dict[str, Path], artifacts: Path
) -> None:
    page = new_page(400, 800)
    assert page.evaluate(UNLABELLED_JS) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= 400

    load_inputs(page, web_images, web_key, with_object=False)
    workspace = page.locator(".workspace").bounding_box()
    controls = page.locator(".controls").bounding_box()
    assert controls["y"] >= workspace["y"] + workspace["height"]  # stacked below the canvas
    assert page.locator("#mask-canvas").bounding_box()["width"] <= 400

    # Remove mode needs no object image (a transparent one is sent).
    page.select_option("#mode", "remove")
    stroke(page, (0.45, 0.45), (0.55, 0.5))
    page.click("#submit")
    state, text = wait_settled(page)
    assert state == "done", text
    natural = page.eval_on_selector("#result-img", "i => [i.naturalWidth, i.naturalHeight]")
    assert tuple(natural) == SCENE_SIZE

    assert page.evaluate("document.documentElement.scrollWidth") <= 400
    assert page.evaluate(UNLABELLED_JS) == []
    page.screenshot(path=str(artifacts / "web-swap-by-hand-400px.png"), full_page=True)

    # Keyboard focus is visible: the first Tab stop (the scene picker) shows an outline.
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.keyboard.press("Tab")
    outline = page.evaluate("""() => {
        const el = document.activeElement;
        const shown = el.classList.contains('visually-hidden')
            ? document.querySelector(`label[for="${el.id}"]`) : el;
        const style = getComputedStyle(shown);
        return [el.tagName, style.outlineStyle, parseFloat(style.outlineWidth)];
    }""")
    assert outline[1] != "none" and outline[2] >= 2, outline
    assert page.errors == [] and page.console_errors == []


def test_drop_and_paste(new_page, web_images: dict[str, Path]) -> None:
    """A dropped file loads as the object, a pasted one as the scene."""
    page = new_page()
    send = """([target, type, name, b64, kind]) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const data = new DataTransfer();
        data.items.add(new File([bytes], name, { type }));
        const el = document.getElementById(target);
        if (kind === 'paste') {
            el.dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true }));
        } else {
            for (const event of ['dragover', 'drop']) {
                el.dispatchEvent(new DragEvent(event, { dataTransfer: data, bubbles: true,
                                                        cancelable: true }));
            }
        }
    }"""

    def b64(path: Path) -> str:
        return base64.b64encode(path.read_bytes()).decode()

    page.evaluate(send, ["object-drop", "image/png", "logo.png", b64(web_images["object"]), "drop"])
    page.wait_for_selector("#object-img", state="visible")
    assert page.eval_on_selector("#object-img", "i => i.naturalWidth") == 128
    page.evaluate(send, ["scene-drop", "image/png", "", b64(web_images["scene"]), "paste"])
    page.wait_for_selector("#stage", state="visible")
    assert "600×400" in page.inner_text("#scene-info")
    assert page.eval_on_selector("#scene-img", "i => [i.naturalWidth, i.naturalHeight]") == [
        600,
        400,
    ]
    # A file that is not an image: a readable message, nothing replaced.
    page.evaluate(send, ["scene-drop", "image/png", "x.png", b64(Path(__file__)), "drop"])
    page.wait_for_function("() => document.getElementById('status').dataset.state === 'failed'")
    assert "not an image" in page.inner_text("#status-text")
    assert page.is_visible("#stage")
    assert page.errors == []


@pytest.mark.parametrize("path", ["/web/app.js", "/web/style.css"])
def test_assets_are_served(web_server: Any, path: str) -> None:
    response = httpx.get(web_server.url + path, timeout=HTTP_TIMEOUT)
    assert response.status_code == 200 and response.text


def test_only_the_pages_files_are_served(web_server: Any) -> None:
    page = httpx.get(web_server.url + "/", timeout=HTTP_TIMEOUT)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    for path in ("/web/__init__.py", "/web/index.html/..", "/web/../app.py", "/web/nothing"):
        response = httpx.get(web_server.url + path, timeout=HTTP_TIMEOUT)
        assert response.status_code == 404, path
        assert "error" in response.json()
