"""Light and colour harmonisation: the object takes on the light of the scene around it.

Two parts, both measured on a ring of scene just outside the grown mask:

- **Light** (applied at every ``subject_strength`` as per-channel gains in linear light,
  multiplicative like real light; a gain g is applied as g^(1/2.2) to the sRGB values):
  the luminance *gradient* of the surroundings across the object (a plane
  fitted to log luminance); the *light level* (the luminance of the object's brightest
  tenth moves toward that of the surroundings' — what the scene's own lit objects
  reach, not its mean, which a black background or a night sky drags down — a fifth of
  the way at ``subject_strength`` 1, all the way at 0); the *colour
  temperature* (a von Kries white balance toward the surroundings' cast, capped at
  ±CAST_LIMIT per channel, a third of it at ``subject_strength`` 1). Multiplying channels
  keeps each colour's hue family: a blue box under warm light stays blue.
- **Harmonisation** (in proportion ``1 - subject_strength``, in CIE LCh): the chroma is
  scaled toward the surroundings' (within CHROMA_RATIO), the hue angle is kept. The
  object's lightness *spread* is its own: light multiplies, so the object keeps its
  contrast and colour in a dim or grey scene instead of going flat and grey.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

CAST_LIMIT = 0.15
"""Largest white-balance correction per channel (±15 %): the surroundings' mean colour
is a mix of illuminant and surface colour, so only a limited cast is read as light."""

LEVEL_AT_FULL = 0.2
"""Share of the way the object's mean luminance moves to the surroundings' at
``subject_strength`` 1 (all the way at 0)."""

CAST_AT_FULL = 1.0 / 3.0
"""Share of the (capped) colour cast applied at ``subject_strength`` 1 (all of it at 0)."""

GRADIENT_LIMIT = (0.7, 1.4)
"""Range of the luminance gradient's gain across the object (relative to its centre)."""

CHROMA_RATIO = (0.8, 1.25)
"""Range of the chroma scaling toward the surroundings' at ``subject_strength`` 0: a grey
scene mutes the object's colours a little, never to grey (its colour is its own; the
light's colour is the cast)."""

BRIGHT_QUANTILE = 0.9
"""The light level of a scene and of an object is that of their brightest tenth (this
quantile of luminance): what lit surfaces reach, not the mean, which a dark sky or a
black background drags down without dimming what stands in it."""

LUMA = np.array([0.2126, 0.7152, 0.0722], np.float32)
"""Rec. 709 weights of linear R, G, B in luminance."""


def to_lab(rgb: np.ndarray) -> np.ndarray:
    """uint8 RGB (…×3) to float32 CIE Lab (L in 0–100)."""
    return cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)


def to_rgb(lab: np.ndarray) -> np.ndarray:
    """float32 CIE Lab to uint8 RGB, clipped."""
    rgb = cv2.cvtColor(lab.astype(np.float32), cv2.COLOR_Lab2RGB)
    return np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)


def _srgb_to_linear(c: np.ndarray) -> np.ndarray:
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4).astype(np.float32)


_LINEAR = _srgb_to_linear(np.arange(256, dtype=np.float32) / 255.0)
"""Linear value of each 8-bit sRGB code (a table: uint8 inputs need no power function)."""


def to_linear(rgb: np.ndarray) -> np.ndarray:
    """uint8 (or 0–255 float) sRGB to float32 linear RGB in [0, 1]."""
    if rgb.dtype == np.uint8:
        if rgb.ndim == 2 or (rgb.ndim == 3 and rgb.shape[2] <= 4):
            return cv2.LUT(rgb, _LINEAR)  # the same table, many times faster
        return _LINEAR[rgb]
    return _srgb_to_linear(np.asarray(rgb, np.float32) / 255.0)


def from_linear(linear: np.ndarray) -> np.ndarray:
    """float linear RGB to float32 sRGB in 0–255 (not rounded, clipped to [0, 255])."""
    c = np.clip(linear, 0.0, 1.0)
    srgb = np.where(c <= 0.0031308, c * 12.92, 1.055 * np.power(c, 1 / 2.4) - 0.055)
    return (srgb * 255.0).astype(np.float32)


def weighted_stats(lab: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel weighted mean and standard deviation of an H×W×3 Lab image."""
    w = weight.astype(np.float64)[:, :, None]
    total = max(float(w.sum()), 1e-6)
    mean = (lab * w).sum(axis=(0, 1)) / total
    var = (((lab - mean) ** 2) * w).sum(axis=(0, 1)) / total
    return mean, np.sqrt(var)


def mean_luminance(rgb: np.ndarray, weight: np.ndarray) -> float:
    """Weighted mean linear luminance (0–1) of an h×w×3 uint8 image; ``weight`` is h×w,
    bool (the pixels to average) or float."""
    luminance = cv2.transform(to_linear(rgb), LUMA[None])
    if weight.dtype == bool:
        return float(cv2.mean(luminance, mask=weight.view(np.uint8))[0])
    w = weight.astype(np.float64)
    return float((luminance * w).sum() / max(float(w.sum()), 1e-6))


def bright_luminance(rgb: np.ndarray, weight: np.ndarray) -> float:
    """Linear luminance (0–1) of the brightest tenth (BRIGHT_QUANTILE) of an h×w×3 uint8
    image's pixels where ``weight`` (h×w, bool or float) is above half (all of them
    when none is)."""
    luminance = cv2.transform(to_linear(rgb), LUMA[None])
    chosen = weight > 0.5 if weight.dtype != bool else weight
    values = luminance[chosen] if chosen.any() else luminance.ravel()
    return float(np.percentile(values, 100 * BRIGHT_QUANTILE))


@dataclass(frozen=True)
class SceneLight:
    """The light of the surroundings, as :func:`scene_light` measures it.

    Attributes:
        mean, std: Lab mean and standard deviation (3,) of the surroundings.
        luminance: their mean linear luminance (0–1).
        chroma: their mean CIE chroma (per pixel, not of the mean colour).
        cast: per-channel white-balance gains (3,), luminance-neutral, within ±CAST_LIMIT.
        slope: (d/dy, d/dx) of log luminance per pixel: the gradient of the light, as
            fitted by a plane, times the share of the ring's variance the plane explains.
    """

    mean: np.ndarray
    std: np.ndarray
    luminance: float
    chroma: float
    cast: np.ndarray
    slope: tuple[float, float]
    bright: float | None = None
    """Luminance (0–1) of the surroundings' brightest tenth (their 90th percentile): the
    light level the scene's own lit objects reach; None: unknown (then ``luminance``)."""

    @staticmethod
    def neutral(mean: np.ndarray, std: np.ndarray) -> SceneLight:
        """Surroundings with the given Lab statistics and no measurable light: no cast,
        no gradient, a luminance that matches the mean lightness."""
        lightness = float(mean[0])
        y = ((lightness + 16.0) / 116.0) ** 3 if lightness > 8.0 else lightness / 903.3
        chroma = float(np.hypot(mean[1], mean[2]))
        return SceneLight(mean, std, y, chroma, np.ones(3, np.float32), (0.0, 0.0))


def scene_light(rgb: np.ndarray, ring: np.ndarray) -> SceneLight:
    """Measure the light of ``rgb`` (H×W×3 uint8) over the bool ``ring``."""
    if not ring.any():
        ring = np.ones_like(ring)
    # Every other (or every fourth) row and column: the light is smooth, and a few
    # thousand samples measure it.
    step = 4 if ring[::4, ::4].sum() >= 4000 else 2 if ring[::2, ::2].sum() >= 32 else 1
    sampled = ring[::step, ::step]
    pixels = rgb[::step, ::step][sampled]
    lab = to_lab(pixels[None]).reshape(-1, 3).astype(np.float64)
    linear = to_linear(pixels).astype(np.float64)
    mean_linear = linear.mean(axis=0)
    luminance = float(mean_linear @ LUMA)
    cast = np.ones(3, np.float32)
    if luminance > 1e-4:
        cast = np.clip(mean_linear / luminance, 1.0 - CAST_LIMIT, 1.0 + CAST_LIMIT)
        cast = (cast / float(cast @ LUMA)).astype(np.float32)
    ys, xs = np.nonzero(sampled)
    log_y = np.log(np.maximum(linear @ LUMA, 1e-3))
    slope = (0.0, 0.0)
    if ys.size >= 8 and np.ptp(ys) > 0 and np.ptp(xs) > 0:
        design = np.stack([np.ones_like(ys), ys * step, xs * step], axis=1).astype(np.float64)
        coefficients, *_ = np.linalg.lstsq(design, log_y, rcond=None)
        # A plane fitted to a busy ring (a dark table beside a bright wall) reads the
        # scene's content as light, and would flatten or overturn the object's own
        # shading: the slope counts in the share of the ring's variance it explains.
        residual = log_y - design @ coefficients
        variance = float(np.var(log_y))
        explained = 1.0 - float(np.var(residual)) / variance if variance > 1e-9 else 0.0
        trust = float(np.clip(explained, 0.0, 1.0))
        slope = (trust * float(coefficients[1]), trust * float(coefficients[2]))
    chroma = float(np.hypot(lab[:, 1], lab[:, 2]).mean())
    bright = float(np.percentile(linear @ LUMA, 100 * BRIGHT_QUANTILE))
    return SceneLight(lab.mean(axis=0), lab.std(axis=0), luminance, chroma, cast, slope, bright)


def harmonize(
    object_rgb: np.ndarray,
    object_weight: np.ndarray,
    scene_mean: np.ndarray | SceneLight,
    scene_std: np.ndarray | None,
    subject_strength: float,
) -> np.ndarray:
    """The object (h×w×3 uint8) in the scene's light, harmonised by ``1 - subject_strength``.

    Args:
        object_rgb: h×w×3 uint8 RGB.
        object_weight: h×w float alpha in [0, 1] saying which pixels are the object.
        scene_mean: the surroundings' :class:`SceneLight`, or their Lab mean (3,) alone
            (then ``scene_std`` is their Lab standard deviation and no cast or gradient
            is known).
        scene_std: see ``scene_mean``.
        subject_strength: 0–1. 1: the object keeps its own colours, only lit by the
            scene (gradient, a fifth of the level, a third of the capped cast); lower
            values move lightness mean and spread and chroma toward the surroundings
            (hue kept); 0: the object's mean lightness is the surroundings'.

    Returns:
        h×w×3 uint8 RGB.
    """
    if isinstance(scene_mean, SceneLight):
        light = scene_mean
    else:
        assert scene_std is not None
        light = SceneLight.neutral(np.asarray(scene_mean), np.asarray(scene_std))
    amount = float(np.clip(1.0 - subject_strength, 0.0, 1.0))
    # The object's statistics come from its solid pixels; an object that is translucent
    # everywhere (a glass, a faint print) has none above 0.5, so its alpha weighs them.
    solid = object_weight > 0.5
    weight = solid if solid.any() else object_weight

    height, width = object_weight.shape
    dy, dx = light.slope
    rows = (np.arange(height, dtype=np.float32) - (height - 1) / 2.0)[:, None]
    cols = (np.arange(width, dtype=np.float32) - (width - 1) / 2.0)[None, :]
    gain = np.clip(np.exp(dy * rows + dx * cols), *GRADIENT_LIMIT).astype(np.float32)

    if light.bright is not None:
        own_bright, scene_bright = bright_luminance(object_rgb, weight), light.bright
    else:  # only the surroundings' statistics are known: their mean is the level
        own_bright, scene_bright = mean_luminance(object_rgb, weight), light.luminance
    level_share = LEVEL_AT_FULL + (1.0 - LEVEL_AT_FULL) * amount
    level = (max(scene_bright, 1e-4) / max(own_bright, 1e-4)) ** level_share
    cast_share = CAST_AT_FULL + (1.0 - CAST_AT_FULL) * amount
    cast = np.power(light.cast, cast_share).astype(np.float32)
    # A gain g in linear light is g^(1/2.2) on the sRGB values (the pure-power model of
    # the sRGB curve): no round trip through linear light for the whole object. The
    # gain is the product of a per-pixel part (gradient, level) and a per-channel part
    # (cast), and so is its power.
    per_pixel = np.power(gain * np.float32(level), np.float32(1 / 2.2))
    per_channel = np.power(cast, np.float32(1 / 2.2)).astype(np.float32)
    lit = cv2.multiply(object_rgb, cv2.merge([per_pixel] * 3), dtype=cv2.CV_32F)
    lit *= per_channel
    if amount <= 0.0:
        return cv2.convertScaleAbs(lit)  # rounded and saturated to 0–255 (lit is ≥ 0)
    lit_rgb = np.clip(lit, 0.0, 255.0).astype(np.float32)

    # The light has set the level (multiplying keeps the object's contrast); what is
    # left to harmonise is the chroma, moved toward the surroundings' within CHROMA_RATIO.
    w = weight.astype(np.float64)
    lab = cv2.cvtColor(lit_rgb / 255.0, cv2.COLOR_RGB2Lab)
    chroma = np.hypot(lab[:, :, 1], lab[:, :, 2])
    own_chroma = float((chroma * w).sum() / max(float(w.sum()), 1e-6))
    chroma_ratio = float(np.clip(light.chroma / max(own_chroma, 1e-3), *CHROMA_RATIO)) ** amount
    lab[:, :, 1:] *= chroma_ratio
    if light.bright is None:
        # Statistics only: the mean lightness moves to theirs by shifting, which keeps
        # the spread.
        own_mean = float((lab[:, :, 0] * w).sum() / max(float(w.sum()), 1e-6))
        lab[:, :, 0] = np.clip(lab[:, :, 0] + amount * (float(light.mean[0]) - own_mean), 0, 100)
    return to_rgb(lab)
