"""What hosted inference APIs give their users, on both backends (embedded SQLite, and
Celery + Redis): signed webhooks delivered at least once, Idempotency-Key, cancel,
progress, proof of untouched pixels (changed_box, mode) and kept metadata.

Webhooks go to a receiver in this process on 127.0.0.1, so the servers run with
``SEGSWAP_ALLOW_PRIVATE_URLS=1`` (except where the refusal is tested).
"""

from __future__ import annotations

import base64
import io
import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image, ImageCms
from scaleout_support import RedisServer, Worker, keys_command, require_redis
from segmind import SegmindClient
from segmind.v2 import InferenceFailed
from service_support import HTTP_TIMEOUT, MODEL, Server, b64, free_port, stop_all, wait_settled

from segswap.service.webhooks.signing import verify

V1 = f"/v1/{MODEL}"
V2 = f"/v2/{MODEL}"
SECRET = "whsec_" + base64.b64encode(b"segswap-test-webhook-secret-0123").decode()
DELAY = 0.8  # seconds each job takes (SlowEngine)


# ----- a webhook receiver -----


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int


@dataclass
class Receiver:
    """An HTTP server on 127.0.0.1 that records every POST; ``fail[path]`` answers that
    many of the first requests to ``path`` with 500."""

    port: int = field(default_factory=free_port)
    deliveries: list[Delivery] = field(default_factory=list)
    fail: dict[str, int] = field(default_factory=dict)
    server: ThreadingHTTPServer | None = None

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                left = receiver.fail.get(self.path, 0)
                status = 500 if left > 0 else 200
                receiver.fail[self.path] = max(0, left - 1)
                headers = {k.lower(): v for k, v in self.headers.items()}
                receiver.deliveries.append(Delivery(self.path, headers, body, status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    def to(self, path: str) -> list[Delivery]:
        return [d for d in self.deliveries if d.path == "/" + path]

    def wait(self, path: str, count: int, timeout: float = 40.0) -> list[Delivery]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.to(path)) >= count:
                return self.to(path)
            time.sleep(0.05)
        raise AssertionError(f"{count} deliveries to /{path} expected, got {self.to(path)}")


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    running = Receiver().start()
    yield running
    running.stop()


# ----- the two backends -----


@dataclass
class Backend:
    name: str
    server: Server
    env: dict[str, str]
    root: Path
    redis: RedisServer | None = None

    @property
    def url(self) -> str:
        return self.server.url

    def new_key(self, credits: float = 1000) -> str:
        if self.redis is None:
            return self.server.create_key(credits=credits)
        made = keys_command(self.redis.url, "create", "--credits", str(credits))
        assert made.returncode == 0, made.stderr
        return made.stdout.strip()

    def credits(self, secret: str) -> float:
        if self.redis is None:
            return self.server.credits(secret)
        from segswap.service.accounts.keys import hash_key

        client = self.redis.client()
        key_id = client.get(f"segswap:keyhash:{hash_key(secret)}").decode()
        return int(client.hget(f"segswap:key:{key_id}", "micro_credits")) / 1_000_000

    def jobs_of(self, secret: str) -> int:
        """Job records of this key in the store."""
        if self.redis is None:
            import sqlite3

            from segswap.service.accounts.keys import hash_key

            conn = sqlite3.connect(self.server.data_dir / "segswap.db")
            try:
                row = conn.execute(
                    "SELECT COUNT(*) FROM jobs JOIN keys ON keys.id = jobs.key_id"
                    " WHERE keys.hash = ?",
                    (hash_key(secret),),
                ).fetchone()
            finally:
                conn.close()
            return int(row[0])
        from segswap.service.accounts.keys import hash_key

        client = self.redis.client()
        key_id = client.get(f"segswap:keyhash:{hash_key(secret)}").decode()
        return sum(
            client.hget(name, "key_id") == key_id.encode()
            for name in client.scan_iter("segswap:job:*")
        )

    def restart(self, kill: bool = True) -> None:
        """Kill (SIGKILL) the API node and start a new one on the same store."""
        if kill:
            self.server.kill()
        else:
            self.server.stop()
        self.server = Server(self.server.data_dir, self.env).start()


BASE_ENV = {
    "SEGSWAP_ENGINE": "segswap_test_engines:SlowEngine",
    "SEGSWAP_TEST_DELAY": str(DELAY),
    "SEGSWAP_ALLOW_PRIVATE_URLS": "1",
    "SEGSWAP_WEBHOOK_SECRET": SECRET,
    "SEGSWAP_WORKERS": "1",
    "SEGSWAP_RATE_LIMIT": "0",
}


@pytest.fixture(scope="module", params=["embedded", "scaleout"])
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp(f"hosted-{request.param}")
    if request.param == "embedded":
        server = Server(root / "data", dict(BASE_ENV)).start()
        embedded = Backend("embedded", server, dict(BASE_ENV), root)
        try:
            yield embedded
        finally:
            # restart() replaces the backend's server: stop the one running now.
            embedded.server.stop()
        return
    require_redis()
    pytest.importorskip("celery")
    store = RedisServer(root / "redis").start()
    env = {**BASE_ENV, "SEGSWAP_BROKER_URL": store.url, "SEGSWAP_VISIBILITY_TIMEOUT": "5"}
    worker = Worker("hosted", root / "worker", env).start(store.client())
    server = Server(root / "node", env)
    made = Backend("scaleout", server, env, root, store)
    try:
        server.start()
        yield made
    finally:
        stop_all([made.server, worker])
        store.stop()


def h(key: str, **extra: str) -> dict[str, str]:
    return {"x-api-key": key, **extra}


def submit(backend: Backend, key: str, body: dict[str, Any], **headers: str) -> httpx.Response:
    return httpx.post(backend.url + V2, json=body, headers=h(key, **headers), timeout=HTTP_TIMEOUT)


def settled(backend: Backend, key: str, job_id: str) -> dict[str, Any]:
    with httpx.Client(timeout=HTTP_TIMEOUT) as client:
        url = f"{backend.url}/v2/requests/{job_id}/status"
        return wait_settled(client, url, h(key), timeout=60).json()


def result_of(backend: Backend, key: str, job_id: str) -> httpx.Response:
    return httpx.get(f"{backend.url}/v2/requests/{job_id}", headers=h(key), timeout=HTTP_TIMEOUT)


def busy(backend: Backend, key: str, payload: dict[str, Any], count: int = 1) -> list[str]:
    """Submit ``count`` jobs (the one worker takes the first; the rest wait)."""
    ids = []
    for seed in range(count):
        response = submit(backend, key, {**payload, "seed": 100 + seed})
        assert response.status_code == 200, response.text
        ids.append(response.json()["request_id"])
    return ids


# ----- webhooks -----


def test_one_verified_delivery_per_settled_job(backend, receiver, payload):
    key = backend.new_key()
    path = f"{backend.name}-once"
    good = submit(backend, key, {**payload, "webhook_url": receiver.url(path)})
    assert good.status_code == 200, good.text
    bad_path = f"{backend.name}-failed-job"
    broken = {
        **payload,
        "main_image": b64(b"not an image at all"),
        "webhook_url": receiver.url(bad_path),
    }
    failed = submit(backend, key, broken)
    assert failed.status_code == 200, failed.text
    job_id = good.json()["request_id"]
    assert settled(backend, key, job_id)["status"] == "COMPLETED"
    [delivery] = receiver.wait(path, 1)
    time.sleep(1.5)  # nothing more arrives
    assert len(receiver.to(path)) == 1
    assert delivery.headers["content-type"] == "application/json"
    assert delivery.headers["webhook-id"] == f"msg_{job_id}"
    assert abs(int(delivery.headers["webhook-timestamp"]) - time.time()) < 120
    assert verify(SECRET, delivery.headers, delivery.body)
    assert not verify(SECRET, delivery.headers, delivery.body + b" ")
    served = result_of(backend, key, job_id)
    assert json.loads(delivery.body) == served.json()
    assert json.loads(delivery.body)["status"] == "COMPLETED"
    [failure] = receiver.wait(bad_path, 1)
    assert verify(SECRET, failure.headers, failure.body)
    body = json.loads(failure.body)
    assert body["status"] == "FAILED" and "main_image" in body["error"]


def test_a_failing_receiver_gets_it_on_the_third_try(backend, receiver, payload):
    key = backend.new_key()
    path = f"{backend.name}-flaky"
    receiver.fail["/" + path] = 2
    response = submit(backend, key, {**payload, "webhook_url": receiver.url(path)})
    job_id = response.json()["request_id"]
    attempts = receiver.wait(path, 3)
    assert [a.status for a in attempts] == [500, 500, 200]
    assert {a.headers["webhook-id"] for a in attempts} == {f"msg_{job_id}"}
    assert all(verify(SECRET, a.headers, a.body) for a in attempts)
    time.sleep(2.5)  # delivered: no fourth try
    assert len(receiver.to(path)) == 3


def test_a_pending_delivery_survives_a_killed_server(backend, payload):
    key = backend.new_key()
    late = Receiver()  # not listening yet: every attempt is refused
    response = submit(backend, key, {**payload, "webhook_url": late.url("late")})
    job_id = response.json()["request_id"]
    assert settled(backend, key, job_id)["status"] == "COMPLETED"
    time.sleep(1.5)  # an attempt or two failed; the next is scheduled
    backend.restart(kill=True)
    late.start()
    try:
        [delivery] = late.wait("late", 1, timeout=60)
        assert delivery.headers["webhook-id"] == f"msg_{job_id}"
        assert verify(SECRET, delivery.headers, delivery.body)
        assert json.loads(delivery.body)["request_id"] == job_id
    finally:
        late.stop()


def test_webhook_url_is_checked_at_submit(backend, receiver, payload, tmp_path):
    key = backend.new_key()
    for url in ("ftp://example.com/hook", "not a url", 42):
        response = submit(backend, key, {**payload, "webhook_url": url})
        assert response.status_code == 400, response.text
        assert response.json()["error"].startswith("webhook_url:")
    v1 = httpx.post(
        backend.url + V1,
        json={**payload, "webhook_url": receiver.url("v1")},
        headers=h(key),
        timeout=HTTP_TIMEOUT,
    )
    assert v1.status_code == 400 and v1.json()["error"].startswith("webhook_url:")
    strict_env = {k: v for k, v in backend.env.items() if k != "SEGSWAP_ALLOW_PRIVATE_URLS"}
    strict = Server(tmp_path / "strict", strict_env).start()  # one server per data dir
    strict_key = key if backend.redis is not None else strict.create_key()
    try:
        refused = httpx.post(
            strict.url + V2,
            json={**payload, "webhook_url": receiver.url("private")},
            headers=h(strict_key),
            timeout=HTTP_TIMEOUT,
        )
        assert refused.status_code == 400
        error = refused.json()["error"]
        assert error.startswith("webhook_url:") and "non-public address" in error
    finally:
        strict.stop()
    assert backend.credits(key) == 1000  # nothing was charged


def test_the_secret_is_generated_once_and_printed(tmp_path):
    import os
    import subprocess

    from service_support import ROOT, segswap_command

    env = {k: v for k, v in BASE_ENV.items() if k != "SEGSWAP_WEBHOOK_SECRET"}
    server = Server(tmp_path / "data", env).start()
    server.stop()
    printed = [
        subprocess.run(
            [*segswap_command(), "webhooks", "secret", "--data-dir", str(tmp_path / "data")],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        ).stdout.strip()
        for _ in range(2)
    ]
    assert printed[0] == printed[1] and printed[0].startswith("whsec_")
    assert len(base64.b64decode(printed[0][6:])) == 32


# ----- Idempotency-Key -----


def test_twenty_concurrent_duplicates_make_one_job_and_one_charge(backend, payload):
    key = backend.new_key(credits=100)
    body = {**payload, "seed": 5}
    with ThreadPoolExecutor(20) as pool:
        answers = list(
            pool.map(
                lambda _: submit(backend, key, body, **{"Idempotency-Key": "order-7"}), range(20)
            )
        )
    assert [a.status_code for a in answers] == [200] * 20
    ids = {a.json()["request_id"] for a in answers}
    assert len(ids) == 1
    assert sum(a.headers.get("Idempotent-Replayed") == "true" for a in answers) == 19
    assert backend.credits(key) == 99
    assert backend.jobs_of(key) == 1
    again = submit(backend, key, body, **{"Idempotency-Key": "order-7"})
    assert again.json() == answers[0].json()
    other = submit(backend, key, {**body, "seed": 6}, **{"Idempotency-Key": "order-7"})
    assert other.status_code == 409 and other.json()["error"].startswith("Idempotency-Key:")
    someone_else = backend.new_key()
    theirs = submit(backend, someone_else, {**body, "seed": 6}, **{"Idempotency-Key": "order-7"})
    assert theirs.status_code == 200  # keys are scoped to the API key
    assert theirs.json()["request_id"] not in ids
    assert settled(backend, key, ids.pop())["status"] == "COMPLETED"
    assert backend.credits(key) == 99


@pytest.mark.parametrize("value", ["", "x" * 256, "caf\u00e9", "tab\there"])
def test_a_malformed_idempotency_key_is_a_400(backend, payload, value):
    key = backend.new_key()
    response = httpx.post(
        backend.url + V2,
        json=payload,
        headers=[("x-api-key", key), ("Idempotency-Key", value.encode("latin-1"))],  # type: ignore[list-item]
        timeout=HTTP_TIMEOUT,
    )
    assert response.status_code == 400
    assert response.json()["error"].startswith("Idempotency-Key:")


def test_two_idempotency_keys_on_one_request_are_a_400(backend, payload):
    key = backend.new_key(credits=10)
    for values in (["order-1", "order-2"], ["order-1", "order-1"]):
        response = httpx.post(
            backend.url + V2,
            json=payload,
            headers=[("x-api-key", key), *(("Idempotency-Key", value) for value in values)],
            timeout=HTTP_TIMEOUT,
        )
        assert response.status_code == 400, response.text
        assert response.json()["error"] == (
            "Idempotency-Key: given 2 times; send one key per request"
        )
    assert backend.jobs_of(key) == 0 and backend.credits(key) == 10


# ----- cancel and progress -----


def test_cancel_a_queued_job_and_the_sdk_sees_it_failed(backend, payload):
    key = backend.new_key(credits=10)
    blocker = busy(backend, key, payload)[0]
    client = SegmindClient(api_key=key, base_url=f"{backend.url}/v1")
    job = client.submit_async(MODEL, **payload)
    status = httpx.get(
        f"{backend.url}/v2/requests/{job.request_id}/status", headers=h(key), timeout=HTTP_TIMEOUT
    ).json()
    assert status["status"] == "QUEUED" and status["queue_position"] >= 0
    assert status["progress"] == 0
    assert backend.credits(key) == 8
    canceled = httpx.post(
        f"{backend.url}/v2/requests/{job.request_id}/cancel", headers=h(key), timeout=HTTP_TIMEOUT
    )
    assert canceled.status_code == 200, canceled.text
    body = canceled.json()
    assert body["status"] == "FAILED" and body["canceled"] is True
    assert body["error"] == "canceled by the client"
    assert backend.credits(key) == 9  # refunded
    with pytest.raises(InferenceFailed):
        job.wait(timeout=30, interval=0.2)
    assert settled(backend, key, blocker)["status"] == "COMPLETED"
    again = httpx.post(
        f"{backend.url}/v2/requests/{job.request_id}/cancel", headers=h(key), timeout=HTTP_TIMEOUT
    )
    assert again.status_code == 409
    done = httpx.post(
        f"{backend.url}/v2/requests/{blocker}/cancel", headers=h(key), timeout=HTTP_TIMEOUT
    )
    assert done.status_code == 409 and "already finished" in done.json()["error"]
    assert backend.credits(key) == 9


# ----- proof and metadata through the API -----


def test_changed_box_and_mode_match_the_output_pixels(backend, images, payload):
    key = backend.new_key()
    job_id = submit(backend, key, payload).json()["request_id"]
    settled(backend, key, job_id)
    result = result_of(backend, key, job_id).json()
    metrics = result["metrics"]
    assert metrics["mode"] in ("object", "pattern")
    x0, y0, x1, y1 = metrics["changed_box"]
    before = np.asarray(Image.open(io.BytesIO(images["main"])).convert("RGB"))
    after = np.asarray(
        Image.open(io.BytesIO(httpx.get(result["output"], timeout=HTTP_TIMEOUT).content)).convert(
            "RGB"
        )
    )
    keep = np.ones(before.shape[:2], bool)
    keep[y0:y1, x0:x1] = False
    assert np.array_equal(before[keep], after[keep])
    differs = (before != after).any(axis=2)
    assert differs[y0, x0:x1].any() and differs[y1 - 1, x0:x1].any()
    v1 = httpx.post(
        backend.url + V1, json={**payload, "mode": "remove"}, headers=h(key), timeout=60
    )
    assert v1.status_code == 200
    assert v1.headers["X-Edit-Mode"] == "remove"
    box = [int(v) for v in v1.headers["X-Changed-Box"].split(",")]
    out = np.asarray(Image.open(io.BytesIO(v1.content)).convert("RGB"))
    keep = np.ones(before.shape[:2], bool)
    keep[box[1] : box[3], box[0] : box[2]] = False
    assert np.array_equal(before[keep], out[keep]) and not np.array_equal(before, out)


def test_a_jpeg_inputs_profile_and_exif_reach_the_output(backend, images, payload):
    key = backend.new_key()
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[0x010F] = "SegswapCam"
    exif[0x0112] = 3  # upside down: applied on decode, then reset to 1
    scene = Image.open(io.BytesIO(images["main"])).convert("RGB")
    jpeg = io.BytesIO()
    scene.save(jpeg, "JPEG", quality=95, icc_profile=icc, exif=exif.tobytes())
    for fmt in ("png", "jpeg", "webp"):
        body = {**payload, "main_image": b64(jpeg.getvalue()), "image_format": fmt}
        response = httpx.post(backend.url + V1, json=body, headers=h(key), timeout=60)
        assert response.status_code == 200, response.text
        out = Image.open(io.BytesIO(response.content))
        assert out.info.get("icc_profile") == icc, fmt
        assert out.getexif().get(0x010F) == "SegswapCam"
        assert out.getexif().get(0x0112) == 1
