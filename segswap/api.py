"""The library API: one edit in process.

>>> import segswap
>>> result = segswap.swap("room.png", "mask.png", "table.png", growmask=8)  # doctest: +SKIP
>>> result.size  # doctest: +SKIP
(1024, 768)
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from segswap.engine import Engine, get_engine, run_edit
from segswap.engine.mask_doctor import MaskWarning, diagnose
from segswap.engine.modes import Edit
from segswap.engine.prepare import as_rgb
from segswap.engine.proof import NOTHING_CHANGED, ChangedBox
from segswap.errors import ImageTooLarge, InvalidParameter
from segswap.formats import FORMATS
from segswap.io.encode import encode_image
from segswap.io.load import ImageLike, load_image, load_with_metadata
from segswap.params import SwapRequest, parse_params
from segswap.settings import Settings

NO_OBJECT = np.zeros((1, 1, 4), np.uint8)
"""What a removal runs with when no object is given: one transparent pixel, which the
``auto`` rule also reads as a removal."""


def swap(
    main: ImageLike,
    mask: ImageLike,
    object: ImageLike | None = None,  # noqa: A002 - the name SPEC §5 fixes
    *,
    engine: Engine | None = None,
    settings: Settings | None = None,
    fill: str | None = None,
    fill_model: str | Path | None = None,
    **params: Any,
) -> Image.Image:
    """Run one edit and return the result as an RGB PIL image of the scene's size.

    Args:
        main: the scene. A path, URL, data URI, base64 string, bytes of an image file,
            a PIL image or a uint8 array (H×W, H×W×3 RGB or H×W×4 RGBA).
        mask: white (> 127) where the edit goes; any size (resized to the scene, nearest).
        object: the object or pattern; its alpha channel, if any, gives its shape. Leave
            it out (None) for a removal: then ``mode`` must be ``"remove"``.
        engine: an engine to reuse (default: the one ``settings.engine`` names).
        settings: limits for decoding and fetching (default: from the environment).
        fill: the fill behind removal and under the object: ``exemplar``, ``lama`` or
            ``migan`` (default: ``settings.fill``); ignored when ``engine`` is given.
        fill_model: the lama/migan model file (default: ``settings.fill_model``, else
            IOPaint's file in ``$TORCH_HOME/hub/checkpoints``).
        **params: the API parameters (``steps``, ``seed``, ``growmask``...); the output
            encoding ones (``image_format``, ``image_quality``, ``base64``) are ignored.

    The image's ``info`` carries the main image's metadata (``icc_profile``, ``exif``
    with Orientation 1; absent when it had none, see :mod:`segswap.io.metadata`) and
    ``info["segswap"]``: ``{"mode": <the edit that ran>, "changed_box": [x0, y0, x1, y1],
    "warnings": [{"code", "message"}, ...]}``: the end-exclusive box outside which every
    pixel equals the scene's, and the mask doctor's warnings (as the API reports them;
    the edit runs anyway).

    Raises:
        segswap.errors.InvalidParameter: a parameter or an input is unusable, or the fill
            cannot start (field ``fill`` / ``fill_model``); the message and ``.field``
            name it.
    """
    settings = settings or Settings.from_env()
    chosen = {"fill": fill, "fill_model": fill_model}
    if any(value is not None for value in chosen.values()):
        updates = {name: value for name, value in chosen.items() if value is not None}
        settings = Settings.model_validate({**settings.model_dump(), **updates})
    parsed = parse_params({name: _python_scalar(value) for name, value in params.items()})
    if object is None and parsed.mode != "remove":
        raise InvalidParameter(
            "object_image",
            f"is required for mode {parsed.mode!r}; leave it out only with mode 'remove'",
        )
    engine = engine or get_engine(settings.engine, settings)
    main_array, metadata = load_with_metadata(main, field="main_image", settings=settings)
    mask_array = load_image(mask, field="mask_image", settings=settings)
    object_array = (
        NO_OBJECT if object is None else load_image(object, field="object_image", settings=settings)
    )
    warnings = diagnose(mask_array, as_rgb(main_array), parsed.growmask)
    result = run_edit(engine, main_array, mask_array, object_array, parsed.edit())
    image = Image.fromarray(result.image, "RGB")
    image.info.update(metadata.pil_info())
    image.info["segswap"] = {
        "mode": result.mode,
        "changed_box": list(result.changed_box),
        "warnings": [warning.as_dict() for warning in warnings],
    }
    return image


def _python_scalar(value: Any) -> Any:
    """A NumPy integer or float scalar as the Python number it holds (a script's
    ``seed=np.int64(7)`` is an integer); everything else, NumPy bools included, as is."""
    if isinstance(value, np.integer | np.floating):
        return value.item()
    return value


@dataclass(frozen=True)
class RenderedImage:
    """An encoded result, how long each part took (seconds), which edit ran and the
    end-exclusive ``(x0, y0, x1, y1)`` box outside which every pixel is the scene's."""

    data: bytes
    content_type: str
    load_time: float
    inference_time: float
    encode_time: float
    warnings: tuple[MaskWarning, ...] = ()
    """The mask doctor's warnings about the request's mask (checked while loading)."""
    mode: Edit = "object"
    changed_box: ChangedBox = NOTHING_CHANGED


def refuse_unencodable(width: int, height: int, image_format: str) -> None:
    """Refuse a scene of ``width`` × ``height`` pixels that ``image_format`` cannot hold
    (the result has the scene's size), before any work is spent on it.

    Raises:
        ImageTooLarge: naming ``main_image``, the format and its limit (HTTP 413).
    """
    limit = FORMATS[image_format].max_side
    if max(width, height) > limit:
        raise ImageTooLarge(
            "main_image",
            f"the scene is {width}×{height}; {image_format} output is at most {limit}"
            " pixels wide and high (the result has the scene's size): send a smaller"
            " scene, or ask for another image_format",
        )


def render_request(request: SwapRequest, *, engine: Engine, settings: Settings) -> RenderedImage:
    """Fetch/decode a request's images, run the edit and encode it as the request asks.

    This is what the HTTP API's workers call for every job.

    Raises:
        ImageTooLarge: (field ``main_image``) the scene is wider or higher than the
            requested output format can be written (:func:`refuse_unencodable`), found
            from the scene's header, before it is decoded.
    """
    started = time.perf_counter()
    output = request.output()
    # A scene the output format cannot hold is refused from its header, undecoded.
    main_array, metadata = load_with_metadata(
        request.main_image,
        field="main_image",
        settings=settings,
        allow_paths=False,
        check_size=lambda width, height: refuse_unencodable(width, height, output.image_format),
    )
    mask_array, object_array = (
        load_image(getattr(request, field), field=field, settings=settings, allow_paths=False)
        for field in ("mask_image", "object_image")
    )
    warnings = tuple(diagnose(mask_array, as_rgb(main_array), request.growmask))
    loaded = time.perf_counter()
    result = run_edit(engine, main_array, mask_array, object_array, request.edit())
    inferred = time.perf_counter()
    data = encode_image(result.image, output.image_format, output.image_quality, metadata)
    encoded = time.perf_counter()
    return RenderedImage(
        data=data,
        content_type=FORMATS[output.image_format].mime,
        load_time=loaded - started,
        inference_time=inferred - loaded,
        encode_time=encoded - inferred,
        warnings=warnings,
        mode=result.mode,
        changed_box=result.changed_box,
    )
