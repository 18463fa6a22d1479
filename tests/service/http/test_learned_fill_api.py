"""``POST /v1/seg-swap`` with ``SEGSWAP_FILL=lama`` (and migan): the hole is the
model's output, every pixel outside the edit's reach the scene's; ``/health`` says
which fill runs. Uses the tiny known-output models of tests/engine/learned_models.py;
skipped without torch."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from service_support import b64, png_bytes

pytest.importorskip("torch")
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "engine"))

from learned_models import LamaMean, MiganMean, OnnxMean, save_onnx, save_script  # noqa: E402

from segswap.engine.region import feather_reach, grow_mask  # noqa: E402

BACKGROUND = np.array([30, 90, 200])


def scene_and_mask() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    scene = np.clip(BACKGROUND + rng.integers(-10, 11, (240, 320, 3)), 0, 255).astype(np.uint8)
    scene[80:160, 100:220] = (250, 20, 20)
    mask = np.zeros((240, 320), np.uint8)
    mask[80:160, 100:220] = 255
    return scene, mask


@pytest.mark.parametrize(
    ("fill", "model", "name"),
    [
        ("lama", LamaMean, "big-lama.pt"),
        ("lama", OnnxMean, "lama_fp32.onnx"),
        ("migan", MiganMean, "m.pt"),
    ],
)
def test_v1_with_a_learned_fill(make_app, tmp_path: Path, fill, model, name) -> None:
    if name.endswith(".onnx"):
        pytest.importorskip("onnxruntime")
        pytest.importorskip("onnx")
        path = save_onnx(model(), tmp_path / name)
    else:
        path = save_script(model(), tmp_path / name)
    api = make_app({"SEGSWAP_FILL": fill, "SEGSWAP_FILL_MODEL": str(path)})
    health = api.get("/health").json()
    assert health["fill"] == fill and health["engine"] == "composite"
    key = api.create_key()
    scene, mask = scene_and_mask()
    body = {
        "main_image": b64(png_bytes(scene)),
        "mask_image": b64(png_bytes(mask)),
        "object_image": b64(png_bytes(np.zeros((4, 4, 4), np.uint8))),
        "mode": "remove",
        "growmask": 8,
    }
    r = api.post("/v1/seg-swap", json=body, headers={"x-api-key": key})
    assert r.status_code == 200, r.text
    out = np.asarray(Image.open(io.BytesIO(r.content)).convert("RGB"))
    grown = grow_mask(mask > 127, 8)
    inside = out[~feather_reach(~grown) & grown].astype(int)
    assert np.abs(inside - BACKGROUND).max() <= 1
    far = ~feather_reach(grown)
    assert np.array_equal(out[far], scene[far])
