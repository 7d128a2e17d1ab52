"""The transparency log's arithmetic and tile authentication, against the stored hashes
of tests/sumdbserver.py's tree (built apart from gobuild.modules.tlog)."""

from __future__ import annotations

import base64
from collections.abc import Sequence

import pytest

from gobuild.errors import IntegrityError, SourceError
from gobuild.modules import tlog
from gobuild.modules.tlog import Tile, TileHashReader, Tree
from tests.sumdbserver import SumDB


class StoredHashes:
    """A HashReader straight from the server's hashes (no tiles, no checks)."""

    def __init__(self, db: SumDB) -> None:
        self.db = db

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        out = []
        for x in indexes:
            level, n = tlog.split_stored_hash_index(x)
            out.append(self.db.levels[level][n])
        return out


class ServerTiles:
    """A TileReader from the server's tiles, with tiles to corrupt and a log."""

    height = 8

    def __init__(self, db: SumDB) -> None:
        self.db = db
        self.read: list[Tile] = []
        self.saved: list[Tile] = []
        self.corrupt: set[tuple[int, int]] = set()  # (level, n)

    def read_tiles(self, tiles: Sequence[Tile]) -> list[bytes]:
        out = []
        for t in tiles:
            self.read.append(t)
            data = self.db.tile(t.level, t.n, t.width)
            assert data is not None
            if (t.level, t.n) in self.corrupt:
                data = bytes([data[0] ^ 1]) + data[1:]
            out.append(data)
        return out

    def save_tiles(self, tiles: Sequence[Tile], data: Sequence[bytes]) -> None:
        self.saved.extend(tiles)


@pytest.fixture(scope="module")
def db() -> SumDB:
    db = SumDB()
    db.add_filler(65536 + 300)  # three tile levels, partial tiles at levels 0 and 1
    return db


def test_stored_hash_index_round_trips() -> None:
    # The first indexes by hand: leaf 0, leaf 1, their parent, leaf 2, leaf 3, ...
    assert [tlog.stored_hash_index(0, n) for n in range(5)] == [0, 1, 3, 4, 7]
    assert tlog.stored_hash_index(1, 0) == 2
    assert tlog.stored_hash_index(2, 0) == 6
    for index in range(5000):
        level, n = tlog.split_stored_hash_index(index)
        assert tlog.stored_hash_index(level, n) == index


def test_tile_paths() -> None:
    # tlog's documented examples.
    assert Tile(3, 4, 1234067, 1).path() == "tile/3/4/x001/x234/067.p/1"
    assert Tile(3, 4, 1234067, 8).path() == "tile/3/4/x001/x234/067"
    assert Tile(8, 0, 0, 256).path() == "tile/8/0/000"
    assert Tile(8, 1, 1000, 3).path() == "tile/8/1/x001/000.p/3"
    assert Tile(8, -1, 5, 256).path() == "tile/8/data/005"


@pytest.mark.parametrize("size", [0, 1, 2, 3, 7, 8, 255, 256, 257, 1000, 65536, 65537, 65836])
def test_tree_hash_matches_the_server(db: SumDB, size: int) -> None:
    assert tlog.tree_hash(size, StoredHashes(db)) == db.tree_hash(size)


def test_empty_tree_hash() -> None:
    assert (
        tlog.EMPTY_HASH.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )


@pytest.mark.parametrize("record", [0, 1, 255, 256, 257, 65535, 65536, 65835])
def test_tile_hash_reader_proves_leaves(db: SumDB, record: int) -> None:
    tree = Tree(db.size, db.tree_hash(db.size))
    tiles = ServerTiles(db)
    [leaf] = TileHashReader(tree, tiles).read_hashes([tlog.stored_hash_index(0, record)])
    assert leaf == tlog.record_hash(db.records[record])
    assert tiles.saved == tiles.read  # all checked, then handed back for caching
    assert all(t.height == 8 for t in tiles.read)


def test_tile_hash_reader_in_a_smaller_tree(db: SumDB) -> None:
    # An older tree of the same log reads the partial tiles of its own width.
    tree = Tree(300, db.tree_hash(300))
    tiles = ServerTiles(db)
    [leaf] = TileHashReader(tree, tiles).read_hashes([tlog.stored_hash_index(0, 299)])
    assert leaf == tlog.record_hash(db.records[299])
    assert Tile(8, 0, 1, 44) in tiles.read
    assert (
        tlog.tree_hash(300, TileHashReader(Tree(db.size, db.tree_hash(db.size)), ServerTiles(db)))
        == tree.hash
    )


@pytest.mark.parametrize(
    ("corrupt", "message"),
    [
        ((2, 0), "tiles do not hash to the signed tree"),  # the top tile
        ((0, 257), "tiles do not hash to the signed tree"),  # the partial tile at the right edge
        ((0, 3), "does not hash to its parent tile"),  # a full tile below a checked parent
    ],
)
def test_tile_hash_reader_refuses_tiles_not_in_the_tree(
    db: SumDB, corrupt: tuple[int, int], message: str
) -> None:
    tree = Tree(db.size, db.tree_hash(db.size))
    tiles = ServerTiles(db)
    tiles.corrupt.add(corrupt)
    with pytest.raises(IntegrityError, match=message):
        TileHashReader(tree, tiles).read_hashes([tlog.stored_hash_index(0, 3 * 256 + 5)])
    assert tiles.saved == []  # nothing unverified may be cached


def test_tile_hash_reader_refuses_a_wrong_tree_hash(db: SumDB) -> None:
    tree = Tree(db.size, db.tree_hash(db.size - 1))
    with pytest.raises(IntegrityError):
        tlog.tree_hash(1000, TileHashReader(tree, ServerTiles(db)))


def test_tile_hash_reader_refuses_indexes_outside_the_tree(db: SumDB) -> None:
    tree = Tree(10, db.tree_hash(10))
    with pytest.raises(ValueError, match="not in the tree"):
        TileHashReader(tree, ServerTiles(db)).read_hashes([tlog.stored_hash_index(0, 10)])


def test_tree_note_text_round_trips() -> None:
    tree = Tree(12345, bytes(range(32)))
    assert tlog.parse_tree(tree.text()) == tree


@pytest.mark.parametrize(
    "text",
    [
        "",
        "go.sum database tree\n5\n",
        "go.sum database tree\n05\n" + base64.b64encode(bytes(32)).decode() + "\n",
        "go.sum database tree\n-5\n" + base64.b64encode(bytes(32)).decode() + "\n",
        "go.sum database tree\n5\n" + base64.b64encode(bytes(31)).decode() + "\n",
        "go.sum database tree\n5\nnot base64\n",
        "a tree\n5\n" + base64.b64encode(bytes(32)).decode() + "\n",
    ],
)
def test_malformed_tree_notes(text: str) -> None:
    with pytest.raises(SourceError, match="malformed tree note"):
        tlog.parse_tree(text)


def test_parse_record() -> None:
    rid, text, rest = tlog.parse_record(b"42\na b h1:x\na b/go.mod h1:y\n\nnote\n")
    assert (rid, text, rest) == (42, b"a b h1:x\na b/go.mod h1:y\n", b"note\n")


@pytest.mark.parametrize(
    "message",
    [
        b"",
        b"42",
        b"x\na\n\nnote",
        b"-1\na\n\nnote",
        b"42\na\nb",
        b"42\na\x01\n\nnote",
        b"42\n\xff\n\nnote",
    ],
)
def test_malformed_records(message: bytes) -> None:
    with pytest.raises(SourceError, match="malformed record"):
        tlog.parse_record(message)
