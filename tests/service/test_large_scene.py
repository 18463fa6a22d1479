"""SPEC §3: a 4096×4096 scene is accepted by default, over HTTP, and comes back whole."""

from __future__ import annotations

import cv2
import httpx
import numpy as np
from service_support import b64, png_bytes
from skimage import data


def test_4096_photo_through_v1_with_default_limits(make_server) -> None:
    server = make_server({})  # every limit at its default
    key = server.create_key()
    rng = np.random.default_rng(0)
    scene = cv2.resize(data.astronaut(), (4096, 4096), interpolation=cv2.INTER_CUBIC)
    # Sensor-like noise makes the PNG as large as a real 16-megapixel photo's.
    noisy = np.clip(scene + rng.normal(0, 6, scene.shape), 0, 255).astype(np.uint8)
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
