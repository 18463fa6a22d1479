"""Pattern transfer: a tiled pattern becomes the surface of the region, following its shape.

Four steps, all on the box of the region's reach:

- **Tiling without seams** (:mod:`segswap.engine.tiling`): a swatch that is not a
  designed repeat is quilted into a periodic tile of the period the repeats ask for.
- **The garment's light, not its colours.** The light on the region is its luminance
  (linear light) averaged over the pixels that have the garment's own colour: pixels
  whose chromaticity (r, g over r + g + b, which light does not change) is far from the
  garment's dominant one — a white strap, a badge, a logo — are albedo, not light, and
  are left out of the average (a normalised convolution, widened where a wide item
  leaves a hole). Bright structures narrower than a sixteenth of the region — a
  specular highlight on a glaze, a glint, a sunlit speck, an item of the garment's own
  colour — are taken off by a grayscale opening first. They do not glow in the print.
- **Warp.** The log of that light, smoothed, stands in for the surface's height: the
  pattern is sampled at positions displaced along its gradient, so the print crowds
  into folds and creases and stretches over what faces the light, as cloth does.
- **Shading.** The light relative to its mean multiplies the pattern (in linear light,
  as light multiplies a surface's colour), in the log domain with shadows kept nearly
  as measured and highlights softly held under 1.2× (LIGHT_RANGE): what is brighter
  than the garment's typical light is mostly sheen, which a printed cloth does not
  turn into a bright patch of its print. The print's level moves a third of the way
  toward the garment's (a print on a dark jacket is darker than on a white shirt).

The outline is anti-aliased and follows the garment: the mask's coverage is passed
through a guided filter with the scene as guide, so it snaps to the garment's edge
within a few pixels rather than following the mask's stair-steps.
"""

from __future__ import annotations

import cv2
import numpy as np

from segswap.engine.harmonize import LUMA, from_linear, to_linear
from segswap.engine.matte import guided_filter
from segswap.engine.region import FEATHER_PX, EditRegion, bounding_box
from segswap.engine.tiling import tile_pattern, tile_size, tile_with_period

__all__ = ["tile_pattern", "transfer_pattern"]

KNEE = 0.8
"""Linear value above which brightening is compressed toward (never onto) white."""

LIGHT_RANGE = (0.03, 1.2)
"""Soft limits of the light ratio (darkest shadow, brightest highlight) applied to the
pattern; ratios inside are kept nearly as measured."""

ALBEDO_CHROMA = 0.1
"""Chromaticity distance (r, g over r + g + b) from the garment's dominant colour up to
which a pixel is the garment in the light estimate (weight 1); its weight falls to 0 at
twice that (a different material: a white strap on orange is about 0.28 away, a fold's
deeper shadow of the same orange under 0.1)."""

DETAIL_SHARE = 1.0
"""Share (as a power) of the surface's fine relief kept in the print (see
:func:`surface_detail`); 0 leaves only the smooth light. At 1 the weave, the grain, a
crease show through the print as deep as they are in the scene (items stay out: the
relief is gated by the garment weight, and the glow comes from the light, not from it)."""

DETAIL_RANGE = (0.25, 1.2)
"""Soft limits of that relief's ratio (deepest crevice, brightest glint): a crevice
darkens the print down to a quarter; a glint or a sheen, far brighter than relief gets,
lightens it by under a fifth (at 1.5 a narrow sheen of the cloth's own colour glowed
10 L* in a plain print)."""

ALBEDO_BRIGHT = 4.0
"""Luminance, as a multiple of the garment's median, from which a pixel is a bright item
on it rather than light (its weight falls to 0 from half this)."""

WARP_GAIN = 1.0
"""Displacement of the print, in units of the warp's smoothing scale, per unit of log
light change over that scale (see :func:`warp_field`). At 1 the field stays below its
cap on most surfaces, so it bends smoothly; a larger gain saturates the cap while the
direction keeps turning, and the print kinks and swirls."""

STRAIN_MAX = 0.5
"""Most local stretch (99th percentile of the displacement's gradient, unitless; 1
folds the print over itself) the warp may have: a safety net, the field is scaled down
to it where the surface's light would ask for more."""

WARP_MAX_SHARE = 0.10
"""Largest displacement of the print, as a share of the tile's shorter side."""

OUTLINE_RADIUS = 3
"""Radius (pixels) of the guided filter that fits the outline to the garment's edge."""

OUTLINE_EPS = 1e-3
"""Regularisation of that filter (guide in 0–1): edges of contrast above ~0.03 steer it."""

WORK_SIDE = 256
"""The light and the warp are estimated on a copy whose longer side is about this many
pixels (they are smooth), then scaled back up."""


def shading_sigma(height: int, width: int) -> float:
    """Blur (pixels) separating the region's shading (kept) from its old texture (replaced)."""
    return max(2.0, min(height, width) / 64)


def soft_limit(ratio: np.ndarray) -> np.ndarray:
    """The light ratio compressed in the log domain toward LIGHT_RANGE (never past it)."""
    log_ratio = np.log(np.maximum(ratio, 1e-4))
    low, high = np.log(LIGHT_RANGE[0]), np.log(LIGHT_RANGE[1])
    limit = np.where(log_ratio < 0, -low, high)
    return np.exp(limit * np.tanh(log_ratio / limit)).astype(np.float32)


def apply_light(linear: np.ndarray, ratio: np.ndarray) -> np.ndarray:
    """Linear RGB (…×3, 0–1) lit by ``ratio`` (…): multiplied, with values above KNEE
    compressed so that they approach 1 without reaching it."""
    lit = linear * ratio[..., None]
    over = lit > KNEE
    headroom = 1.0 - KNEE
    compressed = KNEE + headroom * np.tanh((lit - KNEE) / headroom)
    return np.where(over, compressed, lit).astype(np.float32)


LUT_SIZE = 16384
"""Entries of the table from lit linear values (0 to LIGHT_RANGE's top) to sRGB."""

_LIT_TO_SRGB = from_linear(
    apply_light(np.linspace(0.0, LIGHT_RANGE[1], LUT_SIZE, dtype=np.float32)[:, None], np.ones(1))
)[:, 0]


def lit_to_srgb(lit: np.ndarray) -> np.ndarray:
    """Lit linear RGB (…×3, 0 to LIGHT_RANGE's top) to sRGB (float32, 0–255) through
    :func:`apply_light`'s knee, by table: ``from_linear(apply_light(x, 1))`` within a
    fraction of a code value, many times faster."""
    # lit is never negative nor above LIGHT_RANGE's top (a ratio at most that, times a
    # colour at most 1): the rounded index stays within the table.
    index = (lit * np.float32((LUT_SIZE - 1) / LIGHT_RANGE[1]) + np.float32(0.5)).astype(np.uint16)
    return np.take(_LIT_TO_SRGB, np.minimum(index, LUT_SIZE - 1))


def garment_weight(linear: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """How much each pixel (h×w×3 linear RGB) is the garment's own material (h×w float32
    in [0, 1]), over the ``inside`` pixels (0 elsewhere).

    Two tests, both blind to how much light falls on the pixel as far as possible: its
    chromaticity against the garment's median one (ALBEDO_CHROMA; not
    used on pixels too dark to have a reliable colour), and its luminance against the
    garment's median luminance: ALBEDO_BRIGHT times brighter is a bright item (a white
    tag on a dark jacket), not light (a fold's highlight rarely multiplies the light
    that much)."""
    if int(inside.sum()) < 16:
        return inside.astype(np.float32)
    # Colour from a lightly blurred copy: the fabric's grain and the camera's noise
    # scatter single pixels' chromaticity.
    smooth = cv2.GaussianBlur(linear, (0, 0), 1.5)
    total = smooth.sum(axis=2) + 1e-4
    chroma = smooth[:, :, :2] / total[:, :, None]
    luminance = cv2.transform(smooth, LUMA[None])
    median_luminance = float(np.median(luminance[inside]))
    reliable = total > 0.03
    lit = inside & reliable
    weight = np.ones(inside.shape, np.float32)
    if int(lit.sum()) >= 16:
        reference = np.median(chroma[lit], axis=0)
        distance = np.sqrt(((chroma - reference) ** 2).sum(axis=2))
        by_colour = np.clip((2.0 * ALBEDO_CHROMA - distance) / ALBEDO_CHROMA, 0.0, 1.0)
        weight = np.where(reliable, by_colour, 1.0).astype(np.float32)
    brightness = luminance / max(median_luminance, 1e-4)
    by_level = np.clip((ALBEDO_BRIGHT - brightness) / (ALBEDO_BRIGHT / 2), 0.0, 1.0)
    return (weight * by_level * inside).astype(np.float32)


HIGHLIGHT_SHARE = 1.0 / 16
"""Side of the opening that strips bright items off the light, as a share of the
working copy's longer side (see :func:`without_bright_items`)."""


def without_bright_items(
    luminance: np.ndarray, inside: np.ndarray, weight: np.ndarray
) -> np.ndarray:
    """``luminance`` (h×w float32) with bright structures narrower than HIGHLIGHT_SHARE
    of the longer side taken off: a grayscale opening (a local minimum, then maximum,
    over a disc) over the ``inside`` pixels (bool; the others count as the median of the garment's
    own pixels, ``weight`` ≥ 0.5, so they neither pull an edge down nor shelter a
    highlight along it),
    smoothed so its discs leave no shapes. A specular highlight, a glint, a
    white strap or a sunlit speck is narrow and bright: it is not the light the print
    is lit by. Shadows and folds are dark and pass through an opening unchanged, and so
    do lit areas wider than its side."""
    side = max(3, round(HIGHLIGHT_SHARE * max(luminance.shape)) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side))
    garment = weight >= 0.5
    if not garment.any():
        return luminance
    typical = float(np.median(luminance[garment]))
    lifted = np.where(inside, luminance, typical).astype(np.float32)
    opened = cv2.dilate(cv2.erode(lifted, kernel), kernel)
    opened = cv2.GaussianBlur(opened, (0, 0), side / 4)
    return np.minimum(luminance, opened).astype(np.float32)


def garment_light(luminance: np.ndarray, weight: np.ndarray, sigma: float) -> np.ndarray:
    """The light on the garment (h×w float32): ``luminance`` averaged over ``weight``
    with a Gaussian of ``sigma`` px, and over 3× and 9× that where too little of the
    garment lies near (a wide strap's middle); the weighted mean where none does."""
    mean = float((luminance * weight).sum() / max(float(weight.sum()), 1e-6))
    light = np.full(luminance.shape, mean, np.float32)
    for scale in (9.0, 3.0, 1.0):
        summed = cv2.GaussianBlur(luminance * weight, (0, 0), sigma * scale)
        support = cv2.GaussianBlur(weight, (0, 0), sigma * scale)
        estimate = summed / np.maximum(support, 1e-6)
        trust = np.clip(support / 0.3, 0.0, 1.0)
        light = trust * estimate + (1.0 - trust) * light
    return light.astype(np.float32)


def warp_field(log_light: np.ndarray, sigma: float, limit: float) -> tuple[np.ndarray, np.ndarray]:
    """(dy, dx) displacement (pixels of the working copy) of where the print is sampled:
    ``WARP_GAIN`` × ``sigma`` × the change of the log light's relief (smoothed over
    ``sigma``, less its trend over 4 × ``sigma``) over ``sigma``, along its gradient, at
    most ``limit`` pixels. Sampling ahead on the way up the light
    crowds the print into the dark of a fold and stretches it over a lit ridge."""
    # Band-pass: a fold's relief, not the slow fall-off of light across the region (it
    # would drift the whole print and change its apparent period).
    smooth = cv2.GaussianBlur(log_light, (0, 0), sigma) - cv2.GaussianBlur(
        log_light, (0, 0), 4 * sigma
    )
    dy = cv2.Sobel(smooth, cv2.CV_32F, 0, 1, ksize=3) / 8.0
    dx = cv2.Sobel(smooth, cv2.CV_32F, 1, 0, ksize=3) / 8.0
    gain = WARP_GAIN * sigma * sigma
    dy, dx = dy * gain, dx * gain
    length = np.sqrt(dy * dy + dx * dx)
    # Soft cap: a deep crease bends the print, never scrambles it.
    scale = limit * np.tanh(length / max(limit, 1e-6)) / np.maximum(length, 1e-6)
    return dy * scale, dx * scale


OUTLINE_DELTA_E = 12.0
"""Outside the mask, pixels up to this far (ΔE76) from the garment's median colour take
the print fully, none from twice that."""

OUTLINE_BLOCK = 64
"""Side (pixels) of the blocks the outline is fitted in: only those the edge crosses."""


def limit_strain(
    dy: np.ndarray, dx: np.ndarray, inside: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(dy, dx) scaled so that the 99th percentile of their strain (the gradient's
    magnitude, per Sobel) over ``inside`` (bool) is at most STRAIN_MAX: the print is bent,
    never folded over itself."""
    strain = np.sqrt(
        sum(
            cv2.Sobel(d, cv2.CV_32F, *order, ksize=3) ** 2 / 64.0
            for d in (dy, dx)
            for order in ((1, 0), (0, 1))
        )
    )
    peak = float(np.percentile(strain[inside], 99)) if inside.any() else 0.0
    scale = min(1.0, STRAIN_MAX / max(peak, 1e-6))
    return (dy * scale).astype(np.float32), (dx * scale).astype(np.float32)


def surface_detail(
    patch: np.ndarray, light: np.ndarray, weight: np.ndarray, offset: float, size: tuple
) -> np.ndarray:
    """The surface's fine relief (h×w float32 ratio around 1): its full-resolution
    luminance over the smooth light, to the power DETAIL_SHARE, softly within
    DETAIL_RANGE — the weave, a brick's mortar, a leaf's veins show through the print as
    through paint. Where the pixel is not the garment's material (``weight``, from the
    reduced copy, eroded and squared to keep off an item's edge) it is 1: a strap's or a badge's
    brightness stays out, as in the light itself."""
    luminance = cv2.transform(to_linear(patch), LUMA[None])
    smooth = cv2.resize(light, size, interpolation=cv2.INTER_LINEAR)
    # Kept a pixel of the reduced copy off an item's edge (eroded), then squared.
    trust = cv2.resize(
        cv2.erode(weight, np.ones((3, 3), np.uint8)), size, interpolation=cv2.INTER_LINEAR
    )
    log_detail = np.log((luminance + offset) / (smooth + offset))
    low, high = np.log(DETAIL_RANGE[0]), np.log(DETAIL_RANGE[1])
    limit = np.where(log_detail < 0, -low, high)
    log_detail = limit * np.tanh(log_detail / limit)
    return np.exp(DETAIL_SHARE * trust * trust * log_detail).astype(np.float32)


def outline_coverage(patch: np.ndarray, region: EditRegion, box_slices: tuple) -> np.ndarray:
    """The region's coverage (h×w float32 in [0, 1]) on the box, fitted to the scene's
    edges: the grown mask through a guided filter with the scene's gray as guide, kept
    within FEATHER_PX of the grown mask (the edit's reach). Deep inside the mask it stays
    1 (the garment's own edges, a strap on it, are inside), far outside 0; the filter
    runs only on the blocks the mask's edge crosses."""
    inside = np.ascontiguousarray(region.grown[box_slices])
    source = inside.astype(np.float32)
    coverage = source.copy()
    margin = 2 * OUTLINE_RADIUS + FEATHER_PX + 1
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (2 * margin + 1, 2 * margin + 1))
    grown = cv2.dilate(inside.view(np.uint8), kernel)
    shrunk = cv2.erode(inside.view(np.uint8), kernel)
    edge = grown != shrunk
    if not edge.any():
        return coverage
    gray = cv2.cvtColor(patch, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    height, width = inside.shape
    step = OUTLINE_BLOCK
    pad = 2 * OUTLINE_RADIUS + 1
    blocks_down, blocks_across = -(-height // step), -(-width // step)
    padded = np.zeros((blocks_down * step, blocks_across * step), bool)
    padded[:height, :width] = edge
    busy = padded.reshape(blocks_down, step, blocks_across, step).any(axis=(1, 3))
    for by, bx in zip(*np.nonzero(busy), strict=True):
        top, left = int(by) * step, int(bx) * step
        rows = slice(max(0, top - pad), min(height, top + step + pad))
        cols = slice(max(0, left - pad), min(width, left + step + pad))
        fitted = guided_filter(gray[rows, cols], source[rows, cols], OUTLINE_RADIUS, OUTLINE_EPS)
        bottom, right = min(height, top + step), min(width, left + step)
        target = (slice(top, bottom), slice(left, right))
        inner = (
            slice(top - rows.start, bottom - rows.start),
            slice(left - cols.start, right - cols.start),
        )
        band = edge[target]
        block = coverage[target]
        block[band] = np.clip(fitted[inner][band], 0.0, 1.0)
    reach = region.distance[box_slices] <= FEATHER_PX
    coverage[~reach] = 0.0
    # Outside the mask the print spreads only onto what looks like the garment: the
    # feather band over another surface (a background, a fringe) keeps the scene.
    outside = reach & ~inside & (coverage > 0)
    if outside.any():

        def lab(pixels: np.ndarray) -> np.ndarray:
            return cv2.cvtColor(pixels[None].astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)[0]

        # The garment's colour from a sparse grid of its pixels (a few thousand).
        stride = max(1, int(np.sqrt(inside.size / 4000)))
        sample = patch[::stride, ::stride][inside[::stride, ::stride]]
        garment = np.median(lab(sample if len(sample) else patch[inside]), axis=0)
        distance = np.linalg.norm(lab(patch[outside]) - garment, axis=1)
        alike = np.clip((2 * OUTLINE_DELTA_E - distance) / OUTLINE_DELTA_E, 0.0, 1.0)
        coverage[outside] *= alike
    return coverage


LEVEL_SHARE = 0.35
"""Share of the way (in log luminance) the print's mean moves toward the garment's: a
print on a dark jacket is darker than on a white shirt, as the same light makes it, but
keeps most of its own tone (the garment's albedo is unknown)."""

LEVEL_RANGE = (0.3, 1.5)
"""Limits of that gain."""


def print_level(tile: np.ndarray, garment_luminance: float) -> float:
    """Gain (within LEVEL_RANGE) on the print's light: LEVEL_SHARE of the way from the
    ``tile``'s (h×w×C uint8) mean linear luminance to ``garment_luminance`` (0–1)."""
    colour = to_linear(np.ascontiguousarray(tile[::4, ::4, :3]))
    own = float(cv2.transform(colour, LUMA[None]).mean())
    gain = (max(garment_luminance, 1e-4) / max(own, 1e-4)) ** LEVEL_SHARE
    return float(np.clip(gain, *LEVEL_RANGE))


def transfer_pattern(
    crop: np.ndarray,
    region: EditRegion,
    rgba: np.ndarray,
    across: int,
    down: int,
    fashion_strength: float,
) -> np.ndarray:
    """The crop with the pattern laid over its grown mask (see the module docstring).

    ``across`` × ``down`` tiles cover the box of the reach (the grown mask and its
    feather band), before the warp; ``fashion_strength`` (0–1) mixes from the region
    unchanged (0) to the full pattern (1); where the pattern is transparent the surface
    stays.
    """
    if fashion_strength <= 0.0:
        return crop.copy()
    box = bounding_box(region.blend > 0)
    height, width = box.height, box.width
    patch = crop[box.slices]
    tile_h, tile_w = tile_size(height, width, across, down)
    tile = tile_with_period(rgba, tile_h, tile_w)

    # Light and warp on a reduced copy: both are smooth.
    factor = max(1.0, max(height, width) / WORK_SIDE)
    small = (max(1, round(width / factor)), max(1, round(height / factor)))
    linear_small = to_linear(cv2.resize(patch, small, interpolation=cv2.INTER_AREA))
    inside = region.grown[box.slices].astype(np.uint8)
    inside_small = cv2.resize(inside, small, interpolation=cv2.INTER_NEAREST) > 0
    weight = garment_weight(linear_small, inside_small)
    luminance = without_bright_items(cv2.transform(linear_small, LUMA[None]), inside_small, weight)
    sigma = shading_sigma(height, width) / factor
    light = garment_light(luminance, weight, sigma)
    offset = 0.01  # keeps the ratio steady on very dark surfaces, where noise dominates
    mean = float((light * weight).sum() / max(float(weight.sum()), 1e-6))
    log_light = np.log(light + offset)
    limit = WARP_MAX_SHARE * min(tile_h, tile_w) / factor
    # Folds, not the surface's fine texture (fur, weave), bend the print: the warp's
    # scale is at least a sixth of a tile.
    warp_sigma = max(2.0 * sigma, min(tile_h, tile_w) / 6 / factor)
    dy, dx = limit_strain(*warp_field(log_light, warp_sigma, limit), inside_small)

    size = (width, height)
    ratio_small = soft_limit((light + offset) / (mean + offset)) * print_level(tile, mean)
    ratio = cv2.resize(ratio_small, size, interpolation=cv2.INTER_LINEAR)
    if DETAIL_SHARE > 0.0:
        ratio *= surface_detail(patch, light, weight, offset, size)
    dy = cv2.resize(dy, size, interpolation=cv2.INTER_LINEAR) * factor
    dx = cv2.resize(dx, size, interpolation=cv2.INTER_LINEAR) * factor
    dx += np.arange(width, dtype=np.float32)[None, :]
    dy += np.arange(height, dtype=np.float32)[:, None]
    # BORDER_WRAP: the tile repeats, however far the coordinates run.
    rgb_tile = np.ascontiguousarray(tile[:, :, :3])
    pattern = cv2.remap(rgb_tile, dx, dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)
    alpha: np.ndarray | float = 1.0
    if tile.shape[2] == 4 and int(tile[:, :, 3].min()) < 255:
        alpha_tile = np.ascontiguousarray(tile[:, :, 3])
        sampled = cv2.remap(alpha_tile, dx, dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)
        alpha = sampled.astype(np.float32) / 255.0
    coverage = fashion_strength * alpha * outline_coverage(patch, region, box.slices)

    lit = cv2.multiply(to_linear(pattern), cv2.merge([ratio] * 3))
    shaded = lit_to_srgb(lit)
    base = patch.astype(np.float32)
    weight = np.ascontiguousarray(coverage, np.float32)
    mixed = cv2.blendLinear(shaded, base, weight, 1.0 - weight)
    result = crop.copy()
    result[box.slices] = cv2.convertScaleAbs(mixed)
    return result
