"""The fill is an injected component: the composite engine (and through it the diffusion
engine) runs whichever :class:`segswap.engine.fill.Fill` it is given, for removal and
under a placed object, and the settings choose it by name."""

from __future__ import annotations

import numpy as np
import pytest

from segswap.cli import main
from segswap.cli.swap import ENGINE_SETTINGS
from segswap.cli.worker import WORKER_SETTINGS
from segswap.engine import get_engine, run_edit
from segswap.engine.composite import CompositeEngine
from segswap.engine.fill import FILLS, ExemplarFill, build_fill
from segswap.errors import InvalidParameter
from segswap.params import parse_params
from segswap.settings import Settings, engine_settings

GREY = 77


class RecordingFill:
    """Paints the hole one grey and records how it was called."""

    name = "recording"

    def __init__(self) -> None:
        self.calls: list[dict[str, object]] = []

    def __call__(self, image, hole, seed, *, steps=30, shown=True, hidden=None):
        self.calls.append(
            {"shape": hole.shape, "seed": seed, "steps": steps, "shown": shown, "hidden": hidden}
        )
        out = image.copy()
        out[hole] = GREY
        return out


def scene_and_mask() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    scene = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    mask = np.zeros((120, 160), np.uint8)
    mask[40:80, 60:110] = 255
    return scene, mask


def test_removal_shows_the_injected_fill_inside_the_mask() -> None:
    scene, mask = scene_and_mask()
    fill = RecordingFill()
    params = parse_params({"mode": "remove", "seed": 9, "steps": 20, "growmask": 0}).edit()
    result = run_edit(CompositeEngine(fill), scene, mask, np.zeros((4, 4, 4), np.uint8), params)
    assert (result.image[45:75, 65:105] == GREY).all()  # inside the mask, away from the feather
    assert np.array_equal(result.image[:30], scene[:30])
    (call,) = fill.calls
    assert call["seed"] == 9 and call["steps"] == 20 and call["shown"] is True
    assert call["hidden"] is None


def test_the_fill_under_a_placed_object_is_not_shown_and_knows_what_is_hidden() -> None:
    scene, mask = scene_and_mask()
    fill = RecordingFill()
    obj = np.zeros((20, 50, 4), np.uint8)
    obj[:, :] = (200, 20, 20, 255)
    params = parse_params({"mode": "object", "seed": 3, "growmask": 0}).edit()
    run_edit(CompositeEngine(fill), scene, mask, obj, params)
    (call,) = fill.calls
    assert call["shown"] is False and call["seed"] == 3
    hidden = call["hidden"]
    assert isinstance(hidden, np.ndarray) and hidden.shape == call["shape"] and hidden.any()


def test_exemplar_is_the_default_and_repeats_itself() -> None:
    assert list(FILLS)[0] == "exemplar" and Settings().fill == "exemplar"
    engine = get_engine("composite", Settings())
    assert isinstance(engine, CompositeEngine) and isinstance(engine.fill, ExemplarFill)
    scene, mask = scene_and_mask()
    hole = mask > 0
    first = ExemplarFill()(scene, hole, 5, steps=10)
    assert np.array_equal(first, ExemplarFill()(scene, hole, 5, steps=10))
    assert np.array_equal(first[~hole], scene[~hole]) and not np.array_equal(first, scene)


def test_an_unknown_fill_is_refused_naming_the_field() -> None:
    with pytest.raises(InvalidParameter) as error:
        build_fill(Settings(fill="nope"))
    assert error.value.field == "fill" and "exemplar" in str(error.value)
    with pytest.raises(InvalidParameter):
        get_engine("composite", Settings(fill="nope"))


def test_engine_settings_are_declared_once() -> None:
    """A setting marked as an engine setting is a ``swap`` and a ``worker`` flag with no
    list to edit by hand."""
    names = engine_settings()
    assert "fill" in names and "model_dir" in names and "max_pixels" not in names
    assert names == ENGINE_SETTINGS
    assert set(names) <= set(WORKER_SETTINGS)


@pytest.mark.parametrize("command", ["swap", "worker", "serve"])
def test_fill_flag_in_help(command: str, capsys) -> None:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    assert "--fill " in capsys.readouterr().out
