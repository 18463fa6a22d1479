"""Where the fill may copy from: whole known windows (the patch size and its tests).

The crop the fill works on (:func:`.completion.crop_box`) bounds how far it reaches, and
:mod:`.exclusion` blocks the removed content's look-alikes inside it.
"""

from __future__ import annotations

import cv2
import numpy as np

PATCH = 7
"""Side, in pixels, of the window two patches are compared over (odd)."""

RADIUS = PATCH // 2


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
