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
