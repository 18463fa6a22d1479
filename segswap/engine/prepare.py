"""Normalise decoded inputs into the shapes every engine expects."""

from __future__ import annotations

import cv2
import numpy as np

from segswap.errors import InvalidParameter


def as_rgb(image: np.ndarray) -> np.ndarray:
    """H×W×3 uint8 RGB from an H×W gray, H×W×3 RGB or H×W×4 RGBA uint8 array.

    An RGBA scene is flattened by dropping its alpha (its colour values are kept).
    """
    if image.ndim == 2:
        return np.repeat(image[:, :, None], 3, axis=2)
    return np.ascontiguousarray(image[:, :, :3])


def as_rgba(image: np.ndarray) -> np.ndarray:
    """H×W×4 uint8 RGBA; images without alpha become fully opaque."""
    if image.ndim == 3 and image.shape[2] == 4:
        return np.ascontiguousarray(image)
    rgb = as_rgb(image)
    alpha = np.full(rgb.shape[:2] + (1,), 255, np.uint8)
    return np.concatenate([rgb, alpha], axis=2)


def mask_levels(mask: np.ndarray) -> np.ndarray:
    """The H×W uint8 levels a mask image is read from (> 127 = edit).

    An RGBA mask whose alpha varies is read from its alpha; an RGB(A) one from its
    luminance; an L one as it is.
    """
    if mask.ndim == 3 and mask.shape[2] == 4 and int(mask[:, :, 3].min()) < 255:
        return mask[:, :, 3]
    if mask.ndim == 3:
        return cv2.cvtColor(np.ascontiguousarray(mask[:, :, :3]), cv2.COLOR_RGB2GRAY)
    return mask


def mask_from_image(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The edit region as an H×W bool array for a scene of ``size`` = (H, W).

    The mask image may be L, 1-bit, RGB (its luminance counts) or RGBA. An RGBA mask whose
    alpha varies is read from its alpha (opaque = edit); otherwise from its luminance.
    A pixel is in the region when its value is above 127. A mask of another size than the
    scene is resized to it with nearest-neighbour sampling, so it keeps hard edges.

    Raises:
        InvalidParameter: no pixel of the mask is above 127.
    """
    gray = mask_levels(mask)
    height, width = size
    if gray.shape != (height, width):
        gray = cv2.resize(gray, (width, height), interpolation=cv2.INTER_NEAREST)
    region = gray > 127
    if not region.any():
        raise InvalidParameter(
            "mask_image", "the mask is empty: paint the region to edit white (values above 127)"
        )
    return region


def prepare_inputs(
    main: np.ndarray, mask: np.ndarray, obj: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(scene RGB, region bool at the scene's size, object RGBA) from decoded arrays."""
    scene = as_rgb(main)
    region = mask_from_image(mask, scene.shape[:2])
    return scene, region, as_rgba(obj)
