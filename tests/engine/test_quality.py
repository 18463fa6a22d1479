"""Quality of the three edits, measured on real photos from scikit-image."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from measures import (
    delta_e,
    dominant_period,
    edge_band,
    gradient_magnitude,
    lab,
    laplacian_energy,
    mean_lab,
    ring,
)
from PIL import Image
from skimage import data

import segswap
from segswap.engine import pattern
from segswap.engine.matte import object_matte
from segswap.engine.objects import layout_object
from segswap.engine.prepare import as_rgba
from segswap.engine.region import FEATHER_PX, edit_region, feather_reach, grow_mask


def on_white(rgba: np.ndarray) -> np.ndarray:
    alpha = rgba[:, :, 3:4].astype(np.float32) / 255.0
    flat = rgba[:, :, :3] * alpha + 255.0 * (1.0 - alpha)
    return np.rint(flat).astype(np.uint8)


def logo_on_white() -> np.ndarray:
    """The Python logo photographed on white, as product shots come."""
    logo = data.logo()
    return logo[:, :, :3].copy()


def rect_mask(shape: tuple[int, ...], top: int, left: int, bottom: int, right: int) -> np.ndarray:
    mask = np.zeros(shape[:2], bool)
    mask[top:bottom, left:right] = True
    return mask


def png_roundtrip(image: Image.Image) -> np.ndarray:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"))


# -- untouched pixels and sizes ------------------------------------------------------------


@pytest.mark.parametrize("mode", ["object", "pattern", "remove"])
@pytest.mark.parametrize("size", [(64, 64), (131, 67), (517, 1023)])
def test_output_size_and_untouched_pixels(mode: str, size: tuple[int, int]) -> None:
    height, width = size
    scene = cv2.resize(data.astronaut(), (width, height), interpolation=cv2.INTER_AREA)
    mask = rect_mask(scene.shape, height // 3, width // 4, 2 * height // 3, width // 2)
    result = segswap.swap(scene, mask, data.logo(), mode=mode, growmask=5)
    pixels = png_roundtrip(result)
    assert pixels.shape == scene.shape
    reach = feather_reach(grow_mask(mask, 5))
    assert np.array_equal(pixels[~reach], scene[~reach])
    assert not np.array_equal(pixels[mask], scene[mask])


def test_4096_scene_keeps_size_and_pixels() -> None:
    scene = cv2.resize(data.coffee(), (4096, 4096), interpolation=cv2.INTER_LINEAR)
    mask = rect_mask(scene.shape, 1800, 1700, 2200, 2200)
    result = segswap.swap(scene, mask, logo_on_white())
    pixels = np.asarray(result)
    assert pixels.shape == (4096, 4096, 3)
    reach = feather_reach(grow_mask(mask, 5))
    assert np.array_equal(pixels[~reach], scene[~reach])


# -- object swap ---------------------------------------------------------------------------

COFFEE_MASK = (40, 130, 340, 430)  # the cup and the spoon


def object_case(strength: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(scene, mask, result, where the object was put) for the cup → logo swap."""
    scene = data.coffee()
    mask = rect_mask(scene.shape, *COFFEE_MASK)
    obj = logo_on_white()
    result = np.asarray(segswap.swap(scene, mask, obj, subject_strength=strength))
    region = edit_region(mask, 5)
    layer = layout_object(scene[region.crop.slices], region, as_rgba(obj), strength)
    placed = np.zeros(mask.shape, bool)
    placed[region.crop.slices] = layer.cover > 0.95
    return scene, mask, result, placed


def test_object_is_placed_without_seam() -> None:
    scene, mask, result, placed = object_case()
    grown = grow_mask(mask, 5)
    band = edge_band(grown, 5)
    seam = gradient_magnitude(result)[band].mean()
    before = gradient_magnitude(scene)[band].mean()
    assert seam <= 1.5 * before, (seam, before)
    # The object is clearly there: a large part of the mask, far from what was there.
    assert placed.sum() > 0.3 * mask.sum()
    assert np.abs(result[placed].astype(int) - scene[placed]).mean() > 40


def test_object_keeps_its_colours_at_full_subject_strength() -> None:
    _, _, result, placed = object_case(1.0)
    obj = logo_on_white()
    own = mean_lab(obj, object_matte(as_rgba(obj)) > 0.95)
    assert delta_e(mean_lab(result, placed), own) <= 10


def test_lower_subject_strength_moves_toward_scene() -> None:
    distances = []
    for strength in (1.0, 0.75, 0.5, 0.25, 0.0):
        scene, mask, result, placed = object_case(strength)
        surroundings = mean_lab(scene, ring(grow_mask(mask, 5), 0, 40))
        distances.append(delta_e(mean_lab(result, placed), surroundings))
    assert all(a > b for a, b in zip(distances, distances[1:], strict=False)), distances
    # Harmonising keeps each colour's hue (a green logo is not turned brown) and, since
    # issue 23, the object's contrast and most of its chroma (it does not go flat and
    # grey), so the distance to the surroundings' mean shrinks by about a third.
    assert distances[-1] < 0.7 * distances[0]


def test_plain_background_is_keyed_out() -> None:
    scene, mask, result, _ = object_case()

    def near_white(pixels: np.ndarray) -> float:
        return float(np.mean(np.all(pixels > 225, axis=-1)))

    naive = scene.copy()
    top, left, bottom, right = COFFEE_MASK
    naive[top:bottom, left:right] = cv2.resize(logo_on_white(), (right - left, bottom - top))
    assert near_white(naive[mask]) > 0.25  # what a naive paste leaves
    assert near_white(result[mask]) < 0.08


# -- pattern transfer ----------------------------------------------------------------------

SUIT = (330, 60, 500, 330)  # a rectangle of the astronaut's suit, with folds and shadow


def pattern_region(repeat: int, strength: float = 1.0, tile: np.ndarray | None = None):
    scene = data.astronaut()
    mask = rect_mask(scene.shape, *SUIT)
    pattern = data.chelsea() if tile is None else tile
    result = np.asarray(
        segswap.swap(
            scene,
            mask,
            pattern,
            mode="pattern",
            horizontal_repeat=repeat,
            vertical_repeat=repeat,
            fashion_strength=strength,
            growmask=0,
        )
    )
    top, left, bottom, right = SUIT
    return scene[top:bottom, left:right], result[top:bottom, left:right]


SURFACES = {  # (top, left, bottom, right) of plain surfaces of real photos
    "wall": (data.astronaut, (10, 190, 200, 400)),
    "table": (data.coffee, (250, 380, 400, 600)),
    "fur": (data.chelsea, (20, 40, 200, 240)),
}


@pytest.mark.parametrize("surface", sorted(SURFACES))
def test_doubling_repeats_halves_the_period(surface: str, monkeypatch) -> None:
    """The print's period, measured with the warp off: the warp displaces the print
    locally (at most 15 % of a tile, along the surface's relief), which on a textured
    surface such as fur blurs the autocorrelation the period is read from."""
    monkeypatch.setattr(pattern, "WARP_GAIN", 0.0)
    load, (top, left, bottom, right) = SURFACES[surface]
    scene = load()
    mask = rect_mask(scene.shape, top, left, bottom, right)
    periods = {}
    for repeat in (3, 6):
        result = segswap.swap(
            scene,
            mask,
            data.chelsea(),
            horizontal_repeat=repeat,
            vertical_repeat=repeat,
            growmask=0,
        )
        gray = cv2.cvtColor(np.asarray(result)[top:bottom, left:right], cv2.COLOR_RGB2GRAY)
        periods[repeat] = (dominant_period(gray, axis=0), dominant_period(gray, axis=1))
    for axis in (0, 1):
        assert periods[6][axis] == pytest.approx(periods[3][axis] / 2, rel=0.2), periods
    assert periods[6][1] == pytest.approx((right - left) / 6, rel=0.2), periods


def test_pattern_keeps_the_region_shading() -> None:
    brick = np.repeat(data.brick()[:, :, None], 3, axis=2)
    before, after = pattern_region(8, tile=brick)

    def low_frequency(rgb: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(lab(rgb)[:, :, 0], (0, 0), 12).ravel()

    correlation = np.corrcoef(low_frequency(before), low_frequency(after))[0, 1]
    assert correlation >= 0.6, correlation
    assert np.abs(after.astype(int) - before).mean() > 20  # the pattern did replace it


def test_fashion_strength_zero_leaves_region() -> None:
    before, after = pattern_region(3, strength=0.0)
    assert np.abs(after.astype(int) - before).mean() <= 3


def test_fashion_strength_is_monotonic() -> None:
    changes = [
        np.abs(pattern_region(3, strength=s)[1].astype(int) - pattern_region(3, 0.0)[0]).mean()
        for s in (0.25, 0.5, 1.0)
    ]
    assert changes[0] < changes[1] < changes[2]


# -- removal -------------------------------------------------------------------------------


def ellipse_mask(shape: tuple[int, ...], centre: tuple[int, int], axes: tuple[int, int]):
    mask = np.zeros(shape[:2], np.uint8)
    cv2.ellipse(mask, centre, axes, 0, 0, 360, 255, -1)
    return mask > 0


REMOVALS = {  # (x, y) centre and (x, y) half-axes of an ellipse over the object
    "astronaut-badge": (data.astronaut, ((172, 395), (44, 44))),
    "cat-eye": (data.chelsea, ((300, 150), (40, 34))),
    "motorcycle-engine": (lambda: data.stereo_motorcycle()[0], ((400, 300), (40, 40))),
}


@pytest.mark.parametrize("name", sorted(REMOVALS))
def test_removal_fills_with_matching_texture(name: str) -> None:
    load, (centre, axes) = REMOVALS[name]
    scene = load()
    mask = ellipse_mask(scene.shape, centre, axes)
    result = np.asarray(segswap.swap(scene, mask, np.zeros((4, 4, 4), np.uint8)))
    grown = grow_mask(mask, 5)
    around = ring(grow_mask(grown, FEATHER_PX), 0, 20)

    removed_colour = mean_lab(scene, mask)
    fill_colour = mean_lab(result, grown)
    ring_colour = mean_lab(scene, around)
    assert delta_e(fill_colour, ring_colour) <= 8
    assert delta_e(fill_colour, removed_colour) > delta_e(fill_colour, ring_colour)
    assert np.mean(np.linalg.norm(lab(result)[mask] - removed_colour, axis=1) < 5) < 0.2

    ratio = laplacian_energy(result, grown) / laplacian_energy(scene, around)
    assert 0.4 <= ratio <= 3.0, ratio
    telea = cv2.inpaint(scene, grown.view(np.uint8), 5, cv2.INPAINT_TELEA)
    telea_ratio = laplacian_energy(telea, grown) / laplacian_energy(scene, around)
    assert telea_ratio < 0.4 <= ratio  # the measure tells a blur from texture


# -- determinism ---------------------------------------------------------------------------


def test_same_seed_same_bytes_other_seed_other_fill() -> None:
    scene = data.chelsea()
    mask = ellipse_mask(scene.shape, (300, 150), (40, 34))
    empty = np.zeros((4, 4, 4), np.uint8)

    def png(seed: int) -> bytes:
        buffer = io.BytesIO()
        segswap.swap(scene, mask, empty, seed=seed).save(buffer, format="PNG")
        return buffer.getvalue()

    assert png(7) == png(7)
    assert png(7) != png(8)


def test_transparent_parts_of_a_pattern_leave_the_surface() -> None:
    scene = data.astronaut()
    mask = rect_mask(scene.shape, *SUIT)
    # A checker of opaque and clear cells: a print on a transparent background.
    tile = np.zeros((40, 40, 4), np.uint8)
    tile[:20, :20] = (20, 200, 60, 255)
    tile[20:, 20:] = (20, 200, 60, 255)
    result = np.asarray(
        segswap.swap(scene, mask, tile, mode="pattern", horizontal_repeat=5, vertical_repeat=5)
    )
    top, left, bottom, right = SUIT
    changed = np.abs(result.astype(int) - scene).sum(axis=2) > 0
    share = changed[top:bottom, left:right].mean()
    assert 0.35 < share < 0.65, share  # about half the cells are clear


def test_object_fits_inside_an_irregular_mask() -> None:
    scene = data.coffee()
    mask = ellipse_mask(scene.shape, (285, 190), (140, 150))
    obj = logo_on_white()
    region = edit_region(mask, 5)
    layer = layout_object(scene[region.crop.slices], region, as_rgba(obj), 1.0)
    # The layer is cut to the grown mask: compare with the object's whole alpha there.
    alpha = object_matte(as_rgba(obj))
    box = alpha > 0.02
    rows, cols = np.nonzero(box)
    alpha = alpha[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    place = layer.place
    whole = cv2.resize(alpha, (place.width, place.height), interpolation=cv2.INTER_AREA).sum()
    kept = float(layer.cover.sum())
    assert kept > 0.25 * mask.sum()  # a big object, not a speck
    assert kept / whole > 0.95  # hardly anything of it was cut off by the ellipse
