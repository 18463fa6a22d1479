"""Pure image code: arrays in, arrays out. Engines behind one interface."""

from __future__ import annotations

import numpy as np

from segswap.engine.base import Engine
from segswap.engine.prepare import prepare_inputs
from segswap.engine.registry import ENGINE_NAMES, get_engine, resolve_engine
from segswap.params import EditParams


def run_engine(
    engine: Engine, main: np.ndarray, mask: np.ndarray, obj: np.ndarray, params: EditParams
) -> np.ndarray:
    """Normalise decoded arrays (any of H×W, H×W×3, H×W×4 uint8) and run ``engine``.

    Returns the H×W×3 uint8 RGB result, H×W being the main image's size.
    """
    scene, region, rgba = prepare_inputs(main, mask, obj)
    return engine(scene, region, rgba, params)


__all__ = ["ENGINE_NAMES", "Engine", "get_engine", "resolve_engine", "run_engine"]
