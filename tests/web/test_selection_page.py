"""Select instead of paint, in a real browser against a real ``segswap serve``: drag a
box around the cup in skimage's coffee photo, compare the mask with a hand-drawn outline,
refine it, check it with the mask doctor, swap; the page's layout at 1280×800 (every
control in view, no label cut, checked by geometry) and at 400 px; the before/after
slider's ends."""

from __future__ import annotations

import base64
import io
import json
import sys
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))
from selection_references import iou, load_references, reference_mask  # noqa: E402

CUP = next(r for r in load_references() if r.name == "cup-and-saucer")
SCENE_SIZE = (600, 400)

# Every visible label-like element that is cut: partly outside the window, its text
# overflowing its box, or covered (at its centre or inset corners) by another element.
CUT_LABELS_JS = """(scope) => {
  const root = scope ? document.querySelector(scope) : document;
  const picked = root.querySelectorAll(
    'label, legend, button, output, .seg, .range, .compare-end, h1, h2, #prompt-note, ' +
    '.button, #status-text, #scene-info');
  const cut = [];
  const name = (el) => el.id || el.getAttribute('for') || el.textContent.trim().slice(0, 40);
  for (const el of picked) {
    if (el.closest('.visually-hidden') || el.closest('[hidden]')) continue;
    const style = getComputedStyle(el);
    if (style.display === 'none' || style.visibility === 'hidden') continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    const outside = r.left < -0.5 || r.top < -0.5 || r.right > innerWidth + 0.5
      || r.bottom > innerHeight + 0.5;
    if (outside) {
      const where = JSON.stringify([r.left, r.top, r.right, r.bottom]);
      cut.push(`${name(el)}: outside the window ${where}`);
      continue;
    }
    if (el.scrollWidth > el.clientWidth + 1 && style.overflowX !== 'visible') {
      cut.push(`${name(el)}: text wider than its box`);
    }
    if (el.scrollHeight > el.clientHeight + 1 && style.overflowY !== 'visible') {
      cut.push(`${name(el)}: text taller than its box`);
    }
    const inset = Math.min(3, r.width / 4, r.height / 4);
    const probes = [[(r.left + r.right) / 2, (r.top + r.bottom) / 2],
                    [r.left + inset, r.top + inset], [r.right - inset, r.top + inset],
                    [r.left + inset, r.bottom - inset], [r.right - inset, r.bottom - inset]];
    for (const [x, y] of probes) {
      const hit = document.elementFromPoint(x, y);
      if (!hit || !(el.contains(hit) || hit.contains(el))) {
        cut.push(`${name(el)}: covered at ${Math.round(x)},${Math.round(y)} by ` +
                 `${hit ? (hit.id || hit.className || hit.tagName) : 'nothing'}`);
        break;
      }
    }
  }
  return cut;
}"""

# Every form control of the page (the mask tools and the sidebar) that is not wholly in
# the window.
OUT_OF_VIEW_CONTROLS_JS = """() => Array.from(document.querySelectorAll(
    '.toolbar button, .toolbar .button, .toolbar .seg, ' +
    '.toolbar input:not([type=radio]):not([type=file]), ' +
    '.controls input:not([type=file]), .controls select, .controls textarea, .controls button, ' +
    '.controls .button, .top input, .top button'))
  .filter((el) => !el.closest('[hidden]') && !el.classList.contains('visually-hidden'))
  .filter((el) => {
    const r = el.getBoundingClientRect();
    return r.top < 0 || r.left < 0 || r.bottom > innerHeight || r.right > innerWidth;
  })
  .map((el) => el.id || el.getAttribute('for') || el.outerHTML.slice(0, 60))"""


def write_png(path: Path, array: np.ndarray) -> Path:
    Image.fromarray(array).save(path, "PNG")
    return path


def decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("L"))


def data_uri_bytes(uri: str) -> bytes:
    return base64.b64decode(uri.partition(",")[2])


def drag_box(page: Any, box: tuple[float, float, float, float]) -> None:
    """Drag on the mask canvas from the box's top-left to its bottom-right (scene px)."""
    canvas = page.locator("#mask-canvas")
    canvas.scroll_into_view_if_needed()
    r = canvas.bounding_box()
    sx, sy = r["width"] / SCENE_SIZE[0], r["height"] / SCENE_SIZE[1]
    left, top, right, bottom = box
    page.mouse.move(r["x"] + left * sx, r["y"] + top * sy)
    page.mouse.down()
    page.mouse.move(r["x"] + right * sx, r["y"] + bottom * sy, steps=12)
    page.mouse.up()


def click_scene(page: Any, x: float, y: float) -> None:
    r = page.locator("#mask-canvas").bounding_box()
    page.mouse.click(
        r["x"] + x * r["width"] / SCENE_SIZE[0], r["y"] + y * r["height"] / SCENE_SIZE[1]
    )


def wait_idle(page: Any) -> tuple[str, str]:
    page.wait_for_function(
        "() => !document.getElementById('stage').classList.contains('selecting')"
        " && document.getElementById('status').dataset.state !== 'working'",
        timeout=30_000,
    )
    return page.get_attribute("#status", "data-state"), page.inner_text("#status-text")


def saved_mask(page: Any) -> np.ndarray:
    with page.expect_download() as info:
        page.click("#save-mask")
    return decode(Path(info.value.path()).read_bytes()) > 127


def choose_tool(page: Any, tool: str) -> None:
    page.click(f"label[for=tool-{tool}]")


def record(page: Any, suffix: str) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []
    page.on(
        "request",
        lambda request: (
            sent.append(json.loads(request.post_data))
            if request.method == "POST" and request.url.endswith(suffix)
            else None
        ),
    )
    return sent


def load_scene(page: Any, web_images: dict[str, Path], key: str, with_object: bool = True):
    page.fill("#api-key", key)
    page.set_input_files("#scene-file", str(web_images["scene"]))
    page.wait_for_selector("#stage", state="visible")
    if with_object:
        page.set_input_files("#object-file", str(web_images["object"]))
        page.wait_for_selector("#object-img", state="visible")


def test_select_a_box_then_swap(
    new_page, web_key: str, web_images: dict[str, Path], artifacts: Path
) -> None:
    page = new_page(1280, 800)
    assert page.evaluate(CUT_LABELS_JS, None) == []  # the empty page too
    selections = record(page, "/v2/masks")
    swaps = record(page, "/v2/seg-swap")
    load_scene(page, web_images, web_key)
    assert "composite" in page.inner_text("#prompt-note")
    assert "Ignored" in page.inner_text("#prompt-note")

    drag_box(page, CUP.box)
    state, text = wait_idle(page)
    assert state == "idle" and text.startswith("Selected"), text
    assert page.is_visible("#select-box")
    # What the page sent: a crop of the scene around the box, the box in its pixels.
    assert len(selections) == 1
    crop = decode(data_uri_bytes(selections[0]["main_image"]))
    assert crop.shape[0] <= SCENE_SIZE[1] and crop.shape[1] <= SCENE_SIZE[0]

    mask = saved_mask(page)
    expected = reference_mask(CUP)
    assert mask.shape == expected.shape
    score = iou(mask, expected)
    assert score >= 0.8, score
    (artifacts / "web-select-iou.txt").write_text(f"cup-and-saucer box-select IoU {score:.3f}\n")

    # At 1280×800 every control is in view and no label is cut.
    assert page.evaluate(OUT_OF_VIEW_CONTROLS_JS) == []
    assert page.evaluate(CUT_LABELS_JS, None) == []
    page.screenshot(path=str(artifacts / "web-select-1280x800.png"))

    page.click("#submit")
    page.wait_for_function(
        "() => ['done', 'failed', 'warned']"
        ".includes(document.getElementById('status').dataset.state)",
        timeout=60_000,
    )
    state, text = page.get_attribute("#status", "data-state"), page.inner_text("#status-text")
    assert state == "done", text  # a clean selection: no warning, straight through
    assert page.is_hidden("#mask-warnings")
    assert len(swaps) == 1
    sent_mask = decode(data_uri_bytes(swaps[0]["mask_image"])) > 127
    assert np.array_equal(sent_mask, mask)

    # The result, and the slider's ends: 0 = "Before" (the scene), 100 = "After".
    assert page.locator(".compare-end").all_inner_texts() == ["Before", "After"]
    page.locator("#result").scroll_into_view_if_needed()
    scene = np.asarray(Image.open(web_images["scene"]).convert("RGB"), np.float32)
    with page.expect_download() as info:
        page.click("#download")
    result = np.asarray(Image.open(info.value.path()).convert("RGB"), np.float32)
    assert np.abs(result - scene)[expected].mean() > 10  # the cup was replaced

    def shown(position: int) -> np.ndarray:
        page.fill("#compare-range", str(position))
        shot = page.locator("#compare").screenshot()
        view = np.asarray(Image.open(io.BytesIO(shot)).convert("RGB"), np.float32)
        return view

    for position, should_match, other in ((100, result, scene), (0, scene, result)):
        view = shown(position)
        size = (view.shape[1], view.shape[0])
        near = cv2.resize(should_match, size, interpolation=cv2.INTER_AREA)
        far = cv2.resize(other, size, interpolation=cv2.INTER_AREA)
        region = cv2.resize(expected.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
        assert np.abs(view - near)[region].mean() < 0.5 * np.abs(view - far)[region].mean()
    page.fill("#compare-range", "50")
    assert page.evaluate(CUT_LABELS_JS, "#result") == []
    page.screenshot(path=str(artifacts / "web-result-1280x800.png"))
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(artifacts / "web-select-full-page.png"), full_page=True)
    assert page.errors == [] and page.console_errors == []


def test_clicks_add_and_remove_parts(new_page, web_key: str, web_images: dict[str, Path]) -> None:
    page = new_page(1280, 800)
    selections = record(page, "/v2/masks")
    load_scene(page, web_images, web_key, with_object=False)
    drag_box(page, CUP.box)
    wait_idle(page)
    before = saved_mask(page)
    assert before[280, 365]  # the spoon's bowl is in the selection

    choose_tool(page, "remove")
    click_scene(page, 365, 280)
    wait_idle(page)
    removed = saved_mask(page)
    assert not removed[280, 365]
    body = selections[-1]
    assert len(body["points"]) == 1 and body["points"][0]["positive"] is False
    assert "box" in body  # the click refines the box's selection

    choose_tool(page, "add")
    click_scene(page, 540, 60)  # wood outside the box: a new region around the click
    wait_idle(page)
    added = saved_mask(page)
    assert added[60, 540] and added[removed].all()  # added to, nothing lost
    assert page.errors == []

    # Undo walks back through the clicks.
    page.click("#undo")
    assert np.array_equal(saved_mask(page), removed)
    page.click("#undo")
    assert np.array_equal(saved_mask(page), before)


def test_mask_tools(new_page, web_key: str, web_images: dict[str, Path], tmp_path: Path) -> None:
    page = new_page(1280, 800)
    load_scene(page, web_images, web_key, with_object=False)
    assert page.is_disabled("#save-mask") and page.is_disabled("#grow-mask")
    drag_box(page, CUP.box)
    wait_idle(page)
    selected = saved_mask(page)

    def distance_to(mask: np.ndarray, value: bool) -> np.ndarray:
        other = np.where(mask == value, 0, 255).astype(np.uint8)
        return cv2.distanceTransform(other, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)

    page.fill("#grow-step", "6")
    page.click("#grow-mask")
    grown = saved_mask(page)
    assert np.array_equal(grown, distance_to(selected, True) <= 6.0)
    page.click("#shrink-mask")
    shrunk = saved_mask(page)
    assert np.array_equal(shrunk, grown & (distance_to(grown, False) > 6.0))
    assert iou(shrunk, selected) > 0.97  # closing: back to (nearly) the selection

    page.click("#invert-mask")
    assert np.array_equal(saved_mask(page), ~shrunk)
    page.click("#clear-mask")
    assert page.is_disabled("#save-mask") and page.is_disabled("#clear-mask")
    page.click("#undo")
    assert np.array_equal(saved_mask(page), ~shrunk)

    # A mask file: read like the server reads it (> 127), resized to the scene.
    half = cv2.resize(
        np.where(reference_mask(CUP), 255, 0).astype(np.uint8),
        (300, 200),
        interpolation=cv2.INTER_NEAREST,
    )
    page.set_input_files("#mask-file", str(write_png(tmp_path / "half.png", half)))
    page.wait_for_function(
        "() => document.getElementById('status-text').textContent.startsWith('Mask loaded')"
    )
    assert "resized to 600×400" in page.inner_text("#status-text")
    loaded = saved_mask(page)
    expected = cv2.resize(half, SCENE_SIZE, interpolation=cv2.INTER_NEAREST) > 127
    assert np.array_equal(loaded, expected)
    soft = cv2.GaussianBlur(np.where(reference_mask(CUP), 255, 0).astype(np.uint8), (0, 0), 6)
    page.set_input_files("#mask-file", str(write_png(tmp_path / "soft.png", soft)))
    page.wait_for_function(
        "() => document.getElementById('status-text').textContent.includes('not black and white')"
    )

    # Paint and erase with the brush on top of a selection.
    page.click("#clear-mask")
    choose_tool(page, "paint")
    page.fill("#brush-size", "30")
    r = page.locator("#mask-canvas").bounding_box()
    page.mouse.move(r["x"] + 20, r["y"] + 20)
    page.mouse.down()
    page.mouse.move(r["x"] + 120, r["y"] + 20, steps=6)
    page.mouse.up()
    painted = saved_mask(page)
    scale = SCENE_SIZE[0] / r["width"]
    assert painted[int(20 * scale), int(70 * scale)]
    choose_tool(page, "erase")
    page.mouse.move(r["x"] + 60, r["y"] + 5)
    page.mouse.down()
    page.mouse.move(r["x"] + 80, r["y"] + 40, steps=6)
    page.mouse.up()
    erased = saved_mask(page)
    assert not erased[int(20 * scale), int(70 * scale)] and erased[int(20 * scale), int(30 * scale)]
    assert page.errors == [] and page.console_errors == []


def test_the_doctor_warns_before_the_swap(
    new_page, web_key: str, web_images: dict[str, Path], artifacts: Path
) -> None:
    page = new_page(1280, 800)
    checks = record(page, "/v2/masks/check")
    swaps = record(page, "/v2/seg-swap")
    load_scene(page, web_images, web_key)
    drag_box(page, CUP.box)
    wait_idle(page)
    page.click("#invert-mask")  # the classic slip: everything but the cup
    page.click("#submit")
    page.wait_for_selector("#mask-warnings", state="visible", timeout=30_000)
    assert page.get_attribute("#status", "data-state") == "warned"
    codes = page.eval_on_selector_all(
        "#mask-warning-list li", "items => items.map(i => i.dataset.code)"
    )
    assert "inverted" in codes, codes
    assert "border" in page.inner_text("#mask-warning-list")
    assert page.inner_text("#submit") == "Swap anyway"
    assert len(checks) == 1 and checks[0]["growmask"] == 5 and swaps == []
    assert page.evaluate(CUT_LABELS_JS, None) == []
    page.screenshot(path=str(artifacts / "web-warnings-1280x800.png"))

    # Editing the mask clears the warning; undoing brings back the clean selection.
    page.click("#undo")
    assert page.is_hidden("#mask-warnings") and page.inner_text("#submit") == "Swap"
    page.click("#invert-mask")
    page.click("#submit")
    page.wait_for_selector("#mask-warnings", state="visible", timeout=30_000)
    page.click("#submit")  # "Swap anyway": the user's call
    page.wait_for_function(
        "() => ['done', 'failed'].includes(document.getElementById('status').dataset.state)",
        timeout=60_000,
    )
    assert page.get_attribute("#status", "data-state") == "done"
    assert len(swaps) == 1 and len(checks) == 2


def test_narrow_window_selection(
    new_page, web_key: str, web_images: dict[str, Path], artifacts: Path
) -> None:
    page = new_page(400, 800)
    load_scene(page, web_images, web_key)
    drag_box(page, CUP.box)
    state, text = wait_idle(page)
    assert state == "idle" and text.startswith("Selected"), text
    assert iou(saved_mask(page), reference_mask(CUP)) >= 0.8
    assert page.evaluate("document.documentElement.scrollWidth") <= 400
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(artifacts / "web-select-400px.png"), full_page=True)
    assert page.errors == [] and page.console_errors == []
