"""Checking a built image: labels, a numeric non-root USER, a smoke run of its
entrypoint, and the binary's bytes read back out."""

from __future__ import annotations

import hashlib
import io
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gobuild.errors import DockerError

if TYPE_CHECKING:
    import docker


@dataclass(frozen=True)
class Checked:
    """What the checks of a built image found."""

    image_id: str
    size: int
    base_size: int | None  # None: the base image is not on the engine (a remote build)
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
    base_size = _size(client, base) if base else 0
    return Checked(
        image_id=image_id,
        size=int(img.attrs["Size"]),
        base_size=base_size,
        user=user,
        labels=found,
        binary_sha256=hashlib.sha256(data).hexdigest(),
        binary_size=len(data),
        smoke_exit=code,
        smoke_output=output,
    )


def _size(client: docker.DockerClient, ref: str) -> int | None:
    """The size of the image ``ref`` on the engine, None when it is not there (a base a
    remote builder pulled, which the engine never needed)."""
    import docker  # noqa: PLC0415

    try:
        return int(client.images.get(ref).attrs["Size"])
    except docker.errors.ImageNotFound:
        return None


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
