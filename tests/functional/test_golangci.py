"""golangci-lint as a pinned linter, built for real: v2.15.0 through the module proxy.

golangci-lint v2.15.0's go.mod asks for Go 1.26, so the project pins Go 1.27.3, which
builds it (about 90 s cold on two cores; the session's cache then holds the binary, so
this file pays for one build). ``doit lint`` runs vet and golangci-lint; errcheck, one
of golangci-lint v2's default linters, flags the unchecked error at main.go:9 and the run
fails naming that file:line; once the code checks the error, the run passes without
building again. gobuild.lock records golangci-lint's module by its h1, the h1 the
binary's build information names.

HOME is a fresh directory and no cache variable (XDG_CACHE_HOME, GOLANGCI_LINT_CACHE) is
set, as on a new CI machine: golangci-lint keeps its cache under the HOME the lint unit
inherits.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from gobuild.project.platforms import host
from tests.buildenv import BIN, GoEnv, go_version_m, make_repo, run_env

pytestmark = pytest.mark.skipif(host().key != "linux-amd64", reason="real archives are linux/amd64")

GO = "1.27.3"
MODULE = "github.com/golangci/golangci-lint/v2"
PIN = f"{MODULE}/cmd/golangci-lint@v2.15.0"  # gobuild's default pin, written out
CONFIG = f'[checks]\nlinters = ["vet", "golangci-lint"]\n\n[tools]\ngolangci-lint = "{PIN}"\n'
GO_MOD = "module example.com/lintme\n\ngo 1.22\n"
# Line 9: os.Remove's error is dropped (errcheck); go vet has nothing to say.
UNCHECKED = """package main

import (
\t"log"
\t"os"
)

func main() {
\tos.Remove("greeting.txt")
\tlog.Print("removed")
}
"""
FINDING = "Error return value of `os.Remove` is not checked (errcheck)"
CHECKED = UNCHECKED.replace(
    '\tos.Remove("greeting.txt")\n',
    '\tif err := os.Remove("greeting.txt"); err != nil {\n\t\tlog.Fatal(err)\n\t}\n',
)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh HOME, as a new CI machine's user has: no ~/.cache, no ~/.golangci.yml."""
    return tmp_path_factory.mktemp("home")


def project(tmp_path: Path, go: GoEnv) -> Path:
    source = tmp_path / "source"
    source.mkdir()
    (source / "go.mod").write_text(GO_MOD)
    (source / "main.go").write_text(UNCHECKED)
    return make_repo(tmp_path / "r", str(source), go, CONFIG, pin=GO)


def env(go: GoEnv, home: Path) -> dict[str, str]:
    # The session's cache (go.cache) keeps Go 1.27.3 and the built golangci-lint.
    out = run_env(go, GOPROXY="https://proxy.golang.org", GOFLAGS="", HOME=str(home))
    for name in ("XDG_CACHE_HOME", "XDG_CONFIG_HOME", "GOLANGCI_LINT_CACHE"):
        out.pop(name, None)
    return out


def doit_lint(root: Path, go: GoEnv, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "doit"), "lint"],
        cwd=root, env=env(go, home), capture_output=True, text=True, check=False, timeout=1800,
    )  # fmt: skip


@pytest.mark.slow
def test_golangci_lint_fails_doit_lint_at_the_finding_until_the_code_is_fixed(
    tmp_path: Path, go: GoEnv, home: Path
) -> None:
    root = project(tmp_path, go)
    res = doit_lint(root, go, home)
    assert res.returncode != 0, res.stdout + res.stderr
    # The one failure, at its file:line:column, in the linter's words and with its name.
    assert f"1 failure:\n  lint:golangci-lint main.go:9:11: {FINDING}\n" in res.stdout, res.stdout
    summary = {
        str(r["name"]): str(r["status"])
        for r in json.loads((root / ".gobuild" / "checks" / "lint" / "summary.json").read_text())
    }
    assert summary == {"lint:vet": "passed", "lint:golangci-lint": "failed"}, summary
    # golangci-lint kept its cache where HOME says, as gobuild passed HOME on to it.
    assert (home / ".cache" / "golangci-lint").is_dir()

    # gobuild.lock records the module golangci-lint was built from, by its h1.
    tool = json.loads((root / "gobuild.lock").read_text())["tools"]["golangci-lint"]
    assert (tool["module"], tool["version"]) == (MODULE, "v2.15.0"), tool
    assert tool["package"] == f"{MODULE}/cmd/golangci-lint"
    assert tool["h1"].startswith("h1:") and len(tool["h1"]) == 47, tool
    # The binary is v2.15.0 of that module, built by the project's Go.
    [binary] = (go.cache / "tools" / "golangci-lint" / "v2.15.0").glob("go*/bin/golangci-lint")
    info = go_version_m(go, binary, GO)
    assert info.startswith(f"{binary}: go{GO}\n"), info
    assert f"\tmod\t{MODULE}\tv2.15.0\t{tool['h1']}\n" in info, info
    said = subprocess.run([str(binary), "version"], env=env(go, home), capture_output=True,
                          text=True, check=True).stdout  # fmt: skip
    assert said.startswith(f"golangci-lint has version 2.15.0 built with go{GO} "), said
    assert f'mod sum: "{tool["h1"]}"' in said, said

    # gobuild check lint --json places the finding the same way (the tool is built now).
    res = subprocess.run(
        [str(BIN / "gobuild"), "-C", str(root), "check", "lint", "--json"],
        env=env(go, home), capture_output=True, text=True, check=False, timeout=1800,
    )  # fmt: skip
    assert res.returncode == 1, res.stdout + res.stderr
    [finding] = json.loads(res.stdout)["failures"]
    assert (finding["unit"], finding["reason"]) == ("lint:golangci-lint", "finding"), finding
    assert (finding["file"], finding["line"], finding["message"]) == ("main.go", 9, FINDING)

    # The code checks the error now: both linters pass.
    (root / "main.go").write_text(CHECKED)
    res = doit_lint(root, go, home)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out
    assert "errcheck" not in out and "building golangci-lint" not in out  # built once
