"""File digests (one implementation for archives, wheels and built binaries)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

_CHUNK = 1 << 20


def sha256_file(path: Path) -> str:
    """Hex sha256 of the file at ``path``, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class Artifact:
    """A downloadable file as gobuild.lock records it: its name and its digests.

    Archives and wheels are known by ``sha256`` (hex). A module zip is known
    by ``h1``, the checksum database's hash of its contents
    (golang.org/x/mod/sumdb/dirhash Hash1), and gains a ``sha256`` once downloaded.
    """

    filename: str
    sha256: str = ""
    h1: str = ""

    def mismatch(self, other: Artifact) -> str | None:
        """How ``other`` contradicts this record (a digest both know differs), or None."""
        if self.sha256 and other.sha256 and self.sha256 != other.sha256:
            return f"sha256 {self.sha256}, not {other.sha256}"
        if self.h1 and other.h1 and self.h1 != other.h1:
            return f"{self.h1}, not {other.h1}"
        return None
