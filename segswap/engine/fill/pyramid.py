"""The mask-aware image pyramid the fill works down and up."""

from __future__ import annotations

import cv2
import numpy as np

from segswap.engine.fill.sources import hole_thickness, whole_windows

COARSEST_THICKNESS = 48
"""The pyramid stops once the hole is at most this many pixels thick (twice its
inscribed radius): a few patches across, so the coarsest search sees the hole's
surroundings at a scale where its patches still mean something. (A long, thin hole is
not shrunk until its thickness vanishes, as its longer side would make it.)"""

MIN_SIDE = 42
"""No level is made whose shorter side is under this many pixels (6 patches)."""

MIN_SOURCES = 16
"""A coarser level is made only if it keeps at least this many whole known windows."""


def pyramid(
    lab: np.ndarray, hole: np.ndarray, hidden: np.ndarray | None = None, shown_depth: bool = True
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Levels (Lab image, hole, hidden), finest first, halving until the part of the hole
    to fill (``hole`` less ``hidden``; the whole hole unless ``shown_depth``) is thin.

    A coarse pixel averages the known pixels under it only, so the removed content never
    leaks into the coarse levels; it is in the hole unless every pixel under it was known,
    and hidden (needs no fill, see :func:`.completion.fill_hole`) only if every hole pixel
    under it was hidden.
    """
    if hidden is None:
        hidden = np.zeros_like(hole)
    levels = [(lab, hole, hidden)]
    while True:
        image, mask, unseen = levels[-1]
        height, width = mask.shape
        shown = mask & ~unseen
        thickness = hole_thickness(shown if shown_depth else mask)
        if thickness <= COARSEST_THICKNESS or min(height, width) < MIN_SIDE:
            return levels
        size = ((width + 1) // 2, (height + 1) // 2)
        known = (~mask).astype(np.float32)
        weight = cv2.resize(known, size, interpolation=cv2.INTER_AREA)
        summed = cv2.resize(image * known[:, :, None], size, interpolation=cv2.INTER_AREA)
        coarse_hole = weight < 0.999
        if coarse_hole.all() or np.count_nonzero(whole_windows(coarse_hole)) < MIN_SOURCES:
            return levels
        coarse_shown = cv2.resize(shown.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0
        coarse = summed / np.maximum(weight, 1e-6)[:, :, None]
        levels.append((coarse.astype(np.float32), coarse_hole, coarse_hole & ~coarse_shown))
