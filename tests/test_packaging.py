"""A wheel built from the repository installs into a fresh venv and works there."""

from __future__ import annotations

import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(REPO)],
        check=True,
        capture_output=True,
    )
    (found,) = out.glob("gobuild-*.whl")
    return found


def test_wheel_contents(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "gobuild/templates/gobuild.toml.j2" in names
    assert "gobuild/templates/dodo.py.j2" in names
    assert "gobuild/py.typed" in names
    assert not [n for n in names if n.startswith(("tests/", "examples/", "bench/"))]


def test_wheel_in_fresh_venv(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    subprocess.run(
        [str(py), "-m", "pip", "install", "--quiet", str(wheel)], check=True, capture_output=True
    )
    res = subprocess.run(
        [str(env_dir / "bin" / "gobuild"), "--help"], capture_output=True, text=True, check=True
    )
    assert "toolchain" in res.stdout
    # Templates load from the installed package (importlib.resources), not the repo.
    mod = tmp_path / "mod"
    mod.mkdir()
    (mod / "go.mod").write_text("module example.com/mod\n\ngo 1.22\n")
    (mod / "main.go").write_text("package main\n\nfunc main() {}\n")
    res = subprocess.run(
        [str(env_dir / "bin" / "gobuild"), "init"],
        cwd=mod,
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    assert 'version = "1.22"' in (mod / "gobuild.toml").read_text()
    where = subprocess.run(
        [str(py), "-c", "import gobuild.render as r; print(r.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    assert str(env_dir) in where.stdout
    res = subprocess.run(
        [str(env_dir / "bin" / "doit"), "list"],
        cwd=mod,
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    assert "toolchain" in res.stdout
