"""One tenant's hanging receiver does not hold up another key's webhooks: with 24
deliveries of key A to a receiver that never answers, key B's delivery is sent while
every A attempt is still hanging, on both outboxes (SQLite, Redis). Afterwards A's
deliveries all go through. ``benchmarks/webhook_fairness.py`` times B's delivery."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fairness_support import Receiver, Store, deliverer, redis_store, sqlite_store, wait_for
from scaleout_support import RedisServer, require_redis

from segswap.service.webhooks.delivery import PER_KEY

HANGING_JOBS = 24
ATTEMPT_TIMEOUT = 300.0
"""Far beyond the test's own deadlines: no A attempt ends on its own during the test, so
what is checked is the order of events, not how fast anything is."""


@pytest.fixture(params=["sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        yield sqlite_store(tmp_path / "data")
        return
    require_redis()
    server = RedisServer(tmp_path / "redis").start()
    try:
        yield redis_store(server.client())
    finally:
        server.stop()


def test_a_hanging_tenant_does_not_delay_another_keys_webhook(store: Store) -> None:
    receiver = Receiver()
    snapshot: dict[str, int] = {}

    def on_arrival(path: str) -> None:  # runs under the receiver's lock
        if path == "/b":
            snapshot.update(open=receiver.open_hanging, closed=receiver.closed_hanging)

    receiver.on_arrival = on_arrival
    for n in range(HANGING_JOBS):
        store.add(f"a-{n:02d}", "key-a", receiver.url(f"hang/{n}"))
    sending = deliverer(store, timeout=ATTEMPT_TIMEOUT)
    try:
        wait_for(lambda: receiver.open_hanging >= PER_KEY, "A's first attempts")
        store.add("b-0", "key-b", receiver.url("b"))  # B's job completes now
        wait_for(lambda: "/b" in receiver.paths(), "B's delivery")
        # B went out while A's attempts hung, none of them having ended; A holds no more
        # than its share of the senders
        assert snapshot == {"open": PER_KEY, "closed": 0}
        assert sum(path.startswith("/hang") for path in receiver.paths()) == PER_KEY
        receiver.hang.set()
        wait_for(lambda: store.outbox.pending() == 0, "every delivery made")
        delivered = sorted(path for path in receiver.paths() if path.startswith("/hang"))
        assert delivered == sorted(f"/hang/{n}" for n in range(HANGING_JOBS))
    finally:
        receiver.hang.set()
        sending.stop()
        receiver.stop()
