"""Images of the released binaries (Dockerfile.release) and cross-platform builds of the
build-from-source Dockerfile, on the local engine.

The release form copies ``dist/NAME_linux_ARCH`` from ``doit dist`` into the runtime
base: the image must hold those very bytes, for the engine's platform (through
``make_image(..., released=True)``, what ``doit image`` runs) and for linux/arm64. The
build-from-source form's build stage runs on the builder's platform: built for
linux/arm64 here, where no emulator is installed, it cross-compiles, and gives the same
bytes as ``doit dist``'s linux/arm64 binary. The arm64 runtime base is a stand-in loaded
with ``docker load`` (tests/dockerenv.py), never run.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from gobuild.builds import gitinfo
from gobuild.image import build, client
from gobuild.image.make import make_image
from gobuild.progress import Silent
from gobuild.project.config import Project, load_project
from gobuild.project.environ import Environment
from gobuild.project.lock import locked_version
from gobuild.project.platforms import host
from tests import dockerenv
from tests.buildenv import GoEnv, doit, go_version_m, run_env
from tests.functional.test_docker import generated
from tests.functional.test_docker_engine import untar_one

pytestmark = [
    pytest.mark.docker,
    pytest.mark.slow,
    pytest.mark.skipif(host().key != "linux-amd64", reason="real archives are linux/amd64"),
]

AWKWARD = 'v1 "beta" $HOME ${X} #1 \\ ünï'
ARM64_BASE = "gobuild-test/runtime-arm64"
EM_AARCH64 = 183


def released_project(tmp_path: Path, go: GoEnv, name: str, docker: str = "") -> Project:
    """twobin, generated and committed, with ``doit dist`` run for linux/amd64 and arm64."""
    toml = (
        '[build]\nvcs = false\n[dist]\nplatforms = ["linux/amd64", "linux/arm64", "darwin/arm64"]\n'
        f'[docker]\nbinary = "a"\nname = "gobuild-test/{name}"\n'
        f"labels = {{ {json.dumps('org.example.note')} = {json.dumps(AWKWARD)} }}\n" + docker
    )
    root = generated(tmp_path, go, "twobin", toml)
    doit(root, go, "dist")
    return load_project(root, env=Environment(run_env(go)))


def file_in(tag: str, path: str) -> bytes:
    # A command for images that name none (the stand-in golang image); never run.
    cid = dockerenv.docker("create", tag, "never-run").stdout.decode().strip()
    try:
        data = dockerenv.docker("cp", f"{cid}:{path}", "-").stdout
    finally:
        dockerenv.docker("rm", "-f", cid)
    return untar_one(data)


def elf_machine(data: bytes) -> int:
    assert data[:4] == b"\x7fELF" and data[5] == 1  # little-endian
    return int.from_bytes(data[18:20], "little")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_released_image_holds_the_dist_binary(tmp_path: Path, go: GoEnv, engine: str) -> None:
    project = released_project(tmp_path, go, "released")
    dist = project.out_dir / "a_linux_amd64"
    report = make_image(project, Silent(), released=True)
    try:
        assert report.compared == "same bytes as dist/a_linux_amd64", report.text()
        assert report.checked.binary_sha256 == sha(dist.read_bytes())
        assert file_in(report.tag, "/usr/local/bin/a") == dist.read_bytes()
        # One file sent: the binary of the engine's platform, from the dist directory.
        assert (report.sent.files, report.sent.bytes) == (1, dist.stat().st_size)
        inspect = json.loads(dockerenv.docker("image", "inspect", report.tag).stdout)[0]
        labels = inspect["Config"]["Labels"]
        assert labels["org.example.note"] == AWKWARD
        assert labels["org.opencontainers.image.revision"] == gitinfo.of(project).commit
        assert labels["org.opencontainers.image.title"] == "a"
        assert inspect["Config"]["User"] == "65532:65532"
        assert inspect["Architecture"] == "amd64"
        assert "version=v1.2.3" in report.checked.smoke_output
        assert "same bytes as dist/a_linux_amd64" in report.text()
    finally:
        dockerenv.remove_images(report.tag)


def test_released_image_for_scratch_takes_the_ca_bundle_from_the_go_image(
    tmp_path: Path, go: GoEnv, engine: str
) -> None:
    project = released_project(tmp_path, go, "released-scratch", 'runtime = "scratch"\n')
    report = make_image(project, Silent(), released=True)
    try:
        assert report.compared == "same bytes as dist/a_linux_amd64", report.text()
        bundle = file_in(report.tag, "/etc/ssl/certs/ca-certificates.crt")
        golang = f"golang:{locked_version(project)}-alpine3.20"
        assert bundle == file_in(golang, "/etc/ssl/certs/ca-certificates.crt")
    finally:
        dockerenv.remove_images(report.tag)


def test_arm64_images_of_both_forms_hold_the_dist_arm64_binary(
    tmp_path: Path, go: GoEnv, engine: str
) -> None:
    # The runtime base for linux/arm64 (a stand-in on this amd64 engine): the release form
    # only copies into it, and the source form's build stage runs on the builder's own
    # platform. The only go image is amd64 (no registry to fetch an arm64 one), so a build
    # stage for linux/arm64 could not even start: the arm64 binary is cross-compiled.
    dockerenv.load_foreign_base(f"{ARM64_BASE}:3.20", "arm64")
    project = released_project(tmp_path, go, "arm64", f'runtime_image = "{ARM64_BASE}"\n')
    assert dockerenv.platform_of(f"golang:{locked_version(project)}-alpine3.20") == "linux/amd64"
    dist = (project.out_dir / "a_linux_arm64").read_bytes()
    assert elf_machine(dist) == EM_AARCH64
    builder = client.find_builder(project.env)
    values = gitinfo.of(project).values("")
    tags = {form: f"gobuild-test/arm64:{form}" for form in ("release", "source")}
    try:
        build.build(
            builder,
            project.root,
            tag=tags["release"],
            values=values,
            environ=project.env,
            dockerfile=project.generated("Dockerfile.release"),
            context=project.out_dir,
            platform="linux/arm64",
            secrets=False,
        )
        build.build(
            builder,
            project.root,
            tag=tags["source"],
            values=values,
            environ=project.env,
            dockerfile=project.generated("Dockerfile"),
            platform="linux/arm64",
        )
        for form, tag in tags.items():
            assert dockerenv.platform_of(tag) == "linux/arm64", form
            inside = file_in(tag, "/usr/local/bin/a")
            assert elf_machine(inside) == EM_AARCH64, form
            # The released bytes; and the cross-compiled build equals doit dist's.
            assert sha(inside) == sha(dist), form
        binary = tmp_path / "a.arm64"
        binary.write_bytes(file_in(tags["source"], "/usr/local/bin/a"))
        assert "GOARCH=arm64" in go_version_m(go, binary)
    finally:
        dockerenv.remove_images(*tags.values())


def test_doit_image_released_is_the_same_build(tmp_path: Path, go: GoEnv, engine: str) -> None:
    project = released_project(tmp_path, go, "released-doit")
    tag = build.tag_for("gobuild-test/released-doit", gitinfo.of(project).version)
    try:
        res = doit(project.root, go, "image", "--released", check=False)
        assert res.returncode == 0, res.stdout + res.stderr
        assert "(same bytes as dist/a_linux_amd64)" in res.stdout, res.stdout
        # The release Dockerfile's context: the one binary (the source form sends the module).
        assert "context  1 files" in res.stdout
        assert file_in(tag, "/usr/local/bin/a") == (project.out_dir / "a_linux_amd64").read_bytes()
    finally:
        dockerenv.remove_images(tag)
