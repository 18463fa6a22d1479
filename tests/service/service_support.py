"""Helpers of the HTTP API tests: a real ``segswap serve`` in a subprocess on a free
loopback port with its own data dir, and small real-photo inputs."""

from __future__ import annotations

import base64
import contextlib
import io
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NoReturn, Protocol

import httpx
import numpy as np
import pytest
from PIL import Image

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
MODEL = "seg-swap"
HTTP_TIMEOUT = 120.0
"""Seconds a test's HTTP call may take: a deadline that only bounds a hang. (httpx's
default, 5 s, is exceeded by a synchronous edit on a machine busy with other work.)"""


def missing_system_package(reason: str) -> NoReturn:
    """Skip the calling test or fixture for want of a system package (``reason`` says
    which, and that ``scripts/system-packages`` installs it); fail instead where
    ``SEGSWAP_REQUIRE_SYSTEM_PACKAGES=1`` (CI sets it: nothing is skipped silently there)."""
    if os.environ.get("SEGSWAP_REQUIRE_SYSTEM_PACKAGES") == "1":
        pytest.fail(f"{reason} (SEGSWAP_REQUIRE_SYSTEM_PACKAGES=1)")
    pytest.skip(reason)


def h(key: str) -> dict[str, str]:
    """The header that authenticates with ``key``."""
    return {"x-api-key": key}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def segswap_command() -> list[str]:
    """The installed ``segswap`` console script (``segswap serve``), else the module."""
    script = Path(sys.executable).with_name("segswap")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "segswap.service"]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``segswap *args`` run in this process, through the console script's own
    ``segswap.cli.main``, with its exit status, stdout and stderr as ``subprocess.run``
    gives them (a process of its own costs a second of start-up per command; the
    console script itself is run by ``segswap serve`` and by the key tests)."""
    from segswap.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(list(args))
    return subprocess.CompletedProcess(["segswap", *args], status, out.getvalue(), err.getvalue())


class Stoppable(Protocol):
    def stop(self) -> None: ...


def stop_all(stoppables: Iterable[Stoppable]) -> None:
    """``stop()`` every one of ``stoppables`` (servers, workers) at the same time: each
    waits for its own process's clean shutdown, which one after the other add up."""
    items = list(stoppables)
    if not items:
        return
    with ThreadPoolExecutor(len(items)) as pool:
        for done in [pool.submit(item.stop) for item in items]:
            done.result()


class PathClient:
    """``get`` / ``post`` / ``delete`` of paths of one API, all through :meth:`request`."""

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        raise NotImplementedError

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)


class Server(PathClient):
    """One ``segswap serve`` process. ``env`` holds extra ``SEGSWAP_*`` variables."""

    def __init__(self, data_dir: Path, env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.env = env or {}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir.parent / f"{data_dir.name}-server-{self.port}.log"

    def start(self, expect_healthy: bool = True, timeout: float = 180.0) -> Server:
        env = dict(os.environ)
        env.pop("SEGSWAP_NO_AUTH", None)
        env.update(
            {
                "PYTHONPATH": os.pathsep.join([str(HERE), str(ROOT)]),
                "SEGSWAP_DATA_DIR": str(self.data_dir),
                "SEGSWAP_WORKERS": "2",
                **self.env,
            }
        )
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [
                *segswap_command(),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log()}")
            try:
                response = httpx.get(self.url + "/health", timeout=HTTP_TIMEOUT)
                if response.status_code == 200 or not expect_healthy:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"server did not become ready:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: no clean-up at all, as in a crash."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)
        self._log.close()

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self._log.close()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """``method`` on ``path`` of this server (or an absolute URL it handed out)."""
        url = self.url + path if path.startswith("/") else path
        kwargs.setdefault("timeout", HTTP_TIMEOUT)
        return httpx.request(method, url, **kwargs)

    def create_key(self, **kwargs: object) -> str:
        """A new key in this server's store (the same SQLite file, from this process)."""
        return make_key(self.data_dir, **kwargs)

    def credits(self, secret: str) -> float:
        return key_credits(self.data_dir, secret)


def make_key(data_dir: Path, **kwargs: object) -> str:
    """A new key (``credits`` 1000 unless given) in the SQLite store of ``data_dir``."""
    from segswap.service.accounts.sqlite_keys import SqliteKeyStore
    from segswap.service.database import Database

    db = Database(data_dir)
    try:
        credits = kwargs.pop("credits", 1000.0)
        secret, _ = SqliteKeyStore(db).create(credits=float(credits), **kwargs)  # type: ignore[arg-type]
    finally:
        db.close()
    return secret


def key_credits(data_dir: Path, secret: str) -> float:
    """The credits of key ``secret`` in the SQLite store of ``data_dir``."""
    from segswap.service.accounts.sqlite_keys import SqliteKeyStore
    from segswap.service.database import Database

    db = Database(data_dir)
    try:
        record = SqliteKeyStore(db).authenticate(secret)
        assert record is not None
        return record.credits
    finally:
        db.close()


# ----- images (real photos from skimage.data, small to keep the suite fast) -----


def png_bytes(array: np.ndarray, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, fmt)
    return buffer.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def photo(name: str, size: int = 128) -> np.ndarray:
    from skimage import data

    image = Image.fromarray(getattr(data, name)())
    return np.asarray(image.resize((size, size), Image.Resampling.BILINEAR))


def mask_array(size: int = 128) -> np.ndarray:
    mask = np.zeros((size, size), np.uint8)
    mask[size // 4 : 3 * size // 4, size // 3 : 2 * size // 3] = 255
    return mask


def wait_until(check: Any, what: str, timeout: float = HTTP_TIMEOUT) -> Any:
    """Poll ``check()`` until it returns a truthy value (which is returned); ``timeout``
    (seconds) only bounds a hang."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.02)


def wait_settled(
    client: httpx.Client, url: str, headers: dict[str, str], timeout: float = 120.0
) -> httpx.Response:
    """Poll a status URL until COMPLETED or FAILED."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = client.get(url, headers=headers)
        if response.status_code == 422 or response.json().get("status") == "COMPLETED":
            return response
        assert response.status_code == 200, response.text
        time.sleep(0.05)
    raise AssertionError(f"{url} did not settle within {timeout} s")
