"""Webhook fairness, shared by ``test_fairness.py`` and ``benchmarks/webhook_fairness.py``:
a receiver that can hang every request, the two outboxes (SQLite, Redis) filled with
deliveries directly (as the settle step fills them), and a :class:`Deliverer` on them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from segswap.service.webhooks.delivery import Deliverer, Outbox, Pending

SECRET = "whsec_c2Vnc3dhcC10ZXN0LXdlYmhvb2stc2VjcmV0LTAxMjM="


class Receiver:
    """An HTTP server on 127.0.0.1 recording each POST's path when it arrives (``arrived``,
    with :func:`time.monotonic`) and, while ``hang`` is not set, holding every request to
    a path starting with ``/hang`` open until it is."""

    def __init__(self) -> None:
        self.hang = threading.Event()
        self.lock = threading.Lock()
        self.arrived: list[tuple[str, float]] = []
        self.open_hanging = 0
        self.closed_hanging = 0
        self.on_arrival: Callable[[str], None] | None = None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                hanging = self.path.startswith("/hang")
                with receiver.lock:
                    receiver.arrived.append((self.path, time.monotonic()))
                    receiver.open_hanging += hanging
                    if receiver.on_arrival is not None:
                        receiver.on_arrival(self.path)
                if hanging:
                    receiver.hang.wait(600)
                    with receiver.lock:
                        receiver.open_hanging -= 1
                        receiver.closed_hanging += 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    def paths(self) -> list[str]:
        with self.lock:
            return [path for path, _ in self.arrived]

    def stop(self) -> None:
        self.hang.set()
        self.server.shutdown()
        self.server.server_close()


class Store:
    """An outbox and a way to add a due delivery to it, as settling a job does."""

    def __init__(self, outbox: Outbox, add: Callable[[str, str, str], None]) -> None:
        self.outbox = outbox
        self.add = add  # (job id, key id, url)


def sqlite_store(folder: Path) -> Store:
    from segswap.service.database import Database
    from segswap.service.webhooks.sqlite_outbox import SqliteOutbox

    db = Database(folder)
    outbox = SqliteOutbox(db)

    def add(job_id: str, key_id: str, url: str) -> None:
        now = time.time()
        with db.transaction() as conn:
            conn.execute(
                "INSERT INTO webhooks (job_id, key_id, url, base_url, settled, due)"
                " VALUES (?, ?, ?, '', ?, ?)",
                (job_id, key_id, url, now, now),
            )

    return Store(outbox, add)


def redis_store(client: Any) -> Store:
    from segswap.service.jobs.redis_records import RedisJobStore
    from segswap.service.webhooks.redis_outbox import WEBHOOKS, RedisOutbox

    jobs = RedisJobStore(client, result_ttl=3600)

    def add(job_id: str, key_id: str, url: str) -> None:
        now = time.time()
        client.hset(
            jobs.job_key(job_id),
            mapping={"key_id": key_id, "webhook_url": url, "webhook_base": "", "finished": now},
        )
        client.zadd(WEBHOOKS, {job_id: now})

    return Store(RedisOutbox(jobs), add)


def deliverer(store: Store, timeout: float) -> Deliverer:
    """A started :class:`Deliverer` on ``store`` whose attempts may take ``timeout`` s."""

    def body(pending: Pending) -> dict[str, Any]:
        return {"request_id": pending.job_id, "status": "COMPLETED"}

    running = Deliverer(store.outbox, body, SECRET, allow_private=True, timeout=timeout)
    running.start()
    return running


def wait_for(check: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    """``check()`` once it is truthy; an AssertionError naming ``what`` after ``timeout``
    seconds (a bound on a hang, not a speed requirement)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")
