"""The module-proxy source end to end: golang.org/toolchain zips from a loopback GOPROXY,
verified by a loopback checksum database (tests/goproxyserver.py, tests/sumdbserver.py).

Through the real command line (in process, and as a subprocess where the output or a
child's view of the environment matters) and doit. Zips that need no runnable Go are
tiny fakes (a shell-script bin/go); two tests install the real Go 1.22.10 zip and run it.
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import json
import os
import socket
import stat
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gobuild.cli import main as cli
from gobuild.project.platforms import Platform, host
from gobuild.project.toolpins import DEFAULT_PINS
from tests import godist, goproxyserver
from tests.buildenv import BIN, git
from tests.goproxyserver import (
    MODULE,
    TOOL_MODULES,
    Proxy,
    fake_h1,
    fake_toolchain_zip,
    mod_h1,
    publish_tool,
    zip_h1,
)
from tests.mirror import LISTING, Mirror
from tests.sumdbserver import SumDB

NAME = "sumdb.test"
HOST = host()
KEY = HOST.key
SIX = [
    Platform(goos, goarch)
    for goos in ("linux", "darwin", "windows")
    for goarch in ("amd64", "arm64")
]
OTHERS = [p for p in SIX if p != HOST]
SECRET = "s3cret-Pa55"


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def read_lock(root: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((root / "gobuild.lock").read_text())
    return data


def artifacts(root: Path) -> dict[str, dict[str, dict[str, str]]]:
    found: dict[str, dict[str, dict[str, str]]] = read_lock(root)["go"]["artifacts"]
    return found


def tree(cache: Path, version: str = "1.22.10") -> Path:
    return cache / "toolchains" / f"go{version}.{KEY}"


def marker(cache: Path, version: str = "1.22.10") -> Path:
    return cache / "toolchains" / f"go{version}.{KEY}.complete"


def assert_nothing_installed(cache: Path, root: Path, version: str = "1.22.10") -> None:
    assert not marker(cache, version).exists()
    assert not tree(cache, version).exists()
    tmp = cache / "tmp"
    assert not tmp.exists() or not any(tmp.iterdir())
    lock = root / "gobuild.lock"
    assert not lock.exists() or read_lock(root)["go"]["artifacts"].get(KEY) is None


def one_error(err: str) -> str:
    """The error line of a failed command (every other line a notice)."""
    lines = err.splitlines()
    errors = [line for line in lines if line.startswith("gobuild: error:")]
    assert len(errors) == 1, err
    return errors[0]


# -- fixtures -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def fakes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the tiny toolchain zips are written (once per session)."""
    return tmp_path_factory.mktemp("fake-zips")


@pytest.fixture(scope="session")
def real_zip() -> Path:
    """The real Go 1.22.10 for this host as a module zip (cached between runs)."""
    return godist.toolchain_zip("1.22.10")


@pytest.fixture
def db() -> SumDB:
    database = SumDB(NAME)
    database.add_filler(300)  # past the first full tile
    return database


@pytest.fixture
def proxy(db: SumDB) -> Iterator[Proxy]:
    with goproxyserver.serving(db) as served:
        yield served


@pytest.fixture
def modenv(monkeypatch: pytest.MonkeyPatch, proxy: Proxy, db: SumDB) -> dict[str, str]:
    """GOPROXY and GOSUMDB for the loopback proxy and database; nothing else set."""
    for name in ("GONOSUMDB", "GOPRIVATE", "GONOSUMCHECK", "GOFLAGS", "GOAUTH", "NETRC"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GOPROXY", proxy.url)
    monkeypatch.setenv("GOSUMDB", db.vkey)
    return {"GOPROXY": proxy.url, "GOSUMDB": db.vkey}


@pytest.fixture
def cache(cache_dir: Path) -> Path:
    """GOBUILD_CACHE, this test's own."""
    return cache_dir


class Projects:
    """Writes projects under one directory (tmp_path)."""

    def __init__(self, base: Path) -> None:
        self.base = base

    def __call__(
        self,
        pin: str = "1.22.10",
        *,
        sources: tuple[str, ...] = ("goproxy",),
        mirror: Mirror | None = None,
        platforms: list[Platform] | None = None,
        goproxy: str | None = None,
        name: str = "proj",
        extra: str = "",
    ) -> Path:
        root = self.base / name
        root.mkdir()
        (root / "go.mod").write_text(f"module example.com/{name}\n\ngo 1.22\n")
        (root / "main.go").write_text('package main\n\nfunc main() { println("hi") }\n')
        lines = ["[go]", f'version = "{pin}"', "", "[toolchain]"]
        lines.append("sources = [" + ", ".join(f'"{s}"' for s in sources) + "]")
        lines.append("retries = 0")
        lines.append("timeout = 10")
        if mirror is not None:
            lines.append(f'mirror = "{mirror.url}"')
        if goproxy is not None:
            lines.append(f'goproxy = "{goproxy}"')
        plats = [HOST] if platforms is None else platforms
        listed = "[" + ", ".join(f'"{p}"' for p in plats) + "]"
        lines += [f"lock_platforms = {listed}", "", "[dist]", f"platforms = {listed}"]
        (root / "gobuild.toml").write_text("\n".join(lines) + "\n" + extra)
        return root


@pytest.fixture
def projects(tmp_path: Path) -> Projects:
    return Projects(tmp_path)


def publish_fake(proxy: Proxy, fakes: Path, version: str = "1.22.10", **kw: Any) -> str:
    return proxy.publish(version, zip_path=fake_toolchain_zip(version, fakes), **kw)


@pytest.fixture
def fallback(mirror: Mirror) -> Mirror:
    """A working go.dev-layout mirror (a fake 1.22.10 and 1.21.13) to fall back to."""
    for version in ("1.21.13", "1.22.10"):
        mirror.add(version, godist.fake_archive(version))
    return mirror


def archive_requests(mirror: Mirror) -> list[tuple[str, str]]:
    return [r for r in mirror.requests() if r[0] != LISTING]


# -- 1. a good install ----------------------------------------------------------------------


def go_exec_rule(rel: str) -> bool:
    """Which files the go command makes executable after unzipping a toolchain
    (cmd/go/internal/toolchain: all of pkg/tool and bin, lib's go_?*_?*_exec)."""
    if rel.startswith(("bin/", "pkg/tool/")):
        return True
    return rel.startswith("lib/") and fnmatch.fnmatchcase(rel.rsplit("/", 1)[-1], "go_?*_?*_exec")


def test_install_real_go_from_the_module_proxy(
    proxy: Proxy, db: SumDB, modenv: dict[str, str], projects: Projects, cache: Path, real_zip: Path
) -> None:
    proxy.publish("1.22.10", zip_path=real_zip)
    root = projects()
    env = {**os.environ, **modenv, "PATH": "/usr/bin:/bin"}
    res = subprocess.run(
        [str(BIN / "gobuild"), "-C", str(root), "toolchain", "install"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    assert "installed from goproxy" in res.stdout
    assert res.stderr == ""  # no notices: the database was on and answered

    goroot = tree(cache) / "go"
    version = subprocess.run(
        [str(goroot / "bin" / "go"), "version"],
        env={"PATH": "/usr/bin:/bin", "GOROOT": str(goroot), "HOME": str(root)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert version.startswith(f"go version go1.22.10 {HOST.goos}/{HOST.goarch}")

    # Executable bits as the go command sets them, and nothing else executable or writable.
    executable: set[str] = set()
    plain: set[str] = set()
    for path in goroot.rglob("*"):
        if path.is_file():
            rel = path.relative_to(goroot).as_posix()
            mode = path.stat().st_mode
            assert not mode & 0o222, f"{rel} is writable"
            (executable if mode & stat.S_IXUSR else plain).add(rel)
    assert {"bin/go", "bin/gofmt", f"pkg/tool/{HOST.goos}_{HOST.goarch}/compile"} <= executable
    assert "src/make.bash" in plain  # executable in go.dev's tarball; not in a module zip
    assert {r for r in executable | plain if go_exec_rule(r)} == executable

    h1 = zip_h1(real_zip)
    assert artifacts(root) == {
        KEY: {"goproxy": {"filename": f"v0.0.1-go1.22.10.{KEY}.zip", "h1": h1}}
    }
    info = json.loads(marker(cache).read_text())
    assert (info["source"], info["h1"]) == ("goproxy", h1)
    assert info["url"] == f"{proxy.url}/{MODULE}/@v/v0.0.1-go1.22.10.{KEY}.zip"
    latest = cache / "sumdb" / NAME / "latest"
    assert latest.read_text().startswith(f"go.sum database tree\n{db.size}\n")

    # A repeat install is answered from the cache and the lock: no request at all.
    asked = len(proxy.requests())
    code, out, err = run("-C", str(root), "toolchain", "install")
    assert (code, err) == (0, "") and "already installed" in out
    assert len(proxy.requests()) == asked


def test_series_pin_resolves_from_the_proxy_list(
    proxy: Proxy,
    modenv: dict[str, str],
    projects: Projects,
    cache: Path,
    fakes: Path,
) -> None:
    for version in ("1.22.9", "1.22.10", "1.21.13"):
        publish_fake(proxy, fakes, version)
    # Listed but not for this host, or not a release of the series' stable line.
    proxy.versions += [
        godist.toolchain_module_version("1.22.11", Platform("darwin", "arm64")),
        godist.toolchain_module_version("1.22rc1"),
        "v0.0.1-go1.22.12.linux-amd64.extra",
        "v0.0.2-go1.22.13." + KEY,
    ]
    root = projects("1.22")
    code, out, err = run("-C", str(root), "toolchain", "install")
    assert (code, err) == (0, "")
    assert f"Go 1.22.10 ({HOST}) installed from goproxy" in out
    assert proxy.requests("/@v/list") == [f"/{MODULE}/@v/list"]
    assert proxy.requests(".zip") == [ZIP]
    lock = read_lock(root)["go"]
    assert (lock["request"], lock["version"]) == ("1.22", "1.22.10")
    # Resolved offline from now on.
    code, out, _ = run("-C", str(root), "toolchain", "install")
    assert code == 0 and "already installed" in out
    assert len(proxy.requests("/@v/list")) == 1


# -- 2-4. answers that do not verify: refused, nothing installed, no other source tried ---


def test_zip_not_matching_the_database_is_refused_without_falling_back(
    proxy: Proxy,
    modenv: dict[str, str],
    projects: Projects,
    cache: Path,
    fakes: Path,
    fallback: Mirror,
) -> None:
    forged = fake_h1("forged")
    publish_fake(proxy, fakes, h1=forged)
    root = projects(sources=("goproxy", "official"), mirror=fallback)
    code, out, err = run("-C", str(root), "toolchain", "install")
    assert (code, out) == (1, "")
    assert err.count("\n") == 1, err
    assert err.startswith("gobuild: error:")
    assert f"{MODULE}@v0.0.1-go1.22.10.{KEY}" in err and forged in err
    assert "refusing to install" in err
    assert proxy.requests(".zip")  # downloaded and hashed, then refused
    assert fallback.requests() == []  # a mismatch is never a reason to try the mirror
    assert_nothing_installed(cache, root)


def lie_about_the_record(db: SumDB, modver: str) -> None:
    # The lookup answers a record the signed tree does not hold.
    db.lie(MODULE, modver, f"{MODULE} {modver} {fake_h1('lie')}\n".encode())


def present_an_older_tree(db: SumDB, modver: str) -> None:
    # A signed head from before the record was added (a rollback).
    db.present(db.size - 1)


FAULTS: dict[str, tuple[str, Callable[[SumDB, str], None]]] = {
    "sign_with_other_key": ("signature", lambda db, _: setattr(db, "sign_with_other_key", True)),
    "forge_signature": ("signature", lambda db, _: setattr(db, "forge_signature", True)),
    "lie": ("not record", lie_about_the_record),
    "present": ("cannot be in the signed tree", present_an_older_tree),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_database_answer_not_verifying_is_refused(
    fault: str,
    proxy: Proxy,
    db: SumDB,
    modenv: dict[str, str],
    projects: Projects,
    cache: Path,
    fakes: Path,
    fallback: Mirror,
) -> None:
    modver = publish_fake(proxy, fakes)
    why, make = FAULTS[fault]
    make(db, modver)
    root = projects(sources=("goproxy", "official"), mirror=fallback)
    code, out, err = run("-C", str(root), "toolchain", "install")
    assert (code, out) == (1, "")
    assert err.count("\n") == 1, err
    assert f"checksum database {NAME}: {MODULE}@{modver}" in err
    assert why in err
    assert proxy.requests(".zip") == []  # refused before any download
    assert fallback.requests() == []
    assert_nothing_installed(cache, root)
    if why == "signature":  # an unverified head is never remembered
        assert not (cache / "sumdb" / NAME / "latest").exists()


def test_database_forking_from_the_remembered_tree_is_refused(
    proxy: Proxy,
    db: SumDB,
    modenv: dict[str, str],
    projects: Projects,
    cache: Path,
    fakes: Path,
    fallback: Mirror,
) -> None:
    publish_fake(proxy, fakes, "1.21.13")
    root = projects(sources=("goproxy", "official"), mirror=fallback)
    # An explicit version is looked up and installed, not locked: the tree is remembered.
    code, out, err = run("-C", str(root), "toolchain", "install", "1.21.13")
    assert code == 0, err
    assert "installed from goproxy" in out
    latest = cache / "sumdb" / NAME / "latest"
    remembered = latest.read_bytes()
    assert remembered.startswith(f"go.sum database tree\n{db.size}\n".encode())

    db.fork(7)  # another history from record 7 on, signed with the right key
    publish_fake(proxy, fakes)
    code, out, err = run("-C", str(root), "toolchain", "install")
    assert (code, out) == (1, "")
    assert err.count("\n") == 1, err
    assert "forked" in err and str(latest) in err
    assert latest.read_bytes() == remembered
    assert proxy.requests(f"go1.22.10.{KEY}.zip") == []
    assert fallback.requests() == []
    assert_nothing_installed(cache, root)


# -- 5. the GOPROXY list's fall-through rules, and falling back to the next source --------


def notices(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.strip()]


@pytest.mark.parametrize("down", ["closed", "500", "drop"])
def test_unavailable_proxy_falls_back_to_the_next_source(
    down: str,
    proxy: Proxy,
    db: SumDB,
    monkeypatch: pytest.MonkeyPatch,
    modenv: dict[str, str],
    projects: Projects,
    cache: Path,
    fakes: Path,
    fallback: Mirror,
) -> None:
    publish_fake(proxy, fakes)
    url = proxy.url
    if down == "closed":
        url = f"http://127.0.0.1:{closed_port()}"
        monkeypatch.setenv("GOPROXY", url)
    else:
        proxy.break_prefix("/", down)
    root = projects(sources=("goproxy", "official"), mirror=fallback)
    code, out, err = run("-C", str(root), "toolchain", "install")
    assert code == 0, err
    assert "installed from official" in out
    lines = notices(err)
    assert len(lines) == 1, err
    assert f"module proxy {url} unavailable" in lines[0]
    assert f"trying mirror {fallback.url}" in lines[0]
    assert [r[0] for r in archive_requests(fallback)] == [f"go1.22.10.{KEY}.tar.gz"]
    assert list(artifacts(root)[KEY]) == ["official"]
    assert marker(cache).exists()
    # The fallback is noticed once, by the install: later commands find the toolchain
    # offline, ask no source and say nothing.
    seen = (len(proxy.requests()), len(fallback.requests()))
    for argv in (("env", "--json"), ("go", "version"), ("toolchain", "install")):
        code, _out, err = run("-C", str(root), *argv)
        assert (code, err) == (0, ""), (argv, err)
    assert (len(proxy.requests()), len(fallback.requests())) == seen


def test_goproxy_off_falls_back_to_the_next_source(
    proxy: Proxy,
    monkeypatch: pytest.MonkeyPatch,
    modenv: dict[str, str],
    projects: Projects,
    fakes: Path,
    fallback: Mirror,
) -> None:
    publish_fake(proxy, fakes)
    monkeypatch.setenv("GOPROXY", "off")
    root = projects(sources=("goproxy", "official"), mirror=fallback)
    code, out, err = run("-C", str(root), "toolchain", "install")
    assert code == 0, err
    assert "installed from official" in out
    lines = notices(err)
    assert len(lines) == 1, err
    assert "module proxy (GOPROXY=off) unavailable" in lines[0]
    assert "GOPROXY=off" in lines[0].split("unavailable", 1)[1]
    assert proxy.requests() == []


def test_toolchain_goproxy_then_the_profile_then_the_environment(
    proxy: Proxy,
    monkeypatch: pytest.MonkeyPatch,
    modenv: dict[str, str],
    projects: Projects,
    cache: Path,
    fakes: Path,
    fallback: Mirror,
) -> None:
    publish_fake(proxy, fakes)
    closed = f"http://127.0.0.1:{closed_port()}"
    monkeypatch.setenv("GOPROXY", closed)
    profile = f'\n[profiles.dev]\ngoproxy = "{closed}/profile"\n'
    root = projects(
        sources=("goproxy", "official"), mirror=fallback, goproxy=proxy.url, extra=profile
    )
    code, out, err = run("-C", str(root), "toolchain", "install")
    assert (code, err) == (0, "")
    assert "installed from goproxy" in out
    assert run("-C", str(root), "toolchain", "remove", "1.22.10")[0] == 0

    # Without [toolchain] goproxy, the active profile's list is the one used.
    toml = root / "gobuild.toml"
    toml.write_text(toml.read_text().replace(f'goproxy = "{proxy.url}"\n', ""))
    code, out, err = run("-C", str(root), "toolchain", "install")
    assert code == 0, err
    assert "installed from official" in out
    assert f"module proxy {closed}/profile unavailable" in err
    assert len(proxy.requests(".zip")) == 1


@pytest.fixture
def second(db: SumDB) -> Iterator[Proxy]:
    """A second proxy in front of the same checksum database."""
    with goproxyserver.serving(db) as served:
        yield served


ZIP = f"/{MODULE}/@v/v0.0.1-go1.22.10.{KEY}.zip"


def test_comma_list_passes_a_404_to_the_next_proxy(
    second: Proxy,
    monkeypatch: pytest.MonkeyPatch,
    modenv: dict[str, str],
    projects: Projects,
    cache: Path,
    fakes: Path,
) -> None:
    zip_path = fake_toolchain_zip("1.22.10", fakes)
    second.publish("1.22.10", zip_path=zip_path)
    with goproxyserver.serving() as bare:  # no zip, and no database behind it
        monkeypatch.setenv("GOPROXY", f"{bare.url},{second.url}")
        root = projects()
        code, out, err = run("-C", str(root), "toolchain", "install")
    assert code == 0, err
    assert "installed from goproxy" in out
    # The database too is reached through the first proxy that proxies it.
    assert bare.requests() == [f"/sumdb/{NAME}/supported", ZIP]
    assert second.requests(f"/sumdb/{NAME}/supported") == [f"/sumdb/{NAME}/supported"]
    assert any(r.startswith(f"/sumdb/{NAME}/lookup/") for r in second.requests())
    assert second.requests(".zip") == [ZIP]
    info = json.loads(marker(cache).read_text())
    assert info["url"] == second.url + ZIP
    assert artifacts(root)[KEY]["goproxy"]["h1"] == zip_h1(zip_path)


@pytest.mark.parametrize(("separator", "installs"), [(",", False), ("|", True)])
def test_a_server_error_passes_to_the_next_proxy_only_after_a_bar(
    separator: str,
    installs: bool,
    proxy: Proxy,
    second: Proxy,
    monkeypatch: pytest.MonkeyPatch,
    modenv: dict[str, str],
    projects: Projects,
    cache: Path,
    fakes: Path,
) -> None:
    zip_path = fake_toolchain_zip("1.22.10", fakes)
    proxy.publish("1.22.10", zip_path=zip_path)
    second.publish("1.22.10", zip_path=zip_path, record=False)
    proxy.fail(ZIP, "500")
    monkeypatch.setenv("GOPROXY", f"{proxy.url}{separator}{second.url}")
    root = projects()
    code, out, err = run("-C", str(root), "toolchain", "install")
    assert proxy.requests(".zip") == [ZIP]
    if installs:
        assert code == 0, err
        assert second.requests(".zip") == [ZIP]
        assert marker(cache).exists()
    else:
        assert (code, out) == (1, "")
        assert err.count("\n") == 1 and "500" in err, err
        assert second.requests() == []
        assert_nothing_installed(cache, root)


# -- 6. gobuild lock: every platform's hashes, nothing downloaded ----------------------------


def record_others(db: SumDB, version: str, platforms: list[Platform]) -> dict[str, str]:
    """Records for builds this host cannot run (no zip is ever served); their h1s by key."""
    made = {}
    for p in platforms:
        h1 = fake_h1(f"{version} {p.key}")
        db.add(MODULE, godist.toolchain_module_version(version, p), h1, mod_h1())
        made[p.key] = h1
    return made


def list_platforms(monkeypatch: pytest.MonkeyPatch, mirror: Mirror, version: str) -> dict[str, str]:
    """Make the mirror's listing show ``version`` for the six platforms as go.dev does
    (tarballs for linux and darwin, a zip for windows); nothing is served for them.
    Returns the tarballs' sha256 by platform key."""
    files: list[dict[str, Any]] = []
    tarballs = {}
    for p in SIX:
        ext = "zip" if p.goos == "windows" else "tar.gz"
        name = f"go{version}.{p.key}.{ext}"
        digest = hashlib.sha256(name.encode()).hexdigest()
        files.append(
            {
                "filename": name,
                "os": p.goos,
                "arch": p.goarch,
                "version": f"go{version}",
                "sha256": digest,
                "size": 1,
                "kind": "archive",
            }
        )
        if ext == "tar.gz":
            tarballs[p.key] = digest
    listing = [{"version": f"go{version}", "stable": True, "files": files}]
    monkeypatch.setattr(mirror, "listing", lambda: listing)
    return tarballs


def test_lock_records_every_platform_without_downloading(
    proxy: Proxy,
    db: SumDB,
    monkeypatch: pytest.MonkeyPatch,
    modenv: dict[str, str],
    projects: Projects,
    fakes: Path,
    mirror: Mirror,
) -> None:
    host_h1 = zip_h1(fake_toolchain_zip("1.22.10", fakes))
    publish_fake(proxy, fakes)
    h1s = {KEY: host_h1, **record_others(db, "1.22.10", OTHERS)}
    sha256s = list_platforms(monkeypatch, mirror, "1.22.10")
    root = projects(sources=("goproxy", "official"), mirror=mirror, platforms=SIX)

    code, out, err = run("-C", str(root), "lock")
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "gobuild.lock updated: Go 1.22.10",
        "  goproxy: 6 platforms",
        "  official: 4 platforms; no Go 1.22.10 for windows/amd64, windows/arm64",
    ]
    expected: dict[str, dict[str, dict[str, str]]] = {}
    for p in SIX:
        entry = {"goproxy": {"filename": f"v0.0.1-go1.22.10.{p.key}.zip", "h1": h1s[p.key]}}
        if p.key in sha256s:
            entry["official"] = {"filename": f"go1.22.10.{p.key}.tar.gz", "sha256": sha256s[p.key]}
        expected[p.key] = entry
    assert artifacts(root) == expected
    assert read_lock(root)["go"]["request"] == "1.22.10"
    # Hashes only: no zip, no archive, not even the zips' .info or .mod.
    assert [r for r in proxy.requests() if not r.startswith("/sumdb/")] == []
    assert archive_requests(mirror) == []
    lock_file = root / "gobuild.lock"
    before = lock_file.stat().st_mtime_ns
    code, out, _ = run("-C", str(root), "lock")
    assert code == 0 and out.startswith("gobuild.lock unchanged: Go 1.22.10")
    assert lock_file.stat().st_mtime_ns == before

    assert run("-C", str(root), "lock", "--check") == (0, "gobuild.lock is up to date\n", "")

    toml = root / "gobuild.toml"
    pinned = toml.read_text()
    toml.write_text(pinned.replace('version = "1.22.10"', 'version = "1.22.9"'))
    code, out, err = run("-C", str(root), "lock", "--check")
    assert (code, out) == (1, "")
    assert err.count("\n") == 1 and "1.22.9" in err and "gobuild lock" in err, err
    toml.write_text(pinned)

    data = read_lock(root)
    del data["go"]["artifacts"]["darwin-arm64"]
    del data["go"]["artifacts"]["windows-amd64"]["goproxy"]
    data["go"]["artifacts"]["windows-amd64"]["pypi"] = {"filename": "w.whl", "sha256": "0" * 64}
    lock_file.write_text(json.dumps(data))
    code, out, err = run("-C", str(root), "lock", "--check")
    assert (code, out) == (1, "")
    assert err.count("\n") == 1, err
    assert "darwin/arm64" in err and "windows/amd64" in err
    assert "linux/amd64" not in err and "windows/arm64" not in err


def test_lock_upgrade_moves_a_series_pin_to_the_newest_release(
    proxy: Proxy,
    db: SumDB,
    modenv: dict[str, str],
    projects: Projects,
    fakes: Path,
) -> None:
    darwin = Platform("darwin", "arm64")
    publish_fake(proxy, fakes, "1.22.9")
    old = record_others(db, "1.22.9", [darwin])
    root = projects("1.22", platforms=[HOST, darwin])
    code, out, err = run("-C", str(root), "lock")
    assert code == 0, err
    assert out.startswith("gobuild.lock updated: Go 1.22.9")
    assert artifacts(root)[darwin.key]["goproxy"]["h1"] == old[darwin.key]

    publish_fake(proxy, fakes, "1.22.10")
    new = record_others(db, "1.22.10", [darwin])
    # A newer release with no build for this host is not one this host can resolve to.
    proxy.versions.append(godist.toolchain_module_version("1.22.11", darwin))
    code, out, _ = run("-C", str(root), "lock")
    assert code == 0 and out.startswith("gobuild.lock unchanged: Go 1.22.9")

    code, out, err = run("-C", str(root), "lock", "--upgrade")
    assert code == 0, err
    assert out.startswith("gobuild.lock updated: Go 1.22.10")
    lock = read_lock(root)["go"]
    assert (lock["request"], lock["version"]) == ("1.22", "1.22.10")
    assert lock["artifacts"] == {
        KEY: {
            "goproxy": {
                "filename": f"v0.0.1-go1.22.10.{KEY}.zip",
                "h1": zip_h1(fake_toolchain_zip("1.22.10", fakes)),
            }
        },
        darwin.key: {
            "goproxy": {"filename": f"v0.0.1-go1.22.10.{darwin.key}.zip", "h1": new[darwin.key]}
        },
    }
    assert proxy.requests(".zip") == []
    checked = run("-C", str(root), "lock", "--check")
    assert checked == (0, "gobuild.lock is up to date\n", ""), checked


def test_lock_never_replaces_a_recorded_hash(
    proxy: Proxy,
    db: SumDB,
    monkeypatch: pytest.MonkeyPatch,
    modenv: dict[str, str],
    projects: Projects,
    fakes: Path,
    mirror: Mirror,
) -> None:
    darwin = Platform("darwin", "arm64")
    publish_fake(proxy, fakes)
    record_others(db, "1.22.10", [darwin])
    sha256s = list_platforms(monkeypatch, mirror, "1.22.10")
    root = projects(sources=("goproxy", "official"), mirror=mirror, platforms=[HOST, darwin])
    assert run("-C", str(root), "lock")[0] == 0
    lock_file = root / "gobuild.lock"
    recorded = lock_file.read_text()

    # Another database (GOSUMDB), with another h1 for the same release: a record never
    # changes, so a lock that disagrees with the database is an attack or an accident.
    other = SumDB("other.test")
    host_zip = fake_toolchain_zip("1.22.10", fakes)
    other.add(MODULE, godist.toolchain_module_version("1.22.10"), zip_h1(host_zip), mod_h1())
    darwin_version = godist.toolchain_module_version("1.22.10", darwin)
    other.add(MODULE, darwin_version, fake_h1("other"), mod_h1())
    with goproxyserver.serving(other) as elsewhere:
        monkeypatch.setenv("GOPROXY", elsewhere.url)
        monkeypatch.setenv("GOSUMDB", other.vkey)
        code, out, err = run("-C", str(root), "lock")
    assert (code, out) == (1, "")
    assert err.count("\n") == 1 and "darwin" in err and fake_h1("other") in err, err
    assert lock_file.read_text() == recorded

    # So for go.dev's listing.
    monkeypatch.setenv("GOPROXY", "off")
    monkeypatch.setenv("GOSUMDB", "off")
    listing = mirror.listing()
    for f in listing[0]["files"]:
        if f["filename"] == f"go1.22.10.{darwin.key}.tar.gz":
            f["sha256"] = "f" * 64
    code, out, err = run("-C", str(root), "lock")
    assert (code, out) == (1, "")
    assert err.count("\n") == 1 and "f" * 64 in err, err
    assert lock_file.read_text() == recorded
    assert sha256s[darwin.key] in err


# -- 7. a repeat install needs gobuild.lock, not the database ------------------------------


def test_reinstall_is_verified_against_the_lock_alone(
    proxy: Proxy,
    modenv: dict[str, str],
    projects: Projects,
    cache: Path,
    fakes: Path,
) -> None:
    publish_fake(proxy, fakes)
    root = projects()
    assert run("-C", str(root), "toolchain", "install")[0] == 0
    lock_file = root / "gobuild.lock"
    good = lock_file.read_text()
    locked = artifacts(root)[KEY]["goproxy"]["h1"]
    tampered = fake_h1("tampered")

    # An installed toolchain must be what the lock says, too.
    lock_file.write_text(good.replace(locked, tampered))
    code, out, err = run("-C", str(root), "toolchain", "install")
    assert (code, out) == (1, "")
    assert err.count("\n") == 1 and "does not match gobuild.lock" in err, err
    lock_file.write_text(good)

    assert run("-C", str(root), "toolchain", "remove", "1.22.10")[0] == 0
    assert not marker(cache).exists()
    proxy.break_prefix("/sumdb/", "500")
    asked = len(proxy.requests("/sumdb/"))
    code, out, err = run("-C", str(root), "toolchain", "install")
    assert (code, err) == (0, ""), err
    assert "installed from goproxy" in out
    assert len(proxy.requests("/sumdb/")) == asked  # the database was not asked
    assert len(proxy.requests(".zip")) == 2
    assert json.loads(marker(cache).read_text())["h1"] == locked

    # The lock is what the download is checked against: a tampered h1 refuses it.
    assert run("-C", str(root), "toolchain", "remove", "1.22.10")[0] == 0
    lock_file.write_text(good.replace(locked, tampered))
    code, out, err = run("-C", str(root), "toolchain", "install")
    assert (code, out) == (1, "")
    assert err.count("\n") == 1 and tampered in err and "refusing to install" in err, err
    assert len(proxy.requests(".zip")) == 3
    assert not marker(cache).exists() and not tree(cache).exists()
    assert artifacts(root)[KEY]["goproxy"]["h1"] == tampered  # the lock is not rewritten


# -- 8. GOSUMDB=off, GONOSUMDB and a file:// GOPROXY ------------------------------------------


def test_gosumdb_off_without_a_locked_h1_refuses_the_module_proxy(
    proxy: Proxy,
    monkeypatch: pytest.MonkeyPatch,
    modenv: dict[str, str],
    projects: Projects,
    fakes: Path,
    fallback: Mirror,
) -> None:
    publish_fake(proxy, fakes)
    monkeypatch.setenv("GOSUMDB", "off")
    root = projects(sources=("goproxy", "official"), mirror=fallback)
    code, out, err = run("-C", str(root), "toolchain", "install")
    assert code == 0, err
    assert "installed from official" in out
    lines = notices(err)
    assert len(lines) == 1, err
    assert f"module proxy {proxy.url} unavailable" in lines[0]
    assert "GOSUMDB=off" in lines[0] and "gobuild lock" in lines[0]
    assert proxy.requests(".zip") == [] and proxy.requests() == []

    # Without another source, that is the error.
    alone = projects(name="alone")
    assert run("-C", str(alone), "toolchain", "remove", "1.22.10")[0] == 0
    code, out, err = run("-C", str(alone), "toolchain", "install")
    assert (code, out) == (1, "")
    assert err.count("\n") == 1 and "GOSUMDB=off" in err, err


def test_gosumdb_off_installs_what_the_lock_records(
    proxy: Proxy,
    monkeypatch: pytest.MonkeyPatch,
    modenv: dict[str, str],
    projects: Projects,
    cache: Path,
    fakes: Path,
) -> None:
    publish_fake(proxy, fakes)
    root = projects()
    assert run("-C", str(root), "lock")[0] == 0  # where the database is reachable
    monkeypatch.setenv("GOSUMDB", "off")
    asked = len(proxy.requests("/sumdb/"))
    code, out, err = run("-C", str(root), "toolchain", "install")
    assert (code, err) == (0, "")
    assert "installed from goproxy" in out
    assert len(proxy.requests("/sumdb/")) == asked
    assert json.loads(marker(cache).read_text())["h1"] == artifacts(root)[KEY]["goproxy"]["h1"]


@pytest.mark.parametrize("variable", ["GONOSUMDB", "GOPRIVATE"])
def test_gonosumdb_does_not_exempt_toolchains(
    variable: str,
    proxy: Proxy,
    monkeypatch: pytest.MonkeyPatch,
    modenv: dict[str, str],
    projects: Projects,
    cache: Path,
    fakes: Path,
    fallback: Mirror,
) -> None:
    forged = fake_h1("forged")
    publish_fake(proxy, fakes, h1=forged)
    monkeypatch.setenv(variable, "example.com/private,golang.org")
    root = projects(sources=("goproxy", "official"), mirror=fallback)
    code, out, err = run("-C", str(root), "toolchain", "install")
    assert (code, out) == (1, "")
    lines = notices(err)
    assert len(lines) == 2, err
    assert "GONOSUMDB/GOPRIVATE matches golang.org/toolchain" in lines[0]
    assert "always checked" in lines[0]
    assert one_error(err) == lines[1] and forged in lines[1]
    assert fallback.requests() == []
    assert_nothing_installed(cache, root)


def test_single_file_goproxy_without_a_database_installs_unverified(
    proxy: Proxy,
    monkeypatch: pytest.MonkeyPatch,
    modenv: dict[str, str],
    projects: Projects,
    cache: Path,
    fakes: Path,
    tmp_path: Path,
) -> None:
    # Go's exception for testing a distribution: GOPROXY=file://DIR alone, GOSUMDB=off.
    publish_fake(proxy, fakes, record=False)
    local = proxy.write_to(tmp_path / "local-proxy")
    monkeypatch.setenv("GOPROXY", local.as_uri())
    monkeypatch.setenv("GOSUMDB", "off")
    root = projects()
    code, out, err = run("-C", str(root), "toolchain", "install")
    assert code == 0, err
    assert "installed from goproxy" in out
    lines = notices(err)
    assert len(lines) == 2, err
    assert "file://" in lines[0] and "is not verified" in lines[0]
    # An unverified hash never becomes what later installs trust.
    assert "not recorded in gobuild.lock" in lines[1]
    lock = root / "gobuild.lock"
    assert not lock.exists() or "goproxy" not in lock.read_text()
    assert proxy.requests() == []
    info = json.loads(marker(cache).read_text())
    assert info["url"] == f"{local.as_uri()}/{MODULE}/@v/v0.0.1-go1.22.10.{KEY}.zip"
    assert info["verified"] is False
    # Asked again (cached), it is still not recorded.
    code, _out, err = run("-C", str(root), "toolchain", "install")
    assert code == 0, err
    assert not lock.exists() or "goproxy" not in lock.read_text()


def test_single_file_goproxy_with_gonosumdb_installs_unverified(
    proxy: Proxy,
    db: SumDB,
    monkeypatch: pytest.MonkeyPatch,
    modenv: dict[str, str],
    projects: Projects,
    cache: Path,
    fakes: Path,
    tmp_path: Path,
) -> None:
    # The go command's rule for a single file:// GOPROXY is the rule for any module:
    # GONOSUMDB matching skips the database as GOSUMDB=off does.
    publish_fake(proxy, fakes, h1=fake_h1("would not verify"))
    local = proxy.write_to(tmp_path / "local-proxy")
    monkeypatch.setenv("GOPROXY", local.as_uri())
    monkeypatch.setenv("GONOSUMDB", "golang.org")
    with db.serve() as direct:
        monkeypatch.setenv("GOSUMDB", f"{db.vkey} {direct.url}")
        root = projects()
        code, out, err = run("-C", str(root), "toolchain", "install")
    assert code == 0, err
    assert "installed from goproxy" in out
    lines = notices(err)
    assert len(lines) == 2 and "is not verified" in lines[0], err
    assert "not recorded in gobuild.lock" in lines[1]
    assert direct.log == [] and proxy.requests() == []


@pytest.mark.parametrize("separator", [",", "|"])
def test_a_file_goproxy_in_a_list_is_not_the_exception(
    separator: str,
    proxy: Proxy,
    monkeypatch: pytest.MonkeyPatch,
    modenv: dict[str, str],
    projects: Projects,
    cache: Path,
    fakes: Path,
    tmp_path: Path,
) -> None:
    # The go command skips the database only for a GOPROXY with no ',' or '|' at all:
    # "file:///dir," is a list (with nothing after the comma), and is checked.
    publish_fake(proxy, fakes, record=False)
    local = proxy.write_to(tmp_path / "local-proxy")
    monkeypatch.setenv("GOPROXY", f"{local.as_uri()}{separator}")
    monkeypatch.setenv("GOSUMDB", "off")
    root = projects()
    code, out, err = run("-C", str(root), "toolchain", "install")
    assert (code, out) == (1, "")
    assert err.count("\n") == 1 and "GOSUMDB=off" in err, err
    assert_nothing_installed(cache, root)


@pytest.mark.parametrize("forge", [False, True])
def test_single_file_goproxy_is_verified_when_a_database_is_set(
    forge: bool,
    proxy: Proxy,
    db: SumDB,
    monkeypatch: pytest.MonkeyPatch,
    modenv: dict[str, str],
    projects: Projects,
    cache: Path,
    fakes: Path,
    tmp_path: Path,
) -> None:
    # As the go command: the file:// exception applies when the database is off, not
    # otherwise; the database is then reached at its own URL.
    publish_fake(proxy, fakes, h1=fake_h1("forged") if forge else None)
    local = proxy.write_to(tmp_path / "local-proxy")
    monkeypatch.setenv("GOPROXY", local.as_uri())
    with db.serve() as direct:
        monkeypatch.setenv("GOSUMDB", f"{db.vkey} {direct.url}")
        root = projects()
        code, out, err = run("-C", str(root), "toolchain", "install")
    assert any(p.startswith("/lookup/golang.org/toolchain@") for p in direct.log)
    assert proxy.requests() == []
    if forge:
        assert (code, out) == (1, "")
        assert err.count("\n") == 1 and "refusing to install" in err, err
        assert_nothing_installed(cache, root)
    else:
        assert (code, err) == (0, "")
        assert "installed from goproxy" in out


# -- 9. doit: the lock is written by the task, and a fresh clone builds clean --------------


def child_env(modenv: dict[str, str], home: Path, gocache: Path, **extra: str) -> dict[str, str]:
    """The environment of gobuild and doit subprocesses: no Go settings but the module
    proxy's, and an unpinned Go nowhere on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GO") or k == "GOBUILD_CACHE"}
    env.update(modenv, GOCACHE=str(gocache), HOME=str(home), PATH=f"{BIN}:/usr/bin:/bin")
    env.update(extra)
    return env


def doit(root: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(
        [str(BIN / "doit"), *args], cwd=root, env=env, capture_output=True, text=True, check=False
    )
    assert res.returncode == 0, f"doit {' '.join(args)}:\n{res.stdout}\n{res.stderr}"
    return res


def test_doit_toolchain_records_a_cached_toolchain_in_the_lock(
    proxy: Proxy,
    modenv: dict[str, str],
    projects: Projects,
    cache: Path,
    fakes: Path,
    tmp_path: Path,
) -> None:
    publish_fake(proxy, fakes)
    root = projects()
    (root / "dodo.py").write_text("from gobuild.dodo import *  # noqa: F403\n")
    (root / ".gitignore").write_text("/.gobuild/\n/dist/\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    # An explicit version is installed but not recorded: cached, and no gobuild.lock.
    assert run("-C", str(root), "toolchain", "install", "1.22.10")[0] == 0
    assert not (root / "gobuild.lock").exists()
    proxy.break_prefix("/", "500")  # nothing needs the network now

    env = child_env(modenv, tmp_path, tmp_path / "gocache")
    res = doit(root, env, "toolchain")
    assert ".  toolchain" in res.stdout.splitlines(), res.stdout
    locked = artifacts(root)[KEY]["goproxy"]
    assert locked["h1"] == json.loads(marker(cache).read_text())["h1"]
    res = doit(root, env, "toolchain")
    assert "-- toolchain" in res.stdout.splitlines(), res.stdout


MAIN = """package main

import "fmt"

var treeState = "none"

func main() { fmt.Println(treeState) }
"""


def test_init_commit_then_doit_build_is_clean(
    proxy: Proxy,
    db: SumDB,
    monkeypatch: pytest.MonkeyPatch,
    modenv: dict[str, str],
    cache: Path,
    real_zip: Path,
    mirror: Mirror,
    tmp_path: Path,
    go: Any,
) -> None:
    proxy.publish("1.22.10", zip_path=real_zip)
    record_others(db, "1.22.10", OTHERS)
    list_platforms(monkeypatch, mirror, "1.22.10")
    # init locks the default tool pins too: the proxy and the database know them.
    for name, spec in DEFAULT_PINS.items():
        publish_tool(proxy, db, TOOL_MODULES[name], spec.partition("@")[2])
    root = tmp_path / "hello"
    root.mkdir()
    (root / "go.mod").write_text("module example.com/hello\n\ngo 1.22.10\n")
    (root / "main.go").write_text(MAIN)
    git(root, "init", "-q", "-b", "main")
    env = child_env(modenv, tmp_path, go.gocache, GOBUILD_GO_MIRROR=mirror.url)

    init = subprocess.run(
        [str(BIN / "gobuild"), "init"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert init.returncode == 0, init.stderr
    assert init.stderr == ""  # the lock is complete: no warning
    assert "gobuild.lock updated: Go 1.22.10" in init.stdout
    assert set(artifacts(root)) == {p.key for p in SIX}
    assert proxy.requests(".zip") == []  # locking downloads nothing
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "gobuild init")
    committed = (root / "gobuild.lock").read_text()

    res = doit(root, env, "build")
    assert ".  toolchain" in res.stdout.splitlines(), res.stdout
    assert proxy.requests(".zip") == [ZIP]  # installed from the module proxy
    assert git(root, "status", "--porcelain", "--untracked-files=all") == ""
    assert (root / "gobuild.lock").read_text() == committed

    binary = root / "dist" / "hello"
    shown = subprocess.run(
        [str(BIN / "gobuild"), "go", "version", "-m", str(binary)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "vcs.modified=false" in shown, shown
    # gobuild's own TREE_STATE (-X main.treeState; -trimpath keeps -ldflags out of the
    # build info, so the binary says it).
    ran = subprocess.run([str(binary)], capture_output=True, text=True, check=True).stdout
    assert ran == "clean\n"


# -- 10. credentials in the GOPROXY URL ----------------------------------------------------


def test_proxy_credentials_appear_nowhere(
    proxy: Proxy,
    monkeypatch: pytest.MonkeyPatch,
    modenv: dict[str, str],
    projects: Projects,
    cache: Path,
    fakes: Path,
    fallback: Mirror,
    tmp_path: Path,
) -> None:
    publish_fake(proxy, fakes)
    proxy.auth = ("user", SECRET)
    authed = proxy.url.replace("http://", f"http://user:{SECRET}@")
    monkeypatch.setenv("GOPROXY", authed)
    root = projects(sources=("goproxy", "official"), mirror=fallback)
    outputs = []

    # A failing proxy, or database behind it: the notice naming them carries no password.
    for failing in (f"/sumdb/{NAME}/supported", ZIP):
        proxy.fail(failing, "500")
        code, out, err = run("-C", str(root), "toolchain", "install", "--json")
        outputs += [out, err]
        assert code == 0, err
        assert json.loads(out)["source"] == "official"
        assert "module proxy http://user:xxxxx@127.0.0.1" in err
        assert "500" in err
        assert run("-C", str(root), "toolchain", "remove", "1.22.10")[0] == 0
        (root / "gobuild.lock").unlink()
    env = child_env(modenv, tmp_path, tmp_path / "gocache", GOPROXY=authed)
    for argv in (["toolchain", "install", "-v"], ["lock"], ["toolchain", "list"], ["env"]):
        res = subprocess.run(
            [str(BIN / "gobuild"), "-C", str(root), *argv],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert res.returncode == 0, res.stderr
        outputs += [res.stdout, res.stderr]
    assert "installed from goproxy" in outputs[-8]
    assert proxy.unauthorized == 0  # the credentials were sent: every request was let in
    assert proxy.requests(".zip") == [ZIP, ZIP]

    for text in outputs:
        assert SECRET not in text
    written = [root / "gobuild.lock", *cache.rglob("*"), *(root / ".gobuild").rglob("*")]
    files = [p for p in written if p.is_file()]
    assert any(p.name.endswith(".complete") for p in files)
    for path in files:
        assert SECRET.encode() not in path.read_bytes(), path
    info = json.loads(marker(cache).read_text())
    assert info["url"] == f"http://user:xxxxx@{proxy.url[7:]}{ZIP}"
