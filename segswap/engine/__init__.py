"""Pure image code: arrays in, arrays out. Engines behind one interface."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from segswap.engine.base import Engine
from segswap.engine.modes import Edit, choose_edit
from segswap.engine.prepare import prepare_inputs
from segswap.engine.proof import ChangedBox, changed_box, reach_box
from segswap.engine.registry import ENGINE_NAMES, get_engine, resolve_engine
from segswap.params import EditParams


@dataclass(frozen=True)
class EditResult:
    """One edit's output and its proof.

    Attributes:
        image: H×W×3 uint8 RGB, the main image's size.
        mode: the edit that ran (``object``, ``pattern`` or ``remove``; what ``auto`` chose).
        changed_box: ``(x0, y0, x1, y1)`` end-exclusive, the smallest box outside which
            every pixel of ``image`` equals the input scene's (see :mod:`segswap.engine.proof`).
    """

    image: np.ndarray
    mode: Edit
    changed_box: ChangedBox


def run_edit(
    engine: Engine, main: np.ndarray, mask: np.ndarray, obj: np.ndarray, params: EditParams
) -> EditResult:
    """Normalise decoded arrays (any of H×W, H×W×3, H×W×4 uint8), run ``engine`` and
    measure where its output differs from the scene."""
    scene, region, rgba = prepare_inputs(main, mask, obj)
    mode = choose_edit(params, rgba)
    image = engine(scene, region, rgba, params)
    within = reach_box(region, params.growmask) if _edits_within_reach(engine) else None
    return EditResult(image, mode, changed_box(scene, image, within))


def run_engine(
    engine: Engine, main: np.ndarray, mask: np.ndarray, obj: np.ndarray, params: EditParams
) -> np.ndarray:
    """Normalise decoded arrays (any of H×W, H×W×3, H×W×4 uint8) and run ``engine``.

    Returns the H×W×3 uint8 RGB result, H×W being the main image's size.
    """
    scene, region, rgba = prepare_inputs(main, mask, obj)
    return engine(scene, region, rgba, params)


def _edits_within_reach(engine: Engine) -> bool:
    return getattr(engine, "edits_within_reach", False) is True


__all__ = [
    "ENGINE_NAMES",
    "EditResult",
    "Engine",
    "get_engine",
    "resolve_engine",
    "run_edit",
    "run_engine",
]
