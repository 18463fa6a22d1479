"""Pure image code: arrays in, arrays out. Engines behind one interface."""

from __future__ import annotations

import numpy as np

from segswap.engine.base import Engine
from segswap.engine.prepare import prepare_inputs
from segswap.errors import InvalidParameter
from segswap.params import SwapParams
from segswap.settings import Settings

ENGINE_NAMES = ("composite", "diffusion")


def get_engine(name: str = "composite", settings: Settings | None = None) -> Engine:
    """The engine called ``name`` (``composite`` or ``diffusion``), built once per call.

    ``settings`` (default: from the ``SEGSWAP_*`` environment) configure the diffusion
    engine (``model_dir``, ``ip_adapter_dir``, ``device``, ``dtype``, ``compile``); its
    pipeline is loaded once per process and shared by the engines built here.
    """
    if name == "composite":
        from segswap.engine.composite import CompositeEngine

        return CompositeEngine()
    if name == "diffusion":
        from segswap.engine.diffusion import build_engine

        return build_engine(settings)
    raise InvalidParameter("engine", f"expected one of {', '.join(ENGINE_NAMES)}, got {name!r}")


def run_engine(
    engine: Engine, main: np.ndarray, mask: np.ndarray, obj: np.ndarray, params: SwapParams
) -> np.ndarray:
    """Normalise decoded arrays (any of H×W, H×W×3, H×W×4 uint8) and run ``engine``.

    Returns the H×W×3 uint8 RGB result, H×W being the main image's size.
    """
    scene, region, rgba = prepare_inputs(main, mask, obj)
    return engine(scene, region, rgba, params)


__all__ = ["ENGINE_NAMES", "Engine", "get_engine", "run_engine"]
