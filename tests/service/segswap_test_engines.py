"""Engines the service tests load with ``SEGSWAP_ENGINE=segswap_test_engines:<Name>``."""

from __future__ import annotations

import os
import time

import numpy as np

from segswap.engine import get_engine
from segswap.params import SwapParams


def hold_while_gated(limit: float = 120.0) -> None:
    """Wait, at the engine's check points (so a cancel stops it), for as long as the file
    named by ``SEGSWAP_TEST_GATE`` (read now) exists, at most ``limit`` seconds: a test
    holds workers by creating the file and lets them go by deleting it."""
    from segswap.engine.progress import checkpoint

    gate = os.environ.get("SEGSWAP_TEST_GATE", "")
    until = time.monotonic() + limit
    while gate and os.path.exists(gate) and time.monotonic() < until:
        checkpoint(0.0)
        time.sleep(0.01)


class SlowEngine:
    """The real engine after a pause of ``SEGSWAP_TEST_DELAY`` seconds (default 0.5),
    and while the gate is closed (:func:`hold_while_gated`)."""

    name = "slow"

    def __init__(self) -> None:
        self.inner = get_engine("composite")
        self.delay = float(os.environ.get("SEGSWAP_TEST_DELAY", "0.5"))

    def __call__(
        self, scene: np.ndarray, mask: np.ndarray, obj: np.ndarray, params: SwapParams
    ) -> np.ndarray:
        time.sleep(self.delay)
        hold_while_gated()
        return self.inner(scene, mask, obj, params)


class FirstThenGatedEngine(SlowEngine):
    """:class:`SlowEngine` that lets the run's first edit through the gate: a test holds
    every other edit by creating the gate file before the run, and sees exactly one
    result first, however fast edits run. The first edit, across processes, is the one
    that creates ``<gate>.first``."""

    name = "first-then-gated"

    def __call__(
        self, scene: np.ndarray, mask: np.ndarray, obj: np.ndarray, params: SwapParams
    ) -> np.ndarray:
        try:
            os.close(os.open(os.environ["SEGSWAP_TEST_GATE"] + ".first", os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            time.sleep(self.delay)
            hold_while_gated()
        return self.inner(scene, mask, obj, params)


class FaultyEngine:
    """An engine with a bug: raises a non-segswap exception."""

    name = "faulty"

    def __call__(
        self, scene: np.ndarray, mask: np.ndarray, obj: np.ndarray, params: SwapParams
    ) -> np.ndarray:
        raise RuntimeError("engine bug: secret internal detail")


class ScaleoutEngine(SlowEngine):
    """:class:`SlowEngine` whose process dies natively on two seeds: SIGKILL (as by the
    out-of-memory killer) on seed ``SEGSWAP_TEST_DEADLY_SEED`` (default 4242), SIGSEGV
    (a null pointer read, as a bug in OpenCV would be) on seed
    ``SEGSWAP_TEST_CRASH_SEED`` (default 666)."""

    name = "scaleout"

    def __call__(
        self, scene: np.ndarray, mask: np.ndarray, obj: np.ndarray, params: SwapParams
    ) -> np.ndarray:
        if params.seed == int(os.environ.get("SEGSWAP_TEST_DEADLY_SEED", "4242")):
            import signal

            os.kill(os.getpid(), signal.SIGKILL)
        if params.seed == int(os.environ.get("SEGSWAP_TEST_CRASH_SEED", "666")):
            import ctypes

            ctypes.string_at(0)  # reads address 0: the process dies of SIGSEGV
        return super().__call__(scene, mask, obj, params)


class ContractEngine:
    """The real engine, with behaviours chosen by the request's seed, so that one server
    covers every case of the contract suite: seed :data:`FAULTY_SEED` raises a
    non-segswap exception (an engine bug); seed :data:`HELD_SEED` waits while the gate
    is closed (:func:`hold_while_gated`); any other seed runs at once. No case then
    assumes how long anything takes."""

    name = "contract"

    def __init__(self) -> None:
        self.inner = get_engine("composite")

    def __call__(
        self, scene: np.ndarray, mask: np.ndarray, obj: np.ndarray, params: SwapParams
    ) -> np.ndarray:
        if params.seed == FAULTY_SEED:
            raise RuntimeError("engine bug: secret internal detail")
        if params.seed == HELD_SEED:
            hold_while_gated()
        return self.inner(scene, mask, obj, params)


FAULTY_SEED = 500
HELD_SEED = 600


class CrashingEngine:
    """The real engine, except on a job with seed ``SEGSWAP_TEST_CRASH_SEED`` (default
    666): there it dereferences a null pointer, a native crash (SIGSEGV) as a bug in
    OpenCV would be."""

    name = "crashing"

    def __init__(self) -> None:
        self.inner = get_engine("composite")
        self.crash_seed = int(os.environ.get("SEGSWAP_TEST_CRASH_SEED", "666"))

    def __call__(
        self, scene: np.ndarray, mask: np.ndarray, obj: np.ndarray, params: SwapParams
    ) -> np.ndarray:
        if params.seed == self.crash_seed:
            import ctypes

            ctypes.string_at(0)  # reads address 0: the process dies of SIGSEGV
        return self.inner(scene, mask, obj, params)
