"""Box- and click-select (segswap.engine.selection) on real photos, against outlines
drawn by hand (tests/engine/data/selection_references.json)."""

from __future__ import annotations

import numpy as np
import pytest
from selection_references import Reference, iou, load_references, reference_mask

from segswap.engine.selection import Click, select_mask
from segswap.errors import InvalidParameter

REFERENCES = {reference.name: reference for reference in load_references()}


@pytest.fixture(scope="module", params=sorted(REFERENCES))
def case(request: pytest.FixtureRequest) -> tuple[Reference, np.ndarray, np.ndarray]:
    reference = REFERENCES[request.param]
    return reference, reference.image(), reference_mask(reference)


def test_box_select_hugs_the_object(case: tuple[Reference, np.ndarray, np.ndarray]) -> None:
    reference, scene, expected = case
    selected = select_mask(scene, reference.box)
    assert selected.shape == scene.shape[:2] and selected.dtype == bool
    assert iou(selected, expected) >= 0.8, (reference.name, iou(selected, expected))
    # Nothing outside the box.
    left, top, right, bottom = reference.box
    outside = np.ones_like(selected)
    outside[top:bottom, left:right] = False
    assert not selected[outside].any()


def test_a_looser_box_still_finds_the_object(
    case: tuple[Reference, np.ndarray, np.ndarray],
) -> None:
    reference, scene, expected = case
    left, top, right, bottom = reference.box
    dx, dy = 0.1 * (right - left), 0.1 * (bottom - top)
    selected = select_mask(scene, [left - dx, top - dy, right + dx, bottom + dy])
    assert iou(selected, expected) >= 0.8, iou(selected, expected)


def test_same_inputs_same_mask() -> None:
    reference = REFERENCES["cup-and-saucer"]
    scene = reference.image()
    assert np.array_equal(select_mask(scene, reference.box), select_mask(scene, reference.box))


def test_the_cost_follows_the_box_not_the_scene() -> None:
    """The same object in a scene padded to 4× the area: the same selection, placed."""
    reference = REFERENCES["mission-patch"]
    scene = reference.image()
    height, width = scene.shape[:2]
    padded = np.zeros((2 * height, 2 * width, 3), np.uint8)
    padded[:height, :width] = scene
    padded[height:, :] = 90
    small = select_mask(scene, reference.box)
    large = select_mask(padded, reference.box)
    assert np.array_equal(large[:height, :width], small) and not large[height:].any()


def test_clicks_add_and_remove() -> None:
    reference = REFERENCES["cat-left-eye"]
    scene, expected = reference.image(), reference_mask(reference)
    plain = select_mask(scene, reference.box)
    # Lower right of the box: dark fur GrabCut takes for the eye's rim.
    assert plain[140, 212]
    removed = select_mask(scene, reference.box, [Click(212, 140, positive=False)])
    assert not removed[140, 212]
    assert iou(removed, expected) >= iou(plain, expected) - 0.01
    # Fur at the box's lower left, which GrabCut leaves out, is added by a click.
    assert not plain[150, 130]
    added = select_mask(scene, reference.box, [Click(130, 150, positive=True)])
    assert added[150, 130] and iou(added, expected) >= 0.8


def test_a_click_alone_selects_the_object_under_it() -> None:
    reference = REFERENCES["mission-patch"]
    scene, expected = reference.image(), reference_mask(reference)
    selected = select_mask(scene, None, [Click(170, 386)])
    assert iou(selected, expected) >= 0.8, iou(selected, expected)


def test_a_box_over_the_whole_scene_selects_it() -> None:
    """Nothing outside the box to learn a background from: the box is the selection."""
    scene = np.random.default_rng(0).integers(0, 255, (40, 50, 3), dtype=np.uint8)
    assert select_mask(scene, [0, 0, 50, 40]).all()


def test_tiny_scene() -> None:
    scene = np.zeros((3, 3, 3), np.uint8)
    scene[1, 1] = 255
    selected = select_mask(scene, [0, 0, 3, 3], [Click(1, 1)])
    assert selected[1, 1]


@pytest.mark.parametrize(
    ("box", "points", "field"),
    [
        ([10, 10, 11, 50], (), "box"),  # 1 px wide
        ([40, 40, 10, 10], (), "box"),  # inverted
        ([10, 40, 40, 10], (), "box"),  # bottom above top
        ([10, 10, 50], (), "box"),
        ([10, "a", 20, 30], (), "box"),
        ([10, 10, float("nan"), 30], (), "box"),
        ([True, 10, 20, 30], (), "box"),
        ([500, 500, 600, 600], (), "box"),  # outside the 64×64 scene
        (None, (), "points"),
        (None, (Click(5, 5, positive=False),), "points"),
        ([0, 0, 20, 20], (Click(64, 5),), "points"),
    ],
)
def test_bad_box_or_points_name_the_field(box, points, field) -> None:
    scene = np.zeros((64, 64, 3), np.uint8)
    with pytest.raises(InvalidParameter) as error:
        select_mask(scene, box, points)
    assert error.value.field == field, str(error.value)
