"""The suite's markers (registered in pyproject.toml), set here from what each test uses,
so that a new test gets them without remembering to:

- ``server``: it talks to a real ``segswap serve`` subprocess;
- ``redis``: it needs ``redis-server`` (the scale-out cluster, the Celery backends);
- ``browser``: it drives Chromium (the web page);
- ``slow``: the Redis and browser tests, plus the files of :data:`SLOW_FILES` (the
  documented commands, the diffusion engine, batch runs, reference checks), so that
  ``pytest -m "not slow"`` is a loop of a few minutes (see the README's Tests section).

CI runs every test (``scripts/test`` selects no marker).
"""

from __future__ import annotations

import pytest

SERVER_FIXTURES = {"make_server", "web_server", "cluster", "backend", "stack"}
"""Fixtures that start ``segswap serve`` subprocesses (``make_server`` is behind
``server``, ``key``, and the modules' own server fixtures). ``stack`` is the contract
suite's: only its Celery backend starts one (the others run in process)."""

REDIS_PARAMS = {"celery", "scaleout", "redis"}
"""Values of a test's parameters that mean a backend on redis-server (the contract
suite's ``stack``, the webhook tests' ``backend``, the fairness test's outbox)."""

SLOW_FILES = {
    "test_docs.py",  # every command of the README and docs/, servers and demo included
    "test_selection.py",  # the engine against its reference results, per scene
    "test_diffusion.py",  # the diffusion engine with a tiny random model: 5-60 s a test
    "test_diffusion_benchmark.py",
    "test_batch.py",  # whole batch runs in subprocesses
    "test_large_scene.py",  # 4096-pixel scenes through a server
}
"""Test files that are slow as a whole on a 2-core machine (`pytest --durations=40`)."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        redis = "cluster" in used or bool(_param_values(item) & REDIS_PARAMS)
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


def _param_values(item: pytest.Item) -> set[str]:
    """The values of a test's parameters, as text."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    return {str(value) for value in params.values()}
