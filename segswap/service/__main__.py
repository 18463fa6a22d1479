"""``python -m segswap.service serve|keys ...``."""

import sys

from segswap.service.cli import main

sys.exit(main())
