"""Which edit runs: the ``mode`` extension, or the ``auto`` rule."""

from __future__ import annotations

from typing import Literal

import numpy as np

from segswap.engine.matte import has_transparency, is_texture
from segswap.params import EditParams

Edit = Literal["object", "pattern", "remove"]


def choose_edit(params: EditParams, rgba: np.ndarray) -> Edit:
    """The edit to run for ``params.mode`` and the object image (h×w×4 uint8).

    ``auto`` decides, in this order:

    1. a fully transparent object image → ``remove``;
    2. ``horizontal_repeat`` or ``vertical_repeat`` above 1 → ``pattern``;
    3. an opaque object image whose border is not a plain colour → ``pattern``: an
       edge-to-edge texture has fewer than 60 % of its border pixels within ΔE 12 of
       their median, or crosses the border in 8 or more separate places;
    4. otherwise → ``object`` (its alpha, or its plain background keyed out, is its shape).
    """
    if params.mode != "auto":
        return params.mode
    if int(rgba[:, :, 3].max()) == 0:
        return "remove"
    if params.horizontal_repeat > 1 or params.vertical_repeat > 1:
        return "pattern"
    rgb = np.ascontiguousarray(rgba[:, :, :3])
    if not has_transparency(rgba) and is_texture(rgb):
        return "pattern"
    return "object"
