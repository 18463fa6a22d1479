"""``python -m segswap.service``: the same as the ``segswap`` command (kept for scripts
that start the server this way)."""

import sys

from segswap.cli import main

sys.exit(main())
