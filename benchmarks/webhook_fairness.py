"""How long another key's webhook waits while one tenant's receiver hangs.

Run: ``.venv/bin/python benchmarks/webhook_fairness.py [--repeats N] [--baseline]``

Each repeat: 24 deliveries of key A to a receiver that holds every request open, then,
once A's first attempts hang, key B's job settles (its delivery is put in the outbox, as
the settle step does) and the time until B's receiver gets it is measured. Printed per
outbox (SQLite; Redis when ``redis-server`` is installed): the median and the largest
delay over the repeats, in seconds, and the same with nothing hanging (the baseline of
this machine: claim poll and one HTTP round trip).

``--baseline`` also runs the delivery as it was before per-key limits (4 senders shared by
every key, attempts timing out after 10 s): there B waits for A's deliveries ahead of it,
about a minute for 24 (one repeat; it takes that long).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "service" / "webhooks"))
sys.path.insert(0, str(ROOT / "tests" / "service"))
from fairness_support import (  # noqa: E402
    Receiver,
    Store,
    deliverer,
    redis_store,
    sqlite_store,
    wait_for,
)

from segswap.service.webhooks import delivery  # noqa: E402

HANGING = 24


def b_delay(make_store: object, folder: Path, hanging: int, timeout: float) -> float:
    """Seconds from B's job settling to its delivery arriving, with ``hanging`` A
    deliveries held open."""
    receiver = Receiver()
    store: Store = make_store(folder)  # type: ignore[operator]
    for n in range(hanging):
        store.add(f"a-{n:02d}", "key-a", receiver.url(f"hang/{n}"))
    sending = deliverer(store, timeout=timeout)
    try:
        if hanging:
            wait_for(lambda: receiver.open_hanging >= 1, "A's first attempt")
        settled = time.monotonic()
        store.add("b-0", "key-b", receiver.url("b"))
        wait_for(lambda: "/b" in receiver.paths(), "B's delivery", timeout=600)
        arrived = next(at for path, at in receiver.arrived if path == "/b")
        return arrived - settled
    finally:
        receiver.hang.set()
        sending.stop()
        receiver.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--baseline", action="store_true", help="also the old delivery (slow)")
    args = parser.parse_args()
    stores: dict[str, object] = {"sqlite": sqlite_store}
    redis_server = None
    sys.path.insert(0, str(ROOT / "tests" / "service"))
    from scaleout_support import RedisServer, redis_available

    with tempfile.TemporaryDirectory() as tmp:
        if redis_available():
            redis_server = RedisServer(Path(tmp) / "redis").start()
            client = redis_server.client()

            def fresh_redis(folder: Path) -> Store:
                client.flushdb()
                return redis_store(client)

            stores["redis"] = fresh_redis
        try:
            print(f"senders {delivery.SENDERS}, per key {delivery.PER_KEY}, poll {delivery.POLL} s")
            for name, make in stores.items():
                for hanging in (0, HANGING):
                    delays = [
                        b_delay(make, Path(tmp) / f"{name}-{hanging}-{i}", hanging, 300.0)
                        for i in range(args.repeats)
                    ]
                    print(
                        f"{name:6s} {hanging:2d} hanging A deliveries: B delivered after"
                        f" median {statistics.median(delays):.3f} s, max {max(delays):.3f} s"
                        f" ({args.repeats} repeats)"
                    )
            if args.baseline:
                delivery.SENDERS, delivery.PER_KEY = 4, 4  # as before: no per-key limit
                delay = b_delay(sqlite_store, Path(tmp) / "old", HANGING, delivery.TIMEOUT)
                print(
                    f"before (4 shared senders, {delivery.TIMEOUT:g} s attempts), sqlite,"
                    f" {HANGING} hanging: B delivered after {delay:.1f} s"
                )
        finally:
            if redis_server is not None:
                redis_server.stop()


if __name__ == "__main__":
    main()
