"""The three job backends behind one test interface, for the contract suite.

Each backend is built from the same ``SEGSWAP_*`` settings and offers the same calls:
``get`` / ``post`` / ``delete`` (paths or the absolute URLs the API hands out),
``create_key``, ``credits``, ``revoke`` (from another store handle, as another process
would), ``result_stored`` (whether a result's bytes are still kept) and ``log``.

- ``memory``: :class:`~segswap.service.jobs.memory.MemoryQueue`, in process.
- ``embedded``: :class:`~segswap.service.jobs.embedded.EmbeddedQueue` (SQLite, result
  files, worker threads), in process.
- ``celery``: a ``segswap serve`` API node and one ``segswap worker`` on a throw-away
  ``redis-server`` (each configuration on its own Redis database), as in production.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

import httpx
import redis
from inprocess import InProcessApi
from scaleout_support import RedisServer, Worker
from service_support import PathClient, Server, stop_all, wait_until

BACKENDS = ("memory", "embedded", "celery")
__all__ = ["BACKENDS", "Backend", "CeleryBackend", "LocalBackend", "wait_until"]


class Backend(Protocol):
    url: str

    def get(self, path: str, **kwargs: Any) -> httpx.Response: ...
    def post(self, path: str, **kwargs: Any) -> httpx.Response: ...
    def delete(self, path: str, **kwargs: Any) -> httpx.Response: ...
    def create_key(self, **kwargs: object) -> str: ...
    def credits(self, secret: str) -> float: ...
    def revoke(self, name: str) -> None: ...
    def result_stored(self, name: str) -> bool: ...
    def log(self) -> str: ...
    def stop(self) -> None: ...


class _Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


class LocalBackend(InProcessApi):
    """The memory or embedded queue in process, with the service log captured."""

    def __init__(self, data_dir: Path, env: dict[str, str], backend: str) -> None:
        self._captured = _Captured()
        self._captured.setFormatter(logging.Formatter("%(message)s\n%(exc_text)s"))
        logging.getLogger("segswap.service").addHandler(self._captured)
        super().__init__(data_dir, env, backend)
        self.kind = backend

    def revoke(self, name: str) -> None:
        from segswap.service.accounts.sqlite_keys import SqliteKeyStore
        from segswap.service.database import Database

        db = Database(self.data_dir)
        try:
            SqliteKeyStore(db).revoke(name)
        finally:
            db.close()

    def result_stored(self, name: str) -> bool:
        if self.kind == "embedded":
            return (self.data_dir / "results" / name).exists()
        return name in self.service.queue._media  # type: ignore[attr-defined]

    def log(self) -> str:
        return "\n".join(self._captured.lines)

    def stop(self) -> None:
        super().stop()
        logging.getLogger("segswap.service").removeHandler(self._captured)


class CeleryBackend(PathClient):
    """An API node and ``workers`` Celery workers on database ``db`` of ``store``."""

    def __init__(
        self, root: Path, store: RedisServer, db: int, env: dict[str, str], workers: int = 1
    ) -> None:
        self.broker = store.url.rsplit("/", 1)[0] + f"/{db}"
        self.env = {**env, "SEGSWAP_BROKER_URL": self.broker}
        self.ttl = float(self.env.get("SEGSWAP_RESULT_TTL", "3600"))
        self.workers = [
            Worker(f"w{db}-{n}", root / f"worker-{db}-{n}", self.env) for n in range(workers)
        ]
        self.node = Server(root / f"node-{db}", self.env)
        self.url = self.node.url
        self.data_dir = self.node.data_dir

    def start(self) -> CeleryBackend:
        """Start the workers and the node at the same time (the node is ready once
        ``/health`` counts a worker, when there is one)."""
        with ThreadPoolExecutor(len(self.workers) + 1) as pool:
            starting = [pool.submit(worker.start, self.client()) for worker in self.workers]
            starting.append(pool.submit(self.node.start, expect_healthy=bool(self.workers)))
            for done in starting:
                done.result()
        return self

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.broker, socket_connect_timeout=1, socket_timeout=5)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.node.request(method, path, **kwargs)

    def _keys(self) -> Any:
        from segswap.service.accounts.redis_keys import RedisKeyStore

        return RedisKeyStore(self.client())

    def create_key(self, **kwargs: object) -> str:
        credits = kwargs.pop("credits", 1000.0)
        secret, _ = self._keys().create(credits=float(credits), **kwargs)  # type: ignore[arg-type]
        return str(secret)

    def credits(self, secret: str) -> float:
        from segswap.service.accounts.keys import hash_key

        client = self.client()
        key_id = client.get(f"segswap:keyhash:{hash_key(secret)}").decode()
        return int(client.hget(f"segswap:key:{key_id}", "micro_credits")) / 1_000_000

    def revoke(self, name: str) -> None:
        self._keys().revoke(name)

    def result_stored(self, name: str) -> bool:
        from segswap.service.jobs.media import RedisMedia

        return RedisMedia(self.client(), self.ttl).read(name) is not None

    def log(self) -> str:
        return "\n".join([self.node.log(), *(worker.log() for worker in self.workers)])

    def stop(self) -> None:
        stop_all([self.node, *self.workers])
