"""Issue 23: an object swap rebuilds the old object only, not the background a loose
mask took in; and an edge between two surfaces is continued behind the new object."""

from __future__ import annotations

import cv2
import numpy as np

import segswap
from segswap.demo import gift_box
from segswap.engine.composite import CONTEXT
from segswap.engine.region import edit_region
from segswap.engine.surfaces import fill_by_surface, surface_layout
from segswap.engine.vacated import old_object


def lawn(shape: tuple[int, int] = (240, 320), seed: int = 3) -> np.ndarray:
    """A green, grainy, slowly shaded background (H×W×3 uint8)."""
    rng = np.random.default_rng(seed)
    rows = np.linspace(0.85, 1.1, shape[0])[:, None, None]
    base = np.array([70, 130, 60], np.float32) * rows
    grain = cv2.GaussianBlur(rng.normal(0, 10, (*shape, 3)).astype(np.float32), (0, 0), 1.0)
    return np.clip(base + grain, 0, 255).astype(np.uint8)


def with_stone(scene: np.ndarray, centre: tuple[int, int], axes: tuple[int, int]) -> np.ndarray:
    """``scene`` with a grey stone (an ellipse with a highlight) drawn on it."""
    out = scene.copy()
    cv2.ellipse(out, centre, axes, 0, 0, 360, (150, 150, 155), -1)
    cv2.ellipse(out, (centre[0] - 8, centre[1] - 8), (10, 6), 0, 0, 360, (220, 220, 225), -1)
    return out


def test_loose_mask_keeps_the_background_it_took_in() -> None:
    """A rectangle drawn loosely around a stone on a lawn: the lawn inside the
    rectangle, away from the stone, is not rebuilt (byte for byte the scene's), and
    nothing of the stone is left where the gift does not cover it."""
    scene = with_stone(lawn(), (160, 150), (30, 22))
    mask = np.zeros(scene.shape[:2], bool)
    mask[70:210, 70:250] = True
    result = np.asarray(segswap.swap(scene, mask, gift_box(), mode="object"))
    stone = np.zeros(mask.shape, np.uint8)
    cv2.ellipse(stone, (160, 150), (30, 22), 0, 0, 360, 1, -1)
    near_stone = cv2.dilate(stone, np.ones((31, 31), np.uint8)) > 0
    # The rectangle's corners, far from the stone and from the gift (it stands on the
    # rectangle's bottom, centred: its box is about 130 px wide).
    corners = np.zeros(mask.shape, bool)
    corners[72:100, 72:100] = corners[72:100, 222:248] = True
    assert not (corners & near_stone).any()
    assert np.array_equal(result[corners], scene[corners])
    # Where the stone was and the gift does not hide it: lawn, not grey.
    changed = np.abs(result.astype(int) - scene.astype(int)).sum(axis=2) > 0
    stone_shows = (stone > 0) & ~changed
    assert stone_shows.sum() == 0, stone_shows.sum()


def test_old_object_covers_the_object_and_spares_the_lawn() -> None:
    scene = with_stone(lawn(), (160, 120), (40, 30))
    mask = np.zeros(scene.shape[:2], bool)
    mask[50:200, 60:270] = True
    region = edit_region(mask, 5, CONTEXT["object"])
    crop = scene[region.crop.slices]
    old = np.zeros(mask.shape, bool)
    old[region.crop.slices] = old_object(crop, region)
    stone = np.zeros(mask.shape, np.uint8)
    cv2.ellipse(stone, (160, 120), (40, 30), 0, 0, 360, 1, -1)
    assert old[stone > 0].all()  # every pixel of the stone goes
    lawn_in_mask = mask & (cv2.dilate(stone, np.ones((41, 41), np.uint8)) == 0)
    assert old[lawn_in_mask].mean() < 0.05  # the lawn it took in stays


def test_tight_mask_rebuilds_everything_it_holds() -> None:
    """A mask drawn on the object itself (not grown) holds no background to keep."""
    scene = with_stone(lawn(), (160, 120), (40, 30))
    stone = np.zeros(scene.shape[:2], np.uint8)
    cv2.ellipse(stone, (160, 120), (40, 30), 0, 0, 360, 1, -1)
    region = edit_region(stone > 0, 0, CONTEXT["object"])
    old = old_object(scene[region.crop.slices], region)
    assert old[region.grown].all()


def saucer_on_table(shape: tuple[int, int] = (240, 320)) -> tuple[np.ndarray, np.ndarray]:
    """A table with horizontal grain and a red saucer (an ellipse), and the saucer's
    mask (H×W bool)."""
    rng = np.random.default_rng(5)
    rows = np.arange(shape[0])[:, None]
    grain = 18 * np.sin(rows / 3.0 + rng.normal(0, 0.3, (shape[0], 1)))
    table = np.stack(
        [150 + grain + 0 * rows, 95 + grain * 0.7 + 0 * rows, 55 + grain * 0.4 + 0 * rows], axis=2
    )
    table = np.broadcast_to(table, (*shape, 3)) + rng.normal(0, 4, (*shape, 3))
    saucer = np.zeros(shape, np.uint8)
    cv2.ellipse(saucer, (160, 170), (150, 90), 0, 0, 360, 1, -1)
    red = np.array([170, 40, 30], np.float32) + rng.normal(0, 3, (*shape, 3))
    scene = np.where(saucer[:, :, None] > 0, red, table)
    return np.clip(scene, 0, 255).astype(np.uint8), saucer > 0


def test_the_edge_between_two_surfaces_is_continued_through_the_hole() -> None:
    """A hole across the saucer's far rim: the fill puts saucer below the rim's
    continuation and table above it, as the two sides of the rim run into the hole."""
    scene, saucer = saucer_on_table()
    hole = np.zeros(saucer.shape, bool)
    hole[60:130, 110:210] = True
    layout = surface_layout(scene, hole)
    assert layout is not None
    truth = saucer[hole]
    saucer_side = layout.side[hole] == layout.side[200, 160]
    assert (saucer_side == truth).mean() > 0.9

    def fill(image: np.ndarray, where: np.ndarray, hidden: np.ndarray | None) -> np.ndarray:
        # A fill that knows nothing of the rim: each column copies the nearest known
        # pixel above the hole (below it when there is none): the table, first.
        out = image.copy()
        for column in np.flatnonzero(where.any(axis=0)):
            rows = np.flatnonzero(~where[:, column])
            if rows.size == 0:
                continue
            top = int(np.flatnonzero(where[:, column])[0])
            above = rows[rows < top]
            source = int(above[-1]) if above.size else int(rows[-1])
            out[where[:, column], column] = image[source, column]
        return out

    filled = fill_by_surface(fill, scene, hole, None)
    red = filled[:, :, 1] < 70  # the saucer is red, the table orange-brown
    assert red[hole & saucer].mean() > 0.8
    assert red[hole & ~saucer].mean() < 0.1


def test_loose_mask_over_a_striped_deck_keeps_the_stripes() -> None:
    """Planks (dark gaps every 9 px) run through a loose rectangle around a post:
    the gaps' colour is in the ring beside them, so the deck is kept; the post goes."""
    rows = np.arange(240)[:, None, None]
    deck = np.where(rows % 9 < 2, 40, 150) + np.zeros((240, 320, 3))
    rng = np.random.default_rng(1)
    scene = np.clip(deck + rng.normal(0, 4, deck.shape), 0, 255).astype(np.uint8)
    cv2.rectangle(scene, (150, 60), (170, 200), (200, 60, 200), -1)  # a magenta post
    mask = np.zeros(scene.shape[:2], bool)
    mask[40:220, 90:230] = True
    region = edit_region(mask, 5, CONTEXT["object"])
    old = np.zeros(mask.shape, bool)
    old[region.crop.slices] = old_object(scene[region.crop.slices], region)
    assert old[60:200, 150:170].all()
    far = mask.copy()
    far[40:220, 125:195] = False  # away from the post and its hull's margin
    assert old[far].mean() < 0.1, old[far].mean()
