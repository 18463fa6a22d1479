"""SPEC §3: a 4096×4096 scene is accepted by default, over HTTP, and comes back whole."""

from __future__ import annotations

import cv2
import httpx
import numpy as np
from service_support import HTTP_TIMEOUT, b64, png_bytes
from skimage import data


def test_4096_photo_through_v1_with_default_limits(make_server) -> None:
    server = make_server({})  # every limit at its default
    key = server.create_key()
    rng = np.random.default_rng(0)
    scene = cv2.resize(data.astronaut(), (4096, 4096), interpolation=cv2.INTER_CUBIC)
    # Sensor-like noise makes the PNG as large as a real 16-megapixel photo's (drawn in
    # float32: float64 noise over 50 M samples took seconds).
    noise = rng.standard_normal(scene.shape, dtype=np.float32)
    noisy = np.clip(scene + 6 * noise, 0, 255).astype(np.uint8)
    mask = np.zeros((4096, 4096), np.uint8)
    mask[1800:2200, 1700:2200] = 255
    scene_png = png_bytes(noisy)
    body = {
        "main_image": b64(scene_png),
        "mask_image": b64(png_bytes(mask)),
        "object_image": b64(png_bytes(np.zeros((8, 8, 4), np.uint8))),
    }
    response = httpx.post(
        server.url + "/v1/seg-swap", json=body, headers={"x-api-key": key}, timeout=120
    )
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"] == "image/png"
    result = cv2.imdecode(np.frombuffer(response.content, np.uint8), cv2.IMREAD_COLOR)
    assert result.shape == (4096, 4096, 3)
    assert len(scene_png) > 20_000_000  # the test really sends a large photo
    far = np.ones((4096, 4096), bool)
    far[1780:2220, 1680:2220] = False
    assert np.array_equal(result[:, :, ::-1][far], noisy[far])


def _band_request(width: int, image_format: str) -> dict[str, object]:
    """The hostile shape of issue 12: a ``width``×1 scene, a 1000×1 band mask, a
    transparent object (Pillow writes PNGs wider than libpng's limit)."""
    import io

    from PIL import Image

    def png(array: np.ndarray) -> str:
        buffer = io.BytesIO()
        Image.fromarray(array).save(buffer, "PNG")
        return b64(buffer.getvalue())

    mask = np.zeros((1, width), np.uint8)
    mask[0, :1000] = 255
    return {
        "main_image": png(np.full((1, width, 3), 120, np.uint8)),
        "mask_image": png(mask),
        "object_image": png(np.zeros((8, 8, 4), np.uint8)),
        "image_format": image_format,
    }


def test_scene_no_encoder_can_write_is_413_naming_the_field_and_the_server_keeps_serving(
    server, key, payload
) -> None:
    """A 40,000,000×1 scene (under the pixel cap) crashed the server inside the engine;
    it is refused before any work now, on v1 and v2, ten times, and other requests are
    served throughout. Each format is refused one pixel past its limit."""
    from segswap.formats import FORMATS

    headers = {"x-api-key": key}
    client = httpx.Client(headers=headers, timeout=60)
    hostile = _band_request(40_000_000, "png")
    for _ in range(10):
        r = client.post(server.url + "/v1/seg-swap", json=hostile)
        assert r.status_code == 413, r.text
        assert "main_image" in r.json()["error"] and "1000000" in r.json()["error"]
        job = client.post(server.url + "/v2/seg-swap", json=hostile).json()
        settled = client.get(job["status_url"])
        while settled.status_code == 200 and settled.json()["status"] != "COMPLETED":
            settled = client.get(job["status_url"])
        assert settled.status_code == 422 and "main_image" in settled.json()["error"]
        assert client.post(server.url + "/v1/seg-swap", json=payload).status_code == 200
    assert httpx.get(server.url + "/health", timeout=HTTP_TIMEOUT).status_code == 200
    for name, image_format in FORMATS.items():
        if image_format.max_side > 100_000:
            continue  # PNG's limit is covered by the 40,000,000 case above
        r = client.post(
            server.url + "/v1/seg-swap", json=_band_request(image_format.max_side + 1, name)
        )
        assert r.status_code == 413, r.text
        assert "main_image" in r.json()["error"] and str(image_format.max_side) in r.json()["error"]
