"""``segswap demo``: one edit of each mode on photos that ship with scikit-image.

No download: scikit-image's ``data`` folder holds the photos; the masks are drawn here.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from segswap.engine import get_engine, run_engine
from segswap.io.encode import encode_image
from segswap.params import SwapParams


def _ellipse_mask(
    shape: tuple[int, int], centre: tuple[int, int], axes: tuple[int, int]
) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    cv2.ellipse(mask, centre, axes, 0, 0, 360, 255, -1)
    return mask


def _on_white(rgba: np.ndarray) -> np.ndarray:
    """An RGBA object flattened onto a white background (as a product photo would be)."""
    alpha = rgba[:, :, 3:4].astype(np.float32) / 255.0
    rgb = rgba[:, :, :3].astype(np.float32) * alpha + 255.0 * (1.0 - alpha)
    return np.rint(rgb).astype(np.uint8)


def demo_cases() -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray, SwapParams]]:
    """(name, scene, mask, object, params) for each mode, built from skimage.data."""
    from skimage import data

    coffee = data.coffee()
    cup_mask = _ellipse_mask(coffee.shape[:2], (262, 185), (118, 135))
    astronaut = data.astronaut()
    suit_mask = np.zeros(astronaut.shape[:2], np.uint8)
    cv2.fillPoly(
        suit_mask,
        [np.array([[40, 512], [60, 330], [150, 250], [300, 250], [380, 330], [330, 512]])],
        255,
    )
    chelsea = data.chelsea()
    # Remove the cat's right eye: a textured region between fur and background.
    eye_mask = _ellipse_mask(chelsea.shape[:2], (300, 150), (40, 34))
    rocket = data.rocket()
    rocket_mask = np.zeros(rocket.shape[:2], np.uint8)
    rocket_mask[115:335, 295:345] = 255
    return [
        ("object", coffee, cup_mask, _on_white(data.logo()), SwapParams(mode="auto")),
        (
            "pattern",
            astronaut,
            suit_mask,
            np.repeat(data.brick()[:, :, None], 3, 2),
            SwapParams(horizontal_repeat=4, vertical_repeat=4),
        ),
        ("remove", chelsea, eye_mask, np.zeros((4, 4, 4), np.uint8), SwapParams()),
        ("remove-rocket", rocket, rocket_mask, np.zeros((4, 4, 4), np.uint8), SwapParams()),
    ]


def _label(image: np.ndarray, text: str) -> np.ndarray:
    out = image.copy()
    cv2.putText(out, text, (8, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (255, 255, 255), 3, cv2.LINE_AA)
    cv2.putText(out, text, (8, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (20, 20, 20), 1, cv2.LINE_AA)
    return out


def run_demo(folder: Path) -> Iterator[str]:
    """Run every demo case, write results and a before/after sheet; yield report lines."""
    folder.mkdir(parents=True, exist_ok=True)
    engine = get_engine("composite")
    rows = []
    for name, scene, mask, obj, params in demo_cases():
        started = time.perf_counter()
        result = run_engine(engine, scene, mask, obj, params)
        took = time.perf_counter() - started
        path = folder / f"{name}.png"
        path.write_bytes(encode_image(result, "png", 95))
        overlay = scene.copy()
        overlay[mask > 127] = (0.5 * overlay[mask > 127] + [0, 0, 127]).astype(np.uint8)
        row = np.hstack([_label(overlay, "before + mask"), _label(result, f"after: {name}")])
        width = 1000
        rows.append(
            cv2.resize(
                row,
                (width, round(row.shape[0] * width / row.shape[1])),
                interpolation=cv2.INTER_AREA,
            )
        )
        yield f"{name:14s} {scene.shape[1]}x{scene.shape[0]}  {took * 1000:7.1f} ms  -> {path}"
    sheet = folder / "before-after.png"
    sheet.write_bytes(encode_image(np.vstack(rows), "png", 95))
    yield f"before/after sheet -> {sheet}"
