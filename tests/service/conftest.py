"""Fixtures of the HTTP API tests (helpers live in service_support.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from inprocess import InProcessApi
from service_support import Server, b64, mask_array, photo, png_bytes, stop_all


@pytest.fixture(scope="session")
def make_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """A factory of started servers; all are stopped at the end of the session."""
    started: list[Server] = []

    def make(
        env: dict[str, str] | None = None, data_dir: Path | None = None, expect_healthy: bool = True
    ) -> Server:
        server = Server(data_dir or tmp_path_factory.mktemp("data"), env)
        started.append(server)
        return server.start(expect_healthy=expect_healthy)

    yield make
    stop_all(started)


@pytest.fixture(scope="session")
def server(make_server) -> Server:
    """The main server: default settings, a 3 MB body cap and a fast sweeper."""
    return make_server({"SEGSWAP_MAX_BODY_BYTES": "3000000", "SEGSWAP_SWEEP_INTERVAL": "0.5"})


@pytest.fixture(scope="session")
def make_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """A factory of started in-process APIs (the in-memory queue unless ``backend`` says
    ``"embedded"``); all are stopped at the end of the session."""
    started: list[InProcessApi] = []

    def make(env: dict[str, str] | None = None, backend: str = "memory") -> InProcessApi:
        api = InProcessApi(tmp_path_factory.mktemp("app"), env, backend)
        started.append(api)
        return api

    yield make
    for api in started:
        api.stop()


@pytest.fixture(scope="session")
def app(make_app) -> InProcessApi:
    """The main API in process (in-memory queue): a 3 MB body cap, as ``server``."""
    return make_app({"SEGSWAP_MAX_BODY_BYTES": "3000000"})


@pytest.fixture
def api(app: InProcessApi) -> InProcessApi:
    """The API in process (no server subprocess), for route tests."""
    return app


@pytest.fixture
def key(server: Server) -> str:
    return server.create_key()


@pytest.fixture(scope="session")
def images() -> dict[str, bytes]:
    """Encoded inputs: main (astronaut), mask (a white box), object (chelsea), logo (RGBA)."""
    return {
        "main": png_bytes(photo("astronaut")),
        "mask": png_bytes(mask_array()),
        "object": png_bytes(photo("chelsea", 64)),
        "logo": png_bytes(photo("logo", 64)),
        "coffee": png_bytes(photo("coffee")),
    }


@pytest.fixture(scope="session")
def payload(images: dict[str, bytes]) -> dict[str, object]:
    """A valid request body (bare base64 main, data-URI mask, base64 object)."""
    return {
        "main_image": b64(images["main"]),
        "mask_image": "data:image/png;base64," + b64(images["mask"]),
        "object_image": b64(images["object"]),
        "seed": 7,
    }
