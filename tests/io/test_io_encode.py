"""segswap.io.encode: valid files, quality effects, lossless formats exact."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from segswap.errors import InvalidParameter
from segswap.io.decode import decode_image, sniff_format
from segswap.io.encode import CONTENT_TYPES, encode_image

PILLOW_NAMES = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    error = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if error == 0 else 10 * np.log10(255.0**2 / error)


def decode(data: bytes) -> np.ndarray:
    return decode_image(data, field="out", max_pixels=10**8)


@pytest.mark.parametrize(("fmt", "quality"), [("png", 95), ("jpeg", 95), ("webp", 90)])
def test_output_is_a_valid_file_of_the_format(fmt: str, quality: int, chelsea: np.ndarray) -> None:
    data = encode_image(chelsea, fmt, quality)
    assert sniff_format(data) == fmt
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == PILLOW_NAMES[fmt]
        assert image.size == (chelsea.shape[1], chelsea.shape[0])
        assert image.mode == "RGB"
        image.load()
    assert CONTENT_TYPES[fmt] == f"image/{fmt}"


@pytest.mark.parametrize("quality", [10, 95])
def test_png_is_pixel_exact_and_ignores_quality(quality: int, astronaut: np.ndarray) -> None:
    data = encode_image(astronaut, "png", quality)
    np.testing.assert_array_equal(decode(data), astronaut)
    assert data == encode_image(astronaut, "png", 50)


def test_webp_quality_100_is_lossless(astronaut: np.ndarray, chelsea: np.ndarray) -> None:
    for image in (astronaut, chelsea):
        data = encode_image(image, "webp", 100)
        with Image.open(io.BytesIO(data)) as decoded:
            assert decoded.format == "WEBP"
        np.testing.assert_array_equal(decode(data), image)


@pytest.mark.parametrize("fmt", ["jpeg", "webp"])
def test_quality_has_a_measurable_effect(fmt: str, astronaut: np.ndarray) -> None:
    sizes, fidelity = [], []
    for quality in (10, 50, 90):
        data = encode_image(astronaut, fmt, quality)
        sizes.append(len(data))
        fidelity.append(psnr(decode(data), astronaut))
    assert sizes[0] < sizes[1] < sizes[2]
    assert fidelity[0] < fidelity[1] < fidelity[2]
    assert fidelity[2] > 35


@pytest.mark.parametrize(
    ("fmt", "quality"), [("png", 95), ("jpeg", 80), ("webp", 80), ("webp", 100)]
)
def test_encoding_is_deterministic(fmt: str, quality: int, chelsea: np.ndarray) -> None:
    assert encode_image(chelsea, fmt, quality) == encode_image(chelsea.copy(), fmt, quality)


def test_accepts_non_contiguous_arrays(astronaut: np.ndarray) -> None:
    view = astronaut[::2, ::2]
    np.testing.assert_array_equal(decode(encode_image(view, "png", 95)), view)


@pytest.mark.parametrize(
    "bad",
    [np.zeros((4, 4), np.uint8), np.zeros((4, 4, 4), np.uint8), np.zeros((4, 4, 3), np.float32)],
)
def test_rejects_arrays_that_are_not_rgb_uint8(bad: np.ndarray) -> None:
    with pytest.raises(ValueError, match="H×W×3 uint8"):
        encode_image(bad, "png", 95)


def test_rejects_unknown_format_and_quality(chelsea: np.ndarray) -> None:
    with pytest.raises(ValueError, match="image format"):
        encode_image(chelsea, "gif", 95)
    with pytest.raises(ValueError, match="quality"):
        encode_image(chelsea, "jpeg", 0)


def test_webp_side_limit_is_a_parameter_error() -> None:
    wide = np.zeros((1, 16_384, 3), np.uint8)
    with pytest.raises(InvalidParameter, match="image_format.*16383"):
        encode_image(wide, "webp", 90)
    assert sniff_format(encode_image(wide, "png", 90)) == "png"
