"""The toolchain commands through ``gobuild.cli.main`` and as a real subprocess.

Fake Go releases are served from a loopback mirror; the exit codes of commands that fail
before installing anything are tests/unit/test_cli_toolchain.py.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gobuild.cli import main as cli
from gobuild.project.platforms import host
from tests import godist
from tests.conftest import MakeProject
from tests.mirror import Mirror


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def project(mirror: Mirror, make_project: MakeProject) -> Path:
    for v in ("1.22.9", "1.22.10"):
        mirror.add(v, godist.fake_archive(v))
    return make_project("1.22", mirror=mirror)


def test_install_json_and_verbose(project: Path) -> None:
    code, out, err = run("-C", str(project), "toolchain", "install", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["version"] == "1.22.10"
    assert data["platform"] == str(host())
    assert data["cached"] is False
    assert data["source"] == "official"
    assert len(data["sha256"]) == 64
    assert set(data["timings"]) >= {"resolve", "download", "extract", "verify"}
    code, out, _ = run("-C", str(project), "toolchain", "install", "--verbose")
    assert code == 0
    assert "already installed" in out
    assert "resolve" in out


def test_list_path_remove(project: Path) -> None:
    assert run("-C", str(project), "toolchain", "install")[0] == 0
    assert run("-C", str(project), "toolchain", "install", "1.22.9")[0] == 0
    code, out, _ = run("-C", str(project), "toolchain", "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].lstrip().startswith("1.22.9") and not lines[0].startswith("*")
    assert lines[1].startswith("* 1.22.10")
    assert "MiB" in lines[1]
    code, out, _ = run("-C", str(project), "toolchain", "list", "--json")
    rows = json.loads(out)
    assert [(r["version"], r["project"]) for r in rows] == [("1.22.9", False), ("1.22.10", True)]
    code, out, _ = run("-C", str(project), "toolchain", "path")
    assert code == 0 and out.strip().endswith(f"go1.22.10.{host().key}/go")
    assert Path(out.strip(), "bin", "go").is_file()
    code, out, _ = run("-C", str(project), "toolchain", "remove", "1.22.9")
    assert code == 0 and "removed Go 1.22.9" in out
    code, _, err = run("-C", str(project), "toolchain", "remove", "1.22.9")
    assert code == 1 and "not installed" in err


def test_path_when_not_installed_is_a_user_error(project: Path) -> None:
    code, out, err = run("-C", str(project), "toolchain", "path", "1.22.9")
    assert (code, out) == (1, "")
    assert err.startswith("gobuild: error:") and err.count("\n") == 1


def test_env_exports_work_in_a_shell(project: Path) -> None:
    code, out, _ = run("-C", str(project), "env")
    assert code == 0
    assert "export GOTOOLCHAIN=local" in out
    script = out + 'command -v go; go version; echo "$GOROOT"\n'
    res = subprocess.run(
        ["sh", "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": "/usr/local/go/bin:/usr/bin:/bin"},
    )
    which, version, goroot = res.stdout.splitlines()
    assert which == f"{goroot}/bin/go"  # ahead of /usr/local/go on PATH
    assert version == f"go version go1.22.10 {host()}"


def test_env_json(project: Path) -> None:
    code, out, _ = run("-C", str(project), "env", "--json")
    data = json.loads(out)
    assert code == 0 and data["GOTOOLCHAIN"] == "local"
    assert data["PATH_PREFIX"] == data["GOROOT"] + "/bin"


def test_gobuild_go_runs_pinned_go_and_passes_exit_code(project: Path) -> None:
    base = [sys.executable, "-m", "gobuild", "-C", str(project), "go"]
    res = subprocess.run([*base, "version"], capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == f"go version go1.22.10 {host()}"


def test_user_error_is_one_line_exit_1(mirror: Mirror, make_project: MakeProject) -> None:
    mirror.add("1.22.10", godist.fake_archive("1.22.10"), sha256="00" * 32)
    root = make_project("1.22.10", mirror=mirror)
    code, _, err = run("-C", str(root), "toolchain", "install")
    assert code == 1
    assert err.startswith("gobuild: error:") and err.count("\n") == 1
    assert "Traceback" not in err and "sha256" in err


# --- the remembered answer of a repeat install (gobuild.memo) ---------------------------------


def install_subprocess(
    project: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """`gobuild toolchain install` in a fresh interpreter, and the modules it imported."""
    argv = [sys.executable, "-X", "importtime", "-m", "gobuild", "-C", str(project)]
    res = subprocess.run(
        [*argv, "toolchain", "install", *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
    )
    modules = {
        line.rsplit("|", 1)[-1].strip()
        for line in res.stderr.splitlines()
        if line.startswith("import time:")
    }
    return res, modules


def test_repeat_install_is_answered_without_loading_the_configuration(project: Path) -> None:
    first, modules = install_subprocess(project, "--json")
    assert first.returncode == 0, first.stderr
    assert "gobuild.project.config" in modules and "pydantic" in modules
    again, modules = install_subprocess(project, "--json")
    assert again.returncode == 0, again.stderr
    assert "gobuild.project.config" not in modules and "pydantic" not in modules
    before, after = json.loads(first.stdout), json.loads(again.stdout)
    assert after["cached"] is True and before["cached"] is False
    for key in ("version", "platform", "goroot", "source", "filename", "sha256", "size"):
        assert after[key] == before[key], key
    text, modules = install_subprocess(project)
    assert text.stdout == f"Go 1.22.10 ({host()}) already installed: {before['goroot']}\n"
    assert "pydantic" not in modules


@pytest.mark.parametrize("change", ["config", "environment", "removed", "lock"])
def test_repeat_install_notices_what_changed(project: Path, change: str) -> None:
    first, _ = install_subprocess(project)
    assert first.returncode == 0, first.stderr
    assert install_subprocess(project)[0].returncode == 0  # remembered from here on
    env: dict[str, str] = {}
    if change == "config":
        with (project / "gobuild.toml").open("a") as f:
            f.write("[toolchain.extra]\n")
    elif change == "environment":
        env["GOBUILD_TAGS"] = "not a valid tag!"
    elif change == "removed":
        assert run("-C", str(project), "toolchain", "remove", "1.22.10")[0] == 0
    else:
        lock = project / "gobuild.lock"
        data = json.loads(lock.read_text())
        text = lock.read_text()
        sha = next(iter(_find_sha256(data)))
        lock.write_text(text.replace(sha, "ab" * 32))
    res, modules = install_subprocess(project, env=env)
    assert "gobuild.project.config" in modules  # the full path ran
    if change == "removed":
        assert res.returncode == 0 and "installed from official" in res.stdout
    else:
        assert res.returncode == 1 and res.stderr.count("gobuild: error:") == 1


def _find_sha256(data: object) -> list[str]:
    if isinstance(data, dict):
        return [v for k, v in data.items() if k == "sha256"] + [
            s for v in data.values() for s in _find_sha256(v)
        ]
    if isinstance(data, list):
        return [s for v in data for s in _find_sha256(v)]
    return []
