"""The HTTP API in the test process: ``create_app`` behind ``httpx.ASGITransport``.

:class:`InProcessApi` builds a :class:`~segswap.service.server.Service` (the in-memory
queue by default, or the embedded one) from ``SEGSWAP_*`` settings, starts it and serves
its app through an ``httpx.AsyncClient`` on an event loop of its own thread, so tests
stay plain functions: ``api.post("/v1/seg-swap", json=...)`` returns an
``httpx.Response`` as a request to a real server would, without a uvicorn subprocess.
It offers the parts of :class:`service_support.Server` route tests use (``create_key``,
``credits``, ``data_dir``) plus a client that takes paths.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Coroutine, Iterable
from pathlib import Path
from typing import Any, TypeVar

import httpx
from service_support import PathClient, key_credits, make_key

from segswap.service.http.app import create_app
from segswap.service.server import Service
from segswap.settings import Settings

T = TypeVar("T")

BASE = "http://testserver"


async def _streamed(chunks: Iterable[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


class InProcessApi(PathClient):
    """One started service and its app (``backend``: ``"memory"`` or ``"embedded"``)."""

    def __init__(
        self, data_dir: Path, env: dict[str, str] | None = None, backend: str = "memory"
    ) -> None:
        self.data_dir = data_dir
        self.url = BASE
        environ = {"SEGSWAP_WORKERS": "2", **(env or {}), "SEGSWAP_DATA_DIR": str(data_dir)}
        settings = Settings.from_env(environ)
        self.settings = settings
        if backend == "memory":
            self.service = Service.in_memory(settings)
        else:
            self.service = Service.embedded(settings)
        self.service.start()
        self.app = create_app(self.service)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.client = self._run(self._client())

    async def _client(self) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app)
        return httpx.AsyncClient(transport=transport, base_url=BASE, timeout=120.0)

    def _run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 180.0) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    # ----- requests (paths, or full URLs on this app) -----

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """``method`` on ``path`` (or an absolute URL the API handed out); a body given
        as an iterator of chunks is streamed (no Content-Length), as over a socket."""
        content = kwargs.get("content")
        if content is not None and not isinstance(content, (bytes, str)):
            kwargs["content"] = _streamed(content)
        kwargs.pop("timeout", None)
        return self._run(self.client.request(method, path, **kwargs))

    # ----- keys -----

    def create_key(self, **kwargs: object) -> str:
        """A new key in this service's store."""
        return make_key(self.data_dir, **kwargs)

    def credits(self, secret: str) -> float:
        return key_credits(self.data_dir, secret)

    def stop(self) -> None:
        self._run(self.client.aclose())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self.service.stop()
