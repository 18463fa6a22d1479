"""Upgrading a SQLite key store written before credits were whole micro-credits.

Older stores have a ``credits REAL`` column. It becomes ``micro_credits INTEGER``
(credits × 10^6, rounded), in the same transaction that opens the store: a balance that
was infinite (older versions accepted ``Infinity``) or above the cap becomes
:data:`~segswap.service.accounts.amounts.MAX_CREDITS`; none was NaN (SQLite refused it).
"""

from __future__ import annotations

import sqlite3

from segswap.service.accounts.amounts import MAX_CREDITS, MICRO_PER_CREDIT


def migrate_real_credits(conn: sqlite3.Connection) -> bool:
    """Convert the ``keys`` table's REAL ``credits`` to ``micro_credits``, if it has
    one; returns whether it did. Runs inside the caller's write transaction."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(keys)")}
    if "credits" not in columns or "micro_credits" in columns:
        return False
    conn.execute(
        "ALTER TABLE keys ADD COLUMN micro_credits INTEGER NOT NULL DEFAULT 0"
        " CHECK (micro_credits >= 0)"
    )
    conn.execute(
        "UPDATE keys SET micro_credits = CAST(ROUND(MIN(MAX(credits, 0), ?) * ?) AS INTEGER)",
        (MAX_CREDITS, MICRO_PER_CREDIT),
    )
    conn.execute("ALTER TABLE keys DROP COLUMN credits")
    return True
