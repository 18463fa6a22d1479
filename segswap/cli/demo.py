"""``segswap demo``: before/after of each mode on bundled photos."""

from __future__ import annotations

import argparse
from pathlib import Path

from segswap.cli.flags import command


def run(args: argparse.Namespace) -> int:
    """Write the demo's results; prints what it wrote."""
    from segswap.demo import run_demo

    for line in run_demo(Path(args.output)):
        print(line)
    return 0


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``demo`` to the ``segswap`` command."""
    parser = command(commands, "demo", run, help="before/after of each mode on bundled photos")
    parser.add_argument("-o", "--output", default="segswap-demo", help="folder for the results")
