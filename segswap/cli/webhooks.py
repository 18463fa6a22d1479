"""``segswap webhooks secret``: the key webhook deliveries are signed with."""

from __future__ import annotations

import argparse
import sys

from segswap.cli.flags import command
from segswap.cli.settings import add_setting_flags, settings_from


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``webhooks`` to the ``segswap`` command."""
    webhooks = commands.add_parser("webhooks", help="the webhook signing secret")
    webhooks_sub = webhooks.add_subparsers(dest="webhooks_command", required=True)
    secret = command(
        webhooks_sub,
        "secret",
        cmd_webhooks_secret,
        help="print the whsec_... secret webhooks are signed with (made and kept in the"
        " store the first time, unless SEGSWAP_WEBHOOK_SECRET is set)",
    )
    add_setting_flags(secret, only=("data_dir", "broker_url", "webhook_secret"))


def cmd_webhooks_secret(args: argparse.Namespace) -> int:
    """Print the webhook signing secret (of the SQLite store, or of Redis with
    ``--broker-url``), making and storing one the first time."""
    from segswap.service.webhooks.signing import new_secret, secret_key

    settings = settings_from(args)
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
