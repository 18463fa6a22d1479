"""Exemplar fill: the hole is rebuilt from pixels copied from around it.

A coarse-to-fine PatchMatch in the spirit of Wexler et al. (2007) and Barnes et al.
(2009), vectorised for NumPy/OpenCV:

- Every hole pixel holds the position of a known *source* pixel whose surrounding patch
  looks like its own; patches are compared on a 3×3 grid of Lab samples spread over a
  ``PATCH``×``PATCH`` window (a 27-number descriptor), so known pixels around the
  hole anchor what may be copied next to them.
- Candidates: the neighbours' sources shifted by one step (propagation), random known
  pixels anywhere (global search) and jitters of the current sources with shrinking
  radius (local search). Each hole pixel keeps the closest.
- The hole is then re-synthesised: each pixel averages what its 3×3 neighbours' sources
  say it should be (which softens the joins between copied pieces), and the sources
  are carried, doubled, to the next finer level.

Copying keeps the surroundings' texture (grain, edges, noise) instead of the smooth blur
of diffusion fills such as OpenCV's Telea.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

PATCH = 7
"""Side, in pixels, of the window two patches are compared over."""

COARSEST_HOLE = 32
"""The pyramid stops once the hole's longer side is at most this many pixels."""

LARGE_LEVEL_PIXELS = 20_000
"""Above this many hole pixels, an intermediate level searches once instead of
``FillEffort.iterations`` times: its layout comes from the levels below, and one round
there costs as much as all the coarser levels together."""

FINEST_JITTER = 8
"""Widest random jitter (pixels) of a source at full resolution."""

_STEP = PATCH // 3
_SAMPLES = [(dy, dx) for dy in (-_STEP, 0, _STEP) for dx in (-_STEP, 0, _STEP)]
_RADIUS = PATCH // 2


@dataclass(frozen=True)
class FillEffort:
    """How hard the fill searches.

    Attributes:
        candidates: random sources tried per round (global and local search), ≥ 1.
        iterations: search-and-synthesise rounds per coarse pyramid level, ≥ 1.
        finest_iterations: rounds at full resolution; 0 only carries the coarser
            level's sources up and copies (about 3× faster, slightly rougher joins).
        sharpen: end with each pixel copying its own source, unaveraged: full texture
            sharpness, at the cost of visible joins where sources change.
        search_depth: levels finer than this (0 = full resolution, 1 = half...) do not
            search; they only carry the coarser sources up and copy. 2 makes the fill
            about 4× cheaper where little of it shows (around a placed object). The
            coarsest level always searches, however fine it is.
        max_pixels: when the hole has more pixels than this, fill a copy halved (as
            often as needed) and scale the fill back up: softer, and far cheaper.
    """

    candidates: int = 10
    iterations: int = 3
    finest_iterations: int = 1
    sharpen: bool = True
    search_depth: int = 0
    max_pixels: int | None = None


def fill_hole(
    image: np.ndarray, hole: np.ndarray, rng: np.random.Generator, effort: FillEffort
) -> np.ndarray:
    """Fill ``hole`` in ``image`` with texture copied from the rest of it.

    Args:
        image: H×W×3 uint8 RGB. Its pixels under ``hole`` are ignored.
        hole: H×W bool, True where the image must be rebuilt; some pixels must be known.
        rng: source of the random search (a seeded generator gives a repeatable fill).
        effort: search effort.

    Returns:
        H×W×3 uint8 RGB: ``image`` with the hole filled; other pixels unchanged.
    """
    if hole.all():
        raise ValueError("nothing around the hole to fill it from")
    if not hole.any():
        return image.copy()
    if effort.max_pixels is not None and np.count_nonzero(hole) > effort.max_pixels:
        return _fill_reduced(image, hole, rng, effort)
    lab = cv2.cvtColor(image.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    levels = _pyramid(lab, hole)
    level: _Level | None = None
    for depth in range(len(levels) - 1, -1, -1):
        level_image, level_hole = levels[depth]
        if level is None:
            level = _Level(level_image, level_hole)
            if level.known_ys.size == 0:
                # No PATCH×PATCH window of known pixels (a tiny or one-pixel-thin image,
                # or a hole leaving only a sliver): nothing to copy from, so carry the
                # known pixels' colours inward instead.
                return _fill_smooth(image, hole)
            level.image[level_hole] = _smooth_guess(level_image, level_hole)[level_hole]
            level.start_random(rng)
        else:
            level = level.refined(level_image, level_hole)
        rounds = effort.iterations if depth > 0 else effort.finest_iterations
        if depth > 0 and level.hole_ys.size > LARGE_LEVEL_PIXELS:
            rounds = min(rounds, 1)  # the coarser levels have settled the layout already
        if depth < effort.search_depth:
            rounds = 0
        if depth == len(levels) - 1:
            # The coarsest level always searches: with no search at all the sources stay
            # random, and copying or boundary-matching from them puts noise in the hole.
            rounds = max(rounds, 1)
        for _ in range(rounds):
            level.search(rng, effort.candidates, finest=depth == 0 and len(levels) > 1)
            level.synthesise()
    assert level is not None
    if effort.sharpen:
        level.copy_sources()
    level.match_boundary()
    rgb = cv2.cvtColor(level.image, cv2.COLOR_Lab2RGB)
    filled = np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)
    result = image.copy()
    result[hole] = filled[hole]
    return result


def _fill_reduced(
    image: np.ndarray, hole: np.ndarray, rng: np.random.Generator, effort: FillEffort
) -> np.ndarray:
    """Fill a half-size copy (recursively, until small enough) and scale the fill up."""
    height, width = hole.shape
    size = ((width + 1) // 2, (height + 1) // 2)
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    small_hole = cv2.resize(hole.view(np.uint8), size, interpolation=cv2.INTER_AREA) > 0
    # The half-size copy must still hold whole known patches to copy from (a thin ring
    # of scene around a large hole can vanish when halved).
    if small_hole.all() or min(size) < 6 * PATCH or _sources_mask(small_hole).sum() < 16:
        return fill_hole(image, hole, rng, replace(effort, max_pixels=None))
    filled = fill_hole(small, small_hole, rng, effort)
    up = cv2.resize(filled, (width, height), interpolation=cv2.INTER_LINEAR)
    result = image.copy()
    result[hole] = up[hole]
    return result


def _fill_smooth(image: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """``image`` with ``hole`` filled by OpenCV's Telea fill from the known pixels around
    it: the fallback when no whole patch is known (at least one pixel must be)."""
    filled = cv2.inpaint(np.ascontiguousarray(image), hole.view(np.uint8), 3, cv2.INPAINT_TELEA)
    result = image.copy()
    result[hole] = filled[hole]
    return result


def _pyramid(lab: np.ndarray, hole: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Levels (image, hole), finest first, halving until the hole is small.

    Downsampling averages known pixels only, so the removed content never leaks into
    the coarse levels; a coarse pixel is in the hole if any pixel under it was.
    """
    levels = [(lab, hole)]
    while True:
        image, mask = levels[-1]
        rows, cols = np.nonzero(mask)
        hole_size = max(rows.max() - rows.min(), cols.max() - cols.min()) + 1
        height, width = mask.shape
        if hole_size <= COARSEST_HOLE or min(height, width) < 6 * PATCH:
            return levels
        size = ((width + 1) // 2, (height + 1) // 2)
        known = (~mask).astype(np.float32)
        weight = cv2.resize(known, size, interpolation=cv2.INTER_AREA)
        summed = cv2.resize(image * known[:, :, None], size, interpolation=cv2.INTER_AREA)
        coarse_hole = weight < 0.999
        if coarse_hole.all() or _sources_mask(coarse_hole).sum() < 16:
            return levels
        coarse = summed / np.maximum(weight, 1e-6)[:, :, None]
        levels.append((coarse.astype(np.float32), coarse_hole))


def _sources_mask(hole: np.ndarray) -> np.ndarray:
    """Pixels whose whole PATCH window is known and inside the image."""
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (PATCH, PATCH))
    touched = cv2.dilate(hole.view(np.uint8), kernel).astype(bool)
    ok = ~touched
    ok[:_RADIUS, :] = False
    ok[-_RADIUS:, :] = False
    ok[:, :_RADIUS] = False
    ok[:, -_RADIUS:] = False
    return ok


def _smooth_guess(image: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """A first guess for the coarsest hole: OpenCV's Telea fill, which carries the
    boundary's colours inward (the exemplar search then replaces it with texture)."""
    rgb = cv2.cvtColor(image, cv2.COLOR_Lab2RGB)
    rgb8 = np.clip(rgb * 255.0, 0, 255).astype(np.uint8)
    filled = cv2.inpaint(rgb8, hole.view(np.uint8), 3, cv2.INPAINT_TELEA)
    return cv2.cvtColor(filled.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)


def _descriptors(image: np.ndarray) -> np.ndarray:
    """H×W×27 float32: each pixel's Lab colour on a 3×3 grid over its PATCH window.

    Borders are replicated; pixels within PATCH/2 of the border never serve as sources.
    """
    padded = cv2.copyMakeBorder(image, _RADIUS, _RADIUS, _RADIUS, _RADIUS, cv2.BORDER_REPLICATE)
    height, width = image.shape[:2]
    parts = [
        padded[_RADIUS + dy : _RADIUS + dy + height, _RADIUS + dx : _RADIUS + dx + width]
        for dy, dx in _SAMPLES
    ]
    return np.concatenate(parts, axis=2)


def _descriptors_at(image: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """N×27 float32: :func:`_descriptors` of the pixels (ys, xs) only."""
    height, width = image.shape[:2]
    parts = [
        image[np.clip(ys + dy, 0, height - 1), np.clip(xs + dx, 0, width - 1)]
        for dy, dx in _SAMPLES
    ]
    return np.concatenate(parts, axis=1)


def _push_pull(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Fill the gaps of a sparse field smoothly (H×W×C values known where weight > 0).

    Averages known values down a pyramid, then interpolates back up, taking known values
    where they are and the smooth coarser estimate elsewhere.
    """
    height, width = weights.shape
    if min(height, width) <= 2:
        total = max(float(weights.sum()), 1e-6)
        mean = (values * weights[:, :, None]).sum(axis=(0, 1)) / total
        return np.broadcast_to(mean, values.shape).astype(np.float32)
    size = ((width + 1) // 2, (height + 1) // 2)
    coarse_weight = cv2.resize(weights, size, interpolation=cv2.INTER_AREA)
    coarse_sum = cv2.resize(values * weights[:, :, None], size, interpolation=cv2.INTER_AREA)
    coarse = coarse_sum / np.maximum(coarse_weight, 1e-6)[:, :, None]
    filled = _push_pull(coarse.astype(np.float32), np.minimum(coarse_weight * 4.0, 1.0))
    up = cv2.resize(filled, (width, height), interpolation=cv2.INTER_LINEAR)
    keep = weights[:, :, None]
    return (values * keep + up * (1.0 - keep)).astype(np.float32)


class _Level:
    """Sources of the hole pixels and the image estimate at one pyramid level."""

    def __init__(self, image: np.ndarray, hole: np.ndarray) -> None:
        self.image = image.copy()
        self.hole = hole
        self.height, self.width = hole.shape
        self.hole_ys, self.hole_xs = (a.astype(np.int32) for a in np.nonzero(hole))
        self.source_ok = _sources_mask(hole)
        self.known_ys, self.known_xs = (a.astype(np.int32) for a in np.nonzero(self.source_ok))
        # Position of each hole pixel in the lists above, -1 elsewhere (for propagation).
        self.index = np.full(hole.shape, -1, np.int32)
        self.index[self.hole_ys, self.hole_xs] = np.arange(self.hole_ys.size, dtype=np.int32)
        self.source_ys = np.zeros_like(self.hole_ys)
        self.source_xs = np.zeros_like(self.hole_xs)
        self._source_descriptors: np.ndarray | None = None
        self._neighbour_slots: list[tuple[int, np.ndarray]] | None = None

    def start_random(self, rng: np.random.Generator) -> None:
        pick = rng.integers(0, self.known_ys.size, self.hole_ys.size)
        self.source_ys = self.known_ys[pick]
        self.source_xs = self.known_xs[pick]

    def refined(self, image: np.ndarray, hole: np.ndarray) -> _Level:
        """The next finer level, its hole seeded from this level's doubled sources."""
        finer = _Level(image, hole)
        coarse_y = np.minimum(finer.hole_ys // 2, self.height - 1)
        coarse_x = np.minimum(finer.hole_xs // 2, self.width - 1)
        upsampled = cv2.resize(
            self.image, (finer.width, finer.height), interpolation=cv2.INTER_LINEAR
        )
        finer.image[hole] = upsampled[hole]
        slot = self.index[coarse_y, coarse_x]
        has = slot >= 0
        # A pixel whose coarse parent was known starts on itself; repair_sources then
        # moves it (like any doubled source that landed badly) to the nearest valid one.
        finer.source_ys = np.where(
            has, self.source_ys[slot] * 2 + (finer.hole_ys & 1), finer.hole_ys
        ).astype(np.int32)
        finer.source_xs = np.where(
            has, self.source_xs[slot] * 2 + (finer.hole_xs & 1), finer.hole_xs
        ).astype(np.int32)
        finer.repair_sources()
        finer.synthesise()
        return finer

    def repair_sources(self) -> None:
        """Snap sources that landed on invalid pixels to valid ones nearby."""
        ys = np.clip(self.source_ys, 0, self.height - 1)
        xs = np.clip(self.source_xs, 0, self.width - 1)
        bad = ~self.source_ok[ys, xs]
        if bad.any():
            _, labels = cv2.distanceTransformWithLabels(
                (~self.source_ok).view(np.uint8), cv2.DIST_L2, 3, labelType=cv2.DIST_LABEL_PIXEL
            )
            # Map each label to its source pixel's coordinates.
            label_y = np.zeros(labels.max() + 1, np.int32)
            label_x = np.zeros(labels.max() + 1, np.int32)
            ok_labels = labels[self.source_ok]
            label_y[ok_labels] = self.known_ys
            label_x[ok_labels] = self.known_xs
            nearest = labels[ys[bad], xs[bad]]
            ys[bad] = label_y[nearest]
            xs[bad] = label_x[nearest]
        self.source_ys, self.source_xs = ys, xs

    # -- search -------------------------------------------------------------------------

    def _distances(
        self, targets: np.ndarray, ys: np.ndarray, xs: np.ndarray, sources: np.ndarray
    ) -> np.ndarray:
        inside = (ys >= 0) & (ys < self.height) & (xs >= 0) & (xs < self.width)
        ys = np.clip(ys, 0, self.height - 1)
        xs = np.clip(xs, 0, self.width - 1)
        valid = inside & self.source_ok[ys, xs]
        difference = sources.reshape(-1, sources.shape[-1])[ys * self.width + xs] - targets
        distance = np.einsum("ij,ij->i", difference, difference)
        return np.where(valid, distance, np.inf)

    def search(self, rng: np.random.Generator, candidates: int, finest: bool = False) -> None:
        """One PatchMatch round: propagation, then global and local random search.

        At the finest level the coarser levels have already found where to copy from,
        so only one-step propagation and small jitters (≤ FINEST_JITTER px) are tried.
        """
        if self._source_descriptors is None:
            self._source_descriptors = _descriptors(self.image)
        sources = self._source_descriptors
        targets = _descriptors_at(self.image, self.hole_ys, self.hole_xs)
        best = self._distances(targets, self.source_ys, self.source_xs, sources)
        proposals: list[tuple[np.ndarray, np.ndarray]] = []
        for step in (1,) if finest else (1, 4):
            for dy, dx in ((0, step), (0, -step), (step, 0), (-step, 0)):
                ny = np.clip(self.hole_ys - dy, 0, self.height - 1)
                nx = np.clip(self.hole_xs - dx, 0, self.width - 1)
                slot = self.index[ny, nx]
                has = slot >= 0
                proposals.append(
                    (
                        np.where(has, self.source_ys[slot] + dy, -1),
                        np.where(has, self.source_xs[slot] + dx, -1),
                    )
                )
        global_count = 0 if finest else max(1, candidates // 2)
        for _ in range(global_count):
            pick = rng.integers(0, self.known_ys.size, self.hole_ys.size)
            proposals.append((self.known_ys[pick], self.known_xs[pick]))
        widest = FINEST_JITTER if finest else max(self.height, self.width) // 2
        local_count = max(1, candidates // 3) if finest else max(1, candidates - global_count)
        for radius in np.unique(np.geomspace(widest, 1, local_count).round().astype(int))[::-1]:
            jitter = rng.integers(-radius, radius + 1, (2, self.hole_ys.size), dtype=np.int32)
            proposals.append((self.source_ys + jitter[0], self.source_xs + jitter[1]))
        for ys, xs in proposals:
            distance = self._distances(targets, ys, xs, sources)
            better = distance < best
            best = np.where(better, distance, best)
            self.source_ys = np.where(better, ys, self.source_ys)
            self.source_xs = np.where(better, xs, self.source_xs)

    # -- synthesis ----------------------------------------------------------------------

    def match_boundary(self) -> None:
        """Shift the fill's colours so it meets the known pixels around it seamlessly.

        Along the hole's edge, each known pixel is compared with what the copied patch
        next to it says should be there; that difference is spread smoothly over the
        hole (push-pull interpolation) and added. Low frequencies then match the
        surroundings while the copied texture stays.
        """
        difference = np.zeros(self.image.shape, np.float32)
        count = np.zeros(self.hole.shape, np.float32)
        flat = self.image.reshape(-1, 3)
        for dy, dx in ((0, 1), (0, -1), (1, 0), (-1, 0)):
            ry, rx = self.hole_ys + dy, self.hole_xs + dx
            sy, sx = self.source_ys + dy, self.source_xs + dx
            inside = (ry >= 0) & (ry < self.height) & (rx >= 0) & (rx < self.width)
            inside &= (sy >= 0) & (sy < self.height) & (sx >= 0) & (sx < self.width)
            ry, rx, sy, sx = ry[inside], rx[inside], sy[inside], sx[inside]
            edge = ~self.hole[ry, rx]
            ry, rx, sy, sx = ry[edge], rx[edge], sy[edge], sx[edge]
            predicted = flat[sy * self.width + sx]
            np.add.at(difference, (ry, rx), self.image[ry, rx] - predicted)
            np.add.at(count, (ry, rx), 1.0)
        if not count.any():
            return
        seen = count > 0
        difference[seen] /= count[seen][:, None]
        # The correction is smooth: build it at a quarter of the resolution.
        size = (max(1, (self.width + 3) // 4), max(1, (self.height + 3) // 4))
        weight = cv2.resize(seen.astype(np.float32), size, interpolation=cv2.INTER_AREA)
        summed = cv2.resize(difference, size, interpolation=cv2.INTER_AREA)
        coarse = summed / np.maximum(weight, 1e-6)[:, :, None]
        smooth = _push_pull(coarse.astype(np.float32), np.minimum(weight * 4.0, 1.0))
        correction = cv2.resize(smooth, (self.width, self.height), interpolation=cv2.INTER_LINEAR)
        self.image[self.hole] += correction[self.hole]

    def copy_sources(self) -> None:
        """Final pass: each hole pixel takes its own source's value, unaveraged, which
        keeps the copied texture's full sharpness."""
        flat = self.image.reshape(-1, 3)
        self.image[self.hole_ys, self.hole_xs] = flat[self.source_ys * self.width + self.source_xs]

    def synthesise(self) -> None:
        """Rebuild the hole: each pixel averages what its 3×3 neighbours' sources say.

        Sources never lie within PATCH/2 of the hole or the border, so a source shifted
        by one pixel is always a known pixel inside the image.
        """
        if self._neighbour_slots is None:
            padded = np.pad(self.index, 1, constant_values=-1).ravel()
            stride = self.width + 2
            base = (self.hole_ys + 1) * stride + (self.hole_xs + 1)
            self._neighbour_slots = [
                (dy * self.width + dx, padded[base + dy * stride + dx])
                for dy in (-1, 0, 1)
                for dx in (-1, 0, 1)
            ]
        source = self.source_ys * self.width + self.source_xs
        total = np.zeros((self.hole_ys.size, 3), np.float32)
        count = np.zeros(self.hole_ys.size, np.float32)
        flat = self.image.reshape(-1, 3)
        for shift, slot in self._neighbour_slots:
            has = slot >= 0
            copied = flat[source[slot] - shift]
            total += np.where(has[:, None], copied, 0.0)
            count += has
        self.image[self.hole_ys, self.hole_xs] = total / count[:, None]
