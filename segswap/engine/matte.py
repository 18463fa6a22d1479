"""The object's shape: its alpha channel, or its plain background keyed out.

For an object photographed on a plain background (studio white, a grey sweep...), the
background colour is estimated from the image border; pixels close to it *and connected
to the border* seed the background, the rest seed the object, and OpenCV's GrabCut
refines the boundary on a reduced copy. The matte is then scaled back, pulled in by one
pixel (so no fringe of the old background survives; a line drawing, which that would
erase, is not pulled in) and softened for anti-aliasing. When nothing stands out from
the border colour (an edge-to-edge texture sent to object mode, a blank image), the
whole image is the object.
"""

from __future__ import annotations

import cv2
import numpy as np

MATTE_SIDE = 128
"""Longer side, in pixels, of the reduced copy the background is keyed on."""

BACKGROUND_DELTA_E = 12.0
"""Lab distance (ΔE76) from the border colour under which a pixel may be background."""

PLAIN_BORDER_SHARE = 0.6
"""Share of border pixels within BACKGROUND_DELTA_E of their median for a plain border."""


THIN_KEPT_SHARE = 0.25
"""Below this share of the keyed matte surviving the one-pixel pull-in, the object is
made of thin strokes and is not pulled in (a solid object keeps over 80 %)."""


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
    border = border_pixels(_lab(rgb))
    median = np.median(border, axis=0)
    distance = np.linalg.norm(border - median, axis=1)
    return float(np.mean(distance < BACKGROUND_DELTA_E))


TEXTURE_BORDER_RUNS = 8
"""Separate stretches of off-background colour along the border that make an image an
edge-to-edge texture: an object on a plain background touches its border a few times at
most (a shoe on the floor line), a texture crosses it everywhere."""


def reduced(rgb: np.ndarray) -> tuple[np.ndarray, float]:
    """A copy of ``rgb`` whose longer side is at most MATTE_SIDE pixels, and its scale."""
    height, width = rgb.shape[:2]
    scale = min(1.0, MATTE_SIDE / max(height, width))
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
    if has_transparency(rgba):
        return rgba[:, :, 3].astype(np.float32) / 255.0
    return key_background(np.ascontiguousarray(rgba[:, :, :3]))


def key_background(rgb: np.ndarray) -> np.ndarray:
    """Alpha (H×W float32 in [0, 1]) of the object on a plain background in ``rgb``."""
    height, width = rgb.shape[:2]
    small, scale = reduced(rgb)
    lab = _lab(small)
    background_colour = np.median(border_pixels(lab), axis=0)
    distance = np.linalg.norm(lab - background_colour, axis=2)

    near = (distance < BACKGROUND_DELTA_E).astype(np.uint8)
    _, labels = cv2.connectedComponents(near, connectivity=4)
    touching = np.unique(border_pixels(labels[:, :, None]))
    touching = touching[touching > 0]
    connected = np.isin(labels, touching)

    seeds = np.full(small.shape[:2], cv2.GC_PR_FGD, np.uint8)
    seeds[connected] = cv2.GC_PR_BGD
    seeds[connected & (distance < BACKGROUND_DELTA_E / 2)] = cv2.GC_BGD
    if not (seeds == cv2.GC_PR_FGD).any():
        return np.ones((height, width), np.float32)
    foreground = seeds != cv2.GC_BGD
    if foreground.sum() > 64 and (~foreground).sum() > 64:
        background_model = np.zeros((1, 65), np.float64)
        foreground_model = np.zeros((1, 65), np.float64)
        cv2.setRNGSeed(0)
        bgr = np.ascontiguousarray(small[:, :, ::-1])
        cv2.grabCut(
            bgr, seeds, (0, 0, 0, 0), background_model, foreground_model, 2, cv2.GC_INIT_WITH_MASK
        )
    keep = ((seeds == cv2.GC_FGD) | (seeds == cv2.GC_PR_FGD)).astype(np.float32)
    if not keep.any():
        # GrabCut found nothing apart from the border colour (an edge-to-edge texture
        # sent to object mode): the whole image is the object, as for a blank one.
        return np.ones((height, width), np.float32)
    full = cv2.resize(keep, (width, height), interpolation=cv2.INTER_LINEAR)
    pull_in = max(1, round(1 / scale))
    alpha = cv2.erode(full, np.ones((2 * pull_in + 1, 2 * pull_in + 1), np.uint8))
    if alpha.sum() < THIN_KEPT_SHARE * full.sum():
        # The object is mostly strokes thinner than the pull-in (a line drawing, a
        # signature): pulling it in would erase it. Its reduced-copy matte is too coarse
        # for such strokes, so where it is not zero each pixel's own distance from the
        # background colour, at full resolution, says how much it is object.
        own_distance = np.linalg.norm(_lab(rgb) - background_colour, axis=2)
        half = BACKGROUND_DELTA_E / 2
        # (The distance ramp is the anti-aliasing: no blur, which would halve a
        # one-pixel stroke.)
        soft = np.clip((own_distance - half) / half, 0.0, 1.0).astype(np.float32)
        return np.where(full > 0.0, soft, np.float32(0.0))
    alpha = cv2.GaussianBlur(alpha, (0, 0), 0.8)
    return np.clip(alpha, 0.0, 1.0)
