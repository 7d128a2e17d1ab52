"""The checksum database client and dirhash against the real thing.

1. The go command accepts tests/sumdbserver.py as a checksum database (so its formats,
   which the unit tests verify gobuild against, are Go's), refuses it when the record's
   h1 is wrong or its history forks, and agrees with hash_zip on a module zip.
2. hash_zip and hash_dir give the go command's Sum for real modules.
3. gobuild's client verifies lookups in the real sum.golang.org through proxy.golang.org.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gobuild.errors import IntegrityError
from gobuild.fetch import Fetcher
from gobuild.modules import dirhash
from gobuild.modules.sumdb import Client, Database, parse_gosumdb
from tests.sumdbserver import Loopback, SumDB

GO = Path("/usr/local/go/bin/go")
NAME = "sumdb.test"
REAL = [
    ("github.com/google/uuid", "v1.6.0"),
    ("github.com/pkg/errors", "v0.9.1"),
    ("github.com/davecgh/go-spew", "v1.1.1"),
]
TOOLCHAIN = ("golang.org/toolchain", "v0.0.1-go1.22.10.linux-amd64")

pytestmark = pytest.mark.skipif(not GO.exists(), reason=f"no reference go command at {GO}")


def go_env(tmp: Path, goproxy: str, gosumdb: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GO")}
    env.update(
        GOENV="off",
        GOTOOLCHAIN="local",
        GOFLAGS="-mod=mod",
        GOPATH=str(tmp / "gopath"),
        GOMODCACHE=str(tmp / "modcache"),
        GOCACHE=str(tmp / "gocache"),
        GOPROXY=goproxy,
        GOSUMDB=gosumdb,
    )
    return env  # GONOSUMDB, GOPRIVATE, GONOSUMCHECK, GOINSECURE: unset


def go_download(tmp: Path, env: dict[str, str], *modules: str) -> subprocess.CompletedProcess[str]:
    work = tmp / "work"
    work.mkdir(exist_ok=True)
    return subprocess.run(
        [str(GO), "mod", "download", "-json", *modules],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def json_stream(text: str) -> list[dict[str, Any]]:
    decoder = json.JSONDecoder()
    out, i = [], 0
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        obj, i = decoder.raw_decode(text, i)
        out.append(obj)
    return out


def gomod_h1(content: bytes) -> str:
    """A go.mod's h1: Hash1 over one file named go.mod (as the go command hashes it)."""
    line = hashlib.sha256(content).hexdigest().encode() + b"  go.mod\n"
    return "h1:" + base64.b64encode(hashlib.sha256(line).digest()).decode()


def publish(proxy: Path, path: str, version: str, files: dict[str, bytes]) -> tuple[str, str]:
    """Put path@version in a file GOPROXY; its zip's h1 (by hash_zip) and go.mod's h1."""
    d = proxy / path / "@v"
    d.mkdir(parents=True, exist_ok=True)
    mod = f"module {path}\n\ngo 1.21\n".encode()
    with (d / "list").open("a") as f:
        f.write(version + "\n")
    (d / f"{version}.info").write_text(
        json.dumps({"Version": version, "Time": "2024-01-01T00:00:00Z"})
    )
    (d / f"{version}.mod").write_bytes(mod)
    with zipfile.ZipFile(d / f"{version}.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"{path}@{version}/go.mod", mod)
        for name, data in files.items():
            zf.writestr(f"{path}@{version}/{name}", data)
    return dirhash.hash_zip(d / f"{version}.zip"), gomod_h1(mod)


@pytest.fixture
def tiny(tmp_path: Path) -> Iterator[tuple[SumDB, Loopback, Path, str, str]]:
    """example.com/tiny@v1.0.0 in a file GOPROXY, and a test checksum database that
    holds it as record 300 of 600."""
    proxy = tmp_path / "proxy"
    zip_h1, mod_h1 = publish(
        proxy, "example.com/tiny", "v1.0.0", {"tiny.go": b"package tiny\n\nconst X = 1\n"}
    )
    db = SumDB(NAME)
    db.add_filler(300)
    db.add("example.com/tiny", "v1.0.0", zip_h1, mod_h1)
    db.add_filler(299)
    with db.serve() as server:
        yield db, server, proxy, zip_h1, mod_h1


def test_go_accepts_the_test_database(
    tiny: tuple[SumDB, Loopback, Path, str, str], tmp_path: Path
) -> None:
    db, server, proxy, zip_h1, mod_h1 = tiny
    env = go_env(tmp_path, proxy.as_uri(), f"{db.vkey} {server.url}")
    res = go_download(tmp_path, env, "example.com/tiny@v1.0.0")
    assert res.returncode == 0, res.stderr
    [info] = json_stream(res.stdout)
    assert "Error" not in info
    # The go command computed the zip's hash itself: dirhash agrees with it.
    assert (info["Sum"], info["GoModSum"]) == (zip_h1, mod_h1)
    assert any(p.startswith("/lookup/example.com/tiny@v1.0.0") for p in server.log)
    assert any(p.startswith("/tile/8/") for p in server.log)
    # Go remembers the same signed head gobuild would.
    assert (tmp_path / "gopath/pkg/sumdb" / NAME / "latest").read_bytes() == db.signed_tree()
    found = Client(Database(NAME, db.vkey, server.url), Fetcher(), tmp_path / "state").lookup(
        "example.com/tiny", "v1.0.0"
    )
    assert (found.zip_h1, found.mod_h1, found.tree_size) == (zip_h1, mod_h1, 600)


def test_go_refuses_a_wrong_h1_from_the_test_database(tmp_path: Path) -> None:
    proxy = tmp_path / "proxy"
    _, mod_h1 = publish(proxy, "example.com/tiny", "v1.0.0", {"tiny.go": b"package tiny\n"})
    wrong = "h1:" + base64.b64encode(hashlib.sha256(b"something else").digest()).decode()
    db = SumDB(NAME)
    db.add_filler(10)
    db.add("example.com/tiny", "v1.0.0", wrong, mod_h1)
    with db.serve() as server:
        res = go_download(
            tmp_path,
            go_env(tmp_path, proxy.as_uri(), f"{db.vkey} {server.url}"),
            "example.com/tiny@v1.0.0",
        )
    assert res.returncode != 0
    assert "SECURITY ERROR" in res.stdout + res.stderr
    assert "checksum mismatch" in res.stdout + res.stderr


def test_go_detects_the_test_databases_fork(
    tiny: tuple[SumDB, Loopback, Path, str, str], tmp_path: Path
) -> None:
    db, server, proxy, _, _ = tiny
    env = go_env(tmp_path, proxy.as_uri(), f"{db.vkey} {server.url}")
    assert go_download(tmp_path, env, "example.com/tiny@v1.0.0").returncode == 0
    ours = Client(Database(NAME, db.vkey, server.url), Fetcher(), tmp_path / "state")
    ours.lookup("example.com/tiny", "v1.0.0")
    other_h1, other_mod = publish(
        proxy, "example.com/other", "v1.0.0", {"o.go": b"package other\n"}
    )
    db.fork(100)  # in tile 8/0/000, which go never fetched (nor cached)
    # Grown past the partial tiles go cached (8/1/000.p/2, 8/0/002.p/88): it checks the
    # new tree with new tiles, which hash to the new tree but not to the old one. (Had
    # it cached a tile of the old history that the new tree needs, go would call that
    # an inconsistent tile, not a fork.)
    db.add_filler(299)
    db.add("example.com/other", "v1.0.0", other_h1, other_mod)
    res = go_download(tmp_path, env, "example.com/other@v1.0.0")
    assert res.returncode != 0
    assert "SECURITY ERROR" in res.stdout + res.stderr
    assert "misbehavior detected" in res.stdout + res.stderr
    with pytest.raises(
        IntegrityError, match=r"tree \(size 900\) forked from the one verified before \(size 600"
    ):
        ours.lookup("example.com/other", "v1.0.0")


@pytest.fixture(scope="module")
def real_modules(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], dict[str, Any]]:
    """Three small real modules as the go command downloads them from proxy.golang.org."""
    tmp = tmp_path_factory.mktemp("real")
    res = go_download(
        tmp,
        go_env(tmp, "https://proxy.golang.org", "sum.golang.org"),
        *(f"{p}@{v}" for p, v in REAL),
    )
    assert res.returncode == 0, res.stderr
    return {(m["Path"], m["Version"]): m for m in json_stream(res.stdout)}


@pytest.mark.parametrize(("path", "version"), REAL)
def test_dirhash_matches_the_go_command(
    real_modules: dict[tuple[str, str], dict[str, Any]], path: str, version: str
) -> None:
    info = real_modules[(path, version)]
    assert dirhash.hash_zip(Path(info["Zip"])) == info["Sum"]
    assert dirhash.hash_dir(Path(info["Dir"]), f"{path}@{version}") == info["Sum"]
    assert dirhash.h1_hex(info["Sum"]) == base64.b64decode(info["Sum"][3:]).hex()


def test_real_checksum_database_through_the_proxy(
    real_modules: dict[tuple[str, str], dict[str, Any]], tmp_path: Path
) -> None:
    db = parse_gosumdb(None)
    assert db is not None
    first = Client(db, Fetcher(), tmp_path, proxies=["https://proxy.golang.org"])
    uuid = first.lookup("github.com/google/uuid", "v1.6.0")
    info = real_modules[("github.com/google/uuid", "v1.6.0")]
    assert (uuid.zip_h1, uuid.mod_h1) == (info["Sum"], info["GoModSum"])
    assert first.base_url == "https://proxy.golang.org/sumdb/sum.golang.org"
    toolchain = first.lookup(*TOOLCHAIN)  # a lookup only: the zip is not downloaded
    dirhash.h1_hex(toolchain.zip_h1)
    latest = (tmp_path / "sum.golang.org" / "latest").read_text()
    assert latest.startswith("go.sum database tree\n")
    assert "— sum.golang.org " in latest
    assert any((tmp_path / "sum.golang.org" / "tile" / "8").rglob("*"))  # full tiles cached
    # Another run starts from the remembered tree: the new answers must extend it.
    second = Client(db, Fetcher(), tmp_path, proxies=["https://proxy.golang.org"])
    again = second.lookup(*TOOLCHAIN)
    assert again.zip_h1 == toolchain.zip_h1
    assert again.tree_size >= toolchain.tree_size >= uuid.tree_size
    errors = second.lookup("github.com/pkg/errors", "v0.9.1")
    assert errors.zip_h1 == real_modules[("github.com/pkg/errors", "v0.9.1")]["Sum"]
