"""Running one job: the single step both backends call, and a per-thread engine cache.

:func:`run_job` fetches and decodes the request's images, runs the engine, encodes the
result and turns whatever went wrong into the error and HTTP status the job records:
413 for an image over a cap, 400 for any other unusable input (its message names the
field), 500 with :data:`~segswap.service.jobs.messages.INTERNAL_ERROR` for anything
else (logged with its traceback, never shown to the client).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from segswap.api import render_request
from segswap.engine import Engine
from segswap.engine.progress import EditCanceled, watch
from segswap.errors import ImageTooLarge, InvalidParameter
from segswap.params import SwapRequest
from segswap.service.jobs.base import WARNINGS_KEY, Outcome
from segswap.service.jobs.messages import CANCELED_ERROR, CANCELED_STATUS, INTERNAL_ERROR
from segswap.service.jobs.progress import JobWatch
from segswap.settings import Settings

log = logging.getLogger("segswap.service")


def run_job(
    request: SwapRequest | str,
    engine: Engine,
    settings: Settings,
    *,
    job_id: str = "",
    watcher: JobWatch | None = None,
) -> Outcome:
    """Run one job and return its outcome (never raises for a job's own failure).

    Args:
        request: the validated request, or its stored JSON (a job re-run after a restart
            or run on a scale-out worker).
        engine: the engine to run it with.
        settings: the input limits (pixels, fetch size and timeout, private URLs).
        job_id: for the log line of an internal error.
        watcher: where the engine's progress goes and whether the client canceled (a
            canceled job FAILS with :data:`~segswap.service.jobs.messages.CANCELED_ERROR`
            at the engine's next check point).

    Returns:
        The encoded image and its content type, or the error and its HTTP status; with
        ``load_time``, ``inference_time`` and ``encode_time`` (seconds), ``changed_box``
        (``[x0, y0, x1, y1]``) and ``mode`` in ``metrics`` when it got that far.
    """
    try:
        if isinstance(request, str):
            request = SwapRequest.from_stored(request)  # validated when it was accepted
        if watcher is None:
            rendered = render_request(request, engine=engine, settings=settings)
        else:
            with watch(watcher.report, watcher.canceled):
                rendered = render_request(request, engine=engine, settings=settings)
    except EditCanceled:
        return Outcome.failed(CANCELED_ERROR, CANCELED_STATUS, canceled=True)
    except ImageTooLarge as error:
        return Outcome.failed(str(error), 413)
    except InvalidParameter as error:
        return Outcome.failed(str(error), 400)
    except Exception:
        log.exception("job %s failed with an internal error", job_id)
        return Outcome.failed(INTERNAL_ERROR, 500)
    metrics: dict[str, Any] = {
        "load_time": rendered.load_time,
        "inference_time": rendered.inference_time,
        "encode_time": rendered.encode_time,
        "changed_box": list(rendered.changed_box),
        "mode": rendered.mode,
    }
    if rendered.warnings:
        # Stored with the timings (the job records keep one JSON text); JobView splits
        # them out again.
        metrics[WARNINGS_KEY] = [warning.as_dict() for warning in rendered.warnings]
    return Outcome(
        data=rendered.data,
        content_type=rendered.content_type,
        error=None,
        error_status=None,
        metrics=metrics,
        image_format=request.image_format,
    )


class ThreadEngines:
    """One engine per calling thread, built by ``factory`` on first use (engines keep
    per-call scratch state, so threads do not share one)."""

    def __init__(self, factory: Callable[[], Engine]) -> None:
        self.factory = factory
        self._local = threading.local()

    def get(self) -> Engine:
        """This thread's engine."""
        engine: Engine | None = getattr(self._local, "engine", None)
        if engine is None:
            engine = self.factory()
            self._local.engine = engine
        return engine
