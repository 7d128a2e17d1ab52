"""gobuild.builds.xvars without Go: what the linker would do with each -X variable, given
the packages a build links (go list's answer, written out here). Real builds:
tests/functional/test_xvars.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from gobuild.builds.plan import BuildPlan
from gobuild.builds.xvars import Linked, problems_in


def plan(*variables: str) -> BuildPlan:
    keys = ("version", "commit", "date", "tree_state", "go_version")
    return BuildPlan(
        binary="app",
        package="./cmd/app",
        target=None,
        output="dist/app",
        flags=(),
        ldflags=(),
        xvars=tuple(zip(variables, keys, strict=False)),
        env=(),
        go_version="1.22.10",
        profile="dev",
        tags=(),
    )


@pytest.fixture
def linked(tmp_path: Path) -> list[Linked]:
    files = {
        "cmd/app/main.go": 'package main\n\nvar version = "dev"\nvar count int\n',
        "cmd/app/other.go": 'package main\n\nconst commit = "x"\n',
        "internal/info/info.go": (
            'package info\n\nimport "fmt"\n\nvar Version string\n'
            "var Date = fmt.Sprint(1)\nvar FromConst = defaultVersion\n"
        ),
        "internal/info/excluded_windows.go": "package info\n\nvar Commit string\n",
    }
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text, encoding="utf-8")

    def package(path: str, folder: str, files: tuple[str, ...], main: bool = False) -> Linked:
        return Linked(path, main=main, standard=False, dir=str(tmp_path / folder), files=files)

    return [
        Linked("fmt", main=False, standard=True, dir="/goroot/src/fmt", files=("print.go",)),
        # Only the files this build compiles count: excluded_windows.go is not listed.
        package("example.com/app/internal/info", "internal/info", ("info.go",)),
        package("example.com/app/cmd/app", "cmd/app", ("main.go", "other.go"), main=True),
    ]


def test_stampable_variables_are_no_problem(linked: list[Linked], tmp_path: Path) -> None:
    p = plan(
        "main.version",
        "example.com/app/internal/info.Version",
        "example.com/app/internal/info.FromConst",
    )
    assert problems_in(p, linked, tmp_path) == []


def test_each_way_of_embedding_nothing_is_named(linked: list[Linked], tmp_path: Path) -> None:
    info = "example.com/app/internal/info"
    p = plan(
        "main.commit",
        "main.count",
        f"{info}.Date",
        f"{info}.Commit",
        "example.com/app/internal/absent.Version",
    )
    assert problems_in(p, linked, tmp_path) == [
        ("main.commit", "a constant"),
        ("main.count", "not a string"),
        (f"{info}.Date", "its initialiser overwrites the value"),
        (f"{info}.Commit", f"no such variable in {info}"),
        ("example.com/app/internal/absent.Version", "its package is not linked"),
    ]


def test_the_main_package_by_its_import_path(linked: list[Linked], tmp_path: Path) -> None:
    p = plan("example.com/app/cmd/app.version")
    assert problems_in(p, linked, tmp_path) == [
        ("example.com/app/cmd/app.version", "a main package is named main: use main.version")
    ]


def test_a_variable_named_twice_is_named_once(linked: list[Linked], tmp_path: Path) -> None:
    assert problems_in(plan("main.nope", "main.nope"), linked, tmp_path) == [
        ("main.nope", "no such variable in main")
    ]
