"""Building and checking the project's image on a Docker engine.

The build goes through a docker client with BuildKit (the generated
Dockerfile uses cache and secret mounts, which only BuildKit has): ``docker
buildx build --load`` when buildx is installed, else a pre-23 client with
DOCKER_BUILDKIT=1. Everything else (engine access, base-image checks,
inspect, the smoke run, reading the binary back out) uses the docker SDK.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import tarfile
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gobuild import proc
from gobuild.errors import DockerError

if TYPE_CHECKING:
    import docker

DEBIAN_DOCKER = "/usr/bin/docker"
# Build args every generated Dockerfile declares (VERSION, COMMIT, DATE, TREE_STATE).
VALUE_ARGS = {"version": "VERSION", "commit": "COMMIT", "date": "DATE", "tree_state": "TREE_STATE"}


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


def find_builder(environ: Mapping[str, str]) -> Builder:
    """The first client that can build with BuildKit: $GOBUILD_DOCKER, PATH, Debian's."""
    candidates: list[str] = []
    if environ.get("GOBUILD_DOCKER"):
        candidates.append(environ["GOBUILD_DOCKER"])
    for folder in environ.get("PATH", "").split(os.pathsep):
        found = shutil.which("docker", path=folder) if folder else None
        if found:
            candidates.append(found)
    candidates.append(DEBIAN_DOCKER)
    tried: list[str] = []
    env = dict(environ)
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


def connect(environ: Mapping[str, str]) -> docker.DockerClient:
    """A client for the engine DOCKER_HOST (or the default socket) names, checked."""
    import docker  # noqa: PLC0415 - the SDK pulls in requests; only image work needs it

    where = environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    try:
        client = docker.DockerClient.from_env(environment=dict(environ), timeout=120)
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


def build(
    builder: Builder,
    root: Path,
    *,
    tag: str,
    values: Mapping[str, str],
    environ: Mapping[str, str],
    dockerfile: str = "Dockerfile",
) -> str:
    """Build ``root`` with its Dockerfile and return the image id."""
    argv = [*builder.argv(), "-f", str(root / dockerfile), "-t", tag]
    for key, arg in VALUE_ARGS.items():
        argv += ["--build-arg", f"{arg}={values[key]}"]
    netrc = Path(environ.get("NETRC") or Path(environ.get("HOME", "~")).expanduser() / ".netrc")
    if netrc.is_file():
        # Private modules: credentials reach only the secret mount, never an ARG or layer.
        argv += ["--secret", f"id=netrc,src={netrc}"]
    with tempfile.TemporaryDirectory(prefix="gobuild-image-") as tmp:
        iid = Path(tmp) / "iid"
        argv += ["--iidfile", str(iid), str(root)]
        proc.run(argv, env=builder.environ(environ), cwd=root)
        return iid.read_text().strip()


@dataclass(frozen=True)
class Checked:
    """What the checks of a built image found."""

    image_id: str
    size: int
    base_size: int
    user: str
    labels: dict[str, str]
    binary_sha256: str
    binary_size: int
    smoke_exit: int
    smoke_output: str


def check(
    client: docker.DockerClient,
    image_id: str,
    *,
    binary_path: str,
    base: str | None,
    labels: Mapping[str, str],
    smoke_args: list[str],
    smoke_timeout: float,
) -> Checked:
    """Labels, a numeric non-root USER, the smoke run and the binary's sha256."""
    img = client.images.get(image_id)
    config: dict[str, Any] = img.attrs.get("Config") or {}
    user = str(config.get("User") or "")
    uid = user.split(":", 1)[0]
    if not uid.isdigit() or int(uid) == 0:
        raise DockerError(
            f"image {image_id[:19]} runs as {user or 'root'!r}: want a numeric non-root USER"
        )
    found = dict(config.get("Labels") or {})
    wrong = {k: (v, found.get(k)) for k, v in labels.items() if found.get(k) != v}
    if wrong:
        detail = "; ".join(f"{k}: want {w!r}, got {g!r}" for k, (w, g) in sorted(wrong.items()))
        raise DockerError(f"image labels differ: {detail}")
    data = _read_file(client, image_id, binary_path)
    code, output = _smoke(client, image_id, smoke_args, smoke_timeout)
    if code != 0:
        raise DockerError(
            f"smoke run `{' '.join([binary_path, *smoke_args])}` exited {code}: {output[-2000:]}"
        )
    base_size = client.images.get(base).attrs["Size"] if base else 0
    return Checked(
        image_id=image_id,
        size=int(img.attrs["Size"]),
        base_size=int(base_size),
        user=user,
        labels=found,
        binary_sha256=hashlib.sha256(data).hexdigest(),
        binary_size=len(data),
        smoke_exit=code,
        smoke_output=output,
    )


def _read_file(client: docker.DockerClient, image_id: str, path: str) -> bytes:
    container = client.containers.create(image_id)
    try:
        stream, _ = container.get_archive(path)
        buf = io.BytesIO(b"".join(stream))
    finally:
        container.remove(force=True)
    with tarfile.open(fileobj=buf) as tar:
        member = tar.next()
        f = tar.extractfile(member) if member else None
        if f is None:
            raise DockerError(f"{path} in the image is not a regular file")
        return f.read()


def _smoke(
    client: docker.DockerClient, image_id: str, args: list[str], timeout: float
) -> tuple[int, str]:
    import requests  # noqa: PLC0415 - the SDK's transport; its timeout is what wait raises

    container = client.containers.create(image_id, command=args, network_disabled=True)
    try:
        container.start()
        try:
            result = container.wait(timeout=timeout)
        except requests.exceptions.ConnectionError:
            raise DockerError(f"smoke run did not finish within {timeout:g}s") from None
        output = container.logs(stdout=True, stderr=True).decode("utf-8", errors="replace")
        return int(result.get("StatusCode", -1)), output
    finally:
        container.remove(force=True)


def tag_for(name: str, version: str) -> str:
    """``name:version`` with the version made a valid tag (``+`` and others become ``-``)."""
    tag = re.sub(r"[^A-Za-z0-9_.-]", "-", version).lstrip(".-")[:128] or "latest"
    return f"{name}:{tag}"
