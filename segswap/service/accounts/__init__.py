"""Accounts: API keys and their credits, and per-key rate limits.

- ``keys``: the key record, the :class:`~segswap.service.accounts.keys.KeyStore`
  protocol and how a key is made; ``sqlite_keys`` and ``redis_keys`` implement it.
- ``ratelimit``: the token-bucket protocol, in memory and in Redis.
"""
