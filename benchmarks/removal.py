"""Removal quality: segswap's fill, PyPatchMatch and OpenCV Telea on the same holes.

Run: ``.venv/bin/python benchmarks/removal.py [--split S] [--kind K] [--limit N]
[--sheets DIR] [--first-call]`` (PyPatchMatch comes with the ``test`` extra:
``pip install -e '.[test]'``). The photos come from :mod:`photos` (three Debian
packages, downloaded into a cache folder on first use; without apt the run keeps
scikit-image's photos and says so).

Splits (by photo, never by hole): ``tuning`` (tuxpaint-data, mate-backgrounds),
``validation`` (plasma-workspace-wallpapers: the fill is never tuned on these) and
``skimage`` (scikit-image's photos, the cases this benchmark started with). Each split
is reported on its own.

*Ground-truth holes* are masks laid over the photos: nothing is removed from under
them, so the photo itself is the answer. On each Debian photo a few are laid, seeded
(the same every run): object silhouettes (blobs, people, bottles, animals, text)
turned, scaled to 1–15 % of the photo and placed anywhere, over sky, walls, textures
and structures alike. scikit-image's hand-placed holes cover smooth areas (sky, wall),
textures (wood, fur, concrete, grass, gravel) and structures crossing the hole (a
saucer's rim, a table's edge, boards, a shelf lip, a horizon, brick joints). Every
method fills the same region: the mask grown by segswap's default ``growmask`` (5 px)
plus its feather band, i.e. every pixel segswap may change.

Per hole and method, over that region:

- **SSIM** of the lightness (Lab L) against the truth (higher is better);
- **edge F1**: Canny edges of the result against the truth's, a match within 2 px
  (lines continued, no phantom edges; 1.0 when neither has an edge there);
- **grain**: |log| of the ratio of mean |Laplacian| to the truth's (0 is best; a blur
  and added noise both lose);
- **ΔE low**: mean CIE76 ΔE of both images blurred with σ = 3 px (low-frequency
  colour; lower is better).

Each method is ranked 1–3 per measure on each hole (ties share the better rank); its
*hole rank* is the mean of those four, and each split's table ends with each method's
mean rank and how many holes it is first on.

*Real removals* are objects taken out of a photo, most with a look-alike nearby (a cup
among cups, a boat among boats, a sheep among sheep, one of two badges, one cat eye,
one of two poles): there is no truth. They get sheets and the **re-created** measure
(:func:`recreation`): how much the fill brings back of what was removed (0 = none).

Times: each fill once per case (``--repeats N``: the median of N runs after an untimed
one), summed per split, with each method's total as a multiple of PyPatchMatch's; the
first call (numba loading its compiled code) is timed apart, and ``--first-call`` times
it in a fresh process with an empty numba cache (the compile an install pays once).

``--sheets DIR`` writes, per case, original (hole outlined) | segswap | PyPatchMatch |
Telea, zoomed 3× into a small hole (a large one is shown at its size).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import cv2
import numpy as np
from skimage import data
from skimage.metrics import structural_similarity

sys.path.insert(0, str(Path(__file__).resolve().parent))
from photos import PhotosUnavailable, cache_dir, photos  # noqa: E402
from photos import photo as photo_named  # noqa: E402

from segswap.engine import get_engine, run_engine  # noqa: E402
from segswap.engine.fill.seam import push_pull  # noqa: E402
from segswap.engine.region import feather_reach, grow_mask  # noqa: E402
from segswap.params import EditParams  # noqa: E402

GROWMASK = 5
ZOOM = 3
SHEET_SIDE = 200
"""Longest side (pixels, before zooming) of the part of a scene a sheet shows."""

SHOULDER_Y = 200
"""Rows of the astronaut above her shoulder (0 to this), for the flag strip check."""


def gray_rgb(image: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.dstack([image] * 3)) if image.ndim == 2 else image


def motorcycle() -> np.ndarray:
    return data.stereo_motorcycle()[0]


def ellipse(shape: tuple[int, ...], centre: tuple[int, int], axes: tuple[int, int], angle=0):
    mask = np.zeros(shape[:2], np.uint8)
    cv2.ellipse(mask, centre, axes, angle, 0, 360, 255, -1)
    return mask > 0


def rectangle(shape: tuple[int, ...], top: int, left: int, bottom: int, right: int):
    mask = np.zeros(shape[:2], bool)
    mask[top:bottom, left:right] = True
    return mask


def spoon(shape: tuple[int, ...]) -> np.ndarray:
    """The coffee spoon: its handle (a thick line) and its bowl."""
    mask = np.zeros(shape[:2], np.uint8)
    cv2.line(mask, (410, 68), (382, 240), 255, 18)
    cv2.ellipse(mask, (365, 284), (44, 44), 0, 0, 360, 255, -1)
    return mask > 0


@dataclass(frozen=True)
class Case:
    """One hole: a scene, the mask drawn on it, and whether the scene is its truth."""

    name: str
    load: Callable[[], np.ndarray]
    mask: Callable[[tuple[int, ...]], np.ndarray]
    truth: bool
    view: tuple[int, int, int, int] | None = None
    """(top, left, bottom, right) the sheet shows; default: around the hole."""
    split: str = "skimage"
    """``tuning``, ``validation`` or ``skimage`` (see :mod:`photos`)."""


CASES = [
    # ground truth: smooth
    Case("astronaut-wall", data.astronaut, lambda s: ellipse(s, (125, 45), (20, 28)), True),
    Case("rocket-sky", data.rocket, lambda s: ellipse(s, (250, 80), (30, 30)), True),
    Case(
        "camera-sky",
        lambda: gray_rgb(data.camera()),
        lambda s: ellipse(s, (400, 70), (35, 30)),
        True,
    ),
    # ground truth: texture
    Case("coffee-wood", data.coffee, lambda s: ellipse(s, (525, 300), (32, 28)), True),
    Case("chelsea-fur", data.chelsea, lambda s: ellipse(s, (110, 130), (28, 26)), True),
    Case("motorcycle-floor", motorcycle, lambda s: ellipse(s, (150, 455), (40, 25)), True),
    Case("grass", lambda: gray_rgb(data.grass()), lambda s: ellipse(s, (256, 256), (32, 32)), True),
    Case(
        "gravel", lambda: gray_rgb(data.gravel()), lambda s: ellipse(s, (256, 256), (32, 32)), True
    ),
    # ground truth: structure crossing the hole
    Case("coffee-saucer-rim", data.coffee, lambda s: ellipse(s, (85, 250), (22, 22)), True),
    Case("coffee-table-edge", data.coffee, lambda s: ellipse(s, (60, 45), (30, 18), 30), True),
    Case("motorcycle-boards", motorcycle, lambda s: ellipse(s, (100, 50), (26, 26)), True),
    Case("motorcycle-shelf-lip", motorcycle, lambda s: ellipse(s, (640, 100), (28, 18)), True),
    Case("rocket-horizon", data.rocket, lambda s: ellipse(s, (520, 368), (26, 18)), True),
    Case("brick", lambda: gray_rgb(data.brick()), lambda s: ellipse(s, (256, 256), (30, 30)), True),
    # real objects
    Case(
        "astronaut-flag",
        data.astronaut,
        lambda s: rectangle(s, 0, 0, s[0], 100),
        False,
        view=(0, 0, 200, 200),
    ),
    Case("coffee-spoon", data.coffee, spoon, False),
    Case("coffee-handle", data.coffee, lambda s: ellipse(s, (225, 262), (32, 40)), False),
    Case("rocket-tower", data.rocket, lambda s: rectangle(s, 115, 170, 385, 212), False),
    # real objects with a look-alike nearby
    Case(
        "astronaut-badge",
        data.astronaut,
        lambda s: ellipse(s, (171, 385), (42, 42)),
        False,
    ),
    Case("chelsea-eye", data.chelsea, lambda s: ellipse(s, (175, 117), (44, 36)), False),
]


# -- the Debian photos: seeded ground-truth holes and real objects -------------------------


def polygon(shape: tuple[int, ...], points: list[tuple[int, int]], grow: int = 6) -> np.ndarray:
    """A filled polygon (x, y points), grown by ``grow`` px (a hand-drawn outline)."""
    mask = np.zeros(shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.array(points, np.int32)], 255)
    if grow:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
        mask = cv2.dilate(mask, kernel)
    return mask > 0


def cup(shape: tuple[int, ...], centre: tuple[int, int], axes: tuple[int, int], drop: int):
    """A cup seen from above: its mouth (an ellipse) and the side below it."""
    mouth = ellipse(shape, centre, axes)
    lower = ellipse(shape, (centre[0], centre[1] + drop), axes)
    both = (mouth | lower).astype(np.uint8)
    points = cv2.findNonZero(both)
    hull = cv2.convexHull(points)
    mask = np.zeros(shape[:2], np.uint8)
    cv2.fillConvexPoly(mask, hull, 255)
    return grow_mask(mask > 0, 6)


OBJECTS: list[tuple[str, str, Callable[[tuple[int, ...]], np.ndarray]]] = [
    # (photo, name, mask): an object with a look-alike nearby; photos are scaled by photos.py
    ("ColorfulCups", "cup", lambda s: cup(s, (580, 497), (182, 120), 62)),
    (
        "EveningGlow",
        "boat",
        lambda s: polygon(
            s, [(498, 476), (596, 474), (662, 560), (658, 630), (622, 742), (560, 690), (486, 570)]
        ),
    ),
    (
        "EveningGlow",
        "boat2",
        lambda s: polygon(
            s, [(672, 470), (770, 470), (900, 560), (945, 600), (930, 690), (860, 640), (690, 540)]
        ),
    ),
    (
        "FallenLeaf",
        "leaf",
        lambda s: polygon(
            s,
            [(1048, 288), (1165, 368), (1349, 346), (1411, 485), (1450, 641), (1383, 714)]
            + [(1171, 769), (1004, 725), (825, 658), (803, 482), (998, 413)],
            26,
        ),
    ),
    ("OneStandsOut", "orange-star", lambda s: ellipse(s, (1009, 487), (82, 74))),
    (
        "ColdRipple",
        "pole",
        lambda s: polygon(s, [(706, 396), (722, 396), (724, 496), (704, 496)], 8),
    ),
    (
        "Path",
        "trunk",
        lambda s: polygon(s, [(652, 0), (702, 0), (708, 600), (718, 690), (640, 690), (648, 600)]),
    ),
    ("sheep", "sheep", lambda s: ellipse(s, (601, 366), (30, 22))),
    ("sheep", "sheep2", lambda s: ellipse(s, (907, 375), (32, 22))),
    ("RainDrops", "drop", lambda s: ellipse(s, (823, 656), (36, 34))),
    ("RainDrops", "drop2", lambda s: ellipse(s, (688, 533), (32, 30))),
]


HOLES_PER_PHOTO = {"tuning": 2, "validation": 3}
"""Seeded ground-truth holes laid on each Debian photo, per split."""

AREA_RANGE = (0.01, 0.15)
"""A ground-truth hole covers this share of its photo (log-uniform between)."""

SHAPES = ("blob", "person", "bottle", "animal", "text")


def silhouette(kind: str, rng: np.random.Generator) -> np.ndarray:
    """A bool silhouette of ``kind`` on a 256² canvas (an object's outline)."""
    canvas = np.zeros((256, 256), np.uint8)
    if kind == "blob":
        angles = np.linspace(0, 2 * np.pi, 64, endpoint=False)
        radius = np.full(64, 80.0)
        for harmonic in range(2, 6):
            radius += rng.uniform(-14, 14) * np.cos(harmonic * angles + rng.uniform(0, 6.3))
        points = np.stack([128 + radius * np.cos(angles), 128 + radius * np.sin(angles)], 1)
        cv2.fillPoly(canvas, [points.astype(np.int32)], 255)
    elif kind == "person":
        cv2.circle(canvas, (128, 40), 22, 255, -1)
        cv2.ellipse(canvas, (128, 110), (34, 50), 0, 0, 360, 255, -1)
        cv2.line(canvas, (112, 150), (int(rng.uniform(95, 115)), 240), 255, 20)
        cv2.line(canvas, (144, 150), (int(rng.uniform(141, 161)), 240), 255, 20)
        cv2.line(canvas, (100, 80), (int(rng.uniform(60, 90)), int(rng.uniform(120, 160))), 255, 14)
        cv2.line(
            canvas, (156, 80), (int(rng.uniform(166, 196)), int(rng.uniform(120, 160))), 255, 14
        )
    elif kind == "bottle":
        cv2.rectangle(canvas, (98, 100), (158, 250), 255, -1)
        cv2.ellipse(canvas, (128, 100), (30, 26), 0, 180, 360, 255, -1)
        cv2.rectangle(canvas, (116, 20), (140, 90), 255, -1)
    elif kind == "animal":
        cv2.ellipse(canvas, (128, 130), (72, 38), 0, 0, 360, 255, -1)
        cv2.circle(canvas, (208, 95), 24, 255, -1)
        for x in (78, 98, 158, 178):
            cv2.line(canvas, (x, 150), (x + int(rng.uniform(-8, 8)), 215), 255, 12)
        cv2.line(canvas, (58, 120), (30, int(rng.uniform(90, 150))), 255, 7)
    else:
        word = "".join(rng.choice(list("ABEHKMNORSTWXZ"), 3))
        cv2.putText(canvas, word, (8, 170), cv2.FONT_HERSHEY_SIMPLEX, 3.0, 255, 22)
    return canvas > 0


def laid_hole(shape: tuple[int, ...], seed: int) -> np.ndarray:
    """A seeded ground-truth hole: a silhouette turned, scaled to 1–15 % of the photo and
    laid at a random place inside it (10 px from its edges)."""
    rng = np.random.default_rng(seed)
    kind = SHAPES[int(rng.integers(len(SHAPES)))]
    shape_mask = silhouette(kind, rng).astype(np.uint8) * 255
    turn = cv2.getRotationMatrix2D((128, 128), float(rng.uniform(-30, 30)), 1.0)
    shape_mask = cv2.warpAffine(shape_mask, turn, (256, 256))
    ys, xs = np.nonzero(shape_mask)
    shape_mask = shape_mask[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    height, width = shape[:2]
    share = float(np.exp(rng.uniform(*np.log(AREA_RANGE))))
    scale = (share * height * width / max(np.count_nonzero(shape_mask), 1)) ** 0.5
    scale = min(scale, (height - 20) / shape_mask.shape[0], (width - 20) / shape_mask.shape[1])
    size = (max(1, round(shape_mask.shape[1] * scale)), max(1, round(shape_mask.shape[0] * scale)))
    piece = cv2.resize(shape_mask, size, interpolation=cv2.INTER_LINEAR) > 127
    top = int(rng.integers(10, height - 10 - piece.shape[0] + 1))
    left = int(rng.integers(10, width - 10 - piece.shape[1] + 1))
    mask = np.zeros(shape[:2], bool)
    mask[top : top + piece.shape[0], left : left + piece.shape[1]] = piece
    return mask


def photo_cases() -> list[Case]:
    """The Debian photos' cases: seeded ground-truth holes, then the real objects."""
    cases = []
    for split, count in HOLES_PER_PHOTO.items():
        for photo in photos(split):
            for index in range(count):
                seed = zlib.crc32(f"{photo.name}/{index}".encode())
                cases.append(
                    Case(
                        f"{photo.name}-{index}",
                        photo.load,
                        partial(laid_hole, seed=seed),
                        True,
                        split=split,
                    )
                )
    for name, what, mask in OBJECTS:
        photo = photo_named(name)
        cases.append(Case(f"{name}-{what}", photo.load, mask, False, split=photo.split))
    return cases


METHODS = ("segswap", "PyPatchMatch", "Telea")
MEASURES = ("SSIM", "edge F1", "grain", "ΔE low")
HIGHER_IS_BETTER = {"SSIM": True, "edge F1": True, "grain": False, "ΔE low": False}


def segswap_fill(scene: np.ndarray, mask: np.ndarray, region: np.ndarray) -> np.ndarray:
    engine = get_engine("composite")
    nothing = np.zeros((4, 4, 4), np.uint8)
    return run_engine(
        engine,
        scene,
        mask.astype(np.uint8) * 255,
        nothing,
        EditParams(mode="remove", growmask=GROWMASK),
    )


def patchmatch_fill(scene: np.ndarray, mask: np.ndarray, region: np.ndarray) -> np.ndarray:
    from patchmatch import patch_match

    patch_match.set_random_seed(42)
    return patch_match.inpaint(scene, region.astype(np.uint8) * 255, patch_size=3)


def telea_fill(scene: np.ndarray, mask: np.ndarray, region: np.ndarray) -> np.ndarray:
    return cv2.inpaint(scene, region.view(np.uint8), 5, cv2.INPAINT_TELEA)


FILLS = {"segswap": segswap_fill, "PyPatchMatch": patchmatch_fill, "Telea": telea_fill}


def lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)


def gray(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)


def edge_f1(result: np.ndarray, truth: np.ndarray, region: np.ndarray) -> float:
    """F1 of the result's Canny edges in ``region`` against the truth's, 2-px tolerance."""

    def edges(rgb: np.ndarray) -> np.ndarray:
        return cv2.Canny(cv2.GaussianBlur(gray(rgb), (0, 0), 1.0), 40, 100) > 0

    ours, theirs = edges(result), edges(truth)
    near = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    ours_r, theirs_r = ours & region, theirs & region
    if not ours_r.any() and not theirs_r.any():
        return 1.0
    if not ours_r.any() or not theirs_r.any():
        return 0.0
    precision = (ours_r & cv2.dilate(theirs.view(np.uint8), near).astype(bool)).sum() / ours_r.sum()
    recall = (theirs_r & cv2.dilate(ours.view(np.uint8), near).astype(bool)).sum() / theirs_r.sum()
    if precision + recall == 0:
        return 0.0
    return float(2 * precision * recall / (precision + recall))


def laplacian_energy(rgb: np.ndarray, where: np.ndarray) -> float:
    lap = cv2.Laplacian(gray(rgb).astype(np.float32), cv2.CV_32F, ksize=1)
    return float(np.abs(lap)[where].mean())


def measure(result: np.ndarray, truth: np.ndarray, region: np.ndarray) -> dict[str, float]:
    """The four ground-truth measures of ``result`` over ``region``."""
    rows, cols = np.nonzero(region)
    top, bottom = max(rows.min() - 8, 0), rows.max() + 9
    left, right = max(cols.min() - 8, 0), cols.max() + 9
    box = (slice(top, bottom), slice(left, right))
    l_result, l_truth = lab(result[box])[:, :, 0], lab(truth[box])[:, :, 0]
    _, ssim_map = structural_similarity(l_result, l_truth, data_range=100.0, full=True)
    grain = abs(np.log(laplacian_energy(result, region) / laplacian_energy(truth, region)))
    low_result = cv2.GaussianBlur(lab(result), (0, 0), 3.0)
    low_truth = cv2.GaussianBlur(lab(truth), (0, 0), 3.0)
    delta = np.linalg.norm(low_result - low_truth, axis=2)[region].mean()
    return {
        "SSIM": float(ssim_map[region[box]].mean()),
        "edge F1": edge_f1(result, truth, region),
        "grain": float(grain),
        "ΔE low": float(delta),
    }


def ranks(scores: dict[str, dict[str, float]]) -> dict[str, float]:
    """Each method's mean rank over the measures (1 = best; ties share the better)."""
    total = dict.fromkeys(scores, 0.0)
    for name in MEASURES:
        values = {m: scores[m][name] for m in scores}
        sign = -1.0 if HIGHER_IS_BETTER[name] else 1.0
        for method, value in values.items():
            better = sum(1 for other in values.values() if sign * other < sign * value - 1e-9)
            total[method] += 1 + better
    return {m: total[m] / len(MEASURES) for m in scores}


def warm_share(rgb: np.ndarray, where: np.ndarray) -> float:
    """Share of ``where`` with saturated warm hues (red–orange–yellow, S ≥ 0.35)."""
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
    hue, sat, val = hsv[:, :, 0], hsv[:, :, 1], hsv[:, :, 2]
    warm = ((hue <= 25) | (hue >= 170)) & (sat >= 90) & (val >= 50)
    return float(warm[where].mean())


def timed(action: Callable[[], np.ndarray], repeats: int) -> tuple[np.ndarray, float]:
    """The result of ``action`` and the median of ``repeats`` timed runs after a first,
    untimed one (with ``repeats`` 0: the first run's time)."""
    started = time.perf_counter()
    result = action()
    times = [time.perf_counter() - started] if repeats == 0 else []
    for _ in range(repeats):
        started = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - started)
    return result, statistics.median(times)


def recreation(result: np.ndarray, scene: np.ndarray, mask: np.ndarray) -> float:
    """How much of the removed content a fill brings back, -1 to 1 (0: none of it).

    Over the user's ``mask``: the normalised cross-correlation (Lab, all channels) of the
    fill's departure from a smooth membrane of the scene around the mask with the removed
    content's departure from the same membrane. A fill that continues the background
    correlates with nothing (≈ 0); one that rebuilds the object, or a look-alike of it
    in the same place (another cup, the other eye), approaches 1.
    """
    known = (~mask).astype(np.float32)
    membrane = push_pull(lab(scene), known)
    fill = lab(result)[mask] - membrane[mask]
    removed = lab(scene)[mask] - membrane[mask]
    fill -= fill.mean(axis=0)
    removed -= removed.mean(axis=0)
    norm = float(np.linalg.norm(fill) * np.linalg.norm(removed))
    return float((fill * removed).sum() / norm) if norm > 1e-9 else 0.0


def sheet(
    scene: np.ndarray,
    region: np.ndarray,
    results: dict[str, np.ndarray],
    view: tuple[int, int, int, int] | None,
    labels: tuple[str, ...] = ("original", *METHODS),
    outline: bool = True,
) -> np.ndarray:
    """original | segswap | PyPatchMatch | Telea, zoomed ZOOM× around the hole (or into
    ``view``); ``results`` in the order of ``labels[1:]``."""
    top, left, bottom, right = view if view is not None else view_box(region)
    box = (slice(top, bottom), slice(left, right))
    drawn = scene.copy()
    if outline:
        contours, _ = cv2.findContours(
            region.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE
        )
        cv2.drawContours(drawn, contours, -1, (0, 255, 0), 1)
    panels = [drawn[box]] + list(results.values())
    panels = [panels[0]] + [p[box] for p in panels[1:]]
    zoom = ZOOM if max(bottom - top, right - left) <= SHEET_SIDE else 1
    zoomed = [
        cv2.resize(p, None, fx=zoom, fy=zoom, interpolation=cv2.INTER_NEAREST) for p in panels
    ]
    gap = np.full((zoomed[0].shape[0], 6, 3), 255, np.uint8)
    parts: list[np.ndarray] = []
    for panel, label in zip(zoomed, labels, strict=True):
        panel = panel.copy()
        cv2.putText(panel, label, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 3)
        cv2.putText(panel, label, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1)
        parts += [panel, gap]
    return np.hstack(parts[:-1])


def view_box(region: np.ndarray) -> tuple[int, int, int, int]:
    """(top, left, bottom, right) around ``region`` with a margin: at most SHEET_SIDE
    across for a small hole (zoomed ZOOM×), the hole and a quarter of its size around
    it for a larger one (shown as is)."""
    rows, cols = np.nonzero(region)
    height, width = region.shape
    span = max(rows.max() - rows.min(), cols.max() - cols.min())
    margin = 14 if span + 28 <= SHEET_SIDE else span // 4
    top, bottom = max(rows.min() - margin, 0), min(rows.max() + margin + 1, height)
    left, right = max(cols.min() - margin, 0), min(cols.max() + margin + 1, width)
    if span + 28 <= SHEET_SIDE:
        cy, cx = (top + bottom) // 2, (left + right) // 2
        half = SHEET_SIDE // 2
        top, bottom = max(cy - half, 0), min(cy + half, height)
        left, right = max(cx - half, 0), min(cx + half, width)
    return int(top), int(left), int(bottom), int(right)


def first_call_seconds() -> tuple[float, float]:
    """Seconds of segswap's first removal in a fresh process with an empty numba cache
    (the compile every install pays once), and of the second one there."""
    script = (
        "import time, numpy as np\n"
        "from segswap.engine import get_engine, run_engine\n"
        "from segswap.params import EditParams\n"
        "from skimage import data\n"
        "scene = data.coffee(); mask = np.zeros(scene.shape[:2], np.uint8)\n"
        "mask[280:330, 500:550] = 255\n"
        "times = []\n"
        "for _ in range(2):\n"
        "    t = time.perf_counter()\n"
        "    run_engine(get_engine('composite'), scene, mask, np.zeros((4, 4, 4), np.uint8),\n"
        "               EditParams(mode='remove'))\n"
        "    times.append(time.perf_counter() - t)\n"
        "print(times[0], times[1])\n"
    )
    with tempfile.TemporaryDirectory() as cache_dir:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
        done = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
        )
    first, second = (float(v) for v in done.stdout.split()[-2:])
    return first, second


@dataclass
class Outcome:
    """What one case gave: ground-truth scores or re-creation, and each method's time."""

    case: Case
    scores: dict[str, dict[str, float]] | None
    recreated: dict[str, float] | None
    seconds: dict[str, float]


def peer_file(case: Case, method: str) -> Path:
    """Where a peer's result (PNG) and its time (.txt) are kept between runs."""
    return cache_dir() / "removal-peers" / f"{case.split}-{case.name}-{method}.png"


def run_case(case: Case, repeats: int, sheets: Path | None, fresh: bool = True) -> Outcome:
    scene = np.ascontiguousarray(case.load()[:, :, :3])
    mask = case.mask(scene.shape)
    region = feather_reach(grow_mask(mask, GROWMASK))
    results, seconds = {}, {}
    for method in METHODS:
        kept = None if fresh or method == "segswap" else peer_file(case, method)
        if kept is not None and kept.exists():
            results[method] = cv2.imread(str(kept))[:, :, ::-1]
            seconds[method] = float(kept.with_suffix(".txt").read_text())
            continue
        results[method], seconds[method] = timed(
            partial(FILLS[method], scene, mask, region), repeats
        )
        if kept is not None:
            kept.parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(kept), results[method][:, :, ::-1])
            kept.with_suffix(".txt").write_text(repr(seconds[method]))
    if sheets is not None:
        image = sheet(scene, region, results, case.view)
        cv2.imwrite(str(sheets / f"{case.split}-{case.name}.png"), image[:, :, ::-1])
    scores = recreated = None
    if case.truth:
        scores = {m: measure(results[m], scene, region) for m in METHODS}
    else:
        recreated = {m: recreation(results[m], scene, mask) for m in METHODS}
    if case.name == "astronaut-flag":
        above = region.copy()
        above[SHOULDER_Y:] = False
        shares = ", ".join(f"{m} {100 * warm_share(results[m], above):.1f} %" for m in METHODS)
        print(f"  astronaut flag strip, warm saturated share above her shoulder: {shares}")
    return Outcome(case, scores, recreated, seconds)


def selected_cases(args: argparse.Namespace) -> list[Case]:
    """The cases the flags ask for, in order: per split, holes then removals."""
    splits = ("tuning", "validation", "skimage") if args.split == "all" else (args.split,)
    every = list(CASES)
    if any(split != "skimage" for split in splits):
        try:
            every = photo_cases() + every
        except PhotosUnavailable as error:
            print(f"skipping the Debian photos: {error}")
    chosen = []
    for split in splits:
        for truth in (True, False):
            if args.kind == "holes" and not truth or args.kind == "removals" and truth:
                continue
            group = [c for c in every if c.split == split and c.truth == truth]
            if args.only:
                group = [c for c in group if c.name in args.only]
            chosen += group[: args.limit] if args.limit else group
    return chosen


BIG_SIDE = 4096
BIG_SHARES = (0.01, 0.25, 0.90)
"""Hole areas (share of a BIG_SIDE² photo) ``--big`` times."""


def big_holes(repeats: int) -> None:
    """Time segswap's removal of a disk of 1 % and 25 % and a square of 90 % of a 4096²
    photo (a validation photo scaled up), median of ``repeats``, after one warm-up."""
    scene = cv2.resize(
        photo_named("Kite").image(), (BIG_SIDE, BIG_SIDE), interpolation=cv2.INTER_CUBIC
    )
    nothing = np.zeros((4, 4, 4), np.uint8)
    engine = get_engine("composite")
    for share in BIG_SHARES:
        mask = np.zeros((BIG_SIDE, BIG_SIDE), np.uint8)
        if share < 0.5:
            radius = int((share * BIG_SIDE * BIG_SIDE / np.pi) ** 0.5)
            cv2.circle(mask, (BIG_SIDE // 2, BIG_SIDE // 2), radius, 255, -1)
        else:
            side = int((share * BIG_SIDE * BIG_SIDE) ** 0.5)
            start = (BIG_SIDE - side) // 2
            mask[start : start + side, start : start + side] = 255
        params = EditParams(mode="remove")
        run_engine(engine, scene, mask, nothing, params)
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            run_engine(engine, scene, mask, nothing, params)
            times.append(time.perf_counter() - started)
        print(
            f"  {BIG_SIDE}² photo, hole {100 * share:4.0f} % ({int((mask > 0).sum()):>9} px):"
            f" median {statistics.median(times):5.2f} s of {repeats}"
            f" (load average {os.getloadavg()[0]:.1f})",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--split",
        choices=("tuning", "validation", "skimage", "all"),
        default="all",
        help="which photos (default: all, each reported separately)",
    )
    parser.add_argument(
        "--kind",
        choices=("holes", "removals", "all"),
        default="all",
        help="ground-truth holes, real-object removals, or both (default)",
    )
    parser.add_argument("--limit", type=int, help="at most N holes and N removals per split")
    parser.add_argument("--sheets", type=Path, help="write comparison sheets (PNG) here")
    parser.add_argument(
        "--repeats", type=int, default=0, help="timed runs per fill (0: time the only run)"
    )
    parser.add_argument("--only", nargs="*", help="run only these cases (names)")
    parser.add_argument(
        "--reuse-peers",
        action="store_true",
        help="reuse PyPatchMatch's and Telea's results and times from an earlier run "
        "(kept in the photo cache; for tuning runs, not for reported times)",
    )
    parser.add_argument(
        "--first-call",
        action="store_true",
        help="also time segswap's first call in a fresh process with no numba cache",
    )
    parser.add_argument(
        "--big",
        action="store_true",
        help="only time removals of 1, 25 and 90 %% of a 4096² photo (median of 3)",
    )
    args = parser.parse_args()
    if args.big:
        big_holes(max(args.repeats, 3))
        return
    if args.sheets:
        args.sheets.mkdir(parents=True, exist_ok=True)
    print(f"load average {os.getloadavg()[0]:.1f} (cpus {os.cpu_count()})")
    if args.first_call:
        first, second = first_call_seconds()
        print(f"segswap first call, fresh numba cache: {first:.1f} s (then {second:.2f} s)")
    # Warm up every method once (numba loads its cached machine code on first use).
    warm = CASES[3]
    warm_scene = warm.load()
    warm_mask = warm.mask(warm_scene.shape)
    warm_region = feather_reach(grow_mask(warm_mask, GROWMASK))
    for method in METHODS:
        started = time.perf_counter()
        FILLS[method](warm_scene, warm_mask, warm_region)
        if method == "segswap":
            print(f"segswap first call in this process: {time.perf_counter() - started:.2f} s")

    outcomes = []
    for case in selected_cases(args):
        outcomes.append(run_case(case, args.repeats, args.sheets, not args.reuse_peers))
        done = outcomes[-1]
        times = " ".join(f"{done.seconds[m]:6.2f}" for m in METHODS)
        print(f"  done {case.split:<10} {case.name:<28} s: {times}", flush=True)
    for split in ("tuning", "validation", "skimage"):
        chosen = [o for o in outcomes if o.case.split == split]
        if chosen:
            report(split, chosen, args.repeats)
    print(f"load average {os.getloadavg()[0]:.1f}")


def report(split: str, outcomes: list[Outcome], repeats: int) -> None:
    print(f"\n=== {split} split ===")
    table = [(o.case.name, o.scores, ranks(o.scores)) for o in outcomes if o.scores is not None]
    if table:
        print_table(table)
    removals = [o for o in outcomes if o.recreated is not None]
    if removals:
        print("\nre-created (NCC of the fill with the removed content, 0 = none; lower is better)")
        print(f"{'removal':<28}" + "".join(f" {m:>13}" for m in METHODS))
        fewer = 0
        for o in removals:
            assert o.recreated is not None
            print(f"{o.case.name:<28}" + "".join(f" {o.recreated[m]:13.3f}" for m in METHODS))
            fewer += o.recreated["segswap"] < o.recreated["PyPatchMatch"]
        means = {
            m: statistics.mean(o.recreated[m] for o in removals if o.recreated) for m in METHODS
        }
        print(f"{'mean':<28}" + "".join(f" {means[m]:13.3f}" for m in METHODS))
        print(f"segswap re-creates less than PyPatchMatch on {fewer}/{len(removals)}")
    total = {m: sum(o.seconds[m] for o in outcomes) for m in METHODS}
    what = "the only run" if repeats == 0 else f"the median of {repeats} runs"
    print(f"\nfill time, sum over {len(outcomes)} cases of {what}")
    for method in METHODS:
        ratio = total[method] / total["PyPatchMatch"]
        print(f"  {method:<13} {total[method]:7.2f} s   {ratio:5.2f}× PyPatchMatch")


def print_table(table: list[tuple[str, dict[str, dict[str, float]], dict[str, float]]]) -> None:
    header = f"{'hole':<22}" + "".join(
        f" | {m[:8]:>8} {'SSIM':>5} {'F1':>5} {'grain':>5} {'ΔE':>5}" for m in METHODS
    )
    print(header)
    print("-" * len(header))
    firsts = dict.fromkeys(METHODS, 0)
    alone = dict.fromkeys(METHODS, 0)
    last_on_edges = dict.fromkeys(METHODS, 0)
    mean_rank = dict.fromkeys(METHODS, 0.0)
    for name, scores, hole_ranks in table:
        cells = []
        for m in METHODS:
            s = scores[m]
            cells.append(
                f" | {hole_ranks[m]:>8.2f} {s['SSIM']:5.3f} {s['edge F1']:5.3f}"
                f" {s['grain']:5.3f} {s['ΔE low']:5.2f}"
            )
            mean_rank[m] += hole_ranks[m] / len(table)
        print(f"{name:<22}" + "".join(cells))
        best = min(hole_ranks.values())
        for m in METHODS:
            firsts[m] += hole_ranks[m] == best
            alone[m] += all(hole_ranks[m] < hole_ranks[o] for o in METHODS if o != m)
        f1 = {m: scores[m]["edge F1"] for m in METHODS}
        worst = min(f1.values())
        for m in METHODS:
            others_better = all(f1[o] > worst + 1e-9 for o in METHODS if o != m)
            last_on_edges[m] += f1[m] == worst and others_better
    means = {
        m: {k: statistics.mean(scores[m][k] for _, scores, _ in table) for k in MEASURES}
        for m in METHODS
    }
    cells = "".join(
        f" | {'':>8} {means[m]['SSIM']:5.3f} {means[m]['edge F1']:5.3f}"
        f" {means[m]['grain']:5.3f} {means[m]['ΔE low']:5.2f}"
        for m in METHODS
    )
    print(f"{'mean of the measures':<22}" + cells)
    print("(per method: hole rank, then the four measures)")
    print("(first on: best hole rank, shared or alone; alone: strictly better than both)")
    header = f"{'first on':>12} {'alone':>12} {'last on edge F1':>16}"
    print(f"\n{'method':<13} {'mean rank':>9} {header}")
    for m in METHODS:
        count = len(table)
        print(
            f"{m:<13} {mean_rank[m]:9.2f} {firsts[m]:>5}/{count} {100 * firsts[m] / count:3.0f}%"
            f" {alone[m]:>5}/{count} {100 * alone[m] / count:3.0f}%"
            f" {last_on_edges[m]:>10}/{count}"
        )


if __name__ == "__main__":
    main()
