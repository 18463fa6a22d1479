"""Turning any accepted image input into a uint8 array.

Accepted inputs (:data:`ImageLike`):

* ``str``: an ``http(s)://`` URL, a ``data:image/...;base64,`` URI, the path of an
  existing file (library use only, see ``allow_paths``), or bare base64 of an image file;
* ``os.PathLike``: a file path;
* ``bytes``: the contents of an image file;
* ``PIL.Image.Image``;
* ``numpy.ndarray``: uint8 ``H×W``, ``H×W×1``, ``H×W×3`` (RGB) or ``H×W×4`` (RGBA), or
  a bool ``H×W`` / ``H×W×1`` mask (True -> 255).

The result is laid out as :func:`segswap.io.decode.decode_image` documents, and
``settings.max_pixels`` applies to every kind of input.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Callable

import numpy as np
from PIL import Image

from segswap.errors import ImageTooLarge, InvalidParameter
from segswap.io.decode import (
    check_pixels,
    decode_pil,
    decode_with_metadata,
    sniff_format,
    upright_size,
)
from segswap.io.fetch import FetchPolicy, fetch_url
from segswap.io.metadata import NO_METADATA, ImageMetadata, read_metadata
from segswap.settings import Settings

ImageLike = str | os.PathLike[str] | bytes | Image.Image | np.ndarray

EXPECTED_INPUT = (
    "expected a URL, a data:image/...;base64 URI, base64 of an image file, or an existing file path"
)
EXPECTED_INPUT_NO_PATHS = (
    "expected an http(s) URL, a data:image/...;base64 URI or base64 of an image file"
)
_ARRAY_SHAPES = "uint8 H×W, H×W×1, H×W×3 (RGB) or H×W×4 (RGBA), or a bool H×W mask"
_URL_LIKE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_DATA_URI = re.compile(r"^data:([^,;]*)((?:;[^,;]*)*),", re.IGNORECASE)
_MAX_PATH_CHARS = 4096
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff")


def load_image(
    value: ImageLike, *, field: str, settings: Settings, allow_paths: bool = True
) -> np.ndarray:
    """:func:`load_with_metadata` without the metadata."""
    return load_with_metadata(value, field=field, settings=settings, allow_paths=allow_paths)[0]


def load_with_metadata(
    value: ImageLike,
    *,
    field: str,
    settings: Settings,
    allow_paths: bool = True,
    check_size: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, ImageMetadata]:
    """Load an image input into a writable uint8 array (``H×W``, ``H×W×3`` or ``H×W×4``),
    with its ICC profile and EXIF (:mod:`segswap.io.metadata`; none for an array).

    Args:
        value: see the module docstring.
        field: the parameter name used in error messages (``main_image``...).
        settings: ``max_pixels``, and the fetch limits for URLs and files.
        allow_paths: whether a ``str`` may name a local file. True for the library and
            the CLI; pass False for anything a remote caller sends.
        check_size: called with the image's upright ``(width, height)`` before it is
            decoded (an encoded file: from its header; see
            :func:`segswap.io.decode.decode_with_metadata`), so what it refuses costs
            no decoding; what it raises goes to the caller.

    Raises:
        ImageTooLarge: more than ``settings.max_pixels`` pixels, or more encoded bytes
            than ``settings.fetch_max_bytes``.
        InputFetchError: a URL that was refused or could not be fetched.
        InvalidParameter: anything else unusable; the message names ``field``.
    """
    if isinstance(value, np.ndarray):
        array = _from_array(value, field, settings.max_pixels)
        if check_size is not None:
            check_size(array.shape[1], array.shape[0])
        return array, NO_METADATA
    if isinstance(value, Image.Image):
        if check_size is not None:
            check_pixels(value.size, field=field, max_pixels=settings.max_pixels)
            check_size(*upright_size(value))
        array = decode_pil(value, field=field, max_pixels=settings.max_pixels)
        return array, read_metadata(value)
    if isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
    elif isinstance(value, str):
        data = read_image_bytes(value, field=field, settings=settings, allow_paths=allow_paths)
    elif isinstance(value, os.PathLike):
        data = _read_file(os.fspath(value), field, settings.fetch_max_bytes)
    else:
        raise InvalidParameter(
            field,
            f"{EXPECTED_INPUT}, bytes, a PIL image or a NumPy array; got {type(value).__name__}",
        )
    return decode_with_metadata(
        data, field=field, max_pixels=settings.max_pixels, check_size=check_size
    )


def read_image_bytes(
    value: str, *, field: str, settings: Settings, allow_paths: bool = False
) -> bytes:
    """The encoded image file a string input stands for (not yet decoded).

    Tried in order: ``http(s)://`` URL (fetched under the settings' policy; any other
    ``scheme://`` is refused), ``data:`` URI, existing file path (only when
    ``allow_paths``; off by default because this is also what the HTTP API calls), and
    bare base64 (whitespace ignored, padding optional, URL-safe alphabet accepted).

    Raises:
        ImageTooLarge: more than ``settings.fetch_max_bytes`` bytes.
        InputFetchError: a URL that was refused or could not be fetched.
        InvalidParameter: the string is none of the above.
    """
    text = value.strip()
    expected = EXPECTED_INPUT if allow_paths else EXPECTED_INPUT_NO_PATHS
    if not text:
        raise InvalidParameter(field, f"is empty; {expected}")
    if _URL_LIKE.match(text):
        return fetch_url(text, field=field, policy=FetchPolicy.from_settings(settings))
    if text[:5].lower() == "data:":
        return _from_data_uri(text, field, settings.fetch_max_bytes)
    if allow_paths and _is_file(text):
        return _read_file(text, field, settings.fetch_max_bytes)
    data = _b64decode(text, field, settings.fetch_max_bytes)
    if data is None or sniff_format(data) is None:
        if allow_paths and os.path.isdir(text):
            raise InvalidParameter(field, f"is a directory, not an image file: {text!r}")
        looks_like_path = os.sep in text or text.lower().endswith(_IMAGE_SUFFIXES)
        if allow_paths and (looks_like_path or data is None):
            raise InvalidParameter(field, f"no such file: {text!r}; {expected}")
        raise InvalidParameter(field, expected)
    return data


def _from_data_uri(text: str, field: str, max_bytes: int) -> bytes:
    match = _DATA_URI.match(text)
    usage = "expected data:image/<type>;base64,<data>"
    if match is None:
        raise InvalidParameter(field, f"malformed data URI; {usage}")
    media_type = match.group(1).strip().lower()
    flags = [flag.strip().lower() for flag in match.group(2).split(";") if flag.strip()]
    if not media_type.startswith("image/"):
        raise InvalidParameter(
            field, f"the data URI's type is {media_type or 'missing'!r}, not image/...; {usage}"
        )
    if "base64" not in flags:
        raise InvalidParameter(field, f"the data URI is not base64-encoded; {usage}")
    data = _b64decode(text[match.end() :], field, max_bytes)
    if data is None:
        raise InvalidParameter(field, "the data URI's base64 payload is not valid base64")
    return data


def _b64decode(text: str, field: str, max_bytes: int) -> bytes | None:
    """Decode base64, tolerating whitespace, missing padding and the URL-safe alphabet.
    None when it is not base64; :class:`ImageTooLarge` when it would exceed ``max_bytes``."""
    compact = "".join(text.split())
    if len(compact) // 4 * 3 > max_bytes + 3:
        raise ImageTooLarge(
            field, f"the base64 image is larger than the limit of {max_bytes:,} bytes"
        )
    if "-" in compact or "_" in compact:
        compact = compact.replace("-", "+").replace("_", "/")
    compact += "=" * (-len(compact) % 4)
    try:
        data = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(data) > max_bytes:
        raise ImageTooLarge(
            field, f"the base64 image is larger than the limit of {max_bytes:,} bytes"
        )
    return data or None


def _is_file(text: str) -> bool:
    if len(text) > _MAX_PATH_CHARS or "\n" in text:
        return False
    return os.path.isfile(text)


def _read_file(path: str, field: str, max_bytes: int) -> bytes:
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > max_bytes:
                raise ImageTooLarge(
                    field, f"the file is {size:,} bytes; the limit is {max_bytes:,} bytes"
                )
            data = handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise InvalidParameter(field, f"no such file: {path!r}") from None
    except IsADirectoryError:
        raise InvalidParameter(field, f"is a directory, not an image file: {path!r}") from None
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise InvalidParameter(field, f"could not read {path!r}: {reason}") from None
    if len(data) > max_bytes:
        raise ImageTooLarge(field, f"the file is larger than the limit of {max_bytes:,} bytes")
    return data


def _from_array(array: np.ndarray, field: str, max_pixels: int) -> np.ndarray:
    """A copy of an accepted array (the engines may then write to it freely)."""
    shape = array.shape
    is_mask = array.dtype == np.bool_ and (array.ndim == 2 or shape[2:] == (1,))
    if not is_mask and (
        array.dtype != np.uint8
        or array.ndim not in (2, 3)
        or shape[2:] not in ((), (1,), (3,), (4,))
    ):
        raise InvalidParameter(
            field, f"expected a NumPy array of {_ARRAY_SHAPES}; got {array.dtype} {shape}"
        )
    if shape[0] == 0 or shape[1] == 0:
        raise InvalidParameter(field, f"the array is empty (shape {shape})")
    check_pixels((shape[1], shape[0]), field=field, max_pixels=max_pixels)
    if shape[2:] == (1,):
        array = array.reshape(shape[:2])
    if is_mask:
        return np.where(array, np.uint8(255), np.uint8(0))
    return np.array(array, dtype=np.uint8, order="C", copy=True)
