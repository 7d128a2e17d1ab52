"""`doit image` on a remote BuildKit daemon (gobuild.image.builder and .buildkit).

A real buildkitd on loopback TCP demanding a client certificate (tests/buildkitenv.py)
builds the generated Dockerfile of a fixture module with gobuild's buildctl arguments;
the image comes back into the local engine, where the usual checks run. The base
images (the stand-in golang and alpine images of tests/dockerenv.py) reach the daemon
through a loopback registry; the BuildKit cache goes to another, which wants a
password. A second daemon with an empty state directory then builds the same image
with every Dockerfile step taken from that registry cache.

buildctl is the one tests/buildkitenv.py built for the daemon, at the version gobuild
pins (asserted), passed to make_image as the front end passes the pinned one.
"""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from gobuild.errors import BuilderError
from gobuild.image import builder
from gobuild.image.buildkit import reach
from gobuild.image.make import ImageReport, make_image
from gobuild.progress import Silent
from gobuild.project.config import Project, load_project
from gobuild.project.environ import Environment
from gobuild.project.platforms import host
from tests import buildkitenv, dockerenv, registryenv
from tests.buildenv import GoEnv, doit, run_env
from tests.functional.conftest import ENGINE_ALPINE, ENGINE_GO, MakeBuildkitd, MakeRegistry
from tests.functional.test_docker import generated
from tests.netproxy import TestCA

pytestmark = [
    pytest.mark.docker,
    pytest.mark.slow,
    pytest.mark.skipif(host().key != "linux-amd64", reason="real archives are linux/amd64"),
    # A fresh machine builds BuildKit in the first test's setup (see test_buildkitenv).
    pytest.mark.timeout(1800),
]

PASSWORD = "cache-pw-Zq81x"  # the cache registry's; must never show up anywhere
USER = "ci"


@pytest.fixture(scope="module")
def bases(engine: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A loopback registry holding the stand-in golang and alpine images (pushed from
    the engine, which treats 127.0.0.1 registries as plain HTTP), for the daemons to
    pull: its ``host:port``."""
    reason = registryenv.unavailable()
    if reason:
        pytest.skip(f"registry tests skipped: {reason}")
    with registryenv.Registry(tmp_path_factory.mktemp("bases")) as registry:
        pushed = []
        for image in (f"golang:{ENGINE_GO}-alpine{ENGINE_ALPINE}", f"alpine:{ENGINE_ALPINE}"):
            target = f"{registry.host}/{image}"
            dockerenv.docker("tag", image, target)
            dockerenv.docker("push", target)
            pushed.append(target)
        try:
            yield registry.host
        finally:
            dockerenv.remove_images(*pushed)


def remote_project(
    tmp_path: Path,
    go: GoEnv,
    bases: str,
    daemon: buildkitenv.Buildkitd,
    *,
    cache: str | None = None,
    docker: str = "",
    **env: str,
) -> Project:
    """twobin, generated and committed, its images built from ``bases`` on ``daemon``
    (named by BUILDKIT_HOST, with the daemon's client certificate as builder_tls)."""
    toml = (
        '[build]\nvcs = false\n[dist]\nplatforms = ["linux/amd64"]\n'
        f'[docker]\nbinary = "a"\nname = "gobuild-test/remote"\n'
        f'go_image = "{bases}/golang"\nruntime_image = "{bases}/alpine"\n'
        f'builder_tls = "{daemon.tls.directory}"\n'
        + (f'cache = "{cache}"\n' if cache else "")
        + docker
    )
    root = generated(tmp_path, go, "twobin", toml)
    return reload(root, go, daemon, **env)


def reload(root: Path, go: GoEnv, daemon: buildkitenv.Buildkitd, **env: str) -> Project:
    return load_project(root, env=Environment(run_env(go, BUILDKIT_HOST=daemon.address, **env)))


def build_on(project: Project, buildkit_bin: buildkitenv.BuildkitBinaries) -> ImageReport:
    assert project.tool_pin("buildctl").version == buildkitenv.VERSION
    return make_image(project, Silent(), buildctl=lambda: buildkit_bin.buildctl)


def saved(tag: str) -> bytes:
    """The image as ``docker save`` writes it: config and uncompressed layers."""
    return dockerenv.docker("save", tag).stdout


def layer_files(archive: bytes) -> dict[str, bytes]:
    """Every regular file of every layer of a ``docker save`` archive, by layer/path."""
    import io

    found: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(archive)) as outer:
        for member in outer:
            if not member.name.endswith("layer.tar"):
                continue
            data = outer.extractfile(member)
            assert data is not None
            with tarfile.open(fileobj=io.BytesIO(data.read())) as layer:
                for entry in layer:
                    if entry.isfile():
                        f = layer.extractfile(entry)
                        assert f is not None
                        found[f"{member.name}:{entry.name}"] = f.read()
    return found


def test_a_fresh_daemon_rebuilds_from_the_registry_cache_and_no_password_leaks(
    tmp_path: Path,
    go: GoEnv,
    bases: str,
    buildkit: buildkitenv.BuildkitBinaries,
    buildkitd: buildkitenv.Buildkitd,
    make_buildkitd: MakeBuildkitd,
    make_registry: MakeRegistry,
) -> None:
    caches = make_registry(users={USER: PASSWORD})
    login = buildkitenv.docker_config(tmp_path / "docker", {caches.host: (USER, PASSWORD)})
    ref = f"{caches.host}/cache/remote:main"
    project = remote_project(tmp_path, go, bases, buildkitd, cache=ref, **login)
    doit(project.root, go, "build")
    dist = project.out_dir / "a"
    chosen = builder.choose(project)
    assert isinstance(chosen, builder.Remote) and chosen.source == "BUILDKIT_HOST"

    cold = build_on(project, buildkit)
    second: buildkitenv.Buildkitd | None = None
    tags = {cold.tag}
    try:
        text = cold.text()
        assert f"built with BuildKit {buildkitd.address} (BUILDKIT_HOST, mutual TLS)" in text
        # The same inputs as `doit build`: the same bytes.
        assert cold.compared == "same bytes as dist/a", text
        assert cold.checked.binary_sha256 == hashlib.sha256(dist.read_bytes()).hexdigest()
        assert "version=" in cold.checked.smoke_output
        assert cold.cache == f"registry {ref}: nothing to import yet, exported (mode=max)", text
        assert f"cache    registry {ref}: " in text
        # mode=max: the cache holds the build stage's layers, not only the final image's.
        assert registryenv.tags(caches, "cache/remote") == ["main"]
        body, _, _ = registryenv.manifest(caches, "cache/remote", "main")
        cache_layers = len(json.loads(body).get("layers") or json.loads(body).get("manifests"))
        inspect = json.loads(dockerenv.docker("image", "inspect", cold.tag).stdout)[0]
        assert cache_layers > len(inspect["RootFS"]["Layers"]), body[:2000]

        # Another daemon, nothing in its state directory (the same CA: the same client
        # certificate reaches it), finds every Dockerfile step in the registry cache.
        second = make_buildkitd(ca=buildkitd.ca)
        assert second.cache_records() == []
        warm = build_on(reload(project.root, go, second, **login), buildkit)
        tags.add(warm.tag)
        assert warm.cache is not None
        assert warm.cache.startswith(f"registry {ref}: imported ("), warm.text()
        counts = warm.cache.split("(")[1].split(" steps")[0]  # "N of M"
        cached, steps = (int(n) for n in counts.split(" of "))
        assert steps >= 4 and cached == steps, warm.text()
        assert f"built with BuildKit {second.address}" in warm.text()
        assert warm.checked.binary_sha256 == cold.checked.binary_sha256

        # The password: not in the reports, the project's files, nor the image's layers
        # and config.
        for report in (cold, warm):
            assert PASSWORD not in report.text()
        for path in project.root.rglob("*"):
            if path.is_file() and ".git" not in path.parts:
                assert PASSWORD.encode() not in path.read_bytes(), path
        archive = saved(cold.tag)
        assert PASSWORD.encode() not in archive
        encoded = json.loads((tmp_path / "docker" / "config.json").read_text())
        token = encoded["auths"][caches.host]["auth"].encode()
        assert token not in archive
        for name, data in layer_files(archive).items():
            assert PASSWORD.encode() not in data, name
    finally:
        dockerenv.remove_images(*tags)


def test_released_image_builds_on_the_daemon_when_the_cache_refuses_it(
    tmp_path: Path,
    go: GoEnv,
    bases: str,
    buildkit: buildkitenv.BuildkitBinaries,
    buildkitd: buildkitenv.Buildkitd,
    make_registry: MakeRegistry,
) -> None:
    # The cache registry wants a password nobody gave: the image still builds (the
    # cache is a head start, not a requirement), and the report and a warning say why
    # nothing was imported or exported.
    caches = make_registry(users={USER: PASSWORD})
    ref = f"{caches.host}/cache/released:main"
    project = remote_project(
        tmp_path,
        go,
        bases,
        buildkitd,
        cache=ref,
        docker='runtime = "scratch"\n',
        DOCKER_CONFIG=str(tmp_path / "no-logins"),
    )
    doit(project.root, go, "dist")
    reporter = Silent()
    report = make_image(project, reporter, released=True, buildctl=lambda: buildkit.buildctl)
    try:
        assert report.compared == "same bytes as dist/a_linux_amd64", report.text()
        assert f"built with BuildKit {buildkitd.address}" in report.text()
        assert report.cache is not None
        assert report.cache.startswith(f"registry {ref}: not imported ("), report.cache
        assert "not exported (" in report.cache and "401" in report.cache, report.cache
        assert reporter.notices == [f"warning: build cache: {report.cache}"]
        assert registryenv.tags(caches, "cache/released") == []
    finally:
        dockerenv.remove_images(report.tag)


def test_a_wrong_or_missing_client_certificate_fails_in_one_line(
    tmp_path: Path,
    go: GoEnv,
    bases: str,
    buildkit: buildkitenv.BuildkitBinaries,
    buildkitd: buildkitenv.Buildkitd,
) -> None:
    project = remote_project(tmp_path, go, bases, buildkitd)
    # A client certificate from another CA: the daemon refuses the handshake.
    other = buildkitenv.client_tls(
        TestCA(tmp_path / "other-ca", name="intruder"), "intruder", tmp_path / "intruder"
    )
    toml = project.root / "gobuild.toml"
    text = toml.read_text()
    toml.write_text(text.replace(str(buildkitd.tls.directory), str(other.directory)))
    with pytest.raises(BuilderError) as refused:
        build_on(reload(project.root, go, buildkitd), buildkit)
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith(f"builder {buildkitd.address} (BUILDKIT_HOST) is unreachable: ")
    assert "TLS" in message or "certificate" in message, message
    # No client certificate at all: named before any connection.
    os.remove(other.directory / "key.pem")
    with pytest.raises(
        BuilderError, match=r"^builder tcp://127\.0\.0\.1:\d+: \[docker\] builder_tls"
    ):
        build_on(reload(project.root, go, buildkitd), buildkit)
    # Nothing listening: one line too.
    toml.write_text(text)
    with pytest.raises(BuilderError, match=r"connection refused\)$"):
        build_on(
            load_project(
                project.root, env=Environment(run_env(go, BUILDKIT_HOST="tcp://127.0.0.1:1"))
            ),
            buildkit,
        )


def test_a_buildx_builder_name_reaches_its_daemon(
    tmp_path: Path,
    go: GoEnv,
    buildkit: buildkitenv.BuildkitBinaries,
    buildkitd: buildkitenv.Buildkitd,
) -> None:
    # What `docker buildx create --name ci --driver remote --driver-opt cacert=..,cert=..,
    # key=.. tcp://...` writes (no buildx plugin here).
    config = tmp_path / "docker"
    instance = config / "buildx" / "instances" / "ci"
    instance.parent.mkdir(parents=True)
    tls = buildkitd.tls
    instance.write_text(
        json.dumps(
            {
                "Name": "ci",
                "Driver": "remote",
                "Nodes": [
                    {
                        "Name": "ci0",
                        "Endpoint": buildkitd.address,
                        "Platforms": None,
                        "DriverOpts": {
                            "cacert": str(tls.ca),
                            "cert": str(tls.cert),
                            "key": str(tls.key),
                        },
                    }
                ],
                "Dynamic": False,
            }
        )
    )
    root = tmp_path / "m"
    root.mkdir()
    (root / "go.mod").write_text("module example.com/m\n\ngo 1.22\n")
    (root / "gobuild.toml").write_text('[docker]\nbuilder = "ci"\n')
    project = load_project(root, env=Environment(run_env(go, DOCKER_CONFIG=str(config))))
    chosen = builder.choose(project)
    assert isinstance(chosen, builder.Remote)
    assert (chosen.address, chosen.source) == (buildkitd.address, "buildx builder ci")
    platforms = reach(buildkit.buildctl, chosen, project.env.for_children())
    assert host().key.replace("-", "/") in platforms


def test_the_engine_builder_says_it_exports_no_cache(
    tmp_path: Path, go: GoEnv, engine: str
) -> None:
    # No builder anywhere: the engine builds (with its stand-in bases) and [docker] cache
    # is not silently dropped. buildctl is never asked for.
    toml = (
        '[build]\nvcs = false\n[docker]\nbinary = "a"\nname = "gobuild-test/engine-cache"\n'
        'cache = "127.0.0.1:1/cache/app:main"\n'
    )
    root = generated(tmp_path, go, "twobin", toml)
    project = load_project(root, env=Environment(run_env(go)))
    assert builder.choose(project) == builder.Engine("default")
    reporter = Silent()

    def no_buildctl() -> Path:
        raise AssertionError("buildctl is not needed for the engine")

    report = make_image(project, reporter, buildctl=no_buildctl)
    try:
        assert report.cache is None
        assert report.builder.startswith(dockerenv.DOCKER), report.text()
        warnings = [n for n in reporter.notices if "[docker] cache" in n]
        assert warnings == [
            "warning: [docker] cache 127.0.0.1:1/cache/app:main is not used: the Docker "
            "engine's builder does not export cache to a registry (set [docker] builder to "
            "a BuildKit daemon's address)"
        ]
    finally:
        dockerenv.remove_images(report.tag)


def test_doit_image_says_what_is_wrong_with_the_builder_in_one_line(
    tmp_path: Path, go: GoEnv
) -> None:
    # Decided before the engine, a daemon or buildctl is needed: through doit's front
    # end, one line each and no traceback.
    root = generated(tmp_path, go, "twobin", '[docker]\nbuilder_tls = "no/such/dir"\n')
    res = doit(root, go, "image", check=False, BUILDKIT_HOST="tcp://127.0.0.1:1")
    assert res.returncode != 0
    assert "Traceback" not in res.stdout + res.stderr
    assert (
        "builder tcp://127.0.0.1:1: [docker] builder_tls no/such/dir lacks ca.pem, cert.pem, "
        "key.pem (wanted: ca.pem, cert.pem, key.pem, as buildctl --tlsdir)"
    ) in res.stdout
    res = doit(root, go, "image", check=False, BUILDKIT_HOST="mybuilder")
    assert res.returncode != 0
    assert "Traceback" not in res.stdout + res.stderr
    assert "BUILDKIT_HOST='mybuilder' is not a BuildKit address like tcp://h:p" in res.stdout
