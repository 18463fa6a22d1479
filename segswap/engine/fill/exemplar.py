"""The exemplar fill as a :class:`segswap.engine.fill.Fill`: how hard it searches for
each use (removal, or the fill under a placed object) and the call into
:func:`segswap.engine.fill.completion.fill_hole`."""

from __future__ import annotations

import numpy as np

from segswap.engine.fill.completion import FillEffort, fill_hole

REDUCED_FILL_PIXELS = 40_000
"""Around a placed object, a fill larger than this is made at half resolution (or less)."""

OBJECT_FILL_FULL_PIXELS = 80_000
"""Around a placed object, a fill of at most this many pixels is made at the removal's
full quality; a larger one (about 280×280 px and up) with the reduced-resolution search
of :func:`fill_effort`, which bounds its cost (a 500×400 mask at full quality would take
several times the whole request's I/O)."""


def fill_effort(steps: int, full_resolution: bool) -> FillEffort:
    """Search effort of the fill for ``steps`` (10–100): ``steps // 3`` random
    candidates per PatchMatch pass (10 at the default 30); a full-resolution EM round and
    a sharper last vote only when the fill is what the user sees (remove mode); under an
    object a search down to quarter resolution, carried up and voted, is enough for the
    little of it that shows, with a pyramid as deep as the whole hole needs (not only
    the part the object leaves visible: a wide ring would make the coarsest search
    large)."""
    return FillEffort(
        candidates=max(2, steps // 3),
        finest_iterations=int(full_resolution),
        search_depth=0 if full_resolution else 2,
        max_pixels=None if full_resolution else REDUCED_FILL_PIXELS,
    )


def object_fill_effort(steps: int, hole_pixels: int) -> FillEffort:
    """The fill's effort under an object for ``steps`` and a hole of ``hole_pixels``."""
    return fill_effort(steps, hole_pixels <= OBJECT_FILL_FULL_PIXELS)


class ExemplarFill:
    """The default fill: patches of the scene around the hole, no model weights
    (:mod:`segswap.engine.fill.completion`). ``steps`` sets its search effort; ``seed``
    seeds its random search."""

    name = "exemplar"

    def __call__(
        self,
        image: np.ndarray,
        hole: np.ndarray,
        seed: int,
        *,
        steps: int = 30,
        shown: bool = True,
        hidden: np.ndarray | None = None,
    ) -> np.ndarray:
        """``image`` (H×W×3 uint8) with ``hole`` (H×W bool) rebuilt from the pixels
        outside it: at full effort when ``shown``, else with :func:`object_fill_effort`;
        ``hidden`` pixels only get a smooth estimate (see
        :func:`segswap.engine.fill.completion.fill_hole`)."""
        rng = np.random.default_rng(seed)
        effort = fill_effort(steps, True) if shown else object_fill_effort(steps, int(hole.sum()))
        return fill_hole(image, hole, rng, effort, hidden)
