"""Reproducible builds with embedded values: real builds with the pinned Go."""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from gobuild.project.platforms import host
from tests.buildenv import (
    COMMIT_DATE_UTC,
    GoEnv,
    doit,
    git,
    go_version_m,
    make_repo,
    ran,
    run_binary,
)

pytestmark = pytest.mark.skipif(
    host().key != "linux-amd64", reason="real archives are built for linux/amd64"
)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- embedded values and reproducibility ------------------------------------------------------


def test_build_embeds_values_with_pinned_go(tmp_path: Path, go: GoEnv) -> None:
    root = make_repo(tmp_path / "twobin", "twobin", go)
    res = doit(root, go, "build")
    assert ran(res, "build:a") and ran(res, "build:b")
    commit = git(root, "rev-parse", "HEAD")
    for name in ("a", "b"):
        out = run_binary(root / "dist" / name)
        assert f"version=v1.2.3\ncommit={commit}\ndate={COMMIT_DATE_UTC}\n" in out
        assert "treeState=clean\ngoVersion=go1.22.10" in out
        info = go_version_m(go, root / "dist" / name)
        assert info.splitlines()[0].endswith(": go1.22.10")  # not /usr/local/go's version
        assert f"vcs.revision={commit}" in info
        assert f"vcs.time={COMMIT_DATE_UTC}" in info
        assert "vcs.modified=false" in info
        assert "-trimpath=true" in info and "CGO_ENABLED=0" in info
    # The build left the checkout clean (dist/ and .gobuild/ are ignored).
    assert git(root, "status", "--porcelain") == ""


def test_two_checkouts_build_identical_binaries(tmp_path: Path, go: GoEnv) -> None:
    one = make_repo(tmp_path / "one" / "src", "twobin", go)
    two = tmp_path / "elsewhere" / "deeper" / "two"
    subprocess.run(["git", "clone", "-q", str(one), str(two)], check=True)
    doit(one, go, "build", GOCACHE=str(tmp_path / "cache1"))
    time.sleep(1.1)  # a later wall clock must not matter
    doit(two, go, "build", GOCACHE=str(tmp_path / "cache2"))
    for name in ("a", "b"):
        assert sha(one / "dist" / name) == sha(two / "dist" / name)


def test_awkward_version_reaches_the_binary_exactly(tmp_path: Path, go: GoEnv) -> None:
    value = 'v1 "beta" $HOME #1 ünï\t`x`'
    toml = f"[build]\nversion = {json.dumps(value)}\n"
    root = make_repo(tmp_path / "r", "twobin", go, toml)
    doit(root, go, "build")
    assert f"version={value}\n" in run_binary(root / "dist" / "a")
    other = "it's $(rm -rf /) #x"
    (root / "gobuild.toml").write_text(
        (root / "gobuild.toml").read_text().replace(json.dumps(value), json.dumps(other))
    )
    doit(root, go, "build")
    assert f"version={other}\n" in run_binary(root / "dist" / "a")


def test_value_that_go_cannot_carry_is_a_clear_error(tmp_path: Path, go: GoEnv) -> None:
    root = make_repo(tmp_path / "r", "twobin", go, '[build]\nversion = "it\'s \\"both\\""\n')
    res = doit(root, go, "build", check=False)
    assert res.returncode != 0
    assert "cannot pass" in res.stdout + res.stderr
    assert not (root / "dist" / "a").exists()


def test_dirty_tree_is_reported_dirty(tmp_path: Path, go: GoEnv) -> None:
    root = make_repo(tmp_path / "r", "twobin", go)
    lib = root / "internal" / "lib" / "lib.go"
    lib.write_text(lib.read_text() + "\n// changed\n")
    doit(root, go, "build")
    out = run_binary(root / "dist" / "a")
    assert "treeState=dirty" in out and "version=v1.2.3-dirty" in out
    assert "vcs.modified=true" in go_version_m(go, root / "dist" / "a")


def test_source_date_epoch_overrides_commit_time(tmp_path: Path, go: GoEnv) -> None:
    root = make_repo(tmp_path / "r", "twobin", go)
    doit(root, go, "build", SOURCE_DATE_EPOCH="1700000000")
    assert "date=2023-11-14T22:13:20Z" in run_binary(root / "dist" / "a")
    res = doit(root, go, "build", check=False, SOURCE_DATE_EPOCH="yesterday")
    assert res.returncode != 0 and "SOURCE_DATE_EPOCH" in res.stderr


def test_no_git_warns_and_embeds_unknown(tmp_path: Path, go: GoEnv) -> None:
    root = make_repo(tmp_path / "r", "twobin", go, init_git=False)
    res = doit(root, go, "build")
    assert "not in a git repository" in res.stderr
    out = run_binary(root / "dist" / "a")
    assert "version=unknown\ncommit=unknown\ndate=unknown\ntreeState=unknown" in out


def test_vendor_and_embed_fixtures_build(tmp_path: Path, go: GoEnv) -> None:
    vendored = make_repo(tmp_path / "v", "vendored", go)
    doit(vendored, go, "build")
    assert run_binary(vendored / "dist" / "vendored").startswith("from vendor v1.2.3")
    assert "\tdep\texample.com/dep\tv0.1.0" in go_version_m(go, vendored / "dist" / "vendored")
    embedded = make_repo(tmp_path / "e", "embedded", go)
    doit(embedded, go, "build")
    assert run_binary(embedded / "dist" / "embedded").startswith("embedded hello\n")


# -- incremental builds ---------------------------------------------------------------------


def append(path: str, text: str = "\n// touched\n") -> Callable[[Path], dict[str, str]]:
    def change(root: Path) -> dict[str, str]:
        p = root / path
        p.write_text((p.read_text() if p.exists() else "") + text)
        return {}

    return change


def setting(text: str) -> Callable[[Path], dict[str, str]]:
    def change(root: Path) -> dict[str, str]:
        with (root / "gobuild.toml").open("a") as f:
            f.write(text)
        return {}

    return change


def pin(version: str) -> Callable[[Path], dict[str, str]]:
    def change(root: Path) -> dict[str, str]:
        p = root / "gobuild.toml"
        p.write_text(p.read_text().replace('version = "1.22.10"', f'version = "{version}"'))
        return {}

    return change


def env(**values: str) -> Callable[[Path], dict[str, str]]:
    return lambda root: values


PROFILES = '[profiles.prod]\ngoflags = ["-mod=readonly"]\n'

MATRIX: list[tuple[str, str, Callable[[Path], dict[str, str]], bool]] = [
    ("nothing", "twobin", lambda root: {}, False),
    ("main package .go", "twobin", append("cmd/a/main.go"), True),
    ("imported package .go", "twobin", append("internal/lib/lib.go"), True),
    ("go.mod", "twobin", append("go.mod", "\n// comment\n"), True),
    ("go.sum appears", "twobin", append("go.sum", ""), True),
    ("_test.go", "twobin", append("internal/lib/lib_test.go"), False),
    ("README", "twobin", append("README.md", "more\n"), False),
    ("testdata", "twobin", append("internal/lib/testdata/input.txt", "more\n"), False),
    ("build config", "twobin", setting('[build]\ntags = ["netgo"]\n'), True),
    ("unrelated config", "twobin", setting('[dist]\nplatforms = ["linux/amd64"]\n'), False),
    (
        "profile",
        "twobin",
        lambda root: (setting(PROFILES)(root), {"GOBUILD_PROFILE": "prod"})[1],
        True,
    ),
    ("GOBUILD_TAGS", "twobin", env(GOBUILD_TAGS="extra"), True),
    ("Go version", "twobin", pin("1.21.13"), True),
    ("vendor/", "vendored", append("vendor/example.com/dep/dep.go"), True),
    # The binary embeds the commit and the version git describes: both must be current.
    (
        "a commit",
        "twobin",
        lambda root: (git(root, "commit", "-q", "--allow-empty", "-m", "x"), {})[1],
        True,
    ),
    (
        "a new tag",
        "twobin",
        lambda root: (git(root, "tag", "-d", "v1.2.3"), git(root, "tag", "v1.3.0"), {})[2],
        True,
    ),
    ("go:embed input", "embedded", append("static/hello.txt", "more\n"), True),
]


@pytest.mark.parametrize(
    ("what", "fixture", "change", "rebuild"), MATRIX, ids=[m[0] for m in MATRIX]
)
def test_invalidation(
    tmp_path: Path,
    go: GoEnv,
    what: str,
    fixture: str,
    change: Callable[[Path], dict[str, str]],
    rebuild: bool,
) -> None:
    root = make_repo(tmp_path / "r", fixture, go)
    task = "build:a" if fixture == "twobin" else f"build:{fixture}"
    assert ran(doit(root, go, "build"), task)
    assert not ran(doit(root, go, "build"), task)  # no-op
    extra = change(root)
    assert ran(doit(root, go, "build", env=extra), task) is rebuild
    assert not ran(doit(root, go, "build", env=extra), task)  # settled again


def test_profile_selected_on_doit_command_line(tmp_path: Path, go: GoEnv) -> None:
    root = make_repo(tmp_path / "r", "twobin", go, PROFILES)
    doit(root, go, "build")
    assert ran(doit(root, go, "build", "profile=prod"), "build:a")
    assert not ran(doit(root, go, "build", "--profile", "prod"), "build:a")  # same profile
    assert ran(doit(root, go, "build", "--profile=dev"), "build:a")
    res = doit(root, go, "build", "profile=nope", check=False)
    assert res.returncode != 0 and "unknown profile 'nope'" in res.stderr


def test_two_doit_builds_at_once_do_not_corrupt_state(tmp_path: Path, go: GoEnv) -> None:
    root = make_repo(tmp_path / "r", "twobin", go)
    doit(root, go, "build")
    append("cmd/a/main.go")(root)
    from tests.buildenv import BIN, run_env

    procs = [
        subprocess.Popen(
            [str(BIN / "doit"), "build"],
            cwd=root,
            env=run_env(go),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    # The database is intact: a third run sees everything up to date.
    res = doit(root, go, "build")
    assert not ran(res, "build:a") and not ran(res, "build:b")
    assert "version=v1.2.3-dirty" in run_binary(root / "dist" / "a")


# -- bad input: one clear line, nothing built -------------------------------------------------


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('[build]\ntags = ["ok", "not ok"]\n', "not a valid build tag"),
        ('[build.variables]\nversion = "version"\n', "is not a Go variable"),
        ('[[binaries]]\nname = "../evil"\npackage = "./cmd/a"\n', "not a safe file name"),
        ('[[binaries]]\nname = "x"\npackage = "./cmd/missing"\n', "does not exist"),
        ('[[binaries]]\nname = "x"\npackage = "./internal/lib"\n', "is not a main package"),
        ('[dist]\nplatforms = ["linux"]\n', "invalid platform"),
    ],
)
def test_bad_input_is_one_line_before_building(
    tmp_path: Path, go: GoEnv, toml: str, message: str
) -> None:
    root = make_repo(tmp_path / "r", "twobin", go, toml)
    res = doit(root, go, "build", check=False)
    assert res.returncode != 0
    assert message in res.stderr
    assert "Traceback" not in res.stderr
    assert not (root / "dist").exists()


def test_unknown_platform_pair_fails_before_any_build(tmp_path: Path, go: GoEnv) -> None:
    root = make_repo(
        tmp_path / "r", "twobin", go, '[dist]\nplatforms = ["linux/amd64", "plan9/arm64"]\n'
    )
    res = doit(root, go, "dist", check=False)
    assert res.returncode != 0
    assert "cannot build plan9/arm64" in res.stdout + res.stderr
    assert not (root / "dist").exists()


# -- dist and verify ----------------------------------------------------------------------------


DIST = '[dist]\nplatforms = ["linux/amd64", "linux/arm64", "darwin/arm64", "windows/amd64/v3"]\n'
MAGIC = {
    "linux": b"\x7fELF",
    "darwin": bytes.fromhex("cffaedfe"),  # Mach-O 64-bit, little endian
    "windows": b"MZ",
}


@pytest.mark.slow
def test_dist_parallel_artifacts_sums_records_and_verify(tmp_path: Path, go: GoEnv) -> None:
    root = make_repo(tmp_path / "r", "twobin", go, DIST)
    res = doit(root, go, "-n", "2", "dist")
    dist = root / "dist"
    names = sorted(p.name for p in dist.iterdir() if not p.name.endswith(".json"))
    assert names == sorted(
        [
            "SHA256SUMS",
            *(
                f"{b}_{t}"
                for b in "ab"
                for t in ("linux_amd64", "linux_arm64", "darwin_arm64", "windows_amd64_v3.exe")
            ),
        ]
    )
    for name in names:
        if name == "SHA256SUMS":
            continue
        goos, goarch = name.split("_")[1:3]
        goarch = goarch.removesuffix(".exe")
        data = (dist / name).read_bytes()
        assert data.startswith(MAGIC[goos]), name
        info = go_version_m(go, dist / name)
        assert f"GOOS={goos}" in info and f"GOARCH={goarch}" in info
        record = json.loads((dist / f"{name}.json").read_text())
        assert record["go_version"] == "1.22.10"
        assert record["embedded"]["version"] == "v1.2.3"
        assert record["sha256"] == sha(dist / name)
        assert record["go_version_m"] == info
        assert record["env"]["GOOS"] == goos
    assert "GOAMD64=v3" in go_version_m(go, dist / "a_windows_amd64_v3.exe")
    sums = subprocess.run(
        ["sha256sum", "-c", "SHA256SUMS"], cwd=dist, capture_output=True, text=True, check=False
    )
    assert sums.returncode == 0, sums.stdout
    # A second dist run builds nothing.
    again = doit(root, go, "-n", "2", "dist")
    assert not ran(again, "dist:a_linux_arm64")
    assert "dist:a_linux_arm64" in res.stdout

    res = doit(root, go, "verify")
    assert "verify: all 8 artifacts rebuilt bit-for-bit" in res.stdout
    assert res.stdout.count(" match ") == 8

    # Tamper with one artifact: verify fails and names it.
    target = dist / "b_darwin_arm64"
    tampered = bytearray(target.read_bytes())
    tampered[-1] ^= 0xFF
    target.write_bytes(bytes(tampered))
    res = doit(root, go, "verify", check=False)
    assert res.returncode != 0
    assert "b_darwin_arm64" in res.stdout and "MISMATCH" in res.stdout
    assert res.stdout.count(" match ") == 7
