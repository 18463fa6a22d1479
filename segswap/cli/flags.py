"""Typed command-line flags built from the pydantic models, and did-you-mean for
unknown flags.

:func:`add_model_flags` gives a command one flag per field of a model
(:class:`segswap.params.SwapParams` for an edit's parameters,
:class:`segswap.settings.Settings` for settings): ``--fashion-strength`` for
``fashion_strength``. Text is converted to the field's type by
:func:`segswap.params.from_text`, the converter the HTTP forms use too, and ranges are
checked when the model is validated, so the CLI and the API name a bad value alike.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from segswap.params import from_text
from segswap.suggest import did_you_mean

Describe = Callable[[str, FieldInfo], str]
"""A flag's help text from its field's name and info."""


def flag_name(field: str) -> str:
    """``--fashion-strength`` for ``fashion_strength``."""
    return "--" + field.replace("_", "-")


def add_model_flags(
    parser: argparse.ArgumentParser,
    model: type[BaseModel],
    describe: Describe,
    *,
    only: Iterable[str] | None = None,
    skip: Iterable[str] = (),
) -> None:
    """One flag per field of ``model`` (those in ``only``, all by default, less ``skip``).

    A bool field is a switch that sets True; any other takes a value converted to the
    field's type (``dest`` is the field's name, None when the flag is not given, so the
    model's default or the environment applies).
    """
    names = list(model.model_fields) if only is None else list(only)
    for name in names:
        if name in skip:
            continue
        info = model.model_fields[name]
        if info.annotation is bool:
            parser.add_argument(
                flag_name(name),
                dest=name,
                action="store_const",
                const=True,
                default=None,
                help=describe(name, info),
            )
            continue
        parser.add_argument(
            flag_name(name),
            dest=name,
            type=partial(from_text, model, name),
            default=None,
            metavar=name.upper(),
            help=describe(name, info),
        )


class Parser(argparse.ArgumentParser):
    """An :class:`argparse.ArgumentParser` whose commands name the closest flag when one
    is unknown (``--grow-mask: unknown flag; did you mean "--growmask"?``)."""

    def parse_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: Any = None
    ) -> argparse.Namespace:
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            command: argparse.ArgumentParser = getattr(parsed, "parser", None) or self
            unknown = [extra for extra in extras if extra.startswith("-")]
            if not unknown:
                command.error(f"unrecognized arguments: {' '.join(extras)}")
            word = unknown[0].split("=", 1)[0]
            known = [
                option
                for action in command._actions
                for option in action.option_strings
                if option.startswith("--")
            ]
            hint = did_you_mean(word, known)
            command.error(f"{word}: unknown flag{hint or '; see ' + command.prog + ' --help'}")
        return parsed


def command(
    commands: argparse._SubParsersAction,  # type: ignore[type-arg]
    name: str,
    run: Callable[[argparse.Namespace], int],
    **kwargs: Any,
) -> argparse.ArgumentParser:
    """A subcommand ``name`` that runs ``run(args)``; unknown flags given to it are
    answered with its own flags (see :class:`Parser`)."""
    sub: argparse.ArgumentParser = commands.add_parser(name, **kwargs)
    sub.set_defaults(func=run, parser=sub)
    return sub
