"""``python -m xpnet``: the same command as ``xpnet``."""

import sys

from .cli import main

sys.exit(main())
