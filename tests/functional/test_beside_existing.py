"""gobuild beside a project's own Dockerfile, .dockerignore and Makefile ([generate] paths).

The project's files stay as they are; gobuild's go where [generate] says, and every
consumer (make -f, doit image, make docker, gobuild context) uses gobuild's.
"""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import pytest

from gobuild.cli.main import main
from gobuild.project.platforms import host
from tests import dockerenv
from tests.buildenv import GoEnv, doit, git, make_repo, run_env

OWN_DOCKERFILE = "FROM scratch\n# the project's own: gobuild must not build this\n"
OWN_MAKEFILE = "all:\n\t@echo the project's own makefile\n"
OWN_IGNORE = "*\n"  # would send nothing at all: gobuild's build must not read it
PATHS = '[generate]\ndockerfile = "build/gobuild.Dockerfile"\nmakefile = "gobuild.mk"\n'


def gobuild(root: Path, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["-C", str(root), *args], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def project(tmp_path: Path, go: GoEnv, toml: str = PATHS) -> Path:
    root = make_repo(tmp_path / "r", "twobin", go, toml)
    (root / "Dockerfile").write_text(OWN_DOCKERFILE)
    (root / "Makefile").write_text(OWN_MAKEFILE)
    (root / ".dockerignore").write_text(OWN_IGNORE)
    return root


def test_generate_refuses_to_overwrite_and_points_at_generate_paths(
    tmp_path: Path, go: GoEnv
) -> None:
    root = project(tmp_path, go, toml="")
    code, _, err = gobuild(root, "generate")
    assert code == 1
    assert "[generate]" in err and "not written by gobuild" in err
    assert (root / "Dockerfile").read_text() == OWN_DOCKERFILE


def test_files_go_where_generate_says_and_the_projects_stay(tmp_path: Path, go: GoEnv) -> None:
    root = project(tmp_path, go)
    code, out, err = gobuild(root, "generate")
    assert code == 0, err
    for rel in ("build/gobuild.Dockerfile", "build/gobuild.Dockerfile.dockerignore", "gobuild.mk"):
        assert f"written   {root / rel}" in out
    assert (root / "Dockerfile").read_text() == OWN_DOCKERFILE
    assert (root / "Makefile").read_text() == OWN_MAKEFILE
    assert (root / ".dockerignore").read_text() == OWN_IGNORE
    # --check and a single file by its path or its role.
    assert gobuild(root, "generate", "--check")[0] == 0
    assert gobuild(root, "generate", "--check", "gobuild.mk")[0] == 0
    assert gobuild(root, "generate", "--check", "Makefile")[0] == 0
    (root / "gobuild.mk").unlink()
    code, out, _ = gobuild(root, "generate", "--check")
    assert code == 1 and f"missing   {root / 'gobuild.mk'}" in out
    # The generated ignore rules keep gobuild's own files out, wherever they are.
    assert gobuild(root, "generate")[0] == 0
    rules = (root / "build/gobuild.Dockerfile.dockerignore").read_text().splitlines()
    assert {"build/gobuild.Dockerfile", "gobuild.mk"} <= set(rules)
    # The context report reads the Dockerfile's own ignore file, not the project's "*".
    code, out, err = gobuild(root, "context", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["rules_from"] == "build/gobuild.Dockerfile.dockerignore"
    assert report["files"] > 0


def test_make_with_the_generated_makefile_builds(tmp_path: Path, go: GoEnv) -> None:
    root = project(tmp_path, go)
    assert gobuild(root, "generate")[0] == 0
    env = run_env(go)
    goroot = go.cache / "toolchains" / "go1.22.10.linux-amd64" / "go"
    env["PATH"] = f"{goroot / 'bin'}:/usr/bin:/bin"  # the pinned Go, as `make install-go` would
    res = subprocess.run(
        ["make", "-f", "gobuild.mk", "build"], cwd=root, env=env, capture_output=True, text=True
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert (root / "dist" / "a").is_file() and (root / "dist" / "b").is_file()
    # The project's own Makefile still works, and can include gobuild's.
    (root / "Makefile").write_text("include gobuild.mk\n\nown:\n\t@echo own target\n")
    res = subprocess.run(["make", "own"], cwd=root, env=env, capture_output=True, text=True)
    assert res.returncode == 0 and "own target" in res.stdout, res.stderr


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.skipif(host().key != "linux-amd64", reason="real archives are linux/amd64")
def test_doit_image_and_make_docker_use_gobuilds_dockerfile(tmp_path: Path, go: GoEnv) -> None:
    reason = dockerenv.unavailable()
    if reason:
        pytest.skip(f"docker tests skipped: {reason}")
    dockerenv.ensure_golang("1.22.10", "3.20")
    dockerenv.ensure_alpine("3.20")
    root = project(tmp_path, go, PATHS + '[docker]\nbinary = "a"\nname = "gobuild-test/beside"\n')
    assert gobuild(root, "generate")[0] == 0
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "gobuild's files beside the project's")
    res = doit(root, go, "image")
    tag = next(ln.split()[1] for ln in res.stdout.splitlines() if ln.startswith("image"))
    try:
        # Built from gobuild's Dockerfile (the project's is FROM scratch with nothing to run),
        # with the Dockerfile's own ignore file (the project's "*" would have sent nothing).
        out = dockerenv.docker("run", "--rm", tag).stdout.decode()
        assert "version=" in out
    finally:
        dockerenv.remove_images(tag)
    env = run_env(go, DOCKER=dockerenv.DOCKER, IMAGE="gobuild-test/beside:make")
    res2 = subprocess.run(
        ["make", "-f", "gobuild.mk", "docker"], cwd=root, env=env, capture_output=True, text=True
    )
    try:
        assert res2.returncode == 0, res2.stdout + res2.stderr
    finally:
        dockerenv.remove_images("gobuild-test/beside:make")
