"""``segswap worker``: a scale-out worker (Celery on ``SEGSWAP_BROKER_URL``,
docs/scaling.md)."""

from __future__ import annotations

import argparse
import sys

from segswap.cli.flags import command
from segswap.cli.settings import add_setting_flags, settings_from, start_logging
from segswap.settings import engine_settings

WORKER_SETTINGS = (
    "max_pixels",
    "allow_private_urls",
    "fetch_max_bytes",
    "fetch_timeout",
    "fetch_max_redirects",
    "engine",
    *engine_settings(),
    "result_ttl",
    "broker_url",
    "celery_queue",
    "visibility_timeout",
    "job_lease",
    "max_attempts",
)
"""The settings a ``segswap worker`` uses (the HTTP-only ones are not its flags)."""


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``worker`` to the ``segswap`` command."""
    worker = command(
        commands,
        "worker",
        cmd_worker,
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
    add_setting_flags(worker, only=WORKER_SETTINGS)


def cmd_worker(args: argparse.Namespace) -> int:
    """Run a Celery worker until SIGTERM (warm shutdown)."""
    start_logging(args.log_level)
    try:
        settings = settings_from(args)
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
