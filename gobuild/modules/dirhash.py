"""The ``h1:`` hash of a module's files (golang.org/x/mod/sumdb/dirhash, Hash1).

go.sum and the checksum database record a module by ``h1:`` + base64(sha256 of a
summary): one line ``"%x  %s\\n"`` (the hex sha256 of a file's content, two spaces,
its name) per file, names sorted bytewise, as if by
``sha256sum $(find . -type f | sort) | sha256sum``. Only names and contents count,
never the zip's encoding, compression or times, so a zip and its extracted tree
hash alike (names prefixed ``path@version/``).

Names are hashed as the bytes stored in the zip (or given by the file system),
never as Python decodes them: the hash must be Go's for every module.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import posixpath
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING

from gobuild.errors import ArchiveError, IntegrityError

if TYPE_CHECKING:
    import zipfile

# zipfile is imported where first used: the checksum database's client imports
# this module for h1_hex, and a no-op build pays for neither.

_CHUNK = 1 << 20
_UTF8_NAME_FLAG = 0x800
H1_PREFIX = "h1:"


def hash_zip(path: Path) -> str:
    """The ``h1:`` hash of the files in the zip at ``path`` (dirhash.HashZip).

    Contents are streamed (toolchain zips hold ~70 MB). Raises
    :class:`~gobuild.errors.ArchiveError` for a corrupt zip or a name holding a newline.
    """
    import zipfile  # noqa: PLC0415 - see the module note

    try:
        with zipfile.ZipFile(path) as zf:
            # Go keeps the last entry of a repeated name and hashes it for every copy.
            entries = {zip_name(info): info for info in zf.infolist()}
            names = [zip_name(info) for info in zf.infolist()]
            return _hash1(names, lambda name: zf.open(entries[name]))
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, NotImplementedError) as exc:
        # ValueError: the UTF-8 flag on a name that is not UTF-8, among others;
        # NotImplementedError: a compression method Python lacks (Go reads only
        # store and deflate, so such a zip is not a module zip either).
        raise ArchiveError(f"{path}: not a readable zip: {exc}") from None
    except OSError as exc:
        raise ArchiveError(f"{path}: {exc.strerror or exc}") from None


def hash_dir(root: Path, prefix: str) -> str:
    """The ``h1:`` hash of the files under ``root``, named ``prefix/relative/path``
    (dirhash.HashDir).

    Like Go's walk, symbolic links are not followed: one to a file is hashed
    as that file, one to a directory cannot be read and fails. Raises
    :class:`~gobuild.errors.ArchiveError` when the tree cannot be read.
    """
    if not root.is_dir():
        raise ArchiveError(f"{root} is not a directory")
    files: dict[bytes, Path] = {}  # hashed name -> file on disk
    try:
        for path in _walk(root):
            rel = path.relative_to(root).as_posix()
            # filepath.Join(prefix, rel): Go cleans the joined name.
            name = posixpath.normpath(f"{prefix}/{rel}") if prefix else rel
            files[os.fsencode(name)] = path
        return _hash1(list(files), lambda name: files[name].open("rb"))
    except OSError as exc:
        raise ArchiveError(f"{root}: cannot read {exc.filename or ''}: {exc.strerror}") from None


def h1_hex(h1: str) -> str:
    """The hex sha256 an ``h1:<base64>`` hash holds (so ``sha256sum`` can check a summary).

    Raises :class:`~gobuild.errors.IntegrityError` when ``h1`` is not an ``h1:`` hash
    of 32 bytes.
    """
    if not h1.startswith(H1_PREFIX):
        raise IntegrityError(f"not an h1: hash: {h1!r}")
    try:
        raw = base64.b64decode(h1[len(H1_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise IntegrityError(f"malformed h1: hash: {h1!r}") from None
    if len(raw) != hashlib.sha256().digest_size:
        raise IntegrityError(f"malformed h1: hash (not 32 bytes): {h1!r}")
    return raw.hex()


def hash1(digests: Mapping[str, str] | Mapping[bytes, str]) -> str:
    """The ``h1:`` hash of files whose contents' hex sha256 are already known
    (dirhash.Hash1), for a caller that hashed them while doing something else.

    Keys are the file names: bytes as stored (see :func:`zip_name`), or text,
    hashed as its UTF-8. Raises :class:`~gobuild.errors.ArchiveError` for a name
    holding a newline.
    """
    return _summary((_name_bytes(name), hexdigest) for name, hexdigest in digests.items())


def zip_name(info: zipfile.ZipInfo) -> bytes:
    """A zip entry's name as stored, the bytes Go hashes: zipfile decodes names as
    UTF-8 when the entry's flag says so and as cp437 otherwise, and both decodings
    give the bytes back (its ``filename`` may also have been cut at a NUL)."""
    encoding = "utf-8" if info.flag_bits & _UTF8_NAME_FLAG else "cp437"
    return info.orig_filename.encode(encoding)


def _name_bytes(name: str | bytes) -> bytes:
    return name if isinstance(name, bytes) else name.encode("utf-8", "surrogateescape")


def _hash1(names: Iterable[bytes], open_file: Callable[[bytes], IO[bytes]]) -> str:
    def digests() -> Iterator[tuple[bytes, str]]:
        # Sorted before reading, so a name with a newline fails before any reading.
        for name in sorted(names):
            _check_name(name)
            digest = hashlib.sha256()
            with open_file(name) as f:
                while chunk := f.read(_CHUNK):
                    digest.update(chunk)
            yield name, digest.hexdigest()

    return _summary(digests())


def _summary(digests: Iterable[tuple[bytes, str]]) -> str:
    """h1: over (name, hex sha256) pairs, taken in bytewise order of the names."""
    summary = hashlib.sha256()
    for name, hexdigest in sorted(digests):
        _check_name(name)
        summary.update(hexdigest.encode() + b"  " + name + b"\n")
    return H1_PREFIX + base64.b64encode(summary.digest()).decode()


def _check_name(name: bytes) -> None:
    if b"\n" in name:
        raise ArchiveError(f"file names with newlines are not supported: {name!r}")


def _walk(directory: Path) -> Iterator[Path]:
    """The non-directories under ``directory`` (symbolic links not followed)."""
    with os.scandir(directory) as it:
        entries = list(it)
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            yield from _walk(Path(entry.path))
        else:
            yield Path(entry.path)
