"""Engine processes: every worker thread of the embedded queue runs its jobs in a child
process of its own, so a native crash is one failed attempt, not a dead server.

A segfault or abort inside native code (OpenCV, NumPy, numba) or an out-of-memory kill
ends the child only: the worker thread sees its pipe close, raises
:class:`EngineCrashed` for that attempt and starts a fresh child for its next job. The
server process keeps its event loop, its store and every other job.

Children are forked from a *forkserver* that imported the engine once (fork of the
threaded server itself is unsafe; spawning re-imports NumPy/OpenCV per child), so a new
child is ready in milliseconds; numba keeps its compiled code in its on-disk cache, so a
child does not compile again. A job travels as the validated request (a v1 job) or its
stored JSON (a v2 job), with its images still encoded; the child decodes, runs the
engine, encodes and sends the encoded result back: the pipe carries encoded images both
ways, never decoded pixels.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from segswap.engine import Engine, get_engine
from segswap.params import SwapRequest
from segswap.service.jobs.base import Outcome
from segswap.service.jobs.messages import INTERNAL_ERROR
from segswap.service.jobs.progress import JobWatch
from segswap.service.jobs.runner import run_job
from segswap.settings import Settings

log = logging.getLogger("segswap.service")

_METHOD = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
_CONTEXT: Any = multiprocessing.get_context(_METHOD)
if _METHOD == "forkserver":
    _CONTEXT.set_forkserver_preload([__name__])


def process_context() -> Any:
    """The multiprocessing context children are made with (forkserver where there is
    one, else spawn)."""
    return _CONTEXT


POLL_INTERVAL = 0.1
"""Seconds between the worker thread's looks at its child (progress, cancel, death)."""

CHILD_NICENESS = 10
"""How much lower the children's CPU priority is, so the server's event loop goes first."""


class EngineCrashed(Exception):
    """The child running a job died before it sent the outcome (native crash, kill)."""

    def __init__(self, exitcode: int | None) -> None:
        self.exitcode = exitcode
        super().__init__(describe_exit(exitcode))


def describe_exit(exitcode: int | None) -> str:
    """``exitcode`` of a child in words: ``"killed by SIGSEGV"``, ``"exit status 1"``."""
    if exitcode is None:
        return "no exit status"
    if exitcode < 0:
        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exit status {exitcode}"


class _PipeLogHandler(logging.Handler):
    """Sends the child's log records to the server (``("log", record dict)``), which
    logs them with its own configuration; tracebacks travel as text."""

    def __init__(self, send: Callable[[object], None]) -> None:
        super().__init__()
        self._send = send

    def emit(self, record: logging.LogRecord) -> None:
        try:
            fields = dict(record.__dict__)
            fields["msg"], fields["args"] = record.getMessage(), None
            if record.exc_info:
                fields["exc_text"] = logging.Formatter().formatException(record.exc_info)
            fields["exc_info"] = None
            self._send(("log", fields))
        except Exception:  # pragma: no cover - logging never breaks a job
            self.handleError(record)


def _child_main(
    conn: Connection,
    cancel: Any,
    settings: Settings,
    factory: Callable[[], Engine] | None,
    environ: dict[str, str],
    path: list[str],
    log_level: int,
) -> None:
    """The child's loop: receive ``(job_id, request)``, send ``("progress", value)``
    messages and then ``("done", Outcome)``; ends on ``None`` or when the parent is gone.

    ``environ`` and ``path`` are the server's environment and ``sys.path`` when the child
    was started (a forked child has the forkserver's, from when that started; plug-in
    engines read both). Its log records at ``log_level`` and above go to the server."""
    os.environ.clear()
    os.environ.update(environ)
    sys.path[:] = path
    lock = threading.Lock()  # the engine may log from threads of its own

    def send(message: object) -> None:
        with lock:
            conn.send(message)

    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(_PipeLogHandler(send))
    root.setLevel(log_level)
    with contextlib.suppress(OSError):  # not permitted: run at normal priority
        os.nice(CHILD_NICENESS)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the server's to handle
    engine: Engine | None = None
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return  # the server is gone
        if message is None:
            return
        job_id, request = message
        if engine is None:
            try:
                engine = factory() if factory is not None else get_engine(settings.engine, settings)
            except Exception:
                log.exception("the engine could not be built for job %s", job_id)
                send(("done", Outcome.failed(INTERNAL_ERROR, 500)))
                continue
        watcher = JobWatch(lambda value: send(("progress", value)), cancel.is_set)
        outcome = run_job(request, engine, settings, job_id=job_id, watcher=watcher)
        send(("done", outcome))


class EngineProcess:
    """One child process that runs jobs one at a time (see the module docstring).

    Args:
        settings: passed to the child (engine name and input limits).
        factory: builds the child's engine (must be picklable); default
            ``get_engine(settings.engine, settings)``.
    """

    def __init__(self, settings: Settings, factory: Callable[[], Engine] | None = None) -> None:
        self.settings = settings
        self.factory = factory
        self._process: Any = None
        self._conn: Connection | None = None
        self._cancel = _CONTEXT.Event()

    def start(self) -> None:
        """Start the child (a no-op while one is alive)."""
        if self._process is not None and self._process.is_alive():
            return
        self._discard()
        parent, child = _CONTEXT.Pipe()
        process = _CONTEXT.Process(
            target=_child_main,
            args=(
                child,
                self._cancel,
                self.settings,
                self.factory,
                dict(os.environ),
                sys.path,
                logging.getLogger("segswap").getEffectiveLevel(),
            ),
            name="segswap-engine",
            daemon=True,
        )
        process.start()
        child.close()  # the parent keeps its end only: the child's death reads as EOF
        self._process, self._conn = process, parent

    @property
    def pid(self) -> int | None:
        """The child's process id (None before it started)."""
        return self._process.pid if self._process is not None else None

    def run(self, job_id: str, request: SwapRequest | str, watcher: JobWatch) -> Outcome:
        """Run one job in the child, passing its progress to ``watcher`` and a cancel
        from ``watcher`` to the child; a dead child is replaced first.

        Raises:
            EngineCrashed: the child died before it sent the outcome.
        """
        self.start()
        conn = self._conn
        assert conn is not None
        self._cancel.clear()
        try:
            conn.send((job_id, request))
            while True:
                if watcher.canceled():
                    self._cancel.set()
                if not conn.poll(POLL_INTERVAL):
                    if not self._process.is_alive() and not conn.poll(0):
                        raise EOFError
                    continue
                kind, value = conn.recv()
                if kind == "progress":
                    watcher.report(value)
                elif kind == "log":
                    record = logging.makeLogRecord(value)
                    logging.getLogger(record.name).handle(record)
                else:
                    outcome: Outcome = value
                    return outcome
        except (EOFError, OSError):
            self._process.join(5)
            exitcode = self._process.exitcode
            self._discard()
            raise EngineCrashed(exitcode) from None

    def _discard(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._process, self._conn = None, None

    def close(self, timeout: float = 2.0) -> None:
        """Stop the child: ask it, wait up to ``timeout`` s, then kill it."""
        process, conn = self._process, self._conn
        if process is None or conn is None:
            return
        with contextlib.suppress(OSError):
            conn.send(None)
        process.join(timeout)
        if process.is_alive():
            process.kill()
            process.join(1)
        self._discard()


class EngineProcesses:
    """One :class:`EngineProcess` per worker thread, made on first use; :meth:`close_all`
    stops them all."""

    def __init__(self, settings: Settings, factory: Callable[[], Engine] | None = None) -> None:
        self.settings = settings
        self.factory = factory
        self._local = threading.local()
        self._all: list[EngineProcess] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the calling thread's process now (a worker does before its first job)."""
        self.get()

    def get(self) -> EngineProcess:
        """The calling thread's process (started)."""
        process: EngineProcess | None = getattr(self._local, "process", None)
        if process is None:
            process = EngineProcess(self.settings, self.factory)
            self._local.process = process
            with self._lock:
                self._all.append(process)
        process.start()
        return process

    def close_all(self) -> None:
        """Stop every child."""
        with self._lock:
            processes, self._all = self._all, []
        for process in processes:
            process.close()
