"""Parsing large JSON bodies in helper processes, off the server's GIL.

``json.loads`` and the request's validation hold the GIL for the whole parse: about a
second for a 120 MB body on a loaded core, during which a thread pool would stall the
event loop (``/health``, status polls). :func:`parse_off_loop` sends the body's bytes to
one of a few child processes (forked from the engine processes' forkserver, see
:mod:`segswap.service.jobs.processes`), which parses and validates it and sends back
the validated request; the server only copies bytes in and unpickles the result. If a
child dies (out of memory) the pool is rebuilt and that body is parsed in a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

from starlette.concurrency import run_in_threadpool

from segswap.service.jobs.processes import CHILD_NICENESS, process_context

T = TypeVar("T")

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None


def _lower_priority() -> None:
    """A parse process runs at a lower CPU priority, so the event loop goes first."""
    with contextlib.suppress(OSError):
        os.nice(CHILD_NICENESS)


def _executor(size: int) -> ProcessPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(
                max_workers=size, mp_context=process_context(), initializer=_lower_priority
            )
        return _pool


def _discard(broken: ProcessPoolExecutor) -> None:
    global _pool
    with _lock:
        if _pool is broken:
            _pool = None
    broken.shutdown(wait=False, cancel_futures=True)


async def parse_off_loop(parse: Callable[[bytes, bool], T], raw: bytes, flag: bool, size: int) -> T:
    """``parse(raw, flag)`` in a parse process (``size`` of them at most, made on first
    use); in a thread if the process pool broke. ``parse`` must be a module-level
    function whose result pickles."""
    pool = _executor(size)
    try:
        return await asyncio.get_running_loop().run_in_executor(pool, parse, raw, flag)
    except BrokenProcessPool:
        _discard(pool)
        return await run_in_threadpool(parse, raw, flag)
