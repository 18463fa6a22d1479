"""Pattern transfer: a tiled pattern becomes the surface of the region, keeping its shading."""

from __future__ import annotations

import cv2
import numpy as np

from segswap.engine.harmonize import to_lab, to_rgb
from segswap.engine.region import EditRegion, bounding_box

SHADING_OFFSET = 10.0
"""Lightness (L, 0–100) added to both sides of the shading ratio to damp it in the dark."""


def tile_pattern(rgb: np.ndarray, height: int, width: int, across: int, down: int) -> np.ndarray:
    """The pattern repeated ``across`` × ``down`` times, filling an H×W area (uint8, any
    number of channels).

    Each tile is ``width / across`` × ``height / down`` pixels, so doubling both repeats
    halves the pattern's period.
    """
    tile_w = max(1, round(width / across))
    tile_h = max(1, round(height / down))
    interpolation = cv2.INTER_AREA if tile_w < rgb.shape[1] else cv2.INTER_LINEAR
    tile = cv2.resize(rgb, (tile_w, tile_h), interpolation=interpolation)
    reps = (-(-height // tile_h), -(-width // tile_w), 1)
    return np.tile(tile, reps)[:height, :width]


def shading_sigma(height: int, width: int) -> float:
    """Blur (pixels) separating the region's shading (kept) from its old texture (replaced)."""
    return max(2.0, min(height, width) / 64)


def transfer_pattern(
    crop: np.ndarray,
    region: EditRegion,
    rgba: np.ndarray,
    across: int,
    down: int,
    fashion_strength: float,
) -> np.ndarray:
    """The crop with the pattern laid over its grown mask.

    The pattern's lightness is multiplied by the region's own low-frequency lightness
    relative to its mean (folds and shadows darken it, highlights brighten it); its
    colour is the pattern's. ``fashion_strength`` (0–1) mixes from the region unchanged
    (0) to the full pattern (1); where the pattern is transparent the surface stays.
    The pattern also covers the feather band, so the edge fades over
    :data:`segswap.engine.region.FEATHER_PX` pixels.
    """
    if fashion_strength <= 0.0:
        return crop.copy()
    box = bounding_box(region.blend > 0)
    patch = crop[box.slices]
    tiled = tile_pattern(rgba, box.height, box.width, across, down)
    pattern = np.ascontiguousarray(tiled[:, :, :3])
    # A pattern with transparent parts (a print on a clear background) lets the
    # surface show through there.
    coverage = fashion_strength * tiled[:, :, 3:4].astype(np.float32) / 255.0

    lightness = to_lab(patch)[:, :, 0]
    shading = cv2.GaussianBlur(lightness, (0, 0), shading_sigma(box.height, box.width))
    inside = region.grown[box.slices]
    # The offset keeps the ratio steady on very dark surfaces, where noise would dominate.
    relative = (shading + SHADING_OFFSET) / (float(shading[inside].mean()) + SHADING_OFFSET)

    pattern_lab = to_lab(pattern)
    pattern_lab[:, :, 0] = np.clip(pattern_lab[:, :, 0] * relative, 0.0, 100.0)
    shaded = to_rgb(pattern_lab).astype(np.float32)
    mixed = patch.astype(np.float32) + coverage * (shaded - patch.astype(np.float32))
    result = crop.copy()
    result[box.slices] = np.clip(np.rint(mixed), 0, 255).astype(np.uint8)
    return result
