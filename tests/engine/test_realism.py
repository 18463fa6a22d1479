"""Issue 10: object swap and pattern transfer that look real, measured on real photos.

The scenes are scikit-image's photos, the object the RGBA gift box photo of matplotlib's
sample data (the demo's cases: the whole espresso cup on its saucer becomes the gift).
"""

from __future__ import annotations

from functools import cache

import cv2
import numpy as np
import pytest
from measures import (
    bright_share,
    edge_colour_errors,
    edge_mix_errors,
    gradient_magnitude,
    lab,
    ramp_share,
    ring,
)
from skimage import data

import segswap
from segswap.demo import cup_mask, gift_box, suit_mask, swatch
from segswap.engine import pattern, tiling
from segswap.engine.composite import CONTEXT
from segswap.engine.harmonize import SceneLight, harmonize
from segswap.engine.matte import key_background
from segswap.engine.objects import layout_object
from segswap.engine.prepare import as_rgba
from segswap.engine.region import FEATHER_PX, bounding_box, edit_region, grow_mask

# -- object swap: the cup becomes the gift box ---------------------------------------------


@cache
def cup_case() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(scene, mask, result, placed alpha, placed colour) for cup → gift box."""
    scene = data.coffee()
    mask = cup_mask(scene.shape[:2]) > 127
    result = np.asarray(segswap.swap(scene, mask, gift_box()))
    alpha, colour = placed(scene, mask, gift_box())
    return scene, mask, result, alpha, colour


def placed(
    scene: np.ndarray, mask: np.ndarray, obj: np.ndarray, strength: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """The object's alpha and (harmonised) colour as the engine lays it out, scene-sized."""
    region = edit_region(mask, 5, CONTEXT["object"])
    layer = layout_object(scene[region.crop.slices], region, as_rgba(obj), strength)
    alpha = np.zeros(mask.shape, np.float32)
    alpha[region.crop.slices] = layer.cover
    colour = np.zeros_like(scene)
    colour[region.crop.slices] = np.clip(np.rint(layer.rgb), 0, 255).astype(np.uint8)
    return alpha, colour


def naive_paste(scene: np.ndarray, alpha: np.ndarray, colour: np.ndarray) -> np.ndarray:
    """The object pasted over the scene as it was (the old cup left behind it)."""
    weight = alpha[:, :, None]
    return np.rint(scene * (1.0 - weight) + colour * weight).astype(np.uint8)


def test_replaced_cup_leaves_no_bright_trace() -> None:
    """The cup's white rim and crema were the brightest things there; what the gift does
    not cover is rebuilt from the saucer and table around, not from them."""
    scene, mask, result, alpha, colour = cup_case()
    visible = grow_mask(mask, 5) & (alpha < 0.02)
    around = ring(mask, 10, 40)
    assert visible.sum() > 0.2 * mask.sum()  # much of the mask shows: a real test
    share = bright_share(result, visible, around)
    assert share <= 0.10, share
    # The measure sees the old cup where it is left behind the object.
    assert bright_share(naive_paste(scene, alpha, colour), visible, around) > 0.5


def test_object_edge_ramps_with_its_alpha() -> None:
    """Where the gift's alpha ramps over 2 px or more, the output ramps with it."""
    scene, _, result, alpha, colour = cup_case()
    share, count = ramp_share(result, alpha, colour)
    assert count > 300
    assert share >= 0.6, share
    hard = naive_paste(scene, (alpha > 0.5).astype(np.float32), colour)
    assert ramp_share(hard, alpha, colour)[0] <= 0.4  # a one-pixel step fails the measure


def test_transparent_pixels_colour_never_reaches_the_edge() -> None:
    """An RGBA file's fully transparent pixels carry arbitrary colour (white in the gift's
    file): scaled premultiplied, it never shows in the edge."""
    scene, mask, result, alpha, _ = cup_case()
    magenta = gift_box().copy()
    magenta[magenta[:, :, 3] == 0, :3] = (255, 0, 255)
    other = np.asarray(segswap.swap(scene, mask, magenta))
    to_reference, to_magenta = edge_colour_errors(other, result, alpha, (255, 0, 255))
    assert to_reference.size > 500
    assert float(np.mean(to_reference <= 12.0)) >= 0.99
    assert float(np.mean(to_magenta < to_reference)) == 0.0


@cache
def logo_case() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(result, placed alpha, naive hard-keyed paste) for the cup → skimage's logo, as
    shipped: on white, keyed out."""
    scene = data.coffee()
    mask = np.zeros(scene.shape[:2], np.uint8)
    cv2.ellipse(mask, (262, 185), (118, 135), 0, 0, 360, 255, -1)
    logo = np.ascontiguousarray(data.logo()[:, :, :3])
    result = np.asarray(segswap.swap(scene, mask > 0, logo))
    alpha, _ = placed(scene, mask > 0, logo)
    return result, alpha, scene


def test_keyed_edge_has_no_fringe_of_the_old_background() -> None:
    """Pixels within 2 px inside the keyed logo's edge are a mix of the logo's nearby
    colour and the scene, not the white it was photographed on."""
    result, alpha, _ = logo_case()
    to_mix, to_white = edge_mix_errors(result, alpha, (255, 255, 255))
    assert to_mix.size > 500
    assert float(np.mean(to_mix <= 12.0)) >= 0.9, float(np.mean(to_mix <= 12.0))
    assert float(np.mean(to_white < to_mix)) <= 0.02


def test_white_stroke_inside_the_logo_is_kept() -> None:
    """The logo's white S touches its white surround at two points: only background
    connected to the border is keyed, so the S stays."""
    logo = np.ascontiguousarray(data.logo()[:, :, :3])
    alpha = key_background(logo)
    yy, xx = np.mgrid[: logo.shape[0], : logo.shape[1]]
    inner = np.hypot(yy - 250, xx - 250) < 200  # well inside the logo's disc
    white = inner & (logo.min(axis=2) > 235)
    assert white.sum() > 2000  # the S stroke
    assert float(alpha[white].mean()) > 0.9
    corners = np.hypot(yy - 250, xx - 250) > 260
    assert float(alpha[corners].max()) < 0.05


def contact_darkening(scene: np.ndarray, mask: np.ndarray) -> float:
    region = edit_region(mask, 5, CONTEXT["object"])
    layer = layout_object(scene[region.crop.slices], region, as_rgba(gift_box()), 1.0)
    return float(layer.shadow.max())


def test_contact_shadow_only_on_a_surface() -> None:
    """Standing on the saucer the gift casts a soft shadow; placed in the sky above the
    launch pad it casts none."""
    coffee = data.coffee()
    assert contact_darkening(coffee, cup_mask(coffee.shape[:2]) > 127) > 0.3
    rocket = data.rocket()
    sky = np.zeros(rocket.shape[:2], bool)
    sky[40:160, 60:200] = True  # clear evening sky, left of the rocket
    assert contact_darkening(rocket, sky) == 0.0


def test_no_contact_shadow_on_a_patch_replacement() -> None:
    """The logo laid over the mission patch on the astronaut's sleeve lies flat on the
    fabric (the same material above, beside and below the mask): no shadow under it,
    which showed as a dark smudge on the suit."""
    astronaut = data.astronaut()
    patch = np.zeros(astronaut.shape[:2], np.uint8)
    cv2.circle(patch, (170, 385), 40, 255, -1)  # the round mission patch
    region = edit_region(patch > 0, 5, CONTEXT["object"])
    logo = as_rgba(np.ascontiguousarray(data.logo()[:, :, :3]))
    layer = layout_object(astronaut[region.crop.slices], region, logo, 1.0)
    assert float(layer.shadow.max()) == 0.0


def test_contact_shadow_is_soft() -> None:
    scene, mask, _, _, _ = cup_case()
    region = edit_region(mask, 5, CONTEXT["object"])
    layer = layout_object(scene[region.crop.slices], region, as_rgba(gift_box()), 1.0)
    steps = np.abs(np.diff(layer.shadow, axis=0)).max()
    assert 0.0 < steps <= 0.15  # no shadow edge darker than 15 % in one pixel


def blue_hue_and_silver_chroma(strength: float) -> tuple[float, float, float]:
    """(median hue angle of the gift's blue, mean chroma of its silver ribbon, mean L) at
    ``strength`` in the cup scene."""
    scene, mask, _, alpha, _ = cup_case()
    result = np.asarray(segswap.swap(scene, mask, gift_box(), subject_strength=strength))
    own_alpha, own_colour = placed(scene, mask, gift_box(), 1.0)
    own = lab(own_colour)
    solid = own_alpha > 0.98
    blue = solid & (np.hypot(own[:, :, 1], own[:, :, 2]) > 40)
    silver = solid & (np.hypot(own[:, :, 1], own[:, :, 2]) < 6) & (own[:, :, 0] > 60)
    out = lab(result)
    hue = float(np.degrees(np.median(np.arctan2(out[blue][:, 2], out[blue][:, 1]))))
    chroma = float(np.hypot(out[silver][:, 1], out[silver][:, 2]).mean())
    return hue, chroma, float(out[solid][:, 0].mean())


def test_harmonising_relights_without_hue_swings() -> None:
    """Lower subject_strength darkens the gift toward the dim scene, but the blue box stays
    blue (no swing toward violet) and the silver ribbon stays silver (not gold)."""
    values = {s: blue_hue_and_silver_chroma(s) for s in (1.0, 0.5, 0.0)}
    hues = [values[s][0] for s in (1.0, 0.5, 0.0)]
    assert max(hues) - min(hues) <= 15.0, hues
    assert all(values[s][1] <= 12.0 for s in values), values
    lightness = [values[s][2] for s in (1.0, 0.5, 0.0)]
    assert lightness[0] > lightness[1] > lightness[2], lightness


def test_object_takes_the_luminance_gradient_of_its_surroundings() -> None:
    """Light falling off to the right (as measured around the mask) darkens the object's
    right side relative to its left, even at subject_strength 1."""
    rgb = np.full((40, 100, 3), 150, np.uint8)
    weight = np.ones((40, 100), np.float32)
    light = SceneLight(
        mean=np.array([60.0, 0.0, 0.0]),
        std=np.array([10.0, 1.0, 1.0]),
        luminance=0.28,
        chroma=0.0,
        cast=np.ones(3, np.float32),
        slope=(0.0, -0.005),  # log luminance per pixel, falling to the right
    )
    lit = harmonize(rgb, weight, light, None, 1.0).astype(np.float32)
    left, right = lit[:, :10].mean(), lit[:, -10:].mean()
    assert right < left - 10
    flat = harmonize(rgb, weight, SceneLight.neutral(light.mean, light.std), None, 1.0)
    assert np.ptp(flat.astype(np.int32)) <= 1  # no gradient measured, none applied


# -- pattern transfer ----------------------------------------------------------------------

SUIT = (330, 60, 500, 330)  # a rectangle of the astronaut's suit, name tag and folds in it


def pattern_on_suit(tile: np.ndarray, repeat: int) -> tuple[np.ndarray, np.ndarray, tuple]:
    scene = data.astronaut()
    mask = np.zeros(scene.shape[:2], bool)
    top, left, bottom, right = SUIT
    mask[top:bottom, left:right] = True
    result = np.asarray(
        segswap.swap(
            scene,
            mask,
            tile,
            mode="pattern",
            horizontal_repeat=repeat,
            vertical_repeat=repeat,
            growmask=0,
        )
    )
    return scene, result, SUIT


def border_to_inside_gradient(result: np.ndarray, box: tuple, repeat: int) -> float:
    """Mean gradient on the tile borders over the mean gradient inside the tiles (the
    tiles start at the feather band's outer edge, FEATHER_PX outside the mask's box)."""
    top, left, bottom, right = box
    top, left, bottom, right = (
        top - FEATHER_PX,
        left - FEATHER_PX,
        bottom + FEATHER_PX,
        right + FEATHER_PX,
    )
    region = result[top:bottom, left:right]
    gradient = gradient_magnitude(region)
    height, width = region.shape[:2]
    tile_h, tile_w = round(height / repeat), round(width / repeat)
    border = np.zeros((height, width), bool)
    for k in range(1, repeat):
        border[:, k * tile_w - 1 : k * tile_w + 1] = True
        border[k * tile_h - 1 : k * tile_h + 1, :] = True
    near = cv2.dilate(border.view(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    inner = np.zeros_like(border)
    inner[FEATHER_PX + 4 : -FEATHER_PX - 4, FEATHER_PX + 4 : -FEATHER_PX - 4] = True
    return float(gradient[border & inner].mean() / gradient[~near & inner].mean())


@pytest.mark.parametrize("name", ["chelsea", "tissue"])
def test_non_seamless_swatch_tiles_without_seams(name: str, monkeypatch) -> None:
    """The tiling itself, with the warp off (it would move the tile borders off the lines
    the measure reads, hiding seams as well as their absence)."""
    monkeypatch.setattr(pattern, "WARP_GAIN", 0.0)
    tile = data.chelsea() if name == "chelsea" else swatch()
    _, result, box = pattern_on_suit(tile, 4)
    ratio = border_to_inside_gradient(result, box, 4)
    assert ratio <= 1.3, ratio
    if name == "chelsea":
        # Tiled as it is, the cat photo shows its seams: the measure sees them.
        monkeypatch.setattr(tiling, "SEAM_RATIO", float("inf"))
        _, seamed, _ = pattern_on_suit(tile, 4)
        assert border_to_inside_gradient(seamed, box, 4) > 1.5


def clipped(image: np.ndarray) -> np.ndarray:
    return (image.min(axis=2) == 0) | (image.max(axis=2) == 255)


@pytest.mark.parametrize("name", ["chelsea", "tissue", "table"])
def test_pattern_shading_does_not_clip(name: str) -> None:
    """The white name tag and the shadows of the suit neither blow the pattern out to white
    nor crush it to black: at most 1 % of the region is newly clipped (clipped in the
    output but neither in the suit nor in the swatch as tiled)."""
    tiles = {
        "chelsea": data.chelsea,
        "tissue": swatch,
        "table": lambda: np.ascontiguousarray(data.coffee()[250:400, 380:600]),
    }
    tile = tiles[name]()
    scene, result, (top, left, bottom, right) = pattern_on_suit(tile, 3)
    height = bottom - top + 2 * FEATHER_PX
    width = right - left + 2 * FEATHER_PX
    tiled = pattern.tile_pattern(as_rgba(tile), height, width, 3, 3)[:, :, :3]
    inner = (slice(FEATHER_PX, -FEATHER_PX), slice(FEATHER_PX, -FEATHER_PX))
    region = (slice(top, bottom), slice(left, right))
    newly = clipped(result[region]) & ~clipped(scene[region]) & ~clipped(tiled[inner])
    assert float(newly.mean()) <= 0.01, float(newly.mean())


def test_pattern_keeps_the_folds() -> None:
    """The suit's folds and shadows stay visible in the pattern: its low-frequency
    lightness keeps at least half the contrast the suit had, and follows it."""
    scene, result, (top, left, bottom, right) = pattern_on_suit(swatch(), 4)

    def low(rgb: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(lab(rgb)[:, :, 0], (0, 0), 10)[20:-20, 20:-20].ravel()

    before = low(scene[top:bottom, left:right])
    after = low(result[top:bottom, left:right])
    assert np.corrcoef(before, after)[0, 1] >= 0.6
    assert after.std() >= 0.5 * before.std(), (after.std(), before.std())


def test_suit_mask_is_the_suit() -> None:
    """The demo's clothing mask: orange suit, not the helmet, the neck ring or the flag."""
    scene = data.astronaut()
    mask = suit_mask(scene) > 127
    assert 40_000 < mask.sum() < 90_000
    box = bounding_box(mask)
    assert box.top > 230 and box.left >= 14  # below the helmet, right of the flag
    hsv = cv2.cvtColor(scene, cv2.COLOR_RGB2HSV)
    assert float(np.median(hsv[:, :, 0][mask])) < 20  # orange


# -- issue 23: the print follows the surface; objects keep their contrast ----------------------


def test_folds_bend_the_print(monkeypatch) -> None:
    """On the suit's folds the print is displaced from where a flat tiling puts it (by a
    pixel or more over a tenth of the region: the warp is gentle, it bends the print and
    never folds it), and stays put on a flat grey card."""
    _, bent, (top, left, bottom, right) = pattern_on_suit(swatch(), 4)
    monkeypatch.setattr(pattern, "WARP_GAIN", 0.0)
    _, flat, _ = pattern_on_suit(swatch(), 4)
    inner = (slice(top + 10, bottom - 10), slice(left + 10, right - 10))
    moved = np.abs(bent[inner].astype(int) - flat[inner].astype(int)).max(axis=2) > 20
    assert float(moved.mean()) > 0.1, float(moved.mean())
    monkeypatch.undo()
    card = np.full((300, 300, 3), 128, np.uint8)
    mask = np.zeros(card.shape[:2], bool)
    mask[50:250, 50:250] = True
    options = {"mode": "pattern", "horizontal_repeat": 3, "vertical_repeat": 3, "growmask": 0}
    warped = np.asarray(segswap.swap(card, mask, swatch(), **options))
    monkeypatch.setattr(pattern, "WARP_GAIN", 0.0)
    assert np.array_equal(warped, np.asarray(segswap.swap(card, mask, swatch(), **options)))


def test_white_strap_does_not_glow_in_the_print() -> None:
    """Grace Hopper's white name tag and ribbons on her dark jacket are albedo, not light:
    the print over them is at most 6 L* brighter than around them (3.5; 41 before
    issue 23, when they were read as light)."""
    from matplotlib import cbook
    from PIL import Image

    with Image.open(str(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))) as image:
        scene = np.asarray(image.convert("RGB")).copy()
    mask = np.zeros(scene.shape[:2], bool)
    mask[440:600, 40:480] = True  # the jacket's lower front, tag, ribbons and button on it
    values = lab(scene)
    items = mask & (values[:, :, 0] > 60) & (values[:, :, 0] < 95)
    items = cv2.morphologyEx(items.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3))) > 0
    assert items.sum() > 500
    around = (cv2.dilate(items.astype(np.uint8), np.ones((31, 31))) > 0) & mask & ~items
    around &= values[:, :, 0] < 40  # the jacket itself
    result = np.asarray(
        segswap.swap(scene, mask, swatch(), mode="pattern", horizontal_repeat=4, growmask=0)
    )
    out = lab(result)[:, :, 0]
    assert float(out[items].mean() - out[around].mean()) <= 6.0


def sheen_cloth() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(cloth, mask, sheen, shadow): an orange cloth lit from the left, with a fold's
    shadow (a band 40 px wide) and a small specular sheen (a spot of the same orange,
    2.5 times the light, 12 px across)."""
    height, width = 300, 300
    yy, xx = np.mgrid[:height, :width].astype(np.float32)
    light = 1.0 - 0.2 * xx / width
    shadow = np.abs(xx - 200) < 20
    light = light * np.where(shadow, 0.45, 1.0)
    spot = np.exp(-((yy - 120) ** 2 + (xx - 90) ** 2) / (2 * 4.0**2))
    light = light * (1.0 + 1.5 * spot)
    orange = np.array([0.6, 0.18, 0.05], np.float32)
    linear = np.clip(orange * light[:, :, None], 0, 1)
    cloth = np.rint(
        255 * np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * linear ** (1 / 2.4) - 0.055)
    )
    mask = np.zeros((height, width), bool)
    mask[20:280, 20:280] = True
    sheen = spot > 0.5
    return cloth.astype(np.uint8), mask, sheen, shadow & mask


def test_specular_sheen_does_not_glow_but_the_shadow_shows() -> None:
    """A sheen of the cloth's own colour (which the colour test cannot tell from light)
    is no bright patch in a plain print: at most 6 L* above the cloth around it (3.4; 12.6
    before this was added); the fold's shadow still darkens the print by 10 L* or more."""
    cloth, mask, sheen, shadow = sheen_cloth()
    plain = np.full((32, 32, 3), 150, np.uint8)
    plain[0, 0] = 151
    options = {"mode": "pattern", "horizontal_repeat": 3, "vertical_repeat": 3, "growmask": 0}
    out = lab(np.asarray(segswap.swap(cloth, mask, plain, **options)))[:, :, 0]
    around = (cv2.dilate(sheen.view(np.uint8), np.ones((31, 31), np.uint8)) > 0) & ~(
        cv2.dilate(sheen.view(np.uint8), np.ones((9, 9), np.uint8)) > 0
    )
    assert float(out[sheen].mean() - out[around].mean()) <= 6.0
    lit = mask.copy()
    lit[:, 150:250] = False
    lit[:, :100] = False
    assert float(out[lit].mean() - out[shadow].mean()) >= 10.0


def test_quilted_tile_has_no_step_at_its_borders() -> None:
    """A photo crop whose two ends differ (the cat's cheek) is made a tile whose wrap-around
    step is no larger than a typical step inside it (the periodic component)."""
    crop = np.ascontiguousarray(data.chelsea()[150:300, 0:150])
    tile = tiling.tile_with_period(crop, 100, 110)
    for axis in (0, 1):
        assert tiling.seam_ratio(tile, axis) < 0.5, tiling.seam_ratio(tile, axis)
    assert tiling.seam_ratio(crop, 1) > 1.3  # the crop itself is not seamless


def test_object_on_a_busy_background_is_cut_out() -> None:
    """An opaque crop of the espresso cup on its wooden table, sent in object mode, is
    cut out: the table around it is not pasted into the scene (the box's corners stay
    the scene's), and the cup is."""
    cup = np.ascontiguousarray(data.coffee()[0:400, 100:560])
    scene = data.astronaut()
    mask = np.zeros(scene.shape[:2], bool)
    mask[300:420, 380:512] = True
    result = np.asarray(segswap.swap(scene, mask, cup, mode="object"))
    alpha, _ = placed(scene, mask, cup)
    box = bounding_box(alpha > 0.02)
    assert box.width > 60
    # What the user sees in the placed box's corners is not the crop's table.
    source = cv2.resize(cup, (box.width, box.height), interpolation=cv2.INTER_AREA)
    side = box.width // 8
    for top in (0, box.height - side):
        for left in (0, box.width - side):
            seen = result[
                box.top + top : box.top + top + side, box.left + left : box.left + left + side
            ]
            table = source[top : top + side, left : left + side]
            distance = np.linalg.norm(lab(seen).mean(axis=(0, 1)) - lab(table).mean(axis=(0, 1)))
            assert distance > 15.0, distance
    assert float(alpha[alpha > 0].mean()) > 0.5  # the cup itself is placed


def test_harmonised_object_keeps_its_contrast_in_a_dim_scene() -> None:
    """At subject_strength 0.5 on the moon's grey surface the gift keeps its contrast
    (spread of log luminance) and its saturation, instead of going flat and grey."""
    scene = np.ascontiguousarray(np.dstack([data.moon()] * 3))
    mask = np.zeros(scene.shape[:2], bool)
    mask[200:450, 150:380] = True
    kept, colour = placed(scene, mask, gift_box(), 1.0)
    _, harmonised = placed(scene, mask, gift_box(), 0.5)
    solid = kept > 0.98

    def spread(rgb: np.ndarray) -> float:
        logs = np.log((cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)[solid] + 4.0) / 255.0)
        return float(np.percentile(logs, 90) - np.percentile(logs, 10))

    def saturation(rgb: np.ndarray) -> float:
        values = lab(rgb)[solid]
        return float((np.hypot(values[:, 1], values[:, 2]) / (values[:, 0] + 10)).mean())

    assert spread(harmonised) >= 0.8 * spread(colour)
    assert saturation(harmonised) >= 0.8 * saturation(colour)
