"""A build's inputs from go list's answer, remembered while nothing that could change it did.

No Go runs here: go list's JSON is written as the go command prints it
(tests/golistfake.py) and :func:`gobuild.builds.golist.output`, the one place go list
runs, is replaced by a stand-in that answers and counts. The pinned Go is "installed" by
hand, as tests/unit/test_memos.py does (a completion marker and gobuild.lock). The real
go list over real modules: tests/functional/test_inputs.py.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from gobuild.builds import golist, planinputs
from gobuild.builds.plan import BuildPlan, dist_plans, host_plans
from gobuild.digest import Artifact
from gobuild.project import lock as lockfile
from gobuild.project.config import Project, load_project
from gobuild.project.environ import Environment
from gobuild.project.platforms import host
from gobuild.project.versions import GoVersion
from gobuild.tasks import dicts, specs
from gobuild.toolchain import cache as toolchain_cache
from tests import godist
from tests.conftest import MakeProject
from tests.golistfake import (
    FakeGoList,
    cached_module,
    main_module,
    package,
    replaced_module,
    stream,
)

VERSION = "1.22.10"
ARTIFACT = Artifact(godist.archive_name(VERSION), "5a" * 32)


def write(path: Path, text: str = "x\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def later(path: Path) -> None:
    """A new mtime, the same contents."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


# --- reading go list's answer ----------------------------------------------------------------


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A module with an assembly package, a cgo package, an embedding main package, a
    second main package, a local replace directory and a vendored-looking layout."""
    root = tmp_path / "mod"
    write(root / "go.mod", "module example.com/mod\n\ngo 1.22\n")
    write(root / "go.sum")
    write(root / "cmd" / "app" / "main.go")
    write(root / "cmd" / "app" / "static" / "hello.txt")
    write(root / "cmd" / "tool" / "main.go", TOOL_MAIN)
    for name in ("add.go", "add_test.go", "add_arm64.s", "x.syso"):
        write(root / "asm" / name)
    write(root / "asm" / "add_amd64.s", '#include "add.h"\n\nTEXT ·Add(SB),$0-24\n\tRET\n')
    write(root / "asm" / "add.h", "#define BIAS 0\n")
    for name in ("c.go", "c.c", "c.h"):
        write(root / "cgo" / name)
    write(root / "tool" / "tool.go", 'package tool\n\nconst Name = "tool"\n')
    write(tmp_path / "loc" / "go.mod", "module example.com/loc\n")
    write(tmp_path / "loc" / "loc.go")
    return root


TOOL_MAIN = """// Command tool.
package main

import "example.com/mod/tool"

func main() {
	println(tool.Name)
}
"""


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def answer(root: Path, modcache: Path) -> str:
    """go list -deps for ./cmd/app and ./cmd/tool in ``tree``, as the go command prints it."""
    main = main_module(root)
    loc = replaced_module("example.com/loc", root.parent / "loc")
    uuid = cached_module("github.com/google/uuid", "v1.6.0", modcache)
    return stream(
        package(Path("/goroot/src/fmt"), "fmt", None, standard=True, GoFiles=["print.go"]),
        package(Path(uuid["Dir"]), "github.com/google/uuid", uuid, GoFiles=["uuid.go"]),
        package(root.parent / "loc", "example.com/loc", loc, GoFiles=["loc.go"]),
        package(
            root / "asm",
            "example.com/mod/asm",
            main,
            GoFiles=["add.go"],
            SFiles=["add_amd64.s"],
            HFiles=["add.h"],
            SysoFiles=["x.syso"],
            TestGoFiles=["add_test.go"],
            IgnoredOtherFiles=["add_arm64.s"],
        ),
        package(
            root / "cgo",
            "example.com/mod/cgo",
            main,
            CgoFiles=["c.go"],
            CFiles=["c.c"],
            HFiles=["c.h"],
        ),
        package(
            root / "cmd" / "app",
            "example.com/mod/cmd/app",
            main,
            main=True,
            deps=[
                "fmt",
                "example.com/loc",
                "example.com/mod/asm",
                "example.com/mod/cgo",
                "github.com/google/uuid",
            ],
            GoFiles=["main.go"],
            EmbedPatterns=["static"],
            EmbedFiles=["static/hello.txt"],
        ),
        package(root / "tool", "example.com/mod/tool", main, GoFiles=["tool.go"]),
        package(
            root / "cmd" / "tool",
            "example.com/mod/cmd/tool",
            main,
            main=True,
            deps=["fmt", "example.com/mod/tool"],
            GoFiles=["main.go"],
        ),
    )


def relative(root: Path, files: tuple[str, ...]) -> set[str]:
    return {os.path.relpath(f, root) for f in files}


def test_inputs_are_each_main_packages_local_files_and_module_files(
    tree: Path, tmp_path: Path
) -> None:
    listing = golist.read(answer(tree, tmp_path / "modcache"), tree, ["./cmd/app", "./cmd/tool"])
    assert listing is not None and listing.complete
    assert relative(tree, listing.inputs["./cmd/app"]) == {
        "go.mod",
        "go.sum",
        "cmd/app/main.go",
        "cmd/app/static/hello.txt",  # embedded
        "asm/add.go",
        "asm/add_amd64.s",  # assembled
        "asm/add.h",  # included
        "asm/x.syso",  # linked
        "cgo/c.go",
        "cgo/c.c",
        "cgo/c.h",
        "../loc/loc.go",  # a local replace directory
        "../loc/go.mod",
    }  # not add_test.go, not add_arm64.s (another GOARCH's), not the standard library
    # or the module cache (read-only, pinned by go.sum)
    assert relative(tree, listing.inputs["./cmd/tool"]) == {
        "go.mod",
        "go.sum",
        "cmd/tool/main.go",
        "tool/tool.go",
    }  # another binary's packages are not its inputs
    assert relative(tree, listing.watch.dirs) == {
        "asm",
        "cgo",
        "cmd/app",
        "cmd/tool",
        "tool",
        "../loc",
    }
    assert relative(tree, listing.watch.trees) == {"cmd/app/static"}
    assert relative(tree, listing.watch.files) == {
        "go.mod",
        "go.sum",
        "vendor/modules.txt",
        "../loc/go.mod",
        "go.work",  # a committed workspace decides versions: watched, absent here
        "go.work.sum",
    }


def test_missing_go_sum_is_watched_not_an_input(tree: Path, tmp_path: Path) -> None:
    (tree / "go.sum").unlink()
    listing = golist.read(answer(tree, tmp_path / "mc"), tree, ["./cmd/tool"])
    assert listing is not None
    assert relative(tree, listing.inputs["./cmd/tool"]) == {
        "go.mod",
        "cmd/tool/main.go",
        "tool/tool.go",
    }
    assert str(tree / "go.sum") in listing.watch.files  # its appearance is noticed


def test_vendored_packages_and_modules_txt(tmp_path: Path) -> None:
    root = tmp_path / "v"
    write(root / "go.mod")
    write(root / "main.go")
    write(root / "vendor" / "modules.txt")
    write(root / "vendor" / "example.com" / "dep" / "dep.go")
    dep = {"Path": "example.com/dep", "Version": "v0.1.0"}  # what go list -mod=vendor says
    text = stream(
        package(
            root / "vendor" / "example.com" / "dep", "example.com/dep", dep, GoFiles=["dep.go"]
        ),
        package(
            root,
            "example.com/v",
            main_module(root),
            main=True,
            deps=["example.com/dep"],
            GoFiles=["main.go"],
        ),
    )
    listing = golist.read(text, root, ["."])
    assert listing is not None
    assert relative(root, listing.inputs["."]) == {
        "go.mod",
        "main.go",
        "vendor/modules.txt",
        "vendor/example.com/dep/dep.go",
    }


def test_an_error_makes_the_answer_incomplete(tree: Path, tmp_path: Path) -> None:
    main = main_module(tree)
    text = stream(
        package(
            tree / "asm",
            "example.com/mod/asm",
            main,
            GoFiles=["add.go"],
            Error={"Err": "add.go:3:1: expected declaration"},
        ),
        package(
            tree / "cmd" / "tool",
            "example.com/mod/cmd/tool",
            main,
            main=True,
            deps=["example.com/mod/asm"],
            DepsErrors=[{"Err": "..."}],
            GoFiles=["main.go"],
        ),
    )
    listing = golist.read(text, tree, ["./cmd/tool"])
    assert listing is not None and not listing.complete
    assert "asm/add.go" in relative(tree, listing.inputs["./cmd/tool"])


def test_a_package_go_list_did_not_name_makes_it_incomplete(tree: Path, tmp_path: Path) -> None:
    listing = golist.read(answer(tree, tmp_path / "mc"), tree, ["./cmd/tool", "./cmd/gone"])
    assert listing is not None and not listing.complete
    assert listing.inputs["./cmd/gone"] == ()


@pytest.mark.parametrize("text", ["", "go: no\n", "[1, 2]", '{"ImportPath": "x"} {'])
def test_what_is_not_go_lists_json(tree: Path, text: str) -> None:
    listing = golist.read(text, tree, ["./cmd/tool"])
    assert listing is None or not listing.complete


def test_go_prints_the_real_path_of_a_symlinked_module(tree: Path, tmp_path: Path) -> None:
    link = tmp_path / "link"
    link.symlink_to(tree)
    listing = golist.read(answer(tree, tmp_path / "mc"), link, ["./cmd/tool"])
    assert listing is not None and listing.complete
    assert relative(link, listing.inputs["./cmd/tool"]) == {
        "go.mod",
        "go.sum",
        "cmd/tool/main.go",
        "tool/tool.go",
    }
    assert all(f.startswith(str(link)) for f in listing.inputs["./cmd/tool"])


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ((), "cmd/tool/default.pgo"),
        (("-pgo=auto",), "cmd/tool/default.pgo"),
        (("-pgo=off",), None),
        (("-pgo=prof/cpu.pprof",), "prof/cpu.pprof"),
    ],
)
def test_profile_guided_optimisation_profile(
    tree: Path, tmp_path: Path, flags: tuple[str, ...], expected: str | None
) -> None:
    write(tree / "cmd" / "tool" / "default.pgo")
    write(tree / "prof" / "cpu.pprof")
    listing = golist.read(answer(tree, tmp_path / "mc"), tree, ["./cmd/tool"], flags)
    assert listing is not None
    found = relative(tree, listing.inputs["./cmd/tool"]) - {
        "go.mod",
        "go.sum",
        "cmd/tool/main.go",
        "tool/tool.go",
    }
    assert found == ({expected} if expected else set())


def test_argv_names_fields_where_go_can() -> None:
    new = golist.argv(Path("/g/bin/go"), GoVersion(1, 22, 10), ["-tags=x"], ["./cmd/a"])
    assert new[:4] == ["/g/bin/go", "list", "-e", "-deps"]
    assert new[4].startswith("-json=Dir,") and "SFiles" in new[4] and "EmbedFiles" in new[4]
    assert new[5:] == ["-tags=x", "./cmd/a"]
    old = golist.argv(Path("/g/bin/go"), GoVersion(1, 18, 10), [], ["."])
    assert old == ["/g/bin/go", "list", "-e", "-deps", "-json", "."]


# --- what could change the answer -----------------------------------------------------------

WatchChange = Callable[[Path], object]
CHANGES: dict[str, WatchChange] = {
    "new .s file": lambda r: write(r / "asm" / "sub_amd64.s"),
    "new .go file": lambda r: write(r / "tool" / "more.go"),
    "removed file": lambda r: (r / "asm" / "add.h").unlink(),
    "build constraint edited": lambda r: write(r / "asm" / "add.go", "//go:build ignore\n"),
    "import added": lambda r: edit(
        r / "cmd" / "tool" / "main.go", 'import "', 'import _ "embed"\nimport "'
    ),
    "//go:embed added": lambda r: edit(
        r / "tool" / "tool.go", "const", "//go:embed tool.go\nvar Me string\n\nconst"
    ),
    "constraint added to a .s file": lambda r: edit(
        r / "asm" / "add_amd64.s", "#include", "//go:build ignore\n\n#include"
    ),
    "renamed": lambda r: (r / "asm" / "x.syso").rename(r / "asm" / "y.syso"),
    "go.mod": lambda r: later(r / "go.mod"),
    "go.sum removed": lambda r: (r / "go.sum").unlink(),
    "vendor/modules.txt appears": lambda r: write(r / "vendor" / "modules.txt"),
    "replace dir": lambda r: write(r.parent / "loc" / "extra.go"),
    "replaced go.mod": lambda r: later(r.parent / "loc" / "go.mod"),
    "embedded file added": lambda r: write(r / "cmd" / "app" / "static" / "more.txt"),
    "embedded deep file": lambda r: write(r / "cmd" / "app" / "static" / "a" / "b.txt"),
}
UNSEEN: dict[str, WatchChange] = {
    "function body edited": lambda r: edit(
        r / "cmd" / "tool" / "main.go", "println(tool.Name)", "println(tool.Name, 1)"
    ),
    "a declaration added": lambda r: edit(
        r / "tool" / "tool.go", "const", "// Other is another.\nconst Other = 2\n\nconst"
    ),
    ".s instruction edited": lambda r: edit(r / "asm" / "add_amd64.s", "RET", "NOP\n\tRET"),
    ".h edited": lambda r: edit(r / "asm" / "add.h", "BIAS 0", "BIAS 1"),
    ".syso rewritten": lambda r: write(r / "asm" / "x.syso", "other object\n"),
    "touched, the same contents": lambda r: later(r / "cmd" / "tool" / "main.go"),
    "embedded file's contents": lambda r: write(r / "cmd" / "app" / "static" / "hello.txt", "2\n"),
    "README at the root": lambda r: write(r / "README.md"),
    "a directory no binary imports": lambda r: write(r / "unused" / "u.go"),
    "testdata of a package outside the build": lambda r: write(r / "docs" / "testdata" / "x"),
}


@pytest.mark.parametrize("change", CHANGES)
def test_watch_stamp_changes_with(tree: Path, tmp_path: Path, change: str) -> None:
    write(tree / "cmd" / "app" / "static" / "a" / "keep.txt")
    listing = golist.read(answer(tree, tmp_path / "mc"), tree, ["./cmd/app", "./cmd/tool"])
    assert listing is not None
    before = listing.watch.stamp()
    assert golist.Watch.from_json(listing.watch.as_json()).stamp() == before
    CHANGES[change](tree)
    assert listing.watch.stamp() != before


@pytest.mark.parametrize("change", UNSEEN)
def test_watch_stamp_ignores(tree: Path, tmp_path: Path, change: str) -> None:
    listing = golist.read(answer(tree, tmp_path / "mc"), tree, ["./cmd/app", "./cmd/tool"])
    assert listing is not None
    before = listing.watch.stamp()
    UNSEEN[change](tree)
    assert listing.watch.stamp() == before


def test_a_main_package_at_the_module_root_is_watched_for_sources_only(tmp_path: Path) -> None:
    root = tmp_path / "mod"
    write(root / "go.mod")
    write(root / "main.go")
    write(root / "README.md")
    text = stream(
        package(root, "example.com/mod", main_module(root), main=True, GoFiles=["main.go"])
    )
    listing = golist.read(text, root, ["."])
    assert listing is not None
    before = listing.watch.stamp()
    # What a build, doit and a person do beside the sources change nothing...
    write(root / ".gobuild" / "inputs.json")
    write(root / "dist" / "mod")
    write(root / "README.md", "more\n")
    write(root / "gobuild.toml")
    write(root / "docs" / "x.md")
    assert listing.watch.stamp() == before
    # ...a source file or a build constraint's target does.
    for name in ("extra_linux.go", "asm_amd64.s", "x.syso", "default.pgo", "go.mod"):
        write(root / "sub" / name)  # a subdirectory is another package
        assert listing.watch.stamp() == before
    changed = before
    for name in ("extra_linux.go", "asm_amd64.s", "x.syso", "default.pgo", "c.h"):
        write(root / name)
        assert listing.watch.stamp() != changed, name
        changed = listing.watch.stamp()


# --- each plan's inputs, remembered -----------------------------------------------------------


def lock_pin(root: Path) -> None:
    """gobuild.lock naming the pinned Go, as a project commits it."""
    version, platform = GoVersion.parse(VERSION), host()
    lock = lockfile.Lock(VERSION, version, {platform.key: {"official": ARTIFACT}})
    (root / "gobuild.lock").write_text(lockfile.dumps(lock))


def install(cache: Path) -> Path:
    """The pinned Go as an install leaves it (its tree, the marker last); its GOROOT."""
    version, platform = GoVersion.parse(VERSION), host()
    toolchains = toolchain_cache.Cache(cache)
    goroot = toolchains.tree(version, platform) / "go"
    write(goroot / "bin" / "go", "#!/bin/sh\nexit 1\n")  # never run
    toolchains.marker(version, platform).write_text(
        json.dumps(
            {
                "version": VERSION,
                "platform": str(platform),
                "source": "official",
                "filename": ARTIFACT.filename,
                "sha256": ARTIFACT.sha256,
                "size": 1,
                "installed_at": "2024-05-01T12:00:00+00:00",
            }
        )
    )
    return goroot


def install_by_hand(cache: Path, root: Path) -> Path:
    """gobuild.lock and the installed Go; its GOROOT."""
    lock_pin(root)
    return install(cache)


def lister(argv: list[str], root: Path, env: Mapping[str, str]) -> str:
    """go list for the module ``module_with_binaries`` makes: each main package imports
    internal/lib, which has an assembly file for amd64 and a Go fallback elsewhere."""
    main = main_module(root, "example.com/proj")
    lib_files: dict[str, Any] = (
        {"GoFiles": ["lib.go"], "SFiles": ["lib_amd64.s"]}
        if env.get("GOARCH", "amd64") == "amd64"
        else {"GoFiles": ["lib.go", "lib_other.go"]}
    )
    packages = [a for a in argv[5:] if a.startswith("./")]
    return stream(
        package(root / "internal" / "lib", "example.com/proj/internal/lib", main, **lib_files),
        *(
            package(
                root / p,
                f"example.com/proj/{p[2:]}",
                main,
                main=True,
                deps=["example.com/proj/internal/lib"],
                GoFiles=["main.go"],
            )
            for p in packages
        ),
    )


@pytest.fixture
def fake_go(monkeypatch: pytest.MonkeyPatch) -> FakeGoList:
    fake = FakeGoList(lister)
    monkeypatch.setattr(golist, "output", fake)
    return fake


@pytest.fixture
def module_with_binaries(make_project: MakeProject, tmp_path: Path) -> tuple[Path, Environment]:
    root = make_project(VERSION, extra='[dist]\nplatforms = ["freebsd/amd64", "freebsd/arm64"]\n')
    (root / "main.go").unlink()
    for name in ("a", "b"):
        write(root / "cmd" / name / "main.go", "package main\n\nfunc main() {}\n")
    for name in ("lib.go", "lib_amd64.s", "lib_other.go", "lib_test.go"):
        write(root / "internal" / "lib" / name)
    env = Environment({"GOBUILD_CACHE": str(tmp_path / "cache"), "HOME": str(tmp_path)})
    return root, env


def plans_of(root: Path, env: Environment) -> tuple[Project, list[BuildPlan]]:
    project = load_project(root, env)
    return project, [*host_plans(project, VERSION), *dist_plans(project, VERSION)]


def test_before_go_is_installed_the_finder_answers(
    module_with_binaries: tuple[Path, Environment], fake_go: FakeGoList
) -> None:
    root, env = module_with_binaries
    project, plans = plans_of(root, env)
    found = planinputs.plan_inputs(project, plans)
    assert found.source == planinputs.NO_GO and fake_go.calls == []
    assert found.index == [0] * len(plans)
    assert relative(root, tuple(found.sets[0])) == {
        "go.mod",
        "cmd/a/main.go",
        "cmd/b/main.go",
        "internal/lib/lib.go",
        "internal/lib/lib_other.go",
    }  # the .s file is what it misses: the reason for go list


def test_with_go_each_plan_gets_its_own_inputs(
    module_with_binaries: tuple[Path, Environment], fake_go: FakeGoList, tmp_path: Path
) -> None:
    root, env = module_with_binaries
    goroot = install_by_hand(tmp_path / "cache", root)
    project, plans = plans_of(root, env)
    found = planinputs.plan_inputs(project, plans)
    assert found.source == planinputs.GO_LIST
    # One run per way of building: the host (never a FreeBSD machine), freebsd/amd64,
    # freebsd/arm64; both binaries in each.
    assert len(fake_go.calls) == 3
    assert all(
        c[0] == str(goroot / "bin" / "go") and c[-2:] == ["./cmd/a", "./cmd/b"]
        for c in fake_go.calls
    )
    assert sorted(e.get("GOARCH", "host") for e in fake_go.envs) == ["amd64", "arm64", "host"]
    assert all(e["GOROOT"] == str(goroot) and e["GOFLAGS"] == "" for e in fake_go.envs)
    by_name = {
        (p.binary, str(p.target)): relative(root, tuple(found.of(i))) for i, p in enumerate(plans)
    }
    lib = {"internal/lib/lib.go"}
    assert by_name[("a", "None")] == {"go.mod", "cmd/a/main.go", "internal/lib/lib_amd64.s", *lib}
    assert by_name[("b", "freebsd/amd64")] == {
        "go.mod",
        "cmd/b/main.go",
        "internal/lib/lib_amd64.s",
        *lib,
    }
    assert by_name[("a", "freebsd/arm64")] == {
        "go.mod",
        "cmd/a/main.go",
        "internal/lib/lib_other.go",
        *lib,
    }
    # Equal lists are kept once: a's host and freebsd/amd64 builds read the same files.
    assert len(found.sets) == 4
    a_host, a_amd64 = (
        i
        for i, p in enumerate(plans)
        if p.binary == "a" and str(p.target) in ("None", "freebsd/amd64")
    )
    assert found.index[a_host] == found.index[a_amd64]


def test_the_host_build_and_its_platforms_dist_build_share_one_run(
    make_project: MakeProject, fake_go: FakeGoList, tmp_path: Path
) -> None:
    here = host()
    root = make_project(VERSION, extra=f'[dist]\nplatforms = ["{here}", "windows/arm64"]\n')
    env = Environment({"GOBUILD_CACHE": str(tmp_path / "cache"), "HOME": str(tmp_path)})
    install_by_hand(tmp_path / "cache", root)
    project, plans = plans_of(root, env)
    assert [str(p.target) for p in plans] == ["None", str(here), "windows/arm64"]
    found = planinputs.plan_inputs(project, plans)
    assert len(fake_go.calls) == 2  # this platform's (host and dist), windows/arm64's
    assert found.index[0] == found.index[1]


def test_answers_are_remembered_until_a_watched_path_changes(
    module_with_binaries: tuple[Path, Environment], fake_go: FakeGoList, tmp_path: Path
) -> None:
    root, env = module_with_binaries
    install_by_hand(tmp_path / "cache", root)
    project, plans = plans_of(root, env)
    first = planinputs.plan_inputs(project, plans)
    assert len(fake_go.calls) == 3
    assert planinputs.plan_inputs(project, plans) == first
    assert len(fake_go.calls) == 3  # remembered
    write(root / "README.md")  # not in a package directory
    assert planinputs.plan_inputs(project, plans) == first
    assert len(fake_go.calls) == 3
    edit(root / "cmd" / "a" / "main.go", "{}", "{ println() }")  # inside a function
    assert planinputs.plan_inputs(project, plans) == first
    assert len(fake_go.calls) == 3
    write(root / "internal" / "lib" / "lib_arm64.s")  # a new file in a package directory
    planinputs.plan_inputs(project, plans)
    assert len(fake_go.calls) == 6  # every way of building lists again
    planinputs.plan_inputs(project, plans)
    assert len(fake_go.calls) == 6


@pytest.mark.parametrize(
    "change",
    ["tags", "profile goflags", "GOBUILD_TAGS", "a binary more", "cgo"],
)
def test_another_way_of_building_is_listed_again(
    module_with_binaries: tuple[Path, Environment],
    fake_go: FakeGoList,
    tmp_path: Path,
    change: str,
) -> None:
    root, env = module_with_binaries
    install_by_hand(tmp_path / "cache", root)
    project, plans = plans_of(root, env)
    planinputs.plan_inputs(project, plans)
    calls = len(fake_go.calls)
    toml = root / "gobuild.toml"
    if change == "tags":
        toml.write_text(toml.read_text() + '[build]\ntags = ["netgo"]\n')
    elif change == "profile goflags":
        toml.write_text(toml.read_text() + '[profiles.prod]\ngoflags = ["-mod=mod"]\n')
        env = env.with_variables(GOBUILD_PROFILE="prod")
    elif change == "GOBUILD_TAGS":
        env = env.with_variables(GOBUILD_TAGS="extra")
    elif change == "a binary more":
        write(root / "cmd" / "c" / "main.go", "package main\n\nfunc main() {}\n")
    else:
        toml.write_text(toml.read_text() + "[build]\ncgo = true\n")
    project, plans = plans_of(root, env)
    found = planinputs.plan_inputs(project, plans)
    assert len(fake_go.calls) == calls + 3
    assert all(found.of(i) for i in range(len(plans)))


def test_an_incomplete_answer_is_used_with_the_finder_and_never_remembered(
    module_with_binaries: tuple[Path, Environment],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    root, env = module_with_binaries
    install_by_hand(tmp_path / "cache", root)

    def broken(argv: list[str], root: Path, env: Mapping[str, str]) -> str:
        text = lister(argv, root, env)
        return text.replace('"GoFiles"', '"Error": {"Err": "syntax error"}, "GoFiles"', 1)

    fake = FakeGoList(broken)
    monkeypatch.setattr(golist, "output", fake)
    project, plans = plans_of(root, env)
    found = planinputs.plan_inputs(project, plans)
    assert found.source == planinputs.FAILED
    files = relative(root, tuple(found.of(0)))
    assert "internal/lib/lib_amd64.s" in files  # go list's
    assert "cmd/b/main.go" in files  # and the finder's
    planinputs.plan_inputs(project, plans)
    assert len(fake.calls) == 6  # asked again


def test_go_list_failing_falls_back_to_the_finder(
    module_with_binaries: tuple[Path, Environment],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    root, env = module_with_binaries
    install_by_hand(tmp_path / "cache", root)
    monkeypatch.setattr(golist, "output", FakeGoList(lambda argv, root, env: None))
    project, plans = plans_of(root, env)
    found = planinputs.plan_inputs(project, plans)
    assert found.source == planinputs.FAILED and found.index == [0] * len(plans)
    assert "cmd/a/main.go" in relative(root, tuple(found.sets[0]))


def test_a_damaged_memo_is_ignored(
    module_with_binaries: tuple[Path, Environment], fake_go: FakeGoList, tmp_path: Path
) -> None:
    root, env = module_with_binaries
    install_by_hand(tmp_path / "cache", root)
    project, plans = plans_of(root, env)
    first = planinputs.plan_inputs(project, plans)
    memo = project.state_dir / planinputs.MEMO_NAME
    for damage in ("{", "[]", '{"format": 1, "entries": {"k": 1}}', '{"format": 0}'):
        memo.write_text(damage)
        assert planinputs.plan_inputs(project, plans) == first
    data = json.loads(memo.read_text())
    key = next(iter(data["entries"]))
    data["entries"][key]["inputs"] = 5
    memo.write_text(json.dumps(data))
    assert planinputs.plan_inputs(project, plans) == first


def test_the_memo_keeps_the_most_recent_answers(
    module_with_binaries: tuple[Path, Environment],
    fake_go: FakeGoList,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root, env = module_with_binaries
    install_by_hand(tmp_path / "cache", root)
    monkeypatch.setattr(planinputs, "MEMO_ENTRIES", 6)  # two tag sets' three ways of building

    def listed_with(tags: str) -> int:
        before = len(fake_go.calls)
        project, plans = plans_of(root, env.with_variables(GOBUILD_TAGS=tags))
        planinputs.plan_inputs(project, plans)
        return len(fake_go.calls) - before

    assert [listed_with(t) for t in ("x", "y", "z")] == [3, 3, 3]
    memo = root / ".gobuild" / planinputs.MEMO_NAME
    assert len(json.loads(memo.read_text())["entries"]) == 6
    assert [listed_with(t) for t in ("y", "z", "x")] == [0, 0, 3]  # x was the oldest


# --- the task specs and the build tasks ------------------------------------------------------


def test_specs_from_the_finder_hold_only_until_go_is_installed(
    module_with_binaries: tuple[Path, Environment], fake_go: FakeGoList, tmp_path: Path
) -> None:
    root, env = module_with_binaries
    lock_pin(root)  # committed: installing Go changes nothing in the tree
    first = specs.load_specs(root, env, None)
    assert first["inputs_from"] == planinputs.NO_GO
    assert specs.load_specs(root, env, None) == first  # remembered while Go is absent
    assert fake_go.calls == []
    # doit's toolchain task installs Go after the tasks were described: the next run must
    # not keep the finder's list (it misses the .s file), though the stamp still holds.
    stamp = json.loads((root / ".gobuild" / specs.CACHE_NAME).read_text())["stamp"]
    install(tmp_path / "cache")
    assert specs.stamp(root, env, None, "dist") == stamp
    second = specs.load_specs(root, env, None)
    assert second["inputs_from"] == planinputs.GO_LIST and len(fake_go.calls) == 3
    assert str(root / "internal" / "lib" / "lib_amd64.s") in second["input_sets"][0]
    assert specs.load_specs(root, env, None) == second  # now remembered for good
    assert len(fake_go.calls) == 3


def test_specs_from_an_incomplete_answer_are_never_remembered(
    module_with_binaries: tuple[Path, Environment],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    root, env = module_with_binaries
    install_by_hand(tmp_path / "cache", root)
    fake = FakeGoList(lambda argv, root, env: None)
    monkeypatch.setattr(golist, "output", fake)
    assert specs.load_specs(root, env, None)["inputs_from"] == planinputs.FAILED
    specs.load_specs(root, env, None)
    assert len(fake.calls) == 6


def test_build_and_dist_tasks_depend_on_their_own_inputs(
    module_with_binaries: tuple[Path, Environment], fake_go: FakeGoList, tmp_path: Path
) -> None:
    root, env = module_with_binaries
    install_by_hand(tmp_path / "cache", root)
    described = specs.load_specs(root, env, None)
    _, a, b = list(dicts.build_tasks(described, env))
    assert relative(root, tuple(a["file_dep"])) == {
        "go.mod",
        "cmd/a/main.go",
        "internal/lib/lib.go",
        "internal/lib/lib_amd64.s",
    }
    assert "cmd/b/main.go" in relative(root, tuple(b["file_dep"]))
    dist = {t["name"]: t for t in dicts.dist_tasks(described, env) if t.get("name")}
    assert "internal/lib/lib_other.go" in relative(root, tuple(dist["a_freebsd_arm64"]["file_dep"]))
    assert "internal/lib/lib_amd64.s" in relative(root, tuple(dist["a_freebsd_amd64"]["file_dep"]))


def test_described_before_go_the_inputs_are_listed_after_the_toolchain_task(
    module_with_binaries: tuple[Path, Environment], fake_go: FakeGoList, tmp_path: Path
) -> None:
    root, env = module_with_binaries
    lock_pin(root)
    described = specs.load_specs(root, env, None)
    assert described["inputs_from"] == planinputs.NO_GO
    _, calc_a, a, calc_b, b = list(dicts.build_tasks(described, env))
    # The finder's list is not recorded with the build: a calc_dep task lists the inputs
    # with go list after the toolchain task ran.
    assert (calc_a["name"], calc_b["name"]) == ("a@inputs", "b@inputs")
    assert calc_a["task_dep"] == ["toolchain"] and calc_a["uptodate"] == [False]
    assert (a["file_dep"], a["calc_dep"]) == ([], ["build:a@inputs"])
    assert b["calc_dep"] == ["build:b@inputs"] and b["task_dep"] == ["toolchain"]
    dist = [t for t in dicts.dist_tasks(described, env) if t.get("name")]
    calcs = {t["name"] for t in dist if t["name"].endswith("@inputs")}
    assert calcs == {f"{x}_freebsd_{arch}@inputs" for x in "ab" for arch in ("amd64", "arm64")}
    assert dist[-1]["task_dep"] == [
        f"dist:{x}_freebsd_{arch}" for x in "ab" for arch in ("amd64", "arm64")
    ]  # SHA256SUMS waits for the artifacts, as before
    # What doit runs once Go is installed...
    install(tmp_path / "cache")
    ((run, args),) = calc_a["actions"]
    values = run(*args)
    assert relative(root, tuple(values["file_dep"])) == {
        "go.mod",
        "cmd/a/main.go",
        "internal/lib/lib.go",
        "internal/lib/lib_amd64.s",
    }
    # ...is what the next run describes: doit finds the build up to date.
    again = specs.load_specs(root, env, None)
    assert again["inputs_from"] == planinputs.GO_LIST
    _, a_again, _ = list(dicts.build_tasks(again, env))
    assert a_again["file_dep"] == values["file_dep"] and "calc_dep" not in a_again
