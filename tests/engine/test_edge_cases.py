"""Inputs at the edges of what the composite engine accepts, on real photos.

Every one of these must either work (the scene's size back, pixels outside the reach
of the edit untouched) or raise :class:`InvalidParameter` naming the field; none may
crash with an internal error.
"""

from __future__ import annotations

from functools import cache

import cv2
import numpy as np
import pytest
from skimage import data

import segswap
from segswap.engine.harmonize import harmonize, to_lab, weighted_stats
from segswap.engine.matte import key_background
from segswap.engine.region import FEATHER_PX, feather_reach, grow_mask
from segswap.errors import InvalidParameter

NOTHING = np.zeros((4, 4, 4), np.uint8)  # a fully transparent object: removal


@cache
def astronaut() -> np.ndarray:
    return data.astronaut()


@cache
def logo_cutout() -> np.ndarray:
    """skimage's logo with its white background made transparent."""
    logo = data.logo().copy()
    logo[:, :, 3] = np.where(logo[:, :, :3].min(axis=2) > 235, 0, 255).astype(np.uint8)
    return logo


def translucent_logo(alpha: int) -> np.ndarray:
    """The logo cut-out with its opaque pixels at ``alpha`` (a faint print, a glass)."""
    logo = logo_cutout().copy()
    logo[:, :, 3] = (logo[:, :, 3].astype(np.int32) * alpha // 255).astype(np.uint8)
    return logo


def untouched_outside(scene: np.ndarray, mask: np.ndarray, out: np.ndarray, growmask: int):
    far = ~feather_reach(grow_mask(mask > 127, growmask))
    assert np.array_equal(out[far], scene[far])


@pytest.mark.parametrize("size", [(1, 64), (64, 1), (1, 400), (2, 300), (8, 8), (13, 13)])
@pytest.mark.parametrize("mode", ["remove", "object"])
def test_thin_and_tiny_scenes(size: tuple[int, int], mode: str) -> None:
    """No 7×7 patch of known scene exists: the fill falls back to carrying the known
    colours inward (it used to crash with numpy's ``ValueError: high <= 0``)."""
    height, width = size
    scene = cv2.resize(astronaut(), (width, height), interpolation=cv2.INTER_AREA)
    scene = scene.reshape(height, width, 3)
    mask = np.zeros((height, width), np.uint8)
    mask[height // 2, width // 2] = 255
    obj = NOTHING if mode == "remove" else logo_cutout()
    out = np.asarray(segswap.swap(scene, mask, obj, mode=mode, growmask=0))
    assert out.shape == scene.shape
    untouched_outside(scene, mask, out, 0)


@pytest.mark.parametrize("kept", [5, 8, 10])
def test_removal_leaving_only_a_sliver_of_scene(kept: int) -> None:
    """A mask covering all but a few rows: too little for a whole patch, but something
    to fill from, so the removal works (it crashed)."""
    scene = data.chelsea()
    mask = np.full(scene.shape[:2], 255, np.uint8)
    mask[:kept] = 0
    out = np.asarray(segswap.swap(scene, mask, NOTHING, growmask=0))
    assert out.shape == scene.shape
    untouched_outside(scene, mask, out, 0)
    # The fill takes its colours from the kept rows, not from what was removed.
    kept_mean = scene[:kept].reshape(-1, 3).mean(axis=0)
    filled_mean = out[kept + FEATHER_PX + 1 :].reshape(-1, 3).mean(axis=0)
    assert np.abs(filled_mean - kept_mean).max() < 40


def test_mask_covering_everything_but_a_grid_is_a_clear_error() -> None:
    scene = data.chelsea()
    mask = np.full(scene.shape[:2], 255, np.uint8)
    mask[::8, ::8] = 0  # every kept pixel is inside the feather band
    with pytest.raises(InvalidParameter) as info:
        segswap.swap(scene, mask, NOTHING, growmask=0)
    assert info.value.field == "mask_image"


def test_translucent_object_over_a_mask_filling_most_of_the_scene() -> None:
    """The fill under a see-through object is made at half size; a thin ring of scene
    left around a large mask vanished when halved and crashed the fill."""
    scene = data.coffee()
    mask = np.zeros(scene.shape[:2], np.uint8)
    mask[20:380, 20:580] = 255
    out = np.asarray(segswap.swap(scene, mask, translucent_logo(100)))
    assert out.shape == scene.shape
    untouched_outside(scene, mask, out, 5)


def test_steps_change_the_fill_under_a_small_object() -> None:
    """README: ``steps`` sets the fill's search effort in object mode too. Under a small
    object the fill had a single pyramid level, which never searched, so ``steps`` had no
    effect at all (and the fill kept random sources)."""
    scene = data.coffee()
    mask = np.zeros(scene.shape[:2], np.uint8)
    cv2.ellipse(mask, (262, 185), (12, 10), 0, 0, 360, 255, -1)
    few = np.asarray(segswap.swap(scene, mask, logo_cutout(), steps=10))
    many = np.asarray(segswap.swap(scene, mask, logo_cutout(), steps=100))
    assert not np.array_equal(few, many)
    again = np.asarray(segswap.swap(scene, mask, logo_cutout(), steps=100))
    assert np.array_equal(many, again)


@pytest.mark.parametrize("alpha", [100, 120])
def test_harmonize_moves_a_translucent_object_to_the_scene(alpha: int) -> None:
    """An object with no pixel above alpha 0.5 had all-zero statistics weights, so
    ``subject_strength=0`` pushed its colours away from the scene instead of onto it."""
    rgb = np.ascontiguousarray(data.logo()[:, :, :3])
    weight = translucent_logo(alpha)[:, :, 3].astype(np.float32) / 255.0
    scene = to_lab(data.coffee())
    scene_mean, scene_std = weighted_stats(scene, np.ones(scene.shape[:2], bool))
    moved = harmonize(rgb, weight, scene_mean, scene_std, 0.0)
    mean, _ = weighted_stats(to_lab(moved), weight)
    assert abs(mean[0] - scene_mean[0]) < 3.0


def test_subject_strength_zero_darkens_a_translucent_object_in_a_dark_scene() -> None:
    """In the night sky of the rocket photo, harmonising (subject_strength 0) darkens the
    translucent logo toward the scene's light level."""
    scene = data.rocket()
    mask = np.zeros(scene.shape[:2], np.uint8)
    cv2.ellipse(mask, (120, 120), (90, 90), 0, 0, 360, 255, -1)
    region = mask > 127
    obj = translucent_logo(100)
    kept = np.asarray(segswap.swap(scene, mask, obj, subject_strength=1.0, growmask=0))
    moved = np.asarray(segswap.swap(scene, mask, obj, subject_strength=0.0, growmask=0))
    lightness = [float(to_lab(image[region][None])[0, :, 0].mean()) for image in (kept, moved)]
    assert lightness[1] < lightness[0] - 5, lightness


def test_numpy_scalars_are_accepted_as_parameters() -> None:
    scene = data.chelsea()
    mask = np.zeros(scene.shape[:2], np.uint8)
    cv2.ellipse(mask, (300, 150), (20, 17), 0, 0, 360, 255, -1)
    plain = segswap.swap(scene, mask, NOTHING, seed=7, steps=12, growmask=3)
    numpy = segswap.swap(
        scene, mask, NOTHING, seed=np.uint32(7), steps=np.int64(12), growmask=np.int8(3)
    )
    assert np.array_equal(np.asarray(plain), np.asarray(numpy))
    with pytest.raises(InvalidParameter) as info:
        segswap.swap(scene, mask, NOTHING, steps=np.bool_(True))
    assert info.value.field == "steps"


def horse_outline(scale: float, thickness: int) -> np.ndarray:
    """skimage's horse silhouette as a thin black outline on white: a line drawing."""
    silhouette = (~data.horse()).astype(np.uint8)
    contours, _ = cv2.findContours(silhouette, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    height, width = (round(side * scale) for side in silhouette.shape)
    drawing = np.full((height, width, 3), 255, np.uint8)
    scaled = [np.rint(contour * scale).astype(np.int32) for contour in contours]
    cv2.drawContours(drawing, scaled, -1, (0, 0, 0), thickness)
    return drawing


@pytest.mark.parametrize(("scale", "thickness"), [(0.25, 1), (2.0, 1), (2.0, 2)])
def test_line_drawing_object_keeps_its_strokes(scale: float, thickness: int) -> None:
    """Keying pulls the matte in by a pixel or more; a thin outline vanished (all of it:
    "the object image has no visible pixel", or all but a few specks)."""
    drawing = horse_outline(scale, thickness)
    alpha = key_background(drawing)
    strokes = drawing[:, :, 0] < 128
    assert float(alpha[strokes].mean()) > 0.5
    assert float(alpha[cv2.dilate(strokes.view(np.uint8), np.ones((9, 9))) == 0].max()) < 0.05


def test_line_drawing_object_is_placed() -> None:
    scene = data.coffee()
    mask = np.zeros(scene.shape[:2], np.uint8)
    cv2.ellipse(mask, (262, 185), (118, 135), 0, 0, 360, 255, -1)
    out = np.asarray(segswap.swap(scene, mask, horse_outline(0.25, 1), growmask=0))
    region = mask > 127
    removed = np.asarray(segswap.swap(scene, mask, NOTHING, growmask=0))
    darker = (out.astype(int).sum(axis=2) < removed.astype(int).sum(axis=2) - 120) & region
    assert darker.sum() > 300  # the outline's strokes show in the masked area


def test_texture_sent_to_object_mode_is_placed_whole() -> None:
    """``mode=object`` with an edge-to-edge texture: nothing is keyed out, so the whole
    image is the object (it used to fail with "no visible pixel")."""
    scene = data.coffee()
    mask = np.zeros(scene.shape[:2], np.uint8)
    mask[100:300, 200:400] = 255
    brick = np.repeat(data.brick()[:, :, None], 3, axis=2)
    out = np.asarray(segswap.swap(scene, mask, brick, mode="object", growmask=0))
    inner = out[120:280, 220:380].astype(np.float32)
    # Grey bricks fill the square box: no colour is left of the coffee scene there, only
    # the warm tint of its light (a third of at most ±15 % per channel at strength 1).
    assert float(np.abs(inner - inner.mean(axis=2, keepdims=True)).mean()) < 4.0
