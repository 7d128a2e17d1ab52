"""The task-spec cache: every task's description, remembered under a stamp.

Task descriptions are computed by :func:`gobuild.tasks.describe.describe` as plain
data and kept in the state directory (``tasks.json``) under a stamp of everything
they depend on: every file's path, size and mtime, the environment variables
configuration reads, the profile and gobuild's own code. A no-op ``doit build`` then
loads JSON instead of importing the planner and reading the module's files.
Standard library only on the cached path.

One more thing decides whether remembered specs hold: how their build inputs were found
(``inputs_from``, :mod:`gobuild.builds.planinputs`). go list's answer holds while the
stamp does; the file finder's, used before the pinned Go was installed, only until it is
(doit describes every task before its ``toolchain`` task installs Go: the next run
describes them again, with go list); inputs found despite go list's errors never do.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gobuild import stamps
from gobuild.project import workspace
from gobuild.project.environ import Environment
from gobuild.project.layout import state_dir

Spec = dict[str, Any]

CACHE_NAME = "tasks.json"
CACHE_FORMAT = 2


def stamp(root: Path, env: Environment, profile: str | None, out_dir: str) -> str:
    """A digest of everything task specs depend on (see the module docstring)."""
    return stamps.digest(
        [
            f"tasks {CACHE_FORMAT} {json.dumps(profile)}",
            env.stamp(),
            *stamps.code(),
            *stamps.tree(root, {root / ".git", state_dir(root), root / out_dir}),
            *(stamps.file(p) for p in workspace.decided_by(root)),
        ]
    )


class SpecError(Exception):
    """The project cannot be described (a gobuild error's one-line message)."""


def source_state(root: Path, env: Environment) -> str:
    """What the tree's git state embeds, as one line (:func:`gobuild.builds.gitinfo.state`)."""
    from gobuild.builds.gitinfo import state  # noqa: PLC0415 - loaded on use, as below

    return state(root, env.variables)


def load_specs(root: Path, env: Environment, profile: str | None) -> Spec:
    """The task specs for ``root``: from the cache when its stamp still holds."""
    cache = state_dir(root) / CACHE_NAME
    try:
        cached = json.loads(cache.read_text(encoding="utf-8"))
        specs = cached["specs"]
        if cached.get("stamp") == stamp(root, env, profile, specs["out_dir"]) and _inputs_hold(
            specs
        ):
            return dict(specs)
    except (OSError, ValueError, KeyError, TypeError):
        pass
    from gobuild import atomic  # noqa: PLC0415 - the slow path only
    from gobuild.errors import GobuildError  # noqa: PLC0415
    from gobuild.project.config import load_project  # noqa: PLC0415
    from gobuild.tasks.describe import describe  # noqa: PLC0415

    try:
        specs = describe(load_project(root, env).with_profile(profile, "profile"))
    except GobuildError as exc:
        raise SpecError(str(exc)) from None
    cache.parent.mkdir(parents=True, exist_ok=True)
    data = {"stamp": stamp(root, env, profile, specs["out_dir"]), "specs": specs}
    atomic.write_text(cache, json.dumps(data))
    return specs


def _inputs_hold(specs: Spec) -> bool:
    """Whether remembered build inputs are still the ones to use (see the docstring)."""
    found_by = specs["inputs_from"]
    if found_by == "go list":
        return True
    return found_by == "no go" and not _go_installed(specs["toolchain"])


def _go_installed(spec: Mapping[str, str]) -> bool:
    """Whether the pinned Go is installed (as :func:`gobuild.builds.planinputs.installed_go`
    finds it: offline)."""
    from gobuild.errors import GobuildError  # noqa: PLC0415 - light modules, loaded on use
    from gobuild.project.platforms import Platform  # noqa: PLC0415
    from gobuild.project.versions import VersionRequest  # noqa: PLC0415
    from gobuild.toolchain.cache import find  # noqa: PLC0415

    try:
        request = VersionRequest.parse(spec["request"])
        found = find(
            Path(spec["cache"]), request, Platform.parse(spec["platform"]), Path(spec["lock"])
        )
    except GobuildError:
        return False
    return found is not None


def profile_from_argv(argv: list[str]) -> str | None:
    """The value of ``--profile X`` / ``--profile=X`` on doit's command line, if any."""
    for i, arg in enumerate(argv):
        if arg == "--profile" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--profile="):
            return arg.split("=", 1)[1]
    return None


def toolchain_ready(spec: Mapping[str, str]) -> bool:
    """uptodate: the pinned Go is installed, matches gobuild.lock and is recorded there
    (offline, stdlib only)."""
    from gobuild.errors import GobuildError  # noqa: PLC0415 - light modules, loaded on use
    from gobuild.project.lock import read as read_lock  # noqa: PLC0415
    from gobuild.project.platforms import Platform  # noqa: PLC0415
    from gobuild.project.versions import VersionRequest  # noqa: PLC0415
    from gobuild.toolchain.cache import find_locked  # noqa: PLC0415

    try:
        request = VersionRequest.parse(spec["request"])
        platform = Platform.parse(spec["platform"])
        lock = read_lock(Path(spec["lock"]))
        found = find_locked(Path(spec["cache"]), request, platform, lock)
        if found is None:
            return False
        # Also up to date only when gobuild.lock records it: the action writes the entry
        # (a cached toolchain with no lock, or a lock made for another pin, must run it).
        return lock.resolved(request) == found.version and found.source in lock.artifacts.get(
            platform.key, {}
        )
    except GobuildError:
        return False  # let the action run and report the problem properly
