"""Hand-drawn reference masks for box-select, on real photos from ``skimage.data``.

Each reference (``data/selection_references.json``) names a photo, the box a user would
drag around the object (``[left, top, right, bottom]``, pixels, right/bottom exclusive)
and the object's outline as polygons whose vertices were placed by eye on the photo
zoomed 8× with a 5-pixel grid (never from a segmentation's output). Vertex coordinates
are in pixel-edge units: pixel ``(x, y)`` spans ``[x, x+1) × [y, y+1)`` and is inside a
polygon when its centre is. ``holes`` are cut out of the union of ``polygons``.

Used by ``tests/engine/test_selection.py`` and ``benchmarks/selection.py``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

DATA_FILE = Path(__file__).resolve().parent / "data" / "selection_references.json"

Polygon = list[tuple[float, float]]


@dataclass(frozen=True)
class Reference:
    """One object to select: photo, box, outline."""

    name: str
    photo: str  # a function of skimage.data returning an RGB image
    box: tuple[int, int, int, int]  # left, top, right, bottom
    polygons: list[Polygon]
    holes: list[Polygon]
    note: str

    def image(self) -> np.ndarray:
        """The photo as H×W×3 uint8 RGB."""
        from skimage import data

        image = getattr(data, self.photo)()
        if image.ndim == 2:
            image = np.repeat(image[:, :, None], 3, axis=2)
        return np.ascontiguousarray(image[:, :, :3])


def load_references(path: Path = DATA_FILE) -> list[Reference]:
    """Every reference in ``path``, in file order."""
    entries = json.loads(path.read_text())["references"]
    return [
        Reference(
            name=entry["name"],
            photo=entry["photo"],
            box=tuple(entry["box"]),
            polygons=[[tuple(p) for p in poly] for poly in entry["polygons"]],
            holes=[[tuple(p) for p in poly] for poly in entry.get("holes", [])],
            note=entry.get("note", ""),
        )
        for entry in entries
    ]


def _fill(shape: tuple[int, int], polygons: list[Polygon]) -> np.ndarray:
    # cv2 puts integer coordinates at pixel centres: shift by half a pixel, 1/16 px precision.
    canvas = np.zeros(shape, np.uint8)
    for polygon in polygons:
        points = np.round((np.asarray(polygon, np.float64) - 0.5) * 16).astype(np.int32)
        cv2.fillPoly(canvas, [points], 1, lineType=cv2.LINE_8, shift=4)
    return canvas.astype(bool)


def reference_mask(reference: Reference) -> np.ndarray:
    """The reference outline rasterised at the photo's size (H×W bool)."""
    height, width = reference.image().shape[:2]
    inside = _fill((height, width), reference.polygons)
    if reference.holes:
        inside &= ~_fill((height, width), reference.holes)
    return inside


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two H×W bool masks (1.0 when both are empty)."""
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0
