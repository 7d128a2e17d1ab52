"""The doit entry point for a user's repository: ``from gobuild.dodo import *``.

doit collects ``DOIT_CONFIG`` and every ``task_*`` function from the dodo
module's namespace; this module supplies them for the project in the current
directory (doit runs from the directory holding dodo.py). A profile is chosen
with ``doit build --profile prod``, ``doit build profile=prod`` or GOBUILD_PROFILE.
Kept light on purpose: a no-op ``doit build`` should cost about what doit costs.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from doit import get_var
from doit.exceptions import InvalidDodoFile

from gobuild.project import environ
from gobuild.tasks import dicts as tasks
from gobuild.tasks.specs import SpecError, load_specs, profile_from_argv, source_state

__all__ = [
    "DOIT_CONFIG",
    "task_bench",
    "task_build",
    "task_check",
    "task_dist",
    "task_generate",
    "task_image",
    "task_lint",
    "task_publish",
    "task_release",
    "task_test",
    "task_toolchain",
    "task_verify",
]


def _root() -> Path:
    here = Path.cwd()
    for d in [here, *here.parents]:
        if (d / "go.mod").is_file():
            return d
    return here  # loading reports "not inside a Go module"


# The environment, read once for this doit run and handed to every task.
_ENV = environ.current()


@cache
def _specs() -> dict[str, Any]:
    # One load per doit run: every task creator below shares it.
    profile = profile_from_argv(sys.argv) or get_var("profile", None)
    try:
        specs = load_specs(_root(), _ENV, profile)
    except SpecError as exc:
        raise InvalidDodoFile(str(exc)) from None
    # The commit and tag the builds embed: read each run, never cached, so a new commit
    # or tag rebuilds binaries whose sources did not change.
    return {**specs, "source": source_state(_root(), _ENV)}


DOIT_CONFIG: dict[str, Any] = tasks.doit_config(_root())


def task_toolchain() -> dict[str, Any]:
    """Install the project's pinned Go."""
    return tasks.toolchain_task(_specs(), _ENV)


def task_build() -> Iterator[dict[str, Any]]:
    """Build the module's binaries."""
    return tasks.build_tasks(_specs(), _ENV)


def task_dist() -> Iterator[dict[str, Any]]:
    """Cross-compile the configured platforms."""
    return tasks.dist_tasks(_specs(), _ENV)


def task_verify() -> dict[str, Any]:
    """Rebuild dist/ and compare."""
    return tasks.verify_task(_specs(), _ENV)


def task_generate() -> dict[str, Any]:
    """Write the generated files."""
    return tasks.generate_task(_specs(), _ENV)


def task_release() -> dict[str, Any]:
    """Archive the dist binaries into dist/release."""
    return tasks.release_task(_specs(), _ENV)


def task_publish() -> dict[str, Any]:
    """Push the release's image to the registry."""
    return tasks.publish_task(_specs(), _ENV)


def task_image() -> dict[str, Any]:
    """Build and check the container image."""
    return tasks.image_task(_specs(), _ENV)


def task_test() -> dict[str, Any]:
    """go test within the budget."""
    return tasks.check_task(_specs(), _ENV, "test")


def task_lint() -> dict[str, Any]:
    """Linters within the budget."""
    return tasks.check_task(_specs(), _ENV, "lint")


def task_bench() -> dict[str, Any]:
    """Benchmarks, run alone."""
    return tasks.check_task(_specs(), _ENV, "bench")


def task_check() -> dict[str, Any]:
    """test and lint together."""
    return tasks.check_task(_specs(), _ENV, "check")
