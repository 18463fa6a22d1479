"""segswap.io.load: every kind of image input, and the limits on each."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from segswap.errors import ImageTooLarge, InputFetchError, InvalidParameter
from segswap.io.load import load_image, read_image_bytes
from segswap.settings import Settings

FIELD = "object_image"


def png_bytes(array: np.ndarray, **options: object) -> bytes:
    """``array`` saved as PNG by Pillow."""
    out = io.BytesIO()
    Image.fromarray(array).save(out, "PNG", **options)
    return out.getvalue()


def load(value: object, settings: Settings, **options: object) -> np.ndarray:
    return load_image(value, field=FIELD, settings=settings, **options)  # type: ignore[arg-type]


def jpeg_bytes(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(array).save(out, "JPEG", quality=90)
    return out.getvalue()


# --- strings, paths and bytes --------------------------------------------------------


def test_path_as_str_and_as_pathlike(
    tmp_path: Path, chelsea: np.ndarray, settings: Settings
) -> None:
    path = tmp_path / "cat.png"
    path.write_bytes(png_bytes(chelsea))
    np.testing.assert_array_equal(load(str(path), settings), chelsea)
    np.testing.assert_array_equal(load(path, settings), chelsea)


def test_bytes(cutout: np.ndarray, settings: Settings) -> None:
    np.testing.assert_array_equal(load(png_bytes(cutout), settings), cutout)
    np.testing.assert_array_equal(load(bytearray(png_bytes(cutout)), settings), cutout)


@pytest.mark.parametrize("media_type", ["image/png", "IMAGE/PNG", "image/anything"])
def test_data_uri(media_type: str, chelsea: np.ndarray, settings: Settings) -> None:
    payload = base64.b64encode(png_bytes(chelsea)).decode()
    uri = f"data:{media_type};base64,{payload}"
    np.testing.assert_array_equal(load(uri, settings), chelsea)


def test_data_uri_with_extra_parameters(chelsea: np.ndarray, settings: Settings) -> None:
    payload = base64.b64encode(png_bytes(chelsea)).decode()
    uri = f"data:image/png;name=cat.png;base64,{payload}"
    np.testing.assert_array_equal(load(uri, settings), chelsea)


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("data:image/png;base64,@@@@", "not valid base64"),
        ("data:text/plain;base64,iVBORw0KGgo=", "not image/"),
        ("data:image/png,rawdata", "not base64-encoded"),
        ("data:image/png;base64", "malformed data URI"),
    ],
)
def test_bad_data_uris_name_the_field(uri: str, message: str, settings: Settings) -> None:
    with pytest.raises(InvalidParameter, match=f"^{FIELD}: .*{message}"):
        load(uri, settings)


def test_bare_base64_variants(chelsea: np.ndarray, settings: Settings) -> None:
    raw = jpeg_bytes(chelsea)
    expected = load(raw, settings)
    plain = base64.b64encode(raw).decode()
    wrapped = "\n".join(plain[i : i + 76] for i in range(0, len(plain), 76)) + "\n"
    for text in (
        plain,
        wrapped,
        "  " + plain + "  ",
        plain.rstrip("="),
        base64.urlsafe_b64encode(raw).decode(),
    ):
        np.testing.assert_array_equal(load(text, settings), expected)


@pytest.mark.parametrize(
    "text",
    ["hello world", "not-an-image", "aGVsbG8gd29ybGQ=", "   ", "C:\\nowhere\\x"],
)
def test_bad_strings_name_the_field_and_what_is_expected(text: str, settings: Settings) -> None:
    with pytest.raises(InvalidParameter) as caught:
        load(text, settings)
    assert str(caught.value).startswith(f"{FIELD}: ")
    assert "expected a URL, a data:image/...;base64 URI" in str(caught.value)


def test_missing_image_file_is_named(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(InvalidParameter, match="no such file"):
        load(str(tmp_path / "room.png"), settings)
    with pytest.raises(InvalidParameter, match="no such file"):
        load(tmp_path / "room.png", settings)


def test_other_url_schemes_are_refused(settings: Settings) -> None:
    for url in ("ftp://example.com/a.png", "file:///etc/passwd", "gopher://x/"):
        with pytest.raises(InputFetchError, match=f"^{FIELD}: only http and https"):
            load(url, settings)


def test_paths_can_be_switched_off(tmp_path: Path, chelsea: np.ndarray, settings: Settings) -> None:
    path = tmp_path / "cat.png"
    path.write_bytes(png_bytes(chelsea))
    with pytest.raises(InvalidParameter) as caught:
        load(str(path), settings, allow_paths=False)
    assert "file path" not in str(caught.value)
    # read_image_bytes is what the HTTP API calls: no local files unless asked for.
    with pytest.raises(InvalidParameter):
        read_image_bytes(str(path), field=FIELD, settings=settings)
    assert (
        read_image_bytes(str(path), field=FIELD, settings=settings, allow_paths=True)
        == path.read_bytes()
    )


def test_encoded_size_caps(tmp_path: Path, astronaut: np.ndarray) -> None:
    data = png_bytes(astronaut)
    tight = Settings(fetch_max_bytes=len(data) - 1)
    path = tmp_path / "big.png"
    path.write_bytes(data)
    with pytest.raises(ImageTooLarge, match="limit"):
        load(str(path), tight)
    with pytest.raises(ImageTooLarge, match="limit"):
        load(base64.b64encode(data).decode(), tight)
    with pytest.raises(ImageTooLarge, match="limit"):
        load("data:image/png;base64," + base64.b64encode(data).decode(), tight)
    assert load(data, Settings(fetch_max_bytes=len(data))).shape == astronaut.shape


# --- in-process objects --------------------------------------------------------------


def test_pil_images_in_every_mode(
    chelsea: np.ndarray, cutout: np.ndarray, settings: Settings
) -> None:
    rgb = Image.fromarray(chelsea)
    np.testing.assert_array_equal(load(rgb, settings), chelsea)
    np.testing.assert_array_equal(load(Image.fromarray(cutout), settings), cutout)
    assert load(rgb.convert("L"), settings).shape == (300, 451)
    assert load(rgb.convert("1"), settings).shape == (300, 451)
    assert load(rgb.convert("CMYK"), settings).shape == (300, 451, 3)
    assert load(rgb.convert("P"), settings).shape == (300, 451, 3)
    assert load(Image.fromarray(cutout).convert("LA"), settings).shape == (500, 500, 4)


def test_lazily_opened_pil_image_with_exif(tmp_path: Path, settings: Settings) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "turned.jpg"
    Image.new("RGB", (40, 20), "white").save(path, exif=exif)
    with Image.open(path) as image:
        assert load(image, settings).shape == (40, 20, 3)


@pytest.mark.parametrize(
    ("shape", "expected"),
    [((6, 8), (6, 8)), ((6, 8, 1), (6, 8)), ((6, 8, 3), (6, 8, 3)), ((6, 8, 4), (6, 8, 4))],
)
def test_uint8_arrays(
    shape: tuple[int, ...], expected: tuple[int, ...], settings: Settings
) -> None:
    array = np.arange(np.prod(shape), dtype=np.uint64).astype(np.uint8).reshape(shape)
    result = load(array, settings)
    assert result.shape == expected and result.dtype == np.uint8
    np.testing.assert_array_equal(result.reshape(shape), array)
    result[...] = 0  # a copy: the caller's array is untouched
    assert array.any()


def test_non_contiguous_array_comes_back_contiguous(
    chelsea: np.ndarray, settings: Settings
) -> None:
    result = load(chelsea[::-1, ::2], settings)
    assert result.flags.c_contiguous
    np.testing.assert_array_equal(result, chelsea[::-1, ::2])


def test_bool_mask_array(settings: Settings) -> None:
    mask = np.zeros((5, 7), bool)
    mask[1:3, 2:5] = True
    result = load(mask, settings)
    assert result.dtype == np.uint8
    np.testing.assert_array_equal(result, np.where(mask, 255, 0))
    np.testing.assert_array_equal(load(mask[..., None], settings), result)


@pytest.mark.parametrize(
    "array",
    [
        np.zeros((4, 4), np.float32),
        np.zeros((4, 4, 3), np.uint16),
        np.zeros((4, 4, 2), np.uint8),
        np.zeros((4, 4, 3, 1), np.uint8),
        np.zeros((4,), np.uint8),
        np.zeros((0, 4, 3), np.uint8),
        np.zeros((4, 4, 3), bool),
    ],
)
def test_bad_arrays_name_the_field_and_the_accepted_shapes(
    array: np.ndarray, settings: Settings
) -> None:
    with pytest.raises(InvalidParameter, match=f"^{FIELD}: ") as caught:
        load(array, settings)
    assert "uint8" in str(caught.value) or "empty" in str(caught.value)


def test_unsupported_type(settings: Settings) -> None:
    with pytest.raises(InvalidParameter, match=f"^{FIELD}: .*got int"):
        load(42, settings)


# --- the pixel cap applies to every kind of input -------------------------------------


def test_pixel_cap_for_every_input_kind(tmp_path: Path, chelsea: np.ndarray) -> None:
    small = Settings(max_pixels=100_000)  # chelsea has 135,300 pixels
    data = png_bytes(chelsea)
    path = tmp_path / "cat.png"
    path.write_bytes(data)
    inputs: list[object] = [
        chelsea,
        chelsea[..., 0] > 100,
        Image.fromarray(chelsea),
        data,
        str(path),
        path,
        base64.b64encode(data).decode(),
        "data:image/png;base64," + base64.b64encode(data).decode(),
    ]
    for value in inputs:
        with pytest.raises(ImageTooLarge, match="100,000"):
            load(value, small)
