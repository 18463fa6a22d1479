"""``segswap demo``: one edit of each mode on real photos that ship with Python packages.

No download: the scenes are scikit-image's ``data`` photos, the object is the RGBA gift
box photo in matplotlib's sample data (install the ``demo`` extra); the masks are drawn
here, around real objects of the photos:

- object swap: the whole espresso cup of ``coffee()`` (rim, body, handle, and the
  spoon's handle behind it) becomes the gift box, standing on the saucer;
- pattern transfer: the astronaut's orange suit (found by its colour, without the neck
  ring, the helmet or the flag) takes a swatch of the stained tissue photo
  ``immunohistochemistry()``, tiled 4 × 4, keeping the suit's folds and shadows;
- removal: the cat's right eye of ``chelsea()`` and the rocket of ``rocket()``.
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

GIFT_BOX = "Minduka_Present_Blue_Pack.png"
"""The RGBA object photo in matplotlib's sample data."""

SHEET_WIDTH = 1200
"""Width in pixels of each row of the before/after sheet."""


def gift_box() -> np.ndarray:
    """The RGBA gift box photo (128×128×4 uint8) from matplotlib's sample data.

    Raises:
        RuntimeError: matplotlib is not installed (``pip install 'segswap[demo]'``).
    """
    try:
        from matplotlib import cbook
    except ImportError:  # pragma: no cover - the demo extra is installed with tests
        raise RuntimeError(
            "segswap demo needs matplotlib's sample data: pip install 'segswap[demo]'"
        ) from None
    from PIL import Image

    path = cbook.get_sample_data(GIFT_BOX, asfileobj=False)
    with Image.open(str(path)) as image:
        return np.asarray(image.convert("RGBA")).copy()


def cup_mask(shape: tuple[int, int]) -> np.ndarray:
    """The whole espresso cup of ``skimage.data.coffee()`` (600×400): rim, body, handle."""
    mask = np.zeros(shape, np.uint8)
    cv2.ellipse(mask, (290, 105), (120, 88), 0, 0, 360, 255, -1)
    body = [[172, 110], [408, 110], [385, 230], [340, 280], [260, 290], [195, 310], [190, 250]]
    cv2.fillPoly(mask, [np.array(body + [[178, 180]])], 255)
    cv2.ellipse(mask, (228, 268), (36, 42), 0, 0, 360, 255, -1)
    # The spoon's handle, seen above the cup's rim: it ran behind the cup.
    cv2.fillPoly(mask, [np.array([[392, 62], [426, 66], [412, 150], [392, 150]])], 255)
    return mask


def suit_mask(scene: np.ndarray) -> np.ndarray:
    """The astronaut's orange suit in ``skimage.data.astronaut()``: its orange pixels inside
    the torso (not the neck ring, the helmet or the flag), with the patches and the name
    tag sewn on it included."""
    hsv = cv2.cvtColor(scene, cv2.COLOR_RGB2HSV)
    orange = (hsv[:, :, 0] >= 4) & (hsv[:, :, 0] <= 22) & (hsv[:, :, 1] > 90)
    torso = np.zeros(scene.shape[:2], np.uint8)
    outline = [[22, 512], [28, 300], [90, 248], [140, 266], [190, 288], [250, 292]]
    outline += [[300, 266], [350, 276], [362, 330], [300, 356], [278, 420], [272, 512]]
    cv2.fillPoly(torso, [np.array(outline)], 1)
    mask = (orange & (torso > 0)).astype(np.uint8)
    closing = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (15, 15))
    closed: np.ndarray = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, closing)
    mask = closed & torso
    # Patches, the name tag and the zip are on the suit: fill the holes they leave.
    count, labels, stats, _ = cv2.connectedComponentsWithStats(1 - mask, connectivity=4)
    for label in range(1, count):
        x, y, width, height, area = stats[label]
        inner = x > 0 and y > 0 and x + width < mask.shape[1] and y + height < mask.shape[0]
        if inner and area < 6000:
            mask[labels == label] = 1
    return mask * 255


def swatch() -> np.ndarray:
    """A 190×180 crop of ``skimage.data.immunohistochemistry()`` around one round gland (a
    brown rosette on pale blue, like a floral print): a real photo, not a designed
    repeat, so its edges do not match when tiled."""
    from skimage import data

    return np.ascontiguousarray(data.immunohistochemistry()[295:485, 225:405])


def _ellipse_mask(
    shape: tuple[int, int], centre: tuple[int, int], axes: tuple[int, int]
) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    cv2.ellipse(mask, centre, axes, 0, 0, 360, 255, -1)
    return mask


def demo_cases() -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray, SwapParams]]:
    """(name, scene, mask, object, params) for each mode, on real photos."""
    from skimage import data

    coffee = data.coffee()
    astronaut = data.astronaut()
    chelsea = data.chelsea()
    rocket = data.rocket()
    rocket_mask = np.zeros(rocket.shape[:2], np.uint8)
    rocket_mask[115:335, 295:345] = 255
    nothing = np.zeros((4, 4, 4), np.uint8)
    return [
        ("object", coffee, cup_mask(coffee.shape[:2]), gift_box(), SwapParams()),
        (
            "pattern",
            astronaut,
            suit_mask(astronaut),
            swatch(),
            SwapParams(horizontal_repeat=4, vertical_repeat=4, growmask=0),
        ),
        # The cat's right eye: a textured region between fur and background.
        (
            "remove",
            chelsea,
            _ellipse_mask(chelsea.shape[:2], (300, 150), (40, 34)),
            nothing,
            SwapParams(),
        ),
        ("remove-rocket", rocket, rocket_mask, nothing, SwapParams()),
    ]


def _label(image: np.ndarray, text: str) -> np.ndarray:
    out = image.copy()
    scale = max(0.6, image.shape[1] / 700)
    thickness = max(1, round(scale))
    origin = (10, round(30 * scale))
    cv2.putText(
        out,
        text,
        origin,
        cv2.FONT_HERSHEY_SIMPLEX,
        scale,
        (255, 255, 255),
        4 * thickness,
        cv2.LINE_AA,
    )
    cv2.putText(
        out, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, (20, 20, 20), thickness, cv2.LINE_AA
    )
    return out


def _outlined(scene: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The scene with the mask's outline drawn on it (white over a dark edge)."""
    out = scene.copy()
    contours, _ = cv2.findContours(
        (mask > 127).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE
    )
    thickness = max(2, round(scene.shape[1] / 300))
    cv2.drawContours(out, contours, -1, (20, 20, 20), thickness + 2, cv2.LINE_AA)
    cv2.drawContours(out, contours, -1, (255, 255, 255), thickness, cv2.LINE_AA)
    return out


def _inset(image: np.ndarray, obj: np.ndarray) -> np.ndarray:
    """``image`` with the object (or swatch) shown in its bottom-left corner, framed."""
    if obj.shape[2] == 4 and int(obj[:, :, 3].max()) == 0:
        return image
    side = max(48, image.shape[0] // 4)
    height, width = obj.shape[:2]
    scale = side / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    thumb = cv2.resize(obj, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    if thumb.shape[2] == 4:
        alpha = thumb[:, :, 3:4] / 255.0
        thumb = thumb[:, :, :3] * alpha + 235.0 * (1.0 - alpha)  # on light grey
    out = image.copy()
    pad = 6
    top = image.shape[0] - size[1] - 2 * pad - 8
    left = 8
    out[top : top + size[1] + 2 * pad, left : left + size[0] + 2 * pad] = 255
    out[top + pad : top + pad + size[1], left + pad : left + pad + size[0]] = np.rint(thumb).astype(
        np.uint8
    )
    return out


def sheet_row(
    name: str, scene: np.ndarray, mask: np.ndarray, obj: np.ndarray, result: np.ndarray
) -> np.ndarray:
    """One row of the before/after sheet: the scene with the mask's outline (and the object
    put in, bottom left), then the result; SHEET_WIDTH pixels wide."""
    before = _label(_inset(_outlined(scene, mask), obj), "before")
    after = _label(result, f"after: {name}")
    gap = np.full((scene.shape[0], 8, 3), 255, np.uint8)
    row = np.hstack([before, gap, after])
    height = round(row.shape[0] * SHEET_WIDTH / row.shape[1])
    return cv2.resize(row, (SHEET_WIDTH, height), interpolation=cv2.INTER_AREA)


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
        rows.append(sheet_row(name, scene, mask, obj, result))
        rows.append(np.full((8, SHEET_WIDTH, 3), 255, np.uint8))
        yield f"{name:14s} {scene.shape[1]}x{scene.shape[0]}  {took * 1000:7.1f} ms  -> {path}"
    sheet = folder / "before-after.png"
    sheet.write_bytes(encode_image(np.vstack(rows[:-1]), "png", 95))
    yield f"before/after sheet -> {sheet}"
