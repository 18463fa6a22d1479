"""The ``segswap`` command: parses arguments, calls the library, reports.

Subcommands: ``swap`` (one edit, locally), ``demo`` (before/after on bundled photos),
``serve`` and ``keys`` (the HTTP service, see :mod:`segswap.service.cli`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from segswap.errors import SegswapError
from segswap.params import PARAM_FIELDS, SwapParams, describe_allowed

FORMAT_BY_SUFFIX = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".webp": "webp"}


def _param_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per API parameter (``--fashion-strength`` for ``fashion_strength``...)."""
    for name in PARAM_FIELDS:
        if name == "base64":
            continue  # an HTTP response option; the CLI always writes a file
        info = SwapParams.model_fields[name]
        kind = {int: int, float: float}.get(info.annotation, str)  # type: ignore[arg-type]
        parser.add_argument(
            "--" + name.replace("_", "-"),
            dest=name,
            type=kind,
            default=None,
            metavar=name.upper(),
            help=f"{describe_allowed(name)} (default {info.default!r})",
        )


def _swap(args: argparse.Namespace) -> int:
    import numpy as np

    from segswap.api import swap
    from segswap.engine import get_engine
    from segswap.io.encode import encode_image
    from segswap.settings import Settings

    output = Path(args.output)
    params = {
        name: getattr(args, name) for name in PARAM_FIELDS if getattr(args, name, None) is not None
    }
    fmt = params.get("image_format") or FORMAT_BY_SUFFIX.get(output.suffix.lower(), "png")
    params["image_format"] = fmt
    settings = Settings.from_env(engine=args.engine)
    engine = get_engine(settings.engine, settings)
    image = swap(args.main, args.mask, args.object, engine=engine, settings=settings, **params)
    quality = params.get("image_quality", SwapParams().image_quality)
    data = encode_image(np.asarray(image), fmt, quality)
    if output.parent and not output.parent.exists():
        raise SegswapError(f"output: folder {output.parent} does not exist")
    output.write_bytes(data)
    print(f"wrote {output} ({image.width}x{image.height} {fmt}, {len(data)} bytes)")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from segswap.demo import run_demo

    for line in run_demo(Path(args.output)):
        print(line)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="segswap", description="Object swap, pattern transfer and object removal."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    swap = commands.add_parser("swap", help="run one edit locally (no server)")
    swap.add_argument("--main", required=True, help="the scene: a path or URL")
    swap.add_argument("--mask", required=True, help="white where the edit goes: a path or URL")
    swap.add_argument("--object", required=True, help="the object or pattern: a path or URL")
    swap.add_argument("-o", "--output", required=True, help="where to write the result")
    swap.add_argument(
        "--engine",
        default=None,
        help="composite or diffusion (default: SEGSWAP_ENGINE, else composite); the "
        "diffusion engine reads SEGSWAP_MODEL_DIR etc., see docs/diffusion.md",
    )
    _param_flags(swap)
    swap.set_defaults(func=_swap)

    demo = commands.add_parser("demo", help="before/after of each mode on bundled photos")
    demo.add_argument("-o", "--output", default="segswap-demo", help="folder for the results")
    demo.set_defaults(func=_demo)

    from segswap.service.cli import register

    register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``segswap`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except SegswapError as error:
        print(f"segswap: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(
            f"segswap: error: {error.strerror or error}: {error.filename or ''}".rstrip(": "),
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
