"""The output image formats: one registry every part of segswap reads.

The request parameter ``image_format`` (:mod:`segswap.params`), the encoder
(:mod:`segswap.io.encode`), result media names and content types
(:mod:`segswap.service.jobs.media`), the CLI's output suffixes (:mod:`segswap.cli`) and
the web page's format menu all come from :data:`FORMATS`; ``tests/test_formats.py``
checks that they agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class ImageFormat:
    """One output format.

    Attributes:
        name: the API's ``image_format`` value and the result file's suffix.
        mime: the ``Content-Type`` of its files.
        suffixes: file-name suffixes that mean it (lower case, with the dot; the first is
            the usual one).
        max_side: the widest or highest image (pixels) its encoder writes: the format's
            own limit (WebP 16,383), libjpeg's (65,500) or libpng's default user limit
            (1,000,000), which OpenCV's PNG encoder keeps.
    """

    name: str
    mime: str
    suffixes: tuple[str, ...]
    max_side: int


FORMATS: dict[str, ImageFormat] = {
    f.name: f
    for f in (
        ImageFormat("png", "image/png", (".png",), 1_000_000),
        ImageFormat("jpeg", "image/jpeg", (".jpg", ".jpeg"), 65_500),
        ImageFormat("webp", "image/webp", (".webp",), 16_383),
    )
}
"""Every output format by its API name (``png`` first: the default)."""

FormatName = Literal["png", "jpeg", "webp"]
"""The type of an ``image_format`` value (the same names as :data:`FORMATS`)."""

DEFAULT_FORMAT: FormatName = "png"


def format_for_suffix(suffix: str) -> ImageFormat | None:
    """The format a file-name suffix (``.JPG``...) means, or None."""
    suffix = suffix.lower()
    for image_format in FORMATS.values():
        if suffix in image_format.suffixes:
            return image_format
    return None


def mime_of_name(name: str) -> str:
    """The content type of a file named ``<anything>.<format name>``."""
    image_format = FORMATS.get(name.rsplit(".", 1)[-1])
    return image_format.mime if image_format else "application/octet-stream"
