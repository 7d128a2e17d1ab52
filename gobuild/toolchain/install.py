"""Installing pinned Go versions into the cache (:mod:`.cache`), safely.

Resolve the version (gobuild.lock first, so a locked project needs no network),
take the per-version lock, fetch from the configured sources in order, verify,
extract to a temp directory, rename it into place and write the completion
marker last: an interruption at any point leaves at worst a temp directory or
an unmarked tree, which the next installer removes.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from gobuild import atomic
from gobuild.atomic import remove_tree
from gobuild.errors import (
    GobuildError,
    IntegrityError,
    SourceError,
    ToolchainError,
)
from gobuild.fetch import Fetcher
from gobuild.modules import goproxy, sumdb
from gobuild.progress import Reporter, Silent
from gobuild.project import lock as lockfile
from gobuild.project import platforms
from gobuild.project.names import SourceName
from gobuild.project.platforms import Platform
from gobuild.project.versions import GoVersion, VersionRequest, resolve
from gobuild.toolchain.cache import Cache, Installed, find_locked
from gobuild.toolchain.goproxy import Checksums, GoproxySource, check_h1
from gobuild.toolchain.official import OfficialSource
from gobuild.toolchain.pypi import PypiSource
from gobuild.toolchain.source import Fetched, Source

if TYPE_CHECKING:
    from gobuild.project.config import Project


@dataclass(frozen=True)
class InstallResult:
    """What :func:`ensure` did, with per-stage timings in seconds."""

    installed: Installed
    cached: bool
    timings: dict[str, float] = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        """A JSON-ready summary for ``--json``."""
        i = self.installed
        return {
            "version": str(i.version),
            "platform": str(i.platform),
            "goroot": str(i.goroot),
            "source": i.source,
            "filename": i.artifact.filename,
            "sha256": i.artifact.sha256,
            "size": i.size,
            "cached": self.cached,
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
            "notices": self.notices,
        }


@dataclass(frozen=True)
class Request:
    """Everything :func:`ensure` needs, all passed in (no globals, no env reads)."""

    request: VersionRequest
    platform: Platform
    cache: Cache
    sources: Sequence[Source]
    lock_path: Path | None = None
    state_dir: Path | None = None
    record_lock: bool = True
    section: lockfile.Section = "go"  # the lock's section: the project's Go, or [tools] go

    def lock(self) -> lockfile.Lock:
        """gobuild.lock's section for this request (empty without a lock)."""
        lock = lockfile.read(self.lock_path) if self.lock_path else lockfile.Lock()
        return lock.view(self.section)


def ensure(req: Request, reporter: Reporter | None = None) -> InstallResult:
    """Make the requested Go present and return it, installing if needed.

    Resolution uses gobuild.lock first, so a locked project with a cached
    toolchain makes no network request at all.
    """
    run = _Installer(req, reporter or Silent())
    return run.ensure()


class _Installer:
    """One ensure() call: its lock view, failed sources, notices and timings."""

    def __init__(self, req: Request, reporter: Reporter) -> None:
        self.req = req
        self.outer = reporter
        self.reporter: Reporter = self  # sources report through the installer: notices once
        self.lock = req.lock()
        self.failed: set[str] = set()  # sources that failed this run: don't retry them
        self.notices: list[str] = []
        self.timings: dict[str, float] = {}

    # The Reporter protocol, for the sources: progress passes through, each notice once.

    def stage(self, name: str, total: int | None = None) -> None:
        self.outer.stage(name, total)

    def advance(self, amount: int) -> None:
        self.outer.advance(amount)

    def notice(self, message: str) -> None:
        if message not in self.notices:
            self.notices.append(message)
            self.outer.notice(message)

    def ensure(self) -> InstallResult:
        req = self.req
        t0 = time.perf_counter()
        version = self.lock.pinned(req.request) or self._resolve_series()
        self.timings["resolve"] = time.perf_counter() - t0
        found = req.cache.get(version, req.platform)
        cached = found is not None
        if found is None:
            with req.cache.locked(version, req.platform, self.reporter):
                found = req.cache.get(version, req.platform)  # another process may have finished
                cached = found is not None
                if found is None:
                    found = self._install(version)
        if cached:
            self._check_against_lock(found)
        if not found.verified:
            # Nothing vouched for it (a lone file:// GOPROXY without the checksum
            # database): its hash must not become what the team's installs trust.
            self.notice(
                f"Go {version} from {found.source} was not verified: not recorded in "
                f"{req.lock_path.name if req.lock_path else 'gobuild.lock'}"
            )
        elif req.lock_path and req.state_dir and req.record_lock:
            lockfile.record(
                req.lock_path,
                state_dir=req.state_dir,
                request=req.request,
                version=version,
                platform=req.platform,
                source=found.source,
                artifact=found.locked,
                section=req.section,
            )
        return InstallResult(found, cached, self.timings, self.notices)

    def _resolve_series(self) -> GoVersion:
        return resolve_version(
            self.req.request, self.req.sources, self.req.platform, self, self.failed
        )

    def _check_against_lock(self, found: Installed) -> None:
        want = self.lock.artifact(found.version, found.platform, found.source)
        differs = want.mismatch(found.artifact) if want else None
        if differs:
            raise IntegrityError(
                f"cached Go {found.version} does not match gobuild.lock (the lock records "
                f"{differs}); run `gobuild toolchain remove {found.version}`"
            )

    def _install(self, version: GoVersion) -> Installed:
        cache, platform = self.req.cache, self.req.platform
        cache.clean_stale(version, platform)
        tmp_root = cache.root / "tmp"
        tmp_root.mkdir(parents=True, exist_ok=True)
        prefix = f"{cache.key(version, platform)}.{os.getpid()}."
        work = Path(tempfile.mkdtemp(prefix=prefix, dir=tmp_root))
        try:
            fetched = self._fetch(version, work)
            t = time.perf_counter()
            staged = work / "tree"
            from gobuild.toolchain.archive import extract as archive  # noqa: PLC0415 - installs only

            verified = True
            if fetched.module_prefix is not None:
                verified = bool(fetched.h1)  # from gobuild.lock or the checksum database
                stats, h1 = archive.extract_toolchain_zip(
                    fetched.path, staged, prefix=fetched.module_prefix, reporter=self.reporter
                )
                fetched = check_h1(fetched, h1)
            elif fetched.scanned is not None:
                stats = archive.extract_scanned(fetched.scanned, staged, reporter=self.reporter)
            else:
                stats = archive.extract(
                    fetched.path, staged, skip=fetched.skip, reporter=self.reporter
                )
            fetched.path.unlink()
            self.timings["extract"] = time.perf_counter() - t
            t = time.perf_counter()
            _check_tree(staged / "go", version, fetched)
            self.timings["verify"] = time.perf_counter() - t
            target = cache.tree(version, platform)
            target.parent.mkdir(parents=True, exist_ok=True)
            staged.replace(target)
            info = {
                "version": str(version),
                "platform": str(platform),
                "source": fetched.source,
                "url": fetched.url,
                "filename": fetched.filename,
                "sha256": fetched.sha256,
                "h1": fetched.h1,
                "verified": verified,
                "size": stats.bytes,
                "entries": stats.entries,
                "installed_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
            # The marker goes last: only now does the version count as installed.
            atomic.write_text(cache.marker(version, platform), json.dumps(info, indent=2) + "\n")
        except OSError as exc:
            raise ToolchainError(
                f"cannot install Go {version}: {exc.strerror or exc} ({exc.filename or cache.root})"
            ) from exc
        finally:
            remove_tree(work)
        installed = cache.get(version, platform)
        if installed is None:
            raise ToolchainError(f"Go {version} was installed but its marker cannot be read")
        return installed

    def _fetch(self, version: GoVersion, work: Path) -> Fetched:
        usable = [s for s in self.req.sources if s.name not in self.failed] or list(
            self.req.sources
        )
        last: SourceError | None = None
        for i, source in enumerate(usable):
            t = time.perf_counter()
            expected = self.lock.artifact(version, self.req.platform, source.kind)
            try:
                fetched = source.fetch(version, self.req.platform, work, expected, self.reporter)
            except IntegrityError:
                raise  # a checksum mismatch is a security signal, never a reason to fall back
            except SourceError as exc:
                last = exc
                if i + 1 < len(usable):
                    self.notice(f"{source.name} unavailable ({exc}); trying {usable[i + 1].name}")
                continue
            self.timings["download"] = time.perf_counter() - t
            return fetched
        raise last or ToolchainError("no toolchain sources configured")


def resolve_version(
    request: VersionRequest,
    sources: Sequence[Source],
    platform: Platform,
    reporter: Reporter,
    failed: set[str] | None = None,
) -> GoVersion:
    """The release ``request`` means, from the first source that answers (``failed``
    collects the names of those that did not, so an install skips them)."""
    last: SourceError | None = None
    for i, source in enumerate(sources):
        try:
            return resolve(request, source.versions(platform, reporter), source.name)
        except SourceError as exc:
            if failed is not None:
                failed.add(source.name)
            last = exc
            if i + 1 < len(sources):
                reporter.notice(f"{source.name} unavailable ({exc}); trying {sources[i + 1].name}")
    raise last or ToolchainError("no toolchain sources configured")


def _check_tree(goroot: Path, version: GoVersion, fetched: Fetched) -> None:
    go = goroot / "bin" / "go"
    if not go.is_file():
        raise ToolchainError(f"{fetched.filename}: no go/bin/go in the archive")
    first = (goroot / "VERSION").read_text(encoding="utf-8", errors="replace").split("\n", 1)[0]
    try:
        found = GoVersion.parse(first.strip())
    except GobuildError:
        found = None
    # Equality, not string comparison: go1.20 is the release a 1.20.0 pin means.
    if found != version:
        raise ToolchainError(
            f"{fetched.filename}: contains {first.strip()!r}, expected {version.tag!r}"
        )


def request_for(project: Project, version: str | None = None) -> Request:
    """A :class:`Request` for ``project``'s pinned Go (or ``version`` when given)."""
    pin = VersionRequest.parse(version) if version else project.go_pin().request
    return Request(
        request=pin,
        platform=platforms.host(),
        cache=Cache(project.cache_dir),
        sources=sources_for(project),
        lock_path=project.lock_file,
        state_dir=project.state_dir,
        # An explicit version on the command line is checked against the lock
        # but is not the project's pin, so it is not recorded.
        record_lock=version is None,
    )


def tools_go_request(project: Project, version: str) -> Request:
    """A :class:`Request` for ``[tools] go`` (``version``): checked against, and recorded
    in, gobuild.lock's ``tools_go`` section."""
    return replace(request_for(project, version), record_lock=True, section="tools_go")


def sources_for(project: Project) -> list[Source]:
    """The project's toolchain sources, in its order, sharing one fetcher."""
    tc = project.settings.toolchain
    fetcher = Fetcher(network=project.env.network, retries=tc.retries, timeout=tc.timeout)
    made: dict[SourceName, Callable[[], Source]] = {
        "goproxy": lambda: GoproxySource(project.goproxy, fetcher, checksums_for(project, fetcher)),
        "official": lambda: OfficialSource(fetcher, project.mirror),
        "pypi": PypiSource,
    }
    return [made[name]() for name in project.sources]


def checksums_for(project: Project, fetcher: Fetcher) -> Checksums:
    """The checksum database as GOSUMDB and GONOSUMDB/GOPRIVATE set it, reached through
    the project's proxies; verified tree heads are remembered in the shared cache."""
    proxies = goproxy.ProxyList(project.goproxy, redact=fetcher.redact)
    db = sumdb.parse_gosumdb(project.gosumdb)
    client = (
        None
        if db is None
        else sumdb.Client(db, fetcher, project.cache_dir / "sumdb", proxies=proxies.urls())
    )
    return Checksums(client, project.gonosumdb, local_only=proxies.single_file_proxy)


def find_installed(req: Request) -> Installed | None:
    """The installed toolchain ``req`` means, without any network access.

    None when it is not installed, or when only a source could tell which
    release a series request means (nothing locked yet).
    """
    return find_locked(req.cache.root, req.request, req.platform, req.lock())
