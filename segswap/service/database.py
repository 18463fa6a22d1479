"""The SQLite store of the embedded default: keys and jobs in ``<data_dir>/segswap.db``.

One connection per thread (``sqlite3`` connections are not shared), WAL journal so
readers never wait for the writer, ``busy_timeout`` so writers queue up instead of
failing. Writes that must be atomic run in ``BEGIN IMMEDIATE`` transactions.

With ``synchronous=NORMAL`` in WAL mode a committed transaction survives a crash of the
process (``kill -9``); only a power loss may drop the last few commits.

The file gives space back: the database is in incremental auto-vacuum mode (a store
made before is converted once, by a ``VACUUM`` at start), and :meth:`Database.reclaim`,
run after each expiry sweep that deleted jobs, returns the free pages to the file
system and checkpoints the WAL, truncating it. A checkpoint also truncates the WAL to
:data:`WAL_LIMIT` bytes at most (``journal_size_limit``).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from segswap.service.accounts.migration import migrate_real_credits

JOBS_TABLE = """
CREATE TABLE {name} (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE NOT NULL,
    key_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    model TEXT NOT NULL,
    state TEXT NOT NULL,
    request TEXT,
    price REAL NOT NULL,
    base64 INTEGER NOT NULL,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    expires REAL,
    error TEXT,
    error_status INTEGER,
    media_file TEXT,
    metrics TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    progress REAL NOT NULL DEFAULT 0,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    canceled INTEGER NOT NULL DEFAULT 0,
    webhook_url TEXT,
    webhook_base TEXT
)"""

SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS keys (
    id TEXT PRIMARY KEY,
    name TEXT UNIQUE NOT NULL,
    prefix TEXT NOT NULL,
    hash TEXT NOT NULL,
    micro_credits INTEGER NOT NULL CHECK (micro_credits >= 0),
    admin INTEGER NOT NULL DEFAULT 0,
    models TEXT,
    created REAL NOT NULL,
    revoked REAL
);
CREATE INDEX IF NOT EXISTS keys_prefix ON keys(prefix);
"""
    + JOBS_TABLE.format(name="IF NOT EXISTS jobs")
    + """;
CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state);
CREATE INDEX IF NOT EXISTS jobs_expires ON jobs(expires);
CREATE INDEX IF NOT EXISTS jobs_media_file ON jobs(media_file);
CREATE TABLE IF NOT EXISTS idempotency (
    key_id TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    job_id TEXT NOT NULL,
    PRIMARY KEY (key_id, idem_key)
);
CREATE INDEX IF NOT EXISTS idempotency_job ON idempotency(job_id);
"""
)

# Columns added after the first release: (table, column, definition), added when missing.
MIGRATIONS = (
    ("jobs", "attempts", "INTEGER NOT NULL DEFAULT 0"),
    ("jobs", "progress", "REAL NOT NULL DEFAULT 0"),
    ("jobs", "cancel_requested", "INTEGER NOT NULL DEFAULT 0"),
    ("jobs", "canceled", "INTEGER NOT NULL DEFAULT 0"),
    ("jobs", "webhook_url", "TEXT"),
    ("jobs", "webhook_base", "TEXT"),
)
# Columns of older releases that nothing reads: the jobs table is rebuilt without them
# (``media_token`` is UNIQUE, which ``ALTER TABLE ... DROP COLUMN`` cannot drop).
DROPPED = ("media_token", "content_type")

DB_NAME = "segswap.db"
BUSY_TIMEOUT_MS = 10_000
WAL_LIMIT = 4 * 1024 * 1024
"""Bytes the WAL file is cut back to at each checkpoint (``journal_size_limit``)."""
INCREMENTAL = 2
"""``PRAGMA auto_vacuum`` of incremental auto-vacuum."""


class Database:
    """The SQLite file under ``data_dir``, with one connection per calling thread."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.data_dir / DB_NAME
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._write_lock = threading.RLock()
        self._incremental_auto_vacuum()
        with self.transaction() as conn:
            for table, column, definition in MIGRATIONS:  # a store made by an older version
                names = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
                if names and column not in names:
                    conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
            _drop_dead_columns(conn)
            migrate_real_credits(conn)
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)

    def conn(self) -> sqlite3.Connection:
        """This thread's connection (autocommit mode; use :meth:`transaction` to write)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=30
            )
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(f"PRAGMA journal_size_limit={WAL_LIMIT}")
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (``BEGIN IMMEDIATE``): committed on success, else rolled back.

        Writers of this process take turns on a lock first: a waiting thread wakes the
        moment the lock is free, instead of sleeping in SQLite's busy handler (which
        backs off by milliseconds and would stall the event loop). Other processes
        (``segswap keys``) still meet ``busy_timeout``.
        """
        conn = self.conn()
        with self._write_lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _incremental_auto_vacuum(self) -> None:
        """Put the file in incremental auto-vacuum mode: the mode is set, and applied by a
        ``VACUUM`` where the file already has pages (once; a store made before this takes
        as long as copying it)."""
        conn = self.conn()
        if conn.execute("PRAGMA auto_vacuum").fetchone()[0] == INCREMENTAL:
            return
        with self._write_lock:
            conn.execute(f"PRAGMA auto_vacuum={INCREMENTAL}")
            if conn.execute("PRAGMA auto_vacuum").fetchone()[0] != INCREMENTAL:
                conn.execute("VACUUM")  # the file exists (WAL mode writes its header)

    def reclaim(self) -> tuple[int, int]:
        """Give the free pages back to the file system and checkpoint the WAL, truncating
        it (it stays as it is while another connection reads; the next call retries).
        Returns the bytes of the database and of its WAL afterwards."""
        conn = self.conn()
        with self._write_lock:
            conn.executescript("PRAGMA incremental_vacuum;")  # steps it to the end
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        wal = self.path.with_name(self.path.name + "-wal")
        return self.path.stat().st_size, wal.stat().st_size if wal.exists() else 0

    def close(self) -> None:
        """Close every connection this object opened (call once no thread uses it)."""
        with self._lock:
            for conn in self._all:
                with contextlib.suppress(sqlite3.Error):  # closing is best effort
                    conn.close()
            self._all.clear()
        self._local = threading.local()


def _drop_dead_columns(conn: sqlite3.Connection) -> None:
    """Rebuild an older store's ``jobs`` table without :data:`DROPPED`, keeping every row
    (and ``seq``, so the queue order survives); the indexes are made again afterwards."""
    names = [row[1] for row in conn.execute("PRAGMA table_info(jobs)")]
    if not any(column in names for column in DROPPED):
        return
    kept = ", ".join(column for column in names if column not in DROPPED)
    conn.execute(JOBS_TABLE.format(name="jobs_migrated"))
    conn.execute(f"INSERT INTO jobs_migrated ({kept}) SELECT {kept} FROM jobs")
    conn.execute("DROP TABLE jobs")
    conn.execute("ALTER TABLE jobs_migrated RENAME TO jobs")
