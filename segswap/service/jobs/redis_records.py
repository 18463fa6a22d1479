"""Job records in Redis (scale-out), shared by the API nodes and the workers.

Layout: see :mod:`segswap.service.redis_client`. Every state change that must be atomic
is one Lua script: the debit of a call together with the creation of its job record (a
key can never be overdrawn), the start of a delivery (attempt counting and the lease),
completion (only from PROCESSING, so a redelivered job is never completed twice) and
failure (the refund is guarded by ``HSETNX refunded``, so it happens exactly once
whoever fails the job).
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

import redis

from segswap.service.accounts.credits import REDIS_DEBIT, REDIS_REFUND, Charge
from segswap.service.jobs.base import STATES
from segswap.service.jobs.messages import CANCELED_ERROR, CANCELED_STATUS
from segswap.service.redis_client import P, guarded
from segswap.service.redis_client import number as _f
from segswap.service.redis_client import text as _s

PENDING_TTL = 7 * 24 * 3600  # an unfinished job's record outlives any sane queue wait


_SETTLED_FN = """
local function settled(job, job_id, now, ttl)
  if redis.call('HEXISTS', job, 'webhook_url') == 1 then
    redis.call('ZADD', 'segswap:webhooks', 'NX', now, job_id)
  end
  local idem = redis.call('HGET', job, 'idem')
  if idem then redis.call('PEXPIRE', idem, math.ceil(tonumber(ttl) * 1000)) end
end
"""
"""What every settle (COMPLETED or FAILED) does besides the state: queue the job's
webhook delivery (``segswap:webhooks``, a ZSET by due time) and keep its
Idempotency-Key exactly as long as its result."""

_FAIL_FN = (
    REDIS_REFUND
    + _SETTLED_FN
    + """
local function fail(job, job_id, err, status, now, ttl, metrics)
  redis.call('HSET', job, 'state', 'FAILED', 'error', err, 'error_status', status,
             'finished', now, 'expires', tostring(tonumber(now) + tonumber(ttl)),
             'metrics', metrics)
  redis.call('HDEL', job, 'request')
  redis.call('PEXPIRE', job, math.ceil(tonumber(ttl) * 1000))
  redis.call('ZREM', 'segswap:jobs:QUEUED', job_id)
  redis.call('ZREM', 'segswap:jobs:PROCESSING', job_id)
  redis.call('ZADD', 'segswap:jobs:FAILED', tonumber(now) + tonumber(ttl), job_id)
  settled(job, job_id, now, ttl)
  local price = tonumber(redis.call('HGET', job, 'price') or '0') or 0
  if price > 0 and redis.call('HSETNX', job, 'refunded', '1') == 1 then
    refund('segswap:key:' .. redis.call('HGET', job, 'key_id'), price)
  end
end
"""
)

UNPUBLISHED = P + "unpublished"
"""Jobs stored by an API node whose Celery message is not known to be sent yet (ZSET by
time stored). A node that dies between the two steps leaves its job here; a worker's
reaper sends it (see ``celery_worker``)."""

# KEYS: job, account, QUEUED set, UNPUBLISHED, Idempotency-Key record. ARGV: price (0: not
# charged), capacity, now, ttl, job id, request fingerprint ('' = no Idempotency-Key),
# then field/value pairs of the record.
_SUBMIT = (
    REDIS_DEBIT
    + """
if ARGV[6] ~= '' then
  local prior = redis.call('GET', KEYS[5])
  if prior then
    local cut = string.find(prior, ' ', 1, true)
    local fingerprint, first = string.sub(prior, 1, cut - 1), string.sub(prior, cut + 1)
    if fingerprint ~= ARGV[6] then return {'conflict', ''} end
    if redis.call('EXISTS', 'segswap:job:' .. first) == 1 then return {'replay', first} end
  end
end
if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[2]) then return {'full', ''} end
local remaining = ''
local price = tonumber(ARGV[1])
if price > 0 then
  local debited = debit(KEYS[2], price)
  if debited[1] ~= 'ok' then return debited end
  remaining = debited[2]
end
redis.call('HSET', KEYS[1], unpack(ARGV, 7))
redis.call('EXPIRE', KEYS[1], ARGV[4])
if ARGV[6] ~= '' then
  redis.call('SET', KEYS[5], ARGV[6] .. ' ' .. ARGV[5], 'EX', ARGV[4])
  redis.call('HSET', KEYS[1], 'idem', KEYS[5])
end
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[5])
redis.call('ZADD', KEYS[4], ARGV[3], ARGV[5])
return {'ok', remaining}
"""
)

# KEYS: job, lease. ARGV: job id, owner, lease ms, max attempts, now, ttl, exhausted error.
_START = (
    _FAIL_FN
    + """
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {'gone'} end
if state == 'COMPLETED' or state == 'FAILED' then return {'done'} end
local holder = redis.call('GET', KEYS[2])
if holder and holder ~= ARGV[2] then return {'busy'} end
local attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
if attempts > tonumber(ARGV[4]) then
  fail(KEYS[1], ARGV[1], ARGV[7], '500', ARGV[5], ARGV[6], '{}')
  redis.call('DEL', KEYS[2])
  return {'exhausted', tostring(attempts)}
end
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
redis.call('HSET', KEYS[1], 'state', 'PROCESSING', 'owner', ARGV[2])
redis.call('HSETNX', KEYS[1], 'started', ARGV[5])
redis.call('ZREM', 'segswap:jobs:QUEUED', ARGV[1])
redis.call('ZADD', 'segswap:jobs:PROCESSING', ARGV[5], ARGV[1])
local f = redis.call('HMGET', KEYS[1], 'request', 'kind', 'created', 'started')
return {'run', tostring(attempts), f[1] or '', f[2] or '', f[3] or '', f[4] or ''}
"""
)

# KEYS: job, lease. ARGV: job id, owner, now, ttl, media name, metrics.
_COMPLETE = (
    _SETTLED_FN
    + """
if redis.call('HGET', KEYS[1], 'state') ~= 'PROCESSING' then return 0 end
settled(KEYS[1], ARGV[1], ARGV[3], ARGV[4])
redis.call('HSET', KEYS[1], 'state', 'COMPLETED', 'progress', '1', 'finished', ARGV[3],
           'expires', tostring(tonumber(ARGV[3]) + tonumber(ARGV[4])),
           'media_file', ARGV[5], 'metrics', ARGV[6])
redis.call('HDEL', KEYS[1], 'request')
redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(ARGV[4]) * 1000))
redis.call('ZREM', 'segswap:jobs:PROCESSING', ARGV[1])
redis.call('ZADD', 'segswap:jobs:COMPLETED', tonumber(ARGV[3]) + tonumber(ARGV[4]), ARGV[1])
if redis.call('GET', KEYS[2]) == ARGV[2] then redis.call('DEL', KEYS[2]) end
return 1
"""
)

# KEYS: job, lease. ARGV: job id, owner ('' = anyone), now, ttl, error, status, metrics,
# states it may fail from (space-separated).
_FAIL = (
    _FAIL_FN
    + """
local state = redis.call('HGET', KEYS[1], 'state')
if not state or not string.find(' ' .. ARGV[8] .. ' ', ' ' .. state .. ' ', 1, true) then
  return 0
end
fail(KEYS[1], ARGV[1], ARGV[5], ARGV[6], ARGV[3], ARGV[4], ARGV[7])
local holder = redis.call('GET', KEYS[2])
if holder and (ARGV[2] == '' or holder == ARGV[2]) then redis.call('DEL', KEYS[2]) end
return 1
"""
)

# KEYS: job, lease. ARGV: job id, now. PROCESSING with no lease (its worker died) -> QUEUED.
_REQUEUE = """
if redis.call('HGET', KEYS[1], 'state') ~= 'PROCESSING' then return 0 end
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'state', 'QUEUED')
redis.call('ZREM', 'segswap:jobs:PROCESSING', ARGV[1])
redis.call('ZADD', 'segswap:jobs:QUEUED', ARGV[2], ARGV[1])
return 1
"""

# KEYS: job, lease. ARGV: job id, key id, now, ttl, error, status, mode. Mode 'client'
# (the cancel endpoint): QUEUED -> FAILED/canceled, PROCESSING -> cancel_requested.
# Mode 'worker' (a check point saw the request): PROCESSING -> FAILED/canceled.
_CANCEL = (
    _FAIL_FN
    + """
local f = redis.call('HMGET', KEYS[1], 'state', 'key_id', 'kind', 'expires')
if not f[1] or f[3] ~= 'v2' or (ARGV[7] == 'client' and f[2] ~= ARGV[2]) then
  return 'gone'
end
if f[4] and tonumber(f[4]) <= tonumber(ARGV[3]) then return 'gone' end
if f[1] == 'COMPLETED' or f[1] == 'FAILED' then return 'settled' end
if f[1] == 'PROCESSING' and ARGV[7] == 'client' then
  redis.call('HSET', KEYS[1], 'cancel_requested', '1')
  return 'requested'
end
fail(KEYS[1], ARGV[1], ARGV[5], ARGV[6], ARGV[3], ARGV[4], ARGV[8])
redis.call('HSET', KEYS[1], 'canceled', '1')
redis.call('DEL', KEYS[2])
return 'canceled'
"""
)

# KEYS: webhooks ZSET, job record prefix. ARGV: now, limit, lease s, per key, scan, then
# (key id, deliveries in flight) pairs. Up to limit of the first scan due deliveries,
# earliest due first, at most per key of each API key counting those in flight; each
# pushed back by the lease.
_CLAIM_WEBHOOKS = """
local now, limit, lease = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local per_key = tonumber(ARGV[4])
local taken = {}
for i = 6, #ARGV, 2 do taken[ARGV[i]] = tonumber(ARGV[i + 1]) end
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, ARGV[5])
local chosen = {}
for _, id in ipairs(ids) do
  if #chosen >= limit then break end
  local key = redis.call('HGET', KEYS[2] .. id, 'key_id') or ''
  local n = taken[key] or 0
  if n < per_key then
    taken[key] = n + 1
    chosen[#chosen + 1] = id
    redis.call('ZADD', KEYS[1], now + lease, id)
  end
end
return chosen
"""

# KEYS: lease. ARGV: owner, lease ms. Extends the lease only while we still hold it.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

_VIEW_FIELDS = (
    "key_id",
    "kind",
    "state",
    "base64",
    "created",
    "expires",
    "error",
    "error_status",
    "media_file",
    "metrics",
    "progress",
    "canceled",
)


class RedisJobStore:
    """Job records in Redis, shared by the API nodes (submit, reads, v1 deadlines) and
    the workers (start, complete, fail). See the module docstring for the layout."""

    def __init__(self, client: redis.Redis, result_ttl: float) -> None:
        self.r: Any = client  # redis-py types sync and async results as one union
        self.ttl = result_ttl
        self._submit = client.register_script(_SUBMIT)
        self._start = client.register_script(_START)
        self._complete = client.register_script(_COMPLETE)
        self._fail = client.register_script(_FAIL)
        self._renew = client.register_script(_RENEW)
        self._requeue = client.register_script(_REQUEUE)
        self._cancel = client.register_script(_CANCEL)
        self.claim_webhooks = client.register_script(_CLAIM_WEBHOOKS)

    @staticmethod
    def job_key(job_id: str) -> str:
        return P + f"job:{job_id}"

    @staticmethod
    def lease_key(job_id: str) -> str:
        return P + f"lease:{job_id}"

    # --- API side ---

    @guarded
    def submit(
        self,
        job_id: str,
        *,
        charge: Charge,
        capacity: int,
        fields: dict[str, str],
        idempotency: tuple[str, str] | None = None,
    ) -> tuple[str, str]:
        """Debit ``charge`` and store the QUEUED record, atomically.

        ``idempotency``: (Idempotency-Key, body fingerprint); a key seen before for this
        API key, whose job still exists, answers ``("replay", its job id)`` (same
        fingerprint) or ``("conflict", "")`` without storing anything.

        Returns ``("ok", remaining credits or "" when nothing was debited)``,
        ``("full", "")``, ``("credits", credits left)``, ``("replay", job id)`` or
        ``("conflict", "")``.
        """
        now = time.time()
        record = {
            **fields,
            "state": "QUEUED",
            "key_id": charge.key_id,
            "price": repr(charge.price),
            "created": repr(now),
            "attempts": "0",
        }
        idem_key, fingerprint = P + "idem:-", ""
        if idempotency is not None:
            digest = hashlib.sha256(idempotency[0].encode()).hexdigest()
            idem_key, fingerprint = P + f"idem:{charge.key_id}:{digest}", idempotency[1]
        result = self._submit(
            keys=[
                self.job_key(job_id),
                P + f"key:{charge.key_id}",
                P + "jobs:QUEUED",
                UNPUBLISHED,
                idem_key,
            ],
            args=[
                charge.price,
                capacity,
                now,
                PENDING_TTL,
                job_id,
                fingerprint,
                *[item for pair in record.items() for item in pair],
            ],
        )
        return _s(result[0]) or "", _s(result[1]) or ""

    @guarded
    def view(self, job_id: str) -> dict[str, str | None] | None:
        """The shown fields of a job that has not expired, else None."""
        values = self.r.hmget(self.job_key(job_id), _VIEW_FIELDS)
        row = dict(zip(_VIEW_FIELDS, (_s(v) for v in values), strict=True))
        if row["state"] is None:
            return None
        expires = _f(row["expires"])
        if expires is not None and expires <= time.time():
            return None
        return row

    @guarded
    def fail(
        self,
        job_id: str,
        error: str,
        status: int,
        *,
        metrics: dict[str, float] | None = None,
        owner: str = "",
        from_states: tuple[str, ...] = ("QUEUED", "PROCESSING"),
    ) -> bool:
        """Mark a job FAILED (refunded exactly once) if it is in ``from_states``."""
        done = self._settle(
            self._fail,
            job_id,
            owner,
            error,
            status,
            json.dumps(metrics or {}),
            " ".join(from_states),
        )
        return bool(done)

    @guarded
    def cancel(self, job_id: str, key_id: str, *, worker: bool = False) -> str:
        """The cancel endpoint (``worker=False``) or a worker's check point that saw the
        request (``worker=True``): ``canceled``, ``requested``, ``settled`` or ``gone``."""
        by = "worker" if worker else "client"
        result = self._settle(
            self._cancel, job_id, key_id, CANCELED_ERROR, CANCELED_STATUS, by, "{}"
        )
        return _s(result) or "gone"

    @guarded
    def queue_position(self, job_id: str) -> int | None:
        """How many QUEUED jobs are ahead of this one (None when it is not QUEUED)."""
        rank = self.r.zrank(P + "jobs:QUEUED", job_id)
        return int(rank) if rank is not None else None

    @guarded
    def set_progress(self, job_id: str, value: float) -> None:
        self.r.hset(self.job_key(job_id), "progress", repr(round(value, 4)))

    @guarded
    def cancel_requested(self, job_id: str) -> bool:
        return _s(self.r.hget(self.job_key(job_id), "cancel_requested")) == "1"

    @guarded
    def depth(self) -> int:
        """Jobs QUEUED."""
        return int(self.r.zcard(P + "jobs:QUEUED"))

    @guarded
    def counts(self) -> dict[str, int]:
        """Stored jobs by state (expired ones dropped from the index first)."""
        now = time.time()
        pipe = self.r.pipeline(transaction=False)
        pipe.zremrangebyscore(P + "jobs:COMPLETED", "-inf", now)
        pipe.zremrangebyscore(P + "jobs:FAILED", "-inf", now)
        pipe.zremrangebyscore(P + "jobs:QUEUED", "-inf", now - PENDING_TTL)
        pipe.zremrangebyscore(P + "jobs:PROCESSING", "-inf", now - PENDING_TTL)
        for state in STATES:
            pipe.zcard(P + f"jobs:{state}")
        return {state: int(n) for state, n in zip(STATES, pipe.execute()[4:], strict=True)}

    @guarded
    def live_workers(self, window: float) -> int:
        """Worker slots that sent a heartbeat within ``window`` seconds."""
        return int(self.r.zcount(P + "workers", time.time() - window, "+inf"))

    @guarded
    def busy_workers(self, window: float) -> int:
        """Jobs whose worker sent a heartbeat within ``window`` seconds."""
        return int(self.r.zcount(P + "busy", time.time() - window, "+inf"))

    @guarded
    def ping(self) -> bool:
        return bool(self.r.ping())

    # --- worker side ---

    @guarded
    def start(
        self, job_id: str, owner: str, *, lease: float, max_attempts: int, exhausted_error: str
    ) -> list[str]:
        """Begin one delivery of a job: see :mod:`segswap.service.jobs.celery_app`.

        Returns ``["gone"]``, ``["done"]``, ``["busy"]``, ``["exhausted", attempts]`` or
        ``["run", attempts, request JSON, kind, created, started]``.
        """
        result = self._start(
            keys=[self.job_key(job_id), self.lease_key(job_id)],
            args=[
                job_id,
                owner,
                int(lease * 1000),
                max_attempts,
                time.time(),
                self.ttl,
                exhausted_error,
            ],
        )
        return [_s(v) or "" for v in result]

    @guarded
    def state(self, job_id: str) -> str | None:
        return _s(self.r.hget(self.job_key(job_id), "state"))

    @guarded
    def lease_holder(self, job_id: str) -> str | None:
        return _s(self.r.get(self.lease_key(job_id)))

    @guarded
    def complete(self, job_id: str, owner: str, media_name: str, metrics: dict[str, float]) -> bool:
        """PROCESSING -> COMPLETED with its result; False when it was settled already."""
        done = self._settle(self._complete, job_id, owner, media_name, json.dumps(metrics))
        return bool(done)

    def _settle(self, script: Any, job_id: str, who: str, *args: object) -> Any:
        """Run a job script that settles or marks ``job_id``: its keys are the job's hash
        and lease, its arguments ``job_id, who, now, ttl, *args``."""
        return script(
            keys=[self.job_key(job_id), self.lease_key(job_id)],
            args=[job_id, who, time.time(), self.ttl, *args],
        )

    @guarded
    def heartbeat(self, members: list[str], jobs: dict[str, str], lease: float) -> None:
        """Mark worker slots alive and extend the leases of the jobs they run."""
        now = time.time()
        pipe = self.r.pipeline(transaction=False)
        if members:
            pipe.zadd(P + "workers", dict.fromkeys(members, now))
        for job_id, owner in jobs.items():
            pipe.zadd(P + "busy", {job_id: now})
            self._renew(keys=[self.lease_key(job_id)], args=[owner, int(lease * 1000)], client=pipe)
        pipe.zremrangebyscore(P + "workers", "-inf", now - 3600)
        pipe.zremrangebyscore(P + "busy", "-inf", now - 3600)
        pipe.execute()

    @guarded
    def not_busy(self, job_id: str) -> None:
        self.r.zrem(P + "busy", job_id)

    @guarded
    def leave(self, members: list[str]) -> None:
        """Forget worker slots (clean shutdown)."""
        if members:
            self.r.zrem(P + "workers", *members)

    @guarded
    def published(self, job_id: str) -> None:
        """The job's message reached the broker: it no longer needs watching."""
        self.r.zrem(UNPUBLISHED, job_id)

    @guarded
    def unpublished(self, older_than: float, limit: int = 100) -> list[str]:
        """QUEUED jobs stored before ``older_than`` whose message was never sent (their
        API node died between storing the job and sending it). Each is returned once;
        entries of jobs no longer QUEUED are dropped."""
        ids = [
            _s(v) or ""
            for v in self.r.zrangebyscore(UNPUBLISHED, "-inf", older_than, start=0, num=limit)
        ]
        found = []
        for job_id in ids:
            self.r.zrem(UNPUBLISHED, job_id)
            if _s(self.r.hget(self.job_key(job_id), "state")) == "QUEUED":
                found.append(job_id)
        return found

    @guarded
    def requeue_orphans(self, older_than: float, limit: int = 100) -> list[str]:
        """PROCESSING jobs started before ``older_than`` whose lease is gone (their worker
        died: nothing renews it), put back to QUEUED so that they are sent again; each is
        returned once. A job whose lease is still held is left alone, so a job is never
        run twice at once."""
        ids = [
            _s(v) or ""
            for v in self.r.zrangebyscore(
                P + "jobs:PROCESSING", "-inf", older_than, start=0, num=limit
            )
        ]
        now = time.time()
        requeued = []
        for job_id in ids:
            keys = [self.job_key(job_id), self.lease_key(job_id)]
            if self._requeue(keys=keys, args=[job_id, now]):
                requeued.append(job_id)
        return requeued

    @guarded
    def try_lock(self, name: str, seconds: float, owner: str) -> bool:
        return bool(self.r.set(P + f"lock:{name}", owner, nx=True, px=int(seconds * 1000)))
