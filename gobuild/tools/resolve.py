"""Which module holds a pinned tool, and its ``h1``, told without downloading it.

``go install PACKAGE@VERSION`` takes the module to be the longest prefix of the
package path that is a module at that version (:func:`candidates`, longest first).
:class:`Resolver` asks the tools' GOPROXY list for each prefix's ``@v/VERSION.info``
(the proxy protocol's smallest answer, by Go's fall-through rules), and the checksum
database for the module's ``h1`` (the toolchain's client, GOSUMDB and GONOSUMDB as
:mod:`gobuild.toolchain.install` reads them). ``gobuild lock`` records what it finds;
a build (:mod:`.install`) finds the module with ``go mod download`` over the same
candidates, because it needs the files, and checks it with the same functions.

Nothing here downloads a module zip or builds anything.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property, partial
from pathlib import Path

from gobuild.builds.goenv import PROFILE_VARIABLES
from gobuild.errors import ConfigError, GobuildError, IntegrityError, NotFound, SourceError
from gobuild.fetch import Fetcher
from gobuild.modules import dirhash, goproxy, paths, sumdb
from gobuild.progress import Reporter, Silent
from gobuild.project import gomod
from gobuild.project.config import DEFAULT_GOPROXY, Project
from gobuild.project.lock import ToolLock
from gobuild.project.toolpins import ToolPin
from gobuild.toolchain.install import checksums_for


class ToolError(GobuildError):
    """A pinned tool cannot be had: one line naming the tool and why."""


def candidates(package: str) -> list[str]:
    """The module paths that may hold ``package``: its path and each shorter prefix, longest
    first (``go install`` takes the longest that is a module at the version)."""
    parts = package.split("/")
    return ["/".join(parts[:n]) for n in range(len(parts), 0, -1)]


def not_found(pin: ToolPin, why: str) -> ToolError:
    """The one line for a pin no module holds: ``why`` is the answer for the full path
    (the shorter ones are guesses)."""
    return ToolError(f"{pin.name}: no module at {pin.version} holds {pin.package} ({why})")


def contradiction(
    pin: ToolPin, locked: ToolLock, module: str, h1: str | None, *, found_by: str, hashed_by: str
) -> str:
    """How ``module`` (as ``found_by`` found it) and ``h1`` (as ``hashed_by`` tells it)
    differ from gobuild.lock's entry at the same pin, naming the tool, the module and both
    values; ``""`` when they agree (an ``h1`` of None says nothing about the hash)."""
    if locked.module != module:
        return (
            f"{pin.name}: {found_by} finds {pin.package}@{pin.version} in module {module}, "
            f"but gobuild.lock records {locked.module}"
        )
    if h1 is not None and h1 != locked.h1:
        return (
            f"{pin.name}: {module}@{pin.version} has {h1} ({hashed_by}), but gobuild.lock "
            f"records {locked.h1}"
        )
    return ""


def fetch_variables(project: Project) -> dict[str, str]:
    """GOPROXY, GOPRIVATE, GONOPROXY, GONOSUMDB and GOSUMDB as a tool's go command sees
    them: the profile's, else (GOPROXY) ``[toolchain] goproxy``, else the environment's;
    unset ones are left out."""
    inherited = project.env.variables
    found = {var: inherited[var] for var in PROFILE_VARIABLES.values() if inherited.get(var)}
    if project.settings.toolchain.goproxy:
        found["GOPROXY"] = project.settings.toolchain.goproxy
    for key, var in PROFILE_VARIABLES.items():
        value = getattr(project.profile, key)
        if value is not None:
            found[var] = value
    return found


@dataclass(frozen=True)
class Resolved:
    """A pin's module, and its ``h1`` as the checksum database has it (None where no
    database checks the module: GOSUMDB=off, or GONOSUMDB/GOPRIVATE matches)."""

    pin: ToolPin
    module: str
    h1: str | None
    go: str = ""  # the module's go line: the oldest Go that builds it

    def entry(self) -> ToolLock | None:
        """What gobuild.lock records for the pin, or None without a verified ``h1``."""
        if self.h1 is None:
            return None
        return ToolLock(self.pin.package, self.module, self.pin.version, self.h1, self.go)


class Resolver:
    """Finds pins' modules and hashes for one project, sharing one fetcher (and, once
    asked, one checksum-database client) between pins."""

    def __init__(self, project: Project, reporter: Reporter | None = None) -> None:
        self.project = project
        self.reporter = reporter or Silent()
        tc = project.settings.toolchain
        self.fetcher = Fetcher(network=project.env.network, retries=tc.retries, timeout=tc.timeout)
        self.variables = fetch_variables(project)

    @cached_property
    def proxies(self) -> goproxy.ProxyList:
        """The tools' GOPROXY list (no notes: passing ``direct`` while trying a prefix that
        is no module is the walk working, not news)."""
        value = self.variables.get("GOPROXY") or DEFAULT_GOPROXY
        return goproxy.ProxyList(value, redact=self.fetcher.redact)

    @cached_property
    def database(self) -> sumdb.Client | None:
        """The checksum database (None: GOSUMDB=off)."""
        return checksums_for(self.project, self.fetcher).client

    def resolve(self, pin: ToolPin) -> Resolved:
        """The module holding ``pin`` and its verified ``h1``.

        Raises :class:`ToolError` when no module holds the package at that version, or
        the database has no record of it; :class:`~gobuild.errors.SourceError` when no
        proxy could answer (unreachable, ``off``, only ``direct``, or a GONOPROXY module
        the go command fetches directly); IntegrityError for a database that cannot be
        trusted.
        """
        module = self.module(pin)
        found = self.database_lookup(pin, module)
        if found is None:
            return Resolved(pin, module, None)
        return Resolved(pin, module, found.zip_h1, self.go_line(pin, module, found.mod_h1))

    def module(self, pin: ToolPin) -> str:
        """The longest prefix of ``pin.package`` that the proxies know at ``pin.version``."""
        noproxy = self.variables.get("GONOPROXY") or self.variables.get("GOPRIVATE") or ""
        if noproxy and paths.match_patterns(noproxy, pin.package):
            raise SourceError(
                f"{pin.package} matches GONOPROXY/GOPRIVATE: the go command fetches it "
                "directly, so it is recorded when first built"
            )
        if not any(entry.is_proxy for entry in self.proxies.entries):
            raise SourceError(f"GOPROXY={self.proxies.describe()} names no module proxy to ask")
        why = ""
        for candidate in candidates(pin.package):
            what = f"{candidate}@{pin.version}"
            try:
                self.proxies.first(what, partial(self._info, path=candidate, pin=pin))
            except NotFound as exc:
                why = why or str(exc)
                continue
            return candidate
        raise not_found(pin, why)

    def _info(self, base: str, path: str, pin: ToolPin) -> None:
        """``path``'s ``@v/VERSION.info`` from the proxy at ``base``: NotFound unless it
        names that version."""
        try:
            url = goproxy.module_url(base, path, goproxy.version_file(pin.version, ".info"))
        except ConfigError as exc:  # not a module path at all: no proxy could hold it
            raise NotFound(f"{path}: {exc}") from None
        body = self.fetcher.get_bytes(url, limit=1 << 16)
        try:
            version = json.loads(body).get("Version")
        except (ValueError, AttributeError):
            raise SourceError(f"{self.fetcher.redact(url)}: not a version's .info") from None
        if version != pin.version:
            raise SourceError(f"{self.fetcher.redact(url)}: answers for {version!r}")

    def database_h1(self, pin: ToolPin, module: str) -> str | None:
        """The checksum database's ``h1`` of ``module`` at the pin's version, verified; None
        (with a notice) where GOSUMDB=off or GONOSUMDB/GOPRIVATE matches the module."""
        found = self.database_lookup(pin, module)
        return None if found is None else found.zip_h1

    def database_lookup(self, pin: ToolPin, module: str) -> sumdb.Lookup | None:
        """The checksum database's record of ``module`` at the pin's version (its zip's and
        go.mod's ``h1``), verified; None (with a notice) where GOSUMDB=off or
        GONOSUMDB/GOPRIVATE matches the module."""
        what = f"{module}@{pin.version}"
        nosumdb = self.project.gonosumdb
        if self.database is None or (nosumdb and paths.match_patterns(nosumdb, module)):
            self.reporter.notice(
                f"{what} is not checked against a checksum database (GOSUMDB/GONOSUMDB)"
            )
            return None
        try:
            return self.database.lookup(module, pin.version)
        except NotFound as exc:
            raise ToolError(
                f"{pin.name}: {exc} (a private module belongs in GONOSUMDB or GOPRIVATE)"
            ) from None

    def go_line(self, pin: ToolPin, module: str, mod_h1: str) -> str:
        """The go line of ``module``'s go.mod at the pin's version, from the proxies,
        checked against the database's ``mod_h1`` ("" when it has none)."""
        what = f"{module}@{pin.version} go.mod"
        data = self.proxies.first(what, partial(self._mod, path=module, pin=pin))
        if dirhash.hash1({"go.mod": hashlib.sha256(data).hexdigest()}) != mod_h1:
            raise IntegrityError(f"{pin.name}: {what} is not the one the checksum database has")
        text = data.decode("utf-8", errors="replace")
        return gomod.parse(text, Path(f"{module}@{pin.version}/go.mod")).go or ""

    def _mod(self, base: str, path: str, pin: ToolPin) -> bytes:
        url = goproxy.module_url(base, path, goproxy.version_file(pin.version, ".mod"))
        return self.fetcher.get_bytes(url, limit=1 << 20)
