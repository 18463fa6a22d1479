"""``POST /v2/masks`` (box/click select) and ``POST /v2/masks/check`` (the mask doctor)
through the whole API in process: masks that hug real objects, keyed, rate-limited,
bad input named, URL inputs under the same SSRF rules, and the OpenAPI entry."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
import pytest
from inprocess import InProcessApi
from PIL import Image
from service_support import b64, h, png_bytes

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "engine"))
from selection_references import iou, load_references, reference_mask  # noqa: E402

MASKS = "/v2/masks"
CHECK = "/v2/masks/check"
REFERENCES = {reference.name: reference for reference in load_references()}


@pytest.fixture
def key(api: InProcessApi) -> str:
    return api.create_key()


@pytest.fixture(scope="module")
def cup() -> tuple[list[int], np.ndarray, str]:
    """(box, reference mask, the photo as base64 PNG) of the cup and saucer."""
    reference = REFERENCES["cup-and-saucer"]
    return list(reference.box), reference_mask(reference), b64(png_bytes(reference.image()))


def decode_mask(data: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(data))
    assert image.mode == "L"
    return np.asarray(image)


def test_box_select_returns_a_mask_hugging_the_object(api: InProcessApi, key, cup) -> None:
    box, expected, scene = cup
    r = api.post(MASKS, json={"main_image": scene, "box": box}, headers=h(key))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png"
    mask = decode_mask(r.content)
    assert mask.shape == expected.shape and set(np.unique(mask)) <= {0, 255}
    assert iou(mask > 127, expected) >= 0.8
    # base64: the same mask in JSON, with its size and area
    r = api.post(
        MASKS,
        json={"main_image": "data:image/png;base64," + scene, "box": box, "base64": True},
        headers=h(key),
    )
    body = r.json()
    assert r.status_code == 200 and (body["width"], body["height"]) == (600, 400)
    import base64

    assert np.array_equal(decode_mask(base64.b64decode(body["image"])), mask)
    assert body["area"] == pytest.approx((mask > 127).mean(), abs=1e-5)


def test_clicks_refine_and_alone_select(api: InProcessApi, key) -> None:
    reference = REFERENCES["mission-patch"]
    scene = b64(png_bytes(reference.image()))
    r = api.post(
        MASKS,
        json={"main_image": scene, "points": [{"x": 170, "y": 386}]},
        headers=h(key),
    )
    assert r.status_code == 200, r.text
    assert iou(decode_mask(r.content) > 127, reference_mask(reference)) >= 0.8
    r = api.post(
        MASKS,
        json={
            "main_image": scene,
            "box": list(reference.box),
            "points": [{"x": 170, "y": 386, "positive": False}],
        },
        headers=h(key),
    )
    assert r.status_code == 200 and decode_mask(r.content)[386, 170] == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"box": [0, 0, 10, 10]}, "main_image"),
        ({"main_image": "bm90IGFuIGltYWdl", "box": [0, 0, 10, 10]}, "main_image"),
        ({"main_image": "SCENE"}, "box"),
        ({"main_image": "SCENE", "box": [0, 0, 10]}, "box"),
        ({"main_image": "SCENE", "box": "0,0,10,10"}, "box"),
        ({"main_image": "SCENE", "box": [5, 5, 6, 6]}, "box"),
        ({"main_image": "SCENE", "points": [{"x": 1}]}, "points"),
        ({"main_image": "SCENE", "points": [{"x": 1, "y": 2, "positive": "yes"}]}, "points"),
        ({"main_image": "SCENE", "points": [{"x": 9999, "y": 2}]}, "points"),
        ({"main_image": "SCENE", "points": [{"x": 1, "y": 2, "positive": False}]}, "points"),
        ({"main_image": "SCENE", "box": [0, 0, 50, 50], "colour": 1}, "colour"),
        ({"main_image": "SCENE", "box": [0, 0, 50, 50], "base64": 1}, "base64"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(api: InProcessApi, key, cup, body, field) -> None:
    body = {name: (cup[2] if value == "SCENE" else value) for name, value in body.items()}
    r = api.post(MASKS, json=body, headers=h(key))
    assert r.status_code == 400, r.text
    assert r.json()["error"].startswith(field), r.json()


def test_not_json_and_not_an_object(api: InProcessApi, key) -> None:
    r = api.post(MASKS, content=b"{nope", headers=h(key))
    assert r.status_code == 400 and r.json()["error"].startswith("body")
    r = api.post(CHECK, json=[1, 2], headers=h(key))
    assert r.status_code == 400 and r.json()["error"].startswith("body")


def test_keyed(api: InProcessApi, cup) -> None:
    for path in (MASKS, CHECK):
        r = api.post(path, json={"main_image": cup[2], "box": cup[0]})
        assert r.status_code == 401 and "API key" in r.json()["error"]
        r = api.post(path, json={}, headers=h("sk-wrong"))
        assert r.status_code == 401


def test_private_urls_are_refused(api: InProcessApi, key) -> None:
    for url in ("http://127.0.0.1:1/x.png", "http://[::1]/x.png", "file:///etc/passwd"):
        r = api.post(MASKS, json={"main_image": url, "box": [0, 0, 9, 9]}, headers=h(key))
        assert r.status_code == 400 and r.json()["error"].startswith("main_image"), r.text
        r = api.post(CHECK, json={"mask_image": url}, headers=h(key))
        assert r.status_code == 400 and r.json()["error"].startswith("mask_image"), r.text


def test_too_many_pixels_is_a_413(make_app) -> None:
    api = make_app({"SEGSWAP_MAX_PIXELS": "10000"})
    key = api.create_key()
    scene = b64(png_bytes(np.zeros((200, 200, 3), np.uint8)))
    r = api.post(MASKS, json={"main_image": scene, "box": [0, 0, 9, 9]}, headers=h(key))
    assert r.status_code == 413 and r.json()["error"].startswith("main_image"), r.text


def test_rate_limited_like_the_rest(make_app, cup) -> None:
    # A bucket that refills in 20 s: the four calls fit in it however slow each is.
    api = make_app({"SEGSWAP_RATE_LIMIT": "0.05", "SEGSWAP_RATE_BURST": "2"})
    key = api.create_key()
    body = {"main_image": cup[2], "box": [100, 100, 140, 140]}
    codes = [api.post(MASKS, json=body, headers=h(key)).status_code for _ in range(4)]
    assert codes[:2] == [200, 200] and 429 in codes, codes
    r = api.post(CHECK, json={"mask_image": cup[2]}, headers=h(key))
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    assert api.credits(key) == 1000  # free: no credits are taken


def test_check_warns_about_an_inverted_mask_and_not_a_clean_one(
    api: InProcessApi, key, cup
) -> None:
    _, expected, scene = cup
    clean = b64(png_bytes(np.where(expected, 255, 0).astype(np.uint8)))
    inverted = b64(png_bytes(np.where(expected, 0, 255).astype(np.uint8)))
    r = api.post(CHECK, json={"main_image": scene, "mask_image": clean}, headers=h(key))
    assert r.status_code == 200 and r.json() == {"warnings": []}
    r = api.post(CHECK, json={"mask_image": inverted, "growmask": 0}, headers=h(key))
    warnings = r.json()["warnings"]
    assert [w["code"] for w in warnings] == ["inverted"] and "border" in warnings[0]["message"]
    r = api.post(CHECK, json={"mask_image": clean, "growmask": 21}, headers=h(key))
    assert r.status_code == 400 and r.json()["error"].startswith("growmask")


def test_health_names_the_engine(api: InProcessApi) -> None:
    body = api.get("/health").json()
    assert body["engine"] == "composite" and body["prompt_used"] is False


def test_in_the_openapi(api: InProcessApi) -> None:
    spec = api.get("/openapi.json").json()
    select = spec["paths"]["/v2/masks"]["post"]
    schema = select["requestBody"]["content"]["application/json"]["schema"]
    assert set(schema["properties"]) == {"main_image", "box", "points", "base64"}
    assert "image/png" in select["responses"]["200"]["content"]
    assert "/v2/masks/check" in spec["paths"]


# ----- warnings on edits: the v1 header, the v2 status and result bodies -----


def edit_body(scene: str, mask: np.ndarray, **extra: object) -> dict[str, object]:
    transparent = b64(png_bytes(np.zeros((4, 4, 4), np.uint8)))  # a removal
    return {
        "main_image": scene,
        "mask_image": b64(png_bytes(np.where(mask, 255, 0).astype(np.uint8))),
        "object_image": transparent,
        "steps": 10,
        **extra,
    }


def test_an_edit_reports_the_mask_doctors_warnings(api: InProcessApi, key, cup) -> None:
    _, cup_mask, scene = cup
    # A small off-centre removal keeps the jobs quick: the clean mask is the name tag's
    # outline on the astronaut photo, the inverted one everything but the cup.
    tag = REFERENCES["name-tag"]
    tag_scene = b64(png_bytes(tag.image()))
    clean = edit_body(tag_scene, reference_mask(tag))
    inverted = edit_body(scene, ~cup_mask, mode="object", object_image=cup[2])

    r = api.post("/v1/seg-swap", json=clean, headers=h(key))
    assert r.status_code == 200, r.text
    assert "X-Mask-Warnings" not in r.headers
    r = api.post("/v1/seg-swap", json=inverted, headers=h(key))
    assert r.status_code == 200, r.text
    assert r.headers["X-Mask-Warnings"] == "inverted"

    for body, expected in ((clean, []), (inverted, ["inverted"])):
        job = api.post("/v2/seg-swap", json=body, headers=h(key)).json()
        status = wait_completed(api, job["status_url"], key)
        # Absent when there is none: the body is then exactly the hosted API's.
        assert [w["code"] for w in status.get("warnings", [])] == expected
        assert ("warnings" in status) == bool(expected)
        result = api.get(job["response_url"], headers=h(key)).json()
        assert result.get("warnings") == status.get("warnings")
        timings = {k: v for k, v in result["metrics"].items() if k.endswith("_time")}
        assert all(isinstance(v, float) for v in timings.values()), result["metrics"]
    assert "border" in status["warnings"][0]["message"]


def wait_completed(api: InProcessApi, url: str, key: str) -> dict:
    import time

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        body = api.get(url, headers=h(key)).json()
        assert body["status"] != "FAILED", body
        if body["status"] == "COMPLETED":
            return body
        assert "warnings" not in body  # known once the job has run
        time.sleep(0.05)
    raise AssertionError(f"{url} did not complete")


# ----- mask_aspect and did-you-mean -----


def test_a_mask_of_another_aspect_is_warned_on_v1_and_v2(api: InProcessApi, key) -> None:
    """A 4:3 mask on a 16:9 scene: ``mask_aspect`` (naming both sizes); the edit runs."""
    tag = REFERENCES["name-tag"]
    scene = np.ascontiguousarray(np.asarray(tag.image())[:288, :512])  # 16:9
    mask = np.zeros((300, 400), bool)  # 4:3
    mask[180:240, 40:120] = True
    body = edit_body(b64(png_bytes(scene)), mask)
    r = api.post("/v1/seg-swap", json=body, headers=h(key))
    assert r.status_code == 200, r.text
    assert "mask_aspect" in r.headers["X-Mask-Warnings"].split(", ")
    assert Image.open(io.BytesIO(r.content)).size == (512, 288)
    job = api.post("/v2/seg-swap", json=body, headers=h(key)).json()
    status = wait_completed(api, job["status_url"], key)
    (aspect,) = [w for w in status["warnings"] if w["code"] == "mask_aspect"]
    assert "400x300" in aspect["message"] and "512x288" in aspect["message"]
    # The check endpoint says the same before an edit.
    r = api.post(
        CHECK,
        json={"mask_image": body["mask_image"], "main_image": body["main_image"]},
        headers=h(key),
    )
    assert "mask_aspect" in [w["code"] for w in r.json()["warnings"]]


def test_a_mask_within_one_percent_of_the_scenes_aspect_is_not_warned(
    api: InProcessApi, key
) -> None:
    scene = b64(png_bytes(np.full((400, 600, 3), 128, np.uint8)))
    mask = np.zeros((201, 300), np.uint8)  # 1.493 against 1.5: 0.5 % off
    mask[80:120, 100:200] = 255
    r = api.post(
        CHECK, json={"mask_image": b64(png_bytes(mask)), "main_image": scene}, headers=h(key)
    )
    assert r.status_code == 200 and r.json() == {"warnings": []}


@pytest.mark.parametrize("route", ["/v1/seg-swap", "/v2/seg-swap"])
def test_a_misspelt_field_names_the_closest(api: InProcessApi, key, route: str) -> None:
    tag = REFERENCES["name-tag"]
    body = edit_body(b64(png_bytes(tag.image())), reference_mask(tag), grow_mask=5)
    expected = 'grow_mask: unknown parameter; did you mean "growmask"?'
    r = api.post(route, json=body, headers=h(key))
    assert r.status_code == 400 and r.json()["error"] == expected
    # multipart: the same words
    files = {
        name: (name + ".png", b64decode(body.pop(name)))
        for name in list(body)
        if name.endswith("_image")
    }
    data = {name: str(value) for name, value in body.items()}
    r = api.post(route, files=files, data=data, headers=h(key))
    assert r.status_code == 400 and r.json()["error"] == expected
    # values of mode and image_format
    body = edit_body(b64(png_bytes(tag.image())), reference_mask(tag), image_format="jpg")
    r = api.post(route, json=body, headers=h(key))
    assert r.status_code == 400 and r.json()["error"].endswith('got "jpg"; did you mean "jpeg"?')
    body["image_format"], body["mode"] = "png", "objcet"
    r = api.post(route, json=body, headers=h(key))
    assert r.status_code == 400 and r.json()["error"].endswith('did you mean "object"?')
    # nothing close: the known names
    body = edit_body(b64(png_bytes(tag.image())), reference_mask(tag), zzz=1)
    r = api.post(route, json=body, headers=h(key))
    assert r.status_code == 400 and "zzz: unknown parameter; expected one of" in r.json()["error"]


def test_mask_bodies_name_the_closest_field(api: InProcessApi, key, cup) -> None:
    _, cup_mask, scene = cup
    mask = b64(png_bytes(np.where(cup_mask, 255, 0).astype(np.uint8)))
    r = api.post(CHECK, json={"mask_image": mask, "grow_mask": 3}, headers=h(key))
    assert r.status_code == 400
    assert r.json()["error"] == 'grow_mask: unknown parameter; did you mean "growmask"?'
    r = api.post(CHECK, json={"mask_image": mask, "growmask": 21}, headers=h(key))
    assert r.status_code == 400 and r.json()["error"].startswith(
        "growmask: expected an integer in 0-20"
    )
    r = api.post(MASKS, json={"main_image": scene, "boxes": [1, 2, 3, 4]}, headers=h(key))
    assert r.status_code == 400 and 'did you mean "box"?' in r.json()["error"]


def b64decode(text: str) -> bytes:
    import base64

    return base64.b64decode(text)


def test_an_inverted_box_is_a_400_naming_it(api: InProcessApi, key, cup) -> None:
    r = api.post(MASKS, json={"main_image": cup[2], "box": [40, 40, 10, 10]}, headers=h(key))
    assert r.status_code == 400, r.text
    assert r.json()["error"] == (
        "box: expected [left, top, right, bottom] with left < right and top < bottom,"
        " got [40, 40, 10, 10]"
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"box": [True, 0, 5, 5]},
            "box: expected [left, top, right, bottom] in pixels, got [true, 0, 5, 5]",
        ),
        ({"box": [0, 0, 50, 50], "points": [{"x": None, "y": 1}]}, 'got {"x": null, "y": 1}'),
        ({"box": [0, 0, 50, 50], "base64": "abc"}, "base64: expected a boolean"),
    ],
)
def test_errors_show_values_as_json(api: InProcessApi, key, cup, body, expected) -> None:
    r = api.post(MASKS, json={"main_image": cup[2], **body}, headers=h(key))
    assert r.status_code == 400 and expected in r.json()["error"], r.text
    r = api.post("/v1/seg-swap", json={"steps": "abc"}, headers=h(key))
    assert r.status_code == 400 and r.json()["error"].endswith('got "abc"'), r.text
