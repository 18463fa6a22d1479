"""Object swap: fit the object into the masked area and blend it over the filled scene."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from segswap.engine.harmonize import harmonize, to_lab
from segswap.engine.matte import object_matte
from segswap.engine.region import Box, EditRegion, bounding_box

INSET_SHARE = 0.03
"""Gap kept between the object and the mask's box, as a share of the box's shorter side."""

MAX_OUTSIDE_SHARE = 0.03
"""Share of the object's alpha an irregular mask may cut off before the object shrinks."""

SHADOW_OPACITY = 0.35
"""How much the soft contact shadow under the object darkens the fill (0–1)."""


def cut_out(rgba: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(RGB, alpha) of the object cropped to where its alpha is above 2 %.

    Raises:
        ValueError: the object has no opaque pixel.
    """
    alpha = object_matte(rgba)
    solid = alpha > 0.02
    if not solid.any():
        raise ValueError("the object image has no visible pixel")
    box = bounding_box(solid)
    return np.ascontiguousarray(rgba[box.slices][:, :, :3]), alpha[box.slices]


def fit_box(target: Box, height: int, width: int) -> Box:
    """Where an object of H×W pixels goes in ``target``: as large as fits, aspect kept,
    centred horizontally and standing on the target's bottom edge."""
    inset = max(1, round(INSET_SHARE * min(target.height, target.width)))
    room_h = max(1, target.height - 2 * inset)
    room_w = max(1, target.width - 2 * inset)
    scale = min(room_h / height, room_w / width)
    new_h = max(1, round(height * scale))
    new_w = max(1, round(width * scale))
    bottom = target.bottom - inset
    left = target.left + (target.width - new_w) // 2
    return Box(bottom - new_h, left, bottom, left + new_w)


def _outside_share(alpha: np.ndarray, mask: np.ndarray, place: Box) -> float:
    """Share of the object's alpha (placed at ``place``) that falls outside ``mask``."""
    rows, cols = mask.shape
    if place.top < 0 or place.left < 0 or place.bottom > rows or place.right > cols:
        return 1.0
    scaled = cv2.resize(alpha, (place.width, place.height), interpolation=cv2.INTER_AREA)
    total = float(scaled.sum())
    return float(scaled[~mask[place.slices]].sum()) / total if total > 0 else 1.0


def fit_in_mask(mask: np.ndarray, alpha: np.ndarray) -> Box:
    """Where the object (its h×w alpha) goes in a bool ``mask``.

    The largest placement from :func:`fit_box` when the mask is a rectangle; for an
    irregular mask, the largest of the scales 1, 0.9, ... 0.3 at which at most
    MAX_OUTSIDE_SHARE of the object falls outside the mask, standing on the box's bottom
    edge, centred on the box or on the mask's centroid column.
    """
    largest = fit_box(bounding_box(mask), *alpha.shape)
    if _outside_share(alpha, mask, largest) <= MAX_OUTSIDE_SHARE:
        return largest
    centroid = int(round(float(np.nonzero(mask)[1].mean())))
    for scale in np.linspace(0.9, 0.3, 7):
        height = max(1, round(largest.height * scale))
        width = max(1, round(largest.width * scale))
        for centre in (largest.left + largest.width // 2, centroid):
            for bottom in (largest.bottom, largest.bottom - largest.height // 2 + height // 2):
                place = Box(
                    bottom - height, centre - width // 2, bottom, centre - width // 2 + width
                )
                if _outside_share(alpha, mask, place) <= MAX_OUTSIDE_SHARE:
                    return place
    return largest


def ring_stats(rgb: np.ndarray, distance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lab mean and spread of the scene (H×W×3 uint8) in a ring just outside the grown
    mask (``distance``: each pixel's distance to it), from every other row and column."""
    size = max(8, int(0.1 * max(distance.shape)))
    ring = (distance > 0) & (distance <= size)
    if not ring.any():
        ring = np.ones_like(ring)
    pixels = to_lab(rgb[::2, ::2][ring[::2, ::2]][None]).reshape(-1, 3).astype(np.float64)
    return pixels.mean(axis=0), pixels.std(axis=0)


def contact_shadow(place: Box, alpha: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A soft shadow (H×W float32, 0–1) under the object's base, as lit from above."""
    shadow = np.zeros(shape, np.float32)
    footprint = alpha.max(axis=0)  # the object's width profile, seen from above
    height = max(2, place.height // 12)
    base = np.tile(footprint[None, :], (height, 1))
    top = place.bottom - height // 2
    rows = slice(max(0, top), min(shape[0], top + height))
    shadow[rows, place.left : place.right] = base[: rows.stop - rows.start]
    sigma = max(1.5, place.height / 40)
    return cv2.GaussianBlur(shadow, (0, 0), sigma)


@dataclass(frozen=True)
class ObjectLayer:
    """The object scaled and placed in crop coordinates.

    Attributes:
        rgb: H×W×3 float32, the (harmonised) object where ``cover`` > 0.
        cover: H×W float32 in [0, 1], the object's alpha, limited to the grown mask.
        shadow: H×W float32 in [0, 1], the contact shadow's strength.
        place: where the object's box was put (crop coordinates).
    """

    rgb: np.ndarray
    cover: np.ndarray
    shadow: np.ndarray
    place: Box

    def hides(self) -> np.ndarray:
        """Pixels the object covers completely (nothing under them shows)."""
        return self.cover >= 0.999


def layout_object(
    original: np.ndarray, region: EditRegion, rgba: np.ndarray, subject_strength: float
) -> ObjectLayer:
    """Fit the object (h×w×4 uint8) into the user's mask and harmonise it.

    Args:
        original: the crop (H×W×3 uint8) before the edit; its surroundings set the colours.
        region: the edit region, crop coordinates.
        rgba: the object image.
        subject_strength: 0–1, see :func:`segswap.engine.harmonize.harmonize`.
    """
    rgb, alpha = cut_out(rgba)
    place = fit_in_mask(region.mask, alpha)
    size = (place.width, place.height)
    shrinking = place.width < alpha.shape[1]
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    rgb = cv2.resize(rgb, size, interpolation=interpolation)
    alpha = np.clip(cv2.resize(alpha, size, interpolation=interpolation), 0.0, 1.0)

    mean, std = ring_stats(original, region.distance)
    rgb = harmonize(rgb, alpha, mean, std, subject_strength)

    inside = region.grown.astype(np.float32)
    layer = np.zeros(original.shape, np.float32)
    cover = np.zeros(region.grown.shape, np.float32)
    layer[place.slices] = rgb
    cover[place.slices] = alpha
    shadow = np.clip(contact_shadow(place, alpha, region.grown.shape), 0.0, 1.0) * inside
    return ObjectLayer(rgb=layer, cover=cover * inside, shadow=shadow, place=place)


def compose_object(filled: np.ndarray, layer: ObjectLayer) -> np.ndarray:
    """``filled`` (H×W×3 uint8) with the contact shadow and the object laid over it.

    Only the box where the object or its shadow lies is recomputed.
    """
    touched = (layer.cover > 0) | (layer.shadow > 0)
    result = filled.copy()
    if not touched.any():
        return result
    box = bounding_box(touched)
    canvas = filled[box.slices].astype(np.float32)
    canvas *= 1.0 - SHADOW_OPACITY * layer.shadow[box.slices][:, :, None]
    cover = layer.cover[box.slices][:, :, None]
    canvas = canvas * (1.0 - cover) + layer.rgb[box.slices] * cover
    result[box.slices] = np.clip(np.rint(canvas), 0, 255).astype(np.uint8)
    return result
