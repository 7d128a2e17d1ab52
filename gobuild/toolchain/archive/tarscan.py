"""Receiving a ``.tar.gz`` and checking its headers while it downloads.

:class:`TarReceiver` is the sink a download writes into. A helper process
inflates the body to a plain ``.tar`` as it arrives (:mod:`.gunzip`),
and a thread here reads the tar headers as they appear, skipping the data by
seeking, and runs every member through the allowlist (:mod:`.allowlist`).
When the last byte has arrived and the caller has compared the digest,
:meth:`TarReceiver.finish` returns a :class:`ScannedTar`: the members that
passed, ready for :func:`.extract.extract_scanned` to write. Nothing is
written into a tree before then.
"""

from __future__ import annotations

import os
import tarfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from gobuild.errors import ArchiveError
from gobuild.toolchain.archive import tarworker
from gobuild.toolchain.archive.allowlist import Checker, Limits
from gobuild.toolchain.archive.gunzip import GrowingReader, GunzipSink


@dataclass
class ScannedTar:
    """A ``.tar`` whose every header passed the allowlist."""

    path: Path
    checker: Checker
    dirs: list[tuple[str, tarfile.TarInfo]] = field(default_factory=list)
    files: list[tarworker.Job] = field(default_factory=list)


class TarReceiver:
    """A download sink (write/tell/seek/truncate/flush) that inflates a ``.tar.gz``
    into ``path`` and checks its headers as it arrives. ``name`` is the
    archive's, for messages."""

    def __init__(
        self,
        path: Path,
        name: str,
        *,
        root: str = "go",
        limits: Limits | None = None,
        skip: Callable[[str], bool] | None = None,
    ) -> None:
        self.path = path
        self.name = name
        self.root = root
        self.limits = limits or Limits()
        self.skip = skip
        self._sink = GunzipSink(path, name, self.limits.tar_bytes())
        self._scan = self._start_scan()

    def _start_scan(self) -> _Scan:
        checker = Checker(self.name, self.root, self.limits, self.skip)
        return _Scan(ScannedTar(self.path, checker), self._sink.reader())

    def write(self, data: bytes, /) -> int:
        """Take the next chunk of the compressed body."""
        return self._sink.write(data)

    def tell(self) -> int:
        """Compressed bytes taken so far."""
        return self._sink.tell()

    def seek(self, offset: int, whence: int = os.SEEK_SET, /) -> int:
        """Rewind to the start (before a retried download)."""
        return self._sink.seek(offset, whence)

    def truncate(self, size: int | None = None, /) -> int:
        """Start over: a retried download sends the whole body again."""
        self._sink.abort()  # ends the old stream, so the old scan ends too
        self._scan.join()
        self._sink.truncate(size)
        self._scan = self._start_scan()
        return 0

    def flush(self) -> None:
        """Nothing to flush."""

    def finish(self) -> ScannedTar:
        """End the stream and wait for the scan; raise :class:`ArchiveError` (and
        delete the ``.tar``) if the stream was corrupt or a member is not allowed."""
        try:
            try:
                size = self._sink.finish()
            finally:
                self._scan.join()
            return self._scan.result(size)
        except BaseException:
            self.path.unlink(missing_ok=True)
            raise

    def abort(self) -> None:
        """Stop, and delete the ``.tar`` (safe to call more than once)."""
        self._sink.abort()
        self._scan.join()


class _Scan:
    """One pass over the headers, on its own thread, as the ``.tar`` grows."""

    def __init__(self, scanned: ScannedTar, reader: GrowingReader) -> None:
        self.scanned = scanned
        self.reader = reader
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="gobuild-tarscan", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            with tarfile.TarFile(fileobj=self.reader, mode="r") as tf:  # type: ignore[arg-type]
                for member in tf:
                    self._check(member)
        except BaseException as exc:  # handed to result()
            self.error = exc
        finally:
            self.reader.close()

    def _check(self, member: tarfile.TarInfo) -> None:
        checker = self.scanned.checker
        if checker.skip(member.name):
            return
        regular = member.isreg() and not member.issparse()
        kind = "file" if regular else "dir" if member.isdir() else _kind(member)
        clean = checker.check(member.name, kind, member.mode, member.size)
        if kind == "dir":
            self.scanned.dirs.append((clean, member))
        else:
            self.scanned.files.append((clean, member))

    def join(self) -> None:
        self.thread.join()

    def result(self, size: int) -> ScannedTar:
        """The scan's outcome, once the stream (``size`` bytes of tar) is complete."""
        name = self.scanned.checker.name
        exc = self.error
        if isinstance(exc, (tarfile.TarError, EOFError)):
            raise ArchiveError(f"{name}: corrupt or truncated archive: {exc}") from None
        if exc is not None:
            raise exc
        for _, member in self.scanned.files:
            if member.offset_data + member.size > size:
                raise ArchiveError(f"{name}: truncated member {member.name!r}")
        return self.scanned


def _kind(member: tarfile.TarInfo) -> str:
    if member.issparse():
        return "sparse file"
    if member.issym():
        return "symlink"
    if member.islnk():
        return "hardlink"
    if member.ischr() or member.isblk():
        return "device"
    if member.isfifo():
        return "fifo"
    return f"type {member.type!r}"
