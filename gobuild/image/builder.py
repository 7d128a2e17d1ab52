"""Where an image builds: one decision, made here.

In order: ``[docker] builder`` in gobuild.toml, else ``$BUILDKIT_HOST``, else the Docker
engine's own BuildKit (DOCKER_HOST, through a docker client: :mod:`.client`). A builder
is one of

- a BuildKit address (``tcp://``, ``unix://``, ``docker-container://`` and the other
  schemes ``buildctl --addr`` takes): gobuild drives it with the pinned buildctl
  (:mod:`.buildkit`), with the client certificate of ``[docker] builder_tls`` (a
  directory in ``buildctl --tlsdir``'s layout: ca.pem, cert.pem, key.pem);
- ``docker``: the engine, as without a setting;
- the name of a buildx builder, resolved from the Docker config's buildx instances
  (``$DOCKER_CONFIG/buildx/instances/NAME``, the file ``docker buildx create`` writes),
  so that no buildx plugin is needed: a ``remote`` builder is its endpoint with its
  TLS files, a ``docker-container`` one the BuildKit container buildx started, a
  ``docker`` one the engine.

The decision reads files only (no connection): whether the builder answers is asked
when a build starts (:func:`gobuild.image.buildkit.reach`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from gobuild.errors import BuilderError
from gobuild.project.config import Project
from gobuild.project.environ import Environment
from gobuild.project.remotes import check_builder

# The files of a buildctl --tlsdir, in the order of its flags.
TLS_FILES = ("ca.pem", "cert.pem", "key.pem")
# buildx names the BuildKit container of a docker-container builder's node so.
BUILDX_CONTAINER = "buildx_buildkit_"


@dataclass(frozen=True)
class ClientTLS:
    """The CA that signs the builder's certificate, and the client's certificate and key."""

    ca: Path
    cert: Path
    key: Path

    def flags(self) -> list[str]:
        """buildctl's global TLS flags."""
        return ["--tlscacert", str(self.ca), "--tlscert", str(self.cert), "--tlskey", str(self.key)]


@dataclass(frozen=True)
class Remote:
    """A BuildKit daemon gobuild drives with buildctl."""

    address: str
    tls: ClientTLS | None
    source: str  # what named it: "[docker] builder", "BUILDKIT_HOST", "buildx builder X"

    def flags(self) -> list[str]:
        """buildctl's global flags that reach this daemon."""
        return ["--addr", self.address, *(self.tls.flags() if self.tls else [])]

    @property
    def shown(self) -> str:
        """The address as reports and errors show it (no password of an ssh:// URL)."""
        return shown(self.address)

    def __str__(self) -> str:
        return f"BuildKit {self.shown} ({self.source}{', mutual TLS' if self.tls else ''})"


@dataclass(frozen=True)
class Engine:
    """The Docker engine's own BuildKit, through a docker client."""

    source: str  # "default", "[docker] builder", "buildx builder X"


Choice = Remote | Engine


def shown(address: str) -> str:
    """``address`` without a password (only ssh:// may carry a user at all)."""
    parts = urlsplit(address)
    if parts.password is None:
        return address
    netloc = f"{parts.username}@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return parts._replace(netloc=netloc).geturl()


def choose(project: Project) -> Choice:
    """The builder of ``project``'s images (see the module); BuilderError, naming the
    builder, when a setting names one that cannot be used."""
    docker = project.settings.docker
    environ = project.env
    if docker.builder is not None:
        value, source = docker.builder, "[docker] builder"
    elif environ.buildkit_host is not None:
        value, source = environ.buildkit_host, "BUILDKIT_HOST"
        try:
            check_builder(value)
        except ValueError as exc:
            raise BuilderError(f"BUILDKIT_HOST: {exc}") from None
        if "://" not in value:
            raise BuilderError(f"BUILDKIT_HOST={value!r} is not a BuildKit address like tcp://h:p")
    else:
        return Engine("default")
    if value == "docker":
        return Engine(source)
    tls = _tls_dir(project, value) if docker.builder_tls is not None else None
    if "://" in value:
        return Remote(value, tls, source)
    return buildx(value, environ, tls)


def _tls_dir(project: Project, address: str) -> ClientTLS:
    """``[docker] builder_tls`` (relative to the project root) as buildctl's TLS files,
    each checked to exist now, so a missing one is named before any connection."""
    configured = project.settings.docker.builder_tls
    assert configured is not None
    directory = project.root / configured
    missing = [name for name in TLS_FILES if not (directory / name).is_file()]
    if missing:
        raise BuilderError(
            f"builder {shown(address)}: [docker] builder_tls {configured} lacks "
            f"{', '.join(missing)} (wanted: {', '.join(TLS_FILES)}, as buildctl --tlsdir)"
        )
    return ClientTLS(*(directory / name for name in TLS_FILES))


def buildx(name: str, environ: Environment, tls: ClientTLS | None = None) -> Choice:
    """The buildx builder ``name`` from the Docker config's instances (see the module);
    ``tls`` (``[docker] builder_tls``) overrides a remote builder's own TLS files."""
    source = f"buildx builder {name}"
    path = environ.docker_config / "buildx" / "instances" / name
    try:
        instance = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        if name == "default":  # buildx's name for the engine's own builder
            return Engine(source)
        raise BuilderError(
            f"no buildx builder named {name!r} ({path} is missing): "
            "`docker buildx create --name` it, or set [docker] builder to a BuildKit address"
        ) from None
    except (OSError, ValueError) as exc:
        raise BuilderError(f"buildx builder {name!r}: cannot read {path}: {exc}") from None
    try:
        driver = str(instance.get("Driver") or "")
        node = instance["Nodes"][0]
        endpoint = str(node.get("Endpoint") or "")
        options = node.get("DriverOpts") or {}
        node_name = str(node.get("Name") or "")
    except (AttributeError, KeyError, IndexError, TypeError):
        raise BuilderError(f"buildx builder {name!r}: {path} names no node") from None
    if driver == "docker":
        return Engine(source)
    if driver == "docker-container" and node_name:
        # Its Endpoint is the engine running the container, not BuildKit itself.
        return Remote(f"docker-container://{BUILDX_CONTAINER}{node_name}", None, source)
    if driver == "remote" and "://" in endpoint:
        if tls is None and options.get("cacert") and options.get("cert") and options.get("key"):
            tls = ClientTLS(Path(options["cacert"]), Path(options["cert"]), Path(options["key"]))
            missing = [str(p) for p in (tls.ca, tls.cert, tls.key) if not p.is_file()]
            if missing:
                raise BuilderError(
                    f"builder {shown(endpoint)} ({source}): missing TLS file {', '.join(missing)}"
                )
        return Remote(endpoint, tls, source)
    raise BuilderError(
        f"buildx builder {name!r} uses the {driver or 'unknown'} driver, which gobuild cannot "
        "drive without buildx: set [docker] builder to its BuildKit address"
    )
