"""Seamless tiling of any swatch, also one whose opposite edges do not match.

A swatch that is not a designed repeat (a photo crop) shows a hard line at every tile
border when it is tiled as it is. Such a swatch is *quilted* into a periodic tile: it is
resized to its period plus an overlap, and the overlap at one end is laid over the
other end along the path where the two differ least (a minimum-error boundary cut,
found by dynamic programming, as in Efros and Freeman's image quilting), softened over
a few pixels. A gradient of light across the crop (a plane in log gray) is evened out
first, or its dark side would meet the next tile's bright side at every border. The
texture keeps its own contrast (nothing is averaged away, unlike a cross-fade) and the
tile's period stays what the repeats ask for. What step of colour or light is left at
the borders is then taken out by Moisan's periodic plus smooth decomposition.
"""

from __future__ import annotations

import cv2
import numpy as np

SEAM_RATIO = 1.3
"""A swatch is not seamless along an axis when the colour step across its wrap-around
border is more than this many times a large step inside it (see :func:`seam_ratio`)."""

OVERLAP_SHARE = 0.25
"""Overlap quilted across each rough border, as a share of the tile's period."""

SEAM_SOFTNESS = 1.5
"""Half-width in pixels of the blend across the cut (hides what step remains on it)."""


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


def rough_axes(swatch: np.ndarray) -> tuple[int, ...]:
    """The axes (0: top/bottom, 1: left/right) along which ``swatch`` (h×w×C, as sent,
    before any resizing blurs its edges) does not repeat cleanly (SEAM_RATIO)."""
    return tuple(
        axis for axis in (1, 0) if swatch.shape[axis] >= 8 and seam_ratio(swatch, axis) > SEAM_RATIO
    )


def cheapest_cut(cost: np.ndarray) -> np.ndarray:
    """Per row of the H×W ``cost``, the column of the connected top-to-bottom path (each
    step moves at most one column) of least total cost."""
    height, width = cost.shape
    total = cost.astype(np.float64).copy()
    for row in range(1, height):
        above = total[row - 1]
        left = np.concatenate(([np.inf], above[:-1]))
        right = np.concatenate((above[1:], [np.inf]))
        total[row] += np.minimum(np.minimum(left, right), above)
    path = np.empty(height, np.int64)
    path[-1] = int(np.argmin(total[-1]))
    for row in range(height - 2, -1, -1):
        previous = path[row + 1]
        low, high = max(0, previous - 1), min(width, previous + 2)
        path[row] = low + int(np.argmin(total[row, low:high]))
    return path


def _quilt_columns(source: np.ndarray, period: int) -> np.ndarray:
    """A tile ``period`` columns wide that repeats left/right without a seam, from
    ``source`` (H×(period + overlap)×C float32): the overlap past the period (which
    continues the tile's right side) is cut into the tile's first columns (which lead
    into its middle) along the cheapest path, so both joins are the swatch's own."""
    overlap = source.shape[1] - period
    tail = source[:, period:]  # what follows column period - 1 in the swatch
    head = source[:, :overlap]  # what precedes column ``overlap`` in the swatch
    cost = ((tail - head) ** 2).sum(axis=2)
    cost = cv2.GaussianBlur(cost, (0, 0), 1.0)
    # Kept off the overlap's own ends: a cut there would be a step against the middle.
    cost[:, :1] = cost[:, -1:] = np.inf
    path = cheapest_cut(cost)
    columns = np.arange(overlap, dtype=np.float32)[None, :]
    # 1 left of the cut (take the tail), 0 right of it (take the head), soft across it.
    take_tail = np.clip(0.5 - (columns - path[:, None] - 0.5) / (2 * SEAM_SOFTNESS), 0, 1)
    tile = source[:, :period].copy()
    weight = take_tail[:, :, None]
    tile[:, :overlap] = weight * tail + (1.0 - weight) * head
    return tile


GRADIENT_GAIN_RANGE = (0.6, 1.6)
"""Limits of the gain that evens out a light gradient across a photo crop."""


def without_gradient(image: np.ndarray) -> np.ndarray:
    """``image`` (h×w×C uint8) with a gradient of light across it evened out: a plane
    fitted to the log of its median-filtered gray (a large median ignores the crop's
    own motifs and bright specks) is divided out of every channel, within
    GRADIENT_GAIN_RANGE. A photo crop's light falling off across it would otherwise
    step at every tile border, where its dark side meets the next tile's bright one."""
    height, width = image.shape[:2]
    gray = image.mean(axis=2).astype(np.uint8) if image.shape[2] > 1 else image[:, :, 0]
    size = max(3, (min(height, width) // 4) | 1)
    background = cv2.medianBlur(np.ascontiguousarray(gray), min(size, 255))
    log_gray = np.log(background.astype(np.float32) + 8.0)
    rows = np.linspace(-0.5, 0.5, height, dtype=np.float32)[:, None]
    cols = np.linspace(-0.5, 0.5, width, dtype=np.float32)[None, :]
    slope_y = float((log_gray * rows).sum() / max(float((rows * rows).sum() * width), 1e-6))
    slope_x = float((log_gray * cols).sum() / max(float((cols * cols).sum() * height), 1e-6))
    gain = np.clip(np.exp(-(slope_y * rows + slope_x * cols)), *GRADIENT_GAIN_RANGE)
    return image.astype(np.float32) * gain[:, :, None]


def periodic_component(image: np.ndarray) -> np.ndarray:
    """The periodic part of ``image`` (h×w×C float32) in Moisan's periodic plus smooth
    decomposition: the image less the smooth image whose Laplacian is the step across
    its wrap-around borders. What is left repeats without a step in colour or light at
    its borders, with the texture's detail untouched (the smooth part has no edges)."""
    height, width = image.shape[:2]
    steps = np.zeros(image.shape, np.float32)
    steps[0] += image[-1] - image[0]
    steps[-1] += image[0] - image[-1]
    steps[:, 0] += image[:, -1] - image[:, 0]
    steps[:, -1] += image[:, 0] - image[:, -1]
    rows = np.cos(2.0 * np.pi * np.arange(height) / height)[:, None]
    cols = np.cos(2.0 * np.pi * np.arange(width) / width)[None, :]
    denominator = 2.0 * rows + 2.0 * cols - 4.0
    denominator[0, 0] = 1.0  # the mean: the smooth part has none
    # Real input: half the spectrum (the last axis's non-negative frequencies).
    spectrum = np.fft.rfft2(steps, axes=(0, 1))
    spectrum /= denominator[:, : spectrum.shape[1], None]
    spectrum[0, 0] = 0.0
    smooth = np.fft.irfft2(spectrum, s=(height, width), axes=(0, 1))
    return (image - smooth).astype(np.float32)


def tile_with_period(swatch: np.ndarray, period_h: int, period_w: int) -> np.ndarray:
    """One tile (period_h × period_w × C uint8) of ``swatch`` (h×w×C uint8) that repeats
    without a seam: resized to the period, or, along a rough axis (:func:`rough_axes`),
    to the period plus OVERLAP_SHARE of it and quilted back to the period."""
    axes = rough_axes(swatch)
    extra_w = max(2, round(OVERLAP_SHARE * period_w)) if 1 in axes and period_w >= 8 else 0
    extra_h = max(2, round(OVERLAP_SHARE * period_h)) if 0 in axes and period_h >= 8 else 0
    size = (period_w + extra_w, period_h + extra_h)
    shrinking = size[0] < swatch.shape[1] and size[1] < swatch.shape[0]
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    resized = cv2.resize(swatch, size, interpolation=interpolation)
    if resized.ndim == 2:
        resized = resized[:, :, None]
    if not (extra_w or extra_h):
        return resized
    # The light's gradient and the border's step are the colour's; an alpha channel
    # (fourth) is only quilted, as the colour is.
    colours = min(3, resized.shape[2])
    image = resized.astype(np.float32)
    image[:, :, :colours] = without_gradient(resized[:, :, :colours])
    if extra_w:
        image = _quilt_columns(image, period_w)
    if extra_h:
        image = _quilt_columns(image.transpose(1, 0, 2), period_h).transpose(1, 0, 2)
    image[:, :, :colours] = periodic_component(image[:, :, :colours])
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def tile_size(height: int, width: int, across: int, down: int) -> tuple[int, int]:
    """(tile height, tile width) in pixels for an H×W area tiled ``across`` × ``down``."""
    return max(1, round(height / down)), max(1, round(width / across))


def tile_pattern(rgb: np.ndarray, height: int, width: int, across: int, down: int) -> np.ndarray:
    """The pattern repeated ``across`` × ``down`` times, filling an H×W area (uint8, any
    number of channels), made seamless first when it is not (:func:`tile_with_period`).

    Each tile is ``width / across`` × ``height / down`` pixels, so doubling both repeats
    halves the pattern's period.
    """
    tile_h, tile_w = tile_size(height, width, across, down)
    tile = tile_with_period(rgb if rgb.ndim == 3 else rgb[:, :, None], tile_h, tile_w)
    reps = (-(-height // tile_h), -(-width // tile_w), 1)
    return np.tile(tile, reps)[:height, :width]
