"""SPEC §3 and §5: how the mask is read, resized and grown, and the output's size.

Checked both on :func:`segswap.engine.prepare.mask_from_image` and through the public
``segswap.swap`` with every accepted input kind (arrays, PIL images, PNG bytes, paths).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import cache
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage import data

import segswap
from segswap.engine.prepare import mask_from_image
from segswap.engine.region import FEATHER_PX
from segswap.errors import InvalidParameter
from segswap.io.load import load_image
from segswap.settings import Settings

SETTINGS = Settings()
NOTHING = np.zeros((4, 4, 4), np.uint8)  # a fully transparent object: removal


@cache
def chelsea() -> np.ndarray:
    return data.chelsea()


@cache
def logo_cutout() -> np.ndarray:
    """skimage's logo with its white background made transparent (a real RGBA object)."""
    logo = data.logo().copy()
    logo[:, :, 3] = np.where(logo[:, :, :3].min(axis=2) > 235, 0, 255).astype(np.uint8)
    return logo


@cache
def brick_rgb() -> np.ndarray:
    return np.repeat(data.brick()[:, :, None], 3, axis=2)


def ellipse(
    shape: tuple[int, int], centre: tuple[int, int], axes: tuple[int, int], value: int = 255
) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    cv2.ellipse(mask, centre, axes, 0, 0, 360, value, -1)
    return mask


@cache
def grey_mask() -> np.ndarray:
    """An L mask for chelsea with values on both sides of the 127 threshold.

    The eye (255) and a patch at 128 are in the region; a patch at 127 and one at 60 are not.
    """
    mask = ellipse(chelsea().shape[:2], (300, 150), (40, 34))
    mask[200:230, 60:110] = 128
    mask[200:230, 150:200] = 127
    mask[240:270, 250:300] = 60
    return mask


def expected_region() -> np.ndarray:
    return grey_mask() > 127


def mask_variants() -> dict[str, np.ndarray]:
    """The same mask in each layout a user might paint it in (as arrays)."""
    grey = grey_mask()
    binary = np.where(grey > 127, 255, 0).astype(np.uint8)
    zeros = np.zeros_like(grey)
    return {
        "L": grey,
        "RGB": np.dstack([grey, grey, grey]),
        "RGBA-alpha": np.dstack([zeros, zeros, zeros, binary]),  # black paint, alpha = mask
        "RGBA-white-on-clear": np.dstack([binary, binary, binary, binary]),
        "RGBA-opaque": np.dstack([grey, grey, grey, np.full_like(grey, 255)]),
        "1-bit": grey > 127,
    }


def to_pil(mask: np.ndarray) -> Image.Image:
    if mask.dtype == np.bool_:
        image = Image.fromarray(mask)
        assert image.mode == "1"
        return image
    return Image.fromarray(mask)


def to_png(mask: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    to_pil(mask).save(buffer, format="PNG")
    return buffer.getvalue()


def as_array(mask: np.ndarray, tmp_path: Path) -> object:
    return mask


def as_pil(mask: np.ndarray, tmp_path: Path) -> object:
    return to_pil(mask)


def as_bytes(mask: np.ndarray, tmp_path: Path) -> object:
    return to_png(mask)


def as_str_path(mask: np.ndarray, tmp_path: Path) -> object:
    path = tmp_path / "mask.png"
    path.write_bytes(to_png(mask))
    return str(path)


def as_path(mask: np.ndarray, tmp_path: Path) -> object:
    path = tmp_path / "mask-file.png"
    path.write_bytes(to_png(mask))
    return path


KINDS: dict[str, Callable[[np.ndarray, Path], object]] = {
    "array": as_array,
    "pil": as_pil,
    "png-bytes": as_bytes,
    "str-path": as_str_path,
    "pathlib": as_path,
}


def distance_from(mask: np.ndarray) -> np.ndarray:
    """Per pixel, the L2 distance to the nearest pixel of ``mask`` (0 inside it)."""
    outside = (~mask).astype(np.uint8)
    return cv2.distanceTransform(outside, cv2.DIST_L2, cv2.DIST_MASK_PRECISE)


def changed(before: np.ndarray, after: object) -> np.ndarray:
    return (np.asarray(after) != before).any(axis=2)


@cache
def reference_removal() -> bytes:
    result = segswap.swap(chelsea(), grey_mask(), NOTHING, mode="remove")
    return np.asarray(result).tobytes()


# --- which pixels the mask selects ------------------------------------------------------


@pytest.mark.parametrize("layout", list(mask_variants()))
@pytest.mark.parametrize("kind", list(KINDS))
def test_mask_layouts_select_the_same_region(layout: str, kind: str, tmp_path: Path) -> None:
    value = KINDS[kind](mask_variants()[layout], tmp_path)
    array = load_image(value, field="mask_image", settings=SETTINGS)  # type: ignore[arg-type]
    region = mask_from_image(array, chelsea().shape[:2])
    assert region.dtype == np.bool_
    assert region.shape == chelsea().shape[:2]
    np.testing.assert_array_equal(region, expected_region())


@pytest.mark.parametrize("layout", list(mask_variants()))
@pytest.mark.parametrize("kind", list(KINDS))
def test_swap_reads_every_mask_layout_alike(layout: str, kind: str, tmp_path: Path) -> None:
    value = KINDS[kind](mask_variants()[layout], tmp_path)
    result = segswap.swap(chelsea(), value, NOTHING, mode="remove")
    assert result.size == (chelsea().shape[1], chelsea().shape[0])
    assert np.asarray(result).tobytes() == reference_removal()


def test_reference_removal_edits_only_the_region() -> None:
    result = np.frombuffer(reference_removal(), np.uint8).reshape(chelsea().shape)
    diff = changed(chelsea(), result)
    far = distance_from(expected_region()) > 5 + FEATHER_PX + 1  # default growmask 5
    assert diff.any()
    assert not diff[far].any()
    # The 127 and 60 patches are outside the region: untouched (apart from the 128
    # patch's feather band, which is 10 px away from the 127 patch at the nearest).
    assert not diff[240:270, 250:300].any()
    assert diff[200:230, 60:110].mean() > 0.95, "the 128 patch is in the region"


@pytest.mark.parametrize("kind", ["array", "pil", "png-bytes", "str-path"])
def test_scene_and_object_input_kinds_agree(kind: str, tmp_path: Path) -> None:
    (tmp_path / "s").mkdir()
    (tmp_path / "o").mkdir()
    scene = KINDS[kind](chelsea(), tmp_path / "s")
    obj = KINDS[kind](logo_cutout(), tmp_path / "o")
    mask = grey_mask()
    by_kind = segswap.swap(scene, mask, obj, mode="object", growmask=3)
    by_array = segswap.swap(chelsea(), mask, logo_cutout(), mode="object", growmask=3)
    assert by_kind.mode == "RGB"
    assert np.asarray(by_kind).tobytes() == np.asarray(by_array).tobytes()


# --- a mask of another size ------------------------------------------------------------


def test_half_size_mask_is_scaled_nearest_exactly() -> None:
    scene = data.astronaut()  # 512×512
    half = np.zeros((256, 256), np.uint8)
    half[20:40, 30:60] = 255
    half[100:101, 200:201] = 255  # a single pixel becomes a 2×2 block, not a blur
    cv2.circle(half, (150, 180), 25, 255, -1)
    region = mask_from_image(half, scene.shape[:2])
    expected = np.kron(half > 127, np.ones((2, 2), bool))
    np.testing.assert_array_equal(region, expected)
    assert region[40:80, 60:120].all() and region[200:202, 400:402].all()


@pytest.mark.parametrize("kind", ["array", "pil", "png-bytes"])
def test_swap_with_half_size_mask_equals_scaled_mask(kind: str, tmp_path: Path) -> None:
    scene = chelsea()  # 451×300
    height, width = scene.shape[:2]
    full = grey_mask()
    half = cv2.resize(full, (width // 2 + 1, height // 2), interpolation=cv2.INTER_NEAREST)
    value = KINDS[kind](half, tmp_path)
    result = np.asarray(segswap.swap(scene, value, NOTHING, mode="remove", growmask=0))
    assert result.shape == scene.shape
    region = mask_from_image(half, (height, width))
    # Nearest-neighbour: still only the values of ``half`` (hard edges), and the region
    # is the scaled mask up to sampling on its one-pixel boundary.
    ideal = (
        np.asarray(Image.fromarray(half).resize((width, height), Image.Resampling.NEAREST)) > 127
    )
    disagree = region ^ ideal
    boundary = (distance_from(ideal) <= 1.5) & (distance_from(~ideal) <= 1.5)
    assert not (disagree & ~boundary).any()
    same = segswap.swap(scene, region, NOTHING, mode="remove", growmask=0)
    assert np.asarray(same).tobytes() == result.tobytes()
    far = distance_from(region) > FEATHER_PX + 1
    assert not changed(scene, result)[far].any()


def test_larger_mask_is_scaled_down() -> None:
    scene = chelsea()
    height, width = scene.shape[:2]
    double = np.kron(grey_mask(), np.ones((2, 2), np.uint8))
    region = mask_from_image(double, (height, width))
    np.testing.assert_array_equal(region, expected_region())


# --- an empty mask ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "mask",
    [
        np.zeros((300, 451), np.uint8),
        np.full((300, 451), 127, np.uint8),
        np.zeros((300, 451, 3), np.uint8),
        np.zeros((20, 20), bool),
    ],
    ids=["black-L", "all-127", "black-RGB", "false-bool"],
)
def test_empty_mask_names_mask_image(mask: np.ndarray) -> None:
    with pytest.raises(InvalidParameter) as info:
        mask_from_image(
            np.where(mask, 255, 0).astype(np.uint8) if mask.dtype == bool else mask,
            chelsea().shape[:2],
        )
    assert info.value.field == "mask_image"
    with pytest.raises(InvalidParameter) as info:
        segswap.swap(chelsea(), mask, logo_cutout())
    assert info.value.field == "mask_image"
    assert "mask_image" in str(info.value)


@pytest.mark.parametrize("kind", ["pil", "png-bytes", "str-path"])
def test_empty_mask_file_names_mask_image(kind: str, tmp_path: Path) -> None:
    black = KINDS[kind](np.zeros((300, 451), np.uint8), tmp_path)
    with pytest.raises(InvalidParameter) as info:
        segswap.swap(chelsea(), black, NOTHING)
    assert info.value.field == "mask_image"


# --- growmask --------------------------------------------------------------------------


def growth(
    scene: np.ndarray, mask: np.ndarray, obj: np.ndarray, mode: str, growmask: int, **params: object
) -> float:
    """The largest distance from the user's mask of a pixel the edit changed."""
    result = segswap.swap(scene, mask, obj, mode=mode, growmask=growmask, **params)
    diff = changed(scene, result)
    assert diff.any()
    return float(distance_from(mask > 127)[diff].max())


CASES = {
    "remove-chelsea": lambda: (
        chelsea(),
        ellipse((300, 451), (300, 150), (40, 34)),
        NOTHING,
        "remove",
        {},
    ),
    "remove-rocket": lambda: (data.rocket(), _rocket_mask(), NOTHING, "remove", {}),
    "pattern-astronaut": lambda: (
        data.astronaut(),
        ellipse((512, 512), (250, 400), (90, 70)),
        brick_rgb(),
        "pattern",
        {"horizontal_repeat": 2},
    ),
}


def _rocket_mask() -> np.ndarray:
    mask = np.zeros((427, 640), np.uint8)
    mask[115:335, 295:345] = 255
    return mask


@pytest.mark.parametrize("growmask", [0, 5, 12, 20])
@pytest.mark.parametrize("case", list(CASES))
def test_growmask_bounds_the_changed_area(case: str, growmask: int) -> None:
    scene, mask, obj, mode, params = CASES[case]()
    reach = growth(scene, mask, obj, mode, growmask, **params)
    assert reach <= growmask + FEATHER_PX + 1
    assert reach >= growmask


@pytest.mark.parametrize("case", ["remove-chelsea", "remove-rocket"])
def test_growmask_12_reaches_about_12px_further(case: str) -> None:
    scene, mask, obj, mode, params = CASES[case]()
    reach_0 = growth(scene, mask, obj, mode, 0, **params)
    reach_12 = growth(scene, mask, obj, mode, 12, **params)
    assert 12 - 2 <= reach_12 - reach_0 <= 12 + 2
    assert reach_0 <= FEATHER_PX + 1
    assert 12 <= reach_12 <= 12 + FEATHER_PX + 1


def test_growmask_changes_more_pixels() -> None:
    scene, mask, obj, mode, _ = CASES["remove-chelsea"]()
    counts = [
        int(changed(scene, segswap.swap(scene, mask, obj, mode=mode, growmask=g)).sum())
        for g in (0, 6, 12)
    ]
    assert counts[0] < counts[1] < counts[2]


# --- output size -----------------------------------------------------------------------


def scene_of(width: int, height: int) -> np.ndarray:
    """A real photo resized (not padded) to width × height."""
    source = data.astronaut() if width * height > 200_000 else data.coffee()
    return cv2.resize(source, (width, height), interpolation=cv2.INTER_AREA)


SIZES = [(131, 67), (67, 131), (1023, 517), (64, 64), (451, 300)]
OBJECTS = {
    "object": lambda: logo_cutout(),
    "pattern": lambda: brick_rgb(),
    "remove": lambda: NOTHING,
}


@pytest.mark.parametrize("mode", list(OBJECTS))
@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_output_is_the_scene_size(size: tuple[int, int], mode: str) -> None:
    width, height = size
    scene = scene_of(width, height)
    mask = ellipse(
        (height, width), (width // 2, height // 2), (max(4, width // 5), max(4, height // 5))
    )
    result = segswap.swap(scene, mask, OBJECTS[mode](), mode=mode, growmask=3)
    assert isinstance(result, Image.Image)
    assert result.mode == "RGB"
    assert result.size == (width, height)
    diff = changed(scene, result)
    assert diff.any()
    assert not diff[distance_from(mask > 127) > 3 + FEATHER_PX + 1].any()


@pytest.mark.parametrize("mode", list(OBJECTS))
def test_mask_at_the_scene_edge_with_max_growmask(mode: str) -> None:
    scene = scene_of(64, 64)
    mask = np.zeros((64, 64), np.uint8)
    mask[:10, 50:] = 255  # the top-right corner
    result = segswap.swap(scene, mask, OBJECTS[mode](), mode=mode, growmask=20)
    assert result.size == (64, 64)
    diff = changed(scene, result)
    assert not diff[distance_from(mask > 127) > 20 + FEATHER_PX + 1].any()


def test_auto_size_mismatched_object_and_gray_scene() -> None:
    scene = data.camera()[::3, ::2]  # a grey photo, 171×256, non-square
    mask = ellipse(scene.shape, (128, 85), (30, 20))
    result = segswap.swap(scene, mask, data.logo())
    assert result.size == (scene.shape[1], scene.shape[0])
    assert result.mode == "RGB"


# --- unusable array inputs -------------------------------------------------------------


def _bad_arrays() -> list[tuple[str, str, np.ndarray]]:
    scene = chelsea()
    return [
        ("main_image", "float", scene.astype(np.float32) / 255.0),
        ("main_image", "5-channel", np.zeros((30, 40, 5), np.uint8)),
        ("main_image", "int64", scene.astype(np.int64)),
        ("main_image", "1-d", np.zeros(100, np.uint8)),
        ("main_image", "empty", np.zeros((0, 40, 3), np.uint8)),
        ("mask_image", "float", (grey_mask() > 127).astype(np.float64)),
        ("mask_image", "5-channel", np.zeros((300, 451, 5), np.uint8)),
        ("mask_image", "4-d", np.zeros((1, 300, 451, 1), np.uint8)),
        ("object_image", "float", logo_cutout().astype(np.float32)),
        ("object_image", "5-channel", np.zeros((8, 8, 5), np.uint8)),
        ("object_image", "2-channel", np.zeros((8, 8, 2), np.uint8)),
    ]


@pytest.mark.parametrize("field,label", [(f, lab) for f, lab, _ in _bad_arrays()])
def test_unusable_array_names_its_field(field: str, label: str) -> None:
    bad = next(array for f, lab, array in _bad_arrays() if (f, lab) == (field, label))
    inputs = {"main_image": chelsea(), "mask_image": grey_mask(), "object_image": NOTHING}
    inputs[field] = bad
    with pytest.raises(InvalidParameter) as info:
        segswap.swap(inputs["main_image"], inputs["mask_image"], inputs["object_image"])
    assert info.value.field == field
    assert field in str(info.value)


@pytest.mark.parametrize("value", [12, None, 3.5, ["a.png"]])
def test_unusable_input_type_names_its_field(value: object) -> None:
    with pytest.raises(InvalidParameter) as info:
        segswap.swap(chelsea(), value, NOTHING)  # type: ignore[arg-type]
    assert info.value.field == "mask_image"


def test_missing_file_names_field_and_path(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-mask.png"
    with pytest.raises(InvalidParameter) as info:
        segswap.swap(chelsea(), str(missing), NOTHING)
    assert info.value.field == "mask_image"
    assert str(missing) in str(info.value)
    with pytest.raises(InvalidParameter) as info:
        segswap.swap(chelsea(), grey_mask(), missing)
    assert info.value.field == "object_image"
    assert str(missing) in str(info.value)


def test_undecodable_bytes_name_the_field(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameter) as info:
        segswap.swap(b"\x89PNG\r\n\x1a\nnot really a png", grey_mask(), NOTHING)
    assert info.value.field == "main_image"
