"""``segswap models``: the learned fills' model files found on this machine."""

from __future__ import annotations

import argparse

from segswap.cli.flags import command


def run(args: argparse.Namespace) -> int:
    """Print one line per known model file in torch's hub checkpoint folder: fill,
    format, size, whether it loads, and its path (exit 0 even when none is found)."""
    from segswap.engine.fill.models import find_models, where_looked
    from segswap.engine.fill.networks import model_runs

    print(f"looking in {where_looked()}")
    found = find_models()
    if not found:
        print(
            "no model files found (expected big-lama.pt, lama_fp32.onnx or migan_traced.pt);"
            " see docs/learned-fills.md"
        )
        return 0
    for model in found:
        loads = model_runs(model.fill, model) if args.check else "not checked"
        size = f"{model.size / 1e6:.1f} MB" if model.size >= 100_000 else f"{model.size} B"
        print(f"{model.fill:<6} {model.format:<11} {size:>9}  loads: {loads}  {model.path}")
    return 0


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``models`` to the ``segswap`` command."""
    parser = command(
        commands,
        "models",
        run,
        help="list the LaMa/MI-GAN files found in $TORCH_HOME/hub/checkpoints",
    )
    parser.add_argument(
        "--no-check",
        dest="check",
        action="store_false",
        help="do not load each file to check it (loading needs the learned extra)",
    )
