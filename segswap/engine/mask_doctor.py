"""The mask doctor: warnings about a mask that will likely give a bad result.

A mask is not refused for any of these (each can be what the user wants), but each
usually is a mistake that otherwise shows only in the result: an inverted or near-full
mask turns an object swap into a whole-scene edit; grey levels are cut hard at 127; a
mask that stops short of its object's edge leaves a ring of the old object behind.
:func:`diagnose` returns the warnings; the HTTP API reports them as ``warnings`` and the
web page shows them before it submits.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from segswap.engine.prepare import mask_levels
from segswap.engine.region import bounding_box, expand_box, grow_mask

#: A mask covering at least this share of the scene gets ``covers_most``.
MOST_SHARE = 0.9

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


@dataclass(frozen=True)
class MaskWarning:
    """One warning: ``code`` (stable, for programs) and ``message`` (for people)."""

    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


def _region(mask: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray | None]:
    """(H×W bool region at the scene's size, the mask's uint8 levels or None for bool)."""
    if mask.dtype == bool:
        levels = None
        region = mask
    else:
        levels = mask_levels(mask)
        region = levels > 127
    if region.shape != size:
        height, width = size
        region = cv2.resize(
            region.view(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST
        ).astype(bool)
    return region, levels


def _border_band(region: np.ndarray) -> np.ndarray:
    """Pixels of ``region`` within 2 % of the scene's shorter side (≥ 1 px) of its edge."""
    height, width = region.shape
    band = max(1, round(0.02 * min(height, width)))
    edge = np.ones_like(region)
    edge[band:-band, band:-band] = False
    return region[edge]


def _centre(region: np.ndarray) -> np.ndarray:
    height, width = region.shape
    return region[height // 3 : height - height // 3, width // 3 : width - width // 3]


def _ring_share(scene: np.ndarray, region: np.ndarray, width: int) -> tuple[float, float]:
    """(share of the edge judged, share of the judged ring that looks like the inside)
    for a ring of ``width`` px just outside ``region``, judged against the inside band
    (1–3 px in) and the band beyond the ring (``width``+2 to ``width``+6 px out)."""
    box = expand_box(bounding_box(region), width + 8 + RING_WINDOW, *region.shape)
    inside = region[box.slices]
    lab = cv2.cvtColor(np.ascontiguousarray(scene[box.slices]), cv2.COLOR_RGB2LAB).astype(
        np.float32
    )
    lab[:, :, 0] *= 100.0 / 255.0
    lab[:, :, 1:] -= 128.0
    outside_distance = cv2.distanceTransform((~inside).view(np.uint8), cv2.DIST_L2, 3)
    inside_distance = cv2.distanceTransform(inside.view(np.uint8), cv2.DIST_L2, 3)
    inner = inside & (inside_distance <= 3)
    ring = (~inside) & (outside_distance <= width)
    outer = (~inside) & (outside_distance >= width + 2) & (outside_distance <= width + 6)
    if not ring.any() or not inner.any() or not outer.any():
        return 0.0, 0.0

    def local_mean(where: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        weight = cv2.boxFilter(where.astype(np.float32), -1, (RING_WINDOW, RING_WINDOW))
        total = cv2.boxFilter(lab * where[:, :, None], -1, (RING_WINDOW, RING_WINDOW))
        return total / np.maximum(weight, 1e-6)[:, :, None], weight

    mean_in, weight_in = local_mean(inner)
    mean_out, weight_out = local_mean(outer)
    colours = lab[ring]
    m_in, m_out = mean_in[ring], mean_out[ring]
    present = (weight_in[ring] > 0.01) & (weight_out[ring] > 0.01)
    contrast = np.linalg.norm(m_in - m_out, axis=1)
    judged = present & (contrast >= RING_MIN_CONTRAST)
    if not judged.any():
        return 0.0, 0.0
    d_in = np.linalg.norm(colours - m_in, axis=1)[judged]
    d_out = np.linalg.norm(colours - m_out, axis=1)[judged]
    return float(judged.mean()), float((d_in < d_out).mean())


def diagnose(
    mask: np.ndarray, scene: np.ndarray | None = None, growmask: int = 0
) -> list[MaskWarning]:
    """Warnings about ``mask`` (empty list: nothing suspicious).

    Args:
        mask: the mask as decoded (H×W, H×W×3 or H×W×4 uint8; > 127 = edit, as the
            engine reads it) or an H×W bool region.
        scene: H×W×3 uint8 RGB; needed for ``ring_left`` (skipped without it). A mask of
            another size is resized to it (nearest neighbour), as the engine does.
        growmask: pixels the engine grows the mask by (0–20) before editing: a ring that
            growing covers is no problem.

    Codes: ``not_binary``, ``covers_most``, ``inverted``, ``ring_left``.
    """
    size = scene.shape[:2] if scene is not None else mask.shape[:2]
    region, levels = _region(mask, size)
    warnings: list[MaskWarning] = []
    if levels is not None:
        low, high = GREY_LEVELS
        grey = float(((levels >= low) & (levels <= high)).mean())
        if grey > GREY_SHARE:
            warnings.append(
                MaskWarning(
                    "not_binary",
                    f"the mask is not black and white: {grey:.0%} of its pixels are grey "
                    f"({low}–{high}); only pixels above 127 are edited, so soft edges "
                    "are cut hard",
                )
            )
    if not region.any():
        return warnings
    share = float(region.mean())
    if share >= MOST_SHARE:
        warnings.append(
            MaskWarning(
                "covers_most",
                f"the mask covers {share:.0%} of the scene: the edit replaces nearly "
                "everything (is it inverted? white = the region to edit)",
            )
        )
    border, centre = float(_border_band(region).mean()), float(_centre(region).mean())
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
        grown = grow_mask(region, max(0, int(growmask)))
        for width in RING_WIDTHS:
            judged, like_inside = _ring_share(scene, grown, width)
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
