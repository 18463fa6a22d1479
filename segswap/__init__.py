"""segswap: self-hosted object swap, pattern transfer and object removal.

The top-level names are imported lazily so that ``import segswap.engine`` stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "swap": "segswap.api",
    "render_request": "segswap.api",
    "SwapParams": "segswap.params",
    "EditParams": "segswap.params",
    "OutputParams": "segswap.params",
    "SwapRequest": "segswap.params",
    "SegswapError": "segswap.errors",
    "InvalidParameter": "segswap.errors",
    "ImageTooLarge": "segswap.errors",
    "InputFetchError": "segswap.errors",
}

if TYPE_CHECKING:
    from segswap.api import render_request, swap
    from segswap.errors import ImageTooLarge, InputFetchError, InvalidParameter, SegswapError
    from segswap.params import EditParams, OutputParams, SwapParams, SwapRequest


def __getattr__(name: str) -> Any:
    module_name = _EXPORTS.get(name)
    if module_name is None:
        raise AttributeError(f"module 'segswap' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module_name), name)


__all__ = [
    "EditParams",
    "ImageTooLarge",
    "InputFetchError",
    "InvalidParameter",
    "OutputParams",
    "SegswapError",
    "SwapParams",
    "SwapRequest",
    "__version__",
    "render_request",
    "swap",
]
