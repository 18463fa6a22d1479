"""Exemplar fill: the hole is rebuilt from patches copied from the scene around it.

The layout and EM core follow PatchMatch inpainting (Barnes et al. 2009, in the form of
Xavier Philippeau's implementation that PyPatchMatch wraps), re-implemented here:

1. Only a crop around the hole is processed (:func:`crop_box`): the work grows with the
   hole, not the scene.
2. A masked pyramid (:mod:`.pyramid`) halves the crop until the hole has vanished; the
   first coarse level without a hole is a smooth blend of the known pixels, the first
   estimate of the hole one level finer.
3. At each level, from the coarsest with a hole down to full resolution, EM rounds run:
   2·depth + 1 rounds at ``depth`` levels above full resolution, each a search of
   min(7, depth + 1) PatchMatch passes (forward, backward: propagation from the
   neighbours, random search with a halving radius across the whole level) for the known
   7×7 window whose RGB values and gradients best match each window overlapping the
   hole, then a *vote*: each hole pixel becomes the average of what every window
   covering it copies there, weighted by a steep similarity of the window's distance.
4. The nearest-neighbour field is doubled onto the next finer level, whose first
   estimate is its vote with the finer level's pixels.
5. Content the user removed and its look-alikes elsewhere are never copied
   (:mod:`.exclusion`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

import segswap.engine.fill.kernels as kernels
from segswap.engine.fill.exclusion import lookalikes
from segswap.engine.fill.pyramid import pyramid
from segswap.engine.fill.seam import boundary_correction, push_pull
from segswap.engine.fill.sources import PATCH, RADIUS, whole_windows
from segswap.engine.progress import checkpoint

SIMILARITY = np.array([1.0, 0.99, 0.96, 0.83, 0.38, 0.11, 0.02, 0.005, 0.0006, 0.0001, 0.0])
"""A window's vote weight against its distance: the value at 100 × the distance (the
mean squared difference per pixel and channel, values in 0–1), linear between."""

CROP_MARGIN = 0.25
"""The crop reaches this many times the longer side of the hole's bounding box beyond
it on each side (the same both ways, and what the scene's edge cuts off one side is
added on the other: a strip along the scene's edge still gets context as wide as a
quarter of its length)..."""

CROP_MIN_MARGIN = 48
"""... and at least this many pixels."""

NEAREST_RADIUS = 1
"""The final pick (:meth:`_Level.pick_nearest_votes`) considers the votes of the windows
centred within this many pixels."""

START_SOURCES = 200
"""The EM starts at the coarsest level that still has a hole and this many whole known
windows to copy from (fewer, at a level a few windows wide, leave only windows that mix
the hole's surroundings with what lies beyond them)."""

MIN_SOURCES = 16
"""A level whose unblocked sources are fewer than this copies from blocked ones too."""

SEAM_RADIUS = 2
"""Known pixels up to this far from the hole are compared with what the hole's patches
say they should be (:meth:`_Level.match_boundary`)."""

MAX_FULL_PIXELS = 1_000_000
"""A hole of more pixels than this (about 1000×1000) is filled on a halved copy and the
fill scaled back up, softer, in seconds instead of a minute (the work then grows with
the hole's area only up to this size)..."""

REDUCED_PIXELS = 300_000
"""... and once it is over, the copy is halved until the hole has at most this many
pixels: a 90 % hole of a 4096² photo is filled at 512², a 25 % one at 1024²."""


@dataclass(frozen=True)
class FillEffort:
    """How hard the fill searches.

    Attributes:
        candidates: random-search samples per target per pass beyond the halving
            radius's own (one per halving, as PatchMatch does): ``candidates - 10``
            more at the smallest radius when above 10, ≥ 1.
        finest_iterations: EM rounds at full resolution (PatchMatch: 1); 0 only carries
            the coarser level's field up and votes.
        sharpen: end with each hole pixel taking, of the votes of the windows centred
            next to it, the one source value closest to their average
            (:meth:`_Level.pick_nearest_votes`): the copied grain stays; without it the
            fill is the average, softer.
        search_depth: levels finer than this (0 = full resolution, 1 = half...) do not
            search; they only carry the coarser field up and vote. The coarsest level
            always searches, however fine it is.
        max_pixels: when the hole has more pixels than this, fill a copy halved (as
            often as needed) and scale the fill back up: softer, and far cheaper.
            None: :data:`MAX_FULL_PIXELS`.
        shown_depth: unused (kept for callers): the pyramid always halves until the hole
            has vanished.
    """

    candidates: int = 10
    finest_iterations: int = 1
    sharpen: bool = True
    search_depth: int = 0
    max_pixels: int | None = None
    shown_depth: bool = True


def crop_box(hole: np.ndarray) -> tuple[slice, slice]:
    """The part of the scene the fill works on: the hole's bounding box grown by
    :data:`CROP_MARGIN` times its longer side (at least :data:`CROP_MIN_MARGIN` px) on
    every side, slid inward where the scene's edge cuts it."""
    ys = np.flatnonzero(hole.any(axis=1))
    xs = np.flatnonzero(hole.any(axis=0))
    top, bottom, left, right = int(ys[0]), int(ys[-1]) + 1, int(xs[0]), int(xs[-1]) + 1
    margin = max(CROP_MIN_MARGIN, int(CROP_MARGIN * max(bottom - top, right - left)))
    height, width = hole.shape

    def span(low: int, high: int, size: int) -> slice:
        # What the scene's edge cuts off one side is added on the other.
        start, stop = low - margin, high + margin
        if start < 0:
            stop -= start
        if stop > size:
            start -= stop - size
        return slice(max(0, start), min(size, stop))

    return span(top, bottom, height), span(left, right, width)


def fill_hole(
    image: np.ndarray,
    hole: np.ndarray,
    rng: np.random.Generator,
    effort: FillEffort,
    hidden: np.ndarray | None = None,
) -> np.ndarray:
    """Fill ``hole`` in ``image`` with texture copied from the rest of it.

    Args:
        image: H×W×3 uint8 RGB. Its pixels under ``hole`` are only used to tell what
            was removed (its look-alikes are not copied), never copied.
        hole: H×W bool, True where the image must be rebuilt; some pixels must be known.
        rng: source of the random search (a seeded generator gives a repeatable fill).
        effort: search effort.
        hidden: H×W bool, optional: pixels of the hole that will not be seen (an object
            laid over the fill covers them). They are never sources, count for nothing
            in patch distances and only get a smooth estimate from the known pixels.

    Returns:
        H×W×3 uint8 RGB: ``image`` with the hole filled; other pixels unchanged.
    """
    if hole.all():
        raise ValueError("nothing around the hole to fill it from")
    if not hole.any():
        return image.copy()
    if hidden is not None:
        hidden = hidden & hole
        if not hidden.any():
            hidden = None
        elif hidden.sum() == hole.sum():
            return _fill_membrane(image, hole)
    limit = MAX_FULL_PIXELS if effort.max_pixels is None else effort.max_pixels
    if np.count_nonzero(hole) > limit:
        reduced = min(limit, REDUCED_PIXELS)
        return _fill_reduced(image, hole, rng, replace(effort, max_pixels=reduced), hidden)
    rows, cols = crop_box(hole)
    crop_hole = np.ascontiguousarray(hole[rows, cols])
    if not whole_windows(crop_hole).any():
        if not whole_windows(hole).any():
            # No PATCH×PATCH window of known pixels (a tiny or one-pixel-thin image, or
            # a hole leaving only a sliver): nothing to copy from.
            return _fill_smooth(image, hole)
        rows, cols = slice(0, hole.shape[0]), slice(0, hole.shape[1])
        crop_hole = hole
    crop_hidden = None if hidden is None else np.ascontiguousarray(hidden[rows, cols])
    crop_rgb = np.ascontiguousarray(image[rows, cols])
    blocked = lookalikes(crop_rgb, crop_hole)
    crop = crop_rgb.astype(np.float32) / 255.0
    filled = _complete(crop, crop_hole, crop_hidden, rng, effort, blocked)
    result = image.copy()
    rgb = np.clip(np.rint(filled * 255.0), 0, 255).astype(np.uint8)
    np.copyto(result[rows, cols], rgb, where=crop_hole[:, :, None])
    return result


def _complete(
    image: np.ndarray,
    hole: np.ndarray,
    hidden: np.ndarray | None,
    rng: np.random.Generator,
    effort: FillEffort,
    blocked: np.ndarray,
) -> np.ndarray:
    """The EM completion of ``hole`` in ``image`` (H×W×3 float32 RGB, 0–1); no source
    window covers a ``blocked`` pixel."""
    levels = pyramid(image, hole, hidden)
    blocks = [blocked]
    for _, level_hole, _ in levels[1:]:
        height, width = level_hole.shape
        share = cv2.resize(
            blocks[-1].astype(np.float32), (width, height), interpolation=cv2.INTER_AREA
        )
        blocks.append(share > 0.0)
    # The coarsest level with something to fill starts from the next coarser one (a
    # smooth blend of the known pixels) or, where the pyramid stopped first, a membrane.
    first = max(
        [0]
        + [
            d
            for d, (_, h, u) in enumerate(levels)
            if (h & ~u).any() and np.count_nonzero(whole_windows(h)) >= START_SOURCES
        ]
    )
    start_image, start_hole, start_hidden = levels[first]
    start_image = start_image.copy()
    if blocks[first].any():
        # The look-alikes next to the hole must not tint its start either.
        usable = (~start_hole & ~blocks[first]).astype(np.float32)
        blend = push_pull(start_image, usable if usable.any() else (~start_hole).astype(np.float32))
    elif first + 1 < len(levels) and not levels[first + 1][1].any():
        height, width = start_hole.shape
        blend = cv2.resize(levels[first + 1][0], (width, height), interpolation=cv2.INTER_LINEAR)
    else:
        blend = push_pull(start_image, (~start_hole).astype(np.float32))
    start_image[start_hole] = blend[start_hole]
    level: _Level | None = None
    for depth in range(first, -1, -1):
        checkpoint((first - depth) / (first + 1))
        level_image, level_hole, level_hidden = levels[depth]
        if level is None:
            level = _Level(start_image, level_hole, level_hidden, blocks[depth])
            level.randomize(rng)
        else:
            level = level.refined(level_image, level_hole, level_hidden, blocks[depth])
        rounds = 2 * depth + 1 if depth > 0 else effort.finest_iterations
        if depth < effort.search_depth and depth != first:
            rounds = 0
        for _ in range(rounds):
            level.search(rng, min(7, depth + 1), effort.candidates)
            level.vote()
    assert level is not None
    if effort.sharpen:
        level.pick_nearest_votes()
    level.match_boundary()
    return level.image


def _fill_reduced(
    image: np.ndarray,
    hole: np.ndarray,
    rng: np.random.Generator,
    effort: FillEffort,
    hidden: np.ndarray | None,
) -> np.ndarray:
    """Fill a half-size copy (recursively, until small enough) and scale the fill up."""
    height, width = hole.shape
    size = ((width + 1) // 2, (height + 1) // 2)
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    small_hole = cv2.resize(hole.view(np.uint8), size, interpolation=cv2.INTER_AREA) > 0
    small_hidden = None
    if hidden is not None:
        # Hidden at half size only where every pixel under it was.
        share = cv2.resize(hidden.astype(np.float32), size, interpolation=cv2.INTER_AREA)
        small_hidden = share > 0.999
    # The half-size copy must still hold whole known patches to copy from (a thin ring
    # of scene around a large hole can vanish when halved).
    if (
        small_hole.all()
        or min(size) < 6 * PATCH
        or np.count_nonzero(whole_windows(small_hole)) < 16
    ):
        return fill_hole(image, hole, rng, replace(effort, max_pixels=hole.size), hidden)
    filled = fill_hole(small, small_hole, rng, effort, small_hidden)
    up = cv2.resize(filled, (width, height), interpolation=cv2.INTER_LINEAR)
    result = image.copy()
    np.copyto(result, up, where=hole[:, :, None])
    return result


def _fill_membrane(image: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """``image`` with ``hole`` filled by a smooth membrane of the known colours (for a
    hole that is hidden entirely)."""
    known = (~hole).astype(np.float32)
    smooth = push_pull(image.astype(np.float32), known)
    result = image.copy()
    result[hole] = np.clip(np.rint(smooth[hole]), 0, 255).astype(np.uint8)
    return result


def _fill_smooth(image: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """``image`` with ``hole`` filled by OpenCV's Telea fill from the known pixels around
    it: the fallback when no whole patch is known (at least one pixel must be)."""
    filled = cv2.inpaint(np.ascontiguousarray(image), hole.view(np.uint8), 3, cv2.INPAINT_TELEA)
    result = image.copy()
    result[hole] = filled[hole]
    return result


def features(rgb: np.ndarray) -> np.ndarray:
    """H×W×9 float32 of an RGB image (0–1): per channel its value and its half central
    differences along y and x, as PatchMatch's distance compares them."""
    dy = np.zeros_like(rgb)
    dx = np.zeros_like(rgb)
    dy[1:-1] = (rgb[2:] - rgb[:-2]) * 0.5
    dx[:, 1:-1] = (rgb[:, 2:] - rgb[:, :-2]) * 0.5
    return np.ascontiguousarray(np.dstack([rgb, dy, dx]).astype(np.float32))


def similarity(costs: np.ndarray) -> np.ndarray:
    """Vote weights (0–1) of windows at ``costs`` (mean squared difference per pixel and
    feature channel, see :data:`SIMILARITY`)."""
    steps = np.arange(SIMILARITY.size, dtype=np.float64)
    return np.interp(100.0 * costs, steps, SIMILARITY, right=0.0).astype(np.float32)


class _Level:
    """The image estimate and the nearest-neighbour field at one pyramid level."""

    def __init__(
        self, image: np.ndarray, hole: np.ndarray, hidden: np.ndarray, blocked: np.ndarray
    ) -> None:
        self.image = np.ascontiguousarray(image, dtype=np.float32).copy()
        self.hole = hole
        self.hidden = hidden
        self.fill = hole & ~hidden
        """The hole's pixels to fill: all but the hidden ones."""
        self.height, self.width = hole.shape
        if hidden.any():
            # Hidden pixels hold a smooth estimate from the known pixels (never what was
            # removed), so the features of their neighbours see no trace of it.
            smooth = push_pull(self.image, (~hole).astype(np.float32))
            self.image[hidden] = smooth[hidden]
        kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (PATCH, PATCH))
        targets = cv2.dilate(self.fill.view(np.uint8), kernel).astype(bool)
        self.target_ys, self.target_xs = (a.astype(np.int32) for a in np.nonzero(targets))
        self.slots = np.full(hole.shape, -1, np.int32)
        self.slots[self.target_ys, self.target_xs] = np.arange(self.target_ys.size, dtype=np.int32)
        self.blocked = blocked
        self.sources = whole_windows(hole | blocked)
        if np.count_nonzero(self.sources) < MIN_SOURCES:
            self.sources = whole_windows(hole)
        self.source_ys, self.source_xs = (a.astype(np.int32) for a in np.nonzero(self.sources))
        self.nnf_ys = np.zeros_like(self.target_ys)
        self.nnf_xs = np.zeros_like(self.target_xs)
        self.costs = np.zeros(self.target_ys.size, np.float32)
        self.weights = np.where(hidden, 0.0, 1.0).astype(np.float32)
        window = cv2.boxFilter(
            self.weights, -1, (PATCH, PATCH), normalize=False, borderType=cv2.BORDER_CONSTANT
        )
        self.window_weights = np.ascontiguousarray(
            np.maximum(window[self.target_ys, self.target_xs], 1.0)
        )
        self.described = features(self.image)
        self.channels = self.described.shape[2]

    def randomize(self, rng: np.random.Generator) -> None:
        """Every target starts on a random source."""
        pick = rng.integers(0, self.source_ys.size, self.target_ys.size)
        self.nnf_ys = self.source_ys[pick].astype(np.int32)
        self.nnf_xs = self.source_xs[pick].astype(np.int32)
        self.evaluate()

    def evaluate(self) -> None:
        """Each target's cost against its source in the current estimate."""
        kernels.evaluate(
            self.described,
            self.weights,
            self.window_weights,
            self.target_ys,
            self.target_xs,
            self.nnf_ys,
            self.nnf_xs,
            self.costs,
            RADIUS,
        )
        self.costs /= self.channels

    def refined(
        self, image: np.ndarray, hole: np.ndarray, hidden: np.ndarray, blocked: np.ndarray
    ) -> _Level:
        """The next finer level: the field doubled, its hole estimate their vote with
        the finer level's pixels (a pixel no window votes for keeps the coarse
        estimate, scaled up)."""
        finer = _Level(image, hole, hidden, blocked)
        upsampled = cv2.resize(self.image, (finer.width, finer.height))
        finer.image[finer.fill] = upsampled[finer.fill]
        parent = self.slots[
            np.minimum(finer.target_ys // 2, self.height - 1),
            np.minimum(finer.target_xs // 2, self.width - 1),
        ]
        has = parent >= 0
        finer.nnf_ys = np.where(
            has, self.nnf_ys[parent] * 2 + (finer.target_ys & 1), finer.target_ys
        ).astype(np.int32)
        finer.nnf_xs = np.where(
            has, self.nnf_xs[parent] * 2 + (finer.target_xs & 1), finer.target_xs
        ).astype(np.int32)
        finer.repair()
        finer.costs[:] = np.where(has, self.costs[parent], 0.0)
        finer.vote()
        return finer

    def repair(self) -> None:
        """Move sources that landed outside the source centres to the nearest one."""
        ys = np.clip(self.nnf_ys, 0, self.height - 1)
        xs = np.clip(self.nnf_xs, 0, self.width - 1)
        bad = ~self.sources[ys, xs]
        if bad.any():
            _, labels = cv2.distanceTransformWithLabels(
                (~self.sources).view(np.uint8), cv2.DIST_L2, 3, labelType=cv2.DIST_LABEL_PIXEL
            )
            label_y = np.zeros(labels.max() + 1, np.int32)
            label_x = np.zeros(labels.max() + 1, np.int32)
            known_labels = labels[self.sources]
            label_y[known_labels] = self.source_ys
            label_x[known_labels] = self.source_xs
            nearest = labels[ys[bad], xs[bad]]
            ys[bad] = label_y[nearest]
            xs[bad] = label_x[nearest]
        self.nnf_ys, self.nnf_xs = ys.astype(np.int32), xs.astype(np.int32)

    def search(self, rng: np.random.Generator, passes: int, candidates: int) -> None:
        """Re-score every target against the current estimate, then ``passes`` pairs of
        PatchMatch passes (forward then backward), the random search starting at half
        the level's shorter side."""
        self.evaluate()
        scale = max(1, (min(self.height, self.width) - 1) // 2)
        tries = scale.bit_length() + max(0, candidates - 10)
        self.costs *= self.channels
        for _ in range(passes):
            for forward in (True, False):
                kernels.search(
                    self.described,
                    self.weights,
                    self.window_weights,
                    self.sources,
                    self.slots,
                    self.target_ys,
                    self.target_xs,
                    self.nnf_ys,
                    self.nnf_xs,
                    self.costs,
                    RADIUS,
                    scale,
                    tries,
                    forward,
                    int(rng.integers(0, 2**31 - 1)),
                )
        self.costs /= self.channels

    def vote(self) -> None:
        """Set each hole pixel to the similarity-weighted average of what every window
        covering it copies there (a pixel no window weighs keeps its estimate)."""
        weights = similarity(self.costs)
        totals = np.zeros((self.height, self.width, 3), np.float32)
        counts = np.zeros((self.height, self.width), np.float32)
        kernels.vote(
            self.image,
            self.target_ys,
            self.target_xs,
            self.nnf_ys,
            self.nnf_xs,
            weights,
            RADIUS,
            totals,
            counts,
        )
        voted = self.fill & (counts > 1e-9)
        self.image[voted] = totals[voted] / counts[voted][:, None]
        self.described = features(self.image)

    def pick_nearest_votes(self) -> None:
        """Replace each hole pixel's averaged vote by the single vote closest to it
        (:func:`kernels.vote_nearest`): the copied grain stays, and a stray copy that
        disagrees with its neighbours is never the one chosen."""
        nearest = np.full((self.height, self.width), np.inf, np.float64)
        chosen = self.image.copy()
        kernels.vote_nearest(
            self.image,
            self.target_ys,
            self.target_xs,
            self.nnf_ys,
            self.nnf_xs,
            NEAREST_RADIUS,
            self.image,
            nearest,
            chosen,
        )
        self.image[self.fill] = chosen[self.fill]

    def match_boundary(self) -> None:
        """Shift the fill so its low frequencies meet the known pixels along its edge.

        The patches centred in the hole also cover known pixels next to it; there, what
        their sources say the scene should be is compared with what it is, and that
        difference is spread smoothly over the hole and added (:mod:`.seam`).
        """
        inside = self.fill[self.target_ys, self.target_xs]
        totals = np.zeros((self.height, self.width, 3), np.float64)
        counts = np.zeros((self.height, self.width), np.float64)
        kernels.vote(
            self.image,
            np.ascontiguousarray(self.target_ys[inside]),
            np.ascontiguousarray(self.target_xs[inside]),
            np.ascontiguousarray(self.nnf_ys[inside]),
            np.ascontiguousarray(self.nnf_xs[inside]),
            np.ones(int(inside.sum())),
            SEAM_RADIUS,
            totals,
            counts,
        )
        edge = (counts > 0) & ~self.hole & ~self.blocked
        if not edge.any():
            return
        predicted = np.zeros_like(self.image)
        predicted[edge] = totals[edge] / counts[edge][:, None]
        correction = boundary_correction(self.image - predicted, edge)
        self.image[self.fill] += correction[self.fill]
