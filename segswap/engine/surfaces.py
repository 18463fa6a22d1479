"""Two surfaces meeting behind a removed object: where their edge runs in the hole.

A saucer on a table, a lawn under a wall: when the old object stood across the edge
between two surfaces, the fill must continue that edge (the saucer's rim) through
the part of the hole that shows, up to the new object's silhouette. A patch fill left to
itself picks whichever surface borders most of the hole and breaks the edge.
:func:`surface_layout` finds the two surfaces around the hole (two colour clusters,
well apart), fits their edge as a conic (an ellipse, a line, a parabola: a rim seen
in perspective) to the known pixels near the hole, and says which side each hole pixel
is on; :func:`fill_by_surface` then fills each side from its own surface only.
Nothing is done when the scene around the hole is one surface or when no conic
separates the two (a busy scene).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from segswap.engine.region import bounding_box, disk, work_copy

BAND_SHARE = 0.35
"""Known pixels within this share of the hole's longer side (at least 8 px) train the
layout."""

SEPARATION_DELTA_E = 22.0
"""Least Lab distance between the two surfaces' mean colours."""

LEAST_SHARE = 0.15
"""Least share of the band each surface must cover."""

LEAST_ACCURACY = 0.85
"""Share of the band's pixels the fitted edge must put on their own side."""

CLUSTERS = 3
"""Colour clusters of the band; a surface is one of them, the other surface the rest."""

LIGHTNESS_WEIGHT = 0.5
"""Weight of L* against a*, b* in the clustering: shading and grain change lightness
more than they change a surface's colour."""

CLEAR_LEAN = 8.0
"""A fill's pixel is on the wrong surface when its colour is this much (weighted ΔE)
nearer to the other surface's clusters; the second fill's pixel replaces it only when
it is this much nearer to its own."""

LOCAL_REACH = 12
"""Pixels around a region to be filled again within which the fitted edge must hold."""

LOCAL_ACCURACY = 0.6
"""Share of the known pixels there the fitted edge must put on their own side."""

WORK_SIDE = 192
"""Longest side (pixels) the layout is fitted at."""

Filler = Callable[[np.ndarray, np.ndarray, np.ndarray | None], np.ndarray]
"""(image, hole, hidden) → filled image: the fill to run per surface."""


def _features(ys: np.ndarray, xs: np.ndarray, centre: tuple[float, float], scale: float):
    y = (ys - centre[0]) / scale
    x = (xs - centre[1]) / scale
    return np.stack([np.ones_like(x), x, y, x * x, x * y, y * y], axis=1)


def _weighted_lab(rgb: np.ndarray) -> np.ndarray:
    lab = cv2.cvtColor(cv2.GaussianBlur(rgb, (0, 0), 1.0), cv2.COLOR_RGB2LAB).astype(np.float32)
    lab[:, :, 0] *= LIGHTNESS_WEIGHT
    return lab


@dataclass(frozen=True)
class Layout:
    """Two surfaces around a hole.

    Attributes:
        side: H×W uint8, 0 or 1: the surface each pixel belongs to (known pixels by
            colour, hole pixels by the side of the fitted edge they are on).
        centres: the band's colour clusters (k×3, weighted Lab).
        chosen: the cluster that is surface 1 (the others are surface 0).
    """

    side: np.ndarray
    centres: np.ndarray
    chosen: int
    predicted: np.ndarray
    """H×W uint8, 0 or 1: the side of the fitted edge every pixel is on."""

    def lean(self, rgb: np.ndarray) -> np.ndarray:
        """How much nearer (H×W float32, weighted ΔE) each pixel's colour is to surface 1
        than to surface 0: positive on surface 1, negative on surface 0."""
        lab = _weighted_lab(rgb)
        squared = []
        for centre in self.centres:
            difference = lab - centre
            squared.append(np.einsum("ijk,ijk->ij", difference, difference))
        own = squared[self.chosen]
        others = np.minimum.reduce([d for i, d in enumerate(squared) if i != self.chosen])
        return (np.sqrt(others) - np.sqrt(own)).astype(np.float32)

    def surface_of(self, rgb: np.ndarray) -> np.ndarray:
        """The surface (H×W uint8, 0 or 1) each pixel's colour is nearest to."""
        return (self.lean(rgb) > 0).astype(np.uint8)


def surface_layout(crop: np.ndarray, hole: np.ndarray) -> Layout | None:
    """The two surfaces around ``hole`` (H×W bool) in ``crop`` (H×W×3 uint8), or None
    when the scene around it is not two surfaces split by a conic."""
    if not hole.any() or hole.all():
        return None
    height, width = hole.shape
    small, small_hole, scale = work_copy(crop, hole, WORK_SIDE)
    if not small_hole.any() or small_hole.all():
        return None
    box = bounding_box(small_hole)
    longer = max(box.height, box.width)
    reach = max(8.0, BAND_SHARE * longer)
    distance = cv2.distanceTransform((~small_hole).view(np.uint8), cv2.DIST_L2, 3)
    band = (distance > 1.5) & (distance <= reach)
    if band.sum() < 64:
        return None
    lab = _weighted_lab(small)
    samples = lab[band]
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
    cv2.setRNGSeed(0)
    _, clusters, centres = cv2.kmeans(samples, CLUSTERS, None, criteria, 2, cv2.KMEANS_PP_CENTERS)
    clusters = clusters.ravel()
    ys, xs = np.nonzero(band)
    centre = ((box.top + box.bottom) / 2.0, (box.left + box.right) / 2.0)
    design = _features(ys.astype(np.float32), xs.astype(np.float32), centre, longer / 2.0)
    # Nearer the hole counts more: the edge is to be continued where it enters it.
    weight = np.exp(-distance[band] / (reach / 2.0)).astype(np.float32)
    root = np.sqrt(weight)[:, None]
    best: tuple[float, np.ndarray, int] | None = None
    # One cluster against the others (a surface may show two tones: wood's grain).
    for chosen in range(CLUSTERS):
        labels = clusters == chosen
        share = float(labels.mean())
        if min(share, 1.0 - share) < LEAST_SHARE:
            continue
        rest = samples[~labels].mean(axis=0)
        if float(np.linalg.norm(samples[labels].mean(axis=0) - rest)) < SEPARATION_DELTA_E:
            continue
        target = np.where(labels, 1.0, -1.0).astype(np.float32)
        coefficients, *_ = np.linalg.lstsq(design * root, target * root[:, 0], rcond=None)
        fitted = design @ coefficients
        right = ((fitted > 0) == labels).astype(np.float32)
        accuracy = float(right @ weight / weight.sum())
        if accuracy >= LEAST_ACCURACY and (best is None or accuracy > best[0]):
            best = (accuracy, coefficients, chosen)
    if best is None:
        return None
    _, coefficients, chosen = best
    # The whole crop's side of the edge, at full size.
    rows = (np.arange(height, dtype=np.float32) * scale)[:, None]
    cols = (np.arange(width, dtype=np.float32) * scale)[None, :]
    rows, cols = np.broadcast_arrays(rows, cols)
    side = _features(rows.ravel(), cols.ravel(), centre, longer / 2.0) @ coefficients
    predicted = (side.reshape(height, width) > 0).astype(np.uint8)
    layout = Layout(predicted, centres.astype(np.float32), chosen, predicted)
    # Known pixels by their colour, smoothed over a few pixels (grain, specks).
    smooth_lean = cv2.GaussianBlur(layout.lean(crop), (0, 0), 2.0)
    side = np.where(hole, predicted, smooth_lean > 0).astype(np.uint8)
    return Layout(side, layout.centres, chosen, predicted)


def fill_by_surface(
    fill: Filler, crop: np.ndarray, hole: np.ndarray, hidden: np.ndarray | None
) -> np.ndarray:
    """``crop`` with ``hole`` filled by ``fill``; where two surfaces meet around the hole
    (:func:`surface_layout`) and the fill put one surface's texture on the other's side
    of their edge, those pixels are filled again from their own surface only (the
    other surface's pixels are then neither sources nor shown), blended in over a
    pixel."""
    shown = hole if hidden is None else hole & ~hidden
    filled = fill(crop, hole, hidden)
    found = surface_layout(crop, hole) if shown.any() else None
    if found is None:
        return filled
    layout = found.side
    # The edge between the surfaces, as fitted, where it runs through the hole.
    kernel = np.ones((7, 7), np.uint8)
    edge = hole & (cv2.dilate(layout, kernel) != cv2.erode(layout, kernel))
    # Signed so that positive means "on surface 1".
    lean = found.lean(filled)
    result = filled.astype(np.float32)
    for surface in (0, 1):
        sign = 1.0 if surface == 1 else -1.0
        wrong = shown & (layout == surface) & (sign * lean < -CLEAR_LEAN)
        # Specks are the texture's own variation, not a broken edge; and away from the
        # edge, the fill drew from the scene right around it.
        wrong = (
            cv2.morphologyEx(wrong.view(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)) > 0
        )
        wrong = _touching(wrong, edge)
        # Next to known pixels the fitted edge puts on the wrong side, the edge strays
        # from the real one: the fill, drawing from those, was right.
        wrong = _where_fit_holds(wrong, found, ~hole)
        other = ~hole & (layout != surface)
        if not wrong.any() or (~hole & ~other).sum() < 64:
            continue
        part = shown & (layout == surface)
        # The other surface's known pixels join the hole, hidden: never copied from.
        masked_hole = hole | other
        own = fill(crop, masked_hole, masked_hole & ~part)
        # Only where the second fill did put the surface there.
        better = wrong & (sign * found.lean(own) > CLEAR_LEAN)
        weight = cv2.GaussianBlur(better.astype(np.float32), (0, 0), 1.0) * part
        result += (own.astype(np.float32) - result) * weight[:, :, None]
    return np.clip(np.rint(result), 0, 255).astype(np.uint8)


def _touching(parts: np.ndarray, where: np.ndarray) -> np.ndarray:
    """The connected regions (8-neighbours) of the bool ``parts`` that meet ``where``."""
    count, labels = cv2.connectedComponents(parts.view(np.uint8), connectivity=8)
    if count <= 1:
        return parts
    meeting = np.unique(labels[parts & where])
    return np.isin(labels, meeting[meeting > 0])


def _where_fit_holds(parts: np.ndarray, layout: Layout, known: np.ndarray) -> np.ndarray:
    """The connected regions of ``parts`` where the fitted edge puts at least
    LOCAL_ACCURACY of the known pixels within LOCAL_REACH pixels on their own side."""
    count, labels = cv2.connectedComponents(parts.view(np.uint8), connectivity=8)
    agree = known & (layout.predicted == layout.side)
    kept = np.zeros_like(parts)
    kernel = disk(LOCAL_REACH)
    for label in range(1, count):
        region = (labels == label).view(np.uint8)
        near = (cv2.dilate(region, kernel) > 0) & known
        total = int(near.sum())
        if total and int((near & agree).sum()) >= LOCAL_ACCURACY * total:
            kept |= region > 0
    return kept
