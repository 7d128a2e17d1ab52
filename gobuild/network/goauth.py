"""GOAUTH as the go command reads it: the variable's entries and its commands' output.

``GOAUTH`` (``go help goauth``, Go 1.24; default ``netrc``) is a ``;``-separated list
of ``off``, ``netrc`` (:func:`gobuild.network.credentials.read_netrc`) and commands
printing headers for URL prefixes (:func:`parse_goauth_output`). They apply to https
URLs only, as in Go. ``git DIR`` entries are skipped: gobuild never runs git for
credentials. Running the entries is :mod:`gobuild.network.authstore`'s.
"""

from __future__ import annotations

import re
from typing import NamedTuple
from urllib.parse import urlsplit

from gobuild.errors import ConfigError, SourceError
from gobuild.network.credentials import Credential
from gobuild.network.redact import redact


class GoauthEntry(NamedTuple):
    """One entry of GOAUTH's list."""

    kind: str  # "netrc", "git" or "command"
    argv: tuple[str, ...]


def _split_quoted(command: str) -> list[str]:
    """Words of a GOAUTH command: space-separated, '…' and "…" quote (cmd/internal/quoted)."""
    words: list[str] = []
    rest = command
    while rest := rest.lstrip(" \t\n\r"):
        if rest[0] in "'\"":
            end = rest.find(rest[0], 1)
            if end < 0:
                raise ConfigError(f"GOAUTH: unterminated {rest[0]} string in a command")
            words.append(rest[1:end])
            rest = rest[end + 1 :]
            continue
        match = re.search(r"[ \t\n\r]", rest)
        end = match.start() if match else len(rest)
        words.append(rest[:end])
        rest = rest[end:]
    return words


def parse_goauth(value: str) -> tuple[GoauthEntry, ...]:
    """GOAUTH's entries; ``off`` gives none. ConfigError as the go command would fail."""
    parts = value.split(";")
    entries: list[GoauthEntry] = []
    for part in parts:
        words = part.split()
        if not words:
            raise ConfigError("GOAUTH: an empty entry (GOAUTH is a ;-separated list)")
        if words[0] == "off":
            if len(parts) != 1:
                raise ConfigError("GOAUTH: 'off' cannot be combined with other entries")
            return ()
        if words[0] == "netrc":
            entries.append(GoauthEntry("netrc", ()))
        elif words[0] == "git":
            entries.append(GoauthEntry("git", tuple(words[1:])))
        else:
            entries.append(GoauthEntry("command", tuple(_split_quoted(part))))
    return tuple(entries)


_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


def parse_goauth_output(text: str, shown: str = "GOAUTH command") -> dict[str, Credential]:
    """A GOAUTH command's output (``go help goauth``): credential sets of https URL
    lines, a blank line, header lines, a blank line. Returns credentials by prefix
    (``host[:port][/path]``); an empty header set removes a prefix's credentials.

    Raises SourceError naming what is wrong, never a header's value.
    """
    found: dict[str, Credential] = {}

    def bad(what: str) -> SourceError:
        return SourceError(f"cannot parse the output of {shown}: {what}")

    # As the go command reads it (strings.Cut line by line): every line, the last
    # blank one included, ends with a newline.
    data = text
    while data:
        prefixes: list[str] = []
        while True:
            line, newline, data = data.partition("\n")
            if not newline:
                raise bad("missing empty line after URLs")
            if not line:
                break
            parts = urlsplit(line)
            if parts.scheme != "https" or not parts.netloc or "@" in parts.netloc:
                raise bad(f"not an https URL without user information: {redact(line)}")
            host = parts.netloc.lower().removesuffix(":443")
            prefixes.append((host + parts.path).rstrip("/"))
        headers: list[tuple[str, str]] = []
        while True:
            line, newline, data = data.partition("\n")
            if not newline:
                raise bad("missing empty line after headers")
            if not line:
                break
            name, sep, value = line.partition(": ")
            value = value.strip()
            if not sep or not _HEADER_NAME.match(name) or any(c in value for c in "\r\n\0"):
                raise bad("invalid header line")
            headers.append((name, value))
        for prefix in prefixes:
            found[prefix] = Credential(tuple(headers), shown)
    return found
