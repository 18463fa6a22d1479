"""``python -m segswap.cli``: the same as the ``segswap`` command."""

import sys

from segswap.cli import main

sys.exit(main())
