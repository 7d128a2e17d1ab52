"""The module-proxy source: Go as the go command gets it, the module ``golang.org/toolchain``.

Version ``v0.0.1-go1.22.10.linux-amd64`` of that module is Go 1.22.10 for
linux/amd64, served by every GOPROXY (proxy.golang.org, Athens, Artifactory…).
Before downloading, the zip's ``h1:`` comes from gobuild.lock (recorded from an
earlier verified lookup, so a repeat install needs no checksum database) or
from the checksum database, with its signature and the record's inclusion in
the signed tree proven (:mod:`gobuild.modules.sumdb`). The zip is then
checked against it as it is extracted, before anything is installed.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from gobuild.digest import Artifact
from gobuild.errors import IntegrityError, SourceError, VersionError
from gobuild.fetch import Fetcher
from gobuild.modules import goproxy, paths, sumdb
from gobuild.progress import Reporter
from gobuild.project.names import SourceName
from gobuild.project.platforms import Platform
from gobuild.project.versions import GoVersion
from gobuild.toolchain.source import Fetched

MODULE = goproxy.TOOLCHAIN_MODULE
_PREFIX = "v0.0.1-"


class Checksums:
    """The checksum-database policy for ``golang.org/toolchain``, the go command's.

    Toolchains cannot be listed in go.sum, so the go command checks every one
    against the database even when GOSUMDB=off or GONOSUMDB/GOPRIVATE match;
    gobuild does the same (with a notice where the user's setting is
    overridden). The one exception is Go's too: a GOPROXY of a single
    ``file://`` directory (a local copy of a distribution) follows the rule for
    any module, so GOSUMDB=off or a matching GONOSUMDB/GOPRIVATE leaves it
    unchecked, and a notice says so. An h1 in gobuild.lock (recorded from an
    earlier verified lookup) makes the lookup unnecessary altogether.
    """

    def __init__(self, client: sumdb.Client | None, nosumdb: str, local_only: bool) -> None:
        self.client = client
        self.nosumdb = nosumdb
        self.local_only = local_only

    def zip_h1(self, version: str, reporter: Reporter) -> str | None:
        """The checksum database's ``h1`` for ``golang.org/toolchain@version``, verified;
        None only for a single ``file://`` GOPROXY."""
        what = f"{MODULE}@{version}"
        private = bool(self.nosumdb) and paths.match_patterns(self.nosumdb, MODULE)
        # Go's exception: a single file:// GOPROXY falls back to the rule for any module.
        if self.local_only and (self.client is None or private):
            reporter.notice(f"GOPROXY is one file:// directory: {what} is not verified")
            return None
        if self.client is None:
            raise SourceError(
                f"{what}: checksum database disabled by GOSUMDB=off; toolchains are always "
                "verified (record them with `gobuild lock` where the database is reachable)"
            )
        if private:
            reporter.notice(
                f"GONOSUMDB/GOPRIVATE matches {MODULE}, but toolchains are always checked "
                "against the checksum database (as the go command does)"
            )
        return self.client.lookup(MODULE, version).zip_h1


class GoproxySource:
    """``golang.org/toolchain`` zips from a GOPROXY list, verified by h1."""

    kind: SourceName = "goproxy"

    def __init__(self, proxy_list: str, fetcher: Fetcher, checksums: Checksums) -> None:
        self.proxy_list = proxy_list
        self.fetcher = fetcher
        self.checksums = checksums
        shown = self._proxies(None).describe()
        self.name = "module proxy (GOPROXY=off)" if shown == "off" else f"module proxy {shown}"

    def _proxies(self, reporter: Reporter | None) -> goproxy.ProxyList:
        note = reporter.notice if reporter else None
        return goproxy.ProxyList(self.proxy_list, note=note, redact=self.fetcher.redact)

    def versions(self, platform: Platform, reporter: Reporter) -> list[GoVersion]:
        """Go releases the proxy lists for ``platform`` (``@v/list``)."""
        body = self._proxies(reporter).first(
            f"{MODULE} versions",
            lambda base: self.fetcher.get_bytes(goproxy.module_url(base, MODULE, "list")),
        )
        suffix = f".{platform.goos}-{platform.goarch}"
        found: set[GoVersion] = set()
        for line in body.decode("utf-8", "replace").split():
            if line.startswith(_PREFIX + "go") and line.endswith(suffix):
                try:
                    found.add(GoVersion.parse(line[len(_PREFIX) : -len(suffix)]))
                except VersionError:
                    continue  # not a Go release name
        return sorted(found)

    def locked(self, version: GoVersion, platform: Platform, reporter: Reporter) -> Artifact | None:
        """The zip's name and its verified ``h1``, from the checksum database (no download);
        None where the database is turned off for it."""
        h1 = self.checksums.zip_h1(goproxy.toolchain_version(version, platform), reporter)
        return Artifact(goproxy.toolchain_zip(version, platform), h1=h1) if h1 else None

    def fetch(
        self,
        version: GoVersion,
        platform: Platform,
        into: Path,
        expected: Artifact | None,
        reporter: Reporter,
    ) -> Fetched:
        """Download the zip; its ``h1`` (lock's, else the database's) is checked on extraction."""
        modver = goproxy.toolchain_version(version, platform)
        what = f"{MODULE}@{modver}"
        proxies = self._proxies(reporter)
        # As the go command, ask no checksum database for a zip no proxy would be asked
        # for (GOPROXY=off, or only direct): that walk fails before any request.
        proxies.first(what, lambda _base: None)
        want = expected.h1 if expected and expected.h1 else None
        if want is None:
            want = self.checksums.zip_h1(modver, reporter)
        filename = goproxy.toolchain_zip(version, platform)
        dest = into / filename

        def attempt(base: str) -> tuple[str, str]:
            url = goproxy.module_url(base, MODULE, filename)
            with dest.open("wb") as sink:
                return url, self.fetcher.download(url, sink, reporter)

        url, sha256 = proxies.first(what, attempt)
        return Fetched(
            dest,
            filename,
            sha256,
            self.kind,
            self.fetcher.redact(url),
            h1=want or "",
            module_prefix=what,
        )


def check_h1(fetched: Fetched, got: str) -> Fetched:
    """``fetched`` with the h1 its contents hashed to, or IntegrityError if that is not
    the h1 it had to have."""
    if fetched.h1 and got != fetched.h1:
        raise IntegrityError(
            f"{fetched.module_prefix}: the downloaded zip hashes to {got} but the checksum "
            f"database or gobuild.lock says {fetched.h1}; refusing to install"
        )
    return replace(fetched, h1=got)
