"""One server per data dir, and a server that cannot listen runs nothing."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import time

import httpx
from service_support import (
    HERE,
    HTTP_TIMEOUT,
    MODEL,
    ROOT,
    free_port,
    make_key,
    segswap_command,
    wait_settled,
)

SLOW = {
    "SEGSWAP_ENGINE": "segswap_test_engines:SlowEngine",
    "SEGSWAP_WORKERS": "1",
    "SEGSWAP_TEST_DELAY": "0.3",
}


def serve(data_dir, port: int, **env: str) -> subprocess.CompletedProcess[str]:
    """Run a second ``segswap serve`` to its end (at most 20 s)."""
    environ = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(HERE), str(ROOT)]),
        "SEGSWAP_DATA_DIR": str(data_dir),
        **env,
    }
    return subprocess.run(
        [*segswap_command(), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=environ,
        capture_output=True,
        text=True,
        timeout=20,
    )


def test_second_server_on_one_data_dir_exits_2_and_leaves_the_first_ones_jobs(
    make_server, tmp_path, payload
):
    data_dir = tmp_path / "shared"
    first = make_server(SLOW, data_dir=data_dir)
    key = first.create_key(credits=100)
    client = httpx.Client(headers={"x-api-key": key}, timeout=HTTP_TIMEOUT)
    jobs = [client.post(f"{first.url}/v2/{MODEL}", json=payload).json() for _ in range(6)]

    # Its own settings would fail every job (workers 0 = no worker): it must not touch them.
    second = serve(data_dir, free_port(), SEGSWAP_WORKERS="0")
    assert second.returncode == 2, second.stderr
    assert "in use by another segswap serve" in second.stderr and str(data_dir) in second.stderr

    for job in jobs:
        assert wait_settled(client, job["status_url"], {}).json()["status"] == "COMPLETED"
    conn = sqlite3.connect(data_dir / "segswap.db")
    try:
        attempts = [row[0] for row in conn.execute("SELECT attempts FROM jobs")]
    finally:
        conn.close()
    assert attempts == [1] * 6  # each ran once, on the first server
    assert first.credits(key) == 100 - 6


def test_server_that_cannot_bind_its_port_recovers_nothing(server, make_server, tmp_path, payload):
    """The port is bound before recovery: a server whose port is taken exits 2 and its
    data dir's queued job stays QUEUED, for the server that can listen."""
    busy = server  # any running server holds a port
    data_dir = tmp_path / "other"
    key = make_key(data_dir, credits=10)  # makes the store, as a server's start does
    conn = sqlite3.connect(data_dir / "segswap.db")
    from segswap.params import parse_request

    request = parse_request(payload).model_dump_json()
    conn.execute(
        "INSERT INTO jobs (id, key_id, kind, model, state, request, price, base64, created,"
        " started, attempts) SELECT 'waiting', id, 'v2', ?, 'PROCESSING', ?, 1, 0, ?, ?, 1"
        " FROM keys",
        (MODEL, request, time.time(), time.time()),
    )
    conn.commit()
    conn.close()

    refused = serve(data_dir, busy.port)
    assert refused.returncode == 2, refused.stderr
    assert f"127.0.0.1:{busy.port}" in refused.stderr
    conn = sqlite3.connect(data_dir / "segswap.db")
    try:
        row = conn.execute("SELECT state, attempts FROM jobs WHERE id = 'waiting'").fetchone()
    finally:
        conn.close()
    assert row == ("PROCESSING", 1)  # not recovered, not run

    good = make_server(data_dir=data_dir)
    url = f"{good.url}/v2/requests/waiting/status"
    assert (
        wait_settled(httpx.Client(timeout=HTTP_TIMEOUT), url, {"x-api-key": key}).json()["status"]
        == "COMPLETED"
    )
