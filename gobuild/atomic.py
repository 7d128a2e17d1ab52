"""Safe file-system changes: files replaced whole, never half-written; trees removed
even when read-only."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


def write_text(path: Path, text: str, mode: int | None = None, *, durable: bool = True) -> None:
    """Write ``text`` to a temporary file beside ``path``, fsync it, rename it over ``path``.

    ``durable=False`` skips the fsync, for state that is worthless after a crash anyway
    (the rename still means no reader ever sees half a file).
    """
    write_bytes(path, text.encode("utf-8"), mode, durable=durable)


def write_bytes(path: Path, data: bytes, mode: int | None = None, *, durable: bool = True) -> None:
    """:func:`write_text` for bytes: written beside ``path``, then renamed over it."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            if durable:
                os.fsync(f.fileno())
        if mode is None and path.exists():
            mode = path.stat().st_mode & 0o777
        os.chmod(tmp, mode if mode is not None else 0o644)  # noqa: PTH101
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remove_tree(path: Path) -> None:
    """Delete ``path`` even when its contents were made read-only."""
    if not path.exists() and not path.is_symlink():
        return
    if path.is_file() or path.is_symlink():
        path.unlink()
        return
    for dirpath, _dirs, _files in os.walk(path):
        os.chmod(dirpath, 0o700)  # noqa: PTH101 - os.walk yields str paths
    shutil.rmtree(path)
