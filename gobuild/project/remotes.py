"""Where work can go beyond this machine: a shared Go build cache and a BuildKit builder.

gobuild.toml names the places (``[cache] remote``, ``[docker] builder`` and ``cache``);
credentials never go there: they come from the environment (the AWS variables for the
cache, TLS files and the Docker config for builders and registries). The checks here
run at load time, so a typo names the file and key instead of failing a build later.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from gobuild.network.redact import redact

# S3 bucket names: 3-63 lower-case letters, digits, dots and hyphens.
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_PREFIX = re.compile(r"^[A-Za-z0-9!_.*'()/-]+$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z0-9]+)+$")
# The addresses buildctl --addr takes (BuildKit's connection helpers included).
BUILDER_SCHEMES = (
    "tcp",
    "unix",
    "docker-container",
    "podman-container",
    "nerdctl-container",
    "kube-pod",
    "ssh",
)
# A buildx builder's name, as `docker buildx create --name` accepts it.
_BUILDX_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


@dataclass(frozen=True)
class Bucket:
    """An S3 location: bucket and key prefix (without slashes at either end)."""

    name: str
    prefix: str

    def __str__(self) -> str:
        return f"s3://{self.name}" + (f"/{self.prefix}" if self.prefix else "")


def parse_remote(value: str) -> Bucket:
    """``s3://bucket[/prefix]``, or ValueError saying what a remote cache must be."""
    parts = urlsplit(value)
    if "@" in parts.netloc:  # checked first: the message must not repeat a secret
        raise ValueError(f"{redact(value)!r}: no credentials here (they come from AWS_*)")
    if parts.scheme != "s3":
        raise ValueError(
            f"{value!r}: a remote cache is an S3 location like s3://bucket/prefix "
            "(S3-compatible stores take [cache] endpoint)"
        )
    if parts.query or parts.fragment:
        raise ValueError(f"{value!r}: an S3 location has no query or fragment")
    if not _BUCKET.match(parts.netloc) or ".." in parts.netloc:
        raise ValueError(f"{value!r}: {parts.netloc!r} is not an S3 bucket name")
    prefix = parts.path.strip("/")
    if prefix and (not _PREFIX.match(prefix) or "//" in prefix):
        raise ValueError(f"{value!r}: the prefix {prefix!r} holds characters S3 keys avoid")
    return Bucket(parts.netloc, prefix)


def check_endpoint(value: str) -> str:
    """An http(s) URL of an S3-compatible store, without credentials or a path."""
    parts = urlsplit(value)
    if "@" in parts.netloc:  # checked first: the message must not repeat a secret
        raise ValueError(f"{redact(value)!r}: no credentials in the URL (they come from AWS_*)")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an http:// or https:// URL")
    if parts.path.strip("/") or parts.query or parts.fragment:
        raise ValueError(f"{value!r}: the endpoint is a host (and port), with no path")
    return value.rstrip("/")


def check_region(value: str) -> str:
    """An AWS-style region name (S3-compatible stores accept us-east-1)."""
    if not _REGION.match(value):
        raise ValueError(f"{value!r} is not a region like us-east-1")
    return value


def check_builder(value: str) -> str:
    """A BuildKit address (``tcp://host:port``, ``unix:///run/buildkit/buildkitd.sock``,
    ``docker-container://NAME``, ...), ``docker`` (the engine's own BuildKit) or the
    name of a buildx builder."""
    if value == "docker" or _BUILDX_NAME.match(value):
        return value
    scheme, sep, rest = value.partition("://")
    if not sep or scheme not in BUILDER_SCHEMES or not rest:
        schemes = ", ".join(f"{s}://" for s in BUILDER_SCHEMES)
        raise ValueError(
            f"{value!r} is not a builder: a BuildKit address ({schemes}), "
            "'docker' or a buildx builder's name"
        )
    if any(c.isspace() for c in value) or (scheme != "ssh" and "@" in rest.split("/", 1)[0]):
        raise ValueError(f"{value!r}: no spaces or credentials in a builder address")
    return value
