"""Inflating a ``.tar.gz`` while it downloads.

:class:`GunzipSink` is what :meth:`gobuild.fetch.Fetcher.download` writes the
compressed body into. It inflates each chunk as it arrives and appends the
result to a plain ``.tar`` file, so when the last byte (and with it the
sha256) arrives, the archive is already decompressed. Nothing is extracted
here: the ``.tar`` is an intermediate file in the install's private temp
directory, and extraction starts only after the caller has compared the digest.

ISA-L (the ``isal`` package) inflates about 2.5x faster than zlib; zlib is the
fallback where no isal wheel exists. Both check the gzip trailer (CRC-32 and
length), and a stream that ends before its trailer is an error, never a shorter
valid archive.
"""

from __future__ import annotations

import os
import zlib
from pathlib import Path
from types import ModuleType

from gobuild.errors import ArchiveError

_inflater: ModuleType
try:
    from isal import isal_zlib as _inflater
except ImportError:  # no isal wheel for this platform: zlib is the same format, slower
    _inflater = zlib


class GunzipSink:
    """A write-only, rewindable sink: gzip in, the inflated stream written to ``path``.

    Each chunk is inflated as it is written, on the caller's thread: a chunk of
    the body takes a few milliseconds to inflate, far less than it takes to
    arrive over a network, and a worker thread measured slower (hand-offs).
    ``limit`` bounds the inflated size, so a gzip bomb fails early instead of
    filling the disk. A corrupt stream is reported by :meth:`finish`, not by
    :meth:`write`, so the caller can report a digest mismatch first (a wrong
    file is a security signal; its being corrupt is secondary).
    """

    def __init__(self, path: Path, name: str, limit: int) -> None:
        self.path = path
        self.name = name
        self.limit = limit
        self._fd = -1
        self._start()

    def _start(self) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
        self._fd = os.open(self.path, flags, 0o600)
        self._z = _inflater.decompressobj(wbits=31)
        self._fed = 0
        self.size = 0  # inflated and written so far
        self.done = False  # no more bytes will come (end, error or abort)
        self.error: BaseException | None = None

    # The file-like subset Fetcher.download uses: write, tell, seek(start), truncate, flush.
    def write(self, data: bytes, /) -> int:
        """Inflate ``data`` and append the result to the file."""
        self._fed += len(data)
        if self.error is None and not self.done:
            try:
                self._inflate(data)
            except (ArchiveError, OSError) as exc:
                self._end(exc)
        return len(data)

    def _inflate(self, data: bytes) -> None:
        try:
            out = self._z.decompress(data)
        except _inflater.error as exc:
            raise ArchiveError(f"{self.name}: corrupt or truncated archive: {exc}") from None
        if self._z.unused_data:
            raise ArchiveError(f"{self.name}: unexpected data after the gzip stream")
        if self.size + len(out) > self.limit:
            raise ArchiveError(f"{self.name}: archive expands beyond {self.limit} bytes")
        view = memoryview(out)
        while view:
            view = view[os.write(self._fd, view) :]
        self.size += len(out)

    def _end(self, error: BaseException | None) -> None:
        if not self.done:
            self.error = error
            self.done = True
            os.close(self._fd)

    def tell(self) -> int:
        """Compressed bytes written so far."""
        return self._fed

    def seek(self, offset: int, whence: int = os.SEEK_SET, /) -> int:
        """Rewind to the start (the only seek a retried download makes)."""
        if (offset, whence) != (0, os.SEEK_SET):
            raise ValueError("GunzipSink can only rewind to the start")
        return 0

    def truncate(self, size: int | None = None, /) -> int:
        """Drop everything written so far: a retry starts a fresh stream."""
        if size not in (None, 0):
            raise ValueError("GunzipSink can only be truncated to empty")
        self.abort()
        self._start()
        return 0

    def flush(self) -> None:
        """Nothing to flush: every write went to the file."""

    def finish(self) -> int:
        """End the stream; return the inflated size. Raises :class:`ArchiveError`
        (and deletes the file) when it was not one complete gzip member."""
        if self.error is None and not self.done and not self._z.eof:
            self._end(
                ArchiveError(
                    f"{self.name}: corrupt or truncated archive: compressed stream ended early"
                )
            )
        self._end(None)
        if self.error is not None:
            self.path.unlink(missing_ok=True)
            raise self.error
        return self.size

    def abort(self) -> None:
        """End the stream and delete the file (safe to call more than once)."""
        self._end(None)
        self.path.unlink(missing_ok=True)
