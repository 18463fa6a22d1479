"""The object's shape: its alpha channel, or its plain background keyed out.

For an object photographed on a plain background (studio white, a grey sweep...), the
background colour is estimated from the image border. Only background *connected to the
border* is keyed, and holes through the object: pixels close to the border colour form
candidate regions, thin bridges (an outline stroke touching the surround) are cut by a
morphological opening, and only the regions still touching the border, or enclosed ones
wide enough to be a hole (a mug's handle), may become background; thinner ones the
object encloses (a white ribbon, the white stroke of a logo) stay object. OpenCV's GrabCut
settles the boundary on a reduced copy. The matte is then refined at full resolution in
a band around that boundary (a trimap): where the object's colour differs from the
background, alpha is the position of each pixel between the local object colour and
the background colour (the compositing equation solved with a known background); where
it does not, a guided filter makes the reduced matte follow the image's edges. Edge
pixels are decontaminated: the background's share is taken out of their colour, so no
fringe of the old background survives. When nothing stands out from the border colour
(an edge-to-edge texture sent to object mode, a blank image), the whole image is the
object.
"""

from __future__ import annotations

import cv2
import numpy as np

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
    return cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)


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


def object_layers(rgba: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(colour H×W×3 uint8, alpha H×W float32 in [0, 1]) of the object in an RGBA image.

    With transparency, the image's own colour and alpha (straight, not premultiplied).
    Otherwise the keyed matte, and the colour with the background's share taken out of
    its boundary pixels (see :func:`key_object`).
    """
    if has_transparency(rgba):
        return np.ascontiguousarray(rgba[:, :, :3]), rgba[:, :, 3].astype(np.float32) / 255.0
    return key_object(np.ascontiguousarray(rgba[:, :, :3]))


def key_background(rgb: np.ndarray) -> np.ndarray:
    """Alpha (H×W float32 in [0, 1]) of the object on a plain background in ``rgb``."""
    return key_object(rgb)[1]


HOLE_FACTOR = 2
"""An enclosed background-coloured region at least HOLE_FACTOR times as wide as a bridge
(a disk of that radius fits in it) is a hole through the object and may be keyed too."""


def keyable_background(near: np.ndarray, radius: int) -> np.ndarray:
    """The part of ``near`` (H×W bool: close to the background colour) that may be keyed.

    Background connected to the image border, once bridges thinner than ``2 × radius``
    pixels are cut (the opening removes thin background-coloured structures, such as an
    outline stroke touching the surround, before the regions touching the border are
    taken; growing the result back by ``radius`` inside ``near`` restores the wide
    background's own edge); and enclosed regions wide enough to be holes through the
    object (see HOLE_FACTOR). Thinner enclosed regions coloured like the background (a
    white stroke, a ribbon) are object.
    """
    candidate = opened(near, radius) if radius > 0 else near
    _, labels = cv2.connectedComponents(candidate.view(np.uint8), connectivity=4)
    touching = np.unique(border_pixels(labels[:, :, None]))
    touching = touching[touching > 0]
    connected = np.isin(labels, touching)
    if radius <= 0:
        return connected
    connected = grown_by(connected, radius) & near
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


def _interior_colour(small: np.ndarray, solid: np.ndarray, sigma: float) -> np.ndarray:
    """Nearby object colour (H×W×3 float32) on the reduced copy: a Gaussian average
    (σ ``sigma`` px) of the ``solid`` object pixels, carried outward over the band."""
    weight = cv2.GaussianBlur(solid.astype(np.float32), (0, 0), sigma)
    summed = cv2.GaussianBlur(small.astype(np.float32) * solid[:, :, None], (0, 0), sigma)
    return summed / np.maximum(weight, 1e-6)[:, :, None]


def key_object(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(decontaminated colour H×W×3 uint8, alpha H×W float32 in [0, 1]) of the object on a
    plain background in ``rgb`` (H×W×3 uint8)."""
    height, width = rgb.shape[:2]
    if is_texture(rgb):
        # An edge-to-edge texture sent to object mode: no background to key out.
        return rgb.copy(), np.ones((height, width), np.float32)
    lab_full = _lab(rgb)
    background_lab = np.median(border_pixels(lab_full), axis=0)
    difference = lab_full - background_lab.astype(np.float32)
    distance_full = np.sqrt(np.einsum("ijk,ijk->ij", difference, difference))
    background_rgb = np.median(border_pixels(rgb), axis=0).astype(np.float32)

    near_full = distance_full < BACKGROUND_DELTA_E
    off = (~near_full).view(np.uint8)
    if cv2.erode(off, np.ones((5, 5), np.uint8)).sum() < THIN_KEPT_SHARE * off.sum():
        # Mostly strokes up to about four pixels wide (a line drawing, a signature), finer than
        # any matte: each pixel's own distance from the background colour says how much
        # it is object. (The distance ramp is the anti-aliasing: no blur, which would
        # halve a one-pixel stroke.)
        half = BACKGROUND_DELTA_E / 2
        alpha = np.clip((distance_full - half) / half, 0.0, 1.0).astype(np.float32)
        ys, xs = np.nonzero((alpha > 0.0) & (alpha < 1.0))
        colour = rgb.copy()
        own = rgb[ys, xs].astype(np.float32)
        clean = decontaminate(own, alpha[ys, xs], background_rgb, own)
        colour[ys, xs] = np.clip(np.rint(clean), 0, 255).astype(np.uint8)
        return colour, alpha
    radius = max(1, round(BRIDGE_SHARE * max(height, width)))
    outside_full = keyable_background(near_full, radius)
    if not (~outside_full).any():
        return rgb.copy(), np.ones((height, width), np.float32)

    small, scale = reduced(rgb, GRABCUT_SIDE)
    size = (small.shape[1], small.shape[0])
    distance = cv2.resize(distance_full, size, interpolation=cv2.INTER_AREA)
    outside = cv2.resize(outside_full.astype(np.float32), size, interpolation=cv2.INTER_AREA)
    seeds = np.full(small.shape[:2], cv2.GC_PR_FGD, np.uint8)
    seeds[outside > 0.5] = cv2.GC_PR_BGD
    seeds[(outside > 0.99) & (distance < BACKGROUND_DELTA_E / 2)] = cv2.GC_BGD
    if not (seeds == cv2.GC_PR_FGD).any():
        return rgb.copy(), np.ones((height, width), np.float32)
    foreground = seeds != cv2.GC_BGD
    if foreground.sum() > 64 and (~foreground).sum() > 64:
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
    reach = max(1, round(1 / scale))
    allowed = cv2.dilate(outside_full.view(np.uint8), np.ones((2 * reach + 1,) * 2, np.uint8))
    hard = (~(gc_full & allowed.astype(bool))).astype(np.float32)
    if not hard.any():
        # GrabCut found nothing apart from the border colour (an edge-to-edge texture
        # sent to object mode): the whole image is the object, as for a blank one.
        return rgb.copy(), np.ones((height, width), np.float32)

    kernel = np.ones((2 * reach + 1, 2 * reach + 1), np.uint8)
    sure_object = cv2.erode(hard, kernel) > 0.5
    sure_background = cv2.dilate(hard, kernel) < 0.5
    band = ~sure_object & ~sure_background
    alpha = sure_object.astype(np.float32)
    ys, xs = np.nonzero(band)
    if ys.size == 0:
        return rgb.copy(), alpha
    image = rgb[ys, xs].astype(np.float32)
    small_solid = cv2.resize(sure_object.astype(np.float32), size, interpolation=cv2.INTER_AREA)
    interior_small = _interior_colour(small, small_solid > 0.99, 2.0)
    interior_full = cv2.resize(interior_small, (width, height), interpolation=cv2.INTER_LINEAR)
    interior = interior_full[ys, xs]
    towards = interior - background_rgb
    contrast = np.linalg.norm(towards, axis=1)
    by_colour = np.clip(
        ((image - background_rgb) * towards).sum(axis=1) / np.maximum(contrast**2, 1e-6), 0, 1
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
    clean = decontaminate(image, alpha[ys, xs], background_rgb, interior)
    colour[ys, xs] = np.clip(np.rint(clean), 0, 255).astype(np.uint8)
    return colour, alpha
