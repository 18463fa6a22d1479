"""Encoding result arrays into PNG, JPEG or WebP files.

PNG and JPEG go through OpenCV (the fastest measured); WebP goes through Pillow, which
exposes libwebp's speed/size knob (``method``) that OpenCV does not: OpenCV always uses
the slow default, 2–3× (lossy) and 5–10× (lossless) slower than the settings below.
Timings below: 1024×1024 photos (skimage ``astronaut`` upscaled, ``retina`` crop) and the
872×1000 ``hubble_deep_field``, best of 15 runs on a 2-core x86 VM, OpenCV 5.0, Pillow 13.
"""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image

from segswap.errors import InvalidParameter
from segswap.formats import FORMATS
from segswap.io.metadata import NO_METADATA, ImageMetadata, embed_metadata

CONTENT_TYPES = {name: f.mime for name, f in FORMATS.items()}
"""Content type by format name (from :data:`segswap.formats.FORMATS`)."""

# PNG: zlib level 1, Z_RLE strategy, Paeth filter on every row.
#   default strategy, levels 1 / 2 / 3:  44-48 / 49-52 / 65-71 ms, 1403 / 1376 / 1344 kB
#   Z_RLE (zlib ignores the level then):  38-43 ms,                   1220 kB
#   Z_RLE + Paeth only (chosen):          31-32 ms,                   1220 kB
#   (level 6, the usual default: 108-217 ms, 1280 kB; Pillow level 1: 53-67 ms, 1402 kB)
# Sizes are for the astronaut image. Paeth alone gives the same size as libpng's adaptive
# per-row choice on two photos and 3 % more on the third, without the trial runs.
_PNG_PARAMS = [
    cv2.IMWRITE_PNG_COMPRESSION,
    1,
    cv2.IMWRITE_PNG_STRATEGY,
    cv2.IMWRITE_PNG_STRATEGY_RLE,
    cv2.IMWRITE_PNG_FILTER,
    cv2.IMWRITE_PNG_FILTER_PAETH,
]

# Lossy WebP: Pillow method 2. Astronaut at quality 50 / 95:
#   method 0: 13 / 27 ms, 58 / 185 kB     method 2 (chosen): 22 / 39 ms, 42 / 195 kB
#   method 4 (= OpenCV): 55-58 / 81-83 ms, 39 / 195 kB, PSNR at most 0.35 dB higher
_WEBP_LOSSY_METHOD = 2
# Lossless WebP: Pillow method 0, quality 0 (libwebp's fastest lossless effort):
# 23-49 ms, 1104 kB, versus OpenCV's lossless 218-376 ms, 922 kB, and Pillow method 1
# 115-147 ms, 939 kB. Still smaller than the PNG above.
_WEBP_LOSSLESS = {"lossless": True, "quality": 0, "method": 0}


def encode_image(
    rgb: np.ndarray, fmt: str, quality: int, metadata: ImageMetadata = NO_METADATA
) -> bytes:
    """Encode an ``H×W×3`` uint8 RGB array as ``fmt`` (``png``, ``jpeg`` or ``webp``),
    with ``metadata`` (an ICC profile, EXIF; :mod:`segswap.io.metadata`) in the file.

    Args:
        rgb: the image, ``H×W×3`` uint8, RGB order.
        fmt: a name in :data:`segswap.formats.FORMATS` (already validated: the API
            checks ``image_format`` once, when it parses the request).
        quality: 1–100 (the API allows 10–100).

            * ``jpeg``: libjpeg quality (4:2:0 chroma); higher is larger and sharper
              (OpenCV: 2.1–2.4 ms for 1 MP, Pillow 2.4–2.8 ms, same bytes).
            * ``webp``: 1–99 is lossy WebP at that quality; **100 is lossless WebP**, so
              every pixel decodes back exactly (what SPEC §3 relies on for "pixels outside
              the mask are byte-identical").
            * ``png``: no effect; PNG is always lossless and always encoded with the
              fast settings above.

    Returns:
        The encoded file.

    Raises:
        InvalidParameter: (field ``image_format``) the image is wider or higher than the
            format can store (:attr:`segswap.formats.ImageFormat.max_side`).
        ValueError: ``rgb``, ``fmt`` or ``quality`` is not as described (a programming
            error: the API validates parameters before they get here).
    """
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an H×W×3 uint8 RGB array, got {rgb.dtype} {rgb.shape}")
    image_format = FORMATS.get(fmt)
    if image_format is None:  # the registry lookup: only a library caller can miss
        raise ValueError(f"image format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    max_side = image_format.max_side
    if not 1 <= quality <= 100:
        raise ValueError(f"quality must be in 1-100, got {quality}")
    height, width = rgb.shape[:2]
    if max(height, width) > max_side:
        raise InvalidParameter(
            "image_format",
            f"{fmt} images are at most {max_side} pixels wide and high; this one is "
            f"{width}×{height}",
        )
    if fmt == "webp":
        out = io.BytesIO()
        image = Image.fromarray(np.ascontiguousarray(rgb), "RGB")
        extra = metadata.pil_info()
        if quality == 100:
            image.save(out, "WEBP", **_WEBP_LOSSLESS, **extra)
        else:
            image.save(out, "WEBP", quality=quality, method=_WEBP_LOSSY_METHOD, **extra)
        return out.getvalue()
    bgr = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR)
    if fmt == "png":
        ext, params = ".png", _PNG_PARAMS
    else:
        ext, params = ".jpg", [cv2.IMWRITE_JPEG_QUALITY, quality]
    ok, buffer = cv2.imencode(ext, bgr, params)
    if not ok:
        raise ValueError(f"OpenCV could not encode a {width}×{height} {fmt}")
    return embed_metadata(buffer.tobytes(), fmt, metadata)
