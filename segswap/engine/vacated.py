"""What an object swap must rebuild: the old object's footprint inside a loose mask.

A user's mask for an object swap is drawn around the old object, often loosely: a
rectangle or a lasso with background between its edge and the object. Only the old
object has to go; the background the mask took in is already right, and rebuilding it
(a saucer's rim, a table edge, grass) can only blur or break it. :func:`old_object`
separates the two conservatively: a pixel of the grown mask is kept as scene only when

- its colour is what the scene around the mask predicts there (a smooth estimate of the
  surroundings, drawn in from the ring just outside the mask), within the texture that
  ring shows (a wooden table allows more than a plain wall);
- GrabCut, with the ring as sure background, does not take it for the object;
- it is connected to the outside through such pixels: background seeps in from the
  mask's edge, an island inside the old object is the object.

Everything else, widened by a margin (the old object's anti-aliased edge, its
shadow's fringe), is the old object's footprint: the fill rebuilds it where the new
object does not hide it. A mask drawn tight around the old object keeps nothing.
"""

from __future__ import annotations

import cv2
import numpy as np

from segswap.engine.fill.seam import push_pull
from segswap.engine.region import FEATHER_PX, EditRegion, bounding_box, disk, work_copy

WORK_SIDE = 256
"""Longest side (pixels) of the crop the separation works on; the footprint is scaled
back to the crop's size."""

RING_SHARE = 0.08
"""Width of the ring of scene read around the mask, as a share of the mask's longer
side (at least 4 working pixels)."""

TOLERANCE_FLOOR = 9.0
"""Least colour distance (CIE ΔE, 8-bit Lab) from the predicted background that still
counts as background: a plain wall's noise and a slow shading gradient."""

TOLERANCE_SPREAD = 2.5
"""Colour distance allowed, in multiples of the ring's local texture (RMS ΔE of its
pixels from their smoothed colour)."""

TOLERANCE_CEILING = 24.0
"""Most colour distance ever allowed, however busy the ring: beyond it a pixel is
something else."""

SECTORS = 16
"""Angular sectors of the ring :func:`seen_nearby` reads colours in."""

COLOUR_BIN = 10
"""Bin width of :func:`seen_nearby`'s colour histograms (8-bit Lab units)."""

NEARBY_SHARE = 0.01
"""Share of a sector's ring pixels (with its neighbours') a colour must be among."""

CONTINUE_SIGMA = 3.0
"""Gaussian (working pixels) the scene is averaged over to tell whether it goes on
across the mask's edge."""

CONTINUE_DELTA_E = 12.0
"""Largest ΔE between that average and the ring's drawn in, where the scene goes on."""

HULL_SHARE = 0.06
"""The old object's outline (the hull of what neither test takes for background) is
widened by this share of the mask's longer side before colours seen nearby are kept
outside it: a post's foot sits just below the post."""

LOOSE_SHARE = 0.7
"""Share of the pixels along the inside of the mask's edge where the scene must go on
from the ring for the mask to count as drawn loosely."""

MARGIN_SHARE = 0.02
"""The old object's footprint is widened by this share of the mask's longer side (and
by 2 px at least): its anti-aliased edge and the fringe of its shadow go with it."""

KEEP_LEAST_SHARE = 0.002
"""Kept regions smaller than this share of the grown mask's area are given to the old
object (specks of background inside it are not worth a seam)."""


def _lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)


def _smoothed(values: np.ndarray, known: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian average (H×W×C float32) of ``values`` over the bool ``known`` pixels,
    filled smoothly where no known pixel is near."""
    weight = cv2.GaussianBlur(known.astype(np.float32), (0, 0), sigma)
    summed = cv2.GaussianBlur(values * known[:, :, None], (0, 0), sigma).reshape(values.shape)
    near = weight > 1e-3
    average = np.where(near[:, :, None], summed / np.maximum(weight, 1e-6)[:, :, None], 0.0)
    return push_pull(average.astype(np.float32), near.astype(np.float32))


def background_likeness(lab: np.ndarray, grown: np.ndarray, ring: np.ndarray) -> np.ndarray:
    """Per pixel (H×W float32): colour distance to the background the ring predicts,
    in multiples of the tolerance there (≤ 1: looks like the scene around the mask).

    Args:
        lab: H×W×3 float32 Lab (8-bit scale) of the working crop.
        grown: bool, the grown mask.
        ring: bool, the scene's pixels just outside it.
    """
    side = max(grown.shape)
    # The ring's texture: how far its pixels stray from their own smoothed colour.
    local = _smoothed(lab, ring, 2.0)
    stray = np.linalg.norm(lab - local, axis=2)
    squared = np.repeat((stray * stray)[:, :, None], 3, axis=2)
    rms = np.sqrt(_smoothed(squared, ring, max(3.0, side / 24))[:, :, 0])
    tolerance = np.clip(TOLERANCE_SPREAD * rms, TOLERANCE_FLOOR, TOLERANCE_CEILING)
    # What the scene predicts inside the mask: its ring drawn in smoothly.
    expected = push_pull(
        np.where(ring[:, :, None], local, 0.0).astype(np.float32), ring.astype(np.float32)
    )
    # The pixel's own colour, lightly smoothed so texture noise does not decide alone.
    seen = cv2.GaussianBlur(lab, (0, 0), 1.0)
    return np.linalg.norm(seen - expected, axis=2) / tolerance


def seen_nearby(lab: np.ndarray, grown: np.ndarray, ring: np.ndarray) -> np.ndarray:
    """Pixels (H×W bool) whose colour the ring shows on their side of the mask: a
    stem, a plank's gap or a line of text crossing the mask's edge is in the ring too,
    an object standing inside the mask is not.

    The ring is split into SECTORS angular sectors around the mask's centre; a pixel's
    colour (Lab, 8-bit scale, in bins of COLOUR_BIN, give or take a bin) must be among at
    least NEARBY_SHARE of the ring's pixels in its sector and the two beside it. Used
    only for a loose mask (:func:`is_loose`): where the old object fills the mask up to
    its edge (a red cup on a red saucer), a colour shared with the ring is no sign of
    background.
    """
    ys, xs = np.nonzero(grown)
    centre_y, centre_x = float(ys.mean()), float(xs.mean())
    rows, cols = np.indices(grown.shape, dtype=np.float32)
    angle = np.arctan2(rows - centre_y, cols - centre_x)
    sector = np.minimum(((angle + np.pi) / (2 * np.pi) * SECTORS).astype(np.int32), SECTORS - 1)
    bins = int(np.ceil(256 / COLOUR_BIN))
    quantised = np.minimum((lab / COLOUR_BIN).astype(np.int32), bins - 1)
    index = (quantised[:, :, 0] * bins + quantised[:, :, 1]) * bins + quantised[:, :, 2]
    counts = np.zeros((SECTORS, bins**3), np.float32)
    np.add.at(counts, (sector[ring], index[ring]), 1.0)
    # Each sector with its two neighbours; each colour bin with its neighbours.
    counts = counts + np.roll(counts, 1, axis=0) + np.roll(counts, -1, axis=0)
    cube = counts.reshape(SECTORS, bins, bins, bins)
    spread = cube.copy()
    for axis in (1, 2, 3):
        spread = spread + np.roll(spread, 1, axis=axis) + np.roll(spread, -1, axis=axis)
    totals = counts.sum(axis=1)
    least = np.maximum(3.0, NEARBY_SHARE * totals)
    found = spread.reshape(SECTORS, -1)[sector, index] >= least[sector]
    return found & grown


def _continues(lab: np.ndarray, ring: np.ndarray) -> np.ndarray:
    """Pixels (H×W bool) whose colour, averaged over a few pixels (texture evens out),
    is within CONTINUE_DELTA_E of the ring's, drawn in smoothly: where the scene goes on
    across the mask's edge."""
    blurred = cv2.GaussianBlur(lab, (0, 0), CONTINUE_SIGMA)
    expected = _smoothed(blurred, ring, 2.0)
    return np.linalg.norm(blurred - expected, axis=2) <= CONTINUE_DELTA_E


def is_loose(lab: np.ndarray, grown: np.ndarray, ring: np.ndarray) -> bool:
    """Whether the mask is drawn loosely: along at least LOOSE_SHARE of the inside of
    its edge the scene goes on from the ring (:func:`_continues`). A mask drawn on the
    old object (a red cup on a red saucer) has the object along its edge."""
    depth = cv2.distanceTransform(grown.view(np.uint8), cv2.DIST_L2, 3)
    edge = grown & (depth <= 3.0)
    if not edge.any():
        return False
    return float(_continues(lab, ring)[edge].mean()) >= LOOSE_SHARE


def _grabcut_background(rgb: np.ndarray, grown: np.ndarray, candidate: np.ndarray) -> np.ndarray:
    """Pixels of ``grown`` GrabCut gives to the background, the scene outside ``grown``
    being sure background and ``candidate`` probable background (the rest probable
    object). All of ``candidate`` when GrabCut has no object to model."""
    labels = np.where(grown, cv2.GC_PR_FGD, cv2.GC_BGD).astype(np.uint8)
    labels[grown & candidate] = cv2.GC_PR_BGD
    if not (labels == cv2.GC_PR_FGD).any():
        return candidate & grown
    background_model = np.zeros((1, 65), np.float64)
    object_model = np.zeros((1, 65), np.float64)
    try:
        cv2.setRNGSeed(0)
        cv2.grabCut(
            np.ascontiguousarray(rgb[:, :, ::-1]),
            labels,
            (0, 0, 0, 0),
            background_model,
            object_model,
            2,
            cv2.GC_INIT_WITH_MASK,
        )
    except cv2.error:  # too few pixels of one kind for its colour models
        return candidate & grown
    return grown & ((labels == cv2.GC_BGD) | (labels == cv2.GC_PR_BGD))


def old_object(crop: np.ndarray, region: EditRegion) -> np.ndarray:
    """The pixels of ``region.grown`` (H×W bool) that hold the old object: to be rebuilt
    where the new object does not hide them; the rest of the grown mask is scene seen
    around the mask, kept as it is.

    Args:
        crop: H×W×3 uint8, the scene's crop before the edit.
        region: the edit region (crop coordinates).
    """
    grown = region.grown
    if not grown.any():
        return grown.copy()
    height, width = grown.shape
    small_rgb, small_grown, scale = work_copy(crop, grown, WORK_SIDE)
    if not small_grown.any() or small_grown.all():
        return grown.copy()
    box = bounding_box(small_grown)
    ring_px = max(4, round(RING_SHARE * max(box.height, box.width)))
    outside = cv2.distanceTransform((~small_grown).view(np.uint8), cv2.DIST_L2, 3)
    # The ring starts past the feather band: those pixels are blended, not kept whole.
    gap = FEATHER_PX * scale + 1
    ring = (outside > gap) & (outside <= gap + ring_px)
    if ring.sum() < 16:
        return grown.copy()
    lab = _lab(small_rgb)
    likeness = background_likeness(lab, small_grown, ring)
    candidate = small_grown & (likeness <= 1.0)
    if is_loose(lab, small_grown, ring):
        # Colours the ring shows nearby, but not within the old object's outline (the
        # hull of what neither test takes for background): a post's dark foot is a
        # colour the deck shows too.
        nearby = seen_nearby(lab, small_grown, ring)
        outline = _hull(small_grown & ~candidate & ~nearby)
        reach = max(3, round(HULL_SHARE * max(box.height, box.width)))
        outline = cv2.dilate(outline.view(np.uint8), disk(reach)) > 0
        candidate |= nearby & ~outline
    keep = _grabcut_background(small_rgb, small_grown, candidate) & candidate
    keep = _connected_to_outside(keep, small_grown)
    least = KEEP_LEAST_SHARE * small_grown.sum()
    count, labels, stats, _ = cv2.connectedComponentsWithStats(keep.view(np.uint8), connectivity=8)
    for label in range(1, count):
        if stats[label, cv2.CC_STAT_AREA] < least:
            keep[labels == label] = False
    old = small_grown & ~keep
    full = cv2.resize(old.view(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST) > 0
    whole = bounding_box(grown)
    longer = max(whole.height, whole.width)
    margin = max(2, round(MARGIN_SHARE * longer) + round(1 / scale))
    widened = cv2.dilate(full.view(np.uint8), disk(margin)) > 0
    return grown & widened


def _hull(parts: np.ndarray) -> np.ndarray:
    """The filled convex hull (H×W bool) of the bool ``parts``, specks of a few pixels
    left out; nothing when there is nothing."""
    cleaned = cv2.morphologyEx(parts.view(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    points = cv2.findNonZero(cleaned)
    hull = np.zeros(parts.shape, np.uint8)
    if points is not None and len(points) >= 3:
        cv2.fillConvexPoly(hull, cv2.convexHull(points), 1)
    return hull > 0


def _connected_to_outside(keep: np.ndarray, grown: np.ndarray) -> np.ndarray:
    """The pixels of ``keep`` connected (8-neighbours, through ``keep``) to the pixels
    just outside ``grown``."""
    seeds = keep & (cv2.dilate((~grown).view(np.uint8), np.ones((3, 3), np.uint8)) > 0)
    if not seeds.any():
        return np.zeros_like(keep)
    count, labels = cv2.connectedComponents(keep.view(np.uint8), connectivity=8)
    touching = np.unique(labels[seeds])
    return np.isin(labels, touching[touching > 0])
