"""``segswap serve`` with the web page mounted: what the browser tests run.

Until the app factory mounts the page itself (``segswap.web.mount(app)`` in
``segswap.service.app.create_app``), this wraps the factory so that it does; once it
does, the wrapper changes nothing (``mount`` is idempotent). Then it runs the ``segswap``
command line unchanged: ``python segswap_web_server.py serve --port P ...``.
"""

from __future__ import annotations

import sys

import segswap.service.app as app_module
from segswap.cli import main
from segswap.web import mount

_create_app = app_module.create_app


def create_app(service):  # type: ignore[no-untyped-def]
    app = _create_app(service)
    mount(app)
    return app


app_module.create_app = create_app  # type: ignore[assignment]

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
