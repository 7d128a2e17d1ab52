"""The -X variables end to end: `gobuild init` finds them, `doit build` stamps them, and a
variable the binary does not link is one warning line per binary, not silence.

The fixture keeps its version where many projects do, in a package of the module
(example.com/x/internal/buildinfo), imported by the main package; its Commit is a
variable on Linux and a constant elsewhere, so only the build's own view of the
packages (go list, with the target's build constraints) tells the two apart.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from gobuild.project.config import load_settings
from gobuild.project.platforms import host
from tests.buildenv import (
    BIN,
    COMMIT_DATE_UTC,
    FIXTURES,
    GoEnv,
    doit,
    git,
    make_repo,
    ran,
    run_binary,
    run_env,
)

pytestmark = pytest.mark.skipif(host().key != "linux-amd64", reason="real archives are linux/amd64")

INFO = "example.com/x/internal/buildinfo"
WARNING = re.compile(r"^gobuild: warning: (\S+): (.*)$", re.MULTILINE)


def warnings(res: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """The -X warnings by artifact; at most one line each."""
    found = [(m[1], m[2]) for m in WARNING.finditer(res.stderr) if "-X" in m[2]]
    by_name = dict(found)
    assert len(by_name) == len(found), res.stderr
    return by_name


def test_init_finds_the_variables_and_the_build_stamps_them(tmp_path: Path, go: GoEnv) -> None:
    root = tmp_path / "x"
    shutil.copytree(FIXTURES / "buildinfo", root)
    (root / "go.mod").write_text("module example.com/x\n\ngo 1.22\n\ntoolchain go1.22.10\n")
    init = subprocess.run(
        [str(BIN / "gobuild"), "init"],
        cwd=root,
        env=run_env(go, GOPROXY="off", GOBUILD_GO_MIRROR=go.mirror_url),
        capture_output=True,
        text=True,
        check=False,
    )
    assert init.returncode == 0, init.stderr
    assert (
        f"build variables (guessed from their names, check them): version {INFO}.Version, "
        f"commit {INFO}.Commit, date {INFO}.Date; defaults kept: tree_state main.treeState, "
        "go_version main.goVersion"
    ) in init.stdout.splitlines()
    variables = load_settings(root / "gobuild.toml").build.variables
    assert (variables.version, variables.commit, variables.date) == (
        f"{INFO}.Version",
        f"{INFO}.Commit",
        f"{INFO}.Date",
    )
    text = (root / "gobuild.toml").read_text()
    assert f'version = "{INFO}.Version"  # internal/buildinfo/buildinfo.go:8\n' in text
    assert f'commit = "{INFO}.Commit"  # internal/buildinfo/commit_linux.go:6\n' in text
    # Toolchains from the loopback mirror only, then the state a user commits.
    text = text.replace(
        'sources = ["goproxy", "official", "pypi"]',
        f'sources = ["official"]\nmirror = "{go.mirror_url}"',
    )
    (root / "gobuild.toml").write_text(text)
    subprocess.run(
        [str(BIN / "gobuild"), "toolchain", "install"], cwd=root, env=run_env(go), check=True
    )
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    git(root, "tag", "v1.2.3")

    res = doit(root, go, "build")
    assert warnings(res) == {}, res.stderr
    commit = git(root, "rev-parse", "HEAD")
    assert run_binary(root / "dist" / "x") == (
        f"version=v1.2.3\ncommit={commit}\ndate={COMMIT_DATE_UTC}\n"
    )


def test_variables_the_binary_does_not_link_are_one_warning_line(tmp_path: Path, go: GoEnv) -> None:
    toml = (
        "[build.variables]\n"
        f'version = "{INFO}.Version"\n'
        f'commit = "{INFO}.GitCommit"\n'  # misspelt
        f'date = "{INFO}.Name"\n'  # a constant
        'tree_state = "example.com/x/internal/absent.State"\n'  # no such package linked
        'go_version = "example.com/x.goVersion"\n'  # the main package is "main" to -X
    )
    root = make_repo(tmp_path / "r", "buildinfo", go, toml)
    res = doit(root, go, "build")
    assert warnings(res) == {
        "x": (
            f"-X embeds nothing into: {INFO}.GitCommit (no such variable in {INFO}), "
            f"{INFO}.Name (a constant), example.com/x/internal/absent.State (its package is "
            "not linked), example.com/x.goVersion (a main package is named main: use "
            "main.goVersion); see [build.variables] in gobuild.toml"
        )
    }
    # Still built, with what could be stamped.
    assert run_binary(root / "dist" / "x") == "version=v1.2.3\ncommit=\ndate=unknown\n"


def test_the_default_variables_warn_only_when_none_is_there(tmp_path: Path, go: GoEnv) -> None:
    # The case: the version lives elsewhere, gobuild.toml says nothing.
    root = make_repo(tmp_path / "r", "buildinfo", go)
    res = doit(root, go, "build")
    assert warnings(res) == {
        "x": (
            "nothing is embedded: no -X variable is a string variable the binary links: "
            "main.version (no such variable in main), main.commit (no such variable in main), "
            "main.date (no such variable in main), main.treeState (no such variable in main), "
            "main.goVersion (no such variable in main); see [build.variables] in gobuild.toml"
        )
    }
    assert run_binary(root / "dist" / "x") == "version=dev\ncommit=\ndate=unknown\n"
    # A project declaring some of the defaults hears nothing about the others.
    twobin = make_repo(tmp_path / "t", "twobin", go)
    main_go = twobin / "cmd" / "a" / "main.go"
    main_go.write_text(main_go.read_text().replace('\tgoVersion = "none"\n', ""))
    main_go.write_text(main_go.read_text().replace(", goVersion)", ', "")'))
    assert warnings(doit(twobin, go, "build")) == {}


def test_the_answer_is_remembered_until_a_linked_package_changes(tmp_path: Path, go: GoEnv) -> None:
    toml = f'[build.variables]\nversion = "{INFO}.Version"\ncommit = "{INFO}.Revision"\n'
    root = make_repo(tmp_path / "r", "buildinfo", go, toml)
    expected = {"x": f"-X embeds nothing into: {INFO}.Revision (no such variable in {INFO})"}

    def check() -> tuple[bool, dict[str, str]]:
        res = doit(root, go, "build")
        return ran(res, "build:x"), {k: v.split(";")[0] for k, v in warnings(res).items()}

    assert check() == (True, expected)
    memo = root / ".gobuild" / "xvars" / "x.json"
    first = memo.stat().st_mtime_ns
    revision = [f"{INFO}.Revision", f"no such variable in {INFO}"]
    assert revision in json.loads(memo.read_text())["problems"]
    assert check() == (False, {})  # nothing to build, nothing said
    # Rebuilt with nothing the answer depends on changed: recalled, go list not asked.
    (root / "dist" / "x").unlink()
    assert check() == (True, expected)
    assert memo.stat().st_mtime_ns == first
    # The variable appears in a new file of the linked package: asked again, and fine.
    (root / "internal" / "buildinfo" / "revision.go").write_text(
        "package buildinfo\n\nvar Revision string\n"
    )
    assert check() == (True, {})
    assert memo.stat().st_mtime_ns != first
    assert revision not in json.loads(memo.read_text())["problems"]
    # Removed again (the directory changes): the warning returns.
    (root / "internal" / "buildinfo" / "revision.go").unlink()
    assert check() == (True, expected)


@pytest.mark.slow
def test_each_target_is_checked_with_its_build_constraints(tmp_path: Path, go: GoEnv) -> None:
    toml = (
        f'[build.variables]\nversion = "{INFO}.Version"\ncommit = "{INFO}.Commit"\n\n'
        '[dist]\nplatforms = ["linux/amd64", "windows/amd64"]\n'
    )
    root = make_repo(tmp_path / "r", "buildinfo", go, toml)
    res = doit(root, go, "dist")
    assert {k: v.split(";")[0] for k, v in warnings(res).items()} == {
        "x_windows_amd64.exe": f"-X embeds nothing into: {INFO}.Commit (a constant)"
    }
    commit = git(root, "rev-parse", "HEAD")
    assert f"commit={commit}\n" in run_binary(root / "dist" / "x_linux_amd64")
