"""doit task dicts as data: no doit run needed."""

from __future__ import annotations

from pathlib import Path

from gobuild import tasks
from gobuild.config import load_project
from tests.conftest import MakeProject


def test_doit_config_uses_sqlite_in_state_dir(make_project: MakeProject) -> None:
    project = load_project(make_project("1.22.10"))
    cfg = tasks.doit_config(project)
    assert cfg["backend"] == "sqlite3"
    assert Path(cfg["dep_file"]).parent == project.state_dir
    assert project.state_dir.is_dir()


def test_toolchain_task_is_not_up_to_date_before_install(make_project: MakeProject) -> None:
    project = load_project(make_project("1.22.10"))
    task = tasks.toolchain_task(project)
    assert task["basename"] == "toolchain"
    ((check, args),) = task["uptodate"]
    assert check(*args) is False


def test_build_tasks_one_per_binary(make_project: MakeProject) -> None:
    root = make_project("1.22.10")
    for name in ("a", "b"):
        (root / "cmd" / name).mkdir(parents=True)
        (root / "cmd" / name / "main.go").write_text("package main\n\nfunc main() {}\n")
    (root / "main.go").unlink()
    project = load_project(root)
    group, *subtasks = list(tasks.build_tasks(tasks.Context(project)))
    assert group["basename"] == "build" and group["name"] is None
    assert [t["name"] for t in subtasks] == ["a", "b"]
    assert all(t["task_dep"] == ["toolchain"] for t in subtasks)
    assert subtasks[0]["targets"] == [str(root / "dist" / "a")]
    # Inputs: the non-test .go files and go.mod, nothing from dist/ or the state dir.
    deps = {Path(p).relative_to(root).as_posix() for p in subtasks[0]["file_dep"]}
    assert deps == {"go.mod", "cmd/a/main.go", "cmd/b/main.go"}


def test_invalid_config_is_a_one_line_doit_error(tmp_path: Path) -> None:
    import subprocess
    import sys

    (tmp_path / "go.mod").write_text("module example.com/x\n\ngo 1.22\n")
    (tmp_path / "dodo.py").write_text("from gobuild.dodo import *  # noqa: F403\n")
    (tmp_path / "gobuild.toml").write_text('[go]\nverison = "1.22"\n')
    doit = Path(sys.executable).parent / "doit"
    res = subprocess.run(
        [str(doit), "list"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert res.returncode != 0
    assert "Traceback" not in res.stderr
    assert res.stderr.startswith("ERROR: ") and "did you mean 'go.version'" in res.stderr
