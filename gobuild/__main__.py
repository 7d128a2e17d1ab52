"""``python -m gobuild``."""

from gobuild.cli import run

run()
