"""examples/hello end to end: init-style project, real pinned Go, doit, the go passthrough."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gobuild.project.platforms import host
from tests.mirror import Mirror

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.fixture
def hello(tmp_path: Path, real_mirror: Mirror, monkeypatch: pytest.MonkeyPatch) -> Path:
    dest = tmp_path / "hello"
    shutil.copytree(
        REPO / "examples" / "hello",
        dest,
        ignore=shutil.ignore_patterns("dist", ".gobuild", "gobuild.lock"),
    )
    monkeypatch.setenv("GOBUILD_GO_MIRROR", real_mirror.url)
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
    assert info.splitlines()[0] == f"{binary}: go1.22.10"
    out = subprocess.run(
        [str(binary), "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert "goVersion: go1.22.10" in out
    assert (hello / "gobuild.lock").is_file()
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
    assert goroot.endswith(f"go1.22.10.{host().key}/go") and toolchain == "local"
    assert version == "go1.22.10"


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith(("GOROOT", "GOTOOLCHAIN"))}
