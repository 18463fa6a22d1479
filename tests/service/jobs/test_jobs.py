"""The job queue: FIFO fairness, crash recovery, load, and the operational endpoints."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time

import httpx
import pytest
from service_support import HTTP_TIMEOUT, MODEL, Server, wait_settled

V1 = f"/v1/{MODEL}"
V2 = f"/v2/{MODEL}"
SLOW = {"SEGSWAP_ENGINE": "segswap_test_engines:SlowEngine", "SEGSWAP_WORKERS": "1"}


def h(key: str) -> dict[str, str]:
    return {"x-api-key": key}


def states(data_dir) -> dict[str, int]:
    conn = sqlite3.connect(data_dir / "segswap.db")
    try:
        return dict(conn.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state").fetchall())
    finally:
        conn.close()


def test_v1_and_v2_share_one_fifo_queue(make_server, payload):
    srv = make_server({**SLOW, "SEGSWAP_TEST_DELAY": "0.25"})
    key = srv.create_key()
    client = httpx.Client(headers=h(key), timeout=HTTP_TIMEOUT)
    jobs = [client.post(srv.url + V2, json=payload).json() for _ in range(3)]
    started = time.monotonic()
    r = client.post(srv.url + V1, json=payload, timeout=30)
    assert r.status_code == 200
    assert time.monotonic() - started >= 4 * 0.25 * 0.9  # waited for the three before it
    for job in jobs:  # all three finished before the later v1 call
        assert client.get(job["status_url"]).json()["status"] == "COMPLETED"


def test_kill_9_with_jobs_queued_then_restart_completes_all(make_server, tmp_path, payload):
    data_dir = tmp_path / "crash"
    first = make_server({**SLOW, "SEGSWAP_TEST_DELAY": "0.4"}, data_dir=data_dir)
    key = first.create_key(credits=100)
    client = httpx.Client(headers=h(key), timeout=HTTP_TIMEOUT)
    jobs = [client.post(first.url + V2, json=payload).json() for _ in range(8)]
    lost_sync = threading.Thread(  # a v1 caller whose connection dies with the server
        target=lambda: pytest.raises(
            httpx.TransportError, client.post, first.url + V1, json=payload
        ),
    )
    lost_sync.start()
    deadline = time.monotonic() + 10
    while client.get(jobs[0]["status_url"]).json()["status"] != "PROCESSING":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    first.kill()
    lost_sync.join(10)
    before = states(data_dir)
    assert before.get("PROCESSING", 0) >= 1 and before.get("QUEUED", 0) >= 5

    second = make_server({"SEGSWAP_WORKERS": "2"}, data_dir=data_dir)  # same data dir
    for job in jobs:
        url = job["status_url"].replace(f":{first.port}/", f":{second.port}/")
        assert wait_settled(client, url, {}).json()["status"] == "COMPLETED"
    after = states(data_dir)
    assert after.get("PROCESSING", 0) == 0 and after.get("QUEUED", 0) == 0
    assert after["COMPLETED"] >= 8
    assert second.credits(key) == 100 - 8  # the lost v1 call was refunded


def test_200_jobs_from_20_clients_while_they_poll(server: Server, payload):
    """200 v2 jobs from 20 concurrent clients polling like the SDK: all COMPLETED, no 5xx.
    (How fast the polls are under that load is measured by ``benchmarks/api.py``.)"""
    keys = [server.create_key() for _ in range(20)]
    codes: list[int] = []

    async def one_client(key: str) -> list[str]:
        """Submit 10 jobs, then wait for each in turn, polling like the SDK's wait()."""
        async with httpx.AsyncClient(headers=h(key), timeout=HTTP_TIMEOUT) as client:
            urls = []
            for _ in range(10):
                r = await client.post(server.url + V2, json=payload)
                codes.append(r.status_code)
                urls.append(r.json()["status_url"])
            final = []
            for url in urls:
                while True:
                    r = await client.get(url)
                    codes.append(r.status_code)
                    if r.json()["status"] in ("COMPLETED", "FAILED"):
                        final.append(r.json()["status"])
                        break
                    await asyncio.sleep(0.1)
            return final

    async def everyone() -> list[list[str]]:
        return await asyncio.gather(*(one_client(k) for k in keys))

    results = asyncio.run(everyone())
    assert [s for per_client in results for s in per_client] == ["COMPLETED"] * 200
    assert not [c for c in codes if c >= 500]


def test_health_metrics_openapi_docs(server: Server, key, payload):
    assert httpx.get(server.url + "/health", timeout=HTTP_TIMEOUT).json()["status"] == "ok"
    httpx.post(server.url + V1, json=payload, headers=h(key), timeout=HTTP_TIMEOUT)
    text = httpx.get(server.url + "/metrics", timeout=HTTP_TIMEOUT).text
    for series in (
        "segswap_http_requests_total{",
        "segswap_http_request_duration_seconds_bucket",
        "segswap_queue_depth ",
        'segswap_jobs{state="COMPLETED"}',
        "segswap_job_inference_seconds_count",
        "segswap_workers 2",
    ):
        assert series in text
    assert 'route="/v1/seg-swap",status="200"' in text
    spec = httpx.get(server.url + "/openapi.json", timeout=HTTP_TIMEOUT).json()
    assert {
        "/v1/seg-swap",
        "/v2/seg-swap",
        "/v2/requests/{request_id}/status",
        "/v2/requests/{request_id}",
        "/health",
        "/metrics",
    } <= set(spec["paths"])
    body = spec["paths"]["/v1/seg-swap"]["post"]["requestBody"]["content"]
    assert "steps" in body["application/json"]["schema"]["properties"]
    assert "swagger" in httpx.get(server.url + "/docs", timeout=HTTP_TIMEOUT).text.lower()


def test_media_urls_are_capabilities(server: Server, key, payload):
    job = httpx.post(server.url + V2, json=payload, headers=h(key), timeout=HTTP_TIMEOUT).json()
    wait_settled(httpx.Client(timeout=HTTP_TIMEOUT), job["status_url"], h(key))
    output = httpx.get(job["response_url"], headers=h(key), timeout=HTTP_TIMEOUT).json()["output"]
    token = output.rsplit("/", 1)[1].split(".")[0]
    assert len(token) >= 32  # 24 random bytes = 192 bits
    assert httpx.get(output, timeout=HTTP_TIMEOUT).status_code == 200  # no key needed
    assert httpx.get(output[:-6] + "AAAAA.png", timeout=HTTP_TIMEOUT).status_code == 404


def test_job_running_at_each_crash_fails_instead_of_crash_looping(make_server, tmp_path, payload):
    """A v2 job found PROCESSING at start-up after SEGSWAP_MAX_ATTEMPTS runs (it was
    running every time the server died: it likely kills it) FAILS, refunded; one found
    PROCESSING after fewer runs runs again."""
    import json as _json

    from segswap.params import parse_request
    from segswap.service.accounts.sqlite_keys import SqliteKeyStore
    from segswap.service.database import Database

    data_dir = tmp_path / "poison"
    db = Database(data_dir)
    _, record = SqliteKeyStore(db).create(credits=8.0)  # 10, less the two debits
    request = parse_request(_json.loads(_json.dumps(payload))).model_dump_json()
    with db.transaction() as conn:
        for job_id, attempts in (("poison", 3), ("unlucky", 1)):
            conn.execute(
                "INSERT INTO jobs (id, key_id, kind, model, state, request, price, base64,"
                " created, started, attempts) VALUES (?, ?, 'v2', ?, 'PROCESSING', ?, 1, 0,"
                " ?, ?, ?)",
                (job_id, record.id, MODEL, request, time.time(), time.time(), attempts),
            )
    db.close()  # as a kill -9 left it: 2 credits debited, both jobs PROCESSING

    make_server({"SEGSWAP_MAX_ATTEMPTS": "3"}, data_dir=data_dir)
    conn = sqlite3.connect(data_dir / "segswap.db")
    try:
        deadline = time.monotonic() + 30
        while True:
            rows = dict(conn.execute("SELECT id, state FROM jobs").fetchall())
            if set(rows.values()) <= {"COMPLETED", "FAILED"}:
                break
            assert time.monotonic() < deadline, rows
            time.sleep(0.05)
        assert rows == {"poison": "FAILED", "unlucky": "COMPLETED"}
        error = conn.execute("SELECT error FROM jobs WHERE id = 'poison'").fetchone()[0]
        assert "3 attempt(s)" in error
        micro = conn.execute("SELECT micro_credits FROM keys").fetchone()[0]
        assert micro == 9_000_000  # the failed one refunded, the completed one charged
    finally:
        conn.close()


def test_media_lookup_uses_an_index(tmp_path):
    """``GET /media/<name>`` finds its job by ``media_file``: an index, not a table scan
    over every stored job."""
    from segswap.service.database import Database

    db = Database(tmp_path / "index")
    try:
        plan = " ".join(
            str(row[3])
            for row in db.conn().execute(
                "EXPLAIN QUERY PLAN SELECT expires FROM jobs WHERE media_file = ?", ("x.png",)
            )
        )
    finally:
        db.close()
    assert "USING INDEX" in plan, plan
