"""Chained edits on the page, in a real browser against a real ``segswap serve``: remove
(no object loaded), "Use as scene", then a pattern; the final image differs from the
original only where README's guarantee allows (the two grown masks and their feather
band); Undo steps back through the chain; Download gives the current result. Also the
line on how to get a key after a 401, the mask doctor's words about a loaded mask file
before the edit, and the parameters' ranges read from the API's OpenAPI document."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pytest
from PIL import Image
from service_support import HTTP_TIMEOUT
from test_browser import (
    data_uri_bytes,
    decode,
    load_inputs,
    record_submissions,
    status,
    stroke,
    wait_settled,
)

from segswap.engine.region import FEATHER_PX, grow_mask
from segswap.params import EditParams

WIDTH, HEIGHT = 600, 400  # skimage's coffee(), the scene of web_images


@pytest.fixture(scope="module")
def astronaut(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """skimage's astronaut() (512×512) and the files a user would load for the demo's two
    edits of it (segswap/demo.py): the shuttle model's mask, the suit's mask, and the
    rosette print cut from immunohistochemistry()."""
    from skimage import data

    from segswap.demo import shuttle_mask, suit_mask, swatch

    folder = tmp_path_factory.mktemp("astronaut")
    scene = data.astronaut()
    files = {
        "scene": (scene, "astronaut.png"),
        "shuttle": (shuttle_mask(scene.shape[:2]), "shuttle-mask.png"),
        "suit": (suit_mask(scene), "suit-mask.png"),
        "print": (swatch(), "print.png"),
    }
    paths = {}
    for name, (array, filename) in files.items():
        paths[name] = folder / filename
        Image.fromarray(array).save(paths[name])
    return paths


def mask_of(body: dict[str, Any]) -> np.ndarray:
    """The bool mask a request sent (at the scene's size: checked by the callers)."""
    return np.asarray(decode(data_uri_bytes(body["mask_image"])).convert("L")) > 127


def may_change(mask: np.ndarray, growmask: int) -> np.ndarray:
    """README, "What is guaranteed": pixels farther than FEATHER_PX from the mask grown
    by ``growmask`` are the scene's; this is everything else."""
    grown = grow_mask(mask, growmask)
    distance = cv2.distanceTransform((~grown).view(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    return distance <= FEATHER_PX


def rgb(data: bytes) -> np.ndarray:
    return np.asarray(decode(data).convert("RGB"), np.int16)


def download(page: Any) -> bytes:
    with page.expect_download() as info:
        page.click("#download")
    return Path(info.value.path()).read_bytes()


def press_swap(page: Any) -> tuple[str, str]:
    """Press the swap button; (state, text) once it is done, failed or warned."""
    page.click("#submit")
    page.wait_for_function(
        "() => ['done', 'failed', 'warned'].includes(document.getElementById('status')"
        ".dataset.state)",
        timeout=60_000,
    )
    return status(page)


def swap(page: Any) -> None:
    state, text = press_swap(page)
    warnings = page.inner_text("#mask-warnings") if page.is_visible("#mask-warnings") else ""
    assert state == "done", f"{text} {warnings}"


def test_remove_use_as_scene_pattern_then_undo(
    new_page, web_key: str, astronaut: dict[str, Path], artifacts: Path
) -> None:
    """The demo's two edits of the astronaut photo, chained on the page: the shuttle model
    removed (no object loaded), the result used as the scene, the rosette print laid over
    the suit; masks loaded as files, as a user with masks would."""
    page = new_page(1280, 800)
    sent = record_submissions(page)
    original = astronaut["scene"].read_bytes()

    # 1. Remove the shuttle model, with no object loaded.
    page.fill("#api-key", web_key)
    page.set_input_files("#scene-file", str(astronaut["scene"]))
    page.wait_for_selector("#stage", state="visible")
    assert page.is_hidden("#result") and page.is_disabled("#undo")
    page.set_input_files("#mask-file", str(astronaut["shuttle"]))
    page.wait_for_function("() => !document.getElementById('clear-mask').disabled")
    page.select_option("#mode", "remove")
    swap(page)
    removed = download(page)
    assert page.is_visible("#use-as-scene")
    page.fill("#compare-range", "100")
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(artifacts / "web-chain-1-removed.png"), full_page=True)

    # The removal sent no object the user chose: a 1×1 placeholder.
    assert len(sent) == 1
    assert data_uri_bytes(sent[0]["main_image"]) == original
    assert decode(data_uri_bytes(sent[0]["object_image"])).size == (1, 1)
    assert page.is_hidden("#object-img")

    # 2. "Use as scene": the result is the scene; the mask starts empty; Undo is on.
    page.click("#use-as-scene")
    page.wait_for_function("() => document.getElementById('result').hidden")
    assert page.eval_on_selector("#scene-img", "i => [i.naturalWidth, i.naturalHeight]") == [
        512,
        512,
    ]
    assert page.is_disabled("#clear-mask")  # empty mask
    assert page.is_enabled("#undo")
    assert "Step 2" in status(page)[1]

    # 3. The print laid over the suit, as the demo does it.
    page.select_option("#mode", "pattern")
    page.fill("#horizontal_repeat", "4")
    page.fill("#vertical_repeat", "4")
    page.fill("#growmask", "2")
    page.set_input_files("#object-file", str(astronaut["print"]))
    page.wait_for_selector("#object-img", state="visible")
    page.set_input_files("#mask-file", str(astronaut["suit"]))
    page.wait_for_function("() => !document.getElementById('clear-mask').disabled")
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(artifacts / "web-chain-2-pattern-mask.png"), full_page=True)
    swap(page)
    final = download(page)
    page.fill("#compare-range", "100")
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(artifacts / "web-chain-3-final.png"), full_page=True)

    # The second edit started from the first one's result, byte for byte.
    assert len(sent) == 2
    assert data_uri_bytes(sent[1]["main_image"]) == removed
    assert sent[1]["mode"] == "pattern" and sent[1]["growmask"] == 2

    # By pixels: each edit changed its region, and nothing else changed.
    first, second = mask_of(sent[0]), mask_of(sent[1])
    assert first.shape == second.shape == (512, 512)
    scene, after_remove, out = rgb(original), rgb(removed), rgb(final)
    assert out.shape == scene.shape
    reach_1 = may_change(first, sent[0]["growmask"])
    reach_2 = may_change(second, sent[1]["growmask"])
    changed = np.abs(out - scene).max(axis=2) > 0
    outside = changed & ~(reach_1 | reach_2)
    assert not outside.any(), int(outside.sum())
    assert not ((np.abs(after_remove - scene).max(axis=2) > 0) & ~reach_1).any()
    assert not ((np.abs(out - after_remove).max(axis=2) > 0) & ~reach_2).any()
    assert np.abs(out - scene)[first].mean() > 10  # the shuttle is gone
    assert np.abs(out - scene)[second].mean() > 10  # the print is on the suit
    # The removal is kept in the final image, where the second edit could not reach.
    assert np.array_equal(out[first & ~reach_2], after_remove[first & ~reach_2])
    (artifacts / "web-chain-pixels.txt").write_text(
        f"changed pixels: {int(changed.sum())}; may change (union of both reaches): "
        f"{int((reach_1 | reach_2).sum())}; changed outside it: {int(outside.sum())}\n"
    )

    # Undo: first the second step's mask, then back to step 1 with its result shown.
    page.click("#undo")
    assert page.is_disabled("#clear-mask") and page.is_visible("#result")
    page.click("#undo")
    page.wait_for_function("() => !document.getElementById('result').hidden")
    assert "step 1" in status(page)[1].lower()
    assert download(page) == removed  # Download is the current result again
    assert page.eval_on_selector("#scene-img", "i => i.src") == page.eval_on_selector(
        "#before-img", "i => i.src"
    )
    assert page.is_enabled("#clear-mask")  # the shuttle's mask is back
    page.click("#undo")  # the loaded mask
    assert page.is_disabled("#undo") and page.is_disabled("#clear-mask")
    assert page.errors == [] and page.console_errors == []


def test_the_key_line_after_a_401(
    new_page, web_key: str, web_images: dict[str, Path], artifacts: Path
) -> None:
    page = new_page()
    assert page.is_hidden("#key-help")
    load_inputs(page, web_images, "sk-not-a-real-key")
    stroke(page, (0.4, 0.4), (0.6, 0.6))
    page.click("#submit")
    state, text = wait_settled(page, 15_000)
    assert state == "failed" and "401" in text, text
    assert page.is_visible("#key-help")
    assert "segswap keys create" in page.inner_text("#key-help")
    box = page.locator("#key-help").bounding_box()
    assert box["y"] + box["height"] <= 800 and box["x"] >= 0  # in view, at the top
    page.screenshot(path=str(artifacts / "web-key-help-401.png"))

    # With a good key the next request passes and the line goes.
    page.fill("#api-key", web_key)
    swap(page)
    assert page.is_hidden("#key-help")
    assert page.errors == []


def test_a_mask_file_is_checked_as_loaded(
    new_page,
    web_server: Any,
    web_key: str,
    web_images: dict[str, Path],
    tmp_path: Path,
    artifacts: Path,
) -> None:
    """A 4:3 mask with soft edges on the 3:2 scene: the server's mask_aspect and
    not_binary warnings, in its words, as soon as it is loaded and again before the swap
    after an edit; the swap runs on the second press."""
    mask = np.zeros((300, 400), np.uint8)
    cv2.circle(mask, (200, 150), 60, 255, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), 6)
    path = tmp_path / "mask-4x3.png"
    Image.fromarray(mask).save(path)

    page = new_page()
    checks = record_requests(page, "/v2/masks/check")
    swaps = record_submissions(page)
    load_inputs(page, web_images, web_key)
    page.set_input_files("#mask-file", str(path))
    page.wait_for_selector("#mask-warnings", state="visible", timeout=30_000)
    codes = warning_codes(page)
    assert "mask_aspect" in codes and "not_binary" in codes, codes

    # The words are the API's for the same scene and mask file.
    answer = httpx.post(
        web_server.url + "/v2/masks/check",
        headers={"x-api-key": web_key},
        json={"main_image": checks[0]["main_image"], "mask_image": checks[0]["mask_image"]},
        timeout=60,
    ).json()
    expected = {w["code"]: w["message"] for w in answer["warnings"]}
    shown = page.eval_on_selector_all(
        "#mask-warning-list li", "items => items.map(i => [i.dataset.code, i.textContent])"
    )
    assert dict(shown) == expected
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(artifacts / "web-mask-file-warnings.png"))
    assert data_uri_bytes(checks[0]["mask_image"]) == path.read_bytes()  # sent as loaded
    assert re.search(r"400\s*[×x]\s*300", expected["mask_aspect"]), expected
    assert re.search(r"600\s*[×x]\s*400", expected["mask_aspect"]), expected

    # An edit hides them; the check before the swap says them again (carried from the
    # file: the page sends a black-and-white mask of the scene's size).
    stroke(page, (0.1, 0.1), (0.15, 0.12))
    assert page.is_hidden("#mask-warnings")
    page.click("#submit")
    page.wait_for_selector("#mask-warnings", state="visible", timeout=30_000)
    assert {"mask_aspect", "not_binary"} <= set(warning_codes(page))
    assert swaps == [] and page.inner_text("#submit") == "Swap anyway"
    assert len(checks) == 2  # the file's check is not repeated
    assert mask_of(checks[-1]).shape == (HEIGHT, WIDTH)  # the mask as it will be sent

    # Another growmask: the warnings were not checked with it, so the next press checks.
    page.fill("#growmask", "9")
    assert page.inner_text("#submit") == "Swap"
    state, _ = press_swap(page)
    assert state == "warned" and len(checks) == 3 and checks[-1]["growmask"] == 9
    assert "mask_aspect" in warning_codes(page) and swaps == []
    swap(page)  # "Swap anyway"
    assert len(swaps) == 1 and swaps[0]["growmask"] == 9
    assert page.errors == []


def test_parameter_ranges_come_from_the_api(new_page, web_server: Any) -> None:
    page = new_page()
    # The page shows the ranges and defaults of params.py, via the OpenAPI document.
    grow = EditParams.model_fields["growmask"]
    low = next(m.ge for m in grow.metadata if hasattr(m, "ge"))
    high = next(m.le for m in grow.metadata if hasattr(m, "le"))
    assert page.inner_text("label[for=growmask] .range") == f"{low}–{high} px"
    assert page.input_value("#growmask") == str(grow.default)
    assert page.get_attribute("#growmask", "max") == str(high)
    assert page.inner_text("label[for=seed] .range") == "0–2³²−1"
    assert page.input_value("#steps") == str(EditParams.model_fields["steps"].default)

    # Served another document, it shows that one's: nothing is copied into the page.
    document = httpx.get(web_server.url + "/openapi.json", timeout=HTTP_TIMEOUT).json()
    schema = document["paths"]["/v2/seg-swap"]["post"]["requestBody"]["content"]
    properties = schema["application/json"]["schema"]["properties"]
    properties["growmask"].update(minimum=1, maximum=33, default=7)
    properties["mode"]["default"] = "remove"
    page = page.context.new_page()
    page.route(
        "**/openapi.json",
        lambda route: route.fulfill(content_type="application/json", body=json.dumps(document)),
    )
    page.goto(web_server.url + "/")
    page.wait_for_selector("html[data-ready=true]")
    assert page.inner_text("label[for=growmask] .range") == "1–33 px"
    assert page.input_value("#growmask") == "7"
    assert page.input_value("#mode") == "remove"
    page.fill("#growmask", "12")
    page.click("#reset-params")
    assert page.input_value("#growmask") == "7"

    # Without the document the page says so, and refuses to guess the parameters.
    page = page.context.new_page()
    page.route("**/openapi.json", lambda route: route.fulfill(status=500, body="down"))
    page.goto(web_server.url + "/")
    page.wait_for_selector("html[data-ready=true]")
    assert page.get_attribute("#status", "data-state") == "failed"
    assert "openapi.json" in page.inner_text("#status-text")
    assert page.input_value("#growmask") == ""


def record_requests(page: Any, suffix: str) -> list[dict[str, Any]]:
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


def warning_codes(page: Any) -> list[str]:
    return page.eval_on_selector_all(
        "#mask-warning-list li", "items => items.map(i => i.dataset.code)"
    )
