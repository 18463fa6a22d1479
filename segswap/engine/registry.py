"""Which engine a name means: one registry for the CLI, the demo and the service.

:data:`ENGINES` maps each built-in name to a factory taking the settings; any other name
of the form ``package.module:factory`` is a plug-in (a callable returning an engine,
taking no arguments), which is how the service tests load their slow and faulty
engines. ``SEGSWAP_ENGINE`` / ``--engine`` take either.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from segswap.engine.base import Engine
from segswap.errors import InvalidParameter, shown
from segswap.settings import Settings
from segswap.suggest import did_you_mean

EngineFactory = Callable[[Settings | None], Engine]


def _composite(settings: Settings | None) -> Engine:
    from segswap.engine.composite import CompositeEngine

    return CompositeEngine.from_settings(settings or Settings.from_env())


def _diffusion(settings: Settings | None) -> Engine:
    from segswap.engine.diffusion import build_engine

    return build_engine(settings)


ENGINES: dict[str, EngineFactory] = {"composite": _composite, "diffusion": _diffusion}
"""The built-in engines by name; ``settings`` choose their fill (``fill``) and configure
the diffusion engine (``model_dir``, ``ip_adapter_dir``, ``device``, ``dtype``,
``compile``)."""
ENGINE_NAMES = tuple(ENGINES)


def _plugin(name: str) -> Callable[[], Engine]:
    module_name, _, attr = name.partition(":")
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as error:
        raise InvalidParameter("engine", f"cannot load the plug-in {name!r}: {error}") from None
    return factory  # type: ignore[no-any-return]


def get_engine(name: str = "composite", settings: Settings | None = None) -> Engine:
    """A new engine called ``name`` (a key of :data:`ENGINES` or ``module:factory``).

    Raises:
        InvalidParameter: (field ``engine``) an unknown name or a plug-in that does not
            load; the diffusion engine's own setup errors (same field) say what to fix.
    """
    if ":" in name:
        return _plugin(name)()
    factory = ENGINES.get(name)
    if factory is None:
        raise InvalidParameter(
            "engine",
            f"expected one of {', '.join(ENGINE_NAMES)} or package.module:factory,"
            f" got {shown(name)}" + did_you_mean(name, ENGINE_NAMES),
        )
    return factory(settings)


def resolve_engine(name: str, settings: Settings | None = None) -> Callable[[], Engine]:
    """A factory of engines called ``name``, checked now (at start-up): a named engine is
    built once here, so an unknown name or a bad setup fails before any job is taken."""
    if ":" in name:
        return _plugin(name)
    get_engine(name, settings)
    return lambda: get_engine(name, settings)
