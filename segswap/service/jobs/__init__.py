"""Jobs: the :class:`~segswap.service.jobs.base.JobQueue` protocol and its two backends.

- ``base``: states, DTOs, errors and the protocol.
- the embedded default: ``embedded`` (SQLite jobs), ``threads`` (the worker pool),
  ``media`` (result files; also the Redis result images).
- scale-out: ``celery_app`` (configuration), ``celery_queue`` (the API side),
  ``celery_worker`` (the worker runtime and the task), ``redis_records`` (job records).
"""
