"""GOOS/GOARCH pairs and detection of the host's."""

from __future__ import annotations

import platform as _platform
import re
from dataclasses import dataclass

from gobuild.errors import GobuildError

_SYSTEMS = {"linux": "linux", "darwin": "darwin"}
_MACHINES = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
}
_NAME = re.compile(r"^[a-z0-9]+$")


@dataclass(frozen=True, order=True)
class Platform:
    """A Go target, e.g. ``linux/amd64``."""

    goos: str
    goarch: str

    @classmethod
    def parse(cls, text: str) -> Platform:
        """Parse ``os/arch``."""
        goos, sep, goarch = text.partition("/")
        if not sep or not _NAME.match(goos) or not _NAME.match(goarch):
            raise GobuildError(f"invalid platform {text!r}: expected GOOS/GOARCH like linux/amd64")
        return cls(goos, goarch)

    @property
    def key(self) -> str:
        """File-name form used by caches and gobuild.lock: ``linux-amd64``."""
        return f"{self.goos}-{self.goarch}"

    def __str__(self) -> str:
        return f"{self.goos}/{self.goarch}"


def host(system: str | None = None, machine: str | None = None) -> Platform:
    """The GOOS/GOARCH of this machine (arguments override detection, for tests)."""
    system = (system or _platform.system()).lower()
    machine = (machine or _platform.machine()).lower()
    goos = _SYSTEMS.get(system)
    goarch = _MACHINES.get(machine)
    if goos is None or goarch is None:
        raise GobuildError(
            f"unsupported host {system}/{machine}: gobuild installs Go for "
            "linux and darwin on amd64 and arm64"
        )
    return Platform(goos, goarch)
