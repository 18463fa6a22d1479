"""Removal quality against ground truth: segswap's fill, PyPatchMatch and OpenCV Telea.

Run: ``.venv/bin/python benchmarks/removal.py [--sheets DIR] [--repeats N]``
(PyPatchMatch comes with the ``test`` extra: ``pip install -e '.[test]'``).

*Ground-truth holes* are masks laid over plain background of real photos that ship
with scikit-image: nothing is hidden under them, so the photo itself is the answer.
They cover smooth areas (sky, wall), textures (wood, fur, concrete, grass, gravel) and
structures crossing the hole (a saucer's rim, a table's edge, boards, a shelf lip, a
horizon, brick joints). Every method fills the same region: the mask grown by segswap's
default ``growmask`` (5 px) plus its feather band, i.e. every pixel segswap may change.

Per hole and method, over that region:

- **SSIM** of the lightness (Lab L) against the truth (higher is better);
- **edge F1**: Canny edges of the result against the truth's, a match within 2 px
  (lines continued, no phantom edges; 1.0 when neither has an edge there);
- **grain**: |log| of the ratio of mean |Laplacian| to the truth's (0 is best; a blur
  and added noise both lose);
- **ΔE low**: mean CIE76 ΔE of both images blurred with σ = 3 px (low-frequency
  colour; lower is better).

Each method is ranked 1–3 per measure on each hole (ties share the better rank); its
*hole rank* is the mean of those four, and the table ends with each method's mean rank,
how many holes it is first on, and the fill times (median of ``--repeats`` runs).

*Real removals* (the astronaut's flag strip, the coffee spoon and the cup handle, a
launch tower) have no ground truth: they get sheets, and the flag strip the share of
warm, saturated pixels (skin, hair, the orange suit) its fill puts above her shoulder.

``--sheets DIR`` writes, per hole, original | segswap | PyPatchMatch | Telea, zoomed 3×
into the hole (the hole's outline drawn on the original).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import cv2
import numpy as np
from skimage import data
from skimage.metrics import structural_similarity

from segswap.engine import get_engine, run_engine
from segswap.engine.region import feather_reach, grow_mask
from segswap.params import EditParams

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
]

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


def sheet(
    scene: np.ndarray,
    region: np.ndarray,
    results: dict[str, np.ndarray],
    view: tuple[int, int, int, int] | None,
) -> np.ndarray:
    """original | segswap | PyPatchMatch | Telea, zoomed ZOOM× around the hole (or into
    ``view``)."""
    rows, cols = np.nonzero(region)
    height, width = region.shape
    centre_y, centre_x = (rows.min() + rows.max()) // 2, (cols.min() + cols.max()) // 2
    half_h = min((rows.max() - rows.min()) // 2 + 14, SHEET_SIDE // 2)
    half_w = min((cols.max() - cols.min()) // 2 + 14, SHEET_SIDE // 2)
    top, left = max(centre_y - half_h, 0), max(centre_x - half_w, 0)
    box = (slice(top, min(centre_y + half_h, height)), slice(left, min(centre_x + half_w, width)))
    if view is not None:
        box = (slice(view[0], view[2]), slice(view[1], view[3]))
    outline = scene.copy()
    contours, _ = cv2.findContours(
        region.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE
    )
    cv2.drawContours(outline, contours, -1, (0, 255, 0), 1)
    panels = [outline[box]] + [results[m][box] for m in METHODS]
    zoomed = [
        cv2.resize(p, None, fx=ZOOM, fy=ZOOM, interpolation=cv2.INTER_NEAREST) for p in panels
    ]
    gap = np.full((zoomed[0].shape[0], 6, 3), 255, np.uint8)
    parts: list[np.ndarray] = []
    for panel, label in zip(zoomed, ("original", *METHODS), strict=True):
        panel = panel.copy()
        cv2.putText(panel, label, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 3)
        cv2.putText(panel, label, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1)
        parts += [panel, gap]
    return np.hstack(parts[:-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sheets", type=Path, help="write comparison sheets (PNG) here")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per fill")
    parser.add_argument("--only", nargs="*", help="run only these holes (names)")
    args = parser.parse_args()
    if args.sheets:
        args.sheets.mkdir(parents=True, exist_ok=True)

    seconds = dict.fromkeys(METHODS, 0.0)
    table: list[tuple[str, dict[str, dict[str, float]], dict[str, float]]] = []
    flag_shares: dict[str, float] = {}
    for case in CASES:
        if args.only and case.name not in args.only:
            continue
        scene = np.ascontiguousarray(case.load()[:, :, :3])
        mask = case.mask(scene.shape)
        region = feather_reach(grow_mask(mask, GROWMASK))
        results = {}
        for method in METHODS:
            results[method], took = timed(partial(FILLS[method], scene, mask, region), args.repeats)
            seconds[method] += took
        if args.sheets:
            image = sheet(scene, region, results, case.view)
            cv2.imwrite(str(args.sheets / f"{case.name}.png"), image[:, :, ::-1])
        if case.truth:
            scores = {m: measure(results[m], scene, region) for m in METHODS}
            table.append((case.name, scores, ranks(scores)))
        if case.name == "astronaut-flag":
            above = region.copy()
            above[SHOULDER_Y:] = False
            flag_shares = {m: warm_share(results[m], above) for m in METHODS}

    if table:
        print_table(table)
    if flag_shares:
        print("\nastronaut flag strip: warm saturated share of the fill above her shoulder")
        for method, share in flag_shares.items():
            print(f"  {method:<13} {100 * share:5.1f} %")
    print("\nfill time, sum over holes of the median of", args.repeats, "runs")
    for method in METHODS:
        ratio = seconds[method] / seconds["PyPatchMatch"]
        print(f"  {method:<13} {seconds[method]:7.2f} s   {ratio:5.2f}× PyPatchMatch")


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
