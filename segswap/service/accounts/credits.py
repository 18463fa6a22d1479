"""Credits: what a call costs its key, debited when the job is accepted and refunded
once if it FAILS.

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
    """Debits and refunds in the ``keys`` table, inside the caller's transaction."""

    @staticmethod
    def debit(conn: sqlite3.Connection, charge: Charge) -> float:
        """Take ``charge.price`` from its key; returns the credits left.

        Raises:
            InsufficientCredits: the key has fewer credits than the price (nothing taken).
        """
        if charge.price <= 0:
            return charge.balance
        row = conn.execute(
            "UPDATE keys SET credits = credits - ? WHERE id = ? AND credits >= ? RETURNING credits",
            (charge.price, charge.key_id, charge.price),
        ).fetchone()
        if row is None:
            left = conn.execute(
                "SELECT credits FROM keys WHERE id = ?", (charge.key_id,)
            ).fetchone()
            raise InsufficientCredits(float(left[0]) if left else 0.0, charge.price)
        return float(row[0])

    @staticmethod
    def refund(conn: sqlite3.Connection, key_id: str, amount: float) -> None:
        """Give ``amount`` credits back to ``key_id`` (nothing when 0)."""
        if amount:
            conn.execute("UPDATE keys SET credits = credits + ? WHERE id = ?", (amount, key_id))


REDIS_DEBIT = """
-- debit(account, price): {'ok', credits left} or {'credits', credits it has}
local function debit(account, price)
  local credits = redis.call('HGET', account, 'credits')
  if not credits then return {'credits', '0'} end
  if tonumber(credits) < price then return {'credits', credits} end
  return {'ok', redis.call('HINCRBYFLOAT', account, 'credits', -price)}
end
"""
"""Lua: take ``price`` from the key hash ``account``, only if it has that much."""

REDIS_REFUND = """
-- refund(account, amount): give credits back, if the key still exists
local function refund(account, amount)
  if amount > 0 and redis.call('EXISTS', account) == 1 then
    redis.call('HINCRBYFLOAT', account, 'credits', amount)
  end
end
"""
"""Lua: give ``amount`` back to the key hash ``account`` (a deleted key gets nothing)."""


def redis_remaining(text: str, charge: Charge) -> float:
    """Credits left as the submit script returned them ('' when nothing was debited)."""
    return float(text) if text else charge.balance
