"""The object's shape: its alpha channel, or its plain background keyed out.

For an object photographed on a plain background (studio white, a grey sweep...), the
background colour is estimated from the image border. Only background *connected to the
border* is keyed, and holes through the object: pixels close to the border colour form
candidate regions, thin bridges (an outline stroke touching the surround) are cut by a
morphological opening, and only the regions still touching the border, or enclosed ones
wide enough to be a hole (a mug's handle), may become background; thinner ones the
object encloses (a white ribbon, the white stroke of a logo) stay object. On a coloured
backdrop, its cast shadows (the backdrop's colour under less light) are background too
where they reach the border-connected background; on a neutral one (white, grey) a
shadow looks like any grey part of the object, and stays. OpenCV's GrabCut settles the
boundary on a reduced copy. The matte is then refined at full resolution in a band
around that boundary (a trimap): where the object's colour differs from the
background, alpha is the position of each pixel between the local object colour and
the nearby background colour (the compositing equation solved with a known
background); where it does not, a guided filter makes the reduced matte follow the
image's edges. Edge pixels are decontaminated: the background's share is taken out of
their colour, so no fringe of the old background survives. When nothing stands out
from the border colour (an edge-to-edge texture sent to object mode, a blank image),
the whole image is the object. An object that will be shrunk is keyed on a copy at
about its placed size (``scale`` of :func:`key_object`).
"""

from __future__ import annotations

import cv2
import numpy as np

from segswap.engine.harmonize import to_linear

MATTE_SIDE = 128
"""Longer side, in pixels, of the reduced copy the border is walked on (texture test)."""

GRABCUT_SIDE = 96
"""Longer side, in pixels, of the reduced copy GrabCut runs on: it only settles the
coarse boundary, which the full-resolution band refinement then places."""

BACKGROUND_DELTA_E = 12.0
"""Lab distance (ΔE76) from the border colour under which a pixel may be background."""

PLAIN_BORDER_SHARE = 0.6
"""Share of border pixels within BACKGROUND_DELTA_E of their median for a plain border."""

THIN_KEPT_SHARE = 0.25
"""Below this share of the off-background pixels surviving a two-pixel erosion, the
object is made of thin strokes (a solid object keeps over 80 %): its alpha comes
straight from each pixel's distance to the background colour."""

BRIDGE_SHARE = 0.012
"""Radius of the opening that cuts background-coloured bridges, as a share of the object
image's longer side (6 px for a 500 px image): background-coloured strokes thinner than
twice this that touch the surround are not keyed with it."""

COLOUR_CONTRAST = 40.0
"""RGB distance (0–255 units) between the local object colour and the background above
which the colour says how much a boundary pixel is object; at half of it and below, the
guided filter decides alone (a white object part against a white background)."""


def has_transparency(rgba: np.ndarray) -> bool:
    """True if any pixel of the H×W×4 image is less than fully opaque."""
    return bool(rgba[:, :, 3].min() < 255)


def border_pixels(image: np.ndarray, width: int = 2) -> np.ndarray:
    """N×C array of the pixels in the outer ``width``-pixel frame of ``image``."""
    return np.concatenate(
        [
            image[:width].reshape(-1, image.shape[2]),
            image[-width:].reshape(-1, image.shape[2]),
            image[:, :width].reshape(-1, image.shape[2]),
            image[:, -width:].reshape(-1, image.shape[2]),
        ]
    )


def _lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.multiply(rgb, np.float32(1 / 255), dtype=np.float32), cv2.COLOR_RGB2Lab)


def _lab_8bit(rgb: np.ndarray) -> np.ndarray:
    """CIE Lab (float32, L in 0–100) through OpenCV's 8-bit conversion (steps of 0.4 in
    L, 1 in a and b)."""
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab).astype(np.float32)
    return cv2.transform(lab, _FROM_8BIT_LAB)


_FROM_8BIT_LAB = np.array([[100 / 255, 0, 0, 0], [0, 1, 0, -128], [0, 0, 1, -128]], np.float32)
"""OpenCV's 8-bit Lab (L × 255/100, a + 128, b + 128) back to CIE units."""


def shrink_interpolation(scale: float) -> int:
    """OpenCV interpolation for shrinking an image to ``scale`` (< 1) of its size: area
    averaging, except for shrinking by at most a fifth, where bilinear sampling loses
    nothing visible (its taps are at most 1.25 px apart) and costs a fraction of
    area averaging by a ratio that is not a whole number."""
    return cv2.INTER_LINEAR if scale >= 0.8 else cv2.INTER_AREA


def colour_distance(lab: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """ΔE76 (H×W float32) of each pixel of an H×W×3 float32 Lab image from the Lab
    colour ``reference`` (3,)."""
    difference = lab - np.asarray(reference, np.float32)
    summed = cv2.transform(cv2.multiply(difference, difference), np.ones((1, 3), np.float32))
    return cv2.sqrt(summed)


def sample_at(small: np.ndarray, ys: np.ndarray, xs: np.ndarray, shape: tuple[int, int]):
    """Values (N×C float32) at the full-resolution pixels (``ys``, ``xs``) of an image of
    ``shape`` (H, W) of which ``small`` (h×w×C float32) is a reduced copy: what
    bilinear enlargement of ``small`` to ``shape`` gives there, computed at those N
    pixels only."""
    height, width = shape
    map_x = ((xs.astype(np.float32) + 0.5) * (small.shape[1] / width) - 0.5)[None]
    map_y = ((ys.astype(np.float32) + 0.5) * (small.shape[0] / height) - 0.5)[None]
    picked = cv2.remap(small, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return picked.reshape(ys.size, -1)


def plain_border_share(rgb: np.ndarray) -> float:
    """Share (0–1) of border pixels within BACKGROUND_DELTA_E of the border's median colour.

    Near 1 for an object on a plain background, low for an edge-to-edge texture.
    """
    border = _lab(border_pixels(rgb)[None])[0]
    median = np.median(border, axis=0)
    distance = np.linalg.norm(border - median, axis=1)
    return float(np.mean(distance < BACKGROUND_DELTA_E))


TEXTURE_BORDER_RUNS = 8
"""Separate stretches of off-background colour along the border that make an image an
edge-to-edge texture: an object on a plain background touches its border a few times at
most (a shoe on the floor line), a texture crosses it everywhere."""


def reduced(rgb: np.ndarray, side: int = MATTE_SIDE) -> tuple[np.ndarray, float]:
    """A copy of ``rgb`` whose longer side is at most ``side`` pixels, and its scale."""
    height, width = rgb.shape[:2]
    scale = min(1.0, side / max(height, width))
    small = cv2.resize(
        rgb,
        (max(1, round(width * scale)), max(1, round(height * scale))),
        interpolation=cv2.INTER_AREA,
    )
    return small, scale


def border_runs(rgb: np.ndarray) -> int:
    """Stretches of the border (walked once around, on a copy at most MATTE_SIDE pixels
    long) whose colour is at least BACKGROUND_DELTA_E from the border's median."""
    small, _ = reduced(rgb)
    lab = _lab(small)
    loop = np.concatenate([lab[0], lab[1:, -1], lab[-1, -2::-1], lab[-2:0:-1, 0]])
    off = np.linalg.norm(loop - np.median(loop, axis=0), axis=1) >= BACKGROUND_DELTA_E
    starts = off & ~np.roll(off, 1)
    return int(starts.sum()) if not off.all() else 1


def is_texture(rgb: np.ndarray) -> bool:
    """True for an edge-to-edge texture, False for an object on a plain background."""
    return plain_border_share(rgb) < PLAIN_BORDER_SHARE or border_runs(rgb) >= TEXTURE_BORDER_RUNS


def object_matte(rgba: np.ndarray) -> np.ndarray:
    """Alpha (H×W float32 in [0, 1]) of the object in an RGBA image.

    The image's own alpha when it has transparency; otherwise the keyed background.
    """
    return object_layers(rgba)[1]


def object_layers(rgba: np.ndarray, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """(colour h×w×3 uint8, alpha h×w float32 in [0, 1]) of the object in an RGBA image.

    With transparency, the image's own colour and alpha (straight, not premultiplied), at
    its own size. Otherwise the keyed matte, and the colour with the background's share
    taken out of its boundary pixels (see :func:`key_object`), at ``scale`` (0–1] of
    the image's size.
    """
    if has_transparency(rgba):
        return np.ascontiguousarray(rgba[:, :, :3]), rgba[:, :, 3].astype(np.float32) / 255.0
    return key_object(np.ascontiguousarray(rgba[:, :, :3]), scale)


def object_extent(rgb: np.ndarray) -> tuple[int, int]:
    """(height, width) in pixels of the box around what stands out from the border colour
    of ``rgb`` (H×W×3 uint8) by BACKGROUND_DELTA_E or more, estimated on a copy at most
    MATTE_SIDE pixels long (to a few of its pixels); the whole image when nothing does.
    The copy is sampled, not averaged (a tenth of the cost): a thin part it misses makes
    the estimate smaller, and the object is then keyed a little larger, never smaller."""
    height, width = rgb.shape[:2]
    scale = min(1.0, MATTE_SIDE / max(height, width))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = cv2.resize(rgb, size, interpolation=cv2.INTER_LINEAR)
    lab = _lab(small)
    off = colour_distance(lab, np.median(border_pixels(lab), axis=0)) >= BACKGROUND_DELTA_E
    if not off.any():
        return rgb.shape[0], rgb.shape[1]
    rows, cols = np.flatnonzero(off.any(axis=1)), np.flatnonzero(off.any(axis=0))
    height = min(rgb.shape[0], round((rows[-1] + 1 - rows[0]) / scale))
    width = min(rgb.shape[1], round((cols[-1] + 1 - cols[0]) / scale))
    return max(1, height), max(1, width)


def key_background(rgb: np.ndarray) -> np.ndarray:
    """Alpha (H×W float32 in [0, 1]) of the object on a plain background in ``rgb``."""
    return key_object(rgb)[1]


HOLE_FACTOR = 2
"""An enclosed background-coloured region at least HOLE_FACTOR times as wide as a bridge
(a disk of that radius fits in it) is a hole through the object and may be keyed too."""


def keyable_background(
    near: np.ndarray, radius: int, shade: np.ndarray | None = None
) -> np.ndarray:
    """The part of ``near`` (H×W bool: close to the background colour) that may be keyed,
    with the part of ``shade`` (H×W bool: the background's colour in shadow) that joins it.

    Background connected to the image border, once bridges thinner than ``2 × radius``
    pixels are cut (the opening removes thin background-coloured structures, such as an
    outline stroke touching the surround, before the regions touching the border are
    taken; growing the result back by ``radius`` inside ``near`` restores the wide
    background's own edge); and enclosed regions of ``near`` wide enough to be holes
    through the object (see HOLE_FACTOR). Thinner enclosed regions coloured like the
    background (a white stroke, a ribbon) are object, and so is any enclosed ``shade``:
    only a shadow reaching the border-connected background is the backdrop's.
    """
    both = near if shade is None else near | shade
    candidate = opened(both, radius) if radius > 0 else both
    _, labels = cv2.connectedComponents(candidate.view(np.uint8), connectivity=4)
    touching = np.unique(border_pixels(labels[:, :, None]))
    touching = touching[touching > 0]
    connected = np.isin(labels, touching)
    if radius <= 0:
        return connected
    connected = grown_by(connected, radius) & both
    holes = opened(near & ~connected, HOLE_FACTOR * radius)
    if holes.any():
        connected |= grown_by(holes, HOLE_FACTOR * radius) & near
    return connected


def grown_by(mask: np.ndarray, radius: float) -> np.ndarray:
    """``mask`` (bool) dilated by a Euclidean disk of ``radius`` pixels."""
    if not mask.any():
        return mask.copy()
    outside = cv2.distanceTransform((~mask).view(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_3)
    return outside <= radius


def opened(mask: np.ndarray, radius: float) -> np.ndarray:
    """Morphological opening of ``mask`` (bool) by a Euclidean disk of ``radius`` pixels:
    what remains of it where such a disk fits (via two distance transforms)."""
    padded = np.pad(mask, 1, constant_values=True)  # the image border does not erode
    inside = cv2.distanceTransform(padded.view(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_3)
    core = inside[1:-1, 1:-1] > radius
    return grown_by(core, radius) & mask


def _box(image: np.ndarray, radius: int) -> np.ndarray:
    return cv2.blur(image, (2 * radius + 1, 2 * radius + 1), borderType=cv2.BORDER_REFLECT)


def guided_filter(guide: np.ndarray, source: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """He et al.'s guided filter (gray guide): ``source`` (H×W float32) smoothed so that
    its edges follow those of ``guide`` (H×W float32 in [0, 1]); ``radius`` in pixels."""
    mean_i = _box(guide, radius)
    mean_p = _box(source, radius)
    var_i = _box(guide * guide, radius) - mean_i * mean_i
    cov_ip = _box(guide * source, radius) - mean_i * mean_p
    a = cov_ip / (var_i + eps)
    b = mean_p - a * mean_i
    return _box(a, radius) * guide + _box(b, radius)


def decontaminate(
    rgb: np.ndarray, alpha: np.ndarray, background: np.ndarray, interior: np.ndarray
) -> np.ndarray:
    """Colours (N×3 float32, 0–255) with the background's share taken out.

    Solving ``I = αF + (1 − α)B`` for F, with the background colour B known, for N pixels
    of colour ``rgb`` and alpha ``alpha``; where alpha is low that is noisy, so F fades to
    ``interior`` (the nearby object colour, N×3) below alpha 0.5.
    """
    safe = np.maximum(alpha, 0.05)[:, None]
    solved = np.clip(background + (rgb - background) / safe, 0.0, 255.0)
    trust = np.clip((alpha - 0.2) / 0.5, 0.0, 1.0)[:, None]
    return trust * solved + (1.0 - trust) * interior


def nearby_colour(small: np.ndarray, where: np.ndarray, sigma: float) -> np.ndarray:
    """Nearby colour (H×W×3 float32) of the ``where`` pixels on the reduced copy
    ``small``: a Gaussian average (σ ``sigma`` px) of them, carried outward over the
    band (NaN where none is within reach)."""
    weight = cv2.GaussianBlur(where.astype(np.float32), (0, 0), sigma)
    summed = cv2.GaussianBlur(small.astype(np.float32) * where[:, :, None], (0, 0), sigma)
    with np.errstate(invalid="ignore", divide="ignore"):
        return summed / np.where(weight > 1e-6, weight, np.nan)[:, :, None]


SHADOW_MIN_CHROMA = 15.0
"""CIE chroma of the border colour from which its cast shadows are keyed with it. On a
neutral backdrop (white, grey) a shadow has the colour of any grey or black part of the
object, so there only the backdrop's own colour is keyed."""

SHADOW_HUE_DEGREES = 6.0
"""Largest angle, in linear RGB, between a pixel's colour and the backdrop's for the
pixel to be the backdrop in shadow: less of the same light scales all channels alike."""

SHADOW_DEPTH = 0.1
"""Darkest shadow keyed: pixels with at least this share of the backdrop's light."""


def backdrop_share(rgb: np.ndarray, background_rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(cosine, share) per pixel (H×W float32 each) of ``rgb`` (H×W×3 uint8) against the
    backdrop colour ``background_rgb`` (3, 0–255), in linear RGB: the cosine of the angle
    between the two colours, and the pixel's length along the backdrop's as a share of
    the backdrop's (1: as bright; 0.5: half its light)."""
    linear = to_linear(rgb)
    back = to_linear(np.clip(np.rint(background_rgb), 0, 255).astype(np.uint8)).astype(np.float32)
    length = float(np.linalg.norm(back))
    along = cv2.transform(linear, (back / length)[None])
    size = cv2.sqrt(cv2.transform(cv2.multiply(linear, linear), np.ones((1, 3), np.float32)))
    cosine = along / np.maximum(size, np.float32(1e-6))
    return cosine, along / np.float32(length)


def in_shadow(cosine: np.ndarray, share: np.ndarray) -> np.ndarray:
    """Pixels (H×W bool) that are the backdrop under less light, from
    :func:`backdrop_share`: within SHADOW_HUE_DEGREES of its colour, with SHADOW_DEPTH to
    1.05 times its light."""
    limit = np.float32(np.cos(np.radians(SHADOW_HUE_DEGREES)))
    return (cosine >= limit) & (share >= SHADOW_DEPTH) & (share <= 1.05)


def chroma(lab: np.ndarray) -> float:
    """CIE chroma of a Lab colour (3,)."""
    return float(np.hypot(lab[1], lab[2]))


KEY_AT_SCALE_BELOW = 0.9
"""An object to be shrunk below this share of its size is keyed on a shrunk copy."""

KEY_MIN_SIDE = 256
"""Longer side, in pixels, under which a shrunk copy is not keyed: the matte's bridges
and boundary band need pixels (a logo keyed at 80 px kept specks of its white
surround); an object placed smaller is keyed at this size and then shrunk."""


def key_object(rgb: np.ndarray, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """(decontaminated colour h×w×3 uint8, alpha h×w float32 in [0, 1]) of the object on a
    plain background in ``rgb`` (H×W×3 uint8).

    ``scale`` (0–1]: the size the object will be used at, as a share of ``rgb``'s. Below
    KEY_AT_SCALE_BELOW, the matte is worked out on a copy shrunk to it (but not under
    KEY_MIN_SIDE), and both layers come at that size: the pixels the caller would
    average away are not keyed one by one. Edge-to-edge textures and line drawings (see
    THIN_KEPT_SHARE) come at full size (a shrunk copy would fade a drawing's strokes
    before they are keyed).

    On a coloured backdrop (SHADOW_MIN_CHROMA), the backdrop's cast shadows (see
    :func:`in_shadow`) that reach the border-connected background are keyed with it.
    """
    height, width = rgb.shape[:2]
    work = rgb
    scale = max(scale, KEY_MIN_SIDE / max(height, width))
    if scale < KEY_AT_SCALE_BELOW:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        work = cv2.resize(rgb, size, interpolation=shrink_interpolation(scale))
    if is_texture(work):
        # No plain background: an object photographed in a scene (cut out by GrabCut
        # seeded from the border), or an edge-to-edge texture (kept whole).
        cut = cut_from_busy_background(work)
        if cut is None:
            return rgb.copy(), np.ones((height, width), np.float32)
        return cut
    # Distances to the background colour are taken in 8-bit Lab (within 0.6 in L and
    # 2.5 in a and b of the float conversion, at a third of its cost), except for the
    # alpha ramp of a line drawing.
    lab = _lab_8bit(work)
    background_lab = np.median(border_pixels(lab), axis=0)
    distance = colour_distance(lab, background_lab)
    near = distance < BACKGROUND_DELTA_E
    off = (~near).view(np.uint8)
    if cv2.erode(off, np.ones((5, 5), np.uint8)).sum() < THIN_KEPT_SHARE * off.sum():
        # Shrinking thins strokes: a drawing's copy is thin if the drawing is.
        return key_line_drawing(rgb)
    background_rgb = np.median(border_pixels(work), axis=0).astype(np.float32)
    shade = None
    if chroma(background_lab) >= SHADOW_MIN_CHROMA:
        shade = in_shadow(*backdrop_share(work, background_rgb)) & ~near
    return key_matte(work, distance, near, shade, background_rgb)


BUSY_BORDER_SHARE = 0.04
"""Width of the frame taken as sure background when an object is cut out of a busy
background, as a share of the image's longer side (at least 2 px of the reduced copy)."""

BUSY_OBJECT_SHARE = (0.05, 0.85)
"""Share of the image a cut-out object may cover: outside it, what GrabCut found is not
an object standing out from its surroundings (an edge-to-edge texture) and the whole
image is kept."""

BUSY_TOUCH_SHARE = 0.35
"""Largest share of the image's border the cut-out object may touch (a cup whose saucer
leaves the frame at the bottom touches some of it; a texture touches all)."""


def cut_from_busy_background(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(colour, alpha) of the object in the middle of a photo with a busy background
    (``rgb``, H×W×3 uint8: an opaque crop, not on a plain colour), or None when no single
    object stands out (BUSY_OBJECT_SHARE, BUSY_TOUCH_SHARE: an edge-to-edge texture).

    GrabCut runs on a reduced copy with a frame along the border as sure background and
    the rest as probable object; its largest connected object region (holes filled)
    is the hard matte, which :func:`refine_boundary` softens at full resolution as for
    an object on a plain background (the nearby backdrop colour is the local one)."""
    height, width = rgb.shape[:2]
    small, scale = reduced(rgb, MATTE_SIDE)
    rows, cols = small.shape[:2]
    frame = max(2, round(BUSY_BORDER_SHARE * max(rows, cols)))
    if rows <= 4 * frame or cols <= 4 * frame:
        return None
    seeds = np.full((rows, cols), cv2.GC_PR_FGD, np.uint8)
    seeds[:frame], seeds[-frame:], seeds[:, :frame], seeds[:, -frame:] = (cv2.GC_BGD,) * 4
    background_model = np.zeros((1, 65), np.float64)
    foreground_model = np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(0)
    bgr = np.ascontiguousarray(small[:, :, ::-1])
    cv2.grabCut(
        bgr, seeds, (0, 0, 0, 0), background_model, foreground_model, 4, cv2.GC_INIT_WITH_MASK
    )
    found = ((seeds == cv2.GC_FGD) | (seeds == cv2.GC_PR_FGD)).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(found, connectivity=4)
    if count < 2:
        return None
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    body = (labels == largest).astype(np.uint8)
    # Holes the object encloses that GrabCut took for background (a shine, a gap)
    # are object unless wide (then they stay as GrabCut saw them).
    inverse = 1 - body
    count, labels, stats, _ = cv2.connectedComponentsWithStats(inverse, connectivity=4)
    touching = set(np.unique(border_pixels(labels[:, :, None])).tolist())
    for label in range(1, count):
        small_hole = stats[label, cv2.CC_STAT_AREA] < 0.02 * rows * cols
        if label not in touching and small_hole:
            body[labels == label] = 1
    share = float(body.mean())
    # The frame itself is sure background: the object's touch is measured just inside.
    touch = float(border_pixels(body[frame:-frame, frame:-frame, None], 1).mean())
    if not (BUSY_OBJECT_SHARE[0] <= share <= BUSY_OBJECT_SHARE[1]) or touch > BUSY_TOUCH_SHARE:
        return None
    hard = cv2.resize(body.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
    hard = (hard > 0.5).astype(np.float32)
    background_rgb = np.median(border_pixels(rgb), axis=0).astype(np.float32)
    reach = max(1, round(1 / scale))
    return refine_boundary(rgb, small, hard, reach, background_rgb)


def key_line_drawing(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(colour, alpha) of a drawing made mostly of strokes up to about four pixels wide
    (a line drawing, a signature), finer than any matte: each pixel's own distance from
    the background colour says how much it is object. (The distance ramp is the
    anti-aliasing: no blur, which would halve a one-pixel stroke.)"""
    lab = _lab(rgb)
    distance = colour_distance(lab, np.median(border_pixels(lab), axis=0))
    background_rgb = np.median(border_pixels(rgb), axis=0).astype(np.float32)
    half = BACKGROUND_DELTA_E / 2
    alpha = np.clip((distance - half) / half, 0.0, 1.0).astype(np.float32)
    ys, xs = np.nonzero((alpha > 0.0) & (alpha < 1.0))
    colour = rgb.copy()
    own = rgb[ys, xs].astype(np.float32)
    clean = decontaminate(own, alpha[ys, xs], background_rgb, own)
    colour[ys, xs] = np.clip(np.rint(clean), 0, 255).astype(np.uint8)
    return colour, alpha


AMBIGUOUS_DELTA_E = 3 * BACKGROUND_DELTA_E
"""Pixels closer than this (ΔE76) to the border colour, but not close enough to be it,
are the ones GrabCut settles: soft shadows, glows, blurred or translucent edges."""

CRISP_SHARE = 0.15
"""Below this share of ambiguous pixels (AMBIGUOUS_DELTA_E) next to the keyable
background, its boundary is crisp (a logo or graphic on a flat colour, whose edges only
carry a pixel of anti-aliasing: 8 % for scikit-image's logo, against 27–68 % for the
gift box photo on white or teal, with its soft shadow) and GrabCut is skipped: it
changed no alpha there by more than 0.1 (the band refinement places such an edge
alone), at about a fifth of a keyed object's layout time."""


def crisp_boundary(zone: np.ndarray, distance: np.ndarray) -> bool:
    """Whether few of the ``zone`` pixels (H×W bool: those GrabCut may key) are ambiguous
    in colour, given each pixel's ``distance`` (ΔE) from the border colour."""
    ambiguous = np.count_nonzero(zone & (distance < AMBIGUOUS_DELTA_E))
    return bool(ambiguous < CRISP_SHARE * np.count_nonzero(zone))


def key_matte(
    rgb: np.ndarray,
    distance: np.ndarray,
    near: np.ndarray,
    shade: np.ndarray | None,
    background_rgb: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(colour, alpha) of a solid object in ``rgb`` (H×W×3 uint8), given each pixel's
    ``distance`` (ΔE) from the border colour, the pixels ``near`` it, those in its
    ``shade`` (None on a neutral backdrop) and the border colour ``background_rgb``."""
    height, width = rgb.shape[:2]
    radius = max(1, round(BRIDGE_SHARE * max(height, width)))
    outside_full = keyable_background(near, radius, shade)
    if not (~outside_full).any():
        return rgb.copy(), np.ones((height, width), np.float32)

    small, scale = reduced(rgb, GRABCUT_SIDE)
    size = (small.shape[1], small.shape[0])
    surely = distance < BACKGROUND_DELTA_E / 2
    sure = (surely & outside_full).view(np.uint8) * 255
    sure_share = cv2.resize(sure, size, interpolation=cv2.INTER_AREA)
    outside = cv2.resize(outside_full.view(np.uint8) * 255, size, interpolation=cv2.INTER_AREA)
    seeds = np.full(small.shape[:2], cv2.GC_PR_FGD, np.uint8)
    seeds[outside > 127] = cv2.GC_PR_BGD
    seeds[sure_share > 252] = cv2.GC_BGD  # over 99 % sure background
    if not (seeds == cv2.GC_PR_FGD).any():
        return rgb.copy(), np.ones((height, width), np.float32)
    reach = max(1, round(1 / scale))
    allowed = cv2.dilate(outside_full.view(np.uint8), np.ones((2 * reach + 1,) * 2, np.uint8))
    foreground = seeds != cv2.GC_BGD
    if (
        foreground.sum() > 64
        and (~foreground).sum() > 64
        and not crisp_boundary(allowed.view(bool) & ~outside_full, distance)
    ):
        background_model = np.zeros((1, 65), np.float64)
        foreground_model = np.zeros((1, 65), np.float64)
        cv2.setRNGSeed(0)
        bgr = np.ascontiguousarray(small[:, :, ::-1])
        cv2.grabCut(
            bgr, seeds, (0, 0, 0, 0), background_model, foreground_model, 2, cv2.GC_INIT_WITH_MASK
        )
    # Only what GrabCut calls background *and* lies in the border-connected background is
    # keyed: an enclosed region coloured like the background stays object.
    gc_background = ((seeds == cv2.GC_BGD) | (seeds == cv2.GC_PR_BGD)).astype(np.float32)
    gc_full = cv2.resize(gc_background, (width, height), interpolation=cv2.INTER_LINEAR) > 0.5
    hard = (~(gc_full & allowed.astype(bool))).astype(np.float32)
    if not hard.any():
        # GrabCut found nothing apart from the border colour (an edge-to-edge texture
        # sent to object mode): the whole image is the object, as for a blank one.
        return rgb.copy(), np.ones((height, width), np.float32)
    return refine_boundary(rgb, small, hard, reach, background_rgb)


def refine_boundary(
    rgb: np.ndarray, small: np.ndarray, hard: np.ndarray, reach: int, background_rgb: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(colour, alpha) from the hard matte ``hard`` (H×W float32, 1 = object) of ``rgb``,
    refined in a band of ``reach`` pixels either side of its boundary (see the module's
    docstring); ``small`` is the reduced copy of ``rgb`` the matte was settled on.

    Each band pixel is weighed between the nearby object colour and the nearby
    background colour (the backdrop next to it, in shadow or not; ``background_rgb``
    where none is near)."""
    height, width = rgb.shape[:2]
    size = (small.shape[1], small.shape[0])
    kernel = np.ones((2 * reach + 1, 2 * reach + 1), np.uint8)
    sure_object = cv2.erode(hard, kernel) > 0.5
    sure_background = cv2.dilate(hard, kernel) < 0.5
    band = ~sure_object & ~sure_background
    alpha = sure_object.astype(np.float32)
    ys, xs = np.nonzero(band)
    if ys.size == 0:
        return rgb.copy(), alpha
    image = rgb[ys, xs].astype(np.float32)
    solid_share = cv2.resize(sure_object.view(np.uint8) * 255, size, interpolation=cv2.INTER_AREA)
    interior = sample_at(nearby_colour(small, solid_share > 252, 2.0), ys, xs, (height, width))
    interior = np.where(np.isnan(interior), image, interior)
    clear = cv2.resize(sure_background.view(np.uint8) * 255, size, interpolation=cv2.INTER_AREA)
    backdrop = sample_at(nearby_colour(small, clear > 252, 2.0), ys, xs, (height, width))
    backdrop = np.where(np.isnan(backdrop), background_rgb, backdrop)
    towards = interior - backdrop
    contrast = np.linalg.norm(towards, axis=1)
    by_colour = np.clip(
        ((image - backdrop) * towards).sum(axis=1) / np.maximum(contrast**2, 1e-6), 0, 1
    )
    trust = np.clip((contrast - COLOUR_CONTRAST / 2) / (COLOUR_CONTRAST / 2), 0.0, 1.0)
    by_edges = hard[ys, xs]
    doubtful = trust < 1.0
    if doubtful.any():
        # The guided filter runs only on the box around the pixels the colour cannot
        # decide (plus its radius), not on the whole object image.
        margin = 2 * (reach + 1) + 1
        top, bottom = max(0, int(ys[doubtful].min()) - margin), int(ys[doubtful].max()) + margin
        left, right = max(0, int(xs[doubtful].min()) - margin), int(xs[doubtful].max()) + margin
        window = slice(top, bottom + 1), slice(left, right + 1)
        guide = cv2.cvtColor(rgb[window], cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
        filtered = guided_filter(guide, np.ascontiguousarray(hard[window]), reach + 1, 1e-3)
        by_edges = by_edges.copy()
        by_edges[doubtful] = np.clip(filtered[ys[doubtful] - top, xs[doubtful] - left], 0, 1)
    alpha[ys, xs] = trust * by_colour + (1.0 - trust) * by_edges
    colour = rgb.copy()
    clean = decontaminate(image, alpha[ys, xs], backdrop, interior)
    colour[ys, xs] = np.clip(np.rint(clean), 0, 255).astype(np.uint8)
    return colour, alpha
