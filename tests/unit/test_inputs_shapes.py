"""A source file's shape: what in it the go command's choice of packages and files reads.

An edit the go command's choice cannot see keeps the shape (no go list runs again);
one it can see changes it. When unsure, the shape changes: a needless go list costs
tens of milliseconds, a missed one leaves a stale list of inputs.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gobuild.builds import shapes

MAIN = """//go:build linux

// Command app does things.
package main

/*
Usage:

func notCode() {}
*/

import (
	"fmt"

	"example.com/mod/lib"
)

// Version is set by the linker.
var Version = "dev"

func main() {
	fmt.Println(lib.Name, Version)
}
"""
CGO = """package c

// #include <stdio.h>
// #cgo LDFLAGS: -lm
import "C"

import "fmt"

func Hello() { fmt.Println() }
"""
ASM = """//go:build amd64

#include "textflag.h"

TEXT ·Add(SB),NOSPLIT,$0-24
	MOVQ a+0(FP), AX
	RET
"""

SAME: list[tuple[str, str, str, str]] = [
    ("function body", MAIN, "fmt.Println(lib.Name, Version)", "fmt.Println(Version)"),
    ("a variable's value", MAIN, '"dev"', '"v2"'),
    ("a comment before the first declaration", MAIN, "// Version is set", "// Version, set"),
    ("a new function", MAIN, "func main", "func helper() {}\n\nfunc main"),
    ("a cgo file's body", CGO, "fmt.Println()", "fmt.Println(1)"),
    ("an instruction", ASM, "MOVQ a+0(FP), AX", "MOVQ b+8(FP), AX"),
    ("an include", ASM, "textflag.h", "other.h"),
]
CHANGED: list[tuple[str, str, str, str]] = [
    # (after the comment whose line starts with func: it did not end the header)
    ("an import added", MAIN, '"fmt"\n', '"fmt"\n\t"os"\n'),
    ("an import removed", MAIN, '\n\t"example.com/mod/lib"\n', "\n"),
    ("an import renamed", MAIN, '"example.com/mod/lib"', 'lib "example.com/mod/lib2"'),
    ("the build constraint", MAIN, "//go:build linux", "//go:build darwin"),
    ("the package clause", MAIN, "package main", "package other"),
    ("an embedding", MAIN, "var Version", "//go:embed v.txt\nvar Version"),
    ("import C appears", CGO, 'import "fmt"', 'import "fmt"\nimport "unsafe"'),
    ("the cgo preamble", CGO, "-lm", "-lz"),
    ("an old-style constraint", ASM, "//go:build amd64", "// +build amd64\n//go:build amd64"),
    ("an assembly constraint", ASM, "//go:build amd64", "//go:build arm64"),
]


def shape_of(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return shapes.shape(path)


def name_for(text: str) -> str:
    return "add_amd64.s" if text is ASM else "main.go"


@pytest.mark.parametrize(("what", "text", "old", "new"), SAME, ids=[c[0] for c in SAME])
def test_edits_go_list_does_not_read_keep_the_shape(
    tmp_path: Path, what: str, text: str, old: str, new: str
) -> None:
    assert old in text
    name = name_for(text)
    assert shape_of(tmp_path, name, text) == shape_of(tmp_path, name, text.replace(old, new))


@pytest.mark.parametrize(("what", "text", "old", "new"), CHANGED, ids=[c[0] for c in CHANGED])
def test_edits_go_list_reads_change_the_shape(
    tmp_path: Path, what: str, text: str, old: str, new: str
) -> None:
    assert old in text
    name = name_for(text)
    assert shape_of(tmp_path, name, text) != shape_of(tmp_path, name, text.replace(old, new))


@pytest.mark.parametrize(
    "text",
    [
        'package p\n\n/* a comment */ import "os"\n\nfunc F() {}\n',
        'package p\n\n/*\nfunc x() {}\n*/ import "os"\n\nfunc F() {}\n',
        'package p\n\nimport "os" /* a comment\nfunc x() {}\n*/\n\nfunc F() {}\n',
        'package p\n\n// a comment /* not a block\nimport "os"\n\nfunc F() {}\n',
        'package p\n\nimport "os"\n',  # no declaration at all
    ],
)
def test_imports_beside_comments_are_in_the_header(tmp_path: Path, text: str) -> None:
    assert b'"os"' in shapes.header(text.encode())
    assert shape_of(tmp_path, "a.go", text) != shape_of(
        tmp_path, "a.go", text.replace('"os"', '"io"')
    )


def test_a_syso_go_mod_or_profile_counts_by_its_name(tmp_path: Path) -> None:
    for name in ("x_amd64.syso", "go.mod", "default.pgo"):
        first = shape_of(tmp_path, name, "one")
        assert shape_of(tmp_path, name, "two, longer") == first
        (tmp_path / name).unlink()
        assert shapes.shape(tmp_path / name) == shapes.MISSING != first


def test_shapes_are_read_again_only_after_a_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "main.go"
    path.write_text(MAIN)
    read: list[Path] = []
    real = shapes.shape

    def counting(p: Path) -> str:
        read.append(p)
        return real(p)

    monkeypatch.setattr(shapes, "shape", counting)
    first = shapes.Shapes()
    value = first.of(path)
    assert (len(read), first.changed) == (1, True)
    again = shapes.Shapes(first.used)  # the next run, from the memo
    assert again.of(path) == value
    assert (len(read), again.changed) == (1, False)
    path.write_text(MAIN.replace("main()", "main() "))  # same size? no: one byte more
    assert again.of(path) == value  # read again, the same shape
    assert (len(read), again.changed) == (2, True)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1))
    later = shapes.Shapes(again.used)
    later.of(path)
    assert len(read) == 3  # a new mtime alone is reason enough to look
    assert shapes.Shapes({"x": "garbage", str(path): [1, 2]}).of(path) == value
    assert shapes.Shapes().of(tmp_path / "gone.go") == shapes.MISSING
