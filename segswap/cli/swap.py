"""``segswap swap``: one edit, locally (no server).

The mask doctor's warnings (``inverted``, ``mask_aspect``...) are printed on stderr, one
line each, with the code and words the API uses; the edit runs anyway.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pydantic.fields import FieldInfo

from segswap.cli.flags import add_model_flags, command
from segswap.errors import SegswapError
from segswap.formats import DEFAULT_FORMAT, FORMATS, format_for_suffix
from segswap.params import PARAM_FIELDS, SwapParams, describe_allowed, parse_params
from segswap.settings import Settings, engine_settings

ENGINE_SETTINGS = engine_settings()
"""Settings of the engine that ``swap`` and ``batch`` take as flags (``--fill``,
``--model-dir``...): those :class:`segswap.settings.Settings` marks as engine settings."""


def describe_setting(name: str, info: FieldInfo) -> str:
    """A setting flag's help: its description and its environment variable."""
    return f"{info.description or name} (env SEGSWAP_{name.upper()})"


def _describe_param(name: str, info: FieldInfo) -> str:
    return f"{describe_allowed(name)} (default {info.default!r})"


def add_edit_flags(parser: argparse.ArgumentParser) -> None:
    """The flags ``swap`` and ``batch`` share: the engine, its settings and one flag per
    API parameter (``--growmask``, ``--fashion-strength``...)."""
    parser.add_argument(
        "--engine",
        default=None,
        help="composite or diffusion (default: SEGSWAP_ENGINE, else composite); the "
        "diffusion engine reads SEGSWAP_MODEL_DIR etc., see docs/diffusion.md",
    )
    parser.add_argument(
        "--allow-private-urls",
        action="store_true",
        default=None,
        help="also fetch URL inputs on loopback/private addresses (like "
        "SEGSWAP_ALLOW_PRIVATE_URLS=1; refused by default, as on the server)",
    )
    add_model_flags(parser, Settings, describe_setting, only=ENGINE_SETTINGS)
    # base64 is an HTTP response option; the CLI always writes a file.
    add_model_flags(parser, SwapParams, _describe_param, only=PARAM_FIELDS, skip=("base64",))


def edit_settings(args: argparse.Namespace, workers: int = 1) -> Settings:
    """The settings an edit runs with: the environment, then the flags on top;
    ``workers`` edits run at once (a learned fill divides the cores among them)."""
    overrides = {name: getattr(args, name) for name in ENGINE_SETTINGS}
    return Settings.from_env(
        engine=args.engine,
        allow_private_urls=True if args.allow_private_urls else None,
        workers=workers,
        **overrides,
    )


def given_params(args: argparse.Namespace) -> dict[str, object]:
    """The API parameters given as flags (those left out take their defaults)."""
    return {
        name: getattr(args, name) for name in PARAM_FIELDS if getattr(args, name, None) is not None
    }


def format_from_suffix(output: Path) -> str:
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


def require_object(object_image: str | None, mode: str) -> None:
    """Refuse a missing ``--object`` unless the edit is a removal.

    Raises:
        SegswapError: naming ``--object`` and ``--mode remove``.
    """
    if object_image is None and mode != "remove":
        raise SegswapError(
            f"--object: required for mode {mode}; leave it out only with --mode remove"
        )


def warning_lines(warnings: list[dict[str, str]]) -> list[str]:
    """The mask doctor's warnings as the CLI prints them, one line each:
    ``warning: inverted: the mask looks inverted: ...`` (the API's code and words)."""
    return [f"warning: {warning['code']}: {warning['message']}" for warning in warnings]


def print_warnings(warnings: list[dict[str, str]]) -> None:
    """Print :func:`warning_lines` on stderr (the edit has run anyway)."""
    for line in warning_lines(warnings):
        print(line, file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    """Run the edit and write the result; prints one line saying what was written."""
    import numpy as np

    from segswap.api import swap
    from segswap.engine import get_engine
    from segswap.io.encode import encode_image
    from segswap.io.metadata import read_metadata

    output = Path(args.output)
    params: dict[str, Any] = given_params(args)
    fmt = params.get("image_format") or format_from_suffix(output)
    params["image_format"] = fmt
    # Checked before the edit runs, so a typo in -o costs nothing.
    if output.is_dir():
        raise SegswapError(f"output: {output} is a folder; give a file name such as out.png")
    if not output.parent.is_dir():
        raise SegswapError(f"output: folder {output.parent} does not exist")
    parsed = parse_params(params)
    require_object(args.object, parsed.mode)
    settings = edit_settings(args)
    engine = get_engine(settings.engine, settings)
    image = swap(args.main, args.mask, args.object, engine=engine, settings=settings, **params)
    data = encode_image(
        np.asarray(image), parsed.image_format, parsed.image_quality, read_metadata(image)
    )
    output.write_bytes(data)
    proof = image.info["segswap"]
    print_warnings(proof["warnings"])
    box = ",".join(str(value) for value in proof["changed_box"])
    print(
        f"wrote {output} ({image.width}x{image.height} {fmt}, {len(data)} bytes); "
        f"mode {proof['mode']}{' (auto)' if parsed.mode == 'auto' else ''}, "
        f"changed box {box}"
    )
    return 0


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``swap`` to the ``segswap`` command."""
    parser = command(commands, "swap", run, help="run one edit locally (no server)")
    parser.add_argument("--main", required=True, help="the scene: a path or URL")
    parser.add_argument("--mask", required=True, help="white where the edit goes: a path or URL")
    parser.add_argument(
        "--object",
        default=None,
        help="the object or pattern: a path or URL (leave it out with --mode remove)",
    )
    parser.add_argument("-o", "--output", required=True, help="where to write the result")
    add_edit_flags(parser)
