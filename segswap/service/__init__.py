"""The HTTP API (``segswap serve``): FastAPI app, job queue, keys, credits and limits."""
