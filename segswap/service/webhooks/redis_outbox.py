"""Pending webhook deliveries of scale-out, in the shared Redis.

The settle scripts of :mod:`segswap.service.jobs.redis_records` add the job to the
``segswap:webhooks`` ZSET (scored by due time) in the same atomic step that settles it;
the job's record holds the URL and, while retried, ``webhook_attempts``. Any API node
claims due entries (an atomic script pushes them back by a lease, so two nodes do not
send the same one at once); entries persist with Redis (AOF) across restarts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from segswap.service.jobs.redis_records import RedisJobStore
from segswap.service.redis_client import P, guarded
from segswap.service.redis_client import number as _f
from segswap.service.redis_client import text as _s
from segswap.service.webhooks.delivery import Pending

WEBHOOKS = P + "webhooks"
SECRET = P + "webhook_secret"
SCAN = 1000
"""Due deliveries a claim looks through for keys below their limit in flight (a key
with more due than this ahead of the others delays theirs until its backlog drains)."""


class RedisOutbox:
    """The ``segswap:webhooks`` ZSET (see the module docstring)."""

    def __init__(self, jobs: RedisJobStore) -> None:
        self.jobs = jobs
        self.r: Any = jobs.r

    @guarded
    def claim(
        self, now: float, limit: int, lease: float, per_key: int, busy: Mapping[str, int]
    ) -> list[Pending]:
        args: list[Any] = [now, limit, lease, per_key, SCAN]
        for busy_key, count in busy.items():
            args += [busy_key, count]
        prefix = self.jobs.job_key("")
        ids = [_s(v) or "" for v in self.jobs.claim_webhooks(keys=[WEBHOOKS, prefix], args=args)]
        found = []
        for job_id in ids:
            values = self.r.hmget(
                self.jobs.job_key(job_id),
                ["key_id", "webhook_url", "webhook_base", "finished", "webhook_attempts"],
            )
            key_id, url, base, finished, attempts = (_s(v) for v in values)
            if not url or not key_id:  # the job expired: nothing left to send
                self.r.zrem(WEBHOOKS, job_id)
                continue
            settled = _f(finished) or now
            found.append(Pending(job_id, key_id, url, base or "", settled, int(attempts or 0)))
        return found

    @guarded
    def delivered(self, job_id: str) -> None:
        self.r.zrem(WEBHOOKS, job_id)

    @guarded
    def retry(self, job_id: str, due: float, attempts: int) -> None:
        pipe = self.r.pipeline(transaction=True)
        pipe.hset(self.jobs.job_key(job_id), "webhook_attempts", attempts)
        pipe.zadd(WEBHOOKS, {job_id: due}, xx=True)
        pipe.execute()

    @guarded
    def drop(self, job_id: str) -> None:
        self.r.zrem(WEBHOOKS, job_id)

    @guarded
    def pending(self) -> int:
        return int(self.r.zcard(WEBHOOKS))


@guarded
def stored_secret(client: Any, fresh: str) -> str:
    """The signing secret kept in Redis: ``fresh`` the first time, then that one."""
    client.set(SECRET, fresh, nx=True)
    return str(_s(client.get(SECRET)))
