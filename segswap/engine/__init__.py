"""Pure image code: arrays in, arrays out. Engines behind one interface."""

from __future__ import annotations

from segswap.engine.base import Engine
from segswap.errors import InvalidParameter

ENGINE_NAMES = ("composite", "diffusion")


def get_engine(name: str = "composite") -> Engine:
    """The engine called ``name`` (``composite`` or ``diffusion``), built once per call."""
    if name == "composite":
        from segswap.engine.composite import CompositeEngine

        return CompositeEngine()
    if name == "diffusion":
        raise InvalidParameter(
            "engine", "the diffusion engine is not available in this version; use 'composite'"
        )
    raise InvalidParameter("engine", f"expected one of {', '.join(ENGINE_NAMES)}, got {name!r}")


__all__ = ["ENGINE_NAMES", "Engine", "get_engine"]
