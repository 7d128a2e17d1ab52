"""Locking every platform at once: ``gobuild lock``, ``gobuild init``, ``lock --check``.

Resolving needs no toolchain download: the checksum database gives each
platform's ``golang.org/toolchain`` h1, go.dev's listing each archive's sha256.
They are recorded for every platform the project names
(:meth:`~gobuild.project.config.Project.lock_platforms`), per source, so any
machine of the team, CI and the generated Makefile install the same verified Go.
PyPI wheels are hashed only when installed (pip cannot tell a hash unseen).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from gobuild.digest import Artifact
from gobuild.errors import IntegrityError, NotFound, SourceError
from gobuild.progress import Reporter, Silent
from gobuild.project import lock as lockfile
from gobuild.project import platforms
from gobuild.project.versions import GoVersion, VersionRequest
from gobuild.toolchain.install import resolve_version, sources_for

if TYPE_CHECKING:
    from gobuild.project.config import Project

# Sources whose lock entries a Makefile or an offline install can use without a download.
VERIFIABLE = ("goproxy", "official")


@dataclass(frozen=True)
class LockResult:
    """What :func:`lock` recorded, and what it could not."""

    version: GoVersion
    recorded: dict[str, list[str]]  # source → platform keys recorded
    unavailable: dict[str, str]  # source → why it recorded nothing or not everything
    changed: bool

    def summary(self) -> list[str]:
        """One line per source: what it recorded, and what it could not."""
        lines = []
        for src in dict.fromkeys([*self.recorded, *self.unavailable]):
            keys = self.recorded.get(src, [])
            parts = [f"{len(keys)} platform{'s' * (len(keys) != 1)}"] if keys else []
            parts += [self.unavailable[src]] if src in self.unavailable else []
            lines.append(f"{src}: {'; '.join(parts)}")
        return lines


def lock(
    project: Project,
    *,
    upgrade: bool = False,
    reporter: Reporter | None = None,
    section: lockfile.Section = "go",
) -> LockResult:
    """Resolve the pin and record every lock platform's hashes from every source that can
    tell them without a download. ``upgrade`` re-resolves a series (``1.22``) even when
    the lock already names a release of it. ``section`` ``tools_go`` locks ``[tools]
    go`` instead of the project's Go (the caller checks it is set)."""
    reporter = reporter or Silent()
    request = _request(project, section)
    current = lockfile.read(project.lock_file).view(section)
    sources = sources_for(project)
    version = None if upgrade else current.pinned(request)
    if version is None:
        version = resolve_version(request, sources, platforms.host(), reporter)
    wanted = project.lock_platforms()
    recorded: dict[str, list[str]] = {}
    unavailable: dict[str, str] = {}
    entries: dict[str, dict[str, Artifact]] = {}
    for source in sources:
        done = recorded.setdefault(source.kind, [])
        missing: list[str] = []
        for platform in wanted:
            try:
                artifact = source.locked(version, platform, reporter)
            except IntegrityError:
                raise  # a forged answer is never "unavailable"
            except NotFound:
                missing.append(str(platform))
                continue
            except SourceError as exc:
                unavailable[source.kind] = f"unavailable ({exc})"
                break
            if artifact is None:
                unavailable.setdefault(source.kind, "hashes are recorded when installed")
                break
            held = current.artifact(version, platform, source.kind)
            differs = held.mismatch(artifact) if held else None
            if differs:
                # A release's hashes never change: another answer is an attack or a mistake.
                raise IntegrityError(
                    f"{artifact.filename}: {source.name} contradicts gobuild.lock, which "
                    f"records {differs}; refusing to replace it (delete the entry if the "
                    "new hash is right)"
                )
            entries.setdefault(platform.key, {})[source.kind] = artifact
            done.append(platform.key)
        if missing and source.kind not in unavailable:
            unavailable[source.kind] = f"no Go {version} for {', '.join(missing)}"
    after = lockfile.update(
        project.lock_file,
        state_dir=project.state_dir,
        request=request,
        version=version,
        artifacts=entries,
        section=section,
    )
    return LockResult(version, recorded, unavailable, after.view(section) != current)


def _request(project: Project, section: lockfile.Section) -> VersionRequest:
    if section == "go":
        return project.go_pin().request
    assert project.tools_go is not None, "tools_go is locked only where [tools] go is set"
    return VersionRequest.parse(project.tools_go)


def problems(project: Project) -> list[str]:
    """Why gobuild.lock is stale or incomplete for the project, offline (empty: it is fine).

    Stale: made for another request, or another release than an exact pin.
    Incomplete: a lock platform without an entry a download can be checked
    against from a source the project uses (the module proxy's h1 or go.dev's sha256).
    ``[tools] go``, when set, is held to the same.
    """
    if not project.lock_file.exists():
        return [f"{project.lock_file.name} does not exist: run `gobuild lock`"]
    sections: list[lockfile.Section] = ["go", "tools_go"] if project.tools_go else ["go"]
    return [line for section in sections for line in _problems(project, section)]


def _problems(project: Project, section: lockfile.Section) -> list[str]:
    request = _request(project, section)
    current = lockfile.read(project.lock_file).view(section)
    what = "Go" if section == "go" else "[tools] go"
    if current.version is None or current.request != str(request):
        if section == "tools_go" and current.version is None:
            return [f"{project.lock_file.name} records no [tools] go: run `gobuild lock`"]
        return [
            f"{project.lock_file.name} was made for {what} {current.request}, "
            f"the project now pins {request}: run `gobuild lock`"
        ]
    if request.exact is not None and request.exact != current.version:
        return [f"{project.lock_file.name} records {what} {current.version}, not {request.exact}"]
    usable = [s for s in project.sources if s in VERIFIABLE] or list(project.sources)
    lacking = [
        str(p)
        for p in project.lock_platforms()
        if not any(src in current.artifacts.get(p.key, {}) for src in usable)
    ]
    if not lacking:
        return []
    return [
        f"{project.lock_file.name} has no {' or '.join(usable)} hash of Go {current.version} "
        f"for {', '.join(lacking)}: run `gobuild lock` where they can be resolved"
    ]
