"""The main image's ICC profile and EXIF reach PNG, JPEG and WebP output."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image, ImageCms

import segswap
from segswap.api import render_request
from segswap.engine import get_engine
from segswap.io.decode import decode_with_metadata
from segswap.io.encode import encode_image
from segswap.io.metadata import ImageMetadata, read_metadata, upright_exif
from segswap.params import SwapRequest
from segswap.settings import Settings

ORIENTATION, MAKE, MODEL, DATETIME = 0x0112, 0x010F, 0x0110, 0x0132
PILLOW_NAMES = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}


@pytest.fixture(scope="module")
def icc() -> bytes:
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    assert profile[16:20] == b"RGB "
    return profile


def camera_jpeg(photo: np.ndarray, icc: bytes, orientation: int) -> bytes:
    """``photo`` stored as a camera would: sideways pixels plus an Orientation tag."""
    exif = Image.Exif()
    exif[MAKE] = "SegswapCam"
    exif[MODEL] = "Model 7"
    exif[DATETIME] = "2024:05:06 07:08:09"
    exif[ORIENTATION] = orientation
    stored = Image.fromarray(photo).transpose(Image.Transpose.ROTATE_90)  # undone by tag 6
    out = io.BytesIO()
    stored.save(out, "JPEG", quality=95, icc_profile=icc, exif=exif.tobytes())
    return out.getvalue()


def metadata_of(data: bytes) -> tuple[Image.Image, bytes | None, Image.Exif]:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image, image.info.get("icc_profile"), image.getexif()


def assert_carried(data: bytes, fmt: str, icc: bytes) -> None:
    image, profile, exif = metadata_of(data)
    assert image.format == PILLOW_NAMES[fmt]
    assert profile == icc
    assert exif.get(ORIENTATION) == 1
    assert exif.get(MAKE) == "SegswapCam"
    assert exif.get(MODEL) == "Model 7"
    assert exif.get(DATETIME) == "2024:05:06 07:08:09"


def test_decoding_reads_the_profile_and_an_upright_exif(chelsea: np.ndarray, icc: bytes) -> None:
    pixels, metadata = decode_with_metadata(
        camera_jpeg(chelsea, icc, 6), field="main_image", max_pixels=10**7
    )
    assert pixels.shape == chelsea.shape  # orientation applied
    assert metadata.icc_profile == icc
    assert metadata.exif is not None and metadata.exif[:4] in (b"II*\x00", b"MM\x00*")
    exif = Image.Exif()
    exif.load(metadata.exif)
    assert exif[ORIENTATION] == 1 and exif[MAKE] == "SegswapCam"


@pytest.mark.parametrize(
    ("fmt", "quality"), [("png", 95), ("jpeg", 90), ("webp", 90), ("webp", 100)]
)
def test_encoding_carries_profile_and_exif(
    fmt: str, quality: int, chelsea: np.ndarray, icc: bytes
) -> None:
    _, metadata = decode_with_metadata(
        camera_jpeg(chelsea, icc, 6), field="main_image", max_pixels=10**7
    )
    data = encode_image(chelsea, fmt, quality, metadata)
    assert_carried(data, fmt, icc)
    decoded = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    assert decoded.shape == chelsea.shape
    if fmt == "png" or quality == 100:  # lossless stays lossless with metadata in it
        np.testing.assert_array_equal(decoded, chelsea)


@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp"])
def test_an_http_job_carries_the_main_images_metadata(
    fmt: str, chelsea: np.ndarray, icc: bytes
) -> None:
    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode()

    mask = np.zeros(chelsea.shape[:2], np.uint8)
    mask[100:200, 150:300] = 255
    request = SwapRequest(
        main_image=b64(camera_jpeg(chelsea, icc, 6)),
        mask_image=b64(encode_image(np.dstack([mask] * 3), "png", 95)),
        object_image=b64(encode_image(np.zeros((16, 16, 3), np.uint8) + 90, "png", 95)),
        image_format=fmt,  # type: ignore[arg-type]
    )
    rendered = render_request(request, engine=get_engine("composite"), settings=Settings())
    assert_carried(rendered.data, fmt, icc)


def test_library_result_keeps_the_metadata_for_saving(
    chelsea: np.ndarray, icc: bytes, tmp_path: object
) -> None:
    mask = np.zeros(chelsea.shape[:2], bool)
    mask[100:200, 150:300] = True
    result = segswap.swap(camera_jpeg(chelsea, icc, 6), mask, np.zeros((8, 8, 4), np.uint8))
    assert result.size == (chelsea.shape[1], chelsea.shape[0])
    metadata = read_metadata(result)
    assert metadata.icc_profile == icc
    out = io.BytesIO()
    result.save(out, "JPEG", **metadata.pil_info())
    assert_carried(out.getvalue(), "jpeg", icc)


def test_inputs_without_metadata_make_files_without_it(chelsea: np.ndarray) -> None:
    for fmt in ("png", "jpeg", "webp"):
        _, profile, exif = metadata_of(encode_image(chelsea, fmt, 90, ImageMetadata()))
        assert profile is None
        assert ORIENTATION not in exif


def test_a_cmyk_or_grey_profile_is_not_put_on_rgb_output(icc: bytes) -> None:
    grey = icc[:16] + b"GRAY" + icc[20:]
    image = Image.new("RGB", (4, 4))
    image.info["icc_profile"] = grey
    assert read_metadata(image).icc_profile is None


def test_malformed_exif_is_dropped_not_fatal() -> None:
    assert upright_exif(b"Exif\x00\x00not a tiff") is None
    assert upright_exif(b"II*\x00\xff\xff\x00\x00") is None  # IFD offset past the end
