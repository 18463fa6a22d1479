"""The suite's markers (registered in pyproject.toml), set here from what each test uses,
so that a new test gets them without remembering to:

- ``server``: it talks to a real ``segswap serve`` subprocess;
- ``redis``: it needs ``redis-server`` (the scale-out cluster, the Celery backends);
- ``browser``: it drives Chromium (the web page);
- ``slow``: everything above except the single-server tests, plus the runs of the
  documented commands and the engine's reference and quality checks, so that
  ``pytest -m "not slow"`` is a loop of a few minutes (see the README's Tests section).

CI runs every test (``scripts/test`` selects no marker).
"""

from __future__ import annotations

import pytest

SERVER_FIXTURES = {"make_server", "web_server", "cluster", "backend", "stack"}
"""Fixtures that start ``segswap serve`` subprocesses (``make_server`` is behind
``server``, ``key``, and the modules' own server fixtures). ``stack`` is the contract
suite's: only its Celery backend starts one (the others run in process)."""

REDIS_PARAMS = {"celery", "scaleout"}
"""Parameters of ``stack`` / ``backend`` that mean a Celery backend on redis-server."""

SLOW_FILES = {
    "test_docs.py",  # every command of the README and docs/, servers and demo included
    "test_selection.py",  # the engine against its reference results, per scene
}
"""Test files that are slow as a whole on a 2-core machine."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        redis = "cluster" in used or bool(_backend_params(item) & REDIS_PARAMS)
        browser = "browser" in used
        server = bool(used & SERVER_FIXTURES) and not ("stack" in used and not redis)
        if server:
            item.add_marker(pytest.mark.server)
        if redis or item.get_closest_marker("redis") is not None:
            item.add_marker(pytest.mark.redis)
            redis = True
        if browser:
            item.add_marker(pytest.mark.browser)
        if redis or browser or item.path.name in SLOW_FILES:
            item.add_marker(pytest.mark.slow)


def _backend_params(item: pytest.Item) -> set[str]:
    """The values of the ``stack`` and ``backend`` parameters of a test's call."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    return {str(params[name]) for name in ("stack", "backend") if name in params}
