"""`doit image` and `make docker` on the local engine: the image's binary, labels and secrets.

The images build for real with stand-in base images (tests/dockerenv.py) and skip with
the reason when no engine runs. What needs no engine is tests/functional/test_docker.py.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
from pathlib import Path

import pytest

from gobuild.project.platforms import host
from tests import dockerenv
from tests.buildenv import GoEnv, doit, git, go_version_m, run_env
from tests.functional.test_docker import generated

pytestmark = [
    pytest.mark.docker,
    pytest.mark.skipif(host().key != "linux-amd64", reason="real archives are linux/amd64"),
]


def image_report(res: subprocess.CompletedProcess[str]) -> dict[str, str]:
    lines = [ln.split(None, 1) for ln in res.stdout.splitlines() if ln[:1].isalpha()]
    return {pair[0]: pair[1] for pair in lines if len(pair) == 2}


def binary_in(tag: str, path: str) -> bytes:
    cid = dockerenv.docker("create", tag).stdout.decode().strip()
    try:
        return dockerenv.docker("cp", f"{cid}:{path}", "-").stdout  # a tar stream
    finally:
        dockerenv.docker("rm", "-f", cid)


def untar_one(data: bytes) -> bytes:
    import tarfile

    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        member = tar.next()
        assert member is not None
        f = tar.extractfile(member)
        assert f is not None
        return f.read()


@pytest.mark.slow
def test_image_binary_is_bit_identical_to_doit_build(
    tmp_path: Path, go: GoEnv, engine: str
) -> None:
    toml = '[build]\nvcs = false\n[docker]\nbinary = "a"\nname = "gobuild-test/twobin"\n'
    root = generated(tmp_path, go, "twobin", toml)
    doit(root, go, "build")
    host_sha = hashlib.sha256((root / "dist" / "a").read_bytes()).hexdigest()
    res = doit(root, go, "image")
    report = image_report(res)
    tag = report["image"].split()[0]
    try:
        assert tag == "gobuild-test/twobin:v1.2.3-1-g" + git(root, "rev-parse", "--short", "HEAD")
        assert report["binary"].startswith(f"sha256 {host_sha}  (same bytes as dist/a)"), res.stdout
        image_bin = untar_one(binary_in(tag, "/usr/local/bin/a"))
        assert hashlib.sha256(image_bin).hexdigest() == host_sha
        assert "built with /usr/bin/docker" in report["image"]
        out = dockerenv.docker("run", "--rm", tag).stdout.decode()
        assert f"commit={git(root, 'rev-parse', 'HEAD')}" in out and "treeState=clean" in out
        inspect = json.loads(dockerenv.docker("image", "inspect", tag).stdout)[0]["Config"]
        assert inspect["User"] == "65532:65532"
        labels = inspect["Labels"]
        assert labels["org.opencontainers.image.revision"] == git(root, "rev-parse", "HEAD")
        assert labels["org.opencontainers.image.created"] == "2024-05-01T12:00:00Z"
        assert labels["org.opencontainers.image.title"] == "a"
        # The image adds the binary to the base and (almost) nothing else.
        size = report["size"]
        assert (
            size.endswith(" other")
            and int(size.split("+")[-1].split()[0].replace(",", "")) <= 65536
        )
        # A second run reuses every layer: BuildKit's cache makes it a no-op build.
        again = image_report(doit(root, go, "image"))
        assert again["image"].split()[1] == report["image"].split()[1]
    finally:
        dockerenv.remove_images(tag)


@pytest.mark.slow
def test_with_vcs_stamping_only_build_info_differs(tmp_path: Path, go: GoEnv, engine: str) -> None:
    # Go's VCS stamping needs .git, which the context never has: the image's
    # binary then lacks the vcs.* lines, and that is the only difference.
    toml = '[docker]\nbinary = "a"\nname = "gobuild-test/vcs"\n'
    root = generated(tmp_path, go, "twobin", toml)
    doit(root, go, "build")
    res = doit(root, go, "image")
    tag = image_report(res)["image"].split()[0]
    try:
        assert "(differs from dist/a)" in res.stdout
        image_bin = tmp_path / "a.image"
        image_bin.write_bytes(untar_one(binary_in(tag, "/usr/local/bin/a")))
        host_info = go_version_m(go, root / "dist" / "a").splitlines()[1:]
        image_info = go_version_m(go, image_bin).splitlines()[1:]
        assert [ln for ln in host_info if "vcs" not in ln] == image_info
        assert any("vcs.revision=" in ln for ln in host_info)
    finally:
        dockerenv.remove_images(tag)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("fixture", "toml", "expect"),
    [
        ("vendored", '[docker]\nname = "gobuild-test/vendored"\n', "from vendor"),
        ("embedded", '[docker]\nname = "gobuild-test/embedded"\nruntime = "scratch"\n', "hello"),
    ],
)
def test_fixture_images_build_and_run(
    tmp_path: Path, go: GoEnv, engine: str, fixture: str, toml: str, expect: str
) -> None:
    root = generated(tmp_path, go, fixture, toml)
    res = doit(root, go, "image")
    tag = image_report(res)["image"].split()[0]
    try:
        assert expect in image_report(res)["smoke"].lower(), res.stdout
    finally:
        dockerenv.remove_images(tag)


@pytest.mark.slow
def test_awkward_labels_and_values_reach_the_image(tmp_path: Path, go: GoEnv, engine: str) -> None:
    awkward = 'v1 "beta" $HOME #1 \\ ünï'
    toml = (
        f"[build]\nversion = {json.dumps(awkward.replace(chr(34), ''))}\n"
        f'[docker]\nbinary = "a"\nname = "gobuild-test/awkward"\nsmoke_args = ["x"]\n'
        f'labels = {{ "org.example.note" = {json.dumps(awkward)} }}\n'
    )
    root = generated(tmp_path, go, "twobin", toml)
    res = doit(root, go, "image")
    tag = image_report(res)["image"].split()[0]
    try:
        labels = json.loads(dockerenv.docker("image", "inspect", tag).stdout)[0]["Config"]["Labels"]
        assert labels["org.example.note"] == awkward
        version = awkward.replace('"', "")
        assert labels["org.opencontainers.image.version"] == version
        out = dockerenv.docker("run", "--rm", tag).stdout.decode()
        assert f"version={version}\n" in out
    finally:
        dockerenv.remove_images(tag)


@pytest.mark.slow
def test_missing_base_image_is_named(tmp_path: Path, go: GoEnv, engine: str) -> None:
    root = generated(tmp_path, go, "twobin", '[docker]\nalpine_version = "3.99"\n')
    res = doit(root, go, "image", check=False)
    assert res.returncode != 0
    assert "base image golang:1.22.10-alpine3.99 is not on the Docker engine" in res.stdout
    assert "no registry may be reachable" in res.stdout


@pytest.mark.slow
def test_make_docker_builds_the_same_image(tmp_path: Path, go: GoEnv, engine: str) -> None:
    root = generated(tmp_path, go, "twobin", '[docker]\nname = "gobuild-test/make"\n')
    env = run_env(go, DOCKER=dockerenv.DOCKER)
    res = subprocess.run(
        ["make", "docker"], cwd=root, env=env, capture_output=True, text=True, check=False
    )
    assert res.returncode == 0, res.stdout + res.stderr
    short = git(root, "rev-parse", "--short", "HEAD")
    tag = f"gobuild-test/make:v1.2.3-1-g{short}"
    try:
        labels = json.loads(dockerenv.docker("image", "inspect", tag).stdout)[0]["Config"]["Labels"]
        assert labels["org.opencontainers.image.version"] == f"v1.2.3-1-g{short}"
        assert labels["org.opencontainers.image.revision"] == git(root, "rev-parse", "HEAD")
    finally:
        dockerenv.remove_images(tag)


@pytest.mark.slow
def test_module_with_go_sum_downloads_in_its_own_layer_and_secret_stays_out(
    tmp_path: Path, go: GoEnv, engine: str
) -> None:
    # github.com/google/uuid comes through the module proxy inside the build (reachable
    # from containers here); a ~/.netrc reaches only the secret mount.
    root = generated(tmp_path, go, "withdeps", '[docker]\nname = "gobuild-test/withdeps"\n')
    home = tmp_path / "home"
    home.mkdir()
    (home / ".netrc").write_text("machine corp.example login ci password S3CRET-NETRC\n")
    res = doit(root, go, "image", HOME=str(home))
    tag = image_report(res)["image"].split()[0]
    try:
        smoke = image_report(res)["smoke"]
        assert re.search(r"exit 0: [0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-", smoke), smoke
        text = (root / "Dockerfile").read_text()
        assert text.index("COPY go.mod go.sum* ./") < text.index("go mod download")
        assert text.index("go mod download") < text.index("COPY . .")
        history = dockerenv.docker("history", "--no-trunc", tag).stdout.decode()
        saved = dockerenv.docker("save", tag).stdout
        assert b"S3CRET-NETRC" not in saved and b"S3CRET-NETRC" not in history.encode()
        inspect = json.loads(dockerenv.docker("image", "inspect", tag).stdout)[0]["Config"]
        assert not any("S3CRET" in e for e in inspect.get("Env") or [])
    finally:
        dockerenv.remove_images(tag)
