"""The doit entry point for a user's repository: ``from gobuild.dodo import *``.

doit collects ``DOIT_CONFIG`` and every ``task_*`` function from the dodo
module's namespace; this module supplies them for the project in the current
directory (doit runs from the directory holding dodo.py). A profile is chosen
with ``doit build --profile prod``, ``doit build profile=prod`` or GOBUILD_PROFILE.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from doit import get_var

from gobuild import tasks

__all__ = ["DOIT_CONFIG", "task_build", "task_dist", "task_toolchain", "task_verify"]


@cache
def _context() -> tasks.Context:
    # One load per doit run: every task creator below shares it.
    profile = tasks.profile_from_argv(sys.argv) or get_var("profile", None)
    return tasks.Context(tasks.load(Path.cwd(), profile))


DOIT_CONFIG: dict[str, Any] = tasks.doit_config(_context().project)


@tasks.creating
def task_toolchain() -> dict[str, Any]:
    """Install the project's pinned Go."""
    return tasks.toolchain_task(_context().project)


@tasks.creating
def task_build() -> Iterator[dict[str, Any]]:
    """Build the module's binaries."""
    return tasks.build_tasks(_context())


@tasks.creating
def task_dist() -> Iterator[dict[str, Any]]:
    """Cross-compile the configured platforms."""
    return tasks.dist_tasks(_context())


@tasks.creating
def task_verify() -> dict[str, Any]:
    """Rebuild dist/ and compare."""
    return tasks.verify_task(_context())
