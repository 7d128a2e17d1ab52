"""The checksum database's transparency log (golang.org/x/mod/sumdb/tlog).

The log is a Merkle tree over records (RFC 6962 hashing: a leaf is
sha256(0x00 || record), a node sha256(0x01 || left || right)). Its hashes are
numbered in the order they are stored (``stored_hash_index``) and served in
tiles: a tile of height H at level L holds up to 2**H consecutive hashes of tree
level H*L. A signed tree head (size and root hash) authenticates everything:
``TileHashReader`` fetches the tiles a question needs, checks them against the
root hash before answering, and only then lets its reader cache them.

Hashes are 32-byte ``bytes``. Only what the client needs is here: proofs are
not built, because tiles checked against the tree hash prove inclusion and
consistency by recomputing hashes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from gobuild.errors import IntegrityError, SourceError

HASH_SIZE = 32
TREE_PREFIX = "go.sum database tree\n"
EMPTY_HASH = hashlib.sha256(b"").digest()  # the hash of the tree of no records
_PATH_BASE = 1000  # tile numbers are spelled three digits per path element


@dataclass(frozen=True)
class Tree:
    """A tree head: the number of records and the root hash."""

    size: int
    hash: bytes

    def text(self) -> str:
        """The tree note's text (tlog.FormatTree)."""
        return f"{TREE_PREFIX}{self.size}\n{base64.b64encode(self.hash).decode()}\n"


def parse_tree(text: str) -> Tree:
    """Read a tree note's text (tlog.ParseTree); SourceError when malformed."""
    lines = text.split("\n", 3)
    if not text.startswith(TREE_PREFIX) or len(lines) < 4 or len(text) > 1_000_000:
        raise SourceError("malformed tree note")
    size_text, hash_text = lines[1], lines[2]
    if not size_text.isascii() or not size_text.isdigit() or str(int(size_text)) != size_text:
        raise SourceError("malformed tree note (size)")
    try:
        root = base64.b64decode(hash_text, validate=True)
    except (binascii.Error, ValueError):
        root = b""
    if len(root) != HASH_SIZE:
        raise SourceError("malformed tree note (hash)")
    return Tree(int(size_text), root)


def parse_record(message: bytes) -> tuple[int, bytes, bytes]:
    """Split a lookup answer into record id, record text and the rest (the signed
    tree note), as tlog.ParseRecord; SourceError when malformed."""
    id_text, newline, message = message.partition(b"\n")
    if not newline or not id_text.isdigit():
        raise SourceError("malformed record data (id)")
    end = message.find(b"\n\n")
    if end < 0:
        raise SourceError("malformed record data (no end)")
    text, rest = message[: end + 1], message[end + 2 :]
    if not _valid_record_text(text):
        raise SourceError("malformed record data (text)")
    return int(id_text), text, rest


def _valid_record_text(text: bytes) -> bool:
    """UTF-8, no control characters but newlines, no blank line, ending in a newline."""
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError:
        return False
    if any(c < " " and c != "\n" for c in decoded) or "\n\n" in decoded:
        return False
    return decoded.endswith("\n")


def record_hash(data: bytes) -> bytes:
    """The leaf hash of a record."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The hash of an interior node."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def stored_hash_index(level: int, n: int) -> int:
    """Where the hash of node ``n`` of ``level`` is stored (tlog.StoredHashIndex).

    Hashes are stored in the order they become known as records are appended:
    record n's leaf, then every complete subtree it closes.
    """
    for _ in range(level):
        n = 2 * n + 1
    i = 0
    while n > 0:
        i += n
        n >>= 1
    return i + level


def split_stored_hash_index(index: int) -> tuple[int, int]:
    """The (level, n) whose hash is stored at ``index`` (tlog.SplitStoredHashIndex)."""
    n = index // 2
    index_n = stored_hash_index(0, n)
    while True:
        # The hashes after leaf n: its own level-0 hash, then one per trailing 1 bit.
        x = index_n + 1 + _trailing_zeros(n + 1)
        if x > index:
            break
        n += 1
        index_n = x
    level = index - index_n
    return level, n >> level


def _trailing_zeros(x: int) -> int:
    return (x & -x).bit_length() - 1


def _maxpow2(n: int) -> tuple[int, int]:
    """The largest power of two below ``n`` (n > 1), and its log2."""
    level = 0
    while 1 << (level + 1) < n:
        level += 1
    return 1 << level, level


def _sub_tree_index(lo: int, hi: int) -> list[int]:
    """The stored indexes of the complete subtrees covering records [lo, hi)."""
    need = []
    while lo < hi:
        k, level = _maxpow2(hi - lo + 1)
        need.append(stored_hash_index(level, lo >> level))
        lo += k
    return need


def tree_hash(size: int, read_hashes: HashReader) -> bytes:
    """The root hash of the first ``size`` records, from hashes ``read_hashes`` gives."""
    if size == 0:
        return EMPTY_HASH
    indexes = _sub_tree_index(0, size)
    hashes = read_hashes.read_hashes(indexes)
    if len(hashes) != len(indexes):
        raise SourceError(f"read {len(hashes)} hashes for {len(indexes)} indexes")
    # Complete subtrees from left to right: fold from the right.
    root = hashes[-1]
    for h in reversed(hashes[:-1]):
        root = node_hash(h, root)
    return root


class HashReader(Protocol):
    """Anything that gives the hashes stored at some indexes."""

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        """The hashes stored at ``indexes``, in order."""


@dataclass(frozen=True)
class Tile:
    """Tile ``n`` of ``level`` of height ``height``, holding ``width`` hashes
    (``2**height`` when complete)."""

    height: int
    level: int
    n: int
    width: int

    @property
    def full(self) -> Tile:
        """The complete tile this one is a prefix of."""
        return Tile(self.height, self.level, self.n, 1 << self.height)

    @property
    def is_full(self) -> bool:
        """Whether the tile holds all its 2**height hashes."""
        return self.width == 1 << self.height

    def path(self) -> str:
        """``tile/H/L/NNN[.p/W]``, N spelled three digits at a time (x001/x234/067)."""
        n = self.n
        digits = f"{n % _PATH_BASE:03d}"
        while n >= _PATH_BASE:
            n //= _PATH_BASE
            digits = f"x{n % _PATH_BASE:03d}/{digits}"
        partial = "" if self.is_full else f".p/{self.width}"
        level = "data" if self.level == -1 else str(self.level)
        return f"tile/{self.height}/{level}/{digits}{partial}"


def tile_for_index(height: int, index: int) -> tuple[Tile, int, int]:
    """The narrowest tile holding stored hash ``index``, and the byte range of its
    tile data that hashes to it (tlog.tileForIndex)."""
    level, n = split_stored_hash_index(index)
    tile_level = level // height
    level -= tile_level * height  # the level within the tile
    tile_n = n << level >> height
    n -= tile_n << height >> level  # n within the tile at that level
    tile = Tile(height, tile_level, tile_n, (n + 1) << level)
    return tile, (n << level) * HASH_SIZE, ((n + 1) << level) * HASH_SIZE


def hash_from_tile(tile: Tile, data: bytes, index: int) -> bytes:
    """The hash stored at ``index``, from the data of ``tile`` (which must hold it)."""
    if len(data) < tile.width * HASH_SIZE:
        raise SourceError(f"data too short for {tile.path()}")
    wanted, start, end = tile_for_index(tile.height, index)
    if (tile.level, tile.n) != (wanted.level, wanted.n) or tile.width < wanted.width:
        raise ValueError(f"index {index} is in {wanted.path()}, not {tile.path()}")
    return tile_hash(data[start:end])


def tile_hash(data: bytes) -> bytes:
    """The subtree hash over a power-of-two run of hashes (tile data)."""
    if len(data) == HASH_SIZE:
        return data
    half = len(data) // 2
    return node_hash(tile_hash(data[:half]), tile_hash(data[half:]))


def tile_parent(tile: Tile, k: int, size: int) -> Tile | None:
    """The tile ``k`` tile-levels above ``tile`` in a tree of ``size`` records, or None."""
    level = tile.level + k
    n = tile.n >> (k * tile.height)
    width = 1 << tile.height
    available = size >> (level * tile.height)  # hashes at that level in the tree
    if (n << tile.height) + width >= available:
        if n << tile.height >= available:
            return None
        width = available - (n << tile.height)
    return Tile(tile.height, level, n, width)


class TileReader(Protocol):
    """Where tiles come from (a cache, a server); the reader checks nothing itself."""

    height: int

    def read_tiles(self, tiles: Sequence[Tile]) -> list[bytes]:
        """The data of each tile (``width * 32`` bytes each)."""

    def save_tiles(self, tiles: Sequence[Tile], data: Sequence[bytes]) -> None:
        """The tiles were checked against a signed tree: they may now be kept."""


class TileHashReader:
    """Reads hashes of ``tree`` from tiles, every tile checked against the tree's hash
    before any hash is returned (tlog.TileHashReader): a hash it returns is proven
    to be in the tree."""

    def __init__(self, tree: Tree, reader: TileReader) -> None:
        self.tree = tree
        self.reader = reader

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        """The hashes stored at ``indexes`` in the tree.

        Raises :class:`~gobuild.errors.IntegrityError` when the tiles do not hash to
        the tree's root, ValueError for an index outside the tree.
        """
        plan = _Plan(self.tree.size, self.reader.height)
        # First the tiles whose hashes recompute the tree hash: checked against it.
        stx = _sub_tree_index(0, self.tree.size)
        stx_tiles = [plan.want(plan.tile_of(x, 0)) for x in stx]
        index_tiles = [plan.path_to(x) for x in indexes]
        tiles = plan.tiles

        data = self.reader.read_tiles(tiles)
        if len(data) != len(tiles):
            raise SourceError(f"read {len(data)} tiles, wanted {len(tiles)}")
        for tile, body in zip(tiles, data, strict=True):
            if len(body) != tile.width * HASH_SIZE:
                raise SourceError(
                    f"{tile.path()} is {len(body)} bytes, not {tile.width * HASH_SIZE}"
                )

        root = b""
        for i in range(len(stx) - 1, -1, -1):
            h = hash_from_tile(tiles[stx_tiles[i]], data[stx_tiles[i]], stx[i])
            root = node_hash(h, root) if root else h
        if self.tree.size and root != self.tree.hash:
            raise IntegrityError("tiles do not hash to the signed tree")
        # The other tiles are full tiles, each planned after its parent.
        for i in range(len(set(stx_tiles)), len(tiles)):
            parent = _present(tile_parent(tiles[i], 1, self.tree.size))
            j = plan.order[parent]
            index = stored_hash_index(parent.level * parent.height, tiles[i].n)
            if tile_hash(data[i]) != hash_from_tile(parent, data[j], index):
                raise IntegrityError(f"{tiles[i].path()} does not hash to its parent tile")

        self.reader.save_tiles(tiles, data)
        return [
            hash_from_tile(tiles[j], data[j], x) for j, x in zip(index_tiles, indexes, strict=True)
        ]


class _Plan:
    """The tiles a question needs, each parent before its children."""

    def __init__(self, size: int, height: int) -> None:
        self.size = size
        self.height = height
        self.order: dict[Tile, int] = {}
        self.tiles: list[Tile] = []

    def tile_of(self, index: int, k: int) -> Tile:
        """The tile ``k`` tile-levels above the one holding ``index``, as wide as the tree."""
        return _present(tile_parent(tile_for_index(self.height, index)[0], k, self.size))

    def want(self, tile: Tile) -> int:
        """Plan ``tile`` (once); its position in the plan."""
        if tile not in self.order:
            self.order[tile] = len(self.tiles)
            self.tiles.append(tile)
        return self.order[tile]

    def path_to(self, index: int) -> int:
        """Plan the tile holding ``index`` and the full tiles between it and a planned
        ancestor (which will authenticate them); the position of index's tile."""
        if index >= stored_hash_index(0, self.size):
            raise ValueError(f"hash index {index} is not in the tree of size {self.size}")
        k = 0
        while self.tile_of(index, k) not in self.order:
            k += 1
        for down in range(k - 1, -1, -1):
            child = self.tile_of(index, down)
            if not child.is_full:  # only full tiles have parents
                raise ValueError(f"partial tile below a parent: {child.path()}")
            self.want(child)
        return self.order[self.tile_of(index, 0)]


def _present(tile: Tile | None) -> Tile:
    if tile is None:  # the index math guarantees a tile; None would be a bug here
        raise ValueError("no such tile in the tree")
    return tile
