"""Progress reports and cancel check points of a running edit.

Whoever runs an edit (the service's job runner) wraps it in :func:`watch`; the engines
call :func:`checkpoint` between their stages, and the diffusion engine after every
sampler step. Outside :func:`watch` a check point does nothing, so the library pays
nothing for it. The watch is per thread (a :class:`contextvars.ContextVar`), so worker
threads each see only their own job.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

CANCELED_MESSAGE = "canceled by the client"


class EditCanceled(Exception):
    """Raised by :func:`checkpoint` when the watcher asks the edit to stop.

    Not a :class:`segswap.errors.SegswapError`: nothing is wrong with the request.
    """

    def __init__(self, message: str = CANCELED_MESSAGE) -> None:
        super().__init__(message)


@dataclass(frozen=True)
class _Watch:
    on_progress: Callable[[float], None] | None
    canceled: Callable[[], bool] | None
    start: float = 0.0
    end: float = 1.0


_CURRENT: ContextVar[_Watch | None] = ContextVar("segswap_edit_watch", default=None)


@contextmanager
def watch(
    on_progress: Callable[[float], None] | None = None,
    canceled: Callable[[], bool] | None = None,
) -> Iterator[None]:
    """Report this thread's edit progress to ``on_progress`` (a fraction, 0–1, never
    decreasing within one edit) and stop it with :class:`EditCanceled` at the next check
    point once ``canceled()`` is true. Both are called at each check point, so they
    should be cheap."""
    token = _CURRENT.set(_Watch(on_progress, canceled))
    try:
        yield
    finally:
        _CURRENT.reset(token)


@contextmanager
def stage(start: float, end: float) -> Iterator[None]:
    """Map the check points inside onto ``[start, end]`` of the enclosing range (0–1),
    e.g. the diffusion engine runs the composite engine in ``stage(0.0, 0.2)``."""
    current = _CURRENT.get()
    if current is None:
        yield
        return
    span = current.end - current.start
    inner = _Watch(
        current.on_progress,
        current.canceled,
        current.start + span * start,
        current.start + span * end,
    )
    token = _CURRENT.set(inner)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def checkpoint(fraction: float) -> None:
    """Report that ``fraction`` (0–1) of the current stage is done, then raise
    :class:`EditCanceled` if the watcher asked to stop. A no-op outside :func:`watch`."""
    current = _CURRENT.get()
    if current is None:
        return
    if current.on_progress is not None:
        share = min(1.0, max(0.0, fraction))
        current.on_progress(current.start + (current.end - current.start) * share)
    if current.canceled is not None and current.canceled():
        raise EditCanceled()
