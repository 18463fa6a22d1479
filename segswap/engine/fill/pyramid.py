"""The masked image pyramid the fill works down and up.

Each level halves the one below with a 6-tap binomial kernel (1 5 10 10 5 1) that
averages only known pixels, as PatchMatch inpainting does (Barnes et al. 2009, in the
form of Xavier Philippeau's implementation): a coarse pixel is known as soon as one
known pixel lies under its kernel. The hole therefore shrinks by about one coarse pixel
per level beyond the halving, and once it has vanished the coarse level is a smooth
blend of the known pixels around it: the first estimate of the hole.
"""

from __future__ import annotations

import cv2
import numpy as np

from segswap.engine.fill.sources import PATCH

BINOMIAL = np.array([1.0, 5.0, 10.0, 10.0, 5.0, 1.0], np.float32) / 32.0
"""The halving kernel; the coarse pixel (y, x) is centred on fine (2y + ½, 2x + ½)."""

MIN_SIDE = PATCH
"""No level is made whose shorter side is under this many pixels."""


def halve(
    image: np.ndarray, hole: np.ndarray, hidden: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The next coarser level of (image H×W×C float32, hole, hidden): the known pixels'
    binomial average; a coarse pixel is in the hole only if no known pixel is under its
    kernel, and hidden only if every hole pixel under it is."""
    height, width = hole.shape
    known = (~hole).astype(np.float32)

    def blur(values: np.ndarray) -> np.ndarray:
        # Anchor 2 of 6 taps: output y averages rows y-2 .. y+3 (centred on y + ½).
        return cv2.sepFilter2D(
            values, -1, BINOMIAL, BINOMIAL, anchor=(2, 2), borderType=cv2.BORDER_CONSTANT
        )

    rows, cols = (height + 1) // 2, (width + 1) // 2
    weight = blur(known)[::2, ::2][:rows, :cols]
    summed = blur(image * known[:, :, None])
    if summed.ndim == 2:
        summed = summed[:, :, None]
    summed = summed[::2, ::2][:rows, :cols]
    coarse_hole = weight <= 1e-6
    coarse = summed / np.maximum(weight, 1e-6)[:, :, None]
    coarse[coarse_hole] = 0.0
    shown = (hole & ~hidden).astype(np.float32)
    visible = blur(shown)[::2, ::2][:rows, :cols]
    coarse_hidden = coarse_hole & (visible <= 1e-6)
    return coarse.astype(np.float32), coarse_hole, coarse_hidden


def pyramid(
    image: np.ndarray, hole: np.ndarray, hidden: np.ndarray | None = None
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Levels (image, hole, hidden), finest first, halving until the hole has vanished
    (the last level then has none) or a level would be narrower than :data:`MIN_SIDE`.

    A coarse pixel averages known pixels only, so the removed content never leaks into
    the coarse levels.
    """
    if hidden is None:
        hidden = np.zeros_like(hole)
    levels = [(image, hole, hidden)]
    while True:
        level_image, level_hole, level_hidden = levels[-1]
        height, width = level_hole.shape
        if not level_hole.any() or min((height + 1) // 2, (width + 1) // 2) < MIN_SIDE:
            return levels
        levels.append(halve(level_image, level_hole, level_hidden))
