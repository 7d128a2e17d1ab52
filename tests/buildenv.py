"""Helpers for build tests: git repos from fixture modules, doit runs, a shared Go."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
COMMIT_DATE = "2024-05-01T12:00:00+00:00"
COMMIT_DATE_UTC = "2024-05-01T12:00:00Z"


@dataclass(frozen=True)
class GoEnv:
    """A toolchain cache holding the real Go releases and the mirror serving them."""

    cache: Path
    gocache: Path
    mirror_url: str


def git(root: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_DATE": COMMIT_DATE,
        "GIT_COMMITTER_DATE": COMMIT_DATE,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.invalid",
    }
    return subprocess.run(
        ["git", *args], cwd=root, env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


def make_repo(
    dest: Path,
    fixture: str,
    go: GoEnv,
    toml: str = "",
    *,
    init_git: bool = True,
    tag: str | None = "v1.2.3",
    pin: str = "1.22.10",
) -> Path:
    """Copy a fixture module to ``dest`` with a gobuild.toml (Go ``pin`` from the test
    mirror), dodo.py and one tagged commit."""
    shutil.copytree(FIXTURES / fixture, dest)
    (dest / "gobuild.toml").write_text(
        f'[go]\nversion = "{pin}"\n\n[toolchain]\nsources = ["official"]\n'
        f'mirror = "{go.mirror_url}"\n\n' + toml
    )
    (dest / "dodo.py").write_text("from gobuild.dodo import *  # noqa: F403\n")
    (dest / ".gitignore").write_text("/.gobuild/\n/dist/\n")
    # Projects commit gobuild.lock: write it before the commit, as a user would.
    # (Tests of invalid configs expect this to fail; the build then reports it.)
    subprocess.run(
        [str(BIN / "gobuild"), "-C", str(dest), "toolchain", "install"],
        env=run_env(go),
        check=False,
        capture_output=True,
    )
    if init_git:
        git(dest, "init", "-q", "-b", "main")
        git(dest, "add", "-A")
        git(dest, "commit", "-q", "-m", "initial")
        if tag:
            git(dest, "tag", tag)
    return dest


def run_env(go: GoEnv, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in (
            "GOFLAGS",
            "GOROOT",
            "GOTOOLCHAIN",
            "SOURCE_DATE_EPOCH",
            "GOBUILD_PROFILE",
            "GOBUILD_TAGS",
        )
    }
    env.update({"GOBUILD_CACHE": str(go.cache), "GOCACHE": str(go.gocache), **extra})
    env["PATH"] = f"{BIN}:/usr/local/go/bin:/usr/bin:/bin"  # an unpinned Go is on PATH
    return env


def doit(
    root: Path,
    go: GoEnv,
    *args: str,
    check: bool = True,
    env: dict[str, str] | None = None,
    **extra: str,
) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(
        [str(BIN / "doit"), *args],
        cwd=root,
        env=run_env(go, **(env or {}), **extra),
        capture_output=True,
        text=True,
        check=False,
    )
    if check and res.returncode != 0:
        raise AssertionError(f"doit {' '.join(args)} failed:\n{res.stdout}\n{res.stderr}")
    return res


def ran(res: subprocess.CompletedProcess[str], task: str) -> bool:
    """Whether doit executed ``task`` (". task") rather than skipping it ("-- task")."""
    lines = res.stdout.splitlines()
    if f".  {task}" in lines:
        return True
    assert f"-- {task}" in lines, res.stdout
    return False


def go_version_m(go: GoEnv, binary: Path, version: str = "1.22.10") -> str:
    """``go version -m binary`` by the installed linux/amd64 Go ``version`` (never another)."""
    goroot = go.cache / "toolchains" / f"go{version}.linux-amd64" / "go"
    env = {
        "PATH": "/usr/bin:/bin",
        "GOROOT": str(goroot),
        "GOTOOLCHAIN": "local",
        "HOME": os.environ.get("HOME", "/tmp"),
    }
    return subprocess.run(
        [str(goroot / "bin" / "go"), "version", "-m", str(binary)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout


def run_binary(binary: Path) -> str:
    return subprocess.run([str(binary)], check=True, capture_output=True, text=True).stdout
