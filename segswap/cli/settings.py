"""What the service's commands share: setting flags, settings from flags, logging."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Iterable

from segswap.cli.flags import add_model_flags
from segswap.cli.swap import describe_setting
from segswap.settings import Settings


def add_setting_flags(parser: argparse.ArgumentParser, only: Iterable[str] | None = None) -> None:
    """One flag per setting (all of them, or those in ``only``); a flag wins over its
    ``SEGSWAP_*`` variable."""
    add_model_flags(parser, Settings, describe_setting, only=only)


def settings_from(args: argparse.Namespace) -> Settings:
    """The environment's settings with the flags given on top."""
    overrides = {name: getattr(args, name, None) for name in Settings.model_fields}
    return Settings.from_env(**overrides)


def start_logging(level: object) -> None:
    """Log to stderr at ``level`` (debug, info, warning, error; info when unknown)."""
    logging.basicConfig(
        level=getattr(logging, str(level).upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def one_line(error: Exception) -> str:
    """An error as one line (a settings error from pydantic spans several)."""
    return " ".join(str(error).split())
