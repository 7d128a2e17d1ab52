"""The Go checksum database client: verified ``h1:`` hashes of module versions.

As golang.org/x/mod/sumdb's client and the go command use it:

- GOSUMDB names the database and its verifier key (``parse_gosumdb``).
- The database is reached through the first GOPROXY entry whose
  ``<proxy>/sumdb/<name>/supported`` answers, else directly (``Client``).
- A lookup (``/lookup/<path>@<version>``) answers a record and a signed tree
  head. The note's signature is checked against the key; the tree is checked
  to extend the tree verified before, or to be contained in it; the record is
  checked to be leaf ``id`` of the tree, with tiles authenticated by the tree hash.

State on disk, under ``state_dir/<database name>/``::

    latest                 the newest verified signed tree head (note text)
    latest.lock            serialises writers of latest across processes
    tile/8/L/NNN           verified full tiles (partial tiles are fetched again)

A tree that does not extend the remembered one is a fork: the lookup fails with
:class:`~gobuild.errors.IntegrityError` and ``latest`` stays as it was.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from gobuild import atomic
from gobuild.errors import (
    ArchiveError,
    ConfigError,
    GobuildError,
    IntegrityError,
    NotFound,
    SourceError,
)
from gobuild.modules import dirhash, tlog
from gobuild.modules.note import Verifier, open_note
from gobuild.modules.paths import escape_path, escape_version

if TYPE_CHECKING:
    from gobuild.fetch import Fetcher

DEFAULT = "sum.golang.org"
# The go command's built-in keys (cmd/go/internal/modfetch/key.go knownGOSUMDB):
# GOSUMDB may name the database alone.
KNOWN_KEYS: Mapping[str, str] = MappingProxyType(
    {"sum.golang.org": "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"}
)
# GOSUMDB values the go command rewrites whole before reading them
# (cmd/go/internal/modfetch/sumdb.go): a mirror of sum.golang.org reachable in China.
ALIASES: Mapping[str, str] = MappingProxyType(
    {"sum.golang.google.cn": "sum.golang.org https://sum.golang.google.cn"}
)
TILE_HEIGHT = 8
_DIRECT = frozenset({"direct", "off"})  # GOPROXY entries after which Go goes direct


@dataclass(frozen=True)
class Database:
    """A checksum database: its ``name``, verifier ``key`` and ``url``.

    ``url`` is ``https://<name>`` unless GOSUMDB gave one; then ``direct_only``
    is set and, as the go command does, no proxy is asked for the database.
    """

    name: str
    key: str
    url: str
    direct_only: bool = False


def parse_gosumdb(value: str | None) -> Database | None:
    """The database GOSUMDB names, or None for ``off`` (the go command's reading).

    ``None`` or ``""``: sum.golang.org. Otherwise ``name`` (a database Go knows),
    ``name+hash+key`` (a verifier key), either followed by a URL. Raises
    :class:`~gobuild.errors.ConfigError` naming GOSUMDB for anything else.
    """
    text = value or DEFAULT
    text = ALIASES.get(text, text)
    if text == "off":
        return None
    fields = text.split()
    if not fields:
        raise ConfigError("GOSUMDB is blank (use 'off' to turn the checksum database off)")
    if len(fields) > 2:
        raise ConfigError(f"invalid GOSUMDB {value!r}: too many fields")
    key = KNOWN_KEYS.get(fields[0], fields[0])
    try:
        verifier = Verifier.parse(key)
    except ValueError as exc:
        raise ConfigError(f"invalid GOSUMDB {value!r}: {exc}") from None
    problem = _name_problem(verifier.name)
    if problem:
        raise ConfigError(f"invalid GOSUMDB {value!r}: {problem}")
    if len(fields) == 1:
        return Database(verifier.name, key, f"https://{verifier.name}")
    url = fields[1].rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https", "file") or not (parts.netloc or parts.path):
        raise ConfigError(f"invalid GOSUMDB {value!r}: URL must be http, https or file")
    return Database(verifier.name, key, url, direct_only=True)


def _name_problem(name: str) -> str:
    """Why ``name`` cannot name a database (host[:port][/path]), or ``""``.

    The name becomes a URL and a directory of state: no query, user, escapes or
    dot elements (the go command refuses the same "funny business").
    """
    parts = urlsplit(f"https://{name}")
    elements = name.split("/")
    if any(c in name for c in "?#@%\\") or not parts.hostname or name.endswith("/"):
        return f"database name {name!r} is not host[/path]"
    if any(e in ("", ".", "..") for e in elements):
        return f"database name {name!r} has an empty or dot path element"
    return ""


@dataclass(frozen=True)
class Lookup:
    """A module version's hashes as the database's signed tree proves them."""

    zip_h1: str
    mod_h1: str
    tree_size: int


class Client:
    """Looks module versions up in ``db``, reached through ``proxies`` (the GOPROXY
    list's URLs, in order) or directly, remembering the newest verified tree under
    ``state_dir``.

    The proxy is chosen at the first lookup and kept for the client's life. A
    ``direct`` or ``off`` entry in ``proxies`` ends the search as it does for the
    go command. Safe to share between threads (lookups run one at a time).
    """

    def __init__(
        self, db: Database, fetcher: Fetcher, state_dir: Path, proxies: Sequence[str] = ()
    ) -> None:
        problem = _name_problem(db.name)
        try:
            self._verifier = Verifier.parse(db.key)
        except ValueError as exc:
            problem = problem or f"key {db.key!r}: {exc}"
        if not problem and self._verifier.name != db.name:
            problem = f"key is for {self._verifier.name}"
        if problem:
            raise ConfigError(f"checksum database {db.name}: {problem}")
        self.db = db
        self._fetcher = fetcher
        self._dir = state_dir / db.name
        self._proxies = tuple(proxies)
        self._base: str | None = None
        self._latest: tuple[tlog.Tree, bytes] | None = None
        self._mutex = threading.Lock()

    @property
    def base_url(self) -> str | None:
        """Where the database is reached (a proxy's ``/sumdb/<name>`` or the database
        itself), once the first lookup chose it."""
        return self._base

    def lookup(self, path: str, version: str) -> Lookup:
        """The verified hashes of ``path@version``'s zip and go.mod.

        Raises :class:`~gobuild.errors.IntegrityError` when verification fails (a
        bad signature, a forked tree, a record the tree does not hold),
        :class:`~gobuild.errors.NotFound` when the database does not know the
        version, :class:`~gobuild.errors.SourceError` for malformed answers or an
        unreachable database. Messages name the database and ``path@version``.
        """
        with self._mutex:
            tiles = _Tiles(self)
            try:
                found = self._lookup(path, version, tiles)
            except _REWORDED as exc:
                # The same class (NotFound stays NotFound), with the context added.
                where = f"checksum database {self.db.name}: {path}@{version}"
                raise type(exc)(f"{where}: {exc}") from None
            # Only once everything checked out: a tile of a forked history must
            # not be taken for a verified one by the next lookup.
            tiles.commit()
            return found

    def _lookup(self, path: str, version: str, tiles: _Tiles) -> Lookup:
        where = f"/lookup/{escape_path(path)}@{escape_version(version)}"
        record_id, text, signed = tlog.parse_record(self._read_remote(where))
        latest = self._merge(signed, tiles)
        if record_id >= latest.size:
            raise IntegrityError(
                f"record {record_id} cannot be in the signed tree of size {latest.size}"
            )
        leaf = tiles.read_hashes(latest, [tlog.stored_hash_index(0, record_id)])[0]
        if leaf != tlog.record_hash(text):
            raise IntegrityError(
                f"the record answered is not record {record_id} of the signed tree "
                f"of size {latest.size}"
            )
        zip_h1, mod_h1 = _hashes(text.decode("utf-8"), path, version)
        return Lookup(zip_h1, mod_h1, latest.size)

    def _open(self, signed: bytes) -> tlog.Tree:
        return tlog.parse_tree(open_note(signed, [self._verifier]).text)

    def _merge(self, signed: bytes, tiles: _Tiles) -> tlog.Tree:
        """Check the answered tree against the remembered one; remember the newer.

        Returns the newest tree on the verified timeline (the one to prove records
        in). Like x/mod's mergeLatest: whichever tree is larger must contain the
        smaller, and another process may move ``latest`` on meanwhile.
        """
        tree = self._open(signed)
        latest, _ = self._remembered()
        while True:
            self._check_consistent(tree, latest, tiles)
            if tree.size <= latest.size:
                return latest
            import filelock  # noqa: PLC0415 - only writers need it; no-op builds stay fast

            self._dir.mkdir(parents=True, exist_ok=True)
            with filelock.FileLock(self._dir / "latest.lock"):
                on_disk = self._read_latest()
                if on_disk[0] == latest or on_disk[0].size == 0:
                    self._write_latest(signed)
                    self._latest = (tree, signed)
                    return tree
            # Another process remembered a tree meanwhile: check against it too.
            latest = on_disk[0]
            self._latest = on_disk

    def _check_consistent(self, answered: tlog.Tree, verified: tlog.Tree, tiles: _Tiles) -> None:
        """The larger of the two trees must contain the smaller: the smaller's hash,
        recomputed from the larger's tiles, must be the smaller's hash."""
        newer, older = (
            (answered, verified) if answered.size > verified.size else (verified, answered)
        )
        fork = (
            f"the checksum database's tree (size {answered.size}) forked from the one "
            f"verified before (size {verified.size}, remembered in {self._dir / 'latest'})"
        )
        if newer.size == older.size:
            if newer.hash != older.hash:
                raise IntegrityError(fork)
            return
        try:
            recomputed = tlog.tree_hash(older.size, _Reader(tiles, newer))
        except IntegrityError as exc:
            if newer is answered:
                raise
            # The server no longer serves the tiles of the tree it signed before.
            raise IntegrityError(f"{fork}: {exc}") from None
        if recomputed != older.hash:
            raise IntegrityError(fork)

    def _remembered(self) -> tuple[tlog.Tree, bytes]:
        if self._latest is None:
            self._latest = self._read_latest()
        return self._latest

    def _read_latest(self) -> tuple[tlog.Tree, bytes]:
        path = self._dir / "latest"
        try:
            signed = path.read_bytes()
        except FileNotFoundError:
            signed = b""
        except OSError as exc:
            raise GobuildError(f"cannot read {path}: {exc.strerror}") from None
        if not signed:
            return tlog.Tree(0, tlog.EMPTY_HASH), b""
        try:
            return self._open(signed), signed
        except GobuildError as exc:
            raise IntegrityError(f"{path}: the remembered tree head is unusable: {exc}") from None

    def _write_latest(self, signed: bytes) -> None:
        path = self._dir / "latest"
        try:
            atomic.write_text(path, signed.decode("utf-8"))
        except OSError as exc:
            raise GobuildError(f"cannot write {path}: {exc.strerror}") from None

    def _read_remote(self, path: str) -> bytes:
        return self._fetcher.get_bytes(self._base_url() + path)

    def _base_url(self) -> str:
        """The first proxy that proxies this database (asked once), else the database.

        A proxy failing otherwise than "not found" fails the lookup (the go command
        treats the database as unavailable); the next lookup asks again.
        """
        if self._base is None:
            base = self.db.url.rstrip("/")
            for proxy in () if self.db.direct_only else self._proxies:
                if proxy in _DIRECT:
                    break
                proxied = f"{proxy.rstrip('/')}/sumdb/{self.db.name}"
                try:
                    self._fetcher.get_bytes(f"{proxied}/supported")
                except NotFound:
                    continue  # this proxy does not proxy the database: try the next
                base = proxied
                break
            self._base = base
        return self._base


_REWORDED = (ConfigError, SourceError, IntegrityError, ArchiveError)


class _Tiles:
    """Tiles for one lookup: from this lookup's verified ones, the disk cache or the
    server. Verified tiles are kept until :meth:`commit` writes the full ones."""

    height = TILE_HEIGHT

    def __init__(self, client: Client) -> None:
        self._client = client
        self._verified: dict[tlog.Tile, bytes] = {}
        self.use_cache = True
        self._from_cache: set[tlog.Tile] = set()  # in the last read_tiles
        self._fetched: set[tlog.Tile] = set()

    def read_hashes(self, tree: tlog.Tree, indexes: Sequence[int]) -> list[bytes]:
        """Hashes of ``tree`` (authenticated); tiles already held are tried first and,
        should they not fit the tree, the server's alone."""
        try:
            return tlog.TileHashReader(tree, self).read_hashes(indexes)
        except IntegrityError:
            if not self._from_cache:
                raise
        # A cached tile may be damaged, or hold another history than the server's:
        # judge the server by its own tiles.
        self.use_cache = False
        try:
            return tlog.TileHashReader(tree, self).read_hashes(indexes)
        finally:
            self.use_cache = True

    def read_tiles(self, tiles: Sequence[tlog.Tile]) -> list[bytes]:
        """The data of ``tiles`` (tlog.TileReader)."""
        self._from_cache.clear()
        return [self._read(tile) for tile in tiles]

    def _read(self, tile: tlog.Tile) -> bytes:
        size = tile.width * tlog.HASH_SIZE
        if self.use_cache:
            for held in (tile, tile.full):
                data = self._verified.get(held) or self._cached(held)
                if data:
                    self._from_cache.add(tile)
                    return data[:size]
        self._fetched.add(tile)
        try:
            return self._client._read_remote(f"/{tile.path()}")
        except NotFound:
            if tile.is_full:
                raise
        # A partial tile the server no longer has is a prefix of the full tile
        # (the log has grown past it).
        data = self._client._read_remote(f"/{tile.full.path()}")
        if len(data) != tlog.HASH_SIZE << tile.height:
            raise SourceError(f"{tile.full.path()} is {len(data)} bytes, not a full tile")
        return data[:size]

    def _cached(self, tile: tlog.Tile) -> bytes | None:
        if not tile.is_full:
            return None
        try:
            data = (self._client._dir / tile.path()).read_bytes()
        except OSError:
            return None
        return data if len(data) == tlog.HASH_SIZE << tile.height else None

    def save_tiles(self, tiles: Sequence[tlog.Tile], data: Sequence[bytes]) -> None:
        """Hold the authenticated tiles for the rest of the lookup (tlog.TileReader)."""
        for tile, body in zip(tiles, data, strict=True):
            self._verified[tile] = body

    def commit(self) -> None:
        """Cache the full tiles this lookup fetched and verified (replacing a damaged
        copy); best effort, as Go: a tile that cannot be written is fetched again."""
        for tile, body in self._verified.items():
            if tile.is_full and tile in self._fetched:
                with contextlib.suppress(OSError):
                    _write_bytes(self._client._dir / tile.path(), body)


class _Reader:
    """A tlog.HashReader over ``tree`` from the lookup's tiles."""

    def __init__(self, tiles: _Tiles, tree: tlog.Tree) -> None:
        self._tiles = tiles
        self._tree = tree

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        """Authenticated hashes of the tree."""
        return self._tiles.read_hashes(self._tree, indexes)


def _write_bytes(path: Path, data: bytes) -> None:
    """Write whole or not at all (a reader never sees half a tile); not fsynced: a
    lost tile is fetched again."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _hashes(text: str, path: str, version: str) -> tuple[str, str]:
    """The zip's and go.mod's ``h1:`` hashes of ``path@version`` in a record."""
    found: dict[str, set[str]] = {version: set(), f"{version}/go.mod": set()}
    for line in text.splitlines():
        fields = line.split(" ")
        if (
            len(fields) == 3
            and fields[0] == path
            and fields[1] in found
            and fields[2].startswith(dirhash.H1_PREFIX)
        ):
            dirhash.h1_hex(fields[2])  # well formed, or IntegrityError
            found[fields[1]].add(fields[2])
    zip_h1, mod_h1 = found[version], found[f"{version}/go.mod"]
    if len(zip_h1) != 1 or len(mod_h1) != 1:
        raise IntegrityError(
            f"the signed record lists {len(zip_h1)} h1: hashes for the zip and "
            f"{len(mod_h1)} for the go.mod, not one each"
        )
    return next(iter(zip_h1)), next(iter(mod_h1))
