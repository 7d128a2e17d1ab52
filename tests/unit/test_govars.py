"""gobuild.project.govars: the string variables a build could stamp, read from Go source.

Each case is Go source as projects write it; the answers are what the linker would do
with ``-X`` (checked against real builds in tests/functional/test_xvars.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gobuild.project import govars
from gobuild.project.govars import CALL, CONST, OTHER, STRING, UNKNOWN


def kinds(source: str) -> dict[str, str]:
    return {d.name: d.kind for d in govars.parse(source).declarations}


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


# -- one file ---------------------------------------------------------------------------------


def test_plain_and_grouped_string_vars() -> None:
    src = """package main

var version string
var Version = "dev"

var (
	commit    string
	date      = "unknown"
	treeState = "a" + ("b")
	goVersion string = "none"
)
"""
    assert kinds(src) == {
        "version": STRING,
        "Version": STRING,
        "commit": STRING,
        "date": STRING,
        "treeState": STRING,
        "goVersion": STRING,
    }


def test_lines_are_the_declarations_lines() -> None:
    src = 'package main\n\n// doc\nvar (\n\tversion = "dev"\n\n\tcommit string\n)\n'
    lines = {d.name: d.line for d in govars.parse(src).declarations}
    assert lines == {"version": 5, "commit": 7}


def test_several_names_in_one_spec() -> None:
    src = 'package p\nvar a, b string\nvar c, d = "x", `y`\nvar e, f = pair()\n'
    assert kinds(src) == {"a": STRING, "b": STRING, "c": STRING, "d": STRING, "e": CALL, "f": CALL}


def test_comments_with_fake_declarations_are_not_read() -> None:
    src = """package main

// var version string
/* var commit string
var date string */
/*
var treeState = "x"
*/
var real string // var fake string
"""
    assert kinds(src) == {"real": STRING}


def test_strings_containing_declarations_are_not_read() -> None:
    src = """package main

var usage = "var version string"
var raw = `
var commit string
)
var (
`
var doc = "/* var date string"
var after string
"""
    assert kinds(src) == {"usage": STRING, "raw": STRING, "doc": STRING, "after": STRING}


def test_runes_with_quotes_and_slashes() -> None:
    src = "package main\nvar q = '\"'\nvar s = '/'\nvar version string\n"
    assert kinds(src)["version"] == STRING


def test_constants_are_constants() -> None:
    src = """package main

const version = "v1"
const (
	commit = "x"
	date
)
"""
    assert kinds(src) == {"version": CONST, "commit": CONST, "date": CONST}


def test_other_types_and_initialisers() -> None:
    src = """package main

import "fmt"

type myString string

var count int
var custom myString
var ptr *string
var list []string
var number = 3
var flag = true
var called = fmt.Sprintf("%d", 1)
var fromConst = defaultVersion
var ok string = "x"
"""
    assert kinds(src) == {
        "count": OTHER,
        "custom": OTHER,
        "ptr": OTHER,
        "list": OTHER,
        "number": OTHER,
        "flag": OTHER,
        "called": CALL,
        "fromConst": UNKNOWN,
        "ok": STRING,
    }


def test_variables_inside_functions_are_not_package_level() -> None:
    src = """package main

func main() {
	var version string
	var (
		commit = "x"
	)
	_ = func() { var date string; _ = date }
	_, _ = version, commit
}

type T struct {
	version string
}

var after string
"""
    assert kinds(src) == {"after": STRING}


def test_semicolons_and_one_line_groups() -> None:
    src = 'package main; var a string; var (b = "x"; c string); func f() {}; var d string'
    assert kinds(src) == {"a": STRING, "b": STRING, "c": STRING, "d": STRING}


def test_blank_names_are_skipped() -> None:
    assert kinds('package main\nvar _ = "x"\nvar _, v = "a", "b"\n') == {"v": STRING}


def test_package_and_imports() -> None:
    src = """// Command x.
package main

import "fmt"
import b "example.com/x/internal/buildinfo"
import (
	_ "embed"
	. "example.com/x/dot"
	raw `example.com/x/raw`
)
"""
    parsed = govars.parse(src)
    assert parsed.package == "main"
    assert parsed.imports == (
        "fmt",
        "example.com/x/internal/buildinfo",
        "embed",
        "example.com/x/dot",
        "example.com/x/raw",
    )


def test_generics_and_braces_do_not_confuse_the_top_level() -> None:
    src = """package p

func Map[T any, U any](xs []T, f func(T) U) []U {
	out := []U{}
	for _, x := range xs { out = append(out, f(x)) }
	return out
}

type Pair[K comparable, V any] struct{ k K; v V }

var Version string
"""
    assert kinds(src) == {"Version": STRING}


def test_broken_source_never_raises() -> None:
    for src in ('package main\nvar x = "unterminated', "package main\nfunc f() {", "/* open", "`"):
        govars.parse(src)  # a syntax error ends the reading


# -- roles ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "role"),
    [
        ("version", "version"),
        ("Version", "version"),
        ("appVersion", "version"),
        ("BuildVersion", "version"),
        ("gitVersion", "version"),
        ("VERSION", "version"),
        ("commit", "commit"),
        ("gitCommit", "commit"),
        ("GitSHA", "commit"),
        ("revision", "commit"),
        ("git_commit", "commit"),
        ("date", "date"),
        ("buildDate", "date"),
        ("BuildTime", "date"),
        ("buildTimestamp", "date"),
        ("treeState", "tree_state"),
        ("gitTreeState", "tree_state"),
        ("dirty", "tree_state"),
        ("goVersion", "go_version"),
    ],
)
def test_common_spellings(name: str, role: str) -> None:
    found = govars.role_of(name)
    assert found is not None and found[0] == role


@pytest.mark.parametrize("name", ["versions", "count", "hello", "versionInfo", "name"])
def test_other_names_have_no_role(name: str) -> None:
    assert govars.role_of(name) is None


# -- packages of a module ---------------------------------------------------------------------

GO_MOD = "module example.com/x\n\ngo 1.22\n"


def test_imported_module_packages_are_followed(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {
            "go.mod": GO_MOD,
            "cmd/app/main.go": 'package main\n\nimport "example.com/x/internal/cli"\n\n'
            "func main() { cli.Run() }\n",
            "internal/cli/cli.go": 'package cli\n\nimport _ "example.com/x/internal/buildinfo"\n\n'
            "func Run() {}\n",
            "internal/buildinfo/info.go": 'package buildinfo\n\nvar Version = "dev"\n',
            "internal/unused/u.go": "package unused\n\nvar Commit string\n",
        },
    )
    found = govars.module_variables(root, "example.com/x", ["./cmd/app"])
    symbols = {v.symbol: v.where for v in found["./cmd/app"]}
    assert symbols == {"example.com/x/internal/buildinfo.Version": "internal/buildinfo/info.go:3"}


def test_vendor_testdata_nested_modules_and_tests_are_not_the_modules(tmp_path: Path) -> None:
    imports = "\n".join(
        f'import _ "example.com/x/{p}"'
        for p in ("vendor/v", "internal/testdata/t", "nested/n", "_hidden", "missing")
    )
    root = write(
        tmp_path,
        {
            "go.mod": GO_MOD,
            "main.go": f"package main\n\n{imports}\n\nfunc main() {{}}\n",
            "main_test.go": "package main\n\nvar testVersion string\n",
            "ignored.go": "//go:build ignore\n\npackage main\n\nvar ignoredVersion string\n",
            "vendor/v/v.go": "package v\n\nvar Version string\n",
            "internal/testdata/t/t.go": "package t\n\nvar Version string\n",
            "nested/go.mod": "module example.com/x/nested\n",
            "nested/n/n.go": "package n\n\nvar Version string\n",
            "_hidden/h.go": "package h\n\nvar Version string\n",
        },
    )
    found = govars.module_variables(root, "example.com/x", ["."])
    assert found == {".": []}


def test_cycles_and_shared_packages_are_read_once(tmp_path: Path) -> None:
    root = write(
        tmp_path,
        {
            "go.mod": GO_MOD,
            "a/main.go": 'package main\nimport _ "example.com/x/p"\nfunc main() {}\n',
            "b/main.go": 'package main\nimport _ "example.com/x/p"\nvar version string\n'
            "func main() {}\n",
            "p/p.go": 'package p\nimport _ "example.com/x/q"\nvar Commit string\n',
            "q/q.go": 'package q\nimport _ "example.com/x/p"\n',
        },
    )
    found = govars.module_variables(root, "example.com/x", ["./a", "./b"])
    assert [v.symbol for v in found["./a"]] == ["example.com/x/p.Commit"]
    assert sorted(v.symbol for v in found["./b"]) == ["example.com/x/p.Commit", "main.version"]


# -- guesses ----------------------------------------------------------------------------------


def variable(package: str, name: str, kind: govars.Kind = STRING) -> govars.Variable:
    return govars.Variable(package, name, f"{package}.go", 1, kind)


def test_guess_per_role_skips_what_cannot_be_stamped() -> None:
    found = {
        ".": [
            variable("main", "version", CONST),
            variable("main", "Version", CALL),
            variable("main", "commit", OTHER),
            variable("main", "gitCommit"),
            variable("main", "date", UNKNOWN),
            variable("main", "unrelated"),
        ]
    }
    guesses = govars.guess(found)
    assert {k: g.variable.symbol for k, g in guesses.items()} == {"commit": "main.gitCommit"}


def test_guess_prefers_what_every_binary_links_then_a_build_info_package() -> None:
    info = [variable("x/buildinfo", n) for n in ("Version", "Commit", "Date")]
    found = {
        "./cmd/a": [variable("main", "version"), *info],
        "./cmd/b": [*info],
        "./cmd/c": [variable("main", "version"), variable("x/other", "gitVersion"), *info],
    }
    guesses = govars.guess(found)
    assert {k: g.variable.symbol for k, g in guesses.items()} == {
        "version": "x/buildinfo.Version",
        "commit": "x/buildinfo.Commit",
        "date": "x/buildinfo.Date",
    }
    assert guesses["version"].missing_from == ()
    assert guesses["version"].others == ("main.version", "x/other.gitVersion")


def test_guess_says_which_binaries_do_not_link_it() -> None:
    found = {"./cmd/a": [variable("main", "version")], "./cmd/b": []}
    g = govars.guess(found)["version"]
    assert g.binaries == ("./cmd/a",) and g.missing_from == ("./cmd/b",)


def test_guess_prefers_the_most_telling_spelling() -> None:
    found = {".": [variable("main", "sha"), variable("main", "gitCommit")]}
    assert govars.guess(found)["commit"].variable.name == "gitCommit"
