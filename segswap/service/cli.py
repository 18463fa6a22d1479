"""``segswap serve`` and ``segswap keys ...``: the service's command line.

:func:`register` adds both subcommands to the main ``segswap`` parser. Every setting of
:class:`segswap.settings.Settings` is a ``serve`` flag (``--max-pixels`` for
``SEGSWAP_MAX_PIXELS``...); a flag wins over the environment.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
from pathlib import Path
from typing import Any

from segswap.settings import Settings


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _add_setting_flags(parser: argparse.ArgumentParser, only: tuple[str, ...] = ()) -> None:
    """One flag per setting (all of them, or those in ``only``)."""
    for name, info in Settings.model_fields.items():
        if only and name not in only:
            continue
        env = f"SEGSWAP_{name.upper()}"
        text = f"{info.description or name} (env {env})"
        annotation = info.annotation
        if annotation is bool:
            parser.add_argument(
                _flag(name), dest=name, action="store_const", const=True, default=None, help=text
            )
            continue
        kind: Any = str
        if annotation is int:
            kind = int
        elif annotation is float:
            kind = float
        elif annotation is Path:
            kind = Path
        parser.add_argument(_flag(name), dest=name, type=kind, default=None, help=text)


def _settings(args: argparse.Namespace) -> Settings:
    overrides = {name: getattr(args, name, None) for name in Settings.model_fields}
    return Settings.from_env(**overrides)


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``serve`` and ``keys`` to the ``segswap`` command."""
    serve = subparsers.add_parser(
        "serve",
        help="run the HTTP API (embedded job queue, no external server)",
        description="Run the HTTP API. Listens only once the store is open, interrupted "
        "jobs are recovered and the workers are running. Every setting is a flag.",
    )
    _add_setting_flags(serve)
    serve.add_argument("--log-level", default="info", help="debug, info, warning, error")
    serve.add_argument("--access-log", action="store_true", help="log every request")
    serve.set_defaults(func=cmd_serve)

    keys = subparsers.add_parser("keys", help="manage API keys and their credits")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)

    create = keys_sub.add_parser("create", help="make a key; prints it (only) on stdout")
    create.add_argument("--name", help="a unique name (default: the key's id)")
    create.add_argument(
        "--credits", type=float, default=None,
        help="starting credits (default: SEGSWAP_DEFAULT_CREDITS, 1000)",
    )
    create.add_argument("--admin", action="store_true", help="may use the /admin routes")
    create.add_argument(
        "--models", default=None, help="comma-separated model slugs it may use (default: all)"
    )
    create.set_defaults(func=cmd_keys_create)

    listing = keys_sub.add_parser("list", help="list keys (never their secrets)")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(func=cmd_keys_list)

    revoke = keys_sub.add_parser("revoke", help="revoke a key; it stops working at once")
    revoke.add_argument("key", help="the key's id or name")
    revoke.set_defaults(func=cmd_keys_revoke)

    credit = keys_sub.add_parser("credit", help="add credits to a key (negative: remove)")
    credit.add_argument("key", help="the key's id or name")
    credit.add_argument("amount", type=float, help="credits to add")
    credit.set_defaults(func=cmd_keys_credit)

    for sub in (create, listing, revoke, credit):
        _add_setting_flags(sub, only=("data_dir", "default_credits"))


# ----- serve -----


def cmd_serve(args: argparse.Namespace) -> int:
    """Start the server; returns when it is stopped (Ctrl-C / SIGTERM)."""
    import uvicorn

    from segswap.service.app import create_app
    from segswap.service.context import Service

    logging.basicConfig(
        level=getattr(logging, str(args.log_level).upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    log = logging.getLogger("segswap.service")
    try:
        settings = _settings(args)
        service = Service.embedded(settings)
    except (ValueError, ImportError, AttributeError, OSError) as error:
        print(f"segswap serve: {error}", file=sys.stderr)
        return 2
    service.start()
    try:
        if settings.no_auth:
            log.warning("running WITHOUT authentication (--no-auth): anyone can use this server")
        elif service.keys.count_active() == 0:
            print(
                "segswap: no API key exists yet, so every request will get 401. Make one with:\n"
                f"    segswap keys create --data-dir {settings.data_dir} --name me\n"
                "(or start with --no-auth on a trusted network)",
                file=sys.stderr,
            )
        if settings.workers == 0:
            log.warning("--workers 0: no worker will run jobs; submissions get 502")
        config = uvicorn.Config(
            create_app(service),
            host=settings.host,
            port=settings.port,
            log_level=str(args.log_level).lower(),
            access_log=bool(args.access_log),
            server_header=False,
        )
        uvicorn.Server(config).run()
    finally:
        service.stop()
    return 0


# ----- keys -----


def _key_store(args: argparse.Namespace) -> Any:
    from segswap.service.auth import SqliteKeyStore
    from segswap.service.store import Database

    return SqliteKeyStore(Database(_settings(args).data_dir))


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "-"
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def cmd_keys_create(args: argparse.Namespace) -> int:
    """Make a key and print it alone on stdout."""
    store = _key_store(args)
    credits = args.credits if args.credits is not None else _settings(args).default_credits
    models = [m for m in args.models.split(",") if m.strip()] if args.models else None
    try:
        secret, record = store.create(
            name=args.name, credits=credits, admin=args.admin, models=models
        )
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
    from segswap.service.auth import UnknownKey

    try:
        record = _key_store(args).revoke(args.key)
    except UnknownKey as error:
        print(f"segswap keys revoke: {error}", file=sys.stderr)
        return 1
    print(f"revoked {record.id} ({record.name})")
    return 0


def cmd_keys_credit(args: argparse.Namespace) -> int:
    """Add credits to a key; prints its new balance."""
    from segswap.service.auth import UnknownKey

    try:
        record = _key_store(args).credit(args.key, args.amount)
    except UnknownKey as error:
        print(f"segswap keys credit: {error}", file=sys.stderr)
        return 1
    print(f"{record.id} ({record.name}) now has {record.credits:g} credits")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m segswap.service`` (the same subcommands, until ``segswap`` wires them)."""
    parser = argparse.ArgumentParser(prog="segswap")
    sub = parser.add_subparsers(dest="command", required=True)
    register(sub)
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code
