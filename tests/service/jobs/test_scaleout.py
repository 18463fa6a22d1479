"""Scale-out: two API nodes and two Celery workers on one Redis, each process with its own
data dir (nothing shared on disk). Jobs cross nodes, a worker dies mid-job, a worker and
an API node are stopped gracefully, Redis goes away and comes back."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis
from scaleout_support import RedisServer, Worker, keys_command, require_redis
from service_support import HTTP_TIMEOUT, MODEL, Server, stop_all

pytest.importorskip("celery")

V1 = f"/v1/{MODEL}"
V2 = f"/v2/{MODEL}"
DELAY = 0.2  # seconds each job takes (SlowEngine)
HANG = 120.0  # seconds a wait may last: a deadline that only bounds a hang
KILL_SEED, SEGV_SEED = 4242, 666  # ScaleoutEngine's process dies of SIGKILL / SIGSEGV


@dataclass
class Cluster:
    redis: RedisServer
    workers: dict[str, Worker]
    a: Server
    b: Server
    env: dict[str, str]
    root: Path

    def client(self) -> redis.Redis:
        return self.redis.client()

    def new_key(self, credits: float = 1000) -> str:
        made = keys_command(self.redis.url, "create", "--credits", str(credits))
        assert made.returncode == 0, made.stderr
        return made.stdout.strip()

    def credits(self, secret: str) -> float:
        from segswap.service.accounts.keys import hash_key

        r = self.client()
        key_id = r.get(f"segswap:keyhash:{hash_key(secret)}").decode()
        return int(r.hget(f"segswap:key:{key_id}", "micro_credits")) / 1_000_000

    def job(self, job_id: str) -> dict[str, str]:
        raw = self.client().hgetall(f"segswap:job:{job_id}")
        return {k.decode(): v.decode() for k, v in raw.items() if k != b"request"}

    def restart_worker(self, name: str) -> Worker:
        old = self.workers[name]
        worker = Worker(name, old.data_dir, old.env).start(self.client())
        self.workers[name] = worker
        return worker

    def node(self, index: int) -> Server:
        return (self.a, self.b)[index % 2]

    @contextlib.contextmanager
    def gate_closed(self) -> Iterator[None]:
        """While inside, every job waits in the engine (SlowEngine's gate): a test makes
        the state it needs (a job running on a given worker) and then lets them go."""
        gate = self.root / "gate"
        gate.touch()
        try:
            yield
        finally:
            gate.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    require_redis()
    root = tmp_path_factory.mktemp("scaleout")
    store = RedisServer(root / "redis").start()
    env = {
        "SEGSWAP_BROKER_URL": store.url,
        "SEGSWAP_ENGINE": "segswap_test_engines:ScaleoutEngine",  # KILL_SEED, SEGV_SEED crash
        "SEGSWAP_TEST_DELAY": str(DELAY),
        "SEGSWAP_DRAIN_TIMEOUT": "60",
        # A 2 s lease (heartbeat every 0.5 s): a dead worker's job is sent again about 4-5 s
        # after the death, not 20-25 s; the rules are the same at any lease.
        "SEGSWAP_JOB_LEASE": "2",
        "SEGSWAP_TEST_GATE": str(root / "gate"),  # while it exists, jobs wait
    }
    workers = {name: Worker(name, root / name, env) for name in ("w1", "w2")}
    servers: list[Server] = []
    try:
        threads = [
            threading.Thread(target=w.start, args=(store.client(),)) for w in workers.values()
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert all(w.proc is not None and w.proc.poll() is None for w in workers.values())
        a = Server(root / "node-a", env)
        b = Server(root / "node-b", env)
        servers += [a, b]
        a.start()
        b.start()
        yield Cluster(store, workers, a, b, env, root)
    finally:
        stop_all([*servers, *workers.values()])
        store.stop()


def h(key: str) -> dict[str, str]:
    return {"x-api-key": key}


def settle(
    client: httpx.Client, cluster: Cluster, job_id: str, key: str, timeout: float = HANG
) -> dict:
    """Poll a job on alternating nodes until COMPLETED or FAILED."""
    deadline = time.monotonic() + timeout
    n = 0
    while time.monotonic() < deadline:
        node = cluster.node(n)
        n += 1
        r = client.get(f"{node.url}/v2/requests/{job_id}/status", headers=h(key))
        if r.status_code == 422 or r.json().get("status") == "COMPLETED":
            return r.json()
        assert r.status_code == 200, r.text
        time.sleep(0.1)
    raise AssertionError(f"{job_id} did not settle within {timeout} s: {cluster.job(job_id)}")


def wait_for(predicate, what: str, timeout: float = HANG) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def slot_of(cluster: Cluster, job_id: str) -> str:
    """The registry slot (``<worker>:<pool pid>``) of the process running ``job_id``
    (its lease owner is that slot plus a delivery id)."""
    return cluster.job(job_id)["owner"].rsplit(":", 1)[0]


def running_on(cluster: Cluster, ids: list[str], worker: str) -> str | None:
    """The first of ``ids`` that ``worker`` is running now, or None."""
    for job_id in ids:
        job = cluster.job(job_id)
        if job.get("state") == "PROCESSING" and job.get("owner", "").startswith(worker + ":"):
            return job_id
    return None


def test_any_node_answers_for_any_request_and_serves_its_image(cluster: Cluster, payload):
    key = cluster.new_key(credits=100)
    client = httpx.Client(timeout=HTTP_TIMEOUT)
    jobs = [client.post(cluster.a.url + V2, json=payload, headers=h(key)) for _ in range(4)]
    assert all(r.status_code == 200 for r in jobs), [r.text for r in jobs]
    assert jobs[-1].headers["X-Remaining-Credits"] == "96"
    images = set()
    for r in jobs:
        job = r.json()
        assert job["status"] == "QUEUED" and job["status_url"].startswith(cluster.a.url)
        job_id = job["request_id"]
        assert settle(client, cluster, job_id, key)["status"] == "COMPLETED"
        result = client.get(f"{cluster.b.url}/v2/requests/{job_id}", headers=h(key)).json()
        assert result["status"] == "COMPLETED" and result["metrics"]["inference_time"] > 0
        assert result["output"].startswith(cluster.b.url + "/media/")
        on_b = client.get(result["output"])
        on_a = client.get(result["output"].replace(cluster.b.url, cluster.a.url))
        assert on_b.status_code == on_a.status_code == 200
        assert on_b.headers["content-type"] == "image/png" and on_a.content == on_b.content
        images.add(on_b.content)
    assert len(images) == 1  # same inputs and seed, whichever worker ran it

    # v1 on node B, base64 result through node A
    r = client.post(cluster.b.url + V1, json=payload, headers=h(key))
    assert r.status_code == 200 and r.content in images
    job = client.post(cluster.a.url + V2, json={**payload, "base64": True}, headers=h(key)).json()
    settle(client, cluster, job["request_id"], key)
    body = client.get(f"{cluster.b.url}/v2/requests/{job['request_id']}", headers=h(key)).json()
    assert not body["output"].startswith("http")

    # unknown, and another key's, ids are 404 on every node (never QUEUED)
    other = cluster.new_key(credits=5)
    for node in (cluster.a, cluster.b):
        for path in (
            "/v2/requests/no-such-id/status",
            "/v2/requests/no-such-id",
            f"/v2/requests/{jobs[0].json()['request_id']}/status",
        ):
            r = client.get(node.url + path, headers=h(other))
            assert r.status_code == 404 and "error" in r.json()
        assert client.get(node.url + "/media/" + "A" * 32 + ".png").status_code == 404
    assert cluster.credits(key) == 100 - 6
    # no node wrote a store of its own
    for node in (cluster.a, cluster.b):
        assert not (node.data_dir / "segswap.db").exists()
        assert not (node.data_dir / "results").exists()
    health = client.get(cluster.a.url + "/health").json()
    assert health["status"] == "ok" and health["workers"] == 2


def test_keys_made_through_any_node_work_on_every_node(cluster: Cluster, payload):
    made = keys_command(  # through the console script, in a process of its own
        cluster.redis.url, "create", "--name", "carol", "--credits", "3", process=True
    )
    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip()
    assert made.stdout == secret + "\n" and secret.startswith("sgs_")
    for node in (cluster.a, cluster.b):
        r = httpx.post(node.url + V1, json=payload, headers=h(secret), timeout=HTTP_TIMEOUT)
        assert r.status_code == 200, r.text
    assert r.headers["X-Remaining-Credits"] == "1"
    listed = keys_command(cluster.redis.url, "list", "--json")
    carol = next(k for k in json.loads(listed.stdout) if k["name"] == "carol")
    assert carol["credits"] == 1 and secret not in listed.stdout
    assert keys_command(cluster.redis.url, "credit", "carol", "10").returncode == 0
    assert cluster.credits(secret) == 11
    assert keys_command(cluster.redis.url, "create", "--name", "carol").returncode == 1
    # an admin key made over HTTP on node B makes a key that node A accepts
    admin = keys_command(cluster.redis.url, "create", "--admin").stdout.strip()
    made_b = httpx.post(
        cluster.b.url + "/admin/keys", json={"credits": 2}, headers=h(admin), timeout=HTTP_TIMEOUT
    )
    assert made_b.status_code == 201
    r = httpx.post(
        cluster.a.url + V1, json=payload, headers=h(made_b.json()["key"]), timeout=HTTP_TIMEOUT
    )
    assert r.status_code == 200 and r.headers["X-Remaining-Credits"] == "1"
    assert (
        httpx.post(
            cluster.a.url + V1, json=payload, headers=h(made_b.json()["key"]), timeout=HTTP_TIMEOUT
        ).status_code
        == 200
    )
    assert (
        httpx.post(
            cluster.b.url + V1, json=payload, headers=h(made_b.json()["key"]), timeout=HTTP_TIMEOUT
        ).status_code
        == 406
    )
    assert keys_command(cluster.redis.url, "revoke", "carol").returncode == 0
    # A node reuses a key check for up to 1 s: an empty body is a 400 (not charged) until
    # it sees the revocation, then a 401.
    for node in (cluster.a, cluster.b):
        wait_for(
            lambda node=node: (
                httpx.post(
                    node.url + V2, json={}, headers=h(secret), timeout=HTTP_TIMEOUT
                ).status_code
                == 401
            ),
            f"node {node.url} to refuse the revoked key",
        )


def test_40_jobs_all_complete_and_are_charged_once_when_a_worker_is_killed(
    cluster: Cluster, payload
):
    """Acceptance: 40 jobs, one of the two workers SIGKILLed (whole process group) while
    they run; every job COMPLETES, the one it was running after being delivered again,
    and the key is charged exactly 40 x the price."""
    key = cluster.new_key(credits=1000)
    before = cluster.credits(key)
    client = httpx.Client(timeout=HTTP_TIMEOUT)
    ids = []
    with cluster.gate_closed():  # held until w1 is seen running one, then it dies
        for i in range(40):
            r = client.post(cluster.node(i).url + V2, json=payload, headers=h(key))
            assert r.status_code == 200, r.text
            ids.append(r.json()["request_id"])
        victim = wait_for(lambda: running_on(cluster, ids, "w1"), "a job running on w1")
        cluster.workers["w1"].kill()
    started = time.monotonic()
    for job_id in ids:
        assert settle(client, cluster, job_id, key)["status"] == "COMPLETED"
    elapsed = time.monotonic() - started
    record = cluster.job(victim)  # type: ignore[arg-type]
    assert record["state"] == "COMPLETED" and int(record["attempts"]) == 2
    assert not record["owner"].startswith("w1:")
    assert sum(int(cluster.job(j)["attempts"]) for j in ids) == 41
    assert before - cluster.credits(key) == 40 * 1.0
    print(f"\n40 jobs with w1 killed: all COMPLETED {elapsed:.1f} s after the kill")
    cluster.restart_worker("w1")


def test_native_engine_crashes_fail_their_jobs_and_the_workers_serve_on(cluster: Cluster, payload):
    """Crash isolation, as in ``segswap serve``: 20 jobs, 3 of which kill their engine
    process natively on every attempt (2 SIGSEGV, 1 SIGKILL as the out-of-memory killer
    would). Each crash ends one attempt in the engine process only: the 3 FAIL after
    SEGSWAP_MAX_ATTEMPTS (3) naming the crash, refunded once; the 17 others COMPLETE;
    nothing is lost; both workers live on with the same pool processes."""
    key = cluster.new_key(credits=100)
    client = httpx.Client(timeout=HTTP_TIMEOUT)
    before = time.time()
    pools = {
        name: wait_for(lambda w=w: w.slots(cluster.client(), since=before), f"{name} to beat")
        for name, w in cluster.workers.items()
    }
    crashing = {2: SEGV_SEED, 9: KILL_SEED, 15: SEGV_SEED}  # job index -> seed
    ids = []
    for i in range(20):
        body = {**payload, "seed": crashing.get(i, payload.get("seed", 42))}
        r = client.post(cluster.node(i).url + V2, json=body, headers=h(key))
        assert r.status_code == 200, r.text
        ids.append(r.json()["request_id"])
    assert cluster.credits(key) == 100 - 20  # charged at submit

    final = [settle(client, cluster, job_id, key) for job_id in ids]  # none is lost
    for i, (job_id, body) in enumerate(zip(ids, final, strict=True)):
        record = cluster.job(job_id)
        if i in crashing:
            signal_name = "SIGSEGV" if crashing[i] == SEGV_SEED else "SIGKILL"
            assert body["status"] == "FAILED", body
            assert "3 attempt(s)" in body["error"] and f"killed by {signal_name}" in body["error"]
            assert record["attempts"] == "3" and record["refunded"] == "1"
        else:
            assert body["status"] == "COMPLETED", (i, body)
            assert record["attempts"] == "1" and "refunded" not in record
    assert sum(b["status"] == "COMPLETED" for b in final) == 17
    assert cluster.credits(key) == 100 - 17  # the 3 refunded, each once
    logs = "".join(w.log() for w in cluster.workers.values())
    assert logs.count("the engine process died (killed by SIGSEGV)") >= 2 * 3
    assert "the engine process died (killed by SIGKILL)" in logs
    after = time.time()
    for name, worker in cluster.workers.items():  # the same pool processes beat on
        assert worker.proc is not None and worker.proc.poll() is None
        assert (
            wait_for(lambda w=worker: w.slots(cluster.client(), since=after), f"{name} to beat")
            == pools[name]
        )
    again = client.post(cluster.a.url + V2, json=payload, headers=h(key)).json()
    assert settle(client, cluster, again["request_id"], key)["status"] == "COMPLETED"


def test_a_job_whose_pool_process_dies_each_time_fails_after_max_attempts_refunded_once(
    cluster: Cluster, payload
):
    """The pool process running a job (not its engine process) is killed on each run,
    as the out-of-memory killer may pick it; its worker lives and starts a new one. The
    message goes back at once each time, and the delivery after SEGSWAP_MAX_ATTEMPTS (3)
    marks the job FAILED with a reason, refunded exactly once; other jobs still run."""
    key = cluster.new_key(credits=10)
    client = httpx.Client(timeout=HTTP_TIMEOUT)
    with cluster.gate_closed():  # each run waits in the engine until its process is killed
        job_id = client.post(cluster.a.url + V2, json=payload, headers=h(key)).json()["request_id"]
        assert cluster.credits(key) == 9
        for attempt in ("1", "2", "3"):

            def running(attempt: str = attempt) -> str | None:
                record = cluster.job(job_id)
                started = record.get("state") == "PROCESSING" and record["attempts"] == attempt
                return slot_of(cluster, job_id) if started else None

            slot = wait_for(running, f"run {attempt} of the job")
            os.kill(int(str(slot).rsplit(":", 1)[1]), signal.SIGKILL)
    body = settle(client, cluster, job_id, key)
    assert body["status"] == "FAILED" and "3 attempt(s)" in body["error"], body
    assert "stopped each time" in body["error"]
    record = cluster.job(job_id)
    assert record["attempts"] == "4" and record["refunded"] == "1"
    assert cluster.credits(key) == 10  # refunded, once
    fine = client.post(cluster.b.url + V2, json=payload, headers=h(key)).json()
    assert settle(client, cluster, fine["request_id"], key)["status"] == "COMPLETED"
    assert cluster.credits(key) == 9
    for worker in cluster.workers.values():  # the workers themselves lived on
        assert worker.proc is not None and worker.proc.poll() is None


def test_sigterm_on_a_worker_finishes_its_job_then_exits(cluster: Cluster, payload):
    """SIGTERM while w1 runs a job (held there by the gate): w1 finishes it, leaves the
    registry and exits 0; nothing runs twice."""
    key = cluster.new_key(credits=100)
    client = httpx.Client(timeout=HTTP_TIMEOUT)
    w1 = cluster.workers["w1"]
    with cluster.gate_closed():
        ids = [
            client.post(cluster.a.url + V2, json=payload, headers=h(key)).json()["request_id"]
            for _ in range(6)
        ]
        current = wait_for(lambda: running_on(cluster, ids, "w1"), "a job running on w1")
        slot = slot_of(cluster, current)  # type: ignore[arg-type]
        assert slot in w1.slots(cluster.client())
        w1.terminate()
    assert w1.proc is not None
    assert w1.proc.wait(HANG) == 0  # warm shutdown: finished its job, then left
    record = cluster.job(current)  # type: ignore[arg-type]
    assert record["state"] == "COMPLETED" and record["attempts"] == "1"
    # Deregistered on the way out: the slot is gone from the registry, not merely old
    # (a slot whose process was killed stays, with its last beat, until the window).
    registered = [m.decode() for m in cluster.client().zrange("segswap:workers", 0, -1)]
    assert slot not in registered, registered
    for job_id in ids:
        assert settle(client, cluster, job_id, key)["status"] == "COMPLETED"
        assert cluster.job(job_id)["attempts"] == "1"  # nothing ran twice
    assert cluster.credits(key) == 100 - 6
    cluster.restart_worker("w1")


def test_sigterm_on_an_api_node_refuses_new_work_and_drains(cluster: Cluster, payload):
    node = Server(cluster.root / "node-c", cluster.env).start()
    key = cluster.new_key(credits=100)
    client = httpx.Client(timeout=60)
    # the workers hold every job until the node has been seen draining
    with cluster.gate_closed():
        queued = [client.post(node.url + V2, json=payload, headers=h(key)).json() for _ in range(6)]
        outcome: dict[str, httpx.Response] = {}
        sync = threading.Thread(
            target=lambda: outcome.update(
                v1=httpx.post(node.url + V1, json=payload, headers=h(key), timeout=120)
            )
        )
        sync.start()
        wait_for(
            lambda: (
                cluster.client().zcard("segswap:jobs:QUEUED")
                + cluster.client().zcard("segswap:jobs:PROCESSING")
                >= 7
            ),
            "the v1 job to be queued",
        )
        assert node.proc is not None
        node.proc.send_signal(signal.SIGTERM)
        wait_for(lambda: client.get(node.url + "/health").status_code == 503, "draining")
        refused = client.post(node.url + V2, json=payload, headers=h(key))
        assert refused.status_code == 503 and "shutting down" in refused.json()["error"]
        poll = client.get(queued[0]["status_url"], headers=h(key))  # polls are still served
        assert poll.status_code == 200 and poll.json()["status"] in ("QUEUED", "PROCESSING")
        assert "v1" not in outcome  # still in flight
    sync.join(HANG)
    assert outcome["v1"].status_code == 200  # the call in flight was served
    assert node.proc.wait(HANG) == 0  # then the node left cleanly
    assert "Traceback" not in node.log()
    for job in queued:  # its jobs are the cluster's: any node answers for them
        assert settle(client, cluster, job["request_id"], key)["status"] == "COMPLETED"
    assert cluster.credits(key) == 100 - 7


def test_redis_outage_is_a_json_503_and_the_cluster_recovers_by_itself(cluster: Cluster, payload):
    key = cluster.new_key(credits=100)
    client = httpx.Client(timeout=HTTP_TIMEOUT)
    ids = [
        client.post(cluster.node(i).url + V2, json=payload, headers=h(key)).json()["request_id"]
        for i in range(6)
    ]
    time.sleep(0.5)  # some are running, some queued
    cluster.redis.save()  # a Redis with persistence: its data outlives the restart
    cluster.redis.kill()
    try:
        for node in (cluster.a, cluster.b):
            for response in (
                client.post(node.url + V2, json=payload, headers=h(key)),
                client.get(f"{node.url}/v2/requests/{ids[0]}/status", headers=h(key)),
                client.get(f"{node.url}/v2/requests/{ids[0]}", headers=h(key)),
                client.get(node.url + "/health"),
            ):
                assert response.status_code in (502, 503), response.text
                assert "error" in response.json() or response.json()["status"] != "ok"
            assert client.get(node.url + "/metrics").status_code == 200
        time.sleep(3.0)  # long enough for the workers' broker connections to notice
    finally:
        cluster.redis.start()  # same port, same folder: loads the snapshot

    def submit_works() -> httpx.Response | None:
        r = client.post(cluster.a.url + V2, json=payload, headers=h(key))
        return r if r.status_code == 200 else None

    after = wait_for(submit_works, "node A to accept work again")
    ids.append(after.json()["request_id"])  # type: ignore[attr-defined]
    assert client.post(cluster.b.url + V1, json=payload, headers=h(key)).status_code == 200
    for job_id in ids:
        assert settle(client, cluster, job_id, key)["status"] == "COMPLETED"
    assert cluster.credits(key) == 100 - 8
    for worker in cluster.workers.values():
        assert worker.proc is not None and worker.proc.poll() is None
    assert os.environ.get("SEGSWAP_BROKER_URL") is None  # the test process stayed embedded


def test_a_job_stored_by_a_node_that_died_before_sending_it_still_runs(cluster: Cluster, payload):
    """An API node killed between storing a job (and charging it) and sending its Celery
    message: a worker's reaper finds the unsent job and sends it; it completes, once."""
    from segswap.params import SwapRequest
    from segswap.service.accounts.credits import Charge
    from segswap.service.accounts.keys import hash_key
    from segswap.service.jobs.redis_records import RedisJobStore

    secret = cluster.new_key(credits=10)
    r = cluster.client()
    key_id = r.get(f"segswap:keyhash:{hash_key(secret)}").decode()
    store = RedisJobStore(r, result_ttl=3600)
    job_id = "died-before-send-0001"
    outcome, remaining = store.submit(  # what the node did before it died: no message sent
        job_id,
        charge=Charge(key_id, price=1.0, balance=10.0),
        capacity=1000,
        fields={
            "kind": "v2",
            "model": MODEL,
            "base64": "0",
            "request": SwapRequest(**payload).model_dump_json(),
        },
    )
    assert outcome == "ok" and float(remaining) == 9.0
    with httpx.Client(timeout=HTTP_TIMEOUT) as client:
        final = settle(client, cluster, job_id, secret, timeout=90)
    assert final["status"] == "COMPLETED", final
    assert cluster.job(job_id)["attempts"] == "1"
    assert cluster.credits(secret) == 9.0
    assert r.zscore("segswap:unpublished", job_id) is None


def test_mask_warnings_travel_through_redis(cluster: Cluster, payload):
    """The mask doctor's warnings reach the v2 status and result bodies and the v1 header
    from a Celery worker too."""
    import base64
    import io

    import numpy as np
    from PIL import Image

    key = cluster.new_key(credits=10)
    client = httpx.Client(timeout=HTTP_TIMEOUT)
    full = np.full((128, 128), 255, np.uint8)
    full[60:68, 60:68] = 0  # 99.6 % covered
    buffer = io.BytesIO()
    Image.fromarray(full).save(buffer, "PNG")
    body = {**payload, "mask_image": base64.b64encode(buffer.getvalue()).decode("ascii")}
    job = client.post(cluster.a.url + V2, json=body, headers=h(key)).json()
    status = settle(client, cluster, job["request_id"], key)
    assert status["status"] == "COMPLETED"
    assert "covers_most" in [w["code"] for w in status["warnings"]]
    result = client.get(f"{cluster.b.url}/v2/requests/{job['request_id']}", headers=h(key))
    assert result.json()["warnings"] == status["warnings"]
    assert "warnings" not in result.json()["metrics"]
    r = client.post(cluster.b.url + V1, json=body, headers=h(key))
    assert r.status_code == 200 and "covers_most" in r.headers["X-Mask-Warnings"]
    clean = client.post(cluster.a.url + V2, json=payload, headers=h(key)).json()
    assert "warnings" not in settle(client, cluster, clean["request_id"], key)
