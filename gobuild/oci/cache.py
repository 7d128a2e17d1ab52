"""A content-addressed store of registry blobs and manifests, shared by every project.

What a digest names never changes, so a blob is fetched once: a release on a pinned base
(``[docker] runtime_digest``) whose blobs are here sends no request at all. Files are
written whole (a temporary file renamed), and each read is checked against its digest,
so a damaged entry is fetched again rather than used.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from gobuild import atomic


class BlobCache:
    """``ROOT/sha256/HEX`` files, each holding what its digest names."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, digest: str) -> Path:
        """Where ``digest``'s bytes are kept."""
        algorithm, _, hexdigest = digest.partition(":")
        return self.root / algorithm / hexdigest

    def get(self, digest: str) -> bytes | None:
        """The bytes ``digest`` names, or None when absent or damaged."""
        try:
            data = self.path(digest).read_bytes()
        except OSError:
            return None
        if "sha256:" + hashlib.sha256(data).hexdigest() != digest:
            return None
        return data

    def put(self, digest: str, data: bytes) -> None:
        """Keep ``data`` (already checked against ``digest`` by the caller)."""
        path = self.path(digest)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic.write_bytes(path, data, durable=False)
