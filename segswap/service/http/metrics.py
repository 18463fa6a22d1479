"""Prometheus metrics, hand-rolled (text exposition format 0.0.4), and the ASGI
middleware that counts requests and their latencies.

Series (all durations in seconds):

- ``segswap_http_requests_total{method,route,status}`` counter
- ``segswap_http_request_duration_seconds{route}`` histogram
- ``segswap_jobs_finished_total{state}`` counter
- ``segswap_job_inference_seconds`` / ``segswap_job_queue_seconds`` /
  ``segswap_job_total_seconds`` histograms
- ``segswap_queue_depth``, ``segswap_workers``, ``segswap_workers_busy`` gauges
- ``segswap_jobs{state}`` gauge: stored jobs by state
- ``segswap_large_bodies_reading`` / ``segswap_large_bodies_waiting`` gauges: large
  request bodies holding a turn / waiting for one
  (:class:`segswap.service.http.body_guard.LargeBodyGate`)
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Histogram:
    """Cumulative-bucket histogram of seconds."""

    def __init__(self) -> None:
        self.counts = [0] * (len(BUCKETS) + 1)
        self.total = 0.0
        self.n = 0

    def observe(self, value: float) -> None:
        """Record one observation (seconds)."""
        self.counts[bisect.bisect_left(BUCKETS, value)] += 1
        self.total += value
        self.n += 1

    def lines(self, name: str, labels: str) -> list[str]:
        """Exposition lines for this histogram; ``labels`` is ``k="v",...`` or empty."""
        sep = "," if labels else ""
        out = []
        running = 0
        for bound, count in zip(BUCKETS, self.counts, strict=False):
            running += count
            out.append(f'{name}_bucket{{{labels}{sep}le="{bound}"}} {running}')
        out.append(f'{name}_bucket{{{labels}{sep}le="+Inf"}} {self.n}')
        brace = f"{{{labels}}}" if labels else ""
        out.append(f"{name}_sum{brace} {self.total:.6f}")
        out.append(f"{name}_count{brace} {self.n}")
        return out


class Metrics:
    """Counters and histograms of one server, plus gauges read at scrape time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, str, int], int] = {}
        self.latency: dict[str, Histogram] = {}
        self.jobs_finished: dict[str, int] = {}
        self.job_times = {"inference": Histogram(), "queue": Histogram(), "total": Histogram()}
        self.gauges: Callable[[], dict[str, Any]] = dict
        self.body_turns: Callable[[], tuple[int, int]] = lambda: (0, 0)
        """(reading, waiting) large bodies, set by the app that owns the gate."""

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one HTTP request and its latency."""
        with self._lock:
            key = (method, route, status)
            self.requests[key] = self.requests.get(key, 0) + 1
            hist = self.latency.get(route)
            if hist is None:
                hist = self.latency[route] = Histogram()
            hist.observe(seconds)

    def observe_job(self, state: str, metrics: dict[str, float]) -> None:
        """Count one finished job and its timings (``*_time`` keys, seconds)."""
        with self._lock:
            self.jobs_finished[state] = self.jobs_finished.get(state, 0) + 1
            for name, hist in self.job_times.items():
                value = metrics.get(f"{name}_time")
                if value is not None:
                    hist.observe(value)

    def render(self) -> str:
        """The text exposition of every series."""
        lines: list[str] = []
        gauges = self.gauges()
        with self._lock:
            lines += [
                "# HELP segswap_http_requests_total HTTP requests served.",
                "# TYPE segswap_http_requests_total counter",
            ]
            for (method, route, status), n in sorted(self.requests.items()):
                lines.append(
                    f'segswap_http_requests_total{{method="{method}",route="{route}",'
                    f'status="{status}"}} {n}'
                )
            lines += [
                "# HELP segswap_http_request_duration_seconds HTTP request latency.",
                "# TYPE segswap_http_request_duration_seconds histogram",
            ]
            for route, hist in sorted(self.latency.items()):
                lines += hist.lines("segswap_http_request_duration_seconds", f'route="{route}"')
            lines += [
                "# HELP segswap_jobs_finished_total Jobs finished since start.",
                "# TYPE segswap_jobs_finished_total counter",
            ]
            for state, n in sorted(self.jobs_finished.items()):
                lines.append(f'segswap_jobs_finished_total{{state="{state}"}} {n}')
            for name, hist in self.job_times.items():
                metric = f"segswap_job_{name}_seconds"
                lines += [f"# HELP {metric} Job {name} time.", f"# TYPE {metric} histogram"]
                lines += hist.lines(metric, "")
        lines += [
            "# HELP segswap_queue_depth Jobs waiting for a worker.",
            "# TYPE segswap_queue_depth gauge",
            f"segswap_queue_depth {gauges.get('queue_depth', 0)}",
            "# HELP segswap_workers Worker threads alive.",
            "# TYPE segswap_workers gauge",
            f"segswap_workers {gauges.get('workers', 0)}",
            "# HELP segswap_workers_busy Workers running a job.",
            "# TYPE segswap_workers_busy gauge",
            f"segswap_workers_busy {gauges.get('workers_busy', 0)}",
            "# HELP segswap_jobs Stored jobs by state.",
            "# TYPE segswap_jobs gauge",
        ]
        for state, n in gauges.get("jobs", {}).items():
            lines.append(f'segswap_jobs{{state="{state}"}} {n}')
        reading, waiting = self.body_turns()
        lines += [
            "# HELP segswap_large_bodies_reading Large request bodies holding a turn.",
            "# TYPE segswap_large_bodies_reading gauge",
            f"segswap_large_bodies_reading {reading}",
            "# HELP segswap_large_bodies_waiting Large request bodies waiting for a turn.",
            "# TYPE segswap_large_bodies_waiting gauge",
            f"segswap_large_bodies_waiting {waiting}",
        ]
        return "\n".join(lines) + "\n"


class MetricsMiddleware:
    """Pure ASGI middleware timing every HTTP request (route template as the label)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            # The route's template, never the raw path: a label per path a client
            # makes up would grow without bound (memory here, series in Prometheus).
            route = scope.get("route")
            label = getattr(route, "path", None)
            if label is None:  # no route matched: 404, a slash redirect, a 413 by size
                label = "unmatched"
            self.metrics.observe_request(
                scope["method"], label, status, time.perf_counter() - started
            )
