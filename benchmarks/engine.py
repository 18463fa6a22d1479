"""Engine latency per mode, 1024² and 4096² scenes, against the I/O floor.

Run: ``.venv/bin/python benchmarks/engine.py [--repeats N]``

In one process it times, as medians over N runs:

- the I/O floor: decoding the three 1024² PNG inputs (scene, mask, object) and encoding
  the 1024² PNG output with segswap's encoder (OpenCV, fast settings);
- each mode on a 1024×1024 scene and on a 4096×4096 scene with the same ~500×400
  mask (engine only: arrays in, array out);
- the 1024² object swap end to end (decode + engine + encode), timed alternately with
  the I/O floor (one run of each in turn), so both medians see the same load on a
  shared machine,

and prints the ratios the engine issues ask for, with the machine's load average and the
CPUs the process may run on (``taskset -c 0`` pins it to one), before and after: on a
shared machine only the paired ratio means much, and only beside the load.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from functools import partial

import cv2
import numpy as np
from skimage import data

from segswap.engine import get_engine, run_engine
from segswap.io.decode import decode_image
from segswap.io.encode import encode_image
from segswap.params import SwapParams

MAX_PIXELS = 64_000_000


def median_seconds(action: Callable[[], object], repeats: int) -> float:
    action()  # warm caches and lazy imports
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def paired_medians(
    first: Callable[[], object], second: Callable[[], object], repeats: int
) -> tuple[float, float]:
    """Medians of ``first`` and ``second`` timed in turn, ``repeats`` times each."""
    first()
    second()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeats):
        for action, bucket in ((first, times[0]), (second, times[1])):
            started = time.perf_counter()
            action()
            bucket.append(time.perf_counter() - started)
    return statistics.median(times[0]), statistics.median(times[1])


def png(image: np.ndarray) -> bytes:
    channels = image if image.ndim == 2 else image[:, :, ::-1]
    ok, buffer = cv2.imencode(".png", np.ascontiguousarray(channels))
    assert ok
    return buffer.tobytes()


def inputs(side: int) -> tuple[np.ndarray, np.ndarray]:
    """A real photo scaled to side×side and a 500×400 mask near its centre."""
    scene = cv2.resize(data.astronaut(), (side, side), interpolation=cv2.INTER_LINEAR)
    mask = np.zeros((side, side), np.uint8)
    top, left = side // 2 - 200, side // 2 - 250
    mask[top : top + 400, left : left + 500] = 255
    return scene, mask


OBJECTS = {
    "object": data.logo()[:, :, :3].copy(),  # a logo on a white background: keyed out
    "pattern": np.repeat(data.brick()[:, :, None], 3, axis=2),
    "remove": np.zeros((8, 8, 4), np.uint8),
}
PARAMS = {
    "object": SwapParams(mode="object"),
    "pattern": SwapParams(mode="pattern", horizontal_repeat=4, vertical_repeat=4),
    "remove": SwapParams(mode="remove"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument(
        "--modes", default="object,pattern,remove", help="rows of the table (comma-separated)"
    )
    args = parser.parse_args()
    repeats = args.repeats
    modes = [mode for mode in args.modes.split(",") if mode]
    engine = get_engine("composite")
    print(machine_state("before"))

    scene, mask = inputs(1024)
    files = [png(scene), png(mask), png(OBJECTS["object"])]
    decoded = [decode_image(f, field="main_image", max_pixels=MAX_PIXELS) for f in files]
    result = run_engine(engine, *decoded, PARAMS["object"])

    def io_floor() -> None:
        for f in files:
            decode_image(f, field="main_image", max_pixels=MAX_PIXELS)
        encode_image(result, "png", 95)

    def object_end_to_end() -> None:
        arrays = [decode_image(f, field="main_image", max_pixels=MAX_PIXELS) for f in files]
        encode_image(run_engine(engine, *arrays, PARAMS["object"]), "png", 95)

    floor = median_seconds(io_floor, repeats)
    print(f"I/O floor (decode 3 PNGs + encode PNG, 1024²): {floor * 1000:8.1f} ms")
    print(f"{'mode':8s} {'1024² ms':>10s} {'4096² ms':>10s} {'4096/1024':>10s} {'1024/floor':>11s}")
    big_scene, big_mask = inputs(4096)
    for mode in modes:
        obj, params = OBJECTS[mode], PARAMS[mode]
        small = median_seconds(partial(run_engine, engine, scene, mask, obj, params), repeats)
        big = median_seconds(partial(run_engine, engine, big_scene, big_mask, obj, params), repeats)
        print(
            f"{mode:8s} {small * 1000:10.1f} {big * 1000:10.1f} {big / small:10.2f} "
            f"{small / floor:11.2f}"
        )
    paired_floor, total = paired_medians(io_floor, object_end_to_end, repeats)
    print(
        f"object swap 1024² end to end (decode + engine + encode): {total * 1000:.1f} ms "
        f"= {total / paired_floor:.2f}× the I/O floor timed alongside it "
        f"({paired_floor * 1000:.1f} ms)"
    )
    print(machine_state("after"))


def machine_state(when: str) -> str:
    """The load average (1, 5, 15 min) and the number of CPUs this process may use."""
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return f"{when}: load average {load}; CPUs available to this process: {cpus()}"


def cpus() -> int:
    """CPUs this process may run on (its affinity, where the platform tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


if __name__ == "__main__":
    main()
