"""doit task dicts as data, and the task-spec cache: no doit run needed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from gobuild.project.config import load_project
from gobuild.project.environ import Environment
from gobuild.tasks import dicts as tasks
from gobuild.tasks import specs as cache
from gobuild.tasks.describe import describe
from tests.conftest import MakeProject

ENV = Environment(os.environ)


def two_binaries(make_project: MakeProject) -> Path:
    root = make_project("1.22.10")
    for name in ("a", "b"):
        (root / "cmd" / name).mkdir(parents=True)
        (root / "cmd" / name / "main.go").write_text("package main\n\nfunc main() {}\n")
    (root / "main.go").unlink()
    return root


def test_doit_config_uses_sqlite_in_state_dir(make_project: MakeProject) -> None:
    root = make_project("1.22.10")
    cfg = tasks.doit_config(root)
    assert cfg["backend"] == "sqlite3"
    assert Path(cfg["dep_file"]).parent == load_project(root).state_dir
    assert (root / ".gobuild").is_dir()


def test_toolchain_task_is_not_up_to_date_before_install(make_project: MakeProject) -> None:
    specs = describe(load_project(make_project("1.22.10")))
    task = tasks.toolchain_task(specs, ENV)
    assert task["basename"] == "toolchain"
    ((check, args),) = task["uptodate"]
    assert check(*args) is False


def test_build_tasks_one_per_binary(make_project: MakeProject) -> None:
    root = two_binaries(make_project)
    specs = describe(load_project(root))
    group, *subtasks = list(tasks.build_tasks(specs, ENV))
    assert group["basename"] == "build" and group["name"] is None
    # No Go is installed: each build's inputs are listed by a calc_dep task once the
    # toolchain task installed it (tests/unit/test_inputs.py).
    assert [t["name"] for t in subtasks] == ["a@inputs", "a", "b@inputs", "b"]
    assert all(t["task_dep"] == ["toolchain"] for t in subtasks)
    assert subtasks[1]["targets"] == [str(root / "dist" / "a")]
    # Described inputs without Go: the non-test .go files and go.mod, nothing from dist/
    # or the state dir.
    deps = {Path(p).relative_to(root).as_posix() for p in specs["input_sets"][0]}
    assert deps == {"go.mod", "cmd/a/main.go", "cmd/b/main.go"}


def test_dist_tasks_depend_on_platform_check(make_project: MakeProject) -> None:
    root = make_project("1.22.10", extra='[dist]\nplatforms = ["linux/arm64", "windows/amd64"]\n')
    specs = describe(load_project(root))
    _, check, *artifacts, sums = list(tasks.dist_tasks(specs, ENV))
    artifacts = [t for t in artifacts if not t["name"].endswith("@inputs")]  # no Go yet
    assert check["name"] == "platforms"
    assert [t["name"] for t in artifacts] == ["proj_linux_arm64", "proj_windows_amd64.exe"]
    assert all("dist:platforms" in t["task_dep"] for t in artifacts)
    assert sums["task_dep"] == ["dist:proj_linux_arm64", "dist:proj_windows_amd64.exe"]


def test_spec_cache_hit_and_invalidation(make_project: MakeProject) -> None:
    root = make_project("1.22.10")
    env = Environment(os.environ)  # now: the test's own toolchain cache, none installed
    first = cache.load_specs(root, env, None)
    cached = root / ".gobuild" / cache.CACHE_NAME
    stamp = json.loads(cached.read_text())["stamp"]
    assert cache.load_specs(root, env, None) == first  # from the cache
    assert json.loads(cached.read_text())["stamp"] == stamp
    # Outputs and state do not invalidate it...
    (root / "dist").mkdir()
    (root / "dist" / "proj").write_text("binary")
    assert cache.stamp(root, env, None, "dist") == stamp
    # ...but a new file, an edit, the environment or the profile do.
    time.sleep(0.01)
    (root / "extra.go").write_text("package main\n")
    assert cache.stamp(root, env, None, "dist") != stamp
    assert cache.stamp(root, env.with_variables(GOBUILD_TAGS="x"), None, "dist") != stamp
    assert cache.stamp(root, env, "prod", "dist") != stamp
    second = cache.load_specs(root, env, None)
    assert str(root / "extra.go") in second["input_sets"][second["build"][0]["inputs"]]
    (root / "gobuild.toml").write_text(
        (root / "gobuild.toml").read_text() + '[build]\ntags = ["t"]\n'
    )
    third = cache.load_specs(root, env, None)
    assert third["build"][0]["fingerprint"] != second["build"][0]["fingerprint"]


def test_invalid_config_is_a_one_line_doit_error(tmp_path: Path) -> None:
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
