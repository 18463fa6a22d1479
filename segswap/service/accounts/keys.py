"""API keys and their credits: the record, the store protocol, making a key.

A key is ``sgs_`` + 43 URL-safe characters (256 random bits). Only its SHA-256 and a
short display prefix are stored; a presented key is looked up by prefix and its hash
compared with :func:`hmac.compare_digest`. Keys are never logged.

Credits are debited and refunded by :mod:`segswap.service.accounts.credits`, in the
same atomic step as the job change that causes them.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Protocol

from segswap.service.accounts.amounts import to_micro

KEY_PREFIX = "sgs_"
DISPLAY_CHARS = 12
# "sgs_" + 8 characters: shown in listings, used as the lookup index


@dataclass(frozen=True)
class KeyRecord:
    """One API key as stored (never the secret itself).

    ``credits`` is a number of credits (the stores keep whole micro-credits, see
    :mod:`segswap.service.accounts.amounts`); ``created``/``revoked`` are Unix times
    (seconds).
    ``models`` is None when the key may use every model. ``metered`` is False only for
    the ``--no-auth`` identity, which is never charged and has unlimited credits.
    """

    id: str
    name: str
    prefix: str
    credits: float
    admin: bool
    models: tuple[str, ...] | None
    created: float
    revoked: float | None
    metered: bool = True

    def allows(self, model: str) -> bool:
        """Whether this key may call ``model``."""
        return self.models is None or model in self.models

    def public(self) -> dict[str, object]:
        """The record as JSON for listings (no secret)."""
        return {
            "id": self.id,
            "name": self.name,
            "prefix": self.prefix,
            "credits": self.credits,
            "admin": self.admin,
            "models": list(self.models) if self.models is not None else None,
            "created": self.created,
            "revoked": self.revoked,
        }


# The identity used when the server runs with ``--no-auth``.
ANONYMOUS = KeyRecord(
    id="anonymous",
    name="anonymous",
    prefix="",
    credits=float("inf"),
    admin=True,
    models=None,
    created=0.0,
    revoked=None,
    metered=False,
)


class UnknownKey(LookupError):
    """No key matches the given id or name."""


class KeyStore(Protocol):
    """Where keys and credits live (the embedded default: SQLite).

    A store subclasses this protocol to inherit :meth:`create` and :meth:`credit`; it
    writes a new key in :meth:`insert` and changes a balance in :meth:`add_micro`.
    """

    def create(
        self,
        *,
        name: str | None = None,
        credits: object,
        admin: bool = False,
        models: list[str] | None = None,
    ) -> tuple[str, KeyRecord]:
        """Make a key with ``credits`` (a finite number >= 0, at most 6 decimals); returns
        (the secret, shown only now; its record).

        Raises:
            InvalidCredits: ``credits`` is not a finite number >= 0 (6 decimals at most).
            ValueError: the name is taken, or ``models`` names no model.
        """
        made = make_new_key(credits, models)
        self.insert(made, name or made.id, admin)
        return made.secret, self.find(made.id)

    def insert(self, made: NewKey, name: str, admin: bool) -> None:
        """Store the new key ``made`` as ``name``. Raises ValueError: the name is taken."""

    def authenticate(self, presented: str) -> KeyRecord | None: ...

    def forget(self, key_id: str) -> None:
        """Drop the cached authentication of ``key_id`` (its credits changed)."""

    def list(self) -> list[KeyRecord]: ...

    def find(self, id_or_name: str) -> KeyRecord: ...

    def revoke(self, id_or_name: str) -> KeyRecord: ...

    def credit(self, id_or_name: str, amount: object) -> KeyRecord:
        """Add ``amount`` credits (negative: take some away, not below 0), atomically.

        Raises:
            InvalidCredits: ``amount`` is not finite, has more than 6 decimals, or the
                balance would pass MAX_CREDITS.
            UnknownKey: no such key.
        """
        delta = to_micro(amount, signed=True)
        record = self.find(id_or_name)
        self.add_micro(record.id, delta)
        return self.find(record.id)

    def add_micro(self, key_id: str, delta: int) -> None:
        """Add ``delta`` micro-credits to ``key_id`` (not below 0) and forget its cached
        authentication. Raises InvalidCredits past MAX_CREDITS (nothing changed)."""

    def count_active(self) -> int: ...


def hash_key(presented: str) -> str:
    """SHA-256 hex digest of a key (keys are 256-bit random, so no salt/stretching)."""
    return hashlib.sha256(presented.encode("utf-8", "surrogatepass")).hexdigest()


def plausible_key(presented: str) -> bool:
    """Whether ``presented`` has the shape of a key at all (else no store is asked)."""
    return presented.startswith(KEY_PREFIX) and len(presented) >= DISPLAY_CHARS + 8


def new_key() -> str:
    """A fresh random API key."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class NewKey:
    """What any key store needs to store a new key (never the secret itself, but
    ``secret``, which is shown to the user once)."""

    secret: str
    id: str
    prefix: str
    digest: str
    micro_credits: int
    models: list[str] | None


def make_new_key(credits: object, models: list[str] | None) -> NewKey:
    """A fresh key and its stored parts: ``credits`` as whole micro-credits, ``models``
    cleaned (None: every model).

    Raises:
        InvalidCredits: ``credits`` is not a finite number >= 0 with at most 6 decimals.
        ValueError: ``models`` is given but names no model (an empty list would
            otherwise mean every model).
    """
    micro_credits = to_micro(credits)
    cleaned = None
    if models is not None:
        if not all(isinstance(m, str) for m in models):
            raise ValueError("models: expected a list of model slugs (strings)")
        cleaned = [m.strip() for m in models if m.strip()]
        if len(cleaned) != len(models) or not cleaned:
            raise ValueError(
                "models: expected a non-empty list of non-empty model slugs"
                " (leave it out for every model)"
            )
    secret = new_key()
    return NewKey(
        secret=secret,
        id="key_" + secrets.token_hex(6),
        prefix=secret[:DISPLAY_CHARS],
        digest=hash_key(secret),
        micro_credits=micro_credits,
        models=cleaned,
    )
