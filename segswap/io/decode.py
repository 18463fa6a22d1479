"""Decoding image files into uint8 arrays, with a pixel cap checked before decoding.

Output layout (the same for every input kind, see :func:`pil_to_array`):

* greyscale and bilevel images -> ``H×W``
* images with alpha (RGBA, LA, palette or greyscale/RGB with a transparent colour) ->
  ``H×W×4`` RGBA
* everything else -> ``H×W×3`` RGB

Every array is C-contiguous, writable and ``uint8``; 16-bit samples keep their high byte.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from segswap.errors import ImageTooLarge, InvalidParameter
from segswap.io.metadata import ImageMetadata, read_metadata

# Formats Pillow may open. Limiting the list keeps exotic decoders (EPS through
# Ghostscript, for one) away from untrusted bytes. Multi-picture camera JPEGs (MPO)
# come through the JPEG opener.
PILLOW_FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF")

FORMAT_NAMES = {
    "PNG": "PNG",
    "JPEG": "JPEG",
    "WEBP": "WebP",
    "GIF": "GIF",
    "BMP": "BMP",
    "TIFF": "TIFF",
}
"""How error messages spell each of :data:`PILLOW_FORMATS`."""

EXPECTED = "expected " + " or ".join(
    [
        ", ".join(FORMAT_NAMES[name] for name in PILLOW_FORMATS[:-1]),
        FORMAT_NAMES[PILLOW_FORMATS[-1]],
    ]
)
"""What an input that does not decode is told: every format :func:`decode_image` opens."""

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_WEBP_EXIF = 0x08  # flags of the VP8X chunk
_WEBP_ANIMATION = 0x02
_EXIF_ORIENTATION = 0x0112
_ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})
_WIDE_GREY_MODES = frozenset({"I;16", "I;16B", "I;16L", "I;16N", "I"})


def sniff_format(data: bytes) -> str | None:
    """The image format ``data`` starts with (``png``, ``jpeg``, ``webp``, ``gif``, ``bmp``,
    ``tiff``), or None when it has none of those signatures."""
    if data.startswith(_PNG_SIGNATURE):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if data.startswith(b"BM"):
        return "bmp"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    return None


def check_pixels(size: tuple[int, int], *, field: str, max_pixels: int) -> None:
    """Raise :class:`ImageTooLarge` when ``width × height`` is above ``max_pixels``."""
    width, height = size
    if width * height > max_pixels:
        raise ImageTooLarge(
            field,
            f"the image is {width}×{height} = {width * height:,} pixels; "
            f"the limit is {max_pixels:,} pixels",
        )


def decode_image(data: bytes, *, field: str, max_pixels: int) -> np.ndarray:
    """:func:`decode_with_metadata` without the metadata."""
    return decode_with_metadata(data, field=field, max_pixels=max_pixels)[0]


def decode_with_metadata(
    data: bytes,
    *,
    field: str,
    max_pixels: int,
    check_size: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, ImageMetadata]:
    """Decode PNG, JPEG, WebP, GIF (first frame), BMP or TIFF bytes into a uint8 array.

    The pixel count is read from the file's header and checked against ``max_pixels``
    before anything is decompressed, so a decompression bomb costs microseconds. EXIF
    orientation is applied (the array is the image as a viewer shows it).

    Args:
        data: the encoded file.
        field: the parameter name used in error messages (``main_image``...).
        max_pixels: the largest accepted ``width × height``.
        check_size: called with the image's upright ``(width, height)`` (as
            :func:`upright_size` reads it from the header), after the pixel cap and
            before anything is decompressed; what it raises goes to the caller.

    Returns:
        ``H×W``, ``H×W×3`` (RGB) or ``H×W×4`` (RGBA) uint8, see the module docstring;
        and the file's ICC profile and EXIF (:func:`segswap.io.metadata.read_metadata`).

    Raises:
        ImageTooLarge: the image has more than ``max_pixels`` pixels.
        InvalidParameter: the bytes are not a decodable image.
    """
    if not data:
        raise InvalidParameter(field, f"could not decode the image: it is empty; {EXPECTED}")
    try:
        with _bomb_guard(field, max_pixels):
            image = Image.open(io.BytesIO(data), formats=PILLOW_FORMATS)
    except InvalidParameter:
        raise
    except UnidentifiedImageError:
        raise _undecodable(field, "not a recognised image format") from None
    except Exception as error:  # Pillow's plugins raise many types
        raise _undecodable(field, _reason(error)) from None
    with image:
        check_pixels(image.size, field=field, max_pixels=max_pixels)
        if check_size is not None:
            check_size(*upright_size(image))
        metadata = read_metadata(image)
        # OpenCV decodes PNG and WebP 5-50 % faster than Pillow (1 MP PNG: 19-21 ms
        # against 23-25 ms; WebP: 6-12 ms against 13-15 ms), with identical pixels for the
        # files it is given here. JPEG stays with Pillow: 0.5-1 ms to gain, against EXIF,
        # CMYK and decoder-version differences.
        plain = _png_is_plain(data) if image.format == "PNG" else _webp_is_plain(data)
        if image.format in ("PNG", "WEBP") and plain:
            fast = _decode_cv2(data)
            if fast is not None:
                return fast, metadata
        return decode_pil(image, field=field, max_pixels=max_pixels), metadata


def decode_pil(image: Image.Image, *, field: str, max_pixels: int) -> np.ndarray:
    """A PIL image (possibly opened lazily, not yet decoded) as an array, the same way
    :func:`decode_image` does it: pixel cap first, then EXIF orientation, then
    :func:`pil_to_array`."""
    check_pixels(image.size, field=field, max_pixels=max_pixels)
    try:
        with _bomb_guard(field, max_pixels):
            image.load()  # decode now, so a damaged file fails here and not half-way
            return pil_to_array(_exif_upright(image))
    except InvalidParameter:
        raise
    except MemoryError:
        raise ImageTooLarge(field, "not enough memory to decode the image") from None
    except Exception as error:  # a lazily opened image decodes (and can fail) only here
        raise _undecodable(field, _reason(error)) from None


def pil_to_array(image: Image.Image) -> np.ndarray:
    """A PIL image as a writable uint8 array laid out as the module docstring says.

    16-bit and 32-bit integer greyscale keep the high byte of a 16-bit sample (values
    are clipped to 0–65535 first); float greyscale is taken as 0–1 when its maximum is
    at most 1, else as 0–255.
    """
    mode = image.mode
    transparent = image.info.get("transparency") is not None
    if mode in _WIDE_GREY_MODES or mode == "F":
        return _wide_grey(image, transparent)
    if mode in _ALPHA_MODES or (transparent and mode in ("P", "L", "1", "RGB")):
        rgba = image if mode == "RGBA" else image.convert("RGBA")
        return np.array(rgba, dtype=np.uint8)
    if mode in ("1", "L"):
        grey = image if mode == "L" else image.convert("L")
        return np.array(grey, dtype=np.uint8)
    rgb = image if mode == "RGB" else image.convert("RGB")
    return np.array(rgb, dtype=np.uint8)


def _wide_grey(image: Image.Image, transparent: bool) -> np.ndarray:
    values = np.asarray(image)
    if image.mode == "F":
        finite = np.nan_to_num(values.astype(np.float64), nan=0.0, posinf=255.0, neginf=0.0)
        scale = 255.0 if finite.size and finite.max() <= 1.0 else 1.0
        grey = np.clip(np.rint(finite * scale), 0, 255).astype(np.uint8)
    else:
        grey = (np.clip(values.astype(np.int64), 0, 65535) >> 8).astype(np.uint8)
    if not transparent:
        return np.ascontiguousarray(grey)
    key = image.info["transparency"]
    alpha = np.where(values == key, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(np.dstack([grey, grey, grey, alpha]))


def upright_size(image: Image.Image) -> tuple[int, int]:
    """``(width, height)`` of ``image`` as a viewer shows it: swapped when its EXIF
    Orientation turns it by a quarter (5–8). Read from the header: nothing is decoded
    (a PNG's eXIf chunk written after its pixels is not seen: Pillow reads it only by
    decoding the image)."""
    width, height = image.size
    if image.format == "PNG" and "exif" not in image.info:
        return width, height
    try:
        orientation = image.getexif().get(_EXIF_ORIENTATION, 1)
    except Exception:  # a broken EXIF block must not reject the image (see _exif_upright)
        return width, height
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def _exif_upright(image: Image.Image) -> Image.Image:
    """``image`` turned as its EXIF Orientation tag says (itself when there is none)."""
    try:
        orientation = image.getexif().get(_EXIF_ORIENTATION, 1)
    except Exception:  # a broken EXIF block must not reject the image
        return image
    if orientation not in (2, 3, 4, 5, 6, 7, 8):
        return image
    return ImageOps.exif_transpose(image)


def _png_is_plain(data: bytes) -> bool:
    """True when OpenCV decodes this PNG exactly as Pillow would.

    That is: no palette, no tRNS (transparent colour), no eXIf (orientation) and no
    acTL (animation) chunk, and a well-formed chunk list up to IEND. Anything else,
    including a damaged file, goes through Pillow, which also words the error.
    """
    offset = len(_PNG_SIGNATURE)
    end = len(data)
    seen_ihdr = False
    while offset + 8 <= end:
        length, kind = struct.unpack_from(">I4s", data, offset)
        if length > end - offset - 12:
            return False
        if kind == b"IHDR":
            if length != 13:
                return False
            color_type = data[offset + 8 + 9]
            if color_type == 3:
                return False
            seen_ihdr = True
        elif kind in (b"tRNS", b"eXIf", b"acTL"):
            return False
        elif kind == b"IEND":
            return seen_ihdr
        offset += length + 12
    return False


def _webp_is_plain(data: bytes) -> bool:
    """True for a still WebP without EXIF: the simple formats (a lone ``VP8 `` or ``VP8L``
    chunk), or the extended one (``VP8X``) with neither its EXIF nor animation flag."""
    if len(data) < 21 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return False
    kind = data[12:16]
    if kind in (b"VP8 ", b"VP8L"):
        return True
    return kind == b"VP8X" and not data[20] & (_WEBP_EXIF | _WEBP_ANIMATION)


def _decode_cv2(data: bytes) -> np.ndarray | None:
    """Decode a plain PNG or WebP with OpenCV; None when it cannot."""
    pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if pixels is None:
        return None
    if pixels.dtype == np.uint16:
        pixels = np.right_shift(pixels, 8).astype(np.uint8)
    elif pixels.dtype != np.uint8:
        return None
    if pixels.ndim == 2:
        return np.ascontiguousarray(pixels)
    if pixels.ndim == 3 and pixels.shape[2] == 3:
        return cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB)
    if pixels.ndim == 3 and pixels.shape[2] == 4:
        return cv2.cvtColor(pixels, cv2.COLOR_BGRA2RGBA)
    return None


@contextmanager
def _bomb_guard(field: str, max_pixels: int) -> Iterator[None]:
    """Turn Pillow's decompression-bomb error (and its warning, where warnings are made
    errors) into :class:`ImageTooLarge`.

    Pillow refuses images above ``2 × PIL.Image.MAX_IMAGE_PIXELS`` (about 179 million
    pixels) on its own, so that is the effective cap when ``max_pixels`` is set higher.
    """
    try:
        yield
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        limit = min(max_pixels, 2 * (Image.MAX_IMAGE_PIXELS or max_pixels))
        raise ImageTooLarge(
            field, f"the image declares too many pixels; the limit is {limit:,} pixels"
        ) from None


def _undecodable(field: str, reason: str) -> InvalidParameter:
    return InvalidParameter(field, f"could not decode the image: {reason}; {EXPECTED}")


def _reason(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text if len(text) <= 120 else text[:117] + "..."
