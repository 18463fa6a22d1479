"""Every status code of SPEC §4, each by its documented condition."""

from __future__ import annotations

import concurrent.futures
import json
import time

import httpx
import pytest
from service_support import MODEL, Server, b64, wait_settled

V1 = f"/v1/{MODEL}"
V2 = f"/v2/{MODEL}"


def h(key: str) -> dict[str, str]:
    return {"x-api-key": key}


# ----- 200 / auth header forms -----


def test_bearer_auth_and_credit_header(server: Server, payload):
    key = server.create_key(credits=10)
    r = httpx.post(server.url + V1, json=payload, headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 200
    assert r.headers["X-Remaining-Credits"] == "9"
    assert server.credits(key) == 9


# ----- 400 -----


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"steps": 5}, "steps"),
        ({"steps": True}, "steps"),
        ({"seed": -1}, "seed"),
        ({"image_format": "gif"}, "image_format"),
        ({"fashion_strength": 1.5}, "fashion_strength"),
        ({"colour": "red"}, "colour"),
        ({"main_image": None}, "main_image"),
    ],
)
def test_400_bad_parameter_names_field(server, key, payload, change, field):
    for path in (V1, V2):  # v2 rejects synchronously too
        r = httpx.post(server.url + path, json={**payload, **change}, headers=h(key))
        assert r.status_code == 400, r.text
        assert r.json()["error"].startswith(field)


def test_400_missing_image(server, key, payload):
    body = {k: v for k, v in payload.items() if k != "object_image"}
    r = httpx.post(server.url + V2, json=body, headers=h(key))
    assert r.status_code == 400 and "object_image" in r.json()["error"]


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'"text"', b"", b"\xff\xfe"])
def test_400_malformed_or_non_object_body(server, key, raw):
    r = httpx.post(
        server.url + V1, content=raw, headers={**h(key), "content-type": "application/json"}
    )
    assert r.status_code == 400
    assert "body" in r.json()["error"]


def test_400_unusable_image_v1(server, key, payload):
    r = httpx.post(
        server.url + V1, json={**payload, "object_image": b64(b"GIF89a-garbage")}, headers=h(key)
    )
    assert r.status_code == 400 and r.json()["error"].startswith("object_image")


def test_no_credit_for_invalid_request(server, payload):
    key = server.create_key(credits=3)
    httpx.post(server.url + V1, json={**payload, "steps": 0}, headers=h(key))
    httpx.post(server.url + V1, json={**payload, "main_image": b64(b"junk")}, headers=h(key))
    assert server.credits(key) == 3


# ----- 401 -----


def test_401_missing_invalid_revoked_key(server, payload):
    assert httpx.post(server.url + V1, json=payload).status_code == 401
    bad = httpx.post(server.url + V1, json=payload, headers=h("sgs_" + "x" * 43))
    assert bad.status_code == 401 and "error" in bad.json()
    key = server.create_key(name="to-revoke")
    assert httpx.get(server.url + "/v2/requests/x/status", headers=h(key)).status_code == 404
    from segswap.service.accounts.sqlite_keys import SqliteKeyStore
    from segswap.service.database import Database

    db = Database(server.data_dir)
    SqliteKeyStore(db).revoke("to-revoke")  # from another process: seen within 1 s
    db.close()
    time.sleep(1.1)
    assert httpx.get(server.url + "/v2/requests/x/status", headers=h(key)).status_code == 401


# ----- 403 -----


def test_403_model_not_allowed_and_admin_route(server, payload):
    restricted = server.create_key(models=["other-model"])
    r = httpx.post(server.url + V1, json=payload, headers=h(restricted))
    assert r.status_code == 403 and "seg-swap" in r.json()["error"]
    plain = server.create_key()
    assert httpx.get(server.url + "/admin/keys", headers=h(plain)).status_code == 403
    admin = server.create_key(admin=True, name="the-admin")
    listed = httpx.get(server.url + "/admin/keys", headers=h(admin))
    assert listed.status_code == 200
    assert "the-admin" in {k["name"] for k in listed.json()["keys"]}
    assert admin not in listed.text  # no secrets
    made = httpx.post(server.url + "/admin/keys", json={"credits": 5}, headers=h(admin))
    assert made.status_code == 201
    new_key = made.json()["key"]
    assert httpx.post(server.url + V1, json=payload, headers=h(new_key)).status_code == 200


# ----- 404 -----


def test_404_unknown_model_request_and_other_keys_request(server, key, payload):
    r = httpx.post(server.url + "/v1/other", json=payload, headers=h(key))
    assert r.status_code == 404
    assert r.json() == {"error": "model 'other' not found"}
    assert httpx.post(server.url + "/v2/other", json=payload, headers=h(key)).status_code == 404
    assert httpx.get(server.url + "/v2/requests/nope/status", headers=h(key)).status_code == 404
    assert httpx.get(server.url + "/v2/requests/nope", headers=h(key)).status_code == 404
    job = httpx.post(server.url + V2, json=payload, headers=h(key)).json()
    other = server.create_key()
    assert httpx.get(job["status_url"], headers=h(other)).status_code == 404
    assert httpx.get(job["response_url"], headers=h(other)).status_code == 404
    assert httpx.get(job["status_url"], headers=h(key)).status_code in (200, 422)
    assert httpx.get(server.url + "/media/" + "A" * 32 + ".png").status_code == 404
    assert httpx.get(server.url + "/no/such/route").json()["error"]


# ----- 406 -----


def test_406_not_enough_credits(server, payload):
    key = server.create_key(credits=1)
    assert httpx.post(server.url + V1, json=payload, headers=h(key)).status_code == 200
    r = httpx.post(server.url + V1, json=payload, headers=h(key))
    assert r.status_code == 406
    assert r.headers["X-Remaining-Credits"] == "0"
    assert "credits" in r.json()["error"]


def test_credits_never_overdrawn_under_concurrency(server, payload):
    key = server.create_key(credits=5)

    def submit(_: int) -> int:
        return httpx.post(server.url + V2, json=payload, headers=h(key), timeout=30).status_code

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(submit, range(16)))
    assert sorted(codes).count(200) == 5
    assert codes.count(406) == 11
    assert server.credits(key) == 0


# ----- 413 -----


def test_413_body_over_cap(server, key):
    big = {"main_image": "A" * 3_100_000, "mask_image": "x", "object_image": "x"}
    r = httpx.post(server.url + V1, json=big, headers=h(key))
    assert r.status_code == 413 and "body" in r.json()["error"]

    def chunks():  # no Content-Length: the cap applies while streaming
        for _ in range(40):
            yield b"A" * 100_000

    r = httpx.post(
        server.url + V2, content=chunks(), headers={**h(key), "content-type": "application/json"}
    )
    assert r.status_code == 413
    assert httpx.get(server.url + "/health").status_code == 200


# ----- 422 -----


def test_422_failed_request(server, key, payload):
    job = httpx.post(
        server.url + V2, json={**payload, "mask_image": b64(b"nope")}, headers=h(key)
    ).json()
    status = wait_settled(httpx.Client(), job["status_url"], h(key))
    assert status.status_code == 422
    assert status.json()["status"] == "FAILED" and "mask_image" in status.json()["error"]
    result = httpx.get(job["response_url"], headers=h(key))
    assert result.status_code == 422 and result.json()["error"] == status.json()["error"]


# ----- 429 (rate limit) and expiry share a server with a short TTL -----


@pytest.fixture(scope="module")
def short_server(make_server) -> Server:
    return make_server(
        {
            "SEGSWAP_RATE_LIMIT": "2",
            "SEGSWAP_RATE_BURST": "3",
            "SEGSWAP_RESULT_TTL": "1",
            "SEGSWAP_SWEEP_INTERVAL": "0.2",
        }
    )


def test_429_rate_limited_with_retry_after(short_server, payload):
    key = short_server.create_key()
    codes = []
    retry = None
    for _ in range(8):
        r = httpx.post(short_server.url + V2, json=payload, headers=h(key))
        codes.append(r.status_code)
        if r.status_code == 429:
            retry = r.headers["Retry-After"]
            assert "rate limit" in r.json()["error"]
    assert codes[:3] == [200, 200, 200]
    assert 429 in codes
    assert retry is not None and int(retry) >= 1
    time.sleep(1.0)
    assert httpx.post(short_server.url + V2, json=payload, headers=h(key)).status_code == 200


def test_results_expire_after_ttl(short_server, payload):
    key = short_server.create_key()
    job = httpx.post(short_server.url + V2, json=payload, headers=h(key)).json()
    wait_settled(httpx.Client(), job["status_url"], h(key))
    output = httpx.get(job["response_url"], headers=h(key)).json()["output"]
    assert httpx.get(output).status_code == 200
    name = output.rsplit("/", 1)[1]
    assert (short_server.data_dir / "results" / name).exists()
    time.sleep(1.6)
    assert httpx.get(job["status_url"], headers=h(key)).status_code == 404
    assert httpx.get(job["response_url"], headers=h(key)).status_code == 404
    assert httpx.get(output).status_code == 404
    assert not (short_server.data_dir / "results" / name).exists()  # swept from disk


# ----- 429 (queue full) and 504 on a server with one slow worker -----


@pytest.fixture(scope="module")
def slow_server(make_server) -> Server:
    return make_server(
        {
            "SEGSWAP_ENGINE": "segswap_test_engines:SlowEngine",
            "SEGSWAP_TEST_DELAY": "0.6",
            "SEGSWAP_WORKERS": "1",
            "SEGSWAP_QUEUE_CAPACITY": "2",
            "SEGSWAP_SYNC_TIMEOUT": "0.3",
        }
    )


def test_504_sync_deadline_and_refund(slow_server, payload):
    key = slow_server.create_key(credits=10)
    r = httpx.post(slow_server.url + V1, json=payload, headers=h(key))
    assert r.status_code == 504
    assert "SEGSWAP_SYNC_TIMEOUT" in r.json()["error"]
    time.sleep(0.8)  # let the worker finish the abandoned job
    assert slow_server.credits(key) == 10


def test_429_queue_full(slow_server, payload):
    key = slow_server.create_key()
    wait_idle(slow_server)  # an earlier test's abandoned job may still be running
    first = httpx.post(slow_server.url + V2, json=payload, headers=h(key))
    wait_state(first.json()["status_url"], h(key), "PROCESSING")
    codes = [first.status_code] + [
        httpx.post(slow_server.url + V2, json=payload, headers=h(key)).status_code for _ in range(4)
    ]
    assert codes[:3] == [200, 200, 200]  # one running, two waiting
    assert 429 in codes[3:]
    r = httpx.post(slow_server.url + V2, json=payload, headers=h(key))
    assert r.status_code == 429 and r.headers["Retry-After"] and "queue" in r.json()["error"]


def wait_idle(server, timeout: float = 60.0) -> None:
    """Until no job is queued or running on ``server`` (read from /metrics)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = httpx.get(server.url + "/metrics").text
        if "segswap_queue_depth 0\n" in text and "segswap_workers_busy 0\n" in text:
            return
        time.sleep(0.05)
    raise AssertionError(f"{server.url} still busy after {timeout} s")


def wait_state(url: str, headers: dict[str, str], state: str, timeout: float = 60.0) -> None:
    """Until the job at status ``url`` is in ``state``."""
    deadline = time.monotonic() + timeout
    while httpx.get(url, headers=headers).json()["status"] != state:
        assert time.monotonic() < deadline, f"{url} never reached {state}"
        time.sleep(0.01)


# ----- 500 -----


def test_500_internal_error_is_json_and_refunded(make_server, payload):
    srv = make_server({"SEGSWAP_ENGINE": "segswap_test_engines:FaultyEngine"})
    key = srv.create_key(credits=4)
    r = httpx.post(srv.url + V1, json=payload, headers=h(key))
    assert r.status_code == 500
    assert set(r.json()) == {"error"}
    assert "Traceback" not in r.text and "secret internal detail" not in r.text
    job = httpx.post(srv.url + V2, json=payload, headers=h(key)).json()
    failed = wait_settled(httpx.Client(), job["status_url"], h(key))
    assert failed.status_code == 422 and "internal error" in failed.json()["error"]
    assert srv.credits(key) == 4
    assert "engine bug" in srv.log()  # logged on the server
    assert httpx.get(srv.url + "/health").status_code == 200  # workers survived


# ----- 502 and --no-auth -----


def test_502_no_worker_and_health_503(make_server, payload):
    srv = make_server({"SEGSWAP_WORKERS": "0", "SEGSWAP_NO_AUTH": "1"}, expect_healthy=False)
    health = httpx.get(srv.url + "/health")
    assert health.status_code == 503 and health.json()["workers"] == 0
    r = httpx.post(srv.url + V2, json=payload)  # no key needed with --no-auth
    assert r.status_code == 502 and "worker" in r.json()["error"]
    assert httpx.post(srv.url + V1, json=payload).status_code == 502


# ----- the error body is always JSON -----


def test_errors_are_json(server, key):
    r = httpx.get(server.url + "/v2/requests/x", headers=h(key))
    assert r.headers["content-type"] == "application/json"
    assert json.loads(r.text)["error"]
    assert httpx.delete(server.url + "/health").status_code == 405
