"""Proof of untouched pixels: the box outside which an edit changed nothing.

A result's ``changed_box`` ``(x0, y0, x1, y1)`` (pixels, end-exclusive) is the smallest
box holding every pixel where the output differs from the input scene: every pixel
outside it is the scene's, byte for byte. It is measured on the pixels, not assumed.
For an engine that declares ``edits_within_reach`` (the composite and diffusion engines,
which paste back only the grown mask and its feather band), only the part of the scene
that the mask can reach is compared, so the cost follows the masked area; for any other
engine the whole image is compared.
"""

from __future__ import annotations

import numpy as np

from segswap.engine.region import FEATHER_PX, Box, bounding_box, expand_box

ChangedBox = tuple[int, int, int, int]
"""``(x0, y0, x1, y1)``: columns ``x0 ≤ x < x1``, rows ``y0 ≤ y < y1``."""

NOTHING_CHANGED: ChangedBox = (0, 0, 0, 0)
"""The (empty) box of an edit that left every pixel as it was."""


def reach_box(mask: np.ndarray, growmask: int) -> Box:
    """The box holding every pixel an edit of ``mask`` (H×W bool, not empty) grown by
    ``growmask`` pixels may change: the grown mask and its FEATHER_PX-pixel band (one
    pixel more, against rounding in the distance transform)."""
    height, width = mask.shape
    return expand_box(bounding_box(mask), growmask + FEATHER_PX + 1, height, width)


def changed_box(before: np.ndarray, after: np.ndarray, within: Box | None = None) -> ChangedBox:
    """The smallest box outside which ``after`` equals ``before`` (both H×W×C uint8).

    Args:
        before: the input scene.
        after: the output, the same shape.
        within: a box outside which the two are known to be equal (only it is compared);
            None compares everything.

    Returns:
        ``(x0, y0, x1, y1)`` end-exclusive, or :data:`NOTHING_CHANGED`.
    """
    if before.shape != after.shape:
        raise ValueError(f"shapes differ: {before.shape} and {after.shape}")
    box = within or Box(0, 0, before.shape[0], before.shape[1])
    differs = before[box.slices] != after[box.slices]
    if differs.ndim == 3:
        differs = differs.any(axis=2)
    if not differs.any():
        return NOTHING_CHANGED
    inner = bounding_box(differs).shifted(box.top, box.left)
    return (inner.left, inner.top, inner.right, inner.bottom)


def outside_is_unchanged(before: np.ndarray, after: np.ndarray, box: ChangedBox) -> bool:
    """Whether every pixel of ``after`` outside ``box`` equals ``before``'s (compares the
    whole image: for tests and audits)."""
    x0, y0, x1, y1 = box
    keep = np.ones(before.shape[:2], bool)
    keep[y0:y1, x0:x1] = False
    return bool(np.array_equal(before[keep], after[keep]))
