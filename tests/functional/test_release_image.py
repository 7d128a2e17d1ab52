"""The release's image and `doit publish`, against Debian's docker-registry on loopback.

A real module (two binaries) released for linux/amd64, linux/arm64 and windows/amd64 on
a two-platform base image pushed to the registry: the release holds an OCI image index
of binary `a` for both linux platforms, the same in two clean clones; `doit publish`
pushes it with the SBOMs and provenance attached; pulled back with raw HTTP (no gobuild
code), each platform's /usr/local/bin/a is the archived binary, on the base's files.
Then: a tag already pointing elsewhere needs --force; a registry that answers 503 or
drops connections is retried; one that keeps failing leaves a reported half-push and
no published.json; credentials from a Docker config are used and never shown.
"""

from __future__ import annotations

import base64
import json
import subprocess
import tarfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gobuild.project.platforms import host
from tests import registryenv
from tests.buildenv import BIN, GoEnv, doit, git, make_repo
from tests.faultproxy import FaultProxy
from tests.functional.conftest import MakeRegistry

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(host().key != "linux-amd64", reason="real archives are linux/amd64"),
]

LINUX = ("linux/amd64", "linux/arm64")
SBOM_TYPE = "application/vnd.cyclonedx+json"


def image_repo(
    path: Path,
    go: GoEnv,
    registry: str,
    *,
    extra: str = "",
    docker: str = "",
    files: dict[str, bytes] | None = None,
) -> Path:
    """The twobin module released to ``registry``/twobin on ``registry``/base:3."""
    config = (
        '[dist]\nplatforms = ["linux/amd64", "linux/arm64", "windows/amd64"]\n'
        f'[release]\nimage = true\nrepository = "{registry}/twobin"\n{extra}'
        f'[docker]\nruntime_image = "{registry}/base"\nruntime_tag = "3"\nexpose = [8080]\n'
        f"{docker}"
    )
    root = make_repo(path, "twobin", go, config, init_git=False)
    (root / "LICENSE").write_text("MIT\n")
    for name, data in (files or {}).items():
        (root / name).write_bytes(data)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    git(root, "tag", "v1.2.3")
    return root


def tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def archived(root: Path, platform: str) -> bytes:
    arch = platform.split("/")[1]
    with tarfile.open(root / "dist" / "release" / f"a_1.2.3_linux_{arch}.tar.gz") as tar:
        member = tar.extractfile("a")
        assert member is not None
        return member.read()


def verify(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "gobuild"), "-C", str(root), "release", "verify"],
                          capture_output=True, text=True, check=False)  # fmt: skip


def test_two_clones_release_one_image_that_publishes_the_archived_bytes(
    tmp_path: Path, go: GoEnv, registry: registryenv.Registry
) -> None:
    base = registryenv.push_image(registry, "base", "3", platforms=LINUX)
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()  # fmt: skip
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)  # fmt: skip
    origin = image_repo(
        tmp_path / "origin", go, registry.host, files={"release.pub": public},
        extra='signing_key = "env:RELEASE_KEY"\nverify_key = "release.pub"\n',
    )  # fmt: skip
    trees = []
    for name in ("first", "elsewhere/second"):
        clone = tmp_path / name
        clone.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "clone", "-q", str(origin), str(clone)], check=True)
        res = doit(clone, go, "release", RELEASE_KEY=private)
        assert res.returncode == 0, res.stdout + res.stderr
        trees.append(tree(clone / "dist" / "release"))
    # Bit for bit: archives, SHA256SUMS, SBOMs, the record and every blob of the image.
    assert trees[0] == trees[1]
    root = tmp_path / "first"
    record = json.loads(trees[0]["release.json"])
    image = record["image"]
    assert sorted(image["manifests"]) == list(LINUX)
    assert (image["binary"], image["tag"]) == ("a", "v1.2.3")
    assert image["base"] == f"{registry.host}/base@{base}"
    assert f"image/ v1.2.3: linux/amd64, linux/arm64 on {registry.host}/base@{base}" in res.stdout
    checked = verify(root)
    assert checked.returncode == 0, checked.stderr

    res = doit(root, go, "publish")
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"pushed   {registry.host}/twobin:v1.2.3@{image['index']}" in res.stdout
    body, media_type, digest = registryenv.manifest(registry, "twobin", "v1.2.3")
    assert (media_type, digest) == ("application/vnd.oci.image.index.v1+json", image["index"])
    assert body == trees[0][f"image/blobs/sha256/{digest[7:]}"]
    for platform in LINUX:
        inside = registryenv.image_file(registry, "twobin", "v1.2.3", platform, "/usr/local/bin/a")
        assert (
            inside
            == archived(root, platform)
            == (root / "dist" / f"a_{platform.replace('/', '_')}").read_bytes()
        )
        # On the base's own files, its layers unchanged.
        marker = registryenv.image_file(registry, "twobin", "v1.2.3", platform, "/etc/platform")
        assert marker.decode().strip() == platform
        config_doc, _ = registryenv.platform_manifest(registry, "twobin", "v1.2.3", platform)
        config = json.loads(registryenv.blob(registry, "twobin", config_doc["config"]["digest"]))
        assert config["config"]["Entrypoint"] == ["/usr/local/bin/a"]
        assert config["config"]["User"] == "65532:65532"
        assert config["config"]["ExposedPorts"] == {"8080/tcp": {}}
        assert config["config"]["Labels"]["org.opencontainers.image.revision"] == record["commit"]
        assert config["created"] == record["date"]
        # The platform's SBOM is attached to its manifest, as an OCI artifact.
        (sbom,) = registryenv.referrers(registry, "twobin", image["manifests"][platform], SBOM_TYPE)
        sbom_manifest, _, _ = registryenv.manifest(registry, "twobin", sbom["digest"])
        layer = json.loads(sbom_manifest)["layers"][0]
        name = f"a_1.2.3_{platform.replace('/', '_')}.cdx.json"
        assert registryenv.blob(registry, "twobin", layer["digest"]) == trees[0][name]
    # The signed provenance is attached to the index; it names the index as a subject.
    (provenance,) = registryenv.referrers(registry, "twobin", image["index"])
    assert provenance["artifactType"] == "application/vnd.dsse.envelope.v1+json"
    envelope, _, _ = registryenv.manifest(registry, "twobin", provenance["digest"])
    layer = json.loads(envelope)["layers"][0]
    signed = registryenv.blob(registry, "twobin", layer["digest"])
    assert signed == trees[0]["provenance.intoto.json"]
    statement = json.loads(base64.b64decode(json.loads(signed)["payload"]))
    subjects = {s["name"]: s["digest"]["sha256"] for s in statement["subject"]}
    assert subjects["image:v1.2.3"] == image["index"].removeprefix("sha256:")
    published = json.loads((root / "dist" / "published.json").read_text())
    assert (published["index"], published["tag"]) == (image["index"], "v1.2.3")

    # A second publish of the same release uploads nothing.
    res = doit(root, go, "publish")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "blobs    0 uploaded" in res.stdout, res.stdout

    # verify names a changed byte of an image blob.
    layer_blob = next(
        p
        for p in (root / "dist" / "release" / "image" / "blobs" / "sha256").iterdir()
        if p.stat().st_size > 100_000
    )
    flipped = bytearray(layer_blob.read_bytes())
    flipped[500] ^= 1
    layer_blob.write_bytes(bytes(flipped))
    checked = verify(root)
    assert checked.returncode == 1
    assert f"image: blob sha256:{layer_blob.name} holds sha256:" in checked.stderr, checked.stderr


def test_a_tag_pointing_elsewhere_moves_only_with_force(
    tmp_path: Path, go: GoEnv, registry: registryenv.Registry
) -> None:
    registryenv.push_image(registry, "base", "3", platforms=LINUX)
    other = registryenv.push_image(registry, "twobin", "v1.2.3", platforms=("linux/amd64",))
    root = image_repo(tmp_path / "r", go, registry.host)
    assert doit(root, go, "release").returncode == 0
    res = doit(root, go, "publish", check=False)
    assert res.returncode != 0
    assert f"{registry.host}/twobin:v1.2.3 already points to {other}" in res.stdout + res.stderr
    assert "--force" in res.stdout + res.stderr
    assert registryenv.manifest(registry, "twobin", "v1.2.3")[2] == other
    assert not (root / "dist" / "published.json").exists()
    res = doit(root, go, "publish", "--force")
    assert res.returncode == 0, res.stdout + res.stderr
    index = json.loads((root / "dist" / "release" / "release.json").read_text())["image"]["index"]
    assert registryenv.manifest(registry, "twobin", "v1.2.3")[2] == index


def test_failures_are_retried_and_a_half_push_is_reported(
    tmp_path: Path, go: GoEnv, registry: registryenv.Registry, fault_proxy: FaultProxy
) -> None:
    registryenv.push_image(registry, "base", "3", platforms=LINUX)
    # gobuild speaks to the registry through the proxy only.
    root = image_repo(tmp_path / "r", go, fault_proxy.host)
    assert doit(root, go, "release").returncode == 0
    # A blob upload dropped, the tag's PUT answered 503, a HEAD 502: each is retried.
    fault_proxy.fail("PUT", r"^/v2/twobin/blobs/uploads/", times=1, mode="drop")
    fault_proxy.fail("PUT", r"^/v2/twobin/manifests/v1\.2\.3$", times=1, mode="503")
    fault_proxy.fail("HEAD", r"^/v2/twobin/blobs/", times=1, mode="502")
    res = doit(root, go, "publish")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "3 requests retried" in res.stdout, res.stdout
    faults = {(e.method, e.status) for e in fault_proxy.log if e.status in ("dropped", 503, 502)}
    assert faults == {("PUT", "dropped"), ("PUT", 503), ("HEAD", 502)}, fault_proxy.log
    first = json.loads((root / "dist" / "published.json").read_text())
    assert registryenv.manifest(registry, "twobin", "v1.2.3")[2] == first["index"]

    # The next release: every PUT of its tag fails. Its blobs and manifests go up,
    # the tag is never moved, and nothing is recorded as published.
    (root / "LICENSE").write_text("MIT, 2\n")
    git(root, "commit", "-q", "-am", "next")
    git(root, "tag", "v1.2.4")
    assert doit(root, go, "release").returncode == 0
    fault_proxy.fail("PUT", r"^/v2/twobin/manifests/v1\.2\.4$", times=50, mode="500")
    res = doit(root, go, "publish", check=False)
    out = res.stdout + res.stderr
    assert res.returncode != 0
    assert f"publish to {fault_proxy.host}/twobin stopped: PUT " in out, out
    assert "manifests/v1.2.4: HTTP 500: " in out and "(gave up after 5 attempts)" in out, out
    assert "the tag v1.2.4 was not moved; nothing recorded" in out, out
    assert json.loads((root / "dist" / "published.json").read_text()) == first
    assert "v1.2.4" not in registryenv.tags(registry, "twobin")


def test_credentials_come_from_the_docker_config_and_are_never_shown(
    tmp_path: Path, go: GoEnv, make_registry: MakeRegistry
) -> None:
    password = "s3cret-Registry-pw"
    registry = make_registry(users={"alice": password})
    registryenv.push_image(registry, "base", "3", platforms=LINUX)
    root = image_repo(tmp_path / "r", go, registry.host)
    config = tmp_path / "docker"
    config.mkdir()

    def login(secret: str) -> dict[str, str]:
        auth = base64.b64encode(f"alice:{secret}".encode()).decode()
        (config / "config.json").write_text(json.dumps({"auths": {registry.host: {"auth": auth}}}))
        return {"DOCKER_CONFIG": str(config)}

    res = doit(root, go, "release", env=login("wrong-password-1"), check=False)
    out = res.stdout + res.stderr
    assert res.returncode != 0
    assert "credentials from Docker config" in out and "rejected" in out, out
    assert "wrong-password-1" not in out
    res = doit(root, go, "release", env=login(password))
    assert res.returncode == 0, res.stdout + res.stderr
    res = doit(root, go, "publish", env=login(password))
    out = res.stdout + res.stderr
    assert res.returncode == 0, out
    assert (
        password not in out and base64.b64encode(f"alice:{password}".encode()).decode() not in out
    )
    assert "v1.2.3" in registryenv.tags(registry, "twobin")


def test_a_pinned_base_is_released_again_without_its_registry(
    tmp_path: Path, go: GoEnv, registry: registryenv.Registry
) -> None:
    base = registryenv.push_image(registry, "base", "3", platforms=LINUX)
    pinned = image_repo(
        tmp_path / "pinned", go, registry.host, docker=f'runtime_digest = "{base}"\n'
    )
    floating = image_repo(tmp_path / "floating", go, registry.host)
    for root in (pinned, floating):
        res = doit(root, go, "release")
        assert res.returncode == 0, res.stdout + res.stderr
    first = json.loads((pinned / "dist" / "release" / "release.json").read_text())["image"]
    registry.stop()
    # Every blob and manifest the pinned base needs is in gobuild's cache: no request.
    res = doit(pinned, go, "release")
    assert res.returncode == 0, res.stdout + res.stderr
    again = json.loads((pinned / "dist" / "release" / "release.json").read_text())["image"]
    assert again == first
    # A tag must be asked of its registry: one line naming it, and the release kept.
    res = doit(floating, go, "release", check=False)
    out = res.stdout + res.stderr
    assert res.returncode != 0
    assert f"GET http://{registry.host}/v2/base/manifests/3: connection failed" in out, out
    assert "Traceback" not in out
    assert (floating / "dist" / "release" / "release.json").is_file()
