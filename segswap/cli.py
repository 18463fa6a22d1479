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
from segswap.formats import DEFAULT_FORMAT, FORMATS, format_for_suffix
from segswap.params import PARAM_FIELDS, SwapParams, describe_allowed

ENGINE_SETTINGS = ("model_dir", "ip_adapter_dir", "device", "dtype", "compile")
"""Settings of the diffusion engine that ``segswap swap`` takes as flags (``--model-dir``...)."""


def _engine_flags(parser: argparse.ArgumentParser) -> None:
    """``--model-dir`` etc.: the diffusion engine's settings, each winning over its
    ``SEGSWAP_*`` variable."""
    from segswap.settings import Settings

    for name in ENGINE_SETTINGS:
        info = Settings.model_fields[name]
        text = f"{info.description or name} (env SEGSWAP_{name.upper()})"
        flag = "--" + name.replace("_", "-")
        if info.annotation is bool:
            parser.add_argument(flag, dest=name, action="store_const", const=True, help=text)
        else:
            parser.add_argument(flag, dest=name, default=None, help=text)


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


def _format_from_suffix(output: Path) -> str:
    """The image format ``output``'s suffix names (png when it has none).

    Raises:
        SegswapError: a suffix segswap cannot write (``.gif``, ``.tif``...), rather than
            writing PNG bytes under a name that says otherwise.
    """
    suffix = output.suffix.lower()
    if not suffix:
        return DEFAULT_FORMAT
    image_format = format_for_suffix(suffix)
    if image_format is None:
        known = [s for f in FORMATS.values() for s in f.suffixes]
        raise SegswapError(
            f"output: cannot write {suffix} files; name the output {', '.join(known[:-1])} or "
            f"{known[-1]}, or choose the encoding with --image-format"
        )
    return image_format.name


def _swap(args: argparse.Namespace) -> int:
    import numpy as np

    from segswap.api import swap
    from segswap.engine import get_engine
    from segswap.io.encode import encode_image
    from segswap.io.metadata import read_metadata
    from segswap.settings import Settings

    output = Path(args.output)
    params = {
        name: getattr(args, name) for name in PARAM_FIELDS if getattr(args, name, None) is not None
    }
    fmt = params.get("image_format") or _format_from_suffix(output)
    params["image_format"] = fmt
    # Checked before the edit runs, so a typo in -o costs nothing.
    if output.is_dir():
        raise SegswapError(f"output: {output} is a folder; give a file name such as out.png")
    if not output.parent.is_dir():
        raise SegswapError(f"output: folder {output.parent} does not exist")
    overrides = {name: getattr(args, name) for name in ENGINE_SETTINGS}
    settings = Settings.from_env(
        engine=args.engine,
        allow_private_urls=True if args.allow_private_urls else None,
        **overrides,
    )
    engine = get_engine(settings.engine, settings)
    image = swap(args.main, args.mask, args.object, engine=engine, settings=settings, **params)
    quality = params.get("image_quality", SwapParams().image_quality)
    data = encode_image(np.asarray(image), fmt, quality, read_metadata(image))
    output.write_bytes(data)
    proof = image.info["segswap"]
    box = ",".join(str(value) for value in proof["changed_box"])
    print(
        f"wrote {output} ({image.width}x{image.height} {fmt}, {len(data)} bytes); "
        f"mode {proof['mode']}{' (auto)' if params.get('mode', 'auto') == 'auto' else ''}, "
        f"changed box {box}"
    )
    return 0


def _demo(args: argparse.Namespace) -> int:
    from segswap.demo import run_demo

    for line in run_demo(Path(args.output)):
        print(line)
    return 0


def build_parser() -> argparse.ArgumentParser:
    from segswap import __version__

    parser = argparse.ArgumentParser(
        prog="segswap", description="Object swap, pattern transfer and object removal."
    )
    parser.add_argument("--version", action="version", version=f"segswap {__version__}")
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
    swap.add_argument(
        "--allow-private-urls",
        action="store_true",
        default=None,
        help="also fetch URL inputs on loopback/private addresses (like "
        "SEGSWAP_ALLOW_PRIVATE_URLS=1; refused by default, as on the server)",
    )
    _engine_flags(swap)
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
