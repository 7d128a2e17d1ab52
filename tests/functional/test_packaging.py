"""A wheel built from the repository installs into a fresh venv and works there."""

from __future__ import annotations

import json
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from tests import godist
from tests.conftest import MakeProject
from tests.mirror import Mirror

REPO = Path(__file__).resolve().parents[2]


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


def test_wheel_installs_a_toolchain_through_its_helpers(
    wheel: Path, tmp_path: Path, mirror: Mirror, make_project: MakeProject
) -> None:
    # The installer's helper processes run gobuild/tarworker.py by path: from a wheel,
    # that is the installed copy, with the venv's isal.
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    subprocess.run(
        [str(env_dir / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)],
        check=True,
        capture_output=True,
    )
    mirror.add("1.22.10", godist.fake_archive("1.22.10", extra_files=40, pad=4096))
    root = make_project("1.22.10", mirror=mirror)
    res = subprocess.run(
        [str(env_dir / "bin" / "gobuild"), "-C", str(root), "toolchain", "install", "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    goroot = Path(json.loads(res.stdout)["goroot"])
    assert (goroot / "VERSION").read_text().startswith("go1.22.10")
    assert len(list(goroot.rglob("*"))) > 40
