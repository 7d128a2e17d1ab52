"""`doit image` for a binary in a nested module, on the local Docker engine.

The repository of tests/functional/test_workspaces.py without its third-party
dependency (a container build cannot reach the loopback module proxy):

    app/    module example.com/ws/app: cmd/app (main), needs example.com/ws/lib v0.1.0
    lib/    module example.com/ws/lib: the local lib ("lib"), with a test
    tools/  module example.com/ws/tools: gen (main)

Nothing serves example.com/ws/lib v0.1.0, on the host (GOPROXY=off) or in the build
container (proxy.golang.org answers there, without it): app builds only with the local
lib, through a committed go.work (GOWORK=auto; with GOWORK=off go wants a go.sum entry
for the published lib) or app's ``replace ../lib`` (GOWORK=off), and only from app's
directory (``go -C app``; without it the root has no go.mod, or no ./cmd/app). A third
layout keeps the replace and adds a go.work that git ignores but the build context
carries: were it honoured in the image (GOWORK=auto), lib would be a workspace module
there and a replaced requirement in ``doit build``, and the binaries' build info, so
their bytes, would differ.

With ``[build] vcs = false`` (the context has no .git) the image's binary is the same
bytes as ``dist/app``: each test asserts that, that it prints the local lib, and what
``go version -m`` says of lib. The last test is one module at the root whose committed
go.work replaces lib with a directory: the Dockerfile must then have no download layer
(``go mod download`` beside go.mod alone, before ``COPY . .``, would fetch the published
lib, which nothing serves).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from gobuild.project.platforms import host
from tests import dockerenv
from tests.buildenv import GoEnv, doit, git, go_version_m, run_binary, run_env
from tests.functional.test_docker_engine import binary_in, image_report, untar_one
from tests.functional.test_workspaces import LIB, LIB_TEST, TOOLS_MAIN, adopt, gobuild, write

pytestmark = [
    pytest.mark.docker,
    pytest.mark.skipif(host().key != "linux-amd64", reason="real archives are linux/amd64"),
]

APP_MAIN = """package main

import (
\t"fmt"

\t"example.com/ws/lib"
)

var version = "dev"

func main() { fmt.Println(lib.Name(), version) }
"""
WORK = "go 1.21\n\nuse (\n\t./app\n\t./lib\n\t./tools\n)\n"
LAYOUTS = {
    # layout: (go.work, replace in app/go.mod, GOWORK)
    "go.work": ("committed", False, "auto"),
    "nested": (None, True, "off"),
    "untracked-go.work": ("gitignored", True, "off"),
}


def repository(tmp_path: Path, layout: str) -> Path:
    work, replace, _ = LAYOUTS[layout]
    root = tmp_path / "repo"
    ignored = "/go.work\n" if work == "gitignored" else ""
    write(
        root,
        {
            "app/go.mod": "module example.com/ws/app\n\ngo 1.21\n\n"
            "require example.com/ws/lib v0.1.0\n"
            + ("\nreplace example.com/ws/lib => ../lib\n" if replace else ""),
            "app/cmd/app/main.go": APP_MAIN,
            "lib/go.mod": "module example.com/ws/lib\n\ngo 1.21\n",
            "lib/lib.go": LIB,
            "lib/lib_test.go": LIB_TEST,
            "tools/go.mod": "module example.com/ws/tools\n\ngo 1.21\n",
            "tools/gen/main.go": TOOLS_MAIN,
            ".gitignore": "/.gobuild/\n/dist/\n" + ignored,
        },
    )
    if work is not None:
        write(root, {"go.work": WORK})
    git(root, "init", "-q", "-b", "main")
    return root


def commit(root: Path, message: str) -> None:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)
    git(root, "tag", "-f", "v0.3.0")


def configure(root: Path, env: dict[str, str], name: str) -> None:
    """``[build] vcs = false`` and the image's settings, the generated files, a commit."""
    toml = (root / "gobuild.toml").read_text()
    settings = f'[build]\nvcs = false\n\n[docker]\nbinary = "app"\nname = "{name}"\n\n'
    (root / "gobuild.toml").write_text(settings + toml)
    code, out, err = gobuild(root, "generate", env=env)
    assert code == 0, out + err
    commit(root, "image settings and generated files")
    assert git(root, "status", "--porcelain") == ""


def image_is_dist(root: Path, go: GoEnv, env: dict[str, str], name: str) -> str:
    """``doit build`` then ``doit image``: the image's app is dist/app's bytes and prints the
    local lib; returns its ``go version -m``."""
    doit(root, go, "build", env=env)
    dist = root / "dist" / "app"
    assert run_binary(dist) == "lib v0.3.0\n"
    dist_sha = hashlib.sha256(dist.read_bytes()).hexdigest()

    res = doit(root, go, "image", env=env)
    report = image_report(res)
    tag = report["image"].split()[0]
    try:
        assert tag == f"{name}:v0.3.0", res.stdout
        assert report["binary"] == f"sha256 {dist_sha}  (same bytes as dist/app)", res.stdout
        assert report["smoke"] == "exit 0: lib v0.3.0", res.stdout
        image_bin = root.parent / "app.image"
        image_bin.write_bytes(untar_one(binary_in(tag, "/usr/local/bin/app")))
        assert hashlib.sha256(image_bin.read_bytes()).hexdigest() == dist_sha
        out = dockerenv.docker("run", "--rm", tag).stdout.decode()
        assert out == "lib v0.3.0\n"  # the local lib
        info = go_version_m(go, image_bin)
        assert "\tpath\texample.com/ws/app/cmd/app\n" in info, info
        assert "\tmod\texample.com/ws/app\t(devel)\t\n" in info, info
        return info
    finally:
        dockerenv.remove_images(tag)


def offline(go: GoEnv, tmp_path: Path) -> dict[str, str]:
    """No module proxy at all: the published lib v0.1.0 is nowhere to be had."""
    return run_env(
        go, GOPROXY="off", GOSUMDB="off", GOFLAGS="", GOMODCACHE=str(tmp_path / "modcache")
    )


@pytest.mark.slow
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_image_builds_the_nested_module_binary_as_doit_build_does(
    tmp_path: Path, go: GoEnv, engine: str, layout: str
) -> None:
    work, _, gowork = LAYOUTS[layout]
    root = repository(tmp_path, layout)
    env = offline(go, tmp_path)
    adopt(root, go, env)
    name = f"gobuild-test/ws-{layout.replace('.', '')}"
    configure(root, env, name)
    assert (root / "go.work").is_file() == (work is not None)

    dockerfile = (root / "Dockerfile").read_text()
    # The build runs in app's module, in that module's mode, with no download layer.
    build_line = re.search(r"^\s*go -C app build .* -o /out/app \./cmd/app$", dockerfile, re.M)
    assert build_line, dockerfile
    assert f"GOWORK={gowork} " in dockerfile, dockerfile
    assert "go mod download" not in dockerfile and "COPY go.mod" not in dockerfile, dockerfile

    info = image_is_dist(root, go, env, name)
    if gowork == "auto":
        # The workspace's lib, not a version of it.
        assert "\tdep\texample.com/ws/lib\t(devel)\t\n" in info, info
    else:
        assert "\tdep\texample.com/ws/lib\tv0.1.0\n\t=>\t../lib\t(devel)\t\n" in info, info


@pytest.mark.slow
def test_image_of_a_single_module_workspace_takes_the_go_work_replace(
    tmp_path: Path, go: GoEnv, engine: str
) -> None:
    # One module at the root and a committed go.work that uses it and replaces its
    # requirement with a local fork: `go mod download` beside go.mod alone (no go.work
    # yet) would fetch the published lib, which nothing serves.
    root = tmp_path / "repo"
    write(
        root,
        {
            "go.mod": "module example.com/ws/app\n\ngo 1.21\n\nrequire example.com/ws/lib v0.1.0\n",
            "cmd/app/main.go": APP_MAIN,
            "fork/go.mod": "module example.com/ws/lib\n\ngo 1.21\n",
            "fork/lib.go": LIB,
            "go.work": "go 1.21\n\nuse .\n\nreplace example.com/ws/lib => ./fork\n",
            ".gitignore": "/.gobuild/\n/dist/\n",
        },
    )
    git(root, "init", "-q", "-b", "main")
    env = offline(go, tmp_path)
    adopt(root, go, env)
    configure(root, env, "gobuild-test/ws-single")
    dockerfile = (root / "Dockerfile").read_text()
    assert "GOWORK=auto " in dockerfile and "go mod download" not in dockerfile, dockerfile
    assert re.search(r"^\s*go build .* -o /out/app \./cmd/app$", dockerfile, re.M), dockerfile
    info = image_is_dist(root, go, env, "gobuild-test/ws-single")
    assert "\tdep\texample.com/ws/lib\tv0.1.0\n\t=>\t./fork\t(devel)\t\n" in info, info
