"""Helpers of the scale-out tests: a throw-away ``redis-server`` (no persistence, its own
port and folder) and ``segswap worker`` processes, each in its own session so that a
test can SIGKILL a whole worker (main process and pool) as if its machine died."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import redis
from service_support import (
    HERE,
    ROOT,
    free_port,
    missing_system_package,
    run_cli,
    segswap_command,
)


def redis_available() -> bool:
    return shutil.which("redis-server") is not None


def require_redis() -> None:
    """Skip the calling test or fixture when ``redis-server`` is missing (see
    :func:`service_support.missing_system_package`)."""
    if not redis_available():
        missing_system_package(
            "redis-server is not installed (scripts/system-packages installs it)"
        )


class RedisServer:
    """``redis-server --save '' --appendonly no`` on a free loopback port.

    Nothing is written on its own; :meth:`save` writes a snapshot on demand, which a
    restart on the same folder loads (a Redis with persistence, for the outage test).
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = folder / "redis.log"

    def start(self, timeout: float = 60.0) -> RedisServer:
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in kill()/stop()
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--dir",
                str(self.folder),
                "--dbfilename",
                "dump.rdb",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.client().ping():
                    return self
            except redis.exceptions.RedisError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start:\n{self.log_path.read_text()}")

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_connect_timeout=5, socket_timeout=30)

    def save(self) -> None:
        self.client().save()

    def kill(self) -> None:
        """SIGKILL: Redis disappears mid-run."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(60)
            self._log.close()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            self._log.close()


class Worker:
    """One ``segswap worker --hostname <name>`` (concurrency 1) in its own session."""

    def __init__(self, name: str, data_dir: Path, env: dict[str, str]) -> None:
        self.name = name
        self.data_dir = data_dir
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir.parent / f"{data_dir.name}-worker-{name}.log"

    def start(self, client: redis.Redis, timeout: float = 180.0) -> Worker:
        env = dict(os.environ)
        env.pop("SEGSWAP_NO_AUTH", None)
        env.update(
            {
                "PYTHONPATH": os.pathsep.join([str(HERE), str(ROOT)]),
                "SEGSWAP_DATA_DIR": str(self.data_dir),
                **self.env,
            }
        )
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed when stopped
        started = time.time()
        self.proc = subprocess.Popen(
            [
                *segswap_command(),
                "worker",
                "--hostname",
                self.name,
                "--concurrency",
                "1",
                "--log-level",
                "info",
            ],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited early:\n{self.log()}")
            if self.slots(client, since=started):
                return self
            time.sleep(0.1)
        raise RuntimeError(f"worker {self.name} did not register:\n{self.log()}")

    def slots(self, client: redis.Redis, since: float = 0.0) -> list[str]:
        """This worker's slots in the registry (``<name>:<pool pid>``) that sent a
        heartbeat at or after ``since`` (a time.time()).

        A pool process that was killed stays registered, with its last beat's time,
        until the registry's window drops it: "a beat since" tells a new process from
        a dead one by what it did, whatever the window.
        """
        members = client.zrangebyscore("segswap:workers", since, "+inf")
        return sorted(m.decode() for m in members if m.decode().startswith(self.name + ":"))

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and pool): its machine died."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(60)
        self._log.close()

    def terminate(self) -> None:
        """SIGTERM to the worker's main process (what a process manager sends)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(60)
        self._log.close()


def keys_command(
    broker_url: str, *args: str, process: bool = False
) -> subprocess.CompletedProcess[str]:
    """``segswap keys ...`` against the Redis store: in this process (:func:`run_cli`),
    or with ``process`` through the console script in a process of its own."""
    if not process:
        return run_cli("keys", *args, "--broker-url", broker_url)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SEGSWAP_BROKER_URL": broker_url}
    return subprocess.run(
        [*segswap_command(), "keys", *args], capture_output=True, text=True, env=env, timeout=180
    )
