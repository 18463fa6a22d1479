"""Learned fills (LaMa, MI-GAN) as a :class:`segswap.engine.fill.Fill`, at any resolution.

IOPaint's crop strategy, per connected region of the hole:

1. crop the region's box with :data:`CONTEXT_PX` of scene around it (shifted inward at
   the image's edges, so a region there keeps as much context as one in the middle);
2. shrink the crop (``INTER_AREA``) so its longer side is at most the network's
   ``max_side`` (MI-GAN and the LaMa ONNX export 512, LaMa TorchScript 1024 by
   default, ``SEGSWAP_FILL_MAX_SIDE``); the hole shrinks with it, and a shrunk pixel is
   in the hole if any pixel under it was;
3. run the network, enlarge its output back to the crop's size (``INTER_CUBIC``);
4. copy it into the hole's pixels of that region only. Every other pixel is the input's,
   byte for byte; the composite engine then blends the hole into the scene with its
   feather (:func:`segswap.engine.region.paste_back`).

Regions closer than :data:`MERGE_PX` share one crop, so a scatter of specks is one
network call, not hundreds.
"""

from __future__ import annotations

import cv2
import numpy as np

from segswap.engine.fill.networks import Network
from segswap.engine.region import Box, bounding_box, disk

CONTEXT_PX = 128
"""Scene kept around each region's box, pixels a side (IOPaint's crop margin)."""

MERGE_PX = 16
"""Regions of the hole closer than this many pixels are filled from one crop."""


def region_crop(box: Box, margin: int, height: int, width: int) -> Box:
    """``box`` grown by ``margin`` a side inside an image of height×width; where a side
    would leave the image, the crop extends on the opposite side instead (as IOPaint's
    ``_crop_box`` does)."""
    top, left = box.top - margin, box.left - margin
    bottom, right = box.bottom + margin, box.right + margin
    if top < 0:
        bottom -= top
    if left < 0:
        right -= left
    if bottom > height:
        top -= bottom - height
    if right > width:
        left -= right - width
    return Box(max(0, top), max(0, left), min(height, bottom), min(width, right))


def shrink(image: np.ndarray, hole: np.ndarray, max_side: int) -> tuple[np.ndarray, np.ndarray]:
    """``image`` and ``hole`` resized so that the longer side is at most ``max_side``
    (unchanged when it already is): the image by area averaging, the hole so that a
    pixel is in it if any pixel it covers was (the network never sees a hole pixel as
    known scene)."""
    height, width = hole.shape
    if max(height, width) <= max_side:
        return image, hole
    scale = max_side / max(height, width)
    size = (
        max(1, min(max_side, round(width * scale))),
        max(1, min(max_side, round(height * scale))),
    )
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    coverage = cv2.resize(hole.astype(np.float32), size, interpolation=cv2.INTER_AREA)
    return small, coverage > 0


class LearnedFill:
    """A :class:`~segswap.engine.fill.Fill` running ``network`` (LaMa or MI-GAN) on one
    crop per region of the hole (see the module docstring). Deterministic: the networks
    draw no random numbers, so ``seed`` and ``steps`` change nothing; ``shown`` and
    ``hidden`` are ignored (the network fills the whole hole either way)."""

    def __init__(self, network: Network, context: int = CONTEXT_PX) -> None:
        self.network = network
        self.name = network.fill
        self.context = context
        """Scene the composite engine keeps around the mask for this fill, pixels."""

    def __call__(
        self,
        image: np.ndarray,
        hole: np.ndarray,
        seed: int,
        *,
        steps: int = 30,
        shown: bool = True,
        hidden: np.ndarray | None = None,
    ) -> np.ndarray:
        """``image`` (H×W×3 uint8 RGB) with ``hole`` (H×W bool) filled by the network;
        equal to ``image`` outside ``hole``."""
        out = image.copy()
        height, width = hole.shape
        groups = cv2.dilate(hole.view(np.uint8), disk(MERGE_PX // 2))
        count, labels, stats, _ = cv2.connectedComponentsWithStats(groups, connectivity=8)
        for label in range(1, count):
            x, y, w, h = (int(value) for value in stats[label, :4])
            group = Box(y, x, y + h, x + w)
            local = (labels[group.slices] == label) & hole[group.slices]
            if not local.any():
                continue
            box = bounding_box(local).shifted(group.top, group.left)
            crop = region_crop(box, self.context, height, width)
            region = (labels[crop.slices] == label) & hole[crop.slices]
            local_hole = hole[crop.slices]
            local_image = image[crop.slices]
            small_image, small_hole = shrink(local_image, local_hole, self.network.max_side)
            filled = self.network(np.ascontiguousarray(small_image), small_hole)
            if filled.shape[:2] != local_hole.shape:
                filled = cv2.resize(
                    filled, (crop.width, crop.height), interpolation=cv2.INTER_CUBIC
                )
            np.copyto(out[crop.slices], filled, where=region[..., None])
        return out
