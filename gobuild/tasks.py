"""doit task dictionaries built from a project: the only module that speaks doit.

Each ``*_task`` function is pure: project in, task dict(s) out, so tasks are
tested as data. Actions call back into the library and turn its errors into
doit failures with the one-line message (no traceback).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import wraps
from pathlib import Path
from typing import Any

from doit.exceptions import InvalidDodoFile, TaskFailed

from gobuild import proc, toolchain
from gobuild.config import Project, load_project
from gobuild.errors import GobuildError

Task = dict[str, Any]

DEP_FILE_NAME = "doit.sqlite3"


def load(start: Path) -> Project:
    """Load the project for a dodo file; errors become doit's one-line ERROR, no traceback."""
    try:
        return load_project(start)
    except GobuildError as exc:
        raise InvalidDodoFile(str(exc)) from None


def doit_config(project: Project) -> dict[str, Any]:
    """DOIT_CONFIG for a gobuild project: state in the state dir, a sqlite3 backend
    (safe for two doit runs at once, unlike dbm), ``build`` by default."""
    project.state_dir.mkdir(parents=True, exist_ok=True)
    return {
        "dep_file": str(project.state_dir / DEP_FILE_NAME),
        "backend": "sqlite3",
        "default_tasks": ["build"],
        "verbosity": 1,
    }


def _failing_cleanly(fn: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            result = fn(*args, **kwargs)
        except GobuildError as exc:
            return TaskFailed(str(exc))
        return result if result is not None else True

    return wrapper


def _ensure_toolchain(project: Project) -> toolchain.Installed:
    return toolchain.ensure(toolchain.request_for(project)).installed


def toolchain_task(project: Project) -> Task:
    """Make the project's pinned Go present (verified, cached, recorded in gobuild.lock)."""

    def installed() -> bool:
        try:
            return toolchain.find_installed(toolchain.request_for(project)) is not None
        except GobuildError:
            return False  # let the action run and report the error properly

    def install() -> dict[str, str]:
        found = _ensure_toolchain(project)
        return {"version": str(found.version), "goroot": str(found.goroot)}

    return {
        "basename": "toolchain",
        "doc": "install the project's pinned Go (sha256-verified, cached)",
        "actions": [_failing_cleanly(install)],
        "uptodate": [installed],
        "verbosity": 2,
    }


def build_tasks(project: Project) -> Iterator[Task]:
    """Build each main package with the pinned Go into dist/ (host platform)."""
    yield {
        "basename": "build",
        "name": None,
        "doc": "build the module's binaries with the pinned Go into dist/",
    }
    for binary in project.binaries():
        out = project.root / "dist" / binary.name

        def build(package: str = binary.package, out: str = str(out)) -> None:
            found = _ensure_toolchain(project)
            proc.run(
                [found.go, "build", "-trimpath", "-o", out, package],
                cwd=project.root,
                env=toolchain.environ(found.goroot, project.environ),
            )

        yield {
            "basename": "build",
            "name": binary.name,
            "actions": [_failing_cleanly(build)],
            "task_dep": ["toolchain"],
            "targets": [str(out)],
            "uptodate": [False],
            "doc": f"build {binary.package} into dist/{binary.name}",
        }
