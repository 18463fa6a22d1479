"""segswap.io.decode: layouts, formats, EXIF orientation, pixel cap, bad bytes."""

from __future__ import annotations

import io
import struct
import tracemalloc
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image, ImageFile

from segswap.errors import ImageTooLarge, InvalidParameter
from segswap.io import decode as decode_module
from segswap.io.decode import decode_image, decode_with_metadata, pil_to_array, sniff_format

CAP = 10**8


def png_bytes(array: np.ndarray, **options: object) -> bytes:
    """``array`` saved as PNG by Pillow."""
    out = io.BytesIO()
    Image.fromarray(array).save(out, "PNG", **options)
    return out.getvalue()


def decode(data: bytes, max_pixels: int = CAP) -> np.ndarray:
    return decode_image(data, field="main_image", max_pixels=max_pixels)


def saved(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload))
    )


def png_with_header(width: int, height: int, idat: bytes = b"") -> bytes:
    """A PNG whose IHDR declares ``width×height`` 1-bit grey, with the given IDAT data."""
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", idat or zlib.compress(b"\x00" * 64))
        + png_chunk(b"IEND", b"")
    )


def cv2_png(array: np.ndarray) -> bytes:
    ok, buffer = cv2.imencode(".png", array)
    assert ok
    return buffer.tobytes()


@pytest.fixture
def fast_calls(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The files given to the OpenCV fast path during the test."""
    calls: list[bytes] = []
    real = decode_module._decode_cv2

    def spy(raw: bytes) -> np.ndarray | None:
        calls.append(raw)
        return real(raw)

    monkeypatch.setattr(decode_module, "_decode_cv2", spy)
    return calls


# --- layouts -------------------------------------------------------------------------


def test_rgb_png_round_trip(astronaut: np.ndarray) -> None:
    result = decode(png_bytes(astronaut))
    assert result.dtype == np.uint8 and result.shape == (512, 512, 3)
    assert result.flags.c_contiguous and result.flags.writeable
    np.testing.assert_array_equal(result, astronaut)


def test_rgba_png_keeps_alpha(cutout: np.ndarray) -> None:
    np.testing.assert_array_equal(decode(png_bytes(cutout)), cutout)


def test_grey_and_bilevel_are_two_dimensional(chelsea: np.ndarray) -> None:
    grey = cv2.cvtColor(chelsea, cv2.COLOR_RGB2GRAY)
    np.testing.assert_array_equal(decode(png_bytes(grey)), grey)
    bilevel = Image.fromarray(grey > 128)
    np.testing.assert_array_equal(decode(saved(bilevel, "PNG")), np.where(grey > 128, 255, 0))
    assert decode(saved(Image.fromarray(grey), "JPEG")).shape == grey.shape


def test_palette_png_with_and_without_transparency() -> None:
    indices = np.arange(24, dtype=np.uint8).reshape(4, 6) % 4
    image = Image.fromarray(indices, "P")
    image.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255])
    opaque = decode(saved(image, "PNG"))
    assert opaque.shape == (4, 6, 3)
    np.testing.assert_array_equal(opaque[indices == 1], [[255, 0, 0]] * int((indices == 1).sum()))
    clear = decode(saved(image, "PNG", transparency=0))
    assert clear.shape == (4, 6, 4)
    np.testing.assert_array_equal(clear[..., 3], np.where(indices == 0, 0, 255))


def test_grey_png_with_transparent_colour_becomes_rgba() -> None:
    grey = np.array([[0, 10], [20, 30]], np.uint8)
    result = decode(png_bytes(grey, transparency=10))
    assert result.shape == (2, 2, 4)
    np.testing.assert_array_equal(result[..., 3], [[255, 0], [255, 255]])
    np.testing.assert_array_equal(result[..., 0], grey)


@pytest.mark.parametrize(
    "name",
    ["grey8", "grey16", "bgr8", "bgr16", "bgra8", "bgra16", "la8", "interlaced"],
)
def test_png_fast_path_matches_pillow(
    name: str, chelsea: np.ndarray, fast_calls: list[bytes]
) -> None:
    bgr = np.ascontiguousarray(chelsea[:64, :80, ::-1])
    wide = bgr.astype(np.uint16) * 257 + np.arange(80, dtype=np.uint16)[None, :, None]
    alpha = np.linspace(0, 255, 80, dtype=np.uint8)[None, :].repeat(64, 0)
    variants = {
        "grey8": lambda: cv2_png(bgr[..., 0]),
        "grey16": lambda: cv2_png(wide[..., 0]),
        "bgr8": lambda: cv2_png(bgr),
        "bgr16": lambda: cv2_png(wide),
        "bgra8": lambda: cv2_png(np.dstack([bgr, alpha])),
        "bgra16": lambda: cv2_png(np.dstack([wide, alpha.astype(np.uint16) * 257])),
        "la8": lambda: saved(Image.fromarray(np.dstack([bgr[..., 0], alpha]), "LA"), "PNG"),
        "interlaced": lambda: _interlaced_png(bgr[..., ::-1]),
    }
    data = variants[name]()
    result = decode(data)
    assert fast_calls, "a plain PNG should take the OpenCV path"
    with Image.open(io.BytesIO(data)) as image:
        expected = pil_to_array(image)
    assert result.dtype == np.uint8
    np.testing.assert_array_equal(result, expected)


@pytest.mark.parametrize(
    "options",
    [{"quality": 50}, {"quality": 90}, {"lossless": True}],
    ids=["q50", "q90", "lossless"],
)
@pytest.mark.parametrize("alpha", [False, True], ids=["rgb", "rgba"])
def test_webp_fast_path_matches_pillow(
    options: dict[str, object], alpha: bool, chelsea: np.ndarray, fast_calls: list[bytes]
) -> None:
    ramp = np.linspace(0, 255, chelsea.shape[1], dtype=np.uint8)[None, :]
    array = np.dstack([chelsea, ramp.repeat(chelsea.shape[0], 0)]) if alpha else chelsea
    data = saved(Image.fromarray(array), "WEBP", **options)
    result = decode(data)
    assert fast_calls, "a still WebP without EXIF should take the OpenCV path"
    with Image.open(io.BytesIO(data)) as image:
        np.testing.assert_array_equal(result, pil_to_array(image))
    assert result.shape[2] == (4 if alpha else 3)


def test_files_needing_pillow_skip_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(raw: bytes) -> None:
        raise AssertionError("OpenCV must not decode this file")

    monkeypatch.setattr(decode_module, "_decode_cv2", refuse)
    palette = Image.new("P", (4, 4))
    exif = Image.Exif()
    exif[0x0112] = 3
    frames = [Image.new("RGB", (4, 4), colour) for colour in ("red", "blue")]
    for data in (
        saved(palette, "PNG"),
        saved(Image.new("L", (4, 4)), "PNG", transparency=0),
        saved(Image.new("RGB", (4, 4)), "PNG", exif=exif),
        saved(Image.new("RGB", (4, 4)), "WEBP", exif=exif),
        saved(frames[0], "WEBP", save_all=True, append_images=frames[1:]),
        saved(frames[0], "PNG", save_all=True, append_images=frames[1:]),
    ):
        assert decode(data).shape[:2] == (4, 4)


def _interlaced_png(rgb: np.ndarray) -> bytes:
    """Adam7-interlaced RGB PNG (Pillow cannot write one; build it by hand)."""
    height, width, _ = rgb.shape
    passes = [
        (0, 0, 8, 8),
        (4, 0, 8, 8),
        (0, 4, 4, 8),
        (2, 0, 4, 4),
        (0, 2, 2, 4),
        (1, 0, 2, 2),
        (0, 1, 1, 2),
    ]
    raw = b""
    for x0, y0, dx, dy in passes:
        sub = rgb[y0::dy, x0::dx]
        if sub.size:
            raw += b"".join(b"\x00" + row.tobytes() for row in sub)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 1)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(raw))
        + png_chunk(b"IEND", b"")
    )


def test_interlaced_png_is_correct(chelsea: np.ndarray) -> None:
    rgb = np.ascontiguousarray(chelsea[:37, :53])
    np.testing.assert_array_equal(decode(_interlaced_png(rgb)), rgb)


def test_sixteen_bit_samples_keep_the_high_byte() -> None:
    wide = np.array([[0, 255, 256, 65535]], np.uint16)
    np.testing.assert_array_equal(decode(cv2_png(wide)), [[0, 0, 1, 255]])
    tiff = saved(Image.fromarray(wide), "TIFF")
    np.testing.assert_array_equal(decode(tiff), [[0, 0, 1, 255]])


# --- formats -------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["BMP", "TIFF", "WEBP"])
def test_lossless_formats_round_trip(fmt: str, chelsea: np.ndarray) -> None:
    options = {"lossless": True} if fmt == "WEBP" else {}
    data = saved(Image.fromarray(chelsea), fmt, **options)
    np.testing.assert_array_equal(decode(data), chelsea)


def test_jpeg_decodes_close_to_the_original(astronaut: np.ndarray) -> None:
    result = decode(saved(Image.fromarray(astronaut), "JPEG", quality=95))
    assert result.shape == astronaut.shape
    assert np.abs(result.astype(int) - astronaut).mean() < 3


def test_rgba_webp_keeps_alpha(cutout: np.ndarray) -> None:
    result = decode(saved(Image.fromarray(cutout), "WEBP", lossless=True, exact=True))
    np.testing.assert_array_equal(result, cutout)


def test_gif_gives_its_first_frame() -> None:
    first = np.zeros((8, 10, 3), np.uint8)
    first[:, :5] = (255, 0, 0)
    second = np.full((8, 10, 3), (0, 0, 255), np.uint8)
    frames = [Image.fromarray(frame).convert("P") for frame in (first, second)]
    data = saved(frames[0], "GIF", save_all=True, append_images=frames[1:])
    result = decode(data)
    assert result.shape in ((8, 10, 3), (8, 10, 4))
    np.testing.assert_array_equal(result[..., :3], first)


def test_sniff_format() -> None:
    assert sniff_format(b"\x89PNG\r\n\x1a\n....") == "png"
    assert sniff_format(b"\xff\xd8\xff\xe0") == "jpeg"
    assert sniff_format(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "webp"
    assert sniff_format(b"GIF89a") == "gif"
    assert sniff_format(b"BM....") == "bmp"
    assert sniff_format(b"II*\x00") == "tiff" and sniff_format(b"MM\x00*") == "tiff"
    assert sniff_format(b"<html>") is None and sniff_format(b"") is None


# --- EXIF orientation ----------------------------------------------------------------


def _oriented(fmt: str, orientation: int) -> tuple[bytes, np.ndarray]:
    """A 40-wide, 20-high image, red in its stored top-left quarter, with the tag."""
    stored = np.zeros((20, 40, 3), np.uint8)
    stored[:10, :20] = (255, 0, 0)
    exif = Image.Exif()
    exif[0x0112] = orientation
    options: dict[str, object] = {"exif": exif}
    if fmt == "JPEG":
        options["quality"] = 95
    return saved(Image.fromarray(stored), fmt, **options), stored


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_exif_orientation_6_is_applied(fmt: str) -> None:
    data, _ = _oriented(fmt, 6)
    result = decode(data)
    # Orientation 6: the stored image is shown turned 90° clockwise, so it is 20 wide,
    # 40 high, and its stored top-left corner ends at the top right.
    assert result.shape == (40, 20, 3)
    assert result[2, 17, 0] > 200 and result[2, 17, 2] < 60
    assert result[2, 2, 0] < 60


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_check_size_sees_the_upright_size_before_anything_is_decoded(
    fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data, _ = _oriented(fmt, 6)
    seen: list[tuple[int, int]] = []
    decoded: list[str] = []
    real_load = ImageFile.ImageFile.load

    def counting_load(image: ImageFile.ImageFile) -> object:
        decoded.append(str(image.format))
        return real_load(image)

    monkeypatch.setattr(ImageFile.ImageFile, "load", counting_load)

    class Refused(Exception):
        pass

    def refuse(width: int, height: int) -> None:
        seen.append((width, height))
        raise Refused

    with pytest.raises(Refused):
        decode_with_metadata(data, field="main_image", max_pixels=10**6, check_size=refuse)
    assert seen == [(20, 40)]  # upright: orientation 6 turns the 40×20 file
    assert decoded == []
    # Accepted, the image then decodes as without the check.
    array, _ = decode_with_metadata(
        data, field="main_image", max_pixels=10**6, check_size=lambda w, h: None
    )
    assert array.shape == (40, 20, 3) and decoded


def test_no_orientation_tag_leaves_the_image_as_stored() -> None:
    data, stored = _oriented("PNG", 1)
    np.testing.assert_array_equal(decode(data), stored)


# --- pixel cap and decompression bombs ------------------------------------------------


def test_header_declaring_ten_billion_pixels_is_refused_small() -> None:
    bomb = png_with_header(100_000, 100_000)
    tracemalloc.start()
    with pytest.raises(ImageTooLarge, match="main_image") as caught:
        decode(bomb, max_pixels=40_000_000)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert "40,000,000" in str(caught.value)
    assert peak < 5_000_000


def test_small_file_with_many_pixels_is_refused_before_decoding() -> None:
    # 3000×3000 zeros compress to a few kB; the cap (1 MP) is below Pillow's own limit.
    side = 3000
    raw = zlib.compress((b"\x00" + b"\x00" * (side // 8 + 1)) * side, 9)
    bomb = png_with_header(side, side, raw)
    assert len(bomb) < 20_000
    with pytest.raises(ImageTooLarge, match=r"3000×3000 = 9,000,000 pixels.*1,000,000"):
        decode(bomb, max_pixels=1_000_000)


def test_gif_header_bomb_is_refused() -> None:
    gif = (
        b"GIF89a"
        + struct.pack("<HH", 65535, 65535)
        + b"\x00\x00\x00"
        + b"\x2c"
        + b"\x00" * 9
        + b"\x02\x02\x44\x01\x00\x3b"
    )
    with pytest.raises(ImageTooLarge):
        decode(gif, max_pixels=40_000_000)


def test_cap_is_inclusive(chelsea: np.ndarray) -> None:
    data = png_bytes(chelsea)
    assert decode(data, max_pixels=300 * 451).shape == chelsea.shape
    with pytest.raises(ImageTooLarge):
        decode(data, max_pixels=300 * 451 - 1)


# --- undecodable input ---------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"definitely not an image",
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 20,
        b"P6\n2 2\n255\n" + b"\x00" * 12,  # PPM: a format Pillow knows but segswap refuses
        b"%!PS-Adobe-3.0 EPSF-3.0\n",
    ],
)
def test_undecodable_bytes_name_the_field(data: bytes) -> None:
    with pytest.raises(InvalidParameter, match="^main_image: could not decode the image") as caught:
        decode(data)
    assert "expected PNG, JPEG, WebP, GIF, BMP or TIFF" in str(caught.value)
    assert not isinstance(caught.value, ImageTooLarge)


def test_truncated_files_are_errors_not_crashes(astronaut: np.ndarray) -> None:
    for data in (png_bytes(astronaut), saved(Image.fromarray(astronaut), "JPEG")):
        with pytest.raises(InvalidParameter, match="main_image"):
            decode(data[: len(data) // 2])


def test_corrupt_png_data_falls_back_to_a_clean_error(chelsea: np.ndarray) -> None:
    data = bytearray(png_bytes(chelsea))
    data[200:260] = b"\xff" * 60  # inside the IDAT stream; CRC no longer matches
    with pytest.raises(InvalidParameter, match="main_image"):
        decode(bytes(data))


def test_the_decode_error_names_exactly_the_formats_that_decode() -> None:
    with pytest.raises(InvalidParameter) as caught:
        decode(b"not an image at all")
    listed = str(caught.value).split("; expected ")[1].replace(" or ", ", ").split(", ")
    assert listed == ["PNG", "JPEG", "WebP", "GIF", "BMP", "TIFF"]
    rgb = np.zeros((8, 8, 3), np.uint8)
    rgb[2:6, 2:6] = (200, 40, 40)
    for name in [*listed, "PPM"]:
        buffer = io.BytesIO()
        Image.fromarray(rgb).convert("P" if name == "GIF" else "RGB").save(buffer, name.upper())
        if name == "PPM":  # Pillow writes it, segswap refuses it: not listed
            with pytest.raises(InvalidParameter, match="could not decode"):
                decode(buffer.getvalue())
        else:
            assert decode(buffer.getvalue()).shape[:2] == (8, 8), name
