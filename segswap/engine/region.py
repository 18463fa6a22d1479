"""The edit region: growing the mask, cropping around it, feathering and pasting back.

All work happens on a crop around the mask (its bounding box plus a margin), so the cost
of an edit follows the masked area, not the scene's size.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

FEATHER_PX = 4
"""Width in pixels of the band outside the grown mask where the edit fades into the scene.

Pixels farther than this from the grown mask are never changed.
"""


def disk(radius: int) -> np.ndarray:
    """A (2r+1)×(2r+1) uint8 disk structuring element of ``radius`` pixels."""
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))


def grow_mask(mask: np.ndarray, pixels: int) -> np.ndarray:
    """``mask`` (H×W bool) dilated by a disk of ``pixels`` radius (0 returns a copy)."""
    if pixels <= 0:
        return mask.copy()
    return cv2.dilate(mask.view(np.uint8), disk(pixels)).astype(bool)


@dataclass(frozen=True)
class Box:
    """A rectangle ``[top, bottom) × [left, right)`` in pixel coordinates."""

    top: int
    left: int
    bottom: int
    right: int

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def slices(self) -> tuple[slice, slice]:
        return slice(self.top, self.bottom), slice(self.left, self.right)

    def shifted(self, dy: int, dx: int) -> Box:
        return Box(self.top + dy, self.left + dx, self.bottom + dy, self.right + dx)


def bounding_box(mask: np.ndarray) -> Box:
    """The smallest box holding every True pixel of a non-empty H×W bool ``mask``."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return Box(int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1)


def work_copy(rgb: np.ndarray, mask: np.ndarray, side: int) -> tuple[np.ndarray, np.ndarray, float]:
    """``rgb`` (H×W×3 uint8) and ``mask`` (H×W bool) scaled so the longer side is at most
    ``side`` px (never enlarged): colours by area averaging, the mask by nearest pixel.

    Returns the small copy, its mask and the scale (small / full, in (0, 1]).
    """
    height, width = mask.shape
    scale = min(1.0, side / max(height, width))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    small_mask = cv2.resize(mask.view(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
    return small, small_mask, scale


def expand_box(box: Box, margin: int, height: int, width: int) -> Box:
    """``box`` grown by ``margin`` pixels on each side, clipped to an image of H×W."""
    return Box(
        max(0, box.top - margin),
        max(0, box.left - margin),
        min(height, box.bottom + margin),
        min(width, box.right + margin),
    )


def context_margin(box: Box, share: float = 0.5, least: int = 16) -> int:
    """Pixels of scene kept around the mask's box as context for the fill (``least``,
    16 by default, to 256 or ``least`` if larger).

    ``share`` of the box's longer side: enough surrounding texture to fill from, and the
    same for a given mask whatever the scene's size.
    """
    return int(np.clip(round(max(box.height, box.width) * share), least, max(256, least)))


@dataclass(frozen=True)
class EditRegion:
    """Where an edit happens, in scene coordinates and in crop coordinates.

    Attributes:
        crop: the part of the scene the engine works on.
        mask: the user's mask inside ``crop`` (bool), before growing.
        grown: ``mask`` grown by ``growmask`` pixels (bool): what gets replaced.
        distance: float32, each pixel's distance (pixels) to ``grown``; 0 on it.
        blend: float32 in [0, 1]: 1 on ``grown``, falling to 0 over :data:`FEATHER_PX`
            pixels outside it; 0 elsewhere.
    """

    crop: Box
    mask: np.ndarray
    grown: np.ndarray
    distance: np.ndarray
    blend: np.ndarray

    @property
    def reach(self) -> np.ndarray:
        """Every pixel the edit may change: ``grown`` and the feather band around it."""
        return self.distance <= FEATHER_PX


def edit_region(
    mask: np.ndarray, growmask: int, context: float = 0.5, least: int = 16
) -> EditRegion:
    """Plan the edit for a scene-sized bool ``mask`` grown by ``growmask`` pixels, with
    ``context`` × the mask's longer side of scene around it, at least ``least`` pixels
    (see :func:`context_margin`)."""
    height, width = mask.shape
    box = bounding_box(mask)
    margin = context_margin(box, context, least) + growmask + FEATHER_PX
    return region_in(expand_box(box, margin, height, width), mask, growmask)


def region_in(crop: Box, mask: np.ndarray, growmask: int) -> EditRegion:
    """The edit region for a scene-sized bool ``mask`` grown by ``growmask`` pixels, worked
    on inside ``crop`` (which must hold the grown mask and its feather band)."""
    local = mask[crop.slices]
    grown = grow_mask(local, growmask)
    distance = distance_outside(grown)
    return EditRegion(
        crop=crop, mask=local, grown=grown, distance=distance, blend=feather(distance)
    )


def reframe(region: EditRegion, crop: Box) -> EditRegion:
    """``region`` on another ``crop`` of the same scene: its user's mask and grown mask
    moved over, not grown again (the distances and blend are worked out on the new crop,
    and equal the old ones where both crops hold them).

    Raises:
        ValueError: ``crop`` does not hold the grown mask and its feather band.
    """
    reach = bounding_box(region.reach).shifted(region.crop.top, region.crop.left)
    inside = (
        crop.top <= reach.top
        and crop.left <= reach.left
        and reach.bottom <= crop.bottom
        and reach.right <= crop.right
    )
    if not inside:
        raise ValueError(f"{crop} does not hold the edit's reach {reach}")
    mask, grown = (np.zeros((crop.height, crop.width), bool) for _ in range(2))
    # The old crop's part inside the new one (every True pixel lies in it).
    top, left = max(crop.top, region.crop.top), max(crop.left, region.crop.left)
    bottom, right = min(crop.bottom, region.crop.bottom), min(crop.right, region.crop.right)
    new = Box(top, left, bottom, right).shifted(-crop.top, -crop.left)
    old = Box(top, left, bottom, right).shifted(-region.crop.top, -region.crop.left)
    mask[new.slices] = region.mask[old.slices]
    grown[new.slices] = region.grown[old.slices]
    distance = distance_outside(grown)
    return EditRegion(crop=crop, mask=mask, grown=grown, distance=distance, blend=feather(distance))


def distance_outside(mask: np.ndarray) -> np.ndarray:
    """Euclidean distance (pixels, float32) of each pixel to ``mask``; 0 on the mask."""
    return cv2.distanceTransform((~mask).view(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)


def feather_reach(grown: np.ndarray) -> np.ndarray:
    """``grown`` plus every pixel at most FEATHER_PX pixels away: all an edit may change."""
    return distance_outside(grown) <= FEATHER_PX


def feather(distance: np.ndarray) -> np.ndarray:
    """Blend weights from the distance to the grown mask: 1 on it, then falling linearly
    (4/5, 3/5, ...) with the distance, and 0 beyond FEATHER_PX pixels."""
    weight = np.clip(1.0 - distance / (FEATHER_PX + 1), 0.0, 1.0)
    weight[distance > FEATHER_PX] = 0.0
    return weight.astype(np.float32)


def paste_back(scene: np.ndarray, edited_crop: np.ndarray, region: EditRegion) -> np.ndarray:
    """A copy of ``scene`` with ``edited_crop`` blended in by ``region.blend``.

    Pixels where the blend weight is 0 are copied from ``scene`` byte for byte.
    """
    result = scene.copy()
    touched = region.blend > 0.0
    if not touched.any():
        return result
    # Only the box of the grown mask and its feather band is blended, not the context
    # kept around it for the fill.
    box = bounding_box(touched)
    crop = region.crop
    inner = Box(
        crop.top + box.top, crop.left + box.left, crop.top + box.bottom, crop.left + box.right
    )
    target = result[inner.slices]
    blend = region.blend[box.slices]
    edited = edited_crop[box.slices]
    full = blend >= 1.0
    np.copyto(target, edited, where=full[:, :, None])
    band = (blend > 0.0) & ~full
    weight = blend[band][:, None]
    mixed = target[band] * (1.0 - weight) + edited[band] * weight
    target[band] = np.clip(np.rint(mixed), 0, 255).astype(np.uint8)
    return result
