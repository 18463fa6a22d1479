"""Anonymised panels for a blind judge of removal: segswap, PyPatchMatch and Telea.

Run: ``.venv/bin/python benchmarks/judge_panels.py OUT_DIR KEY_FILE [--holes N] [--shuffle SEED]``

Per case, one PNG: the photo with the filled region outlined | A | B | C, the three
fills in an order shuffled per panel (seeded, so the same every run), nothing telling
which is which. The cases: ``--holes`` (default 20) ground-truth holes of the
validation split (drawn seeded from its 33) and every real-object removal of
``benchmarks/removal.py`` (all splits). No truth is shown. ``KEY_FILE`` (JSON, keep it
outside ``OUT_DIR`` until the verdicts are in) says which letter is which method.

PyPatchMatch's and Telea's results are reused from the benchmark's cache where a run of
``removal.py --reuse-peers`` left them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import removal  # noqa: E402

SEED = 2126
LETTERS = ("A", "B", "C")
MAX_WIDTH = 2000
"""Wider panels (large holes, shown unzoomed) are scaled down to this many pixels."""


def cases(holes: int) -> list[removal.Case]:
    """``holes`` validation holes (seeded draw) and every real-object removal."""
    every = removal.photo_cases() + removal.CASES
    validation = [c for c in every if c.split == "validation" and c.truth]
    rng = np.random.default_rng(SEED)
    picked = sorted(rng.choice(len(validation), min(holes, len(validation)), replace=False))
    return [validation[i] for i in picked] + [c for c in every if not c.truth]


def result(case: removal.Case, method: str, scene, mask, region) -> np.ndarray:
    kept = removal.peer_file(case, method)
    if method != "segswap" and kept.exists():
        return cv2.imread(str(kept))[:, :, ::-1]
    return removal.FILLS[method](scene, mask, region)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder for the panels (PNG)")
    parser.add_argument("key", type=Path, help="JSON file for the key (outside OUT)")
    parser.add_argument("--holes", type=int, default=20, help="validation holes (default 20)")
    parser.add_argument(
        "--shuffle", type=int, default=SEED + 1, help="seed of the panel order and letters"
    )
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.shuffle)
    chosen = cases(args.holes)
    order = rng.permutation(len(chosen))
    key = {}
    for number, index in enumerate(order, 1):
        case = chosen[index]
        scene = np.ascontiguousarray(case.load()[:, :, :3])
        mask = case.mask(scene.shape)
        region = removal.feather_reach(removal.grow_mask(mask, removal.GROWMASK))
        methods = list(rng.permutation(removal.METHODS))
        fills = {
            letter: result(case, m, scene, mask, region)
            for letter, m in zip(LETTERS, methods, strict=True)
        }
        image = removal.sheet(scene, region, fills, case.view, ("edited region", *LETTERS))
        if image.shape[1] > MAX_WIDTH:
            factor = MAX_WIDTH / image.shape[1]
            image = cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
        name = f"panel-{number:02d}.png"
        cv2.imwrite(str(args.out / name), image[:, :, ::-1])
        key[name] = {
            "case": f"{case.split}/{case.name}",
            "kind": "hole" if case.truth else "removal",
            **dict(zip(LETTERS, methods, strict=True)),
        }
        print(name, flush=True)
    args.key.parent.mkdir(parents=True, exist_ok=True)
    args.key.write_text(json.dumps(key, indent=1))


if __name__ == "__main__":
    main()
