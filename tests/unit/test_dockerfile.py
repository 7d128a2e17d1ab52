"""The generated Dockerfile's module handling: which directory the build runs in, the
GOWORK it runs with, and when dependencies download in a layer of their own.

Rendering only (gobuild.lock is written by hand; no Go, no engine): images built from
these layouts are tests/functional/test_workspace_images.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gobuild.digest import Artifact
from gobuild.project import lock as lockfile
from gobuild.project.config import load_project
from gobuild.project.environ import Environment
from gobuild.project.platforms import host
from gobuild.project.versions import GoVersion
from gobuild.render.generate import render_file
from tests import godist

VERSION = "1.22.10"
MAIN = "package main\n\nfunc main() {}\n"
LIB = "package lib\n"


def gomod(module: str, extra: str = "") -> str:
    return f"module {module}\n\ngo 1.21\n{extra}"


# layout: (files, the app's package)
LAYOUTS: dict[str, tuple[dict[str, str], str]] = {
    "module": (
        {"go.mod": gomod("example.com/ws/app"), "cmd/app/main.go": MAIN},
        "./cmd/app",
    ),
    # One module, and a go.work replacing its requirement with a directory that the
    # download layer (go.mod and go.sum only) would not have.
    "go.work-using-the-root": (
        {
            "go.mod": gomod("example.com/ws/app", "\nrequire example.com/ws/lib v0.1.0\n"),
            "cmd/app/main.go": MAIN,
            "fork/go.mod": gomod("example.com/ws/lib"),
            "fork/lib.go": LIB,
            "go.work": "go 1.21\n\nuse .\n\nreplace example.com/ws/lib => ./fork\n",
        },
        "./cmd/app",
    ),
    "go.work": (
        {
            "app/go.mod": gomod("example.com/ws/app", "\nrequire example.com/ws/lib v0.1.0\n"),
            "app/cmd/app/main.go": MAIN,
            "lib/go.mod": gomod("example.com/ws/lib"),
            "lib/lib.go": LIB,
            "go.work": "go 1.21\n\nuse (\n\t./app\n\t./lib\n)\n",
        },
        "./app/cmd/app",
    ),
    "nested": (
        {
            "app/go.mod": gomod(
                "example.com/ws/app",
                "\nrequire example.com/ws/lib v0.1.0\n\nreplace example.com/ws/lib => ../lib\n",
            ),
            "app/cmd/app/main.go": MAIN,
            "lib/go.mod": gomod("example.com/ws/lib"),
            "lib/lib.go": LIB,
        },
        "./app/cmd/app",
    ),
}


def dockerfile(tmp_path: Path, layout: str) -> str:
    files, package = LAYOUTS[layout]
    root = tmp_path / "repo"  # not in a git work tree: a go.work there is honoured
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    (root / "gobuild.toml").write_text(
        f'[go]\nversion = "{VERSION}"\n\n[[binaries]]\nname = "app"\npackage = "{package}"\n'
    )
    artifact = Artifact(godist.archive_name(VERSION), "0" * 64)
    lock = lockfile.Lock(VERSION, GoVersion.parse(VERSION), {host().key: {"official": artifact}})
    (root / "gobuild.lock").write_text(lockfile.dumps(lock))
    project = load_project(root, env=Environment({"GOBUILD_CACHE": str(tmp_path / "cache")}))
    return render_file(project, "Dockerfile")


def go_build_line(text: str) -> str:
    [line] = [ln.strip() for ln in text.splitlines() if re.match(r"\s*go .*\bbuild ", ln)]
    return line


@pytest.mark.parametrize(
    ("layout", "chdir", "package", "gowork", "download"),
    [
        ("module", "", "./cmd/app", "off", True),
        ("go.work-using-the-root", "", "./cmd/app", "auto", False),
        ("go.work", "-C app ", "./cmd/app", "auto", False),
        ("nested", "-C app ", "./cmd/app", "off", False),
    ],
)
def test_build_runs_in_the_module_with_its_gowork(
    tmp_path: Path, layout: str, chdir: str, package: str, gowork: str, download: bool
) -> None:
    text = dockerfile(tmp_path, layout)
    line = go_build_line(text)
    assert line.startswith(f"go {chdir}build -trimpath "), line
    assert line.endswith(f" -o /out/app {package}"), line
    assert re.search(rf"^\s*CGO_ENABLED=0 GOTOOLCHAIN=local GOWORK={gowork} GOENV=off ", text, re.M)
    # The download layer sees go.mod and go.sum alone: only a lone module without a
    # go.work builds the same from them (a go.work's replace directives, or a sibling
    # module a replace names, are not there yet).
    assert ("COPY go.mod go.sum* ./" in text) == download, text
    assert ("go mod download" in text) == download, text
    if download:
        assert f"GOWORK={gowork} GOENV=off go mod download" in text, text
