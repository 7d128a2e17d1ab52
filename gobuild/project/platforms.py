"""Go targets: GOOS/GOARCH pairs, variants (GOAMD64, GOARM, GO386), and the host's."""

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
# The variants each architecture has, and the variable that selects one.
VARIANTS = {
    "amd64": ("GOAMD64", ("v1", "v2", "v3", "v4")),
    "arm": ("GOARM", ("5", "6", "7")),
    "386": ("GO386", ("sse2", "softfloat")),
}


@dataclass(frozen=True, order=True)
class Platform:
    """A Go platform, e.g. ``linux/amd64``."""

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


@dataclass(frozen=True, order=True)
class Target:
    """A build target: a platform with an optional variant (GOAMD64, GOARM, GO386)."""

    goos: str
    goarch: str
    variant: str | None = None

    @classmethod
    def parse(cls, text: str) -> Target:
        """``linux/amd64`` or ``linux/amd64/v3``; GobuildError for anything else."""
        parts = text.split("/")
        if len(parts) not in (2, 3):
            raise GobuildError(f"invalid platform {text!r}: expected GOOS/GOARCH[/VARIANT]")
        platform = Platform.parse("/".join(parts[:2]))
        variant = parts[2] if len(parts) == 3 else None
        if variant is not None:
            allowed = VARIANTS.get(platform.goarch, ("", ()))[1]
            if variant not in allowed:
                hint = (
                    f" ({', '.join(allowed)})"
                    if allowed
                    else " (only amd64, arm and 386 have them)"
                )
                raise GobuildError(
                    f"{text!r}: unknown variant {variant!r} for {platform.goarch}{hint}"
                )
        return cls(platform.goos, platform.goarch, variant)

    @property
    def pair(self) -> str:
        """``os/arch`` as ``go tool dist list`` prints it."""
        return f"{self.goos}/{self.goarch}"

    def env(self) -> dict[str, str]:
        """GOOS, GOARCH and the variant variable, if any."""
        env = {"GOOS": self.goos, "GOARCH": self.goarch}
        if self.variant:
            env[VARIANTS[self.goarch][0]] = self.variant
        return env

    def artifact(self, binary: str) -> str:
        """``<name>_<os>_<arch>[_<variant>][.exe]``."""
        name = f"{binary}_{self.goos}_{self.goarch}" + (f"_{self.variant}" if self.variant else "")
        return name + (".exe" if self.goos == "windows" else "")

    def image_platform(self) -> str | None:
        """The container platform this target's binary serves, as BuildKit normalises
        ``--platform`` (its TARGETPLATFORM): ``linux/arm/v7`` for linux/arm/7 and for
        plain linux/arm (Go's default GOARM is 7), ``linux/amd64/v3``, ``linux/amd64`` for
        amd64/v1 (the default), ``linux/386`` for every GO386 (images have no 386
        variants); None when the target is not linux."""
        if self.goos != "linux":
            return None
        variant = self.variant
        if self.goarch == "arm":
            variant = f"v{variant or '7'}"
        elif self.goarch == "386" or (self.goarch == "amd64" and variant == "v1"):
            variant = None
        return f"linux/{self.goarch}" + (f"/{variant}" if variant else "")

    def __str__(self) -> str:
        return self.pair + (f"/{self.variant}" if self.variant else "")


def variant_variables() -> tuple[str, ...]:
    """GOAMD64, GOARM, GO386: the variables a variant sets."""
    return tuple(var for var, _ in VARIANTS.values())


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
