"""Signed result webhooks: signing (:mod:`.signing`), the delivery loop
(:mod:`.delivery`) and where pending deliveries are kept (:mod:`.sqlite_outbox` for the
embedded default, :mod:`.redis_outbox` for scale-out)."""
