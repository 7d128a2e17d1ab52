"""The remembered answers: used while nothing they depend on changed, never after a change.

gobuild keeps three answers under a stamp (:mod:`gobuild.stamps`) of what they depend on:
a repeat ``gobuild toolchain install``'s result and ``gobuild check``'s plan
(gobuild/ui/memo.py), and doit's task descriptions (gobuild/tasks/specs.py). A stale
one would be silent, so every input is changed here in turn, and each test checks both
halves: the remembered value is returned while nothing changed, and not after the change.
No Go runs: the cached toolchain is what gobuild.toolchain.cache looks for, made by hand
(the completion marker and a goroot/bin/go stub).
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

import gobuild
from gobuild import stamps
from gobuild.builds import golist
from gobuild.checks import budget
from gobuild.digest import Artifact
from gobuild.project import lock as lockfile
from gobuild.project.environ import CONFIG_KEYS, Environment
from gobuild.project.layout import state_dir
from gobuild.project.platforms import host
from gobuild.project.versions import GoVersion, VersionRequest
from gobuild.tasks import specs
from gobuild.toolchain import cache as toolchain_cache
from gobuild.ui import memo
from tests import godist
from tests.golistfake import FakeGoList, main_packages_only

VERSION = "1.22.10"
SHA256 = "5a" * 32
PACKAGE = Path(gobuild.__file__).parent
# gobuild check's key (gobuild/cli/checks.py): kinds, profile, cpus, memory, enforcement.
CHECK_ARGS = ("test,lint", "None", "None", "None", "None")
REMEMBERED = "remembered"  # a key only the remembered value carries


@dataclass(frozen=True)
class Module:
    """A Go module with a gobuild.toml and gobuild.lock, and its Go cached by hand."""

    root: Path
    start: Path  # where the command runs: a package directory inside the module
    marker: Path  # the toolchain's completion marker
    goroot: Path
    env: Environment


@pytest.fixture(autouse=True)
def _go_list(monkeypatch: pytest.MonkeyPatch) -> None:
    # With the pinned Go installed, describing the tasks lists the build's inputs with go
    # list (gobuild/builds/golist.py, tested in test_inputs.py): answered here, unrun.
    monkeypatch.setattr(golist, "output", FakeGoList(main_packages_only))


@pytest.fixture
def module(tmp_path: Path) -> Module:
    root = tmp_path / "mod"
    start = root / "cmd" / "app"
    start.mkdir(parents=True)
    (root / "go.mod").write_text("module example.com/mod\n\ngo 1.22\n")
    (start / "main.go").write_text("package main\n\nfunc main() {}\n")
    (root / "gobuild.toml").write_text(
        f'[go]\nversion = "{VERSION}"\n\n[toolchain]\nsources = ["official"]\n\n'
        '[profiles.prod]\ngoflags = ["-mod=readonly"]\n'
    )
    version, platform = GoVersion.parse(VERSION), host()
    artifact = Artifact(godist.archive_name(VERSION), SHA256)
    lock = lockfile.Lock(VERSION, version, {platform.key: {"official": artifact}})
    (root / "gobuild.lock").write_text(lockfile.dumps(lock))
    # The toolchain as an install leaves it: the tree, then the marker, written last.
    cache = tmp_path / "cache"
    toolchains = toolchain_cache.Cache(cache)
    goroot = toolchains.tree(version, platform) / "go"
    (goroot / "bin").mkdir(parents=True)
    (goroot / "bin" / "go").write_text("#!/bin/sh\nexit 1\n")  # never run
    (goroot / "bin" / "go").chmod(0o755)
    marker = toolchains.marker(version, platform)
    marker.write_text(
        json.dumps(
            {
                "version": VERSION,
                "platform": str(platform),
                "source": "official",
                "filename": artifact.filename,
                "sha256": artifact.sha256,
                "size": 1,
                "installed_at": "2024-05-01T12:00:00+00:00",
            }
        )
    )
    # gobuild itself sees it installed, matching the lock.
    request = VersionRequest.parse(VERSION)
    assert toolchain_cache.find(cache, request, platform, root / "gobuild.lock") is not None
    env = Environment({"GOBUILD_CACHE": str(cache), "HOME": str(tmp_path / "home")})
    return Module(root, start, marker, goroot, env)


# --- the three remembered answers, behind one face -----------------------------------------


def remember_install(m: Module, env: Environment) -> None:
    result = {
        "version": VERSION,
        "platform": str(host()),
        "goroot": str(m.goroot),
        "source": "official",
        "filename": godist.archive_name(VERSION),
        "sha256": SHA256,
        "size": 1,
        "cached": False,
        "timings": {"download": 1.0},
        "notices": ["a notice"],
        REMEMBERED: True,
    }
    memo.remember(m.start, m.root, env, result, m.marker)


def install_remembered(m: Module, env: Environment) -> bool:
    found = memo.lookup(m.start, env)
    if found is None:
        return False
    assert found[REMEMBERED] is True and found["goroot"] == str(m.goroot)
    assert (found["cached"], found["timings"], found["notices"]) == (True, {}, [])
    return True


def remember_plan(m: Module, env: Environment, args: tuple[str, ...] = CHECK_ARGS) -> None:
    plan = {"marker": str(m.marker), "units": [], REMEMBERED: True}
    memo.remember_checks(m.start, m.root, env, args, plan)


def plan_remembered(m: Module, env: Environment, args: tuple[str, ...] = CHECK_ARGS) -> bool:
    found = memo.lookup_checks(m.start, env, args)
    if found is None:
        return False
    assert found == {"marker": str(m.marker), "units": [], REMEMBERED: True}
    return True


def remember_specs(m: Module, env: Environment, profile: str | None = None) -> None:
    specs.load_specs(m.root, env, profile)  # described and stored
    # Mark the stored copy: a fresh description never carries the mark.
    stored = state_dir(m.root) / specs.CACHE_NAME
    data = json.loads(stored.read_text())
    data["specs"][REMEMBERED] = True
    stored.write_text(json.dumps(data))


def specs_remembered(m: Module, env: Environment, profile: str | None = None) -> bool:
    try:
        got = specs.load_specs(m.root, env, profile)
    except specs.SpecError:
        return False  # described again, and the change made the project invalid
    return got.get(REMEMBERED) is True


@dataclass(frozen=True)
class Memo:
    name: str
    remember: Callable[[Module, Environment], None]
    remembered: Callable[[Module, Environment], bool]

    def __str__(self) -> str:
        return self.name


INSTALL = Memo("toolchain-install", remember_install, install_remembered)
CHECK_PLAN = Memo("check-plan", remember_plan, plan_remembered)
TASK_SPECS = Memo("task-specs", remember_specs, specs_remembered)
MEMOS = [INSTALL, CHECK_PLAN, TASK_SPECS]
WITH_MARKER = [INSTALL, CHECK_PLAN]  # the spec cache leaves the toolchain to doit's uptodate
WITH_TREE = [CHECK_PLAN, TASK_SPECS]  # stamped with every file of the module


def remembered_until(m: Module, what: Memo, change: Callable[[], None]) -> bool:
    """Remember, check it is used (twice), make ``change``: is it still used?"""
    what.remember(m, m.env)
    assert what.remembered(m, m.env), f"{what} not used although nothing changed"
    assert what.remembered(m, m.env), f"{what} not used a second time"
    change()
    return what.remembered(m, m.env)


# --- changes to files ----------------------------------------------------------------------


def appended(path: Path, text: str = "\n") -> None:
    """Grow ``path`` but keep its mtime: only the size tells."""
    before = path.stat()
    with path.open("a") as f:
        f.write(text)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def touched(path: Path) -> None:
    """Give ``path`` a new mtime, same contents: only the mtime tells."""
    before = path.stat()
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))


@contextmanager
def code_touched(relative: str) -> Iterator[Path]:
    """One of gobuild's own modules with a new mtime, restored afterwards."""
    path = PACKAGE / relative
    before = path.stat()
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))
    try:
        yield path
    finally:
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


FILE_CHANGES = [
    ("go.mod", "appended"),
    ("go.mod", "touched"),
    ("gobuild.toml", "appended"),
    ("gobuild.toml", "touched"),
    ("gobuild.toml", "removed"),
    ("gobuild.lock", "appended"),
    ("gobuild.lock", "touched"),
    ("gobuild.lock", "removed"),
]


def change_file(path: Path, how: str) -> None:
    if how == "appended":
        appended(path)  # a new line keeps go.mod, TOML and JSON valid
    elif how == "touched":
        touched(path)
    else:
        path.unlink()


@pytest.mark.parametrize("what", MEMOS, ids=str)
def test_used_while_nothing_changed(module: Module, what: Memo) -> None:
    assert remembered_until(module, what, lambda: None)


@pytest.mark.parametrize(("name", "how"), FILE_CHANGES, ids=[f"{n}-{h}" for n, h in FILE_CHANGES])
@pytest.mark.parametrize("what", MEMOS, ids=str)
def test_go_mod_gobuild_toml_or_lock_changed(
    module: Module, what: Memo, name: str, how: str
) -> None:
    assert not remembered_until(module, what, lambda: change_file(module.root / name, how))


def test_other_files_do_not_matter_to_the_install_memo(module: Module) -> None:
    def change() -> None:
        (module.root / "internal").mkdir()
        (module.root / "internal" / "x.go").write_text("package internal\n")
        appended(module.start / "main.go", "\n// more\n")

    assert remembered_until(module, INSTALL, change)


# --- the environment -----------------------------------------------------------------------

VALUES = {
    "GOBUILD_PROFILE": ("test", "prod"),
    "GOBUILD_TAGS": ("a", "b"),
    "GOBUILD_CACHE": ("/cache/a", "/cache/b"),
    "GOBUILD_GO_MIRROR": ("https://a.example/go", "https://b.example/go"),
    "SOURCE_DATE_EPOCH": ("1700000000", "1700000001"),
    "HOME": ("/home/a", "/home/b"),
    "XDG_CACHE_HOME": ("/xdg/a", "/xdg/b"),
    "CC": ("gcc", "clang"),
}
Value = str | int | None  # an index into VALUES, a literal, or None for unset
ENV_CHANGES: dict[str, tuple[Value, Value]] = {
    "set": (None, 0),
    "changed": (0, 1),
    "emptied": (0, ""),
    "empty-is-not-unset": (None, ""),
}


def test_values_cover_every_variable_configuration_reads() -> None:
    assert set(VALUES) == set(CONFIG_KEYS)


def env_with(base: Environment, key: str, value: Value) -> Environment:
    variables = dict(base.variables)
    variables.pop(key, None)
    if value is not None:
        variables[key] = VALUES[key][value] if isinstance(value, int) else value
    return Environment(variables)


@pytest.mark.parametrize("case", ENV_CHANGES)
@pytest.mark.parametrize("key", CONFIG_KEYS)
@pytest.mark.parametrize("what", MEMOS, ids=str)
def test_environment_variable_changed(module: Module, what: Memo, key: str, case: str) -> None:
    before, after = ENV_CHANGES[case]
    m = dataclasses.replace(module, env=env_with(module.env, key, before))
    what.remember(m, m.env)
    assert what.remembered(m, m.env)
    assert not what.remembered(m, env_with(m.env, key, after))


@pytest.mark.parametrize("what", MEMOS, ids=str)
def test_variables_configuration_does_not_read_do_not_matter(module: Module, what: Memo) -> None:
    what.remember(module, module.env)
    assert what.remembered(module, module.env.with_variables(UNRELATED="x", PATH="/nowhere"))


# --- gobuild's own code --------------------------------------------------------------------

# Modules deep inside rooms as well as the foundation: every one is part of the stamp.
CODE = [
    "checks/runner.py",
    "toolchain/archive/tarworker.py",
    "checks/limits/cgroups.py",
    "project/environ.py",
    "stamps.py",
    "__init__.py",
]


@pytest.mark.parametrize("relative", CODE)
@pytest.mark.parametrize("what", MEMOS, ids=str)
def test_gobuild_code_changed(module: Module, what: Memo, relative: str) -> None:
    what.remember(module, module.env)
    assert what.remembered(module, module.env)
    with code_touched(relative):
        assert not what.remembered(module, module.env)


def test_code_stamp_names_every_module_of_every_room() -> None:
    lines = list(stamps.code())
    assert lines[0] == f"gobuild {gobuild.__version__}"
    named = [line.split("\0")[0] for line in lines[1:]]
    modules = {p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py")}
    assert sorted(named) == sorted(modules) and len(named) == len(set(named))
    assert {"toolchain/archive/tarworker.py", "checks/limits/cgroups.py", *CODE} <= modules


# --- the toolchain's completion marker -----------------------------------------------------

MARKER_CHANGES = ["rewritten", "touched", "removed"]


@pytest.mark.parametrize("how", MARKER_CHANGES)
@pytest.mark.parametrize("what", WITH_MARKER, ids=str)
def test_toolchain_marker_changed(module: Module, what: Memo, how: str) -> None:
    def change() -> None:
        if how == "rewritten":  # a reinstall: same version, another marker
            appended(module.marker, "\n")
        elif how == "touched":
            touched(module.marker)
        else:  # `gobuild toolchain remove` deletes the marker first
            module.marker.unlink()

    assert not remembered_until(module, what, change)


def test_install_memo_needs_the_go_it_names(module: Module) -> None:
    assert not remembered_until(module, INSTALL, (module.goroot / "bin" / "go").unlink)


# --- every file of the module: the check plan and the task specs ---------------------------


def new_file(relative: str) -> Callable[[Module], None]:
    def change(m: Module) -> None:
        path = m.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("new\n")

    return change


TREE_CHANGES: dict[str, Callable[[Module], None]] = {
    "new-file": new_file("NOTES.md"),
    "new-file-deep": new_file("internal/deep/er/x.go"),
    "new-directory": lambda m: (m.root / "assets").mkdir(),
    "edited-appended": lambda m: appended(m.start / "main.go", "\n// more\n"),
    "edited-touched": lambda m: touched(m.start / "main.go"),
    "removed": lambda m: (m.start / "main.go").unlink(),
}
UNSEEN: dict[str, Callable[[Module], None]] = {
    "git": new_file(".git/objects/ab/cdef"),
    "state-dir": new_file(".gobuild/other.json"),
}


@pytest.mark.parametrize("change", TREE_CHANGES)
@pytest.mark.parametrize("what", WITH_TREE, ids=str)
def test_any_file_of_the_module_changed(module: Module, what: Memo, change: str) -> None:
    assert not remembered_until(module, what, lambda: TREE_CHANGES[change](module))


@pytest.mark.parametrize("change", UNSEEN)
@pytest.mark.parametrize("what", WITH_TREE, ids=str)
def test_git_and_state_directories_do_not_matter(module: Module, what: Memo, change: str) -> None:
    assert remembered_until(module, what, lambda: UNSEEN[change](module))


# --- the check plan: its arguments and the host -------------------------------------------

OTHER_ARGS = {
    "kinds": ("lint", *CHECK_ARGS[1:]),
    "profile": (CHECK_ARGS[0], "prod", *CHECK_ARGS[2:]),
    "cpus": (*CHECK_ARGS[:2], "1.0", *CHECK_ARGS[3:]),
    "memory": (*CHECK_ARGS[:3], "1GiB", CHECK_ARGS[4]),
    "enforcement": (*CHECK_ARGS[:4], "watchdog"),
}


@pytest.mark.parametrize("which", OTHER_ARGS)
def test_check_plan_for_other_arguments(module: Module, which: str) -> None:
    remember_plan(module, module.env)
    assert plan_remembered(module, module.env)
    assert not plan_remembered(module, module.env, OTHER_ARGS[which])
    # Each argument set keeps its own plan.
    remember_plan(module, module.env, OTHER_ARGS[which])
    assert plan_remembered(module, module.env, OTHER_ARGS[which])
    assert plan_remembered(module, module.env)


@pytest.mark.parametrize("other", ["same", "cpus", "memory"])
def test_check_plan_on_another_host(
    module: Module, monkeypatch: pytest.MonkeyPatch, other: str
) -> None:
    here = budget.Host.measure()
    there = {
        "same": here,
        "cpus": dataclasses.replace(here, cpus=here.cpus + 1),
        "memory": dataclasses.replace(here, memory=here.memory // 2),
    }[other]
    remember_plan(module, module.env)
    assert plan_remembered(module, module.env)
    monkeypatch.setattr(budget.Host, "measure", staticmethod(lambda: there))
    assert plan_remembered(module, module.env) is (other == "same")


# --- the task specs: the profile, and what a build writes ---------------------------------


@pytest.mark.parametrize(("before", "after"), [(None, "prod"), ("prod", None), ("prod", "test")])
def test_task_specs_for_another_profile(module: Module, before: str | None, after: str) -> None:
    remember_specs(module, module.env, before)
    assert specs_remembered(module, module.env, before)
    assert not specs_remembered(module, module.env, after)


@pytest.mark.parametrize("out_dir", [None, "out"])
def test_outputs_do_not_matter_to_the_task_specs(module: Module, out_dir: str | None) -> None:
    if out_dir:
        with (module.root / "gobuild.toml").open("a") as f:
            f.write(f'\n[build]\nout_dir = "{out_dir}"\n')

    def build() -> None:
        outputs = module.root / (out_dir or "dist")
        outputs.mkdir()
        (outputs / "app").write_text("a binary\n")
        (outputs / "app.json").write_text("{}\n")

    assert remembered_until(module, TASK_SPECS, build)
    if out_dir:  # dist/ is then an ordinary directory of the module
        new_file("dist/app")(module)
        assert not specs_remembered(module, module.env)
