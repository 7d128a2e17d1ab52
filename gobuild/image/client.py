"""The docker client that builds (BuildKit) and the engine it talks to.

The build goes through a docker client with BuildKit (the generated Dockerfile uses
cache and secret mounts, which only BuildKit has): ``docker buildx build --load``
when buildx is installed, else a pre-23 client with DOCKER_BUILDKIT=1. Everything
else (engine access, base images, inspection) uses the docker SDK.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gobuild import proc
from gobuild.errors import DockerError
from gobuild.project.environ import Environment

if TYPE_CHECKING:
    import docker

DEBIAN_DOCKER = "/usr/bin/docker"


@dataclass(frozen=True)
class Builder:
    """A docker client able to run BuildKit builds, and how to ask it."""

    client: str
    mode: str  # "buildx" or "DOCKER_BUILDKIT=1"
    version: str

    def argv(self) -> list[str]:
        """The command prefix for a build that loads the result into the engine."""
        if self.mode == "buildx":
            return [self.client, "buildx", "build", "--load"]
        return [self.client, "build"]

    def environ(self, base: Mapping[str, str]) -> dict[str, str]:
        """``base`` plus what this client needs to use BuildKit."""
        return {**base, "DOCKER_BUILDKIT": "1"}

    def __str__(self) -> str:
        return f"{self.client} {self.version} ({self.mode})"


def find_builder(environ: Environment) -> Builder:
    """The first client that can build with BuildKit: $GOBUILD_DOCKER, PATH, Debian's."""
    candidates: list[str] = []
    if environ.docker_client:
        candidates.append(environ.docker_client)
    for folder in environ.path.split(os.pathsep):
        found = shutil.which("docker", path=folder) if folder else None
        if found:
            candidates.append(found)
    candidates.append(DEBIAN_DOCKER)
    tried: list[str] = []
    env = environ.for_children()
    for client in dict.fromkeys(candidates):
        if not Path(client).exists():
            continue
        ask = [client, "version", "--format", "{{.Client.Version}}"]
        version = proc.run(ask, check=False, env=env, timeout=60).stdout.strip()
        buildx = proc.run([client, "buildx", "version"], check=False, env=env, timeout=60)
        if buildx.returncode == 0:
            return Builder(client, "buildx", version)
        # Clients before 23.0 still carry the classic BuildKit path; later ones need buildx.
        major = version.split(".", 1)[0]
        if major.isdigit() and int(major) < 23:
            return Builder(client, "DOCKER_BUILDKIT=1", version)
        tried.append(f"{client} {version or '?'} (no buildx)")
    raise DockerError(
        "no docker client can build with BuildKit"
        + (f" (tried {', '.join(tried)})" if tried else "")
        + ": install the buildx plugin, or set GOBUILD_DOCKER to a client older than 23"
    )


def connect(environ: Environment) -> docker.DockerClient:
    """A client for the engine DOCKER_HOST (or the default socket) names, checked."""
    import docker  # noqa: PLC0415 - the SDK pulls in requests; only image work needs it

    where = environ.docker_host or "unix:///var/run/docker.sock"
    try:
        client = docker.DockerClient.from_env(environment=environ.for_children(), timeout=120)
        client.ping()
    except docker.errors.DockerException as exc:
        raise DockerError(
            f"no Docker engine reachable at {where}: start dockerd or set DOCKER_HOST ({exc})"
        ) from None
    return client


def require_images(client: docker.DockerClient, refs: list[str]) -> None:
    """Each base image must be on the engine (or pullable); say which is missing."""
    import docker  # noqa: PLC0415

    for ref in refs:
        try:
            client.images.get(ref)
            continue
        except docker.errors.ImageNotFound:
            pass
        try:
            client.images.pull(ref)
        except docker.errors.DockerException:
            raise DockerError(
                f"base image {ref} is not on the Docker engine and could not be pulled "
                "(no registry may be reachable from here): pull, load or import it first"
            ) from None


def engine_platform(client: docker.DockerClient) -> str:
    """The engine's own platform, ``linux/amd64``: what it builds and runs by default."""
    version = client.version()
    return f"{version.get('Os', 'linux')}/{version.get('Arch', '')}"
