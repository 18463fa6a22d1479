"""The mask doctor (segswap.engine.mask_doctor) on real photos and hand-drawn masks."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from selection_references import load_references, reference_mask

from segswap.engine.mask_doctor import diagnose
from segswap.engine.region import disk
from segswap.engine.selection import select_mask

REFERENCES = {reference.name: reference for reference in load_references()}


def codes(warnings) -> list[str]:
    return [warning.code for warning in warnings]


def as_image(region: np.ndarray) -> np.ndarray:
    """A region as the engine receives it: an L image, 255 = edit."""
    return np.where(region, 255, 0).astype(np.uint8)


def eroded(region: np.ndarray, pixels: int) -> np.ndarray:
    return cv2.erode(region.view(np.uint8), disk(pixels)).astype(bool)


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_a_clean_mask_gets_no_warning(name: str) -> None:
    reference = REFERENCES[name]
    scene, region = reference.image(), reference_mask(reference)
    assert diagnose(as_image(region), scene) == []
    assert diagnose(as_image(region), scene, growmask=5) == []
    # What box-select gives for it, too.
    assert diagnose(select_mask(scene, reference.box), scene) == []


def test_a_clean_mask_without_the_scene() -> None:
    region = reference_mask(REFERENCES["cup-and-saucer"])
    assert diagnose(as_image(region)) == []


def test_an_inverted_mask_is_flagged() -> None:
    reference = REFERENCES["cup-and-saucer"]
    scene, region = reference.image(), reference_mask(reference)
    found = diagnose(as_image(~region), scene)
    assert "inverted" in codes(found), found
    message = next(w.message for w in found if w.code == "inverted")
    assert "border" in message and "centre" in message
    # The inverse of an ellipse around the centre of another photo.
    cat = REFERENCES["cat-left-eye"].image()
    height, width = cat.shape[:2]
    ellipse = np.zeros((height, width), np.uint8)
    cv2.ellipse(ellipse, (width // 2, height // 2), (width // 4, height // 3), 0, 0, 360, 255, -1)
    assert "inverted" in codes(diagnose(255 - ellipse, cat))
    assert diagnose(ellipse, cat) == []


def test_a_small_off_centre_objects_inverse_is_near_full() -> None:
    """Not \"inverted\" by the border-but-not-centre rule (it covers the centre), but
    flagged all the same."""
    reference = REFERENCES["mission-patch"]
    scene, region = reference.image(), reference_mask(reference)
    found = diagnose(as_image(~region), scene)
    assert codes(found) == ["covers_most"] and "inverted?" in found[0].message


def test_the_cups_inverted_mask_is_not_called_near_full() -> None:
    """The cup and saucer cover half the photo: its inverse is inverted, not near-full."""
    region = reference_mask(REFERENCES["cup-and-saucer"])
    assert codes(diagnose(as_image(~region))) == ["inverted"]


def test_a_mask_covering_most_of_the_scene_is_flagged() -> None:
    scene = REFERENCES["cup-and-saucer"].image()
    region = np.ones(scene.shape[:2], bool)
    region[:110, :220] = False  # 600×400 minus 220×110: 89.9 % covered
    assert "covers_most" not in codes(diagnose(as_image(region), scene))
    region[:] = True
    region[:100, :200] = False  # 91.7 % covered, the centre included: not inverted
    found = diagnose(as_image(region), scene)
    assert codes(found) == ["covers_most"], found
    assert "92%" in found[0].message
    assert codes(diagnose(np.full((50, 80), 255, np.uint8))) == ["covers_most"]


def test_a_grey_mask_is_flagged_a_smooth_edged_one_is_not() -> None:
    region = reference_mask(REFERENCES["cup-and-saucer"])
    blurred = cv2.GaussianBlur(as_image(region), (0, 0), 8)
    found = diagnose(blurred)
    assert codes(found) == ["not_binary"], found
    # Anti-aliased like a brush stroke (a one-pixel soft edge) is black and white enough.
    antialiased = cv2.GaussianBlur(as_image(region), (3, 3), 0.6)
    assert ((antialiased > 0) & (antialiased < 255)).sum() > 0
    assert diagnose(antialiased) == []


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_a_mask_stopping_short_of_its_object_is_flagged(name: str) -> None:
    reference = REFERENCES[name]
    scene, region = reference.image(), reference_mask(reference)
    short = as_image(eroded(region, 6))
    found = diagnose(short, scene)
    assert codes(found) == ["ring_left"], found
    # Grown by more than the ring before the edit: nothing is left behind.
    assert diagnose(short, scene, growmask=8) == []


def test_a_mask_of_another_size_is_read_at_the_scenes() -> None:
    reference = REFERENCES["cup-and-saucer"]
    scene, region = reference.image(), reference_mask(reference)
    half = cv2.resize(as_image(~region), None, fx=0.5, fy=0.5, interpolation=cv2.INTER_NEAREST)
    assert codes(diagnose(half, scene)) == ["inverted"]
    short = cv2.resize(
        as_image(eroded(region, 8)), None, fx=0.5, fy=0.5, interpolation=cv2.INTER_NEAREST
    )
    assert codes(diagnose(short, scene)) == ["ring_left"]


def test_rgba_and_rgb_masks_are_read_like_the_engine_reads_them() -> None:
    region = reference_mask(REFERENCES["cup-and-saucer"])
    rgb = np.repeat(as_image(~region)[:, :, None], 3, axis=2)
    assert "inverted" in codes(diagnose(rgb))
    rgba = np.zeros(region.shape + (4,), np.uint8)
    rgba[:, :, 3] = as_image(~region)  # read from the alpha, as the engine does
    assert "inverted" in codes(diagnose(rgba))


def test_warnings_serialise() -> None:
    found = diagnose(np.full((20, 20), 255, np.uint8))
    assert [w.as_dict() for w in found] == [{"code": "covers_most", "message": found[0].message}]
