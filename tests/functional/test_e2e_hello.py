"""examples/hello end to end, as committed: its pinned Go (1.27.3) from the real Go module
proxy, verified against the real checksum database and the committed gobuild.lock; doit;
the go passthrough.

go1.27.3 is the one toolchain zip tests may fetch from the real proxy. The cache is
shared by this module's tests, so it is downloaded once per run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gobuild.project.platforms import host

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PINNED = "go1.27.3"


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hello-cache")


@pytest.fixture
def hello(tmp_path: Path, shared_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    dest = tmp_path / "hello"
    shutil.copytree(
        REPO / "examples" / "hello", dest, ignore=shutil.ignore_patterns("dist", ".gobuild")
    )
    monkeypatch.setenv("GOBUILD_CACHE", str(shared_cache))
    # The real proxy and database, whatever the developer's environment says.
    for name in ("GOPROXY", "GOSUMDB", "GONOSUMDB", "GOPRIVATE", "GOFLAGS"):
        monkeypatch.delenv(name, raising=False)
    return dest


def test_doit_build_uses_pinned_go_not_usr_local_go(hello: Path) -> None:
    env_path = f"{BIN}:/usr/local/go/bin:/usr/bin:/bin"
    res = subprocess.run(
        [str(BIN / "doit")],
        cwd=hello,
        capture_output=True,
        text=True,
        env={**_env(), "PATH": env_path},
        check=False,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    binary = hello / "dist" / "hello"
    info = subprocess.run(
        [str(BIN / "gobuild"), "-C", str(hello), "go", "version", "-m", str(binary)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert info.splitlines()[0] == f"{binary}: {PINNED}"
    out = subprocess.run(
        [str(binary), "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert f"goVersion: {PINNED}" in out
    # Installed from the module proxy, and the committed lock already said so: unchanged.
    assert (hello / "gobuild.lock").read_bytes() == (
        REPO / "examples" / "hello" / "gobuild.lock"
    ).read_bytes()
    marker = next(Path(os.environ["GOBUILD_CACHE"], "toolchains").glob("*.complete"))
    assert '"source": "goproxy"' in marker.read_text()
    # A second run: the toolchain task is up to date.
    res = subprocess.run(
        [str(BIN / "doit")],
        cwd=hello,
        capture_output=True,
        text=True,
        env={**_env(), "PATH": env_path},
        check=True,
    )
    assert "-- toolchain" in res.stdout


def test_go_passthrough_exit_code_and_test(hello: Path) -> None:
    gobuild = [str(BIN / "gobuild"), "-C", str(hello), "go"]
    res = subprocess.run(
        [*gobuild, "test", "-count=1", "./..."], capture_output=True, text=True, check=False
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert "ok" in res.stdout
    res = subprocess.run(
        [*gobuild, "vet", "./does-not-exist"], capture_output=True, text=True, check=False
    )
    assert res.returncode != 0
    res = subprocess.run(
        [*gobuild, "env", "GOROOT", "GOTOOLCHAIN", "GOVERSION"],
        capture_output=True,
        text=True,
        check=True,
    )
    goroot, toolchain, version = res.stdout.split()
    assert goroot.endswith(f"{PINNED}.{host().key}/go") and toolchain == "local"
    assert version == PINNED


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("GOROOT", "GOTOOLCHAIN"))}
