"""Safe extraction of Go distributions (``.tar.gz`` and wheel ``.zip``).

An allowlist, checked member by member before anything is written: only
regular files and directories under one root folder (``go/``); no absolute
names, ``..``, symlinks, hardlinks, devices or fifos, no setuid/setgid/sticky
bits, no duplicate names, and bounds on entry count and sizes. Any violation
rejects the whole archive and removes the destination. tar members are then
extracted through tarfile's ``data`` filter as a second, independent layer.
"""

from __future__ import annotations

import os
import queue
import stat
import tarfile
import threading
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from gobuild.atomic import remove_tree
from gobuild.errors import ArchiveError
from gobuild.progress import Reporter, Silent

_COPY_CHUNK = 1 << 20


@dataclass(frozen=True)
class Limits:
    """Bounds that reject archive bombs. Go distributions hold ~15k entries, ~300 MB."""

    max_entries: int = 100_000
    max_total_bytes: int = 4 << 30
    max_file_bytes: int = 1 << 30


@dataclass(frozen=True)
class Stats:
    """What an extraction wrote."""

    entries: int
    bytes: int


class _Checker:
    """Applies the allowlist to a stream of (name, kind, mode, size) members."""

    def __init__(self, archive: Path, root: str, limits: Limits) -> None:
        self.archive = archive
        self.root = root
        self.limits = limits
        self.seen: set[str] = set()
        self.total = 0

    def reject(self, name: str, why: str) -> ArchiveError:
        return ArchiveError(f"{self.archive.name}: rejected member {name!r}: {why}")

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


def extract(
    archive: Path,
    dest: Path,
    *,
    root: str = "go",
    skip: Callable[[str], bool] | None = None,
    limits: Limits | None = None,
    reporter: Reporter | None = None,
) -> Stats:
    """Extract ``archive`` (``.tar.gz``/``.tgz`` or ``.zip``/``.whl``) into new directory ``dest``.

    The extracted tree is read-only (files lose their write bits, directories
    become 0555), as an installed toolchain must be.

    Members for which ``skip(name)`` is true are ignored (a wheel's
    ``*.dist-info/``). On any error ``dest`` is removed, so nothing is left behind.
    """
    checker = _Checker(archive, root, limits or Limits())
    reporter = reporter or Silent()
    dest.mkdir(parents=True)
    try:
        if archive.name.endswith((".zip", ".whl")):
            _extract_zip(archive, dest, checker, skip, reporter)
        elif archive.name.endswith((".tar.gz", ".tgz")):
            _extract_tar(archive, dest, checker, skip, reporter)
        else:
            raise ArchiveError(f"{archive.name}: unknown archive format")
        if root not in {p.split("/", 1)[0] for p in checker.seen}:
            raise ArchiveError(f"{archive.name}: no {root}/ folder in the archive")
    except BaseException:
        remove_tree(dest)
        raise
    return Stats(entries=len(checker.seen), bytes=checker.total)


class _Gunzip:
    """A read-only stream of an archive's decompressed bytes, inflated on a thread.

    zlib in gzip mode (wbits 31) checks the trailer's CRC-32 and length itself,
    so a stream cut anywhere, even between two tar members, is an error, never
    a shorter valid archive. The inflate calls release the GIL, so inflating
    overlaps with tar parsing and file creation on the reading thread.
    """

    _END = b""

    def __init__(self, raw: IO[bytes], name: str, reporter: Reporter) -> None:
        self._raw = raw
        self._name = name
        self._reporter = reporter
        self._chunks: queue.Queue[bytes | BaseException] = queue.Queue(maxsize=16)
        self._buf = b""
        self._pos = 0
        self._done = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._inflate, name="gobuild-gunzip", daemon=True)
        self._thread.start()

    def _inflate(self) -> None:
        try:
            z = zlib.decompressobj(wbits=31)
            while not self._stop.is_set():
                raw = self._raw.read(_COPY_CHUNK)
                self._reporter.advance(len(raw))
                if not raw:
                    if not z.eof:
                        raise ArchiveError(
                            f"{self._name}: corrupt or truncated archive: "
                            "compressed stream ended early"
                        )
                    break
                out = z.decompress(raw)
                if z.unused_data:
                    raise ArchiveError(f"{self._name}: unexpected data after the gzip stream")
                if out:
                    self._put(out)
            self._put(self._END)
        except BaseException as exc:  # handed to the reading thread
            if isinstance(exc, zlib.error):
                exc = ArchiveError(f"{self._name}: corrupt or truncated archive: {exc}")
            self._put(exc)

    def _put(self, item: bytes | BaseException) -> None:
        while not self._stop.is_set():
            try:
                self._chunks.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def read(self, n: int = -1) -> bytes:
        while len(self._buf) - self._pos < n or n < 0:
            if self._done:
                break
            item = self._chunks.get()
            if isinstance(item, BaseException):
                raise item
            if item == self._END:
                self._done = True
                break
            self._buf = self._buf[self._pos :] + item
            self._pos = 0
        end = len(self._buf) if n < 0 else self._pos + n
        data = self._buf[self._pos : end]
        self._pos += len(data)
        return data

    def drain(self) -> None:
        """Read to the end, so the trailer (CRC-32, length) is checked."""
        while self.read(_COPY_CHUNK):
            pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


class _Writer:
    """Creates the directories and files of an extraction under ``dest``.

    Single-threaded on purpose: writer threads were measured slower here, as
    every file-system call hands the GIL back and forth with the reading thread.
    Files are created with O_EXCL and O_NOFOLLOW, so nothing already on disk
    (or reached through a link) is ever overwritten, and already read-only: a
    descriptor from O_CREAT is writable whatever the mode, which saves a chmod
    per file. :meth:`seal` makes the directories read-only at the end.
    """

    def __init__(self, dest: Path) -> None:
        self.dest = dest
        self.dirs: set[str] = {""}

    def mkdir(self, rel: str) -> None:
        if rel not in self.dirs:
            (self.dest / rel).mkdir(mode=0o755, parents=True, exist_ok=True)
            parts = rel.split("/")
            self.dirs.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))

    def write(self, rel: str, data: bytes, mode: int) -> None:
        self.mkdir(rel.rpartition("/")[0])
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(self.dest / rel, flags, mode & ~0o222)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)

    def seal(self) -> None:
        """Make every directory read-only, deepest first."""
        for rel in sorted(self.dirs, key=lambda d: d.count("/") + bool(d), reverse=True):
            os.chmod(self.dest / rel, 0o555)  # noqa: PTH101, S103 - world-readable like any GOROOT


def _extract_tar(
    archive: Path,
    dest: Path,
    checker: _Checker,
    skip: Callable[[str], bool] | None,
    reporter: Reporter,
) -> None:
    reporter.stage("extract", archive.stat().st_size)
    try:
        with archive.open("rb") as raw:
            gz = _Gunzip(raw, archive.name, reporter)
            try:
                _extract_tar_stream(gz, archive, dest, checker, skip)
                gz.drain()
            finally:
                gz.close()
    except tarfile.FilterError as exc:
        raise ArchiveError(f"{archive.name}: rejected by tarfile's data filter: {exc}") from None
    except (tarfile.TarError, EOFError) as exc:
        raise ArchiveError(f"{archive.name}: corrupt or truncated archive: {exc}") from None
    except (NotADirectoryError, FileExistsError, IsADirectoryError) as exc:
        raise ArchiveError(f"{archive.name}: conflicting entries at {exc.filename}") from None
    except OSError as exc:
        if exc.errno:
            raise  # a local I/O problem such as a full disk, not a bad archive
        raise ArchiveError(f"{archive.name}: corrupt archive: {exc}") from None


def _extract_tar_stream(
    gz: _Gunzip,
    archive: Path,
    dest: Path,
    checker: _Checker,
    skip: Callable[[str], bool] | None,
) -> None:
    writer = _Writer(dest)
    with tarfile.open(fileobj=gz, mode="r|") as tar:  # type: ignore[call-overload]
        for member in tar:
            if skip and skip(member.name):
                continue
            kind = "file" if member.isreg() else "dir" if member.isdir() else _tar_kind(member)
            clean = checker.check(member.name, kind, member.mode, member.size)
            # Second, independent layer: tarfile's own "data" filter.
            safe = tarfile.data_filter(member, str(dest))
            if kind == "dir":
                writer.mkdir(clean)
                continue
            src = tar.extractfile(member)
            data = src.read() if src else b""
            if len(data) != member.size:
                raise ArchiveError(f"{archive.name}: truncated member {member.name!r}")
            writer.write(clean, data, safe.mode if safe.mode is not None else 0o644)
    writer.seal()


def _tar_kind(member: tarfile.TarInfo) -> str:
    if member.issym():
        return "symlink"
    if member.islnk():
        return "hardlink"
    if member.ischr() or member.isblk():
        return "device"
    if member.isfifo():
        return "fifo"
    return f"type {member.type!r}"


def _extract_zip(
    archive: Path,
    dest: Path,
    checker: _Checker,
    skip: Callable[[str], bool] | None,
    reporter: Reporter,
) -> None:
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ArchiveError(f"{archive.name}: corrupt archive: {exc}") from None
    writer = _Writer(dest)
    try:
        with zf:
            infos = zf.infolist()
            reporter.stage("extract", sum(i.file_size for i in infos))
            for info in infos:
                if skip and skip(info.filename):
                    continue
                mode = info.external_attr >> 16
                fmt = stat.S_IFMT(mode)
                if info.is_dir():
                    kind = "dir"
                elif fmt in (0, stat.S_IFREG):
                    kind = "file"
                else:
                    kind = {stat.S_IFLNK: "symlink", stat.S_IFIFO: "fifo"}.get(fmt, "device")
                clean = checker.check(info.filename, kind, mode, info.file_size)
                if kind == "dir":
                    writer.mkdir(clean)
                    continue
                data = _read_member(zf, info, checker)
                writer.write(clean, data, 0o755 if mode & 0o111 else 0o644)
                reporter.advance(info.file_size)
            writer.seal()
    except (NotADirectoryError, FileExistsError, IsADirectoryError) as exc:
        raise ArchiveError(f"{archive.name}: conflicting entries at {exc.filename}") from None


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, checker: _Checker) -> bytes:
    try:
        with zf.open(info) as src:
            # The declared size was checked; never trust it for the real bytes.
            data = src.read(info.file_size + 1)
    except (zipfile.BadZipFile, EOFError, zlib.error) as exc:
        raise ArchiveError(
            f"{checker.archive.name}: corrupt member {info.filename!r}: {exc}"
        ) from None
    if len(data) > info.file_size:
        raise checker.reject(info.filename, "more data than its declared size")
    return data
