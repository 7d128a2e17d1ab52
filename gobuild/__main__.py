"""``python -m gobuild``."""

from gobuild.cli.main import run

run()
