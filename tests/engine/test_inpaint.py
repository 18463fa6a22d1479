"""The exemplar fill itself (``segswap.engine.fill``), on real photos.

Known pixels untouched, repeatable, every hole shape from one pixel to nearly the whole
scene; and against ground truth: holes laid over plain background of real photos are
filled close to what the photo shows there, better than OpenCV's Telea and at least
level with PyPatchMatch by the measures of ``benchmarks/removal.py``.
"""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data

from segswap.engine.fill import FillEffort, fill_hole
from segswap.engine.fill.completion import MAX_FULL_PIXELS
from segswap.engine.region import feather_reach, grow_mask

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import removal  # noqa: E402  (the benchmark's cases and measures)


@cache
def coffee() -> np.ndarray:
    return data.coffee()


def fill(image: np.ndarray, hole: np.ndarray, seed: int = 0, **effort) -> np.ndarray:
    return fill_hole(image, hole, np.random.default_rng(seed), FillEffort(**effort))


def disk_hole(shape: tuple[int, ...], centre: tuple[int, int], radius: int) -> np.ndarray:
    hole = np.zeros(shape[:2], np.uint8)
    cv2.circle(hole, centre, radius, 255, -1)
    return hole > 0


HOLES = {
    "one pixel": lambda s: disk_hole(s, (300, 200), 0),
    "disk": lambda s: disk_hole(s, (300, 200), 40),
    "one-pixel line": lambda s: np.eye(s[0], s[1], 30, dtype=bool),
    "corner": lambda s: disk_hole(s, (0, 0), 60),
    "left edge strip": lambda s: np.pad(np.ones((s[0], 50), bool), ((0, 0), (0, s[1] - 50))),
    "bottom edge": lambda s: np.pad(np.ones((40, s[1]), bool), ((s[0] - 40, 0), (0, 0))),
    "all but a ring": lambda s: np.pad(np.ones((s[0] - 24, s[1] - 24), bool), 12),
    "all but one row": lambda s: np.pad(np.ones((s[0] - 1, s[1]), bool), ((1, 0), (0, 0))),
}


@pytest.mark.parametrize("name", sorted(HOLES))
def test_known_pixels_untouched_and_hole_filled(name: str) -> None:
    image = coffee()
    hole = HOLES[name](image.shape)
    out = fill(image, hole)
    assert out.shape == image.shape and out.dtype == np.uint8
    assert np.array_equal(out[~hole], image[~hole])
    # The hole was rebuilt from the scene: its colours are the scene's, not black.
    assert out[hole].mean() > 20


@pytest.mark.parametrize("size", [(1, 1), (1, 7), (7, 1), (2, 50), (9, 9), (50, 3)])
def test_tiny_scenes_fill_without_a_whole_patch(size: tuple[int, int]) -> None:
    height, width = size
    image = cv2.resize(coffee(), (width, height), interpolation=cv2.INTER_AREA)
    image = image.reshape(height, width, 3)
    hole = np.zeros(size, bool)
    hole.flat[hole.size // 2] = True
    if hole.all():
        with pytest.raises(ValueError, match="nothing around the hole"):
            fill(image, hole)
        return
    out = fill(image, hole)
    assert np.array_equal(out[~hole], image[~hole])


def test_same_seed_same_bytes_other_seed_other_fill() -> None:
    image = coffee()
    hole = disk_hole(image.shape, (525, 300), 40)
    assert np.array_equal(fill(image, hole, seed=3), fill(image, hole, seed=3))
    assert not np.array_equal(fill(image, hole, seed=3), fill(image, hole, seed=4))


def test_the_flag_strip_fills_with_wall_not_far_content() -> None:
    """A strip at the astronaut's left edge (the flag): the fill above her shoulder is
    wall, not her face, hair or suit."""
    image = data.astronaut()
    hole = np.zeros(image.shape[:2], bool)
    hole[:, :110] = True
    out = fill(image, hole)
    above = hole.copy()
    above[removal.SHOULDER_Y :] = False
    assert removal.warm_share(out, above) < 0.05


def test_huge_hole_is_filled_on_a_reduced_copy_and_keeps_the_guarantees() -> None:
    """A hole over the full-resolution limit (lowered here from MAX_FULL_PIXELS) is
    filled on a halved copy: pixels outside it unchanged, same seed same bytes, its
    colours the scene's; the default limit keeps an ordinary hole at full resolution."""
    image = cv2.resize(coffee(), (1200, 800), interpolation=cv2.INTER_CUBIC)
    hole = disk_hole(image.shape, (600, 400), 300)
    out = fill(image, hole, seed=2, max_pixels=50_000)
    assert np.array_equal(out[~hole], image[~hole])
    assert np.array_equal(out, fill(image, hole, seed=2, max_pixels=50_000))
    assert out[hole].mean() > 20
    assert np.count_nonzero(hole) < MAX_FULL_PIXELS
    assert not np.array_equal(out, fill(image, hole, seed=2))


# -- hidden pixels (the fill under a placed object) ----------------------------------------


def test_hidden_pixels_are_never_copied_and_get_a_smooth_estimate() -> None:
    """The cup of coffee() with its core painted magenta and hidden (as an object laid
    over it would hide it): the ring that shows is rebuilt from the scene around, and
    the hidden core gets a smooth estimate from the scene, no trace of what it held."""
    image = coffee().copy()
    hole = disk_hole(image.shape, (290, 150), 80)
    hidden = disk_hole(image.shape, (290, 150), 60)
    image[hidden] = (255, 0, 255)
    out = fill_hole(image, hole, np.random.default_rng(0), FillEffort(), hidden)
    assert np.array_equal(out[~hole], image[~hole])
    magenta = (out[:, :, 0] > 200) & (out[:, :, 1] < 80) & (out[:, :, 2] > 200)
    assert not magenta[hole].any()
    # Smooth inside: its gradient is far below the scene's texture around it.
    gray = cv2.cvtColor(out, cv2.COLOR_RGB2GRAY).astype(np.float32)
    gradient = np.hypot(cv2.Sobel(gray, cv2.CV_32F, 1, 0), cv2.Sobel(gray, cv2.CV_32F, 0, 1))
    core = disk_hole(image.shape, (290, 150), 50)
    around = disk_hole(image.shape, (290, 150), 120) & ~hole
    assert gradient[core].mean() < 0.25 * gradient[around].mean()


def test_no_hidden_pixels_same_bytes() -> None:
    image = coffee()
    hole = disk_hole(image.shape, (300, 200), 40)
    plain = fill(image, hole, seed=5)
    nothing = np.zeros(hole.shape, bool)
    outside = ~hole  # hidden pixels outside the hole are not the fill's concern
    for hidden in (nothing, outside):
        same = fill_hole(image, hole, np.random.default_rng(5), FillEffort(), hidden)
        assert np.array_equal(same, plain)


def test_all_hidden_is_a_smooth_fill_and_reduced_fills_take_hidden_pixels() -> None:
    image = coffee()
    hole = disk_hole(image.shape, (300, 200), 90)
    out = fill_hole(image, hole, np.random.default_rng(0), FillEffort(), hole)
    assert np.array_equal(out[~hole], image[~hole])
    assert out[hole].std(axis=0).max() < image[hole].std(axis=0).max()
    hidden = disk_hole(image.shape, (300, 200), 70)
    reduced = FillEffort(max_pixels=5_000, search_depth=2, shown_depth=False)
    out = fill_hole(image, hole, np.random.default_rng(0), reduced, hidden)
    assert np.array_equal(out[~hole], image[~hole])
    assert out[hole & ~hidden].mean() > 20


# -- ground truth --------------------------------------------------------------------------


def case_result(name: str, method: str) -> tuple[dict[str, float], np.ndarray]:
    case = next(c for c in removal.CASES if c.name == name)
    scene = np.ascontiguousarray(case.load()[:, :, :3])
    mask = case.mask(scene.shape)
    region = feather_reach(grow_mask(mask, removal.GROWMASK))
    result = removal.FILLS[method](scene, mask, region)
    return removal.measure(result, scene, region), result


@pytest.mark.parametrize("name", ["brick", "coffee-table-edge", "rocket-horizon"])
def test_ground_truth_hole_beats_telea(name: str) -> None:
    ours, _ = case_result(name, "segswap")
    telea, _ = case_result(name, "Telea")
    # Texture kept (a blur loses it) and edges continued through the hole.
    assert ours["grain"] < 0.35 < telea["grain"], (ours, telea)
    assert ours["edge F1"] >= telea["edge F1"], (ours, telea)
    assert ours["ΔE low"] <= telea["ΔE low"] + 0.5, (ours, telea)


@pytest.mark.parametrize(
    ("name", "strictly"),
    [
        ("camera-sky", True),
        ("rocket-horizon", True),
        ("brick", False),
        ("coffee-table-edge", False),
    ],
)
def test_ground_truth_hole_ranks_with_or_above_patchmatch(name: str, strictly: bool) -> None:
    """Above PyPatchMatch on a plain sky and across a horizon (no tone step, the line
    continued); at least level with it on bricks and across the table's edge."""
    pytest.importorskip("patchmatch")
    scores = {m: case_result(name, m)[0] for m in removal.METHODS}
    ranks = removal.ranks(scores)
    if strictly:
        assert ranks["segswap"] < ranks["PyPatchMatch"], scores
    else:
        assert ranks["segswap"] <= ranks["PyPatchMatch"], scores
