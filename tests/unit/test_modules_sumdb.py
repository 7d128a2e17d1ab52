"""The checksum database client against tests/sumdbserver.py over loopback HTTP:
inclusion at tile boundaries, consistency with the remembered tree, forks, bad
signatures, lying records, and how the database is reached through GOPROXY."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from gobuild.errors import ConfigError, IntegrityError, NotFound, SourceError
from gobuild.fetch import Fetcher
from gobuild.modules import tlog
from gobuild.modules.note import Verifier
from gobuild.modules.sumdb import KNOWN_KEYS, Client, Database, parse_gosumdb
from tests.sumdbserver import Key, Loopback, SumDB

NAME = "sumdb.test"
PREFIX = f"/sumdb/{NAME}"
BOUNDARIES = [0, 255, 256, 65535, 65536]
LAST = 65536 + 299


def h1(seed: str) -> str:
    return "h1:" + base64.b64encode(hashlib.sha256(seed.encode()).digest()).decode()


def module(i: int) -> str:
    return f"example.com/Mod{i}"  # upper case: the lookup URL escapes it


def add_module(db: SumDB, i: int) -> int:
    return db.add(module(i), "v1.0.0", h1(f"zip {i}"), h1(f"mod {i}"))


def database(db: SumDB, url: str, *, direct_only: bool = False) -> Database:
    return Database(db.name, db.vkey, url, direct_only)


def latest_file(state: Path) -> Path:
    return state / NAME / "latest"


@pytest.fixture(scope="module")
def big() -> Iterator[tuple[SumDB, Loopback]]:
    """A log of 65 836 records with modules at the tile boundaries (never changed)."""
    db = SumDB(NAME)
    for i in range(LAST + 1):
        if i in BOUNDARIES or i == LAST:
            assert add_module(db, i) == i
        else:
            db.add_filler(1)
    with db.serve() as server:
        yield db, server


@pytest.fixture
def small() -> Iterator[tuple[SumDB, Loopback]]:
    """A log of 300 records (modules 0..299), served directly; tests may change it."""
    db = SumDB(NAME)
    for i in range(300):
        add_module(db, i)
    with db.serve() as server:
        yield db, server


def client(db: SumDB, server: Loopback, state: Path, proxies: tuple[str, ...] = ()) -> Client:
    return Client(database(db, server.url), Fetcher(), state, proxies)


# GOSUMDB


def test_parse_gosumdb_default_and_off() -> None:
    default = parse_gosumdb(None)
    assert default == Database(
        "sum.golang.org", KNOWN_KEYS["sum.golang.org"], "https://sum.golang.org"
    )
    assert parse_gosumdb("") == default
    assert parse_gosumdb("sum.golang.org") == default
    assert parse_gosumdb("off") is None
    assert Verifier.parse(KNOWN_KEYS["sum.golang.org"]).name == "sum.golang.org"


def test_parse_gosumdb_china_mirror_is_sum_golang_org_at_another_url() -> None:
    db = parse_gosumdb("sum.golang.google.cn")
    assert db == Database(
        "sum.golang.org", KNOWN_KEYS["sum.golang.org"], "https://sum.golang.google.cn", True
    )


def test_parse_gosumdb_keys_and_urls() -> None:
    key = Key("sum.example.com")
    assert parse_gosumdb(key.vkey) == Database(
        "sum.example.com", key.vkey, "https://sum.example.com"
    )
    assert parse_gosumdb(f" {key.vkey}   http://127.0.0.1:8080/db/ ") == Database(
        "sum.example.com", key.vkey, "http://127.0.0.1:8080/db", direct_only=True
    )
    assert parse_gosumdb("sum.golang.org https://mirror.example") == Database(
        "sum.golang.org", KNOWN_KEYS["sum.golang.org"], "https://mirror.example", True
    )
    path_key = Key("example.com/sumdb")
    assert parse_gosumdb(path_key.vkey).url == "https://example.com/sumdb"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("   ", "blank"),
        ("sum.golang.org https://a https://b", "too many fields"),
        ("sum.example.com", "malformed verifier key"),
        ("sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ako/jq9qe4u8MO0Jw", "malformed"),
        (Key("sum.example.com").vkey + " ftp://x", "URL must be"),
        (Key("host/../etc").vkey, "dot path element"),
        (Key("user@host").vkey, "not host"),
        (
            Key("sum.golang.google.cn").vkey.replace("sum.golang.google.cn", "x", 1),
            "hash does not match",
        ),
    ],
)
def test_parse_gosumdb_refuses(value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=f"GOSUMDB.*{message}"):
        parse_gosumdb(value)


def test_client_refuses_a_key_for_another_database(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="key is for other.test"):
        Client(Database(NAME, Key("other.test").vkey, "http://x"), Fetcher(), tmp_path)


# Inclusion


@pytest.mark.parametrize("record", [*BOUNDARIES, LAST])
def test_lookup_proves_records_at_tile_boundaries(
    big: tuple[SumDB, Loopback], tmp_path: Path, record: int
) -> None:
    db, server = big
    found = client(db, server, tmp_path).lookup(module(record), "v1.0.0")
    assert (found.zip_h1, found.mod_h1, found.tree_size) == (
        h1(f"zip {record}"),
        h1(f"mod {record}"),
        db.size,
    )
    assert latest_file(tmp_path).read_bytes() == db.signed_tree()


def test_verified_full_tiles_are_cached_and_partial_ones_are_not(
    big: tuple[SumDB, Loopback], tmp_path: Path
) -> None:
    db, server = big
    start = len(server.log)
    client(db, server, tmp_path).lookup(module(256), "v1.0.0")
    first = [p for p in server.log[start:] if p.startswith("/tile/")]
    cached = sorted(
        p.relative_to(tmp_path / NAME).as_posix()
        for p in (tmp_path / NAME / "tile").rglob("*")
        if p.is_file()
    )
    assert cached == sorted(p.lstrip("/") for p in first if ".p/" not in p)
    assert cached  # tile/8/0/001 (record 256) and tile/8/1/000 at least
    start = len(server.log)
    client(db, server, tmp_path).lookup(module(256), "v1.0.0")
    again = [p for p in server.log[start:] if p.startswith("/tile/")]
    assert again == [p for p in first if ".p/" in p]  # only partial tiles are fetched again


def test_a_damaged_cached_tile_is_fetched_again(
    big: tuple[SumDB, Loopback], tmp_path: Path
) -> None:
    db, server = big
    client(db, server, tmp_path).lookup(module(256), "v1.0.0")
    tile = tmp_path / NAME / "tile/8/0/001"
    tile.write_bytes(bytes(len(tile.read_bytes())))
    assert client(db, server, tmp_path).lookup(module(256), "v1.0.0").tree_size == db.size
    assert tile.read_bytes() == db.tile(0, 1, 256)  # replaced by the verified tile


def test_unknown_module_is_not_found(small: tuple[SumDB, Loopback], tmp_path: Path) -> None:
    db, server = small
    with pytest.raises(NotFound, match=f"checksum database {NAME}: example.com/nope@v1.0.0: "):
        client(db, server, tmp_path).lookup("example.com/nope", "v1.0.0")


def test_invalid_module_path_is_refused_before_asking(
    small: tuple[SumDB, Loopback], tmp_path: Path
) -> None:
    db, server = small
    with pytest.raises(ConfigError, match="malformed module path"):
        client(db, server, tmp_path).lookup("Example.com/x", "v1.0.0")
    assert server.log == []


# Consistency with the remembered tree


def test_a_grown_tree_must_contain_the_remembered_one(
    small: tuple[SumDB, Loopback], tmp_path: Path
) -> None:
    db, server = small
    c = client(db, server, tmp_path)
    assert c.lookup(module(5), "v1.0.0").tree_size == 300
    for i in range(300, 1000):
        add_module(db, i)
    assert c.lookup(module(999), "v1.0.0").tree_size == 1000
    assert latest_file(tmp_path).read_bytes() == db.signed_tree()
    # A new client (another gobuild run) starts from the remembered tree.
    for i in range(1000, 1100):
        add_module(db, i)
    assert client(db, server, tmp_path).lookup(module(7), "v1.0.0").tree_size == 1100


def test_an_older_tree_must_be_contained_in_the_remembered_one(
    small: tuple[SumDB, Loopback], tmp_path: Path
) -> None:
    db, server = small
    for i in range(300, 600):
        add_module(db, i)
    client(db, server, tmp_path).lookup(module(550), "v1.0.0")
    remembered = latest_file(tmp_path).read_bytes()
    db.present(300)  # a server (or a cache in front of it) answering from an older head
    found = client(db, server, tmp_path).lookup(module(3), "v1.0.0")
    assert found.tree_size == 600  # proven in the newest verified tree
    assert latest_file(tmp_path).read_bytes() == remembered


def test_another_process_moved_latest_on(small: tuple[SumDB, Loopback], tmp_path: Path) -> None:
    db, server = small
    mine = client(db, server, tmp_path)
    mine.lookup(module(1), "v1.0.0")  # remembers 300
    for i in range(300, 400):
        add_module(db, i)
    client(db, server, tmp_path).lookup(module(1), "v1.0.0")  # another run: 400
    for i in range(400, 500):
        add_module(db, i)
    assert mine.lookup(module(450), "v1.0.0").tree_size == 500
    assert tlog.parse_tree(latest_file(tmp_path).read_text().split("\n\n")[0] + "\n").size == 500


@pytest.mark.parametrize("grow", [0, 1, 700])
def test_fork_is_refused_and_latest_kept(
    small: tuple[SumDB, Loopback], tmp_path: Path, grow: int
) -> None:
    db, server = small
    client(db, server, tmp_path).lookup(module(1), "v1.0.0")
    remembered = latest_file(tmp_path).read_bytes()
    db.fork(200)  # record 200 rewritten: the same size, another history
    for i in range(300, 300 + grow):
        add_module(db, i)
    with pytest.raises(IntegrityError) as info:
        client(db, server, tmp_path).lookup(module(1), "v1.0.0")
    message = str(info.value)
    assert f"checksum database {NAME}: {module(1)}@v1.0.0:" in message
    assert f"tree (size {300 + grow}) forked from the one verified before (size 300" in message
    assert "\n" not in message
    assert latest_file(tmp_path).read_bytes() == remembered


def test_fork_behind_the_remembered_tree_is_refused(
    small: tuple[SumDB, Loopback], tmp_path: Path
) -> None:
    db, server = small
    client(db, server, tmp_path).lookup(module(1), "v1.0.0")
    remembered = latest_file(tmp_path).read_bytes()
    db.fork(10)
    db.present(200)  # an older head of another history
    with pytest.raises(
        IntegrityError, match=r"tree \(size 200\) forked from the one verified before \(size 300"
    ):
        client(db, server, tmp_path).lookup(module(1), "v1.0.0")
    assert latest_file(tmp_path).read_bytes() == remembered


def test_fork_under_cached_tiles_is_still_a_fork(
    big: tuple[SumDB, Loopback], tmp_path: Path
) -> None:
    # Full tiles cached from the old history must not hide the fork (nor be replaced).
    db = SumDB(NAME)
    for i in range(1000):
        add_module(db, i)
    with db.serve() as server:
        client(db, server, tmp_path).lookup(module(600), "v1.0.0")
        cached = {p: p.read_bytes() for p in (tmp_path / NAME / "tile").rglob("*") if p.is_file()}
        db.fork(300)
        for i in range(1000, 1300):
            add_module(db, i)
        with pytest.raises(IntegrityError, match="forked"):
            client(db, server, tmp_path).lookup(module(600), "v1.0.0")
    assert {
        p: p.read_bytes() for p in (tmp_path / NAME / "tile").rglob("*") if p.is_file()
    } == cached


# Signatures and records


def test_signature_by_another_key_is_refused(small: tuple[SumDB, Loopback], tmp_path: Path) -> None:
    db, server = small
    db.sign_with_other_key = True
    with pytest.raises(
        IntegrityError, match=f"{NAME}: {module(1)}@v1.0.0: note has no verifiable signatures"
    ):
        client(db, server, tmp_path).lookup(module(1), "v1.0.0")
    assert not latest_file(tmp_path).exists()


def test_forged_signature_is_refused(small: tuple[SumDB, Loopback], tmp_path: Path) -> None:
    db, server = small
    db.forge_signature = True
    with pytest.raises(IntegrityError, match=f"invalid signature for key {NAME}"):
        client(db, server, tmp_path).lookup(module(1), "v1.0.0")
    assert not latest_file(tmp_path).exists()


def test_record_not_in_the_tree_is_refused(small: tuple[SumDB, Loopback], tmp_path: Path) -> None:
    db, server = small
    db.lie(
        module(1),
        "v1.0.0",
        f"{module(1)} v1.0.0 {h1('evil')}\n{module(1)} v1.0.0/go.mod {h1('mod 1')}\n".encode(),
    )
    with pytest.raises(
        IntegrityError, match="the record answered is not record 1 of the signed tree of size 300"
    ):
        client(db, server, tmp_path).lookup(module(1), "v1.0.0")


def test_record_id_beyond_the_tree_is_refused(
    small: tuple[SumDB, Loopback], tmp_path: Path
) -> None:
    db, server = small
    db.present(100)
    with pytest.raises(IntegrityError, match="record 150 cannot be in the signed tree of size 100"):
        client(db, server, tmp_path).lookup(module(150), "v1.0.0")


def test_a_proven_record_of_another_module_is_refused(
    small: tuple[SumDB, Loopback], tmp_path: Path
) -> None:
    db, server = small
    db.ids[(module(2), "v1.0.0")] = db.ids[(module(1), "v1.0.0")]  # answers module 1's record
    with pytest.raises(IntegrityError, match="lists 0 h1: hashes for the zip and 0 for the go.mod"):
        client(db, server, tmp_path).lookup(module(2), "v1.0.0")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html>proxy error</html>", "malformed record"),
        (b"0\nexample.com/x v1.0.0 h1:x\n\nnot a note", "malformed signed note"),
    ],
)
def test_malformed_answers_are_source_errors(tmp_path: Path, body: bytes, message: str) -> None:
    key = Key(NAME)
    with Loopback(lambda path: (200, body)) as server:
        c = Client(Database(NAME, key.vkey, server.url), Fetcher(), tmp_path)
        with pytest.raises(
            SourceError, match=f"checksum database {NAME}: example.com/x@v1.0.0: {message}"
        ):
            c.lookup("example.com/x", "v1.0.0")


def test_remembered_tree_signed_by_another_key_is_refused(
    small: tuple[SumDB, Loopback], tmp_path: Path
) -> None:
    db, server = small
    latest_file(tmp_path).parent.mkdir(parents=True)
    latest_file(tmp_path).write_bytes(
        Key(NAME).sign("go.sum database tree\n1\n" + base64.b64encode(bytes(32)).decode() + "\n")
    )
    with pytest.raises(IntegrityError, match="remembered tree head is unusable"):
        client(db, server, tmp_path).lookup(module(1), "v1.0.0")


# Reaching the database through GOPROXY


def test_first_proxy_that_supports_the_database_is_used(
    small: tuple[SumDB, Loopback], tmp_path: Path
) -> None:
    db, direct = small
    with Loopback(lambda path: (404, b"")) as plain, db.serve(PREFIX) as proxy:
        proxies = ("file:///nonexistent/goproxy", plain.url, proxy.url + "/", direct.url)
        c = Client(database(db, direct.url), Fetcher(), tmp_path, proxies)
        c.lookup(module(1), "v1.0.0")
        c.lookup(module(2), "v1.0.0")
        assert c.base_url == proxy.url + PREFIX
        assert plain.log == [f"{PREFIX}/supported"]
        assert proxy.log[0] == f"{PREFIX}/supported"
        assert proxy.log.count(f"{PREFIX}/supported") == 1  # chosen once for the client's life
        assert f"{PREFIX}/lookup/example.com/!mod2@v1.0.0" in proxy.log
        assert direct.log == []


def test_no_proxy_supports_it_then_direct(small: tuple[SumDB, Loopback], tmp_path: Path) -> None:
    db, direct = small
    with Loopback(lambda path: (410, b"")) as gone:
        c = Client(database(db, direct.url), Fetcher(), tmp_path, (gone.url,))
        assert c.lookup(module(1), "v1.0.0").tree_size == 300
        assert gone.log == [f"{PREFIX}/supported"]
        assert c.base_url == direct.url
        assert "/lookup/example.com/!mod1@v1.0.0" in direct.log


@pytest.mark.parametrize("stop", ["direct", "off"])
def test_direct_in_the_proxy_list_ends_the_search(
    small: tuple[SumDB, Loopback], tmp_path: Path, stop: str
) -> None:
    db, direct = small
    with db.serve(PREFIX) as proxy:
        c = Client(database(db, direct.url), Fetcher(), tmp_path, (stop, proxy.url))
        c.lookup(module(1), "v1.0.0")
        assert proxy.log == []
        assert c.base_url == direct.url


def test_a_url_in_gosumdb_bypasses_proxies(small: tuple[SumDB, Loopback], tmp_path: Path) -> None:
    db, direct = small
    with db.serve(PREFIX) as proxy:
        c = Client(database(db, direct.url, direct_only=True), Fetcher(), tmp_path, (proxy.url,))
        c.lookup(module(1), "v1.0.0")
        assert proxy.log == []


def test_a_proxy_failing_otherwise_is_an_error(
    small: tuple[SumDB, Loopback], tmp_path: Path
) -> None:
    db, direct = small
    with Loopback(lambda path: (403, b"")) as forbidden:
        c = Client(database(db, direct.url), Fetcher(), tmp_path, (forbidden.url, direct.url))
        for _ in range(2):  # and not silently direct the second time
            with pytest.raises(SourceError, match="HTTP 403"):
                c.lookup(module(1), "v1.0.0")
        assert direct.log == []
