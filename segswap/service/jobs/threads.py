"""The in-process worker pool: threads that take jobs and run them.

Each thread of the embedded queue hands its job to an engine process of its own
(:mod:`segswap.service.jobs.processes`) and waits for it, so the threads cost the server
little CPU and the event loop (status polls) stays responsive. A worker never dies of a
job: whatever a job raises is logged and the worker goes on.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

log = logging.getLogger("segswap.service")

T = TypeVar("T")


WORKER_NICENESS = 10


def lower_priority() -> None:
    """Lower the calling thread's CPU priority (Linux ``nice`` is per thread), so the
    event loop answering status polls goes first when the CPUs are busy with jobs."""
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + WORKER_NICENESS)
    except (AttributeError, OSError):  # not Linux, or not permitted: run at normal priority
        pass


class WorkerPool(Generic[T]):
    """``size`` daemon threads, each looping ``run(take())`` until :meth:`stop`.

    Args:
        size: number of threads (0 is allowed: a pool that runs nothing).
        take: blocks up to ``timeout`` seconds for the next item; None when there is none.
        run: runs one item; exceptions are logged, never propagated.
        setup: called once by each thread when it starts (e.g. to start its engine
            process before the first job); exceptions are logged.
    """

    def __init__(
        self,
        size: int,
        take: Callable[[float], T | None],
        run: Callable[[T], None],
        setup: Callable[[], None] | None = None,
    ) -> None:
        self.size = size
        self._take = take
        self._run = run
        self._setup = setup
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._busy = 0
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the threads."""
        self._stop.clear()
        for index in range(self.size):
            thread = threading.Thread(
                target=self._loop, name=f"segswap-worker-{index}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def _loop(self) -> None:
        lower_priority()
        if self._setup is not None:
            try:
                self._setup()
            except Exception:
                log.exception("worker setup failed (it is retried with the first job)")
        while not self._stop.is_set():
            try:
                item = self._take(0.5)
            except Exception:  # pragma: no cover - take() is not expected to fail
                log.exception("worker could not take a job")
                continue
            if item is None:
                continue
            with self._lock:
                self._busy += 1
            try:
                self._run(item)
            except Exception:
                log.exception("job crashed outside its own error handling")
            finally:
                with self._lock:
                    self._busy -= 1

    def alive(self) -> int:
        """How many worker threads are running (0 once stopped)."""
        if self._stop.is_set():
            return 0
        return sum(thread.is_alive() for thread in self._threads)

    def busy(self) -> int:
        """How many workers are running a job right now."""
        return self._busy

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the threads to stop after their current job; wait up to ``timeout`` s each."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()
