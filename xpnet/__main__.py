"""``python -m xpnet``: the same command as ``xpnet``."""

from .cli import run

run()
