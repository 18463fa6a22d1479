"""The API's contract, every case on every job backend: in memory, embedded (SQLite) and
Celery + Redis (see contract_backends.py).

Every status code of the v1/v2 API by its documented condition, every job state
(QUEUED, PROCESSING, COMPLETED, FAILED, canceled), result retention and expiry, credit
debit and refund. Each backend runs three configurations, each started once per module:
``api`` (defaults, a 3 MB body cap), ``tight`` (one worker, two queue places, a 0.3 s
synchronous deadline, a low rate limit, results kept 3 s) and ``idle`` (no worker).
A test that needs a worker busy holds it with a job of seed ``HELD_SEED`` while the
``gate`` is closed (segswap_test_engines.ContractEngine), so no case depends on how long
anything takes.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from contract_backends import BACKENDS, Backend, CeleryBackend, LocalBackend, wait_until
from scaleout_support import RedisServer, require_redis
from segswap_test_engines import FAULTY_SEED, HELD_SEED
from service_support import MODEL, b64, stop_all

V1 = f"/v1/{MODEL}"
V2 = f"/v2/{MODEL}"

ENGINE = {"SEGSWAP_ENGINE": "segswap_test_engines:ContractEngine"}
CONFIGS: dict[str, dict[str, str]] = {
    "api": {**ENGINE, "SEGSWAP_MAX_BODY_BYTES": "3000000", "SEGSWAP_WORKERS": "2"},
    "tight": {
        **ENGINE,
        "SEGSWAP_WORKERS": "1",
        "SEGSWAP_QUEUE_CAPACITY": "2",
        "SEGSWAP_SYNC_TIMEOUT": "0.3",
        "SEGSWAP_RATE_LIMIT": "0.5",
        "SEGSWAP_RATE_BURST": "3",
        "SEGSWAP_RESULT_TTL": "3",
        "SEGSWAP_SWEEP_INTERVAL": "0.2",
    },
    "idle": {**ENGINE, "SEGSWAP_WORKERS": "0", "SEGSWAP_NO_AUTH": "1"},
}


class Stack:
    """The configurations of one backend, each started on first use."""

    def __init__(self, kind: str, root: Path) -> None:
        self.kind = kind
        self.root = root
        self.started: dict[str, Backend] = {}
        self.redis: RedisServer | None = None
        self.gate = Gate(root / "gate")
        self._environ = os.environ.get("SEGSWAP_TEST_GATE")
        if kind != "celery":  # in process: the engine reads this process's environment
            os.environ["SEGSWAP_TEST_GATE"] = str(self.gate.path)

    def get(self, config: str) -> Backend:
        if config not in self.started:
            env = {**CONFIGS[config], "SEGSWAP_TEST_GATE": str(self.gate.path)}
            if self.kind == "celery":
                if self.redis is None:
                    self.redis = RedisServer(self.root / "redis").start()
                db = list(CONFIGS).index(config)
                workers = int(env.pop("SEGSWAP_WORKERS"))
                self.started[config] = CeleryBackend(
                    self.root, self.redis, db, env, workers=workers
                ).start()
            else:
                self.started[config] = LocalBackend(self.root / config, env, self.kind)
        return self.started[config]

    def stop(self) -> None:
        stop_all(self.started.values())
        if self.redis is not None:
            self.redis.stop()
        if self._environ is None:
            os.environ.pop("SEGSWAP_TEST_GATE", None)
        else:
            os.environ["SEGSWAP_TEST_GATE"] = self._environ


@pytest.fixture(scope="module", params=BACKENDS)
def stack(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[Stack]:
    if request.param == "celery":
        require_redis()
        pytest.importorskip("celery")
    made = Stack(request.param, tmp_path_factory.mktemp(f"contract-{request.param}"))
    yield made
    made.stop()


@pytest.fixture
def api(stack: Stack) -> Backend:
    return stack.get("api")


@pytest.fixture
def tight(stack: Stack) -> Backend:
    """The tight configuration, idle (an earlier test's jobs have run out)."""
    backend = stack.get("tight")
    wait_idle(backend)
    return backend


@pytest.fixture
def key(api: Backend) -> str:
    return api.create_key()


@pytest.fixture
def gate(stack: Stack, tight: Backend) -> Iterator[Gate]:
    """The gate of this backend's engines (opened again at the end)."""
    try:
        yield stack.gate
    finally:
        stack.gate.open()
        wait_idle(tight)


class Gate:
    """While closed, jobs of seed ``HELD_SEED`` wait at the engine's check points."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def closed(self) -> Iterator[None]:
        self.path.touch()
        try:
            yield
        finally:
            self.open()

    def open(self) -> None:
        self.path.unlink(missing_ok=True)


def h(key: str) -> dict[str, str]:
    return {"x-api-key": key}


def settle(backend: Backend, url: str, key: str) -> dict:
    """Poll a status URL until the job is COMPLETED or FAILED; its body."""

    def settled() -> dict | None:
        response = backend.get(url, headers=h(key))
        assert response.status_code in (200, 422), response.text
        body = response.json()
        return body if body["status"] in ("COMPLETED", "FAILED") else None

    return wait_until(settled, f"{url} settles")


def state_of(backend: Backend, job: dict, key: str) -> str:
    body = backend.get(job["status_url"], headers=h(key)).json()
    assert "status" in body, body
    return body["status"]


def wait_state(backend: Backend, job: dict, key: str, state: str) -> None:
    wait_until(lambda: state_of(backend, job, key) == state, f"job reaches {state}")


def wait_idle(backend: Backend) -> None:
    """Until no job is queued or running (read from /metrics)."""

    def idle() -> bool:
        text = backend.get("/metrics").text
        return "segswap_queue_depth 0\n" in text and "segswap_workers_busy 0\n" in text

    wait_until(idle, "the backend is idle")


# ----- 200 / auth header forms -----


def test_bearer_auth_and_credit_header(api, payload):
    key = api.create_key(credits=10)
    r = api.post(V1, json=payload, headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 200
    assert r.headers["X-Remaining-Credits"] == "9"
    assert api.credits(key) == 9


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
def test_400_bad_parameter_names_field(api, key, payload, change, field):
    for path in (V1, V2):  # v2 rejects synchronously too
        r = api.post(path, json={**payload, **change}, headers=h(key))
        assert r.status_code == 400, r.text
        assert r.json()["error"].startswith(field)


def test_400_missing_image(api, key, payload):
    body = {k: v for k, v in payload.items() if k != "object_image"}
    r = api.post(V2, json=body, headers=h(key))
    assert r.status_code == 400 and "object_image" in r.json()["error"]


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'"text"', b"", b"\xff\xfe"])
def test_400_malformed_or_non_object_body(api, key, raw):
    r = api.post(V1, content=raw, headers={**h(key), "content-type": "application/json"})
    assert r.status_code == 400
    assert "body" in r.json()["error"]


def test_400_unusable_image_v1(api, key, payload):
    r = api.post(V1, json={**payload, "object_image": b64(b"GIF89a-garbage")}, headers=h(key))
    assert r.status_code == 400 and r.json()["error"].startswith("object_image")


def test_no_credit_for_invalid_request(api, payload):
    key = api.create_key(credits=3)
    api.post(V1, json={**payload, "steps": 0}, headers=h(key))
    api.post(V1, json={**payload, "main_image": b64(b"junk")}, headers=h(key))
    assert api.credits(key) == 3


# ----- 401 -----


def test_401_missing_invalid_revoked_key(api, payload):
    assert api.post(V1, json=payload).status_code == 401
    bad = api.post(V1, json=payload, headers=h("sgs_" + "x" * 43))
    assert bad.status_code == 401 and "error" in bad.json()
    key = api.create_key(name="to-revoke")
    assert api.get("/v2/requests/x/status", headers=h(key)).status_code == 404
    api.revoke("to-revoke")  # from another store handle: seen within the auth cache's 1 s
    wait_until(
        lambda: api.get("/v2/requests/x/status", headers=h(key)).status_code == 401,
        "the revoked key is refused",
        timeout=10,
    )


# ----- 403 -----


def test_403_model_not_allowed_and_admin_route(api, payload):
    restricted = api.create_key(models=["other-model"])
    r = api.post(V1, json=payload, headers=h(restricted))
    assert r.status_code == 403 and "seg-swap" in r.json()["error"]
    plain = api.create_key()
    assert api.get("/admin/keys", headers=h(plain)).status_code == 403
    admin = api.create_key(admin=True, name="the-admin")
    listed = api.get("/admin/keys", headers=h(admin))
    assert listed.status_code == 200
    assert "the-admin" in {k["name"] for k in listed.json()["keys"]}
    assert admin not in listed.text  # no secrets
    made = api.post("/admin/keys", json={"credits": 5}, headers=h(admin))
    assert made.status_code == 201
    new_key = made.json()["key"]
    assert api.post(V1, json=payload, headers=h(new_key)).status_code == 200


# ----- 404 -----


def test_404_unknown_model_request_and_other_keys_request(api, key, payload):
    r = api.post("/v1/other", json=payload, headers=h(key))
    assert r.status_code == 404
    assert r.json() == {"error": "model 'other' not found"}
    assert api.post("/v2/other", json=payload, headers=h(key)).status_code == 404
    assert api.get("/v2/requests/nope/status", headers=h(key)).status_code == 404
    assert api.get("/v2/requests/nope", headers=h(key)).status_code == 404
    job = api.post(V2, json=payload, headers=h(key)).json()
    other = api.create_key()
    assert api.get(job["status_url"], headers=h(other)).status_code == 404
    assert api.get(job["response_url"], headers=h(other)).status_code == 404
    assert api.get(job["status_url"], headers=h(key)).status_code in (200, 422)
    assert api.get("/media/" + "A" * 32 + ".png").status_code == 404
    assert api.get("/no/such/route").json()["error"]


# ----- 406 -----


def test_406_not_enough_credits(api, payload):
    key = api.create_key(credits=1)
    assert api.post(V1, json=payload, headers=h(key)).status_code == 200
    r = api.post(V1, json=payload, headers=h(key))
    assert r.status_code == 406
    assert r.headers["X-Remaining-Credits"] == "0"
    assert "credits" in r.json()["error"]


def test_credits_never_overdrawn_under_concurrency(api, payload):
    key = api.create_key(credits=5)

    def submit(_: int) -> int:
        return api.post(V2, json=payload, headers=h(key)).status_code

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(submit, range(16)))
    assert sorted(codes).count(200) == 5
    assert codes.count(406) == 11
    assert api.credits(key) == 0


# ----- 413 -----


def test_413_body_over_cap(api, key):
    big = {"main_image": "A" * 3_100_000, "mask_image": "x", "object_image": "x"}
    r = api.post(V1, json=big, headers=h(key))
    assert r.status_code == 413 and "body" in r.json()["error"]

    def chunks():  # no Content-Length: the cap applies while streaming
        for _ in range(40):
            yield b"A" * 100_000

    r = api.post(V2, content=chunks(), headers={**h(key), "content-type": "application/json"})
    assert r.status_code == 413
    assert api.get("/health").status_code == 200


# ----- 422 and the FAILED state -----


def test_422_failed_request(api, key, payload):
    job = api.post(V2, json={**payload, "mask_image": b64(b"nope")}, headers=h(key)).json()
    status = settle(api, job["status_url"], key)
    assert status["status"] == "FAILED" and "mask_image" in status["error"]
    assert api.get(job["status_url"], headers=h(key)).status_code == 422
    result = api.get(job["response_url"], headers=h(key))
    assert result.status_code == 422 and result.json()["error"] == status["error"]
    assert api.credits(key) == 1000  # refunded


# ----- 500 -----


def test_500_internal_error_is_json_and_refunded(api, payload):
    key = api.create_key(credits=4)
    faulty = {**payload, "seed": FAULTY_SEED}
    r = api.post(V1, json=faulty, headers=h(key))
    assert r.status_code == 500
    assert set(r.json()) == {"error"}
    assert "Traceback" not in r.text and "secret internal detail" not in r.text
    job = api.post(V2, json=faulty, headers=h(key)).json()
    failed = settle(api, job["status_url"], key)
    assert failed["status"] == "FAILED" and "internal error" in failed["error"]
    assert api.credits(key) == 4
    wait_until(lambda: "engine bug" in api.log(), "the traceback is logged", timeout=10)
    assert api.get("/health").status_code == 200  # workers survived


# ----- QUEUED -> PROCESSING -> COMPLETED, retention -----


def test_states_progress_and_queue_position(tight, gate, payload):
    keys = [tight.create_key() for _ in range(3)]  # one each: the rate limit is per key
    with gate.closed():
        first = tight.post(V2, json={**payload, "seed": HELD_SEED}, headers=h(keys[0])).json()
        wait_state(tight, first, keys[0], "PROCESSING")
        second, third = (tight.post(V2, json=payload, headers=h(k)).json() for k in keys[1:])
        positions = [
            tight.get(job["status_url"], headers=h(k)).json()
            for job, k in ((second, keys[1]), (third, keys[2]))
        ]
        assert [p["status"] for p in positions] == ["QUEUED", "QUEUED"]
        assert [p["queue_position"] for p in positions] == [0, 1]
        assert all(p["progress"] == 0 for p in positions)
        running = tight.get(first["status_url"], headers=h(keys[0])).json()
        assert running.get("queue_position") is None and 0 <= running["progress"] <= 1
    for job, k in ((first, keys[0]), (second, keys[1]), (third, keys[2])):
        done = settle(tight, job["status_url"], k)
        assert (done["status"], done["progress"], done.get("queue_position")) == (
            "COMPLETED",
            1.0,
            None,
        )


def test_results_expire_after_ttl(tight, payload):
    key = tight.create_key()
    job = tight.post(V2, json=payload, headers=h(key)).json()
    settle(tight, job["status_url"], key)
    output = tight.get(job["response_url"], headers=h(key)).json()["output"]
    assert tight.get(output).status_code == 200
    name = output.rsplit("/", 1)[1]
    assert tight.result_stored(name)
    wait_until(lambda: tight.get(job["status_url"], headers=h(key)).status_code == 404, "expiry")
    assert tight.get(job["response_url"], headers=h(key)).status_code == 404
    assert tight.get(output).status_code == 404
    wait_until(lambda: not tight.result_stored(name), "the result is dropped from the store")


# ----- 429 (rate limit, full queue) and 504 -----


def test_429_rate_limited_with_retry_after(tight, payload):
    """Every request takes a token from its key's bucket (burst 3, 0.5 a second) before
    its body is read. Two jobs fit the two queue places whatever the worker does; further
    tokens go to an unusable body (400, queued nowhere), so the request that finds the
    bucket empty meets the rate limit, never a full queue, however fast jobs drain."""
    key = tight.create_key()
    assert [tight.post(V2, json=payload, headers=h(key)).status_code for _ in range(2)] == [
        200,
        200,
    ]

    def limited() -> httpx.Response | None:
        r = tight.post(V2, json={**payload, "steps": 5}, headers=h(key))
        assert r.status_code in (400, 429), r.text
        return r if r.status_code == 429 else None

    r = wait_until(limited, "the bucket to run dry")  # 1 to 2 requests (more if slow)
    assert "rate limit" in r.json()["error"]
    assert int(r.headers["Retry-After"]) >= 1
    wait_until(
        lambda: tight.post(V2, json=payload, headers=h(key)).status_code == 200,
        "the bucket refills",
    )


def test_429_queue_full(tight, gate, payload):
    keys = [tight.create_key() for _ in range(6)]  # one each: the rate limit is per key
    with gate.closed():
        first = tight.post(V2, json={**payload, "seed": HELD_SEED}, headers=h(keys[0]))
        wait_state(tight, first.json(), keys[0], "PROCESSING")
        codes = [first.status_code] + [
            tight.post(V2, json=payload, headers=h(k)).status_code for k in keys[1:5]
        ]
        assert codes == [200, 200, 200, 429, 429]  # one running, two waiting
        r = tight.post(V2, json=payload, headers=h(keys[5]))
        assert r.status_code == 429 and r.headers["Retry-After"] and "queue" in r.json()["error"]
        assert [tight.credits(k) for k in keys[3:]] == [1000, 1000, 1000]  # not charged


def test_504_sync_deadline_and_refund(tight, gate, payload):
    key = tight.create_key(credits=10)
    with gate.closed():
        r = tight.post(V1, json={**payload, "seed": HELD_SEED}, headers=h(key))
        assert r.status_code == 504
        assert "SEGSWAP_SYNC_TIMEOUT" in r.json()["error"]
        assert tight.credits(key) == 10
    wait_idle(tight)  # the abandoned job ran out; it is not charged either
    assert tight.credits(key) == 10


# ----- cancel: FAILED and canceled, refunded -----


def test_cancel_a_queued_and_a_running_job(tight, gate, payload):
    key, other = tight.create_key(credits=10), tight.create_key()
    with gate.closed():
        running = tight.post(V2, json={**payload, "seed": HELD_SEED}, headers=h(key)).json()
        wait_state(tight, running, key, "PROCESSING")
        queued = tight.post(V2, json=payload, headers=h(key)).json()
        assert tight.credits(key) == 8
        url = f"/v2/requests/{queued['request_id']}/cancel"
        assert tight.post(url, headers=h(other)).status_code == 404
        canceled = tight.post(url, headers=h(key))
        assert canceled.status_code == 200, canceled.text
        body = canceled.json()
        assert body["status"] == "FAILED" and body["canceled"] is True
        assert body["error"] == "canceled by the client"
        assert tight.credits(key) == 9
        assert tight.post(url, headers=h(key)).status_code == 409
        stop = tight.post(f"/v2/requests/{running['request_id']}/cancel", headers=h(key))
        assert stop.status_code == 202, stop.text
        final = settle(tight, running["status_url"], key)
    assert final["status"] == "FAILED" and final["canceled"] is True, final
    assert final["error"] == "canceled by the client"
    assert tight.credits(key) == 10
    assert tight.post("/v2/requests/" + "0" * 36 + "/cancel", headers=h(key)).status_code == 404


def test_cancel_of_a_finished_job_is_409(api, key, payload):
    job = api.post(V2, json=payload, headers=h(key)).json()
    assert settle(api, job["status_url"], key)["status"] == "COMPLETED"
    done = api.post(f"/v2/requests/{job['request_id']}/cancel", headers=h(key))
    assert done.status_code == 409 and "already finished" in done.json()["error"]
    assert api.credits(key) == 999


# ----- Idempotency-Key -----


def test_idempotency_key_replays_and_conflicts(api, payload):
    key = api.create_key(credits=100)
    body = {**payload, "seed": 5}
    idem = {**h(key), "Idempotency-Key": "order-7"}
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: api.post(V2, json=body, headers=idem), range(8)))
    assert [a.status_code for a in answers] == [200] * 8
    assert len({a.json()["request_id"] for a in answers}) == 1
    assert sum(a.headers.get("Idempotent-Replayed") == "true" for a in answers) == 7
    assert api.credits(key) == 99
    other = api.post(V2, json={**body, "seed": 6}, headers=idem)
    assert other.status_code == 409 and other.json()["error"].startswith("Idempotency-Key:")


# ----- 502 -----


def test_502_no_worker_and_health_503(stack, payload):
    idle = stack.get("idle")
    health = idle.get("/health")
    assert health.status_code == 503 and health.json()["workers"] == 0
    r = idle.post(V2, json=payload)  # no key needed with --no-auth
    assert r.status_code == 502 and "worker" in r.json()["error"]
    assert idle.post(V1, json=payload).status_code == 502


# ----- the error body is always JSON -----


def test_errors_are_json(api, key):
    r = api.get("/v2/requests/x", headers=h(key))
    assert r.headers["content-type"] == "application/json"
    assert json.loads(r.text)["error"]
    assert api.delete("/health").status_code == 405


def test_each_backend_is_the_one_named(stack: Stack, api: Backend):
    """The suite runs what it says: the queue class behind each backend."""
    if isinstance(api, LocalBackend):
        expected = {"memory": "MemoryQueue", "embedded": "EmbeddedQueue"}[stack.kind]
        assert type(api.service.queue).__name__ == expected
    else:
        assert isinstance(api, CeleryBackend) and stack.kind == "celery"
        assert api.get("/health").json()["workers"] >= 1
