"""Amounts of credits, kept exactly as whole micro-credits.

Both key stores hold a key's balance as an integer number of micro-credits
(:data:`MICRO_PER_CREDIT` per credit), so that a fractional price never loses a call:
with a price of 0.1, a key with 0.3 credits makes exactly 3 calls. The API still shows
credits as numbers (0.3). A balance is finite, >= 0 and at most :data:`MAX_CREDITS`; an
amount a user gives (:func:`to_micro`) has at most 6 decimal places.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

MICRO_PER_CREDIT = 1_000_000
"""Micro-credits per credit: the unit credits are stored in."""
MAX_CREDITS = 1_000_000_000
"""Most credits a key holds or an amount may be (10^15 micro-credits: exact as a double,
which is what Redis's Lua computes in)."""
MAX_MICRO = MAX_CREDITS * MICRO_PER_CREDIT


class InvalidCredits(ValueError):
    """An amount of credits that is not a finite number >= 0 with at most 6 decimals
    (the message starts with ``credits:``)."""


def to_micro(value: object, *, signed: bool = False) -> int:
    """``value`` credits as whole micro-credits, exactly.

    Args:
        value: an int, float, :class:`~decimal.Decimal` or numeric string (not a bool).
        signed: whether a negative amount is allowed (a credit that takes some away).

    Raises:
        InvalidCredits: not a number, NaN or infinite, negative (unless ``signed``), more
            than :data:`MAX_CREDITS` in size, or more than 6 decimal places.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise InvalidCredits(f"credits: expected a number, got {type(value).__name__}")
    try:
        exact = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation:
        raise InvalidCredits(f"credits: {value!r} is not a number") from None
    if not exact.is_finite():
        raise InvalidCredits("credits: expected a finite number (not NaN or infinity)")
    if exact < 0 and not signed:
        raise InvalidCredits("credits: expected a number >= 0")
    if abs(exact) > MAX_CREDITS:
        raise InvalidCredits(f"credits: at most {MAX_CREDITS} (got {value})")
    micro = exact * MICRO_PER_CREDIT
    if micro != micro.to_integral_value():
        raise InvalidCredits(
            "credits: at most 6 decimal places (credits are kept as whole micro-credits)"
        )
    return int(micro)


def micro_of(amount: float) -> int:
    """A price or refund already validated (a setting, a stored job's price) in
    micro-credits, rounded to the nearest one."""
    return int((Decimal(repr(float(amount))) * MICRO_PER_CREDIT).to_integral_value())


def from_micro(micro: int) -> float:
    """Micro-credits as the number of credits the API shows (0.3 for 300000)."""
    return micro / MICRO_PER_CREDIT
