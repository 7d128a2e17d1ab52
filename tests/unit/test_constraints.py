"""Build constraints read without Go: which platforms a file (and a main package) builds for."""

from __future__ import annotations

from pathlib import Path

import pytest

from gobuild.project import gomod
from gobuild.project.config import load_project
from gobuild.project.constraints import matches
from gobuild.project.environ import Environment


def head(expr: str) -> str:
    return f"// Copyright.\n\n//go:build {expr}\n\npackage main\n"


@pytest.mark.parametrize(
    ("name", "text", "goos", "goarch", "builds"),
    [
        ("main.go", head("wasm"), "linux", "amd64", False),
        ("main.go", head("js && wasm"), "js", "wasm", True),
        ("main.go", head("!windows"), "linux", "amd64", True),
        ("main.go", head("!windows"), "windows", "amd64", False),
        ("main.go", head("linux || darwin"), "darwin", "arm64", True),
        ("main.go", head("(linux && amd64) || windows"), "linux", "arm64", False),
        ("main.go", head("unix && !cgo"), "darwin", "arm64", True),  # cgo: a build's choice
        ("main.go", head("unix"), "windows", "amd64", False),
        ("main.go", head("mytag"), "linux", "amd64", True),  # -tags may set it
        ("main.go", head("!mytag"), "linux", "amd64", True),
        ("main.go", head("linux"), "android", "arm64", True),  # android implies linux
        ("main.go", "package main\n", "plan9", "386", True),
        ("x_windows.go", "package main\n", "linux", "amd64", False),
        ("x_linux.go", "package main\n", "android", "arm64", True),
        ("x_linux_arm64.go", "package main\n", "linux", "amd64", False),
        ("x_linux_arm64.go", "package main\n", "linux", "arm64", True),
        ("x_amd64.go", "package main\n", "darwin", "arm64", False),
        ("x_helper.go", "package main\n", "linux", "amd64", True),
    ],
)
def test_a_file_builds_for_a_platform_as_go_build_decides(
    name: str, text: str, goos: str, goarch: str, builds: bool
) -> None:
    assert matches(name, text, goos, goarch) is builds


def test_a_main_package_for_no_targeted_platform_is_not_a_binary(tmp_path: Path) -> None:
    (tmp_path / "go.mod").write_text("module example.com/lib\n\ngo 1.22\n")
    for rel, text in {
        "cmd/tool/main.go": "package main\n\nfunc main() {}\n",
        "cmd/wasm/main.go": "//go:build wasm\n\npackage main\n\nfunc main() {}\n",
        "cmd/win/main_windows.go": "package main\n\nfunc main() {}\n",
    }.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    assert gomod.main_packages(tmp_path) == ["./cmd/tool", "./cmd/wasm", "./cmd/win"]
    assert gomod.main_packages(tmp_path, [("linux", "amd64")]) == ["./cmd/tool"]
    # The project's binaries: the default platforms include windows, not wasm.
    binaries = load_project(tmp_path, Environment({})).binaries()
    assert [b.package for b in binaries] == ["./cmd/tool", "./cmd/win"]
