"""The HTTP API (``segswap serve``) and its scale-out workers (``segswap worker``).

- :mod:`segswap.service.server`: the pieces one server is made of, chosen and started
  together (the embedded default or scale-out).
- :mod:`segswap.service.jobs`: the job queue protocol and its two backends.
- :mod:`segswap.service.accounts`: keys, credits, rate limits.
- :mod:`segswap.service.http`: the app, routes and middleware.
- :mod:`segswap.service.database`, :mod:`segswap.service.redis_client`: the stores.
"""
