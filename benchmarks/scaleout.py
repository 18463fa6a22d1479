"""Scale-out throughput: jobs/s with 1 and with 2 ``segswap worker`` processes.

Run: ``.venv/bin/python benchmarks/scaleout.py [--jobs N] [--scene PX] [--rounds R]``

In one run, on this machine: a throw-away ``redis-server`` (no persistence), one
``segswap serve`` API node and ``segswap worker`` processes (concurrency 1 each, the
default composite engine), all on loopback, each with its own temporary data dir. For
each round it measures, with 1 worker and then with 2 (the second started between the
two measurements), the wall time from the first ``POST /v2/seg-swap`` of N jobs (object
swap; PNG, or ``--format jpeg``, photos of ``--scene`` px; a 500x400 mask scaled to the
scene) to the moment the last one is COMPLETED, and reports jobs/s and the ratio. It
also times the same request rendered in this process (``render_request``: decode +
engine + encode): ``1 / that time`` is about what one worker can do, its ceiling.

Every process (Redis, the API node, the workers, this client) shares the same cores, so
the 2-worker ratio is bounded by the number of cores left after the API node and Redis.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "service"))
from api import ROOT, free_port, request_body, wait_up  # noqa: E402
from scaleout_support import RedisServer, redis_available  # noqa: E402


def segswap() -> list[str]:
    script = Path(sys.executable).with_name("segswap")
    return [str(script)] if script.exists() else [sys.executable, "-m", "segswap.cli"]


def start_worker(
    env: dict[str, str], name: str, folder: Path, broker: str
) -> subprocess.Popen[bytes]:
    import redis

    proc = subprocess.Popen(
        [*segswap(), "worker", "--hostname", name, "--concurrency", "1", "--log-level", "warning"],
        env={**env, "SEGSWAP_DATA_DIR": str(folder / name)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    client = redis.Redis.from_url(broker)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        members = client.zrangebyscore("segswap:workers", time.time() - 5, "+inf")
        if any(m.decode().startswith(name + ":") for m in members):
            return proc
        time.sleep(0.1)
    raise SystemExit(f"worker {name} did not start")


def run_batch(api: str, key: str, body: dict, jobs: int) -> float:
    """Seconds from the first submit to the last COMPLETED."""
    client = httpx.Client(headers={"x-api-key": key}, timeout=60)
    started = time.perf_counter()
    urls = []
    for _ in range(jobs):
        r = client.post(api + "/v2/seg-swap", json=body)
        r.raise_for_status()
        urls.append(r.json()["status_url"])
    pending = set(urls)
    while pending:
        for url in list(pending):
            state = client.get(url).json()["status"]
            if state == "FAILED":
                raise SystemExit(f"a job FAILED: {client.get(url).json()}")
            if state == "COMPLETED":
                pending.discard(url)
        if pending:
            time.sleep(0.02)
    return time.perf_counter() - started


def in_process(body: dict, repeats: int = 5) -> float:
    from segswap.api import render_request
    from segswap.engine import get_engine
    from segswap.params import parse_request
    from segswap.settings import Settings

    engine, settings = get_engine("composite"), Settings()
    request = parse_request(body)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        render_request(request, engine=engine, settings=settings)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=60, help="jobs per measurement")
    parser.add_argument("--scene", type=int, default=1024, help="scene size, px")
    parser.add_argument("--rounds", type=int, default=2, help="1-worker/2-worker pairs")
    parser.add_argument(
        "--format",
        default="png",
        choices=("png", "jpeg"),
        help="the photos' and the result's encoding",
    )
    args = parser.parse_args()

    scale = args.scene / 1024
    body = request_body(
        args.scene, int(500 * scale), int(400 * scale), int(400 * scale), args.format.upper()
    )
    body["image_format"] = args.format
    single = in_process(body)
    procs: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if not redis_available():
            raise SystemExit("redis-server is not installed (scripts/system-packages installs it)")
        store = RedisServer(folder / "redis").start()
        broker = store.url
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "SEGSWAP_BROKER_URL": broker,
            "SEGSWAP_RATE_LIMIT": "0",
            "SEGSWAP_ENGINE": "composite",
        }
        try:
            port = free_port()
            api = f"http://127.0.0.1:{port}"
            serve = subprocess.Popen(
                [*segswap(), "serve", "--port", str(port), "--log-level", "warning"],
                env={**env, "SEGSWAP_DATA_DIR": str(folder / "api")},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            procs.append(serve)
            key = subprocess.run(
                [*segswap(), "keys", "create", "--credits", "1000000"],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            results: dict[int, list[float]] = {1: [], 2: []}
            for round_ in range(args.rounds):
                first = start_worker(env, f"bench1-{round_}", folder, broker)
                procs.append(first)
                wait_up(api + "/health", serve)
                while httpx.get(api + "/health").status_code != 200:
                    time.sleep(0.1)
                run_batch(api, key, body, 4)  # warm-up
                results[1].append(args.jobs / run_batch(api, key, body, args.jobs))
                second = start_worker(env, f"bench2-{round_}", folder, broker)
                procs.append(second)
                run_batch(api, key, body, 4)
                results[2].append(args.jobs / run_batch(api, key, body, args.jobs))
                for proc in (first, second):
                    proc.send_signal(signal.SIGTERM)
                    proc.wait(30)
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.terminate()
                    proc.wait(30)
            store.stop()

    fmt = args.format.upper()
    print(
        f"cores: {os.cpu_count()}; {args.jobs} jobs per measurement, object swap "
        f"{args.scene}x{args.scene} {fmt} -> {fmt}"
    )
    print(
        f"in-process render_request: {single * 1000:.1f} ms/job "
        f"= {1 / single:.2f} jobs/s (one process: about one worker's ceiling)"
    )
    for round_ in range(args.rounds):
        one, two = results[1][round_], results[2][round_]
        print(
            f"round {round_ + 1}: 1 worker {one:.2f} jobs/s, 2 workers {two:.2f} jobs/s, "
            f"ratio {two / one:.2f}"
        )
    one, two = statistics.median(results[1]), statistics.median(results[2])
    print(f"median: 1 worker {one:.2f} jobs/s, 2 workers {two:.2f} jobs/s, ratio {two / one:.2f}")


if __name__ == "__main__":
    main()
