"""What a project's image is, wherever it is made: which binary it runs and where, on
which runtime base, as which user, with which labels, ports and healthcheck.

One description for the generated Dockerfiles (gobuild.render) and the image a
release writes itself (gobuild.release.image), so the two cannot drift apart.
"""

from __future__ import annotations

import re

from gobuild.builds.plan import checked_binaries
from gobuild.errors import ConfigError
from gobuild.project.config import Project
from gobuild.project.settings import BinarySection, DockerSection

DISTROLESS = "gcr.io/distroless/static-debian12"
BIN_DIR = "/usr/local/bin"


def image_binary(project: Project) -> BinarySection:
    """The binary the image runs: ``[docker] binary``, else the first one."""
    binaries = checked_binaries(project)
    wanted = project.settings.docker.binary
    if wanted is None:
        return binaries[0]
    for b in binaries:
        if b.name == wanted:
            return b
    raise ConfigError(f"docker.binary {wanted!r} is not one of {[b.name for b in binaries]}")


def binary_path(binary: BinarySection) -> str:
    """Where the image holds its binary: ``/usr/local/bin/NAME``."""
    return f"{BIN_DIR}/{binary.name}"


def image_name(project: Project) -> str:
    """The repository ``doit image`` tags: ``[docker] name`` or the binary's name."""
    name = project.settings.docker.name
    if name:
        return name
    base = re.sub(r"[^a-z0-9._-]+", "-", image_binary(project).name.lower()).strip("._-")
    return base or "app"


def runtime_ref(docker: DockerSection, alpine_tag: str) -> str | None:
    """The runtime base image reference (None for scratch); ``alpine_tag`` is the alpine
    tag as written where it lands (a version, or the Dockerfile's ``${ALPINE_VERSION}``)."""
    if docker.runtime == "scratch":
        return None
    if docker.runtime == "alpine":
        image, tag = docker.runtime_image or "alpine", docker.runtime_tag or alpine_tag
    else:
        image, tag = docker.runtime_image or DISTROLESS, docker.runtime_tag or "nonroot"
    ref = f"{image}:{tag}"
    return ref + (f"@{docker.runtime_digest}" if docker.runtime_digest else "")


def source_url(project: Project) -> str:
    """The org.opencontainers.image.source label: configured, or from the module path."""
    configured = project.settings.docker.source
    if configured is not None:
        return configured
    module = project.gomod.module
    host = module.split("/", 1)[0]
    # Hosting sites whose module paths are also browsable URLs.
    if host in ("github.com", "gitlab.com", "bitbucket.org", "codeberg.org"):
        return "https://" + "/".join(module.split("/")[:3])
    return module


def static_labels(project: Project, binary: BinarySection) -> dict[str, str]:
    """The labels fixed by the configuration (version, revision and created vary)."""
    return {
        "org.opencontainers.image.title": binary.name,
        "org.opencontainers.image.source": source_url(project),
        **project.settings.docker.labels,
    }


def commit_labels(version: str, commit: str, date: str) -> dict[str, str]:
    """The labels that name the commit an image was made from."""
    return {
        "org.opencontainers.image.version": version,
        "org.opencontainers.image.revision": commit,
        "org.opencontainers.image.created": date,
    }


def version_tag(version: str) -> str:
    """``version`` as an image tag: characters a tag cannot hold (``+``, ...) become ``-``."""
    return re.sub(r"[^A-Za-z0-9_.-]", "-", version).lstrip(".-")[:128] or "latest"
