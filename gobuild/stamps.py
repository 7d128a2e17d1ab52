"""Stamps: cheap digests of what a cached answer depends on.

gobuild caches answers that are expensive to recompute but cheap to
invalidate (the doit task specs, a project's installed toolchain, a check
plan). Each is stored under a stamp of its inputs: file sizes and modification
times, the environment variables configuration reads
(:meth:`gobuild.project.environ.Environment.stamp`), and gobuild's own code,
every module of every room. Standard library only, so checking a stamp costs
no imports.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import gobuild


def digest(parts: Iterable[str]) -> str:
    """One hex digest of ``parts`` (each ends with a newline in the hash)."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8", "surrogateescape") + b"\n")
    return h.hexdigest()


def code() -> Iterable[str]:
    """gobuild's version and the name, size and mtime of each of its modules."""
    yield f"gobuild {gobuild.__version__}"
    package = Path(gobuild.__file__).parent
    # Every module of every room: a memo stamped without one would outlive its change.
    for src in sorted(package.rglob("*.py")):
        st = src.stat()
        yield f"{src.relative_to(package).as_posix()}\0{st.st_size}\0{st.st_mtime_ns}"


def file(path: Path) -> str:
    """``path`` with its size and mtime, or a mark that it is missing."""
    try:
        st = path.stat()
    except OSError:
        return f"{path}\0-"
    return f"{path}\0{st.st_size}\0{st.st_mtime_ns}"


def tree(root: Path, skip: set[Path]) -> Iterator[str]:
    """Every directory and file under ``root`` (but ``skip``), with sizes and mtimes."""
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if here / d not in skip)
        yield f"D{here}"
        for name in sorted(filenames):
            try:
                st = os.lstat(here / name)
            except OSError:
                continue
            yield f"{name}\0{st.st_size}\0{st.st_mtime_ns}"
