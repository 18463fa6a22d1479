"""The official segmind SDK, unchanged, against a local server (base_url=.../v1)."""

from __future__ import annotations

import base64
import io

import httpx
import pytest
from PIL import Image
from segmind import SegmindClient
from segmind.exceptions import SegmindError
from segmind.v2 import InferenceFailed
from service_support import HTTP_TIMEOUT, MODEL, Server, b64


def sdk(server: Server, key: str) -> SegmindClient:
    return SegmindClient(api_key=key, base_url=f"{server.url}/v1")


def test_run_returns_completed_result_with_media_url(server, key, payload):
    result = sdk(server, key).run(MODEL, **payload)
    assert result["status"] == "COMPLETED"
    metrics = result["metrics"]
    assert metrics["inference_time"] > 0
    assert metrics["queue_time"] >= 0
    assert metrics["total_time"] >= metrics["inference_time"]
    image = httpx.get(result["output"], timeout=HTTP_TIMEOUT)  # capability URL: no key
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(image.content)).size == (128, 128)


@pytest.mark.parametrize(
    ("fmt", "ctype", "pil_format"),
    [("png", "image/png", "PNG"), ("jpeg", "image/jpeg", "JPEG"), ("webp", "image/webp", "WEBP")],
)
def test_run_sync_formats(server, key, payload, fmt, ctype, pil_format):
    response = sdk(server, key).run_sync(MODEL, **payload, image_format=fmt, image_quality=80)
    assert response.status_code == 200
    assert response.headers["content-type"] == ctype
    image = Image.open(io.BytesIO(response.content))
    assert image.format == pil_format
    assert image.size == (128, 128)
    assert float(response.headers["X-Remaining-Credits"]) >= 0


def test_run_sync_base64(server, key, payload):
    response = sdk(server, key).run_sync(MODEL, **payload, base64=True)
    data = base64.b64decode(response.json()["image"])
    assert Image.open(io.BytesIO(data)).format == "PNG"


def test_submit_async_wait_status_result(server, key, payload):
    client = sdk(server, key)
    job = client.submit_async(MODEL, **payload, image_format="jpeg")
    assert job.request_id
    assert job.status_url.startswith("http://127.0.0.1:")
    assert job.response_url.startswith("http://127.0.0.1:")
    assert job.status()["status"] in ("QUEUED", "PROCESSING", "COMPLETED")
    final = job.wait(timeout=30, interval=0.05)
    assert final["status"] == "COMPLETED"
    # The hosted API's body, plus the "progress" extension (1 once COMPLETED).
    assert job.status() == {"request_id": job.request_id, "status": "COMPLETED", "progress": 1.0}
    assert job.result()["output"] == final["output"]
    assert httpx.get(final["output"], timeout=HTTP_TIMEOUT).headers["content-type"] == "image/jpeg"


def test_async_base64_output(server, key, payload):
    final = sdk(server, key).submit_async(MODEL, **payload, base64=True).wait(30, 0.05)
    assert Image.open(io.BytesIO(base64.b64decode(final["output"]))).size == (128, 128)


def test_failed_job_raises_inference_failed(server, key, payload):
    client = sdk(server, key)
    before = server.credits(key)
    job = client.submit_async(MODEL, **{**payload, "main_image": b64(b"this is not an image")})
    with pytest.raises(InferenceFailed) as caught:
        job.wait(timeout=30, interval=0.05)
    assert "main_image" in caught.value.detail
    assert caught.value.status_body["status"] == "FAILED"
    failed = job.result()  # served as 422, but the SDK returns the FAILED body
    assert failed["status"] == "FAILED" and "main_image" in failed["error"]
    assert server.credits(key) == before  # refunded


def test_empty_mask_fails_in_worker(server, key, payload, images):
    import numpy as np
    from service_support import png_bytes

    empty = b64(png_bytes(np.zeros((128, 128), np.uint8)))
    with pytest.raises(InferenceFailed) as caught:
        sdk(server, key).submit_async(MODEL, **{**payload, "mask_image": empty}).wait(30, 0.05)
    assert "mask_image" in caught.value.detail


def test_sdk_errors_carry_status(server, key, payload):
    with pytest.raises(SegmindError) as caught:
        sdk(server, "sgs_wrong-key-0000000000000000000000").run_sync(MODEL, **payload)
    assert caught.value.status == 401
    with pytest.raises(SegmindError) as caught:
        sdk(server, key).run_sync("not-a-model", **payload)
    assert caught.value.status == 404
    assert caught.value.detail == "model 'not-a-model' not found"
    poor = server.create_key(credits=0)
    with pytest.raises(SegmindError) as caught:
        sdk(server, poor).submit_async(MODEL, **payload)
    assert caught.value.status == 406
    with pytest.raises(SegmindError) as caught:
        sdk(server, key).run_sync(MODEL, **{**payload, "steps": 5})
    assert caught.value.status == 400
    assert "steps" in caught.value.detail
