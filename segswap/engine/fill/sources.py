"""Where the fill may copy from: whole known windows inside the sampling area.

The **sampling area** is the band of known scene around the hole that sources are drawn
from, like the sampling area of Photoshop's Content-Aware Fill. Copying only from near
the hole keeps distant, unrelated content (a face across the picture, another object)
out of the fill even where a small patch of it happens to match. Its width follows the
hole's thickness (twice its inscribed radius): a thin scratch fills from close by, a
wide object from farther out.
"""

from __future__ import annotations

import cv2
import numpy as np

PATCH = 7
"""Side, in pixels, of the window two patches are compared over (odd)."""

RADIUS = PATCH // 2

SAMPLING_SCALE = 0.5
"""Sampling area: known pixels at most this many hole thicknesses from the hole."""

SAMPLING_MIN_PX = 48
"""The sampling area reaches at least this many pixels (full resolution) from the hole."""


def whole_windows(hole: np.ndarray) -> np.ndarray:
    """H×W bool: centres whose whole PATCH×PATCH window is known and inside the image."""
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (PATCH, PATCH))
    touched = cv2.dilate(hole.view(np.uint8), kernel).astype(bool)
    ok = ~touched
    ok[:RADIUS, :] = False
    ok[-RADIUS:, :] = False
    ok[:, :RADIUS] = False
    ok[:, -RADIUS:] = False
    return ok


def hole_thickness(hole: np.ndarray) -> float:
    """Twice the hole's inscribed radius (pixels): the width of a strip, the diameter of
    a disk. The image's border counts as known (a hole there is not thinned by it)."""
    inside = cv2.distanceTransform(np.pad(hole, 1).view(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_5)
    return 2.0 * float(inside.max())


def sampling_reach(hole: np.ndarray, scale: float = SAMPLING_SCALE) -> float:
    """Width (pixels, at the resolution of ``hole``) of the sampling area around it:
    ``scale`` × the hole's thickness, at least :data:`SAMPLING_MIN_PX`."""
    return max(float(SAMPLING_MIN_PX), scale * hole_thickness(hole))


def source_centres(hole: np.ndarray, reach: float | None, min_count: int = 16) -> np.ndarray:
    """H×W bool: the source centres at one level: whole known windows whose centre lies
    within ``reach`` pixels of the hole (anywhere when ``reach`` is None, or when the
    band holds fewer than ``min_count`` of them)."""
    ok = whole_windows(hole)
    if reach is None:
        return ok
    distance = cv2.distanceTransform((~hole).view(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_5)
    near = ok & (distance <= reach)
    return near if np.count_nonzero(near) >= min_count else ok
