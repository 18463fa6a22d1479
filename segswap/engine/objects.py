"""Object swap: fit the object into the masked area and blend it over the filled scene."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from segswap.engine.harmonize import SceneLight, harmonize, scene_light, to_lab
from segswap.engine.matte import (
    has_transparency,
    object_extent,
    object_layers,
    shrink_interpolation,
)
from segswap.engine.region import FEATHER_PX, Box, EditRegion, bounding_box

INSET_SHARE = 0.03
"""Gap kept between the object and the mask's box, as a share of the box's shorter side."""

MAX_OUTSIDE_SHARE = 0.03
"""Share of the object's alpha an irregular mask may cut off before the object shrinks."""

SHADOW_OPACITY = 0.35
"""How much the soft contact shadow under the object darkens the fill (0–1)."""

STANDING_GAP_SHARE = 0.1
"""The object stands on the mask's bottom edge when its base is at most this share of
its height above it (median over its footprint's columns)."""

SURFACE_DELTA_E = 10.0
"""Lab distance between the scene just below the mask and just above it from which what
is below counts as a surface the object stands on (a table under a wall)."""

SURFACE_TEXTURE = 4.0
"""Mean gray-level gradient (0–255 per pixel) of the scene just below the mask from
which it counts as a surface (wood, cloth, a floor) even when it looks like what is
above; clear sky and plain walls stay below it."""


KEY_SCALE_MARGIN = 1.05
"""A keyed object is keyed at this many times the scale it is estimated to be placed at
(the estimate is a few per cent off), so it is then shrunk a little, never enlarged."""


def keying_scale(rgba: np.ndarray, target: Box) -> float:
    """The scale (0–1] to key an opaque object image (h×w×4 uint8) at, for a mask whose
    box is ``target``: about the one :func:`fit_box` will place it at, from the extent
    of what stands out from its background (1 for an image with transparency)."""
    if has_transparency(rgba):
        return 1.0
    height, width = object_extent(rgba[:, :, :3])
    place = fit_box(target, height, width)
    return min(1.0, KEY_SCALE_MARGIN * max(place.height / height, place.width / width))


def cut_out(rgba: np.ndarray, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """(RGB, alpha) of the object cropped to where its alpha is above 2 %; a keyed one at
    ``scale`` of its size (see :func:`segswap.engine.matte.key_object`).

    Raises:
        ValueError: the object has no opaque pixel.
    """
    rgb, alpha = object_layers(rgba, scale)
    solid = alpha > 0.02
    if not solid.any():
        raise ValueError("the object image has no visible pixel")
    box = bounding_box(solid)
    return np.ascontiguousarray(rgb[box.slices]), np.ascontiguousarray(alpha[box.slices])


def resize_object(
    rgb: np.ndarray, alpha: np.ndarray, width: int, height: int
) -> tuple[np.ndarray, np.ndarray]:
    """The object (h×w×3 uint8, h×w float alpha) scaled to ``width`` × ``height``.

    Colour is scaled premultiplied by alpha, so the colour of transparent pixels (often
    white or black in an RGBA file) never bleeds into the edge; area averaging when
    shrinking (bilinear when shrinking by at most a fifth, see
    :func:`segswap.engine.matte.shrink_interpolation`), bilinear when enlarging (the
    alpha ramp widens with the scale, no overshoot).
    """
    ratio = width / alpha.shape[1]
    interpolation = shrink_interpolation(ratio) if ratio < 1.0 else cv2.INTER_LINEAR
    weight = np.ascontiguousarray(alpha, np.float32)
    premultiplied = cv2.multiply(rgb, cv2.merge([weight] * 3), dtype=cv2.CV_32F)
    size = (width, height)
    scaled_alpha = np.clip(cv2.resize(weight, size, interpolation=interpolation), 0.0, 1.0)
    scaled = cv2.resize(premultiplied, size, interpolation=interpolation)
    # Un-premultiplied; where alpha is near 0 the colour is imprecise, but it is weighed
    # by that alpha when composited.
    safe = np.maximum(scaled_alpha, np.float32(1e-3))[:, :, None]
    # Rounded and saturated at 255 (colour and weight are never negative).
    colour = cv2.convertScaleAbs(np.divide(scaled.reshape(height, width, 3), safe))
    return colour.reshape(height, width, 3), scaled_alpha


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


def ring_light(rgb: np.ndarray, distance: np.ndarray) -> SceneLight:
    """The light of the scene (H×W×3 uint8) in a ring just outside the grown mask
    (``distance``: each pixel's distance to it, pixels), beyond the feather band."""
    size = max(8, int(0.1 * max(distance.shape)))
    ring = (distance > FEATHER_PX) & (distance <= FEATHER_PX + size)
    if not ring.any():
        ring = distance > 0
    return scene_light(rgb, ring)


def ring_stats(rgb: np.ndarray, distance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lab mean and spread of the scene in the ring :func:`ring_light` measures."""
    light = ring_light(rgb, distance)
    return light.mean, light.std


def footprint(alpha: np.ndarray) -> np.ndarray:
    """The object's base, seen from above (w float32 in [0, 1]): per column, the alpha of
    its lowest tenth (what touches the ground), not of the whole object."""
    rows = np.flatnonzero(alpha.max(axis=1) > 0.5)
    if rows.size == 0:
        return np.zeros(alpha.shape[1], np.float32)
    bottom = int(rows[-1]) + 1
    top = max(0, bottom - max(2, alpha.shape[0] // 10))
    return alpha[top:bottom].max(axis=0).astype(np.float32)


def stands_on_surface(
    original: np.ndarray, region: EditRegion, place: Box, alpha: np.ndarray
) -> bool:
    """Whether the placed object stands on something (so it casts a contact shadow).

    Its base must sit on the grown mask's bottom edge (within STANDING_GAP_SHARE of its
    height), and what lies just below the mask there must be a surface: unlike the scene
    just above the mask (SURFACE_DELTA_E), or alike in colour but textured
    (SURFACE_TEXTURE) where above is smoother (SAME_TEXTURE_RATIO: a wooden floor under
    a wall). The same material all round the mask, clear sky or a sleeve's fabric, means
    the object floats or lies flat on it (a patch): no shadow. When the mask reaches the
    crop's bottom (or top) there is nothing to judge by, and it stands.
    """
    feet = footprint(alpha) > 0.5
    if not feet.any():
        return False
    columns = place.left + np.flatnonzero(feet)
    grown = region.grown
    rows_in_mask = grown[:, columns]
    if not rows_in_mask.any(axis=0).all():
        return False
    lowest = grown.shape[0] - 1 - np.argmax(rows_in_mask[::-1], axis=0)
    base = place.top + int(np.flatnonzero(alpha.max(axis=1) > 0.5)[-1])
    if float(np.median(lowest)) - base > STANDING_GAP_SHARE * place.height + 1:
        return False
    strip = max(4, place.height // 12)
    below_top = int(np.median(lowest)) + FEATHER_PX + 2
    if below_top + 2 > original.shape[0]:
        return True
    left, right = int(columns.min()), int(columns.max()) + 1
    below = original[below_top : below_top + strip, left:right]
    top = int(np.flatnonzero(grown.any(axis=1))[0]) - FEATHER_PX - 2
    above = original[max(0, top - strip) : max(0, top), left:right]
    if above.size == 0:
        return True
    below_lab = to_lab(below).reshape(-1, 3).mean(axis=0)
    above_lab = to_lab(above).reshape(-1, 3).mean(axis=0)
    if float(np.linalg.norm(below_lab - above_lab)) >= SURFACE_DELTA_E:
        return True
    # Alike in colour above and below. A textured floor under a plain wall is a surface;
    # the same material all round (a patch on a sleeve, clear sky) is not: the object is
    # laid on it flat, or floats. "All round" is above and beside the mask.
    box = bounding_box(grown)
    gap = FEATHER_PX + 2
    rows = slice(box.top, box.bottom)
    around = [
        above,
        original[rows, max(0, box.left - gap - strip) : max(0, box.left - gap)],
        original[rows, box.right + gap : box.right + gap + strip],
    ]
    texture_around = float(np.mean([surface_texture(s) for s in around if s.shape[1] > 1]))
    texture = surface_texture(below)
    return texture >= SURFACE_TEXTURE and texture > SAME_TEXTURE_RATIO * texture_around


SAME_TEXTURE_RATIO = 1.5
"""Below the mask, a texture at most this many times as strong as above and beside it is
the same material as there (see :func:`stands_on_surface`)."""


def surface_texture(rgb: np.ndarray) -> float:
    """Mean horizontal gray-level gradient (0–255 per pixel) of an h×w×3 uint8 strip."""
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return float(np.abs(np.diff(gray, axis=1)).mean()) if gray.shape[1] > 1 else 0.0


def fade_inside(mask: np.ndarray, where: np.ndarray, width: float) -> np.ndarray:
    """Weights (H×W float32): 0 outside the bool ``mask``, rising smoothly to 1 over
    ``width`` pixels inside it; computed on the box around ``where`` only (0 elsewhere)."""
    weight = np.zeros(mask.shape, np.float32)
    if not where.any():
        return weight
    box = bounding_box(where)
    pad = int(np.ceil(width)) + 1
    rows = slice(max(0, box.top - pad), min(mask.shape[0], box.bottom + pad))
    cols = slice(max(0, box.left - pad), min(mask.shape[1], box.right + pad))
    inside = np.pad(mask[rows, cols], 1, mode="edge").view(np.uint8)
    depth = cv2.distanceTransform(inside, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)[1:-1, 1:-1]
    t = np.clip(depth / width, 0.0, 1.0)
    weight[rows, cols] = t * t * (3.0 - 2.0 * t)
    return weight


def contact_shadow(place: Box, alpha: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A soft shadow (H×W float32, 0–1) under the object's base, as lit from above: as
    wide as its footprint, a twelfth of its height tall, centred on its base line."""
    shadow = np.zeros(shape, np.float32)
    feet = footprint(alpha)
    height = max(2, place.height // 12)
    base_row = place.top + int(np.flatnonzero(alpha.max(axis=1) > 0.5)[-1]) + 1
    base = np.tile(feet[None, :], (height, 1))
    top = base_row - height // 2
    rows = slice(max(0, top), min(shape[0], top + height))
    if rows.stop <= rows.start:
        return shadow
    shadow[rows, place.left : place.right] = base[: rows.stop - rows.start]
    sigma = max(1.5, place.height / 40)
    # Blur only the box the shadow can spread over (3σ around it).
    spread = int(np.ceil(3 * sigma)) + 1
    window = (
        slice(max(0, rows.start - spread), min(shape[0], rows.stop + spread)),
        slice(max(0, place.left - spread), min(shape[1], place.right + spread)),
    )
    shadow[window] = cv2.GaussianBlur(shadow[window], (0, 0), sigma)
    return shadow


@dataclass(frozen=True)
class ObjectLayer:
    """The object scaled and placed in crop coordinates.

    Attributes:
        rgb: H×W×3 uint8, the (harmonised) object where ``cover`` > 0.
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
    rgb, alpha = cut_out(rgba, keying_scale(rgba, bounding_box(region.mask)))
    place = fit_in_mask(region.mask, alpha)
    rgb, alpha = resize_object(rgb, alpha, place.width, place.height)
    rgb = harmonize(rgb, alpha, ring_light(original, region.distance), None, subject_strength)

    layer = np.zeros(original.shape, np.uint8)
    cover = np.zeros(region.grown.shape, np.float32)
    layer[place.slices] = rgb
    cover[place.slices] = alpha
    # The object is limited to the grown mask, softly: it fades over the feather band
    # rather than being cut with a one-pixel step.
    shadow = np.zeros(region.grown.shape, np.float32)
    if stands_on_surface(original, region, place, alpha):
        shadow = np.clip(contact_shadow(place, alpha, region.grown.shape), 0.0, 1.0)
        shadow *= fade_inside(region.grown, shadow > 1e-3, max(5.0, place.height / 16))
    return ObjectLayer(rgb=layer, cover=cover * region.blend, shadow=shadow, place=place)


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
    shaded = layer.shadow[box.slices] > 0
    if shaded.any():
        # Only the band the contact shadow covers is darkened.
        band = bounding_box(shaded)
        light = 1.0 - SHADOW_OPACITY * layer.shadow[box.slices][band.slices]
        canvas[band.slices] *= light[:, :, None]
    cover = np.ascontiguousarray(layer.cover[box.slices])
    obj = layer.rgb[box.slices].astype(np.float32)
    # (1 − cover) × canvas + cover × object, rounded (every term is ≥ 0, ≤ 255).
    blended = cv2.blendLinear(canvas, obj, 1.0 - cover, cover)
    result[box.slices] = cv2.convertScaleAbs(blended).reshape(canvas.shape)
    return result
