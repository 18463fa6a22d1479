"""changed_box and mode: measured against the output pixels on every mode."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data

from segswap.engine import EditResult, get_engine, run_edit
from segswap.engine.proof import NOTHING_CHANGED, changed_box, outside_is_unchanged
from segswap.params import SwapParams


def scene() -> np.ndarray:
    return data.astronaut()  # 512×512 RGB photo


def disc_mask(shape: tuple[int, int], centre: tuple[int, int], radius: int) -> np.ndarray:
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    return (yy - centre[0]) ** 2 + (xx - centre[1]) ** 2 <= radius**2


def objects() -> dict[str, np.ndarray]:
    logo = data.logo().copy()  # RGBA; make its white background transparent
    logo[:, :, 3] = np.where(logo[:, :, :3].min(axis=2) > 235, 0, 255).astype(np.uint8)
    brick = np.repeat(data.brick()[:, :, None], 3, axis=2)
    return {"object": logo, "pattern": brick, "remove": np.zeros((8, 8, 4), np.uint8)}


def assert_exact_box(before: np.ndarray, result: EditResult) -> None:
    """Everything outside the box is the scene's, and each of its four edges holds a
    changed pixel (so it is the smallest such box)."""
    x0, y0, x1, y1 = result.changed_box
    after = result.image
    assert outside_is_unchanged(before, after, result.changed_box)
    differs = (before != after).any(axis=2)
    assert differs[y0, x0:x1].any() and differs[y1 - 1, x0:x1].any()
    assert differs[y0:y1, x0].any() and differs[y0:y1, x1 - 1].any()


@pytest.mark.parametrize("mode", ["object", "pattern", "remove"])
@pytest.mark.parametrize("growmask", [0, 5, 20])
def test_box_is_exact_on_every_mode(mode: str, growmask: int) -> None:
    photo = scene()
    mask = disc_mask(photo.shape[:2], (300, 220), 60)
    params = SwapParams(mode=mode, growmask=growmask, steps=10)  # type: ignore[arg-type]
    result = run_edit(
        get_engine("composite"), photo, mask.view(np.uint8) * 255, objects()[mode], params
    )
    assert result.mode == mode
    assert_exact_box(photo, result)
    x0, y0, x1, y1 = result.changed_box
    # Within the mask's reach: its box grown by growmask and the 4-pixel feather.
    assert x0 >= 220 - 60 - growmask - 5 and x1 <= 220 + 61 + growmask + 5
    assert y0 >= 300 - 60 - growmask - 5 and y1 <= 300 + 61 + growmask + 5


@pytest.mark.parametrize(("mode", "index"), [("object", 0), ("pattern", 1), ("remove", 2)])
def test_auto_reports_the_edit_it_chose(mode: str, index: int) -> None:
    photo = scene()
    mask = np.zeros(photo.shape[:2], bool)
    mask[100:180, 300:420] = True
    obj = list(objects().values())[index]
    result = run_edit(
        get_engine("composite"), photo, mask.view(np.uint8) * 255, obj, SwapParams(steps=10)
    )
    assert result.mode == mode
    assert_exact_box(photo, result)


def test_mask_touching_the_border_gives_a_box_clipped_to_the_image() -> None:
    photo = scene()
    mask = np.zeros(photo.shape[:2], bool)
    mask[450:, 470:] = True
    result = run_edit(
        get_engine("composite"), photo, mask.view(np.uint8) * 255, objects()["remove"], SwapParams()
    )
    assert result.changed_box[2:] == (512, 512)
    assert_exact_box(photo, result)


def test_an_edit_that_changes_nothing_has_the_empty_box() -> None:
    photo = scene()
    mask = disc_mask(photo.shape[:2], (200, 200), 40)
    params = SwapParams(mode="pattern", fashion_strength=0.0)
    result = run_edit(
        get_engine("composite"), photo, mask.view(np.uint8) * 255, objects()["pattern"], params
    )
    np.testing.assert_array_equal(result.image, photo)
    assert result.changed_box == NOTHING_CHANGED


class Scribbler:
    """An engine that does not promise to stay near the mask: it marks a corner."""

    name = "scribbler"

    def __call__(
        self, scene: np.ndarray, mask: np.ndarray, obj: np.ndarray, params: SwapParams
    ) -> np.ndarray:
        out = scene.copy()
        out[2:5, 7:9] = 0 if out[2, 7, 0] > 127 else 255
        out[mask] = 255 - out[mask]
        return out


def test_an_engine_without_the_promise_is_compared_everywhere() -> None:
    photo = scene()
    mask = np.zeros(photo.shape[:2], bool)
    mask[300:310, 400:420] = True
    result = run_edit(
        Scribbler(),
        photo,
        mask.view(np.uint8) * 255,
        objects()["object"],
        SwapParams(mode="object"),
    )
    assert result.changed_box == (7, 2, 420, 310)
    assert_exact_box(photo, result)


def test_changed_box_of_single_pixels() -> None:
    before = np.zeros((10, 20, 3), np.uint8)
    after = before.copy()
    after[3, 17, 1] = 1
    assert changed_box(before, after) == (17, 3, 18, 4)
    assert changed_box(before, before) == NOTHING_CHANGED
    with pytest.raises(ValueError, match="shapes differ"):
        changed_box(before, after[:5])
