"""Measurable image properties the quality tests assert on."""

from __future__ import annotations

import cv2
import numpy as np


def lab(rgb: np.ndarray) -> np.ndarray:
    """uint8 RGB → float32 Lab (L 0–100)."""
    return cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)


def delta_e(a: np.ndarray, b: np.ndarray) -> float:
    """CIE76 ΔE between two Lab colours."""
    return float(np.linalg.norm(np.asarray(a, np.float64) - np.asarray(b, np.float64)))


def mean_lab(rgb: np.ndarray, where: np.ndarray) -> np.ndarray:
    return lab(rgb)[where].mean(axis=0)


def distance_from(mask: np.ndarray) -> np.ndarray:
    """Pixel distance of every pixel to the nearest True pixel of ``mask`` (0 inside)."""
    return cv2.distanceTransform((~mask).view(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)


def ring(mask: np.ndarray, inner: float, outer: float) -> np.ndarray:
    """Pixels more than ``inner`` and at most ``outer`` pixels outside ``mask``."""
    d = distance_from(mask)
    return (d > inner) & (d <= outer)


def edge_band(mask: np.ndarray, width: int) -> np.ndarray:
    """Pixels within ``width`` px of ``mask``'s edge, on either side."""
    outside = distance_from(mask)
    inside = distance_from(~mask)
    return ((outside > 0) & (outside <= width)) | ((inside > 0) & (inside <= width))


def gradient_magnitude(rgb: np.ndarray) -> np.ndarray:
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3)
    return np.hypot(gx, gy)


def laplacian_energy(rgb: np.ndarray, where: np.ndarray) -> float:
    """Mean |Laplacian| of the gray image over ``where`` (high-frequency energy)."""
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return float(np.abs(cv2.Laplacian(gray, cv2.CV_32F, ksize=1))[where].mean())


def dominant_period(gray: np.ndarray, axis: int, min_lag: int = 4) -> int:
    """Fundamental period (pixels) along ``axis``: the first autocorrelation peak beyond
    ``min_lag`` that is at least 80 % as high as the highest one."""
    signal = gray.astype(np.float64)
    # Take out the slow shading first: only the repeating structure should count.
    signal = signal - cv2.GaussianBlur(signal, (0, 0), max(signal.shape) / 6)
    signal = signal - signal.mean(axis=axis, keepdims=True)
    n = signal.shape[axis]
    spectrum = np.fft.rfft(signal, n=2 * n, axis=axis)
    acf = np.fft.irfft(np.abs(spectrum) ** 2, axis=axis)
    acf = acf.mean(axis=1 - axis) if signal.ndim == 2 else acf
    acf = acf[: 3 * n // 4 + 1]
    lags = np.arange(acf.size)
    peaks = [
        lag for lag in lags[min_lag:-1] if acf[lag] >= acf[lag - 1] and acf[lag] >= acf[lag + 1]
    ]
    highest = max(acf[lag] for lag in peaks)
    # The fundamental: the first peak nearly as high as the highest (multiples tie with it).
    return int(min(lag for lag in peaks if acf[lag] >= 0.8 * highest))


def bright_share(image: np.ndarray, where: np.ndarray, reference: np.ndarray) -> float:
    """Share (0–1) of ``where`` pixels brighter (Lab L) than the 95th percentile of the
    ``reference`` pixels: traces of a bright old object left in a fill."""
    lightness = lab(image)[:, :, 0]
    threshold = float(np.percentile(lightness[reference], 95))
    return float(np.mean(lightness[where] > threshold))


def ramp_share(
    image: np.ndarray, alpha: np.ndarray, colour: np.ndarray, reach: int = 3
) -> tuple[float, int]:
    """Across an object's soft edge, the share of edge pixels whose output is in between.

    For each pixel where ``alpha`` (H×W, 0–1, the object's placed alpha) is between 0.3
    and 0.7 and ramps over at least 2 px (its gradient is at most 0.5 per pixel), the
    output's lightness there is compared with the object's own colour at that pixel
    (``colour``, H×W×3 uint8, the object as placed) and with the output ``reach`` px
    outside along the alpha gradient (the scene). Returns the share of those pixels
    (among the ones where the two differ by at least 10 L) whose lightness lies in the
    middle 70 % between them — near 1 for an edge that ramps like its alpha, near 0 for
    a one-pixel step (each pixel is either object or scene) — and how many were measured.
    """
    gy = cv2.Sobel(alpha, cv2.CV_32F, 0, 1, ksize=3) / 8.0
    gx = cv2.Sobel(alpha, cv2.CV_32F, 1, 0, ksize=3) / 8.0
    norm = np.hypot(gx, gy)
    crossing = (np.abs(alpha - 0.5) <= 0.2) & (norm > 0.05) & (norm <= 0.5)
    ys, xs = np.nonzero(crossing)
    if ys.size == 0:
        return 0.0, 0
    uy, ux = gy[ys, xs] / norm[ys, xs], gx[ys, xs] / norm[ys, xs]
    lightness = lab(image)[:, :, 0]
    py = (ys - uy * reach).astype(np.float32)[:, None]
    px = (xs - ux * reach).astype(np.float32)[:, None]
    outside = cv2.remap(lightness, px, py, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    inside = lab(colour)[:, :, 0][ys, xs]
    span = inside - outside[:, 0]
    keep = np.abs(span) >= 10.0
    if not keep.any():
        return 0.0, 0
    t = (lightness[ys, xs][keep] - outside[keep, 0]) / span[keep]
    return float(np.mean((t > 0.15) & (t < 0.85))), int(keep.sum())


def edge_colour_errors(
    image: np.ndarray,
    reference: np.ndarray,
    alpha: np.ndarray,
    old_background: tuple[int, int, int],
) -> tuple[np.ndarray, np.ndarray]:
    """Colour errors of the pixels within 2 px inside an object's edge.

    ``reference`` is the same edit made with the object's true colours and alpha (so at
    each pixel a mix of the object's own colour and the scene); ``alpha`` (H×W, 0–1) is
    the object's placed alpha. For each pixel with alpha at least 0.5 and within 2 px of
    where it drops below 0.5, returns (ΔE76 from ``image`` to ``reference``, ΔE76 from
    ``image`` to the object's old background colour ``old_background``, RGB).
    """
    inside = alpha >= 0.5
    depth = cv2.distanceTransform(inside.view(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    edge = inside & (depth <= 2.0)
    out = lab(image)[edge]
    to_reference = np.linalg.norm(out - lab(reference)[edge], axis=1)
    old = lab(np.asarray(old_background, np.uint8).reshape(1, 1, 3))[0, 0]
    return to_reference, np.linalg.norm(out - old, axis=1)


def edge_mix_errors(
    image: np.ndarray, alpha: np.ndarray, old_background: tuple[int, int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Like :func:`edge_colour_errors` without a reference edit: the nearby interior is
    the output 4 px further in (along the alpha gradient), the nearby scene the output
    4 px out from the 0.5 line. Returns (ΔE76 from each edge pixel to the nearest mix of
    the two, ΔE76 from it to the old background colour)."""
    inside = alpha >= 0.5
    depth = cv2.distanceTransform(inside.view(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    smooth = cv2.GaussianBlur(alpha, (0, 0), 1.0)
    gy = cv2.Sobel(smooth, cv2.CV_32F, 0, 1, ksize=3)
    gx = cv2.Sobel(smooth, cv2.CV_32F, 1, 0, ksize=3)
    norm = np.hypot(gx, gy)
    edge = inside & (depth <= 2.0) & (norm > 1e-3)
    ys, xs = np.nonzero(edge)
    uy, ux = gy[ys, xs] / norm[ys, xs], gx[ys, xs] / norm[ys, xs]
    out = lab(image)
    d = depth[ys, xs]

    def sample(offset: np.ndarray) -> np.ndarray:
        py = (ys + uy * offset).astype(np.float32)[:, None]
        px = (xs + ux * offset).astype(np.float32)[:, None]
        return cv2.remap(out, px, py, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)[:, 0]

    interior = sample(np.full(d.shape, 4.0, np.float32))
    scene = sample(-(d + 4.0))
    pixel = out[ys, xs]
    span = interior - scene
    share = ((pixel - scene) * span).sum(axis=1) / np.maximum((span**2).sum(axis=1), 1e-6)
    nearest = scene + np.clip(share, 0.0, 1.0)[:, None] * span
    old = lab(np.asarray(old_background, np.uint8).reshape(1, 1, 3))[0, 0]
    return np.linalg.norm(pixel - nearest, axis=1), np.linalg.norm(pixel - old, axis=1)
