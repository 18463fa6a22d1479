"""Carrying the main image's colour profile and EXIF into the output file.

Read from the decoded input (:func:`read_metadata`), spliced into the encoded output
(:func:`embed_metadata`): a PNG gets ``iCCP`` and ``eXIf`` chunks, a JPEG ``APP2``
``ICC_PROFILE`` and ``APP1`` ``Exif`` segments, a WebP its ``ICCP`` and ``EXIF`` chunks.
The pixels are never converted, so the profile still describes them. Rules:

* EXIF Orientation is set to 1 (upright): decoding already turned the pixels.
* Only an RGB profile is kept (the output is always RGB; a greyscale or CMYK input's
  profile would not describe it).
* An EXIF block too large for one JPEG segment (over 65 527 bytes) is left out of JPEG
  output; a malformed one is left out everywhere.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from PIL import Image

EXIF_HEADER = b"Exif\x00\x00"
"""What precedes the TIFF structure of EXIF in a JPEG APP1 segment (and in Pillow's
``image.info["exif"]``)."""

_ORIENTATION = 0x0112
_SHORT = 3
_JPEG_SEGMENT_MAX = 65_533  # payload bytes of one marker segment (length field − 2)
_ICC_MARKER = b"ICC_PROFILE\x00"
_ICC_CHUNK = _JPEG_SEGMENT_MAX - len(_ICC_MARKER) - 2


@dataclass(frozen=True)
class ImageMetadata:
    """What of an input image's metadata goes into the output.

    Attributes:
        icc_profile: an RGB ICC profile, or None.
        exif: the EXIF TIFF structure (starts ``II*\\0`` or ``MM\\0*``, no ``Exif\\0\\0``
            header) with Orientation 1, or None.
    """

    icc_profile: bytes | None = None
    exif: bytes | None = None

    def __bool__(self) -> bool:
        return self.icc_profile is not None or self.exif is not None

    def pil_info(self) -> dict[str, bytes]:
        """As Pillow keeps them in ``image.info`` (``icc_profile``; ``exif`` with its
        ``Exif\\0\\0`` header), e.g. for ``image.save(path, **metadata.pil_info())``."""
        info: dict[str, bytes] = {}
        if self.icc_profile is not None:
            info["icc_profile"] = self.icc_profile
        if self.exif is not None:
            info["exif"] = EXIF_HEADER + self.exif
        return info


NO_METADATA = ImageMetadata()


def read_metadata(image: Image.Image) -> ImageMetadata:
    """The ICC profile and EXIF of an opened (not necessarily decoded) PIL image, under
    the module's rules. Never raises: unusable metadata is left out."""
    icc = image.info.get("icc_profile")
    exif = image.info.get("exif")
    return ImageMetadata(
        icc_profile=icc if isinstance(icc, bytes) and _is_rgb_profile(icc) else None,
        exif=upright_exif(exif) if isinstance(exif, bytes) else None,
    )


def upright_exif(exif: bytes) -> bytes | None:
    """The TIFF structure of ``exif`` (with or without its ``Exif\\0\\0`` header) with its
    Orientation tag set to 1; None when it is not a TIFF structure."""
    tiff = exif[len(EXIF_HEADER) :] if exif.startswith(EXIF_HEADER) else exif
    if tiff[:4] == b"II*\x00":
        order = "<"
    elif tiff[:4] == b"MM\x00*":
        order = ">"
    else:
        return None
    try:
        (ifd,) = struct.unpack_from(order + "I", tiff, 4)
        (count,) = struct.unpack_from(order + "H", tiff, ifd)
        for index in range(count):
            entry = ifd + 2 + 12 * index
            tag, kind, values = struct.unpack_from(order + "HHI", tiff, entry)
            if tag != _ORIENTATION:
                continue
            if kind != _SHORT or values != 1:
                return None
            patched = bytearray(tiff)
            struct.pack_into(order + "H", patched, entry + 8, 1)
            return bytes(patched)
    except struct.error:  # offsets beyond the block: malformed
        return None
    return tiff


def embed_metadata(data: bytes, fmt: str, metadata: ImageMetadata) -> bytes:
    """``data`` (an encoded PNG or JPEG, as OpenCV writes them) with ``metadata`` spliced
    in; unchanged when there is none. WebP is written by Pillow with the metadata
    already (see :mod:`segswap.io.encode`)."""
    if not metadata:
        return data
    if fmt == "png":
        return _embed_png(data, metadata)
    if fmt == "jpeg":
        return _embed_jpeg(data, metadata)
    raise ValueError(f"cannot splice metadata into {fmt!r} bytes")


def _is_rgb_profile(icc: bytes) -> bool:
    return len(icc) >= 128 and icc[16:20] == b"RGB "


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def _embed_png(data: bytes, metadata: ImageMetadata) -> bytes:
    """Insert ``iCCP`` and ``eXIf`` right after IHDR (both must precede IDAT)."""
    (length,) = struct.unpack_from(">I", data, 8)
    if data[12:16] != b"IHDR":
        raise ValueError("not a PNG starting with IHDR")
    after_ihdr = 8 + 12 + length
    chunks = b""
    if metadata.icc_profile is not None:
        payload = b"ICC Profile\x00\x00" + zlib.compress(metadata.icc_profile)
        chunks += _png_chunk(b"iCCP", payload)
    if metadata.exif is not None:
        chunks += _png_chunk(b"eXIf", metadata.exif)
    return data[:after_ihdr] + chunks + data[after_ihdr:]


def _jpeg_segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def _embed_jpeg(data: bytes, metadata: ImageMetadata) -> bytes:
    """Insert ``APP1`` Exif and ``APP2`` ICC_PROFILE segments after SOI and a JFIF
    ``APP0``, if there is one."""
    if data[:2] != b"\xff\xd8":
        raise ValueError("not a JPEG")
    offset = 2
    if data[2:4] == b"\xff\xe0":
        (length,) = struct.unpack_from(">H", data, 4)
        offset = 4 + length
    segments = b""
    exif = metadata.exif
    if exif is not None and len(EXIF_HEADER) + len(exif) <= _JPEG_SEGMENT_MAX:
        segments += _jpeg_segment(0xE1, EXIF_HEADER + exif)
    if metadata.icc_profile is not None:
        icc = metadata.icc_profile
        parts = [icc[start : start + _ICC_CHUNK] for start in range(0, len(icc), _ICC_CHUNK)]
        for number, part in enumerate(parts, start=1):
            header = _ICC_MARKER + bytes([number, len(parts)])
            segments += _jpeg_segment(0xE2, header + part)
    return data[:offset] + segments + data[offset:]
