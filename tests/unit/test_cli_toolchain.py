"""The gobuild command's exit codes and one-line errors, through ``gobuild.cli.main``.

Nothing here installs a toolchain: the commands fail before they would. The toolchain
commands themselves, against a loopback mirror, are tests/functional/test_cli_toolchain.py.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from gobuild.cli import main as cli
from gobuild.render import scaffold


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_config_error_exit_1(tmp_path: Path) -> None:
    (tmp_path / "go.mod").write_text("module example.com/x\n\ngo 1.22\n")
    (tmp_path / "gobuild.toml").write_text('[go]\nverison = "1.22"\n')
    code, _, err = run("-C", str(tmp_path), "toolchain", "install")
    assert code == 1
    assert "gobuild.toml" in err and "did you mean 'go.version'" in err


def test_outside_module_exit_1(tmp_path: Path) -> None:
    code, _, err = run("-C", str(tmp_path), "env")
    assert code == 1 and "not inside a Go module" in err


def test_unexpected_error_exit_3_with_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(root: Path, force: bool = False) -> None:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(scaffold, "init", boom)
    code, _, err = run("-C", str(tmp_path), "init")
    assert code == 3
    assert "internal error" in err and "RuntimeError: kaboom" in err


def test_keyboard_interrupt_exit_130(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(root: Path, force: bool = False) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(scaffold, "init", interrupted)
    assert run("-C", str(tmp_path), "init")[0] == 130
