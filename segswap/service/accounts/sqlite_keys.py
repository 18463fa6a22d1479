"""The SQLite key store of the embedded default: the ``keys`` table of ``segswap.db``."""

from __future__ import annotations

import hmac
import sqlite3
import time

from segswap.service.accounts.amounts import (
    MAX_CREDITS,
    MAX_MICRO,
    InvalidCredits,
    from_micro,
)
from segswap.service.accounts.cache import AUTH_CACHE_SECONDS, AuthCache, CachedAuthentication
from segswap.service.accounts.keys import DISPLAY_CHARS, KeyRecord, KeyStore, NewKey, UnknownKey
from segswap.service.database import Database


def _record(row: sqlite3.Row) -> KeyRecord:
    models = row["models"]
    return KeyRecord(
        id=row["id"],
        name=row["name"],
        prefix=row["prefix"],
        credits=from_micro(row["micro_credits"]),
        admin=bool(row["admin"]),
        models=tuple(models.split(",")) if models is not None else None,
        created=row["created"],
        revoked=row["revoked"],
    )


class SqliteKeyStore(CachedAuthentication, KeyStore):
    """Keys in the ``keys`` table of the embedded SQLite store, authenticated through an
    :class:`~segswap.service.accounts.cache.AuthCache` of ``cache_seconds`` (1 s): a key
    revoked or credited by another process (``segswap keys``) is seen within that time;
    changes made through this object are seen at once.
    """

    def __init__(self, db: Database, cache_seconds: float = AUTH_CACHE_SECONDS) -> None:
        self.db = db
        self.cache = AuthCache(cache_seconds)

    def insert(self, made: NewKey, name: str, admin: bool) -> None:
        """Store the new key ``made`` as ``name``. Raises ValueError: the name is taken."""
        key_id = made.id
        with self.db.transaction() as conn:
            if conn.execute("SELECT 1 FROM keys WHERE name = ?", (name,)).fetchone():
                raise ValueError(f"a key named {name!r} exists already")
            conn.execute(
                "INSERT INTO keys (id, name, prefix, hash, micro_credits, admin, models, created)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    key_id,
                    name,
                    made.prefix,
                    made.digest,
                    made.micro_credits,
                    int(admin),
                    ",".join(made.models) if made.models else None,
                    time.time(),
                ),
            )

    def lookup(self, presented: str, digest: str) -> KeyRecord | None:
        """The active key with this secret, found by its display prefix."""
        rows = (
            self.db.conn()
            .execute(
                "SELECT * FROM keys WHERE prefix = ? AND revoked IS NULL",
                (presented[:DISPLAY_CHARS],),
            )
            .fetchall()
        )
        found = None
        for row in rows:
            if hmac.compare_digest(row["hash"], digest):
                found = row
        return _record(found) if found is not None else None

    def list(self) -> list[KeyRecord]:
        """Every key, oldest first."""
        rows = self.db.conn().execute("SELECT * FROM keys ORDER BY created").fetchall()
        return [_record(row) for row in rows]

    def find(self, id_or_name: str) -> KeyRecord:
        """The key with this id or name. Raises :class:`UnknownKey`."""
        row = (
            self.db.conn()
            .execute("SELECT * FROM keys WHERE id = ? OR name = ?", (id_or_name, id_or_name))
            .fetchone()
        )
        if row is None:
            raise UnknownKey(f"no key with id or name {id_or_name!r}")
        return _record(row)

    def revoke(self, id_or_name: str) -> KeyRecord:
        """Revoke a key: it stops working at once. Raises :class:`UnknownKey`."""
        record = self.find(id_or_name)
        with self.db.transaction() as conn:
            conn.execute(
                "UPDATE keys SET revoked = ? WHERE id = ? AND revoked IS NULL",
                (time.time(), record.id),
            )
        self.cache.clear()
        return self.find(record.id)

    def add_micro(self, key_id: str, delta: int) -> None:
        """Add ``delta`` micro-credits (not below 0), inside one transaction."""
        with self.db.transaction() as conn:
            row = conn.execute(
                "UPDATE keys SET micro_credits = MAX(micro_credits + ?, 0) WHERE id = ?"
                " RETURNING micro_credits",
                (delta, key_id),
            ).fetchone()
            if row is not None and row[0] > MAX_MICRO:
                raise InvalidCredits(f"credits: a key holds at most {MAX_CREDITS} credits")
        self.cache.clear()

    def count_active(self) -> int:
        """How many keys are not revoked."""
        row = self.db.conn().execute("SELECT COUNT(*) FROM keys WHERE revoked IS NULL").fetchone()
        return int(row[0])
