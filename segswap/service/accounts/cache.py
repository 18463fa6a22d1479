"""The authentication cache every key store puts in front of its lookups.

A successful authentication is reused for ``seconds`` (1 s by default), so that status
polls do not query the store each time: a key revoked or credited elsewhere (another
node, ``segswap keys``) is seen within that time. A store forgets one key when this
process changed its credits, and everything when it revoked or credited a key.
"""

from __future__ import annotations

import time

from segswap.service.accounts.keys import KeyRecord, hash_key, plausible_key

AUTH_CACHE_SECONDS = 1.0
"""How long a successful authentication is reused, seconds."""
CACHE_MAX_KEYS = 10_000
"""Cached keys at most; past it the cache starts over (bounded memory)."""


class AuthCache:
    """Key records by the SHA-256 digest of their secret, each for ``seconds``."""

    def __init__(self, seconds: float = AUTH_CACHE_SECONDS, max_keys: int = CACHE_MAX_KEYS):
        self.seconds = seconds
        self.max_keys = max_keys
        self._records: dict[str, tuple[KeyRecord, float]] = {}  # digest -> (record, until)
        self._digests: dict[str, str] = {}  # key id -> digest of its cached record

    def get(self, digest: str) -> KeyRecord | None:
        """The cached record for ``digest`` if it is still fresh."""
        cached = self._records.get(digest)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        return None

    def put(self, digest: str, record: KeyRecord) -> None:
        """Remember ``record`` as the key whose secret hashes to ``digest``."""
        if len(self._records) >= self.max_keys:
            self.clear()
        self._records[digest] = (record, time.monotonic() + self.seconds)
        self._digests[record.id] = digest

    def forget(self, key_id: str) -> None:
        """Drop the cached record of ``key_id`` (its credits changed here)."""
        digest = self._digests.pop(key_id, None)
        if digest is not None:
            self._records.pop(digest, None)

    def clear(self) -> None:
        """Drop everything (a key was revoked or credited)."""
        self._records = {}
        self._digests = {}


class CachedAuthentication:
    """What both key stores share: :meth:`authenticate` through an :class:`AuthCache`.

    A store sets ``self.cache`` and implements :meth:`lookup`; it calls
    ``self.cache.clear()`` after revoking or crediting a key.
    """

    cache: AuthCache

    def lookup(self, presented: str, digest: str) -> KeyRecord | None:
        """The active (not revoked) key whose secret is ``presented`` (SHA-256 ``digest``),
        read from the store; None when there is none."""
        raise NotImplementedError

    def authenticate(self, presented: str) -> KeyRecord | None:
        """The active key whose secret is ``presented``, or None."""
        if not plausible_key(presented):
            return None
        digest = hash_key(presented)
        record = self.cache.get(digest)
        if record is None:
            record = self.lookup(presented, digest)
            if record is not None:
                self.cache.put(digest, record)
        return record

    def forget(self, key_id: str) -> None:
        """Drop the cached record of ``key_id``, so that the next request of that key
        reads its credits afresh (called after this process debited it)."""
        self.cache.forget(key_id)
