"""Where the model works: a square-ish crop around the grown mask, at native resolution."""

from __future__ import annotations

import cv2
import numpy as np

from segswap.engine.region import (
    FEATHER_PX,
    Box,
    EditRegion,
    bounding_box,
    context_margin,
    expand_box,
    reframe,
)

CONTEXT = 0.3
"""Scene kept around the mask for the model to see, as a share of the mask's longer side
(16–256 pixels, see :func:`segswap.engine.region.context_margin`)."""


def _widen(start: int, stop: int, side: int, limit: int) -> tuple[int, int]:
    """``[start, stop)`` widened to ``side`` (centred, shifted to stay in ``[0, limit)``)."""
    side = min(side, limit)
    extra = side - (stop - start)
    if extra <= 0:
        return start, stop
    start = max(0, start - extra // 2)
    stop = start + side
    if stop > limit:
        stop = limit
        start = stop - side
    return start, stop


def square_box(box: Box, height: int, width: int) -> Box:
    """``box`` widened on its shorter axis to a square, as far as an H×W image allows."""
    side = max(box.height, box.width)
    top, bottom = _widen(box.top, box.bottom, side, height)
    left, right = _widen(box.left, box.right, side, width)
    return Box(top, left, bottom, right)


def model_region(
    region: EditRegion, height: int, width: int, context: float = CONTEXT
) -> EditRegion:
    """The diffusion engine's region in an H×W scene: the composite plan's ``region`` (its
    mask already grown by ``growmask``, not grown again) on a square-ish crop: the grown
    mask's box plus ``context`` of the mask's size and the feather band, widened to a
    square."""
    offset = region.crop.top, region.crop.left
    mask_box = bounding_box(region.mask).shifted(*offset)
    grown_box = bounding_box(region.grown).shifted(*offset)
    margin = context_margin(mask_box, context) + FEATHER_PX
    crop = square_box(expand_box(grown_box, margin, height, width), height, width)
    return reframe(region, crop)


def native_size(height: int, width: int, native: int, multiple: int) -> tuple[int, int]:
    """(H, W) for the model: the longer side ``native``, the shorter one in proportion,
    both multiples of ``multiple`` (at least one ``multiple``)."""
    scale = native / max(height, width)

    def fit(n: int) -> int:
        return max(multiple, int(round(n * scale / multiple)) * multiple)

    return fit(height), fit(width)


def resize(image: np.ndarray, height: int, width: int, nearest: bool = False) -> np.ndarray:
    """``image`` resized to H×W: area averaging down, bicubic up, or nearest neighbour."""
    if image.shape[:2] == (height, width):
        return image.copy()
    if nearest:
        interpolation = cv2.INTER_NEAREST
    elif height * width < image.shape[0] * image.shape[1]:
        interpolation = cv2.INTER_AREA
    else:
        interpolation = cv2.INTER_CUBIC
    return cv2.resize(image, (width, height), interpolation=interpolation)
