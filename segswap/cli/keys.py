"""``segswap keys ...``: make, list, revoke and credit API keys (in the SQLite store of
the data dir or, with ``SEGSWAP_BROKER_URL``, in Redis)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from decimal import Decimal
from typing import Any

from segswap.cli.flags import command
from segswap.cli.settings import add_setting_flags, one_line, settings_from


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``keys`` to the ``segswap`` command."""
    keys = commands.add_parser("keys", help="manage API keys and their credits")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)

    create = command(
        keys_sub, "create", cmd_keys_create, help="make a key; prints it (only) on stdout"
    )
    create.add_argument("--name", help="a unique name (default: the key's id)")
    create.add_argument(
        "--credits",
        default=None,
        help="starting credits: a finite number >= 0, at most 6 decimals"
        " (default: SEGSWAP_DEFAULT_CREDITS, 1000)",
    )
    create.add_argument("--admin", action="store_true", help="may use the /admin routes")
    create.add_argument(
        "--models", default=None, help="comma-separated model slugs it may use (default: all)"
    )

    listing = command(keys_sub, "list", cmd_keys_list, help="list keys (never their secrets)")
    listing.add_argument("--json", action="store_true", help="print JSON")

    revoke = command(
        keys_sub, "revoke", cmd_keys_revoke, help="revoke a key; it stops working at once"
    )
    revoke.add_argument("key", help="the key's id or name")

    credit = command(
        keys_sub, "credit", cmd_keys_credit, help="add credits to a key (negative: remove)"
    )
    credit.add_argument("key", help="the key's id or name")
    credit.add_argument(
        "amount", help="credits to add (negative: remove, not below 0); at most 6 decimals"
    )

    for sub in (create, listing, revoke, credit):
        add_setting_flags(sub, only=("data_dir", "default_credits", "broker_url"))


def _key_store(args: argparse.Namespace) -> Any:
    """The key store of the embedded default (SQLite in the data dir) or, with
    ``SEGSWAP_BROKER_URL`` / ``--broker-url``, of scale-out (Redis)."""
    from segswap.service.server import open_key_store

    store, _close = open_key_store(settings_from(args))
    return store


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "-"
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _credits_arg(text: str, *, signed: bool = False) -> Decimal:
    """A ``--credits`` / ``amount`` argument, exactly as typed. Raises InvalidCredits."""
    from segswap.service.accounts.amounts import to_micro

    to_micro(text.strip(), signed=signed)
    return Decimal(text.strip())


def cmd_keys_create(args: argparse.Namespace) -> int:
    """Make a key and print it alone on stdout (exit 2 on a bad argument, 1 when the
    name is taken)."""
    from segswap.service.accounts.amounts import InvalidCredits

    try:
        settings = settings_from(args)
        credits = (
            _credits_arg(args.credits) if args.credits is not None else settings.default_credits
        )
        models = [m for m in args.models.split(",") if m.strip()] if args.models else None
        if args.models is not None and not models:
            raise ValueError("models: give at least one model slug (leave --models out for all)")
    except ValueError as error:
        print(f"segswap keys create: {one_line(error)}", file=sys.stderr)
        return 2
    store = _key_store(args)
    try:
        secret, record = store.create(
            name=args.name, credits=credits, admin=args.admin, models=models
        )
    except InvalidCredits as error:
        print(f"segswap keys create: {error}", file=sys.stderr)
        return 2
    except ValueError as error:
        print(f"segswap keys create: {error}", file=sys.stderr)
        return 1
    print(secret)
    print(
        f"created key {record.id} (name {record.name}, {record.credits:g} credits"
        f"{', admin' if record.admin else ''}); it is shown only once",
        file=sys.stderr,
    )
    return 0


def cmd_keys_list(args: argparse.Namespace) -> int:
    """Print every key's id, name, prefix, credits, flags and dates (never the secret)."""
    records = _key_store(args).list()
    if args.json:
        print(json.dumps([record.public() for record in records], indent=2))
        return 0
    header = ("ID", "NAME", "PREFIX", "CREDITS", "ADMIN", "MODELS", "CREATED", "REVOKED")
    rows = [header] + [
        (
            r.id,
            r.name,
            r.prefix + "...",
            f"{r.credits:g}",
            "yes" if r.admin else "no",
            ",".join(r.models) if r.models else "all",
            _when(r.created),
            _when(r.revoked),
        )
        for r in records
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    return 0


def cmd_keys_revoke(args: argparse.Namespace) -> int:
    """Revoke a key by id or name."""
    from segswap.service.accounts.keys import UnknownKey

    try:
        record = _key_store(args).revoke(args.key)
    except UnknownKey as error:
        print(f"segswap keys revoke: {error}", file=sys.stderr)
        return 1
    print(f"revoked {record.id} ({record.name})")
    return 0


def cmd_keys_credit(args: argparse.Namespace) -> int:
    """Add credits to a key; prints its new balance (exit 2 on a bad amount, 1 when
    there is no such key)."""
    from segswap.service.accounts.keys import UnknownKey

    try:
        amount = _credits_arg(args.amount, signed=True)
        record = _key_store(args).credit(args.key, amount)
    except UnknownKey as error:
        print(f"segswap keys credit: {error}", file=sys.stderr)
        return 1
    except ValueError as error:
        print(f"segswap keys credit: {one_line(error)}", file=sys.stderr)
        return 2
    print(f"{record.id} ({record.name}) now has {record.credits:g} credits")
    return 0
