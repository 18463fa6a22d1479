"""SPEC §3: which edit runs when no ``mode`` is sent, and that ``mode`` overrides it."""

from __future__ import annotations

from functools import cache

import cv2
import numpy as np
import pytest
from skimage import data

import segswap
from segswap.engine.modes import choose_edit
from segswap.engine.prepare import as_rgba
from segswap.params import SwapParams

AUTO = SwapParams()


def flatten_on(rgba: np.ndarray, colour: tuple[int, int, int]) -> np.ndarray:
    alpha = rgba[:, :, 3:4].astype(np.float32) / 255.0
    rgb = rgba[:, :, :3].astype(np.float32) * alpha + np.float32(colour) * (1.0 - alpha)
    return np.rint(rgb).astype(np.uint8)


@cache
def logo_on_white() -> np.ndarray:
    """skimage's logo (an object on a plain background) as an opaque RGBA image."""
    return as_rgba(flatten_on(data.logo(), (255, 255, 255)))


@cache
def logo_cutout() -> np.ndarray:
    """The logo with real transparency: alpha 0 where it is near-white (its background)."""
    logo = data.logo().copy()
    if int(logo[:, :, 3].min()) == 255:
        logo[:, :, 3] = np.where(logo[:, :, :3].min(axis=2) > 235, 0, 255).astype(np.uint8)
    return logo


@cache
def brick() -> np.ndarray:
    """skimage's brick wall: an edge-to-edge texture, as opaque RGB(A)."""
    return as_rgba(np.repeat(data.brick()[:, :, None], 3, axis=2))


@cache
def grass() -> np.ndarray:
    image = data.grass()
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    return as_rgba(image)


def transparent(image: np.ndarray) -> np.ndarray:
    rgba = as_rgba(image).copy()
    rgba[:, :, 3] = 0
    return rgba


# --- removal ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "obj",
    [
        lambda: np.zeros((4, 4, 4), np.uint8),
        lambda: transparent(data.chelsea()),  # colour values kept, alpha 0 everywhere
        lambda: transparent(data.brick()),
        lambda: np.full((1, 1, 4), (255, 255, 255, 0), np.uint8),
    ],
    ids=["zeros", "chelsea-alpha-0", "brick-alpha-0", "1px-white-clear"],
)
def test_fully_transparent_object_means_remove(obj) -> None:
    assert choose_edit(AUTO, obj()) == "remove"


def test_transparency_beats_repeat() -> None:
    nothing = np.zeros((4, 4, 4), np.uint8)
    params = SwapParams(horizontal_repeat=3, vertical_repeat=2)
    assert choose_edit(params, nothing) == "remove"


def test_one_visible_pixel_is_not_removal() -> None:
    rgba = logo_cutout().copy()
    rgba[:, :, 3] = 0
    rgba[250, 250, 3] = 255
    assert choose_edit(AUTO, rgba) != "remove"


# --- pattern ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "repeats", [(2, 1), (1, 2), (10, 10), (3, 4)], ids=lambda r: f"{r[0]}x{r[1]}"
)
@pytest.mark.parametrize("obj", [logo_on_white, logo_cutout, brick], ids=lambda f: f.__name__)
def test_repeat_above_one_means_pattern(repeats: tuple[int, int], obj) -> None:
    horizontal, vertical = repeats
    params = SwapParams(horizontal_repeat=horizontal, vertical_repeat=vertical)
    assert choose_edit(params, obj()) == "pattern"


def test_brick_texture_means_pattern() -> None:
    assert choose_edit(AUTO, brick()) == "pattern"


def test_grass_texture_means_pattern() -> None:
    assert choose_edit(AUTO, grass()) == "pattern"


def test_tiled_texture_crop_means_pattern() -> None:
    """A patch of a real photo (coffee's table top) tiled edge to edge is a texture."""
    tile = data.coffee()[300:364, 20:84]
    texture = np.tile(tile, (4, 4, 1))
    assert choose_edit(AUTO, as_rgba(texture)) == "pattern"


# --- object ----------------------------------------------------------------------------


def test_logo_on_white_means_object() -> None:
    assert choose_edit(AUTO, logo_on_white()) == "object"


def test_logo_on_grey_sweep_means_object() -> None:
    assert choose_edit(AUTO, as_rgba(flatten_on(data.logo(), (128, 128, 128)))) == "object"


def test_logo_with_transparency_means_object() -> None:
    rgba = logo_cutout()
    assert int(rgba[:, :, 3].min()) == 0 and int(rgba[:, :, 3].max()) == 255
    assert choose_edit(AUTO, rgba) == "object"


def test_texture_with_transparency_means_object() -> None:
    """A cut-out (any alpha) is an object even when its pixels are a texture."""
    rgba = brick().copy()
    circle = np.zeros(rgba.shape[:2], np.uint8)
    cv2.circle(circle, (256, 256), 200, 255, -1)
    rgba[:, :, 3] = circle
    assert choose_edit(AUTO, rgba) == "object"


# --- explicit mode ---------------------------------------------------------------------


OBJECTS = {
    "transparent": lambda: np.zeros((4, 4, 4), np.uint8),
    "logo-on-white": logo_on_white,
    "logo-cutout": logo_cutout,
    "brick": brick,
}


@pytest.mark.parametrize("repeat", [1, 5])
@pytest.mark.parametrize("obj", list(OBJECTS))
@pytest.mark.parametrize("mode", ["object", "pattern", "remove"])
def test_explicit_mode_overrides_everything(mode: str, obj: str, repeat: int) -> None:
    params = SwapParams(mode=mode, horizontal_repeat=repeat, vertical_repeat=repeat)
    assert choose_edit(params, OBJECTS[obj]()) == mode


# --- the same rule through segswap.swap --------------------------------------------------


def _scene_and_mask() -> tuple[np.ndarray, np.ndarray]:
    scene = data.chelsea()
    mask = np.zeros(scene.shape[:2], np.uint8)
    cv2.ellipse(mask, (300, 150), (40, 34), 0, 0, 360, 255, -1)
    return scene, mask


@pytest.mark.parametrize(
    "obj,params,expected",
    [
        (lambda: np.zeros((4, 4, 4), np.uint8), {}, "remove"),
        (logo_cutout, {"horizontal_repeat": 2}, "pattern"),
        (logo_cutout, {}, "object"),
    ],
    ids=["remove", "pattern", "object"],
)
def test_swap_auto_runs_the_chosen_edit(obj, params: dict, expected: str) -> None:
    scene, mask = _scene_and_mask()
    auto = segswap.swap(scene, mask, obj(), **params)
    explicit = segswap.swap(scene, mask, obj(), mode=expected, **params)
    assert np.asarray(auto).tobytes() == np.asarray(explicit).tobytes()
