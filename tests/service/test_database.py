"""The SQLite store: a data dir made by an older release keeps working."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import httpx
import numpy as np
from service_support import HTTP_TIMEOUT, MODEL, b64, png_bytes, wait_settled

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
    assert (
        wait_settled(httpx.Client(timeout=HTTP_TIMEOUT), url, {"x-api-key": secret}).json()[
            "status"
        ]
        == "COMPLETED"
    )
    assert server.credits(secret) == 9.0  # charged before the upgrade, not again


def _bytes_on_disk(data_dir: Path) -> tuple[int, int]:
    """Sizes of ``segswap.db`` and of its WAL (0 when there is none), in bytes."""
    wal = data_dir / "segswap.db-wal"
    return (data_dir / "segswap.db").stat().st_size, wal.stat().st_size if wal.exists() else 0


def test_the_data_dir_shrinks_once_results_expire(make_server, tmp_path, payload):
    """v2 jobs keep their request (the images, base64) in the database until they expire;
    once the sweep has deleted them, the database file and its WAL give the space back."""
    from segswap_test_engines import FAULTY_SEED

    data_dir = tmp_path / "shrinking"
    server = make_server(
        {
            "SEGSWAP_ENGINE": "segswap_test_engines:ContractEngine",
            "SEGSWAP_RESULT_TTL": "2",
            "SEGSWAP_SWEEP_INTERVAL": "0.2",
            "SEGSWAP_RATE_LIMIT": "0",
        },
        data_dir=data_dir,
    )
    key = server.create_key(credits=100)
    noise = np.random.default_rng(0).integers(0, 256, (700, 700, 3), dtype=np.uint8)
    scene = b64(png_bytes(noise))  # ~2 MB of base64 that does not compress
    body = {**payload, "main_image": scene, "seed": FAULTY_SEED}  # fails at once
    ids = []
    with httpx.Client(timeout=60) as client:
        for _ in range(6):
            r = client.post(f"{server.url}/v2/{MODEL}", json=body, headers={"x-api-key": key})
            assert r.status_code == 200, r.text
            ids.append(r.json()["request_id"])
        stored = sum(_bytes_on_disk(data_dir))
        assert stored > 6 * len(scene)  # the requests are in the database (or its WAL)
        for job_id in ids:  # FAILED, then expired and deleted by the sweep
            url = f"{server.url}/v2/requests/{job_id}/status"
            deadline = time.monotonic() + 120
            while client.get(url, headers={"x-api-key": key}).status_code != 404:
                assert time.monotonic() < deadline, f"{job_id} did not expire"
                time.sleep(0.2)
    deadline = time.monotonic() + 60
    while sum(_bytes_on_disk(data_dir)) > len(scene):
        assert time.monotonic() < deadline, f"still {_bytes_on_disk(data_dir)} bytes"
        time.sleep(0.2)
    db_bytes, wal_bytes = _bytes_on_disk(data_dir)
    assert db_bytes < len(scene) // 4 and wal_bytes < len(scene), (db_bytes, wal_bytes)
