"""The one interface every engine implements."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from segswap.params import EditParams


class Engine(Protocol):
    """An edit engine: arrays in, array out, no I/O.

    Args (of ``__call__``):
        scene: H×W×3 uint8 RGB, the main image.
        mask: H×W bool, True where the edit goes (already the scene's size, not grown).
        obj: h×w×4 uint8 RGBA, the object or pattern image (alpha 255 where opaque).
        params: the validated parameters.

    Returns:
        H×W×3 uint8 RGB, the edited scene.
    """

    name: str

    def __call__(
        self, scene: np.ndarray, mask: np.ndarray, obj: np.ndarray, params: EditParams
    ) -> np.ndarray: ...
