"""HTTP API overhead: segswap serve against a bare ASGI app on the same server stack.

Run: ``.venv/bin/python benchmarks/api.py [--seconds S] [--connections C]``

In one run it starts, each in its own process with the same uvicorn settings
(``uvicorn.Config`` defaults: ``loop=auto`` -> uvloop, ``http=auto`` -> httptools; no
access log), on loopback:

- a bare ASGI app that reads the body and answers a constant JSON (the floor);
- ``python -m segswap.service serve`` (embedded default) with a temporary data dir, the
  per-key rate limit off (it would cap the measurement) and a key with enough credits;

and measures, with a raw-socket HTTP/1.1 keep-alive load generator (asyncio, uvloop):

1. status polls: requests/s of ``GET /v2/requests/{id}/status`` (a COMPLETED job) over
   C connections for S seconds, against the same GET on the bare app;
2. v2 submits: p50/p99 latency of ``POST /v2/seg-swap`` (128² inputs, one client,
   sequential) against the same POST to the bare app;
3. v1 end to end for a 1024×1024 scene with a 500×400 mask (PNG in, PNG out): median
   latency of ``POST /v1/seg-swap`` against the same request rendered in-process by
   :func:`segswap.api.render_request` (decode + engine + encode) and against its
   ``inference_time`` (engine only);
4. status polls under load: 20 clients (one key each) submit 10 v2 jobs each (128²
   inputs) and poll each job every 100 ms until it settles, as the SDK's ``wait()``
   does; p50/p99 of those polls against idle polls of the same server, measured the same
   way in the same run (the functional suite only checks that all 200 complete with no
   5xx: a latency limit there fails on a loaded machine).

5. slow connections: N connections (200) each send a request line and then one header
   line a second, as a slowloris client does, for up to 60 lines; reports how many the
   server closed (by ``SEGSWAP_HEADER_TIMEOUT``, 10 s by default) before they finished,
   and the seconds from open to close; meanwhile one client times ``GET /health`` every
   50 ms: p50/p99 against the same client on the idle server, in the same run.
   ``--only-slow`` runs this part alone.
6. large bodies: 8 clients send a 120 MB JSON body each at once (a base64 string and a
   bad ``seed``, so each is read, parsed and refused with 400: nothing is stored), to a
   fresh server with ``SEGSWAP_LARGE_BODY_CONCURRENCY=8`` (no bound in effect) and one
   with the default 2; for each: the peak RSS of the server and its child processes
   summed (``/proc``, sampled every 20 ms),
   the codes, and ``/health`` p50/p99 while they run. ``--only-large`` runs this part
   alone; ``--large-mb`` and ``--large-count`` change the load.

``--skip-slow-large`` runs parts 1-4 only.

Targets (from the API issue): polls >= 40 % of the bare rate; v1 end to end <= engine
time + 30 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
UVICORN_SETTINGS: dict[str, Any] = {
    "log_level": "warning",
    "access_log": False,
    "server_header": False,
}
BARE_BODY = json.dumps({"request_id": "0" * 36, "status": "COMPLETED"}).encode()


# ----- the floor: a bare ASGI app -----


async def bare_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Reads the whole body, answers a constant JSON."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(BARE_BODY)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": BARE_BODY})


def serve_bare(port: int) -> None:
    import uvicorn

    uvicorn.Server(uvicorn.Config(bare_app, host="127.0.0.1", port=port, **UVICORN_SETTINGS)).run()


# ----- helpers -----


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_up(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise SystemExit(f"{url} did not come up")


def encode_file(array: np.ndarray, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return buffer.getvalue()


def photo(name: str, size: tuple[int, int]) -> np.ndarray:
    from skimage import data

    image = Image.fromarray(getattr(data, name)())
    return np.asarray(image.resize(size, Image.Resampling.BILINEAR))


def request_body(
    scene: int, mask_w: int, mask_h: int, obj: int, photos: str = "PNG"
) -> dict[str, Any]:
    """Astronaut scene, centred box mask (always PNG), the Python logo on white as the
    object (auto mode keys its background out: an object swap); the scene and the object
    encoded as ``photos`` (PNG or JPEG)."""
    mask = np.zeros((scene, scene), np.uint8)
    top, left = (scene - mask_h) // 2, (scene - mask_w) // 2
    mask[top : top + mask_h, left : left + mask_w] = 255
    b64 = lambda data: base64.b64encode(data).decode("ascii")  # noqa: E731
    return {
        "main_image": b64(encode_file(photo("astronaut", (scene, scene)), photos)),
        "mask_image": b64(encode_file(mask)),
        "object_image": b64(encode_file(photo("logo", (obj, obj))[:, :, :3].copy(), photos)),
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(q * len(ordered))) - 1))]


# ----- raw keep-alive HTTP/1.1 load generator -----


def raw_request(
    method: str, path: str, port: int, headers: dict[str, str], body: bytes = b""
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if body or method == "POST":
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _one_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    await reader.readexactly(length)
    return status


async def _hammer(
    port: int,
    request: bytes,
    connections: int,
    seconds: float,
) -> tuple[int, list[float], dict[int, int]]:
    deadline = time.perf_counter() + seconds
    latencies: list[float] = []
    codes: dict[int, int] = {}

    async def conn() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            writer.write(request)
            status = await _one_response(reader)
            latencies.append(time.perf_counter() - started)
            codes[status] = codes.get(status, 0) + 1
        writer.close()

    await asyncio.gather(*(conn() for _ in range(connections)))
    return len(latencies), latencies, codes


def hammer(port: int, request: bytes, connections: int, seconds: float) -> dict[str, Any]:
    """Requests/s and latency of ``request`` sent in a loop on ``connections`` connections."""
    try:
        import uvloop

        runner: Any = uvloop.run
    except ImportError:  # pragma: no cover
        runner = asyncio.run
    count, latencies, codes = runner(_hammer(port, request, connections, seconds))
    return {
        "rps": count / seconds,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "codes": codes,
    }


def sequential(port: int, request: bytes, n: int) -> dict[str, Any]:
    """Latency of ``n`` requests one after the other on one connection."""

    async def run() -> tuple[list[float], dict[int, int]]:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        latencies = []
        codes: dict[int, int] = {}
        for _ in range(n):
            started = time.perf_counter()
            writer.write(request)
            status = await _one_response(reader)
            latencies.append(time.perf_counter() - started)
            codes[status] = codes.get(status, 0) + 1
        writer.close()
        return latencies, codes

    latencies, codes = asyncio.run(run())
    return {
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "codes": codes,
    }


# ----- the run -----


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per poll measurement")
    parser.add_argument("--connections", type=int, default=16, help="for the poll test")
    parser.add_argument("--submits", type=int, default=300, help="v2 submits to time")
    parser.add_argument("--repeats", type=int, default=9, help="v1 calls to time")
    parser.add_argument("--slow", type=int, default=200, help="slow connections (part 5)")
    parser.add_argument("--only-slow", action="store_true", help="run part 5 alone")
    parser.add_argument("--only-large", action="store_true", help="run part 6 alone")
    parser.add_argument("--skip-slow-large", action="store_true", help="run parts 1-4 only")
    parser.add_argument("--large-mb", type=int, default=120, help="body size in part 6, MB")
    parser.add_argument("--large-count", type=int, default=8, help="bodies at once in part 6")
    parser.add_argument("--serve-bare", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        serve_bare(args.serve_bare)
        return
    if args.only_large:
        large_bodies(args.large_mb, args.large_count)
        return

    from segswap.service.accounts.sqlite_keys import SqliteKeyStore
    from segswap.service.database import Database

    data_dir = Path(tempfile.mkdtemp(prefix="segswap-bench-"))
    db = Database(data_dir)
    key, _ = SqliteKeyStore(db).create(name="bench", credits=1e9)
    db.close()
    bare_port, api_port = free_port(), free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    bare = subprocess.Popen([sys.executable, __file__, "--serve-bare", str(bare_port)], env=env)
    api = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "segswap.service",
            "serve",
            "--port",
            str(api_port),
            "--data-dir",
            str(data_dir),
            "--rate-limit",
            "0",
            "--queue-capacity",
            "1000000",
            "--log-level",
            "warning",
        ],
        env=env,
    )
    try:
        wait_up(f"http://127.0.0.1:{bare_port}/", bare)
        wait_up(f"http://127.0.0.1:{api_port}/health", api)
        if not args.only_slow:
            report(args, key, bare_port, api_port, data_dir)
        if args.skip_slow_large:
            return
        slow_connections(api_port, args.slow)
        if not args.only_slow:
            large_bodies(args.large_mb, args.large_count)
    finally:
        for proc in (api, bare):
            proc.terminate()
            proc.wait(10)


def report(
    args: argparse.Namespace, key: str, bare_port: int, api_port: int, data_dir: Path
) -> None:
    auth = {"x-api-key": key}
    api = f"http://127.0.0.1:{api_port}"
    small = json.dumps(request_body(128, 60, 48, 64)).encode()
    print(
        f"cores: {os.cpu_count()}; poll test: {args.connections} connections x "
        f"{args.seconds:g} s; submit body {len(small) / 1024:.0f} KiB"
    )

    # 1. status polls of a COMPLETED job
    job = httpx.post(
        f"{api}/v2/seg-swap", content=small, headers={**auth, "content-type": "application/json"}
    ).json()
    while httpx.get(job["status_url"], headers=auth).json()["status"] != "COMPLETED":
        time.sleep(0.05)
    status_path = f"/v2/requests/{job['request_id']}/status"
    hammer(api_port, raw_request("GET", status_path, api_port, auth), args.connections, 1.0)
    floor = hammer(
        bare_port, raw_request("GET", status_path, bare_port, {}), args.connections, args.seconds
    )
    polls = hammer(
        api_port, raw_request("GET", status_path, api_port, auth), args.connections, args.seconds
    )
    ratio = polls["rps"] / floor["rps"]
    print("\n1. status polls (GET /v2/requests/{id}/status)")
    print(
        f"   bare ASGI app : {floor['rps']:8.0f} req/s  p50 {floor['p50_ms']:.2f} ms  "
        f"p99 {floor['p99_ms']:.2f} ms"
    )
    print(
        f"   segswap       : {polls['rps']:8.0f} req/s  p50 {polls['p50_ms']:.2f} ms  "
        f"p99 {polls['p99_ms']:.2f} ms  codes {polls['codes']}"
    )
    print(
        f"   ratio         : {ratio:.0%} of the bare rate (target >= 40%) "
        f"{'OK' if ratio >= 0.4 else 'MISSED'}"
    )

    # 2. v2 submits
    sequential(api_port, raw_request("POST", "/v2/seg-swap", api_port, auth, small), 20)
    bare_submit = sequential(
        bare_port, raw_request("POST", "/v2/seg-swap", bare_port, {}, small), args.submits
    )
    submit = sequential(
        api_port, raw_request("POST", "/v2/seg-swap", api_port, auth, small), args.submits
    )
    print(f"\n2. v2 submits (POST /v2/seg-swap, {args.submits} sequential)")
    print(
        f"   bare ASGI app : p50 {bare_submit['p50_ms']:.2f} ms  p99 {bare_submit['p99_ms']:.2f} ms"
    )
    print(
        f"   segswap       : p50 {submit['p50_ms']:.2f} ms  p99 {submit['p99_ms']:.2f} ms  "
        f"codes {submit['codes']}"
    )
    print(f"   ratio (p50)   : {submit['p50_ms'] / bare_submit['p50_ms']:.1f}x the bare latency")
    deadline = time.monotonic() + 120
    while httpx.get(f"{api}/health").json()["queue_depth"] and time.monotonic() < deadline:
        time.sleep(0.1)  # let the queued jobs drain before timing v1

    # 3. v1 end to end, 1024² scene, 500×400 mask
    print(
        "\n3. v1 end to end, 1024x1024 scene, 500x400 mask "
        f"(medians of {args.repeats}; same engine, same machine)"
    )
    for photos, fmt in (("PNG", "png"), ("JPEG", "jpeg")):
        v1_case(args, api, auth, photos, fmt)

    # 4. status polls while 20 clients' 200 jobs run
    polls_under_load(api, auth, small, data_dir)


async def _health_latencies(port: int, until: asyncio.Event, every: float) -> list[float]:
    """``GET /health`` on one keep-alive connection every ``every`` seconds until
    ``until`` is set (reconnecting if the server closed it); seconds each."""
    request = raw_request("GET", "/health", port, {})
    latencies: list[float] = []
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    while not until.is_set():
        started = time.perf_counter()
        try:
            writer.write(request)
            await _one_response(reader)
        except (asyncio.IncompleteReadError, ConnectionError):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            continue
        latencies.append(time.perf_counter() - started)
        await asyncio.sleep(every)
    writer.close()
    return latencies


async def _slow_client(port: int, lines: int) -> tuple[bool, float]:
    """One slowloris connection: (closed by the server before all ``lines`` were sent,
    seconds from open to close)."""
    opened = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    closed = asyncio.ensure_future(reader.read())  # b"" or the 408 once the server closes
    try:
        writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        for n in range(lines):
            done, _ = await asyncio.wait({closed}, timeout=1.0)
            if done:
                return True, time.perf_counter() - opened
            writer.write(b"X-Slow-%d: y\r\n" % n)
        return False, time.perf_counter() - opened
    except ConnectionError:
        return True, time.perf_counter() - opened
    finally:
        closed.cancel()
        writer.close()


def slow_connections(port: int, connections: int, lines: int = 60) -> None:
    """Part 5: slowloris connections against ``/health`` latency (see the docstring)."""

    async def run() -> tuple[list[float], list[tuple[bool, float]], list[float]]:
        stop = asyncio.Event()
        idle_task = asyncio.ensure_future(_health_latencies(port, stop, 0.05))
        await asyncio.sleep(5.0)
        stop.set()
        idle = await idle_task
        stop = asyncio.Event()
        loaded_task = asyncio.ensure_future(_health_latencies(port, stop, 0.05))
        outcomes = await asyncio.gather(*(_slow_client(port, lines) for _ in range(connections)))
        stop.set()
        return idle, list(outcomes), await loaded_task

    idle, outcomes, loaded = asyncio.run(run())
    closed = [seconds for was_closed, seconds in outcomes if was_closed]
    print(
        f"\n5. slow connections: {connections} clients, one header line a second "
        f"(up to {lines} lines), against the header timeout"
    )
    print(f"   closed by the server : {len(closed)} of {connections}")
    if closed:
        print(
            f"   open -> closed       : median {statistics.median(closed):.1f} s, "
            f"max {max(closed):.1f} s"
        )
    print(
        f"   /health idle         : p50 {statistics.median(idle) * 1000:.2f} ms  "
        f"p99 {percentile(idle, 0.99) * 1000:.2f} ms  ({len(idle)} requests)"
    )
    print(
        f"   /health under load   : p50 {statistics.median(loaded) * 1000:.2f} ms  "
        f"p99 {percentile(loaded, 0.99) * 1000:.2f} ms  ({len(loaded)} requests)"
    )


def _own_rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:  # it ended meanwhile
        pass
    return 0.0


def _descendants(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as children:
                kids = [int(kid) for kid in children.read().split()]
        except OSError:
            continue
        for kid in kids:
            found += [kid, *_descendants(kid)]
    return found


def _rss_mb(pid: int) -> float:
    """RSS of the server and every process under it (engine, parse and forkserver
    processes), MB; pages they share are counted once per process."""
    return _own_rss_mb(pid) + sum(_own_rss_mb(kid) for kid in _descendants(pid))


def _large_body_run(
    body: bytes, count: int, concurrency: int
) -> tuple[float, float, dict[int, int], list[float]]:
    """(idle RSS, peak RSS in MB, codes, /health latencies) of ``count`` concurrent
    ``body`` submissions to a fresh server allowing ``concurrency`` large bodies at once."""
    from segswap.service.accounts.sqlite_keys import SqliteKeyStore
    from segswap.service.database import Database

    data_dir = Path(tempfile.mkdtemp(prefix="segswap-bench-large-"))
    db = Database(data_dir)
    key, _ = SqliteKeyStore(db).create(name="bench", credits=1000)
    db.close()
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SEGSWAP_LARGE_BODY_CONCURRENCY": str(concurrency),
        "SEGSWAP_RATE_LIMIT": "0",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "segswap.service", "serve", "--port", str(port)]
        + ["--data-dir", str(data_dir), "--log-level", "warning"],
        env=env,
    )
    try:
        wait_up(f"http://127.0.0.1:{port}/health", proc)
        idle = _rss_mb(proc.pid)
        request = raw_request("POST", "/v2/seg-swap", port, {"x-api-key": key}, body)

        async def run() -> tuple[float, dict[int, int], list[float]]:
            peak = idle
            done = asyncio.Event()

            async def sample() -> None:
                nonlocal peak
                while not done.is_set():
                    peak = max(peak, _rss_mb(proc.pid))
                    await asyncio.sleep(0.02)

            async def one() -> int:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(request)
                await writer.drain()
                status = await _one_response(reader)
                writer.close()
                return status

            sampler = asyncio.ensure_future(sample())
            health = asyncio.ensure_future(_health_latencies(port, done, 0.05))
            statuses = await asyncio.gather(*(one() for _ in range(count)))
            done.set()
            await sampler
            codes: dict[int, int] = {}
            for status in statuses:
                codes[status] = codes.get(status, 0) + 1
            return peak, codes, await health

        peak, codes, latencies = asyncio.run(run())
        return idle, peak, codes, latencies
    finally:
        proc.terminate()
        proc.wait(10)


def large_bodies(megabytes: int, count: int) -> None:
    """Part 6: memory and /health while large bodies are parsed (see the docstring)."""
    filler = base64.b64encode(os.urandom(megabytes * 1_000_000 * 3 // 4)).decode()
    body = json.dumps({"main_image": filler, "seed": "not a number"}).encode()
    print(
        f"\n6. large bodies: {count} x {len(body) / 1e6:.0f} MB JSON at once "
        "(each parsed, then refused 400 on its seed)"
    )
    for concurrency in (count, 2):
        idle, peak, codes, latencies = _large_body_run(body, count, concurrency)
        label = "no bound in effect" if concurrency >= count else "the default"
        print(
            f"   SEGSWAP_LARGE_BODY_CONCURRENCY={concurrency} ({label}): RSS idle {idle:.0f} MB,"
            f" peak {peak:.0f} MB; codes {codes}; /health p50 "
            f"{statistics.median(latencies) * 1000:.1f} ms p99 "
            f"{percentile(latencies, 0.99) * 1000:.1f} ms ({len(latencies)} requests)"
        )


def polls_under_load(
    api: str,
    admin_auth: dict[str, str],
    body: bytes,
    data_dir: Path,
    clients: int = 20,
    jobs_each: int = 10,
) -> None:
    """p50/p99 of SDK-style status polls while ``clients`` x ``jobs_each`` jobs run,
    against idle polls of a COMPLETED job (same client code, same server)."""
    from segswap.service.accounts.sqlite_keys import SqliteKeyStore
    from segswap.service.database import Database

    db = Database(data_dir)  # the server's store: keys made here work there at once
    keys = [SqliteKeyStore(db).create(credits=1e6)[0] for _ in range(clients)]
    db.close()
    headers = {"content-type": "application/json"}

    async def timed_get(client: httpx.AsyncClient, url: str, out: list[float]) -> httpx.Response:
        started = time.perf_counter()
        response = await client.get(url)
        out.append(time.perf_counter() - started)
        return response

    async def one_client(key: str, out: list[float], codes: list[int]) -> None:
        async with httpx.AsyncClient(headers={"x-api-key": key}, timeout=60) as client:
            urls = []
            for _ in range(jobs_each):
                r = await client.post(f"{api}/v2/seg-swap", content=body, headers=headers)
                codes.append(r.status_code)
                urls.append(r.json()["status_url"])
            for url in urls:
                while True:
                    r = await timed_get(client, url, out)
                    codes.append(r.status_code)
                    if r.json()["status"] in ("COMPLETED", "FAILED"):
                        break
                    await asyncio.sleep(0.1)

    async def idle(url: str, n: int, out: list[float]) -> None:
        async with httpx.AsyncClient(headers=admin_auth, timeout=60) as client:
            for _ in range(n):
                await timed_get(client, url, out)

    async def loaded() -> tuple[list[float], list[int], float]:
        out: list[float] = []
        codes: list[int] = []
        started = time.perf_counter()
        await asyncio.gather(*(one_client(k, out, codes) for k in keys))
        return out, codes, time.perf_counter() - started

    job = httpx.post(f"{api}/v2/seg-swap", content=body, headers={**admin_auth, **headers}).json()
    while httpx.get(job["status_url"], headers=admin_auth).json()["status"] != "COMPLETED":
        time.sleep(0.05)
    idle_polls: list[float] = []
    asyncio.run(idle(job["status_url"], 500, idle_polls))
    busy_polls, codes, elapsed = asyncio.run(loaded())
    ms = lambda values, q: percentile(values, q) * 1000  # noqa: E731
    print(
        f"\n4. status polls while {clients} clients x {jobs_each} v2 jobs run "
        f"({elapsed:.1f} s; httpx clients, one poll per job every 100 ms)"
    )
    print(
        f"   idle   : {len(idle_polls)} polls  p50 {ms(idle_polls, 0.5):.2f} ms  "
        f"p99 {ms(idle_polls, 0.99):.2f} ms"
    )
    print(
        f"   loaded : {len(busy_polls)} polls  p50 {ms(busy_polls, 0.5):.2f} ms  "
        f"p99 {ms(busy_polls, 0.99):.2f} ms  5xx {sum(c >= 500 for c in codes)}"
    )
    print(f"   ratio  : p99 {ms(busy_polls, 0.99) / ms(idle_polls, 0.99):.1f}x the idle p99")


def v1_case(
    args: argparse.Namespace, api: str, auth: dict[str, str], photos: str, fmt: str
) -> None:
    """Time one v1 request shape in process and over HTTP, and print the comparison."""
    from segswap.api import render_request
    from segswap.engine import get_engine
    from segswap.params import parse_request
    from segswap.settings import Settings

    body = {**request_body(1024, 500, 400, 512, photos), "image_format": fmt}
    raw = json.dumps(body).encode()
    parsed = parse_request(body)
    engine = get_engine("composite")
    settings = Settings()
    render_request(parsed, engine=engine, settings=settings)  # warm up
    runs = [render_request(parsed, engine=engine, settings=settings) for _ in range(args.repeats)]
    client = httpx.Client(headers={**auth, "content-type": "application/json"}, timeout=120)
    warm = client.post(f"{api}/v1/seg-swap", content=raw)
    assert warm.status_code == 200, warm.text
    e2e, server_inference = [], []
    for _ in range(args.repeats):
        started = time.perf_counter()
        response = client.post(f"{api}/v1/seg-swap", content=raw)
        e2e.append(time.perf_counter() - started)
        server_inference.append(float(response.headers["X-Inference-Time"]))
    med = lambda values: statistics.median(values) * 1000  # noqa: E731
    load_ms = med([r.load_time for r in runs])
    infer_ms = med([r.inference_time for r in runs])
    encode_ms = med([r.encode_time for r in runs])
    render_ms = load_ms + infer_ms + encode_ms
    e2e_ms = med(e2e)
    print(
        f"\n   {photos} inputs -> {fmt} output (request {len(raw) / 1e6:.2f} MB, "
        f"response {len(response.content) / 1e6:.2f} MB)"
    )
    print(
        f"   in process: decode {load_ms:.1f} + engine {infer_ms:.1f} + encode "
        f"{encode_ms:.1f} = render_request {render_ms:.1f} ms"
    )
    print(
        f"   HTTP v1 end to end: {e2e_ms:.1f} ms (engine in the server: "
        f"{med(server_inference):.1f} ms)"
    )
    overhead = e2e_ms - render_ms
    print(
        f"   over render_request : {overhead:+.1f} ms (HTTP + queue + client; target <= 30) "
        f"{'OK' if overhead <= 30 else 'MISSED'}, ratio {e2e_ms / render_ms:.2f}"
    )
    print(
        f"   over the engine only: {e2e_ms - infer_ms:+.1f} ms (adds decode + encode; "
        f"target <= 30) {'OK' if e2e_ms - infer_ms <= 30 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
