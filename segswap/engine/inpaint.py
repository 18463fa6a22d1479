"""The exemplar fill's public entry point (kept for callers of ``engine.inpaint``).

The fill itself lives in :mod:`segswap.engine.fill`.
"""

from segswap.engine.fill import FillEffort, fill_hole

__all__ = ["FillEffort", "fill_hole"]
