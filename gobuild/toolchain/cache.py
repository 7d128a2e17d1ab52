"""The toolchain cache on disk: where each version lives and whether it is complete.

Layout under the cache directory::

    toolchains/go1.22.10.linux-amd64/go/...      the GOROOT (read-only)
    toolchains/go1.22.10.linux-amd64.complete    marker, JSON, written LAST
    tmp/go1.22.10.linux-amd64.<pid>.<rand>/      downloads and extraction in progress
    locks/go1.22.10.linux-amd64.lock             one installer per version at a time

A version is installed only when its marker exists (as Go's module cache and
the actions tool-cache do). Reading the cache needs only the standard library,
so doit can ask "is the pinned Go present?" on every run at no cost; installing
lives in :mod:`.install`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from gobuild.atomic import remove_tree
from gobuild.digest import Artifact
from gobuild.errors import GobuildError
from gobuild.progress import Reporter, Silent
from gobuild.project import lock as lockfile
from gobuild.project.platforms import Platform
from gobuild.project.versions import GoVersion, VersionRequest


@dataclass(frozen=True)
class Installed:
    """A complete toolchain in the cache, as its marker describes it."""

    version: GoVersion
    platform: Platform
    goroot: Path
    source: str
    artifact: Artifact
    size: int
    installed_at: str
    verified: bool = True  # False: nothing vouched for its hash (not recorded in the lock)

    @property
    def locked(self) -> Artifact:
        """What gobuild.lock records for it: a module zip by h1 alone (another proxy may
        zip the same files into other bytes), an archive by sha256."""
        a = self.artifact
        return Artifact(a.filename, h1=a.h1) if a.h1 else Artifact(a.filename, a.sha256)

    @property
    def go(self) -> Path:
        """The go executable."""
        return self.goroot / "bin" / "go"


class Cache:
    """The on-disk cache of toolchains rooted at ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def key(self, version: GoVersion, platform: Platform) -> str:
        """Directory name for one version on one platform."""
        return f"go{version}.{platform.key}"

    def tree(self, version: GoVersion, platform: Platform) -> Path:
        """Where that version's tree lives (its GOROOT is ``tree/go``)."""
        return self.root / "toolchains" / self.key(version, platform)

    def marker(self, version: GoVersion, platform: Platform) -> Path:
        """The completion marker; its existence is what "installed" means."""
        return self.root / "toolchains" / f"{self.key(version, platform)}.complete"

    def get(self, version: GoVersion, platform: Platform) -> Installed | None:
        """The installed toolchain, or None when it is absent or incomplete."""
        return self._read_marker(self.marker(version, platform))

    def list(self) -> list[Installed]:
        """Every complete toolchain, oldest version first."""
        folder = self.root / "toolchains"
        found = [self._read_marker(m) for m in folder.glob("*.complete")] if folder.is_dir() else []
        return sorted((i for i in found if i), key=lambda i: (i.version, i.platform))

    @contextmanager
    def locked(self, version: GoVersion, platform: Platform, reporter: Reporter) -> Iterator[None]:
        """Hold the per-version install lock."""
        import filelock  # noqa: PLC0415 - only installers need it; keeps no-op builds fast

        locks = self.root / "locks"
        locks.mkdir(parents=True, exist_ok=True)
        lock = filelock.FileLock(locks / f"{self.key(version, platform)}.lock")
        try:
            lock.acquire(timeout=0.2)
        except filelock.Timeout:
            reporter.notice(f"waiting for another gobuild installing Go {version}")
            lock.acquire()
        try:
            yield
        finally:
            lock.release()

    def clean_stale(self, version: GoVersion, platform: Platform) -> None:
        """Remove leftovers of interrupted installs (call with the version lock held)."""
        key = self.key(version, platform)
        tmp = self.root / "tmp"
        if tmp.is_dir():
            for entry in tmp.glob(f"{key}.*"):
                remove_tree(entry)
        if not self.marker(version, platform).exists():
            remove_tree(self.tree(version, platform))

    def remove(self, version: GoVersion, platform: Platform) -> bool:
        """Delete one version: marker first, so it never looks installed half-deleted."""
        with self.locked(version, platform, Silent()):
            marker = self.marker(version, platform)
            existed = marker.exists()
            marker.unlink(missing_ok=True)
            remove_tree(self.tree(version, platform))
            return existed

    def _read_marker(self, marker: Path) -> Installed | None:
        try:
            data = json.loads(marker.read_text(encoding="utf-8"))
            version = GoVersion.parse(data["version"])
            platform = Platform.parse(data["platform"])
        except (OSError, ValueError, KeyError, GobuildError):
            return None
        goroot = self.tree(version, platform) / "go"
        if not (goroot / "bin" / "go").is_file():
            return None
        return Installed(
            version=version,
            platform=platform,
            goroot=goroot,
            source=str(data.get("source", "")),
            artifact=Artifact(
                str(data.get("filename", "")),
                str(data.get("sha256", "")),
                str(data.get("h1", "")),
            ),
            size=int(data.get("size", 0)),
            installed_at=str(data.get("installed_at", "")),
            verified=data.get("verified", True) is not False,
        )


def find(
    cache_root: Path, request: VersionRequest, platform: Platform, lock_path: Path | None
) -> Installed | None:
    """The installed toolchain ``request`` means, offline; None if absent, unresolved
    (a series not locked yet) or not matching gobuild.lock."""
    return find_locked(
        cache_root, request, platform, lockfile.read(lock_path) if lock_path else lockfile.Lock()
    )


def find_locked(
    cache_root: Path, request: VersionRequest, platform: Platform, lock: lockfile.Lock
) -> Installed | None:
    """:func:`find`, given gobuild.lock already read."""
    version = lock.pinned(request)
    if version is None:
        return None
    found = Cache(cache_root).get(version, platform)
    if found is None:
        return None
    want = lock.artifact(found.version, found.platform, found.source)
    return None if want and want.mismatch(found.artifact) else found
