"""Browser tests of the web page: a real ``segswap serve`` (with the page mounted) in a
subprocess, driven by Playwright through Debian's Chromium (``/usr/bin/chromium``; no
browser is downloaded). Everything skips, with the reason, when Chromium or Playwright
is missing (``scripts/setup --test`` installs both)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("SEGSWAP_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class WebServer:
    """``segswap serve`` with the page, on a free loopback port, own data dir."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir.parent / f"web-server-{self.port}.log"
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(HERE), str(ROOT)]),
            "SEGSWAP_DATA_DIR": str(data_dir),
            "SEGSWAP_WORKERS": "1",
        }
        self.env.pop("SEGSWAP_NO_AUTH", None)
        self.proc: subprocess.Popen[bytes] | None = None

    def create_key(self) -> str:
        """A key made with ``segswap keys create`` (prints the key alone on stdout)."""
        done = subprocess.run(
            [sys.executable, "-m", "segswap.cli", "keys", "create",
             "--credits", "1000"],
            env=self.env, capture_output=True, text=True, timeout=60, check=True,
        )
        return done.stdout.strip()

    def start(self, timeout: float = 60.0) -> WebServer:
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "segswap.cli", "serve",
             "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"],
            env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"segswap serve exited early:\n{self.log()}")
            try:
                if httpx.get(self.url + "/health", timeout=1.0).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"segswap serve did not become ready:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

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


@pytest.fixture(scope="session")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    server = WebServer(tmp_path_factory.mktemp("web-data"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def web_key(web_server: WebServer) -> str:
    return web_server.create_key()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the session (skips when it cannot be had)."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.skip(f"no Chromium at {CHROMIUM} (scripts/system-packages installs it)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install -e '.[test]')")
    manager = sync_playwright().start()
    try:
        browser = manager.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    except Exception as error:  # a broken browser install: say so, do not fail the suite
        manager.stop()
        pytest.skip(f"Chromium at {CHROMIUM} did not start: {error}")
    yield browser
    browser.close()
    manager.stop()


@pytest.fixture
def new_page(browser: Any, web_server: WebServer) -> Iterator[Any]:
    """A factory of pages in fresh contexts (own localStorage); closed after the test."""
    contexts: list[Any] = []

    def make(width: int = 1280, height: int = 800) -> Any:
        context = browser.new_context(
            viewport={"width": width, "height": height}, accept_downloads=True
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.errors = []  # uncaught exceptions in the page
        page.console_errors = []  # console errors (CSP violations, failed loads...)
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        page.on(
            "console",
            lambda message: page.console_errors.append(message.text)
            if message.type == "error" else None,
        )
        page.goto(web_server.url + "/")
        page.wait_for_selector("html[data-ready=true]")
        return page

    yield make
    for context in contexts:
        context.close()


# ----- images: real photos from skimage.data -----


def write_png(path: Path, array: np.ndarray) -> Path:
    Image.fromarray(array).save(path, "PNG")
    return path


@pytest.fixture(scope="session")
def web_images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """scene: coffee() at its own 600×400; object: logo() (RGBA) scaled to 128×128."""
    from skimage import data

    folder = tmp_path_factory.mktemp("web-images")
    logo = Image.fromarray(data.logo()).resize((128, 128), Image.Resampling.BILINEAR)
    return {
        "scene": write_png(folder / "coffee.png", data.coffee()),
        "object": write_png(folder / "logo.png", np.asarray(logo)),
    }


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
