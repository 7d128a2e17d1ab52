"""Several modules in one repository, with and without a committed go.work.

Real modules, real git, the pinned Go; the app's third-party dependency comes from a
loopback module proxy. The repository:

    app/    module example.com/ws/app: cmd/app (main), needs lib and example.com/greet
    lib/    module example.com/ws/lib: a library with a test
    tools/  module example.com/ws/tools: gen (main)

lib v0.1.0 is also published (its Name says "published"). With ``go.work`` (use ./app
./lib ./tools) committed, app builds the local lib through the workspace; without one,
app's go.mod replaces lib with ../lib; an uncommitted go.work is ignored. Either way it is one
gobuild project: init finds both main packages, build/dist/check cover every module, and
the Makefile builds the same bytes.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from gobuild.builds.goenv import profile_env
from gobuild.project.config import load_project
from gobuild.project.environ import Environment
from gobuild.project.platforms import host
from tests.buildenv import BIN, GoEnv, doit, git, go_version_m, run_binary, run_env
from tests.staticproxy import Proxy, ProxyServer, publish_module

pytestmark = pytest.mark.skipif(host().key != "linux-amd64", reason="real archives are linux/amd64")

GREET = "example.com/greet"
GREET_FILES = {
    "go.mod": f"module {GREET}\n\ngo 1.21\n",
    "greet.go": 'package greet\n\nfunc Word() string { return "hello" }\n',
}
APP_MAIN = """package main

import (
\t"fmt"

\t"example.com/greet"
\t"example.com/ws/lib"
)

var version = "dev"

func main() { fmt.Println(greet.Word(), lib.Name(), version) }
"""
LIB = 'package lib\n\nfunc Name() string { return "lib" }\n'
PUBLISHED_LIB = 'package lib\n\nfunc Name() string { return "published" }\n'
LIB_TEST = """package lib

import "testing"

func TestName(t *testing.T) {
\tif Name() != "lib" {
\t\tt.Fatalf("Name() = %q", Name())
\t}
}
"""
TOOLS_MAIN = 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("gen") }\n'


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Proxy, list[str]]]:
    root = tmp_path_factory.mktemp("goproxy")
    sums = publish_module(root, GREET, "v1.0.0", GREET_FILES)
    # lib is published too; the workspace (or app's replace) builds the local one.
    published = {"go.mod": "module example.com/ws/lib\n\ngo 1.21\n", "lib.go": PUBLISHED_LIB}
    sums += publish_module(root, "example.com/ws/lib", "v0.1.0", published)
    with ProxyServer(root) as state:
        yield state, sums


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def repository(tmp_path: Path, sums: list[str], *, workspace: bool) -> Path:
    root = tmp_path / "repo"
    replace = "" if workspace else "\nreplace example.com/ws/lib => ../lib\n"
    write(
        root,
        {
            "app/go.mod": "module example.com/ws/app\n\ngo 1.21\n\n"
            f"require (\n\t{GREET} v1.0.0\n\texample.com/ws/lib v0.1.0\n)\n{replace}",
            "app/go.sum": "\n".join(sums) + "\n",
            "app/cmd/app/main.go": APP_MAIN,
            "lib/go.mod": "module example.com/ws/lib\n\ngo 1.21\n",
            "lib/lib.go": LIB,
            "lib/lib_test.go": LIB_TEST,
            "tools/go.mod": "module example.com/ws/tools\n\ngo 1.21\n",
            "tools/gen/main.go": TOOLS_MAIN,
            ".gitignore": "/.gobuild/\n/dist/\n",
        },
    )
    if workspace:
        write(root, {"go.work": "go 1.21\n\nuse (\n\t./app\n\t./lib\n\t./tools\n)\n"})
    git(root, "init", "-q", "-b", "main")
    return root


def gobuild(root: Path, *args: str, env: dict[str, str]) -> tuple[int, str, str]:
    res = subprocess.run(
        [str(BIN / "gobuild"), "-C", str(root), *args], env=env, capture_output=True, text=True
    )
    return res.returncode, res.stdout, res.stderr


def adopt(root: Path, go: GoEnv, env: dict[str, str]) -> None:
    """gobuild init, then the test's pin (Go 1.22.10 from the loopback mirror), a commit."""
    code, out, err = gobuild(root, "init", env=env)
    assert code == 0, out + err
    toml = (root / "gobuild.toml").read_text()
    toml = re.sub(r'(?m)^version = ".*"$', 'version = "1.22.10"', toml, count=1)
    toml = toml.replace(
        'sources = ["goproxy", "official", "pypi"]',
        f'sources = ["official"]\nmirror = "{go.mirror_url}"',
    )
    (root / "gobuild.toml").write_text(toml)
    code, out, err = gobuild(root, "toolchain", "install", env=env)
    assert code == 0, out + err
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    git(root, "tag", "v0.3.0")


def environment(go: GoEnv, proxy: Proxy, tmp_path: Path) -> dict[str, str]:
    return run_env(
        go, GOPROXY=proxy.url, GOSUMDB="off", GOFLAGS="", GOMODCACHE=str(tmp_path / "modcache")
    )


@pytest.mark.parametrize("workspace", [True, False], ids=["go.work", "nested"])
def test_every_module_is_built_and_checked_as_one_project(
    tmp_path: Path, go: GoEnv, proxy: tuple[Proxy, list[str]], workspace: bool
) -> None:
    root = repository(tmp_path, proxy[1], workspace=workspace)
    env = environment(go, proxy[0], tmp_path)
    adopt(root, go, env)
    toml = (root / "gobuild.toml").read_text()
    # init found each module's main package, each named by its own module's path.
    assert 'name = "app"' in toml and 'package = "./app/cmd/app"' in toml, toml
    assert 'name = "gen"' in toml and 'package = "./tools/gen"' in toml, toml

    project = load_project(root, Environment(env))
    assert [m.dir for m in project.workspace.modules] == ["app", "lib", "tools"]
    assert profile_env(project)["GOWORK"] == ("auto" if workspace else "off")

    # The Makefile too (committed, so doit and make see one commit).
    assert gobuild(root, "generate", env=env)[0] == 0
    makefile = (root / "Makefile").read_text()
    assert "-C app build" in makefile and "-C tools build" in makefile
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "generated")
    git(root, "tag", "-f", "v0.3.0")

    doit(root, go, "build", env=env)
    app, gen = root / "dist" / "app", root / "dist" / "gen"
    assert run_binary(app) == "hello lib v0.3.0\n"  # the local lib, not the published one
    assert run_binary(gen) == "gen\n"
    info = go_version_m(go, app)
    assert info.startswith(f"{app}: go1.22.10\n"), info  # the pinned Go, not /usr/local/go
    assert "\tmod\texample.com/ws/app\t" in info and "\tdep\texample.com/greet\tv1.0.0\t" in info
    assert "\tpath\texample.com/ws/tools/gen\n" in go_version_m(go, gen)

    # make builds the same bytes, from each binary's module (go -C).
    built = {p.name: p.read_bytes() for p in (app, gen)}
    shutil.rmtree(root / "dist")
    goroot = go.cache / "toolchains" / "go1.22.10.linux-amd64" / "go"
    make_env = {**env, "PATH": f"{goroot / 'bin'}:/usr/bin:/bin"}
    subprocess.run(["make", "build"], cwd=root, env=make_env, check=True, capture_output=True)
    assert {p.name: p.read_bytes() for p in (app, gen)} == built

    # Checks run in every module: lib's test, each module's vet, one gofmt.
    code, out, err = gobuild(root, "check", "--json", env=env)
    assert code == 0, out + err
    units = {u["name"]: u for u in json.loads(out)["units"]}
    assert {"test@lib", "lint:vet@app", "lint:vet@lib", "lint:vet@tools", "lint:gofmt"} <= set(
        units
    ), sorted(units)
    assert units["test@lib"]["status"] == "passed"
    # Where a cgroup pool holds the run to its budget, a linter runs beside a test unit
    # (2 + 1 CPUs of caps on the host's budget, overcommitted 1.5x) instead of queueing.
    document = json.loads(out)
    if document["mechanism"] in ("cgroup1", "cgroup2") and document["budget"]["cpus"] == 2:
        rows = json.loads(Path(document["reports"]["summary"]).read_text())
        tests = [r for r in rows if r["kind"] == "test"]
        lints = [r for r in rows if r["kind"] == "lint"]
        assert any(t["start"] < x["end"] and x["start"] < t["end"] for t in tests for x in lints)


def test_a_failing_test_in_a_nested_module_fails_the_check(
    tmp_path: Path, go: GoEnv, proxy: tuple[Proxy, list[str]]
) -> None:
    root = repository(tmp_path, proxy[1], workspace=False)
    env = environment(go, proxy[0], tmp_path)
    adopt(root, go, env)
    (root / "lib" / "lib.go").write_text(LIB.replace('"lib"', '"bil"'))
    code, out, err = gobuild(root, "check", "test", env=env)
    assert code == 1, out + err
    assert "test@lib" in out and "TestName" in out and 'Name() = "bil"' in out


def test_a_go_work_git_does_not_track_is_ignored(
    tmp_path: Path, go: GoEnv, proxy: tuple[Proxy, list[str]]
) -> None:
    # A developer's local workspace (gitignored) must not change what is built: every
    # module builds on its own, app with the published lib.
    root = repository(tmp_path, proxy[1], workspace=True)
    (root / ".gitignore").write_text("/.gobuild/\n/dist/\n/go.work\n")
    env = environment(go, proxy[0], tmp_path)
    adopt(root, go, env)
    project = load_project(root, Environment(env))
    assert project.workspace.gowork is None and project.workspace.ignored == root / "go.work"
    assert [m.dir for m in project.workspace.modules] == ["app", "lib", "tools"]
    doit(root, go, "build", env=env)
    assert run_binary(root / "dist" / "app") == "hello published v0.3.0\n"
    # Once committed, it is the workspace: the local lib is built (go.work is an input).
    git(root, "add", "-f", "go.work")
    git(root, "commit", "-q", "-m", "workspace")
    git(root, "tag", "-f", "v0.3.0")
    assert load_project(root, Environment(env)).workspace.gowork is not None
    doit(root, go, "build", env=env)
    assert run_binary(root / "dist" / "app") == "hello lib v0.3.0\n"
