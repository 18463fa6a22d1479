"""One engine registry: built-in names and module:factory plug-ins, for every caller."""

from __future__ import annotations

import pytest

from segswap.engine import ENGINE_NAMES, get_engine, resolve_engine
from segswap.engine.composite import CompositeEngine
from segswap.errors import InvalidParameter


def test_names_and_plugins_build_engines():
    assert ENGINE_NAMES[0] == "composite" and "diffusion" in ENGINE_NAMES
    assert isinstance(get_engine("composite"), CompositeEngine)
    plugin = "segswap.engine.composite:CompositeEngine"
    assert isinstance(get_engine(plugin), CompositeEngine)  # the CLI and demo path
    factory = resolve_engine(plugin)  # the service's path: a factory per worker
    assert isinstance(factory(), CompositeEngine) and factory() is not factory()


@pytest.mark.parametrize("name", ["nope", "segswap.engine.composite:Nope", "no_such_module:x"])
def test_unknown_names_fail_at_start_naming_the_field(name):
    with pytest.raises(InvalidParameter) as error:
        resolve_engine(name)
    assert error.value.field == "engine" and name in str(error.value)
