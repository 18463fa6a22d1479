"""The fills behind removal and under placed objects: one interface, a registry.

A :class:`Fill` takes a scene, a hole and a seed and returns the scene with the hole
rebuilt. :data:`FILLS` maps each name ``SEGSWAP_FILL`` / ``--fill`` takes to a factory
of settings; :func:`build_fill` makes the one the settings name. The default,
``exemplar``, copies patches of the scene (:mod:`.completion` for the algorithm,
:mod:`.exclusion` for what it must not copy, :mod:`.exemplar` for its effort).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

import numpy as np

from segswap.engine.fill.completion import FillEffort, fill_hole
from segswap.engine.fill.exemplar import ExemplarFill
from segswap.errors import InvalidParameter, shown

if TYPE_CHECKING:
    from segswap.settings import Settings


class Fill(Protocol):
    """A hole filler: arrays in, array out, no I/O once built.

    Args (of ``__call__``):
        image: H×W×3 uint8 RGB.
        hole: H×W bool, True where the image must be rebuilt; not empty, not the whole
            image.
        seed: a repeatable fill: the same seed gives the same bytes.
        steps: effort, 10–100 (the API's ``steps``); a fill may ignore it.
        shown: True when the fill is what the user sees (removal); False under a
            placed object, where a fill may spend less.
        hidden: H×W bool, optional: pixels of the hole a placed object covers
            completely (a fill may ignore it).

    Returns:
        H×W×3 uint8 RGB, equal to ``image`` outside ``hole``.
    """

    name: str

    def __call__(
        self,
        image: np.ndarray,
        hole: np.ndarray,
        seed: int,
        *,
        steps: int = 30,
        shown: bool = True,
        hidden: np.ndarray | None = None,
    ) -> np.ndarray: ...


FillFactory = Callable[["Settings"], Fill]


def _exemplar(settings: Settings) -> Fill:
    return ExemplarFill()


def _learned(name: str) -> FillFactory:
    def factory(settings: Settings) -> Fill:
        from segswap.engine.fill.learned import LearnedFill
        from segswap.engine.fill.models import locate
        from segswap.engine.fill.networks import load_network

        model = locate(name, settings.fill_model)
        threads = settings.fill_threads or max(1, (os.cpu_count() or 1) // max(1, settings.workers))
        network = load_network(
            name,
            model,
            device=settings.device,
            threads=threads,
            max_side=settings.fill_max_side,
        )
        return LearnedFill(network)

    return factory


FILLS: dict[str, FillFactory] = {
    "exemplar": _exemplar,
    "lama": _learned("lama"),
    "migan": _learned("migan"),
}
"""The fills by name; each factory takes the settings (model file, device, threads).
``lama`` and ``migan`` load a local model file once per process
(:mod:`segswap.engine.fill.networks`)."""


def build_fill(settings: Settings) -> Fill:
    """The fill ``settings.fill`` names, ready to run (a model is loaded here, once).

    Raises:
        InvalidParameter: (field ``fill``) an unknown name, or a fill that cannot be set
            up; the message says why and what to do.
    """
    factory = FILLS.get(settings.fill)
    if factory is None:
        raise InvalidParameter(
            "fill", f"expected one of {', '.join(FILLS)}, got {shown(settings.fill)}"
        )
    return factory(settings)


__all__ = ["FILLS", "ExemplarFill", "Fill", "FillEffort", "build_fill", "fill_hole"]
