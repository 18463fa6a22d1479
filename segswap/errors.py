"""Exceptions raised by segswap. Every message names what the caller can fix."""

from __future__ import annotations

import json


class SegswapError(Exception):
    """Base class of every error segswap raises on purpose."""


class InvalidParameter(SegswapError, ValueError):
    """A parameter or input is missing, of the wrong type, or out of range.

    ``field`` is the parameter's name as the API spells it (``steps``, ``mask_image``...).
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class ImageTooLarge(InvalidParameter):
    """An input image (or its encoded bytes) is beyond the configured cap (HTTP 413)."""


class InputFetchError(InvalidParameter):
    """A URL input could not be fetched, or was refused by the input-safety rules."""


def shown(value: object, limit: int = 60) -> str:
    """``value`` as it appears in an error message: as JSON (``[true, 0, 5, 5]``,
    ``"abc"``, ``null``, ``NaN``), the way the caller wrote it in a request body, cut to about
    ``limit`` characters. A value JSON has no form for (bytes, a NumPy array) is shown
    as Python writes it."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    if len(text) > limit:
        closing = text[-1] if text[-1] in '"]}' else ""
        text = text[: limit - 3 - len(closing)] + "..." + closing
    return text
