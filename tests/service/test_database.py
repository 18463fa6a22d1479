"""The SQLite store: a data dir made by an older release keeps working."""

from __future__ import annotations

import json
import sqlite3
import time

import httpx
from service_support import MODEL, wait_settled

# The jobs table as releases before the format registry made it: with the dead
# ``media_token`` (UNIQUE) and ``content_type`` columns.
OLD_JOBS = """
CREATE TABLE jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT UNIQUE NOT NULL, key_id TEXT NOT NULL,
    kind TEXT NOT NULL, model TEXT NOT NULL, state TEXT NOT NULL, request TEXT,
    price REAL NOT NULL, base64 INTEGER NOT NULL, created REAL NOT NULL, started REAL,
    finished REAL, expires REAL, error TEXT, error_status INTEGER,
    media_token TEXT UNIQUE, media_file TEXT, content_type TEXT, metrics TEXT,
    attempts INTEGER NOT NULL DEFAULT 0
)
"""


def test_old_data_dir_is_migrated_and_its_queued_job_runs(make_server, tmp_path, payload):
    from segswap.params import parse_request
    from segswap.service.accounts.sqlite_keys import SqliteKeyStore
    from segswap.service.database import Database

    data_dir = tmp_path / "old-release"
    data_dir.mkdir()
    conn = sqlite3.connect(data_dir / "segswap.db")
    conn.execute(OLD_JOBS)
    now = time.time()
    request = parse_request(json.loads(json.dumps(payload))).model_dump_json()
    conn.execute(
        "INSERT INTO jobs (seq, id, key_id, kind, model, state, request, price, base64,"
        " created, media_token, content_type) VALUES (41, 'queued-job', ?, 'v2', ?, 'QUEUED',"
        " ?, 1, 0, ?, 'tok', 'image/png')",
        ("placeholder", MODEL, request, now),
    )
    conn.commit()
    conn.close()
    db = Database(data_dir)  # the migration runs here
    try:
        secret, record = SqliteKeyStore(db).create(credits=9.0)
        with db.transaction() as tx:
            tx.execute("UPDATE jobs SET key_id = ? WHERE id = 'queued-job'", (record.id,))
        columns = [row[1] for row in db.conn().execute("PRAGMA table_info(jobs)")]
        kept = db.conn().execute("SELECT seq, state, request FROM jobs").fetchall()
        indexes = {row[1] for row in db.conn().execute("PRAGMA index_list(jobs)")}
    finally:
        db.close()
    assert "media_token" not in columns and "content_type" not in columns
    assert [tuple(row) for row in kept] == [(41, "QUEUED", request)]
    assert {"jobs_state", "jobs_expires", "jobs_media_file"} <= indexes

    server = make_server(data_dir=data_dir)
    url = f"{server.url}/v2/requests/queued-job/status"
    assert wait_settled(httpx.Client(), url, {"x-api-key": secret}).json()["status"] == "COMPLETED"
    assert server.credits(secret) == 9.0  # charged before the upgrade, not again
