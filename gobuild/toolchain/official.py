"""The official source: go.dev's release listing and dl.google.com's archives, or a
mirror with go.dev's layout. The listing's sha256 is checked before anything is
extracted; archives are inflated and their headers checked while they download."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gobuild.digest import Artifact
from gobuild.errors import IntegrityError, NotFound, SourceError, VersionError
from gobuild.fetch import Fetcher
from gobuild.progress import Reporter
from gobuild.project.names import SourceName
from gobuild.project.platforms import Platform
from gobuild.project.versions import GoVersion
from gobuild.toolchain.source import Fetched

OFFICIAL_LISTING = "https://go.dev/dl/?mode=json&include=all"
OFFICIAL_DOWNLOADS = "https://dl.google.com/go/"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_FILENAME = re.compile(r"^go[0-9a-z.]+\.[a-z0-9]+-[a-z0-9]+\.(tar\.gz|zip)$")


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
        self.name = f"mirror {fetcher.redact(mirror)}" if mirror else "go.dev"
        self.kind: SourceName = "official"
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
                try:
                    body = self.fetcher.get_bytes(url)
                except NotFound:
                    if i < len(urls) - 1:
                        continue
                    # No listing is an unusable source, not a version it lacks.
                    raise SourceError(f"{self.fetcher.redact(url)}: no release listing") from None
                try:
                    self._listing = parse_listing(json.loads(body), url)
                    break
                except (json.JSONDecodeError, UnicodeDecodeError):
                    if i == len(urls) - 1:
                        shown = self.fetcher.redact(url)
                        raise SourceError(f"{shown}: not a JSON release listing") from None
        assert self._listing is not None
        return self._listing

    def versions(self, platform: Platform, reporter: Reporter) -> list[GoVersion]:
        """Versions with an archive for ``platform``."""
        return [v for v, files in self.listing().items() if self._pick(files, platform)]

    def locked(self, version: GoVersion, platform: Platform, reporter: Reporter) -> Artifact | None:
        """The archive and sha256 the listing gives for ``version`` on ``platform``."""
        entry = self._pick(self.listing().get(version, []), platform)
        if entry is None:
            raise NotFound(f"Go {version} is not available from {self.name} for {platform}")
        return Artifact(entry.filename, entry.sha256)

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
        shown = self.fetcher.redact(url)
        # Inflated while it downloads; the digest is checked before anything is extracted.
        from gobuild.toolchain.archive.tarscan import TarReceiver  # noqa: PLC0415 - only installs download

        receiver = TarReceiver(into / entry.filename.removesuffix(".gz"), entry.filename)
        try:
            got = self.fetcher.download(url, receiver, reporter)
            if got != entry.sha256:
                raise IntegrityError(
                    f"{shown}: sha256 mismatch: listing says {entry.sha256}, "
                    f"downloaded file has {got}"
                )
            scanned = receiver.finish()
        except BaseException:
            receiver.abort()
            raise
        return Fetched(scanned.path, entry.filename, got, self.kind, shown, scanned)

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
