"""Keyed mattes: cast shadows on a coloured backdrop, and keying at the placed size.

The shadow case is constructed: matplotlib's real RGBA gift box photo, enlarged, laid
over a plain teal backdrop on which it casts a soft drop shadow (its own alpha, offset
and blurred, darkening the backdrop in linear light), as a product shot on coloured
paper comes. The gift's file also holds its own soft contact shadow (dark,
semi-transparent pixels under the box), which darkens the backdrop the same way.
"""

from __future__ import annotations

from functools import cache

import cv2
import numpy as np
from skimage import data

from segswap.demo import gift_box
from segswap.engine.harmonize import from_linear, to_linear
from segswap.engine.matte import KEY_MIN_SIDE, border_pixels, key_background, key_object
from segswap.engine.objects import resize_object

TEAL = (60, 150, 140)
SIDE = 320


def on_backdrop(
    colour: tuple[int, int, int], strength: float = 0.6, gift: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(image H×W×3 uint8, the object's alpha, the cast shadow's strength 0–1) for the
    gift (or another RGBA ``gift``) on a plain ``colour`` backdrop with a soft drop
    shadow, offset 16 px right and 10 px down, blurred with σ 6 px, darkening by up to
    ``strength``."""
    size = 220
    rgba = gift_box() if gift is None else gift
    gift = cv2.resize(rgba, (size, size), interpolation=cv2.INTER_CUBIC)
    top, left = (SIDE - size) // 2, (SIDE - size) // 2 - 10
    alpha = np.zeros((SIDE, SIDE), np.float32)
    alpha[top : top + size, left : left + size] = gift[:, :, 3] / 255.0
    colour_layer = np.zeros((SIDE, SIDE, 3), np.float32)
    colour_layer[top : top + size, left : left + size] = gift[:, :, :3]
    moved = cv2.warpAffine(alpha, np.float32([[1, 0, 16], [0, 1, 10]]), (SIDE, SIDE))
    shadow = cv2.GaussianBlur(moved, (0, 0), 6.0) * strength
    backdrop = to_linear(np.full((SIDE, SIDE, 3), colour, np.uint8)) * (1.0 - shadow)[:, :, None]
    weight = alpha[:, :, None]
    image = colour_layer * weight + from_linear(backdrop) * (1.0 - weight)
    return np.rint(image).astype(np.uint8), alpha, shadow


def open_backdrop(alpha: np.ndarray) -> np.ndarray:
    """Pixels outside the object (alpha < 0.05) connected to the image border: the
    backdrop a user sees around it (not the backdrop seen through the bow's loops)."""
    _, labels = cv2.connectedComponents((alpha < 0.05).view(np.uint8), connectivity=4)
    touching = np.unique(border_pixels(labels[:, :, None]))
    return np.isin(labels, touching[touching > 0])


@cache
def teal_case() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(image, gift alpha, shadow strength, keyed alpha) on the teal backdrop."""
    image, alpha, shadow = on_backdrop(TEAL)
    return image, alpha, shadow, key_background(image)


def test_cast_shadow_on_a_coloured_backdrop_is_keyed() -> None:
    """The backdrop's shadow is the backdrop: it goes with it (30 % of these pixels were
    kept, a dark teal blob beside and under the box)."""
    _, alpha, shadow, keyed = teal_case()
    cast = open_backdrop(alpha) & (shadow >= 0.15)
    assert cast.sum() > 2000  # a real shadow, not a sliver
    assert float(np.mean(keyed[cast] > 0.5)) <= 0.02
    assert float(keyed[cast].mean()) <= 0.03


def test_the_object_stays_when_its_shadow_is_keyed() -> None:
    """The gift itself, dark ribbon folds included, stays whole."""
    image, alpha, _, keyed = teal_case()
    solid = alpha > 0.95
    assert float(np.mean(keyed[solid] > 0.5)) >= 0.99
    dark = solid & (cv2.cvtColor(image, cv2.COLOR_RGB2GRAY) < 90)
    assert dark.sum() > 500
    assert float(np.mean(keyed[dark] > 0.5)) >= 0.99


def test_backdrop_coloured_parts_the_object_encloses_stay() -> None:
    """Stripes of the backdrop's colour and of its shadow's, painted on the box's front
    (enclosed by the object, not connected to the border background), are object."""
    image, _, _, _ = teal_case()
    painted = image.copy()
    painted[150:200, 62:70] = TEAL
    painted[150:200, 130:138] = (30, 75, 70)  # the backdrop at a quarter of its light
    keyed = key_background(painted)
    assert float(keyed[152:198, 64:68].min()) > 0.9
    assert float(keyed[152:198, 132:136].min()) > 0.9


def test_a_grey_object_on_a_neutral_backdrop_is_not_taken_for_its_shadow() -> None:
    """On white, a shadow is grey like any grey object: there only the backdrop's own
    colour is keyed, so a grey gift on white (the photo in grey, at 80 % of its
    lightness) stays whole."""
    grey = gift_box().copy()
    lightness = cv2.cvtColor(np.ascontiguousarray(grey[:, :, :3]), cv2.COLOR_RGB2GRAY)
    grey[:, :, :3] = np.rint(lightness * 0.8).astype(np.uint8)[:, :, None]
    image, alpha, _ = on_backdrop((250, 250, 250), gift=grey)
    keyed = key_background(image)
    assert float(np.mean(keyed[alpha > 0.95] > 0.5)) >= 0.99


def test_keying_a_shrunk_object_matches_shrinking_the_keyed_one() -> None:
    """An object placed at 60 % of its size is keyed on a copy of that size (a third of
    the pixels); its matte is the full-size matte shrunk. Below KEY_MIN_SIDE it is not
    shrunk further."""
    logo = np.ascontiguousarray(data.logo()[:, :, :3])
    colour, alpha = key_object(logo)
    half_colour, half_alpha = key_object(logo, 0.6)
    assert half_alpha.shape == (300, 300)
    height, width = half_alpha.shape
    _, shrunk = resize_object(colour, alpha, width, height)
    assert float(np.abs(shrunk - half_alpha).mean()) <= 0.01
    assert float(np.mean((shrunk > 0.5) == (half_alpha > 0.5))) >= 0.99
    assert 0.3 < float(half_alpha.mean()) < 0.9  # a keyed logo, not a blank or full matte
    assert key_object(logo, 0.1)[1].shape == (KEY_MIN_SIDE, KEY_MIN_SIDE)
