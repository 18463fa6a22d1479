"""The mask doctor: warnings about a mask that will likely give a bad result.

A mask is not refused for any of these (each can be what the user wants), but each
usually is a mistake that otherwise shows only in the result: an inverted or near-full
mask turns an object swap into a whole-scene edit; grey levels are cut hard at 127; a
mask that stops short of its object's edge leaves a ring of the old object behind; a
mask of another shape than the scene is stretched, so its region moves.
:func:`diagnose` returns the warnings; the HTTP API reports them as ``warnings`` (v2) and
in ``X-Mask-Warnings`` (v1), ``segswap swap`` and ``batch`` print them on stderr, and the
web page shows them before it submits.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from segswap.engine.prepare import mask_levels
from segswap.engine.region import Box, expand_box, grow_mask

#: A mask covering at least this share of the scene gets ``covers_most``.
MOST_SHARE = 0.9

#: ``mask_aspect``: the mask's width/height ratio differs from the scene's by more than
#: this share of the scene's (a mask is stretched to the scene, so its region moves).
ASPECT_TOLERANCE = 0.01

#: ``inverted``: at least this share of the border band covered...
INVERTED_BORDER_SHARE = 0.6
#: ...and at most this share of the centre (the middle third in each direction).
INVERTED_CENTRE_SHARE = 0.2

#: ``not_binary``: more than this share of the scene's pixels lie in ``GREY_LEVELS``.
GREY_SHARE = 0.01
GREY_LEVELS = (32, 223)

#: ``ring_left``: widths (pixels) of the ring just outside the (grown) mask that is
#: compared with the inside and with the scene beyond it.
RING_WIDTHS = (4, 8)
#: Minimum colour difference (CIELAB ΔE) between the inside and the outside, locally,
#: for a part of the edge to be judged at all.
RING_MIN_CONTRAST = 12.0
#: Warn when, along the judged part of the edge (at least RING_JUDGED_SHARE of it), at
#: least RING_OBJECT_SHARE of the ring looks like the inside.
RING_JUDGED_SHARE = 0.4
RING_OBJECT_SHARE = 0.65
#: Side (pixels) of the neighbourhood over which inside/outside colours are averaged.
RING_WINDOW = 21
#: The ring check works on the mask's box reduced to at most this many pixels a side.
RING_WORK_SIDE = 192


@dataclass(frozen=True)
class MaskWarning:
    """One warning: ``code`` (stable, for programs) and ``message`` (for people)."""

    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


def _aspect_warning(mask_size: tuple[int, int], scene_size: tuple[int, int]) -> MaskWarning | None:
    """``mask_aspect`` when a mask of ``mask_size`` (H, W) stretched to ``scene_size``
    changes its shape by more than :data:`ASPECT_TOLERANCE`, naming both sizes."""
    (mask_h, mask_w), (scene_h, scene_w) = mask_size, scene_size
    if min(mask_h, mask_w, scene_h, scene_w) <= 0:
        return None
    ratio = (mask_w / mask_h) / (scene_w / scene_h)
    if abs(ratio - 1.0) <= ASPECT_TOLERANCE:
        return None
    return MaskWarning(
        "mask_aspect",
        f"the mask is {mask_w}x{mask_h} but the scene is {scene_w}x{scene_h}: their "
        f"shapes differ by {abs(ratio - 1.0):.0%}, and the mask is stretched to the scene, "
        "so the edit may land off the region you meant (make the mask at the scene's size)",
    )


def _region(mask: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray | None]:
    """(H×W bool region at the scene's size, the mask's uint8 levels or None for bool)."""
    if mask.dtype == bool:
        levels = None
        region = mask
    else:
        levels = np.ascontiguousarray(mask_levels(mask))
        region = cv2.threshold(levels, 127, 1, cv2.THRESH_BINARY)[1].view(bool)
    if region.shape != size:
        height, width = size
        region = cv2.resize(
            region.view(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST
        ).astype(bool)
    return region, levels


def _covered(region: np.ndarray) -> int:
    return int(cv2.countNonZero(region.view(np.uint8)))


def _border_share(region: np.ndarray) -> float:
    """Share of the band within 2 % of the scene's shorter side (≥ 1 px) of its edge
    that ``region`` covers."""
    height, width = region.shape
    band = max(1, min(round(0.02 * min(height, width)), height // 2, width // 2))
    strips = [region[:band], region[height - band :]]
    if height > 2 * band:
        middle = region[band : height - band]
        strips += [middle[:, :band], middle[:, width - band :]]
    return sum(_covered(np.ascontiguousarray(s)) for s in strips) / sum(s.size for s in strips)


def _centre_share(region: np.ndarray) -> float:
    """Share of the middle third (in each direction) that ``region`` covers."""
    height, width = region.shape
    centre = region[height // 3 : height - height // 3, width // 3 : width - width // 3]
    return _covered(np.ascontiguousarray(centre)) / max(1, centre.size)


def _ring_shares(
    scene: np.ndarray, region: np.ndarray, growmask: int
) -> list[tuple[int, float, float]]:
    """For each of :data:`RING_WIDTHS`: (width px, share of the edge judged, share of the
    judged ring that looks like the inside), the ring being that many pixels just outside
    ``region`` grown by ``growmask``, judged against the band just inside (1–3 px) and
    the band beyond the ring (``width``+2 to ``width``+6 px out).

    Works on the mask's box (reduced to :data:`RING_WORK_SIDE` when larger, distances
    scaled with it), so the cost follows the mask, not the scene.
    """
    reach = growmask + max(RING_WIDTHS) + 8 + RING_WINDOW
    left, top, box_width, box_height = cv2.boundingRect(region.view(np.uint8))
    box = expand_box(Box(top, left, top + box_height, left + box_width), reach, *region.shape)
    inside = grow_mask(np.ascontiguousarray(region[box.slices]), growmask)
    rgb = np.ascontiguousarray(scene[box.slices])
    scale = min(1.0, RING_WORK_SIDE / max(box.height, box.width))
    if scale < 1.0:
        rgb = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        size = (rgb.shape[1], rgb.shape[0])
        inside = cv2.resize(inside.view(np.uint8) * 255, size, interpolation=cv2.INTER_AREA) > 127
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    lab[:, :, 0] *= 100.0 / 255.0
    lab[:, :, 1:] -= 128.0
    outside_distance = cv2.distanceTransform((~inside).view(np.uint8), cv2.DIST_L2, 3) / scale
    inside_distance = cv2.distanceTransform(inside.view(np.uint8), cv2.DIST_L2, 3) / scale
    window = max(5, round(RING_WINDOW * scale))
    # Local means vary slowly: they are taken on a grid `cell` times coarser and read
    # back at each ring pixel's cell.
    cell = max(1, window // 5)
    grid = (max(1, lab.shape[1] // cell), max(1, lab.shape[0] // cell))
    side = max(3, round(window / cell) | 1)

    def local_mean(where: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        weight: np.ndarray = where.astype(np.float32)
        total: np.ndarray = lab * weight[:, :, None]
        if cell > 1:
            weight = cv2.resize(weight, grid, interpolation=cv2.INTER_AREA)
            total = cv2.resize(total, grid, interpolation=cv2.INTER_AREA)
        weight = cv2.boxFilter(weight, -1, (side, side))
        total = cv2.boxFilter(total, -1, (side, side))
        return total / np.maximum(weight, 1e-6)[:, :, None], weight

    # Bands at least a pixel wide at the working scale.
    step = 1.0 / scale
    inner = inside & (inside_distance <= max(3.0, step))
    if not inner.any():
        return []
    mean_in, weight_in = local_mean(inner)
    shares = []
    for width in RING_WIDTHS:
        ring = (~inside) & (outside_distance <= max(width, step))
        near, far = width + max(2.0, step), width + max(6.0, 2 * step)
        outer = (~inside) & (outside_distance >= near) & (outside_distance <= far)
        if not ring.any() or not outer.any():
            shares.append((width, 0.0, 0.0))
            continue
        mean_out, weight_out = local_mean(outer)
        ys, xs = np.nonzero(ring)
        cy = np.minimum(ys // cell, grid[1] - 1)
        cx = np.minimum(xs // cell, grid[0] - 1)
        colours = lab[ys, xs]
        m_in, m_out = mean_in[cy, cx], mean_out[cy, cx]
        present = (weight_in[cy, cx] > 0.01) & (weight_out[cy, cx] > 0.01)
        contrast = np.linalg.norm(m_in - m_out, axis=1)
        judged = present & (contrast >= RING_MIN_CONTRAST)
        if not judged.any():
            shares.append((width, 0.0, 0.0))
            continue
        d_in = np.linalg.norm(colours - m_in, axis=1)[judged]
        d_out = np.linalg.norm(colours - m_out, axis=1)[judged]
        shares.append((width, float(judged.mean()), float((d_in < d_out).mean())))
    return shares


def diagnose(
    mask: np.ndarray, scene: np.ndarray | None = None, growmask: int = 0
) -> list[MaskWarning]:
    """Warnings about ``mask`` (empty list: nothing suspicious).

    Args:
        mask: the mask as decoded (H×W, H×W×3 or H×W×4 uint8; > 127 = edit, as the
            engine reads it) or an H×W bool region.
        scene: H×W×3 uint8 RGB; needed for ``ring_left`` and ``mask_aspect`` (skipped
            without it). A mask of another size is resized to it (nearest neighbour), as
            the engine does.
        growmask: pixels the engine grows the mask by (0–20) before editing: a ring that
            growing covers is no problem.

    Codes: ``mask_aspect`` (the mask's width/height ratio is more than 1 % off the
    scene's), ``not_binary``, ``covers_most``, ``inverted``, ``ring_left``.
    """
    size = scene.shape[:2] if scene is not None else mask.shape[:2]
    warnings: list[MaskWarning] = []
    aspect = _aspect_warning(mask.shape[:2], size)
    if aspect is not None:
        warnings.append(aspect)
    region, levels = _region(mask, size)
    if levels is not None:
        low, high = GREY_LEVELS
        grey = cv2.countNonZero(cv2.inRange(levels, low, high)) / levels.size
        if grey > GREY_SHARE:
            warnings.append(
                MaskWarning(
                    "not_binary",
                    f"the mask is not black and white: {grey:.0%} of its pixels are grey "
                    f"({low}–{high}); only pixels above 127 are edited, so soft edges "
                    "are cut hard",
                )
            )
    covered = _covered(region)
    if not covered:
        return warnings
    share = covered / region.size
    if share >= MOST_SHARE:
        warnings.append(
            MaskWarning(
                "covers_most",
                f"the mask covers {share:.0%} of the scene: the edit replaces nearly "
                "everything (is it inverted? white = the region to edit)",
            )
        )
    border, centre = _border_share(region), _centre_share(region)
    if border >= INVERTED_BORDER_SHARE and centre <= INVERTED_CENTRE_SHARE:
        warnings.append(
            MaskWarning(
                "inverted",
                f"the mask looks inverted: it covers {border:.0%} of the scene's border "
                f"but {centre:.0%} of its centre (white = the region to edit)",
            )
        )
    if scene is not None and not any(w.code in ("covers_most", "inverted") for w in warnings):
        # (Around an inverted or near-full mask the "object" is the scene: no ring to find.)
        for width, judged, like_inside in _ring_shares(scene, region, max(0, int(growmask))):
            if judged >= RING_JUDGED_SHARE and like_inside >= RING_OBJECT_SHARE:
                warnings.append(
                    MaskWarning(
                        "ring_left",
                        f"the mask seems to stop short of its object: along {judged:.0%} "
                        f"of its edge, {like_inside:.0%} of the {width} px just outside "
                        "look like the inside, not the background; that ring would be "
                        "left in the result (grow the mask or select the object again)",
                    )
                )
                break
    return warnings
