"""Exceptions raised by segswap. Every message names what the caller can fix."""

from __future__ import annotations


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
