"""The extraction allowlist: which archive members a toolchain tree may contain.

Only regular files and directories under one root folder (``go/``); no
absolute names, ``..``, symlinks, hardlinks, devices, fifos or sparse files,
no setuid/setgid/sticky bits, no duplicate names, and bounds on entry count
and sizes. Any violation rejects the whole archive.
"""

from __future__ import annotations

import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath

from gobuild.errors import ArchiveError


@dataclass(frozen=True)
class Limits:
    """Bounds that reject archive bombs. Go distributions hold ~15k entries, ~300 MB."""

    max_entries: int = 100_000
    max_total_bytes: int = 4 << 30
    max_file_bytes: int = 1 << 30

    def tar_bytes(self) -> int:
        """The largest ``.tar`` these limits allow: data plus a few header blocks per entry."""
        return self.max_total_bytes + self.max_entries * 4 * 512 + (1 << 20)


class Checker:
    """Applies the allowlist to a stream of (name, kind, mode, size) members.

    ``name`` is the archive's, for messages; members for which ``skip(name)``
    is true are not part of the tree (a wheel's metadata).
    """

    def __init__(
        self, name: str, root: str, limits: Limits, skip: Callable[[str], bool] | None
    ) -> None:
        self.name = name
        self.root = root
        self.limits = limits
        self.skip = skip or (lambda _: False)
        self.seen: set[str] = set()
        self.total = 0

    def reject(self, name: str, why: str) -> ArchiveError:
        """The error that rejects the archive because of member ``name``."""
        return ArchiveError(f"{self.name}: rejected member {name!r}: {why}")

    def check(self, name: str, kind: str, mode: int, size: int) -> str:
        """Validate one member; return its normalised relative path."""
        if "\x00" in name or "\\" in name:
            raise self.reject(name, "illegal character in name")
        if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
            raise self.reject(name, "absolute path")
        parts = PurePosixPath(name).parts
        if ".." in parts:
            raise self.reject(name, "'..' in path")
        clean = "/".join(p for p in parts if p != ".")
        if clean != self.root and not clean.startswith(self.root + "/"):
            raise self.reject(name, f"outside the {self.root}/ folder")
        if kind not in ("file", "dir"):
            raise self.reject(name, f"{kind} entries are not allowed")
        if mode & (stat.S_ISUID | stat.S_ISGID | stat.S_ISVTX):
            raise self.reject(name, "setuid, setgid or sticky bit")
        if clean in self.seen:
            raise self.reject(name, "duplicate name")
        self.seen.add(clean)
        if len(self.seen) > self.limits.max_entries:
            raise self.reject(name, f"more than {self.limits.max_entries} entries")
        if size > self.limits.max_file_bytes:
            raise self.reject(name, f"larger than {self.limits.max_file_bytes} bytes")
        self.total += size
        if self.total > self.limits.max_total_bytes:
            raise self.reject(name, f"archive expands beyond {self.limits.max_total_bytes} bytes")
        return clean
