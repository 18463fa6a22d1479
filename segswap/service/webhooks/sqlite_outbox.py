"""Pending webhook deliveries of the embedded default, in the SQLite store.

A trigger on ``jobs`` adds a row to ``webhooks`` in the very transaction that settles a
job with a ``webhook_url`` (whichever code path settles it), so a delivery cannot be
lost between settling and sending; rows survive restarts.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping

from segswap.service.database import Database
from segswap.service.webhooks.delivery import Pending

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS webhooks (
        job_id TEXT PRIMARY KEY,
        key_id TEXT NOT NULL,
        url TEXT NOT NULL,
        base_url TEXT NOT NULL,
        settled REAL NOT NULL,
        due REAL NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0
    )""",
    "CREATE INDEX IF NOT EXISTS webhooks_due ON webhooks(due)",
    "CREATE INDEX IF NOT EXISTS webhooks_key_due ON webhooks(key_id, due)",
    """CREATE TRIGGER IF NOT EXISTS jobs_settled_webhook AFTER UPDATE OF state ON jobs
    WHEN NEW.state IN ('COMPLETED', 'FAILED') AND OLD.state IN ('QUEUED', 'PROCESSING')
        AND NEW.webhook_url IS NOT NULL
    BEGIN
        INSERT OR IGNORE INTO webhooks (job_id, key_id, url, base_url, settled, due)
        VALUES (NEW.id, NEW.key_id, NEW.webhook_url, COALESCE(NEW.webhook_base, ''),
                COALESCE(NEW.finished, 0), COALESCE(NEW.finished, 0));
    END""",
)


class SqliteOutbox:
    """The ``webhooks`` table (see the module docstring)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        with db.transaction() as conn:
            for statement in SCHEMA:
                conn.execute(statement)

    def claim(
        self, now: float, limit: int, lease: float, per_key: int, busy: Mapping[str, int]
    ) -> list[Pending]:
        with self.db.transaction() as conn:
            # the first per_key due deliveries of each key, earliest due first; then
            # those of keys with deliveries in flight cut to what the key has left
            candidates = conn.execute(
                "SELECT job_id, key_id, url, base_url, settled, attempts FROM"
                " (SELECT *, ROW_NUMBER() OVER (PARTITION BY key_id ORDER BY due) AS nth"
                "  FROM webhooks WHERE due <= ?)"
                " WHERE nth <= ? ORDER BY due",
                (now, per_key),
            ).fetchall()
            taken: dict[str, int] = dict(busy)
            rows: list[sqlite3.Row] = []
            for row in candidates:
                if len(rows) == limit:
                    break
                if taken.get(row["key_id"], 0) < per_key:
                    taken[row["key_id"]] = taken.get(row["key_id"], 0) + 1
                    rows.append(row)
            conn.executemany(
                "UPDATE webhooks SET due = ? WHERE job_id = ?",
                [(now + lease, row["job_id"]) for row in rows],
            )
        return [
            Pending(
                row["job_id"],
                row["key_id"],
                row["url"],
                row["base_url"],
                row["settled"],
                row["attempts"],
            )
            for row in rows
        ]

    def delivered(self, job_id: str) -> None:
        self.drop(job_id)

    def retry(self, job_id: str, due: float, attempts: int) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE webhooks SET due = ?, attempts = ? WHERE job_id = ?",
                (due, attempts, job_id),
            )

    def drop(self, job_id: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM webhooks WHERE job_id = ?", (job_id,))

    def pending(self) -> int:
        return int(self.db.conn().execute("SELECT COUNT(*) FROM webhooks").fetchone()[0])


def stored_secret(db: Database, fresh: str) -> str:
    """The signing secret kept in the store: ``fresh`` the first time, then that one."""
    with db.transaction() as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL)"
        )
        conn.execute(
            "INSERT OR IGNORE INTO settings (name, value) VALUES ('webhook_secret', ?)", (fresh,)
        )
        row = conn.execute("SELECT value FROM settings WHERE name = 'webhook_secret'").fetchone()
    return str(row[0])
