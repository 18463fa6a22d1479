"""Pattern transfer: a tiled pattern becomes the surface of the region, keeping its shading.

Two steps:

- **Tiling without seams.** A swatch whose opposite edges do not match (a photo crop,
  not a designed repeat) shows a hard line at every tile border. Such a swatch is made
  seamless first: it is cross-faded with a copy of itself shifted by half a tile, the
  shifted copy taking over toward the tile's edges (where it continues across the
  border, its own join being hidden in the middle of the tile); the blend keeps the
  texture's contrast (variance-preserving weights) rather than washing it out.
- **Shading.** The region's own light (its low-frequency luminance, in linear light,
  relative to its mean) multiplies the pattern, as light multiplies a surface's colour:
  folds and shadows darken it, highlights brighten it. Brightening is compressed with
  a soft knee toward white and the light ratio itself is compressed in the log domain,
  so highlights stay highlights without clipping to white and a bright label on the old
  surface does not burn a blob into the pattern.
"""

from __future__ import annotations

import cv2
import numpy as np

from segswap.engine.harmonize import LUMA, from_linear, to_linear
from segswap.engine.region import EditRegion, bounding_box

SEAM_RATIO = 1.3
"""A swatch is not seamless along an axis when the colour step across its wrap-around
border is more than this many times a large step inside it (see :func:`seam_ratio`)."""

CROSSFADE_SHARE = 0.2
"""Width of the cross-fade toward each tile edge, as a share of the tile's side."""

KNEE = 0.8
"""Linear value above which brightening is compressed toward (never onto) white."""

LIGHT_RANGE = (0.03, 2.0)
"""Soft limits of the light ratio (darkest shadow, brightest highlight) applied to the
pattern; ratios inside are kept nearly as measured."""


def seam_ratio(tile: np.ndarray, axis: int) -> float:
    """The step across the wrap-around border along ``axis`` (0: the top/bottom join; 1:
    the left/right join) over the largest step between neighbouring rows (or columns)
    inside the H×W×C ``tile``, each step a mean over the whole line.

    About 1 or less for a designed repeat, even one with a hard edge at its border (a
    checker's edge recurs inside); well above 1 for a photo crop.
    """
    image = tile.astype(np.float32)
    if image.shape[axis] < 3:
        return 1.0
    other = tuple(a for a in range(image.ndim) if a != axis)
    inside = np.abs(np.diff(image, axis=axis)).mean(axis=other)
    border = np.abs(np.take(image, 0, axis=axis) - np.take(image, -1, axis=axis)).mean()
    return float(border / max(float(inside.max()), 1e-3))


def _ramp(length: int, width: int) -> np.ndarray:
    """1 in the middle, falling smoothly to 0 at both ends over ``width`` samples."""
    position = np.arange(length, dtype=np.float32) + 0.5
    distance = np.minimum(position, length - position) / max(width, 1)
    t = np.clip(distance, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def rough_axes(swatch: np.ndarray) -> tuple[int, ...]:
    """The axes (0: top/bottom, 1: left/right) along which ``swatch`` (h×w×C, as sent,
    before any resizing blurs its edges) does not repeat cleanly (SEAM_RATIO)."""
    return tuple(
        axis for axis in (1, 0) if swatch.shape[axis] >= 8 and seam_ratio(swatch, axis) > SEAM_RATIO
    )


def make_seamless(tile: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """``tile`` (h×w×C uint8) cross-faded at its borders along ``axes`` (see the module
    docstring and :func:`rough_axes`); with no axes it is returned unchanged.

    One axis at a time: the copy shifted along that axis only has its own join in the
    middle of the tile, where the original is kept whole, and it keeps the other axis's
    borders as they are.
    """
    image = tile.astype(np.float32)
    changed = False
    for axis in axes:
        size = image.shape[axis]
        if size < 4:
            continue
        ramp = _ramp(size, round(CROSSFADE_SHARE * size))
        weight = ramp[None, :, None] if axis == 1 else ramp[:, None, None]
        shifted = np.roll(image, size // 2, axis=axis)
        mean = image.reshape(-1, image.shape[2]).mean(axis=0)
        # Variance-preserving: two uncorrelated textures mixed half and half would lose
        # ~30 % of their contrast; dividing by the weights' norm keeps it.
        norm = np.sqrt(weight * weight + (1.0 - weight) ** 2)
        image = mean + (weight * (image - mean) + (1.0 - weight) * (shifted - mean)) / norm
        changed = True
    if not changed:
        return tile
    # Kept within the swatch's own range per channel, so the contrast kept by the
    # blend never clips what was not clipped.
    flat = tile.reshape(-1, tile.shape[2])
    image = np.clip(image, flat.min(axis=0), flat.max(axis=0))
    return np.rint(image).astype(np.uint8)


def tile_pattern(rgb: np.ndarray, height: int, width: int, across: int, down: int) -> np.ndarray:
    """The pattern repeated ``across`` × ``down`` times, filling an H×W area (uint8, any
    number of channels), made seamless first when it is not (:func:`make_seamless`).

    Each tile is ``width / across`` × ``height / down`` pixels, so doubling both repeats
    halves the pattern's period.
    """
    tile_w = max(1, round(width / across))
    tile_h = max(1, round(height / down))
    interpolation = cv2.INTER_AREA if tile_w < rgb.shape[1] else cv2.INTER_LINEAR
    tile = cv2.resize(rgb, (tile_w, tile_h), interpolation=interpolation)
    if tile.ndim == 2:
        tile = tile[:, :, None]
    tile = make_seamless(tile, rough_axes(rgb if rgb.ndim == 3 else rgb[:, :, None]))
    reps = (-(-height // tile_h), -(-width // tile_w), 1)
    return np.tile(tile, reps)[:height, :width]


def shading_sigma(height: int, width: int) -> float:
    """Blur (pixels) separating the region's shading (kept) from its old texture (replaced)."""
    return max(2.0, min(height, width) / 64)


def soft_limit(ratio: np.ndarray) -> np.ndarray:
    """The light ratio compressed in the log domain toward LIGHT_RANGE (never past it)."""
    log_ratio = np.log(np.maximum(ratio, 1e-4))
    low, high = np.log(LIGHT_RANGE[0]), np.log(LIGHT_RANGE[1])
    limit = np.where(log_ratio < 0, -low, high)
    return np.exp(limit * np.tanh(log_ratio / limit)).astype(np.float32)


def apply_light(linear: np.ndarray, ratio: np.ndarray) -> np.ndarray:
    """Linear RGB (…×3, 0–1) lit by ``ratio`` (…): multiplied, with values above KNEE
    compressed so that they approach 1 without reaching it."""
    lit = linear * ratio[..., None]
    over = lit > KNEE
    headroom = 1.0 - KNEE
    compressed = KNEE + headroom * np.tanh((lit - KNEE) / headroom)
    return np.where(over, compressed, lit).astype(np.float32)


def transfer_pattern(
    crop: np.ndarray,
    region: EditRegion,
    rgba: np.ndarray,
    across: int,
    down: int,
    fashion_strength: float,
) -> np.ndarray:
    """The crop with the pattern laid over its grown mask.

    The pattern, in linear light, is multiplied by the region's own low-frequency
    luminance relative to its mean (see the module docstring); its colour is the
    pattern's. ``fashion_strength`` (0–1) mixes from the region unchanged (0) to the
    full pattern (1); where the pattern is transparent the surface stays. The pattern
    also covers the feather band, so the edge fades over
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

    luminance = to_linear(patch) @ LUMA
    shading = cv2.GaussianBlur(luminance, (0, 0), shading_sigma(box.height, box.width))
    inside = region.grown[box.slices]
    # The small offset keeps the ratio steady on very dark surfaces, where noise dominates.
    offset = 0.01
    ratio = soft_limit((shading + offset) / (float(shading[inside].mean()) + offset))
    shaded = from_linear(apply_light(to_linear(pattern), ratio))
    mixed = patch.astype(np.float32) + coverage * (shaded - patch.astype(np.float32))
    result = crop.copy()
    result[box.slices] = np.clip(np.rint(mixed), 0, 255).astype(np.uint8)
    return result
