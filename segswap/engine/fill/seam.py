"""Seamless joins: the fill's low frequencies are shifted to meet the scene around it."""

from __future__ import annotations

import cv2
import numpy as np


def push_pull(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Fill the gaps of a sparse field smoothly (H×W×C values known where weight > 0).

    Averages known values down a pyramid, then interpolates back up, taking known values
    where they are and the smooth coarser estimate elsewhere (a fast stand-in for a
    membrane / Laplace interpolation).
    """
    height, width = weights.shape
    if min(height, width) <= 2:
        total = max(float(weights.sum()), 1e-6)
        mean = (values * weights[:, :, None]).sum(axis=(0, 1)) / total
        return np.broadcast_to(mean, values.shape).astype(np.float32)
    size = ((width + 1) // 2, (height + 1) // 2)
    coarse_weight = cv2.resize(weights, size, interpolation=cv2.INTER_AREA)
    coarse_sum = cv2.resize(values * weights[:, :, None], size, interpolation=cv2.INTER_AREA)
    coarse = coarse_sum / np.maximum(coarse_weight, 1e-6)[:, :, None]
    filled = push_pull(coarse.astype(np.float32), np.minimum(coarse_weight * 4.0, 1.0))
    up = cv2.resize(filled, (width, height), interpolation=cv2.INTER_LINEAR)
    keep = weights[:, :, None]
    return (values * keep + up * (1.0 - keep)).astype(np.float32)


def boundary_correction(mismatch: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """A smooth H×W×3 correction that equals ``mismatch`` where ``seen`` (the known
    pixels along the hole's edge) and varies slowly between them across the hole.

    ``mismatch`` is what the scene is minus what the fill says it should be there; adding
    the correction in the hole makes the fill's low frequencies meet the scene, as a
    gradient-domain (Poisson) paste would, while its texture stays.
    """
    height, width = seen.shape
    # The correction is smooth: build it at a quarter of the resolution.
    size = (max(1, (width + 3) // 4), max(1, (height + 3) // 4))
    values = np.where(seen[:, :, None], mismatch, 0.0).astype(np.float32)
    weight = cv2.resize(seen.astype(np.float32), size, interpolation=cv2.INTER_AREA)
    summed = cv2.resize(values, size, interpolation=cv2.INTER_AREA)
    coarse = summed / np.maximum(weight, 1e-6)[:, :, None]
    smooth = push_pull(coarse.astype(np.float32), np.minimum(weight * 4.0, 1.0))
    return cv2.resize(smooth, (width, height), interpolation=cv2.INTER_LINEAR)
