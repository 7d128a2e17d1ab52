"""What gobuild reads from the environment, read once into one value.

:func:`current` is the only reader of ``os.environ`` in gobuild: each front end
calls it once and passes the :class:`Environment` down. Every variable gobuild
itself looks at has a property here, so this file is the list of them; child
processes inherit the whole environment (:meth:`Environment.for_children`).
Standard library only: the front ends' fast paths stamp it before loading anything.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gobuild.network.config import Network

# The variables a loaded project depends on (gobuild.project.config, platformdirs'
# cache directory, and CC for a check plan's race units): a remembered answer stamped
# with them is stale when one changes.
CONFIG_KEYS = (
    "GOBUILD_PROFILE",
    "GOBUILD_TAGS",
    "GOBUILD_CACHE",
    "GOBUILD_GO_MIRROR",
    "SOURCE_DATE_EPOCH",
    "HOME",
    "XDG_CACHE_HOME",
    "CC",
)


@dataclass(frozen=True)
class Environment:
    """A read-only copy of the environment gobuild runs in."""

    variables: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "variables", MappingProxyType(dict(self.variables)))

    def __reduce__(self) -> tuple[type[Environment], tuple[dict[str, str]]]:
        # A read-only mapping does not pickle; doit's parallel runner pickles task actions.
        return (Environment, (dict(self.variables),))

    def _get(self, name: str) -> str | None:
        return self.variables.get(name)

    # -- gobuild's own settings -------------------------------------------------------------

    @property
    def profile(self) -> str | None:
        """GOBUILD_PROFILE: the profile to build with."""
        return self._get("GOBUILD_PROFILE")

    @property
    def tags(self) -> str:
        """GOBUILD_TAGS: extra build tags, comma or space separated."""
        return self._get("GOBUILD_TAGS") or ""

    @property
    def cache(self) -> str | None:
        """GOBUILD_CACHE: the toolchain cache directory."""
        return self._get("GOBUILD_CACHE") or None

    @property
    def mirror(self) -> str | None:
        """GOBUILD_GO_MIRROR: a mirror of go.dev's layout."""
        return self._get("GOBUILD_GO_MIRROR") or None

    @property
    def source_date_epoch(self) -> str | None:
        """SOURCE_DATE_EPOCH: the embedded date instead of the commit's."""
        return self._get("SOURCE_DATE_EPOCH")

    @property
    def docker_client(self) -> str | None:
        """GOBUILD_DOCKER: the docker client to build images with."""
        return self._get("GOBUILD_DOCKER") or None

    # -- the machine's ---------------------------------------------------------------------

    @property
    def path(self) -> str:
        """PATH: where linters and clients are looked up (unset: the system's default)."""
        found = self._get("PATH")
        return os.defpath if found is None else found

    @property
    def cc(self) -> str | None:
        """CC: the C compiler cgo runs (unset: the go command's default, gcc or clang)."""
        return self._get("CC") or None

    @property
    def docker_host(self) -> str | None:
        """DOCKER_HOST: the Docker engine's address."""
        return self._get("DOCKER_HOST") or None

    @property
    def buildkit_host(self) -> str | None:
        """BUILDKIT_HOST: a BuildKit daemon's address, where images build when
        ``[docker] builder`` names none (buildctl's own variable)."""
        return self._get("BUILDKIT_HOST") or None

    @property
    def docker_config(self) -> Path:
        """DOCKER_CONFIG, else ~/.docker: the Docker client's configuration directory
        (registry logins, buildx builders)."""
        explicit = self._get("DOCKER_CONFIG")
        if explicit:
            return Path(explicit)
        return Path(self._get("HOME") or "~").expanduser() / ".docker"

    @property
    def netrc(self) -> Path:
        """NETRC, else ~/.netrc: credentials for private modules."""
        explicit = self._get("NETRC")
        if explicit:
            return Path(explicit)
        return Path(self._get("HOME") or "~").expanduser() / ".netrc"

    # -- the go command's module settings (read as the go command reads them) ---------------

    @property
    def goproxy(self) -> str | None:
        """GOPROXY: the module proxy list (unset: Go's default)."""
        return self._get("GOPROXY") or None

    @property
    def gosumdb(self) -> str | None:
        """GOSUMDB: the checksum database (unset: sum.golang.org)."""
        return self._get("GOSUMDB") or None

    @property
    def gonosumdb(self) -> str:
        """GONOSUMDB (else GOPRIVATE): module path patterns the checksum database skips."""
        return self._get("GONOSUMDB") or self._get("GOPRIVATE") or ""

    @property
    def network(self) -> Network:
        """The network these variables describe: HTTP_PROXY, HTTPS_PROXY, NO_PROXY (and
        their lower-case forms), SSL_CERT_FILE, SSL_CERT_DIR, GOAUTH, NETRC and HOME
        (see :mod:`gobuild.network`). A new value on each call: nothing is read yet."""
        # Imported here: this module stays standard-library only for the fast paths.
        from gobuild.network.config import Network  # noqa: PLC0415

        return Network.from_variables(self.variables)

    @property
    def user_session_bus(self) -> bool:
        """Whether a systemd user session bus is there (systemd-run --user needs it)."""
        runtime = self._get("XDG_RUNTIME_DIR") or ""
        return bool(self._get("DBUS_SESSION_BUS_ADDRESS")) or bool(
            runtime and Path(runtime, "bus").exists()
        )

    # -- passing it on ---------------------------------------------------------------------

    def for_children(self, **overrides: str) -> dict[str, str]:
        """A copy for a child process's environment, with ``overrides`` set."""
        return {**self.variables, **overrides}

    def with_variables(self, **overrides: str) -> Environment:
        """This environment with ``overrides`` set."""
        return Environment(self.for_children(**overrides))

    def stamp(self) -> str:
        """The values of :data:`CONFIG_KEYS` (unset and empty differ), for memo stamps."""
        return json.dumps([self._get(k) for k in CONFIG_KEYS])


def current() -> Environment:
    """The process's environment, now (the one read of ``os.environ``)."""
    return Environment(os.environ)
