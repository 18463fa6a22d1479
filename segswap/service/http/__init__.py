"""HTTP: the FastAPI app, its routes and the pure ASGI middleware in front of it
(status-poll fast path, body limit, metrics)."""
