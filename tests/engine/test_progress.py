"""Progress reports and cancel check points of the composite engine."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data

from segswap.engine import get_engine, run_edit
from segswap.engine.progress import EditCanceled, checkpoint, stage, watch
from segswap.params import SwapParams


def inputs(mode: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    photo = data.astronaut()
    mask = np.zeros(photo.shape[:2], bool)
    mask[250:350, 150:300] = True
    obj = np.zeros((8, 8, 4), np.uint8) if mode == "remove" else data.logo()
    return photo, mask, obj


@pytest.mark.parametrize("mode", ["object", "pattern", "remove"])
def test_progress_rises_from_0_to_near_1(mode: str) -> None:
    seen: list[float] = []
    photo, mask, obj = inputs(mode)
    with watch(on_progress=seen.append):
        run_edit(
            get_engine("composite"), photo, mask.view(np.uint8) * 255, obj, SwapParams(mode=mode)
        )  # type: ignore[arg-type]
    assert seen[0] == 0.0 and seen[-1] >= 0.9
    assert seen == sorted(seen) and all(0.0 <= value <= 1.0 for value in seen)
    if mode == "remove":
        assert len(seen) >= 5  # the fill reports each pyramid level


@pytest.mark.parametrize("after", [1, 3])
def test_cancel_stops_at_the_next_check_point(after: int) -> None:
    calls = []

    def canceled() -> bool:
        calls.append(1)
        return len(calls) >= after

    photo, mask, obj = inputs("remove")
    with watch(canceled=canceled), pytest.raises(EditCanceled, match="canceled by the client"):
        run_edit(
            get_engine("composite"),
            photo,
            mask.view(np.uint8) * 255,
            obj,
            SwapParams(mode="remove"),
        )
    assert len(calls) == after


def test_check_points_are_free_outside_a_watch_and_stages_nest() -> None:
    checkpoint(0.5)  # nothing to report to, nothing raised
    seen: list[float] = []
    with watch(on_progress=seen.append), stage(0.5, 1.0), stage(0.0, 0.5):
        checkpoint(0.0)
        checkpoint(1.0)
        checkpoint(7.0)  # clipped to the stage
    assert seen == [0.5, 0.75, 0.75]
