"""The go command's environment: one decision for every go command gobuild runs or renders.

Builds, checks, ``gobuild go`` and ``gobuild env``, the Makefile and the
Dockerfile all take the go command's environment from here: which inherited
variables are dropped because they would change the bytes behind gobuild's back
(:data:`SCRUBBED`), which are always set the same way (:data:`FIXED`), what a
profile adds (:func:`profile_env`), and how a pinned GOROOT is put first
(:func:`go_environ`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gobuild.project.config import Project

# Inherited variables that would change the bytes behind gobuild's back.
SCRUBBED = (
    "GOFLAGS",
    "GOOS",
    "GOARCH",
    "GOAMD64",
    "GOARM",
    "GOARM64",
    "GO386",
    "GOEXPERIMENT",
    "GOROOT",
    "GOTOOLCHAIN",
    "GOWORK",
    "GOENV",
    "CGO_ENABLED",
)
# The variables every go command gets the same way, whatever the profile.
FIXED = ("CGO_ENABLED", "GOTOOLCHAIN", "GOWORK", "GOENV")
# Profile keys and the variables they set (also the Dockerfile's build args).
PROFILE_VARIABLES = {
    "goproxy": "GOPROXY",
    "goprivate": "GOPRIVATE",
    "gonoproxy": "GONOPROXY",
    "gonosumdb": "GONOSUMDB",
    "gosumdb": "GOSUMDB",
}


def profile_env(project: Project, cgo: bool | None = None) -> dict[str, str]:
    """The go command's environment for the active profile (without GOROOT and PATH):
    :data:`FIXED`, GOFLAGS and the profile's module-fetching variables."""
    env = {
        "CGO_ENABLED": "1" if (project.settings.build.cgo if cgo is None else cgo) else "0",
        "GOTOOLCHAIN": "local",
        # A committed go.work is honoured (the go command finds it from a module's
        # directory); any other, or an inherited GOWORK, must not change the build.
        "GOWORK": "auto" if project.workspace.gowork else "off",
        # A user's `go env -w` file could set GOFLAGS or GOAMD64 unseen: ignore it.
        "GOENV": "off",
        "GOFLAGS": " ".join(project.profile.goflags),
    }
    for key, var in PROFILE_VARIABLES.items():
        value = getattr(project.profile, key)
        if value is not None:
            env[var] = value
    return env


def go_environ(
    goroot: Path,
    base: Mapping[str, str],
    *,
    scrub: Iterable[str] = (),
    env: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """``base`` without ``scrub``, plus ``env``, running the Go at ``goroot``.

    GOROOT and PATH put this Go ahead of /usr/local/go or any other Go on the
    machine, and GOTOOLCHAIN=local stops the go command from switching to
    another toolchain on its own. An empty PATH stays without an empty entry
    (which would mean the current directory).
    """
    dropped = set(scrub)
    out = {k: v for k, v in base.items() if k not in dropped}
    out.update(env or {})
    out["GOROOT"] = str(goroot)
    out["GOTOOLCHAIN"] = "local"
    inherited = base.get("PATH", "")
    out["PATH"] = os.pathsep.join([str(goroot / "bin"), *([inherited] if inherited else [])])
    return out
