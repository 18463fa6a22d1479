"""API keys and their credits in Redis (the key store of scale-out).

Layout: see :mod:`segswap.service.redis_client`.
"""

from __future__ import annotations

import hmac
import time
from typing import Any

import redis

from segswap.service.accounts.amounts import (
    MAX_CREDITS,
    MAX_MICRO,
    InvalidCredits,
    from_micro,
    micro_of,
)
from segswap.service.accounts.cache import AUTH_CACHE_SECONDS, AuthCache, CachedAuthentication
from segswap.service.accounts.credits import REDIS_MICRO
from segswap.service.accounts.keys import KeyRecord, KeyStore, NewKey, UnknownKey
from segswap.service.redis_client import P, guarded

_CREATE_KEY = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('SET', KEYS[2], ARGV[1])
redis.call('SET', KEYS[3], ARGV[1])
redis.call('ZADD', KEYS[4], ARGV[2], ARGV[1])
return 1
"""

# KEYS: the key hash. ARGV: micro-credits to add (an integer string, may be negative),
# the most a key may hold. Returns the new balance, 'over' past the cap, false: no key.
_CREDIT_KEY = (
    REDIS_MICRO
    + """
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local now = (micro(KEYS[1]) or 0) + tonumber(ARGV[1])
if now < 0 then now = 0 end
if now > tonumber(ARGV[2]) then return 'over' end
redis.call('HSET', KEYS[1], 'micro_credits', string.format('%d', now))
return string.format('%d', now)
"""
)


def _micro_credits(data: dict[str, str]) -> int:
    """The balance of a key hash: ``micro_credits``, or for a key written by an older
    version its float ``credits`` (converted as the Lua ``micro`` does)."""
    if "micro_credits" in data:
        return int(data["micro_credits"])
    credits = float(data.get("credits") or 0)
    if credits != credits or credits < 0:  # NaN
        credits = 0.0
    return micro_of(min(credits, float(MAX_CREDITS)))


def _key_record(raw: dict[bytes, bytes]) -> KeyRecord:
    data = {k.decode(): v.decode() for k, v in raw.items()}
    models = data.get("models") or None
    return KeyRecord(
        id=data["id"],
        name=data["name"],
        prefix=data["prefix"],
        credits=from_micro(_micro_credits(data)),
        admin=data.get("admin") == "1",
        models=tuple(models.split(",")) if models else None,
        created=float(data["created"]),
        revoked=float(data["revoked"]) if data.get("revoked") else None,
    )


class RedisKeyStore(CachedAuthentication, KeyStore):
    """API keys and their credits in Redis (the :class:`KeyStore` of scale-out).

    As with the SQLite store, a successful authentication is reused for up to
    ``cache_seconds`` (1 s), so a key revoked or credited through another node or
    ``segswap keys`` takes effect within a second. Debits and refunds are done by the
    job scripts of scale-out (:mod:`segswap.service.accounts.credits`), in the same
    atomic step as the job change.
    """

    def __init__(self, client: redis.Redis, cache_seconds: float = AUTH_CACHE_SECONDS) -> None:
        self.r: Any = client  # redis-py types sync and async results as one union
        self.cache = AuthCache(cache_seconds)
        self._create = client.register_script(_CREATE_KEY)
        self._credit = client.register_script(_CREDIT_KEY)

    @guarded
    def insert(self, new: NewKey, name: str, admin: bool) -> None:
        """Store the new key ``new`` as ``name``. Raises ValueError: the name is taken."""
        key_id = new.id
        now = time.time()
        fields = {
            "id": key_id,
            "name": name,
            "prefix": new.prefix,
            "hash": new.digest,
            "micro_credits": str(new.micro_credits),
            "admin": "1" if admin else "0",
            "models": ",".join(new.models) if new.models else "",
            "created": repr(now),
            "revoked": "",
        }
        made = self._create(
            keys=[
                P + f"key:{key_id}",
                P + f"keyname:{name}",
                P + f"keyhash:{fields['hash']}",
                P + "keys",
            ],
            args=[key_id, now, *[item for pair in fields.items() for item in pair]],
        )
        if not made:
            raise ValueError(f"a key named {name!r} exists already")

    @guarded
    def lookup(self, presented: str, digest: str) -> KeyRecord | None:
        """The active key with this secret, found by its digest."""
        key_id = self.r.get(P + f"keyhash:{digest}")
        if key_id is None:
            return None
        raw = self.r.hgetall(P + f"key:{key_id.decode()}")
        if not raw or not hmac.compare_digest(raw.get(b"hash", b"").decode(), digest):
            return None
        record = _key_record(raw)
        return record if record.revoked is None else None

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
        self.cache.clear()
        return self.find(record.id)

    @guarded
    def add_micro(self, key_id: str, delta: int) -> None:
        """Add ``delta`` micro-credits (not below 0), in one script."""
        made = self._credit(keys=[P + f"key:{key_id}"], args=[str(delta), str(MAX_MICRO)])
        self.cache.clear()
        if made == b"over":
            raise InvalidCredits(f"credits: a key holds at most {MAX_CREDITS} credits")

    @guarded
    def count_active(self) -> int:
        """How many keys are not revoked."""
        return sum(1 for record in self.list() if record.revoked is None)
