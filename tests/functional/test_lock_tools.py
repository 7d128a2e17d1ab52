"""A tool recorded by ``gobuild lock`` is built against that entry, with the real Go.

A tiny tool module is served by a loopback GOPROXY with a checksum database mounted
(tests/goproxyserver.py, tests/sumdbserver.py), so the go command and gobuild verify the
same records. ``gobuild lock`` records its module and h1 without downloading it; the
build (``ensure_tool``, ``go mod download`` then ``go install`` with Go 1.22.10) then
finds the same module, is checked against that entry (a tampered entry stops it), leaves
gobuild.lock as it was, and afterwards the tool is found with no proxy at all. The
command-line side (what is recorded, ``--check``, init) is tests/unit/test_lock_tools.py.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from gobuild.progress import Silent
from gobuild.project.config import Project, load_project
from gobuild.project.environ import Environment
from gobuild.project.platforms import host
from gobuild.tools.install import ensure_tool
from gobuild.tools.resolve import ToolError
from tests import goproxyserver
from tests.buildenv import BIN, GoEnv, go_version_m, run_env
from tests.staticproxy import publish_module
from tests.sumdbserver import SumDB

pytestmark = pytest.mark.skipif(host().key != "linux-amd64", reason="real archives are linux/amd64")

MODULE = "example.com/locktool"
PACKAGE = f"{MODULE}/cmd/staticcheck"  # a stand-in: any main package can be a pin
VERSION = "v1.0.0"
FILES = {
    "go.mod": f"module {MODULE}\n\ngo 1.21\n",
    "cmd/staticcheck/main.go": 'package main\n\nfunc main() { println("locktool 1.0.0") }\n',
}


def child_env(go: GoEnv, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = run_env(go, GOMODCACHE=str(tmp_path / "modcache"), GOPATH=str(tmp_path / "gopath"),
                  GOFLAGS="", **extra)  # fmt: skip
    for name in ("GONOSUMDB", "GOPRIVATE", "GONOPROXY", "GOINSECURE", "GONOSUMCHECK"):
        env.pop(name, None)
    return env


def make_project(tmp_path: Path, go: GoEnv) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "go.mod").write_text("module example.com/proj\n\ngo 1.22\n")
    (root / "main.go").write_text("package main\n\nfunc main() {}\n")
    plat = host()
    (root / "gobuild.toml").write_text(
        f'[go]\nversion = "1.22.10"\n\n[toolchain]\nsources = ["official"]\n'
        f'mirror = "{go.mirror_url}"\nlock_platforms = ["{plat}"]\n\n'
        f'[dist]\nplatforms = ["{plat}"]\n\n[checks]\nlinters = ["vet", "staticcheck"]\n\n'
        f'[tools]\nstaticcheck = "{PACKAGE}@{VERSION}"\n'
    )
    return root


def set_tool(root: Path, **fields: str) -> None:
    lock = json.loads((root / "gobuild.lock").read_text())
    lock["tools"]["staticcheck"].update(fields)
    (root / "gobuild.lock").write_text(json.dumps(lock, indent=2, sort_keys=True) + "\n")


def build(root: Path, env: dict[str, str]) -> Path:
    project: Project = load_project(root, Environment(env))
    return ensure_tool(project, "staticcheck", Silent()).path


def test_a_tool_locked_by_gobuild_lock_is_built_against_that_entry(
    tmp_path: Path, go: GoEnv
) -> None:
    db = SumDB("sumdb.test")
    db.add_filler(3)
    sums = publish_module(tmp_path / "published", MODULE, VERSION, FILES)
    zip_h1, mod_h1 = (line.split()[2] for line in sums)
    db.add(MODULE, VERSION, zip_h1, mod_h1)
    root = make_project(tmp_path, go)

    with goproxyserver.serving(db) as proxy:
        for file in (tmp_path / "published" / MODULE / "@v").iterdir():
            proxy.files[f"/{MODULE}/@v/{file.name}"] = file
        env = child_env(go, tmp_path, GOPROXY=proxy.url, GOSUMDB=db.vkey)
        res = subprocess.run([str(BIN / "gobuild"), "-C", str(root), "lock"], env=env,
                             capture_output=True, text=True, check=False, timeout=600)  # fmt: skip
        assert res.returncode == 0, res.stdout + res.stderr
        assert f"  staticcheck: {MODULE}@{VERSION}" in res.stdout.splitlines()
        tool = json.loads((root / "gobuild.lock").read_text())["tools"]["staticcheck"]
        # The database's h1 is the zip's (the one the go command computes).
        # The go line is the module's go.mod's, which the database's go.mod h1 vouches for.
        assert tool == {"package": PACKAGE, "module": MODULE, "version": VERSION, "h1": zip_h1,
                        "go": "1.21"}  # fmt: skip
        # Nothing downloaded: no zip, and of the go.mod files only the tool module's own.
        assert proxy.requests(".zip") == []
        assert proxy.requests(".mod") == [f"/{MODULE}/@v/{VERSION}.mod"]
        locked = (root / "gobuild.lock").read_text()

        # The build checks the module it downloads against that entry, not the database:
        # an entry the zip does not hash to stops it, and so does another module.
        set_tool(root, h1="h1:" + "A" * 43 + "=")
        with pytest.raises(ToolError, match=r"gobuild\.lock records h1:AAAA.*nothing was built"):
            build(root, env)
        set_tool(root, h1=zip_h1, module="example.com")
        with pytest.raises(ToolError) as caught:
            build(root, env)
        assert str(caught.value).startswith(
            f"staticcheck: go mod download finds {PACKAGE}@{VERSION} in module {MODULE}, "
            "but gobuild.lock records example.com:"
        )
        assert not (go.cache / "tools" / "staticcheck" / VERSION).exists()

        (root / "gobuild.lock").write_text(locked)
        binary = build(root, env)
        assert proxy.requests(".zip") == [f"/{MODULE}/@v/{VERSION}.zip"]  # the go command's
    assert (root / "gobuild.lock").read_text() == locked  # the entry was the build's
    assert "\tmod\texample.com/locktool\tv1.0.0\t" in go_version_m(go, binary)
    ran = subprocess.run([str(binary)], capture_output=True, text=True, check=True)
    assert ran.stderr == "locktool 1.0.0\n"  # println
    # The proxy is gone: the locked, built tool is found offline.
    assert build(root, env) == binary
