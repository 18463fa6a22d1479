"""The scale-out store: keys, credits, rate limits, job records and result images in Redis.

Every API node and every worker talks to the same Redis, so no node needs a disk shared
with another: a key made through any node works on all of them, and any node answers
for any request id and serves any result image.

Layout (all names start with ``segswap:``):

- ``key:<id>`` hash: one API key (``name``, ``prefix``, ``hash`` = SHA-256 of the secret,
  ``credits``, ``admin``, ``models``, ``created``, ``revoked``); ``keyhash:<sha256>`` and
  ``keyname:<name>`` point at the id; the sorted set ``keys`` lists ids by creation time.
- ``rl:<key id>`` hash: the key's token bucket (``tokens``, ``last``), expiring when full.
- ``job:<id>`` hash: one job (``state``, ``kind``, ``key_id``, ``price``, ``request`` (the
  validated request JSON, dropped once the job is finished), ``attempts``, ``created``,
  ``started``, ``finished``, ``expires``, ``error``, ``error_status``, ``media_file``,
  ``content_type``, ``metrics``, ``refunded``). An unfinished job's record expires after
  :data:`PENDING_TTL` (a safety net only); a finished one ``result_ttl`` seconds after
  it finished.
- ``jobs:QUEUED`` / ``jobs:PROCESSING`` sorted sets (score: time queued / started) and
  ``jobs:COMPLETED`` / ``jobs:FAILED`` (score: expiry time) index jobs by state.
- ``lease:<job id>``: the worker running the job (see :mod:`segswap.service.celery_app`),
  kept alive by that worker's heartbeat; ``workers`` / ``busy`` sorted sets: worker slots
  and running jobs by their last heartbeat.
- ``media:<token>.<ext>``: a result image, expiring ``result_ttl`` seconds after the job
  finished. The token is 192 random bits: the key is the capability.

Every state change that must be atomic is one Lua script: the debit of a call together
with the creation of its job record (a key can never be overdrawn), the start of a
delivery (attempt counting and the lease), completion (only from PROCESSING, so a
redelivered job is never completed twice) and failure (the refund is guarded by
``HSETNX refunded``, so it happens exactly once whoever fails the job). Scripts read the
key record named by the job, so the store needs a standalone Redis (or Sentinel), not
Redis Cluster.

Connection errors surface as :class:`segswap.service.errors.StoreUnavailable` (HTTP 503);
the client reconnects by itself on the next call once Redis is back.
"""

from __future__ import annotations

import functools
import hmac
import json
import math
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from segswap.service.auth import (
    DISPLAY_CHARS,
    KEY_PREFIX,
    KeyRecord,
    UnknownKey,
    hash_key,
    make_new_key,
)
from segswap.service.errors import StoreUnavailable
from segswap.service.media import content_type, valid_name
from segswap.service.ratelimit import retry_after

P = "segswap:"
PENDING_TTL = 7 * 24 * 3600  # an unfinished job's record outlives any sane queue wait
AUTH_CACHE_SECONDS = 1.0
CONNECT_TIMEOUT = 2.0
COMMAND_TIMEOUT = 10.0

F = TypeVar("F", bound=Callable[..., Any])
CONNECTION_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


def connect(url: str) -> redis.Redis:
    """A client for ``url`` (``redis://host:port/db``) with short timeouts.

    One immediate reconnect attempt per command (so a connection broken by a Redis
    restart heals on the next call), no backoff: while Redis is down a call fails at once
    instead of holding up the event loop.
    """
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=CONNECT_TIMEOUT,
        socket_timeout=COMMAND_TIMEOUT,
        retry=Retry(NoBackoff(), 1),
        health_check_interval=30,
    )


def guarded(method: F) -> F:
    """Turn Redis connection errors raised by ``method`` into :class:`StoreUnavailable`."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except CONNECTION_ERRORS as error:
            raise StoreUnavailable(f"the shared store (Redis) is unavailable: {error}") from None

    return cast(F, wrapper)


def _s(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


def _f(value: Any) -> float | None:
    text = _s(value)
    return float(text) if text not in (None, "") else None


# ----- keys and credits -----

_CREATE_KEY = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('SET', KEYS[2], ARGV[1])
redis.call('SET', KEYS[3], ARGV[1])
redis.call('ZADD', KEYS[4], ARGV[2], ARGV[1])
return 1
"""

_CREDIT_KEY = """
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local now = tonumber(redis.call('HGET', KEYS[1], 'credits')) + tonumber(ARGV[1])
if now < 0 then now = 0 end
redis.call('HSET', KEYS[1], 'credits', tostring(now))
return tostring(now)
"""


def _key_record(raw: dict[bytes, bytes]) -> KeyRecord:
    data = {k.decode(): v.decode() for k, v in raw.items()}
    models = data.get("models") or None
    return KeyRecord(
        id=data["id"],
        name=data["name"],
        prefix=data["prefix"],
        credits=float(data["credits"]),
        admin=data.get("admin") == "1",
        models=tuple(models.split(",")) if models else None,
        created=float(data["created"]),
        revoked=float(data["revoked"]) if data.get("revoked") else None,
    )


class RedisKeyStore:
    """API keys and their credits in Redis (the :class:`KeyStore` of scale-out).

    As with the SQLite store, a successful authentication is reused for up to
    ``cache_seconds`` (1 s), so a key revoked or credited through another node or
    ``segswap keys`` takes effect within a second. Debits and refunds are done by the
    job scripts of :class:`RedisJobStore`, in the same atomic step as the job change.
    """

    def __init__(self, client: redis.Redis, cache_seconds: float = AUTH_CACHE_SECONDS) -> None:
        self.r: Any = client  # redis-py types sync and async results as one union
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[KeyRecord, float]] = {}
        self._digests: dict[str, str] = {}  # key id -> digest of its cached record
        self._create = client.register_script(_CREATE_KEY)
        self._credit = client.register_script(_CREDIT_KEY)

    @guarded
    def create(
        self,
        *,
        name: str | None = None,
        credits: float,
        admin: bool = False,
        models: list[str] | None = None,
    ) -> tuple[str, KeyRecord]:
        """Make a key; returns (the secret, shown only now; its record)."""
        new = make_new_key(credits, models)
        key_id = new.id
        name = name or key_id
        now = time.time()
        fields = {
            "id": key_id,
            "name": name,
            "prefix": new.prefix,
            "hash": new.digest,
            "credits": repr(float(credits)),
            "admin": "1" if admin else "0",
            "models": ",".join(new.models) if new.models else "",
            "created": repr(now),
            "revoked": "",
        }
        made = self._create(
            keys=[P + f"key:{key_id}", P + f"keyname:{name}", P + f"keyhash:{fields['hash']}",
                  P + "keys"],
            args=[key_id, now, *[item for pair in fields.items() for item in pair]],
        )
        if not made:
            raise ValueError(f"a key named {name!r} exists already")
        return new.secret, self.find(key_id)

    @guarded
    def authenticate(self, presented: str) -> KeyRecord | None:
        """The active key whose secret is ``presented``, or None."""
        if not presented.startswith(KEY_PREFIX) or len(presented) < DISPLAY_CHARS + 8:
            return None
        digest = hash_key(presented)
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached is not None and cached[1] > now:
            return cached[0]
        key_id = self.r.get(P + f"keyhash:{digest}")
        if key_id is None:
            return None
        raw = self.r.hgetall(P + f"key:{key_id.decode()}")
        if not raw or not hmac.compare_digest(raw.get(b"hash", b"").decode(), digest):
            return None
        record = _key_record(raw)
        if record.revoked is not None:
            return None
        if len(self._cache) >= 10_000:
            self._cache, self._digests = {}, {}
        self._cache[digest] = (record, now + self.cache_seconds)
        self._digests[record.id] = digest
        return record

    def forget(self, key_id: str) -> None:
        """Drop the cached record of ``key_id``, so that the next request of that key
        reads its credits afresh (called after this node debited it)."""
        digest = self._digests.pop(key_id, None)
        if digest is not None:
            self._cache.pop(digest, None)

    @guarded
    def list(self) -> list[KeyRecord]:
        """Every key, oldest first."""
        ids = self.r.zrange(P + "keys", 0, -1)
        pipe = self.r.pipeline(transaction=False)
        for key_id in ids:
            pipe.hgetall(P + f"key:{key_id.decode()}")
        return [_key_record(raw) for raw in pipe.execute() if raw]

    @guarded
    def find(self, id_or_name: str) -> KeyRecord:
        """The key with this id or name. Raises :class:`UnknownKey`."""
        raw = self.r.hgetall(P + f"key:{id_or_name}")
        if not raw:
            key_id = self.r.get(P + f"keyname:{id_or_name}")
            if key_id is not None:
                raw = self.r.hgetall(P + f"key:{key_id.decode()}")
        if not raw:
            raise UnknownKey(f"no key with id or name {id_or_name!r}")
        return _key_record(raw)

    @guarded
    def revoke(self, id_or_name: str) -> KeyRecord:
        """Revoke a key: it stops working on every node within a second."""
        record = self.find(id_or_name)
        if record.revoked is None:
            self.r.hset(P + f"key:{record.id}", "revoked", repr(time.time()))
        self._cache, self._digests = {}, {}
        return self.find(record.id)

    @guarded
    def credit(self, id_or_name: str, amount: float) -> KeyRecord:
        """Add ``amount`` credits (negative to take some away, not below 0), atomically."""
        record = self.find(id_or_name)
        self._credit(keys=[P + f"key:{record.id}"], args=[float(amount)])
        self._cache, self._digests = {}, {}
        return self.find(record.id)

    @guarded
    def count_active(self) -> int:
        """How many keys are not revoked."""
        return sum(1 for record in self.list() if record.revoked is None)


# ----- rate limits -----

_TOKEN_BUCKET = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'last')
local tokens = tonumber(b[1]) or burst
local last = tonumber(b[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - last) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'last', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return tostring(wait)
"""


class RedisRateLimiter:
    """The token buckets of :class:`segswap.service.ratelimit.RateLimiter`, in Redis:
    every API node draws from the same bucket per key. Time is Redis's own clock, so the
    nodes' clocks need not agree."""

    def __init__(self, client: redis.Redis, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = max(1, burst)
        self._script = client.register_script(_TOKEN_BUCKET)

    @guarded
    def acquire(self, key: str) -> float:
        """Take a token for ``key``: 0.0 when allowed, else seconds to wait (> 0)."""
        if self.rate <= 0:
            return 0.0
        wait = self._script(keys=[P + f"rl:{key}"], args=[self.rate, self.burst])
        return float(wait)

    def retry_after(self, wait: float) -> str:
        """A ``Retry-After`` header value (whole seconds, at least 1)."""
        return retry_after(wait)


# ----- result images -----


class RedisMedia:
    """Result images as Redis values ``media:<token>.<ext>`` expiring after ``ttl`` s."""

    def __init__(self, client: redis.Redis, ttl: float) -> None:
        self.r: Any = client  # redis-py types sync and async results as one union
        self.ttl_ms = max(1, int(ttl * 1000))

    @guarded
    def write(self, token: str, image_format: str, data: bytes) -> str:
        """Store ``data``; returns its name ``<token>.<image_format>``."""
        name = f"{token}.{image_format}"
        self.r.set(P + f"media:{name}", data, px=self.ttl_ms)
        return name

    @guarded
    def read(self, name: str) -> bytes | None:
        """The bytes of a result, or None when the name is not one or it expired."""
        if not valid_name(name):
            return None
        data = self.r.get(P + f"media:{name}")
        return bytes(data) if data is not None else None

    @guarded
    def delete(self, name: str | None) -> None:
        """Remove a result (no error when it is gone)."""
        if name:
            self.r.delete(P + f"media:{name}")


# ----- job records -----

# Shared by the scripts that fail a job: FAILED + refund exactly once (HSETNX guard).
_FAIL_FN = """
local function fail(job, job_id, err, status, now, ttl, metrics)
  redis.call('HSET', job, 'state', 'FAILED', 'error', err, 'error_status', status,
             'finished', now, 'expires', tostring(tonumber(now) + tonumber(ttl)),
             'metrics', metrics)
  redis.call('HDEL', job, 'request')
  redis.call('PEXPIRE', job, math.ceil(tonumber(ttl) * 1000))
  redis.call('ZREM', 'segswap:jobs:QUEUED', job_id)
  redis.call('ZREM', 'segswap:jobs:PROCESSING', job_id)
  redis.call('ZADD', 'segswap:jobs:FAILED', tonumber(now) + tonumber(ttl), job_id)
  local price = tonumber(redis.call('HGET', job, 'price') or '0') or 0
  if price > 0 and redis.call('HSETNX', job, 'refunded', '1') == 1 then
    local account = 'segswap:key:' .. redis.call('HGET', job, 'key_id')
    if redis.call('EXISTS', account) == 1 then
      redis.call('HINCRBYFLOAT', account, 'credits', price)
    end
  end
end
"""

# KEYS: job, account, QUEUED set. ARGV: price, charge (1/0), capacity, now, ttl, job id,
# then field/value pairs of the record.
UNPUBLISHED = P + "unpublished"
"""Jobs stored by an API node whose Celery message is not known to be sent yet (ZSET by
time stored). A node that dies between the two steps leaves its job here; a worker's
reaper sends it (see ``celery_app``)."""

_SUBMIT = """
if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[3]) then return {'full', ''} end
local remaining = ''
if ARGV[2] == '1' then
  local credits = redis.call('HGET', KEYS[2], 'credits')
  if not credits then return {'credits', '0'} end
  if tonumber(credits) < tonumber(ARGV[1]) then return {'credits', credits} end
  remaining = redis.call('HINCRBYFLOAT', KEYS[2], 'credits', -tonumber(ARGV[1]))
end
redis.call('HSET', KEYS[1], unpack(ARGV, 7))
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[6])
redis.call('ZADD', KEYS[4], ARGV[4], ARGV[6])
return {'ok', remaining}
"""

# KEYS: job, lease. ARGV: job id, owner, lease ms, max attempts, now, ttl, exhausted error.
_START = _FAIL_FN + """
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

# KEYS: job, lease. ARGV: job id, owner, now, ttl, media name, content type, metrics.
_COMPLETE = """
if redis.call('HGET', KEYS[1], 'state') ~= 'PROCESSING' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'COMPLETED', 'finished', ARGV[3],
           'expires', tostring(tonumber(ARGV[3]) + tonumber(ARGV[4])),
           'media_file', ARGV[5], 'content_type', ARGV[6], 'metrics', ARGV[7])
redis.call('HDEL', KEYS[1], 'request')
redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(ARGV[4]) * 1000))
redis.call('ZREM', 'segswap:jobs:PROCESSING', ARGV[1])
redis.call('ZADD', 'segswap:jobs:COMPLETED', tonumber(ARGV[3]) + tonumber(ARGV[4]), ARGV[1])
if redis.call('GET', KEYS[2]) == ARGV[2] then redis.call('DEL', KEYS[2]) end
return 1
"""

# KEYS: job, lease. ARGV: job id, owner ('' = anyone), now, ttl, error, status, metrics,
# states it may fail from (space-separated).
_FAIL = _FAIL_FN + """
local state = redis.call('HGET', KEYS[1], 'state')
if not state or not string.find(' ' .. ARGV[8] .. ' ', ' ' .. state .. ' ', 1, true) then
  return 0
end
fail(KEYS[1], ARGV[1], ARGV[5], ARGV[6], ARGV[3], ARGV[4], ARGV[7])
local holder = redis.call('GET', KEYS[2])
if holder and (ARGV[2] == '' or holder == ARGV[2]) then redis.call('DEL', KEYS[2]) end
return 1
"""

# KEYS: lease. ARGV: owner, lease ms. Extends the lease only while we still hold it.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

STATES = ("QUEUED", "PROCESSING", "COMPLETED", "FAILED")
_VIEW_FIELDS = ("key_id", "kind", "state", "base64", "created", "expires", "error",
                "error_status", "media_file", "metrics")


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
        key_id: str,
        charge: bool,
        price: float,
        capacity: int,
        fields: dict[str, str],
    ) -> tuple[str, str]:
        """Debit ``price`` (when ``charge``) and store the QUEUED record, atomically.

        Returns ``("ok", remaining credits or "")``, ``("full", "")`` or
        ``("credits", credits left)``.
        """
        now = time.time()
        record = {**fields, "state": "QUEUED", "key_id": key_id,
                  "price": repr(price if charge else 0.0), "created": repr(now),
                  "attempts": "0"}
        result = self._submit(
            keys=[self.job_key(job_id), P + f"key:{key_id}", P + "jobs:QUEUED", UNPUBLISHED],
            args=[price, "1" if charge and price > 0 else "0", capacity, now, PENDING_TTL,
                  job_id, *[item for pair in record.items() for item in pair]],
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
        done = self._fail(
            keys=[self.job_key(job_id), self.lease_key(job_id)],
            args=[job_id, owner, time.time(), self.ttl, error, status,
                  json.dumps(metrics or {}), " ".join(from_states)],
        )
        return bool(done)

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
        """Begin one delivery of a job: see :mod:`segswap.service.celery_app`.

        Returns ``["gone"]``, ``["done"]``, ``["busy"]``, ``["exhausted", attempts]`` or
        ``["run", attempts, request JSON, kind, created, started]``.
        """
        result = self._start(
            keys=[self.job_key(job_id), self.lease_key(job_id)],
            args=[job_id, owner, int(lease * 1000), max_attempts, time.time(), self.ttl,
                  exhausted_error],
        )
        return [_s(v) or "" for v in result]

    @guarded
    def state(self, job_id: str) -> str | None:
        return _s(self.r.hget(self.job_key(job_id), "state"))

    @guarded
    def lease_holder(self, job_id: str) -> str | None:
        return _s(self.r.get(self.lease_key(job_id)))

    @guarded
    def complete(
        self, job_id: str, owner: str, media_name: str, metrics: dict[str, float]
    ) -> bool:
        """PROCESSING -> COMPLETED with its result; False when it was settled already."""
        done = self._complete(
            keys=[self.job_key(job_id), self.lease_key(job_id)],
            args=[job_id, owner, time.time(), self.ttl, media_name, content_type(media_name),
                  json.dumps(metrics)],
        )
        return bool(done)

    @guarded
    def heartbeat(self, members: list[str], jobs: dict[str, str], lease: float) -> None:
        """Mark worker slots alive and extend the leases of the jobs they run."""
        now = time.time()
        pipe = self.r.pipeline(transaction=False)
        if members:
            pipe.zadd(P + "workers", dict.fromkeys(members, now))
        for job_id, owner in jobs.items():
            pipe.zadd(P + "busy", {job_id: now})
            self._renew(keys=[self.lease_key(job_id)], args=[owner, int(lease * 1000)],
                        client=pipe)
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
        ids = [_s(v) or "" for v in self.r.zrangebyscore(
            UNPUBLISHED, "-inf", older_than, start=0, num=limit)]
        found = []
        for job_id in ids:
            self.r.zrem(UNPUBLISHED, job_id)
            if _s(self.r.hget(self.job_key(job_id), "state")) == "QUEUED":
                found.append(job_id)
        return found

    @guarded
    def orphans(self, older_than: float, limit: int = 100) -> list[str]:
        """PROCESSING jobs started before ``older_than`` whose lease is gone (their worker
        died and their message was lost); their start time is bumped to now so that each
        is reported once per period."""
        ids = [_s(v) or "" for v in self.r.zrangebyscore(
            P + "jobs:PROCESSING", "-inf", older_than, start=0, num=limit)]
        found = []
        for job_id in ids:
            if not self.r.exists(self.lease_key(job_id)):
                self.r.zadd(P + "jobs:PROCESSING", {job_id: time.time()}, xx=True)
                found.append(job_id)
        return found

    @guarded
    def try_lock(self, name: str, seconds: float, owner: str) -> bool:
        return bool(self.r.set(P + f"lock:{name}", owner, nx=True, px=int(seconds * 1000)))


def remaining_credits(text: str) -> float:
    """Credits left as returned by the submit script ('' = not charged)."""
    return float(text) if text else math.inf
