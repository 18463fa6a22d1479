"""Which engine a name means: the built-in engines and ``module:factory`` plug-ins."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from segswap.engine.base import Engine
from segswap.errors import InvalidParameter
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


def resolve_engine(name: str, settings: Settings | None = None) -> Callable[[], Engine]:
    """A factory for the engine called ``name``.

    ``name`` is an engine name known to :func:`get_engine` (``composite``) or, as an
    extension for plug-ins and tests, ``package.module:factory``: a callable returning an
    engine. ``settings`` configures a named engine (the diffusion engine's model folder,
    device...); without it the engine reads the environment.
    """
    if ":" in name:
        module_name, _, attr = name.partition(":")
        factory = getattr(importlib.import_module(module_name), attr)
        return factory  # type: ignore[no-any-return]
    get_engine(name, settings)  # fail now, at start-up, on an unknown name or bad setup
    return lambda: get_engine(name, settings)
