"""Credits: what a call costs its key, debited when the job is accepted and refunded
once if it FAILS.

Both stores keep credits as whole micro-credits (:mod:`segswap.service.accounts.amounts`),
so that a fractional price never loses a call.

The debit is part of the same atomic step that stores the job (a key can never be
overdrawn, a job never exists unpaid), so each store gives the job backends its
accounting step to run inside that step: :class:`SqliteCredits` works inside the
caller's SQLite transaction; :data:`REDIS_DEBIT` / :data:`REDIS_REFUND` are Lua
functions the job scripts of scale-out include.
"""

from __future__ import annotations

import math
import sqlite3
from dataclasses import dataclass

from segswap.service.accounts.amounts import MAX_CREDITS, from_micro, micro_of
from segswap.service.accounts.keys import KeyRecord


class InsufficientCredits(Exception):
    """The key has fewer credits than the price of a call (HTTP 406)."""

    def __init__(self, remaining: float, price: float) -> None:
        super().__init__(f"not enough credits: this call costs {price:g}, {remaining:g} left")
        self.remaining = remaining
        self.price = price


@dataclass(frozen=True)
class Charge:
    """What one call costs ``key_id``: ``price`` credits (0 for an unmetered key).

    ``balance`` is the key's credits as last read, which is what it has left when nothing
    is debited (a free call); math.inf for an unmetered key.
    """

    key_id: str
    price: float
    balance: float

    @classmethod
    def for_call(cls, key: KeyRecord, price: float) -> Charge:
        """The charge of one call made with ``key`` at ``price`` credits."""
        if not key.metered:
            return cls(key.id, 0.0, math.inf)
        return cls(key.id, price, key.credits)


class SqliteCredits:
    """Debits and refunds of the ``micro_credits`` column of the ``keys`` table, inside
    the caller's transaction."""

    @staticmethod
    def debit(conn: sqlite3.Connection, charge: Charge) -> float:
        """Take ``charge.price`` from its key; returns the credits left.

        Raises:
            InsufficientCredits: the key has fewer credits than the price (nothing taken).
        """
        if charge.price <= 0:
            return charge.balance
        price = micro_of(charge.price)
        row = conn.execute(
            "UPDATE keys SET micro_credits = micro_credits - ?"
            " WHERE id = ? AND micro_credits >= ? RETURNING micro_credits",
            (price, charge.key_id, price),
        ).fetchone()
        if row is None:
            left = conn.execute(
                "SELECT micro_credits FROM keys WHERE id = ?", (charge.key_id,)
            ).fetchone()
            raise InsufficientCredits(from_micro(left[0]) if left else 0.0, charge.price)
        return from_micro(row[0])

    @staticmethod
    def refund(conn: sqlite3.Connection, key_id: str, amount: float) -> None:
        """Give ``amount`` credits back to ``key_id`` (nothing when 0)."""
        if amount:
            conn.execute(
                "UPDATE keys SET micro_credits = micro_credits + ? WHERE id = ?",
                (micro_of(amount), key_id),
            )


REDIS_MICRO = """
-- micro(account): the key's micro-credits (nil when it does not exist); a key written
-- before credits were micro-credits ('credits', a float string) is converted in place
local function micro(account)
  local value = redis.call('HGET', account, 'micro_credits')
  if value then return tonumber(value) end
  local old = redis.call('HGET', account, 'credits')
  if not old then return nil end
  local credits = tonumber(old) or 0
  if credits ~= credits or credits < 0 then credits = 0 end
  if credits > MAX_CREDITS then credits = MAX_CREDITS end
  local converted = math.floor(credits * 1000000 + 0.5)
  redis.call('HSET', account, 'micro_credits', string.format('%d', converted))
  redis.call('HDEL', account, 'credits')
  return converted
end
-- credits(m): micro-credits as a credits string ('0.300000')
local function credits(m)
  return string.format('%d.%06d', math.floor(m / 1000000), m % 1000000)
end
""".replace("MAX_CREDITS", str(MAX_CREDITS))
"""Lua: a key hash's micro-credits, and their text as credits (exact up to 2^53)."""

REDIS_DEBIT = (
    REDIS_MICRO
    + """
-- debit(account, price): {'ok', credits left} or {'credits', credits it has};
-- price in credits (a Lua number), taken as whole micro-credits
local function debit(account, price)
  local have = micro(account)
  if not have then return {'credits', '0'} end
  local cost = math.floor(price * 1000000 + 0.5)
  if have < cost then return {'credits', credits(have)} end
  redis.call('HSET', account, 'micro_credits', string.format('%d', have - cost))
  return {'ok', credits(have - cost)}
end
"""
)
"""Lua: take ``price`` from the key hash ``account``, only if it has that much."""

REDIS_REFUND = (
    REDIS_MICRO
    + """
-- refund(account, amount): give credits back, if the key still exists
local function refund(account, amount)
  if amount > 0 and redis.call('EXISTS', account) == 1 then
    local have = micro(account) or 0
    local back = math.floor(amount * 1000000 + 0.5)
    redis.call('HSET', account, 'micro_credits', string.format('%d', have + back))
  end
end
"""
)
"""Lua: give ``amount`` back to the key hash ``account`` (a deleted key gets nothing)."""


def redis_remaining(text: str, charge: Charge) -> float:
    """Credits left as the submit script returned them ('' when nothing was debited)."""
    return float(text) if text else charge.balance
