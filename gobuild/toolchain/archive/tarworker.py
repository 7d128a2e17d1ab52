"""Writing checked tar (or module zip) members into a new tree, in this process or a helper.

A Go distribution is ~11k small files, and creating them is most of an
install's time. :mod:`.extract` checks every member first, creates the
directories, then splits the files into contiguous runs and writes one run
itself while helper processes (this file run as a script) write the others:
creating files is CPU-bound system time, and threads would serialise on the GIL.

Each writer applies tarfile's ``data`` filter to its members (the second,
independent safety layer) and copies each file's bytes straight from the
``.tar`` with ``os.sendfile`` where it can. Files are created with
O_EXCL|O_NOFOLLOW, already read-only, so nothing on disk is overwritten or
reached through a link.

A toolchain module zip is written the same way (:func:`write_zip_files`): each
writer inflates its own members from the zip, hashes what it writes (the h1 is
computed from the very bytes installed) and reports the digests.

Helpers run this file as a script (:func:`helper_argv`), so it imports only
the standard library (and isal, when installed). ``tarworker.py write PID``
and ``tarworker.py unzip PID`` read their job from stdin; ``tarworker.py
inflate PATH LIMIT`` is the helper of :mod:`.gunzip`.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import sys
import tarfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

Job = tuple[str, tarfile.TarInfo]  # (checked relative path, the member's own header)
# (index in the zip's member list, checked relative path, executable, also write go.mod)
ZipJob = tuple[int, str, bool, bool]

_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_COPY = 1 << 20


def helper_argv() -> list[str]:
    """How to start this file as a helper: isolated from the user's environment
    variables, user site and working directory, but with installed packages."""
    return [sys.executable, "-I", str(Path(__file__).resolve())]


class Truncated(Exception):
    """The ``.tar`` ends inside a member's data."""


class Corrupt(Exception):
    """A zip member does not inflate, or holds more than its declared size."""


def write_zip_files(
    zip_path: str,
    dest: str,
    jobs: Sequence[ZipJob],
    progress: Callable[[int], None] | None = None,
    alive: Callable[[], bool] | None = None,
) -> dict[int, str]:
    """Write each job's zip member to ``dest/<path>`` (directories exist already) and
    return the hex sha256 of each member's bytes, by member index.

    Files are read-only, executable where the job says; a job marked for it also
    gets a ``go.mod`` beside its ``_go.mod`` (what a toolchain zip renamed).
    """
    import hashlib  # noqa: PLC0415 - helpers only
    import zipfile  # noqa: PLC0415
    import zlib  # noqa: PLC0415

    digests: dict[int, str] = {}
    with zipfile.ZipFile(zip_path) as zf:
        infos = zf.infolist()
        for i, (index, rel, executable, restore) in enumerate(jobs):
            if i % 64 == 63:
                if progress:
                    progress(64)
                if alive and not alive():
                    return digests
            info = infos[index]
            try:
                with zf.open(info) as src:
                    data = src.read(info.file_size + 1)  # never trust the declared size
            except (zipfile.BadZipFile, EOFError, zlib.error) as exc:
                raise Corrupt(f"{info.filename!r}: {exc}") from None
            if len(data) != info.file_size:
                raise Corrupt(f"{info.filename!r}: not its declared size")
            digests[index] = hashlib.sha256(data).hexdigest()
            _write(f"{dest}/{rel}", data, 0o555 if executable else 0o444)
            if restore:
                _write(f"{dest}/{rel[: -len('_go.mod')]}go.mod", data, 0o444)
    if progress:
        progress(len(jobs) % 64)
    return digests


def _write(path: str, data: bytes, mode: int) -> None:
    fd = os.open(path, _FLAGS, mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def write_files(
    tar_path: str,
    dest: str,
    jobs: Sequence[Job],
    progress: Callable[[int], None] | None = None,
    alive: Callable[[], bool] | None = None,
) -> None:
    """Create each job's directory or file under ``dest`` from ``tar_path``.

    A file's parent directories are created as needed (several writers may
    race to create one; that is fine). ``progress(n)`` is told every few
    files; ``alive()`` is asked as often, and writing stops when it says the
    caller is gone.
    """
    src = os.open(tar_path, os.O_RDONLY | os.O_CLOEXEC)
    buf = memoryview(bytearray(_COPY))
    send = hasattr(os, "sendfile") and sys.platform == "linux"
    made: set[str] = {""}

    def makedirs(rel: str) -> None:
        if rel not in made:
            os.makedirs(f"{dest}/{rel}", 0o755, exist_ok=True)  # noqa: PTH103 - str paths, hot loop
            parts = rel.split("/")
            made.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))

    try:
        for i, (rel, member) in enumerate(jobs):
            if i % 64 == 63:
                if progress:
                    progress(64)
                if alive and not alive():
                    return
            safe = tarfile.data_filter(member, dest)
            if member.isdir():
                makedirs(rel)
                continue
            makedirs(rel.rpartition("/")[0])
            mode = safe.mode if safe.mode is not None else 0o644
            fd = os.open(f"{dest}/{rel}", _FLAGS, mode & ~0o222)
            try:
                if send:
                    _sendfile(fd, src, member, rel)
                else:
                    _copy(fd, src, member, buf, rel)
            finally:
                os.close(fd)
        if progress:
            progress(len(jobs) % 64)
    finally:
        os.close(src)


def _sendfile(fd: int, src: int, member: tarfile.TarInfo, rel: str) -> None:
    offset, size = member.offset_data, member.size
    while size:
        n = os.sendfile(fd, src, offset, size)
        if n == 0:
            raise Truncated(rel)
        offset += n
        size -= n


def _copy(fd: int, src: int, member: tarfile.TarInfo, buf: memoryview, rel: str) -> None:
    offset, size = member.offset_data, member.size
    while size:
        n = os.preadv(src, [buf[: min(size, len(buf))]], offset)
        if n == 0:
            raise Truncated(rel)
        view = buf[:n]
        while view:
            view = view[os.write(fd, view) :]
        offset += n
        size -= n


def describe(exc: BaseException) -> dict[str, object]:
    """A failure as plain data, for a helper to hand back to its parent."""
    if isinstance(exc, tarfile.FilterError):
        return {"kind": "filter", "message": str(exc)}
    if isinstance(exc, Truncated):
        return {"kind": "truncated", "message": str(exc)}
    if isinstance(exc, Corrupt):
        return {"kind": "corrupt", "message": str(exc)}
    if isinstance(exc, OSError):
        return {
            "kind": "os",
            "errno": exc.errno,
            "message": exc.strerror or str(exc),
            "filename": exc.filename,
        }
    return {"kind": "other", "message": f"{type(exc).__name__}: {exc}"}


def _die_with_parent(parent: int) -> bool:
    """Ask Linux to kill this helper when its parent dies; False if it already has."""
    try:
        import ctypes  # noqa: PLC0415 - only helpers need it

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, 9)  # SIGKILL
    except (OSError, AttributeError):
        pass  # the getppid() checks between files still stop it
    return os.getppid() == parent


def inflate(path: str, limit: int) -> int:
    """Inflate the gzip stream on stdin into file ``path`` (at most ``limit`` bytes).

    After each write, print the file's size on a line of its own; at the end, a
    JSON object: ``{"size": N, "error": null}``, or an error message (a string
    for a bad stream, an object for an OSError). Input is read to its end
    even after an error, so the writer never blocks on a full pipe.
    """
    import zlib  # noqa: PLC0415 - helpers only

    zmod: Any = zlib
    with contextlib.suppress(ImportError):
        from isal import isal_zlib  # noqa: PLC0415 - optional, 2.5x faster

        zmod = isal_zlib
    z = zmod.decompressobj(wbits=31)
    size = 0
    error: object = None
    out_fd = -1
    try:
        # In the caller's private temp directory; it may have reserved the name.
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
        out_fd = os.open(path, flags, 0o600)
    except OSError as exc:
        error = describe(exc)
    while chunk := os.read(0, _COPY):
        if error is not None:
            continue
        try:
            data = z.decompress(chunk)
            if z.unused_data:
                error = "unexpected data after the gzip stream"
            elif size + len(data) > limit:
                error = f"archive expands beyond {limit} bytes"
            else:
                view = memoryview(data)
                while view:
                    view = view[os.write(out_fd, view) :]
                size += len(data)
                sys.stdout.write(f"{size}\n")
                sys.stdout.flush()
        except zmod.error as exc:
            error = f"corrupt or truncated archive: {exc}"
        except OSError as exc:
            error = describe(exc)
    if error is None and not z.eof:
        error = "corrupt or truncated archive: compressed stream ended early"
    if out_fd >= 0:
        os.close(out_fd)
    sys.stdout.write(json.dumps({"size": size, "error": error}) + "\n")
    return 0


def main(argv: list[str]) -> int:
    """Helper entry point (see the module docstring)."""
    if argv[1] == "inflate":
        return inflate(argv[2], int(argv[3]))
    parent = int(argv[2])
    if not _die_with_parent(parent):
        return 1
    # The job comes from the parent over a private pipe: trusted data.
    archive, dest, jobs = pickle.load(sys.stdin.buffer)  # noqa: S301
    try:
        # Paths relative to the tree: the data filter's realpath() then checks only a
        # member's own components, not the tree's location over again for every file.
        os.chdir(dest)
        alive = lambda: os.getppid() == parent  # noqa: E731 - one line, used once
        if argv[1] == "unzip":
            digests = write_zip_files(archive, ".", jobs, alive=alive)
            sys.stdout.write(json.dumps({"digests": digests}) + "\n")
        else:
            write_files(archive, ".", jobs, alive=alive)
    except Exception as exc:  # reported to the parent, which raises the matching error
        sys.stdout.write(json.dumps(describe(exc)) + "\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
