"""Issue 12 item 1: a native crash inside the engine ends one attempt of one job, in an
engine process; the server keeps answering and replaces the dead process."""

from __future__ import annotations

import sqlite3
import time

import httpx
import pytest
from service_support import Server

from segswap.service.jobs.processes import describe_exit

CRASHING = {
    "SEGSWAP_ENGINE": "segswap_test_engines:CrashingEngine",
    "SEGSWAP_WORKERS": "1",
    "SEGSWAP_MAX_ATTEMPTS": "2",
}
CRASH_SEED = 666


def _settled(client: httpx.Client, status_url: str) -> dict[str, object]:
    """Poll a v2 status URL until the job is COMPLETED or FAILED (the subprocess
    timeout of the suite bounds a job that never settles)."""
    while True:
        body: dict[str, object] = client.get(status_url).json()
        if body["status"] in ("COMPLETED", "FAILED"):
            return body
        time.sleep(0.05)


@pytest.fixture(scope="module")
def crashing(make_server) -> Server:
    """One one-worker server with the crashing engine, for this module's tests."""
    return make_server(CRASHING)


def _crashing_server(server: Server) -> tuple[Server, str, httpx.Client]:
    """The crashing server, a new key with 5 credits, a client with it."""
    key = server.create_key(credits=5)
    return server, key, httpx.Client(headers={"x-api-key": key}, timeout=60)


def _attempts(data_dir, job_id: str) -> int:
    conn = sqlite3.connect(data_dir / "segswap.db")
    try:
        return int(conn.execute("SELECT attempts FROM jobs WHERE id = ?", (job_id,)).fetchone()[0])
    finally:
        conn.close()


def test_a_segfaulting_v2_job_fails_after_its_attempts_refunded_and_the_server_serves_on(
    crashing, payload
) -> None:
    server, key, client = _crashing_server(crashing)
    logged = len(server.log())  # the module's other test shares this server
    job = client.post(server.url + "/v2/seg-swap", json={**payload, "seed": CRASH_SEED})
    assert job.status_code == 200, job.text
    body = _settled(client, job.json()["status_url"])
    assert body["status"] == "FAILED", body
    error = str(body["error"])
    assert "2 attempt(s)" in error and "SIGSEGV" in error, body
    assert _attempts(server.data_dir, job.json()["request_id"]) == 2
    assert server.credits(key) == 5  # refunded
    assert client.get(server.url + "/health").status_code == 200
    # The dead process was replaced: the next job runs and completes.
    normal = client.post(server.url + "/v2/seg-swap", json=payload).json()
    assert _settled(client, normal["status_url"])["status"] == "COMPLETED"
    result = client.get(normal["response_url"])
    assert result.status_code == 200, result.text
    assert server.credits(key) == 4
    assert "killed by SIGSEGV" in server.log()[logged:]


def test_a_segfaulting_v1_call_is_a_500_error_body_and_the_server_stays_up(
    crashing, payload
) -> None:
    server, key, client = _crashing_server(crashing)
    for _ in range(3):
        crashed = client.post(server.url + "/v1/seg-swap", json={**payload, "seed": CRASH_SEED})
        assert crashed.status_code == 500, crashed.text
        assert "engine process running it died" in crashed.json()["error"]
        assert client.get(server.url + "/health").status_code == 200
    assert server.credits(key) == 5
    ok = client.post(server.url + "/v1/seg-swap", json=payload)
    assert ok.status_code == 200, ok.text
    assert ok.headers["content-type"] == "image/png"
    assert server.credits(key) == 4


def test_exit_codes_in_words() -> None:
    assert describe_exit(-11) == "killed by SIGSEGV"
    assert describe_exit(-9) == "killed by SIGKILL"
    assert describe_exit(1) == "exit status 1"
    assert describe_exit(None) == "no exit status"
