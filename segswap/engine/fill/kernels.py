"""The compiled inner loops of the fill: patch distance, PatchMatch search and voting.

Compiled with numba (``cache=True``: the machine code is kept next to this file, so
only the first call after an install pays the compile, a few seconds). Everything else
of the fill is NumPy/OpenCV.

Conventions shared by every kernel:

- ``features``: H×W×C float32, the level's image described per pixel (RGB and its
  gradients); hole pixels hold the current estimate.
- ``weights``: H×W float32, how much each pixel counts in a patch distance (1, 0 for
  pixels an object will hide).
- ``target_ys/xs``: the centres of every patch that overlaps the hole, in raster order;
  ``slots``: H×W int32 giving each centre's position in that list, -1 elsewhere.
- ``sources``: H×W bool, centres whose whole window is known, inside the image and
  free of look-alikes of the removed content; every source window is therefore fully
  inside the image.
- ``nnf_ys/xs``: each target's source centre; ``costs``: its normalised distance.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def patch_distance(
    features: np.ndarray,
    weights: np.ndarray,
    ty: int,
    tx: int,
    sy: int,
    sx: int,
    radius: int,
    limit: float,
) -> float:
    """Weighted sum of squared feature differences between the target window at
    (ty, tx) and the source window at (sy, sx); target pixels outside the image are
    skipped. Stops early (returning a value above ``limit``) once ``limit`` is passed."""
    height, width, channels = features.shape
    total = 0.0
    for dy in range(-radius, radius + 1):
        y = ty + dy
        if y < 0 or y >= height:
            continue
        for dx in range(-radius, radius + 1):
            x = tx + dx
            if x < 0 or x >= width:
                continue
            w = weights[y, x]
            if w == 0.0:
                continue
            squared = 0.0
            for c in range(channels):
                d = features[y, x, c] - features[sy + dy, sx + dx, c]
                squared += d * d
            total += w * squared
        if total > limit:
            return total
    return total


@njit(cache=True, nogil=True)
def evaluate(
    features: np.ndarray,
    weights: np.ndarray,
    window_weights: np.ndarray,
    target_ys: np.ndarray,
    target_xs: np.ndarray,
    nnf_ys: np.ndarray,
    nnf_xs: np.ndarray,
    costs: np.ndarray,
    radius: int,
) -> None:
    """Recompute every target's cost against its current source (the image changed)."""
    for i in range(target_ys.size):
        d = patch_distance(
            features, weights, target_ys[i], target_xs[i], nnf_ys[i], nnf_xs[i], radius, np.inf
        )
        costs[i] = d / window_weights[i]


@njit(cache=True, nogil=True)
def search(
    features: np.ndarray,
    weights: np.ndarray,
    window_weights: np.ndarray,
    sources: np.ndarray,
    slots: np.ndarray,
    target_ys: np.ndarray,
    target_xs: np.ndarray,
    nnf_ys: np.ndarray,
    nnf_xs: np.ndarray,
    costs: np.ndarray,
    radius: int,
    search_radius: int,
    candidates: int,
    forward: bool,
    seed: int,
) -> None:
    """One PatchMatch pass (Barnes et al. 2009) over the targets, in raster order when
    ``forward``, else reversed.

    Each target tries its already visited neighbours' sources shifted by one pixel
    (propagation, so good matches spread along coherent regions), then ``candidates``
    random sources around its own, the window halving from ``search_radius`` pixels
    (and repeating at the smallest size once it reaches one pixel).
    """
    np.random.seed(seed)
    height, width = sources.shape
    n = target_ys.size
    step = 1 if forward else -1
    for k in range(n):
        i = k if forward else n - 1 - k
        y = target_ys[i]
        x = target_xs[i]
        norm = window_weights[i]
        best = costs[i]
        by = nnf_ys[i]
        bx = nnf_xs[i]
        for direction in range(2):
            ny = y - step if direction == 0 else y
            nx = x if direction == 0 else x - step
            if ny < 0 or ny >= height or nx < 0 or nx >= width:
                continue
            j = slots[ny, nx]
            if j < 0:
                continue
            cy = nnf_ys[j] + (y - ny)
            cx = nnf_xs[j] + (x - nx)
            if cy < 0 or cy >= height or cx < 0 or cx >= width or not sources[cy, cx]:
                continue
            if cy == by and cx == bx:
                continue
            d = patch_distance(features, weights, y, x, cy, cx, radius, best * norm) / norm
            if d < best:
                best = d
                by = cy
                bx = cx
        r = float(search_radius)
        for _ in range(candidates):
            span = max(1, int(r))
            cy = by + np.random.randint(-span, span + 1)
            cx = bx + np.random.randint(-span, span + 1)
            r *= 0.5
            if cy < 0 or cy >= height or cx < 0 or cx >= width or not sources[cy, cx]:
                continue
            d = patch_distance(features, weights, y, x, cy, cx, radius, best * norm) / norm
            if d < best:
                best = d
                by = cy
                bx = cx
        nnf_ys[i] = by
        nnf_xs[i] = bx
        costs[i] = best


@njit(cache=True, nogil=True)
def window_in_image(
    ty: int, tx: int, sy: int, sx: int, radius: int, height: int, width: int
) -> tuple[int, int, int, int, int, int]:
    """The part inside an image of ``height`` × ``width`` of the window of ``radius``
    around the target (ty, tx): rows [top, bottom), columns [left, right), and the
    shift (shift_y, shift_x) from a target pixel to the pixel of the source window
    centred at (sy, sx) that a patch copies there."""
    top = max(ty - radius, 0)
    bottom = min(ty + radius + 1, height)
    left = max(tx - radius, 0)
    right = min(tx + radius + 1, width)
    return top, bottom, left, right, sy - ty, sx - tx


@njit(cache=True, nogil=True)
def vote(
    image: np.ndarray,
    target_ys: np.ndarray,
    target_xs: np.ndarray,
    nnf_ys: np.ndarray,
    nnf_xs: np.ndarray,
    patch_weights: np.ndarray,
    radius: int,
    totals: np.ndarray,
    counts: np.ndarray,
) -> None:
    """Accumulate every target patch's source pixels, weighted, over its window.

    ``totals`` (H×W×3) and ``counts`` (H×W) receive the sums; the caller divides. Every
    pixel of a window counts, known or not (the caller keeps what it needs).
    """
    height, width = counts.shape
    channels = image.shape[2]
    for i in range(target_ys.size):
        w = patch_weights[i]
        top, bottom, left, right, shift_y, shift_x = window_in_image(
            target_ys[i], target_xs[i], nnf_ys[i], nnf_xs[i], radius, height, width
        )
        for y in range(top, bottom):
            for x in range(left, right):
                for c in range(channels):
                    totals[y, x, c] += w * image[y + shift_y, x + shift_x, c]
                counts[y, x] += w


@njit(cache=True, nogil=True)
def vote_nearest(
    image: np.ndarray,
    target_ys: np.ndarray,
    target_xs: np.ndarray,
    nnf_ys: np.ndarray,
    nnf_xs: np.ndarray,
    radius: int,
    means: np.ndarray,
    nearest: np.ndarray,
    chosen: np.ndarray,
) -> None:
    """For each pixel, the one vote (a source pixel's value) closest to ``means`` there.

    ``nearest`` (H×W, start at +inf) keeps each pixel's smallest squared distance so far
    and ``chosen`` (H×W×3) that vote. An actual copied value keeps the source's grain,
    which an average of many slightly shifted copies loses; the one closest to the
    average is one most patches agree on, so a stray copy does not show as a speck.
    """
    height, width = nearest.shape
    channels = image.shape[2]
    for i in range(target_ys.size):
        top, bottom, left, right, shift_y, shift_x = window_in_image(
            target_ys[i], target_xs[i], nnf_ys[i], nnf_xs[i], radius, height, width
        )
        for y in range(top, bottom):
            for x in range(left, right):
                squared = 0.0
                for c in range(channels):
                    d = image[y + shift_y, x + shift_x, c] - means[y, x, c]
                    squared += d * d
                if squared < nearest[y, x]:
                    nearest[y, x] = squared
                    for c in range(channels):
                        chosen[y, x, c] = image[y + shift_y, x + shift_x, c]
