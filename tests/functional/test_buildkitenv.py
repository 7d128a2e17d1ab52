"""The remote-BuildKit test infrastructure (tests/buildkitenv.py) proven on its own:
a rootful buildkitd on loopback TCP demanding client certificates builds a Dockerfile
from a base image on a loopback registry, refuses clients without the right
certificate, and a second buildkitd with an empty state directory reuses the first
one's build through a registry cache (``type=registry``, ``mode=max``)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests import buildkitenv, registryenv
from tests.buildkitenv import Buildkitd, ClientTLS
from tests.functional.conftest import MakeBuildkitd, MakeRegistry
from tests.netproxy import TestCA

# A fresh machine builds BuildKit (about 7 minutes on 2 cores, more on a busy one) in
# the first test's setup, which the timeout counts.
pytestmark = pytest.mark.timeout(1800)

# A step slow enough that redoing it shows in the time, and a file it leaves behind.
SLOW = "sleep 5 && echo built > /built.txt"


def _context(directory: Path, dockerfile: str, files: dict[str, str] | None = None) -> Path:
    directory.mkdir(parents=True)
    (directory / "Dockerfile").write_text(dockerfile)
    for name, text in (files or {}).items():
        (directory / name).write_text(text)
    return directory


def test_build_over_mutual_tls(
    buildkitd: Buildkitd, registry: registryenv.Registry, tmp_path: Path
) -> None:
    # The base image comes from the loopback registry; RUN needs its /bin/sh; the
    # result is pushed back and read from the registry.
    buildkitenv.push_rootfs_image(registry, "base/busybox", "1", {"etc/motd": b"from base\n"})
    context = _context(
        tmp_path / "ctx",
        f"FROM {registry.host}/base/busybox:1\n"
        "RUN cat /etc/motd > /seen.txt && uname -m >> /seen.txt\n"
        "COPY hello.txt /hello.txt\n",
        {"hello.txt": "hello\n"},
    )
    run = buildkitd.build(context, outputs=[f"type=image,name={registry.host}/app:1,push=true"])
    assert run.state("RUN cat /etc/motd") == "DONE", run.progress
    seen = registryenv.image_file(registry, "app", "1", buildkitenv.host_platform(), "seen.txt")
    assert seen.startswith(b"from base\n"), seen
    assert (
        registryenv.image_file(registry, "app", "1", buildkitenv.host_platform(), "hello.txt")
        == b"hello\n"
    )
    assert buildkitd.address.startswith("tcp://127.0.0.1:")
    assert buildkitd.snapshotter_in_use() in ("overlayfs", "native")


def test_buildkit_host_and_tlsdir(buildkitd: Buildkitd) -> None:
    # BUILDKIT_HOST names the daemon; --tlsdir holds ca.pem, cert.pem and key.pem.
    done = subprocess.run(
        [str(buildkitd.binaries.buildctl), "--tlsdir", str(buildkitd.tls.directory), "du"],
        env=buildkitd.env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    argv = buildkitd.buildctl_argv("debug", "workers", addr=False)
    assert "--addr" not in argv
    done = subprocess.run(
        argv, env=buildkitd.env(), capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr


def test_clients_without_the_right_certificate_are_refused(
    buildkitd: Buildkitd, tmp_path: Path
) -> None:
    port, ca = buildkitd.port, buildkitd.tls.ca
    other = TestCA(tmp_path / "other-ca", name="intruder ca")
    foreign = buildkitenv.issue_client(other, "intruder")
    # The daemon's verdicts, read off the TLS connection: no certificate is refused as
    # required, one from another CA as unknown; its own client's is accepted.
    assert "CERTIFICATE_REQUIRED" in (buildkitenv.tls_refusal(port, ca) or "")
    refusal = buildkitenv.tls_refusal(port, ca, *foreign) or ""
    assert "UNKNOWN_CA" in refusal or "BAD_CERTIFICATE" in refusal, refusal
    assert buildkitenv.tls_refusal(port, ca, buildkitd.tls.cert, buildkitd.tls.key) is None

    # And buildctl gets nowhere without its certificate, with another CA's (a Go
    # client keeps back a certificate no CA named by the server signed), or in plain
    # text; with its own it does.
    base = [str(buildkitd.binaries.buildctl), "--addr", buildkitd.address, "--timeout", "5"]
    intruder = ClientTLS(ca, *foreign, tmp_path)
    for flags in (["--tlscacert", str(ca)], intruder.flags(), []):
        done = subprocess.run(
            [*base, *flags, "debug", "workers"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode != 0, done.stdout
        assert "Unavailable" in done.stderr, done.stderr
    assert buildkitd.buildctl("debug", "workers", timeout=60).returncode == 0


def test_registry_cache_round_trip(
    buildkitd: Buildkitd,
    make_buildkitd: MakeBuildkitd,
    registry: registryenv.Registry,
    tmp_path: Path,
) -> None:
    """The slow step runs once: a second daemon with an empty state directory imports
    the cache the first exported (mode=max: the builder stage's layers too) and
    produces the same files without running it."""
    buildkitenv.push_rootfs_image(registry, "base/busybox", "1")
    context = _context(
        tmp_path / "ctx",
        f"FROM {registry.host}/base/busybox:1 AS builder\n"
        f"RUN {SLOW}\n"
        f"FROM {registry.host}/base/busybox:1\n"
        "COPY --from=builder /built.txt /built.txt\n"
        "COPY hello.txt /hello.txt\n",
        {"hello.txt": "hello\n"},
    )
    ref = f"{registry.host}/cache/app:main"

    cold = buildkitd.build(
        context,
        export_cache=[f"type=registry,ref={ref},mode=max"],
        outputs=[f"type=local,dest={tmp_path / 'out-1'}"],
    )
    assert cold.state(f"RUN {SLOW}") == "DONE", cold.progress
    assert cold.seconds >= 5
    assert registryenv.tags(registry, "cache/app") == ["main"]

    # Another snapshotter too: the cache is content, not the first daemon's snapshots.
    second = make_buildkitd(snapshotter="native")
    assert second.root != buildkitd.root
    assert second.snapshotter_in_use() == "native"
    assert second.cache_records() == [], "the second daemon starts with an empty cache"
    warm = second.build(
        context,
        import_cache=[f"type=registry,ref={ref}"],
        outputs=[f"type=local,dest={tmp_path / 'out-2'}"],
    )
    assert warm.state(f"RUN {SLOW}") == "CACHED", warm.progress
    assert warm.state("importing cache manifest") == "DONE", warm.progress
    assert warm.seconds < cold.seconds
    # The files came from the cache's layers: the step never ran on the second daemon.
    assert (tmp_path / "out-2" / "built.txt").read_text() == "built\n"
    assert (tmp_path / "out-2" / "hello.txt").read_text() == "hello\n"

    # Without the import, the same empty-state daemon would have to run it.
    third = make_buildkitd()
    again = third.build(context, outputs=[f"type=local,dest={tmp_path / 'out-3'}"])
    assert again.state(f"RUN {SLOW}") == "DONE", again.progress


def test_multi_platform_image_to_a_registry_with_auth(
    buildkitd: Buildkitd, make_registry: MakeRegistry, tmp_path: Path
) -> None:
    """What a release image needs: a final stage that only copies builds for every
    platform without emulation, and buildctl's credentials (DOCKER_CONFIG) reach the
    daemon, which pulls the base, pushes the index and exports the cache with them."""
    registry = make_registry(users={"ci": "s3cret"})
    registryenv.push_image(registry, "base/static", "1")
    context = _context(
        tmp_path / "ctx",
        f"FROM {registry.host}/base/static:1\nARG TARGETARCH\nCOPY app-${{TARGETARCH}} /app\n",
        {"app-amd64": "amd64 binary\n", "app-arm64": "arm64 binary\n"},
    )
    login = buildkitenv.docker_config(tmp_path / "docker", {registry.host: ("ci", "s3cret")})
    run = buildkitd.build(
        context,
        opts={"platform": "linux/amd64,linux/arm64"},
        outputs=[f"type=image,name={registry.host}/app:1,push=true"],
        export_cache=[f"type=registry,ref={registry.host}/cache/app:main,mode=max"],
        env=login,
    )
    assert run.state("[auth] sharing credentials") == "DONE", run.progress
    for platform in ("linux/amd64", "linux/arm64"):
        arch = platform.split("/")[1]
        app = registryenv.image_file(registry, "app", "1", platform, "app")
        assert app == f"{arch} binary\n".encode()
    assert registryenv.tags(registry, "cache/app") == ["main"]
    # Without the credentials the daemon cannot even resolve the base image.
    refused = buildkitd.build(context, env={"DOCKER_CONFIG": str(tmp_path / "empty")}, check=False)
    assert refused.returncode != 0
    assert "401 Unauthorized" in refused.progress, refused.progress


def test_rootfs_image_is_deterministic(registry: registryenv.Registry) -> None:
    if not buildkitenv.BUSYBOX.exists():
        pytest.skip(f"{buildkitenv.BUSYBOX} is missing (apt-get install busybox-static)")
    first = buildkitenv.push_rootfs_image(registry, "base/a", "1", {"x": (b"#!/bin/sh\n", 0o755)})
    again = buildkitenv.push_rootfs_image(registry, "base/b", "1", {"x": (b"#!/bin/sh\n", 0o755)})
    assert first == again
    platform = buildkitenv.host_platform()
    assert registryenv.image_file(registry, "base/a", "1", platform, "x") == b"#!/bin/sh\n"
    # /bin/sh is busybox through a symbolic link.
    assert registryenv.image_file(registry, "base/a", "1", platform, "bin/sh") == (
        buildkitenv.BUSYBOX.read_bytes()
    )


def test_build_step_parsing() -> None:
    run = buildkitenv.BuildRun(
        [],
        0,
        "#1 [internal] load build definition from Dockerfile\n#1 DONE 0.1s\n\n"
        "#5 [2/3] RUN sleep 5\n#5 0.2 hi\n#5 CACHED\n\n"
        "#6 [3/3] COPY a /a\n#6 ERROR: boom\n\n#7 exporting\n#7 DONE 0.0s\n#8 exporting\n",
        "",
        1.0,
    )
    assert run.steps() == [
        ("[internal] load build definition from Dockerfile", "DONE"),
        ("[2/3] RUN sleep 5", "CACHED"),
        ("[3/3] COPY a /a", "ERROR"),
        ("exporting", "DONE"),
        ("exporting", ""),
    ]
    assert run.state("RUN sleep") == "CACHED"
    for absent_or_twice in ("nothing", "exporting"):
        with pytest.raises(AssertionError):
            run.state(absent_or_twice)
