"""The ``segswap`` command: parses arguments, runs a command, reports.

One module per command, each with a ``register(commands)`` that adds its subcommand
(see :data:`COMMANDS`): ``swap`` (one edit, locally), ``batch`` (a folder of edits),
``demo`` (before/after on bundled photos), ``models`` (the learned fills' files),
``serve`` (the HTTP API), ``worker`` (scale-out), ``keys`` (API keys) and ``webhooks``
(their signing secret). Flags that
mirror a model's fields are built by :func:`segswap.cli.flags.add_model_flags`.
A new command is a module with ``register`` added to :data:`COMMANDS`.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

from segswap.cli.flags import Parser
from segswap.errors import SegswapError

COMMANDS = ("swap", "batch", "demo", "models", "serve", "worker", "keys", "webhooks")
"""The modules of :mod:`segswap.cli` that each add a command, in ``--help`` order."""


def build_parser() -> Parser:
    """The ``segswap`` parser with every command of :data:`COMMANDS`."""
    from segswap import __version__

    parser = Parser(prog="segswap", description="Object swap, pattern transfer and object removal.")
    parser.add_argument("--version", action="version", version=f"segswap {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        importlib.import_module(f"segswap.cli.{name}").register(commands)
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
