"""Repository-level promises: README commands, .ci/run, lint cleanliness."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    return re.findall(r"```sh\n(python3 -m venv[^\n]+)\n```", text)[:2]


def test_ci_runs_exactly_readme_test_command() -> None:
    _, test_command = readme_commands()
    ci = (REPO / ".ci" / "run").read_text().splitlines()
    assert ci[-1] == test_command


def test_readme_first_command_builds_hello() -> None:
    first, _ = readme_commands()
    assert "examples/hello" in first and "doit build" in first


@pytest.mark.parametrize(
    "argv",
    [["ruff", "check", "."], ["ruff", "format", "--check", "."], ["mypy"], ["lint-imports"]],
    ids=["ruff-check", "ruff-format", "mypy-strict", "import-contracts"],
)
def test_lint_clean(argv: list[str]) -> None:
    tool = BIN / argv[0]
    if not tool.exists() and not shutil.which(argv[0]):
        pytest.skip(f"{argv[0]} not installed (install the lint extra)")
    res = subprocess.run(
        [str(tool) if tool.exists() else argv[0], *argv[1:]],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
