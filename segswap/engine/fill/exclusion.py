"""What a removal must not bring back: the removed content's look-alikes in the scene.

PatchMatch searches the scene for whatever matches best, so it rebuilds another copy of
what was removed (another cup of a row, the other eye, a neighbouring sheep's head)
wherever a look-alike stands nearby. Before the fill, every known pixel of the crop is
described by its local colour and texture (:func:`descriptors`) and compared with two
samples: the removed content (the hole's core) and the scene around it. A known pixel
whose nearest described neighbours are mostly the removed content's is a look-alike,
and look-alike pieces are *blocked*: no source window may cover them.

On a hole laid over background that goes on around it (nothing distinct removed) the
two samples describe the same thing, the vote hovers near one half, and nothing is
blocked.
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy.spatial import cKDTree

from segswap.engine.fill.sources import hole_thickness

SCALE_THICKNESS = 24.0
"""The comparison runs on a copy scaled so the hole is about this many pixels thick."""

CORE_SHARE = 0.3
"""The removed content is sampled where the hole is deeper than this share of its
greatest depth (the rim of a loose mask is mostly background)."""

SAMPLES = 2000
"""At most this many pixels of each sample (evenly strided, so repeatable)."""

NEIGHBOURS = 12
"""How many nearest described pixels vote."""

SHARE = 0.9
"""A known pixel is a look-alike when at least this share of its nearest neighbours
(the two samples counted at equal size) are the removed content's."""

MIN_PIECE = 0.02
"""A blocked piece is kept only if it covers at least this share of the hole's area
(at least 16 px, full resolution): single pixels block nothing."""

GROW = 3
"""Blocked pieces are grown by this many pixels (their soft rims look alike too)."""

RING_SHARE = 0.5
"""If more than this share of the known pixels touching the hole would be blocked,
nothing is."""

MAX_SHARE = 0.15
"""If more than this share of the known pixels would be blocked, nothing is (the hole
did not hold anything distinct from its surroundings)."""


def descriptors(rgb: np.ndarray) -> np.ndarray:
    """H×W×6 float32: Lab colour (L 0–100) averaged over 5×5, the standard deviation of
    L over 5×5 and the mean |∇L| over 5×5 (×2 each: texture counts as much as tone)."""
    lab = cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    mean = cv2.blur(lab, (5, 5))
    lightness = np.ascontiguousarray(lab[:, :, 0])
    variance = cv2.blur(lightness * lightness, (5, 5)) - cv2.blur(lightness, (5, 5)) ** 2
    spread = np.sqrt(np.maximum(variance, 0.0))
    gy = cv2.Sobel(lightness, cv2.CV_32F, 0, 1, ksize=3, scale=0.125)
    gx = cv2.Sobel(lightness, cv2.CV_32F, 1, 0, ksize=3, scale=0.125)
    energy = cv2.blur(np.hypot(gx, gy), (5, 5))
    return np.dstack([mean, 2.0 * spread, 2.0 * energy]).astype(np.float32)


def _strided(values: np.ndarray, limit: int) -> np.ndarray:
    step = max(1, int(np.ceil(len(values) / limit)))
    return values[::step]


def lookalikes(image: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """H×W bool: known pixels of ``image`` (H×W×3 uint8 RGB) that look like what
    ``hole`` (H×W bool) held rather than like the scene around it."""
    none = np.zeros_like(hole)
    height, width = hole.shape
    thickness = hole_thickness(hole)
    factor = max(1.0, thickness / SCALE_THICKNESS)
    size = (max(1, round(width / factor)), max(1, round(height / factor)))
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    small_hole = cv2.resize(hole.view(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
    if small_hole.all() or not small_hole.any():
        return none
    described = descriptors(small)
    depth = cv2.distanceTransform(small_hole.view(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_5)
    core = depth > CORE_SHARE * depth.max()
    known = ~small_hole
    core_samples = _strided(described[core], SAMPLES)
    # The scene is sampled around the hole, as close to it as the core is deep, so both
    # samples are as compact (a pixel resembles its neighbours).
    reach = max(2, int(round(depth.max())))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1))
    around = cv2.dilate(small_hole.view(np.uint8), kernel).astype(bool) & known
    scene_samples = _strided(described[around], SAMPLES)
    if len(core_samples) < NEIGHBOURS or len(scene_samples) < NEIGHBOURS:
        return none
    count = min(len(core_samples), len(scene_samples))
    core_samples = _strided(core_samples, count)[:count]
    scene_samples = _strided(scene_samples, count)[:count]
    tree = cKDTree(np.concatenate([core_samples, scene_samples]))
    _, nearest = tree.query(described[known], k=NEIGHBOURS)
    share = (nearest < len(core_samples)).mean(axis=1)
    flagged = np.zeros_like(small_hole)
    flagged[known] = share >= SHARE
    if np.count_nonzero(flagged) > MAX_SHARE * np.count_nonzero(known):
        return none
    # Look-alikes all around the hole are the background it stands on, not a neighbour.
    ring = cv2.dilate(small_hole.view(np.uint8), np.ones((5, 5), np.uint8)).astype(bool) & known
    if np.count_nonzero(flagged & ring) > RING_SHARE * np.count_nonzero(ring):
        return none
    blocked = (
        cv2.resize(flagged.view(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST) > 0
    )
    blocked &= ~hole
    pieces, labels, stats, _ = cv2.connectedComponentsWithStats(
        blocked.view(np.uint8), connectivity=8
    )
    minimum = max(16, int(MIN_PIECE * np.count_nonzero(hole)))
    keep = stats[:, cv2.CC_STAT_AREA] >= minimum
    keep[0] = False
    blocked = keep[labels]
    if GROW and blocked.any():
        grow = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * GROW + 1, 2 * GROW + 1))
        blocked = cv2.dilate(blocked.view(np.uint8), grow).astype(bool) & ~hole
    return blocked
