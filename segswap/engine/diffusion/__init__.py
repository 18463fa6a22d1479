"""The diffusion engine (optional): SD 1.5 / SDXL inpainting from local weights.

Install with ``pip install 'segswap[diffusion]'``, select with ``SEGSWAP_ENGINE=diffusion``
and point ``SEGSWAP_MODEL_DIR`` at a diffusers-format inpainting model (see
docs/diffusion.md). Importing this package imports neither torch nor diffusers; that
happens in :func:`build_engine`.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING

from segswap.engine.diffusion.layout import (
    DiffusionSetupError,
    check_ip_adapter,
    check_model_dir,
)

if TYPE_CHECKING:
    from segswap.engine.diffusion.engine import DiffusionEngine
    from segswap.settings import Settings

REQUIRED_MODULES = ("torch", "diffusers", "transformers")


def missing_dependencies() -> list[str]:
    """The modules of the ``diffusion`` extra that are not installed."""
    return [name for name in REQUIRED_MODULES if importlib.util.find_spec(name) is None]


def build_engine(settings: Settings | None = None) -> DiffusionEngine:
    """A diffusion engine for ``settings`` (default: from ``SEGSWAP_*``); the pipeline is
    loaded on first use and shared by every engine with the same model, device and dtype.

    Raises:
        DiffusionSetupError: the extra is not installed, or a setting or model folder is
            wrong; the message says what to fix.
    """
    from segswap.settings import Settings

    settings = settings or Settings.from_env()
    missing = missing_dependencies()
    if missing:
        raise DiffusionSetupError(
            "engine",
            f"the diffusion engine needs {', '.join(missing)}: pip install 'segswap[diffusion]'",
        )
    check_model_dir(settings.model_dir)  # fail on a wrong folder before importing torch
    from segswap.engine.diffusion.engine import DiffusionEngine

    return DiffusionEngine.from_settings(settings)


__all__ = [
    "DiffusionSetupError",
    "build_engine",
    "check_ip_adapter",
    "check_model_dir",
    "missing_dependencies",
]
