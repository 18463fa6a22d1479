"""segswap: self-hosted object swap, pattern transfer and object removal."""

from segswap.api import render_request, swap
from segswap.errors import ImageTooLarge, InputFetchError, InvalidParameter, SegswapError
from segswap.params import SwapParams, SwapRequest

__version__ = "0.1.0"

__all__ = [
    "ImageTooLarge",
    "InputFetchError",
    "InvalidParameter",
    "SegswapError",
    "SwapParams",
    "SwapRequest",
    "__version__",
    "render_request",
    "swap",
]
