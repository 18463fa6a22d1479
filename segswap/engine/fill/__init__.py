"""The exemplar fill behind removal and the fill under placed objects.

See :mod:`segswap.engine.fill.completion` for the algorithm and
:mod:`segswap.engine.fill.sources` for the sampling area.
"""

from segswap.engine.fill.completion import FillEffort, fill_hole

__all__ = ["FillEffort", "fill_hole"]
