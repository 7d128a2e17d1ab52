"""``[checks.test] race``: cgo on for the test units only, a C compiler found first.

The compiler is looked up on the PATH of the project's environment, so each case builds
a PATH of its own (empty files, never run). tests/functional/test_laptop.py runs a real
data race under ``doit test`` and ``make test``.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from gobuild.builds.plan import build_plan
from gobuild.checks import commands
from gobuild.checks.budget import Budget
from gobuild.checks.plan import plan_checks
from gobuild.digest import Artifact
from gobuild.errors import ConfigError
from gobuild.project import lock as lockfile
from gobuild.project.config import Project, load_project
from gobuild.project.environ import Environment
from gobuild.project.versions import GoVersion
from gobuild.render import generate
from tests.buildenv import FIXTURES

VERSION = "1.22.10"
BUDGET = Budget(cpus=4, memory=8 << 30)


def tools(tmp_path: Path, *names: str) -> str:
    """A PATH directory holding executables named ``names`` (never run)."""
    where = tmp_path / "bin"
    where.mkdir(exist_ok=True)
    for name in names:
        (where / name).write_text("#!/bin/sh\nexit 99\n")
        (where / name).chmod(0o755)
    return str(where)


def project(
    tmp_path: Path, *, race: bool = True, cgo: bool = False, env: dict[str, str] | None = None
) -> Project:
    root = tmp_path / "proj"
    if not root.exists():
        shutil.copytree(FIXTURES / "racy", root)
    (root / "gobuild.toml").write_text(
        f'[go]\nversion = "{VERSION}"\n[build]\ncgo = {str(cgo).lower()}\n'
        f"[checks.test]\nrace = {str(race).lower()}\n"
    )
    variables = {"GOBUILD_CACHE": str(tmp_path / "cache"), **(env or {})}
    return load_project(root, env=Environment(variables))


def unit_env(p: Project, kind: str) -> dict[str, str]:
    units = {
        "test": lambda: commands.test_units(p, BUDGET, ["./..."], p.state_dir / "r"),
        "lint": lambda: commands.lint_units(p, BUDGET, ["main.go"]),
        "bench": lambda: commands.bench_units(p, BUDGET),
    }[kind]()
    return dict(units[0].env)


# --- the C compiler --------------------------------------------------------------------


def test_race_finds_the_go_commands_own_default_compiler(tmp_path: Path) -> None:
    p = project(tmp_path, env={"PATH": tools(tmp_path, commands.default_cc())})
    assert commands.race_env(p) == {"CGO_ENABLED": "1"}


@pytest.mark.skipif(sys.platform != "linux", reason="the go command's default is gcc here")
def test_race_names_another_compiler_when_the_default_is_missing(tmp_path: Path) -> None:
    # Only clang: the go command would look for gcc and fail, so CC says clang.
    p = project(tmp_path, env={"PATH": tools(tmp_path, "clang")})
    assert commands.race_env(p) == {"CGO_ENABLED": "1", "CC": "clang"}
    p = project(tmp_path, env={"PATH": tools(tmp_path, "cc", "clang")})
    assert commands.race_env(p) == {"CGO_ENABLED": "1", "CC": "cc"}


def test_default_compiler_per_os() -> None:
    assert commands.default_cc("linux") == "gcc"
    assert [commands.default_cc(os) for os in ("darwin", "freebsd14", "openbsd7")] == ["clang"] * 3


def test_cc_from_the_environment_is_used_as_it_is(tmp_path: Path) -> None:
    bin_dir = tools(tmp_path, "ccache")
    # A command with arguments: its first word is the program.
    p = project(tmp_path, env={"PATH": bin_dir, "CC": "ccache gcc -O1"})
    assert commands.race_env(p) == {"CGO_ENABLED": "1"}
    p = project(tmp_path, env={"PATH": "/nowhere", "CC": f"{bin_dir}/ccache"})
    assert commands.race_env(p) == {"CGO_ENABLED": "1"}


@pytest.mark.parametrize(
    ("variables", "wanted"),
    [
        ({}, r"needs cgo and a C compiler, and none is on PATH \(gcc|clang"),
        ({"CC": "/opt/nothing/cc"}, r"CC's compiler '/opt/nothing/cc' is not found"),
        ({"CC": "mycc --flag"}, r"CC's compiler 'mycc' is not found"),
    ],
    ids=["nothing-on-path", "cc-missing", "cc-command-missing"],
)
def test_race_without_a_compiler_is_one_line_naming_the_key(
    tmp_path: Path, variables: dict[str, str], wanted: str
) -> None:
    p = project(tmp_path, env={"PATH": tools(tmp_path, "make", "git"), **variables})
    with pytest.raises(ConfigError, match=wanted) as caught:
        commands.race_env(p)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{p.config_file}: checks.test.race: ")
    assert message.endswith("race = false")  # the way out is named too


def test_without_race_nothing_is_looked_up(tmp_path: Path) -> None:
    p = project(tmp_path, race=False, env={"PATH": "/nowhere", "CC": "/opt/nothing/cc"})
    assert commands.race_env(p) == {}
    assert "-race" not in commands.test_units(p, BUDGET, ["./..."], p.state_dir)[0].argv


def test_a_plan_with_race_and_no_compiler_is_refused_before_go_is_installed(
    tmp_path: Path,
) -> None:
    # No mirror, no network: getting this far without an install error shows the
    # refusal comes first. Lint alone does not need the compiler (it would install Go).
    p = project(tmp_path, env={"PATH": str(tmp_path / "empty")})
    with pytest.raises(ConfigError, match=r"checks\.test\.race: "):
        plan_checks(p, ("test", "lint"))
    assert not (tmp_path / "cache").exists()


# --- what the units and the builds get --------------------------------------------------


def test_race_turns_cgo_on_for_the_test_units_only(tmp_path: Path) -> None:
    p = project(tmp_path, env={"PATH": tools(tmp_path, commands.default_cc())})
    test = commands.test_units(p, BUDGET, ["./a", "./b"], p.state_dir)
    assert all("-race" in u.argv for u in test)
    assert {dict(u.env)["CGO_ENABLED"] for u in test} == {"1"}
    assert unit_env(p, "lint")["CGO_ENABLED"] == "0"
    assert unit_env(p, "bench")["CGO_ENABLED"] == "0"
    # The binaries are built as [build] cgo says, race or not.
    build = build_plan(p, p.binaries()[0], VERSION)
    assert dict(build.env)["CGO_ENABLED"] == "0"


def test_race_keeps_cgo_on_where_builds_have_it(tmp_path: Path) -> None:
    p = project(tmp_path, cgo=True, env={"PATH": tools(tmp_path, commands.default_cc())})
    assert unit_env(p, "test")["CGO_ENABLED"] == "1"
    assert unit_env(p, "lint")["CGO_ENABLED"] == "1"


def test_without_race_the_test_units_follow_build_cgo(tmp_path: Path) -> None:
    p = project(tmp_path, race=False)
    assert unit_env(p, "test")["CGO_ENABLED"] == "0"
    assert "CC" not in unit_env(p, "test")


# --- the Makefile -----------------------------------------------------------------------


def makefile_test_line(p: Project) -> str:
    lock = lockfile.Lock(VERSION, GoVersion.parse(VERSION), {
        "linux-amd64": {"official": Artifact(f"go{VERSION}.linux-amd64.tar.gz", "a" * 64)}
    })  # fmt: skip
    (p.root / "gobuild.lock").write_text(lockfile.dumps(lock))
    text = generate.render_file(p, "Makefile")
    return next(ln for ln in text.splitlines() if " test -p=" in ln)


def test_make_test_runs_race_with_cgo_on(tmp_path: Path) -> None:
    # make cannot look for a compiler ahead: the recipe needs none at render time.
    p = project(tmp_path, env={"PATH": "/nowhere"})
    line = makefile_test_line(p)
    assert "$(GO_ENV) CGO_ENABLED=1 $(GO) test " in line  # after GO_ENV's CGO_ENABLED=0
    assert " -race " in line
    assert commands.make_settings(p)["lint"]["cgo"] == ""


def test_make_test_without_race_is_as_before(tmp_path: Path) -> None:
    line = makefile_test_line(project(tmp_path, race=False))
    assert "$(GO_ENV) $(GO) test " in line and "-race" not in line
