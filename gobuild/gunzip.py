"""Inflating a ``.tar.gz`` while it downloads.

:class:`GunzipSink` is what :meth:`gobuild.fetch.Fetcher.download` writes the
compressed body into. A worker thread inflates each chunk as it arrives and
appends the result to a plain ``.tar`` file, so when the last byte (and with it
the sha256) arrives, the archive is already decompressed and only its members
remain to be written. Nothing is extracted here: the ``.tar`` is an
intermediate file in the install's private temp directory, and extraction
starts only after the caller has compared the digest.

ISA-L (the ``isal`` package) inflates about 2.5x faster than zlib; zlib is the
fallback where no isal wheel exists. Both check the gzip trailer (CRC-32 and
length), and a stream that ends before its trailer is an error, never a shorter
valid archive.
"""

from __future__ import annotations

import os
import queue
import threading
import zlib
from pathlib import Path
from types import ModuleType

from gobuild.errors import ArchiveError

_inflater: ModuleType
try:
    from isal import isal_zlib as _inflater
except ImportError:  # no isal wheel for this platform: zlib is the same format, slower
    _inflater = zlib

_END = b""


class GunzipSink:
    """A write-only, rewindable sink: gzip in, the inflated stream written to ``path``.

    ``limit`` bounds the inflated size, so a gzip bomb fails early instead of
    filling the disk. Errors from the worker are raised by :meth:`finish`, after
    the caller had a chance to report a digest mismatch first (a wrong file is
    a security signal; its being corrupt is secondary).
    """

    def __init__(self, path: Path, name: str, limit: int) -> None:
        self.path = path
        self.name = name
        self.limit = limit
        self._fed = 0
        self._worker: _Worker | None = None
        self._start()

    def _start(self) -> None:
        self._fed = 0
        self._worker = _Worker(self.path, self.name, self.limit)

    # The file-like subset Fetcher.download uses: write, tell, seek(start), truncate, flush.
    def write(self, data: bytes, /) -> int:
        """Queue ``data`` for inflation (blocks while the worker is far behind)."""
        assert self._worker is not None, "write after finish or abort"
        self._worker.put(bytes(data))
        self._fed += len(data)
        return len(data)

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
        """Nothing to flush: the worker owns the output file."""

    def finish(self) -> int:
        """Wait for the worker; return the inflated size. Raises :class:`ArchiveError`
        when the stream was not one complete gzip member."""
        worker, self._worker = self._worker, None
        assert worker is not None, "finish after finish or abort"
        return worker.finish()

    def abort(self) -> None:
        """Stop the worker and delete its output (safe to call more than once)."""
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.abort()

    def reader(self) -> GrowingReader:
        """A reader of the inflated stream so far, for a thread that parses it meanwhile."""
        assert self._worker is not None, "reader after finish or abort"
        return GrowingReader(self._worker)


class GrowingReader:
    """Reads the ``.tar`` as it is being written: a read waits until its bytes are
    there, and returns short only at the end of the stream (or after an error or an
    abort, which the sink's :meth:`~GunzipSink.finish` reports)."""

    def __init__(self, worker: _Worker) -> None:
        self._worker = worker
        self._fd = os.open(worker.path, os.O_RDONLY | os.O_CLOEXEC)
        self._pos = 0

    def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes from the position (all the rest when ``n`` < 0)."""
        end = self._worker.wait_for(self._pos + n if n >= 0 else None)
        data = os.pread(self._fd, max(0, min(end - self._pos, n if n >= 0 else end)), self._pos)
        self._pos += len(data)
        return data

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        """Move the position (data need not be there yet)."""
        if whence == os.SEEK_SET:
            self._pos = offset
        elif whence == os.SEEK_CUR:
            self._pos += offset
        else:
            self._pos = self._worker.wait_for(None) + offset
        return self._pos

    def tell(self) -> int:
        """The position."""
        return self._pos

    def close(self) -> None:
        """Release the file."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class _Worker:
    """One inflation pass: a thread, its queue and its output file."""

    def __init__(self, path: Path, name: str, limit: int) -> None:
        self.path = path
        self.name = name
        self.limit = limit
        self.size = 0  # inflated so far
        self.written = 0  # of which on disk, readable by a GrowingReader
        self.done = False
        self._grew = threading.Condition()
        self.error: BaseException | None = None
        self._chunks: queue.Queue[bytes] = queue.Queue(maxsize=32)
        self._stop = threading.Event()
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
        self._fd = os.open(path, flags, 0o600)
        self._thread = threading.Thread(target=self._run, name="gobuild-gunzip", daemon=True)
        self._thread.start()

    def put(self, chunk: bytes) -> None:
        # After an error the worker drains without inflating, so this never blocks forever.
        while True:
            try:
                self._chunks.put(chunk, timeout=0.1)
                return
            except queue.Full:
                if not self._thread.is_alive():
                    return

    def _run(self) -> None:
        z = _inflater.decompressobj(wbits=31)
        try:
            while (chunk := self._chunks.get()) != _END:
                if self.error is not None or self._stop.is_set():
                    continue  # keep draining so put() never blocks
                try:
                    self._inflate(z, chunk)
                except BaseException as exc:  # handed to finish()
                    self.error = exc
            if self.error is None and not self._stop.is_set() and not z.eof:
                self.error = ArchiveError(
                    f"{self.name}: corrupt or truncated archive: compressed stream ended early"
                )
        finally:
            os.close(self._fd)
            with self._grew:
                self.done = True
                self._grew.notify_all()

    def wait_for(self, size: int | None) -> int:
        """Wait until ``size`` bytes are on disk (None: until the end); return how many are."""
        with self._grew:
            while not self.done and (size is None or self.written < size):
                self._grew.wait()
            return self.written

    def _inflate(self, z: zlib._Decompress, chunk: bytes) -> None:
        try:
            out = z.decompress(chunk)
        except _inflater.error as exc:
            raise ArchiveError(f"{self.name}: corrupt or truncated archive: {exc}") from None
        if z.unused_data:
            raise ArchiveError(f"{self.name}: unexpected data after the gzip stream")
        self.size += len(out)
        if self.size > self.limit:
            raise ArchiveError(f"{self.name}: archive expands beyond {self.limit} bytes")
        view = memoryview(out)
        while view:
            view = view[os.write(self._fd, view) :]
        with self._grew:
            self.written = self.size
            self._grew.notify_all()

    def finish(self) -> int:
        self._chunks.put(_END)
        self._thread.join()
        if self.error is not None:
            self.path.unlink(missing_ok=True)
            raise self.error
        return self.size

    def abort(self) -> None:
        self._stop.set()
        with self._grew:  # a reader waiting for more sees the end now
            self.done = True
            self._grew.notify_all()
        self._chunks.put(_END)
        self._thread.join()
        self.path.unlink(missing_ok=True)
