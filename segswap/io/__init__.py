"""Image input and output: decoding, encoding, safe URL fetching, input loading.

Everything here turns untrusted bytes into uint8 arrays (or back) under the limits of
:class:`segswap.settings.Settings`; errors are :class:`segswap.errors.InvalidParameter`
subclasses naming the offending field.
"""

from __future__ import annotations

from segswap.io.decode import decode_image, decode_with_metadata, pil_to_array, sniff_format
from segswap.io.encode import CONTENT_TYPES, encode_image
from segswap.io.fetch import FetchPolicy, fetch_url, is_public_address
from segswap.io.load import ImageLike, load_image, load_with_metadata, read_image_bytes
from segswap.io.metadata import ImageMetadata, read_metadata

__all__ = [
    "CONTENT_TYPES",
    "FetchPolicy",
    "ImageLike",
    "ImageMetadata",
    "decode_image",
    "decode_with_metadata",
    "encode_image",
    "fetch_url",
    "is_public_address",
    "load_image",
    "load_with_metadata",
    "pil_to_array",
    "read_image_bytes",
    "read_metadata",
    "sniff_format",
]
