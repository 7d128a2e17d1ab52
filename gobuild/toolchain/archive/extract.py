"""Safe extraction of Go distributions (``.tar.gz``, wheel ``.zip``, toolchain module zip).

Every member passes the allowlist (:mod:`.allowlist`) before any file
is written; any violation rejects the whole archive and removes the
destination. tar members then pass tarfile's ``data`` filter as a second,
independent layer as they are written.

A ``.tar.gz`` is inflated to a plain ``.tar`` and its headers checked
(:mod:`.tarscan`; the toolchain installer does both while
downloading). The files are then copied straight from the ``.tar`` into place
by several writers at once (:mod:`.tarworker`).
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import pickle
import stat
import sys
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from gobuild import proc
from gobuild.atomic import remove_tree
from gobuild.errors import ArchiveError, ProcessError
from gobuild.modules import dirhash
from gobuild.progress import Reporter, Silent
from gobuild.toolchain.archive import tarworker
from gobuild.toolchain.archive.allowlist import Checker, Limits
from gobuild.toolchain.archive.tarscan import ScannedTar, TarReceiver

T = TypeVar("T")
_COPY_CHUNK = 1 << 20
# Below this many bytes of .tar, one writer finishes before a helper has started.
_PARALLEL_FROM = 32 << 20


@dataclass(frozen=True)
class Stats:
    """What an extraction wrote."""

    entries: int
    bytes: int


def extract(
    archive: Path,
    dest: Path,
    *,
    root: str = "go",
    skip: Callable[[str], bool] | None = None,
    limits: Limits | None = None,
    reporter: Reporter | None = None,
    writers: int | None = None,
) -> Stats:
    """Extract ``archive`` (``.tar.gz``/``.tgz`` or ``.zip``/``.whl``) into new directory ``dest``.

    The extracted tree is read-only (files lose their write bits, directories
    become 0555), as an installed toolchain must be.

    Members for which ``skip(name)`` is true are ignored (a wheel's
    ``*.dist-info/``). ``writers`` processes write a tar's files (see
    :func:`extract_scanned`). On any error ``dest`` is removed, so nothing is
    left behind.
    """
    reporter = reporter or Silent()
    limits = limits or Limits()
    dest.mkdir(parents=True)
    try:
        if archive.name.endswith((".zip", ".whl")):
            checker = Checker(archive.name, root, limits, skip)
            _extract_zip(archive, dest, checker, reporter)
            return _stats(checker)
        if archive.name.endswith((".tar.gz", ".tgz")):
            fd, tmp = tempfile.mkstemp(prefix=f".{archive.name}.", suffix=".tar", dir=dest.parent)
            os.close(fd)
            receiver = TarReceiver(Path(tmp), archive.name, root=root, limits=limits, skip=skip)
            scanned = _receive_file(archive, receiver, reporter)
            try:
                return _write_scanned(scanned, dest, reporter, writers)
            finally:
                scanned.path.unlink(missing_ok=True)
        raise ArchiveError(f"{archive.name}: unknown archive format")
    except BaseException:
        remove_tree(dest)
        raise


def extract_scanned(
    scanned: ScannedTar,
    dest: Path,
    *,
    reporter: Reporter | None = None,
    writers: int | None = None,
) -> Stats:
    """Write a checked ``.tar`` (from :class:`~.tarscan.TarReceiver`) into new
    directory ``dest``, read-only, as :func:`extract` does.

    ``writers`` processes write the files (default: one per CPU, at most 4, for
    a toolchain-sized archive on Linux; else one). On any error ``dest`` is
    removed.
    """
    dest.mkdir(parents=True)
    try:
        return _write_scanned(scanned, dest, reporter or Silent(), writers)
    except BaseException:
        remove_tree(dest)
        raise


def extract_toolchain_zip(
    archive: Path,
    dest: Path,
    *,
    prefix: str,
    limits: Limits | None = None,
    reporter: Reporter | None = None,
    writers: int | None = None,
) -> tuple[Stats, str]:
    """Extract a ``golang.org/toolchain`` module zip into new directory ``dest`` as ``go/``.

    Every file must sit under ``prefix`` (``golang.org/toolchain@v0.0.1-go1.22.10.linux-amd64``)
    and passes the same allowlist as a tarball. Module zips carry no file modes,
    so the go command's executables are marked as it marks them (bin/, pkg/tool/,
    lib's go_*_*_exec), and every ``_go.mod`` gets its ``go.mod`` back. Returns the
    stats and the zip's ``h1:`` hash (dirhash Hash1), computed from the very bytes
    written, in the same pass: the caller compares it with the checksum database's
    before installing anything. ``writers`` processes write the files, as for a tar.
    """
    reporter = reporter or Silent()
    checker = Checker(archive.name, prefix, limits or Limits(), None)
    dest.mkdir(parents=True)
    pool: _Helpers | None = None
    try:
        try:
            zf = zipfile.ZipFile(archive)
        except (zipfile.BadZipFile, OSError) as exc:
            raise ArchiveError(f"{checker.name}: corrupt archive: {exc}") from None
        with zf:
            infos = zf.infolist()
        writer = _Writer(dest)
        names, jobs = _plan_zip(infos, checker, writer, prefix)
        if not jobs:
            raise ArchiveError(f"{checker.name}: no files under {prefix}/")
        reporter.stage("extract", len(jobs))
        n = writers or _default_writers(archive.stat().st_size)
        runs = _split(jobs, [infos[job[0]].file_size for job in jobs], n)
        digests: dict[int, str] = {}
        if n > 1:
            pool = _Helpers(n, checker.name, "unzip")
            pool.submit(str(archive.resolve()), str(dest.resolve()), runs)
            for out in pool.wait(reporter):
                digests.update({int(k): v for k, v in json.loads(out)["digests"].items()})
        else:
            digests = tarworker.write_zip_files(str(archive), str(dest), jobs, reporter.advance)
        writer.seal()
        empty = hashlib.sha256(b"").hexdigest()
        h1 = dirhash.hash1({names[i]: digests.get(i, empty) for i in names})
        return Stats(entries=len(checker.seen), bytes=checker.total), h1
    except BaseException as exc:
        # Helpers still writing must stop before the tree is removed, or they would
        # recreate parts of it.
        if pool is not None:
            pool.stop()
        remove_tree(dest)
        if isinstance(exc, tarworker.Corrupt):
            raise ArchiveError(f"{checker.name}: corrupt member {exc}") from None
        if isinstance(exc, (NotADirectoryError, FileExistsError, IsADirectoryError)):
            raise ArchiveError(f"{checker.name}: conflicting entries at {exc.filename}") from None
        raise


def _plan_zip(
    infos: list[zipfile.ZipInfo], checker: Checker, writer: _Writer, prefix: str
) -> tuple[dict[int, bytes], list[tarworker.ZipJob]]:
    """Check every member and create the directories; returns the names dirhash hashes
    (by member index) and the files to write."""
    names: dict[int, bytes] = {}
    jobs: list[tarworker.ZipJob] = []
    for index, info in enumerate(infos):
        names[index] = dirhash.zip_name(info)
        if info.is_dir():
            # The go command's zips have none; harmless, and hashed as dirhash hashes
            # them (an entry with no content).
            writer.mkdir(_goroot_path(checker.check(info.filename, "dir", 0, 0), prefix))
            continue
        mode = info.external_attr >> 16
        if stat.S_IFMT(mode) not in (0, stat.S_IFREG):
            raise checker.reject(info.filename, "not a regular file")
        rel = _goroot_path(checker.check(info.filename, "file", mode, info.file_size), prefix)
        writer.mkdir(rel.rpartition("/")[0])
        # A module zip cannot hold nested modules, so the release renamed every go.mod
        # (src/go.mod among them, which the standard library resolves through) to
        # _go.mod; the go command restores them, and so does the writer.
        jobs.append((index, rel, _executable(rel), rel.endswith("/_go.mod")))
    return names, jobs


def _goroot_path(clean: str, prefix: str) -> str:
    """``prefix/bin/go`` → ``go/bin/go``: the tree is installed as every other source's is."""
    return "go" + clean[len(prefix) :]


def _executable(rel: str) -> bool:
    """Whether the go command marks this GOROOT file executable after unzipping a
    toolchain (cmd/go/internal/toolchain: pkg/tool, lib's go_?*_?*_exec, bin)."""
    inner = rel.removeprefix("go/")
    if inner.startswith(("bin/", "pkg/tool/")):
        return True
    return inner.startswith("lib/") and fnmatch.fnmatchcase(
        inner.rsplit("/", 1)[-1], "go_?*_?*_exec"
    )


def _stats(checker: Checker) -> Stats:
    if checker.root not in {p.split("/", 1)[0] for p in checker.seen}:
        raise ArchiveError(f"{checker.name}: no {checker.root}/ folder in the archive")
    return Stats(entries=len(checker.seen), bytes=checker.total)


class _Writer:
    """Creates the directories (and a zip's files) of an extraction under ``dest``.

    Files are created with O_EXCL and O_NOFOLLOW, so nothing already on disk
    (or reached through a link) is ever overwritten, and already read-only: a
    descriptor from O_CREAT is writable whatever the mode, which saves a chmod
    per file. :meth:`seal` makes the directories read-only at the end.
    """

    def __init__(self, dest: Path) -> None:
        self.dest = dest
        self.dirs: set[str] = {""}

    def mkdir(self, rel: str) -> None:
        """Create directory ``rel`` and its parents."""
        if rel not in self.dirs:
            (self.dest / rel).mkdir(mode=0o755, parents=True, exist_ok=True)
            self.note(rel)

    def note(self, rel: str) -> None:
        """Remember that ``rel`` and its parents exist (or will), for :meth:`seal`."""
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


def _receive_file(archive: Path, receiver: TarReceiver, reporter: Reporter) -> ScannedTar:
    """Feed ``archive`` from disk to ``receiver``, as a download would."""
    try:
        reporter.stage("inflate", archive.stat().st_size)
        with archive.open("rb") as raw:
            while chunk := raw.read(_COPY_CHUNK):
                receiver.write(chunk)
                reporter.advance(len(chunk))
        return receiver.finish()
    except BaseException:
        receiver.abort()
        raise


def _write_scanned(
    scanned: ScannedTar, dest: Path, reporter: Reporter, writers: int | None
) -> Stats:
    name = scanned.checker.name
    stats = _stats(scanned.checker)
    n = writers or _default_writers(scanned.path.stat().st_size)
    # With more than one writer, all are helpers, each working relative to the
    # tree (a process can chdir there; a library must not). The writers create
    # the directories too, each those its files need; directory entries go
    # with the first run.
    pool = _Helpers(n if n > 1 else 0, name)
    writer = _Writer(dest)
    for rel, _ in scanned.dirs:
        writer.note(rel)
    for rel, _ in scanned.files:
        writer.note(rel.rpartition("/")[0])
    try:
        reporter.stage("extract", len(scanned.files))
        runs = _split(scanned.files, [m.size for _, m in scanned.files], n)
        runs[0][:0] = scanned.dirs
        tar = str(scanned.path.resolve())
        if pool.procs:
            pool.submit(tar, str(dest.resolve()), runs)
            pool.wait(reporter)
        else:
            tarworker.write_files(tar, str(dest), runs[0], reporter.advance)
    except tarfile.FilterError as exc:
        raise ArchiveError(f"{name}: rejected by tarfile's data filter: {exc}") from None
    except tarworker.Truncated as exc:
        raise ArchiveError(f"{name}: truncated member {exc}") from None
    except (NotADirectoryError, FileExistsError, IsADirectoryError) as exc:
        raise ArchiveError(f"{name}: conflicting entries at {exc.filename}") from None
    finally:
        pool.stop()
    writer.seal()
    return stats


def _default_writers(tar_bytes: int) -> int:
    """One writer per CPU (at most 4) for a toolchain-sized archive on Linux, else one
    (this process).

    Helpers are Linux-only: they rely on PR_SET_PDEATHSIG to die with a killed
    parent, and a small archive is written before a helper would have started.
    """
    if sys.platform != "linux" or tar_bytes < _PARALLEL_FROM:
        return 1
    return max(1, min(4, len(os.sched_getaffinity(0))))


def _split(jobs: Sequence[T], sizes: Sequence[int], n: int) -> list[list[T]]:
    """``n`` contiguous runs of about equal cost (a file's creation costs about as much
    as copying 64 KiB of it); contiguous, so a directory's files mostly stay with one
    writer. ``sizes`` are the jobs' file sizes."""
    weights = [1 + size // 65536 for size in sizes]
    total = sum(weights)
    runs: list[list[T]] = [[] for _ in range(n)]
    acc = 0
    for job, w in zip(jobs, weights, strict=True):
        runs[min(n - 1, acc * n // max(total, 1))].append(job)
        acc += w
    return runs


class _Helpers:
    """Helper processes that write runs of files (see :mod:`.tarworker`)."""

    def __init__(self, count: int, name: str, mode: str = "write") -> None:
        self.name = name
        self.argv = [*tarworker.helper_argv(), mode, str(os.getpid())]
        self.procs = [proc.start_helper(self.argv) for _ in range(count)]
        self.sizes: list[int] = []  # files per helper, for progress

    def submit(self, tar: str, dest: str, runs: Sequence[Sequence[object]]) -> None:
        for p, run in zip(self.procs, runs, strict=True):
            assert p.stdin is not None
            pickle.dump((tar, dest, run), p.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            p.stdin.close()
        self.sizes = [len(run) for run in runs]

    def wait(self, reporter: Reporter) -> list[bytes]:
        """Each helper's output, once all have finished."""
        outputs = []
        for p, count in zip(self.procs, self.sizes, strict=True):
            assert p.stdout is not None
            out = p.stdout.read()
            if p.wait() != 0:
                _raise_helper_error(self.name, self.argv, p.returncode, out)
            reporter.advance(count)
            outputs.append(out)
        self.procs = []
        return outputs

    def stop(self) -> None:
        """Stop helpers still running (after an error or Ctrl-C in this process)."""
        for p in self.procs:
            proc.stop_group(p)
        self.procs = []


def _raise_helper_error(name: str, argv: list[str], code: int, out: bytes) -> None:
    text = out.decode(errors="replace")
    try:
        info = json.loads(text.strip().splitlines()[-1])
        if not isinstance(info, dict):
            raise ValueError(info)
    except (ValueError, IndexError):
        raise ProcessError(argv, code, text) from None
    message = str(info.get("message", ""))
    if info.get("kind") == "filter":
        raise ArchiveError(f"{name}: rejected by tarfile's data filter: {message}")
    if info.get("kind") == "truncated":
        raise ArchiveError(f"{name}: truncated member {message}")
    if info.get("kind") == "corrupt":
        raise ArchiveError(f"{name}: corrupt member {message}")
    if info.get("kind") == "os":
        # OSError(errno, ...) builds the matching subclass (FileExistsError, ...).
        raise OSError(info.get("errno"), message, info.get("filename"))
    raise ProcessError(argv, code, message)


def _extract_zip(archive: Path, dest: Path, checker: Checker, reporter: Reporter) -> None:
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ArchiveError(f"{checker.name}: corrupt archive: {exc}") from None
    writer = _Writer(dest)
    try:
        with zf:
            infos = zf.infolist()
            reporter.stage("extract", sum(i.file_size for i in infos))
            for info in infos:
                if checker.skip(info.filename):
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
        raise ArchiveError(f"{checker.name}: conflicting entries at {exc.filename}") from None


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, checker: Checker) -> bytes:
    try:
        with zf.open(info) as src:
            # The declared size was checked; never trust it for the real bytes.
            data = src.read(info.file_size + 1)
    except (zipfile.BadZipFile, EOFError, zlib.error) as exc:
        raise ArchiveError(f"{checker.name}: corrupt member {info.filename!r}: {exc}") from None
    if len(data) > info.file_size:
        raise checker.reject(info.filename, "more data than its declared size")
    return data
