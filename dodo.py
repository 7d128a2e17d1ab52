"""This repository's own tasks, using gobuild as a library: `doit list`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from gobuild import atomic, proc
from gobuild.builds.goenv import go_environ
from gobuild.project import toolpins
from gobuild.project.config import load_project
from gobuild.render import engine
from gobuild.toolchain.install import ensure, request_for

HERE = Path(__file__).resolve().parent
PY = sys.executable
BIN = Path(PY).parent

DOIT_CONFIG: dict[str, Any] = {
    "default_tasks": ["lint", "test"],
    "backend": "sqlite3",
    "dep_file": str(HERE / ".gobuild" / "doit.sqlite3"),
}
(HERE / ".gobuild").mkdir(exist_ok=True)


def task_lint() -> dict[str, Any]:
    """ruff (lint and format), mypy --strict and the import contracts."""
    return {
        "actions": [
            [str(BIN / "ruff"), "check", "."],
            [str(BIN / "ruff"), "format", "--check", "."],
            [str(BIN / "mypy")],
            [str(BIN / "lint-imports")],
        ],
        "verbosity": 2,
    }


def task_test() -> dict[str, Any]:
    """The whole test suite."""
    return {"actions": [[str(BIN / "pytest"), "-q"]], "verbosity": 2}


def task_wheel() -> dict[str, Any]:
    """Build the wheel into dist/."""
    return {
        "actions": [[PY, "-m", "pip", "wheel", "--no-deps", "-w", "dist", "."]],
        "verbosity": 2,
    }


def task_hello() -> dict[str, Any]:
    """Build examples/hello with its pinned Go, through the library."""

    def build() -> None:
        project = load_project(HERE / "examples" / "hello")
        found = ensure(request_for(project)).installed
        proc.run(
            [found.go, "build", "-trimpath", "-o", "dist/hello", "."],
            cwd=project.root,
            env=go_environ(found.goroot, project.env.variables),
        )

    return {"actions": [build], "verbosity": 2}


# CI images (dockerfiles/): one Dockerfile per Go version, rendered from
# templates/ci/Dockerfile.j2. tests/unit/test_ci_images.py fails when dockerfiles/ is stale
# or installs other tool versions than gobuild's DEFAULT_PINS.
CI_TEMPLATE = "ci/Dockerfile.j2"
CI_DIR = HERE / "dockerfiles"
# Exact versions in Debian bookworm (main) as of its 12.x point release in use; check with
# `apt-cache policy git make ca-certificates` on a bookworm host when a build stops finding them.
CI_DEBIAN_TAG = "bookworm-slim"
CI_APT_PACKAGES: tuple[tuple[str, str], ...] = (
    ("ca-certificates", "20230311+deb12u1"),
    ("git", "1:2.39.5-0+deb12u3"),
    ("make", "4.3-4.1"),
)
# The Go tools in every CI image: gobuild's own default pins (gobuild/project/toolpins.py),
# so CI runs the very linters, test reporter, vulnerability check and benchstat that
# `gobuild` builds for a project without a [tools] entry. Not written out here: a pin
# bump in DEFAULT_PINS reaches dockerfiles/ with `doit ci_images` (the tests say when).
CI_TOOLS: tuple[toolpins.ToolPin, ...] = tuple(
    toolpins.pin_for({}, name) for name in toolpins.TOOL_NAMES
)
# The Go that builds them, in a stage of its own: the pins' go.mod files ask for Go 1.26
# (gotestsum's for 1.24), more than the older images' Go can build. The same Go as
# gobuild's tests use as [tools] go. (Go version, Alpine version of its golang image: the
# golang image carries the two newest Alpine releases; check the tag exists with
# `docker manifest inspect golang:1.27.3-alpine3.24` when changing either.)
CI_TOOLS_GO: tuple[str, str] = ("1.27.3", "3.24")
# (Go version, Alpine version of the golang image the Go distribution is copied from)
CI_IMAGES: tuple[tuple[str, str], ...] = (
    CI_TOOLS_GO,
    ("1.22.10", "3.20"),
    ("1.21.13", "3.20"),
)


def ci_dockerfile_name(go_version: str) -> str:
    """dockerfiles/ file name for a Go release: one image per minor version."""
    minor = ".".join(go_version.split(".")[:2])
    return f"ci-go{minor}.Dockerfile"


def ci_dockerfiles(tools: tuple[toolpins.ToolPin, ...] = CI_TOOLS) -> dict[Path, str]:
    """The CI Dockerfiles as they must be on disk: {path: text}, with no side effects.

    ``tools`` is for tests: a rendering with other pins, which the drift test must flag.
    """
    out: dict[Path, str] = {}
    for go_version, alpine_version in CI_IMAGES:
        path = CI_DIR / ci_dockerfile_name(go_version)
        out[path] = engine.render(
            CI_TEMPLATE,
            path=path.relative_to(HERE).as_posix(),
            go_version=go_version,
            alpine_version=alpine_version,
            debian_tag=CI_DEBIAN_TAG,
            apt_packages=CI_APT_PACKAGES,
            tools_go_version=CI_TOOLS_GO[0],
            tools_alpine_version=CI_TOOLS_GO[1],
            tools=[tool.spec for tool in tools],
        )
    return out


def task_ci_images() -> dict[str, Any]:
    """Render dockerfiles/ (CI images: pinned Go, git, make, Go tools) from templates/ci/."""

    def write() -> None:
        CI_DIR.mkdir(exist_ok=True)
        for path, text in ci_dockerfiles().items():
            atomic.write_text(path, text)

    return {
        "actions": [write],
        # dodo.py holds the versions and toolpins.py the tool pins: dependencies too.
        "file_dep": [str(p) for p in sorted((HERE / "templates" / "ci").glob("*.j2"))]
        + [str(HERE / "dodo.py"), str(Path(toolpins.__file__).resolve())],
        "targets": [str(p) for p in ci_dockerfiles()],
        "clean": True,
        "verbosity": 2,
    }
