"""The learned fills' wrapper overhead: crop, resize, tensor conversion and paste-back
around the network, with an identity network (so the network itself costs ~nothing).

Run: ``.venv/bin/python benchmarks/learned.py [--repeats N] [--sizes 1024 4096]``
(needs the ``learned`` extra; without torch it says so and exits 0).

For each scene size (a square scene with a 512×512 hole in its middle, removal, growmask
8) it times, as medians over N runs (default 5) after one warm-up:

- ``engine``: the whole composite engine call with ``fill=lama`` (plan, crop, the
  learned fill, feathered paste-back), arrays in, array out;
- ``network``: the time spent inside the TorchScript module alone, summed per call;
- ``overhead``: engine minus network, the wrapper's own cost;
- ``load``: building the fill (finding, loading and probing the file), once.

The identity network is a TorchScript LaMa-contract module (``model(image, mask)``,
returns ``image``), built here with ``torch.jit.script`` into a temporary folder. The
machine's load average is printed before and after: on a shared machine the figures
mean little without it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


class TimedModule:
    """Wraps a TorchScript module, adding up the seconds spent in its calls."""

    def __init__(self, module: Any) -> None:
        self.module = module
        self.seconds = 0.0

    def __call__(self, *args: Any) -> Any:
        started = time.perf_counter()
        result = self.module(*args)
        self.seconds += time.perf_counter() - started
        return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1024, 4096])
    parser.add_argument("--hole", type=int, default=512, help="side of the square hole")
    args = parser.parse_args()
    try:
        import torch
    except ImportError:
        print("torch is not installed (pip install 'segswap[learned]'): nothing to time")
        return 0

    from segswap.engine import run_edit
    from segswap.engine.composite import CompositeEngine
    from segswap.engine.fill import build_fill
    from segswap.engine.fill.learned import LearnedFill
    from segswap.params import parse_params
    from segswap.settings import Settings

    class Identity(torch.nn.Module):
        def forward(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            return image + 0.0 * mask.to(image.dtype)

    print(f"load average before: {load_average()}; CPUs usable: {len(os.sched_getaffinity(0))}")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "identity.pt"
        torch.jit.save(torch.jit.script(Identity()), str(path))
        started = time.perf_counter()
        fill = build_fill(Settings(fill="lama", fill_model=path, device="cpu", workers=1))
        loaded = time.perf_counter() - started
    assert isinstance(fill, LearnedFill)
    timed = TimedModule(fill.network.module)  # type: ignore[attr-defined]
    fill.network.module = timed  # type: ignore[attr-defined]
    engine = CompositeEngine(fill)
    params = parse_params({"mode": "remove", "growmask": 8}).edit()
    transparent = np.zeros((4, 4, 4), np.uint8)
    print(f"load (find, torch.jit.load, probe): {loaded:.3f} s")
    print(f"{'scene':>10} {'hole':>6} {'engine s':>9} {'network s':>10} {'overhead s':>11}")
    rng = np.random.default_rng(0)
    for size in args.sizes:
        scene = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        mask = np.zeros((size, size), np.uint8)
        top = (size - args.hole) // 2
        mask[top : top + args.hole, top : top + args.hole] = 255
        run_edit(engine, scene, mask, transparent, params)  # warm-up
        totals, networks = [], []
        for _ in range(args.repeats):
            timed.seconds = 0.0
            started = time.perf_counter()
            run_edit(engine, scene, mask, transparent, params)
            totals.append(time.perf_counter() - started)
            networks.append(timed.seconds)
        total, network = statistics.median(totals), statistics.median(networks)
        overheads = [t - n for t, n in zip(totals, networks, strict=True)]
        print(
            f"{size:>5}x{size:<4} {args.hole:>6} {total:>9.3f} {network:>10.3f}"
            f" {statistics.median(overheads):>11.3f}"
        )
    print(f"load average after: {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
