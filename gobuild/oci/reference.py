"""Image references: ``[HOST[:PORT]/]PATH[:TAG][@DIGEST]``, as the docker client reads them.

A first component with a dot or a port, or ``localhost``, is a registry; otherwise the
image is on Docker Hub (``alpine`` is ``docker.io/library/alpine``). A loopback
registry is spoken to over plain http, as the Docker engine does by default; every
other over https.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from gobuild.errors import ConfigError

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"
# The key Docker Hub's credentials are stored under in a Docker config.
DOCKER_HUB_CONFIG_KEY = "https://index.docker.io/v1/"

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REFERENCE = re.compile(
    rf"^(?P<name>(?:[A-Za-z0-9.-]+(?::[0-9]+)?/|\[[0-9a-fA-F:]+\](?::[0-9]+)?/)?"
    rf"{_COMPONENT}(?:/{_COMPONENT})*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?"
    r"(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)


@dataclass(frozen=True)
class Reference:
    """One image: registry host, repository path, and a tag, a digest or both."""

    registry: str  # "ghcr.io", "127.0.0.1:5000", "docker.io"
    repository: str  # "acme/app", "library/alpine"
    tag: str | None = None
    digest: str | None = None

    def __str__(self) -> str:
        text = f"{self.registry}/{self.repository}"
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text

    @property
    def identifier(self) -> str:
        """What the manifests endpoint is asked for: the digest if known, else the tag."""
        return self.digest or self.tag or "latest"

    @property
    def api_host(self) -> str:
        """The host the distribution API answers on (Docker Hub's differs from its name)."""
        return DOCKER_HUB_API if self.registry == DOCKER_HUB else self.registry

    @property
    def base_url(self) -> str:
        """``https://HOST/v2/REPOSITORY`` (http for a loopback registry)."""
        scheme = "http" if is_loopback(self.registry) else "https"
        return f"{scheme}://{self.api_host}/v2/{self.repository}"

    def with_tag(self, tag: str) -> Reference:
        """The same repository at ``tag`` (no digest)."""
        return Reference(self.registry, self.repository, tag)

    def with_digest(self, digest: str) -> Reference:
        """The same repository at ``digest`` (the tag kept for messages)."""
        return Reference(self.registry, self.repository, self.tag, digest)


def is_loopback(registry: str) -> bool:
    """Whether ``registry`` (``HOST[:PORT]``) is this machine: localhost or a loopback IP."""
    host = registry.rsplit(":", 1)[0] if not registry.endswith("]") else registry
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse(text: str, what: str = "image reference") -> Reference:
    """``text`` as a :class:`Reference`; ConfigError naming ``what`` when it is not one."""
    m = _REFERENCE.match(text)
    if m is None:
        raise ConfigError(
            f"{what} {text!r} is not an image reference ([HOST[:PORT]/]PATH[:TAG][@sha256:…])"
        )
    name = m["name"]
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost" or first.startswith("[")):
        registry, path = first, rest
    else:
        registry, path = DOCKER_HUB, name
    if registry == DOCKER_HUB and "/" not in path:
        path = f"library/{path}"
    if path != path.lower():
        raise ConfigError(f"{what} {text!r}: a repository path is lower case")
    return Reference(registry, path, m["tag"], m["digest"])
