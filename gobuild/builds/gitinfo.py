"""What a build embeds about its source: version, commit, commit date, tree state.

Everything comes from git, never from the wall clock, so two checkouts of one
commit embed the same values. Outside a git repository every value is
"unknown" and a warning says so; nothing crashes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from gobuild import proc
from gobuild.errors import GobuildError
from gobuild.project.config import Project

UNKNOWN = "unknown"


@dataclass(frozen=True)
class GitInfo:
    """The embedded values; ``epoch`` is the commit (or SOURCE_DATE_EPOCH) time."""

    version: str
    commit: str
    date: str
    tree_state: str
    epoch: int | None
    warnings: tuple[str, ...] = field(default=())

    def values(self, go_version: str) -> dict[str, str]:
        """The values by variable key, as [build.variables] names them."""
        return {
            "version": self.version,
            "commit": self.commit,
            "date": self.date,
            "tree_state": self.tree_state,
            "go_version": go_version,
        }


def rfc3339(epoch: int) -> str:
    """UTC RFC 3339 with a Z suffix: 2024-05-01T12:00:00Z."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def of(project: Project) -> GitInfo:
    """The values for ``project``'s tree, with its configured version and SOURCE_DATE_EPOCH."""
    return read(
        project.root,
        project.env.variables,
        source_date_epoch=project.source_date_epoch,
        version=project.settings.build.version,
    )


def state(root: Path, environ: Mapping[str, str]) -> str:
    """One line that changes whenever the commit, or the tags that describe it, do
    (``git describe`` in one call, cheaper than :func:`read`): what a build embeds from
    git beyond the tree's state. Uncommitted changes are left to the build's inputs, so
    editing a README does not relink. Empty outside git."""
    env = {**environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"}
    argv = ["git", "describe", "--tags", "--always", "--long", "--abbrev=40"]
    try:
        res = proc.run(argv, cwd=root, env=env, check=False)
    except GobuildError:  # no git installed: the build embeds "unknown" and says so
        return ""
    return res.stdout.strip() if res.returncode == 0 else ""


def read(
    root: Path,
    environ: Mapping[str, str],
    *,
    source_date_epoch: int | None = None,
    version: str | None = None,
) -> GitInfo:
    """Read the values for the work tree at ``root``.

    ``version`` (from config) replaces ``git describe``; ``source_date_epoch``
    replaces the commit time.
    """
    env = {**environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"}  # no index.lock contention

    def git(*args: str) -> str:
        return proc.run(["git", *args], cwd=root, env=env).stdout.strip()

    warnings: list[str] = []
    try:
        inside = git("rev-parse", "--is-inside-work-tree") == "true"
    except GobuildError:
        inside = False
    if not inside:
        warnings.append(f"{root} is not in a git repository: commit, date and tree state unknown")
        return _without_commit(version, source_date_epoch, warnings)
    try:
        commit = git("rev-parse", "HEAD")
        epoch = int(git("log", "-1", "--format=%ct", "HEAD"))
    except (GobuildError, ValueError):
        warnings.append(f"{root} has no commits yet: commit and date are unknown")
        return _without_commit(version, source_date_epoch, warnings)
    dirty = bool(git("status", "--porcelain", "--untracked-files=normal"))
    described = version or git("describe", "--tags", "--always", "--dirty")
    when = source_date_epoch if source_date_epoch is not None else epoch
    return GitInfo(
        version=described,
        commit=commit,
        date=rfc3339(when),
        tree_state="dirty" if dirty else "clean",
        epoch=when,
        warnings=tuple(warnings),
    )


def _without_commit(version: str | None, epoch: int | None, warnings: list[str]) -> GitInfo:
    return GitInfo(
        version=version or UNKNOWN,
        commit=UNKNOWN,
        date=rfc3339(epoch) if epoch is not None else UNKNOWN,
        tree_state=UNKNOWN,
        epoch=epoch,
        warnings=tuple(warnings),
    )
