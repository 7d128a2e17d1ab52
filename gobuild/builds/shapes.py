"""The part of a package's source file that decides which packages and files a build takes.

The go command reads only the top of a ``.go`` file to decide whether the file is in a
build and what it imports — its build constraints, package clause and imports (with
cgo's preamble) — and finds ``//go:embed`` directives anywhere in it. Of assembly, C and
header files it reads the build-constraint lines; of a ``.syso``, ``go.mod`` or
``default.pgo`` only the name matters. A file's *shape* is a digest of exactly those
parts: an edit inside a function body keeps it, a new import, constraint or embedding
changes it. :class:`Shapes` remembers each file's shape under its size and mtime, so a
file is read again only after it changed.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# A top-level declaration other than an import: the imports are over (the Go spec puts
# every import declaration before them).
_DECLARATION = re.compile(rb"(?:func|var|const|type)\b")
_CONSTRAINT = re.compile(rb"^[ \t]*//[ \t]*(?:go:build|\+build)\b.*$", re.MULTILINE)
_EMBED = re.compile(rb"^[ \t]*//go:embed\b.*$", re.MULTILINE)
_NAME_ONLY = (".syso",)
_NAMES_ONLY = ("go.mod", "default.pgo")
MISSING = "-"


def shape(path: Path) -> str:
    """The digest of what in ``path`` the go command's choice of files depends on."""
    if path.name.endswith(_NAME_ONLY) or path.name in _NAMES_ONLY:
        return "" if path.exists() else MISSING
    try:
        data = path.read_bytes()
    except OSError:
        return MISSING
    if path.name.endswith(".go"):
        parts = [header(data), *_EMBED.findall(data)]
    else:
        parts = _CONSTRAINT.findall(data)
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part)
        digest.update(b"\0")
    return digest.hexdigest()[:32]


def header(data: bytes) -> bytes:
    """A Go file's build constraints, package clause, imports and cgo preamble: the file
    up to its last line of code before the first top-level declaration that is not an
    import (comments are stepped over, so a ``func`` at the start of a comment's line
    ends nothing, and the comments just before that declaration are left out)."""
    in_comment = False
    offset = end = 0
    for line in data.splitlines(keepends=True):
        offset += len(line)
        if in_comment:
            closed = line.find(b"*/")
            in_comment = closed < 0
            if not in_comment and _is_code(line[closed + 2 :]):
                end = offset
            continue
        if _DECLARATION.match(line):
            break
        opened = line.rfind(b"/*")
        in_comment = opened >= 0 and b"*/" not in line[opened + 2 :] and b"//" not in line[:opened]
        if _is_code(line):
            end = offset
    return data[:end]


def _is_code(line: bytes) -> bool:
    """Whether a line (outside a block comment) holds more than comments: when unsure, yes."""
    text = line.strip()
    if not text or text.startswith(b"//"):
        return False
    if text.startswith(b"/*"):
        closed = text.find(b"*/", 2)
        return closed >= 0 and _is_code(text[closed + 2 :])
    return True


class Shapes:
    """Files' shapes, remembered by size and mtime (as ``[size, mtime_ns, shape]``)."""

    def __init__(self, known: Mapping[str, Any] | None = None) -> None:
        self.known = dict(known) if isinstance(known, Mapping) else {}
        self.used: dict[str, list[Any]] = {}  # the files asked about, for the next run
        self.changed = False  # a shape was computed, not remembered

    def of(self, path: Path) -> str:
        """``path``'s shape: remembered while its size and mtime are, else read."""
        try:
            st = path.stat()
        except OSError:
            return MISSING
        key = str(path)
        known = self.known.get(key)
        if (
            isinstance(known, list)
            and len(known) == 3  # [size, mtime_ns, shape]
            and known[:2] == [st.st_size, st.st_mtime_ns]
            and isinstance(known[2], str)
        ):
            value: str = known[2]
        else:
            value = shape(path)
            self.changed = True
        self.known[key] = self.used[key] = [st.st_size, st.st_mtime_ns, value]
        return value
