"""Fixtures the functional tests share."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import buildkitenv, dockerenv, godist, registryenv, s3env
from tests.faultproxy import FaultProxy

# The stand-in golang and alpine images the engine's tests build from (no registry here).
ENGINE_GO = "1.22.10"
ENGINE_ALPINE = "3.20"


@pytest.fixture(scope="module")
def engine() -> Iterator[str]:
    """The local Docker engine's client, with the stand-in base images made; else skip."""
    reason = dockerenv.unavailable()
    if reason:
        pytest.skip(f"docker tests skipped: {reason}")
    dockerenv.ensure_golang(ENGINE_GO, ENGINE_ALPINE)
    dockerenv.ensure_alpine(ENGINE_ALPINE)
    yield dockerenv.which_client()


# -- an OCI registry on loopback (tests/registryenv.py, tests/faultproxy.py) -------------

MakeRegistry = Callable[..., registryenv.Registry]


@pytest.fixture
def make_registry(tmp_path: Path) -> Iterator[MakeRegistry]:
    """Start registries (``users=``, ``tls=`` as :class:`registryenv.Registry` takes
    them), each in its own directory, all stopped after the test; else skip."""
    reason = registryenv.unavailable()
    if reason:
        pytest.skip(f"registry tests skipped: {reason}")
    started: list[registryenv.Registry] = []

    def make(**options: Any) -> registryenv.Registry:
        registry = registryenv.Registry(tmp_path / f"registry-{len(started)}", **options)
        started.append(registry)
        registry.start()
        return registry

    try:
        yield make
    finally:
        for registry in started:
            registry.stop()


@pytest.fixture
def registry(make_registry: MakeRegistry) -> registryenv.Registry:
    """An empty registry without auth, started in 0.1 s: one per test, no shared state."""
    return make_registry()


@pytest.fixture
def fault_proxy(registry: registryenv.Registry) -> Iterator[FaultProxy]:
    """A :class:`FaultProxy` in front of ``registry``, no rule armed."""
    with FaultProxy(registry.url, cafile=registry.cafile) as proxy:
        yield proxy


# -- a BuildKit daemon on loopback with mutual TLS (tests/buildkitenv.py) ----------------


@pytest.fixture(scope="session")
def buildkit() -> buildkitenv.BuildkitBinaries:
    """buildkitd and buildctl, built once per machine into the test cache (minutes on
    a fresh one: BuildKit from the module proxy with Go 1.27.3); else skip."""
    reason = buildkitenv.unavailable()
    if reason:
        pytest.skip(f"buildkit tests skipped: {reason}")
    cache = buildkitenv.cache_root()
    try:
        binaries = buildkitenv.ensure_buildkit(
            cache,
            go=lambda scratch: buildkitenv.extract_go(
                godist.real_archive(buildkitenv.GO_VERSION), scratch
            ),
        )
    except buildkitenv.BuildkitError as error:
        pytest.skip(f"buildkit tests skipped: {error}")
    reason = buildkitenv.unavailable(binaries)
    if reason:
        pytest.skip(f"buildkit tests skipped: {reason}")
    return binaries


MakeBuildkitd = Callable[..., buildkitenv.Buildkitd]


@pytest.fixture(scope="module")
def buildkitd(
    buildkit: buildkitenv.BuildkitBinaries, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[buildkitenv.Buildkitd]:
    """A started rootful buildkitd on tcp://127.0.0.1:PORT demanding a client
    certificate (its own test CA; ``buildctl_argv()`` carries the client's), shared by
    a module's tests. Loopback registries (the ``registry`` fixture) are plain HTTP to it."""
    with buildkitenv.Buildkitd(buildkit, tmp_path_factory.mktemp("buildkitd")) as daemon:
        yield daemon


@pytest.fixture
def make_buildkitd(
    buildkit: buildkitenv.BuildkitBinaries, tmp_path: Path
) -> Iterator[MakeBuildkitd]:
    """Start more buildkitds, each with an empty state directory of its own
    (``options`` as :class:`buildkitenv.Buildkitd` takes them), stopped after the test."""
    started: list[buildkitenv.Buildkitd] = []

    def make(**options: Any) -> buildkitenv.Buildkitd:
        daemon = buildkitenv.Buildkitd(buildkit, tmp_path / f"buildkitd-{len(started)}", **options)
        started.append(daemon)
        daemon.start()
        return daemon

    try:
        yield make
    finally:
        for daemon in started:
            daemon.stop()


# -- a shared Go build cache on loopback (tests/s3env.py) --------------------------------


@pytest.fixture(scope="session")
def s3_go() -> Path:
    """Go 1.27.3's GOROOT for the plain go command (unpacked once per machine)."""
    return s3env.extract_goroot(godist.real_archive(s3env.GO_VERSION))


@pytest.fixture(scope="session")
def s3_tools(s3_go: Path) -> tuple[Path, Path]:
    """go-cache-plugin and versitygw, built once per machine into the test cache (about
    2 and 3.5 minutes on a fresh one, from the module proxy); else skip."""
    reason = s3env.unavailable()
    if reason:
        pytest.skip(f"shared-cache tests skipped: {reason}")
    return s3env.ensure_cache_plugin(s3_go), s3env.ensure_s3_server(s3_go)


@pytest.fixture(scope="session")
def cache_plugin(s3_tools: tuple[Path, Path]) -> Path:
    """The GOCACHEPROG program (tailscale's go-cache-plugin, pinned)."""
    return s3_tools[0]


@pytest.fixture
def s3_server(s3_tools: tuple[Path, Path], tmp_path: Path) -> Iterator[s3env.S3Server]:
    """An S3-compatible server on 127.0.0.1 with an empty bucket and random credentials
    (required: anything unsigned or signed otherwise is refused), stopped after the test."""
    with s3env.S3Server(tmp_path / "s3", s3_tools[1]) as server:
        yield server
