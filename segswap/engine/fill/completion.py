"""Exemplar fill: the hole is rebuilt from patches copied from the scene around it.

Multi-scale EM completion in the spirit of Wexler, Shechtman and Irani (2007), with the
PatchMatch search of Barnes et al. (2009):

1. A mask-aware pyramid (:mod:`.pyramid`) halves the scene until the hole is at most
   48 px thick; a coarse pixel is known only from known pixels under it.
2. At the coarsest level the hole is filled once from its edge inward (onion peel,
   :func:`.kernels.onion_peel`): each step copies a 5×5 piece of the source whose window
   best matches what is known or already filled around it, so edges reaching the hole
   are carried into it. Sources come only from the sampling area (:mod:`.sources`).
3. At every level, full resolution included, a few EM rounds run. *Search*: PatchMatch
   passes (propagation from the neighbours plus random search with a halving radius)
   look for the source whose whole 7×7 window best matches each target window, in Lab
   colour, the lightness gradient and its local energy (so edges, their direction and
   grain count). *Vote*: each hole pixel's colour and features become the average of
   what the patches centred next to it copy there, weighted by how well each matched.
4. Sources are carried, doubled, to the next finer level, which starts from their vote.
5. At full resolution each hole pixel takes, of its votes, the one actual source value
   closest to their average (texture grain kept, no stray specks), and the fill's low
   frequencies are shifted to meet the scene along the hole's edge (:mod:`.seam`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

import segswap.engine.fill.kernels as kernels
from segswap.engine.fill.pyramid import pyramid
from segswap.engine.fill.seam import boundary_correction, push_pull
from segswap.engine.fill.sources import (
    PATCH,
    RADIUS,
    SAMPLING_SCALE,
    sampling_reach,
    source_centres,
    whole_windows,
)
from segswap.engine.progress import checkpoint

GRADIENT_WEIGHT = 2.0
"""Weight of the lightness gradient (ΔL per pixel, each axis) next to Lab colour in the
patch distance: structure counts as much as a colour difference of twice its size."""

TEXTURE_WEIGHT = 5.0
"""Weight of the local gradient energy (mean |ΔL| per pixel over 5×5, each axis)."""

ESTIMATE_WEIGHT = 1.0
"""Weight of a hole pixel's current estimate in a patch distance (known pixels: 1)."""

ONION_CANDIDATES = 800
"""Sources tried per pixel by the coarsest level's first fill (all when there are fewer)..."""

ONION_CORE = 2
"""The onion peel copies each match's central (2·core+1)² pixels, not just its centre."""

ONION_BUDGET = 300_000
"""... but at most this many in all: a coarsest level with a large hole (a thin ring
around a placed object stays thin, so its pyramid stays fine) tries fewer per pixel and
leaves the rest to the EM search."""

LARGE_LEVEL_TARGETS = 10_000
"""Above this many target patches, an intermediate level runs one EM round instead of
``FillEffort.iterations`` (the coarser levels settled the layout, and one round there
costs as much as all coarser levels together), and every round of such a level is one
PatchMatch pass (forward; the other direction's propagation comes from the coarser
level.s field) with a third of the random candidates."""

SEAM_RADIUS = 2
"""Known pixels up to this far from the hole are compared with what the hole's patches
say they should be (:meth:`_Level.match_boundary`)."""

COARSEST_ROUNDS = 6
"""EM rounds at the coarsest level (it is tiny, and settles the layout)."""

VOTE_RADIUS = 1
"""Each patch votes for the pixels within this many pixels of its centre (1: its central
3×3), not its whole window: on stochastic texture (fur, grass) neighbouring patches
come from different places, and averaging all 49 overlapping copies blurs it away."""


NEAREST_RADIUS = 1
"""The final pick (:meth:`_Level.pick_nearest_votes`) considers the votes of the patches
centred within this many pixels."""

VOTE_PERCENTILE = 75.0
"""Patch weights in a vote are exp(-cost / 2σ²), σ² this percentile of the costs."""


MAX_FULL_PIXELS = 1_000_000
"""A hole of more pixels than this (about 1000×1000) is filled on a copy halved until
it has fewer, and the fill scaled back up: a 90 % hole of a 4096² photo is filled at
512², softer, in seconds instead of a minute (the work then grows with the hole's
area only up to this size)."""


@dataclass(frozen=True)
class FillEffort:
    """How hard the fill searches.

    Attributes:
        candidates: random-search samples per target per pass (the radius halves at
            each one), ≥ 1.
        iterations: EM rounds (search + vote) per intermediate pyramid level, ≥ 1.
        finest_iterations: EM rounds at full resolution; 0 only carries the coarser
            level's sources up and votes.
        sharpen: end with each hole pixel taking, of its votes, the one source value
            closest to their average (:meth:`_Level.pick_nearest_votes`): the copied
            grain stays; without it the fill is the average, softer.
        search_depth: levels finer than this (0 = full resolution, 1 = half...) do not
            search; they only carry the coarser sources up and vote. The coarsest level
            always searches, however fine it is.
        max_pixels: when the hole has more pixels than this, fill a copy halved (as
            often as needed) and scale the fill back up: softer, and far cheaper.
            None: :data:`MAX_FULL_PIXELS`.
        sampling_scale: the sampling area reaches this many hole thicknesses from the
            hole (see :mod:`segswap.engine.fill.sources`); None copies from anywhere.
        shown_depth: with hidden pixels (see :func:`fill_hole`), the pyramid stops once
            the part of the hole to fill is thin, so a ring around an object is searched
            at (nearly) full resolution; False: once the whole hole is thin, as without
            hidden pixels (coarser, far cheaper: for the reduced search).
    """

    candidates: int = 10
    iterations: int = 3
    finest_iterations: int = 1
    sharpen: bool = True
    search_depth: int = 0
    max_pixels: int | None = None
    sampling_scale: float | None = SAMPLING_SCALE
    shown_depth: bool = True


def fill_hole(
    image: np.ndarray,
    hole: np.ndarray,
    rng: np.random.Generator,
    effort: FillEffort,
    hidden: np.ndarray | None = None,
) -> np.ndarray:
    """Fill ``hole`` in ``image`` with texture copied from the rest of it.

    Args:
        image: H×W×3 uint8 RGB. Its pixels under ``hole`` are ignored.
        hole: H×W bool, True where the image must be rebuilt; some pixels must be known.
        rng: source of the random search (a seeded generator gives a repeatable fill).
        effort: search effort.
        hidden: H×W bool, optional: pixels of the hole that will not be seen (an object
            laid over the fill covers them). They are never sources, count for nothing
            in patch distances and only get a smooth estimate from the known pixels, so
            the fill's search, its pyramid's depth and its sampling area follow the part
            of the hole that shows: a thin ring around an object is filled from the
            scene right next to it, as a thin hole is.

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
    shown = hole if hidden is None else hole & ~hidden
    limit = MAX_FULL_PIXELS if effort.max_pixels is None else effort.max_pixels
    if np.count_nonzero(hole) > limit:
        return _fill_reduced(image, hole, rng, replace(effort, max_pixels=limit), hidden)
    if not whole_windows(hole).any():
        # No PATCH×PATCH window of known pixels (a tiny or one-pixel-thin image, or a
        # hole leaving only a sliver): nothing to copy from, so carry the known pixels'
        # colours inward instead.
        return _fill_smooth(image, hole)
    lab = cv2.cvtColor(image.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    levels = pyramid(lab, hole, hidden, effort.shown_depth)
    reach = None
    if effort.sampling_scale is not None:
        reach = sampling_reach(shown, effort.sampling_scale)
    level: _Level | None = None
    coarsest = len(levels) - 1
    for depth in range(coarsest, -1, -1):
        checkpoint((coarsest - depth) / (coarsest + 1))
        level_image, level_hole, level_hidden = levels[depth]
        level_reach = None if reach is None else reach / 2**depth
        if level is None:
            level = _Level(level_image, level_hole, level_reach, level_hidden)
            level.start_onion(rng)
            rounds = effort.iterations
            if level.target_ys.size <= LARGE_LEVEL_TARGETS:
                rounds = max(COARSEST_ROUNDS, rounds)
        else:
            level = level.refined(level_image, level_hole, level_reach, level_hidden)
            rounds = effort.iterations if depth > 0 else effort.finest_iterations
            if depth > 0 and level.target_ys.size > LARGE_LEVEL_TARGETS:
                rounds = min(rounds, 1)
            if depth < effort.search_depth:
                rounds = 0
        for _ in range(rounds):
            large = level.target_ys.size > LARGE_LEVEL_TARGETS
            candidates = max(1, effort.candidates // 3) if large else effort.candidates
            level.search(rng, candidates, passes=1 if large else 2)
            level.vote(VOTE_PERCENTILE)
    assert level is not None
    if effort.sharpen:
        level.pick_nearest_votes()
    level.match_boundary()
    rgb = cv2.cvtColor(level.image, cv2.COLOR_Lab2RGB)
    filled = np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)
    result = image.copy()
    np.copyto(result, filled, where=hole[:, :, None])
    return result


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


def features(lab: np.ndarray) -> np.ndarray:
    """H×W×7 float32 of a Lab image: L, a, b; the lightness gradient (ΔL per pixel along
    y and x, × :data:`GRADIENT_WEIGHT`); and its local energy (the mean |gradient| along
    y and x over 5×5 pixels, × :data:`TEXTURE_WEIGHT`), which tells grain from a flat
    area even where the gradients' signs do not line up."""
    lightness = np.ascontiguousarray(lab[:, :, 0])
    gy = cv2.Sobel(lightness, cv2.CV_32F, 0, 1, ksize=3, scale=1.0 / 8.0)
    gx = cv2.Sobel(lightness, cv2.CV_32F, 1, 0, ksize=3, scale=1.0 / 8.0)
    ey = cv2.blur(np.abs(gy), (5, 5)) * TEXTURE_WEIGHT
    ex = cv2.blur(np.abs(gx), (5, 5)) * TEXTURE_WEIGHT
    stack = [lab, gy * GRADIENT_WEIGHT, gx * GRADIENT_WEIGHT, ey, ex]
    return np.ascontiguousarray(np.dstack(stack).astype(np.float32))


class _Level:
    """The image estimate and the nearest-neighbour field at one pyramid level."""

    def __init__(
        self,
        image: np.ndarray,
        hole: np.ndarray,
        reach: float | None,
        hidden: np.ndarray | None = None,
    ) -> None:
        self.image = np.ascontiguousarray(image, dtype=np.float32).copy()
        self.hole = hole
        self.hidden = np.zeros_like(hole) if hidden is None else hidden
        self.fill = hole & ~self.hidden
        """The hole's pixels to fill: all but the hidden ones."""
        self.height, self.width = hole.shape
        if self.hidden.any():
            # Hidden pixels hold a smooth estimate from the known pixels (never what was
            # removed), so the features of their neighbours see no trace of it.
            smooth = push_pull(self.image, (~hole).astype(np.float32))
            self.image[self.hidden] = smooth[self.hidden]
        kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (PATCH, PATCH))
        targets = cv2.dilate(self.fill.view(np.uint8), kernel).astype(bool)
        self.target_ys, self.target_xs = (a.astype(np.int32) for a in np.nonzero(targets))
        self.slots = np.full(hole.shape, -1, np.int32)
        self.slots[self.target_ys, self.target_xs] = np.arange(self.target_ys.size, dtype=np.int32)
        self.sources = source_centres(hole, reach)
        self.source_ys, self.source_xs = (a.astype(np.int32) for a in np.nonzero(self.sources))
        self.nnf_ys = np.zeros_like(self.target_ys)
        self.nnf_xs = np.zeros_like(self.target_xs)
        self.costs = np.zeros(self.target_ys.size, np.float32)
        self.described = np.zeros((0, 0, 0), np.float32)

    def describe(self) -> None:
        """Compute every pixel's features from the current image (see :func:`features`).

        After this, the hole's features are only ever voted from the sources' (never
        recomputed from the averaged estimate): an average of textured copies is smooth,
        and its features would draw the search toward smooth sources, round after round.
        """
        self.described = features(self.image)

    def start_onion(self, rng: np.random.Generator) -> None:
        """First fill of the coarsest hole, from its edge inward (:func:`kernels.onion_peel`):
        each pixel copies the centre of the source matching what is known or already
        filled around it, so edges reaching the hole are carried into it. Every target
        then starts on the source of its centre pixel (known centres: a random one)."""
        distance = cv2.distanceTransform(self.hole.view(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_5)
        ys, xs = np.nonzero(self.fill)
        order = np.lexsort((xs, ys, distance[ys, xs]))
        order_ys, order_xs = ys[order].astype(np.int32), xs[order].astype(np.int32)
        slots = np.full(self.hole.shape, -1, np.int32)
        slots[order_ys, order_xs] = np.arange(order_ys.size, dtype=np.int32)
        known = (~self.hole).view(np.uint8).copy()
        peel_ys = np.zeros_like(order_ys)
        peel_xs = np.zeros_like(order_xs)
        kernels.onion_peel(
            self.image,
            known,
            order_ys,
            order_xs,
            slots,
            self.source_ys,
            self.source_xs,
            int(np.clip(ONION_BUDGET // max(order_ys.size, 1), 16, ONION_CANDIDATES)),
            RADIUS,
            ONION_CORE,
            int(rng.integers(0, 2**31 - 1)),
            peel_ys,
            peel_xs,
        )
        pick = rng.integers(0, self.source_ys.size, self.target_ys.size)
        self.nnf_ys = self.source_ys[pick]
        self.nnf_xs = self.source_xs[pick]
        slot = slots[self.target_ys, self.target_xs]
        inside = slot >= 0
        self.nnf_ys[inside] = peel_ys[slot[inside]]
        self.nnf_xs[inside] = peel_xs[slot[inside]]
        # A pixel copied off-centre of its match got that source shifted, which may not
        # be a whole known window itself: every kernel relies on sources being valid.
        self.repair()
        self.describe()

    def refined(
        self,
        image: np.ndarray,
        hole: np.ndarray,
        reach: float | None,
        hidden: np.ndarray | None = None,
    ) -> _Level:
        """The next finer level: sources doubled, its hole estimate their vote."""
        finer = _Level(image, hole, reach, hidden)
        # Known pixels next to the hole get their features from this smooth estimate
        # (never from what was removed); the hole's own come from the vote below.
        upsampled = cv2.resize(self.image, (finer.width, finer.height))
        finer.image[finer.fill] = upsampled[finer.fill]
        finer.describe()
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
        finer.costs[:] = 1.0  # every patch votes alike until the first search
        finer.vote(VOTE_PERCENTILE)
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

    def search(self, rng: np.random.Generator, candidates: int, passes: int = 2) -> None:
        """Re-score every target against the current image, then ``passes`` PatchMatch
        passes (forward, backward, forward...)."""
        assert self.sources[self.nnf_ys, self.nnf_xs].all(), "a source outside the windows"
        described = self.described
        weights = np.where(self.hole, ESTIMATE_WEIGHT, 1.0).astype(np.float32)
        weights[self.hidden] = 0.0
        window = cv2.boxFilter(
            weights, -1, (PATCH, PATCH), normalize=False, borderType=cv2.BORDER_CONSTANT
        )
        window_weights = np.ascontiguousarray(window[self.target_ys, self.target_xs])
        kernels.evaluate(
            described,
            weights,
            window_weights,
            self.target_ys,
            self.target_xs,
            self.nnf_ys,
            self.nnf_xs,
            self.costs,
            RADIUS,
        )
        radius = max(self.height, self.width)
        for index in range(passes):
            forward = index % 2 == 0
            kernels.search(
                described,
                weights,
                window_weights,
                self.sources,
                self.slots,
                self.target_ys,
                self.target_xs,
                self.nnf_ys,
                self.nnf_xs,
                self.costs,
                RADIUS,
                radius,
                candidates,
                forward,
                int(rng.integers(0, 2**31 - 1)),
            )

    def vote(self, percentile: float) -> None:
        """Set each hole pixel's colour and features to the similarity-weighted average
        of what the patches centred within VOTE_RADIUS of it copy there."""
        assert self.sources[self.nnf_ys, self.nnf_xs].all(), "a source outside the windows"
        spread = float(np.percentile(self.costs, percentile)) + 1e-6
        weights = np.exp(-0.5 * np.minimum(self.costs / spread, 50.0)).astype(np.float32)
        weights = np.maximum(weights, np.float32(1e-20))
        channels = self.described.shape[2]
        totals = np.zeros((self.height, self.width, channels), np.float32)
        counts = np.zeros((self.height, self.width), np.float32)
        kernels.vote(
            self.described,
            self.target_ys,
            self.target_xs,
            self.nnf_ys,
            self.nnf_xs,
            weights,
            VOTE_RADIUS,
            totals,
            counts,
        )
        fill = self.fill
        self.described[fill] = totals[fill] / counts[fill][:, None]
        self.image[fill] = self.described[fill][:, :3]

    def pick_nearest_votes(self) -> None:
        """Replace each hole pixel's averaged vote by the single vote closest to it
        (:func:`kernels.vote_nearest`): full texture grain, no specks."""
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
        self.described[self.fill, :3] = chosen[self.fill]

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
        edge = (counts > 0) & ~self.hole
        if not edge.any():
            return
        predicted = np.zeros_like(self.image)
        predicted[edge] = totals[edge] / counts[edge][:, None]
        correction = boundary_correction(self.image - predicted, edge)
        self.image[self.fill] += correction[self.fill]
