"""Tests for gobuild.gomod: reading go.mod and finding main packages."""

from __future__ import annotations

from pathlib import Path

import pytest

from gobuild.errors import ConfigError
from gobuild.project.gomod import GoMod, find_module_root, main_packages, read


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def gomod(tmp_path: Path, text: str) -> GoMod:
    return read(write(tmp_path / "go.mod", text))


MAIN = 'package main\n\nfunc main() { println("hi") }\n'


# --- read -----------------------------------------------------------------------


def test_read_plain(tmp_path: Path) -> None:
    mod = gomod(tmp_path, "module example.com/hello\n\ngo 1.22\n")
    assert mod == GoMod(
        path=tmp_path / "go.mod", module="example.com/hello", go="1.22", toolchain=None
    )


def test_read_quoted_module(tmp_path: Path) -> None:
    mod = gomod(tmp_path, 'module "example.com/quoted/v2"\n\ngo 1.21.3\n')
    assert mod.module == "example.com/quoted/v2"
    assert mod.go == "1.21.3"


def test_read_toolchain_strips_go_prefix(tmp_path: Path) -> None:
    mod = gomod(tmp_path, "module m\n\ngo 1.22\n\ntoolchain go1.22.10\n")
    assert mod.go == "1.22"
    assert mod.toolchain == "1.22.10"


def test_read_toolchain_default_is_ignored(tmp_path: Path) -> None:
    mod = gomod(tmp_path, "module m\ngo 1.22\ntoolchain default\n")
    assert mod.toolchain is None
    assert mod.go == "1.22"


def test_read_no_go_line(tmp_path: Path) -> None:
    mod = gomod(tmp_path, "module example.com/old\n")
    assert mod.module == "example.com/old"
    assert mod.go is None
    assert mod.toolchain is None


def test_read_comments_after_values(tmp_path: Path) -> None:
    text = (
        "// A module with comments everywhere.\n"
        "module example.com/commented // the module path\n"
        "\n"
        "go 1.21.3 // minimum language version\n"
        "\n"
        "toolchain go1.22.1 // pinned toolchain\n"
    )
    mod = gomod(tmp_path, text)
    assert mod.module == "example.com/commented"
    assert mod.go == "1.21.3"
    assert mod.toolchain == "1.22.1"


def test_read_quoted_module_with_comment(tmp_path: Path) -> None:
    mod = gomod(tmp_path, 'module "example.com/q" // quoted\ngo 1.22\n')
    assert mod.module == "example.com/q"


def test_read_realistic_file_with_require_blocks(tmp_path: Path) -> None:
    text = (
        "module github.com/acme/tool\n"
        "\n"
        "go 1.22.0\n"
        "\n"
        "toolchain go1.22.10\n"
        "\n"
        "require (\n"
        "\tgithub.com/spf13/cobra v1.8.0\n"
        "\tgolang.org/x/mod v0.14.0 // indirect\n"
        ")\n"
        "\n"
        "require github.com/inconshreveable/mousetrap v1.1.0 // indirect\n"
        "\n"
        "replace golang.org/x/mod => ../mod\n"
        "\n"
        "exclude golang.org/x/net v1.2.3\n"
    )
    mod = gomod(tmp_path, text)
    assert mod.module == "github.com/acme/tool"
    assert mod.go == "1.22.0"
    assert mod.toolchain == "1.22.10"


def test_read_indented_and_crlf_lines(tmp_path: Path) -> None:
    mod = gomod(tmp_path, "  module example.com/crlf  \r\n\tgo 1.22\r\n")
    assert mod.module == "example.com/crlf"
    assert mod.go == "1.22"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "go 1.22\n",
        "go 1.22\ntoolchain go1.22.10\n",
        "// module example.com/commented-out\ngo 1.22\n",
        "modulex example.com/m\n",
    ],
)
def test_read_missing_module_line(tmp_path: Path, text: str) -> None:
    path = write(tmp_path / "sub" / "go.mod", text)
    with pytest.raises(ConfigError) as exc_info:
        read(path)
    message = str(exc_info.value)
    assert str(path) in message
    assert "no module line" in message


def test_read_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope" / "go.mod"
    with pytest.raises(ConfigError) as exc_info:
        read(path)
    assert str(path) in str(exc_info.value)
    assert "cannot read" in str(exc_info.value)


# --- find_module_root -------------------------------------------------------------


def test_find_module_root_walks_upward(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    write(root / "go.mod", "module m\n")
    deep = root / "a" / "b" / "c"
    deep.mkdir(parents=True)
    assert find_module_root(deep) == root
    assert find_module_root(root / "a") == root
    assert find_module_root(root) == root


def test_find_module_root_prefers_the_nearest(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    write(root / "go.mod", "module m\n")
    write(root / "tools" / "go.mod", "module m/tools\n")
    (root / "tools" / "x").mkdir()
    assert find_module_root(root / "tools" / "x") == root / "tools"
    assert find_module_root(root / "tools") == root / "tools"


def test_find_module_root_ignores_go_mod_directory(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    write(root / "go.mod", "module m\n")
    (root / "sub" / "go.mod").mkdir(parents=True)  # a directory, not a file
    assert find_module_root(root / "sub") == root


def test_find_module_root_none(tmp_path: Path) -> None:
    start = tmp_path / "no" / "module" / "here"
    start.mkdir(parents=True)
    assert find_module_root(start) is None


# --- main_packages -----------------------------------------------------------------


def test_main_packages_finds_and_skips(tmp_path: Path) -> None:
    root = tmp_path / "mod"
    write(root / "go.mod", "module example.com/mod\n\ngo 1.22\n")
    # Found.
    write(root / "main.go", MAIN)
    write(root / "cmd" / "a" / "main.go", MAIN)
    write(root / "cmd" / "b" / "b.go", MAIN)
    write(root / "cmd" / "b" / "b_test.go", "package main\n")
    write(root / "internal" / "tools" / "gen" / "gen.go", MAIN)
    # A directory mixing a non-main file with a main one still counts.
    write(root / "cmd" / "mixed" / "doc.go", "// Package doc.\npackage main\n")
    # Skipped: not main.
    write(root / "lib" / "lib.go", "package lib\n\nfunc F() {}\n")
    write(root / "mainly" / "x.go", "package mainly\n")
    write(root / "maintest" / "x.go", "package main_test\n")
    # Skipped: only test files declare package main.
    write(root / "testsonly" / "main_test.go", MAIN)
    write(root / "testsonly" / "other_test.go", "package main_test\n")
    # Skipped: directories the go command ignores.
    write(root / "testdata" / "main.go", MAIN)
    write(root / "cmd" / "a" / "testdata" / "prog" / "main.go", MAIN)
    write(root / "vendor" / "example.com" / "dep" / "main.go", MAIN)
    write(root / ".hidden" / "main.go", MAIN)
    write(root / "_attic" / "main.go", MAIN)
    write(root / "cmd" / ".git" / "main.go", MAIN)
    # Skipped: a nested module and everything inside it.
    write(root / "nested" / "go.mod", "module example.com/nested\n")
    write(root / "nested" / "main.go", MAIN)
    write(root / "nested" / "cmd" / "z" / "main.go", MAIN)
    # Skipped: files the go command ignores by name, and non-Go files.
    write(root / "ignored" / "_main.go", MAIN)
    write(root / "ignored" / ".main.go", MAIN)
    write(root / "ignored" / "main.go.txt", MAIN)
    write(root / "ignored" / "README.md", "package main\n")
    # An empty directory.
    (root / "empty").mkdir()

    assert main_packages(root) == [
        ".",
        "./cmd/a",
        "./cmd/b",
        "./cmd/mixed",
        "./internal/tools/gen",
    ]


def test_main_packages_none(tmp_path: Path) -> None:
    write(tmp_path / "go.mod", "module m\n")
    write(tmp_path / "lib.go", "package m\n")
    assert main_packages(tmp_path) == []


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("// Command tool does things.\npackage main\n", id="line-comment"),
        pytest.param(
            "// Copyright 2024 Acme.\n\n//go:build linux && amd64\n\npackage main\n",
            id="line-comment-and-build-constraint",
        ),
        pytest.param(
            "/* Copyright 2024 Acme.\n * All rights reserved.\n */\n"
            "//go:build !windows\n// +build !windows\n\npackage main\n",
            id="block-comment-and-build-constraint",
        ),
        pytest.param("/* one-line block */ package main\n", id="block-comment-same-line"),
        pytest.param(
            "//go:build linux\n\n/*\npackage notmain\n*/\npackage main // the command\n",
            id="package-clause-inside-block-comment",
        ),
        pytest.param("\n\n   package   main\n", id="leading-blank-lines-and-spaces"),
    ],
)
def test_main_package_clause_after_comments(tmp_path: Path, source: str) -> None:
    write(tmp_path / "go.mod", "module m\n")
    write(tmp_path / "cmd" / "tool" / "main.go", source)
    assert main_packages(tmp_path) == ["./cmd/tool"]


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("// package main\npackage lib\n", id="main-only-in-line-comment"),
        pytest.param("/* package main */\npackage lib\n", id="main-only-in-block-comment"),
        pytest.param("//go:build linux\n", id="no-package-clause"),
        pytest.param("", id="empty-file"),
    ],
)
def test_not_main_package(tmp_path: Path, source: str) -> None:
    write(tmp_path / "go.mod", "module m\n")
    write(tmp_path / "cmd" / "tool" / "main.go", source)
    assert main_packages(tmp_path) == []


def test_line_comment_containing_block_opener(tmp_path: Path) -> None:
    # "/*" inside a // comment does not open a block comment in Go, so the
    # package clause below it is real and must not be swallowed up to the
    # next "*/" further down the file.
    source = (
        "// Command tool copies docs/*.md into the site.\n"
        "package main\n"
        "\n"
        "/* helpers */\n"
        "func main() {}\n"
    )
    write(tmp_path / "go.mod", "module m\n")
    write(tmp_path / "cmd" / "tool" / "main.go", source)
    assert main_packages(tmp_path) == ["./cmd/tool"]


def test_ignored_files_do_not_decide_the_package(tmp_path: Path) -> None:
    # `//go:build ignore` files (generators run with `go run gen.go`) are not part of
    # the package; the go command would say "build constraints exclude all Go files".
    write(tmp_path / "go.mod", "module m\n")
    write(tmp_path / "tools" / "a_gen.go", "//go:build ignore\n\npackage main\n")
    write(tmp_path / "tools" / "b.go", "package tools\n")
    write(tmp_path / "gen" / "gen.go", "//go:build ignore\n\npackage main\n")
    assert main_packages(tmp_path) == []
