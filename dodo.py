"""This repository's own tasks, using gobuild as a library: `doit list`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from gobuild import proc, toolchain
from gobuild.config import load_project

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
    """ruff (lint and format) and mypy --strict."""
    return {
        "actions": [
            [str(BIN / "ruff"), "check", "."],
            [str(BIN / "ruff"), "format", "--check", "."],
            [str(BIN / "mypy")],
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
        found = toolchain.ensure(toolchain.request_for(project)).installed
        proc.run(
            [found.go, "build", "-trimpath", "-o", "dist/hello", "."],
            cwd=project.root,
            env=toolchain.environ(found.goroot, project.environ),
        )

    return {"actions": [build], "verbosity": 2}
