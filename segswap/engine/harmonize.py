"""Colour harmonisation: pull an object's colours toward the scene around it."""

from __future__ import annotations

import cv2
import numpy as np


def to_lab(rgb: np.ndarray) -> np.ndarray:
    """uint8 RGB (…×3) to float32 CIE Lab (L in 0–100)."""
    return cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)


def to_rgb(lab: np.ndarray) -> np.ndarray:
    """float32 CIE Lab to uint8 RGB, clipped."""
    rgb = cv2.cvtColor(lab.astype(np.float32), cv2.COLOR_Lab2RGB)
    return np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)


def weighted_stats(lab: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel weighted mean and standard deviation of an H×W×3 Lab image."""
    w = weight.astype(np.float64)[:, :, None]
    total = max(float(w.sum()), 1e-6)
    mean = (lab * w).sum(axis=(0, 1)) / total
    var = (((lab - mean) ** 2) * w).sum(axis=(0, 1)) / total
    return mean, np.sqrt(var)


def harmonize(
    object_rgb: np.ndarray,
    object_weight: np.ndarray,
    scene_mean: np.ndarray,
    scene_std: np.ndarray,
    subject_strength: float,
) -> np.ndarray:
    """Move the object's Lab statistics toward the scene's.

    At ``subject_strength`` 1 the object is returned unchanged; at 0 its mean and spread
    of lightness and colour are those of the scene (Reinhard-style transfer, with the
    lightness spread only narrowed or widened by at most 2×, so the object keeps its
    form). In between the transfer is applied in proportion ``1 - subject_strength``,
    so the object's mean colour moves monotonically toward the scene's.

    Args:
        object_rgb: h×w×3 uint8 RGB.
        object_weight: h×w float alpha in [0, 1] saying which pixels are the object.
        scene_mean, scene_std: Lab mean and standard deviation (3,) of the surroundings.
        subject_strength: 0–1.
    """
    amount = 1.0 - float(subject_strength)
    if amount <= 0.0:
        return object_rgb.copy()
    lab = to_lab(object_rgb)
    # The object's statistics come from its solid pixels; an object that is translucent
    # everywhere (a glass, a faint print) has none above 0.5, so its alpha weighs them.
    solid = object_weight > 0.5
    mean, std = weighted_stats(lab, solid if solid.any() else object_weight)
    ratio = np.clip(scene_std / np.maximum(std, 1e-3), 0.5, 2.0)
    ratio[1:] = 1.0  # chroma: shift only, so colours don't wash out or saturate wildly
    transferred = (lab - mean) * ratio + scene_mean
    return to_rgb(lab + amount * (transferred - lab))
