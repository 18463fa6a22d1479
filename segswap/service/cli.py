"""``segswap serve``, ``segswap worker`` and ``segswap keys ...``: the service's command line.

:func:`register` adds the subcommands to the main ``segswap`` parser. Every setting of
:class:`segswap.settings.Settings` is a ``serve`` (and ``worker``) flag (``--max-pixels``
for ``SEGSWAP_MAX_PIXELS``...); a flag wins over the environment. With
``SEGSWAP_BROKER_URL`` set, ``serve`` and ``keys`` work on the shared Redis store
(scale-out, docs/scaling.md) instead of the local SQLite file.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import socket
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from segswap.settings import Settings

WORKER_SETTINGS = (
    "max_pixels",
    "allow_private_urls",
    "fetch_max_bytes",
    "fetch_timeout",
    "fetch_max_redirects",
    "engine",
    "model_dir",
    "ip_adapter_dir",
    "device",
    "dtype",
    "compile",
    "result_ttl",
    "broker_url",
    "celery_queue",
    "visibility_timeout",
    "job_lease",
    "max_attempts",
)
"""The settings a ``segswap worker`` uses (the HTTP-only ones are not its flags)."""


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
        help="run the HTTP API (embedded job queue; scale-out with SEGSWAP_BROKER_URL)",
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
        "--credits",
        default=None,
        help="starting credits: a finite number >= 0, at most 6 decimals"
        " (default: SEGSWAP_DEFAULT_CREDITS, 1000)",
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
    credit.add_argument(
        "amount", help="credits to add (negative: remove, not below 0); at most 6 decimals"
    )
    credit.set_defaults(func=cmd_keys_credit)

    for sub in (create, listing, revoke, credit):
        _add_setting_flags(sub, only=("data_dir", "default_credits", "broker_url"))

    worker = subparsers.add_parser(
        "worker",
        help="run a scale-out worker (Celery on SEGSWAP_BROKER_URL)",
        description="Run jobs queued by `segswap serve` nodes sharing SEGSWAP_BROKER_URL. "
        "Each pool process loads the engine once. SIGTERM: finish the running job, then "
        "exit. See docs/scaling.md.",
    )
    worker.add_argument(
        "--concurrency",
        type=int,
        default=1,
        help="pool processes, i.e. jobs run at once (default 1: one per GPU or core)",
    )
    worker.add_argument(
        "--queues",
        default=None,
        help="comma-separated Celery queues to take jobs from (default: SEGSWAP_CELERY_QUEUE)",
    )
    worker.add_argument(
        "--pool",
        default="prefork",
        choices=("prefork", "solo", "threads"),
        help="prefork (default: a process per slot), solo (jobs in the main process) or threads",
    )
    worker.add_argument("--hostname", default=None, help="worker name (default: pid@host)")
    worker.add_argument("--log-level", default="info", help="debug, info, warning, error")
    _add_setting_flags(worker, only=WORKER_SETTINGS)
    worker.set_defaults(func=cmd_worker)

    webhooks = subparsers.add_parser("webhooks", help="the webhook signing secret")
    webhooks_sub = webhooks.add_subparsers(dest="webhooks_command", required=True)
    secret = webhooks_sub.add_parser(
        "secret",
        help="print the whsec_... secret webhooks are signed with (made and kept in the"
        " store the first time, unless SEGSWAP_WEBHOOK_SECRET is set)",
    )
    _add_setting_flags(secret, only=("data_dir", "broker_url", "webhook_secret"))
    secret.set_defaults(func=cmd_webhooks_secret)


# ----- serve -----


def cmd_serve(args: argparse.Namespace) -> int:
    """Start the server; returns when it is stopped (Ctrl-C / SIGTERM: drain, then stop)."""
    import uvicorn

    from segswap.service.datadir import DataDirBusy
    from segswap.service.errors import StoreUnavailable
    from segswap.service.http.app import create_app
    from segswap.service.http.protocol import HEADER_MAX_BYTES, server_protocol
    from segswap.service.server import Service

    _logging(args.log_level)
    log = logging.getLogger("segswap.service")
    try:
        settings = _settings(args)
        service = Service.from_settings(settings)  # embedded: takes the data-dir lock
    except (StoreUnavailable, DataDirBusy) as error:
        print(f"segswap serve: {error}", file=sys.stderr)
        return 2
    except (ValueError, ImportError, AttributeError, OSError) as error:
        print(f"segswap serve: {error}", file=sys.stderr)
        return 2
    try:
        # The port first: a server that cannot listen must not recover or run anything.
        sock = listening_socket(settings.host, settings.port)
        service.start()
    except (StoreUnavailable, OSError) as error:
        service.stop()
        where = f"{settings.host}:{settings.port}"
        print(f"segswap serve: {where}: {error}", file=sys.stderr)
        return 2
    try:
        if settings.no_auth:
            log.warning("running WITHOUT authentication (--no-auth): anyone can use this server")
        elif service.keys.count_active() == 0:
            where = (
                f"SEGSWAP_BROKER_URL={settings.broker_url} segswap keys create --name me"
                if settings.broker_url
                else f"segswap keys create --data-dir {settings.data_dir} --name me"
            )
            print(
                "segswap: no API key exists yet, so every request will get 401. Make one with:\n"
                f"    {where}\n"
                "(or start with --no-auth on a trusted network)",
                file=sys.stderr,
            )
        if settings.workers == 0 and not settings.broker_url:
            log.warning("--workers 0: no worker will run jobs; submissions get 502")
        config = uvicorn.Config(
            create_app(service),
            host=settings.host,
            port=settings.port,
            log_level=str(args.log_level).lower(),
            access_log=bool(args.access_log),
            server_header=False,
            timeout_graceful_shutdown=int(settings.drain_timeout) + 5,
            http=server_protocol(settings.header_timeout),
            h11_max_incomplete_event_size=HEADER_MAX_BYTES,
        )
        draining_server(config, service).run(sockets=[sock])
    finally:
        service.stop()
    return 0


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` (not yet listening; uvicorn listens on it).

    Raises:
        OSError: the address is in use or cannot be bound.
    """
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _logging(level: object) -> None:
    logging.basicConfig(
        level=getattr(logging, str(level).upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def draining_server(config: Any, service: Any) -> Any:
    """A uvicorn server that drains on the first SIGTERM/SIGINT.

    The first signal sets ``service.draining``: new submissions get 503 and ``/health``
    503 (so a load balancer stops sending work), while status polls, results and media
    are still served. The server stops once no v1 call is in flight, or after
    ``SEGSWAP_DRAIN_TIMEOUT`` seconds; uvicorn then closes connections. A second signal
    stops at once. No signal is re-raised afterwards, so the service is stopped cleanly.
    """
    import threading
    import time

    import uvicorn

    class _Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            if service.draining or self.should_exit:
                self.should_exit = True
                self.force_exit = True
                return
            service.draining = True
            logging.getLogger("segswap.service").info(
                "draining: no new submissions; waiting for %d running call(s)",
                service.in_flight,
            )
            threading.Thread(target=self._drain, daemon=True).start()

        def _drain(self) -> None:
            deadline = time.monotonic() + service.settings.drain_timeout
            time.sleep(0.2)  # let submissions already past the door register
            while service.in_flight > 0 and time.monotonic() < deadline:
                time.sleep(0.05)
            self.should_exit = True

    return _Server(config)


# ----- worker -----


def cmd_worker(args: argparse.Namespace) -> int:
    """Run a Celery worker until SIGTERM (warm shutdown)."""
    _logging(args.log_level)
    try:
        settings = _settings(args)
    except ValueError as error:
        print(f"segswap worker: {error}", file=sys.stderr)
        return 2
    if not settings.broker_url:
        print(
            "segswap worker: set SEGSWAP_BROKER_URL (or --broker-url) to the Redis the API"
            " nodes use, e.g. redis://127.0.0.1:6379/0",
            file=sys.stderr,
        )
        return 2
    if args.concurrency < 1:
        print("segswap worker: --concurrency must be >= 1", file=sys.stderr)
        return 2
    try:
        from segswap.engine import resolve_engine

        resolve_engine(settings.engine, settings)  # fail now on an unknown engine
    except (ValueError, ImportError, AttributeError) as error:
        print(f"segswap worker: {error}", file=sys.stderr)
        return 2
    from segswap.service.jobs.celery_worker import run_worker

    queues = [q.strip() for q in (args.queues or settings.celery_queue).split(",") if q.strip()]
    return run_worker(
        settings,
        concurrency=args.concurrency,
        queues=queues,
        pool=args.pool,
        loglevel=str(args.log_level).upper(),
        hostname=args.hostname,
    )


# ----- keys -----


def _key_store(args: argparse.Namespace) -> Any:
    """The key store of the embedded default (SQLite in the data dir) or, with
    ``SEGSWAP_BROKER_URL`` / ``--broker-url``, of scale-out (Redis)."""
    from segswap.service.server import open_key_store

    store, _close = open_key_store(_settings(args))
    return store


def _one_line(error: Exception) -> str:
    """An error as one line (a settings error from pydantic spans several)."""
    return " ".join(str(error).split())


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
        settings = _settings(args)
        credits = (
            _credits_arg(args.credits) if args.credits is not None else settings.default_credits
        )
        models = [m for m in args.models.split(",") if m.strip()] if args.models else None
        if args.models is not None and not models:
            raise ValueError("models: give at least one model slug (leave --models out for all)")
    except ValueError as error:
        print(f"segswap keys create: {_one_line(error)}", file=sys.stderr)
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
        print(f"segswap keys credit: {_one_line(error)}", file=sys.stderr)
        return 2
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


# ----- webhooks -----


def cmd_webhooks_secret(args: argparse.Namespace) -> int:
    """Print the webhook signing secret (of the SQLite store, or of Redis with
    ``--broker-url``), making and storing one the first time."""
    from segswap.service.webhooks.signing import new_secret, secret_key

    settings = _settings(args)
    if settings.webhook_secret:
        try:
            secret_key(settings.webhook_secret)
        except ValueError as error:
            print(f"segswap webhooks secret: {error}", file=sys.stderr)
            return 2
        print(settings.webhook_secret)
        return 0
    if settings.broker_url:
        from segswap.service.redis_client import connect
        from segswap.service.webhooks.redis_outbox import stored_secret as redis_secret

        client = connect(settings.broker_url)
        try:
            print(redis_secret(client, new_secret()))
        finally:
            client.close()
        return 0
    from segswap.service.database import Database
    from segswap.service.webhooks.sqlite_outbox import stored_secret

    db = Database(settings.data_dir)
    try:
        print(stored_secret(db, new_secret()))
    finally:
        db.close()
    return 0
