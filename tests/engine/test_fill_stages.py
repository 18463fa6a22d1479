"""The stages of the exemplar fill (``segswap.engine.fill``), each on a real photo: the
masked pyramid, the crop around the hole, the look-alike exclusion and the EM core's
vote weights."""

from __future__ import annotations

import cv2
import numpy as np
from skimage import data

from segswap.engine.fill import FillEffort, fill_hole
from segswap.engine.fill.completion import crop_box, similarity
from segswap.engine.fill.exclusion import lookalikes
from segswap.engine.fill.pyramid import pyramid
from segswap.engine.region import grow_mask

MAGENTA = np.array([1.0, 0.0, 1.0], np.float32)


def disk(shape: tuple[int, ...], centre: tuple[int, int], radius: int) -> np.ndarray:
    mask = np.zeros(shape[:2], np.uint8)
    cv2.circle(mask, centre, radius, 255, -1)
    return mask > 0


def test_pyramid_halves_until_the_hole_vanishes_and_never_sees_what_it_held() -> None:
    """The cup of coffee() painted magenta and masked: every level is half the one below,
    the hole shrinks faster than the image, the last level has none, and no level holds
    a trace of magenta (a coarse pixel averages known pixels only)."""
    image = data.coffee().astype(np.float32) / 255.0
    hole = disk(image.shape, (290, 150), 90)
    image[hole] = MAGENTA
    levels = pyramid(image, hole)
    assert len(levels) >= 6
    assert not levels[-1][1].any()
    for (_, finer_hole, _), (coarse, coarse_hole, _) in zip(levels, levels[1:], strict=False):
        assert coarse_hole.shape == ((finer_hole.shape[0] + 1) // 2, (finer_hole.shape[1] + 1) // 2)
        assert coarse_hole.sum() < finer_hole.sum() / 4
        known = coarse[~coarse_hole]
        magenta_like = (known[:, 0] > 0.8) & (known[:, 1] < 0.2) & (known[:, 2] > 0.8)
        assert not magenta_like.any()


def test_the_fill_reads_only_the_crop_around_the_hole() -> None:
    """A small hole in a large photo: what lies outside the crop cannot change the fill
    (noise painted there gives the same bytes), and the crop is a small part of it."""
    image = cv2.resize(data.astronaut(), (1536, 1536), interpolation=cv2.INTER_CUBIC)
    hole = disk(image.shape, (1000, 400), 30)
    rows, cols = crop_box(hole)
    assert (rows.stop - rows.start) * (cols.stop - cols.start) < 0.05 * hole.size
    noisy = np.random.default_rng(0).integers(0, 256, image.shape, dtype=np.uint8)
    noisy[rows, cols] = image[rows, cols]
    first = fill_hole(image, hole, np.random.default_rng(1), FillEffort())
    second = fill_hole(noisy, hole, np.random.default_rng(1), FillEffort())
    assert np.array_equal(first[hole], second[hole])


def test_the_other_eye_is_blocked_as_a_source_when_one_is_removed() -> None:
    """Removing the cat's left eye: its other eye is a look-alike (blocked), so a fill
    whose crop reaches it cannot paint an eye back; the fur around is not blocked."""
    image = data.chelsea()
    mask = np.zeros(image.shape[:2], np.uint8)
    cv2.ellipse(mask, (175, 117), (44, 36), 0, 0, 360, 255, -1)
    hole = grow_mask(mask > 0, 5)
    blocked = lookalikes(image, hole)
    assert not (blocked & hole).any()
    assert blocked[120:160, 300:340].mean() > 0.5
    assert blocked.mean() < 0.1


def test_a_hole_over_plain_sky_blocks_nothing_it_could_need() -> None:
    """The rocket's sky: a hole over background that goes on around it leaves most of its
    surroundings to copy from."""
    image = data.rocket()
    hole = disk(image.shape, (120, 80), 30)
    rows, cols = crop_box(hole)
    blocked = lookalikes(np.ascontiguousarray(image[rows, cols]), hole[rows, cols])
    assert blocked.mean() < 0.1


def test_vote_weights_are_steep_and_vanish_for_poor_matches() -> None:
    """PatchMatch's table: a perfect match weighs 1, a mean squared difference of 0.04
    (a 0.2 RMS difference per channel) 0.38, and 0.1 or more nothing."""
    weights = similarity(np.array([0.0, 0.01, 0.04, 0.045, 0.1, 0.5], np.float32))
    assert np.allclose(weights, [1.0, 0.99, 0.38, 0.245, 0.0, 0.0], atol=1e-6)
