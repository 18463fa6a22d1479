"""``segswap serve``: the HTTP API (embedded job queue; scale-out with
``SEGSWAP_BROKER_URL``, docs/scaling.md). Every setting is a flag."""

from __future__ import annotations

import argparse
import logging
import socket
import sys
from pathlib import Path
from typing import Any

from segswap.cli.flags import command
from segswap.cli.settings import add_setting_flags, settings_from, start_logging
from segswap.settings import Settings


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``serve`` to the ``segswap`` command."""
    serve = command(
        commands,
        "serve",
        cmd_serve,
        help="run the HTTP API (embedded job queue; scale-out with SEGSWAP_BROKER_URL)",
        description="Run the HTTP API. Listens only once the store is open, interrupted "
        "jobs are recovered and the workers are running. Every setting is a flag.",
    )
    add_setting_flags(serve)
    serve.add_argument("--log-level", default="info", help="debug, info, warning, error")
    serve.add_argument("--access-log", action="store_true", help="log every request")


def cmd_serve(args: argparse.Namespace) -> int:
    """Start the server; returns when it is stopped (Ctrl-C / SIGTERM: drain, then stop)."""
    import uvicorn

    from segswap.service.datadir import DataDirBusy
    from segswap.service.errors import StoreUnavailable
    from segswap.service.http.app import create_app
    from segswap.service.http.protocol import HEADER_MAX_BYTES, server_protocol
    from segswap.service.server import Service

    start_logging(args.log_level)
    log = logging.getLogger("segswap.service")
    try:
        settings = settings_from(args)
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
        log.info("%s", where_it_serves(settings, sock.getsockname()[1]))
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


def page_url(host: str, port: int) -> str:
    """The URL of the page for a server listening on ``host:port``: a wildcard address
    (``0.0.0.0``, ``::``, empty) is reached on this machine through loopback."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def where_it_serves(settings: Settings, port: int) -> str:
    """The one start-up line a newcomer can click: the page, ``/docs``, the store (the
    data folder, or the Redis URL without its password), the engine and the fill."""
    url = page_url(settings.host, port)
    if settings.broker_url:
        from urllib.parse import urlsplit

        parts = urlsplit(settings.broker_url)
        netloc = parts.hostname or ""
        netloc = f"[{netloc}]" if ":" in netloc else netloc
        netloc += f":{parts.port}" if parts.port else ""
        store = f"store {parts.scheme}://{netloc}{parts.path} (scale-out)"
    else:
        store = f"data folder {Path(settings.data_dir).resolve()}"
    return (
        f"serving the page on {url} and the API docs on {url}docs; {store}; "
        f"engine {settings.engine}, fill {settings.fill}"
    )


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
