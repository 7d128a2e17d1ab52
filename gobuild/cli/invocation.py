"""One run of the ``gobuild`` command: its arguments, directory, environment and streams,
handed to the command's handler."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from gobuild.project.environ import Environment

if TYPE_CHECKING:
    from gobuild.project.config import Project

# Exit codes: a user error (a one-line message, also a failed check or a stale file), a bug
# (a traceback), Ctrl-C.
EXIT_USER = 1
EXIT_BUG = 3
EXIT_INTERRUPTED = 130


@dataclass
class Invocation:
    """What a command handler gets."""

    args: argparse.Namespace
    env: Environment
    out: TextIO
    err: TextIO

    @property
    def cwd(self) -> Path:
        """The directory the command runs in (``-C DIR``)."""
        return Path(self.args.directory).resolve()

    @cached_property
    def project(self) -> Project:
        """The project at or above :attr:`cwd`, loaded on first use (handlers that answer
        from a memo never load it)."""
        from gobuild.project.config import load_project  # noqa: PLC0415 - pydantic: slow

        return load_project(self.cwd, self.env)

    def say(self, text: str) -> None:
        """A line (or lines) on stdout."""
        print(text, file=self.out)


Handler = Callable[[Invocation], int]
