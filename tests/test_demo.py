"""``segswap demo``'s cases and sheet (segswap/demo.py): what they show, measured.

The command itself (files written, sizes) is run in tests/test_command_line.py; here each
case's result is measured on its pixels: the gift hides the cup and what shows of the
fill has no trace of it, the removed shuttle and rocket are gone, and each label is
written once.
"""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from segswap.demo import SHEET_WIDTH, _label, cup_mask, demo_cases, sheet_row, spoon_mask
from segswap.engine import get_engine, run_engine
from segswap.engine.composite import CONTEXT
from segswap.engine.objects import layout_object
from segswap.engine.prepare import as_rgba
from segswap.engine.region import edit_region
from segswap.params import SwapParams

sys.path.insert(0, str(Path(__file__).resolve().parent / "engine"))
from measures import bright_share, lab, ring  # noqa: E402

Case = tuple[str, np.ndarray, np.ndarray, np.ndarray, SwapParams]


@cache
def cases() -> dict[str, Case]:
    return {case[0]: case for case in demo_cases()}


@cache
def result(name: str) -> np.ndarray:
    _, scene, mask, obj, params = cases()[name]
    return run_engine(get_engine("composite"), scene, mask, obj, params)


def cover(name: str) -> tuple[np.ndarray, np.ndarray]:
    """(the placed object's alpha, every pixel the edit reaches), scene-sized."""
    _, scene, mask, obj, params = cases()[name]
    region = edit_region(mask > 127, params.growmask, CONTEXT["object"])
    layer = layout_object(scene[region.crop.slices], region, as_rgba(obj), 1.0)
    alpha = np.zeros(mask.shape, np.float32)
    alpha[region.crop.slices] = layer.cover
    reach = np.zeros(mask.shape, bool)
    reach[region.crop.slices] = region.reach
    return alpha, reach


def test_every_mode_has_a_case_on_a_real_photo() -> None:
    names = list(cases())
    assert names == ["object", "pattern", "remove", "remove-rocket"]
    for _, scene, mask, _, _ in cases().values():
        assert scene.dtype == np.uint8 and scene.ndim == 3
        assert mask.shape == scene.shape[:2] and 0 < (mask > 127).mean() < 0.5


def test_the_gift_hides_the_cup_and_the_fill_shows_no_trace_of_it() -> None:
    """What the gift leaves of the cup is slivers; what shows of the fill (them and the
    feather band around the gift) is not brighter than the saucer and table around: the
    cup's white rim and crema, the brightest things there, are gone."""
    _, scene, mask, _, _ = cases()["object"]
    alpha, reach = cover("object")
    cup = cup_mask(scene.shape[:2]) > 127
    assert float(np.mean(alpha[cup] < 0.5)) <= 0.2
    visible = reach & (alpha < 0.02)
    assert 2_000 < visible.sum() <= 0.3 * cup.sum()
    out = result("object")
    around = ring(mask > 127, 10, 40)
    assert bright_share(out, visible, around) <= 0.10
    # Against the scene itself: there, the cup showed (the measure sees it).
    assert bright_share(scene, visible & cup, around) > 0.3


def test_the_spoon_in_front_is_kept() -> None:
    _, scene, _, _, _ = cases()["object"]
    spoon = spoon_mask(scene.shape[:2])
    out = result("object")
    difference = np.abs(out[spoon].astype(int) - scene[spoon].astype(int)).max(axis=1)
    assert float(np.mean(difference == 0)) >= 0.8  # only its top, behind the gift, changes


@pytest.mark.parametrize("name", ["remove", "remove-rocket"])
def test_removed_objects_are_gone(name: str) -> None:
    """The white shuttle model and the white rocket were brighter than all the wall or
    sky around them; after the removal nothing in the mask is."""
    _, scene, mask, _, _ = cases()[name]
    inside = mask > 127
    above = inside.copy()
    above[int(np.nonzero(inside)[0].max()) - 60 :] = False  # the sky or wall, not the base
    lightness = lab(scene)[:, :, 0]
    limit = float(np.percentile(lightness[ring(inside, 10, 40) & ~inside], 99))
    assert float(np.mean(lightness[above] > limit)) > 0.05
    after = lab(result(name))[:, :, 0]
    assert float(np.mean(after[above] > limit)) <= 0.005


def test_the_cabinet_under_the_shuttle_keeps_its_straight_top_edge() -> None:
    """The shuttle model stood on a black cabinet; after its removal the cabinet's top
    edge runs on through the mask, close to the row it keeps beside it (no mound of
    black, no wall sagging into it)."""
    _, scene, mask, _, _ = cases()["remove"]
    dark = lab(scene)[:, :, 0] < 25

    def edge(image_dark: np.ndarray, x: int) -> int:
        return 240 + int(np.argmax(image_dark[240:320, x]))

    beside = np.median([edge(dark, x) for x in range(472, 500, 4)])
    inside = np.nonzero((mask > 127).any(axis=0))[0]
    columns = range(int(inside.min()) + 20, int(inside.max()) - 2, 4)
    after = lab(result("remove"))[:, :, 0] < 25
    offsets = np.abs(np.array([edge(after, x) for x in columns]) - beside)
    assert float(offsets.mean()) <= 10.0, offsets


def test_each_label_is_written_once_on_its_tab() -> None:
    """The label changes only one small box at the panel's top left: a dark tab with the
    text in white on it, written once (no second, offset copy)."""
    row = np.full((200, SHEET_WIDTH, 3), 200, np.uint8)
    labelled = row.copy()
    _label(labelled, "after: object", 600)
    changed = np.nonzero((labelled != row).any(axis=2))
    top, bottom = changed[0].min(), changed[0].max()
    left, right = changed[1].min(), changed[1].max()
    assert top >= 8 and bottom < 50 and 600 <= left < 620 and right - left < 250
    box = labelled[top : bottom + 1, left : right + 1]
    assert (box.max(axis=2) <= 80).mean() > 0.6  # the dark tab
    assert (box.min(axis=2) >= 230).sum() > 40  # white text on it
    assert (labelled[:, :600] == row[:, :600]).all()  # the other panel is untouched


def test_sheet_row_is_sheet_width_wide_with_both_labels() -> None:
    name, scene, mask, obj, _ = cases()["object"]
    row = sheet_row(name, scene, mask, obj, result(name))
    assert row.shape[1] == SHEET_WIDTH and row.shape[2] == 3
    half = SHEET_WIDTH // 2
    for left in (0, half):
        corner = row[10:30, left + 10 : left + 60]
        assert (corner.max(axis=2) <= 100).mean() > 0.4  # a dark label tab in each half
