"""Browser tests of the web page: a real ``segswap serve`` (with the page mounted) in a
subprocess, driven by Playwright through Debian's Chromium (``/usr/bin/chromium``; no
browser is downloaded). Everything skips, with the reason, when Chromium or Playwright
is missing (``scripts/setup --test`` installs both)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
# The API tests' real-server helper: the page is served by the same `segswap serve`.
sys.path.insert(0, str(ROOT / "tests" / "service"))
from service_support import Server, missing_system_package  # noqa: E402

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


@pytest.fixture(scope="session")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``segswap serve`` (the page included) on a free loopback port, own data dir."""
    server = Server(tmp_path_factory.mktemp("web-data"), {"SEGSWAP_WORKERS": "1"})
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def web_key(web_server: Server) -> str:
    """A key made as a user makes one: ``segswap keys create`` prints it alone."""
    env = {**os.environ, "SEGSWAP_DATA_DIR": str(web_server.data_dir)}
    done = subprocess.run(
        [sys.executable, "-m", "segswap.cli", "keys", "create", "--credits", "1000"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the session (skips when it cannot be had)."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        missing_system_package(
            f"no Chromium at {CHROMIUM}: the browser tests need it (scripts/system-packages"
            " installs it as root; it installs nothing without root or apt-get)"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing_system_package("playwright is not installed (pip install -e '.[test]')")
    manager = sync_playwright().start()
    try:
        browser = manager.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    except Exception as error:  # a broken browser install: say so, do not fail the suite
        manager.stop()
        missing_system_package(f"Chromium at {CHROMIUM} did not start: {error}")
    yield browser
    browser.close()
    manager.stop()


@pytest.fixture
def new_page(browser: Any, web_server: Server) -> Iterator[Any]:
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
            lambda message: (
                page.console_errors.append(message.text) if message.type == "error" else None
            ),
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
