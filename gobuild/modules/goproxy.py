"""The GOPROXY protocol: a proxy list read as the go command reads it, and fetches from it.

A list such as ``https://a.corp,https://proxy.golang.org|file:///srv/mods,direct``
is tried in order. After an entry followed by ``,`` the next is tried only when
the answer was "not found" (HTTP 404 or 410); after ``|``, on any error. ``off``
stops the search with an error. ``direct`` (fetching from version control) cannot
serve what gobuild asks a proxy for (toolchain zips are only ever published
through proxies), so it is passed over, with a note.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from gobuild.errors import ConfigError, NotFound, SourceError
from gobuild.modules.paths import escape_path, escape_version
from gobuild.project.platforms import Platform
from gobuild.project.versions import GoVersion

T = TypeVar("T")

# The module every Go release is published as, one version per release and platform.
TOOLCHAIN_MODULE = "golang.org/toolchain"


@dataclass(frozen=True)
class Entry:
    """One element of a GOPROXY list."""

    url: str  # a base URL without the trailing slash, or "direct" / "off"
    fall_through_on_error: bool  # the separator after it was "|"

    @property
    def is_proxy(self) -> bool:
        """Whether this entry is a proxy URL (not ``direct`` or ``off``)."""
        return self.url not in ("direct", "off")


def parse(value: str) -> list[Entry]:
    """Parse a GOPROXY list (as cmd/go's proxyList does); empty entries are ignored."""
    entries: list[Entry] = []
    rest = value.strip()
    while rest:
        cut = min((i for i in (rest.find(","), rest.find("|")) if i >= 0), default=-1)
        item, sep = (rest, "") if cut < 0 else (rest[:cut], rest[cut])
        rest = "" if cut < 0 else rest[cut + 1 :]
        item = item.strip()
        if not item:
            continue
        if item not in ("direct", "off") and "://" not in item:
            raise ConfigError(f"GOPROXY entry {item!r} is not a URL, 'direct' or 'off'")
        entries.append(Entry(item.rstrip("/"), fall_through_on_error=sep == "|"))
    if not entries:
        raise ConfigError("GOPROXY list is empty (set it to 'off' to disable the module proxy)")
    return entries


class ProxyList:
    """A parsed GOPROXY list and the rules for walking it.

    ``note`` receives remarks worth showing once (a skipped ``direct``);
    ``redact`` turns a URL into the form fit for messages (no credentials).
    """

    def __init__(
        self,
        value: str,
        *,
        note: Callable[[str], None] | None = None,
        redact: Callable[[str], str] = str,
    ) -> None:
        self.value = value
        self.entries = parse(value)
        self.note = note or (lambda _: None)
        self.redact = redact
        self._noted_direct = False

    def urls(self) -> list[str]:
        """The entries in order, ``direct`` and ``off`` included: the checksum database is
        reached through the first proxy that supports it, and directly once ``direct``
        or ``off`` is reached, as the go command does."""
        return [entry.url for entry in self.entries]

    @property
    def single_file_proxy(self) -> bool:
        """Whether the list is one ``file://`` proxy (a local copy of a distribution, the
        only case where the go command lets toolchains skip the checksum database).
        As the go command, the raw value decides: any ``,`` or ``|`` makes it a list,
        even with nothing after it."""
        return (
            len(self.entries) == 1
            and self.entries[0].url.startswith("file://")
            and not any(sep in self.value for sep in ",|")
        )

    def describe(self) -> str:
        """The list for messages, with credentials redacted."""
        return ",".join(self.redact(e.url) if e.is_proxy else e.url for e in self.entries)

    def first(self, what: str, attempt: Callable[[str], T]) -> T:
        """``attempt(base_url)`` on each proxy in turn, by Go's fall-through rules.

        ``what`` names the request for messages (``golang.org/toolchain@v0.0.1-…``).
        Raises :class:`NotFound` when every proxy said "not found", else the
        error that stopped the walk.
        """
        last: SourceError | None = None
        for entry in self.entries:
            if entry.url == "off":
                raise last or SourceError(f"{what}: module lookup disabled by GOPROXY=off")
            if entry.url == "direct":
                if not self._noted_direct:
                    self._noted_direct = True
                    self.note(f"GOPROXY entry 'direct' cannot serve {what}: skipped")
                last = last or NotFound(f"{what}: not available from 'direct'")
                continue
            try:
                return attempt(entry.url)
            except NotFound as exc:
                last = exc
            except SourceError as exc:
                if not entry.fall_through_on_error:
                    raise
                last = exc
        if last is None:  # pragma: no cover - parse() never returns an empty list
            raise SourceError(f"{what}: no module proxy configured")
        raise last


def module_url(base: str, path: str, tail: str) -> str:
    """``base/<escaped path>/@v/<tail>`` (tail: ``list``, or a version plus ``.info``/``.zip``)."""
    return f"{base}/{escape_path(path)}/@v/{tail}"


def version_file(version: str, suffix: str) -> str:
    """The ``@v/`` file name of ``version`` with ``suffix`` (``.zip``, ``.mod``, ``.info``)."""
    return escape_version(version) + suffix


def toolchain_version(version: GoVersion, platform: Platform) -> str:
    """The ``golang.org/toolchain`` version holding Go ``version`` for ``platform``:
    ``v0.0.1-go1.22.10.linux-amd64``."""
    return f"v0.0.1-{version.tag}.{platform.goos}-{platform.goarch}"


def toolchain_zip(version: GoVersion, platform: Platform) -> str:
    """The proxy's file name for that version's zip (what gobuild.lock records)."""
    return version_file(toolchain_version(version, platform), ".zip")
