"""Select an object with a box and/or clicks: classical segmentation, no model weights.

:func:`select_mask` runs OpenCV's GrabCut (colour mixtures + graph cut) on a reduced copy
of a crop around the box, then refines the outline at the scene's full resolution: in a
thin band around the reduced result's boundary each pixel is decided again from its own
colour under the two colour mixtures GrabCut learnt, weighed against the up-scaled
result and smoothed over its neighbours. Work is done on the crop only, so the cost
follows the box's size, not the scene's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from segswap.engine.region import Box
from segswap.errors import InvalidParameter, shown

#: Long side (pixels) of the reduced crop GrabCut works on. Larger is slower (about
#: quadratic) and, above this, no more accurate on the reference objects.
WORK_SIDE = 200

#: GrabCut iterations (each re-learns the colour mixtures and re-runs the graph cut).
ITERATIONS = 3

#: Pixels of scene kept around the box, as a share of its longer side (at least 8 px):
#: the background colours GrabCut learns from.
MARGIN_SHARE = 0.15

#: Radius of a click, as a share of the box's longer side (at least 2 px at work scale).
CLICK_RADIUS_SHARE = 0.02

#: Without a box, the object is looked for within this share of the scene's longer side
#: around the positive clicks (drag a box for anything larger).
POINTS_REACH = 0.15

#: Components of the selection smaller than this share of the largest one are dropped
#: (specks of object colour in the background), unless a positive click is on them.
SPECK_SHARE = 0.02

#: Holes smaller than this share of the selection's area are filled (glints, text).
HOLE_SHARE = 0.01

#: Weight of the up-scaled GrabCut result against a pixel's own colour evidence in the
#: edge refinement (log-odds units at the result's 0/1 levels).
PRIOR_WEIGHT = 3.0


@dataclass(frozen=True)
class Click:
    """A click on the scene: ``x``, ``y`` in scene pixels; ``positive`` adds, else removes."""

    x: float
    y: float
    positive: bool = True


def as_box(box: Sequence[float], height: int, width: int) -> Box:
    """A ``[left, top, right, bottom]`` box (pixels, right/bottom exclusive), clipped to
    an H×W scene.

    Raises:
        InvalidParameter ("box"): not four finite numbers, inverted (right <= left or
            bottom <= top), or less than 2 px wide or high inside the scene.
    """
    values = list(box)
    if len(values) != 4 or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values
    ):
        raise InvalidParameter(
            "box", f"expected [left, top, right, bottom] in pixels, got {shown(box)}"
        )
    left, top, right, bottom = values
    if not (left < right and top < bottom):
        raise InvalidParameter(
            "box",
            "expected [left, top, right, bottom] with left < right and top < bottom,"
            f" got {shown(values)}",
        )
    clipped = Box(
        max(0, int(math.floor(top))),
        max(0, int(math.floor(left))),
        min(height, int(math.ceil(bottom))),
        min(width, int(math.ceil(right))),
    )
    if clipped.width < 2 or clipped.height < 2:
        raise InvalidParameter(
            "box",
            f"the box must cover at least 2×2 pixels of the {width}×{height} scene,"
            f" got {shown(values)}",
        )
    return clipped


def _points_box(clicks: Sequence[Click], height: int, width: int) -> Box:
    """Where to look when only clicks are given: around the positive clicks, a quarter of
    POINTS_REACH of the scene's longer side on each side."""
    xs = [c.x for c in clicks if c.positive]
    ys = [c.y for c in clicks if c.positive]
    margin = max(16, round(POINTS_REACH * max(height, width)))
    return as_box(
        [min(xs) - margin, min(ys) - margin, max(xs) + margin + 1, max(ys) + margin + 1],
        height,
        width,
    )


def _check_clicks(clicks: Sequence[Click], height: int, width: int) -> None:
    for i, click in enumerate(clicks):
        if not (0 <= click.x < width and 0 <= click.y < height):
            raise InvalidParameter(
                "points",
                f"point {i} ({click.x}, {click.y}) is outside the {width}×{height} scene",
            )


def _gmm_log_likelihood(model: np.ndarray, pixels: np.ndarray) -> np.ndarray:
    """Log-likelihood of N×3 float64 BGR ``pixels`` under an OpenCV GrabCut colour model
    (1×65: 5 weights, 5×3 means, 5×3×3 covariances)."""
    flat = model.ravel()
    weights, means, covs = flat[:5], flat[5:20].reshape(5, 3), flat[20:65].reshape(5, 3, 3)
    total = np.zeros(len(pixels))
    for k in range(5):
        if weights[k] <= 0:
            continue
        cov = covs[k] + np.eye(3) * 1e-2
        inverse = np.linalg.inv(cov)
        diff = pixels - means[k]
        mahalanobis = np.einsum("ni,ij,nj->n", diff, inverse, diff)
        norm = weights[k] / math.sqrt(max(np.linalg.det(cov), 1e-12))
        total += norm * np.exp(-0.5 * mahalanobis)
    return np.log(total + 1e-300)


def _refine_edges(
    crop_bgr: np.ndarray,
    soft: np.ndarray,
    background_model: np.ndarray,
    foreground_model: np.ndarray,
    band_px: int,
) -> np.ndarray:
    """Full-resolution outline: ``soft`` (H×W float32 in [0, 1], the up-scaled reduced
    result) decided again per pixel within ``band_px`` of its 0.5 level."""
    hard = soft > 0.5
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * band_px + 1, 2 * band_px + 1))
    near = cv2.dilate(hard.view(np.uint8), kernel) > 0
    far_inside = cv2.erode(hard.view(np.uint8), kernel) > 0
    band = near & ~far_inside
    if not band.any():
        return hard
    ys, xs = np.nonzero(band)
    top, bottom, left, right = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    window = band[top:bottom, left:right]
    pixels = crop_bgr[top:bottom, left:right][window].astype(np.float64)
    evidence = _gmm_log_likelihood(foreground_model, pixels) - _gmm_log_likelihood(
        background_model, pixels
    )
    raw = np.zeros(window.shape, np.float32)
    raw[window] = np.clip(evidence, -8.0, 8.0)
    raw += PRIOR_WEIGHT * (2.0 * soft[top:bottom, left:right] - 1.0)
    # Neighbours vote (a pixel's colour alone is noisy at a blurred edge).
    logit = cv2.GaussianBlur(raw, (0, 0), 1.0)
    refined = hard.copy()
    sub = refined[top:bottom, left:right]
    sub[window] = logit[window] > 0
    return refined


def _tidy(selection: np.ndarray, clicks: Sequence[Click], offset: tuple[int, int]) -> np.ndarray:
    """Drop specks, fill small holes; keep what a positive click is on, drop what a
    negative one is on."""
    if not selection.any():
        return selection
    top, left = offset
    count, labels, stats, _ = cv2.connectedComponentsWithStats(
        selection.view(np.uint8), connectivity=8
    )
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = areas >= SPECK_SHARE * areas.max()
    for click in clicks:
        y, x = int(click.y) - top, int(click.x) - left
        if 0 <= y < labels.shape[0] and 0 <= x < labels.shape[1] and labels[y, x] > 0:
            keep[labels[y, x] - 1] = click.positive
    lookup = np.concatenate([[False], keep])
    tidy = lookup[labels]
    holes = ~tidy
    count, labels, stats, _ = cv2.connectedComponentsWithStats(holes.view(np.uint8), connectivity=4)
    limit = HOLE_SHARE * tidy.sum()
    height, width = tidy.shape
    for label in range(1, count):
        x, y, w, h, area = stats[label]
        touches_edge = x == 0 or y == 0 or x + w == width or y + h == height
        if not touches_edge and area < limit:
            tidy[labels == label] = True
    for click in clicks:  # a negative click inside a filled hole stays out
        y, x = int(click.y) - top, int(click.x) - left
        inside = 0 <= y < height and 0 <= x < width
        if not click.positive and inside and tidy[y, x] and holes[y, x]:
            tidy[labels == labels[y, x]] = False
    return tidy


def select_mask(
    scene: np.ndarray,
    box: Sequence[float] | None = None,
    points: Sequence[Click] = (),
) -> np.ndarray:
    """The object inside ``box`` and/or under the positive ``points`` of ``scene``.

    Args:
        scene: H×W×3 uint8 RGB.
        box: ``[left, top, right, bottom]`` in scene pixels (right/bottom exclusive),
            drawn around the object; clipped to the scene. Nothing outside it is selected.
        points: clicks in scene pixels; positive ones must be in the object, negative
            ones must not. Without a box, at least one positive click is needed and the
            object is looked for within :data:`POINTS_REACH` of the scene's longer
            side around the clicks.

    Returns:
        H×W bool: True on the selected object. Deterministic for the same inputs.

    Raises:
        InvalidParameter: ``box`` is malformed or too small (field ``box``), a point is
            outside the scene, or there is neither a box nor a positive point
            (field ``points``).
    """
    height, width = scene.shape[:2]
    clicks = list(points)
    _check_clicks(clicks, height, width)
    if box is not None:
        target = as_box(box, height, width)
    elif any(c.positive for c in clicks):
        target = _points_box(clicks, height, width)
    else:
        raise InvalidParameter("points", "give a box, or at least one positive point")

    margin = max(8, round(MARGIN_SHARE * max(target.width, target.height)))
    crop = Box(
        max(0, target.top - margin),
        max(0, target.left - margin),
        min(height, target.bottom + margin),
        min(width, target.right + margin),
    )
    crop_bgr = np.ascontiguousarray(scene[crop.slices][:, :, 2::-1])
    scale = min(1.0, WORK_SIDE / max(crop.width, crop.height))
    if scale < 1.0:
        small = cv2.resize(crop_bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    else:
        small = crop_bgr
    small_h, small_w = small.shape[:2]

    def to_small(value: float, offset: int, limit: int) -> int:
        return min(limit, max(0, round((value - offset) * scale)))

    seeds = np.full((small_h, small_w), cv2.GC_BGD, np.uint8)
    seeds[
        to_small(target.top, crop.top, small_h) : to_small(target.bottom, crop.top, small_h),
        to_small(target.left, crop.left, small_w) : to_small(target.right, crop.left, small_w),
    ] = cv2.GC_PR_FGD
    radius = max(2, round(CLICK_RADIUS_SHARE * max(target.width, target.height) * scale))
    for click in clicks:
        centre = (
            to_small(click.x, crop.left, small_w - 1),
            to_small(click.y, crop.top, small_h - 1),
        )
        label = cv2.GC_FGD if click.positive else cv2.GC_BGD
        cv2.circle(seeds, centre, radius, label, thickness=-1)

    fg_seeds = (seeds == cv2.GC_FGD) | (seeds == cv2.GC_PR_FGD)
    if fg_seeds.all() or not fg_seeds.any():
        # Nothing to learn a background from (the box is the whole scene and no negative
        # click): GrabCut cannot run; the box is the selection.
        selection = np.zeros((height, width), bool)
        selection[target.slices] = True
        return selection

    background_model = np.zeros((1, 65), np.float64)
    foreground_model = np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(0)
    cv2.grabCut(
        small,
        seeds,
        (0, 0, 0, 0),
        background_model,
        foreground_model,
        ITERATIONS,
        cv2.GC_INIT_WITH_MASK,
    )
    chosen = ((seeds == cv2.GC_FGD) | (seeds == cv2.GC_PR_FGD)).astype(np.float32)
    if scale < 1.0:
        soft = cv2.resize(chosen, (crop.width, crop.height), interpolation=cv2.INTER_LINEAR)
        band_px = max(1, math.ceil(1.0 / scale))
        refined = _refine_edges(crop_bgr, soft, background_model, foreground_model, band_px)
    else:
        refined = chosen > 0.5
    # Nothing outside the box, whatever the refinement did at its edge.
    inside = np.zeros_like(refined)
    inside[
        target.top - crop.top : target.bottom - crop.top,
        target.left - crop.left : target.right - crop.left,
    ] = True
    refined &= inside
    for click in clicks:  # a click is what it says, whatever its colour
        y, x = int(click.y) - crop.top, int(click.x) - crop.left
        if 0 <= y < crop.height and 0 <= x < crop.width:
            refined[y, x] = click.positive
    tidy = _tidy(refined, clicks, (crop.top, crop.left))
    selection = np.zeros((height, width), bool)
    selection[crop.slices] = tidy
    return selection
