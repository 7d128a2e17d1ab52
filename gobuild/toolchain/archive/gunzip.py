"""Inflating a ``.tar.gz`` while it downloads, in a helper process.

:class:`GunzipSink` is what :meth:`gobuild.fetch.Fetcher.download` writes the
compressed body into. It pipes each chunk to a helper process
(``tarworker.py inflate``) that inflates it and appends the result to a plain
``.tar``, reporting how far the file has grown; :meth:`GunzipSink.reader`
reads that file as it grows, so the tar headers can be checked while the body
still arrives (:mod:`.tarscan`). Inflation runs in its own process
because, on a thread, it and the pure-Python header parsing slowed each other
down by half (the GIL). Nothing is extracted here: the ``.tar`` is an
intermediate file in the install's private temp directory, and extraction
starts only after the caller has compared the digest.

The helper inflates with ISA-L (the ``isal`` package, about 2.5x zlib's
speed) where it is installed, else zlib. Both check the gzip trailer (CRC-32
and length); a stream that ends before its trailer is an error, never a
shorter valid archive.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
from pathlib import Path
from typing import IO

from gobuild import proc
from gobuild.errors import ArchiveError, ProcessError
from gobuild.toolchain.archive import tarworker


class GunzipSink:
    """A write-only, rewindable sink: gzip in, the inflated stream written to ``path``.

    ``limit`` bounds the inflated size, so a gzip bomb fails early instead of
    filling the disk. A corrupt stream is reported by :meth:`finish`, never by
    :meth:`write`, so the caller can report a digest mismatch first (a wrong
    file is a security signal; its being corrupt is secondary).
    """

    def __init__(self, path: Path, name: str, limit: int) -> None:
        self.path = path
        self.name = name
        self.limit = limit
        self._stream: _Stream | None = None
        self._start()

    def _start(self) -> None:
        self._fed = 0
        self._stream = _Stream(self.path, self.name, self.limit)

    def _current(self) -> _Stream:
        if self._stream is None:
            raise ArchiveError(f"{self.name}: the stream was already finished or aborted")
        return self._stream

    # The file-like subset Fetcher.download uses: write, tell, seek(start), truncate, flush.
    def write(self, data: bytes, /) -> int:
        """Hand ``data`` to the helper (blocks while it is a pipe's worth behind)."""
        self._current().feed(data)
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
        """Nothing to flush: every write went to the helper."""

    def finish(self) -> int:
        """End the stream; return the inflated size. Raises :class:`ArchiveError`
        (and deletes the file) when it was not one complete gzip member."""
        stream, self._stream = self._current(), None
        return stream.finish()

    def abort(self) -> None:
        """Stop the helper and delete the file (safe to call more than once)."""
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.abort()

    def reader(self) -> GrowingReader:
        """A reader of the inflated stream, for a thread that parses it meanwhile."""
        return GrowingReader(self._current())


class _Stream:
    """One helper process, and a thread that follows its progress reports."""

    def __init__(self, path: Path, name: str, limit: int) -> None:
        self.path = path
        self.name = name
        self.argv = [*tarworker.helper_argv(), "inflate", str(path), str(limit)]
        self.size = 0  # of the .tar, as the helper last reported
        self.done = False  # the helper reported its end (or was stopped)
        self.result: dict[str, object] = {}
        self._grew = threading.Condition()
        self._child = proc.start_helper(self.argv)
        _widen(self._child.stdin)
        self._follower = threading.Thread(target=self._follow, name="gobuild-gunzip", daemon=True)
        self._follower.start()

    def feed(self, data: bytes) -> None:
        assert self._child.stdin is not None
        # A helper that stopped early reports why at the end; the caller keeps hashing.
        with contextlib.suppress(BrokenPipeError):
            self._child.stdin.write(data)

    def _follow(self) -> None:
        """Read the helper's lines: a size after each write, a JSON result at the end."""
        assert self._child.stdout is not None
        tail = b""
        for line in self._child.stdout:
            if line[:1].isdigit():
                with self._grew:
                    self.size = int(line)
                    self._grew.notify_all()
            else:
                tail += line
        try:
            result = json.loads(tail) if tail.startswith(b"{") else {}
        except ValueError:
            result = {}
        with self._grew:
            self.result = result if isinstance(result, dict) else {}
            self.result.setdefault("output", tail.decode(errors="replace"))
            self.done = True
            self._grew.notify_all()

    def wait_for(self, size: int | None) -> int:
        """Wait until ``size`` bytes are in the file (None: until the end); return how many are."""
        with self._grew:
            while not self.done and (size is None or self.size < size):
                self._grew.wait()
            return self.size

    def finish(self) -> int:
        assert self._child.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            self._child.stdin.close()
        self._follower.join()
        code = self._child.wait()
        error = self.result.get("error")
        if code == 0 and error is None:
            return self.size
        self.path.unlink(missing_ok=True)
        if isinstance(error, str):
            raise ArchiveError(f"{self.name}: {error}")
        if isinstance(error, dict):  # an OSError, e.g. a full disk
            raise OSError(error.get("errno"), error.get("message"), error.get("filename"))
        raise ProcessError(self.argv, code, str(self.result.get("output", "")))

    def abort(self) -> None:
        proc.stop_group(self._child, grace=1.0)
        self._follower.join()  # the helper is gone, so its output has ended
        for pipe in (self._child.stdin, self._child.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
        with self._grew:  # a reader waiting for more sees the end now
            self.done = True
            self._grew.notify_all()
        self.path.unlink(missing_ok=True)


def _widen(pipe: IO[bytes] | None) -> None:
    """Grow the pipe to 1 MiB (Linux): with the default 64 KiB the helper wakes
    and inflates in small pieces, and the whole stream took 1.7x as long."""
    size_flag = getattr(fcntl, "F_SETPIPE_SZ", None)
    if pipe is not None and size_flag is not None:
        with contextlib.suppress(OSError):
            fcntl.fcntl(pipe.fileno(), size_flag, 1 << 20)


class GrowingReader:
    """Reads the ``.tar`` as it is being written: a read waits until its bytes are
    there, and returns short only at the end of the stream (or after an error or an
    abort, which the sink's :meth:`~GunzipSink.finish` reports)."""

    def __init__(self, stream: _Stream) -> None:
        self._stream = stream
        self._fd = -1
        self._pos = 0
        self._known = 0  # bytes known to be in the file: reads below it need no waiting

    def _file(self) -> int:
        if self._fd < 0:
            # The helper creates the file; wait for its first report (or its end).
            self._stream.wait_for(1)
            self._fd = os.open(self._stream.path, os.O_RDONLY | os.O_CLOEXEC)
        return self._fd

    def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes from the position (all the rest when ``n`` < 0)."""
        if n < 0 or self._pos + n > self._known:
            self._known = self._stream.wait_for(self._pos + n if n >= 0 else None)
        end = self._known
        count = max(0, min(end - self._pos, n) if n >= 0 else end - self._pos)
        if count == 0:
            return b""
        data = os.pread(self._file(), count, self._pos)
        self._pos += len(data)
        return data

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        """Move the position (data need not be there yet)."""
        if whence == os.SEEK_SET:
            self._pos = offset
        elif whence == os.SEEK_CUR:
            self._pos += offset
        else:
            self._known = self._stream.wait_for(None)
            self._pos = self._known + offset
        return self._pos

    def tell(self) -> int:
        """The position."""
        return self._pos

    def close(self) -> None:
        """Release the file."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
